"""Layer normalisation (``layernorm``) over the last axis, per sample (and per position).

For input ``x (N, ..., D)``, each vector ``x[n, ..., :]`` of ``D`` values is normalised on its
own (no running statistics, the same in training and inference)::

    mu = mean(x),  var = mean((x - mu)^2),  inv = 1 / sqrt(var + eps)
    xhat = (x - mu) * inv,   y = gamma * xhat + beta          (gamma, beta: (D,))

Given ``g = dL/dy``, with the sums over the ``D`` values of one vector:

* ``dL/dbeta  = g`` summed over every axis but the last
* ``dL/dgamma = g * xhat`` summed over every axis but the last
* ``dL/dx     = (inv / D) * (D * gh - sum(gh) - xhat * sum(gh * xhat))``, ``gh = g * gamma``

It is batch normalisation's formula with the roles of the axes swapped.  ``epsilon`` has no
default: torch's ``nn.LayerNorm`` uses 1e-5, Keras' ``LayerNormalization`` 1e-3.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..initializers import Initializer
from ..options import Option
from .base import Layer
from .batchnorm import _positive


class LayerNorm(Layer):
    kind = "layernorm"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "epsilon": Option("float", check=_positive, doc="torch 1e-5, Keras 1e-3"),
    }

    def build(self) -> tuple[int, ...]:
        self.size = self.input_shape[-1]
        self.epsilon = float(self.options["epsilon"])
        self.params["gamma"] = np.ones(self.size, self.dtype)
        self.params["beta"] = np.zeros(self.size, self.dtype)
        self._cache: Any = None
        return self.input_shape

    def fans(self, name: str) -> tuple[int, int]:
        return self.size, self.size

    def initialize(
        self, rng: np.random.Generator, weight_init: Initializer, bias_init: Initializer
    ) -> None:
        """``gamma = 1``, ``beta = 0`` (both frameworks' defaults); no draw from ``rng``."""
        self.params["gamma"][...] = 1
        self.params["beta"][...] = 0

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=-1, keepdims=True)
        inv = 1 / np.sqrt(var + self.dtype.type(self.epsilon))
        xhat = centred * inv
        self._cache = (xhat, inv)
        return self.params["gamma"] * xhat + self.params["beta"]

    def backward(self, grad_out: Array) -> Array:
        """Store ``dL/dgamma``, ``dL/dbeta``; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        xhat, inv = self._cache
        g = grad_out
        axes = tuple(range(g.ndim - 1))
        self.grads = {"gamma": (g * xhat).sum(axis=axes), "beta": g.sum(axis=axes)}
        gh = g * self.params["gamma"]
        d = self.size
        sum_gh = gh.sum(axis=-1, keepdims=True)
        sum_gh_xhat = (gh * xhat).sum(axis=-1, keepdims=True)
        return (inv / d) * (d * gh - sum_gh - xhat * sum_gh_xhat)

    def __repr__(self) -> str:
        return f"LayerNorm({self.input_shape}, epsilon={self.epsilon!r}, dtype={self.dtype})"
