"""A reference optimizer's options as a ``keras.optimizers`` optimizer, every argument explicit.

``OPTIMIZERS``: reference optimizer name -> how it is built and which reference options it
maps (reference -> Keras 3):

* ``sgd``:     lr -> learning_rate, momentum, nesterov, weight_decay (decoupled)
* ``rmsprop``: lr -> learning_rate, rho, eps -> epsilon, momentum, centered, weight_decay
* ``adam``:    lr -> learning_rate, beta1 -> beta_1, beta2 -> beta_2, eps -> epsilon, amsgrad,
  weight_decay

Keras's ``weight_decay`` is decoupled (``p <- p - p wd lr`` before the step); ``0`` is passed
as ``None``, which skips it.  Gradient clipping, EMA, loss scaling and accumulation are passed
as off.  What Keras has no form of (any torch formulation other than plain SGD, an option the
table does not map set to other than its default) is refused by :func:`option_refusal`.

Constants: Keras turns a Python float that goes through ``ops.cast`` (SGD momentum, Adam's
betas, weight_decay) into float32 first, so ``exact=True`` passes NumPy float64 scalars, which
it keeps exact.  ``exact=False`` passes plain Python floats: what a user who writes them gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity_tests.frameworks.common.optimizer_maps import unmapped_refusal
from parity_tests.harness import loaders

_OFF = {
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
    "use_ema": False,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}

Constant = Callable[[float], Any]  # a hyperparameter as Keras gets it (see ``exact``)


@dataclass(frozen=True)
class KerasOptimizer:
    """One reference optimizer in Keras."""

    # (keras.optimizers, resolved options, constant) -> the Keras optimizer
    build: Callable[[Any, Mapping[str, Any], Constant], Any]
    # the reference options ``build`` passes on; any other set to other than its default is
    # refused by name (``convention`` is checked by ``torch_refusal``)
    maps: tuple[str, ...]
    # resolved options in the torch convention -> what Keras has no form of, else None
    torch_refusal: Callable[[Mapping[str, Any]], str | None]


def _weight_decay(o: Mapping[str, Any], c: Constant) -> Any:
    return c(o["weight_decay"]) if o["weight_decay"] else None


def _sgd(optimizers: Any, o: Mapping[str, Any], c: Constant) -> Any:
    return optimizers.SGD(
        learning_rate=float(o["lr"]),
        momentum=c(o["momentum"]),
        nesterov=o["nesterov"],
        weight_decay=_weight_decay(o, c),
        **_OFF,
    )


def _sgd_torch(o: Mapping[str, Any]) -> str | None:
    if o["weight_decay"]:
        return "torch's coupled weight_decay (g <- g + wd p)"
    if o["momentum"]:
        return "torch's formulation of momentum (v <- mu v + (1 - dampening) g)"
    return None  # plain SGD: the same update in both conventions


def _rmsprop(optimizers: Any, o: Mapping[str, Any], c: Constant) -> Any:
    return optimizers.RMSprop(
        learning_rate=float(o["lr"]),
        rho=c(o["rho"]),
        momentum=c(o["momentum"]),
        epsilon=c(o["eps"]),
        centered=o["centered"],
        weight_decay=_weight_decay(o, c),
        **_OFF,
    )


def _adam(optimizers: Any, o: Mapping[str, Any], c: Constant) -> Any:
    return optimizers.Adam(
        learning_rate=float(o["lr"]),
        beta_1=c(o["beta1"]),
        beta_2=c(o["beta2"]),
        epsilon=c(o["eps"]),
        amsgrad=o["amsgrad"],
        weight_decay=_weight_decay(o, c),
        **_OFF,
    )


OPTIMIZERS: dict[str, KerasOptimizer] = {
    "sgd": KerasOptimizer(_sgd, ("lr", "momentum", "nesterov", "weight_decay"), _sgd_torch),
    "rmsprop": KerasOptimizer(
        _rmsprop,
        ("lr", "rho", "eps", "momentum", "centered", "weight_decay"),
        lambda o: "torch's formulation of RMSprop (epsilon outside the root)",
    ),
    "adam": KerasOptimizer(
        _adam,
        ("lr", "beta1", "beta2", "eps", "amsgrad", "weight_decay"),
        lambda o: "torch's formulation of Adam (epsilon on the corrected root)",
    ),
}


def option_refusal(name: str, options: Mapping[str, Any]) -> str | None:
    """None if Keras has optimizer ``name`` with these resolved options, else what it lacks."""
    entry = OPTIMIZERS.get(name)
    if entry is None:
        return f"optimizer {name}"
    if options["convention"] != "keras":
        reason = entry.torch_refusal(options)
        if reason:
            return reason
    return unmapped_refusal(name, options, entry.maps, "Keras")


def build(name: str, options: Mapping[str, Any], *, exact: bool = True) -> Any:
    """``keras.optimizers.<X>(...)`` for the reference optimizer ``name`` with its resolved
    ``options``.  Call it under ``loaders.keras_floatx(dtype)``: the learning-rate variable
    takes floatx."""
    reason = option_refusal(name, options)
    if reason:
        raise ValueError(f"Keras has no equivalent of {reason}")

    def constant(value: float) -> Any:
        return np.float64(value) if exact else float(value)

    return OPTIMIZERS[name].build(loaders.keras().optimizers, options, constant)
