"""The Keras model's compiled work: its training loop, and the traced gradient that models of
one structure share.

``train`` runs its steps in one ``tf.function``: ``loop="xla"`` (``jit_compile=True``),
``"graph"`` (a plain TF graph: bit-identical to eager Keras) or ``"eager"`` (a Python loop).
On JAX the compiled loop is one ``lax.scan`` of ``jax.grad`` and the optimizer's
``stateless_apply``.  With no ``loop`` named, a run of ``COMPILE_FROM_STEPS`` steps or more is
one compiled loop and a shorter one steps eagerly, as the torch and JAX adapters do: compiling
a loop costs more than a short run's eager steps.  A named loop is always the one that runs;
``tests/parity/test_parity_matrix.py`` runs the XLA loop on every activation, loss and
optimizer formulation, and the baseline records it.

Stepping eagerly, a dense network's gradient is one traced function of the variables' values
(the model in a ``keras.StatelessScope``), shared by every model of its structure
(:mod:`parity_tests.frameworks.common.shared_compiled`): ``tf.function`` on TensorFlow,
``jax.jit`` on JAX (with the optimizer's ``stateless_apply``; TensorFlow's Keras has none, so
its optimizer applies the gradients eagerly).  Other networks (running statistics, dropout
seeds: variables the mapping does not cover) keep the tape over their own variables, and so
does a model with a loop named (``loop="xla"``, what the baseline records): the traced
gradient agrees with the tape within the tolerances, not bit for bit (TensorFlow's graph
optimizer fuses some ops; sharing it with the named-loop models moves 111 of the baseline's
1,816 tensors by 1-16 ulp).

The batches arrive gathered, ``(steps, batch, ...)``, and the loop slices step ``k`` with
``tf.slice`` at the loop counter: reading row indices from an index tensor would make XLA
recompile for every new index array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from parity_tests.frameworks.common.shared_compiled import SharedCompiled, spec_less_optimizer
from parity_tests.frameworks.keras.backends import BACKEND_LAYERS
from parity_tests.frameworks.keras.layers import LAYERS
from parity_tests.harness.protocol import Array, Batches, Model, Resolved

# With no loop named, runs shorter than this step eagerly (on JAX, through one compiled
# step); longer ones are one compiled loop (XLA; on JAX one lax.scan)
COMPILE_FROM_STEPS = 200

# the eager steps' gradient (and on JAX the update), compiled once per structure; the key
# holds every object of the modules the computation reads (a planted change compiles anew)
_SHARED = SharedCompiled(
    tuple(
        f"parity_tests.frameworks.keras.{module}"
        for module in ("model", "compiled", "losses", "backends", "layers")
    ),
    lambda: [*LAYERS.values(), *BACKEND_LAYERS.values()],
)


class CompiledSteps(Model):
    """The compiled loop and the shared traced gradient of :class:`.model.KerasModel`, which
    sets the attributes below and implements the passes they call."""

    backend: str
    keras: Any
    tf: Any
    ops: Any
    resolved: Resolved
    loop: str
    short_runs_eager: bool
    shared_gradient: bool
    python_float_constants: bool
    optimizer: Any
    model: Any
    variables: list[Any]
    _compiled: Any
    _compiled_by_what: dict[str, Any]

    def output_and_loss(self, X: Any, y: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def loss_and_grads(self, X: Any, y: Any) -> tuple[Any, Any, list[Any]]:
        raise NotImplementedError

    def _jax_value_and_grad(self, values: list[Any], X: Any, y: Any) -> Any:
        raise NotImplementedError

    def _tensor(self, a: Array) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared gradient
    def _shared(self, what: str) -> Any:
        """The process's compiled ``what`` for this model's structure, looked up once per
        model.  ``"gradient"``: TensorFlow, a ``tf.function`` of :meth:`_stateless_gradient`;
        ``"jax gradient"`` and ``"jax update"``: JAX, ``jax.jit`` of the value and gradient
        and of the optimizer's ``stateless_apply``.  The gradient computes from the spec less
        its optimizer and whether constants went through Python floats; the update from the
        optimizer and its options, and the variables' shapes (a Keras optimizer is built for
        its variables and maps them by position)."""
        compiled = self._compiled_by_what.get(what)
        if compiled is None:
            structure, make = self._recipe(what)
            compiled = self._compiled_by_what[what] = _SHARED.get(what, structure, make)
        return compiled

    def _recipe(self, what: str) -> tuple[tuple[Any, ...], Callable[[], Any]]:
        """``what``'s structure key and how to compile it (see :meth:`_shared`)."""
        spec = self.resolved.spec
        gradient = (*spec_less_optimizer(spec), self.python_float_constants)
        if what == "gradient":
            return gradient, lambda: self.tf.function(self._stateless_gradient, autograph=False)
        import jax

        if what == "jax gradient":
            return gradient, lambda: jax.jit(self._jax_value_and_grad)
        variables = tuple((tuple(v.shape), str(v.dtype)) for v in self.variables)
        options = repr(dict(self.resolved.optimizer_options))
        update = (spec.optimizer, options, self.python_float_constants, variables)
        return update, lambda: jax.jit(self.optimizer.stateless_apply)

    def _stateless_gradient(self, values: list[Any], X: Any, y: Any) -> tuple[Any, Any, Any]:
        with self.tf.GradientTape() as tape:
            tape.watch(values)
            mapping = list(zip(self.variables, values, strict=True))
            with self.keras.StatelessScope(state_mapping=mapping):
                out, loss = self.output_and_loss(X, y)
        return out, loss, tape.gradient(loss, values)

    def _eager_gradient(self, X: Any, y: Any) -> tuple[Any, Any, list[Any]]:
        """:meth:`loss_and_grads`, or on TensorFlow, for a dense network stepping eagerly, one
        ``tf.function`` of the variables' values (the model in a ``keras.StatelessScope``
        that maps its variables to them, gradients by ``tf.GradientTape``), traced once per
        process for its structure (:meth:`_shared`) and shared by every model of it: a
        matrix case's eager tape passes cost more than the trace they share.  The optimizer
        still applies the gradients eagerly to this model's variables: TensorFlow's Keras has
        no ``stateless_apply``.  On JAX the sharing is in ``KerasModel._jax_one``."""
        if self.shared_gradient and self.backend == "tensorflow":
            return self._shared("gradient")([v.value for v in self.variables], X, y)
        return self.loss_and_grads(X, y)

    # ------------------------------------------------------------------ compiled loop
    def _steps(self, Xb: Any, Yb: Any) -> Any:
        """TensorFlow: one optimizer step per leading index of ``Xb``; the loss before each."""
        tf = self.tf
        n = tf.shape(Xb)[0]
        x_size = [1, *Xb.shape[1:]]
        y_size = [1, *Yb.shape[1:]]
        x_zeros = [0] * (len(Xb.shape) - 1)
        y_zeros = [0] * (len(Yb.shape) - 1)
        losses = tf.TensorArray(Yb.dtype, size=n)  # Xb may hold integer indices
        for k in tf.range(n):
            x = tf.squeeze(tf.slice(Xb, [k, *x_zeros], x_size), 0)
            t = tf.squeeze(tf.slice(Yb, [k, *y_zeros], y_size), 0)
            _, loss, grads = self.loss_and_grads(x, t)
            self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
            losses = losses.write(k, loss)
        return losses.stack()

    def _jax_scan(self, values: list[Any], opt_values: list[Any], Xb: Any, Yb: Any) -> Any:
        """JAX: the steps as one ``lax.scan`` of ``jax.grad`` and ``optimizer.stateless_apply``."""
        import jax

        def step(carry: Any, batch: Any) -> Any:
            values, opt_values = carry
            (loss, _), grads = self._jax_value_and_grad(values, *batch)
            values, opt_values = self.optimizer.stateless_apply(opt_values, grads, values)
            return (values, opt_values), loss

        (values, opt_values), losses = jax.lax.scan(step, (values, opt_values), (Xb, Yb))
        return values, opt_values, losses

    def _compile(self) -> Any:
        # The optimizer's own variables (iterations, learning rate, moments) must exist
        # before tracing: a tf.function may create variables only on its first trace,
        # and XLA and jax.jit not at all.
        self.optimizer.build(self.variables)
        if self.backend == "jax":
            import jax

            return jax.jit(self._jax_scan)
        return self.tf.function(self._steps, jit_compile=self.loop == "xla")

    def _steps_eagerly(self, batches: Batches) -> bool:
        """Whether ``train`` steps one by one instead of compiling its loop: the eager loop
        (also chosen when a layer draws host data per call, such as dropout masks), nothing to
        run, or too few steps to pay for compiling (see ``COMPILE_FROM_STEPS``; on JAX, every
        run this short, whatever the loop)."""
        short = len(batches) < COMPILE_FROM_STEPS and (
            self.backend == "jax" or self.short_runs_eager
        )
        return self.loop == "eager" or len(batches) == 0 or short

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        if self._steps_eagerly(batches):
            return super().train(X, y, batches)
        if self._compiled is None:
            self._compiled = self._compile()
        Xb, Yb = self._tensor(X[batches]), self._tensor(y[batches])
        if self.backend == "jax":
            values, opt_values, losses = self._compiled(
                [v.value for v in self.variables],
                [v.value for v in self.optimizer.variables],
                Xb,
                Yb,
            )
            self._assign(values, opt_values)
            return np.array(losses)
        return np.array(self._compiled(Xb, Yb).numpy())

    def _assign(self, values: list[Any], opt_values: list[Any]) -> None:
        for v, value in zip(self.variables, values, strict=True):
            v.assign(value)
        for v, value in zip(self.optimizer.variables, opt_values, strict=True):
            v.assign(value)

    def prepare(self, X: Array, y: Array, batches: Batches) -> None:
        """Compile by running the steps, then restore every variable (the model's and the
        optimizer's): XLA compiles on the first call, for these shapes."""
        if self._steps_eagerly(batches):
            return
        self.optimizer.build(self.variables)
        # non-trainable variables too: batch norm's moving statistics change in training
        every = [*self.variables, *self.optimizer.variables, *self.model.non_trainable_variables]
        saved = [self.ops.convert_to_numpy(v.value) for v in every]
        self.train(X, y, batches)
        for v, value in zip(every, saved, strict=True):
            v.assign(value)
