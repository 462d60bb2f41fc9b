"""torch modules that compute a reference layer kind in the reference's layout: the
channels-last subclasses of torch's convolution, pooling and batch-norm modules, the dropout
that applies the reference's mask, and the recurrent and attention modules that hold their
parameters one per reference name (:mod:`.layers` builds them, its module docstring says why
each is needed).  Built on first use, so importing this file imports no torch."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from parity_tests.harness import loaders
from reference_nn.layers.dropout import dropout_mask


@functools.cache
def module_classes() -> dict[str, type]:
    """Module name -> the torch module class that computes it in the reference's layout
    (spatial modules take and give channels-last tensors)."""
    torch = loaders.torch()
    nn, F = torch.nn, torch.nn.functional

    def first(x: Any) -> Any:
        return x.movedim(-1, 1)

    def last(x: Any) -> Any:
        return x.movedim(1, -1)

    def conv(base: type) -> type:
        class ChannelsLastConv(base):  # type: ignore[misc]
            def __init__(self, pads: tuple[int, ...], **kwargs: Any) -> None:
                super().__init__(padding=0, **kwargs)
                self.pads = pads

            def forward(self, x: Any) -> Any:
                return last(super().forward(F.pad(first(x), self.pads)))

        return ChannelsLastConv

    class ChannelsLastMaxPool2d(nn.MaxPool2d):  # type: ignore[misc, name-defined]
        def __init__(self, pads: tuple[int, ...], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.pads = pads

        def forward(self, x: Any) -> Any:
            return last(super().forward(F.pad(first(x), self.pads, value=-float("inf"))))

    class ChannelsLastAvgPool2d(nn.AvgPool2d):  # type: ignore[misc, name-defined]
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
        class ChannelsLastBatchNorm(base):  # type: ignore[misc]
            def forward(self, x: Any) -> Any:
                return super().forward(x) if x.ndim == 2 else last(super().forward(first(x)))

        return ChannelsLastBatchNorm

    class MaskDropout(nn.Module):  # type: ignore[misc, name-defined]
        """``x * mask`` with the reference's mask for this call; identity in eval mode."""

        def __init__(self, rate: float, seed: int) -> None:
            super().__init__()
            self.rate, self.rng = rate, np.random.default_rng(seed)

        def forward(self, x: Any) -> Any:
            if not self.training:
                return x
            dtype = np.float64 if x.dtype == torch.float64 else np.float32
            return x * torch.from_numpy(dropout_mask(self.rng, tuple(x.shape), self.rate, dtype))

    class ReferenceLayoutRNN(nn.Module):  # type: ignore[misc, name-defined]
        """torch's own recurrent kernel (``torch.rnn_tanh`` / ``lstm`` / ``gru``: what
        ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` call) on parameters held one per reference name:
        ``weight_ih (G*H, D)``, ``weight_hh (G*H, H)`` in torch's gate order, and ``bias``:
        ``(2, G*H)`` for torch's two biases (rows ``b_ih``, ``b_hh``), or ``(G*H,)`` for
        Keras' one, passed as ``b_ih`` with ``b_hh = 0`` (a constant, not a parameter)."""

        def __init__(
            self, mode: str, n_in: int, units: int, bias_shape: tuple[int, ...], **kw: Any
        ):
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

    class ReferenceLayoutAttention(nn.Module):  # type: ignore[misc, name-defined]
        """torch's multi-head attention (``F.multi_head_attention_forward``, what
        ``nn.MultiheadAttention`` calls) on parameters held in the reference's per-head layout
        (``Wq (D, heads, key_dim)``...), packed here as torch packs them: each projection
        ``(E, D)`` with ``E = heads * key_dim``, head-major rows; the three input biases in one
        ``in_proj_bias``; ``out_proj_weight (D, E)``."""

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
