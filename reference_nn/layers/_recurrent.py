"""What the recurrent kinds (``simple_rnn``, ``lstm``, ``gru``) share: the input ``(N, T, D)``,
the options ``units`` and ``return_sequences``, the weight layout and the bias conventions.

Layout (the reference's, for every recurrent kind): the input kernel ``W (D, G*H)`` and the
recurrent kernel ``U (H, G*H)``, the ``G`` gates side by side in column blocks of ``H``; the
per-step pre-activations are ``x_t @ W + h_{t-1} @ U + bias``.  The initial state is zero.

Biases, by name (``convention``):

* ``"keras"``: one bias ``b (G*H,)``, added once per step (Keras' SimpleRNN and LSTM);
* ``"torch"``: two biases, ``b (2, G*H)``: row 0 on the input side (torch's ``b_ih``), row 1
  on the recurrent side (``b_hh``).  The forward pass only ever sees ``b[0] + b[1]``, so a
  network converted from one bias to two gives the same outputs; but each row receives the
  full gradient, so an optimizer step moves their sum twice as far (SGD) and training
  parts ways (``tests/parity/test_layer_known_differences.py`` shows both).

Output: ``(N, T, H)`` with ``return_sequences``, else the last step's ``h_T (N, H)``.  With
``return_sequences=False`` the loss reaches only ``h_T``: the backward pass starts from a zero
gradient at every other step (:meth:`RecurrentLayer.full_sequence_grad`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._checks import Array, ShapeError
from ..options import Option, at_least
from .base import Layer

RECURRENT_OPTIONS: dict[str, Option] = {
    "units": Option("int", check=at_least(1), doc="H, the size of the hidden state"),
    "return_sequences": Option("bool", False, doc="every step's h (N, T, H), else h_T (N, H)"),
}
BIAS_CONVENTION = Option(
    "str",
    choices=("keras", "torch"),
    doc="keras: one bias b (G*H,); torch: two, b (2, G*H) (b_ih, b_hh)",
)


def sigmoid(z: Array) -> Array:
    """``1 / (1 + exp(-z))``; exp overflows to inf for very negative z, giving exactly 0."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


class RecurrentLayer(Layer):
    """A recurrent layer over ``(N, T, D)`` with ``G`` gates of ``units`` each."""

    gates: ClassVar[int]  # G
    weight_names = ("W", "U")
    bias_names = ("b",)

    def build(self) -> tuple[int, ...]:
        if len(self.input_shape) != 2:
            raise ShapeError(
                f"{self.kind} layer needs a sequence input (timesteps, features), "
                f"got {self.input_shape}"
            )
        self.timesteps, self.n_in = self.input_shape
        self.units = int(self.options["units"])
        self.return_sequences = bool(self.options["return_sequences"])
        width = self.gates * self.units
        self.params["W"] = np.zeros((self.n_in, width), self.dtype)
        self.params["U"] = np.zeros((self.units, width), self.dtype)
        self.params["b"] = np.zeros(self.bias_shape(), self.dtype)
        self._cache: Any = None
        if self.return_sequences:
            return (self.timesteps, self.units)
        return (self.units,)

    def bias_shape(self) -> tuple[int, ...]:
        width = self.gates * self.units
        return (2, width) if self.options.get("convention") == "torch" else (width,)

    def fans(self, name: str) -> tuple[int, int]:
        width = self.gates * self.units
        return (self.n_in if name == "W" else self.units), width

    def input_bias(self) -> Array:
        """What is added to ``x_t @ W`` at every step: ``b``, or ``b[0] + b[1]`` (two biases:
        both enter every step's sum, so they can be added once, up front)."""
        b = self.params["b"]
        return b[0] + b[1] if b.ndim == 2 else b

    def bias_grad(self, dz_sum: Array) -> Array:
        """``dL/db`` from ``dz_sum``, the pre-activation gradient summed over batch and time:
        each bias row is added as it is, so each gets all of it."""
        b = self.params["b"]
        return np.stack([dz_sum, dz_sum]) if b.ndim == 2 else dz_sum

    def check_input(self, x: Array) -> None:
        if x.ndim != 3 or x.shape[1:] != self.input_shape:
            raise ShapeError(f"{self!r} got input of shape {x.shape}")

    def output(self, hs: Array) -> Array:
        """Every step's state ``hs (N, T, H)``, or only the last."""
        return hs if self.return_sequences else hs[:, -1]

    def full_sequence_grad(self, grad_out: Array) -> Array:
        """``dL/dh_t`` from outside the layer at every step ``(N, T, H)``: ``grad_out`` itself
        with ``return_sequences``, else zeros but at the last step."""
        if self.return_sequences:
            return grad_out
        g = np.zeros((len(grad_out), self.timesteps, self.units), grad_out.dtype)
        g[:, -1] = grad_out
        return g
