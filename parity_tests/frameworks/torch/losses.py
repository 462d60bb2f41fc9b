"""The reference's losses as torch computes them: ``LOSSES`` (reference loss -> a builder that
takes the spec's loss options and returns ``loss(output, target)``), and the loss conventions
torch does not compute (:func:`option_refusal`).  torch has no probability form of ``cce``:
it is written out; ``logistic`` (the course cost) sums over classes, means over samples."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from parity_tests.harness import loaders
from parity_tests.harness.protocol import Refused

LossFn = Callable[[Any, Any], Any]


def _nn() -> Any:
    return loaders.torch().nn


def _half_sse(options: Mapping[str, Any]) -> LossFn:
    sse = _nn().MSELoss(reduction="sum")
    return lambda p, y: 0.5 * sse(p, y)


def _logistic(options: Mapping[str, Any]) -> LossFn:
    bce_sum = _nn().BCELoss(reduction="sum")
    return lambda p, y: bce_sum(p, y) / p.shape[0]


def _cce(options: Mapping[str, Any]) -> LossFn:
    log = loaders.torch().log
    return lambda p, y: -(y * log(p)).sum(dim=-1).mean()


LOSSES: dict[str, Callable[[Mapping[str, Any]], LossFn]] = {
    "sse": lambda o: _nn().MSELoss(reduction="sum"),
    "half_sse": _half_sse,
    "mse": lambda o: _nn().MSELoss(),
    "bce": lambda o: _nn().BCELoss(),  # clamps the log at -100: the reference's clip="torch"
    "bce_logits": lambda o: _nn().BCEWithLogitsLoss(),
    "cce": _cce,
    "cce_logits": lambda o: _nn().CrossEntropyLoss(),  # probability targets, batch mean
    "logistic": _logistic,
}


def option_refusal(name: str, options: Mapping[str, Any]) -> str | None:
    """None if torch computes loss ``name`` with ``options`` (the spec's), else what it lacks."""
    if name == "bce" and options.get("clip") == "keras":
        return "Keras' probability clipping"
    if name == "cce" and options.get("convention") == "keras":
        return "Keras' probability renormalisation"
    if options.get("clip" if name == "bce" else "convention") == "logits":
        return "Keras on TensorFlow's loss on the logits behind the output activation"
    if name == "bce" and options.get("reduction", "mean") != "mean":
        return "bce with a reduction other than mean"
    return None


def build(name: str, options: Mapping[str, Any]) -> LossFn:
    """``loss(output, target)`` for the reference loss ``name(**options)``."""
    reason = option_refusal(name, options)
    if reason:
        raise Refused(f"torch has no equivalent of {reason}")
    return LOSSES[name](options)
