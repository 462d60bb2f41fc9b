"""The 1-D convolution (``conv1d``), channels-last: ``x (N, L, C)``, kernel ``W (k, C, F)``
(Keras' layout), output ``(N, OL, F)``::

    z[n, p, f] = b[f] + sum_{i, c} xpad[n, p*s + i*d, c] * W[i, c, f]

It is :class:`~reference_nn.layers.conv2d.Conv` with one spatial axis: the forward pass, the
gradients ``dL/dW[i] = X_i^T delta``, ``dL/db = sum delta`` and ``dL/dx`` (each tap's
``delta @ W[i].T`` added back where it read, padding cropped) are derived there.
"""

from __future__ import annotations

from typing import Any

from .conv2d import Conv


class Conv1D(Conv):
    """``conv1d``: ``x (N, L, C)``, ``W (k, C, F)``."""

    kind = "conv1d"
    rank = 1


def conv1d(input_shape: tuple[int, int], filters: int, **options: Any) -> Conv1D:
    """``Conv1D`` shorthand for tests and examples."""
    return Conv1D(input_shape, filters=filters, **options)
