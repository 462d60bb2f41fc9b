"""Full-batch training runs of a worked example, in any registered framework.

Every example trains on its whole data set each step with plain gradient descent, so a run
is fully described by the example and a number of steps.  Every framework records the same
things, counted in *updates done*:

* ``losses[k]``  the loss at the parameters after ``k`` updates, ``k = 0..steps`` (so
  ``losses[0]`` is the loss before training and ``losses[steps]`` the loss at the end);
* ``grads``      the gradients at the initial parameters;
* ``outputs[k]`` and ``params[k]`` for ``k`` in 0, 1, ``steps - 1``, ``steps`` and any
  further ``marks`` (sources print the output of the last forward pass, which in a loop that
  computes then updates is the one after ``steps - 1`` updates).

The framework comes from the registry (:mod:`parity_tests.harness.registry`): its model's
``forward_backward`` at each mark and its ``train`` (compiled where the framework has a
compiled loop) between marks.  Frameworks are imported only when their run is asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .example import Array, Params, WorkedExample

Progress = Callable[[int, int], None]  # (updates done, total)


@dataclass
class Trajectory:
    framework: str
    losses: Array
    grads: Params
    outputs: dict[int, Array] = field(default_factory=dict)
    params: dict[int, Params] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the training loop (compiled loops: with compilation)
    kinds: frozenset[str] = frozenset()  # the network's layer kinds (they set its tolerances)
    example: str = ""  # the example's name (some have tolerances of their own)

    @property
    def steps(self) -> int:
        return len(self.losses) - 1

    @property
    def final_params(self) -> Params:
        return self.params[self.steps]


def _marks(steps: int, marks: Iterable[int]) -> list[int]:
    out = sorted({0, steps, *marks} | ({1, steps - 1} if steps >= 1 else set()))
    if out[0] < 0 or out[-1] > steps:
        raise ValueError(f"marks must lie in 0..{steps}, got {sorted(marks)}")
    return out


def run(
    framework: str,
    example: WorkedExample,
    steps: int | None = None,
    marks: Iterable[int] = (),
    progress: Progress | None = None,
    **options: Any,
) -> Trajectory:
    """Train ``example`` in ``framework`` (``options`` go to its adapter: ``loop=`` for
    Keras).  Long segments are trained in chunks so that ``progress`` can be reported."""
    from parity_tests.harness import registry

    steps = example.steps if steps is None else steps
    model = registry.get(framework).build(example.spec, example.params, **options)
    X, y = example.X, example.y
    losses = np.empty(steps + 1)
    loop = options.get("loop", "xla")  # Keras: name a loop other than the default
    label = framework if loop == "xla" else f"{framework} ({loop})"
    kinds = frozenset(lay.kind for lay in example.spec.layers)
    traj = Trajectory(label, losses, {}, kinds=kinds, example=example.name)
    chunk = max(1000, steps // 50) if progress is not None else max(steps, 1)
    full_batch = np.arange(len(X), dtype=np.int64)
    start = time.perf_counter()
    done = 0
    for mark in _marks(steps, marks):
        while done < mark:
            n = min(chunk, mark - done)
            losses[done : done + n] = model.train(X, y, np.tile(full_batch, (n, 1)))
            done += n
            if progress is not None:
                progress(done, steps)
        out, loss, grads = model.forward_backward(X, y)
        if mark == 0:
            traj.grads = grads
        traj.outputs[mark], traj.params[mark] = out, model.parameters()
        if mark == steps:  # every other loss comes from the training loop itself
            losses[mark] = loss
    traj.seconds = time.perf_counter() - start
    return traj
