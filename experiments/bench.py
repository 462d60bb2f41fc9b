"""``refnn bench``: the project's speed figures in one table, and the same as JSON for a CI
history.  A script that prints figures; no test asserts on time.

Rows:
* ``housing``: per framework, the compile time and per-sample steps per second of the housing
  run (``--epochs``, the adapters' compiled loops);
* ``fit``: ``reference_nn.fit``'s per-sample step on the housing network against a bare NumPy
  loop doing the same arithmetic (the library's overhead; target at most 1.5x);
* ``import``: the import time of each package, each in a fresh interpreter;
* ``suite`` (``--suite``): the wall time of the README's test command's pytest run.

Times are the best of ``--repeat`` runs where a run is short: on a shared machine the minimum
is the figure least disturbed by other work; the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from parity_tests.harness.workers import kill_with_parent

IMPORTS = {
    "reference_nn": "import reference_nn",
    "torch": "import torch",
    "keras (tensorflow)": "import keras",
    "jax": "import jax",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="speed figures: housing steps/s per framework, fit vs a bare loop, imports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--frameworks", default="numpy,torch,keras", help="housing frameworks")
    p.add_argument("--epochs", type=int, default=3, help="housing epochs per framework")
    p.add_argument("--repeat", type=int, default=5, help="repeats of the short timings")
    p.add_argument("--suite", action="store_true", help="also time the test suite (minutes)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.set_defaults(handler=main)


def bare_loop_step(X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]) -> float:
    """Seconds per per-sample SGD step of the 2-3-1 sigmoid MSE network, written inline."""
    W1, b1, W2, b2 = (params[k].copy() for k in ("0.W", "0.b", "1.W", "1.b"))
    start = time.perf_counter()
    for i in range(len(X)):
        x, t = X[i : i + 1], y[i : i + 1]
        a1 = 1.0 / (1.0 + np.exp(-(x @ W1 + b1)))
        a2 = 1.0 / (1.0 + np.exp(-(a1 @ W2 + b2)))
        _ = ((a2 - t) ** 2).sum() / a2.size
        d2 = 2.0 * (a2 - t) / a2.size * (a2 * (1.0 - a2))
        d1 = (d2 @ W2.T) * (a1 * (1.0 - a1))
        W2 -= 0.05 * (a1.T @ d2)
        b2 -= 0.05 * d2.sum(axis=0)
        W1 -= 0.05 * (x.T @ d1)
        b1 -= 0.05 * d1.sum(axis=0)
    return (time.perf_counter() - start) / len(X)


def fit_step(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(fit's seconds per step, the bare loop's) on the housing network, best of a few."""
    from experiments.housing.protocol import housing_spec
    from reference_nn import fit

    spec = housing_spec()
    params = spec.init_parameters(0)
    net = spec.build_network()
    net.set_parameters(params)
    start = time.perf_counter()
    fit(net, spec.build_optimizer(), X, y, epochs=1, batch_size=1)
    return (time.perf_counter() - start) / len(X), bare_loop_step(X, y, params)


def import_seconds(code: str) -> float | None:
    """Wall time of ``python -c code`` minus that of an empty interpreter; None if it fails."""

    def run(c: str) -> float | None:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", c], capture_output=True, check=False,
            preexec_fn=kill_with_parent,
        )  # fmt: skip
        return time.perf_counter() - start if done.returncode == 0 else None

    empty, full = run("pass"), run(code)
    return None if empty is None or full is None else max(full - empty, 0.0)


def main(args: argparse.Namespace) -> int:
    from experiments import extras
    from experiments.housing.dataset import HousingDataError
    from experiments.housing.protocol import make_problem
    from parity_tests.harness.registry import parse_frameworks
    from reference_nn._checks import AllocationError

    try:  # every check before the minutes of timing, not after
        frameworks = parse_frameworks(args.frameworks)
        for option, value in (("--epochs", args.epochs), ("--repeat", args.repeat)):
            if value < 1:
                raise ValueError(f"{option} must be >= 1, got {value}")
        if args.json is not None:
            target = Path(args.json)
            if not args.json.strip() or target.is_dir():
                raise ValueError(f"--json {args.json!r} must name a file")
            if target.exists() and not target.is_file():  # /dev/null: never replaced by a file
                raise ValueError(f"--json {args.json} exists and is not a regular file")
            if not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
                raise ValueError(f"--json {args.json}: cannot write in {target.parent}")
        refusal = extras.refusal(
            f"--frameworks {','.join(frameworks)}", extras.framework_modules(frameworks)
        )
        if refusal is not None:
            raise ValueError(f"{refusal} (or run --frameworks numpy)")
        problem = make_problem(epochs=args.epochs)
    except (ValueError, HousingDataError, AllocationError) as exc:
        print(f"refnn bench: {exc}", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {"load_average": os.getloadavg(), "housing": {}, "import": {}}
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}")

    from experiments.housing.run import train

    steps = problem.orders.size
    print(f"\n{'housing':<22}{'compile s':>12}{'steps/s':>14}{'us/step':>10}")
    for fw in frameworks:
        run = train(problem, fw)
        rate = steps / run.train_seconds
        figures["housing"][fw] = {"compile_seconds": run.compile_seconds, "steps_per_second": rate}
        print(f"{fw:<22}{run.compile_seconds:>12.2f}{rate:>14,.0f}{1e6 / rate:>10.2f}")

    X, y = problem.split.X_train[:2000], problem.split.y_train[:2000]
    timings = [fit_step(X, y) for _ in range(args.repeat)]
    lib, bare = min(t[0] for t in timings), min(t[1] for t in timings)
    figures["fit"] = {"fit_us": lib * 1e6, "bare_us": bare * 1e6, "ratio": lib / bare}
    print(
        f"\nfit per-sample step {lib * 1e6:.1f} us, bare NumPy loop {bare * 1e6:.1f} us: "
        f"ratio {lib / bare:.2f} (target <= 1.5)"
    )

    print(f"\n{'import':<22}{'seconds':>12}")
    for name, code in IMPORTS.items():
        seconds = import_seconds(code)
        figures["import"][name] = seconds
        print(f"{name:<22}{'not installed' if seconds is None else f'{seconds:.2f}':>12}")

    if args.suite:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "2"], check=False,
            preexec_fn=kill_with_parent,  # the suite's pytest ends with this command
        )  # fmt: skip
        figures["suite"] = {"seconds": time.perf_counter() - start, "exit": done.returncode}
        print(f"\nsuite: {figures['suite']['seconds']:.0f} s (exit {done.returncode})")

    if args.json:
        path = Path(args.json)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(figures, indent=1))
        tmp.replace(path)  # atomic: a reader never sees half a file
        print(f"\nwrote {path}")
    return 0
