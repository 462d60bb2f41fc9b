"""Losses: a scalar value and its gradient with respect to the prediction.

Every loss states its reduction, because the frameworks differ there and a factor of N or K
in the gradient is the commonest parity bug.  Notation: ``p`` predictions and ``y`` targets,
both ``(N, K)`` (N samples, K outputs); ``mean`` divides by ``N*K``, ``batch_mean`` sums over
the K outputs and divides by N, ``sum`` adds everything.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._checks import Array, ShapeError, check_choice, check_keys, check_same_shape

REDUCTIONS = ("mean", "batch_mean", "sum")


def _divisor(y: Array, reduction: str) -> int:
    """What the summed loss is divided by under ``reduction``."""
    if reduction == "mean":
        return y.size
    if reduction == "batch_mean":
        return y.shape[0]
    return 1


class Loss:
    """Base class: subclasses give ``elementwise_value`` and ``elementwise_gradient``.

    ``value = sum(elementwise_value) / divisor`` and so ``gradient = elementwise_gradient /
    divisor``; losses that are not a plain sum (softmax cross-entropy) override both.
    """

    name: ClassVar[str]
    reduction: str = "mean"
    # The output activation whose *input* this loss reads (a convention on logits: Keras on
    # TensorFlow reads the logits behind a softmax or sigmoid output layer), else None.  Such
    # a loss takes the scores ``s`` where the others take ``p``, its gradient is ``dL/ds``, and
    # ``Sequential`` hands it the output layer's pre-activation (and ``dL/ds`` back past it).
    logits_of: str | None = None

    def elementwise_value(self, p: Array, y: Array) -> Array:
        raise NotImplementedError

    def elementwise_gradient(self, p: Array, y: Array) -> Array:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        return {}

    def _check(self, p: Array, y: Array) -> None:
        check_same_shape(p, y)
        if p.ndim != 2:
            raise ShapeError(f"predictions must be 2-D (N, n_out), got shape {p.shape}")
        self._check_values(p, y)

    def _check_values(self, p: Array, y: Array) -> None:
        """What a loss needs of the values (predictions inside (0, 1)...): checked on every
        call, ``fit``'s steps included, where the shapes are checked once per ``fit``."""

    def value(self, p: Array, y: Array) -> np.floating[Any]:
        self._check(p, y)
        return self._value(p, y)

    def gradient(self, p: Array, y: Array) -> Array:
        """``dL/dp``, the same shape as ``p``."""
        self._check(p, y)
        return self._gradient(p, y)

    # without checks: for a caller that made them (``fit``: shapes once, values per step)
    def _value(self, p: Array, y: Array) -> np.floating[Any]:
        total = self.elementwise_value(p, y).sum()
        return p.dtype.type(total / _divisor(y, self.reduction))

    def _gradient(self, p: Array, y: Array) -> Array:
        return self.elementwise_gradient(p, y) / p.dtype.type(_divisor(y, self.reduction))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"


class SquaredError(Loss):
    """``scale * (p - y)^2`` reduced by ``reduction``; gradient ``2 scale (p - y) / divisor``.

    Registered as ``sse`` (scale 1, sum), ``half_sse`` (scale 1/2, sum: the textbook
    ``1/2 sum (d - o)^2`` whose gradient is plainly ``o - d``) and ``mse`` (scale 1, mean).

    MSE with several outputs: torch ``MSELoss()`` averages all N*K elements; Keras averages
    over the last axis, then ``sum_over_batch_size`` averages over N: also ``sum / (N*K)``.
    So both equal ``mse`` here; only a per-sample *sum* over outputs (``batch_mean``) differs.
    """

    name = "squared_error"

    def __init__(self, scale: float = 1.0, reduction: str = "mean") -> None:
        self.scale = float(scale)
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)

    def options(self) -> dict[str, Any]:
        return {"scale": self.scale, "reduction": self.reduction}

    def elementwise_value(self, p: Array, y: Array) -> Array:
        diff = p - y
        return self.scale * diff * diff

    def elementwise_gradient(self, p: Array, y: Array) -> Array:
        return (2.0 * self.scale) * (p - y)


def _check_unit_interval(values: Array, what: str) -> None:
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(
            f"{what} must lie in [0, 1] for binary cross-entropy; got range "
            f"[{values.min()!r}, {values.max()!r}] (for raw scores use 'bce_logits')"
        )


class BinaryCrossEntropy(Loss):
    """``-(y log p + (1 - y) log(1 - p))`` on probabilities ``p``.

    ``clip`` names how each framework keeps the logarithm finite:

    - ``"keras"``: ``p`` is clipped to ``[epsilon, 1 - epsilon]`` (Keras ``epsilon()`` is
      1e-7) and the gradient is zero where clipping acted, as for ``tf.clip_by_value``: Keras
      on the JAX and torch backends, and on TensorFlow for probabilities not made by a sigmoid.
    - ``"torch"``: ``BCELoss`` clamps each ``log`` at -100; its backward is
      ``(p - y) / max(p (1 - p), 1e-12)``, which is what ``gradient`` returns.
    - ``"none"``: the plain formula; ``p`` must lie strictly inside (0, 1).
    - ``"logits"``: Keras on TensorFlow with a sigmoid output layer.  Keras keeps the scores
      ``s`` behind its sigmoid (``_keras_logits``) and computes the loss from them, without
      clipping, whatever the probabilities (see :class:`BinaryCrossEntropyWithLogits`).  This
      loss then takes ``s``, not ``p``: a ``Sequential`` ending in a sigmoid layer hands it
      the layer's pre-activation.  On a saturated output it differs from ``"keras"`` by any
      amount (``s = 30``, ``y = 0``: 30 against ``-log(1e-7)`` = 16.1).

    With ``reduction="batch_mean"`` and ``clip="none"`` this is the logistic cost of the
    course notes, ``-1/m sum_i sum_k [...]`` (registered as ``logistic``).
    """

    name = "bce"
    TORCH_LOG_FLOOR = -100.0
    TORCH_GRAD_EPS = 1e-12

    def __init__(self, clip: str = "none", epsilon: float = 1e-7, reduction: str = "mean"):
        self.clip = check_choice("bce clip", clip, ("keras", "torch", "none", "logits"))
        self.epsilon = float(epsilon)
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)
        self.logits_of = "sigmoid" if self.clip == "logits" else None

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"clip": self.clip, "reduction": self.reduction}
        if self.clip == "keras":
            out["epsilon"] = self.epsilon
        return out

    def _check_values(self, p: Array, y: Array) -> None:
        if self.clip == "logits":  # scores: any real number
            _check_unit_interval(y, "targets")
            return
        _check_unit_interval(p, "predictions")
        _check_unit_interval(y, "targets")
        if self.clip == "none" and p.size and (p.min() <= 0 or p.max() >= 1):
            raise ValueError(
                "bce with clip='none' needs predictions strictly inside (0, 1); a saturated "
                "sigmoid gives 0 or 1: use clip='keras'/'torch' or the logits form 'bce_logits'"
            )

    def _clipped(self, p: Array) -> Array:
        return np.clip(p, self.epsilon, 1.0 - self.epsilon) if self.clip == "keras" else p

    def elementwise_value(self, p: Array, y: Array) -> Array:
        if self.clip == "logits":
            return _bce_of_logits(p, y)
        q = self._clipped(p)
        with np.errstate(divide="ignore"):  # log(0) = -inf is then clamped (torch rule)
            log_p, log_1mp = np.log(q), np.log(1.0 - q)
        if self.clip == "torch":
            log_p = np.maximum(log_p, self.TORCH_LOG_FLOOR)
            log_1mp = np.maximum(log_1mp, self.TORCH_LOG_FLOOR)
        return -(y * log_p + (1.0 - y) * log_1mp)

    def elementwise_gradient(self, p: Array, y: Array) -> Array:
        if self.clip == "logits":
            return _bce_of_logits_gradient(p, y)
        if self.clip == "torch":
            return (p - y) / np.maximum((1.0 - p) * p, self.TORCH_GRAD_EPS)
        q = self._clipped(p)
        grad = -y / q + (1.0 - y) / (1.0 - q)
        if self.clip == "keras":
            inside = (p >= self.epsilon) & (p <= 1.0 - self.epsilon)
            grad = np.where(inside, grad, 0.0)
        return grad


class BinaryCrossEntropyWithLogits(Loss):
    """BCE on raw scores ``s`` (``p = sigmoid(s)``), mean over all elements.

    Value ``max(s, 0) - s y + log(1 + exp(-|s|))`` (no overflow for any s); gradient
    ``sigmoid(s) - y``.  This form agrees across frameworks without any clipping.
    """

    name = "bce_logits"

    def _check_values(self, p: Array, y: Array) -> None:
        _check_unit_interval(y, "targets")

    def elementwise_value(self, p: Array, y: Array) -> Array:
        return _bce_of_logits(p, y)

    def elementwise_gradient(self, p: Array, y: Array) -> Array:
        return _bce_of_logits_gradient(p, y)


def _bce_of_logits(s: Array, y: Array) -> Array:
    return np.maximum(s, 0.0) - s * y + np.log1p(np.exp(-np.abs(s)))


def _bce_of_logits_gradient(s: Array, y: Array) -> Array:
    from .activations import Sigmoid

    return Sigmoid().forward(s) - y


class CategoricalCrossEntropy(Loss):
    """``-sum_k y_k log p_k`` per row on probabilities, mean over rows.

    ``convention="keras"`` reproduces Keras's probability form (``ops.categorical_
    crossentropy`` on the JAX and torch backends): rows of ``p`` are first divided by their
    sum and then clipped to ``[epsilon, 1 - epsilon]``.  The normalisation has a gradient of
    its own: with ``q = p / s``, ``dL/dp_j = (dL/dq_j - sum_i dL/dq_i q_i) / s``.  For a
    softmax output that differs from the plain ``-y/p`` by a constant per row, which the
    softmax Jacobian then removes, so the parameter gradients still agree.

    ``convention="logits"`` is Keras on TensorFlow with a softmax output layer: Keras keeps
    the scores ``s`` behind the softmax (``_keras_logits``, or the Softmax op's input in a
    graph) and computes ``tf.nn.softmax_cross_entropy_with_logits``, never clipping.  This
    loss then takes ``s``, not ``p`` (the arithmetic of :class:`CategoricalCrossEntropyWith
    Logits`): a ``Sequential`` ending in a softmax layer hands it the layer's pre-activation.
    On a confident row the two differ by far more than rounding: ``Dense(3, softmax)`` in
    float64, a row with ``-log p_true = 3.4e-9`` is 3.4e-9 here and ``-log(1 - 1e-7)`` =
    1.0e-7 under ``"keras"``, whose clip also zeroes the gradient.

    ``convention="none"``: the plain formula (torch has no probability form; the mirror
    writes ``-(y * log p).sum(-1).mean()``).
    """

    name = "cce"
    reduction = "batch_mean"

    def __init__(self, convention: str = "none", epsilon: float = 1e-7) -> None:
        self.convention = check_choice("cce convention", convention, ("keras", "none", "logits"))
        self.epsilon = float(epsilon)
        self.logits_of = "softmax" if self.convention == "logits" else None

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {"convention": self.convention}
        if self.convention == "keras":
            out["epsilon"] = self.epsilon
        return out

    def _check_values(self, p: Array, y: Array) -> None:
        _check_target_rows(y, self.name)
        if self.convention == "logits":  # scores: any real number
            return
        if p.size and p.min() < 0:
            raise ValueError("cce needs non-negative predictions (probabilities)")
        if self.convention == "none" and p.size and p.min() <= 0:
            raise ValueError("cce with convention='none' needs predictions > 0")
        if self.convention == "keras" and p.size:
            empty = p.sum(axis=-1) <= 0
            if empty.any():
                raise ValueError(
                    f"cce with convention='keras' divides each prediction row by its sum, and "
                    f"row {int(np.argmax(empty))} sums to 0 (Keras returns NaN); the output "
                    "layer must give probabilities (softmax)"
                )

    def elementwise_value(self, p: Array, y: Array) -> Array:
        if self.convention == "logits":
            return _cce_of_logits(p, y)
        if self.convention == "keras":
            q = np.clip(p / p.sum(axis=-1, keepdims=True), self.epsilon, 1.0 - self.epsilon)
            return -y * np.log(q)
        return -y * np.log(p)

    def elementwise_gradient(self, p: Array, y: Array) -> Array:
        if self.convention == "logits":
            return _cce_of_logits_gradient(p, y)
        if self.convention == "none":
            return -y / p
        s = p.sum(axis=-1, keepdims=True)
        q = p / s
        inside = (q >= self.epsilon) & (q <= 1.0 - self.epsilon)
        grad_q = np.where(inside, -y / np.clip(q, self.epsilon, 1.0 - self.epsilon), 0.0)
        return (grad_q - (grad_q * q).sum(axis=-1, keepdims=True)) / s


def _check_target_rows(y: Array, name: str) -> None:
    """A categorical target row of zeros names no class: its loss and gradient would be 0 (or
    NaN, where a convention normalises), so the sample would be silently ignored."""
    if y.size:
        empty = ~y.any(axis=-1)
        if empty.any():
            raise ValueError(
                f"{name}: target row {int(np.argmax(empty))} is all zeros (no class); each "
                "row must be one-hot or probabilities summing to 1 (drop unlabelled samples)"
            )


class CategoricalCrossEntropyWithLogits(Loss):
    """Softmax cross-entropy on raw scores ``s``, mean over rows.

    Per row ``-sum_k y_k log softmax(s)_k = logsumexp(s) sum_k y_k - sum_k y_k s_k``;
    gradient ``softmax(s) sum_k y_k - y`` (``softmax(s) - y`` for one-hot rows).
    """

    name = "cce_logits"
    reduction = "batch_mean"

    def _check_values(self, p: Array, y: Array) -> None:
        _check_target_rows(y, self.name)

    def elementwise_value(self, p: Array, y: Array) -> Array:
        return _cce_of_logits(p, y)

    def elementwise_gradient(self, p: Array, y: Array) -> Array:
        return _cce_of_logits_gradient(p, y)


def _cce_of_logits(s: Array, y: Array) -> Array:
    shifted = s - s.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -y * log_softmax


def _cce_of_logits_gradient(s: Array, y: Array) -> Array:
    from .activations import Softmax

    return Softmax().forward(s) * y.sum(axis=-1, keepdims=True) - y


def _squared(scale: float, reduction: str) -> Any:
    return lambda: SquaredError(scale=scale, reduction=reduction)


# name -> (factory, options it accepts)
_REGISTRY: dict[str, tuple[Any, tuple[str, ...]]] = {
    "sse": (_squared(1.0, "sum"), ()),
    "half_sse": (_squared(0.5, "sum"), ()),
    "mse": (_squared(1.0, "mean"), ()),
    "bce": (BinaryCrossEntropy, ("clip", "epsilon", "reduction")),
    "bce_logits": (BinaryCrossEntropyWithLogits, ()),
    "cce": (CategoricalCrossEntropy, ("convention", "epsilon")),
    "cce_logits": (CategoricalCrossEntropyWithLogits, ()),
    "logistic": (lambda: BinaryCrossEntropy(clip="none", reduction="batch_mean"), ()),
}
LOSSES: tuple[str, ...] = tuple(_REGISTRY)

# What each loss expects: the output activation (None: any) and the kind of target
# ("real" numbers, "binary" 0/1 labels, "one_hot" rows).  The one map of this: specs, the parity
# matrix and the tests derive output layers and targets from it.
OUTPUT_ACTIVATION: dict[str, str | None] = {
    "sse": None,
    "half_sse": None,
    "mse": None,
    "bce": "sigmoid",
    "bce_logits": "identity",
    "cce": "softmax",
    "cce_logits": "identity",
    "logistic": "sigmoid",
}
TARGETS: dict[str, str] = {
    "sse": "real",
    "half_sse": "real",
    "mse": "real",
    "bce": "binary",
    "bce_logits": "binary",
    "cce": "one_hot",
    "cce_logits": "one_hot",
    "logistic": "binary",
}


def random_targets(loss: str, rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    """Targets of the kind ``loss`` expects, drawn from ``rng`` (for tests and parity cases)."""
    kind = TARGETS[loss]
    if kind == "one_hot":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    if kind == "binary":
        return (rng.random(shape) < 0.5).astype(np.float64)
    return rng.normal(size=shape)


def get_loss(name: str | Loss, **options: Any) -> Loss:
    """Look up a loss by name: ``get_loss("bce", clip="keras")``."""
    if isinstance(name, Loss):
        return name
    check_choice("loss", name, _REGISTRY)
    factory, allowed = _REGISTRY[name]
    check_keys(f"loss {name!r}", options, allowed)
    loss: Loss = factory(**options)
    return loss
