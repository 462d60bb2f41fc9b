"""``gru``: the gated recurrent unit, both placements of the reset gate, and its backward pass.

Gates in the column blocks of ``W``, ``U`` and the bias: ``z, r, h`` (update, reset,
candidate): Keras' order.  torch orders them ``r, z, n``; its adapter permutes the blocks
(``parity_tests/frameworks/torch/layers.py``).  From ``h_0 = 0``, the new state mixes old and
candidate::

    h_t = z * h_{t-1} + (1 - z) * n

``reset_after=True`` (Keras' default, and torch's only GRU): the reset gate scales the
recurrent product *after* the matmul, so the recurrent side keeps its own bias:
``b (2, 3H)``, row 0 input side, row 1 recurrent side (Keras' ``bias``; torch's ``b_ih``,
``b_hh``)::

    a = x_t @ W + b[0]          q = h_{t-1} @ U + b[1]          (N, 3H): blocks z, r, h
    z = sigmoid(a_z + q_z)      r = sigmoid(a_r + q_r)      n = tanh(a_h + r * q_h)

``reset_after=False`` (Keras only): the reset gate scales the state *before* the matmul;
one bias ``b (3H,)``::

    a = x_t @ W + b
    z = sigmoid(a_z + h_{t-1} @ U_z)   r = sigmoid(a_r + h_{t-1} @ U_r)
    n = tanh(a_h + (r * h_{t-1}) @ U_h)

Backward, given ``g_t = dL/dh_t`` from outside, for ``t = T .. 1``::

    dh = g_t + dh_next
    dz = dh * (h_{t-1} - n)      dn = dh * (1 - z)      dh_prev = dh * z
    dn_pre = dn * (1 - n^2)                                   (n's pre-activation)
    reset_after=True:   dr = dn_pre * q_h
                        dq = [dz_pre, dr_pre, dn_pre * r]     (the recurrent side's blocks)
                        dU += h_{t-1}.T @ dq    db[1] += sum dq    dh_prev += dq @ U.T
    reset_after=False:  d(rh) = dn_pre @ U_h.T    dr = d(rh) * h_{t-1}
                        dh_prev += d(rh) * r + [dz_pre, dr_pre] @ [U_z, U_r].T
                        dU += [h.T @ dz_pre, h.T @ dr_pre, (r h).T @ dn_pre]
    with dz_pre = dz * z (1 - z), dr_pre = dr * r (1 - r); the input side's blocks are
    da = [dz_pre, dr_pre, dn_pre] in both; dh_next = dh_prev.

then ``dW = sum_t x_t.T @ da_t``, the input bias ``sum da``, ``dx_t = da_t @ W.T``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._checks import Array
from ..options import Option
from ._recurrent import RECURRENT_OPTIONS, RecurrentLayer, sigmoid


class GRU(RecurrentLayer):
    kind = "gru"
    gates = 3
    OPTIONS: ClassVar[dict[str, Option]] = {
        **RECURRENT_OPTIONS,
        "reset_after": Option(
            "bool", doc="the reset gate after the recurrent matmul (Keras default, torch)"
        ),
    }

    def bias_shape(self) -> tuple[int, ...]:
        width = 3 * self.units
        return (2, width) if self.options["reset_after"] else (width,)

    def forward(self, x: Array, training: bool = True) -> Array:
        self.check_input(x)
        H, T = self.units, self.timesteps
        U, b = self.params["U"], self.params["b"]
        after = b.ndim == 2  # reset_after
        a = x @ self.params["W"] + (b[0] if after else b)  # (N, T, 3H)
        hs = np.zeros((len(x), T + 1, H), self.dtype)  # hs[:, 0] = h_0
        zrn = np.zeros((len(x), T, 3 * H), self.dtype)  # z, r, n after their activations
        qh = np.zeros((len(x), T, H), self.dtype)  # reset_after: h_{t-1} @ U_h + b[1]_h
        for t in range(T):
            h = hs[:, t]
            if after:
                q = h @ U + b[1]
                zr = sigmoid(a[:, t, : 2 * H] + q[:, : 2 * H])
                qh[:, t] = q[:, 2 * H :]
                n = np.tanh(a[:, t, 2 * H :] + zr[:, H:] * qh[:, t])
            else:
                zr = sigmoid(a[:, t, : 2 * H] + h @ U[:, : 2 * H])
                n = np.tanh(a[:, t, 2 * H :] + (zr[:, H:] * h) @ U[:, 2 * H :])
            zrn[:, t, : 2 * H], zrn[:, t, 2 * H :] = zr, n
            z = zr[:, :H]
            hs[:, t + 1] = z * h + (1 - z) * n
        self._cache = (x, hs, zrn, qh)
        return self.output(hs[:, 1:])

    def backward(self, grad_out: Array) -> Array:
        """Store ``dL/dW``, ``dL/dU``, ``dL/db``; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        x, hs, zrn, qh = self._cache
        H = self.units
        U, b = self.params["U"], self.params["b"]
        after = b.ndim == 2
        g_out = self.full_sequence_grad(grad_out)
        da = np.zeros_like(zrn)  # input side, every step
        dU = np.zeros_like(U)
        db_rec = np.zeros(3 * H, self.dtype)
        dh_next = np.zeros_like(hs[:, 0])
        for t in reversed(range(self.timesteps)):
            h = hs[:, t]
            z, r, n = np.split(zrn[:, t], 3, axis=-1)
            dh = g_out[:, t] + dh_next
            dz_pre = dh * (h - n) * z * (1 - z)
            dn_pre = dh * (1 - z) * (1 - n**2)
            dh_prev = dh * z
            if after:
                dr_pre = dn_pre * qh[:, t] * r * (1 - r)
                dq = np.concatenate([dz_pre, dr_pre, dn_pre * r], axis=-1)
                dU += h.T @ dq
                db_rec += dq.sum(axis=0)
                dh_prev += dq @ U.T
            else:
                drh = dn_pre @ U[:, 2 * H :].T
                dr_pre = drh * h * r * (1 - r)
                dzr = np.concatenate([dz_pre, dr_pre], axis=-1)
                dh_prev += drh * r + dzr @ U[:, : 2 * H].T
                dU[:, : 2 * H] += h.T @ dzr
                dU[:, 2 * H :] += (r * h).T @ dn_pre
            da[:, t] = np.concatenate([dz_pre, dr_pre, dn_pre], axis=-1)
            dh_next = dh_prev
        db_in = da.sum(axis=(0, 1))
        self.grads = {
            "W": np.einsum("ntd,ntk->dk", x, da),
            "U": dU,
            "b": np.stack([db_in, db_rec]) if after else db_in,
        }
        return da @ self.params["W"].T
