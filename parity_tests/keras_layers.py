"""Reference layer kinds in Keras 3: for each kind, the Keras layer that computes it and the
names of its variables (Keras' layouts: ``Dense.kernel`` is ``(n_in, n_out)``, as in the
reference).  A new layer kind is one entry in ``LAYERS``; the adapter is :mod:`.keras_mirror`.
Only ``keras`` APIs are used here, so the table serves every Keras backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import frameworks


def _activation(name: str, params: dict[str, float]) -> Any:
    act = frameworks.keras().activations
    table: dict[str, Any] = {
        "identity": "linear",
        "sigmoid": "sigmoid",
        "tanh": "tanh",
        "relu": "relu",
        # TF takes the slope as a float32 attribute: exact only for float32-representable alphas
        "leaky_relu": lambda x: act.leaky_relu(x, negative_slope=params["alpha"]),
        "elu": lambda x: act.elu(x, alpha=params.get("alpha", 1.0)),
        "softplus": "softplus",
        "softmax": "softmax",
    }
    return table[name]


@dataclass(frozen=True)
class KerasLayer:
    """How one reference layer kind is built in Keras and how its parameters translate."""

    build: Callable[[Any, dict[str, Any], Any, str], Any]  # (keras, options, regularizer, dtype)
    names: dict[str, str]  # reference parameter name -> Keras attribute ("W" -> "kernel")


def _dense(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return keras.layers.Dense(
        options["units"],
        activation=_activation(options["activation"], options["activation_options"]),
        use_bias=options["use_bias"],
        kernel_regularizer=regularizer,
        dtype=dtype,  # explicit: after one float64 model, later layers no longer follow floatx
    )


LAYERS: dict[str, KerasLayer] = {
    "dense": KerasLayer(_dense, {"W": "kernel", "b": "bias"}),
}
