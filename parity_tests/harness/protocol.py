"""The one protocol every framework adapter implements, and the run built on it.

An :class:`Adapter` builds a spec in its framework from given parameters and says what it
cannot build; the :class:`Model` it returns does four things, all in the reference's
parameter names and layouts (``W`` is ``(n_in, n_out)``; an adapter translates both ways):

* ``parameters()`` / ``set_parameters(params)``;
* ``forward_backward(X, y)``: output, loss and gradients at the current parameters;
* ``step(X, y)``: one optimizer step on a batch, with the framework's own optimizer;
* ``train(X, y, batches)``: one step per row of ``batches`` (an integer array of sample
  indices, ``(steps, batch)``), returning the loss before each step.  The base class loops over
  ``step``; a framework with a compiled loop (XLA, ``torch.compile``, ``jax.jit``) overrides it.

and, where the framework can, ``trace(X, y)``: the forward and backward pass layer by layer
(:class:`Trace`), which the first-divergence search reads.

What an adapter implements is data it declares, not code that answers case by case:
``tables()`` names, per category of the reference's registries (:data:`CATEGORIES`), what its
tables implement (read from those tables, never typed twice), and ``refusals()`` what it
declines with the reason.  :meth:`Adapter.refusal` checks a spec against both, then the
adapter's own option-level check (``option_refusal``: a convention it does not compute).  A
registry entry that is in neither is refused too, but the completeness test reports it as a
gap: coverage is never lost silently.  An adapter that converts a user's model implements
``owns`` / ``convert`` / ``wrap`` (:mod:`parity_tests.harness.conversion`).

:func:`run` is the one pipeline the parity suite, the report and the worked examples use:
forward, loss and gradients on the whole data, then the batch schedule with the parameters
recorded at checkpoints.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from reference_nn import ACTIVATIONS, LayerSpec, NetworkSpec
from reference_nn.layers import Layer

if TYPE_CHECKING:
    from parity_tests.harness.conversion import Converted

Array = NDArray[np.floating]
Params = dict[str, Array]
Batches = NDArray[np.int64]  # (steps, batch) sample indices


class Refused(ValueError):
    """The spec uses something this framework has no equivalent for (the message says what)."""


# The categories of the reference's registries that an adapter implements entry by entry.
CATEGORIES = ("layer kind", "activation", "loss", "optimizer")


def used_entries(spec: NetworkSpec) -> dict[str, set[str]]:
    """The registry entries ``spec`` uses, per category: its layer kinds, every option of a
    layer that names an activation (``activation``, ``recurrent_activation``), its loss and
    its optimizer."""
    activations = {
        value
        for lay in spec.layers
        for key, value in lay.options.items()
        if key.endswith("activation") and isinstance(value, str) and value in ACTIVATIONS
    }
    return {
        "layer kind": {lay.kind for lay in spec.layers},
        "activation": activations,
        "loss": {spec.loss},
        "optimizer": {spec.optimizer},
    }


@dataclass(frozen=True)
class ResolvedLayer:
    """One layer of a spec, worked out once: its spec entry, the reference layer built for its
    input shape, and that layer's resolved options (every default filled in)."""

    index: int
    spec: LayerSpec
    layer: Layer

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.layer.options)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.layer.input_shape)


@dataclass(frozen=True)
class Resolved:
    """A spec resolved once per build: the layers (:class:`ResolvedLayer`), the optimizer's
    options with their defaults, and the parameter names the L2 penalty covers.  Adapters take
    this rather than asking the spec again (each ask builds every reference layer anew)."""

    spec: NetworkSpec
    layers: tuple[ResolvedLayer, ...]
    optimizer_options: Mapping[str, Any]
    weight_names: tuple[str, ...]

    @classmethod
    def of(cls, spec: NetworkSpec) -> Resolved:
        built = spec.build_layers()
        layers = tuple(
            ResolvedLayer(i, lay, ref)
            for i, (lay, ref) in enumerate(zip(spec.layers, built, strict=True))
        )
        weights = tuple(f"{i}.{name}" for i, ref in enumerate(built) for name in ref.weight_names)
        return cls(spec, layers, spec.build_optimizer().options(), weights)


@dataclass
class LayerTrace:
    """One layer of a traced pass, in the reference layout."""

    output: Array
    # dL/d(output of this layer); None where the loss does not read the output: a loss on the
    # logits behind it (Keras on TensorFlow with a softmax or sigmoid output layer)
    grad_out: Array | None
    grads: dict[str, Array]  # this layer's parameter gradients, by reference name ("1.W")


@dataclass
class Trace:
    """A forward and backward pass layer by layer (``Model.trace``)."""

    inputs: Array
    layers: list[LayerTrace]


class Model:
    """A spec built in one framework.  Subclasses implement the first four methods."""

    def parameters(self) -> Params:
        raise NotImplementedError

    def set_parameters(self, params: Params) -> None:
        raise NotImplementedError

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        """``(output, loss, gradients)`` at the current parameters, nothing updated."""
        raise NotImplementedError

    def step(self, X: Array, y: Array) -> float:
        """One optimizer step on the batch ``(X, y)``; the loss before the step."""
        raise NotImplementedError

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        """One step per row of ``batches``; the loss before each step."""
        return np.array([self.step(X[idx], y[idx]) for idx in batches], dtype=X.dtype)

    def state(self) -> Params:
        """Non-trainable state by reference name (a batch norm's running statistics), in the
        reference layout; empty for networks without any.  Recorded beside the parameters."""
        return {}

    def predict(self, X: Array) -> Array:
        """The output in inference mode (running statistics, no dropout); nothing updated."""
        raise NotImplementedError(f"{type(self).__name__} has no inference mode")

    def prepare(self, X: Array, y: Array, batches: Batches) -> None:
        """Compile ``train`` for batches of this shape without changing any state (a no-op
        where nothing is compiled), so that timing can separate compilation from training."""

    def trace(self, X: Array, y: Array) -> Trace | None:
        """The training pass on ``(X, y)`` layer by layer, nothing updated; None where this
        framework (or this backend) cannot trace: the first divergence then names the step
        only."""
        return None


class Adapter:
    """A framework: what it can build, how to build it, which versions are installed."""

    name: str = ""

    def load(self) -> None:
        """Import the framework, or raise ``loaders.FrameworkUnavailable`` with the fix."""

    def versions(self) -> dict[str, str]:
        raise NotImplementedError

    def tables(self) -> Mapping[str, Collection[str]]:
        """What this framework's tables implement, per category (:data:`CATEGORIES`); a
        category left out is implemented whole (the reference)."""
        return {}

    # (category, name) -> reason: the registry entries this framework declines on purpose
    REFUSALS: ClassVar[Mapping[tuple[str, str], str]] = {}

    def refusals(self) -> Mapping[tuple[str, str], str]:
        """``(category, name) -> reason`` for each registry entry this framework declines
        (its ``REFUSALS``; an adapter whose refusals vary, by backend, adds to them)."""
        return self.REFUSALS

    def option_refusal(self, resolved: Resolved) -> str | None:
        """The reason this framework cannot run an option of ``resolved`` (a convention it
        does not compute), else None.  Called once the entries themselves are implemented."""
        return None

    def refusal(self, spec: NetworkSpec | Resolved) -> str | None:
        """None if this framework can run ``spec``, else the reason it cannot (one phrase,
        read after "has no equivalent of")."""
        resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
        declared, tables = self.refusals(), self.tables()
        for category, names in used_entries(resolved.spec).items():
            for name in sorted(names):
                if (category, name) in declared:
                    return declared[category, name]
            missing = sorted(names - set(tables.get(category, names)))
            if missing:
                return f"{category}(s) {', '.join(missing)}"
        return self.option_refusal(resolved)

    def gaps(self, category: str, names: Collection[str]) -> list[str]:
        """The entries of ``names`` this framework neither implements nor refuses."""
        tables, declared = self.tables(), self.refusals()
        if category not in tables:
            return []
        return sorted(
            n for n in names if n not in tables[category] and (category, n) not in declared
        )

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> Model:
        raise NotImplementedError

    def check_supported(self, spec: NetworkSpec | Resolved) -> None:
        reason = self.refusal(spec)
        if reason:
            raise Refused(f"{self.name} has no equivalent of {reason}")

    # A user's own model (refnn check-model, from_torch / from_keras): adapters of frameworks
    # people write models in implement these, and name such a model ("a torch module").
    model_noun: str = ""

    def owns(self, obj: Any) -> bool:
        """Whether ``obj`` is a model of this framework (in this process)."""
        return False

    def convert(self, obj: Any, **spec_options: Any) -> Converted:
        """``obj`` as a reference spec and parameters (``ConversionError``: what it cannot)."""
        raise NotImplementedError(f"{self.name} converts no models")

    def wrap(self, obj: Any, converted: Converted) -> Model:
        """A model of this adapter whose network *is* ``obj`` (not a copy rebuilt from the
        spec): the loss and optimizer come from ``converted.spec``."""
        raise NotImplementedError(f"{self.name} converts no models")

    def loss_options(self, spec: NetworkSpec) -> dict[str, str]:
        """The loss convention this framework computes for ``spec`` (a cross-entropy's
        clipping), to convert a user's model faithfully; empty where there is one."""
        return {}


@dataclass
class RunResult:
    """What a run records, the same for every framework (reference names and layouts)."""

    output: Array
    loss: Array  # 0-d array, in the run's dtype
    grads: Params
    after: dict[int, Params] = field(default_factory=dict)  # step number -> parameters

    def quantities(self) -> dict[str, dict[str, Array]]:
        """Flat view for comparison: quantity -> {tensor name -> array}."""
        out: dict[str, dict[str, Array]] = {
            "forward": {"output": self.output},
            "loss": {"loss": np.asarray(self.loss)},
            "grads": self.grads,
        }
        for step, params in self.after.items():
            out[f"step_{step}"] = params
        return out


def checkpoints(n_steps: int) -> tuple[int, ...]:
    return tuple(sorted({1, n_steps})) if n_steps else ()


def as_batches(batches: Sequence[NDArray[np.int64]] | Batches) -> list[Batches]:
    """Split a schedule into runs of equal batch size (the last batch of an epoch may be
    smaller), each an ``(steps, batch)`` array that ``Model.train`` takes at once."""
    runs: list[list[NDArray[np.int64]]] = []
    for idx in batches:
        if runs and len(runs[-1][-1]) == len(idx):
            runs[-1].append(np.asarray(idx))
        else:
            runs.append([np.asarray(idx)])
    return [np.stack(r).astype(np.int64) for r in runs]


def train_schedule(model: Model, X: Array, y: Array, batches: Sequence[Any]) -> Array:
    """``model.train`` over a schedule whose batch sizes may vary; the losses, in order."""
    parts = [model.train(X, y, run) for run in as_batches(batches)]
    return np.concatenate(parts) if parts else np.empty(0, X.dtype)


def run(model: Model, X: Array, y: Array, batches: Sequence[NDArray[np.int64]]) -> RunResult:
    """Forward, loss and gradients on all of ``X``; then the batches, with the parameters
    (and any non-trainable state) kept after the first and the last step."""
    output, loss, grads = model.forward_backward(X, y)
    result = RunResult(output=output, loss=np.asarray(loss), grads=grads)
    done = 0
    for mark in checkpoints(len(batches)):
        train_schedule(model, X, y, batches[done:mark])
        done = mark
        result.after[mark] = {**model.parameters(), **model.state()}
    return result
