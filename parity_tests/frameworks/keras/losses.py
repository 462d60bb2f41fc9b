"""Reference losses in Keras 3, and the cross-entropy conventions Keras computes.

``LOSSES``: reference loss name -> two forms of it.  On TensorFlow, the ``keras.losses`` class
(exact there).  On JAX and torch, Keras's elementwise op (``ops.binary_crossentropy``,
``ops.categorical_crossentropy``, ``ops.square``) reduced with ``ops.sum`` and divided by the
count with the backend's own ``/``: the loss classes reduce with ``ops.mean``, which computes
in float32 there for float64 inputs (:mod:`.backends`).

Conventions: on TensorFlow a sigmoid or softmax output keeps its scores (``_keras_logits``)
and ``binary_crossentropy`` / ``categorical_crossentropy`` compute from them, never clipping:
the ``logits`` convention.  On JAX (an array takes no attribute) and torch (whose loss ignores
it) they clip the probabilities: ``keras``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity_tests.frameworks.keras.backends import BACKEND_NAMES
from parity_tests.harness import loaders
from reference_nn import NetworkSpec

LossFn = Callable[[Any, Any], Any]  # (targets, predictions) -> the loss


@dataclass(frozen=True)
class KerasLoss:
    """One reference loss in Keras: as a ``keras.losses`` class and as ops."""

    # (keras.losses, the network's output count K, {"dtype": ...}) -> the loss (TensorFlow)
    by_class: Callable[[Any, int, dict[str, str]], LossFn]
    # keras.ops -> the loss (JAX, torch)
    by_ops: Callable[[Any], LossFn]


def _count(y: Any) -> int:
    return int(np.prod(y.shape))


def _sum_of_squares(factor: float) -> KerasLoss:
    def by_class(losses: Any, n_out: int, dt: dict[str, str]) -> LossFn:
        # Keras' "sum" reduction sums the per-sample means over the outputs: times K is the SSE
        total = losses.MeanSquaredError(reduction="sum", **dt)
        scale = n_out * factor
        return lambda y, p: total(y, p) * scale

    return KerasLoss(by_class, lambda ops: lambda y, p: ops.sum(ops.square(y - p)) * factor)


def _bce_by_ops(*, logits: bool, per_sample: bool) -> Callable[[Any], LossFn]:
    """Summed ``ops.binary_crossentropy`` over the batch (``per_sample``: the logistic cost,
    a sum over classes) or over every element."""

    def by_ops(ops: Any) -> LossFn:
        def bce(y: Any, p: Any) -> Any:
            total = ops.sum(ops.binary_crossentropy(y, p, from_logits=logits))
            return total / (int(y.shape[0]) if per_sample else _count(y))

        return bce

    return by_ops


def _cce_by_ops(*, logits: bool) -> Callable[[Any], LossFn]:
    return lambda ops: (
        lambda y, p: (
            ops.sum(ops.categorical_crossentropy(y, p, from_logits=logits)) / int(y.shape[0])
        )
    )


def _logistic(losses: Any, n_out: int, dt: dict[str, str]) -> LossFn:
    """Keras' mean over outputs and batch, times K: the sum over classes / m."""
    bce = losses.BinaryCrossentropy(**dt)
    return lambda y, p: bce(y, p) * n_out


LOSSES: dict[str, KerasLoss] = {
    "sse": _sum_of_squares(1.0),
    "half_sse": _sum_of_squares(0.5),
    "mse": KerasLoss(
        lambda losses, n_out, dt: losses.MeanSquaredError(**dt),
        lambda ops: lambda y, p: ops.sum(ops.square(y - p)) / _count(y),
    ),
    "bce": KerasLoss(
        lambda losses, n_out, dt: losses.BinaryCrossentropy(**dt),
        _bce_by_ops(logits=False, per_sample=False),
    ),
    "bce_logits": KerasLoss(
        lambda losses, n_out, dt: losses.BinaryCrossentropy(from_logits=True, **dt),
        _bce_by_ops(logits=True, per_sample=False),
    ),
    "cce": KerasLoss(
        lambda losses, n_out, dt: losses.CategoricalCrossentropy(**dt),
        _cce_by_ops(logits=False),
    ),
    "cce_logits": KerasLoss(
        lambda losses, n_out, dt: losses.CategoricalCrossentropy(from_logits=True, **dt),
        _cce_by_ops(logits=True),
    ),
    "logistic": KerasLoss(_logistic, _bce_by_ops(logits=False, per_sample=True)),
}


def by_ops(name: str) -> LossFn:
    """The loss ``name`` as Keras ops (what the JAX and torch backends compute)."""
    return LOSSES[name].by_ops(loaders.keras().ops)


def loss_function(name: str, n_out: int, backend: str, dtype: str) -> LossFn:
    """The loss ``name`` on ``backend``, for a network of ``n_out`` outputs."""
    if backend != "tensorflow":
        return by_ops(name)
    # dtype explicit: the loss casts predictions to its own dtype
    return LOSSES[name].by_class(loaders.keras().losses, n_out, {"dtype": dtype})


# the loss option that names a cross-entropy's convention
_CONVENTION_OPTION = {"bce": "clip", "cce": "convention"}
# the output activation whose logits Keras on TensorFlow reads for each cross-entropy
_LOGITS_OF = {"bce": "sigmoid", "cce": "softmax"}


def conventions(spec: NetworkSpec, backend: str) -> dict[str, str]:
    """The cross-entropy convention Keras on ``backend`` computes for ``spec``, as the loss
    option that names it (``{"clip": "logits"}``); empty for a loss without one."""
    key = _CONVENTION_OPTION.get(spec.loss)
    if key is None:
        return {}
    reads_logits = spec.layers[-1].options.get("activation") == _LOGITS_OF[spec.loss]
    return {key: "logits" if backend == "tensorflow" and reads_logits else "keras"}


def convention_refusal(spec: NetworkSpec, backend: str) -> str | None:
    """A cross-entropy convention named for what Keras on ``backend`` does not compute."""
    key = _CONVENTION_OPTION.get(spec.loss)
    convention = spec.loss_options.get(key) if key else None
    output = spec.layers[-1].options.get("activation")
    if convention == "logits" and backend != "tensorflow":
        return (
            f"the logits behind the output layer (Keras on {BACKEND_NAMES[backend]} clips the "
            "probabilities: the 'keras' convention)"
        )
    if convention == "keras" and backend == "tensorflow" and output in ("sigmoid", "softmax"):
        return (
            f"Keras' probability clipping (Keras on TensorFlow reads the logits behind a "
            f"{output} output layer: the 'logits' convention)"
        )
    return None


def option_refusal(spec: NetworkSpec) -> str | None:
    """A loss option Keras has no form of."""
    if spec.loss == "bce" and spec.loss_options.get("clip") == "torch":
        return "torch's log clamp at -100"
    if spec.loss == "bce" and spec.loss_options.get("reduction", "mean") != "mean":
        return "bce with a reduction other than mean"
    return None
