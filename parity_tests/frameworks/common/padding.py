"""TensorFlow's padding rule, written here once more for the framework adapters (not taken
from the reference, so that the parity check tests the reference's own rule in
``reference_nn/layers/_windows.py``).

``valid``: no padding.  ``same``: ``out = ceil(n / s)``, ``total = max((out - 1) s + (k - 1) d
+ 1 - n, 0)``, ``total // 2`` before and the rest after (so an odd total puts the extra row at
the bottom / right, where torch's symmetric ``padding="same"`` cannot).
"""

from __future__ import annotations


def tf_padding(
    padding: str,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """``(before, after)`` per spatial axis."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation, strict=True):
        total = 0
        if padding == "same":
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)
