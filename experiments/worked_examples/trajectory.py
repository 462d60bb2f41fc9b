"""Full-batch training runs of a worked example in NumPy, PyTorch and Keras.

Every example trains on its whole data set each step with plain gradient descent, so a run
is fully described by the example and a number of steps.  All three runners record the same
things, counted in *updates done*:

* ``losses[k]``  the loss at the parameters after ``k`` updates, ``k = 0..steps`` (so
  ``losses[0]`` is the loss before training and ``losses[steps]`` the loss at the end);
* ``grads``      the gradients at the initial parameters;
* ``outputs[k]`` and ``params[k]`` for ``k`` in 0, 1, ``steps - 1``, ``steps`` and any
  further ``marks`` (sources print the output of the last forward pass, which in a loop that
  computes then updates is the one after ``steps - 1`` updates).

NumPy is the reference (``reference_nn``); PyTorch and Keras reuse the parity mirrors
(``parity_tests.torch_mirror.TorchMirror``, ``parity_tests.keras_mirror.KerasMirror``) by
composition: their model, loss and optimizer, driven by a loop written here.  Keras runs its
steps inside one compiled ``tf.function`` (see :mod:`.keras_loop`); eager Keras costs
milliseconds a step.  Frameworks are imported only when their runner is called.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .example import Array, Params, WorkedExample

FRAMEWORKS = ("numpy", "torch", "keras")
Progress = Callable[[int, int], None]  # (updates done, total)


@dataclass
class Trajectory:
    framework: str
    losses: Array
    grads: Params
    outputs: dict[int, Array] = field(default_factory=dict)
    params: dict[int, Params] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the training loop (Keras: including compilation)

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


def run_numpy(
    example: WorkedExample,
    steps: int | None = None,
    marks: Iterable[int] = (),
    progress: Progress | None = None,
) -> Trajectory:
    """The reference: ``Sequential.loss_and_gradients`` then ``SGD.step``, ``steps`` times."""
    steps = example.steps if steps is None else steps
    wanted = set(_marks(steps, marks))
    net = example.network()
    optimizer = example.spec.build_optimizer()
    params = net.parameters  # live arrays: the optimizer updates them in place
    losses = np.empty(steps + 1)
    grads0: Params = {}
    start = time.perf_counter()
    traj = Trajectory("numpy", losses, grads0)
    for k in range(steps + 1):
        loss, grads = net.loss_and_gradients(example.X, example.y)
        losses[k] = loss
        if k == 0:
            grads0.update(grads)
        if k in wanted:
            traj.outputs[k] = net.forward(example.X).copy()
            traj.params[k] = net.get_parameters()
        if k < steps:
            optimizer.step(params, grads)
        if progress is not None and (k % 1000 == 0 or k == steps):
            progress(k, steps)
    traj.seconds = time.perf_counter() - start
    return traj


def run_torch(
    example: WorkedExample,
    steps: int | None = None,
    marks: Iterable[int] = (),
    progress: Progress | None = None,
) -> Trajectory:
    """The parity mirror's ``nn.Sequential``, loss and ``torch.optim.SGD``, eagerly."""
    from parity_tests.torch_mirror import TorchMirror

    steps = example.steps if steps is None else steps
    wanted = set(_marks(steps, marks))
    mirror = TorchMirror(example.spec, example.params)
    torch = mirror.torch
    X, y = torch.from_numpy(example.X), torch.from_numpy(example.y)
    losses = np.empty(steps + 1)
    traj = Trajectory("torch", losses, {})
    start = time.perf_counter()
    for k in range(steps + 1):
        mirror.optimizer.zero_grad()
        out, loss = mirror.output_and_loss(X, y)  # the mirror's loss incl. any L2 penalty
        loss.backward()
        losses[k] = loss.item()
        if k == 0:
            traj.grads = mirror.named(lambda t: t.grad)
        if k in wanted:
            traj.outputs[k] = out.detach().numpy().copy()
            traj.params[k] = mirror.parameters()
        if k < steps:
            mirror.optimizer.step()
        if progress is not None and (k % 1000 == 0 or k == steps):
            progress(k, steps)
    traj.seconds = time.perf_counter() - start
    return traj


def run_keras(
    example: WorkedExample,
    steps: int | None = None,
    marks: Iterable[int] = (),
    progress: Progress | None = None,
    *,
    loop: str = "xla",
) -> Trajectory:
    """The parity mirror's Keras model, loss and ``keras.optimizers.SGD``, compiled.

    ``loop``: ``"xla"`` (``tf.function(jit_compile=True)``), ``"graph"`` (``tf.function``
    without XLA) or ``"eager"`` (a Python loop; milliseconds a step: short runs only).
    """
    from .keras_loop import KerasLoop

    steps = example.steps if steps is None else steps
    at = _marks(steps, marks)
    runner = KerasLoop(example, loop=loop)
    losses = np.empty(steps + 1)
    traj = Trajectory(f"keras ({loop})" if loop != "xla" else "keras", losses, runner.gradients())
    # Progress on a terminal: split long segments into chunks.  The loop body is the same
    # whatever the chunk length (the step count is a tensor argument: no retracing).
    chunk = max(1, steps // 50) if progress is not None else steps
    start = time.perf_counter()
    done = 0
    for mark in at:
        while done < mark:
            n = min(chunk, mark - done)
            losses[done : done + n] = runner.train(n)
            done += n
            if progress is not None:
                progress(done, steps)
        out, loss = runner.evaluate()
        traj.outputs[mark], traj.params[mark] = out, runner.parameters()
        if mark == steps:
            losses[steps] = loss
    traj.seconds = time.perf_counter() - start
    return traj


RUNNERS: dict[str, Callable[..., Trajectory]] = {
    "numpy": run_numpy,
    "torch": run_torch,
    "keras": run_keras,
}


def run(
    framework: str,
    example: WorkedExample,
    steps: int | None = None,
    marks: Iterable[int] = (),
    progress: Progress | None = None,
    **options: Any,
) -> Trajectory:
    """Train ``example`` in ``framework`` (``options``: ``loop=`` for Keras)."""
    if framework not in RUNNERS:
        raise ValueError(f"unknown framework {framework!r}; valid: {', '.join(FRAMEWORKS)}")
    return RUNNERS[framework](example, steps, marks, progress, **options)
