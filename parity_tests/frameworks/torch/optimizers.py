"""A reference optimizer's options as a ``torch.optim`` optimizer, every argument explicit.

Name mapping (reference -> torch 2.13):

* ``sgd``:     lr, momentum, dampening, weight_decay (coupled), nesterov
* ``rmsprop``: lr, rho -> alpha, eps, weight_decay (coupled), momentum, centered
* ``adam``:    lr, (beta1, beta2) -> betas, eps, weight_decay, amsgrad, decoupled_weight_decay

``foreach=False`` (and ``fused=False`` where it exists) selects the ``_single_tensor_*`` code
that ``reference_nn.optimizers`` follows line by line; ``maximize``, ``differentiable`` and
``capturable`` are passed as False rather than left to defaults.  What torch has no form of
(any Keras formulation other than plain SGD) is refused by :func:`unsupported`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity_tests.harness import loaders
from reference_nn import get_optimizer


def _resolved(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    return get_optimizer(name, **options).options()


def unsupported(name: str, options: Mapping[str, Any]) -> str | None:
    """None if torch has this optimizer and options, else what it lacks."""
    o = _resolved(name, options)
    if o["convention"] == "torch":
        return None
    if name == "sgd":
        if o["weight_decay"]:
            return "Keras-only decoupled weight_decay (p <- p - p wd lr before the step)"
        if o["momentum"]:
            return "Keras's formulation of momentum (v <- mu v - lr g)"
        return None  # plain SGD: the same update in both conventions
    if name == "rmsprop":
        return "Keras's formulation of RMSprop (epsilon inside the root)"
    if name == "adam":
        return "Keras's formulation of Adam (epsilon hat)"
    return f"optimizer {name}"


unsupported_optimizer = unsupported


def build(name: str, options: Mapping[str, Any], parameters: Any) -> Any:
    """``torch.optim.<X>(parameters, ...)`` for the reference optimizer ``name(**options)``."""
    reason = unsupported(name, options)
    if reason:
        raise ValueError(f"torch has no equivalent of {reason}")
    optim = loaders.torch().optim
    o = _resolved(name, options)
    common = {"foreach": False, "maximize": False, "differentiable": False}
    if name == "sgd":
        return optim.SGD(
            parameters,
            lr=o["lr"],
            momentum=o["momentum"],
            dampening=o["dampening"],
            weight_decay=o["weight_decay"],
            nesterov=o["nesterov"],
            fused=False,
            **common,
        )
    if name == "rmsprop":
        return optim.RMSprop(
            parameters,
            lr=o["lr"],
            alpha=o["rho"],
            eps=o["eps"],
            weight_decay=o["weight_decay"],
            momentum=o["momentum"],
            centered=o["centered"],
            capturable=False,
            **common,
        )
    if name == "adam":
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
            **common,
        )
    raise ValueError(f"torch has no equivalent of optimizer {name}")
