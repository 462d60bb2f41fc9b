"""``housing_2_3_1`` as the article's notebook wrote it: its update rule, quirks included.

The article (seed 003, "How to build a neural network from scratch") describes the true
gradient of ``(y - y_hat)^2``; its notebook (``SimpleNeuralNetwork``, linked from the article)
computes something else.  Its code, as written::

    def sigmoid(self, x): return 1 / (1 + np.e**-x)
    def sigmoid_der(self, x): return self.sigmoid(x) * (1 - self.sigmoid(x))

    def feedforward(self, x):
        self.n1 =    self.sigmoid(x[0]*self.w1 + x[1]*self.w2 + self.b_n1)
        self.n2 =    self.sigmoid(x[0]*self.w3 + x[1]*self.w4 + self.b_n2)
        self.n3 =    self.sigmoid(x[0]*self.w5 + x[1]*self.w6 + self.b_n3)
        self.y_hat = self.sigmoid(self.n1*self.w7 + self.n2*self.w8 + self.n3*self.w9
                                  + self.b_y_hat)

    def backpropagation(self, x, y):
        y_hat_der = (-2 * (y-self.y_hat) * self.sigmoid_der(self.y_hat))
        z_w7_der = self.w7 * self.sigmoid_der(self.n1)
        z_w8_der = self.w8 * self.sigmoid_der(self.n2)
        z_w9_der = self.w9 * self.sigmoid_der(self.n3)
        self.b_n1    -= self.lr * y_hat_der * z_w7_der        # (b_n2, b_n3 alike)
        self.b_y_hat -= self.lr * y_hat_der
        self.w7 -= self.lr * y_hat_der * self.n1              # (w8, w9 alike)
        self.w1 -= self.lr * y_hat_der * z_w7_der * x[0]      # (w2 ... w6 alike)

    def fit(self, X, y, epoch=10, lr=0.01):
        for i in range(epoch):
            mse = mean_squared_error(y, self.predict(X))
            print('Epoch: {} / {}, MSE: {}'.format(i+1, epoch, round(mse, 4)), end='\\r')
            for j in range(len(X)):
                self.feedforward(X[j])
                self.backpropagation(X[j], y[j][0])

    model.fit(X_train, y_train, epoch=100, lr=0.05)   # prints  Epoch: 100 / 100, MSE: 0.0285
    mean_squared_error(y_test, model.predict(X_test)) # 0.028357368457188573
    r2_score(y_test, y_pred)                          # printed rounded: 0.497

Three things differ from the text (and from
:class:`parity_tests.frameworks.numpy.per_sample.PerSampleSGD`, the true gradient):

1. ``sigmoid_der`` is applied to the *activations* (``y_hat``, ``n1``...) instead of to the
   pre-activations: ``s(a) (1 - s(a))`` with ``a = s(z)``, where the true derivative is
   ``s'(z) = a (1 - a)``.  Every step is a different (not the gradient) direction.
2. ``fit`` prints the training MSE *before* each epoch's training: the line "Epoch: 100 / 100,
   MSE: 0.0285" -- the article's 0.0285 -- is the training MSE after 99 epochs, not a test MSE.
3. The initial weights are ``np.random.rand`` without a seed: no run can be repeated exactly,
   so the published figures are one draw from a distribution (:mod:`.seed_study`).

Parameter names: ``w1, w2`` are ``0.W[:, 0]``, ``w3, w4`` ``0.W[:, 1]``, ``w5, w6``
``0.W[:, 2]``; ``w7..w9`` are ``1.W[:, 0]``; ``b_n1..b_n3`` are ``0.b`` and ``b_y_hat`` ``1.b``.
The loop below keeps the notebook's floating-point operations in its order (``e ** -z``, not
``exp(-z)``; ``((lr * y_hat_der) * z_w7_der) * x0``).  ``derivative="pre-activation"``
fixes quirk 1 and nothing else (a control: it then agrees with ``PerSampleSGD`` to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from reference_nn.metrics import mean_squared_error, r2_score

Params = dict[str, np.ndarray]

RULES = {
    "true": "the text's rule: the true gradient of (y - y_hat)^2 (the frameworks' rule)",
    "notebook": "the notebook's rule: sigmoid_der applied to the activations, not the gradient",
}
CAUSE = (
    "the notebook applies sigmoid_der to the activations (sigmoid_der(y_hat) = s(y_hat)(1 - "
    "s(y_hat))) where the true gradient needs s'(z) = y_hat (1 - y_hat); every step differs"
)

# What the notebook printed (seed 003's GitHub notebook), at the precision it printed.
NOTEBOOK_PRINTED = {
    "train_mse_epoch_100": (0.0285, 4),  # 'Epoch: 100 / 100, MSE: 0.0285' (after 99 epochs)
    "test_mse": (0.028357368457188573, 17),  # mean_squared_error(y_test, y_pred), full repr
    "test_mse_rounded": (0.028, 3),  # print("MSE Simple:", round(mse, 3))
    "test_r2": (0.497, 3),  # print("R-squared Simple:", round(r2_score(...), 3))
}

_E = math.e  # np.e: the same double


class NotebookSGD:
    """The notebook's per-sample loop on Python floats (a sibling of ``PerSampleSGD``)."""

    def __init__(
        self,
        initial: Params,
        X: np.ndarray,
        y: np.ndarray,
        lr: float,
        derivative: str = "activation",
    ) -> None:
        if X.dtype != np.float64:
            raise TypeError("the notebook's loop is float64")
        if initial["0.W"].shape != (2, 3) or initial["1.W"].shape != (3, 1):
            raise ValueError("the notebook's network is 2-3-1")
        if derivative not in ("activation", "pre-activation"):
            raise ValueError(
                f"derivative must be 'activation' or 'pre-activation', not {derivative!r}"
            )
        W1, W2 = initial["0.W"], initial["1.W"][:, 0]
        # w1..w9 and the four biases, in the notebook's order
        self.w = [float(W1[i, j]) for j in range(3) for i in range(2)] + list(map(float, W2))
        self.b = [float(v) for v in initial["0.b"]] + [float(initial["1.b"][0])]
        self.X, self.t = X.tolist(), y[:, 0].tolist()
        self.lr = float(lr)
        self.derivative = derivative

    def train(self, order: Sequence[int]) -> np.ndarray:
        """One notebook step per sample index in ``order``; the loss ``(y - y_hat)^2`` before
        each step."""
        w1, w2, w3, w4, w5, w6, w7, w8, w9 = self.w
        b1, b2, b3, b4 = self.b
        lr, e = self.lr, _E
        on_activation = self.derivative == "activation"
        losses = []
        for j in np.asarray(order).tolist():
            x0, x1 = self.X[j]
            y = self.t[j]
            # feedforward
            n1 = 1 / (1 + e ** -(x0 * w1 + x1 * w2 + b1))
            n2 = 1 / (1 + e ** -(x0 * w3 + x1 * w4 + b2))
            n3 = 1 / (1 + e ** -(x0 * w5 + x1 * w6 + b3))
            y_hat = 1 / (1 + e ** -(n1 * w7 + n2 * w8 + n3 * w9 + b4))
            losses.append((y - y_hat) * (y - y_hat))
            # backpropagation: sigmoid_der(a) = s(a) (1 - s(a)) (as written), or a (1 - a)
            if on_activation:
                s = 1 / (1 + e**-y_hat)
                d_out = s * (1 - s)
                s1, s2, s3 = (1 / (1 + e**-n1)), (1 / (1 + e**-n2)), (1 / (1 + e**-n3))
                d1, d2, d3 = s1 * (1 - s1), s2 * (1 - s2), s3 * (1 - s3)
            else:
                d_out = y_hat * (1 - y_hat)
                d1, d2, d3 = n1 * (1 - n1), n2 * (1 - n2), n3 * (1 - n3)
            y_hat_der = -2 * (y - y_hat) * d_out
            z_w7_der = w7 * d1
            z_w8_der = w8 * d2
            z_w9_der = w9 * d3
            step = lr * y_hat_der
            b1 -= step * z_w7_der
            b2 -= step * z_w8_der
            b3 -= step * z_w9_der
            b4 -= step
            w7 -= step * n1
            w8 -= step * n2
            w9 -= step * n3
            w1 -= step * z_w7_der * x0
            w2 -= step * z_w7_der * x1
            w3 -= step * z_w8_der * x0
            w4 -= step * z_w8_der * x1
            w5 -= step * z_w9_der * x0
            w6 -= step * z_w9_der * x1
        self.w = [w1, w2, w3, w4, w5, w6, w7, w8, w9]
        self.b = [b1, b2, b3, b4]
        return np.array(losses)

    def parameters(self) -> Params:
        w, b = self.w, self.b
        return {
            "0.W": np.array([[w[0], w[2], w[4]], [w[1], w[3], w[5]]]),
            "0.b": np.array(b[:3]),
            "1.W": np.array(w[6:9])[:, None],
            "1.b": np.array([b[3]]),
        }


def predict(params: Params, X: np.ndarray) -> np.ndarray:
    """The 2-3-1 sigmoid network's output, vectorised (the reference's formulas)."""
    h = 1.0 / (1.0 + np.exp(-(X @ params["0.W"] + params["0.b"])))
    return 1.0 / (1.0 + np.exp(-(h @ params["1.W"] + params["1.b"])))


def make_loop(rule: str, initial: Params, X: np.ndarray, y: np.ndarray, lr: float) -> Any:
    """The per-sample loop of ``rule`` ("true": ``PerSampleSGD``; "notebook": ``NotebookSGD``)."""
    if rule == "true":
        from parity_tests.frameworks.numpy.per_sample import PerSampleSGD

        return PerSampleSGD(initial, X, y, lr)
    if rule == "notebook":
        return NotebookSGD(initial, X, y, lr)
    raise ValueError(f"unknown rule {rule!r}; valid: {', '.join(RULES)}")


def train_rule(
    rule: str,
    initial: Params,
    split: Any,
    orders: np.ndarray,
    lr: float,
    per_epoch: bool = False,
) -> dict[str, Any]:
    """Train one rule over ``orders`` (epochs x n_train) and measure it as the notebook did.

    ``printed_train_mse`` is what the notebook's last 'Epoch: N / N, MSE:' line shows: the
    training MSE *before* the last epoch (after ``epochs - 1``).  With ``per_epoch`` the train
    and test MSE after every epoch are returned too."""
    loop = make_loop(rule, initial, split.X_train, split.y_train, lr)
    train_hist: list[float] = []
    test_hist: list[float] = []
    before_last = initial
    for epoch, order in enumerate(orders):
        if epoch == len(orders) - 1:
            before_last = loop.parameters()
        loop.train(order)
        if per_epoch:
            p = loop.parameters()
            train_hist.append(mean_squared_error(split.y_train, predict(p, split.X_train)))
            test_hist.append(mean_squared_error(split.y_test, predict(p, split.X_test)))
    final = loop.parameters()
    y_hat = predict(final, split.X_test)
    out: dict[str, Any] = {
        "rule": rule,
        "test_mse": mean_squared_error(split.y_test, y_hat),
        "test_r2": r2_score(split.y_test, y_hat),
        "train_mse": mean_squared_error(split.y_train, predict(final, split.X_train)),
        "printed_train_mse": mean_squared_error(split.y_train, predict(before_last, split.X_train)),
        "parameters": {k: v.tolist() for k, v in final.items()},
    }
    if per_epoch:
        out["history"] = {"train_mse": train_hist, "test_mse": test_hist}
    return out


def run_as_published(problem: Any, results: dict[str, Any]) -> dict[str, Any]:
    """``refnn housing --as-published``: the notebook's rule from the run's initial weights and
    orders (NumPy), next to the frameworks' true-gradient result, with the difference."""
    from .protocol import LEARNING_RATE

    ap = train_rule(
        "notebook", problem.initial, problem.split, problem.orders, LEARNING_RATE, per_epoch=True
    )
    fw = "numpy" if "numpy" in results["final"] else next(iter(results["final"]))
    true = results["final"][fw]
    train_hist = results["history"][fw]["train_mse"]
    ap["true_gradient"] = {
        "framework": fw,
        "test_mse": true["test_mse"],
        "test_r2": true["test_r2"],
        "printed_train_mse": train_hist[-2] if len(train_hist) > 1 else None,
    }
    ap["difference"] = {
        "test_mse": ap["test_mse"] - true["test_mse"],
        "test_r2": ap["test_r2"] - true["test_r2"],
    }
    ap["cause"] = CAUSE
    ap["notebook_printed"] = {k: v for k, (v, _) in NOTEBOOK_PRINTED.items()}
    return ap


def summary_lines(ap: dict[str, Any], epochs: int) -> list[str]:
    """What ``refnn housing --as-published`` prints (and summary.md repeats)."""
    t = ap["true_gradient"]
    printed_true = t["printed_train_mse"]
    return [
        f"as published (the notebook's rule, NumPy): test MSE {ap['test_mse']:.6f}  "
        f"R^2 {ap['test_r2']:.4f}; its last line 'Epoch: {epochs} / {epochs}, MSE: "
        f"{round(ap['printed_train_mse'], 4)}' (the train MSE after {epochs - 1} epochs)",
        f"true gradient ({t['framework']}, above): test MSE {t['test_mse']:.6f}  "
        f"R^2 {t['test_r2']:.4f}"
        + (f"; it would print 'MSE: {round(printed_true, 4)}'" if printed_true is not None else ""),
        f"difference (as published - true): test MSE {ap['difference']['test_mse']:+.6f}, "
        f"R^2 {ap['difference']['test_r2']:+.4f}",
        f"cause: {ap['cause']}.  Every framework above computes the true gradient; only this "
        "NumPy loop (experiments/housing/as_published.py) follows the notebook.",
        "the notebook printed 'Epoch: 100 / 100, MSE: 0.0285', test MSE 0.028357368457188573, "
        "R^2 0.497, from unseeded initial weights: one draw (compare many: --seeds A..B "
        "--as-published)",
    ]
