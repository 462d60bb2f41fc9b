"""A reference optimizer's options as a ``keras.optimizers`` optimizer, every argument explicit.

Name mapping (reference -> Keras 3):

* ``sgd``:     lr -> learning_rate, momentum, nesterov, weight_decay (decoupled)
* ``rmsprop``: lr -> learning_rate, rho, eps -> epsilon, momentum, centered, weight_decay
* ``adam``:    lr -> learning_rate, beta1 -> beta_1, beta2 -> beta_2, eps -> epsilon, amsgrad,
  weight_decay

Keras's ``weight_decay`` is decoupled (``p <- p - p wd lr`` before the step); ``0`` is passed
as ``None``, which skips it.  Gradient clipping, EMA, loss scaling and accumulation are passed
as off.  What Keras has no form of (any torch formulation other than plain SGD) is refused by
:func:`unsupported`.

Constants: Keras turns a Python float that goes through ``ops.cast`` (SGD momentum, Adam's
betas, weight_decay) into float32 first, so ``exact=True`` passes NumPy float64 scalars, which
it keeps exact.  ``exact=False`` passes plain Python floats: what a user who writes them gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from parity_tests.harness import loaders
from reference_nn import get_optimizer

_OFF = {
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
    "use_ema": False,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _resolved(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    return get_optimizer(name, **options).options()


def unsupported(name: str, options: Mapping[str, Any]) -> str | None:
    """None if Keras has this optimizer and options, else what it lacks."""
    o = _resolved(name, options)
    if o["convention"] == "keras":
        return None
    if name == "sgd":
        if o["weight_decay"]:
            return "torch's coupled weight_decay (g <- g + wd p)"
        if o["momentum"]:
            return "torch's formulation of momentum (v <- mu v + (1 - dampening) g)"
        return None  # plain SGD: the same update in both conventions
    if name == "rmsprop":
        return "torch's formulation of RMSprop (epsilon outside the root)"
    if name == "adam":
        return "torch's formulation of Adam (epsilon on the corrected root)"
    return f"optimizer {name}"


unsupported_optimizer = unsupported


def build(name: str, options: Mapping[str, Any], *, exact: bool = True) -> Any:
    """``keras.optimizers.<X>(...)`` for the reference optimizer ``name(**options)``.

    Call it under ``loaders.keras_floatx(dtype)``: the learning-rate variable takes floatx.
    """
    reason = unsupported(name, options)
    if reason:
        raise ValueError(f"Keras has no equivalent of {reason}")
    optimizers = loaders.keras().optimizers
    o = _resolved(name, options)

    def c(value: float) -> float:
        return np.float64(value) if exact else float(value)

    lr = float(o["lr"])
    wd = c(o["weight_decay"]) if o["weight_decay"] else None
    if name == "sgd":
        return optimizers.SGD(
            learning_rate=lr,
            momentum=c(o["momentum"]),
            nesterov=o["nesterov"],
            weight_decay=wd,
            **_OFF,
        )
    if name == "rmsprop":
        return optimizers.RMSprop(
            learning_rate=lr,
            rho=c(o["rho"]),
            momentum=c(o["momentum"]),
            epsilon=c(o["eps"]),
            centered=o["centered"],
            weight_decay=wd,
            **_OFF,
        )
    if name == "adam":
        return optimizers.Adam(
            learning_rate=lr,
            beta_1=c(o["beta1"]),
            beta_2=c(o["beta2"]),
            epsilon=c(o["eps"]),
            amsgrad=o["amsgrad"],
            weight_decay=wd,
            **_OFF,
        )
    raise ValueError(f"Keras has no equivalent of optimizer {name}")
