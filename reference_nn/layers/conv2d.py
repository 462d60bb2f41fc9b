"""The 2-D convolution (``conv2d``), channels-last, and the core it shares with ``conv1d``.

Layout (Keras'): input ``x (N, H, W, C)``, kernel ``W (kh, kw, C, F)`` (HWIO), bias ``b (F,)``,
output ``z, a (N, OH, OW, F)``.  With strides ``s``, dilation ``d`` and the padded input
``xpad`` (TensorFlow's ``valid``/``same`` rule, see :mod:`._windows`)::

    z[n, p, q, f] = b[f] + sum_{i, j, c} xpad[n, p*s + i*d, q*s + j*d, c] * W[i, j, c, f]
    a = act(z)

(a cross-correlation, as in every framework: the kernel is not flipped).  For one tap
``(i, j)`` the positions ``xpad[n, p*s + i*d, q*s + j*d, :]`` over all ``(p, q)`` form one
strided slice ``X_ij`` of shape ``(N, OH, OW, C)``, so ``z = b + sum_ij X_ij @ W[i, j]``.
Given ``delta = dL/dz`` (N, OH, OW, F), each term is a dense layer, and the chain rule gives

* ``dL/dW[i, j] = X_ij^T delta``, summed over ``n, p, q``:   ``(C, F)`` per tap;
* ``dL/db = delta.sum(axis=(0, 1, 2))``;
* ``dL/dxpad[X_ij positions] += delta @ W[i, j].T``: every tap sends its share back to the
  input positions it read (overlapping windows add up); cropping the padding from
  ``dL/dxpad`` gives ``dL/dx`` (padded zeros are constants: their gradient is dropped).

The same loop over taps serves any number of spatial axes: ``conv1d`` (``x (N, L, C)``,
``W (k, C, F)``) is this class with one axis.  Options: ``filters``, ``kernel_size``,
``strides`` (1), ``padding`` (``valid``), ``dilation_rate`` (1), ``use_bias`` (true),
``activation`` (``identity``) and ``activation_options``.  Fans (for the initialisers, as
Keras): ``fan_in = prod(kernel) * C``, ``fan_out = prod(kernel) * F``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..activations import ACTIVATIONS, get_activation
from ..options import Option, at_least
from ._reduce import channel_sum
from ._windows import PADDINGS, Windows, per_axis, spatial_option
from .base import Layer


class Conv(Layer):
    """A channels-last convolution over ``rank`` spatial axes (see the module docstring)."""

    rank: ClassVar[int]
    OPTIONS: ClassVar[dict[str, Option]] = {
        "filters": Option("int", check=at_least(1), doc="output channels F"),
        "kernel_size": spatial_option("taps per spatial axis", default=3),
        "strides": spatial_option("step between windows per spatial axis"),
        "padding": Option("str", "valid", choices=PADDINGS),
        "dilation_rate": spatial_option("spacing between taps per spatial axis"),
        "use_bias": Option("bool", True),
        "activation": Option("str", "identity", choices=lambda: ACTIVATIONS),
        "activation_options": Option("dict", {}),
    }
    weight_names = ("W",)
    bias_names = ("b",)

    def build(self) -> tuple[int, ...]:
        where = f"{self.kind} layer"
        if len(self.input_shape) != self.rank + 1:
            raise ShapeError(
                f"{where} needs samples of shape ({'spatial, ' * self.rank}channels), got "
                f"{self.input_shape}"
            )
        opts = self.options
        self.kernel = per_axis(where, "kernel_size", opts["kernel_size"], self.rank)
        strides = per_axis(where, "strides", opts["strides"], self.rank)
        dilation = per_axis(where, "dilation_rate", opts["dilation_rate"], self.rank)
        self.windows = Windows(
            where, self.input_shape, self.kernel, strides, dilation, opts["padding"]
        )
        self.channels, self.filters = self.input_shape[-1], int(opts["filters"])
        self.activation = get_activation(opts["activation"], **opts["activation_options"])
        self.use_bias = bool(opts["use_bias"])
        self.params["W"] = np.zeros((*self.kernel, self.channels, self.filters), self.dtype)
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, self.dtype)
        self._cache: tuple[Array, Array, Array] | None = None
        return (*self.windows.out, self.filters)

    def fans(self, name: str) -> tuple[int, int]:
        taps = int(np.prod(self.kernel))
        return taps * self.channels, taps * self.filters

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")
        xpad = self.windows.pad(x)
        W = self.params["W"]
        rows = np.zeros((len(x) * int(np.prod(self.windows.out)), self.filters), self.dtype)
        for tap, index in self.windows.taps():
            rows += xpad[index].reshape(-1, self.channels) @ W[tap]  # X_ij @ W[i, j], one GEMM
        z = rows.reshape(len(x), *self.output_shape)
        if self.use_bias:
            z += self.params["b"]
        a = self.activation.forward(z)
        self._cache = (xpad, z, a)
        return a

    def backward(self, grad_out: Array) -> Array:
        """Take ``dL/da``; store ``dL/dW``, ``dL/db``; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        xpad, z, a = self._cache
        delta = self.activation.backward(grad_out, z, a)  # dL/dz
        W = self.params["W"]
        delta_rows = delta.reshape(-1, self.filters)  # (N * OH * OW, F)
        dW = np.empty_like(W)
        dxpad = np.zeros_like(xpad)
        for tap, index in self.windows.taps():
            dW[tap] = xpad[index].reshape(-1, self.channels).T @ delta_rows  # X_ij^T delta
            # back to the positions tap (i, j) read
            dxpad[index] += (delta_rows @ W[tap].T).reshape(*delta.shape[:-1], self.channels)
        self.grads = {"W": dW}
        if self.use_bias:
            self.grads["b"] = channel_sum(delta)  # pairwise per filter: see _reduce
        return self.windows.crop(dxpad)

    def __repr__(self) -> str:
        o = self.options
        return (
            f"{type(self).__name__}({self.input_shape} -> {self.output_shape}, "
            f"kernel={self.kernel}, strides={self.windows.strides}, padding={o['padding']!r}, "
            f"dilation={self.windows.dilation}, {self.activation!r}, use_bias={self.use_bias}, "
            f"dtype={self.dtype})"
        )


class Conv2D(Conv):
    """``conv2d``: ``x (N, H, W, C)``, ``W (kh, kw, C, F)``."""

    kind = "conv2d"
    rank = 2


def conv2d(input_shape: tuple[int, int, int], filters: int, **options: Any) -> Conv2D:
    """``Conv2D`` shorthand for tests and examples."""
    return Conv2D(input_shape, filters=filters, **options)
