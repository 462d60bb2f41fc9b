"""Run a tier of the suite in every process it needs: ``python -m tests.run_tier TIER [ARGS]``.

TIER is ``quick`` (the per-commit tier), ``commit`` (quick plus this commit's slice), ``slice``
or ``all`` (see tests/tiers.py).  Steps, in order, each a pytest process of its own:

1. the coverage report of the tier (collection only, Keras on TensorFlow): per factor value,
   how many tests of the tier touch it; it fails if any has none;
2. the tier's tests of Keras on TensorFlow and of everything else (two xdist workers);
3. the tier's tests of Keras on JAX and of Keras on torch, side by side (``KERAS_BACKEND`` set
   for each; their shares are small).

Every step runs even after one fails; the exit status is the first failing step's.  Extra
ARGS go to every pytest run.  A child dies with this process, whatever the signal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from parity_tests.harness.workers import kill_with_parent

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("quick", "commit", "slice", "all")


def stages(tier: str, args: Sequence[str]) -> list[list[tuple[str, str, list[str]]]]:
    """Stages run one after the other, each ``(label, KERAS_BACKEND, pytest arguments)`` per
    process; the processes of one stage run side by side (the two small backend shares)."""
    pytest = ["-m", "pytest", "-p", "no:randomly", "--tier", tier, *args]
    return [
        [("coverage", "tensorflow", [*pytest, "--collect-only", "-qq", "--tier-coverage"])],
        [("keras-tensorflow and the rest", "tensorflow", [*pytest, "-n", "2"])],
        [
            ("keras-jax", "jax", [*pytest, "-n", "0"]),
            ("keras-torch", "torch", [*pytest, "-n", "0"]),
        ],
    ]


def _run(stage: list[tuple[str, str, list[str]]]) -> list[int]:
    children = [
        subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, "KERAS_BACKEND": backend},
            preexec_fn=kill_with_parent,
        )
        for _, backend, args in stage
    ]
    try:
        return [child.wait() for child in children]
    except BaseException:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        raise


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in TIERS:
        print(f"usage: python -m tests.run_tier {{{','.join(TIERS)}}} [pytest args]",
              file=sys.stderr)  # fmt: skip
        return 2
    tier, extra = argv[0], argv[1:]
    status = 0
    start = time.perf_counter()
    for stage in stages(tier, extra):
        began = time.perf_counter()
        for (label, _, _), code in zip(stage, _run(stage), strict=True):
            # exit 5: this process's share of the tier is empty (a slice with no test of it)
            ok = code == 0 or (code == 5 and label != "coverage")
            print(f"refnn tier {tier}: {label}: exit {code} "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)  # fmt: skip
            if not ok and status == 0:
                status = code or 1
    print(f"refnn tier {tier}: {time.perf_counter() - start:.0f} s wall in all", flush=True)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
