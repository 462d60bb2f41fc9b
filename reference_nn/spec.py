"""A plain, serialisable description of a network, its loss and its optimizer.

One spec drives all three implementations: the reference builds it here, the parity
mirrors build the same thing in torch and Keras.  It holds names and numbers only (no
arrays), so it round-trips through JSON unchanged.  Initial weights are data, drawn with
:meth:`NetworkSpec.init_parameters` and handed to every implementation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from ._checks import Array, as_dtype, check_keys
from .initializers import get_initializer
from .layers import Dense
from .losses import get_loss
from .network import Sequential
from .optimizers import Optimizer, get_optimizer
from .regularizers import L2


@dataclass(frozen=True)
class LayerSpec:
    units: int
    activation: str = "sigmoid"
    activation_params: dict[str, float] = field(default_factory=dict)
    use_bias: bool = True


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to rebuild a network anywhere.

    ``regularizer`` is ``None`` or ``{"lam": ..., "convention": "keras" | "course"}``;
    ``optimizer_params`` must include ``lr``.
    """

    input_dim: int
    layers: tuple[LayerSpec, ...]
    loss: str = "mse"
    loss_params: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "sgd"
    optimizer_params: dict[str, Any] = field(default_factory=lambda: {"lr": 0.01})
    regularizer: dict[str, Any] | None = None
    dtype: str = "float64"
    weight_init: str = "glorot_uniform"
    bias_init: str = "zeros"

    def __post_init__(self) -> None:
        # Normalise (lists from JSON -> tuples, dtype names) and validate every name now,
        # so a bad spec fails where it is written, not deep inside a framework mirror.
        layers = tuple(
            lay if isinstance(lay, LayerSpec) else LayerSpec(**lay) for lay in self.layers
        )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "dtype", as_dtype(self.dtype).name)
        if self.input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {self.input_dim}")
        get_initializer(self.weight_init)
        get_initializer(self.bias_init)
        self.build_network()
        self.build_optimizer()

    # ------------------------------------------------------------------ building
    @property
    def np_dtype(self) -> np.dtype[Any]:
        return as_dtype(self.dtype)

    @property
    def sizes(self) -> list[int]:
        return [self.input_dim] + [layer.units for layer in self.layers]

    def build_network(self) -> Sequential:
        """A fresh reference network (parameters zero until set or initialised)."""
        sizes = self.sizes
        layers = [
            Dense(
                sizes[i],
                sizes[i + 1],
                lay.activation,
                use_bias=lay.use_bias,
                dtype=self.dtype,
                activation_params=lay.activation_params,
            )
            for i, lay in enumerate(self.layers)
        ]
        regularizer = None
        if self.regularizer is not None:
            check_keys("regularizer", self.regularizer, ("lam", "convention"))
            regularizer = L2(**self.regularizer)
        return Sequential(layers, get_loss(self.loss, **self.loss_params), regularizer=regularizer)

    def build_optimizer(self) -> Optimizer:
        return get_optimizer(self.optimizer, **self.optimizer_params)

    def init_parameters(self, seed: int | np.random.Generator) -> dict[str, Array]:
        """Initial parameters drawn from ``numpy.random.default_rng(seed)``, by name."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        network = self.build_network()
        network.initialize(rng, self.weight_init, self.bias_init)
        return network.get_parameters()

    def parameter_names(self) -> list[str]:
        return list(self.build_network().parameters)

    def with_changes(self, **changes: Any) -> NetworkSpec:
        """A copy with some fields replaced (e.g. ``dtype="float32"``)."""
        return NetworkSpec(**{**self.to_dict(), **changes})

    # ------------------------------------------------------------------ serialising
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["layers"] = [asdict(layer) for layer in self.layers]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkSpec:
        check_keys("NetworkSpec", data, [f.name for f in fields(cls)])
        return cls(**data)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> NetworkSpec:
        return cls.from_dict(json.loads(text))
