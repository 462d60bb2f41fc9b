"""Keras: the housing network trained per sample, one compiled call per epoch.

Eager Keras costs ~1 ms a step (670,000 steps: 11 minutes).  The epoch is therefore one
``tf.function(jit_compile=True)``: an XLA while-loop over ``tf.range`` whose body slices one
row with ``tf.slice``, runs Keras' ``Dense`` layers and ``MeanSquaredError`` under a
``GradientTape`` and calls ``optimizer.apply_gradients`` of ``keras.optimizers.SGD``: the
framework's own autograd and optimizer, compiled, not re-implemented.
"""

from __future__ import annotations

import numpy as np

from parity_tests import frameworks

Params = dict[str, np.ndarray]


class HousingKerasSGD:
    def __init__(self, initial: Params, X: np.ndarray, y: np.ndarray, lr: float) -> None:
        keras, tf = frameworks.keras(), frameworks.tensorflow()
        self.tf = tf
        dtype = str(X.dtype)
        # floatx before building layers *and* the optimizer: its learning-rate variable takes
        # floatx at construction (float32 would turn 0.05 into 0.05000000074505806).
        with frameworks.keras_floatx(dtype):
            self.hidden = keras.layers.Dense(initial["0.W"].shape[1], "sigmoid", dtype=dtype)
            self.output = keras.layers.Dense(1, "sigmoid", dtype=dtype)
            self.hidden.build((None, X.shape[1]))
            self.output.build((None, initial["0.W"].shape[1]))
            self.optimizer = keras.optimizers.SGD(learning_rate=lr)
            self.loss = keras.losses.MeanSquaredError(dtype=dtype)
        self.variables = [
            self.hidden.kernel,
            self.hidden.bias,
            self.output.kernel,
            self.output.bias,
        ]
        for variable, name in zip(self.variables, ("0.W", "0.b", "1.W", "1.b"), strict=True):
            variable.assign(initial[name])
        self.optimizer.build(self.variables)  # no variable creation inside the XLA loop
        self.X, self.y = tf.constant(X), tf.constant(y)
        self._epoch = tf.function(self._epoch_body, jit_compile=True)

    def _epoch_body(self, orders, start, stop):  # type: ignore[no-untyped-def]
        # ``orders`` is every epoch's order, concatenated, and start/stop pick one epoch:
        # the same shapes on every call, so XLA compiles once (a new shape would retrace).
        tf = self.tf
        n_in, n_out = self.X.shape[1], self.y.shape[1]
        for k in tf.range(start, stop):
            i = tf.cast(orders[k], tf.int32)
            x = tf.slice(self.X, [i, 0], [1, n_in])
            t = tf.slice(self.y, [i, 0], [1, n_out])
            with tf.GradientTape() as tape:
                loss = self.loss(t, self.output(self.hidden(x)))
            grads = tape.gradient(loss, self.variables)
            self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
        return stop

    def compile(self, orders: np.ndarray) -> None:
        """Trace and compile with an empty range, so timing can separate it from training."""
        self._orders = self.tf.constant(np.ascontiguousarray(orders, np.int64).reshape(-1))
        self._n = orders.shape[1]
        zero = self.tf.constant(0, self.tf.int64)
        self._epoch(self._orders, zero, zero).numpy()

    def epoch(self, index: int) -> None:
        """Train epoch ``index`` of the orders given to ``compile``."""
        tf = self.tf
        start = tf.constant(index * self._n, tf.int64)
        self._epoch(self._orders, start, start + self._n).numpy()

    def parameters(self) -> Params:
        names = ("0.W", "0.b", "1.W", "1.b")
        return {n: np.array(v.numpy()) for n, v in zip(names, self.variables, strict=True)}
