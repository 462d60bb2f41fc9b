"""Your own model as a reference spec: ``from_torch(module)`` and ``from_keras(model)``.

Each returns a :class:`Converted`: the ``NetworkSpec`` (loss and optimizer given by the caller:
a model object does not carry them), the parameters in the reference's names and layout
(``"0.W"`` is ``(n_in, n_out)``), and ``slots``: which object of *your* model holds each
parameter, so that :mod:`.check_model` can run your model itself, not a copy.

Layer kinds are looked up in tables, one entry per kind:

* ``TORCH_MODULES``: ``type(module).__name__`` -> a converter that reads that module (and the
  activation module after it, if any) into one reference layer: ``Linear``, ``LayerNorm``,
  ``Embedding``, ``Flatten`` (torch's convolution, pooling and recurrent modules are
  channels-first or return tuples, so a ``Sequential`` of them is not the reference's
  network);
* ``KERAS_LAYERS``: ``type(layer).__name__`` -> the same for Keras layers: ``Dense``,
  ``Conv1D``, ``Conv2D``, ``MaxPooling2D``, ``AveragePooling2D``, ``Flatten``,
  ``LayerNormalization``, ``Embedding``, ``SimpleRNN``, ``LSTM``, ``GRU`` (Keras' layouts are
  the reference's, so parameters copy as they are; an option the reference does not compute,
  e.g. ``channels_first`` or a recurrent dropout, is refused by name);
* ``TORCH_ACTIVATIONS`` / ``KERAS_ACTIVATIONS``: activation modules / functions -> the
  reference activation and its options.

Parameters are translated with the adapters' own tables (:mod:`.torch_layers`,
:mod:`.keras_layers`), so a model converted here and rebuilt by an adapter is the same model.
Anything not in a table is refused with one line naming the position and the class.
Frameworks are imported by the caller's model, never here at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reference_nn import LayerSpec, NetworkSpec

from .adapter import Params


class ConversionError(ValueError):
    """The model holds something the reference has no layer kind for (one line, says what)."""


@dataclass
class Converted:
    spec: NetworkSpec
    params: Params
    # reference name ("0.W") -> (kind, the framework object holding it, its attribute)
    slots: dict[str, tuple[str, Any, str]] = field(default_factory=dict)
    # reference layer index -> the framework objects that compute it, in order
    groups: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Piece:
    """What a converter read: one reference layer."""

    layer: LayerSpec
    params: dict[str, np.ndarray]  # short name ("W") -> reference layout
    slots: dict[str, tuple[Any, str]]  # short name -> (object, attribute)
    consumed: int  # how many modules / layers it used


def _dense_options(units: int, activation: tuple[str, dict[str, float]], bias: bool) -> LayerSpec:
    name, options = activation
    return LayerSpec.dense(units, name, options or None, use_bias=bias)


# ------------------------------------------------------------------------------ torch
TORCH_ACTIVATIONS: dict[str, Callable[[Any], tuple[str, dict[str, float]]]] = {
    "Identity": lambda m: ("identity", {}),
    "Sigmoid": lambda m: ("sigmoid", {}),
    "Tanh": lambda m: ("tanh", {}),
    "ReLU": lambda m: ("relu", {}),
    "LeakyReLU": lambda m: ("leaky_relu", {"alpha": float(m.negative_slope)}),
    "ELU": lambda m: ("elu", {"alpha": float(m.alpha)}),
    "Softplus": lambda m: _torch_softplus(m),
    "Softmax": lambda m: _torch_softmax(m),
}


def _torch_softplus(m: Any) -> tuple[str, dict[str, float]]:
    if m.beta != 1 or m.threshold != 20:
        raise ConversionError(
            f"Softplus(beta={m.beta}, threshold={m.threshold}): the reference "
            "has beta=1, threshold=20 only"
        )
    return "softplus", {}


def _torch_softmax(m: Any) -> tuple[str, dict[str, float]]:
    if m.dim not in (-1, 1):
        raise ConversionError(f"Softmax(dim={m.dim}): the reference normalises the last axis")
    return "softmax", {}


def _torch_linear(modules: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    from .torch_layers import LAYERS

    linear = modules[i]
    activation, consumed = ("identity", {}), 1
    if i + 1 < len(modules) and type(modules[i + 1]).__name__ in TORCH_ACTIVATIONS:
        activation = TORCH_ACTIVATIONS[type(modules[i + 1]).__name__](modules[i + 1])
        consumed = 2
    bias = linear.bias is not None
    params = {"W": LAYERS["dense"].from_torch("W", linear.weight.detach().numpy())}
    slots = {"W": (linear, "weight")}
    if bias:
        params["b"] = LAYERS["dense"].from_torch("b", linear.bias.detach().numpy())
        slots["b"] = (linear, "bias")
    return Piece(_dense_options(linear.out_features, activation, bias), params, slots, consumed)


def _torch_layernorm(modules: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    norm = modules[i]
    if tuple(norm.normalized_shape) != input_shape[-1:] or not norm.elementwise_affine:
        raise ConversionError(
            f"torch position {i}: LayerNorm{tuple(norm.normalized_shape)} (affine="
            f"{norm.elementwise_affine}): the reference normalises the last axis, with gamma "
            "and beta"
        )
    if getattr(norm, "bias", None) is None:
        raise ConversionError(f"torch position {i}: LayerNorm without a bias is not converted")
    params = {n: getattr(norm, a).detach().numpy().copy() for n, a in _TORCH_GAMMA_BETA.items()}
    slots = {n: (norm, a) for n, a in _TORCH_GAMMA_BETA.items()}
    return Piece(LayerSpec("layernorm", {"epsilon": float(norm.eps)}), params, slots, 1)


_TORCH_GAMMA_BETA = {"gamma": "weight", "beta": "bias"}


def _torch_embedding(modules: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    emb = modules[i]
    if emb.padding_idx is not None or emb.max_norm is not None:
        raise ConversionError(
            f"torch position {i}: Embedding with padding_idx or max_norm is not converted"
        )
    options = {"input_dim": int(emb.num_embeddings), "output_dim": int(emb.embedding_dim)}
    params = {"W": emb.weight.detach().numpy().copy()}
    return Piece(LayerSpec("embedding", options), params, {"W": (emb, "weight")}, 1)


def _torch_flatten(modules: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    """Every module read here keeps the features last (no channels-first convolution is
    converted), so torch's row-major flatten is the reference's order."""
    flat = modules[i]
    if (flat.start_dim, flat.end_dim) != (1, -1):
        raise ConversionError(
            f"torch position {i}: Flatten({flat.start_dim}, {flat.end_dim}): the reference "
            "flattens every axis but the batch"
        )
    return Piece(LayerSpec("flatten", {}), {}, {}, 1)


# torch module class name -> converter (modules, position, input shape) -> Piece
TORCH_MODULES: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]] = {
    "Linear": _torch_linear,
    "LayerNorm": _torch_layernorm,
    "Embedding": _torch_embedding,
    "Flatten": _torch_flatten,
}


def _torch_input_shape(modules: list[Any]) -> tuple[int, ...]:
    first = modules[0]
    if type(first).__name__ not in TORCH_MODULES:  # refused as such by _assemble
        return ()
    if hasattr(first, "in_features"):
        return (int(first.in_features),)
    if type(first).__name__ == "LayerNorm":
        return tuple(int(n) for n in first.normalized_shape)
    raise ConversionError(
        f"cannot tell the input shape from {type(first).__name__}; pass input_shape= "
        "(refnn check-model --input-shape; for an Embedding: the sequence length, as (L,))"
    )


def from_torch(
    module: Any,
    *,
    loss: str = "mse",
    loss_options: dict[str, Any] | None = None,
    optimizer: str = "sgd",
    optimizer_options: dict[str, Any] | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> Converted:
    """A ``torch.nn.Sequential`` of supported modules -> spec, parameters and slots."""
    if type(module).__name__ != "Sequential" or not hasattr(module, "__iter__"):
        raise ConversionError(
            f"from_torch takes a torch.nn.Sequential, got {type(module).__name__}: give the "
            "same modules as torch.nn.Sequential(...)"
        )
    modules = list(module)
    if not modules:
        raise ConversionError("the Sequential is empty")
    shape = tuple(input_shape) if input_shape else _torch_input_shape(modules)
    return _assemble(
        modules,
        TORCH_MODULES,
        shape,
        _torch_dtype(modules),
        "torch",
        loss=loss,
        loss_options=loss_options,
        optimizer=optimizer,
        optimizer_options=optimizer_options,
    )


def _torch_dtype(modules: list[Any]) -> str:
    dtypes = {str(p.dtype).removeprefix("torch.") for m in modules for p in m.parameters()}
    return _one_dtype(dtypes, [type(m).__name__ for m in modules])


def _one_dtype(dtypes: set[str], kinds: list[str]) -> str:
    """The one dtype of a model's parameters; none (nothing to check) or several: one line."""
    if not dtypes:
        raise ConversionError(
            f"the model has no weights ({', '.join(kinds)}): there is no gradient or step to "
            "check; give a model with at least one layer that has weights"
        )
    if len(dtypes) != 1:
        raise ConversionError(
            f"parameters must share one dtype, got {sorted(dtypes)}: cast the model to one "
            "(float32 or float64)"
        )
    return dtypes.pop()


# ------------------------------------------------------------------------------ keras
KERAS_ACTIVATIONS: dict[str, tuple[str, dict[str, float]]] = {
    "linear": ("identity", {}),
    "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}),
    "relu": ("relu", {}),
    "leaky_relu": ("leaky_relu", {"alpha": 0.2}),  # keras' default negative_slope
    "elu": ("elu", {"alpha": 1.0}),
    "softplus": ("softplus", {}),
    "softmax": ("softmax", {}),
}


def _keras_activation_fn(fn: Any, where: str) -> tuple[str, dict[str, float]]:
    name = getattr(fn, "__name__", repr(fn))
    if name not in KERAS_ACTIVATIONS:
        raise ConversionError(
            f"{where}: activation {name!r} has no reference equivalent; valid: "
            f"{', '.join(KERAS_ACTIVATIONS)}"
        )
    return KERAS_ACTIVATIONS[name]


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
    return Piece(_dense_options(int(dense.units), activation, bias), params, slots, consumed)


def _refuse_unless(layer: Any, where: str, **expected: Any) -> None:
    """One line naming the first attribute of ``layer`` that differs from what the reference
    computes (``data_format="channels_last"``, ``dropout=0``...)."""
    for attr, value in expected.items():
        got = getattr(layer, attr, value)
        if got != value and not (isinstance(value, tuple) and tuple(np.ravel(got)) == value):
            raise ConversionError(
                f"{where}: {attr}={got!r} is not converted (the reference computes {value!r})"
            )


def _keras_weights(layer: Any, names: dict[str, str]) -> tuple[dict, dict]:
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
KERAS_LAYERS: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]] = {
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
    dtype = _one_dtype(
        {str(v.dtype) for v in model.weights}, [type(lay).__name__ for lay in layers]
    )
    return _assemble(
        layers,
        KERAS_LAYERS,
        shape,
        dtype,
        "keras",
        loss=loss,
        loss_options=loss_options,
        optimizer=optimizer,
        optimizer_options=optimizer_options,
    )


# ------------------------------------------------------------------------------ shared
def _assemble(
    objects: list[Any],
    table: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]],
    input_shape: tuple[int, ...],
    dtype: str,
    framework: str,
    *,
    loss: str,
    loss_options: dict[str, Any] | None,
    optimizer: str,
    optimizer_options: dict[str, Any] | None,
) -> Converted:
    pieces: list[Piece] = []
    groups: list[list[Any]] = []
    i, shape = 0, input_shape
    while i < len(objects):
        kind = type(objects[i]).__name__
        if kind not in table:
            raise ConversionError(
                f"{framework} position {i}: {kind} has no reference layer kind; supported: "
                f"{', '.join(table)} (each followed by an optional activation)"
            )
        piece = table[kind](objects, i, shape)
        before = (
            f"{framework} position {i - len(groups[-1])} ({_describe(groups[-1][0])}) gives "
            f"outputs of shape {shape}"
            if groups
            else f"the model's input has shape {shape}"
        )
        _check_fits(
            piece, shape, dtype, f"{framework} position {i} ({_describe(objects[i])})", before
        )
        pieces.append(piece)
        groups.append(objects[i : i + piece.consumed])
        shape = _output_shape(piece.layer, shape, dtype)
        i += piece.consumed
    spec = NetworkSpec(
        input_shape=input_shape,
        layers=tuple(p.layer for p in pieces),
        loss=loss,
        loss_options=dict(loss_options or {}),
        optimizer=optimizer,
        optimizer_options=dict(optimizer_options or {"lr": 0.01}),
        dtype=dtype,
    )
    params: Params = {}
    slots: dict[str, tuple[str, Any, str]] = {}
    for n, (piece, lay) in enumerate(zip(pieces, spec.layers, strict=True)):
        for short, value in piece.params.items():
            params[f"{n}.{short}"] = np.ascontiguousarray(value)
            obj, attr = piece.slots[short]
            slots[f"{n}.{short}"] = (lay.kind, obj, attr)
    return Converted(spec, params, slots, groups)


def _describe(obj: Any) -> str:
    """A module or layer in a few words: torch's one-line repr, else the class and name."""
    text = repr(obj)
    if "\n" in text or len(text) > 80:
        text = type(obj).__name__
    return text


def _check_fits(piece: Piece, shape: tuple[int, ...], dtype: str, where: str, before: str) -> None:
    """Each parameter of ``piece`` has the shape its reference layer takes on ``shape`` (what
    ``before`` says gives it): a Linear(5, 1) after a Linear(3, 4) is refused here,
    naming both, not when the parameters are first copied."""
    from reference_nn.layers import build_layer

    try:
        layer = build_layer(piece.layer.kind, shape, dtype, **piece.layer.options)
    except ValueError as exc:
        raise ConversionError(f"{where}: on input of shape {shape}: {exc}") from None
    for short, value in piece.params.items():
        need = layer.params[short].shape
        if value.shape != need:
            raise ConversionError(
                f"{where} holds {short} of shape {value.shape} (reference layout), but "
                f"{before}, which needs {need}: the layers do not fit together"
            )


def _output_shape(layer: LayerSpec, shape: tuple[int, ...], dtype: str) -> tuple[int, ...]:
    """The output shape of one reference layer on ``shape`` (checks that the pieces fit)."""
    from reference_nn.layers import build_layer

    try:
        return build_layer(layer.kind, shape, dtype, **layer.options).output_shape
    except ValueError as exc:
        raise ConversionError(f"{layer.kind} on input {shape}: {exc}") from None
