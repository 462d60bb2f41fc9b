"""``xor_3_4_1``: the 3-4-1 sigmoid network without biases of seed 000.

The source's training loop (``gradient_descent``), for the whole data set at once::

    Xj   = sigmoid(X @ wij);  yhat = sigmoid(Xj @ wjk)
    g_wjk = Xj.T @ ((y - yhat) * yhat (1 - yhat))
    g_wij = X.T @ ((((y - yhat) * yhat (1 - yhat)) @ wjk.T) * Xj (1 - Xj))
    wij += g_wij;  wjk += g_wjk

Sign convention: ``(y - yhat) f'(z)`` is ``-dL/dz`` for ``L = 1/2 sum (yhat - y)^2`` (summed
over the four rows and the one output), so ``w += X.T @ ((y - yhat) f'(z))`` is
``w -= 1 * dL/dw``: plain gradient descent on half the sum of squares with learning rate 1.
That is the spec below: loss ``half_sse``, ``sgd`` with ``lr=1``, no biases.

What the source printed: the starting weights and, after the loop, ``yhat`` -- the output
of the forward pass at the *start* of the last iteration, i.e. after 9,999 updates (the
10,000th update happens after ``yhat`` is computed).  Published (rounded to 4 places):
[0.0057, 0.9944, 0.9953, 0.0047].  After all 10,000 updates the outputs round the same.
"""

from __future__ import annotations

import numpy as np

from reference_nn import LayerSpec, NetworkSpec, legacy_rand

from .example import Figure, Runner, WorkedExample, as_array

STEPS = 10_000


def xor_3_4_1() -> WorkedExample:
    spec = NetworkSpec(
        input_shape=3,
        layers=(
            LayerSpec.dense(4, "sigmoid", use_bias=False),
            LayerSpec.dense(1, "sigmoid", use_bias=False),
        ),
        loss="half_sse",
        optimizer="sgd",
        optimizer_options={"lr": 1.0},
    )
    # np.random.seed(10); wij = np.random.rand(3, 4); wjk = np.random.rand(4, 1): the legacy
    # global generator, reproduced on a private RandomState (same stream, no global state).
    wij, wjk = legacy_rand(10, [(3, 4), (4, 1)])
    return WorkedExample(
        name="xor_3_4_1",
        title="3-4-1 sigmoid network without biases on the XOR-like set, 10,000 full-batch steps",
        source="A step-by-step implementation of gradient descent and backpropagation, "
        "https://towardsdatascience.com/a-step-by-step-implementation-of-gradient-descent-and-backpropagation-d58bda486110",
        spec=spec,
        X=as_array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]]),
        y=as_array([[0, 1, 1, 0]]).T.copy(),
        params={"0.W": wij, "1.W": wjk},
        steps=STEPS,
        figures=figures,
        published={
            "final_prediction": Figure(
                "yhat printed after the loop (output after 9,999 updates)",
                np.array([0.0057, 0.9944, 0.9953, 0.0047]),
                decimals=4,
            ),
        },
    )


def figures(example: WorkedExample, run: Runner) -> dict[str, np.ndarray]:
    """What the source printed: the starting weights and ``yhat`` after the loop (the output
    after ``steps - 1`` updates); plus the output after all updates, for comparison."""
    traj = run(example)
    steps = traj.steps
    return {
        "starting_wij": traj.params[0]["0.W"],
        "starting_wjk": traj.params[0]["1.W"],
        "final_prediction": traj.outputs[steps - 1].ravel(),
        "output_after_all_updates": traj.outputs[steps].ravel(),
        "final_loss": traj.losses[steps - 1],
    }
