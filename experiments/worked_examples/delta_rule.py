"""``hand_2_1_1`` and ``numeric_3_2_1``: the two one-step backprop examples of seed 001.

Both are sigmoid networks without biases, one sample, one gradient step with ``eta = 0.5``.
The article (after Udacity's course) writes, for the output unit and a hidden unit ``j``::

    error       = y - yhat
    delta_o     = error * f'(h_o)              = (y - yhat) yhat (1 - yhat)
    delta_h[j]  = delta_o * W_ho[j] * f'(h_j)  = delta_o W_ho[j] a_j (1 - a_j)
    Delta W_ho  = eta * delta_o * a            Delta W_ih = eta * x[:, None] * delta_h

Which loss gives those numbers: ``delta_o = (y - yhat) f'(h)`` is ``-dL/dh`` for
``L = 1/2 (y - yhat)^2`` (``dL/dyhat = yhat - y``).  With ``L = (y - yhat)^2`` every error
term and step would double (``delta_o`` 0.24366 instead of the published 0.12183).  So the
spec is loss ``half_sse`` with ``sgd`` ``lr = 0.5``; ``Delta W = -eta dL/dW`` is exactly the
change one ``SGD.step`` makes, and ``error term = -dL/dz`` at each layer's pre-activation.

Reading the error terms off an implementation: for one sample, ``dL/dz`` of a layer equals
``dL/db`` of a bias on that layer, and a bias of 0 changes nothing in the forward pass.  So
:func:`error_terms` runs the same network with zero biases added and returns
``-dL/db`` per layer -- the same recipe in NumPy, PyTorch and Keras.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reference_nn import LayerSpec, NetworkSpec

from .example import Array, Figure, Runner, WorkedExample, as_array

LR = 0.5


def _spec(n_in: int, n_hidden: int) -> NetworkSpec:
    return NetworkSpec(
        input_shape=n_in,
        layers=(
            LayerSpec.dense(n_hidden, "sigmoid", use_bias=False),
            LayerSpec.dense(1, "sigmoid", use_bias=False),
        ),
        loss="half_sse",
        optimizer="sgd",
        optimizer_options={"lr": LR},
    )


def hand_2_1_1() -> WorkedExample:
    """The hand-computed example: x = (0.1, 0.3), w_ih = (0.4, -0.2), w_ho = 0.1, y = 1."""
    return WorkedExample(
        name="hand_2_1_1",
        title="2-1-1 sigmoid network, the article's hand calculation: one step, lr 0.5",
        source="Gradient descent: show me the math!, "
        "https://towardsdatascience.com/gradient-descent-show-me-the-math-7ba7d1caef09",
        spec=_spec(2, 1),
        X=as_array([[0.1, 0.3]]),
        y=as_array([[1.0]]),
        params={"0.W": as_array([[0.4], [-0.2]]), "1.W": as_array([[0.1]])},
        steps=1,
        figures=figures,
        published={
            "delta_o": Figure("output error term", 0.12183, significant=5),
            "delta_h": Figure("hidden error term", 0.0030455, significant=5),
            "dW_ho": Figure("Delta w_ho", 0.030153, significant=5),
            "dW_ih": Figure("Delta w_ih", np.array([0.00015228, 0.00045683]), significant=5),
        },
    )


def numeric_3_2_1() -> WorkedExample:
    """The NumPy example: x = (0.5, 0.1, -0.2), y = 0.6, W_ih 3x2, w_ho = (0.1, -0.3)."""
    return WorkedExample(
        name="numeric_3_2_1",
        title="3-2-1 sigmoid network, the article's NumPy example: one step, lr 0.5",
        source="Gradient descent: show me the math!, "
        "https://towardsdatascience.com/gradient-descent-show-me-the-math-7ba7d1caef09",
        spec=_spec(3, 2),
        X=as_array([[0.5, 0.1, -0.2]]),
        y=as_array([[0.6]]),
        params={
            "0.W": as_array([[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]]),
            "1.W": as_array([[0.1], [-0.3]]),
        },
        steps=1,
        figures=figures,
        published={
            # printed by NumPy: 8 significant figures (e.g. 0.00804047, 1.77005547e-04)
            "dW_ho": Figure("Delta w_ho", np.array([0.00804047, 0.00555918]), significant=6),
            "dW_ih": Figure(
                "Delta W_ih",
                np.array(
                    [
                        [1.77005547e-4, -5.11178506e-4],
                        [3.54011093e-5, -1.02235701e-4],
                        [-7.08022187e-5, 2.04471402e-4],
                    ]
                ),
                significant=9,
            ),
        },
    )


def with_zero_biases(example: WorkedExample) -> WorkedExample:
    """The same network with biases of 0 on every layer: identical forward pass, and
    ``dL/db`` is ``dL/dz`` summed over the batch (one sample here)."""
    spec = example.spec.with_changes(
        layers=[
            replace(lay, options={**lay.options, "use_bias": True}) for lay in example.spec.layers
        ]
    )
    params = dict(example.params)
    for i, lay in enumerate(spec.layers):
        params[f"{i}.b"] = np.zeros(lay.options["units"])
    return example.with_changes(spec=spec, params=params)


def error_terms(example: WorkedExample, run: Runner) -> dict[str, Array]:
    """``delta = -dL/dz`` per layer (``delta_h`` hidden, ``delta_o`` output), read off the
    bias gradients that ``run`` (any framework) computes for the zero-bias copy."""
    if len(example.X) != 1:
        raise ValueError("error terms are read off bias gradients only for one sample")
    grads = run(with_zero_biases(example), 0).grads
    return {"delta_h": -grads["0.b"], "delta_o": -grads["1.b"]}


def figures(example: WorkedExample, run: Runner) -> dict[str, Array]:
    """The published quantities: the error terms, and ``Delta W = W after - W before`` the
    one step (what ``w += Delta w`` in the article adds)."""
    traj = run(example)
    before, after = traj.params[0], traj.params[1]
    return {
        **error_terms(example, run),
        "dW_ho": (after["1.W"] - before["1.W"]).ravel(),
        "dW_ih": after["0.W"] - before["0.W"],
        "output": traj.outputs[0].ravel(),
    }
