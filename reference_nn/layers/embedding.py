"""``embedding``: integer indices to rows of a table, ``y[n, l, :] = W[x[n, l], :]``.

Input ``x (N, L)`` of integers in ``0 .. input_dim - 1``; table ``W (input_dim, output_dim)``;
output ``(N, L, output_dim)``.  Each output row is a copy of one table row, so

* ``dL/dW[r, :] = sum of dL/dy[n, l, :] over every (n, l) with x[n, l] = r``: a scatter-add
  (``np.add.at``), because a row that occurs twice collects both gradients (plain
  ``dW[x] = g`` would keep only the last).

The indices are not differentiable: the layer must come first in a network (the network
checks this), and its ``backward`` returns zeros of the input's shape.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError, check_indices
from ..options import Option, at_least
from .base import Layer


class Embedding(Layer):
    kind = "embedding"
    integer_input = True
    OPTIONS: ClassVar[dict[str, Option]] = {
        "input_dim": Option("int", check=at_least(1), doc="number of rows (distinct indices)"),
        "output_dim": Option("int", check=at_least(1), doc="length of each row"),
    }
    weight_names = ("W",)

    def build(self) -> tuple[int, ...]:
        self.input_dim = int(self.options["input_dim"])
        self.output_dim = int(self.options["output_dim"])
        self.params["W"] = np.zeros((self.input_dim, self.output_dim), self.dtype)
        self._indices: Any = None
        return (*self.input_shape, self.output_dim)

    def fans(self, name: str) -> tuple[int, int]:
        return self.input_dim, self.output_dim

    def forward(self, x: Any, training: bool = True) -> Array:
        x = check_indices(x, "X", self, ndim=1 + len(self.input_shape))
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")
        self._indices = x
        return self.params["W"][x]

    def backward(self, grad_out: Array) -> Array:
        """Store ``dL/dW`` (a scatter-add over the indices); return zeros for the input."""
        if self._indices is None:
            raise RuntimeError("backward() called before forward()")
        dW = np.zeros_like(self.params["W"])
        np.add.at(dW, self._indices, grad_out)
        self.grads = {"W": dW}
        return np.zeros(self._indices.shape, self.dtype)

    def __repr__(self) -> str:
        return (
            f"Embedding({self.input_shape}, input_dim={self.input_dim}, "
            f"output_dim={self.output_dim}, dtype={self.dtype})"
        )
