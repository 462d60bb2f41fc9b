"""Run the housing experiment in each framework from the same weights and orders, and measure.

Every framework comes from the registry (:mod:`parity_tests.harness.registry`) and trains the spec
of the protocol from its initial parameters (each with its own progress bar); after every epoch the
parameters are kept, so agreement can be measured epoch by epoch afterwards.  Train and test
MSE are computed from each framework's parameters with the reference's forward pass, so that
any difference between frameworks is a difference in the trained parameters alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reference_nn.metrics import mean_squared_error, r2_score

from .protocol import HousingProblem

Params = dict[str, np.ndarray]


@dataclass
class FrameworkRun:
    framework: str
    compile_seconds: float
    train_seconds: float
    params_per_epoch: list[Params] = field(default_factory=list)


def train(
    problem: HousingProblem, framework: str, progress: Callable[[str, int, int], None] | None = None
) -> FrameworkRun:
    """Train ``problem.spec`` from ``problem.initial`` in ``framework`` (any registered one),
    one sample a step in the epoch orders, through the adapter's ``train``: compiled where the
    framework has a compiled loop, the textbook per-sample loop for NumPy."""
    from parity_tests.harness import registry

    s = problem.split
    start = time.perf_counter()
    model = registry.get(framework).build(problem.spec, problem.initial)
    per_sample = problem.orders[:, :, None]  # (epochs, n, 1): one sample per step
    model.prepare(s.X_train, s.y_train, per_sample[0])
    compiled = time.perf_counter()
    run = FrameworkRun(framework, compiled - start, 0.0)
    for epoch, batches in enumerate(per_sample):
        model.train(s.X_train, s.y_train, batches)
        run.params_per_epoch.append(model.parameters())
        if progress:
            progress(framework, epoch + 1, len(per_sample))
    run.train_seconds = time.perf_counter() - compiled
    return run


def train_in_backend(
    problem: HousingProblem,
    framework: str,
    progress: Callable[[str, int, int], None] | None,
    keras_backend: str | None,
) -> FrameworkRun:
    """:func:`train` in a fresh worker process, with ``KERAS_BACKEND`` set first for a Keras
    framework (before anything imports Keras)."""
    if keras_backend is not None:
        import os

        os.environ["KERAS_BACKEND"] = keras_backend
    return train(problem, framework, progress)


# In a worker process: where progress goes (set by _init_worker).
_PROGRESS_QUEUE: Any = None


def _init_worker(queue: Any) -> None:
    """Each worker: progress to ``queue``.  (Ctrl-C and the parent's death are handled by
    :mod:`parity_tests.harness.workers` for every worker.)"""
    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = queue


def _report_to_queue(framework: str, done: int, total: int) -> None:
    _PROGRESS_QUEUE.put((framework, done, total))


def train_all(
    problem: HousingProblem,
    frameworks: list[str],
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int = 2,
) -> dict[str, FrameworkRun]:
    """Train every framework; with ``jobs > 1`` in that many worker processes at once.

    The frameworks are independent (same weights and orders in, parameters out), and each
    computes on one core, so on a 2-core machine two can train side by side.  The reference
    is the quickest, so it is queued last.  Workers are started with "spawn": a fresh
    interpreter, so no framework state is shared or forked; they are stopped at once if the
    run is interrupted or fails, and die with this process (:mod:`parity_tests.harness.workers`).
    """
    from parity_tests.harness import registry
    from parity_tests.harness.workers import Group, Interrupts, WorkerPool

    # Keras on another backend than this process's needs a process of its own (Keras reads
    # KERAS_BACKEND once, at import): each worker then starts fresh and sets it before import.
    backends = {fw: getattr(registry.get(fw), "backend", None) for fw in frameworks}
    elsewhere = any(registry.process_backend(fw) for fw in frameworks)
    if (jobs <= 1 or len(frameworks) == 1) and not elsewhere:
        return {fw: train(problem, fw, progress) for fw in frameworks}
    import multiprocessing
    import queue as queues
    from concurrent.futures import wait

    queued = sorted(frameworks, key=lambda fw: fw == "numpy")
    pool_options = {"max_tasks_per_child": 1} if elsewhere else {}
    events = multiprocessing.get_context("spawn").Queue()
    seen = dict.fromkeys(frameworks, 0)

    def drain() -> None:
        while True:
            try:
                fw, done, total = events.get_nowait()
            except queues.Empty:
                return
            seen[fw] = done
            if progress:
                progress(fw, done, total)

    group = Group()
    pool = WorkerPool(max(jobs, 1), _init_worker, (events,), group=group, **pool_options)
    try:
        futures = {
            fw: pool.submit(train_in_backend, problem, fw, _report_to_queue, backends[fw])
            for fw in queued
        }
        pending = set(futures.values())
        with Interrupts(group) as interrupts:  # a signal stops the workers at once
            while pending:
                interrupts.check()
                _, pending = wait(pending, timeout=0.2)
                drain()
        runs = {fw: futures[fw].result() for fw in frameworks}
        drain()
        epochs = len(problem.orders)
        for fw in frameworks:  # the last events may still be in the pipe: end every bar
            if progress and seen[fw] < epochs:
                progress(fw, epochs, epochs)
        return runs
    except BaseException:  # Ctrl-C, SIGTERM (SystemExit), a failed worker: stop them all now
        pool.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        events.close()
        events.join_thread()


class SideJob:
    """``fn(*args, **kwargs)`` in a process of its own ("spawn"), started now, while this
    process goes on (the Keras-defaults baseline runs beside the frameworks' training, so the
    two overlap in time).  :meth:`result` waits for it; :meth:`stop` ends it at once
    (an interrupted or failed run), and is a no-op once it has finished."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        from parity_tests.harness.workers import WorkerPool

        self._pool = WorkerPool(1)
        self._future = self._pool.submit(fn, *args, **kwargs)

    def result(self) -> Any:
        return self._future.result()

    def stop(self) -> None:
        if not self._future.done():
            self._pool.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)


def max_relative_difference(a: Params, b: Params) -> float:
    """Largest elementwise |a - b| / max(|a|, |b|) over every parameter."""
    worst = 0.0
    for name in a:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.max(np.abs(x - y) / scale)))
    return worst


def evaluate(problem: HousingProblem, runs: dict[str, FrameworkRun]) -> dict[str, Any]:
    """Per-epoch MSE per framework, per-epoch parameter differences, final metrics."""
    s = problem.split
    net = problem.spec.build_network()

    def predict(params: Params, X: np.ndarray) -> np.ndarray:
        net.set_parameters(params)
        return net.predict(X)

    history: dict[str, dict[str, list[float]]] = {}
    for fw, run in runs.items():
        history[fw] = {"train_mse": [], "test_mse": []}
        for params in run.params_per_epoch:
            history[fw]["train_mse"].append(
                mean_squared_error(s.y_train, predict(params, s.X_train))
            )
            history[fw]["test_mse"].append(mean_squared_error(s.y_test, predict(params, s.X_test)))
    pairs = [(a, b) for i, a in enumerate(runs) for b in list(runs)[i + 1 :]]
    differences = {
        f"{a}-{b}": [
            max_relative_difference(pa, pb)
            for pa, pb in zip(runs[a].params_per_epoch, runs[b].params_per_epoch, strict=True)
        ]
        for a, b in pairs
    }
    final = {}
    for fw, run in runs.items():
        y_hat = predict(run.params_per_epoch[-1], s.X_test)
        final[fw] = {
            "test_mse": mean_squared_error(s.y_test, y_hat),
            "test_r2": r2_score(s.y_test, y_hat),
            "train_mse": history[fw]["train_mse"][-1],
            "compile_seconds": run.compile_seconds,
            "train_seconds": run.train_seconds,
            "parameters": {k: v.tolist() for k, v in run.params_per_epoch[-1].items()},
        }
    test = [final[fw]["test_mse"] for fw in runs]
    worst = {
        "final_parameter_rel": max((d[-1] for d in differences.values()), default=0.0),
        "any_epoch_parameter_rel": max((max(d) for d in differences.values()), default=0.0),
        "final_test_mse_abs": float(max(test) - min(test)),
    }
    return {
        "history": history,
        "parameter_differences": differences,
        "final": final,
        "worst": worst,
    }
