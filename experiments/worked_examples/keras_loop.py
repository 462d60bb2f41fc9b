"""Keras full-batch gradient descent as one compiled loop.

Eager Keras (``GradientTape`` + ``apply_gradients`` from Python) costs milliseconds a step:
50,001 steps would take minutes.  Here the whole run is one ``tf.function``: a
``for i in tf.range(n)`` loop (AutoGraph turns it into a ``tf.while_loop``) whose body runs the
parity mirror's Keras model and loss under a ``GradientTape`` and calls the mirror's
``keras.optimizers.SGD.apply_gradients``.  Keras' own layers, autograd and optimizer, compiled,
not re-implemented.

``loop="xla"`` compiles with ``jit_compile=True``: XLA fuses the elementwise work, which moves
some results by an ULP or so (measured against eager in the tests: within the one-step
tolerance).  ``loop="graph"`` runs the same loop as a plain TF graph and reproduces eager Keras
bit for bit.  ``loop="eager"`` is the Python loop, for checking the other two.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .example import Array, Params, WorkedExample

LOOPS = ("xla", "graph", "eager")


class KerasLoop:
    """A :class:`~parity_tests.keras_mirror.KerasMirror` of ``example`` and a compiled
    ``train(n)`` that takes ``n`` full-batch steps and returns the ``n`` losses seen."""

    def __init__(self, example: WorkedExample, loop: str = "xla") -> None:
        from parity_tests import frameworks
        from parity_tests.keras_mirror import KerasMirror

        if loop not in LOOPS:
            raise ValueError(f"unknown Keras loop {loop!r}; valid: {', '.join(LOOPS)}")
        self.tf = tf = frameworks.tensorflow()
        self.mirror = KerasMirror(example.spec, example.params)
        self.variables = [v for _, v in self.mirror.named_variables()]
        # Create the optimizer's own variables (iteration count, learning rate) now: a
        # tf.function may not create variables on any trace but the first, and XLA not at all.
        self.mirror.optimizer.build(self.variables)
        self.X, self.y = tf.constant(example.X), tf.constant(example.y)
        self.loop = loop
        if loop == "eager":
            self._train = self._train_body
        else:
            self._train = tf.function(self._train_body, jit_compile=loop == "xla")

    def _loss_and_grads(self) -> tuple[Any, Any, list[Any]]:
        return self.mirror._loss_and_grads(self.X, self.y)

    def _train_body(self, n: Any) -> Any:
        tf = self.tf
        losses = tf.TensorArray(self.X.dtype, size=n)
        for i in tf.range(n):
            _, loss, grads = self._loss_and_grads()
            self.mirror.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
            losses = losses.write(i, loss)
        return losses.stack()

    def train(self, n: int) -> Array:
        """Take ``n`` steps; return the loss before each of them."""
        n_t = self.tf.constant(n, self.tf.int32)  # a tensor: one trace for every n
        return np.array(self._train(n_t).numpy())

    def gradients(self) -> Params:
        """Gradients at the current parameters (eager), by reference name."""
        _, _, grads = self._loss_and_grads()
        names = [name for name, _ in self.mirror.named_variables()]
        return {name: np.array(g.numpy()) for name, g in zip(names, grads, strict=True)}

    def evaluate(self) -> tuple[Array, float]:
        """Output and loss at the current parameters (eager)."""
        out, loss = self.mirror.output_and_loss(self.X, self.y)
        return np.array(out.numpy()), float(loss.numpy())

    def parameters(self) -> Params:
        return self.mirror.parameters()
