"""Your own model as a reference spec: ``from_torch(module)`` and ``from_keras(model)``.

Each returns a :class:`Converted`: the ``NetworkSpec`` (loss and optimizer given by the caller:
a model object does not carry them), the parameters in the reference's names and layout
(``"0.W"`` is ``(n_in, n_out)``), and ``slots``: which object of *your* model holds each
parameter, so that :mod:`.check_model` can run your model itself, not a copy.

Layer kinds are looked up in tables, one entry per kind:

* ``TORCH_MODULES``: ``type(module).__name__`` -> a converter that reads that module (and the
  activation module after it, if any) into one reference layer;
* ``KERAS_LAYERS``: ``type(layer).__name__`` -> the same for Keras layers;
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


# torch module class name -> converter (modules, position, input shape) -> Piece
TORCH_MODULES: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]] = {
    "Linear": _torch_linear,
}


def _torch_input_shape(modules: list[Any]) -> tuple[int, ...]:
    first = modules[0]
    if hasattr(first, "in_features"):
        return (int(first.in_features),)
    raise ConversionError(
        f"cannot tell the input shape from {type(first).__name__}; pass input_shape="
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
            f"from_torch takes a torch.nn.Sequential, got {type(module).__name__}"
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
    if len(dtypes) != 1:
        raise ConversionError(f"parameters must share one dtype, got {sorted(dtypes)}")
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


# Keras layer class name -> converter (layers, position, input shape) -> Piece
KERAS_LAYERS: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]] = {
    "Dense": _keras_dense,
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
        raise ConversionError(f"from_keras takes a keras.Sequential, got {type(model).__name__}")
    layers = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
    if not layers:
        raise ConversionError("the Sequential has no layers")
    try:
        shape = tuple(int(n) for n in model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        raise ConversionError(
            "the Keras model is not built: give it a keras.Input(shape) first"
        ) from None
    dtypes = {str(v.dtype) for v in model.weights}
    if len(dtypes) != 1:
        raise ConversionError(f"weights must share one dtype, got {sorted(dtypes)}")
    return _assemble(
        layers,
        KERAS_LAYERS,
        shape,
        dtypes.pop(),
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


def _output_shape(layer: LayerSpec, shape: tuple[int, ...], dtype: str) -> tuple[int, ...]:
    """The output shape of one reference layer on ``shape`` (checks that the pieces fit)."""
    from reference_nn.layers import build_layer

    try:
        return build_layer(layer.kind, shape, dtype, **layer.options).output_shape
    except ValueError as exc:
        raise ConversionError(f"{layer.kind} on input {shape}: {exc}") from None
