"""The JAX adapter: a spec as pure ``jax.numpy`` functions, gradients by ``jax.grad``, the
optimizers of :mod:`.optim_jax` (optax where it computes exactly the formulation).

Layouts: the reference's (``W`` is ``(n_in, n_out)``); each layer kind is one entry of
``LAYERS`` in :mod:`.jax_layers`.  Losses are written out in ``jax.numpy`` from each loss's
definition (elementwise value, summed, divided by the reduction's divisor), with every option
of the reference: Keras's clipping, torch's log clamp at -100, Keras's renormalisation.

float64: JAX makes 64-bit arrays only with ``jax_enable_x64``; :func:`frameworks.jax`
enables it once, when the adapter loads, before any array exists.  That is safe for float32
runs and for every other test in the process: every array here is created with an explicit
dtype (inputs and parameters come from NumPy arrays of the spec's dtype, optimizer state is
``zeros_like`` of the parameters), Python constants are weakly typed (``0.9 * v`` stays
float32), and no other framework reads the flag.  ``parity_tests/test_jax.py`` checks that a
float32 run stays float32 throughout.

One step (and ``forward_backward``) runs op by op or compiled whole, whichever is cheaper:
JAX caches each primitive's executable by shape and dtype for the whole process, so once a
network of these shapes has run, another one (the matrix: hundreds of cases on the same
2-3-k network) costs dispatch only, ~0.2-0.9 s a case; a network of shapes never seen (a
random architecture) would compile each of its ~100 primitives one by one, 10-12 s a case,
where ``jax.jit`` of the step compiles them in one XLA module, ~3 s (measured on the busy
2-core machine, 2026-11-23).  So the first model of a shape signature compiles its step, and
later models of that signature run op by op (see ``_call_one``).  ``train`` from
``COMPILE_FROM_STEPS`` steps is one ``jax.jit``-compiled ``jax.lax.scan`` over the gathered
batches (the housing epoch of 6,700 per-sample steps, the worked examples' 10,000 and 50,001
steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reference_nn import NetworkSpec, get_loss
from reference_nn import losses as ref_losses

from . import frameworks
from .adapter import Adapter, Array, Batches, Model, Params
from .jax_layers import ACTIVATION_NAMES, LAYERS

COMPILE_FROM_STEPS = 200

# Shape signatures (dtype, parameter shapes, input and target shapes) a model of this process
# has run: from the second model of a signature on, a step runs op by op (see _call_one).
_SEEN_SIGNATURES: set[tuple[Any, ...]] = set()


def _loss_fn(spec: NetworkSpec) -> Callable[[Any, Any], Any]:
    """``(p, y) -> loss`` in ``jax.numpy``, for the spec's loss and options."""
    jnp = frameworks.jax().numpy
    nn = frameworks.jax().nn
    loss = get_loss(spec.loss, **spec.loss_options)

    def reduce(elementwise: Any, y: Any) -> Any:
        divisor = {"mean": y.size, "batch_mean": y.shape[0]}.get(loss.reduction, 1)
        return jnp.sum(elementwise) / divisor

    if isinstance(loss, ref_losses.SquaredError):
        return lambda p, y: reduce(loss.scale * (p - y) * (p - y), y)
    if isinstance(loss, ref_losses.BinaryCrossEntropy):

        def bce(p: Any, y: Any) -> Any:
            if loss.clip == "keras":
                p = jnp.clip(p, loss.epsilon, 1.0 - loss.epsilon)
            log_p, log_1mp = jnp.log(p), jnp.log(1.0 - p)
            if loss.clip == "torch":
                log_p, log_1mp = jnp.maximum(log_p, -100.0), jnp.maximum(log_1mp, -100.0)
            return reduce(-(y * log_p + (1.0 - y) * log_1mp), y)

        return bce
    if isinstance(loss, ref_losses.BinaryCrossEntropyWithLogits):
        # softplus(s) - s y: jax.nn.softplus is max(s, 0) + log1p(exp(-|s|)) with the exact
        # derivative sigmoid(s).  Written out with jnp.maximum, autodiff gives the tie s = 0
        # (a relu network's all-zero hidden layer) a derivative of 0 instead of 1/2: the
        # parity matrix caught it (relu-bce_logits, 1.b off by 1/(2 N K)).
        return lambda s, y: reduce(nn.softplus(s) - s * y, y)
    if isinstance(loss, ref_losses.CategoricalCrossEntropy):

        def cce(p: Any, y: Any) -> Any:
            if loss.convention == "keras":
                p = p / jnp.sum(p, axis=-1, keepdims=True)
                p = jnp.clip(p, loss.epsilon, 1.0 - loss.epsilon)
            return reduce(-y * jnp.log(p), y)

        return cce
    if isinstance(loss, ref_losses.CategoricalCrossEntropyWithLogits):
        return lambda s, y: reduce(-y * nn.log_softmax(s, axis=-1), y)
    raise ValueError(f"the JAX adapter has no loss {spec.loss!r}")


class JaxModel(Model):
    """The network, loss and optimizer of ``spec`` as JAX functions, starting from ``params``."""

    def __init__(self, spec: NetworkSpec, params: Params, *, prefer_optax: bool = True) -> None:
        from . import optim_jax

        self.jax = frameworks.jax()
        self.jnp = self.jax.numpy
        self.spec, self.dtype = spec, spec.np_dtype
        self.layers = [
            (lay.kind, dict(ref.options))
            for lay, ref in zip(spec.layers, spec.build_layers(), strict=True)
        ]
        self.names = spec.parameter_names()
        self.weights = set(spec.build_network().weight_names())
        self.loss_fn = _loss_fn(spec)
        self.optimizer = optim_jax.build(
            spec.optimizer, spec.build_optimizer().options(), prefer_optax=prefer_optax
        )
        self.set_parameters(params)
        self._compiled: Any = None
        self._compiled_one: dict[tuple[Any, ...], Any] = {}  # by shape signature

    # ------------------------------------------------------------------ parameters
    def set_parameters(self, params: Params) -> None:
        self.params = {
            name: self.jnp.asarray(self._layer(name).to_jax(name.split(".", 1)[1], params[name]))
            for name in self.names
        }
        self.opt_state = self.optimizer.init(self.params)

    def parameters(self) -> Params:
        return {
            name: self._layer(name).from_jax(name.split(".", 1)[1], np.asarray(value))
            for name, value in self.params.items()
        }

    def _layer(self, name: str) -> Any:
        return LAYERS[self.layers[int(name.split(".", 1)[0])][0]]

    # ------------------------------------------------------------------ passes
    def forward(self, params: dict[str, Any], X: Any, training: bool = True) -> Any:
        a = X
        for i, (kind, options) in enumerate(self.layers):
            own = {k.split(".", 1)[1]: v for k, v in params.items() if k.split(".")[0] == str(i)}
            a = LAYERS[kind].apply(options, own, a, training)
        return a

    def objective(self, params: dict[str, Any], X: Any, y: Any) -> tuple[Any, Any]:
        """(loss with the spec's L2 penalty, output): what ``jax.grad`` differentiates."""
        out = self.forward(params, X)
        loss = self.loss_fn(out, y)
        reg = self.spec.regularizer
        if reg:  # keras l * sum(W^2) or course lam / (2m) * sum(W^2), weights only
            c = reg["lam"] if reg["convention"] == "keras" else reg["lam"] / (2.0 * X.shape[0])
            for name in self.names:
                if name in self.weights:
                    loss = loss + c * self.jnp.sum(params[name] ** 2)
        return loss, out

    def _value_and_grad(self, params: Any, X: Any, y: Any) -> tuple[tuple[Any, Any], Any]:
        return self.jax.value_and_grad(self.objective, has_aux=True)(params, X, y)

    def _one(self, params: Any, state: Any, X: Any, y: Any) -> tuple[Any, ...]:
        """Output, loss and gradients at ``params``, and the parameters and optimizer state
        after one step."""
        (loss, out), grads = self._value_and_grad(params, X, y)
        new_params, new_state = self.optimizer.update(params, grads, state)
        return out, loss, grads, new_params, new_state

    def _call_one(self, X: Array, y: Array) -> tuple[Any, ...]:
        """:meth:`_one`, compiled whole (``jax.jit``) if this model compiled it for these
        shapes or no model of this process has run them; op by op otherwise, when every
        primitive's executable is already cached (see the module docstring)."""
        Xj, yj = self.jnp.asarray(X), self.jnp.asarray(y)
        signature = (
            str(self.dtype),
            tuple((name, value.shape) for name, value in self.params.items()),
            Xj.shape,
            yj.shape,
        )
        one = self._compiled_one.get(signature)
        if one is None and signature not in _SEEN_SIGNATURES:
            one = self._compiled_one[signature] = self.jax.jit(self._one)
        _SEEN_SIGNATURES.add(signature)
        return (one or self._one)(self.params, self.opt_state, Xj, yj)

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        out, loss, grads, _, _ = self._call_one(X, y)
        by_name = {
            name: self._layer(name).from_jax(name.split(".", 1)[1], np.asarray(g))
            for name, g in grads.items()
        }
        return np.array(out), np.asarray(loss), by_name

    def _step(self, carry: tuple[Any, Any], batch: tuple[Any, Any]) -> tuple[Any, Any]:
        params, state = carry
        (loss, _), grads = self._value_and_grad(params, *batch)
        params, state = self.optimizer.update(params, grads, state)
        return (params, state), loss

    def step(self, X: Array, y: Array) -> float:
        _, loss, _, self.params, self.opt_state = self._call_one(X, y)
        return float(loss)

    # ------------------------------------------------------------------ compiled steps
    def _scan(self, params: Any, state: Any, Xb: Any, Yb: Any) -> tuple[Any, Any, Any]:
        (params, state), losses = self.jax.lax.scan(self._step, (params, state), (Xb, Yb))
        return params, state, losses

    def _run_compiled(self, X: Array, y: Array, batches: Batches) -> Array:
        if self._compiled is None:
            self._compiled = self.jax.jit(self._scan)
        self.params, self.opt_state, losses = self._compiled(
            self.params, self.opt_state, self.jnp.asarray(X[batches]), self.jnp.asarray(y[batches])
        )
        return np.array(losses)

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        if len(batches) >= COMPILE_FROM_STEPS:
            return self._run_compiled(X, y, batches)
        return super().train(X, y, batches)

    def prepare(self, X: Array, y: Array, batches: Batches) -> None:
        """Compile the scan for these shapes (ahead of time: nothing runs, nothing changes)."""
        if len(batches) >= COMPILE_FROM_STEPS:
            if self._compiled is None:
                self._compiled = self.jax.jit(self._scan)
            self._compiled.lower(
                self.params,
                self.opt_state,
                self.jnp.asarray(X[batches]),
                self.jnp.asarray(y[batches]),
            ).compile()


class JaxAdapter(Adapter):
    name = "jax"

    def load(self) -> None:
        frameworks.jax()
        frameworks.optax()

    def versions(self) -> dict[str, str]:
        import jaxlib

        return {
            "jax": frameworks.jax().__version__,
            "jaxlib": jaxlib.__version__,
            "optax": frameworks.optax().__version__,
        }

    def unsupported(self, spec: NetworkSpec) -> str | None:
        from .optim_jax import unsupported_optimizer

        missing = sorted({lay.kind for lay in spec.layers} - set(LAYERS))
        if missing:
            return f"layer kind(s) {', '.join(missing)}"
        acts = {
            a
            for lay, ref in zip(spec.layers, spec.build_layers(), strict=True)
            for a in LAYERS[lay.kind].activations(dict(ref.options))
        }
        unknown = sorted(acts - set(ACTIVATION_NAMES))
        if unknown:
            return f"activation(s) {', '.join(unknown)}"
        return unsupported_optimizer(spec.optimizer, spec.build_optimizer().options())

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> JaxModel:
        unknown = set(options) - {"prefer_optax"}
        if unknown:
            raise TypeError(f"the JAX adapter takes only prefer_optax=, got {sorted(unknown)}")
        self.check_supported(spec)
        return JaxModel(spec, params, **options)
