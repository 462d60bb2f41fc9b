"""``lstm``: the long short-term memory cell and its backward pass through time.

Gates in the column blocks of ``W``, ``U`` and ``b``: ``i, f, g, o`` (input, forget, cell
candidate, output): the order of both torch and Keras.  Forward, from ``h_0 = c_0 = 0``::

    z_t = x_t @ W + h_{t-1} @ U + b                  (N, 4H), split into zi, zf, zg, zo
    i = sigmoid(zi)   f = sigmoid(zf)   g = tanh(zg)   o = sigmoid(zo)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Backward, given ``g_t = dL/dh_t`` from outside, for ``t = T .. 1`` (``dc_next``, the cell
state's gradient from step t+1, is the carry: the path that lets gradients cross many steps)::

    dh  = g_t + dh_next
    do  = dh * tanh(c_t)
    dc  = dh * o * (1 - tanh(c_t)^2) + dc_next      through h_t, and the carry
    di  = dc * g      dg = dc * i      df = dc * c_{t-1}
    dc_next = dc * f
    dzi = di * i (1 - i)   dzf = df * f (1 - f)   dzg = dg * (1 - g^2)   dzo = do * o (1 - o)
    dU += h_{t-1}.T @ dz_t     dh_next = dz_t @ U.T

then ``dW = sum_t x_t.T @ dz_t``, ``db`` the sum of ``dz`` (per bias convention:
:mod:`._recurrent`), ``dx_t = dz_t @ W.T``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._checks import Array
from ..options import Option
from ._recurrent import BIAS_CONVENTION, RECURRENT_OPTIONS, RecurrentLayer, sigmoid


class LSTM(RecurrentLayer):
    kind = "lstm"
    gates = 4
    OPTIONS: ClassVar[dict[str, Option]] = {**RECURRENT_OPTIONS, "convention": BIAS_CONVENTION}

    def forward(self, x: Array, training: bool = True) -> Array:
        self.check_input(x)
        H, T = self.units, self.timesteps
        U = self.params["U"]
        xw = x @ self.params["W"] + self.input_bias()
        hs = np.zeros((len(x), T + 1, H), self.dtype)  # hs[:, 0] = h_0
        cs = np.zeros((len(x), T + 1, H), self.dtype)  # cs[:, 0] = c_0
        gates = np.zeros((len(x), T, 4 * H), self.dtype)  # i, f, g, o after their activations
        for t in range(T):
            z = xw[:, t] + hs[:, t] @ U
            gates[:, t, : 2 * H] = sigmoid(z[:, : 2 * H])  # i, f
            gates[:, t, 2 * H : 3 * H] = np.tanh(z[:, 2 * H : 3 * H])  # g
            gates[:, t, 3 * H :] = sigmoid(z[:, 3 * H :])  # o
            i, f, g, o = np.split(gates[:, t], 4, axis=-1)
            cs[:, t + 1] = f * cs[:, t] + i * g
            hs[:, t + 1] = o * np.tanh(cs[:, t + 1])
        self._cache = (x, hs, cs, gates)
        return self.output(hs[:, 1:])

    def backward(self, grad_out: Array) -> Array:
        """Store ``dL/dW``, ``dL/dU``, ``dL/db``; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        x, hs, cs, gates = self._cache
        g_out = self.full_sequence_grad(grad_out)
        U = self.params["U"]
        dz = np.zeros_like(gates)
        dU = np.zeros_like(U)
        dh_next = np.zeros_like(hs[:, 0])
        dc_next = np.zeros_like(cs[:, 0])
        for t in reversed(range(self.timesteps)):
            dz[:, t], dc_next = self.step_backward(
                g_out[:, t] + dh_next, dc_next, gates[:, t], cs[:, t], cs[:, t + 1]
            )
            dU += hs[:, t].T @ dz[:, t]
            dh_next = dz[:, t] @ U.T
        self.grads = {
            "W": np.einsum("ntd,ntk->dk", x, dz),
            "U": dU,
            "b": self.bias_grad(dz.sum(axis=(0, 1))),
        }
        return dz @ self.params["W"].T

    @staticmethod
    def step_backward(
        dh: Array, dc_next: Array, gates: Array, c_prev: Array, c: Array
    ) -> tuple[Array, Array]:
        """One step back: from ``dh = dL/dh_t`` (loss and step t+1) and the carry ``dc_next``,
        the pre-activation gradient ``dz_t (N, 4H)`` and the carry to step t-1, ``dc * f``."""
        i, f, g, o = np.split(gates, 4, axis=-1)
        tanh_c = np.tanh(c)
        do = dh * tanh_c
        dc = dh * o * (1 - tanh_c**2) + dc_next
        di, dg, df = dc * g, dc * i, dc * c_prev
        dz = np.concatenate(
            [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=-1
        )
        return dz, dc * f
