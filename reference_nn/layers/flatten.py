"""``flatten``: one sample of any shape to a vector, in the reference's (channels-last, C
order) element order: ``(N, H, W, C)`` -> ``(N, H * W * C)`` with ``C`` varying fastest.

A reshape moves no value, so ``dL/dx`` is ``dL/dy`` reshaped back to ``(N, H, W, C)``.

The order matters to the weights of the dense layer that follows: torch's ``nn.Flatten`` on an
NCHW tensor puts ``W`` fastest instead, so the torch adapter flattens channels-last (see
``parity_tests/frameworks/torch/layers.py`` and the known-difference test).  No parameters.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..options import Option
from .base import Layer


class Flatten(Layer):
    kind = "flatten"
    OPTIONS: ClassVar[dict[str, Option]] = {}

    def build(self) -> tuple[int, ...]:
        return (int(np.prod(self.input_shape)),)

    def fans(self, name: str) -> tuple[int, int]:  # pragma: no cover - no parameters
        raise KeyError(name)

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"flatten layer for {self.input_shape} got input of shape {x.shape}")
        return x.reshape(len(x), -1)

    def backward(self, grad_out: Array) -> Array:
        self.grads = {}
        return grad_out.reshape(len(grad_out), *self.input_shape)

    def __repr__(self) -> str:
        return f"Flatten({self.input_shape} -> {self.output_shape})"
