"""What differs between Keras's backends, as data: the training loops each has, the layer
kinds measured on each, and the replacements that keep float64 where Keras computes in float32.

Keras reads ``KERAS_BACKEND`` once, at import, so one process runs one backend
(``loaders.keras_backend``); the adapter is registered once per backend (``keras``,
``keras-jax``, ``keras-torch``).

Precision on the JAX and torch backends (Keras 3.15): ``keras.backend.result_type`` maps
float64 to float32 on every backend but TensorFlow (``BIT64_TO_BIT32_DTYPE`` in
``keras/src/backend/common/dtypes.py``), so every op that resolves its dtype through it
computes in float32 for float64 inputs.  Measured (``tests/parity/test_backends.py``):

* torch: ``ops.matmul`` / ``dot`` / ``tensordot`` (so ``Dense``), ``ops.mean`` (so every
  ``keras.losses`` class), ``ops.maximum``;
* jax: ``ops.tanh`` (so ``keras.activations.tanh``), ``ops.mean`` (so every loss class).

What the adapter does about it, where Keras allows: the loss is Keras's elementwise op reduced
with ``ops.sum`` and the backend's own division (:mod:`.losses`); a dense layer on torch is
``keras.layers.EinsumDense`` (``BACKEND_LAYERS``); ``tanh`` on JAX in a float64 spec is
``x - ops.tanh_shrink(x)`` (``FLOAT64_ACTIVATIONS``).  ``tests/parity/test_backends.py`` shows
each drop and each replacement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_tests.frameworks.keras.layers import LAYERS, KerasLayer, activation

BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "torch"}

# the training loops each backend has; the first is the default (see :mod:`.compiled`)
LOOPS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("xla", "graph", "eager"),
    "jax": ("xla", "eager"),
    "torch": ("eager",),
}

# The layer kinds whose parity is measured on every backend; the others are refused on every
# backend but TensorFlow, each with this reason.
EVERY_BACKEND_KINDS = ("dense", "flatten")
MEASURED_ON_TENSORFLOW_ONLY = (
    "layer kind(s) {kind} on the {backend} backend (the layer kinds' parity is measured on "
    "TensorFlow only)"
)


def refusals(backend: str) -> dict[tuple[str, str], str]:
    """``(category, name) -> reason`` for what Keras on ``backend`` declines on purpose."""
    if backend == "tensorflow":
        return {}
    return {
        ("layer kind", kind): MEASURED_ON_TENSORFLOW_ONLY.format(kind=kind, backend=backend)
        for kind in LAYERS
        if kind not in EVERY_BACKEND_KINDS
    }


def _einsum_dense(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    """A dense layer as ``EinsumDense("ab,bc->ac")``: the same kernel ``(n_in, n_out)`` and bias,
    computed with ``ops.einsum``, which keeps float64 on the torch backend (``ops.matmul``,
    what ``Dense`` calls, casts float64 to float32 there)."""
    return keras.layers.EinsumDense(
        "ab,bc->ac",
        output_shape=(options["units"],),
        activation=activation(options["activation"], options["activation_options"]),
        bias_axes="c" if options["use_bias"] else None,
        kernel_regularizer=regularizer,
        dtype=dtype,
    )


# (backend, layer kind) -> a translation used instead of LAYERS[kind] on that backend
BACKEND_LAYERS: dict[tuple[str, str], KerasLayer] = {
    ("torch", "dense"): KerasLayer(_einsum_dense, {"W": "kernel", "b": "bias"}),
}


def layer_table(backend: str, kind: str) -> KerasLayer:
    """The translation of layer ``kind`` on ``backend``."""
    return BACKEND_LAYERS.get((backend, kind)) or LAYERS[kind]


def _tanh_by_tanh_shrink(keras: Any) -> Callable[[Any], Any]:
    """tanh(x) = x - tanh_shrink(x): ``keras.ops.tanh_shrink`` keeps float64 on JAX (``x -
    jnp.tanh(x)``), where ``keras.ops.tanh`` casts to float32 (its output is even *typed*
    float32).  The subtraction is exact (Sterbenz) except for the rounding of ``x - tanh(x)``:
    ~1 ulp of ``x``, measured 1e-16."""
    ops = keras.ops
    return lambda x: x - ops.tanh_shrink(x)


# (backend, Keras activation name) -> a float64 form of that activation, used in float64 specs
# where the Keras activation itself computes in float32
FLOAT64_ACTIVATIONS: dict[tuple[str, str], Callable[[Any], Callable[[Any], Any]]] = {
    ("jax", "tanh"): _tanh_by_tanh_shrink,
}


def float64_activation(keras: Any, backend: str, layer: Any, dtype: str) -> None:
    """Replace the layer's activation with its float64 form on this backend, if it has one."""
    act: Any = getattr(layer, "activation", None)
    name = getattr(act, "__name__", "")
    form = FLOAT64_ACTIVATIONS.get((backend, name))
    if dtype == "float64" and form is not None and act is getattr(keras.activations, name, None):
        layer.activation = form(keras)
