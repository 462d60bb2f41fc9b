"""Batch normalisation (``batchnorm``) over the last (channel) axis, in torch's or Keras'
convention for the running statistics.

Input ``x`` of shape ``(N, ..., C)``: every axis but the last is reduced, so each channel has
``M = x.size / C`` values per batch.  Parameters ``gamma (C,)`` (starts at 1) and ``beta
(C,)`` (starts at 0); non-trainable state ``running_mean`` (starts at 0) and ``running_var``
(starts at 1), kept in ``self.state`` and never among the parameters (no optimizer touches
them; ``Sequential.get_state()`` names them ``"<layer>.running_mean"``).

Training (batch statistics, the biased variance in the normalisation, as both frameworks)::

    mu = mean(x),  var = mean((x - mu)^2),  inv = 1 / sqrt(var + eps)
    xhat = (x - mu) * inv,   y = gamma * xhat + beta

Given ``g = dL/dy``, with sums over the ``M`` values of a channel:

* ``dL/dbeta  = sum(g)``
* ``dL/dgamma = sum(g * xhat)``
* ``dL/dx     = (gamma * inv / M) * (M * g - sum(g) - xhat * sum(g * xhat))``

(``xhat`` depends on ``x`` directly and through ``mu`` and ``var``; the two subtracted terms
are those two paths.)  Inference uses the running statistics, so ``y`` is affine in ``x``:
``dL/dx = g * gamma / sqrt(running_var + eps)``.

Running statistics after each training forward pass, by ``convention``:

* ``"torch"`` (``momentum`` default 0.1, the weight of the *new* batch):
  ``running = (1 - momentum) * running + momentum * batch``, and the batch variance used is
  the unbiased one, ``var * M / (M - 1)`` (so M must be > 1);
* ``"keras"`` (``momentum`` default 0.99, the weight of the *old* value):
  ``running = running * momentum + batch * (1 - momentum)``, with the biased ``var``.

``epsilon`` has no default: torch's is 1e-5, Keras' 1e-3, and the spec must say which.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..initializers import Initializer
from ..options import Option
from ._reduce import channel_mean, channel_sum
from .base import Layer

CONVENTIONS = ("torch", "keras")
DEFAULT_MOMENTUM = {"torch": 0.1, "keras": 0.99}


def _fraction(value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else "must lie in [0, 1]"


def _positive(value: float) -> str | None:
    return None if value > 0.0 else "must be > 0"


class BatchNorm(Layer):
    kind = "batchnorm"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "convention": Option("str", choices=CONVENTIONS, doc="running-statistics update"),
        "epsilon": Option("float", check=_positive, doc="torch 1e-5, Keras 1e-3"),
        "momentum": Option("float", None, check=_fraction, doc="default: the convention's"),
    }
    state_names = ("running_mean", "running_var")

    def build(self) -> tuple[int, ...]:
        self.channels = self.input_shape[-1]
        self.convention = self.options["convention"]
        self.epsilon = float(self.options["epsilon"])
        momentum = self.options["momentum"]
        self.momentum = DEFAULT_MOMENTUM[self.convention] if momentum is None else momentum
        self.params["gamma"] = np.ones(self.channels, self.dtype)
        self.params["beta"] = np.zeros(self.channels, self.dtype)
        self.state: dict[str, Array] = {
            "running_mean": np.zeros(self.channels, self.dtype),
            "running_var": np.ones(self.channels, self.dtype),
        }
        self._cache: Any = None
        return self.input_shape

    def fans(self, name: str) -> tuple[int, int]:
        return self.channels, self.channels

    def initialize(
        self, rng: np.random.Generator, weight_init: Initializer, bias_init: Initializer
    ) -> None:
        """``gamma = 1``, ``beta = 0`` (both frameworks' defaults); no draw from ``rng``."""
        self.params["gamma"][...] = 1
        self.params["beta"][...] = 0

    def _update_running(self, mean: Array, var: Array, m: int) -> None:
        rm, rv = self.state["running_mean"], self.state["running_var"]
        k = self.momentum
        if self.convention == "torch":
            unbiased = var * (m / (m - 1))
            rm[...] = (1 - k) * rm + k * mean
            rv[...] = (1 - k) * rv + k * unbiased
        else:
            rm[...] = rm * k + mean * (1.0 - k)
            rv[...] = rv * k + var * (1.0 - k)

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            m = x.size // self.channels
            if m < 2 and self.convention == "torch":
                raise ShapeError(
                    "batchnorm (torch convention) needs more than one value per channel in "
                    f"training, got input {x.shape}; use a batch of 2 or more"
                )
            mean = channel_mean(x)  # sums pairwise per channel: see _reduce
            centred = x - mean
            var = channel_mean(centred * centred)
            self._update_running(mean, var, m)
        else:
            centred = x - self.state["running_mean"]
            var = self.state["running_var"]
        inv = 1 / np.sqrt(var + self.dtype.type(self.epsilon))
        xhat = centred * inv
        self._cache = (xhat, inv, training)
        return gamma * xhat + beta

    def backward(self, grad_out: Array) -> Array:
        """Store ``dL/dgamma``, ``dL/dbeta``; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        xhat, inv, training = self._cache
        g = grad_out
        sum_g = channel_sum(g)
        sum_g_xhat = channel_sum(g * xhat)
        self.grads = {"gamma": sum_g_xhat, "beta": sum_g}
        scale = self.params["gamma"] * inv
        if not training:
            return g * scale
        m = g.size // self.channels
        return (scale / m) * (m * g - sum_g - xhat * sum_g_xhat)

    def __repr__(self) -> str:
        return (
            f"BatchNorm({self.input_shape}, convention={self.convention!r}, "
            f"epsilon={self.epsilon!r}, momentum={self.momentum!r}, dtype={self.dtype})"
        )
