"""Reference layer kinds in PyTorch: for each kind, the ``torch.nn`` modules that compute it and
how its parameters translate between the reference layout and torch's.  A new layer kind is
one entry in ``LAYERS`` (and ``TORCH_NAMES``); the adapter is :mod:`.torch_mirror`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import frameworks
from .adapter import Array


def _activation(name: str, params: dict[str, float]) -> Any:
    nn = frameworks.torch().nn
    table: dict[str, Callable[[], Any]] = {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope=params["alpha"]),
        "elu": lambda: nn.ELU(alpha=params.get("alpha", 1.0)),
        "softplus": nn.Softplus,  # beta=1, threshold=20: linear above 20 (cases stay below)
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    return table[name]()


@dataclass(frozen=True)
class TorchLayer:
    """How one reference layer kind is built in torch and how its parameters translate."""

    build: Callable[[Any, dict[str, Any], tuple[int, ...], Any], list[Any]]  # -> modules
    to_torch: Callable[[str, Array], Array]  # reference name, value -> torch layout
    from_torch: Callable[[str, Array], Array]


def _dense(torch: Any, options: dict[str, Any], input_shape: tuple[int, ...], dtype: Any) -> list:
    units, bias = options["units"], options["use_bias"]
    linear = torch.nn.Linear(input_shape[0], units, bias=bias, dtype=dtype)
    return [linear, _activation(options["activation"], options["activation_options"])]


def _transpose_weight(name: str, value: Array) -> Array:
    return value.T.copy() if name == "W" else value.copy()


# reference layer kind -> its torch translation; parameter names map in layer order
LAYERS: dict[str, TorchLayer] = {
    "dense": TorchLayer(_dense, _transpose_weight, _transpose_weight),
}
# reference parameter name -> torch attribute name, per kind
TORCH_NAMES: dict[str, dict[str, str]] = {"dense": {"W": "weight", "b": "bias"}}
