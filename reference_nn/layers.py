"""The Dense layer: ``z = x @ W + b``, ``a = f(z)``, and its backward pass.

Shapes (N samples): ``x (N, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``z, a (N, n_out)``.
Given ``delta = dL/dz`` (N, n_out), the chain rule gives

* ``dL/dW = x.T @ delta``          each weight's gradient, summed over the batch,
* ``dL/db = delta.sum(axis=0)``    the bias gradient, also summed over the batch,
* ``dL/dx = delta @ W.T``          what the previous layer receives as its ``dL/da``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import Array, ShapeError, as_dtype
from .activations import Activation, get_activation


class Dense:
    """A fully connected layer with an optional bias and an activation."""

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | Activation = "sigmoid",
        *,
        use_bias: bool = True,
        dtype: Any = np.float64,
        activation_params: dict[str, float] | None = None,
    ) -> None:
        if n_in < 1 or n_out < 1:
            raise ValueError(f"Dense layer sizes must be >= 1, got n_in={n_in}, n_out={n_out}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.activation = get_activation(activation, **(activation_params or {}))
        self.use_bias = use_bias
        self.dtype = as_dtype(dtype)
        self.params: dict[str, Array] = {"W": np.zeros((n_in, n_out), self.dtype)}
        if use_bias:
            self.params["b"] = np.zeros(n_out, self.dtype)
        self.grads: dict[str, Array] = {}
        self._cache: tuple[Array, Array, Array] | None = None

    def forward(self, x: Array) -> Array:
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"Dense({self.n_in}->{self.n_out}) got input of shape {x.shape}")
        z = x @ self.params["W"]
        if self.use_bias:
            z = z + self.params["b"]
        a = self.activation.forward(z)
        self._cache = (x, z, a)  # kept for the backward pass
        return a

    def backward(self, grad_a: Array) -> Array:
        """Take ``dL/da``, store ``dL/dW`` and ``dL/db`` in ``self.grads``, return ``dL/dx``."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        x, z, a = self._cache
        delta = self.activation.backward(grad_a, z, a)  # dL/dz
        self.grads = {"W": x.T @ delta}
        if self.use_bias:
            self.grads["b"] = delta.sum(axis=0)
        return delta @ self.params["W"].T

    def __repr__(self) -> str:
        bias = "" if self.use_bias else ", use_bias=False"
        return f"Dense({self.n_in}, {self.n_out}, {self.activation!r}{bias}, dtype={self.dtype})"
