"""Benchmark: the full housing run per framework, timed (a script that prints figures; no test
asserts on time).  Usage: python -m experiments.housing.bench [--data PATH] [--epochs 100]

Targets (2-core machine): all three frameworks' 100 epochs (670,000 steps each) in
under 30 s of wall time including compilation; the NumPy reference alone under 10 s.
"""

from __future__ import annotations

import argparse
import time

from .protocol import make_problem
from .run import evaluate, train_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--frameworks", default="numpy,torch,keras")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (1: one by one)")
    args = parser.parse_args()
    problem = make_problem(data=args.data, epochs=args.epochs)
    steps = problem.orders.size
    start = time.perf_counter()
    runs = train_all(problem, args.frameworks.split(","), jobs=args.jobs)
    wall = time.perf_counter() - start
    for fw, r in runs.items():
        print(
            f"{fw:>6}: compile {r.compile_seconds:6.2f} s  train {r.train_seconds:6.2f} s  "
            f"({r.train_seconds / steps * 1e6:.2f} us/step, {steps} steps)"
        )
    worst = evaluate(problem, runs)["worst"]
    print(
        f"wall time, all frameworks incl. compilation and process start-up "
        f"({args.jobs} job(s)): {wall:.1f} s"
    )
    print(
        f"largest relative parameter difference: final {worst['final_parameter_rel']:.2e}, "
        f"any epoch {worst['any_epoch_parameter_rel']:.2e}; "
        f"test MSE spread {worst['final_test_mse_abs']:.2e}"
    )


if __name__ == "__main__":
    main()
