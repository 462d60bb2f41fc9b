"""Reference layer kinds in PyTorch: for each kind, the ``torch.nn`` modules that compute it and
how its parameters translate between the reference layout and torch's.  A new layer kind is
one entry in ``LAYERS`` (and ``TORCH_NAMES``); the adapter is :mod:`.torch_mirror`.

Layouts.  The reference is channels-last (``(N, H, W, C)``, kernels ``(kh, kw, C, F)``); torch's
convolution, pooling and batch-norm modules are channels-first (``(N, C, H, W)``, weights
``(F, C, kh, kw)``).  Tensors travel between layers in the reference layout: each spatial
module here is torch's own module subclassed to move the channel axis first on the way in
and last on the way out (``movedim``), and kernels are transposed HWIO <-> OIHW when copied.
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

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity_tests.frameworks.common.padding import tf_padding
from parity_tests.harness import loaders
from parity_tests.harness.protocol import Array
from reference_nn.layers import LAYER_KINDS
from reference_nn.layers.dropout import dropout_mask


def _activation(name: str, params: dict[str, float]) -> Any:
    nn = loaders.torch().nn
    table: dict[str, Callable[[], Any]] = {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope=params["alpha"]),
        "elu": lambda: nn.ELU(alpha=params.get("alpha", 1.0)),
        "softplus": nn.Softplus,  # beta=1, threshold=20: linear above 20 (cases stay below)
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    return table[name]()


@dataclass(frozen=True)
class TorchLayer:
    """How one reference layer kind is built in torch and how its parameters translate."""

    build: Callable[[Any, dict[str, Any], tuple[int, ...], Any], list[Any]]  # -> modules
    to_torch: Callable[[str, Array], Array]  # reference name, value -> torch layout
    from_torch: Callable[[str, Array], Array]
    # reference state name -> attribute of the first module (non-trainable: running stats)
    state_names: dict[str, str] = field(default_factory=dict)
    # (options, input shape) -> None, or what torch cannot compute (the adapter refuses the
    # spec with it)
    unsupported: Callable[[dict[str, Any], tuple[int, ...]], str | None] = lambda o, s: None


def _dense(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any) -> list:
    units, bias = options["units"], options["use_bias"]
    linear = torch.nn.Linear(input_shape[0], units, bias=bias, dtype=dtype)
    return [linear, _activation(options["activation"], options["activation_options"])]


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
    # "parameters after step 1" would move with later steps (found by random-layers0)
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


@functools.cache
def _modules() -> dict[str, type]:
    """torch modules subclassed to take and give channels-last tensors (built on first use,
    so importing this file imports no torch)."""
    torch = loaders.torch()
    nn, F = torch.nn, torch.nn.functional

    def first(x: Any) -> Any:
        return x.movedim(-1, 1)

    def last(x: Any) -> Any:
        return x.movedim(1, -1)

    def conv(base: type) -> type:
        class ChannelsLastConv(base):  # type: ignore[misc, valid-type]
            def __init__(self, pads: tuple[int, ...], **kwargs: Any) -> None:
                super().__init__(padding=0, **kwargs)
                self.pads = pads

            def forward(self, x: Any) -> Any:
                return last(super().forward(F.pad(first(x), self.pads)))

        return ChannelsLastConv

    class ChannelsLastMaxPool2d(nn.MaxPool2d):  # type: ignore[misc]
        def __init__(self, pads: tuple[int, ...], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.pads = pads

        def forward(self, x: Any) -> Any:
            return last(super().forward(F.pad(first(x), self.pads, value=-float("inf"))))

    class ChannelsLastAvgPool2d(nn.AvgPool2d):  # type: ignore[misc]
        """``valid``: torch's average; ``same``: sum over the padded window / real inputs."""

        def __init__(self, pads: tuple[int, ...], **kwargs: Any) -> None:
            self.pads = pads
            if any(pads):
                super().__init__(divisor_override=1, **kwargs)
            else:
                super().__init__(**kwargs)

        def forward(self, x: Any) -> Any:
            x = first(x)
            if not any(self.pads):
                return last(super().forward(x))
            ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype)
            count = super().forward(F.pad(ones, self.pads))
            return last(super().forward(F.pad(x, self.pads)) / count)

    def batchnorm(base: type) -> type:
        class ChannelsLastBatchNorm(base):  # type: ignore[misc, valid-type]
            def forward(self, x: Any) -> Any:
                return super().forward(x) if x.ndim == 2 else last(super().forward(first(x)))

        return ChannelsLastBatchNorm

    class MaskDropout(nn.Module):  # type: ignore[misc]
        """``x * mask`` with the reference's mask for this call; identity in eval mode."""

        def __init__(self, rate: float, seed: int) -> None:
            super().__init__()
            self.rate, self.rng = rate, np.random.default_rng(seed)

        def forward(self, x: Any) -> Any:
            if not self.training:
                return x
            dtype = np.float64 if x.dtype == torch.float64 else np.float32
            return x * torch.from_numpy(dropout_mask(self.rng, tuple(x.shape), self.rate, dtype))

    class ReferenceLayoutRNN(nn.Module):  # type: ignore[misc]
        """torch's own recurrent kernel (``torch.rnn_tanh`` / ``lstm`` / ``gru``: what
        ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` call) on parameters held one per reference name:
        ``weight_ih (G*H, D)``, ``weight_hh (G*H, H)`` in torch's gate order, and ``bias``:
        ``(2, G*H)`` for torch's two biases (rows ``b_ih``, ``b_hh``), or ``(G*H,)`` for
        Keras' one, passed as ``b_ih`` with ``b_hh = 0`` (a constant, not a parameter)."""

        def __init__(self, mode: str, n_in: int, units: int, bias_shape: tuple, **kw: Any):
            super().__init__()
            self.mode, self.return_sequences = mode, kw.pop("return_sequences")
            width = bias_shape[-1]
            dtype = kw.pop("dtype")
            self.weight_ih = nn.Parameter(torch.zeros(width, n_in, dtype=dtype))
            self.weight_hh = nn.Parameter(torch.zeros(width, units, dtype=dtype))
            self.bias = nn.Parameter(torch.zeros(bias_shape, dtype=dtype))
            self.units = units

        def forward(self, x: Any) -> Any:
            if self.bias.ndim == 2:
                b_ih, b_hh = self.bias[0], self.bias[1]
            else:
                b_ih, b_hh = self.bias, torch.zeros_like(self.bias)
            weights = [self.weight_ih, self.weight_hh, b_ih, b_hh]
            h0 = torch.zeros((1, x.shape[0], self.units), dtype=x.dtype)
            # (input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
            # batch_first)
            flags = (True, 1, 0.0, self.training, False, True)
            if self.mode == "lstm":
                out = torch.lstm(x, (h0, h0), weights, *flags)[0]
            else:
                out = getattr(torch, self.mode)(x, h0, weights, *flags)[0]
            return out if self.return_sequences else out[:, -1]

    class ReferenceLayoutAttention(nn.Module):  # type: ignore[misc]
        """torch's multi-head attention (``F.multi_head_attention_forward``, what
        ``nn.MultiheadAttention`` calls) on parameters held in the reference's per-head layout
        (``Wq (D, heads, key_dim)``...), packed here as torch packs them: each projection
        ``(E, D)`` with ``E = heads * key_dim``, head-major rows; the three input biases in one
        ``in_proj_bias``; ``out_proj_weight (D, E)``.  ``torch_in_proj`` gives the same packing
        for ``nn.MultiheadAttention``'s single ``in_proj_weight``."""

        def __init__(self, size: int, heads: int, key_dim: int, causal: bool, **kw: Any):
            super().__init__()
            self.heads, self.causal = heads, causal
            self.return_sequences = kw.pop("return_sequences")
            dtype = kw.pop("dtype")
            for name in ("Wq", "Wk", "Wv"):
                setattr(self, name, nn.Parameter(torch.zeros(size, heads, key_dim, dtype=dtype)))
            for name in ("bq", "bk", "bv"):
                setattr(self, name, nn.Parameter(torch.zeros(heads, key_dim, dtype=dtype)))
            self.Wo = nn.Parameter(torch.zeros(heads, key_dim, size, dtype=dtype))
            self.bo = nn.Parameter(torch.zeros(size, dtype=dtype))

        def forward(self, x: Any) -> Any:
            D, T = x.shape[-1], x.shape[1]
            proj = {n: getattr(self, n).reshape(D, -1).T for n in ("Wq", "Wk", "Wv")}
            in_bias = torch.cat([getattr(self, n).reshape(-1) for n in ("bq", "bk", "bv")])
            mask = torch.ones(T, T, dtype=torch.bool).triu(1) if self.causal else None
            seq = x.transpose(0, 1)  # (T, N, D): the functional form is sequence-first
            out, _ = F.multi_head_attention_forward(
                seq, seq, seq, D, self.heads, None, in_bias, None, None, False, 0.0,
                self.Wo.reshape(-1, D).T, self.bo, training=self.training,
                need_weights=False, attn_mask=mask, use_separate_proj_weight=True,
                q_proj_weight=proj["Wq"], k_proj_weight=proj["Wk"], v_proj_weight=proj["Wv"],
            )  # fmt: skip
            y = out.transpose(0, 1)
            return y if self.return_sequences else y[:, -1]

    return {
        "rnn": ReferenceLayoutRNN,
        "attention": ReferenceLayoutAttention,
        "conv1d": conv(nn.Conv1d),
        "conv2d": conv(nn.Conv2d),
        "maxpool2d": ChannelsLastMaxPool2d,
        "avgpool2d": ChannelsLastAvgPool2d,
        "batchnorm1d": batchnorm(nn.BatchNorm1d),
        "batchnorm2d": batchnorm(nn.BatchNorm2d),
        "dropout": MaskDropout,
    }


def _reference(kind: str, options: dict[str, Any], input_shape: tuple[int, ...]) -> Any:
    """The reference layer, for its resolved options (kernel, strides, dilation as tuples;
    the default momentum); the padding amounts are computed here (:func:`_torch_pads`)."""
    given = {k: v for k, v in options.items() if v is not None}  # None: "the default"
    return LAYER_KINDS[kind](input_shape, **given)


def _conv(kind: str) -> Callable[..., list]:
    def build(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
        ref = _reference(kind, options, input_shape)
        w = ref.windows
        module = _modules()[kind](
            _torch_pads(options["padding"], input_shape[:-1], ref.kernel, w.strides, w.dilation),
            in_channels=ref.channels,
            out_channels=ref.filters,
            kernel_size=ref.kernel,
            stride=ref.windows.strides,
            dilation=ref.windows.dilation,
            bias=ref.use_bias,
            dtype=dtype,
        )
        return [module, _activation(options["activation"], options["activation_options"])]

    return build


def _pool(kind: str) -> Callable[..., list]:
    def build(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
        ref = _reference(kind, options, input_shape)
        w = ref.windows
        pads = _torch_pads(options["padding"], input_shape[:-1], ref.pool, w.strides, (1, 1))
        return [_modules()[kind](pads, kernel_size=ref.pool, stride=ref.windows.strides)]

    return build


def _flatten(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
    return [torch.nn.Flatten()]  # on channels-last tensors: the reference's order


def _batchnorm(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
    ref = _reference("batchnorm", options, input_shape)
    cls = _modules()["batchnorm2d" if len(input_shape) == 3 else "batchnorm1d"]
    # torch's momentum is the new batch's weight, as the reference's torch convention
    return [cls(ref.channels, eps=ref.epsilon, momentum=ref.momentum, dtype=dtype)]


def _batchnorm_unsupported(options: dict[str, Any], input_shape: tuple[int, ...]) -> str | None:
    if options["convention"] != "torch":
        return "Keras' running statistics (batchnorm convention='keras': biased variance)"
    return None


def _layernorm(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
    return [torch.nn.LayerNorm(input_shape[-1], eps=options["epsilon"], dtype=dtype)]


def _dropout(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
    return [_modules()["dropout"](options["rate"], options["seed"])]


def _embedding(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
    return [torch.nn.Embedding(options["input_dim"], options["output_dim"], dtype=dtype)]


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


def _rnn(kind: str) -> Callable[..., list]:
    def build(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
        ref = _reference(kind, options, input_shape)
        module = _modules()["rnn"](
            TORCH_RNN_MODE[kind],
            ref.n_in,
            ref.units,
            ref.params["b"].shape,
            return_sequences=ref.return_sequences,
            dtype=dtype,
        )
        return [module]

    return build


def _gru_unsupported(options: dict[str, Any], input_shape: tuple[int, ...]) -> str | None:
    if not options["reset_after"]:
        return (
            "GRU with reset_after=False (the reset gate before the recurrent matmul, Keras "
            "only): torch's GRU applies it after"
        )
    return None


def _attention(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any):
    module = _modules()["attention"](
        input_shape[-1],
        options["num_heads"],
        options["key_dim"],
        options["causal"],
        return_sequences=options["return_sequences"],
        dtype=dtype,
    )
    return [module]


def _attention_unsupported(options: dict[str, Any], input_shape: tuple[int, ...]) -> str | None:
    heads, key_dim, size = options["num_heads"], options["key_dim"], input_shape[-1]
    if heads * key_dim != size:
        return (
            f"attention with num_heads * key_dim = {heads * key_dim} != the input size {size}: "
            "torch's multi-head attention splits embed_dim into heads (key_dim = D / heads)"
        )
    return None


def torch_in_proj(params: dict[str, Array]) -> tuple[Array, Array]:
    """``nn.MultiheadAttention``'s packed ``in_proj_weight (3E, D)`` and ``in_proj_bias (3E,)``
    from a reference attention layer's ``Wq, Wk, Wv (D, heads, key_dim)`` and biases."""
    weight = np.concatenate([params[n].reshape(len(params[n]), -1).T for n in ("Wq", "Wk", "Wv")])
    bias = np.concatenate([params[n].reshape(-1) for n in ("bq", "bk", "bv")])
    return weight, bias


_RUNNING = {"running_mean": "running_mean", "running_var": "running_var"}

# reference layer kind -> its torch translation; parameter names map in layer order
LAYERS: dict[str, TorchLayer] = {
    "dense": TorchLayer(_dense, _transpose_weight, _transpose_weight),
    "conv1d": TorchLayer(_conv("conv1d"), _kernel_to_torch, _kernel_from_torch),
    "conv2d": TorchLayer(_conv("conv2d"), _kernel_to_torch, _kernel_from_torch),
    "maxpool2d": TorchLayer(_pool("maxpool2d"), _same, _same),
    "avgpool2d": TorchLayer(_pool("avgpool2d"), _same, _same),
    "flatten": TorchLayer(_flatten, _same, _same),
    "batchnorm": TorchLayer(_batchnorm, _same, _same, _RUNNING, _batchnorm_unsupported),
    "layernorm": TorchLayer(_layernorm, _same, _same),
    "dropout": TorchLayer(_dropout, _same, _same),
    "embedding": TorchLayer(_embedding, _same, _same),
    "simple_rnn": TorchLayer(
        _rnn("simple_rnn"), _rnn_to_torch("simple_rnn"), _rnn_from_torch("simple_rnn")
    ),
    "lstm": TorchLayer(_rnn("lstm"), _rnn_to_torch("lstm"), _rnn_from_torch("lstm")),
    "gru": TorchLayer(
        _rnn("gru"), _rnn_to_torch("gru"), _rnn_from_torch("gru"), unsupported=_gru_unsupported
    ),
    "attention": TorchLayer(_attention, _same, _same, unsupported=_attention_unsupported),
}
# reference parameter name -> torch attribute name, per kind
TORCH_NAMES: dict[str, dict[str, str]] = {
    "dense": {"W": "weight", "b": "bias"},
    "conv1d": {"W": "weight", "b": "bias"},
    "conv2d": {"W": "weight", "b": "bias"},
    "batchnorm": {"gamma": "weight", "beta": "bias"},
    "layernorm": {"gamma": "weight", "beta": "bias"},
    "embedding": {"W": "weight"},
    **{kind: {"W": "weight_ih", "U": "weight_hh", "b": "bias"} for kind in GATE_ORDER},
    "attention": {n: n for n in ("Wq", "Wk", "Wv", "bq", "bk", "bv", "Wo", "bo")},
}
