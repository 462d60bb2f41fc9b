"""A spec built in Keras 3 on this process's backend: Keras layers (:mod:`.layers`, on some
backends :mod:`.backends`' replacements), Keras losses (:mod:`.losses`), ``keras.optimizers``
(:mod:`.optimizers`) and the backend's own gradient (``tf.GradientTape``, ``jax.grad`` of the
model inside a ``keras.StatelessScope``, torch autograd).  The compiled loop and the shared
traced gradient are :mod:`.compiled`; the per-layer trace :mod:`.trace`.

Layouts: ``Dense.kernel`` has the reference's ``(n_in, n_out)`` layout, so dense weights are
copied as they are; each layer kind's translation is one entry of ``LAYERS``.

Constants: Keras casts a Python float hyperparameter through float32 (momentum 0.9 becomes
0.8999999761581421; Adam's betas in the bias-correction powers; ``l2``).  By default this
model passes NumPy float64 scalars, which Keras keeps exact, so it computes what the spec
says.  ``python_float_constants=True`` reproduces what a user who writes plain floats gets;
``tests/parity/test_known_differences.py`` shows both.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import numpy as np

from parity_tests.frameworks.keras import optimizers
from parity_tests.frameworks.keras.backends import LOOPS, float64_activation, layer_table
from parity_tests.frameworks.keras.compiled import CompiledSteps
from parity_tests.frameworks.keras.losses import loss_function
from parity_tests.frameworks.keras.trace import trace
from parity_tests.harness import loaders
from parity_tests.harness.protocol import Array, Params, Resolved, Trace
from reference_nn import NetworkSpec
from reference_nn.regularizers import L2


class KerasModel(CompiledSteps):
    """The network, loss and optimizer of ``spec`` in Keras, starting from ``params``, on this
    process's Keras backend."""

    # a user's own model (Adapter.wrap): its objects per reference layer, else None
    groups: list[list[Any]] | None = None

    def __init__(
        self,
        spec: NetworkSpec | Resolved,
        params: Params,
        *,
        python_float_constants: bool = False,
        loop: str | None = None,
    ) -> None:
        self.backend = loaders.keras_backend()
        keras = loaders.keras(self.backend)
        loops = LOOPS[self.backend]
        self.short_runs_eager = loop is None  # see compiled.COMPILE_FROM_STEPS
        loop = loops[0] if loop is None else loop
        if loop not in loops:
            raise ValueError(
                f"unknown Keras loop {loop!r} on {self.backend}; valid: {', '.join(loops)}"
            )
        self.keras, self.ops = keras, keras.ops
        self.tf = loaders.tensorflow() if self.backend == "tensorflow" else None
        self.resolved = resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
        self.spec = spec = resolved.spec
        self.loop = loop
        exact = not python_float_constants
        reg = spec.regularizer
        self.penalty = L2(**reg) if reg else None
        with loaders.keras_floatx(spec.dtype):
            self.layers = []
            self.slots: list[tuple[str, Any, str]] = []  # (reference name, layer, attribute)
            self.state_slots: list[tuple[str, Any, str]] = []  # running statistics
            self.host_per_call = False  # a layer reads host data per call: no compiled loop
            for lay in resolved.layers:
                i, ref = lay.index, lay.layer
                regularizer = None
                if reg and reg["convention"] == "keras" and ref.weight_names:
                    regularizer = keras.regularizers.L2(reg["lam"])
                    if exact:  # the constructor applies float(); restore the exact value
                        regularizer.l2 = np.float64(reg["lam"])
                table = layer_table(self.backend, lay.kind)
                layer = table.build(keras, lay.options, regularizer, spec.dtype)
                float64_activation(keras, self.backend, layer, spec.dtype)
                self.layers.append(layer)
                self.slots += [(f"{i}.{n}", layer, table.names[n]) for n in ref.params]
                self.state_slots += [(f"{i}.{n}", layer, a) for n, a in table.state_names.items()]
                self.host_per_call = self.host_per_call or table.host_per_call
            first = resolved.layers[0].layer
            input_dtype = "int64" if getattr(first, "integer_input", False) else spec.dtype
            self.model = keras.Sequential(
                [keras.Input(spec.input_shape, dtype=input_dtype), *self.layers]
            )
            n_out = int(np.prod(spec.output_shape))
            self.loss_fn = loss_function(spec.loss, n_out, self.backend, spec.dtype)
            self.optimizer = optimizers.build(
                spec.optimizer, resolved.optimizer_options, exact=exact
            )
        self.weights = set(resolved.weight_names)  # what L2 covers
        self.set_parameters(params)
        self.variables = [v for _, v in self.named_variables()]
        self.state_variables = [getattr(layer, a) for _, layer, a in self.state_slots]
        if self.host_per_call and loop != "eager":
            self.loop = "eager"
        self.python_float_constants = python_float_constants
        # the traced gradient is shared only where the mapping covers every variable the
        # model has: dense networks (no running statistics, no dropout seeds); and only with
        # no loop named, as the eager short runs: a named loop runs as named, its
        # forward_backward by the tape (the baseline records that, bit for bit)
        self.shared_gradient = (
            self.short_runs_eager
            and self.backend in ("tensorflow", "jax")
            and all(lay.kind == "dense" for lay in spec.layers)
            and {id(v) for v in self.model.variables} == {id(v) for v in self.variables}
        )
        self._compiled = None
        self._compiled_by_what = {}  # this model's lookups in compiled._SHARED

    # ------------------------------------------------------------------ parameters
    def named_variables(self) -> list[tuple[str, Any]]:
        """(reference name, Keras variable) for every parameter, in layer order."""
        return [(name, attrgetter(attr)(layer)) for name, layer, attr in self.slots]

    def set_parameters(self, params: Params) -> None:
        for name, variable in self.named_variables():
            variable.assign(params[name])

    def parameters(self) -> Params:
        return {
            name: np.array(self.ops.convert_to_numpy(v.value)) for name, v in self.named_variables()
        }

    def _tensor(self, a: Array) -> Any:
        dtype = self.spec.dtype if a.dtype.kind == "f" else a.dtype.name  # indices stay ints
        return self.ops.convert_to_tensor(a, dtype=dtype)

    def state(self) -> Params:
        """Non-trainable variables (batch norm's moving statistics) by reference name."""
        out: Params = {}
        for i, (lay, layer) in enumerate(zip(self.spec.layers, self.layers, strict=True)):
            for name, attr in layer_table(self.backend, lay.kind).state_names.items():
                out[f"{i}.{name}"] = np.array(self.ops.convert_to_numpy(getattr(layer, attr).value))
        return out

    def predict(self, X: Array) -> Array:
        """The output in inference mode (``training=False``)."""
        return np.array(self.ops.convert_to_numpy(self.model(self._tensor(X), training=False)))

    # ------------------------------------------------------------------ passes
    def with_penalty(self, loss: Any, X: Any) -> Any:
        """``loss`` on the batch ``X`` plus the spec's L2 penalty: Keras's own regularizers'
        terms (``keras`` convention) or ``c * sum(W^2)`` written out (``course``)."""
        if self.penalty is None:
            return loss
        if self.penalty.convention == "keras":
            if self.tf is not None:
                return loss + self.tf.add_n(self.model.losses)
            for term in self.model.losses:
                loss = loss + term
            return loss
        c = self.penalty.coefficient(int(X.shape[0]))
        kernels = [v for name, v in self.named_variables() if name in self.weights]
        if self.tf is not None:
            return loss + sum(c * self.tf.reduce_sum(k**2) for k in kernels)
        for k in kernels:
            loss = loss + c * self.ops.sum(self.ops.square(k.value))
        return loss

    def output_and_loss(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Forward pass and loss (with the spec's L2 penalty): inside a GradientTape, under
        torch autograd, or in a ``keras.StatelessScope`` that maps the variables to values."""
        out = self.model(X, training=True)
        return out, self.with_penalty(self.loss_fn(y, out), X)

    def loss_and_grads(self, X: Any, y: Any) -> tuple[Any, Any, list[Any]]:
        """Output, loss and the gradients of ``self.variables``, by the backend's own means."""
        if self.backend == "tensorflow":
            with self.tf.GradientTape() as tape:
                out, loss = self.output_and_loss(X, y)
            return out, loss, tape.gradient(loss, self.variables)
        if self.backend == "torch":
            import torch

            out, loss = self.output_and_loss(X, y)
            grads = torch.autograd.grad(loss, [v.value for v in self.variables])
            return out.detach(), loss.detach(), list(grads)
        out, loss, grads, _, _ = self._jax_one(X, y)
        return out[0], loss, grads

    def _jax_one(self, X: Any, y: Any) -> tuple[Any, ...]:
        """JAX: output, loss, gradients and the values after one ``stateless_apply``.  A dense
        network calls the process's ``jax.jit`` of each, shared by every model of its
        structure (``_shared``); another network runs them op by op (as the JAX adapter:
        compiling each short run costs more than it saves)."""
        if not self.optimizer.built:
            self.optimizer.build(self.variables)
        values = [v.value for v in self.variables]
        opt_values = [v.value for v in self.optimizer.variables]
        if self.shared_gradient:
            vag, apply = self._shared("jax gradient"), self._shared("jax update")
        else:
            vag, apply = self._jax_value_and_grad, self.optimizer.stateless_apply
        (loss, out), grads = vag(values, X, y)
        new, new_opt = apply(opt_values, grads, values)
        return out, loss, grads, new, new_opt

    def _jax_objective(self, values: list[Any], X: Any, y: Any) -> tuple[Any, Any]:
        """The loss of the model with its variables mapped to ``values``; the output and the
        running statistics the call assigned (recorded by the scope, not applied) as aux."""
        mapping = list(zip(self.variables, values, strict=True))
        mapping += [(v, v.value) for v in self.state_variables]
        with self.keras.StatelessScope(state_mapping=mapping) as scope:
            out, loss = self.output_and_loss(X, y)
            new_state = [scope.get_current_value(v) for v in self.state_variables]
        return loss, (out, new_state)

    def _jax_value_and_grad(self, values: list[Any], X: Any, y: Any) -> Any:
        import jax

        return jax.value_and_grad(self._jax_objective, has_aux=True)(values, X, y)

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        out, loss, grads = self._eager_gradient(self._tensor(X), self._tensor(y))
        names = [n for n, _ in self.named_variables()]
        numpy = self.ops.convert_to_numpy
        if self.tf is not None:  # an embedding's gradient is sparse (IndexedSlices): densify
            grads = [self.tf.convert_to_tensor(g) for g in grads]
        return (
            np.array(numpy(out)),
            np.asarray(numpy(loss)),
            {n: np.array(numpy(g)) for n, g in zip(names, grads, strict=True)},
        )

    def step(self, X: Array, y: Array) -> float:
        if self.backend == "jax":
            (_, state), loss, _, values, opt_values = self._jax_one(
                self._tensor(X), self._tensor(y)
            )
            self._assign(values, opt_values)
            for v, value in zip(self.state_variables, state, strict=True):
                v.assign(value)
            return float(loss)
        _, loss, grads = self._eager_gradient(self._tensor(X), self._tensor(y))
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
        return float(self.ops.convert_to_numpy(loss))

    def trace(self, X: Array, y: Array) -> Trace | None:
        """Layer by layer through a ``tf.GradientTape`` (:mod:`.trace`); None on the other
        backends."""
        return trace(self, X, y)
