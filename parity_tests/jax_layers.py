"""Reference layer kinds in JAX: for each kind, a pure function of the layer's parameters and its
input in ``jax.numpy``, and how its parameters translate (the reference's layouts are kept: a
dense ``W`` is ``(n_in, n_out)``).  A new layer kind is one entry in ``LAYERS``; the adapter is
:mod:`.jax_adapter`.  Activations are ``jax.nn`` / ``jax.numpy`` functions, by reference name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import frameworks
from .adapter import Array


def _activation(name: str, options: dict[str, float]) -> Callable[[Any], Any]:
    jax = frameworks.jax()
    jnp, nn = jax.numpy, jax.nn
    table: dict[str, Callable[[Any], Any]] = {
        "identity": lambda z: z,
        "sigmoid": nn.sigmoid,
        "tanh": jnp.tanh,
        "relu": nn.relu,
        "leaky_relu": lambda z: nn.leaky_relu(z, negative_slope=options["alpha"]),
        "elu": lambda z: nn.elu(z, alpha=options.get("alpha", 1.0)),
        "softplus": nn.softplus,
        "softmax": lambda z: nn.softmax(z, axis=-1),
    }
    return table[name]


ACTIVATION_NAMES = (
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softplus",
    "softmax",
)


@dataclass(frozen=True)
class JaxLayer:
    """How one reference layer kind computes in JAX and how its parameters translate."""

    # (options, params by reference name ("W"), x, training) -> y, all jax arrays
    apply: Callable[[dict[str, Any], dict[str, Any], Any, bool], Any]
    to_jax: Callable[[str, Array], Array]  # reference name, value -> JAX layout
    from_jax: Callable[[str, Array], Array]
    # the layer's activation names (None: no activation), checked by ``unsupported``
    activations: Callable[[dict[str, Any]], tuple[str, ...]] = lambda options: ()


def _dense(options: dict[str, Any], params: dict[str, Any], x: Any, training: bool) -> Any:
    z = x @ params["W"]
    if options["use_bias"]:
        z = z + params["b"]
    return _activation(options["activation"], options["activation_options"])(z)


def _same(name: str, value: Array) -> Array:
    return value.copy()


LAYERS: dict[str, JaxLayer] = {
    "dense": JaxLayer(_dense, _same, _same, lambda options: (options["activation"],)),
}
