"""``fixed_2_3_2``: the 2-3-2 sigmoid network with biases and fixed weights of seed 004.

The source (``backward_update``), whole batch each epoch::

    loss = sum((z2 - y)^2 / 2)                       # mean_square_loss: half the SSE
    ds2  = (z2 - y) * sigmoid'(y2)                   # dL/d(net_k), the layer-2 "signal"
    dW2  = z1.T @ ds2;  db2 = ds2.sum(0);  dx = ds2 @ W2.T
    ds1  = sigmoid'(y1) * dx
    dW1  = X.T @ ds1;   db1 = ds1.sum(0)
    W -= lr * dW;  b -= lr * db                      # lr = 0.01, 50,001 epochs

``ds`` here is ``+dL/dz`` (the article's ``delta`` is its negative), and the update subtracts,
so this is plain gradient descent on ``half_sse`` with ``lr = 0.01``: the spec below.
``y = np.array([0, 1])`` broadcasts against the (2, 2) output: every row's target is [0, 1],
written out as ``[[0, 1], [0, 1]]`` because the reference refuses broadcasting targets.

What the source printed: after each update ``i`` with ``i % 100 == 0`` the loss *after* that
update (``'{:.4f}'``), the output ``z2`` and ``z2`` thresholded at 0.5.  So its first line,
"batch 0", is the loss after one update, 0.5448 (0.54478): the loss before any training is
0.54708.  (0.54478 is sometimes quoted as "before training"; it is the first printed loss.)
Its last line, ``i = 50,000``, is after all 50,001 updates: about 3.7e-4.
"""

from __future__ import annotations

import numpy as np

from reference_nn import LayerSpec, NetworkSpec

from .example import Figure, Runner, WorkedExample, as_array

STEPS = 50_001
EVERY = 100


def fixed_2_3_2() -> WorkedExample:
    spec = NetworkSpec(
        input_shape=2,
        layers=(LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(2, "sigmoid")),
        loss="half_sse",
        optimizer="sgd",
        optimizer_options={"lr": 0.01},
    )
    return WorkedExample(
        name="fixed_2_3_2",
        title="2-3-2 sigmoid network with biases from fixed weights, 50,001 full-batch steps",
        source="神经网络反向传播算法及代码实现 (Backpropagation in neural networks, with code; a "
        "Chinese blog post, no address given)",
        spec=spec,
        X=as_array([[0.6, 0.1], [0.3, 0.6]]),
        y=as_array([[0, 1], [0, 1]]),
        params={
            "0.W": as_array([[0.4, 0.3, 0.6], [0.3, 0.4, 0.2]]),
            "0.b": np.array([0.4, 0.1, 0.2]),
            "1.W": as_array([[0.2, 0.3], [0.3, 0.4], [0.5, 0.3]]),
            "1.b": np.array([0.1, 0.2]),
        },
        steps=STEPS,
        report_every=EVERY,
        figures=figures,
        published={
            "first_printed_loss": Figure(
                "loss printed for batch 0 (after the first update)", 0.54478, significant=5
            ),
            "final_loss": Figure("loss after all 50,001 updates", 3.7e-4, significant=2),
        },
    )


def figures(example: WorkedExample, run: Runner) -> dict[str, np.ndarray | float]:
    """The loss before training, the first and last printed losses, the final output and
    its 0/1 classes (the source's thresholding at 0.5)."""
    traj = run(example)
    final = traj.outputs[traj.steps]
    return {
        "initial_loss": float(traj.losses[0]),
        "first_printed_loss": float(traj.losses[1]),
        "final_loss": float(traj.losses[traj.steps]),
        "final_output": final,
        "final_classes": (final > 0.5).astype(np.float64),
    }


def printed_losses(losses: np.ndarray, every: int = EVERY) -> dict[int, float]:
    """The source's loss lines: batch ``i // every`` shows the loss after update ``i + 1``,
    for ``i = 0, every, 2 every, ...`` below the number of updates."""
    steps = len(losses) - 1
    return {i: float(losses[i + 1]) for i in range(0, steps, every)}
