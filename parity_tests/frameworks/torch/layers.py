"""Reference layer kinds in PyTorch: for each kind, the ``torch.nn`` modules that compute it and
how its parameters translate between the reference layout and torch's (``LAYERS``, one entry
per kind), and for each reference activation the ``torch.nn`` module that computes it
(``ACTIVATIONS``, read both ways: the converters invert it).  The adapter is :mod:`.adapter`;
the layout-adapting modules are :mod:`.modules`.

Layouts.  The reference is channels-last (``(N, H, W, C)``, kernels ``(kh, kw, C, F)``); torch's
convolution, pooling and batch-norm modules are channels-first (``(N, C, H, W)``, weights
``(F, C, kh, kw)``).  Tensors travel between layers in the reference layout: each spatial
module (:mod:`.modules`) is torch's own module subclassed to move the channel axis first on
the way in and last on the way out (``movedim``), and kernels are transposed HWIO <-> OIHW
when copied.
So ``nn.Flatten`` sees channels-last tensors and flattens in the reference's order (on NCHW
tensors it would put W fastest, not C: ``test_layer_known_differences`` shows the difference).

Padding.  TensorFlow's ``same`` pads ``total // 2`` before and the rest after; torch's
``padding="same"`` is symmetric and stride 1 only, so the modules pad explicitly with
``F.pad`` by the reference's amounts (``-inf`` for max pooling) and run with ``padding=0``.
Average pooling with ``same`` divides by the number of real inputs, as TensorFlow: a sum
pool (``divisor_override=1``) over the padded input divided by the same sum pool of ones.

Dropout.  No torch dropout runs: a module multiplies by the mask the reference's generator
gives for that call (:func:`reference_nn.layers.dropout.dropout_mask`, same seed, one draw per
training forward call), so both sides drop the same elements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity_tests.frameworks.common.padding import tf_padding
from parity_tests.frameworks.torch.modules import module_classes
from parity_tests.harness import loaders
from parity_tests.harness.conversion import ConversionError
from parity_tests.harness.protocol import Array, ResolvedLayer


# ---------------------------------------------------------------- activations
@dataclass(frozen=True)
class TorchActivation:
    """A reference activation as a ``torch.nn`` module, both ways: built from the reference's
    options, and read back from a user's module (:mod:`.converters` inverts this table)."""

    module: str  # the torch.nn class
    options: dict[str, str] = field(default_factory=dict)  # reference option -> its attribute
    # the module's attributes the reference has one value of -> the values that compute it
    # (the first is the one built), and what the reference computes where a module differs
    fixed: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    why: str = ""

    def build(self, options: Mapping[str, float]) -> Any:
        kwargs = {attr: options[name] for name, attr in self.options.items()}
        fixed = {attr: values[0] for attr, values in self.fixed.items()}
        return getattr(loaders.torch().nn, self.module)(**kwargs, **fixed)

    def read(self, module: Any) -> dict[str, float]:
        """The reference options of ``module`` (of this class); ConversionError where it
        computes something the reference does not."""
        if any(getattr(module, attr) not in values for attr, values in self.fixed.items()):
            shown = ", ".join(f"{attr}={getattr(module, attr)}" for attr in self.fixed)
            raise ConversionError(f"{self.module}({shown}): {self.why}")
        return {name: float(getattr(module, attr)) for name, attr in self.options.items()}


# reference activation -> its torch module
ACTIVATIONS: dict[str, TorchActivation] = {
    "identity": TorchActivation("Identity"),
    "sigmoid": TorchActivation("Sigmoid"),
    "tanh": TorchActivation("Tanh"),
    "relu": TorchActivation("ReLU"),
    "leaky_relu": TorchActivation("LeakyReLU", {"alpha": "negative_slope"}),
    "elu": TorchActivation("ELU", {"alpha": "alpha"}),
    # linear above the threshold (the cases stay below 20)
    "softplus": TorchActivation(
        "Softplus",
        fixed={"beta": (1,), "threshold": (20,)},
        why="the reference has beta=1, threshold=20 only",
    ),
    "softmax": TorchActivation(
        "Softmax", fixed={"dim": (-1, 1)}, why="the reference normalises the last axis"
    ),
}


def _activation(layer: ResolvedLayer) -> Any:
    """The module of the activation a reference layer applies (dense, convolution)."""
    activation = layer.layer.activation
    return ACTIVATIONS[activation.name].build(activation.options())


# ---------------------------------------------------------------- layers
@dataclass(frozen=True)
class TorchLayer:
    """How one reference layer kind is built in torch and how its parameters translate."""

    build: Callable[[Any, ResolvedLayer, Any], list[Any]]  # (torch, layer, dtype) -> modules
    to_torch: Callable[[str, Array], Array]  # reference name, value -> torch layout
    from_torch: Callable[[str, Array], Array]
    # reference parameter name -> attribute of the first module
    names: dict[str, str] = field(default_factory=dict)
    # reference state name -> attribute of the first module (non-trainable: running stats)
    state_names: dict[str, str] = field(default_factory=dict)
    # (options, input shape) -> None, or what torch cannot compute (the adapter refuses the
    # spec with it)
    refusal: Callable[[dict[str, Any], tuple[int, ...]], str | None] = lambda o, s: None


def _dense(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    units, bias = layer.options["units"], layer.options["use_bias"]
    linear = torch.nn.Linear(layer.input_shape[0], units, bias=bias, dtype=dtype)
    return [linear, _activation(layer)]


def _transpose_weight(name: str, value: Array) -> Array:
    return value.T.copy() if name == "W" else value.copy()


def _same(name: str, value: Array) -> Array:
    return value.copy()


def _kernel_to_torch(name: str, value: Array) -> Array:
    """HWIO (``(kh, kw, C, F)``; ``(k, C, F)`` in 1-D) -> OIHW (``(F, C, kh, kw)``)."""
    if name != "W":
        return value.copy()
    rank = value.ndim - 2
    return value.transpose(rank + 1, rank, *range(rank)).copy()  # a copy, never a view


def _kernel_from_torch(name: str, value: Array) -> Array:
    """OIHW -> HWIO, the inverse of :func:`_kernel_to_torch`."""
    if name != "W":
        return value.copy()
    rank = value.ndim - 2
    # a copy: np.ascontiguousarray would hand back a view of the live torch tensor when the
    # transpose happens to be contiguous ((F, 1, 1, 1) -> (1, 1, 1, F)), and the recorded
    # "parameters after step 1" would move with later steps
    return value.transpose(*range(2, 2 + rank), 1, 0).copy()


def _torch_pads(
    padding: str,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """TensorFlow's padding (:func:`.padding.tf_padding`) as ``F.pad``'s ``(left, right, top,
    bottom)``: last axis first."""
    pairs = tf_padding(padding, sizes, kernel, strides, dilation)
    return tuple(n for pair in reversed(pairs) for n in pair)


def _conv(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    ref, w = layer.layer, layer.layer.windows
    padding, sizes = layer.options["padding"], layer.input_shape[:-1]
    pads = _torch_pads(padding, sizes, ref.kernel, w.strides, w.dilation)
    module = module_classes()[layer.kind](
        pads,
        in_channels=ref.channels,
        out_channels=ref.filters,
        kernel_size=ref.kernel,
        stride=w.strides,
        dilation=w.dilation,
        bias=ref.use_bias,
        dtype=dtype,
    )
    return [module, _activation(layer)]


def _pool(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    ref, w = layer.layer, layer.layer.windows
    padding, sizes = layer.options["padding"], layer.input_shape[:-1]
    pads = _torch_pads(padding, sizes, ref.pool, w.strides, (1, 1))
    return [module_classes()[layer.kind](pads, kernel_size=ref.pool, stride=w.strides)]


def _flatten(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    return [torch.nn.Flatten()]  # on channels-last tensors: the reference's order


def _batchnorm(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    ref = layer.layer
    cls = module_classes()["batchnorm2d" if len(layer.input_shape) == 3 else "batchnorm1d"]
    # torch's momentum is the new batch's weight, as the reference's torch convention
    return [cls(ref.channels, eps=ref.epsilon, momentum=ref.momentum, dtype=dtype)]


def _batchnorm_refusal(options: dict[str, Any], input_shape: tuple[int, ...]) -> str | None:
    if options["convention"] != "torch":
        return "Keras' running statistics (batchnorm convention='keras': biased variance)"
    return None


def _layernorm(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    eps = layer.options["epsilon"]
    return [torch.nn.LayerNorm(layer.input_shape[-1], eps=eps, dtype=dtype)]


def _dropout(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    return [module_classes()["dropout"](layer.options["rate"], layer.options["seed"])]


def _embedding(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    o = layer.options
    return [torch.nn.Embedding(o["input_dim"], o["output_dim"], dtype=dtype)]


# ---------------------------------------------------------------- sequences
# torch's gate order per recurrent kind, as positions of the reference's column blocks: GRU
# blocks are z, r, h in the reference (Keras' order) and r, z, n in torch.
GATE_ORDER = {"simple_rnn": (0,), "lstm": (0, 1, 2, 3), "gru": (1, 0, 2)}
TORCH_RNN_MODE = {"simple_rnn": "rnn_tanh", "lstm": "lstm", "gru": "gru"}


def _permute_gates(kind: str, value: Array) -> Array:
    """The column blocks of the last axis in torch's order (GRU: z, r, h -> r, z, n, a swap,
    so the same function maps back)."""
    order = GATE_ORDER[kind]
    blocks = np.split(value, len(order), axis=-1)
    return np.concatenate([blocks[k] for k in order], axis=-1)


def _rnn_to_torch(kind: str) -> Callable[[str, Array], Array]:
    def to_torch(name: str, value: Array) -> Array:
        value = _permute_gates(kind, value)
        return value.T.copy() if name in ("W", "U") else value.copy()  # (G*H, n) in torch

    return to_torch


def _rnn_from_torch(kind: str) -> Callable[[str, Array], Array]:
    def from_torch(name: str, value: Array) -> Array:
        value = value.T if name in ("W", "U") else value
        return _permute_gates(kind, value).copy()

    return from_torch


def _rnn(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    ref = layer.layer
    module = module_classes()["rnn"](
        TORCH_RNN_MODE[layer.kind],
        ref.n_in,
        ref.units,
        ref.params["b"].shape,
        return_sequences=ref.return_sequences,
        dtype=dtype,
    )
    return [module]


def _gru_refusal(options: dict[str, Any], input_shape: tuple[int, ...]) -> str | None:
    if not options["reset_after"]:
        return (
            "GRU with reset_after=False (the reset gate before the recurrent matmul, Keras "
            "only): torch's GRU applies it after"
        )
    return None


def _attention(torch: Any, layer: ResolvedLayer, dtype: Any) -> list[Any]:
    o = layer.options
    module = module_classes()["attention"](
        layer.input_shape[-1],
        o["num_heads"],
        o["key_dim"],
        o["causal"],
        return_sequences=o["return_sequences"],
        dtype=dtype,
    )
    return [module]


def _attention_refusal(options: dict[str, Any], input_shape: tuple[int, ...]) -> str | None:
    heads, key_dim, size = options["num_heads"], options["key_dim"], input_shape[-1]
    if heads * key_dim != size:
        return (
            f"attention with num_heads * key_dim = {heads * key_dim} != the input size {size}: "
            "torch's multi-head attention splits embed_dim into heads (key_dim = D / heads)"
        )
    return None


_WEIGHT_BIAS = {"W": "weight", "b": "bias"}
_GAMMA_BETA = {"gamma": "weight", "beta": "bias"}
_RUNNING = {"running_mean": "running_mean", "running_var": "running_var"}


def _recurrent(kind: str, refusal: Callable[..., str | None] = lambda o, s: None) -> TorchLayer:
    names = {"W": "weight_ih", "U": "weight_hh", "b": "bias"}
    return TorchLayer(_rnn, _rnn_to_torch(kind), _rnn_from_torch(kind), names, refusal=refusal)


# reference layer kind -> its torch translation
LAYERS: dict[str, TorchLayer] = {
    "dense": TorchLayer(_dense, _transpose_weight, _transpose_weight, _WEIGHT_BIAS),
    "conv1d": TorchLayer(_conv, _kernel_to_torch, _kernel_from_torch, _WEIGHT_BIAS),
    "conv2d": TorchLayer(_conv, _kernel_to_torch, _kernel_from_torch, _WEIGHT_BIAS),
    "maxpool2d": TorchLayer(_pool, _same, _same),
    "avgpool2d": TorchLayer(_pool, _same, _same),
    "flatten": TorchLayer(_flatten, _same, _same),
    "batchnorm": TorchLayer(
        _batchnorm, _same, _same, _GAMMA_BETA, _RUNNING, refusal=_batchnorm_refusal
    ),
    "layernorm": TorchLayer(_layernorm, _same, _same, _GAMMA_BETA),
    "dropout": TorchLayer(_dropout, _same, _same),
    "embedding": TorchLayer(_embedding, _same, _same, {"W": "weight"}),
    "simple_rnn": _recurrent("simple_rnn"),
    "lstm": _recurrent("lstm"),
    "gru": _recurrent("gru", _gru_refusal),
    "attention": TorchLayer(
        _attention,
        _same,
        _same,
        {n: n for n in ("Wq", "Wk", "Wv", "bq", "bk", "bv", "Wo", "bo")},
        refusal=_attention_refusal,
    ),
}
