"""Layer kinds by name.  A new kind is one module in this folder plus one line here.

Every kind implements :class:`~reference_nn.layers.base.Layer`; a spec names a kind and its
options (``{"kind": "dense", "units": 3, "activation": "sigmoid"}``) and
:func:`build_layer` turns that into a layer for a given input shape.
"""

from __future__ import annotations

from typing import Any

from .._checks import check_choice
from .base import Layer
from .dense import Dense, dense

LAYER_KINDS: dict[str, type[Layer]] = {
    Dense.kind: Dense,
}


def build_layer(kind: str, input_shape: tuple[int, ...], dtype: Any, **options: Any) -> Layer:
    check_choice("layer kind", kind, LAYER_KINDS)
    return LAYER_KINDS[kind](input_shape, dtype, **options)


__all__ = ["LAYER_KINDS", "Dense", "Layer", "build_layer", "dense"]
