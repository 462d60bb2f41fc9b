"""A reference optimizer's options as a ``torch.optim`` optimizer, every argument explicit.

``OPTIMIZERS``: reference optimizer -> its builder and the reference options it maps
(reference -> torch 2.13):

* ``sgd``:     lr, momentum, dampening, weight_decay (coupled), nesterov
* ``rmsprop``: lr, rho -> alpha, eps, weight_decay (coupled), momentum, centered
* ``adam``:    lr, (beta1, beta2) -> betas, eps, weight_decay, amsgrad, decoupled_weight_decay

``foreach=False`` (and ``fused=False`` where it exists) selects the ``_single_tensor_*`` code
that ``reference_nn.optimizers`` follows line by line; ``maximize``, ``differentiable`` and
``capturable`` are passed as False rather than left to defaults.  :func:`option_refusal` refuses
what torch has no form of: any Keras formulation other than plain SGD, and, by name, a
non-default value of a reference option the entry does not map (a new option is never
silently dropped).  Options arrive resolved (every default filled in:
``Resolved.optimizer_options``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from parity_tests.frameworks.common.optimizer_maps import unmapped_refusal
from parity_tests.harness import loaders

_COMMON = {"foreach": False, "maximize": False, "differentiable": False}


@dataclass(frozen=True)
class TorchOptimizer:
    # (torch.optim, resolved options, parameters) -> the torch optimizer
    build: Callable[[Any, Mapping[str, Any], Any], Any]
    maps: tuple[str, ...]  # the reference options the build passes to torch


def _sgd(optim: Any, o: Mapping[str, Any], parameters: Any) -> Any:
    return optim.SGD(
        parameters,
        lr=o["lr"],
        momentum=o["momentum"],
        dampening=o["dampening"],
        weight_decay=o["weight_decay"],
        nesterov=o["nesterov"],
        fused=False,
        **_COMMON,
    )


def _rmsprop(optim: Any, o: Mapping[str, Any], parameters: Any) -> Any:
    return optim.RMSprop(
        parameters,
        lr=o["lr"],
        alpha=o["rho"],
        eps=o["eps"],
        weight_decay=o["weight_decay"],
        momentum=o["momentum"],
        centered=o["centered"],
        capturable=False,
        **_COMMON,
    )


def _adam(optim: Any, o: Mapping[str, Any], parameters: Any) -> Any:
    return optim.Adam(
        parameters,
        lr=o["lr"],
        betas=(o["beta1"], o["beta2"]),
        eps=o["eps"],
        weight_decay=o["weight_decay"],
        amsgrad=o["amsgrad"],
        decoupled_weight_decay=o["decoupled_weight_decay"],
        capturable=False,
        fused=False,
        **_COMMON,
    )


OPTIMIZERS: dict[str, TorchOptimizer] = {
    "sgd": TorchOptimizer(_sgd, ("lr", "momentum", "dampening", "weight_decay", "nesterov")),
    "rmsprop": TorchOptimizer(
        _rmsprop, ("lr", "rho", "eps", "weight_decay", "momentum", "centered")
    ),
    "adam": TorchOptimizer(
        _adam,
        ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay"),
    ),
}


def option_refusal(name: str, options: Mapping[str, Any]) -> str | None:
    """None if torch has optimizer ``name`` with these (resolved) options, else what it
    lacks."""
    if name not in OPTIMIZERS:
        return f"optimizer {name}"
    unmapped = unmapped_refusal(name, options, OPTIMIZERS[name].maps, "torch")
    if unmapped:
        return unmapped
    if options["convention"] == "torch":
        return None
    if name == "sgd":
        if options["weight_decay"]:
            return "Keras-only decoupled weight_decay (p <- p - p wd lr before the step)"
        if options["momentum"]:
            return "Keras's formulation of momentum (v <- mu v - lr g)"
        return None  # plain SGD: the same update in both conventions
    if name == "rmsprop":
        return "Keras's formulation of RMSprop (epsilon inside the root)"
    if name == "adam":
        return "Keras's formulation of Adam (epsilon hat)"
    return f"Keras's formulation of {name}"


def build(name: str, options: Mapping[str, Any], parameters: Any) -> Any:
    """``torch.optim.<X>(parameters, ...)`` for the reference optimizer ``name(**options)``
    (``options`` resolved)."""
    reason = option_refusal(name, options)
    if reason:
        raise ValueError(f"torch has no equivalent of {reason}")
    return OPTIMIZERS[name].build(loaders.torch().optim, options, parameters)
