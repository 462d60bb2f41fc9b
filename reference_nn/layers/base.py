"""What every layer kind shares: declared options, named parameters, forward and backward.

A layer is built for a known input shape (per sample, without the batch axis) and knows its
output shape, so a network can check that its layers fit together before any data flows.

The contract a kind implements (see :class:`~reference_nn.layers.dense.Dense` for one):

* ``OPTIONS``: the options it accepts (:class:`~reference_nn.options.Option`), checked once;
* ``build()``: create ``self.params`` (zeros, in the layer's dtype) and return the output shape;
* ``forward(x, training)``: the output for a batch ``x`` of shape ``(N, *input_shape)``,
  keeping what the backward pass needs;
* ``backward(grad_out)``: take ``dL/d(output)``, store ``dL/d(param)`` in ``self.grads`` under
  the names of ``self.params``, and return ``dL/d(input)``;
* ``weight_names`` / ``bias_names``: which parameters the spec's ``weight_init`` and
  ``bias_init`` draw (in that order), and which an L2 penalty applies to (weights only);
* ``fans(name)``: ``(fan_in, fan_out)`` for the initialisers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .._checks import Array, as_dtype
from ..initializers import Initializer
from ..options import Option, resolve


class Layer:
    kind: ClassVar[str]
    OPTIONS: ClassVar[Mapping[str, Option]] = {}
    weight_names: ClassVar[tuple[str, ...]] = ()
    bias_names: ClassVar[tuple[str, ...]] = ()
    # parameters whose gradient is identically zero by the layer's mathematics (attention's key
    # bias): any computed value is rounding noise, so a comparison measures it against the
    # whole network's gradient, not against itself
    zero_gradient_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, input_shape: tuple[int, ...], dtype: Any = np.float64, **options: Any):
        self.input_shape = tuple(int(n) for n in input_shape)
        self.dtype = as_dtype(dtype)
        self.options = resolve(f"{self.kind} layer", self.OPTIONS, options)
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.output_shape = self.build()

    # ------------------------------------------------------------------ the contract
    def build(self) -> tuple[int, ...]:
        raise NotImplementedError

    def forward(self, x: Array, training: bool = True) -> Array:
        raise NotImplementedError

    def backward(self, grad_out: Array) -> Array:
        raise NotImplementedError

    def fans(self, name: str) -> tuple[int, int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def initialize(
        self, rng: np.random.Generator, weight_init: Initializer, bias_init: Initializer
    ) -> None:
        """Draw the weights with ``weight_init``, then the biases with ``bias_init``."""
        for names, init in ((self.weight_names, weight_init), (self.bias_names, bias_init)):
            for name in names:
                if name in self.params:
                    value = self.params[name]
                    value[...] = init(rng, value.shape, *self.fans(name))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (
            f"{type(self).__name__}(input_shape={self.input_shape}, {options}, dtype={self.dtype})"
        )
