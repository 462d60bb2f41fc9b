"""A reference optimizer's options as a pure JAX update, in torch's or in Keras's formulation.

JAX has no optimizers of its own; optax is its optimizer library.  Where an optax transform
computes exactly the formulation (the same operations in the same order, so the same
rounding), it is used; ``tests/parity/test_jax.py`` proves it bit for bit against the
hand-written rule over 20 steps in float64 and float32.  Elsewhere the update is written in
``jax.numpy`` from the framework's documented rule (torch 2.13 ``_single_tensor_*``, Keras 3
``update_step``), as :mod:`reference_nn.optimizers` states it:

===================================  ======================================================
formulation                          JAX update
===================================  ======================================================
SGD (plain), torch momentum and      optax: ``add_decayed_weights(wd)`` (torch's coupled
Nesterov, coupled weight_decay       ``g + wd p``) then ``sgd(lr, momentum, nesterov)``
                                     (``v <- g + mu v``, the first ``v = g``; ``p + (-lr) v``)
torch dampening                      hand-written (optax's trace has no dampening)
Keras SGD momentum / Nesterov        hand-written: ``v <- mu v - lr g``; ``p <- p + v``
torch / Keras RMSprop                hand-written: optax's ``scale_by_rms`` orders the
                                     operations differently (``g * rsqrt(v + eps)``)
torch / Keras Adam                   hand-written: optax's ``scale_by_adam`` divides the
                                     moments by their corrections before the root
Keras decoupled weight_decay         hand-written: ``p <- p - p wd lr`` before the update
===================================  ======================================================

``OPTIMIZERS`` maps each reference optimizer to its update and the reference options the
update reads (``maps``); :func:`option_refusal` refuses a non-default value of any other option
by name, so an option added to the reference is refused until an update reads it, never
dropped silently.  Today every option of every reference optimizer is mapped: nothing is refused.

An optimizer here is two pure functions, ``init(params) -> state`` and
``update(params, grads, state) -> (params, state)``, over dicts of arrays, so that a whole
training run can be one ``jax.lax.scan``.  Constants: Python floats are weakly typed in JAX,
so ``0.9 * v`` rounds 0.9 to ``v``'s dtype exactly as NumPy and torch do; where the reference
computes in double (torch's Adam bias corrections) the JAX code does too, then casts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from parity_tests.frameworks.common.optimizer_maps import unmapped_refusal
from parity_tests.harness import loaders

State = dict[str, Any]
Tree = dict[str, Any]


@dataclass(frozen=True)
class JaxOptimizer:
    """``init(params) -> state``; ``update(params, grads, state) -> (params, state)``."""

    init: Callable[[Tree], State]
    update: Callable[[Tree, Tree, State], tuple[Tree, State]]
    via_optax: bool  # True where the update is an optax transform


@dataclass(frozen=True)
class Optimizer:
    """One reference optimizer: its hand-written update (resolved options -> the update) and
    the reference options that update reads."""

    build: Callable[[dict[str, Any]], JaxOptimizer]
    maps: tuple[str, ...]


def option_refusal(name: str, options: Mapping[str, Any]) -> str | None:
    """The options of ``name`` (resolved) set away from their defaults that its entry does not
    map, by name; None where the entry computes them all."""
    return unmapped_refusal(name, options, OPTIMIZERS[name].maps, "JAX")


def uses_optax(name: str, options: Mapping[str, Any]) -> bool:
    """Whether :func:`build` uses optax for this formulation (resolved options; see the module
    docstring)."""
    o = options
    if name != "sgd":
        return False
    if not o["momentum"]:
        return o["convention"] == "torch" or not o["weight_decay"]
    return o["convention"] == "torch" and not o["dampening"]


def build(name: str, options: Mapping[str, Any], *, prefer_optax: bool = True) -> JaxOptimizer:
    """The update of ``name`` with its resolved ``options``; ``prefer_optax=False`` gives the
    hand-written rule even where optax computes the same (to prove that it does)."""
    o = dict(options)
    if prefer_optax and uses_optax(name, o):
        return _optax_sgd(o)
    return OPTIMIZERS[name].build(o)


def _map(f: Callable[..., Any], *trees: Tree) -> Tree:
    return {k: f(*(t[k] for t in trees)) for k in trees[0]}


def _optax_sgd(o: dict[str, Any]) -> JaxOptimizer:
    optax = loaders.optax()
    parts = []
    if o["weight_decay"]:
        parts.append(optax.add_decayed_weights(o["weight_decay"]))
    parts.append(optax.sgd(o["lr"], momentum=o["momentum"] or None, nesterov=o["nesterov"]))
    transform = optax.chain(*parts)

    def update(params: Tree, grads: Tree, state: State) -> tuple[Tree, State]:
        updates, state = transform.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return JaxOptimizer(transform.init, update, via_optax=True)


def _decay(o: dict[str, Any], p: Any, g: Any) -> tuple[Any, Any]:
    """Weight decay in the formulation's convention: (parameter, gradient) to use."""
    wd = o["weight_decay"]
    if not wd:
        return p, g
    if o["convention"] == "torch":
        return p, g + wd * p  # coupled: grad.add(param, alpha=weight_decay)
    return p - p * wd * o["lr"], g  # Keras, decoupled: variable - variable * wd * lr


def _sgd(o: dict[str, Any]) -> JaxOptimizer:
    jnp = loaders.jax().numpy
    lr, mu, torch = o["lr"], o["momentum"], o["convention"] == "torch"

    def init(params: Tree) -> State:
        return {"t": jnp.zeros((), jnp.int32), "v": _map(jnp.zeros_like, params)}

    def one(p: Any, g: Any, v: Any, first: Any) -> tuple[Any, Any]:
        p, g = _decay(o, p, g)
        if not mu:
            return p - lr * g, v
        if torch:
            # v <- g on the first step, else mu v + (1 - dampening) g; p - lr (g + mu v) or v
            v = jnp.where(first, g, v * mu + (1 - o["dampening"]) * g)
            return p - lr * (g + mu * v if o["nesterov"] else v), v
        # Keras: v <- mu v - lr g; p + (mu v - lr g) (Nesterov) or p + v
        v = v * mu - g * lr
        return (p + (v * mu - g * lr) if o["nesterov"] else p + v), v

    def update(params: Tree, grads: Tree, state: State) -> tuple[Tree, State]:
        first = state["t"] == 0
        out = {k: one(params[k], grads[k], state["v"][k], first) for k in params}
        return {k: r[0] for k, r in out.items()}, {
            "t": state["t"] + 1,
            "v": {k: r[1] for k, r in out.items()},
        }

    return JaxOptimizer(init, update, via_optax=False)


def _lerp(jnp: Any, start: Any, end: Any, weight: float) -> Any:
    # torch's lerp: start + w (end - start) for |w| < 0.5, else end - (end - start) (1 - w)
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _rmsprop(o: dict[str, Any]) -> JaxOptimizer:
    jnp = loaders.jax().numpy
    lr, rho, eps, momentum = o["lr"], o["rho"], o["eps"], o["momentum"]
    torch = o["convention"] == "torch"

    def init(params: Tree) -> State:
        zeros = _map(jnp.zeros_like, params)
        return {"v": zeros, "a": zeros, "b": zeros}

    def one(p: Any, g: Any, v: Any, a: Any, b: Any) -> tuple[Any, ...]:
        p, g = _decay(o, p, g)
        if torch:
            v = v * rho + (1 - rho) * (g * g)
            if o["centered"]:
                a = _lerp(jnp, a, g, 1 - rho)
                d = jnp.sqrt(v - a * a) + eps
            else:
                d = jnp.sqrt(v) + eps
            if momentum:
                b = b * momentum + g / d
                return p - lr * b, v, a, b
            return p - lr * (g / d), v, a, b
        v = rho * v + (1 - rho) * (g * g)
        if o["centered"]:
            a = rho * a + (1 - rho) * g
            d = jnp.sqrt(v - a * a + eps)
        else:
            d = jnp.sqrt(v + eps)
        increment = (lr * g) / d
        if momentum:
            b = momentum * b + increment
            return p - b, v, a, b
        return p - increment, v, a, b

    def update(params: Tree, grads: Tree, state: State) -> tuple[Tree, State]:
        out = {
            k: one(params[k], grads[k], state["v"][k], state["a"][k], state["b"][k]) for k in params
        }
        new = {s: {k: r[i + 1] for k, r in out.items()} for i, s in enumerate(("v", "a", "b"))}
        return {k: r[0] for k, r in out.items()}, new

    return JaxOptimizer(init, update, via_optax=False)


def _adam(o: dict[str, Any]) -> JaxOptimizer:
    jnp = loaders.jax().numpy
    lr, b1, b2, eps = o["lr"], o["beta1"], o["beta2"], o["eps"]
    torch = o["convention"] == "torch"

    def init(params: Tree) -> State:
        zeros = _map(jnp.zeros_like, params)
        return {"t": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros, "v_max": zeros}

    def one(p: Any, g: Any, m: Any, v: Any, v_max: Any, t: Any) -> tuple[Any, ...]:
        dt = p.dtype
        if o["decoupled_weight_decay"]:
            p = p * (1 - lr * o["weight_decay"])  # AdamW: param.mul_(1 - lr * wd)
        else:
            p, g = _decay(o, p, g)
        if torch:
            m = _lerp(jnp, m, g, 1 - b1)
            v = v * b2 + (1 - b2) * (g * g)
            if o["amsgrad"]:
                v_max = jnp.maximum(v_max, v)
            root = jnp.sqrt(v_max if o["amsgrad"] else v)
            # the corrections in double, as torch's Python floats; then the tensor's dtype
            t64 = t.astype(jnp.float64)
            step_size = (lr / (1 - b1**t64)).astype(dt)
            denom = root / ((1 - b2**t64) ** 0.5).astype(dt) + eps
            return p - step_size * (m / denom), m, v, v_max
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        if o["amsgrad"]:
            v_max = jnp.maximum(v_max, v)
        root = jnp.sqrt(v_max if o["amsgrad"] else v)
        # alpha = lr sqrt(1 - b2^t) / (1 - b1^t), in the parameter's dtype as Keras computes it
        td = t.astype(dt)
        one_ = jnp.asarray(1, dt)
        alpha = (
            jnp.asarray(lr, dt)
            * jnp.sqrt(one_ - jnp.asarray(b2, dt) ** td)
            / (one_ - jnp.asarray(b1, dt) ** td)
        )
        return p - (m * alpha) / (root + eps), m, v, v_max

    def update(params: Tree, grads: Tree, state: State) -> tuple[Tree, State]:
        t = state["t"] + 1
        out = {
            k: one(params[k], grads[k], state["m"][k], state["v"][k], state["v_max"][k], t)
            for k in params
        }
        new = {s: {k: r[i + 1] for k, r in out.items()} for i, s in enumerate(("m", "v", "v_max"))}
        return {k: r[0] for k, r in out.items()}, {"t": t, **new}

    return JaxOptimizer(init, update, via_optax=False)


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer(
        _sgd, ("lr", "momentum", "nesterov", "convention", "weight_decay", "dampening")
    ),
    "rmsprop": Optimizer(
        _rmsprop, ("lr", "rho", "eps", "convention", "weight_decay", "momentum", "centered")
    ),
    "adam": Optimizer(
        _adam,
        (
            "lr",
            "beta1",
            "beta2",
            "eps",
            "convention",
            "weight_decay",
            "amsgrad",
            "decoupled_weight_decay",
        ),
    ),
}
