"""Sliding windows over the spatial axes of a channels-last batch, shared by the convolution
and pooling kinds.

A batch is ``(N, *spatial, C)`` (NHWC for 2-D, NLC for 1-D).  A window of ``kernel`` taps with
``strides`` ``s`` and ``dilation`` ``d`` reads, for output position ``o`` and tap ``t``, the
padded input at ``o * s + t * d`` along each spatial axis.  Rather than copying every window
(im2col), the layers loop over the taps: for one tap, the input positions read by *all* output
positions form one strided slice of the padded input,

    xpad[:, t*d : t*d + s*(out-1) + 1 : s, ..., :]     (shape (N, *out, C))

so a convolution is a sum over taps of ``slice @ W[tap]``, and its backward pass adds each
tap's contribution back into the same slice.  ``taps`` yields those slices.

Padding follows TensorFlow (and Keras): ``"valid"`` pads nothing and drops the positions where
a window would overrun; ``"same"`` gives ``out = ceil(size / s)`` and pads
``total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)``, ``total // 2`` before and the
rest after: with an odd total the extra row/column goes to the bottom/right.  (torch's
``padding="same"`` pads symmetrically and only for stride 1; the torch adapter pads explicitly.)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._checks import Array, ShapeError
from ..options import Option, at_least

PADDINGS = ("valid", "same")


def spatial_option(doc: str, default: Any = 1) -> Option:
    """An int or a list of ints, one per spatial axis (an int applies to every axis)."""
    return Option("int_tuple", default, check=at_least(1), doc=doc)


def per_axis(where: str, name: str, value: Any, rank: int) -> tuple[int, ...]:
    """``value`` (an int or a tuple) as one int per spatial axis."""
    values = tuple(value) if isinstance(value, tuple | list) else (int(value),)
    if len(values) == 1:
        values = values * rank
    if len(values) != rank:
        raise ShapeError(f"{where}: {name} needs 1 or {rank} values, got {list(values)}")
    return values


def padding_amounts(
    size: int, kernel: int, stride: int, dilation: int, padding: str
) -> tuple[int, int, int]:
    """``(out, before, after)`` for one spatial axis, TensorFlow's rule (see module doc)."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - effective) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return out, total // 2, total - total // 2


class Windows:
    """The window geometry of one layer for one per-sample input shape ``(*spatial, C)``."""

    def __init__(
        self,
        where: str,
        input_shape: tuple[int, ...],
        kernel: Sequence[int],
        strides: Sequence[int],
        dilation: Sequence[int],
        padding: str,
    ) -> None:
        self.kernel, self.strides, self.dilation = tuple(kernel), tuple(strides), tuple(dilation)
        spatial = input_shape[:-1]
        geometry = [
            padding_amounts(n, k, s, d, padding)
            for n, k, s, d in zip(spatial, self.kernel, self.strides, self.dilation, strict=True)
        ]
        self.out = tuple(g[0] for g in geometry)
        self.pads = tuple((g[1], g[2]) for g in geometry)
        if min(self.out) < 1:
            raise ShapeError(
                f"{where}: input {spatial} is smaller than the window (kernel {self.kernel}, "
                f"dilation {self.dilation}) with padding 'valid'; use padding 'same' or a "
                "larger input"
            )

    def pad(self, x: Array, value: float = 0.0) -> Array:
        """``x`` (N, *spatial, C) padded on the spatial axes with ``value``."""
        if not any(b or a for b, a in self.pads):
            return x
        return np.pad(x, ((0, 0), *self.pads, (0, 0)), constant_values=value)

    def crop(self, xpad: Array) -> Array:
        """The inverse of ``pad`` for a gradient: drop the padded rows/columns."""
        index = tuple(slice(b, xpad.shape[i + 1] - a) for i, (b, a) in enumerate(self.pads))
        return xpad[(slice(None), *index, slice(None))]

    def taps(self) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
        """``(tap, index)`` for every kernel tap: ``xpad[index]`` is what that tap reads for
        every output position at once, shape ``(N, *out, C)``."""
        for tap in itertools.product(*(range(k) for k in self.kernel)):
            index = tuple(
                slice(t * d, t * d + s * (o - 1) + 1, s)
                for t, d, s, o in zip(tap, self.dilation, self.strides, self.out, strict=True)
            )
            yield tap, (slice(None), *index, slice(None))
