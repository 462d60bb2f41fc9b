"""Inverted dropout (``dropout``) with masks drawn from the layer's own generator.

In training, each forward call draws one mask for the whole batch from
``numpy.random.default_rng(seed)`` (created when the layer is built, so a rebuilt network
replays the same masks)::

    keep = rng.random(x.shape) >= rate        (float64 draws, whatever the dtype)
    mask = keep / (1 - rate)                  (inverted scaling: E[mask] = 1)
    y    = x * mask,   dL/dx = dL/dy * mask

In inference ``y = x`` and ``dL/dx = dL/dy``.  :func:`dropout_mask` is that draw, exported so
that the framework adapters inject exactly the masks the reference uses (same seed, one draw
per training forward call); no framework's own random dropout is ever compared.  No
parameters.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..options import Option, at_least
from .base import Layer


def _rate(value: float) -> str | None:
    return None if 0.0 <= value < 1.0 else "must lie in [0, 1)"


def dropout_mask(rng: np.random.Generator, shape: tuple[int, ...], rate: float, dtype: Any) -> Any:
    """The next mask of ``rng``: ``(rng.random(shape) >= rate) / (1 - rate)`` in ``dtype``."""
    keep = rng.random(shape) >= rate
    return (keep / (1.0 - rate)).astype(dtype)


class Dropout(Layer):
    kind = "dropout"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "rate": Option("float", check=_rate, doc="probability of dropping an element"),
        "seed": Option("int", 0, check=at_least(0), doc="seed of the layer's mask generator"),
    }

    def build(self) -> tuple[int, ...]:
        self.rate = float(self.options["rate"])
        self.rng = np.random.default_rng(self.options["seed"])
        self._mask: Array | None = None
        return self.input_shape

    def fans(self, name: str) -> tuple[int, int]:  # pragma: no cover - no parameters
        raise KeyError(name)

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")
        if not training:
            self._mask = None
            return x
        self._mask = dropout_mask(self.rng, x.shape, self.rate, self.dtype)
        return x * self._mask

    def backward(self, grad_out: Array) -> Array:
        self.grads = {}
        return grad_out if self._mask is None else grad_out * self._mask

    def __repr__(self) -> str:
        return f"Dropout({self.input_shape}, rate={self.rate!r}, seed={self.options['seed']})"
