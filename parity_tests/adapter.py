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

:func:`run` is the one pipeline the parity suite, the report and the worked examples use:
forward, loss and gradients on the whole data, then the batch schedule with the parameters
recorded at checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import NetworkSpec

Array = NDArray[np.floating]
Params = dict[str, Array]
Batches = NDArray[np.int64]  # (steps, batch) sample indices


class NotMirrored(ValueError):
    """The spec uses something this framework has no equivalent for (the message says what)."""


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


class Adapter:
    """A framework: what it can build, how to build it, which versions are installed."""

    name: str = ""

    def load(self) -> None:
        """Import the framework, or raise ``frameworks.FrameworkUnavailable`` with the fix."""

    def versions(self) -> dict[str, str]:
        raise NotImplementedError

    def unsupported(self, spec: NetworkSpec) -> str | None:
        """None if this framework can run ``spec``, else the reason it cannot."""
        return None

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> Model:
        raise NotImplementedError

    def check_supported(self, spec: NetworkSpec) -> None:
        reason = self.unsupported(spec)
        if reason:
            raise NotMirrored(f"{self.name} has no equivalent of {reason}")


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
