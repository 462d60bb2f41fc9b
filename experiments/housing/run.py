"""Run the housing experiment in each framework from the same weights and orders, and measure.

Frameworks train one after another (each with its own progress bar); after every epoch the
parameters are kept, so agreement can be measured epoch by epoch afterwards.  Train and test
MSE are computed from each framework's parameters with the reference's forward pass, so that
any difference between frameworks is a difference in the trained parameters alone.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reference_nn.data import mean_squared_error, r2_score

from .protocol import LEARNING_RATE, HousingProblem

Params = dict[str, np.ndarray]
FRAMEWORKS = ("numpy", "torch", "keras")


def trainer_class(framework: str) -> Any:
    """Imported on demand: ``numpy`` alone needs no framework installed."""
    if framework == "numpy":
        from .numpy_sgd import HousingNumpySGD

        return HousingNumpySGD
    if framework == "torch":
        from .torch_sgd import HousingTorchSGD

        return HousingTorchSGD
    if framework == "keras":
        from .keras_sgd import HousingKerasSGD

        return HousingKerasSGD
    raise ValueError(f"unknown framework {framework!r}; valid: {', '.join(FRAMEWORKS)}")


@dataclass
class FrameworkRun:
    framework: str
    compile_seconds: float
    train_seconds: float
    params_per_epoch: list[Params] = field(default_factory=list)


def train(
    problem: HousingProblem, framework: str, progress: Callable[[str, int, int], None] | None = None
) -> FrameworkRun:
    s = problem.split
    if framework == "numpy" and problem.spec.dtype != "float64":
        return _train_reference_fit(problem, progress)
    start = time.perf_counter()
    trainer = trainer_class(framework)(problem.initial, s.X_train, s.y_train, LEARNING_RATE)
    trainer.compile(problem.orders)
    compiled = time.perf_counter()
    run = FrameworkRun(framework, compiled - start, 0.0)
    for epoch in range(len(problem.orders)):
        trainer.epoch(epoch)
        run.params_per_epoch.append(trainer.parameters())
        if progress:
            progress(framework, epoch + 1, len(problem.orders))
    run.train_seconds = time.perf_counter() - compiled
    return run


def _report_to_queue(queue: Any, framework: str, done: int, total: int) -> None:
    queue.put((framework, done, total))


def train_all(
    problem: HousingProblem,
    frameworks: list[str],
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int = 2,
) -> dict[str, FrameworkRun]:
    """Train every framework; with ``jobs > 1`` in that many worker processes at once.

    The frameworks are independent (same weights and orders in, parameters out), and each
    computes on one core, so on a 2-core machine two can train side by side: the slowest
    (Keras) in one process, the others after each other in the second.  Workers are started
    with "spawn": a fresh interpreter, so no framework state is shared or forked.
    """
    if jobs <= 1 or len(frameworks) == 1:
        return {fw: train(problem, fw, progress) for fw in frameworks}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    slowest_first = sorted(frameworks, key=lambda fw: ("keras", "torch", "numpy").index(fw))
    with context.Manager() as manager, ProcessPoolExecutor(jobs, mp_context=context) as pool:
        queue = manager.Queue()
        report = functools.partial(_report_to_queue, queue)
        futures = {fw: pool.submit(train, problem, fw, report) for fw in slowest_first}
        pending = set(futures.values())
        while pending:
            _, pending = wait(pending, timeout=0.2)
            while not queue.empty():
                event = queue.get()
                if progress:
                    progress(*event)
        while not queue.empty():
            event = queue.get()
            if progress:
                progress(*event)
        return {fw: futures[fw].result() for fw in frameworks}


def _train_reference_fit(
    problem: HousingProblem, progress: Callable[[str, int, int], None] | None
) -> FrameworkRun:
    """float32: the general ``reference_nn.fit`` (the Python-float loop is float64 only)."""
    from reference_nn import fit

    s = problem.split
    net = problem.spec.build_network()
    net.set_parameters({k: v.astype(problem.spec.dtype) for k, v in problem.initial.items()})
    optimizer = problem.spec.build_optimizer()
    run = FrameworkRun("numpy", 0.0, 0.0)
    start = time.perf_counter()
    for epoch, order in enumerate(problem.orders):
        fit(net, optimizer, s.X_train, s.y_train, epochs=1, batch_size=1, orders=order[None])
        run.params_per_epoch.append(net.get_parameters())
        if progress:
            progress("numpy", epoch + 1, len(problem.orders))
    run.train_seconds = time.perf_counter() - start
    return run


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
