"""Scale-out: ``pytest --splits N --group I`` (pytest-split, by the recorded durations in
``.test_durations``) runs each test of the suite in exactly one of the N groups.

The groups are collected by the real command line, as a CI job would run them, over the
whole suite; the check itself has a negative control (a group list with a test twice and one
with a test missing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPLITS = 2


def partition_problems(total: int, groups: list[list[str]]) -> list[str]:
    """What keeps ``groups`` from being a partition of a suite of ``total`` tests: tests in
    more than one group, and a count that is not the total (a test in none)."""
    problems = []
    seen: dict[str, int] = {}
    for index, group in enumerate(groups, 1):
        for test in group:
            if test in seen:
                problems.append(f"{test} in groups {seen[test]} and {index}")
            seen[test] = index
    if len(seen) != total:
        problems.append(f"{len(seen)} distinct tests in the groups, {total} in the suite")
    return problems


def test_the_check_catches_a_test_run_twice_and_a_test_never_run():
    assert partition_problems(3, [["a", "b"], ["c"]]) == []
    assert partition_problems(3, [["a", "b"], ["b", "c"]]) == ["b in groups 1 and 2"]
    missing = partition_problems(3, [["a"], ["c"]])
    assert missing == ["2 distinct tests in the groups, 3 in the suite"]


def _collect_group(group: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["--splits", str(SPLITS), "--group", str(group)]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_the_groups_together_run_every_test_exactly_once():
    pytest.importorskip("pytest_split")
    runs = [_collect_group(group) for group in range(1, SPLITS + 1)]  # side by side
    groups, totals = [], set()
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err or out
        ids = [line for line in out.splitlines() if "::" in line]
        # "1234/4866 tests collected (3632 deselected)": the selected, then the whole suite
        counted = re.search(r"(\d+)/(\d+) tests? collected", out)
        assert counted, out[-500:]
        assert int(counted.group(1)) == len(ids) > 0
        # the suite is this process's share: the tests of Keras on JAX and on torch run in
        # their own processes, and are deselected here (tests/tiers.py says how many)
        elsewhere = re.search(r"refnn: (\d+) tests deselected here", out)
        assert elsewhere, out[-500:]
        totals.add(int(counted.group(2)) - int(elsewhere.group(1)))
        groups.append(ids)
    assert len(totals) == 1, f"the groups saw suites of different sizes: {totals}"
    assert partition_problems(totals.pop(), groups) == []
