"""Checking a baseline: is each framework still as close to the reference as when recorded?

``refnn baseline check DIR`` rebuilds every item from its recipe and runs it again in the
reference and in each recorded framework.  The gate is each framework's **error against the
reference**, not its bits: BLAS, oneDNN and XLA pick kernels by CPU, so another CPU (a CI
runner of another generation or vendor) rounds differently, and a check that compared bits
would fail on every machine it was not recorded on.  Per tensor:

* a framework fails when its normwise relative error against the reference run *now* exceeds
  its error against the reference *at the recording* by more than the envelope
  (``parity_tests.harness.tolerances.BASELINE_ENVELOPE``, per dtype and item kind: the largest
  growth measured across kernel paths, with a margin);
* the reference fails when it moved against its own recording by more than its envelope
  (NumPy's own kernels vary by CPU too, far less);
* a tensor that is no longer produced, a new one, a changed shape, dtype or NaN pattern, or a
  change of what a framework supports always fails.

Bits stay, as information: per framework, the recording it is bit-identical to (the main one
or a ``platforms/<label>`` one), or how many tensors moved and by how many ULPs.  ``--exact``
(or ``--ulps N``) makes the bits the gate again, for those who want a per-machine check.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from parity_tests.harness import registry
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.protocol import Array
from parity_tests.harness.tolerances import baseline_envelope

from .items import BaselineError, Item, select
from .store import Progress, load_arrays, load_index, platform_info, platform_recordings, stored


@dataclass(frozen=True)
class Change:
    """A tensor (or a whole item, ``tensor == ""``) that fails the check."""

    item: str
    framework: str
    tensor: str  # "quantity|tensor", or "" for the whole item
    detail: str

    def message(self) -> str:
        return f"CHANGED {self.item} [{self.framework}] {self.tensor or '(item)'}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Figures:
    """One tensor of one framework, against one recording."""

    item: str
    framework: str
    tensor: str
    dtype: str
    kind: str  # the item's kind: parity, example, housing
    ulps: int  # bits moved against the recording (0: bit-identical)
    rel: float  # largest elementwise relative move against the recording
    error_then: float  # normwise relative error against the reference at the recording
    error_now: float  # ... and now (for the reference itself: 0 and its move)
    note: str = ""  # when the tensors cannot be compared (shape, dtype, NaN pattern)

    @property
    def growth(self) -> float:
        return self.error_now - self.error_then

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "growth": self.growth}


@dataclass
class FrameworkSummary:
    framework: str
    recording: str  # the recording its tensors were compared with
    tensors: int
    bit_identical: int
    max_ulps: int
    max_rel: float
    max_growth: float  # of the error against the reference (the reference: its own move)
    envelope_used: float  # the largest fraction of its envelope any tensor used


@dataclass
class CheckResult:
    changes: list[Change]
    tensors: int
    items: int
    version_changes: list[str]
    platform_changes: list[str]
    seconds: float = 0.0
    exact: bool = False
    # framework -> the recording its tensors were compared with ("main", or a platform's)
    matched: dict[str, str] = field(default_factory=dict)
    summaries: list[FrameworkSummary] = field(default_factory=list)
    figures: list[Figures] = field(default_factory=list)

    @property
    def platform_recorded(self) -> bool:
        """Whether some recording is bit-identical to this machine's run for every framework."""
        return all(s.bit_identical == s.tensors for s in self.summaries)


def _normwise(a: Array, b: Array) -> float:
    return tensor_error(a, b).normwise_rel


def _moved(then: Array, now: Array) -> tuple[int, float] | str:
    """``(max ulp, max relative move)`` of ``now`` against ``then``, or why they cannot be
    compared."""
    if then.shape != now.shape:
        return f"shape {then.shape} -> {now.shape}"
    if then.dtype != now.dtype:
        return f"dtype {then.dtype} -> {now.dtype}"
    if then.tobytes() == now.tobytes():
        return 0, 0.0
    if then.dtype.kind != "f":
        return "values differ"
    nan_now, nan_then = np.isnan(now), np.isnan(then)
    if (nan_now != nan_then).any():
        return f"NaN pattern changed ({int(nan_then.sum())} -> {int(nan_now.sum())} NaNs)"
    err = tensor_error(then[~nan_now], now[~nan_now])
    return max(err.max_ulp, 1), err.max_rel


def _differences(then: dict[str, str], now: dict[str, str]) -> list[str]:
    return [
        f"{k} {then.get(k, '(absent)')} -> {now.get(k, '(absent)')}"
        for k in sorted(set(then) | set(now))
        if then.get(k) != now.get(k)
    ]


def check(
    path: Path,
    filters: Sequence[str] = (),
    frameworks: Sequence[str] | None = None,
    ulps: int | None = None,
    progress: Progress | None = None,
    exact: bool = False,
) -> CheckResult:
    """Re-run the baseline's items (those matching ``filters``) and list every failure.

    ``exact``: fail on any bit that moved (``ulps``: on more than that many ULPs; giving it
    implies ``exact``) instead of on the growth of the error against the reference."""
    start = time.perf_counter()
    if ulps is not None and ulps < 0:
        raise BaselineError(f"--ulps must be >= 0, got {ulps}")
    exact = exact or ulps is not None
    path = Path(path)
    index = load_index(path)
    recorded_fws = list(index["frameworks"])
    frameworks = list(recorded_fws if frameworks is None else frameworks)
    missing = [fw for fw in frameworks if fw not in recorded_fws]
    if missing:
        raise BaselineError(
            f"framework(s) {', '.join(missing)} not in this baseline; it has "
            f"{', '.join(recorded_fws)}"
        )
    items = select([Item(name, e["recipe"]) for name, e in index["items"].items()], filters)
    if not exact:  # every item's envelope exists, before any work
        for item in items:
            baseline_envelope(item.dtype, item.kind)
            baseline_envelope(item.dtype, item.kind, reference=True)
    recordings = platform_recordings(path)
    ref = registry.REFERENCE
    needed = [ref] + [fw for fw in frameworks if fw != ref]
    # label -> framework -> stored tensors (the reference is read for every recording)
    archives: dict[str, dict[str, dict[str, Array]]] = {
        label: {fw: load_arrays(folder, fw) for fw in needed if fw in other["frameworks"]}
        for label, folder, other in recordings
    }
    folders = {label: folder for label, folder, _ in recordings}
    for fw in needed:
        registry.get(fw).load()
    now_versions = registry.versions([fw for fw in frameworks if fw != ref])
    then_versions = {k: v for k, v in index["versions"].items() if k in now_versions}

    changes: list[Change] = []
    # framework -> recording label -> figures of its tensors against that recording
    figures: dict[str, dict[str, list[Figures]]] = {
        fw: {label: [] for label in archives if fw in archives[label]} for fw in frameworks
    }
    n_tensors = 0
    for n, item in enumerate(items):
        entries = index["items"][item.name]["frameworks"]
        reference_now = item.run(ref)
        for fw in frameworks:
            entry = entries.get(fw)
            if entry is None:
                continue
            reason = item.refusal(fw)
            if "unsupported" in entry or reason:
                if reason != entry.get("unsupported"):
                    then = entry.get("unsupported") or "ran"
                    detail = f"support changed: {then} -> {reason or 'runs'}"
                    changes.append(Change(item.name, fw, "", detail))
                continue
            values = reference_now if fw == ref else item.run(fw)
            for key in sorted(set(entry) | set(values)):
                n_tensors += 1
                if key not in values or key not in entry:
                    detail = "no longer produced" if key not in values else "new tensor"
                    changes.append(Change(item.name, fw, key, detail))
                    continue
                # a framework's error against the reference now: one figure, whichever
                # recording it is then compared with
                reference = reference_now.get(key)
                same_shape = reference is not None and reference.shape == values[key].shape
                against_reference = 0.0
                if fw != ref and same_shape:
                    against_reference = _normwise(reference, values[key])
                for label, per_fw in archives.items():
                    if fw not in per_fw:
                        continue
                    file = folders[label] / f"{fw}.npz"
                    then = stored(per_fw[fw], file, item.name, key)
                    moved = _moved(then, values[key])
                    note = moved if isinstance(moved, str) else ""
                    ulps_moved, rel = (0, 0.0) if isinstance(moved, str) else moved
                    error_then = error_now = 0.0
                    if not note and fw == ref:
                        error_now = _normwise(then, values[key])
                    elif not note:
                        ref_file = folders[label] / f"{ref}.npz"
                        ref_then = stored(per_fw[ref], ref_file, item.name, key)
                        if same_shape and ref_then.shape == then.shape:
                            error_then = _normwise(ref_then, then)
                            error_now = against_reference
                        else:
                            note = "shape differs from the reference's (or it has none)"
                    figures[fw][label].append(
                        Figures(item.name, fw, key, item.dtype, item.kind, ulps_moved, rel,
                                error_then, error_now, note)
                    )  # fmt: skip
        if progress:
            progress(item.name, n + 1, len(items))

    # Per framework, the recording whose bits it matches best: a CPU computes all of a
    # framework's tensors its own way, so one recording fits all of them or none.
    matched: dict[str, str] = {}
    summaries: list[FrameworkSummary] = []
    chosen: list[Figures] = []
    for fw in frameworks:
        if not figures[fw]:
            continue
        label = min(
            figures[fw],
            key=lambda k: (sum(f.ulps > 0 or bool(f.note) for f in figures[fw][k]), k != "main"),
        )
        matched[fw] = label
        mine = figures[fw][label]
        chosen += mine
        used = 0.0
        for f in mine:
            failure = _failure(f, exact, ulps or 0)
            if failure:
                changes.append(Change(f.item, fw, f.tensor, failure))
            if not f.note:
                used = max(used, f.growth / baseline_envelope(f.dtype, f.kind, fw == ref))
        summaries.append(
            FrameworkSummary(
                fw,
                label,
                len(mine),
                sum(f.ulps == 0 and not f.note for f in mine),
                max((f.ulps for f in mine), default=0),
                max((f.rel for f in mine), default=0.0),
                max((f.growth for f in mine if not f.note), default=0.0),
                used,
            )
        )
    platforms = {label: other["platform"] for label, _, other in recordings}
    reference_label = matched.get(frameworks[0], "main") if frameworks else "main"
    return CheckResult(
        changes,
        n_tensors,
        len(items),
        _differences(then_versions, now_versions),
        _differences(platforms[reference_label], platform_info()),
        time.perf_counter() - start,
        exact,
        matched,
        summaries,
        chosen,
    )


def _failure(f: Figures, exact: bool, ulps: int) -> str:
    """Why the tensor of ``f`` fails the check, or "" when it passes."""
    if f.note:
        return f.note
    if exact:
        if f.ulps > ulps:
            return f"{f.ulps} ulp, max relative {f.rel:.3e} (threshold {ulps} ulp, --exact)"
        return ""
    is_reference = f.framework == registry.REFERENCE
    envelope = baseline_envelope(f.dtype, f.kind, is_reference)
    if f.growth <= envelope:
        return ""
    if is_reference:
        return (
            f"the reference moved {f.error_now:.3e} (normwise relative) against its recording, "
            f"beyond its envelope {envelope:.0e} ({f.ulps} ulp)"
        )
    return (
        f"error against the reference {f.error_then:.3e} -> {f.error_now:.3e}, grew "
        f"{f.growth:.3e} beyond the envelope {envelope:.0e} ({f.ulps} ulp against the recording)"
    )


def explain(path: Path, change: Change) -> str:
    """Where the framework's current run of ``change.item`` first parts from the reference
    (per step, then per layer): the place to look for what moved."""
    from parity_tests.harness.divergence import first_divergence

    index = load_index(path)
    item = Item(change.item, index["items"][change.item]["recipe"])
    if change.framework == registry.REFERENCE:
        return f"{change.item}: the reference itself moved (numpy changed?); no layer trace"
    p = item.problem()
    found = first_divergence(p.spec, p.params, p.X, p.y, p.batches, change.framework)
    if found is None:
        return (
            f"{change.item} [{change.framework}] still agrees with the reference within "
            "tolerance at every step: the change is below the parity tolerances"
        )
    return f"{change.item} [{change.framework}] against the reference now: {found}"
