"""The NumPy reference's per-sample SGD for the housing network, written as the textbook does.

``reference_nn.fit`` computes exactly this (``tests/test_housing_numpy.py`` checks the two
agree bit for bit), but it is
general: each of its steps validates shapes and dtypes and walks a list of layers, ~40 us for a
step whose arithmetic is ~30 flops.  670,000 steps would take half a minute.  This loop keeps
the same formulas on Python floats (one sample at a time, one weight at a time, as in the
article), which costs ~3 us a step.  Notation: x inputs, h hidden activations, o output.

    forward   h_j = sigmoid(sum_i x_i W1[i][j] + b1_j)        o = sigmoid(sum_j h_j W2_j + b2)
    loss      L = (o - t)^2
    backward  delta_o   = dL/dz_o = 2 (o - t) * o (1 - o)              (sigmoid' = o (1 - o))
              delta_h_j = dL/dz_j = W2_j * delta_o * h_j (1 - h_j)     (uses W2 before the update)
              dL/dW2_j = h_j delta_o,  dL/db2 = delta_o,  dL/dW1[i][j] = x_i delta_h_j,
              dL/db1_j = delta_h_j
    update    p <- p - lr * dL/dp
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from parity_tests.harness.protocol import Resolved
from reference_nn import NetworkSpec

Params = dict[str, np.ndarray]


def applies(spec: NetworkSpec | Resolved, X: np.ndarray, batches: np.ndarray) -> bool:
    """Whether this loop computes ``spec`` on these batches: float64, two dense sigmoid layers
    with biases and one output, MSE, plain SGD (no momentum, no decay, no L2), one sample a step."""
    resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
    spec, opt = resolved.spec, resolved.optimizer_options
    layers = [lay.options for lay in spec.layers]
    return (
        X.dtype == np.float64
        and batches.ndim == 2
        and batches.shape[1] == 1
        and len(layers) == 2
        and all(lay.kind == "dense" for lay in spec.layers)
        and all(o.get("activation") == "sigmoid" and o.get("use_bias", True) for o in layers)
        and layers[1]["units"] == 1
        and spec.loss == "mse"
        and spec.regularizer is None
        and spec.optimizer == "sgd"
        and not any(opt.get(k) for k in ("momentum", "weight_decay", "nesterov"))
    )


class PerSampleSGD:
    """Per-sample SGD of a n_in-H-1 sigmoid network with biases, float64."""

    def __init__(self, initial: Params, X: np.ndarray, y: np.ndarray, lr: float) -> None:
        if X.dtype != np.float64:
            raise TypeError("the Python-float loop is float64; use reference_nn.fit for float32")
        self.W1 = initial["0.W"].tolist()  # [n_in][H]
        self.b1 = initial["0.b"].tolist()  # [H]
        self.W2 = initial["1.W"][:, 0].tolist()  # [H]
        self.b2 = float(initial["1.b"][0])
        self.X, self.t = X.tolist(), y[:, 0].tolist()
        self.lr = lr

    def train(self, order: Sequence[int]) -> np.ndarray:
        """One step per sample index in ``order``; the loss before each step."""
        W1, b1, W2, lr = self.W1, self.b1, self.W2, self.lr
        hidden = range(len(b1))
        inputs = range(len(W1))
        exp = math.exp
        b2 = self.b2
        losses = []
        for n in np.asarray(order).tolist():
            x, t = self.X[n], self.t[n]
            # forward
            h = [1.0 / (1.0 + exp(-(sum(x[i] * W1[i][j] for i in inputs) + b1[j]))) for j in hidden]
            o = 1.0 / (1.0 + exp(-(sum(h[j] * W2[j] for j in hidden) + b2)))
            losses.append((o - t) * (o - t))
            # backward
            delta_o = 2.0 * (o - t) * (o * (1.0 - o))
            delta_h = [W2[j] * delta_o * (h[j] * (1.0 - h[j])) for j in hidden]
            # update
            for j in hidden:
                W2[j] -= lr * (h[j] * delta_o)
                b1[j] -= lr * delta_h[j]
                for i in inputs:
                    W1[i][j] -= lr * (x[i] * delta_h[j])
            b2 -= lr * delta_o
        self.b2 = b2
        return np.array(losses)

    def parameters(self) -> Params:
        return {
            "0.W": np.array(self.W1),
            "0.b": np.array(self.b1),
            "1.W": np.array(self.W2)[:, None],
            "1.b": np.array([self.b2]),
        }
