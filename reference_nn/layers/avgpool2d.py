"""2-D average pooling (``avgpool2d``), channels-last: ``x (N, H, W, C)`` -> ``(N, OH, OW, C)``.

With pool ``(ph, pw)``, strides ``s`` (default: the pool size) and TensorFlow's padding rule
(see :mod:`._windows`), the average is over the window's *real* inputs: a ``same``-padded
window that overlaps the border divides by the number of inputs it covers, not by
``ph * pw`` (TensorFlow's ``AvgPool``; torch's ``count_include_pad=False``)::

    y[n, p, q, c] = (1 / count[p, q]) * sum_{i, j} xpad[n, p*s + i, q*s + j, c]
    count[p, q]   = number of (i, j) with (p*s + i, q*s + j) inside the unpadded input

so, linear in ``x``,

* ``dL/dxpad[n, p*s + i, q*s + j, c] += dL/dy[n, p, q, c] / count[p, q]`` for every tap
  ``(i, j)`` (overlapping windows add up; the padded positions are cropped away).

No parameters.
"""

from __future__ import annotations

import numpy as np

from .._checks import Array
from .maxpool2d import Pool2D


class AvgPool2D(Pool2D):
    kind = "avgpool2d"

    def _count(self, dtype: np.dtype) -> Array:
        """``count[p, q]`` of the module docstring, shape ``(1, OH, OW, 1)``."""
        ones = self.windows.pad(np.ones((1, *self.input_shape[:-1], 1), dtype))
        return sum((ones[index] for _, index in self.windows.taps()), np.zeros((), dtype))

    def forward(self, x: Array, training: bool = True) -> Array:
        self._check(x)
        xpad = self.windows.pad(x)
        count = self._count(x.dtype)
        total = np.zeros((len(x), *self.output_shape), x.dtype)
        for _, index in self.windows.taps():
            total += xpad[index]
        self._cache = (xpad.shape, count)
        return total / count

    def backward(self, grad_out: Array) -> Array:
        """``dL/dx``: each window's gradient shared equally by its real inputs."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        shape, count = self._cache
        share = grad_out / count
        dxpad = np.zeros(shape, grad_out.dtype)
        for _, index in self.windows.taps():
            dxpad[index] += share
        self.grads = {}
        return self.windows.crop(dxpad)
