"""A user's ``torch.nn.Sequential`` as a reference spec (:meth:`TorchAdapter.convert`).

``CONVERTERS``: ``type(module).__name__`` -> a converter that reads that module (and the
activation module after it, if any) into one reference layer: ``Linear``, ``LayerNorm``,
``Embedding``, ``Flatten`` (torch's convolution, pooling and recurrent modules are
channels-first or return tuples, so a ``Sequential`` of them is not the reference's network).
``ACTIVATIONS``: activation module -> the reference activation and how to read its options,
the adapter's activation table (:mod:`.layers`) inverted, so the two cannot drift.  Parameters
are translated with the adapter's own layer table, so a model converted here and rebuilt by
the adapter is the same model.  torch is imported by the caller's model, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_tests.frameworks.common.conversion import Piece, assemble, dense_options, one_dtype
from parity_tests.frameworks.torch.layers import ACTIVATIONS as LAYER_ACTIVATIONS
from parity_tests.frameworks.torch.layers import LAYERS, TorchActivation
from parity_tests.harness.conversion import ConversionError, Converted
from reference_nn import LayerSpec

# torch module class name -> (reference activation, its entry): the adapter's table inverted
ACTIVATIONS: dict[str, tuple[str, TorchActivation]] = {
    entry.module: (name, entry) for name, entry in LAYER_ACTIVATIONS.items()
}
if len(ACTIVATIONS) != len(LAYER_ACTIVATIONS):
    raise RuntimeError("two reference activations name one torch module: the table is ambiguous")


def _torch_linear(modules: list[Any], i: int, input_shape: tuple[int, ...]) -> Piece:
    linear = modules[i]
    activation: tuple[str, dict[str, float]] = ("identity", {})
    consumed = 1
    if i + 1 < len(modules) and type(modules[i + 1]).__name__ in ACTIVATIONS:
        name, entry = ACTIVATIONS[type(modules[i + 1]).__name__]
        activation, consumed = (name, entry.read(modules[i + 1])), 2
    bias = linear.bias is not None
    params = {"W": LAYERS["dense"].from_torch("W", linear.weight.detach().numpy())}
    slots = {"W": (linear, "weight")}
    if bias:
        params["b"] = LAYERS["dense"].from_torch("b", linear.bias.detach().numpy())
        slots["b"] = (linear, "bias")
    return Piece(dense_options(linear.out_features, activation, bias), params, slots, consumed)


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
    names = LAYERS["layernorm"].names
    params = {n: getattr(norm, a).detach().numpy().copy() for n, a in names.items()}
    slots = {n: (norm, a) for n, a in names.items()}
    return Piece(LayerSpec("layernorm", {"epsilon": float(norm.eps)}), params, slots, 1)


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
CONVERTERS: dict[str, Callable[[list[Any], int, tuple[int, ...]], Piece]] = {
    "Linear": _torch_linear,
    "LayerNorm": _torch_layernorm,
    "Embedding": _torch_embedding,
    "Flatten": _torch_flatten,
}


def _torch_input_shape(modules: list[Any]) -> tuple[int, ...]:
    first = modules[0]
    if type(first).__name__ not in CONVERTERS:  # refused as such by _assemble
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
    return assemble(
        modules,
        CONVERTERS,
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
    return one_dtype(dtypes, [type(m).__name__ for m in modules])
