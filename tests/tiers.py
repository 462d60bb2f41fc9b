"""Test tiers: which process runs a test, the quick tier, rotating slices, and their coverage.

A pytest plugin (loaded by the root ``conftest.py``).  Everything is derived from the
collection and the recorded durations; nothing is a hand list.

**One process per Keras backend.**  Keras reads ``KERAS_BACKEND`` once, so a test of Keras on
JAX runs in a process with ``KERAS_BACKEND=jax``.  Each process *deselects* (does not skip) the
tests another process runs: the TensorFlow process every test of ``keras-jax`` or
``keras-torch``, a backend process every test that does not involve its own Keras.  Together
the three processes run each test exactly once, and none reports a skip for it.

**Factors.**  Each test touches factor values (:func:`item_factors`): the frameworks it runs,
the dtype, the layer kinds, activations, losses, optimizer formulations and layer conventions
of a parity case it takes (read from the case's spec, as the completeness test reads them),
an optimizer option, its test module, and its negative-control family (a test in a
``*negative_controls`` module, or one whose name says it plants or catches an error).

**The quick tier** (``--tier quick``): a weighted greedy set cover over the whole collection,
costed by the recorded durations (``.test_durations``, and ``.test_durations.<framework>`` for
the tests another backend's process runs), that touches every factor value the whole suite
touches at least once, then adds (layer kind x framework x dtype) pairs while the budget
(``--tier-budget``, seconds of test time over all processes) lasts.  Every process computes
the same selection from the same collection and runs its own share.

**Slices** (``--tier slice``, ``--tier commit`` = quick + slice): the tests outside the quick
tier, in node-id order, dealt into ``--slices N`` slices of about equal recorded time;
``--slice auto`` takes the commit count modulo N, so every test runs at least once every N
commits.

**Coverage** (``--tier-coverage``, e.g. with ``--collect-only``): prints, per factor value, how
many tests of the chosen tier touch it, and fails the session if any value the whole suite
touches has none.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = ROOT / ".test_durations"
TIERS = ("all", "quick", "slice", "commit")
# seconds of recorded test time, all processes together: ~90 s recorded is ~130 s of wall time
# on 2 cores with the processes' start-up (README); it leaves 5 of 88 pairs to the slices
DEFAULT_BUDGET = 90.0
DEFAULT_SLICES = 8
CONTROL_NAME = re.compile(r"planted|caught|negative_control|is_refused_by_the_check|notices")


# ------------------------------------------------------------------------------ which process


def keras_name_of_this_process() -> str:
    """The registry name of the Keras this process runs: ``keras`` (TensorFlow),
    ``keras-jax`` or ``keras-torch``."""
    from parity_tests.harness.loaders import keras_backend

    backend = keras_backend()
    return "keras" if backend == "tensorflow" else f"keras-{backend}"


def runs_here(frameworks: Iterable[str], here: str) -> bool:
    """Whether this process (whose Keras is ``here``) runs a test of ``frameworks``: a
    backend's process runs the tests whose one Keras is its own, the TensorFlow process all
    the others."""
    kerases = {f for f in frameworks if f.startswith("keras")}
    other_backend = len(kerases) == 1 and kerases != {"keras"}
    if here == "keras":  # a test of two Kerases at once skips here, with its reason
        return not other_backend
    return kerases == {here}


# ------------------------------------------------------------------------------ factors


def item_factors(item: pytest.Item) -> set[str]:
    from parity_tests.cases.completeness import exercised
    from parity_tests.cases.matrix import Case
    from parity_tests.tools.testing import item_frameworks

    module = item.nodeid.split("::")[0]
    function = getattr(item, "originalname", item.name)
    out = {f"module:{module}"}
    frameworks = item_frameworks(item)
    out |= {f"framework:{f}" for f in frameworks}
    callspec = getattr(item, "callspec", None)
    params = dict(callspec.params) if callspec is not None else {}
    ident = callspec.id if callspec is not None else ""
    for value in params.values():
        if isinstance(value, Case):
            for category, entries in exercised(value).items():
                out |= {f"{category}:{e}" for e in entries}
            out.add(f"dtype:{value.spec.dtype}")
            kinds = {lay.kind for lay in value.spec.layers}
            out |= {f"pair:{k}/{f}/{value.spec.dtype}" for k in kinds for f in frameworks}
    for dtype in ("float32", "float64"):
        if dtype in ident.split("-") or params.get("dtype") == dtype:
            out.add(f"dtype:{dtype}")
    if "label" in params and "optimizer_options" in module:
        out.add(f"optimizer option:{params['label']}")
    if "negative_controls" in module or CONTROL_NAME.search(function):
        out.add(f"negative control:{module}::{function}")
    return out


def _durations() -> dict[str, dict[str, float]]:
    """Recorded durations: ``""`` -> the TensorFlow process's file, ``<keras name>`` -> that
    backend process's file (``.test_durations.keras-jax``), where recorded."""
    found: dict[str, dict[str, float]] = {}
    for path in [DURATIONS, *sorted(ROOT.glob(".test_durations.*"))]:
        try:
            found[path.suffix[1:] if path != DURATIONS else ""] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return found


def _cost(nodeid: str, process: str, durations: dict[str, dict[str, float]]) -> float:
    """A test's recorded duration in the process that runs it.  A backend process without
    its own recording costs its TensorFlow twin's time (the same test with ``keras``), else
    the average."""
    table = durations.get("" if process == "keras" else process)
    if table is None:
        table = durations.get("", {})
        nodeid = nodeid.replace(process, "keras")
    if nodeid in table:
        return max(table[nodeid], 0.01)
    values = list(table.values()) or [1.0]
    return sum(values) / len(values)


# ------------------------------------------------------------------------------ selection


def quick_tier(factors: dict[str, set[str]], costs: dict[str, float], budget: float) -> list[str]:
    """Node ids: every factor value touched once (pairs excepted), then pairs while the
    budget lasts; greedy by new values per second, ties by node id (deterministic)."""
    required = set().union(*factors.values()) if factors else set()
    pairs = {v for v in required if v.startswith("pair:")}
    required -= pairs
    chosen: list[str] = []
    spent = 0.0
    for wanted, limited in ((required, False), (pairs, True)):
        left = set(wanted)
        candidates = sorted(n for n in factors if n not in chosen)
        while left:
            best, best_score = None, 0.0
            for n in candidates:
                gain = len(factors[n] & left)
                if gain and (limited is False or spent + costs[n] <= budget):
                    score = gain / costs[n]
                    if score > best_score:
                        best, best_score = n, score
            if best is None:
                break
            chosen.append(best)
            candidates.remove(best)
            spent += costs[best]
            left -= factors[best]
    return sorted(chosen)


def slices(nodeids: list[str], costs: dict[str, float], n: int) -> list[list[str]]:
    """``nodeids`` dealt into ``n`` slices of about equal cost: longest first, each to the
    slice with the least so far (ties: the lowest index); deterministic."""
    out: list[list[str]] = [[] for _ in range(n)]
    load = [0.0] * n
    for nodeid in sorted(nodeids, key=lambda x: (-costs[x], x)):
        k = min(range(n), key=lambda i: (load[i], i))
        out[k].append(nodeid)
        load[k] += costs[nodeid]
    return [sorted(s) for s in out]


def commit_slice(n: int) -> int:
    """The commit count of HEAD modulo ``n``."""
    try:
        count = subprocess.run(
            ["git", "rev-list", "--count", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        return int(count) % n
    except (OSError, subprocess.SubprocessError, ValueError):
        raise pytest.UsageError(
            "--slice auto needs git and a checkout with history; give --slice K instead"
        ) from None


# ------------------------------------------------------------------------------ the plugin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refnn tiers")
    group.addoption("--tier", choices=TIERS, default="all", help="which tests to run")
    group.addoption(
        "--tier-budget", type=float, default=DEFAULT_BUDGET,
        help="quick tier: seconds of recorded test time, all processes together",
    )  # fmt: skip
    group.addoption("--slices", type=int, default=DEFAULT_SLICES, help="number of slices")
    group.addoption("--slice", default="auto", help="slice index 0..N-1, or auto (commit)")
    group.addoption(
        "--tier-coverage", action="store_true",
        help="print per factor value how many chosen tests touch it; fail if any is zero",
    )  # fmt: skip


class _State:
    factors: ClassVar[dict[str, set[str]]] = {}  # the whole collection, before -k / -m
    process: ClassVar[dict[str, str]] = {}  # node id -> the process that runs it
    summary: ClassVar[list[str]] = []
    missing: ClassVar[list[str]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The whole collection's factors, before ``-k`` or ``-m`` deselect anything: the tier is
    chosen from them, so every process chooses the same tests, and coverage is measured
    against them, so deselecting a factor's only test shows."""
    from parity_tests.tools.testing import item_frameworks

    _State.factors = {item.nodeid: item_factors(item) for item in items}
    _State.process = {item.nodeid: process_of(item_frameworks(item)) for item in items}


@pytest.hookimpl(trylast=True)
def _choose(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Choose the tier, measure its coverage, and keep this process's share (after ``-k``
    and ``-m``: what they deselect is not covered)."""
    here = keras_name_of_this_process()
    tier = config.getoption("tier")
    factors, process = _State.factors, _State.process
    remaining = {item.nodeid for item in items}
    summary: list[str] = []
    chosen = set(factors)
    if tier != "all" or config.getoption("tier_coverage"):
        durations = _durations()
        costs = {n: _cost(n, process[n], durations) for n in factors}
        quick = set(quick_tier(factors, costs, config.getoption("tier_budget")))
        label = f"quick tier {len(quick)} tests, {sum(costs[n] for n in quick):.0f} s recorded"
        if tier != "all":
            chosen = quick if tier in ("quick", "commit") else set()
        if tier in ("slice", "commit"):
            n = config.getoption("slices")
            if n < 1:
                raise pytest.UsageError(f"--slices must be >= 1, got {n}")
            raw = config.getoption("slice")
            k = commit_slice(n) if raw == "auto" else _index(raw, n)
            dealt = slices(sorted(set(factors) - quick), costs, n)
            chosen |= set(dealt[k])
            how = "from the commit count" if raw == "auto" else "given"
            label += (
                f"; slice {k} of {n} ({how}: {len(dealt[k])} tests, "
                f"{sum(costs[x] for x in dealt[k]):.0f} s recorded)"
            )
        summary.append(f"refnn tier {tier}: {label}")
        if config.getoption("tier_coverage"):
            summary += _coverage(factors, chosen & remaining)
    # of the whole collection (before -k, -m or a split deselect anything)
    elsewhere = sum(p != here for p in process.values())
    summary.append(f"refnn: {elsewhere} tests deselected here: other processes run them")
    _State.summary = summary
    keep = [i for i in items if i.nodeid in chosen and process[i.nodeid] == here]
    kept = {i.nodeid for i in keep}
    drop = [i for i in items if i.nodeid not in kept]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


class _Choose:
    """The second ``pytest_collection_modifyitems`` of this plugin, run last."""

    pytest_collection_modifyitems = staticmethod(_choose)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Choose(), "refnn-tier-choose")


def pytest_collection_finish(session: pytest.Session) -> None:
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        for line in _State.summary:
            terminal.write_line(line)


def process_of(frameworks: set[str]) -> str:
    """The one process that runs a test of ``frameworks`` (see :func:`runs_here`)."""
    for process in ("keras", "keras-jax", "keras-torch"):
        if runs_here(frameworks, process):
            return process
    raise AssertionError(f"no process runs a test of {sorted(frameworks)}")


def _index(raw: str, n: int) -> int:
    try:
        k = int(raw)
    except ValueError:
        raise pytest.UsageError(f"--slice takes 0..{n - 1} or auto, got {raw!r}") from None
    if not 0 <= k < n:
        raise pytest.UsageError(f"--slice takes 0..{n - 1} or auto, got {k}")
    return k


def coverage(factors: dict[str, set[str]], chosen: Iterable[str]) -> dict[str, int]:
    """Per factor value the whole collection touches (pairs aside): how many chosen tests
    touch it."""
    counts: Counter[str] = Counter()
    for n in chosen:
        counts.update(factors[n])
    every = set().union(*factors.values()) if factors else set()
    return {v: counts.get(v, 0) for v in sorted(every) if not v.startswith("pair:")}


def _coverage(factors: dict[str, set[str]], chosen: set[str]) -> list[str]:
    table = coverage(factors, chosen)
    _State.missing = [v for v, c in table.items() if c == 0]
    by_category: dict[str, list[str]] = {}
    for value, count in table.items():
        category, _, name = value.partition(":")
        by_category.setdefault(category, []).append(f"{name} {count}")
    lines = [f"  {cat} ({len(v)}): " + ", ".join(v) for cat, v in sorted(by_category.items())]
    pairs = {v for vals in factors.values() for v in vals if v.startswith("pair:")}
    covered = {v for n in chosen for v in factors[n] if v.startswith("pair:")}
    lines.append(f"  pairs (layer kind x framework x dtype): {len(covered)} of {len(pairs)}")
    if _State.missing:
        lines.append("refnn tier coverage: NOT touched: " + ", ".join(_State.missing))
    else:
        lines.append("refnn tier coverage: every factor value is touched")
    return lines


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _State.missing and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
