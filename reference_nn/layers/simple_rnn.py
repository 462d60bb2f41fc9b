"""``simple_rnn``: the Elman recurrence with tanh, and its backward pass through time.

Forward, for ``x (N, T, D)``, from ``h_0 = 0`` (layout and biases: :mod:`._recurrent`)::

    z_t = x_t @ W + h_{t-1} @ U + b        h_t = tanh(z_t)

Backward, given ``g_t = dL/dh_t`` from outside the layer, for ``t = T .. 1``::

    dh_t  = g_t + dh_next                  what reaches h_t: from the loss and from step t+1
    dz_t  = dh_t * (1 - h_t^2)             tanh' = 1 - tanh^2
    dU   += h_{t-1}.T @ dz_t               dW += x_t.T @ dz_t        db += sum_n dz_t
    dh_next = dz_t @ U.T                   h_{t-1}'s share, carried to step t-1
    dx_t  = dz_t @ W.T

``dW``, ``db`` and ``dx`` use every step's ``dz_t`` at once, after the loop.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._checks import Array
from ..options import Option
from ._recurrent import BIAS_CONVENTION, RECURRENT_OPTIONS, RecurrentLayer


class SimpleRNN(RecurrentLayer):
    kind = "simple_rnn"
    gates = 1
    OPTIONS: ClassVar[dict[str, Option]] = {**RECURRENT_OPTIONS, "convention": BIAS_CONVENTION}

    def forward(self, x: Array, training: bool = True) -> Array:
        self.check_input(x)
        W, U = self.params["W"], self.params["U"]
        xw = x @ W + self.input_bias()  # (N, T, H): every step's input share at once
        hs = np.zeros((len(x), self.timesteps + 1, self.units), self.dtype)  # hs[:, 0] = h_0
        for t in range(self.timesteps):
            hs[:, t + 1] = np.tanh(xw[:, t] + hs[:, t] @ U)
        self._cache = (x, hs)
        return self.output(hs[:, 1:])

    def backward(self, grad_out: Array) -> Array:
        """Store ``dL/dW``, ``dL/dU``, ``dL/db``; return ``dL/dx`` (module docstring)."""
        if self._cache is None:
            raise RuntimeError("backward() called before forward()")
        x, hs = self._cache
        g = self.full_sequence_grad(grad_out)
        U = self.params["U"]
        dz = np.zeros_like(hs[:, 1:])
        dU = np.zeros_like(U)
        dh_next = np.zeros_like(hs[:, 0])
        for t in reversed(range(self.timesteps)):
            dh = g[:, t] + dh_next
            dz[:, t] = dh * (1 - hs[:, t + 1] ** 2)
            dU += hs[:, t].T @ dz[:, t]
            dh_next = dz[:, t] @ U.T
        self.grads = {
            "W": np.einsum("ntd,nth->dh", x, dz),
            "U": dU,
            "b": self.bias_grad(dz.sum(axis=(0, 1))),
        }
        return dz @ self.params["W"].T
