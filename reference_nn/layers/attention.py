"""``attention``: multi-head scaled dot-product self-attention, optionally causal.

Input ``x (N, T, D)``; ``num_heads`` heads of ``key_dim`` each.  Parameters, per head ``h``
on their own axis (Keras' layout; torch packs the heads into ``(E, E)`` matrices and the three
input projections into one ``in_proj_weight``: ``parity_tests/frameworks/torch/layers.py``)::

    Wq, Wk, Wv (D, heads, key_dim)   bq, bk, bv (heads, key_dim)
    Wo (heads, key_dim, D)           bo (D,)

Forward (per sample ``n``, head ``h``; ``t`` the query position, ``s`` the key position)::

    q = x Wq + bq     k = x Wk + bk     v = x Wv + bv              (N, T, heads, key_dim)
    S[h, t, s] = q[t, h] . k[s, h] / sqrt(key_dim)
    causal: S[h, t, s] = -inf for s > t  (a position sees only itself and the past)
    A = softmax(S) over s                                          (N, heads, T, T)
    o[t, h] = sum_s A[h, t, s] v[s, h]
    y = sum_h o[:, h] Wo[h] + bo                                   (N, T, D)

The causal mask goes in *before* the softmax, so each row's weights still sum to 1 over the
positions it may see; masked weights are exactly 0.  ``return_sequences=False`` keeps only the
last position's output ``(N, D)``.

Backward, given ``dy``::

    dWo = sum o^T dy     dbo = sum dy     do = dy Wo^T
    dA = do . v          dv = A^T do
    dS = A * (dA - sum_s(dA * A))            (softmax's Jacobian; masked entries stay 0)
    dq = dS k / sqrt(key_dim)     dk = dS^T q / sqrt(key_dim)
    dWq = sum x^T dq     dbq = sum dq     (and so for k, v)
    dx = dq Wq^T + dk Wk^T + dv Wv^T

``dbk = sum dk`` is identically zero: adding ``bk`` adds ``q[t] . bk`` to every score of row
``t`` alike, and the softmax ignores a constant added to a row.  The computed value is rounding
noise (~1e-17); the parity suite compares it against the whole gradient's size
(``zero_gradient_names``), and a test checks that it is noise in every framework.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from .._checks import Array, ShapeError
from ..options import Option, at_least
from .base import Layer


class Attention(Layer):
    kind = "attention"
    OPTIONS: ClassVar[dict[str, Option]] = {
        "num_heads": Option("int", check=at_least(1)),
        "key_dim": Option("int", check=at_least(1), doc="size of each head's query and key"),
        "causal": Option("bool", False, doc="mask the future, before the softmax"),
        "return_sequences": Option("bool", True, doc="every position (N, T, D), else the last"),
    }
    weight_names = ("Wq", "Wk", "Wv", "Wo")
    bias_names = ("bq", "bk", "bv", "bo")
    zero_gradient_names = ("bk",)  # see the module docstring

    def build(self) -> tuple[int, ...]:
        if len(self.input_shape) != 2:
            raise ShapeError(
                f"attention layer needs a sequence input (timesteps, features), "
                f"got {self.input_shape}"
            )
        self.timesteps, self.size = self.input_shape
        self.heads = int(self.options["num_heads"])
        self.key_dim = int(self.options["key_dim"])
        self.causal = bool(self.options["causal"])
        self.return_sequences = bool(self.options["return_sequences"])
        projection = (self.size, self.heads, self.key_dim)
        for name in ("Wq", "Wk", "Wv"):
            self.params[name] = np.zeros(projection, self.dtype)
        for name in ("bq", "bk", "bv"):
            self.params[name] = np.zeros(projection[1:], self.dtype)
        self.params["Wo"] = np.zeros((self.heads, self.key_dim, self.size), self.dtype)
        self.params["bo"] = np.zeros(self.size, self.dtype)
        self._cache: Any = None
        return self.input_shape if self.return_sequences else (self.size,)

    def fans(self, name: str) -> tuple[int, int]:
        inner = self.heads * self.key_dim
        return (inner, self.size) if name in ("Wo", "bo") else (self.size, inner)

    def visible(self) -> NDArray[np.bool_]:
        """``(T, T)``: True where query position t may attend to key position s."""
        t = np.arange(self.timesteps)
        return t[None, :] <= t[:, None] if self.causal else np.ones((t.size, t.size), bool)

    def attention_weights(self, scores: Array) -> Array:
        """``A = softmax(S)`` over the key positions, the causal mask applied first (a masked
        score is -inf, so its weight is exactly 0 and each row sums to 1 over what it sees)."""
        scores = np.where(self.visible(), scores, -np.inf)
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def forward(self, x: Array, training: bool = True) -> Array:
        if x.ndim != 3 or x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")
        p = self.params
        q = np.einsum("ntd,dhk->nthk", x, p["Wq"]) + p["bq"]
        k = np.einsum("ntd,dhk->nthk", x, p["Wk"]) + p["bk"]
        v = np.einsum("ntd,dhk->nthk", x, p["Wv"]) + p["bv"]
        scores = np.einsum("nthk,nshk->nhts", q, k) / np.sqrt(self.dtype.type(self.key_dim))
        A = self.attention_weights(scores)
        o = np.einsum("nhts,nshk->nthk", A, v)
        y = np.einsum("nthk,hkd->ntd", o, p["Wo"]) + p["bo"]
        self._cache = (x, q, k, v, A, o)
        return y if self.return_sequences else y[:, -1]

    def backward(self, grad_out: Array) -> Array:
        """Store the eight parameter gradients; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        x, q, k, v, A, o = self._cache
        p = self.params
        if self.return_sequences:
            dy = grad_out
        else:  # only the last position reached the loss
            dy = np.zeros((len(x), *self.input_shape), grad_out.dtype)
            dy[:, -1] = grad_out
        scale = 1 / np.sqrt(self.dtype.type(self.key_dim))
        do = np.einsum("ntd,hkd->nthk", dy, p["Wo"])
        dA = np.einsum("nthk,nshk->nhts", do, v)
        dv = np.einsum("nhts,nthk->nshk", A, do)
        dS = A * (dA - (dA * A).sum(axis=-1, keepdims=True))
        dq = np.einsum("nhts,nshk->nthk", dS, k) * scale
        dk = np.einsum("nhts,nthk->nshk", dS, q) * scale
        self.grads = {"Wo": np.einsum("nthk,ntd->hkd", o, dy), "bo": dy.sum(axis=(0, 1))}
        dx = np.zeros_like(x)
        for name, d in (("q", dq), ("k", dk), ("v", dv)):
            self.grads["W" + name] = np.einsum("ntd,nthk->dhk", x, d)
            self.grads["b" + name] = d.sum(axis=(0, 1))
            dx += np.einsum("nthk,dhk->ntd", d, p["W" + name])
        return dx
