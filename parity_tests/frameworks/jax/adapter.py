"""The JAX adapter: a spec as pure ``jax.numpy`` functions, gradients by ``jax.grad``, the
optimizers of :mod:`.optimizers` (optax where it computes exactly the formulation).

Layouts: the reference's (``W`` is ``(n_in, n_out)``, tensors channels-last).  The adapter's
tables (:meth:`JaxAdapter.tables`): each layer kind is one entry of ``LAYERS`` and each
activation one of ``ACTIVATIONS`` (:mod:`.layers`), each loss one of ``LOSSES``
(:mod:`.losses`: every option of the reference, written out from each loss's definition),
each optimizer one of ``OPTIMIZERS`` (:mod:`.optimizers`).  Every entry of the reference has
one; a spec is refused only for an entry missing from a table (a gap the completeness test
names), an entry's own reason (``JaxLayer.refusal``), an unmapped optimizer option, or a loss
on the logits behind the output activation (Keras on TensorFlow's convention).

State and host inputs.  Batch norm's running statistics are non-trainable state: the model
carries them beside the parameters (``state()``), passes them into every step and takes the
updated values out of the ``jax.grad`` pass as auxiliary output (a training call moves them,
``forward_backward`` too, as in the reference and torch).  Dropout masks are the reference's
(same seed, one draw per training call), drawn on the host before each call and passed in as
arguments, so a step still compiles, and the compiled scan takes every step's masks drawn in
step order up front (the masks the eager steps would draw).  ``predict`` runs in inference
mode: running statistics, no dropout.

float64: JAX makes 64-bit arrays only with ``jax_enable_x64``; :func:`loaders.jax`
enables it once, when the adapter loads, before any array exists.  That is safe for float32
runs and for every other test in the process: every array here is created with an explicit
dtype (inputs and parameters come from NumPy arrays of the spec's dtype, optimizer state is
``zeros_like`` of the parameters), Python constants are weakly typed (``0.9 * v`` stays
float32), and no other framework reads the flag.  ``tests/parity/test_jax.py`` checks that a
float32 run stays float32 throughout.

One training call (``forward_backward``, a step) runs two ``jax.jit``-compiled functions: the
loss's value and gradient (``jax.value_and_grad`` of :meth:`JaxModel.objective`), then the
optimizer's update.  Compiling costs more than a case's calls, so each is compiled once per
process and shape for what it depends on, and shared by every model of that structure
(:mod:`parity_tests.frameworks.common.shared_compiled`): the gradient by the spec less its
optimizer, the update by the optimizer formulation and its options (the matrix's cases, one
3-5-3 network under many activations, losses and formulations, share a few of each).  A
network of new shapes (a random architecture, a layer case) compiles its own.  ``train`` from
``COMPILE_FROM_STEPS`` steps is one ``jax.jit``-compiled ``jax.lax.scan`` over the gathered
batches (the housing epoch of 6,700 per-sample steps, the worked examples' 10,000 and 50,001
steps).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from parity_tests.frameworks.common.shared_compiled import SharedCompiled, spec_less_optimizer
from parity_tests.frameworks.jax import optimizers
from parity_tests.frameworks.jax.layers import ACTIVATIONS, LAYERS
from parity_tests.frameworks.jax.losses import LOSSES, loss_fn
from parity_tests.frameworks.jax.trace import trace
from parity_tests.harness import loaders
from parity_tests.harness.protocol import (
    Adapter,
    Array,
    Batches,
    Model,
    Params,
    Resolved,
    Trace,
)
from reference_nn import NetworkSpec, get_loss
from reference_nn.regularizers import L2

COMPILE_FROM_STEPS = 200

# jax.jit-compiled functions by what they depend on (see JaxModel._shared)
_SHARED = SharedCompiled(
    (
        __name__,
        "parity_tests.frameworks.jax.layers",
        "parity_tests.frameworks.jax.losses",
        "parity_tests.frameworks.jax.optimizers",
    ),
    lambda: LAYERS.values(),
)


class JaxModel(Model):
    """The network, loss and optimizer of ``spec`` as JAX functions, starting from ``params``."""

    def __init__(
        self, spec: NetworkSpec | Resolved, params: Params, *, prefer_optax: bool = True
    ) -> None:
        resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
        self.prefer_optax = prefer_optax
        self._compiled_by_what: dict[str, Any] = {}  # this model's lookups in _SHARED
        self.jax = loaders.jax()
        self.jnp = self.jax.numpy
        self.spec, self.dtype = resolved.spec, resolved.spec.np_dtype
        self.layers = [(lay.kind, LAYERS[lay.kind].configure(lay.layer)) for lay in resolved.layers]
        self.names = [f"{lay.index}.{name}" for lay in resolved.layers for name in lay.layer.params]
        self.weights = set(resolved.weight_names)
        self.loss_fn = loss_fn(self.spec)
        self.optimizer_options = dict(resolved.optimizer_options)
        self.optimizer = optimizers.build(
            self.spec.optimizer, self.optimizer_options, prefer_optax=prefer_optax
        )
        # non-trainable state by reference name ("1.running_mean"), carried beside the
        # parameters; host inputs (dropout masks) drawn per training call, by layer index
        self.state_ = {
            f"{i}.{name}": self._to_device(value)
            for i, (kind, config) in enumerate(self.layers)
            for name, value in LAYERS[kind].state_init(config).items()
        }
        self.host_inputs = {
            i: LAYERS[kind].host_input(config)  # type: ignore[misc]
            for i, (kind, config) in enumerate(self.layers)
            if LAYERS[kind].host_input is not None
        }
        self.set_parameters(params)
        self._compiled: Any = None

    # ------------------------------------------------------------------ parameters
    def set_parameters(self, params: Params) -> None:
        self.params = {
            name: self._to_device(self._layer(name).to_jax(name.split(".", 1)[1], params[name]))
            for name in self.names
        }
        self.opt_state = self._shared("optimizer.init")(self.params)

    def parameters(self) -> Params:
        return {
            name: self._layer(name).from_jax(name.split(".", 1)[1], np.asarray(value))
            for name, value in self.params.items()
        }

    def state(self) -> Params:
        """Batch norm's running statistics by reference name (the reference's layout)."""
        return {name: np.array(value) for name, value in self.state_.items()}

    def _to_device(self, a: Array) -> Any:
        """A host array as a JAX array: ``jax.device_put`` compiles nothing, where
        ``jnp.asarray`` and ``jnp.zeros_like`` compile a small program for every new shape."""
        return self.jax.device_put(np.asarray(a))

    def _layer(self, name: str) -> Any:
        return LAYERS[self.layers[int(name.split(".", 1)[0])][0]]

    # ------------------------------------------------------------------ host inputs
    def _host(self, batch: int, draw: bool = True) -> dict[str, Array]:
        """Every host input for one training call on ``batch`` samples, by network name
        ("2.mask"): the next draw of each layer's source, or (``draw=False``) zeros of the
        same shapes, nothing drawn."""
        return {
            f"{i}.{name}": value
            for i, source in self.host_inputs.items()
            for name, value in (source.draw(batch) if draw else source.like(batch)).items()
        }

    def _host_steps(self, steps: int, batch: int, draw: bool = True) -> dict[str, Array]:
        """The host inputs of ``steps`` training calls in order, stacked: ``(steps, ...)``."""
        calls = [self._host(batch, draw) for _ in range(steps)]
        return {name: np.stack([c[name] for c in calls]) for name in (calls[0] if calls else {})}

    # ------------------------------------------------------------------ passes
    def forward(
        self,
        params: dict[str, Any],
        state: dict[str, Any],
        host: dict[str, Any],
        X: Any,
        training: bool = True,
        shifts: Sequence[Any] | None = None,
        outputs: list[Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """The output, and the state after this call (training: the updated running
        statistics; inference: none, the state is unchanged).  For the per-layer trace
        (:mod:`.trace`): ``shifts[i]`` (zeros) is added to layer ``i``'s output, so the
        gradient with respect to it is ``dL/d(output of layer i)``; ``outputs`` collects each
        layer's output."""
        a, new_state = X, {}
        for i, (kind, config) in enumerate(self.layers):
            layer = LAYERS[kind]
            own = {
                k.split(".", 1)[1]: v
                for arrays in (params, state, host)
                for k, v in arrays.items()
                if k.split(".", 1)[0] == str(i)
            }
            if training and layer.state_update is not None:
                update = layer.state_update(config, own, a)
                new_state.update({f"{i}.{k}": v for k, v in update.items()})
            a = layer.apply(config, own, a, training)
            if shifts is not None:
                a = a + shifts[i]
            if outputs is not None:
                outputs.append(a)
        return a, new_state

    def objective(
        self, params: dict[str, Any], state: Any, host: Any, X: Any, y: Any
    ) -> tuple[Any, Any]:
        """(loss with the spec's L2 penalty, (output, new state)): what ``jax.grad``
        differentiates, with respect to ``params`` only."""
        out, new_state = self.forward(params, state, host, X)
        loss = self.loss_fn(out, y) + self.penalty(params, X.shape[0])
        return loss, (out, {**state, **new_state})

    def penalty(self, params: dict[str, Any], batch_size: int) -> Any:
        """The spec's L2 penalty, ``c * sum(W^2)`` over the weights (0 without one)."""
        reg = self.spec.regularizer
        total: Any = 0.0
        if reg:
            c = L2(**reg).coefficient(batch_size)
            for name in self.names:
                if name in self.weights:
                    total = total + c * self.jnp.sum(params[name] ** 2)
        return total

    def _value_and_grad(
        self, params: Any, state: Any, host: Any, X: Any, y: Any
    ) -> tuple[tuple[Any, Any], Any]:
        return self.jax.value_and_grad(self.objective, has_aux=True)(params, state, host, X, y)

    def _predict(self, params: Any, state: Any, X: Any) -> Any:
        return self.forward(params, state, {}, X, training=False)[0]

    def _shared(self, what: str) -> Any:
        """The process's ``jax.jit`` of this model's method ``what``, shared by every model
        that computes the same function (:class:`SharedCompiled`): the gradient and the
        prediction depend on the configured layers and the spec less its optimizer (loss,
        regularizer, dtype), the optimizer's ``init`` and ``update`` on its formulation and
        options.  ``jax.jit`` compiles again only for shapes it has not seen."""
        compiled = self._compiled_by_what.get(what)
        if compiled is None:
            if what.startswith("optimizer."):
                options = repr(self.optimizer_options)
                structure: tuple[Any, ...] = (self.spec.optimizer, options, self.prefer_optax)
                fn = getattr(self.optimizer, what.split(".", 1)[1])
            else:
                structure = (repr(self.layers), *spec_less_optimizer(self.spec))
                fn = getattr(self, what)
            compiled = _SHARED.get(what, structure, lambda: self.jax.jit(fn))
            self._compiled_by_what[what] = compiled
        return compiled

    def _gradient(self, X: Array, y: Array) -> tuple[Any, Any, Any, Any]:
        """Output, loss, gradients and non-trainable state after one training call at the
        current parameters (its host inputs drawn), compiled (see the module docstring)."""
        vag = self._shared("_value_and_grad")
        host = self._host(len(X))
        (loss, (out, state)), grads = vag(
            self.params, self.state_, host, self._to_device(X), self._to_device(y)
        )
        return out, loss, grads, state

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        # a training call, as the reference's: running statistics move, a dropout mask is drawn
        out, loss, grads, self.state_ = self._gradient(X, y)
        by_name = {
            name: self._layer(name).from_jax(name.split(".", 1)[1], np.asarray(g))
            for name, g in grads.items()
        }
        return np.array(out), np.asarray(loss), by_name

    def step(self, X: Array, y: Array) -> float:
        _, loss, grads, self.state_ = self._gradient(X, y)
        update = self._shared("optimizer.update")
        self.params, self.opt_state = update(self.params, grads, self.opt_state)
        return float(loss)

    def predict(self, X: Array) -> Array:
        """The output in inference mode (running statistics, no dropout); nothing updated."""
        predict = self._shared("_predict")
        return np.array(predict(self.params, self.state_, self._to_device(X)))

    def trace(self, X: Array, y: Array) -> Trace:
        return trace(self, X, y)

    # ------------------------------------------------------------------ compiled steps
    def _step(self, carry: tuple[Any, Any, Any], batch: tuple[Any, ...]) -> tuple[Any, Any]:
        params, opt_state, state = carry
        X, y, host = batch
        (loss, (_, state)), grads = self._value_and_grad(params, state, host, X, y)
        params, opt_state = self.optimizer.update(params, grads, opt_state)
        return (params, opt_state, state), loss

    def _scan(
        self, params: Any, opt_state: Any, state: Any, Xb: Any, Yb: Any, Hb: Any
    ) -> tuple[Any, Any, Any, Any]:
        (params, opt_state, state), losses = self.jax.lax.scan(
            self._step, (params, opt_state, state), (Xb, Yb, Hb)
        )
        return params, opt_state, state, losses

    def _scan_arguments(self, X: Array, y: Array, batches: Batches, draw: bool) -> tuple[Any, ...]:
        """The scan's arguments: the gathered batches and every step's host inputs (drawn in
        step order, as the eager steps would draw them; zeros with ``draw=False``)."""
        Hb = self._host_steps(len(batches), batches.shape[1], draw)
        return (
            self.params,
            self.opt_state,
            self.state_,
            self._to_device(X[batches]),
            self._to_device(y[batches]),
            Hb,
        )

    def _run_compiled(self, X: Array, y: Array, batches: Batches) -> Array:
        if self._compiled is None:
            self._compiled = self.jax.jit(self._scan)
        args = self._scan_arguments(X, y, batches, draw=True)
        self.params, self.opt_state, self.state_, losses = self._compiled(*args)
        return np.array(losses)

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        if len(batches) >= COMPILE_FROM_STEPS:
            return self._run_compiled(X, y, batches)
        return super().train(X, y, batches)

    def prepare(self, X: Array, y: Array, batches: Batches) -> None:
        """Compile the scan for these shapes (ahead of time: nothing runs, nothing changes,
        no host input is drawn)."""
        if len(batches) >= COMPILE_FROM_STEPS:
            if self._compiled is None:
                self._compiled = self.jax.jit(self._scan)
            self._compiled.lower(*self._scan_arguments(X, y, batches, draw=False)).compile()


class JaxAdapter(Adapter):
    name = "jax"

    def load(self) -> None:
        loaders.jax()
        loaders.optax()

    def versions(self) -> dict[str, str]:
        import jaxlib

        return {
            "jax": loaders.jax().__version__,
            "jaxlib": jaxlib.__version__,
            "optax": loaders.optax().__version__,
        }

    def tables(self) -> Mapping[str, Collection[str]]:
        return {
            "layer kind": LAYERS,
            "activation": ACTIVATIONS,
            "loss": LOSSES,
            "optimizer": optimizers.OPTIMIZERS,
        }

    def option_refusal(self, resolved: Resolved) -> str | None:
        for lay in resolved.layers:
            reason = LAYERS[lay.kind].refusal(LAYERS[lay.kind].configure(lay.layer))
            if reason:
                return reason
        spec = resolved.spec
        if get_loss(spec.loss, **spec.loss_options).logits_of:
            return "Keras on TensorFlow's loss on the logits behind the output activation"
        return optimizers.option_refusal(spec.optimizer, resolved.optimizer_options)

    def build(self, spec: NetworkSpec | Resolved, params: Params, **options: Any) -> JaxModel:
        unknown = set(options) - {"prefer_optax"}
        if unknown:
            raise TypeError(f"the JAX adapter takes only prefer_optax=, got {sorted(unknown)}")
        resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
        self.check_supported(resolved)
        return JaxModel(resolved, params, **options)
