"""The Dense layer: ``z = x @ W + b``, ``a = f(z)``, and its backward pass.

Shapes (N samples): ``x (N, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``z, a (N, n_out)``.
Given ``delta = dL/dz`` (N, n_out), the chain rule gives

* ``dL/dW = x.T @ delta``          each weight's gradient, summed over the batch,
* ``dL/db = delta.sum(axis=0)``    the bias gradient, also summed over the batch,
* ``dL/dx = delta @ W.T``          what the previous layer receives as its ``dL/da``.

Options: ``units`` (n_out), ``activation`` and ``activation_options`` (see
:mod:`reference_nn.activations`), ``use_bias``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..activations import ACTIVATIONS, get_activation
from ..options import Option, at_least
from .base import Layer


class Dense(Layer):
    """A fully connected layer with an optional bias and an activation."""

    kind = "dense"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "units": Option("int", check=at_least(1), doc="outputs per sample"),
        "activation": Option("str", "sigmoid", choices=lambda: ACTIVATIONS),
        "activation_options": Option("dict", {}),
        "use_bias": Option("bool", True),
    }
    weight_names = ("W",)
    bias_names = ("b",)

    def build(self) -> tuple[int, ...]:
        if len(self.input_shape) != 1:
            raise ShapeError(
                f"dense layer needs a flat input (n_in,), got {self.input_shape}; "
                "put a flatten layer before it"
            )
        opts = self.options
        self.activation = get_activation(opts["activation"], **opts["activation_options"])
        self.use_bias = opts["use_bias"]
        self.params["W"] = np.zeros((self.n_in, opts["units"]), self.dtype)
        if self.use_bias:
            self.params["b"] = np.zeros(opts["units"], self.dtype)
        self._cache: tuple[Array, Array, Array] | None = None
        return (opts["units"],)

    @property
    def n_in(self) -> int:
        return self.input_shape[0]

    @property
    def n_out(self) -> int:
        return int(self.options["units"])

    def fans(self, name: str) -> tuple[int, int]:
        return self.n_in, self.n_out

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"Dense({self.n_in}->{self.n_out}) got input of shape {x.shape}")
        z = x @ self.params["W"]
        if self.use_bias:
            z = z + self.params["b"]
        a = self.activation.forward(z)
        self._cache = (x, z, a)  # kept for the backward pass
        return a

    def backward(self, grad_out: Array) -> Array:
        """Take ``dL/da``, store ``dL/dW`` and ``dL/db`` in ``self.grads``, return ``dL/dx``."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        _, z, a = self._cache
        return self.backward_from_pre_activation(self.activation.backward(grad_out, z, a))

    @property
    def pre_activation(self) -> Array:
        """``z`` of the last forward pass: what a loss on logits reads (``Loss.logits_of``)."""
        if self._cache is None:
            raise RuntimeError("no forward pass yet")
        return self._cache[1]

    def backward_from_pre_activation(self, delta: Array) -> Array:
        """:meth:`backward` given ``delta = dL/dz`` itself (a loss on logits gives it)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        x = self._cache[0]
        self.grads = {"W": x.T @ delta}
        if self.use_bias:
            self.grads["b"] = delta.sum(axis=0)
        return delta @ self.params["W"].T

    def __repr__(self) -> str:
        bias = "" if self.use_bias else ", use_bias=False"
        return f"Dense({self.n_in}, {self.n_out}, {self.activation!r}{bias}, dtype={self.dtype})"


def dense(n_in: int, units: int, activation: str = "sigmoid", **options: Any) -> Dense:
    """``Dense`` for a flat input of ``n_in`` features (a shorthand for tests and examples)."""
    return Dense((n_in,), units=units, activation=activation, **options)
