"""A sequential stack of layers with a loss: forward, backward, parameters by name.

Parameters are named ``"<layer index>.<name>"`` (``"0.W"``, ``"0.b"``, ``"1.W"``...).  The
same names key gradients, optimizer state, parity reports and errors.  Any layer kind of
:mod:`reference_nn.layers` can stand in the stack: they share one interface.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import (
    Array,
    DTypeError,
    ShapeError,
    check_array,
    check_indices,
    check_same_shape,
)
from .initializers import get_initializer
from .layers import Layer
from .losses import Loss, get_loss
from .regularizers import L2


class Sequential:
    """Layers applied in order, a loss on the output and an optional L2 penalty."""

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: str | Loss = "mse",
        *,
        regularizer: L2 | None = None,
    ) -> None:
        if not layers:
            raise ValueError("a network needs at least one layer")
        for i, (before, after) in enumerate(itertools.pairwise(layers)):
            if before.output_shape != after.input_shape:
                raise ShapeError(
                    f"layer {i} gives outputs of shape {before.output_shape} but layer {i + 1} "
                    f"expects {after.input_shape}"
                )
        for i, layer in enumerate(layers[1:], start=1):
            if getattr(layer, "integer_input", False):
                raise ShapeError(
                    f"layer {i} ({layer.kind}) takes integer indices, so it must be the first "
                    "layer; move it to the front"
                )
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) != 1:
            raise DTypeError(f"all layers must share one dtype, got {sorted(map(str, dtypes))}")
        self.layers = list(layers)
        self.loss = get_loss(loss)
        self._logits_layer = _logits_layer(self.layers[-1], self.loss)
        self.regularizer = regularizer
        self.dtype: np.dtype[Any] = layers[0].dtype
        self._output: Array | None = None
        self._slot_cache: list[tuple[str, Layer, str]] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample (without the batch axis)."""
        return self.layers[0].input_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].output_shape

    # ------------------------------------------------------------------ parameters
    @property
    def _slots(self) -> list[tuple[str, Layer, str]]:
        """(name, layer, key) for every parameter, in order; built once (names are per step
        work otherwise, and ``fit`` asks for them at every step)."""
        if self._slot_cache is None:
            self._slot_cache = [
                (f"{i}.{k}", layer, k) for i, layer in enumerate(self.layers) for k in layer.params
            ]
        return self._slot_cache

    @property
    def parameters(self) -> dict[str, Array]:
        """Live parameter arrays by name (optimizers update these in place)."""
        return {name: layer.params[key] for name, layer, key in self._slots}

    def get_parameters(self) -> dict[str, Array]:
        """A copy of every parameter, by name."""
        return {name: value.copy() for name, value in self.parameters.items()}

    def set_parameters(self, values: Mapping[str, Any]) -> None:
        """Set every parameter; names, shapes and dtypes must match exactly."""
        _assign(self.parameters, values, "parameter", self.dtype)

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> dict[str, Array]:
        """Live non-trainable state by name (``"1.running_mean"``): what a layer keeps in its
        ``state`` dict (batch norm's running statistics).  Never among the parameters, so no
        optimizer and no gradient check touches it."""
        return {
            f"{i}.{k}": v
            for i, layer in enumerate(self.layers)
            for k, v in getattr(layer, "state", {}).items()
        }

    def get_state(self) -> dict[str, Array]:
        """A copy of the non-trainable state, by name (empty for most networks)."""
        return {name: value.copy() for name, value in self.state.items()}

    def set_state(self, values: Mapping[str, Any]) -> None:
        """Set every state array; names, shapes and dtypes must match exactly."""
        _assign(self.state, values, "state", self.dtype)

    def weight_names(self) -> list[str]:
        """Parameters that count as weights (drawn by ``weight_init``, penalised by L2)."""
        return [f"{i}.{k}" for i, layer in enumerate(self.layers) for k in layer.weight_names]

    def initialize(
        self,
        rng: np.random.Generator,
        weight_init: str = "glorot_uniform",
        bias_init: str = "zeros",
    ) -> None:
        """Draw every parameter from ``rng``, layer by layer, weights before biases."""
        w_init, b_init = get_initializer(weight_init), get_initializer(bias_init)
        for layer in self.layers:
            layer.initialize(rng, w_init, b_init)

    # ------------------------------------------------------------------ passes
    def _check_inputs(self, X: Any) -> Array:
        first = self.layers[0]
        if getattr(first, "integer_input", False):  # an embedding: integer indices
            X = check_indices(X, "X", first, ndim=1 + len(self.input_shape))
            if X.shape[1:] != self.input_shape or len(X) == 0:
                raise ShapeError(
                    f"X has shape {X.shape} but the network expects (N >= 1, *{self.input_shape})"
                )
            return X
        X = check_array(X, "X", self.dtype, ndim=1 + len(self.input_shape))
        if X.shape[1:] != self.input_shape:
            if len(self.input_shape) == 1:
                raise ShapeError(
                    f"X has {X.shape[1]} features but the network expects {self.input_shape[0]}"
                )
            raise ShapeError(
                f"X has samples of shape {X.shape[1:]} but the network expects {self.input_shape}"
            )
        if len(X) == 0:
            raise ShapeError("X has 0 rows: a batch needs at least one sample")
        return X

    def forward(self, X: Any, *, training: bool = True) -> Array:
        """The network's output for inputs ``X`` of shape ``(N, *input_shape)``.

        ``training`` matters only to layers that behave differently in training (dropout,
        batch normalisation); the loss and gradients are always computed in training mode.
        """
        return self._forward(self._check_inputs(X), training)

    def _forward(self, X: Array, training: bool = True) -> Array:
        """``forward`` for inputs already checked (``fit`` checks its data once, not per step)."""
        a = X
        for layer in self.layers:
            a = layer.forward(a, training)
        self._output = a
        return a

    @property
    def last_output(self) -> Array:
        """The output of the last ``forward`` (what ``backward`` differentiates)."""
        if self._output is None:
            raise RuntimeError("no forward pass yet")
        return self._output

    def predict(self, X: Any) -> Array:
        """The output in inference mode."""
        return self.forward(X, training=False)

    def _weights(self) -> dict[str, Array]:
        params = self.parameters
        return {name: params[name] for name in self.weight_names()}

    def _penalty(self, batch_size: int) -> float:
        if self.regularizer is None:
            return 0.0
        return self.regularizer.penalty(self._weights(), batch_size)

    def loss_value(self, X: Any, y: Any) -> np.floating[Any]:
        """Loss (plus L2 penalty, if any) of the predictions for ``X`` against ``y``."""
        output = self.forward(X)
        return self._loss_value(output, self._check_targets(y, output))

    def _loss_value(self, output: Array, y: Array) -> np.floating[Any]:
        return self.dtype.type(self.loss.value(self._loss_input(output), y) + self._penalty(len(y)))

    def _loss_input(self, output: Array) -> Array:
        """What the loss reads: the output, or for a loss on logits (``Loss.logits_of``) the
        output layer's pre-activation from the same forward pass."""
        if self._logits_layer is None:
            return output
        return self._logits_layer.pre_activation

    def _check_targets(self, y: Any, output: Array) -> Array:
        y = check_array(y, "y", self.dtype)
        check_same_shape(output, y)
        return y

    def backward(self, y: Any) -> dict[str, Array]:
        """Gradients of the loss of the last ``forward`` w.r.t. every parameter, by name.

        Starts from ``dL/d(output)`` given by the loss and hands ``dL/d(input)`` from each
        layer to the one before it (see :class:`~reference_nn.layers.Dense`).
        """
        if self._output is None:
            raise RuntimeError("backward() called before forward()")
        return self._backward(self._check_targets(y, self._output))

    def _backward(self, y: Array) -> dict[str, Array]:
        """``backward`` for targets already checked against the last output."""
        assert self._output is not None
        return self._backward_from(self.loss.gradient(self._loss_input(self._output), y), len(y))

    def _backward_from(self, grad: Array, batch_size: int) -> dict[str, Array]:
        """The layers' backward passes from ``grad``, the loss's gradient (``dL/d(output)``,
        or ``dL/dz`` of the output layer for a loss on logits); the penalty's gradient."""
        layers = self.layers
        if self._logits_layer is not None:
            grad = self._logits_layer.backward_from_pre_activation(grad)
            layers = layers[:-1]
        for layer in reversed(layers):
            grad = layer.backward(grad)
        grads = {name: layer.grads[key] for name, layer, key in self._slots}
        if self.regularizer is not None:
            for name, g in self.regularizer.gradients(self._weights(), batch_size).items():
                grads[name] = grads[name] + g
        return grads

    def loss_and_gradients(self, X: Any, y: Any) -> tuple[np.floating[Any], dict[str, Array]]:
        """One forward and one backward pass: ``(loss, {name: dL/dparam})``."""
        loss = self.loss_value(X, y)
        return loss, self.backward(y)

    def _loss_and_gradients(self, X: Array, y: Array) -> tuple[np.floating[Any], dict[str, Array]]:
        """``loss_and_gradients`` for data already checked: ``fit`` validates ``X`` and ``y``
        once, then takes this path for every step (the same arithmetic, no checks)."""
        output = self._loss_input(self._forward(X))
        loss = self.loss
        loss._check_values(output, y)  # shapes were checked once; values change every step
        value = self.dtype.type(loss._value(output, y) + self._penalty(len(y)))
        return value, self._backward_from(loss._gradient(output, y), len(y))

    def __repr__(self) -> str:
        inner = ",\n  ".join(map(repr, self.layers))
        reg = f", regularizer={self.regularizer!r}" if self.regularizer else ""
        return f"Sequential([\n  {inner}\n], loss={self.loss!r}{reg})"


def _logits_layer(last: Layer, loss: Loss) -> Any:
    """The output layer whose pre-activation ``loss`` reads (a loss on logits), else None."""
    if loss.logits_of is None:
        return None
    activation = getattr(getattr(last, "activation", None), "name", None)
    if activation != loss.logits_of or not hasattr(last, "backward_from_pre_activation"):
        raise ValueError(
            f"{loss!r} reads the logits behind a {loss.logits_of} output layer, but the last "
            f"layer is {last!r}: end the network with a dense layer with activation "
            f"{loss.logits_of!r}"
        )
    return last


def _assign(current: dict[str, Array], values: Mapping[str, Any], what: str, dtype: Any) -> None:
    """Copy ``values`` into the live arrays ``current`` (``what``: "parameter" or "state"):
    every name, shape and dtype is checked before any array is written."""
    missing, unknown = set(current) - set(values), set(values) - set(current)
    if missing or unknown:
        raise KeyError(
            f"{what} names do not match: missing {sorted(missing)}, unknown "
            f"{sorted(unknown)}; expected {list(current)}"
        )
    checked = {}
    for name, target in current.items():
        value = check_array(values[name], f"{what} {name}", dtype)
        if value.shape != target.shape:
            raise ShapeError(f"{what} {name} needs shape {target.shape}, got {value.shape}")
        checked[name] = value
    for name, value in checked.items():
        current[name][...] = value
