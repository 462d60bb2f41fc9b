"""The Keras 3 adapter, one for every backend: a spec rebuilt with Keras layers, Keras losses,
``keras.optimizers`` and the backend's own gradient (``tf.GradientTape``, ``jax.grad`` of the
model inside a ``keras.StatelessScope``, torch autograd).  It is registered three times:
``keras`` (TensorFlow), ``keras-jax`` and ``keras-torch``.  Keras reads ``KERAS_BACKEND`` once,
at import, so each runs only in a process with that backend (``tox -e full`` / ``keras-jax``
/ ``keras-torch``); elsewhere ``load`` raises ``loaders.OtherBackendProcess`` and the
parity tests skip it.

Precision on the JAX and torch backends (Keras 3.15): ``keras.backend.result_type`` maps
float64 to float32 on every backend but TensorFlow (``BIT64_TO_BIT32_DTYPE`` in
``keras/src/backend/common/dtypes.py``), so every op that resolves its dtype through it
computes in float32 for float64 inputs.  Measured (``tests/parity/test_backends.py``):

* torch: ``ops.matmul`` / ``dot`` / ``tensordot`` (so ``Dense``), ``ops.mean`` (so every
  ``keras.losses`` class), ``ops.maximum``;
* jax: ``ops.tanh`` (so ``keras.activations.tanh``), ``ops.mean`` (so every loss class).

What this adapter does about it, where Keras allows: the loss is Keras's elementwise op
(``ops.binary_crossentropy``, ``ops.categorical_crossentropy``, ``ops.square``) reduced with
``ops.sum`` and divided by the count with the backend's own ``/`` (the loss classes on
TensorFlow, where they are exact); a dense layer on torch is ``keras.layers.EinsumDense``
(``ops.einsum`` keeps float64) with the same kernel and bias; ``tanh`` on JAX in a float64
spec is ``x - ops.tanh_shrink(x)`` (``FLOAT64_ACTIVATIONS``: ``tanh_shrink`` keeps float64,
``ops.tanh``'s output is even *typed* float32).  ``tests/parity/test_backends.py`` shows each
drop and each replacement.

Layouts: ``Dense.kernel`` has the reference's ``(n_in, n_out)`` layout, so dense weights are
copied as they are; each layer kind's translation is one entry of ``LAYERS`` in
:mod:`.keras_layers`.

Constants: Keras casts a Python float hyperparameter through float32 (momentum 0.9 becomes
0.8999999761581421; Adam's betas in the bias-correction powers; ``l2``).  By default this
adapter passes NumPy float64 scalars, which Keras keeps exact, so it computes what the spec
says.  ``python_float_constants=True`` reproduces what a user who writes plain floats gets;
``tests/parity/test_known_differences.py`` shows both.

``train`` runs its steps in one ``tf.function``: ``loop="xla"`` (``jit_compile=True``),
``"graph"`` (a plain TF graph: bit-identical to eager Keras) or ``"eager"`` (a Python loop;
~1 ms a step).  With no ``loop`` named, a run of ``COMPILE_FROM_STEPS`` steps or more is one
XLA loop and a shorter one steps eagerly, as the torch and JAX adapters do: the parity
matrix's 20-step case traced and XLA-compiled its loop twice (for step 1, then steps 2-20),
~1 s a case against ~0.25 s for its 21 eager passes (measured 2026-12-02, quiet machine).  A
named loop is always the one that runs; ``tests/parity/test_parity_matrix.py`` runs the XLA
loop on every activation, loss and optimizer formulation, and the baseline records it.

Stepping eagerly, a dense network's gradient is one traced function of the variables'
values (the model in a ``keras.StatelessScope``), shared by every model of its structure
(:mod:`.shared_compiled`): ``tf.function`` on TensorFlow, ``jax.jit`` on JAX (with the
optimizer's ``stateless_apply``; TensorFlow's Keras has none, so its optimizer applies the
gradients eagerly).  The matrix's Keras case went from 0.22-0.29 s to 0.14 s on TensorFlow
and from 0.8 s to 0.36 s on JAX (measured 2026-12-02).  Other networks (running statistics,
dropout seeds: variables the mapping does not cover) keep the tape over their own variables,
and so does a model with a loop named (``loop="xla"``, what the baseline records): the traced
gradient agrees with the tape within the tolerances, not bit for bit (TensorFlow's graph
optimizer fuses some ops; 111 of the baseline's 1,816 tensors moved by 1-16 ulp when the
named-loop models shared it).

The batches arrive gathered, ``(steps, batch, ...)``, and the loop slices step ``k`` with
``tf.slice`` at the loop counter: reading row indices from an index tensor made XLA recompile
for every new index array.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np

from parity_tests.frameworks.common.shared_compiled import SharedCompiled, spec_less_optimizer
from parity_tests.frameworks.keras.layers import LAYERS, KerasLayer
from parity_tests.harness import loaders
from parity_tests.harness.protocol import Adapter, Array, Batches, Model, NotMirrored, Params
from reference_nn import NetworkSpec

# With no loop named, runs shorter than this step eagerly (on JAX, through one compiled
# step); longer ones are one compiled loop (XLA; on JAX one lax.scan)
COMPILE_FROM_STEPS = 200

# the training loops each backend has; the first is the default
LOOPS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("xla", "graph", "eager"),
    "jax": ("xla", "eager"),
    "torch": ("eager",),
}


def _einsum_dense(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    """A dense layer as ``EinsumDense("ab,bc->ac")``: the same kernel ``(n_in, n_out)`` and bias,
    computed with ``ops.einsum``, which keeps float64 on the torch backend (``ops.matmul``,
    what ``Dense`` calls, casts float64 to float32 there)."""
    from parity_tests.frameworks.keras.layers import _activation

    return keras.layers.EinsumDense(
        "ab,bc->ac",
        output_shape=(options["units"],),
        activation=_activation(options["activation"], options["activation_options"]),
        bias_axes="c" if options["use_bias"] else None,
        kernel_regularizer=regularizer,
        dtype=dtype,
    )


# (backend, layer kind) -> a translation used instead of LAYERS[kind] on that backend
BACKEND_LAYERS: dict[tuple[str, str], KerasLayer] = {
    ("torch", "dense"): KerasLayer(_einsum_dense, {"W": "kernel", "b": "bias"}),
}


# the eager steps' gradient (and on JAX the update), compiled once per structure (KerasModel)
_SHARED = SharedCompiled(
    (__name__, "parity_tests.frameworks.keras.layers"),
    lambda: [*LAYERS.values(), *BACKEND_LAYERS.values()],
)


def layer_table(backend: str, kind: str) -> KerasLayer:
    return BACKEND_LAYERS.get((backend, kind)) or LAYERS[kind]


def _tanh_by_tanh_shrink(keras: Any) -> Callable[[Any], Any]:
    """tanh(x) = x - tanh_shrink(x): ``keras.ops.tanh_shrink`` keeps float64 on JAX (``x -
    jnp.tanh(x)``), where ``keras.ops.tanh`` casts to float32.  The subtraction is exact
    (Sterbenz) except for the rounding of ``x - tanh(x)``: ~1 ulp of ``x``, measured 1e-16."""
    ops = keras.ops
    return lambda x: x - ops.tanh_shrink(x)


# (backend, activation name) -> a float64 form of that Keras activation, used in float64 specs
# where the Keras activation itself computes in float32 (see the module docstring)
FLOAT64_ACTIVATIONS: dict[tuple[str, str], Callable[[Any], Callable[[Any], Any]]] = {
    ("jax", "tanh"): _tanh_by_tanh_shrink,
}


def _float64_activation(keras: Any, backend: str, layer: Any, dtype: str) -> None:
    """Replace the layer's activation with its float64 form on this backend, if it has one."""
    activation = getattr(layer, "activation", None)
    form = FLOAT64_ACTIVATIONS.get((backend, getattr(activation, "__name__", "")))
    if (
        dtype == "float64"
        and form is not None
        and activation is getattr(keras.activations, activation.__name__, None)
    ):
        layer.activation = form(keras)


def supports(spec: NetworkSpec) -> str | None:
    """None if Keras can run ``spec``, else the reason it cannot."""
    from parity_tests.frameworks.keras.optimizers import unsupported_optimizer

    reason = unsupported_optimizer(spec.optimizer, spec.build_optimizer().options())
    if reason:
        return reason
    if spec.loss == "bce" and spec.loss_options.get("clip") == "torch":
        return "torch's log clamp at -100"
    if spec.loss == "bce" and spec.loss_options.get("reduction", "mean") != "mean":
        return "bce with a reduction other than mean"
    return None


_BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "torch"}


def unsupported_loss_convention(spec: NetworkSpec, backend: str) -> str | None:
    """The cross-entropy conventions Keras computes on ``backend``.  On TensorFlow a sigmoid
    or softmax output keeps its scores (``_keras_logits``) and ``binary_crossentropy`` /
    ``categorical_crossentropy`` compute from them, never clipping: ``logits``.  On JAX (an
    array takes no attribute) and torch (whose loss ignores it) they clip the probabilities:
    ``keras``.  A convention named for what this backend does not compute is refused."""
    options = spec.loss_options
    convention = {"bce": options.get("clip"), "cce": options.get("convention")}.get(spec.loss)
    output = spec.layers[-1].options.get("activation")
    if convention == "logits" and backend != "tensorflow":
        return (
            f"the logits behind the output layer (Keras on {_BACKEND_NAMES[backend]} clips the "
            "probabilities: the 'keras' convention)"
        )
    if convention == "keras" and backend == "tensorflow" and output in ("sigmoid", "softmax"):
        return (
            f"Keras' probability clipping (Keras on TensorFlow reads the logits behind a "
            f"{output} output layer: the 'logits' convention)"
        )
    return None


def _loss_fn(spec: NetworkSpec, n_out: int, backend: str) -> Callable[[Any, Any], Any]:
    if backend != "tensorflow":
        return _loss_by_ops(spec, n_out)
    losses = loaders.keras().losses
    dt = {"dtype": spec.dtype}  # explicit: the loss casts predictions to its own dtype
    name = spec.loss
    if name == "mse":
        return losses.MeanSquaredError(**dt)
    if name in ("sse", "half_sse"):
        # Keras' "sum" reduction sums the per-sample means over the outputs: times K is the SSE
        total = losses.MeanSquaredError(reduction="sum", **dt)
        scale = n_out * (0.5 if name == "half_sse" else 1.0)
        return lambda y, p: total(y, p) * scale
    if name == "bce":
        return losses.BinaryCrossentropy(**dt)
    if name == "logistic":  # mean over outputs and batch, times K: sum over classes / m
        bce = losses.BinaryCrossentropy(**dt)
        return lambda y, p: bce(y, p) * n_out
    if name == "bce_logits":
        return losses.BinaryCrossentropy(from_logits=True, **dt)
    if name == "cce":
        return losses.CategoricalCrossentropy(**dt)
    if name == "cce_logits":
        return losses.CategoricalCrossentropy(from_logits=True, **dt)
    raise NotMirrored(f"loss {name}")


def _loss_by_ops(spec: NetworkSpec, n_out: int) -> Callable[[Any, Any], Any]:
    """The loss as Keras's elementwise op, ``ops.sum`` and the backend's own division: what
    the loss classes compute, without their ``ops.mean`` (float32 on JAX and torch)."""
    ops = loaders.keras().ops
    name = spec.loss

    def count(y: Any) -> int:
        return int(np.prod(y.shape))

    if name in ("mse", "sse", "half_sse"):
        scale = {"mse": 1.0, "sse": 1.0, "half_sse": 0.5}[name]
        if name == "mse":
            return lambda y, p: ops.sum(ops.square(y - p)) / count(y)
        return lambda y, p: ops.sum(ops.square(y - p)) * scale
    if name in ("bce", "logistic", "bce_logits"):
        logits = name == "bce_logits"

        def bce(y: Any, p: Any) -> Any:
            total = ops.sum(ops.binary_crossentropy(y, p, from_logits=logits))
            return total / (int(y.shape[0]) if name == "logistic" else count(y))

        return bce
    if name in ("cce", "cce_logits"):
        logits = name == "cce_logits"
        return lambda y, p: (
            ops.sum(ops.categorical_crossentropy(y, p, from_logits=logits)) / int(y.shape[0])
        )
    raise NotMirrored(f"loss {name}")


def _optimizer(spec: NetworkSpec, exact: bool) -> Any:
    from parity_tests.frameworks.keras import optimizers as optim_keras

    return optim_keras.build(spec.optimizer, spec.build_optimizer().options(), exact=exact)


class KerasModel(Model):
    """The network, loss and optimizer of ``spec`` in Keras, starting from ``params``, on this
    process's Keras backend."""

    # a user's own model (Adapter.wrap): its objects per reference layer, else None
    groups: list[list[Any]] | None = None

    def __init__(
        self,
        spec: NetworkSpec,
        params: Params,
        *,
        python_float_constants: bool = False,
        loop: str | None = None,
    ) -> None:
        self.backend = loaders.keras_backend()
        keras = loaders.keras(self.backend)
        loops = LOOPS[self.backend]
        self.short_runs_eager = loop is None  # see COMPILE_FROM_STEPS
        loop = loops[0] if loop is None else loop
        if loop not in loops:
            raise ValueError(
                f"unknown Keras loop {loop!r} on {self.backend}; valid: {', '.join(loops)}"
            )
        self.keras, self.ops = keras, keras.ops
        self.tf = loaders.tensorflow() if self.backend == "tensorflow" else None
        self.spec, self.loop = spec, loop
        exact = not python_float_constants
        reg = spec.regularizer
        with loaders.keras_floatx(spec.dtype):
            self.layers = []
            self.slots: list[tuple[str, Any, str]] = []  # (reference name, layer, attribute)
            self.state_slots: list[tuple[str, Any, str]] = []  # running statistics
            self.host_per_call = False  # a layer reads host data per call: no compiled loop
            for i, (lay, ref) in enumerate(zip(spec.layers, spec.build_layers(), strict=True)):
                regularizer = None
                if reg and reg["convention"] == "keras" and ref.weight_names:
                    regularizer = keras.regularizers.L2(reg["lam"])
                    if exact:  # the constructor applies float(); restore the exact value
                        regularizer.l2 = np.float64(reg["lam"])
                table = layer_table(self.backend, lay.kind)
                layer = table.build(keras, dict(ref.options), regularizer, spec.dtype)
                _float64_activation(keras, self.backend, layer, spec.dtype)
                self.layers.append(layer)
                self.slots += [(f"{i}.{n}", layer, table.names[n]) for n in ref.params]
                self.state_slots += [(f"{i}.{n}", layer, a) for n, a in table.state_names.items()]
                self.host_per_call = self.host_per_call or table.host_per_call
            first = spec.build_layers()[0]
            input_dtype = "int64" if getattr(first, "integer_input", False) else spec.dtype
            self.model = keras.Sequential(
                [keras.Input(spec.input_shape, dtype=input_dtype), *self.layers]
            )
            self.loss_fn = _loss_fn(spec, int(np.prod(spec.output_shape)), self.backend)
            self.optimizer = _optimizer(spec, exact)
        self.weights = set(spec.build_network().weight_names())  # what L2 covers
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
        self._compiled: Any = None
        self._compiled_by_what: dict[str, Any] = {}  # this model's lookups in _SHARED

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
    def output_and_loss(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Forward pass and loss (with the spec's L2 penalty): inside a GradientTape, under
        torch autograd, or in a ``keras.StatelessScope`` that maps the variables to values."""
        out = self.model(X, training=True)
        loss = self.loss_fn(y, out)
        reg = self.spec.regularizer
        if reg and reg["convention"] == "keras":
            if self.tf is not None:
                loss = loss + self.tf.add_n(self.model.losses)
            else:
                for term in self.model.losses:
                    loss = loss + term
        elif reg:  # course: lam / (2m) * sum(W^2), written out
            c = reg["lam"] / (2.0 * int(X.shape[0]))
            kernels = [v for name, v in self.named_variables() if name in self.weights]
            if self.tf is not None:
                loss = loss + sum(c * self.tf.reduce_sum(k**2) for k in kernels)
            else:
                for k in kernels:
                    loss = loss + c * self.ops.sum(self.ops.square(k.value))
        return out, loss

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
        structure (:meth:`_shared`); another network runs them op by op (see
        ``jax_adapter``: compiling each short run costs more than it saves)."""
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

    def _shared(self, what: str) -> Any:
        """The process's compiled ``what`` for this model's structure (:mod:`.shared_compiled`),
        looked up once per model.  ``"gradient"``: TensorFlow, a ``tf.function`` of
        :meth:`_stateless_gradient`; ``"jax gradient"`` and ``"jax update"``: JAX, ``jax.jit``
        of the value and gradient and of the optimizer's ``stateless_apply``.  The gradient
        computes from the spec less its optimizer and whether constants went through Python
        floats; the update from the optimizer and its options, and the variables' shapes (a
        Keras optimizer is built for its variables and maps them by position)."""
        compiled = self._compiled_by_what.get(what)
        if compiled is None:
            structure, make = self._recipe(what)
            compiled = self._compiled_by_what[what] = _SHARED.get(what, structure, make)
        return compiled

    def _recipe(self, what: str) -> tuple[tuple[Any, ...], Callable[[], Any]]:
        """``what``'s structure key and how to compile it (see :meth:`_shared`)."""
        gradient = (*spec_less_optimizer(self.spec), self.python_float_constants)
        if what == "gradient":
            return gradient, lambda: self.tf.function(self._stateless_gradient, autograph=False)
        import jax

        if what == "jax gradient":
            return gradient, lambda: jax.jit(self._jax_value_and_grad)
        variables = tuple((tuple(v.shape), str(v.dtype)) for v in self.variables)
        options = repr(self.spec.build_optimizer().options())
        update = (self.spec.optimizer, options, self.python_float_constants, variables)
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
        process for its structure (:meth:`_shared`) and shared by every model of it.  The
        matrix's 21 eager tape passes cost more than the trace they share: 0.14 s a case
        against 0.22-0.29 s (measured 2026-12-02).  The optimizer still applies the
        gradients eagerly to this model's variables: TensorFlow's Keras has no
        ``stateless_apply``.  On JAX the sharing is in :meth:`_jax_one`."""
        if self.shared_gradient and self.backend == "tensorflow":
            return self._shared("gradient")([v.value for v in self.variables], X, y)
        return self.loss_and_grads(X, y)

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

    # ------------------------------------------------------------------ compiled steps
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


class KerasAdapter(Adapter):
    """Keras on ``backend``; registered once per backend (``keras``, ``keras-jax``,
    ``keras-torch``).  Available only in a process whose Keras backend is ``backend``."""

    model_noun = "a Keras model"

    name = "keras"
    backend = "tensorflow"

    def load(self) -> None:
        loaders.keras(self.backend)

    def versions(self) -> dict[str, str]:
        keras = loaders.keras(self.backend)
        out = {"keras": keras.__version__}
        if self.backend == "tensorflow":
            out["tensorflow"] = loaders.tensorflow().__version__
        elif self.backend == "jax":
            out["jax"] = loaders.jax().__version__
        else:
            out["torch"] = loaders.torch().__version__
        return out

    def refusal(self, spec: Any) -> str | None:  # type: ignore[override]
        missing = sorted({lay.kind for lay in spec.layers} - set(LAYERS))
        if missing:
            return f"layer kind(s) {', '.join(missing)}"
        beyond_dense = sorted({lay.kind for lay in spec.layers} - {"dense", "flatten"})
        if self.backend != "tensorflow" and beyond_dense:
            return (
                f"layer kind(s) {', '.join(beyond_dense)} on the {self.backend} backend (the "
                "layer kinds' parity is measured on TensorFlow only)"
            )
        for lay, ref in zip(spec.layers, spec.build_layers(), strict=True):
            reason = LAYERS[lay.kind].unsupported(dict(ref.options))
            if reason:
                return reason
        return unsupported_loss_convention(spec, self.backend) or supports(spec)

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> KerasModel:
        self.check_supported(spec)
        self.load()
        return KerasModel(spec, params, **options)

    # ------------------------------------------------------------------ a user's model
    def owns(self, obj: Any) -> bool:
        """A Keras model, when this process's Keras backend is this adapter's."""
        modules = [getattr(cls, "__module__", "") or "" for cls in type(obj).__mro__]
        return (
            any(m.startswith(("keras", "tf_keras")) for m in modules)
            and loaders.keras_backend() == self.backend
        )

    def convert(self, obj: Any, **spec_options: Any) -> Any:
        from parity_tests.frameworks.keras.converters import from_keras
        from parity_tests.harness.conversion import ConversionError

        shape = spec_options.pop("input_shape", None)
        converted = from_keras(obj, **spec_options)
        if shape is not None and tuple(shape) != converted.spec.input_shape:
            raise ConversionError(
                f"the Keras model takes inputs of shape {converted.spec.input_shape}, not the "
                f"input shape given, {tuple(shape)}"
            )
        return converted

    def wrap(self, obj: Any, converted: Any) -> KerasModel:
        km = KerasModel(converted.spec, converted.params, loop="eager")
        km.model = obj
        km.slots = [(name, holder, attr) for name, (_, holder, attr) in converted.slots.items()]
        km.layers = [group[0] for group in converted.groups]  # one per reference layer
        km.groups = converted.groups
        km.variables = [v for _, v in km.named_variables()]
        return km

    def loss_options(self, spec: NetworkSpec) -> dict[str, str]:
        """Keras on TensorFlow reads the logits behind a sigmoid or softmax output
        (``logits``); Keras on the other backends clips the probabilities (``keras``)."""
        key = {"bce": "clip", "cce": "convention"}.get(spec.loss)
        if key is None:
            return {}
        output = spec.layers[-1].options.get("activation")
        reads_logits = output == {"bce": "sigmoid", "cce": "softmax"}[spec.loss]
        return {key: "logits" if self.backend == "tensorflow" and reads_logits else "keras"}


class KerasJaxAdapter(KerasAdapter):
    name = "keras-jax"
    backend = "jax"


class KerasTorchAdapter(KerasAdapter):
    name = "keras-torch"
    backend = "torch"
