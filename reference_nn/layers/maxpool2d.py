"""2-D max pooling (``maxpool2d``), channels-last: ``x (N, H, W, C)`` -> ``(N, OH, OW, C)``.

With pool ``(ph, pw)``, strides ``s`` (default: the pool size) and TensorFlow's padding rule
(``same`` pads with -inf, so a padded position never wins; see :mod:`._windows`)::

    y[n, p, q, c] = max_{i, j} xpad[n, p*s + i, q*s + j, c]

The max is piecewise the identity of one input (the window's argmax), so

* ``dL/dxpad[argmax of window (n, p, q, c)] += dL/dy[n, p, q, c]`` and every other input of the
  window gets nothing from it; overlapping windows (stride < pool) add up.

Ties (equal values in one window) send the gradient to the first tap in row-major order; a
tie between distinct inputs has probability zero for continuous data.  No parameters.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..options import Option, at_least
from ._windows import PADDINGS, Windows, per_axis, spatial_option
from .base import Layer


class Pool2D(Layer):
    """What max and average pooling share: options, window geometry, shape checks."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "pool_size": spatial_option("window size per spatial axis", default=2),
        "strides": Option(
            "int_tuple", 0, check=at_least(0), doc="step between windows; 0: the pool size"
        ),
        "padding": Option("str", "valid", choices=PADDINGS),
    }

    def build(self) -> tuple[int, ...]:
        where = f"{self.kind} layer"
        if len(self.input_shape) != 3:
            raise ShapeError(f"{where} needs samples of shape (H, W, C), got {self.input_shape}")
        self.pool = per_axis(where, "pool_size", self.options["pool_size"], 2)
        strides = self.options["strides"]
        if strides in (0, (0,)):
            strides = self.pool
        strides = per_axis(where, "strides", strides, 2)
        if min(strides) < 1:
            raise ShapeError(f"{where}: strides must be >= 1 (or 0 for the pool size)")
        self.windows = Windows(
            where, self.input_shape, self.pool, strides, (1, 1), self.options["padding"]
        )
        self._cache: Any = None
        return (*self.windows.out, self.input_shape[-1])

    def fans(self, name: str) -> tuple[int, int]:  # pragma: no cover - no parameters
        raise KeyError(name)

    def _check(self, x: Array) -> None:
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.input_shape} -> {self.output_shape}, pool={self.pool}, "
            f"strides={self.windows.strides}, padding={self.options['padding']!r})"
        )


class MaxPool2D(Pool2D):
    kind = "maxpool2d"

    def forward(self, x: Array, training: bool = True) -> Array:
        self._check(x)
        xpad = self.windows.pad(x, -np.inf)
        taps = [index for _, index in self.windows.taps()]
        stacked = np.stack([xpad[index] for index in taps])  # (taps, N, OH, OW, C)
        winner = stacked.argmax(axis=0)  # first maximal tap of every window
        self._cache = (xpad.shape, taps, winner)
        return stacked.max(axis=0)

    def backward(self, grad_out: Array) -> Array:
        """``dL/dx``: each window's gradient goes to its argmax (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        shape, taps, winner = self._cache
        dxpad = np.zeros(shape, grad_out.dtype)
        for t, index in enumerate(taps):
            dxpad[index] += np.where(winner == t, grad_out, 0)
        self.grads = {}
        return self.windows.crop(dxpad)
