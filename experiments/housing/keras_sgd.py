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
        self.X_np, self.y_np = X, y
        self._epoch = tf.function(self._epoch_body, jit_compile=True)

    def _epoch_body(self, X, y):  # type: ignore[no-untyped-def]
        # X, y arrive already in this epoch's order, so row k is ``tf.slice`` at the loop
        # counter.  Reading the row index from an order tensor instead makes XLA bake the
        # order's values into the program (a recompile every epoch: 17 s instead of 1 s for
        # 100 epochs), and so do start/stop bounds passed as inputs.
        tf = self.tf
        n_in, n_out = X.shape[1], y.shape[1]
        for k in tf.range(tf.shape(X)[0]):
            x = tf.slice(X, [k, 0], [1, n_in])
            t = tf.slice(y, [k, 0], [1, n_out])
            with tf.GradientTape() as tape:
                loss = self.loss(t, self.output(self.hidden(x)))
            grads = tape.gradient(loss, self.variables)
            self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
        return tf.shape(X)[0]

    def compile(self, orders: np.ndarray) -> None:
        """Trace and XLA-compile by running one epoch, then restore the starting state (SGD
        has no other state than the variables and the step count), so that timing can
        separate compilation from training."""
        self._orders = np.asarray(orders)
        saved = [v.numpy() for v in self.variables]
        iterations = self.optimizer.iterations.numpy()
        self.epoch(0)
        for variable, value in zip(self.variables, saved, strict=True):
            variable.assign(value)
        self.optimizer.iterations.assign(iterations)

    def epoch(self, index: int) -> None:
        """Train epoch ``index`` of the orders given to ``compile``."""
        order = self._orders[index]
        self._epoch(self.X_np[order], self.y_np[order]).numpy()

    def parameters(self) -> Params:
        names = ("0.W", "0.b", "1.W", "1.b")
        return {n: np.array(v.numpy()) for n, v in zip(names, self.variables, strict=True)}
