"""Layer kinds by name.  A new kind is one module in this folder plus one line here.

Every kind implements :class:`~reference_nn.layers.base.Layer`; a spec names a kind and its
options (``{"kind": "dense", "units": 3, "activation": "sigmoid"}``) and
:func:`build_layer` turns that into a layer for a given input shape.
"""

from __future__ import annotations

from typing import Any

from .._checks import check_choice
from .attention import Attention
from .avgpool2d import AvgPool2D
from .base import Layer
from .batchnorm import BatchNorm
from .conv1d import Conv1D
from .conv2d import Conv2D
from .dense import Dense, dense
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .gru import GRU
from .layernorm import LayerNorm
from .lstm import LSTM
from .maxpool2d import MaxPool2D
from .simple_rnn import SimpleRNN

LAYER_KINDS: dict[str, type[Layer]] = {
    Dense.kind: Dense,
    Conv1D.kind: Conv1D,
    Conv2D.kind: Conv2D,
    MaxPool2D.kind: MaxPool2D,
    AvgPool2D.kind: AvgPool2D,
    Flatten.kind: Flatten,
    BatchNorm.kind: BatchNorm,
    LayerNorm.kind: LayerNorm,
    Dropout.kind: Dropout,
    Embedding.kind: Embedding,
    SimpleRNN.kind: SimpleRNN,
    LSTM.kind: LSTM,
    GRU.kind: GRU,
    Attention.kind: Attention,
}


def build_layer(kind: str, input_shape: tuple[int, ...], dtype: Any, **options: Any) -> Layer:
    check_choice("layer kind", kind, LAYER_KINDS)
    return LAYER_KINDS[kind](input_shape, dtype, **options)


__all__ = [
    "GRU",
    "LAYER_KINDS",
    "LSTM",
    "Attention",
    "AvgPool2D",
    "BatchNorm",
    "Conv1D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Layer",
    "LayerNorm",
    "MaxPool2D",
    "SimpleRNN",
    "build_layer",
    "dense",
]
