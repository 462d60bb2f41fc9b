"""The converters' shared machinery: a table of framework classes -> reference layers walked
over a user's model, each piece checked to fit the one before it, then assembled into a
:class:`~parity_tests.harness.conversion.Converted` (``frameworks/<name>/converters.py``
hold the tables)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity_tests.harness.conversion import ConversionError, Converted
from parity_tests.harness.protocol import Params
from reference_nn import LayerSpec, NetworkSpec


@dataclass(frozen=True)
class Piece:
    """What a converter read: one reference layer."""

    layer: LayerSpec
    params: dict[str, np.ndarray]  # short name ("W") -> reference layout
    slots: dict[str, tuple[Any, str]]  # short name -> (object, attribute)
    consumed: int  # how many modules / layers it used


def dense_options(units: int, activation: tuple[str, dict[str, float]], bias: bool) -> LayerSpec:
    name, options = activation
    return LayerSpec.dense(units, name, options or None, use_bias=bias)


def one_dtype(dtypes: set[str], kinds: list[str]) -> str:
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


def assemble(
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
            f"{framework} position {i - len(groups[-1])} ({describe(groups[-1][0])}) gives "
            f"outputs of shape {shape}"
            if groups
            else f"the model's input has shape {shape}"
        )
        _check_fits(
            piece, shape, dtype, f"{framework} position {i} ({describe(objects[i])})", before
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


def describe(obj: Any) -> str:
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
