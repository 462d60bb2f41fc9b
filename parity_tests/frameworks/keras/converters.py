"""A user's Keras ``Sequential`` as a reference spec (:meth:`KerasAdapter.convert`).

``CONVERTERS``: ``type(layer).__name__`` -> a converter that reads that layer (and an activation
layer after it) into one reference layer: ``Dense``, ``Conv1D``, ``Conv2D``, ``MaxPooling2D``,
``AveragePooling2D``, ``Flatten``, ``LayerNormalization``, ``Embedding``, ``SimpleRNN``,
``LSTM``, ``GRU``.  Keras' layouts are the reference's, so parameters copy as they are; an
option the reference does not compute (``channels_first``, a recurrent dropout) is refused by
name.  ``ACTIVATIONS``: Keras activation names -> the reference activation, derived from the
adapter's table (:data:`.layers.ACTIVATIONS`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from parity_tests.frameworks.common.conversion import Piece, assemble, dense_options, one_dtype
from parity_tests.frameworks.keras.layers import ACTIVATIONS as ADAPTER_ACTIVATIONS
from parity_tests.harness.conversion import ConversionError, Converted
from reference_nn import LayerSpec

# Keras activation name -> (the reference activation, {reference option: Keras keyword}):
# the adapter's table read backwards
ACTIVATIONS: dict[str, tuple[str, dict[str, str]]] = {
    entry.name: (reference, entry.keywords) for reference, entry in ADAPTER_ACTIVATIONS.items()
}


def _keras_activation_fn(fn: Any, where: str) -> tuple[str, dict[str, float]]:
    """The reference activation of a Keras activation function, its options read from the
    function's defaults (``Dense(activation="leaky_relu")``: Keras' negative_slope 0.2)."""
    name = getattr(fn, "__name__", repr(fn))
    if name not in ACTIVATIONS:
        raise ConversionError(
            f"{where}: activation {name!r} has no reference equivalent; valid: "
            f"{', '.join(ACTIVATIONS)}"
        )
    reference, keywords = ACTIVATIONS[name]
    defaults = inspect.signature(fn).parameters
    return reference, {option: float(defaults[kw].default) for option, kw in keywords.items()}


def _keras_activation_layer(layer: Any, where: str) -> tuple[str, dict[str, float]] | None:
    """An activation *layer* after a linear Dense: its reference activation, or None."""
    kind = type(layer).__name__
    if kind == "Activation":
        return _keras_activation_fn(layer.activation, where)
    if kind == "ReLU" and not layer.negative_slope and layer.max_value is None:
        return ("relu", {}) if not layer.threshold else None
    if kind == "LeakyReLU":
        return "leaky_relu", {"alpha": float(layer.negative_slope)}
    if kind == "ELU":
        return "elu", {"alpha": float(layer.alpha)}
    if kind == "Softmax" and tuple(np.atleast_1d(layer.axis)) in ((-1,),):
        return "softmax", {}
    return None


def _keras_dense(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    dense = layers[i]
    where = f"layer {i} ({dense.name})"
    for attr in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
        if getattr(dense, attr, None) is not None:
            raise ConversionError(
                f"{where}: {attr} is not converted; remove it or pass the L2 "
                "penalty through the spec"
            )
    if getattr(dense, "kernel_constraint", None) or getattr(dense, "lora_enabled", False):
        raise ConversionError(f"{where}: constraints and LoRA are not converted")
    activation, consumed = _keras_activation_fn(dense.activation, where), 1
    if activation[0] == "identity" and i + 1 < len(layers):
        following = _keras_activation_layer(layers[i + 1], f"layer {i + 1}")
        if following is not None:
            activation, consumed = following, 2
    bias = bool(dense.use_bias)
    params = {"W": np.array(dense.kernel.numpy())}
    slots = {"W": (dense, "kernel")}
    if bias:
        params["b"] = np.array(dense.bias.numpy())
        slots["b"] = (dense, "bias")
    return Piece(dense_options(int(dense.units), activation, bias), params, slots, consumed)


def _refuse_unless(layer: Any, where: str, **expected: Any) -> None:
    """One line naming the first attribute of ``layer`` that differs from what the reference
    computes (``data_format="channels_last"``, ``dropout=0``...)."""
    for attr, value in expected.items():
        got = getattr(layer, attr, value)
        if got != value and not (isinstance(value, tuple) and tuple(np.ravel(got)) == value):
            raise ConversionError(
                f"{where}: {attr}={got!r} is not converted (the reference computes {value!r})"
            )


def _keras_weights(layer: Any, names: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters (reference name -> value, the Keras layout is the reference's) and slots
    (reference name -> (layer, dotted attribute)) for ``names`` {"W": "cell.kernel", ...}."""
    from operator import attrgetter

    params, slots = {}, {}
    for short, attr in names.items():
        variable = attrgetter(attr)(layer)
        if variable is not None:
            params[short] = np.array(variable.numpy())
            slots[short] = (layer, attr)
    return params, slots


def _keras_conv(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    conv = layers[i]
    where = f"layer {i} ({conv.name})"
    _refuse_unless(conv, where, data_format="channels_last", groups=1, kernel_regularizer=None)
    kind = "conv1d" if type(conv).__name__ == "Conv1D" else "conv2d"
    activation, options = _keras_activation_fn(conv.activation, where)
    spec = LayerSpec(
        kind,
        {
            "filters": int(conv.filters),
            "kernel_size": [int(k) for k in conv.kernel_size],
            "strides": [int(k) for k in conv.strides],
            "padding": str(conv.padding),
            "dilation_rate": [int(k) for k in conv.dilation_rate],
            "use_bias": bool(conv.use_bias),
            "activation": activation,
            "activation_options": options,
        },
    )
    return Piece(spec, *_keras_weights(conv, {"W": "kernel", "b": "bias"}), 1)


def _keras_pool(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    pool = layers[i]
    _refuse_unless(pool, f"layer {i} ({pool.name})", data_format="channels_last")
    kind = "maxpool2d" if type(pool).__name__ == "MaxPooling2D" else "avgpool2d"
    options = {
        "pool_size": [int(k) for k in pool.pool_size],
        "strides": [int(k) for k in pool.strides],  # Keras fills in the pool size for None
        "padding": str(pool.padding),
    }
    return Piece(LayerSpec(kind, options), {}, {}, 1)


def _keras_flatten(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    _refuse_unless(layers[i], f"layer {i} ({layers[i].name})", data_format="channels_last")
    return Piece(LayerSpec("flatten", {}), {}, {}, 1)


def _keras_layernorm(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    norm = layers[i]
    where = f"layer {i} ({norm.name})"
    rank = len(input_shape) + 1  # with the batch axis
    if [int(a) % rank for a in np.ravel(norm.axis)] != [rank - 1]:
        raise ConversionError(
            f"{where}: axis={norm.axis!r}: the reference normalises the last axis"
        )
    _refuse_unless(norm, where, center=True, scale=True, rms_scaling=False)
    spec = LayerSpec("layernorm", {"epsilon": float(norm.epsilon)})
    return Piece(spec, *_keras_weights(norm, {"gamma": "gamma", "beta": "beta"}), 1)


def _keras_embedding(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    emb = layers[i]
    _refuse_unless(emb, f"layer {i} ({emb.name})", mask_zero=False)
    options = {"input_dim": int(emb.input_dim), "output_dim": int(emb.output_dim)}
    return Piece(LayerSpec("embedding", options), *_keras_weights(emb, {"W": "embeddings"}), 1)


def _keras_recurrent(layers: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    rnn = layers[i]
    where = f"layer {i} ({rnn.name})"
    cell = rnn.cell
    _refuse_unless(rnn, where, return_state=False, go_backwards=False, stateful=False)
    _refuse_unless(cell, where, dropout=0, recurrent_dropout=0, use_bias=True)
    if (
        getattr(cell.activation, "__name__", "") != "tanh"
        or getattr(getattr(cell, "recurrent_activation", None), "__name__", "sigmoid") != "sigmoid"
    ):
        raise ConversionError(
            f"{where}: activations other than tanh (and sigmoid gates) are not converted"
        )
    kind = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[type(rnn).__name__]
    options: dict[str, Any] = {
        "units": int(cell.units),
        "return_sequences": bool(rnn.return_sequences),
    }
    if kind == "gru":
        options["reset_after"] = bool(cell.reset_after)
    else:
        options["convention"] = "keras"  # one bias
    names = {"W": "cell.kernel", "U": "cell.recurrent_kernel", "b": "cell.bias"}
    return Piece(LayerSpec(kind, options), *_keras_weights(rnn, names), 1)


# Keras layer class name -> converter (layers, position, input shape) -> Piece
CONVERTERS: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]] = {
    "Dense": _keras_dense,
    "Conv1D": _keras_conv,
    "Conv2D": _keras_conv,
    "MaxPooling2D": _keras_pool,
    "AveragePooling2D": _keras_pool,
    "Flatten": _keras_flatten,
    "LayerNormalization": _keras_layernorm,
    "Embedding": _keras_embedding,
    "SimpleRNN": _keras_recurrent,
    "LSTM": _keras_recurrent,
    "GRU": _keras_recurrent,
}


def from_keras(
    model: Any,
    *,
    loss: str = "mse",
    loss_options: dict[str, Any] | None = None,
    optimizer: str = "sgd",
    optimizer_options: dict[str, Any] | None = None,
) -> Converted:
    """A Keras ``Sequential`` (built: it knows its input shape) -> spec, parameters, slots."""
    if type(model).__name__ != "Sequential":
        raise ConversionError(
            f"from_keras takes a keras.Sequential, got {type(model).__name__}: give the same "
            "layers as keras.Sequential([...])"
        )
    layers = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
    if not layers:
        raise ConversionError("the Sequential has no layers")
    try:
        shape = tuple(int(n) for n in model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        raise ConversionError(
            "the Keras model is not built: give it a keras.Input(shape) first"
        ) from None
    dtype = one_dtype({str(v.dtype) for v in model.weights}, [type(lay).__name__ for lay in layers])
    return assemble(
        layers,
        CONVERTERS,
        shape,
        dtype,
        "keras",
        loss=loss,
        loss_options=loss_options,
        optimizer=optimizer,
        optimizer_options=optimizer_options,
    )
