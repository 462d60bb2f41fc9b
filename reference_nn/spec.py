"""A plain, serialisable description of a network, its loss and its optimizer (spec v2).

One spec drives every implementation: the reference builds it here, each framework adapter
of ``parity_tests`` builds the same thing.  It holds names and numbers only (no arrays), so
it round-trips through JSON unchanged.  Initial weights are data, drawn with
:meth:`NetworkSpec.init_parameters` and handed to every implementation.

JSON form (version 2)::

    {"version": 2, "input_shape": [2],
     "layers": [{"kind": "dense", "units": 3, "activation": "sigmoid"},
                {"kind": "dense", "units": 1, "activation": "sigmoid"}],
     "loss": "mse", "loss_options": {}, "optimizer": "sgd", "optimizer_options": {"lr": 0.05},
     "regularizer": null, "dtype": "float64",
     "weight_init": "uniform01", "bias_init": "uniform01"}

Each layer entry is a ``kind`` (a name in :data:`reference_nn.layers.LAYER_KINDS`) plus that
kind's options.  Version 1 files (``input_dim``, layers without a kind, ``*_params``) still
load: :meth:`NetworkSpec.from_dict` converts them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ._checks import AllocationError, Array, as_dtype, check_allocation, check_keys
from .initializers import INITIALIZERS, get_initializer
from .layers import LAYER_KINDS, Layer, build_layer
from .losses import LOSSES, get_loss
from .network import Sequential
from .optimizers import OPTIMIZERS, Optimizer, get_optimizer
from .options import SpecError
from .regularizers import L2

VERSION = 2


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its ``kind`` and that kind's options (checked when the network is built)."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def dense(
        cls,
        units: int,
        activation: str = "sigmoid",
        activation_options: Mapping[str, float] | None = None,
        use_bias: bool = True,
    ) -> LayerSpec:
        """``LayerSpec.dense(3, "sigmoid")``: the common case, spelled briefly."""
        options: dict[str, Any] = {"units": units, "activation": activation}
        if activation_options:
            options["activation_options"] = dict(activation_options)
        if not use_bias:
            options["use_bias"] = False
        return cls("dense", options)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.options}

    @classmethod
    def from_dict(cls, data: Any, where: str = "layer") -> LayerSpec:
        if isinstance(data, LayerSpec):
            return data
        if not isinstance(data, Mapping):
            raise SpecError(f"{where}: must be an object with a 'kind', got {data!r}")
        if "kind" not in data:
            raise SpecError(
                f"{where}: has no 'kind'; valid kinds: {', '.join(sorted(LAYER_KINDS))}"
            )
        options = {k: v for k, v in data.items() if k != "kind"}
        return cls(data["kind"], options)


def _from_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 dict in version-2 form: ``input_dim`` -> ``input_shape``, kind-less layers
    -> dense layers, ``*_params`` -> ``*_options``."""
    out = dict(data)
    if "input_dim" in out:
        out["input_shape"] = [out.pop("input_dim")]
    for old, new in (("loss_params", "loss_options"), ("optimizer_params", "optimizer_options")):
        if old in out:
            out[new] = out.pop(old)
    layers = out.get("layers", [])
    if isinstance(layers, list | tuple):
        converted = []
        for layer in layers:
            if isinstance(layer, Mapping) and "kind" not in layer:
                layer = dict(layer)
                if "activation_params" in layer:
                    layer["activation_options"] = layer.pop("activation_params")
                layer = {"kind": "dense", **layer}
            converted.append(layer)
        out["layers"] = converted
    out["version"] = VERSION
    return out


def _refused_array(exc: MemoryError) -> str:
    """What NumPy's MemoryError was about, in the words of ``check_allocation``."""
    shape, dtype = getattr(exc, "shape", None), getattr(exc, "dtype", None)
    if shape is None or dtype is None:
        return f"not enough memory ({exc})"
    nbytes = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    what = f"a parameter of shape {tuple(shape)} in {np.dtype(dtype).name}"
    try:
        check_allocation(nbytes, what, "make the layer smaller")
    except AllocationError as too_big:
        return str(too_big)
    return f"{what} ({nbytes / 2**30:,.1f} GiB) could not be allocated: {exc}"


def _require(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise SpecError(f"{where} must be {what}, got {value!r} ({type(value).__name__})")


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to rebuild a network anywhere.

    ``input_shape`` is the shape of one sample (an int means a flat input of that many
    features).  ``regularizer`` is ``None`` or ``{"lam": ..., "convention": "keras" |
    "course"}``; ``optimizer_options`` must include ``lr``.
    """

    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    loss: str = "mse"
    loss_options: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "sgd"
    optimizer_options: dict[str, Any] = field(default_factory=lambda: {"lr": 0.01})
    regularizer: dict[str, Any] | None = None
    dtype: str = "float64"
    weight_init: str = "glorot_uniform"
    bias_init: str = "zeros"
    version: int = VERSION

    def __post_init__(self) -> None:
        # Normalise (lists from JSON -> tuples, dtype names) and validate every field now, so
        # a bad spec fails where it is written, not deep inside a framework adapter.
        shape = self.input_shape
        shape = (shape,) if isinstance(shape, int) and not isinstance(shape, bool) else shape
        _require("input_shape", shape, (list, tuple), "a list of positive integers")
        for n in shape:
            _require("input_shape", n, int, "a list of positive integers")
        if not shape or min(shape) < 1:
            raise SpecError(f"input_shape must be a list of positive integers, got {shape!r}")
        object.__setattr__(self, "input_shape", tuple(shape))
        _require("layers", self.layers, (list, tuple), "a list of layer objects")
        if not self.layers:
            raise SpecError("layers must list at least one layer")
        layers = tuple(
            LayerSpec.from_dict(lay, f"layers[{i}]") for i, lay in enumerate(self.layers)
        )
        object.__setattr__(self, "layers", layers)
        for i, lay in enumerate(layers):
            if lay.kind not in LAYER_KINDS:
                kinds = ", ".join(sorted(LAYER_KINDS))
                raise SpecError(f"layers[{i}]: unknown kind {lay.kind!r}; valid: {kinds}")
        if self.version not in (1, VERSION):
            raise SpecError(f"version must be 1 or {VERSION}, got {self.version!r}")
        object.__setattr__(self, "version", VERSION)
        for name, valid in (
            ("loss", LOSSES),
            ("optimizer", OPTIMIZERS),
            ("weight_init", INITIALIZERS),
            ("bias_init", INITIALIZERS),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in valid:
                raise SpecError(f"unknown {name} {value!r}; valid: {', '.join(sorted(valid))}")
        for name in ("loss_options", "optimizer_options"):
            _require(name, getattr(self, name), Mapping, "an object")
        if self.regularizer is not None:
            _require("regularizer", self.regularizer, Mapping, "null or an object")
        try:
            object.__setattr__(self, "dtype", as_dtype(self.dtype).name)
        except TypeError as exc:
            raise SpecError(f"dtype: {exc}") from exc
        get_initializer(self.weight_init)
        get_initializer(self.bias_init)
        self.build_network()
        self.build_optimizer()

    # ------------------------------------------------------------------ building
    @property
    def np_dtype(self) -> np.dtype[Any]:
        return as_dtype(self.dtype)

    def build_layers(self) -> list[Layer]:
        """The reference layers, each built for the output shape of the one before it."""
        layers: list[Layer] = []
        shape = self.input_shape
        count = total = 0
        for i, lay in enumerate(self.layers):
            where = f"layers[{i}] ({lay.kind})"
            try:
                layer = build_layer(lay.kind, shape, self.dtype, **lay.options)
            except ValueError as exc:  # SpecError, ShapeError, an activation's own check
                raise SpecError(f"layers[{i}]: {exc}") from None
            except MemoryError as exc:  # NumPy refused one of its arrays outright
                raise SpecError(f"{where}: {_refused_array(exc)}") from None
            # A layer's arrays are zeros, which NumPy maps without touching memory: the
            # sizes are known here, before anything is written into them (initialisation,
            # training).  Parameters alone larger than memory cannot train on this machine.
            arrays = [*layer.params.values(), *getattr(layer, "state", {}).values()]
            size = sum(a.size for a in arrays)
            count, total = count + size, total + sum(a.nbytes for a in arrays)
            before = f" ({count:,} with the layers before it)" if layers else ""
            try:
                check_allocation(
                    total, f"{where}: {size:,} parameters{before}", "make the layer smaller"
                )
            except AllocationError as exc:
                raise SpecError(str(exc)) from None
            layers.append(layer)
            shape = layer.output_shape
        return layers

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.build_layers()[-1].output_shape

    def build_network(self) -> Sequential:
        """A fresh reference network (parameters zero until set or initialised)."""
        regularizer = None
        if self.regularizer is not None:
            check_keys("regularizer", self.regularizer, ("lam", "convention"))
            regularizer = L2(**self.regularizer)
        loss = get_loss(self.loss, **self.loss_options)
        return Sequential(self.build_layers(), loss, regularizer=regularizer)

    def build_optimizer(self) -> Optimizer:
        return get_optimizer(self.optimizer, **self.optimizer_options)

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
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        return NetworkSpec(**{**current, **changes})

    # ------------------------------------------------------------------ serialising
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "input_shape": list(self.input_shape),
            "layers": [layer.to_dict() for layer in self.layers],
            "loss": self.loss,
            "loss_options": dict(self.loss_options),
            "optimizer": self.optimizer,
            "optimizer_options": dict(self.optimizer_options),
            "regularizer": None if self.regularizer is None else dict(self.regularizer),
            "dtype": self.dtype,
            "weight_init": self.weight_init,
            "bias_init": self.bias_init,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkSpec:
        if not isinstance(data, Mapping):
            raise SpecError(f"a spec must be a JSON object, got {type(data).__name__}")
        if data.get("version", 1) == 1:
            data = _from_v1(data)
        check_keys("NetworkSpec", data, [f.name for f in fields(cls)])
        missing = [name for name in ("input_shape", "layers") if name not in data]
        if missing:
            raise SpecError(f"spec is missing {', '.join(missing)}")
        return cls(**data)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> NetworkSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"spec is not valid JSON: {exc}") from None
        return cls.from_dict(data)
