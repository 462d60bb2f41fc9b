"""The test tiers (tests/tiers.py): the quick tier touches every factor value the suite touches,
the slices split the rest exactly, each test runs in exactly one process, and the coverage
report fails when a factor's only test is deselected."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiers import coverage, quick_tier, runs_here, slices

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_tier_covers_every_value_then_pairs_within_the_budget():
    factors = {
        "a": {"x:1", "x:2"},
        "b": {"x:2", "x:3"},
        "c": {"x:3"},
        "d": {"x:1", "pair:p"},
        "e": {"pair:q"},
    }
    costs = {"a": 1.0, "b": 1.0, "c": 0.1, "d": 10.0, "e": 5.0}
    chosen = quick_tier(factors, costs, budget=3.0)
    assert {v for n in chosen for v in factors[n] if not v.startswith("pair:")} == {
        "x:1",
        "x:2",
        "x:3",
    }
    assert "e" not in chosen  # its pair does not fit the budget left
    assert quick_tier(factors, costs, budget=3.0) == chosen  # deterministic
    assert "e" in quick_tier(factors, costs, budget=100.0)
    # the negative control of the report: a value whose only test is gone is counted zero
    table = coverage(factors, [n for n in chosen if n != "c" and n != "b"])
    assert table["x:3"] == 0


def test_slices_hold_every_test_once_and_about_equal_time():
    names = [f"t{i}" for i in range(50)]
    costs = {n: 1.0 + (i % 7) for i, n in enumerate(names)}
    dealt = slices(names, costs, 4)
    assert sorted(itertools.chain(*dealt)) == sorted(names)
    loads = [sum(costs[n] for n in s) for s in dealt]
    assert max(loads) - min(loads) <= max(costs.values())
    assert slices(list(reversed(names)), costs, 4) == dealt  # order of input irrelevant


@pytest.mark.parametrize(
    "frameworks",
    [set(), {"torch"}, {"keras"}, {"keras-jax"}, {"keras-torch"}, {"torch", "keras-jax"},
     {"keras", "keras-jax"}, {"jax", "keras-torch"}],
)  # fmt: skip
def test_each_test_runs_in_exactly_one_process(frameworks):
    processes = [p for p in ("keras", "keras-jax", "keras-torch") if runs_here(frameworks, p)]
    assert len(processes) == 1


def _collect(*args: str, backend: str = "tensorflow") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "-1"}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
         "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_quick_tier_touches_every_factor_and_no_other_backends_test():
    done = _collect("--tier", "quick", "--tier-coverage")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "refnn tier coverage: every factor value is touched" in done.stdout
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids and not [i for i in ids if "keras-jax" in i or "keras-torch" in i]


def test_deselecting_the_only_test_of_a_factor_fails_the_coverage():
    only = "test_a_two_bias_gradient_split_between_the_rows_is_caught"
    done = _collect("--tier", "quick", "--tier-coverage", "-k", f"not {only}")
    assert done.returncode != 0
    assert "refnn tier coverage: NOT touched:" in done.stdout and only in done.stdout
