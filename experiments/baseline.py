"""Numerics baselines: every compared tensor, per framework, recorded once and checked later.

``refnn baseline record --out DIR`` runs the selected items in each framework and writes

* ``DIR/<framework>.npz``: every tensor, keyed ``"<item>|<quantity>|<tensor>"``
  (``"parity/tanh-mse-sgd-float64|grads|0.W"``), exactly as the framework returned it;
* ``DIR/index.json``: the library versions, the platform, and for every item its recipe (how
  to rebuild it), its dtype and, per framework and tensor, shape, dtype and a SHA-256 of the
  bytes, so that ``git diff`` of a re-recorded baseline names what moved.

The folder is written into a temporary folder beside ``DIR`` and renamed into place: a
baseline is complete or absent, never half written.

``refnn baseline check DIR`` rebuilds every item from its recipe, runs it again and reports
every tensor that moved: item, framework, tensor, the largest difference in ULPs (units in
the last place) and relative error, and which versions changed since the recording.

Items:

* ``parity/<case>``: a case of :mod:`parity_tests.cases` (the matrix, or ``random<seed>-...``)
  : what the parity suite compares (output, loss, gradients, parameters after steps 1 and 20);
* ``example/<name>``: a worked example (:mod:`experiments.worked_examples`): the loss after
  every update, the initial gradients and the final parameters;
* ``housing/epochs<E>``: the housing run (:mod:`experiments.housing`) for ``E`` epochs
  (default 2 of the published 100, to keep CI short): the parameters after every epoch.

Threshold (``THRESHOLD_ULPS``): 0 ULPs, i.e. bit-identical, for float64 *and* float32.
Measured on this CPU (2026-11-23, torch 2.13, Keras 3.15.1 / TF 2.21): every tensor of 12
matrix cases (6 float64, 6 float32) in NumPy, torch and Keras (XLA), and the worked examples
and the 2-epoch housing run, repeated in the same process and in fresh processes, came out
bit-identical; every framework runs single-threaded (:mod:`.frameworks`), so reductions have a
fixed order.  A different CPU (another SIMD width in MKL / oneDNN / Eigen kernels) may round
differently: the platform is recorded and a change of it is reported beside the tensors.

Other CPUs: measured 2026-12-01, an AVX-512 EPYC moved 362 of the 1,816 tensors recorded on
another EPYC (same model name, same versions; up to 308 ulps, 6.8e-14 relative, in a worked
example's final parameters after 10,000 steps).  A baseline folder may therefore hold the same
items recorded on other CPUs in ``DIR/platforms/<label>/``; ``check`` compares each framework
with the recording whose tensors it matches best (all of a framework's tensors come from one
CPU's kernels) and names it; whatever moved against that recording is reported.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from parity_tests import registry
from parity_tests.adapter import Array, Params

FORMAT = "refnn-baseline"
FORMAT_VERSION = 1
INDEX = "index.json"
HOUSING_EPOCHS = 2
THRESHOLD_ULPS: dict[str, int] = {"float64": 0, "float32": 0}
SEP = "|"


class BaselineError(ValueError):
    """A usage error: one line, exit status 2."""


# --------------------------------------------------------------------------------------------
# Items: what can be recorded, how to rebuild each from its recipe, how to run it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Everything a framework needs to run an item step by step (for the first divergence)."""

    spec: Any
    params: Params
    X: Array
    y: Array
    batches: list[Any]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # framework -> options


@dataclass(frozen=True)
class Item:
    name: str
    recipe: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.recipe["kind"])

    # -------------------------------------------------------------- rebuilding
    def _case(self) -> Any:
        from parity_tests.cases import matrix_case, random_case

        r = self.recipe
        case_name = r["case"]
        try:
            if "random_seed" in r:
                case = random_case(int(r["random_seed"]), str(r["dtype"]))
            else:  # by its parts and seed: a new activation must not reseed the old cases
                case = matrix_case(r["hidden"], r["loss"], r["optimizer"], r["dtype"], r["seed"])
        except (KeyError, ValueError):
            case = None
        if case is None or case.name != case_name:
            raise BaselineError(
                f"{self.name}: parity_tests.cases no longer defines {case_name!r} "
                "(the matrix or the random generator changed): record the baseline again"
            )
        return case

    def _example(self) -> Any:
        from experiments.worked_examples.registry import get_example

        try:
            example = get_example(str(self.recipe["example"]))
        except KeyError as exc:
            raise BaselineError(f"{self.name}: {exc.args[0]}") from None
        return example.with_changes(steps=int(self.recipe["steps"]))

    def _housing(self) -> Any:
        from experiments.housing.protocol import make_problem

        return make_problem(epochs=int(self.recipe["epochs"]), seed=int(self.recipe["seed"]))

    @property
    def dtype(self) -> str:
        return str(self.recipe["dtype"])

    def spec(self) -> Any:
        if self.kind == "parity":
            return self._case().spec
        if self.kind == "example":
            return self._example().spec
        from experiments.housing.protocol import housing_spec

        return housing_spec(self.dtype)

    def unsupported(self, framework: str) -> str | None:
        return registry.get(framework).unsupported(self.spec())

    def problem(self) -> Problem:
        """Spec, initial parameters, data and the batch schedule, as the item runs them."""
        if self.kind == "parity":
            case = self._case()
            X, y, params, batches = case.materialize()
            return Problem(case.spec, params, X, y, batches)
        if self.kind == "example":
            ex = self._example()
            full = np.arange(len(ex.X), dtype=np.int64)
            return Problem(ex.spec, ex.params, ex.X, ex.y, [full] * ex.steps)
        hp = self._housing()
        s = hp.split
        return Problem(hp.spec, hp.initial, s.X_train, s.y_train, list(hp.orders.reshape(-1, 1)))

    # -------------------------------------------------------------- running
    def run(self, framework: str) -> dict[str, Array]:
        """``"quantity|tensor"`` -> array, for this item in ``framework``."""
        # Keras's XLA loop, named: unnamed, a run shorter than 200 steps (a 20-step case, a
        # worked example's short segments) steps eagerly since 2026-12-02; the baseline keeps
        # recording the compiled loop, as it did
        options = {"loop": "xla"} if framework == "keras" else {}
        if self.kind == "parity":
            from parity_tests.harness import run_framework

            case = self._case()
            X, y, params, batches = case.materialize()
            result = run_framework(framework, case.spec, params, X, y, batches, **options)
            return _flatten(result.quantities())
        if self.kind == "example":
            from experiments.worked_examples.trajectory import run

            traj = run(framework, self._example(), **options)
            return _flatten(
                {"losses": {"losses": traj.losses}, "grads": traj.grads, "final": traj.final_params}
            )
        from experiments.housing.run import train

        fr = train(self._housing(), framework)
        return _flatten({f"epoch_{k + 1}": p for k, p in enumerate(fr.params_per_epoch)})


def _flatten(quantities: dict[str, dict[str, Array]]) -> dict[str, Array]:
    return {
        f"{q}{SEP}{t}": np.asarray(a)
        for q, tensors in quantities.items()
        for t, a in tensors.items()
    }


def all_items(n_random: int = 0, housing_epochs: int = HOUSING_EPOCHS) -> list[Item]:
    """The parity matrix, ``n_random`` random architectures per dtype, the worked examples and
    the housing run (``housing_epochs`` epochs; 0 leaves it out)."""
    from experiments.worked_examples.registry import EXAMPLES, get_example
    from parity_tests.cases import DTYPES, matrix, random_case

    if n_random < 0 or housing_epochs < 0:
        raise BaselineError("--random and --housing-epochs must be >= 0")
    items = []
    for c in matrix():
        hidden, loss, optimizer, dtype = c.name.split("-")
        recipe = {"kind": "parity", "case": c.name, "dtype": dtype, "seed": c.seed}
        recipe |= {"hidden": hidden, "loss": loss, "optimizer": optimizer}
        items.append(Item(f"parity/{c.name}", recipe))
    for seed in range(n_random):
        for dtype in DTYPES:
            c = random_case(seed, dtype)
            recipe = {"kind": "parity", "case": c.name, "dtype": dtype, "random_seed": seed}
            items.append(Item(f"parity/{c.name}", recipe))
    for name in EXAMPLES:
        ex = get_example(name)
        recipe = {"kind": "example", "example": name, "steps": ex.steps, "dtype": ex.spec.dtype}
        items.append(Item(f"example/{name}", recipe))
    if housing_epochs:
        recipe = {"kind": "housing", "epochs": housing_epochs, "seed": 0, "dtype": "float64"}
        items.append(Item(f"housing/epochs{housing_epochs}", recipe))
    return items


def installed() -> list[str]:
    """Every registered framework that imports here (the reference first)."""
    from parity_tests.frameworks import FrameworkUnavailable

    out = []
    for name in registry.names():
        try:
            registry.get(name).load()
        except FrameworkUnavailable:
            continue
        out.append(name)
    return out


def matches(name: str, filters: Sequence[str]) -> bool:
    """No filter, or any filter: a glob (``*``, ``?``, ``[``) matching the whole name, else a
    substring of it."""
    if not filters:
        return True
    return any(
        fnmatch.fnmatchcase(name, f) if any(ch in f for ch in "*?[") else f in name for f in filters
    )


def select(items: Iterable[Item], filters: Sequence[str]) -> list[Item]:
    chosen = [item for item in items if matches(item.name, filters)]
    if not chosen:
        raise BaselineError(
            f"--filter {' '.join(map(repr, filters))} selects nothing; item names look like "
            "'parity/tanh-mse-sgd-float64', 'example/xor_3_4_1', 'housing/epochs2'"
        )
    return chosen


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


def _digest(a: Array) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def platform_info() -> dict[str, str]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "isa": _isa(),
        "python": platform.python_version(),
    }


# The CPU features by which BLAS, oneDNN and XLA pick their kernels: two CPUs sold under one
# model name ("AMD EPYC") can differ here, and so round differently (found 2026-12-01: an
# AVX-512 machine moved 362 of 1,816 tensors of a baseline recorded on another EPYC).
ISA_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
)  # fmt: skip


def _isa() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return " ".join(f for f in ISA_FLAGS if f in have) or "none"
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    """The CPU's model name (kernels pick SIMD paths by CPU, so results may depend on it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


Progress = Callable[[str, int, int], None]


def record(
    out: Path,
    items: Sequence[Item],
    frameworks: Sequence[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run ``items`` in ``frameworks`` and write the baseline to ``out`` atomically."""
    out = Path(out)
    if out.exists() and not (out / INDEX).is_file() and any(out.iterdir()):
        raise BaselineError(f"{out} exists and is not a baseline: refusing to replace it")
    for fw in frameworks:
        registry.get(fw).load()
    tensors: dict[str, dict[str, Array]] = {fw: {} for fw in frameworks}
    index_items: dict[str, Any] = {}
    for n, item in enumerate(items):
        entry: dict[str, Any] = {"recipe": item.recipe, "frameworks": {}}
        for fw in frameworks:
            reason = item.unsupported(fw)
            if reason:
                entry["frameworks"][fw] = {"unsupported": reason}
                continue
            values = item.run(fw)
            # one line per tensor in the JSON, so that a diff of two recordings reads well
            entry["frameworks"][fw] = {
                key: f"{a.dtype} {list(a.shape)} sha256:{_digest(a)}" for key, a in values.items()
            }
            for key, a in values.items():
                tensors[fw][f"{item.name}{SEP}{key}"] = a
        index_items[item.name] = entry
        if progress:
            progress(item.name, n + 1, len(items))
    index = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recorded": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": registry.versions([fw for fw in frameworks if fw != registry.REFERENCE]),
        "platform": platform_info(),
        "frameworks": list(frameworks),
        "threshold_ulps": THRESHOLD_ULPS,
        "items": index_items,
    }
    _write_atomically(out, index, tensors)
    return index


def _write_atomically(
    out: Path, index: dict[str, Any], tensors: dict[str, dict[str, Array]]
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a baseline is shared
        for fw, arrays in tensors.items():
            with open(tmp / f"{fw}.npz", "wb") as fh:
                np.savez_compressed(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
        (tmp / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------


def load_index(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise BaselineError(f"{path}: no such baseline folder")
    index_file = path / INDEX
    if not path.is_dir() or not index_file.is_file():
        raise BaselineError(f"{path} is not a baseline (no {INDEX}); make one with 'record'")
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{index_file}: unreadable ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise BaselineError(f"{index_file} is not a baseline index (format is not {FORMAT!r})")
    if index.get("format_version") != FORMAT_VERSION:
        raise BaselineError(
            f"{index_file}: format version {index.get('format_version')!r}, this refnn reads "
            f"{FORMAT_VERSION}: record it again"
        )
    for fw in index["frameworks"]:
        if not (path / f"{fw}.npz").is_file():
            raise BaselineError(f"{path}: {fw}.npz is missing; the baseline is incomplete")
    return index


@dataclass(frozen=True)
class Change:
    item: str
    framework: str
    tensor: str  # "quantity|tensor", or "" for the whole item
    max_ulp: int
    max_rel: float
    threshold: int
    note: str = ""

    def message(self) -> str:
        where = f"{self.item} [{self.framework}] {self.tensor or '(item)'}"
        if self.note:
            return f"CHANGED {where}: {self.note}"
        return (
            f"CHANGED {where}: {self.max_ulp} ulp, max relative {self.max_rel:.3e} "
            f"(threshold {self.threshold} ulp)"
        )

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def compare_tensor(recorded: Array, now: Array) -> tuple[int, float] | str:
    """``(max ulp, max relative error)``, or a note when they cannot be compared."""
    from parity_tests.compare import tensor_error

    if recorded.shape != now.shape:
        return f"shape {recorded.shape} -> {now.shape}"
    if recorded.dtype != now.dtype:
        return f"dtype {recorded.dtype} -> {now.dtype}"
    if recorded.tobytes() == now.tobytes():
        return 0, 0.0
    if recorded.dtype.kind != "f":
        return "values differ"
    nan_now, nan_then = np.isnan(now), np.isnan(recorded)
    if (nan_now != nan_then).any():
        return f"NaN pattern changed ({int(nan_then.sum())} -> {int(nan_now.sum())} NaNs)"
    finite = ~nan_now
    err = tensor_error(recorded[finite], now[finite])
    return max(err.max_ulp, 1), err.max_rel


@dataclass
class CheckResult:
    changes: list[Change]
    tensors: int
    items: int
    version_changes: list[str]
    platform_changes: list[str]
    seconds: float = 0.0
    # framework -> the recording its tensors were checked against ("main", or a platform's)
    matched: dict[str, str] = field(default_factory=dict)


PLATFORMS = "platforms"  # DIR/platforms/<label>/: the same items recorded on another CPU


def platform_recordings(path: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """``(label, folder, index)`` for the main recording and each ``DIR/platforms/<label>``."""
    found = [("main", path, load_index(path))]
    extra = path / PLATFORMS
    if extra.is_dir():
        for folder in sorted(p for p in extra.iterdir() if p.is_dir()):
            found.append((folder.name, folder, load_index(folder)))
    return found


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
) -> CheckResult:
    """Re-run the baseline's items (those matching ``filters``) and list every change."""
    import time

    start = time.perf_counter()
    if ulps is not None and ulps < 0:
        raise BaselineError(f"--ulps must be >= 0, got {ulps}")
    path = Path(path)
    index = load_index(path)
    recorded_fws = list(index["frameworks"])
    if frameworks is None:
        frameworks = recorded_fws
    missing = [fw for fw in frameworks if fw not in recorded_fws]
    if missing:
        raise BaselineError(
            f"framework(s) {', '.join(missing)} not in this baseline; it has "
            f"{', '.join(recorded_fws)}"
        )
    items = select([Item(name, e["recipe"]) for name, e in index["items"].items()], filters)
    recordings = platform_recordings(path)
    for _, folder, other in recordings[1:]:
        if set(other["items"]) != set(index["items"]):
            raise BaselineError(f"{folder}: records other items than {path}; record it again")
    # framework -> label -> the stored tensors of that recording
    stored = {
        fw: {label: np.load(folder / f"{fw}.npz") for label, folder, other in recordings
             if fw in other["frameworks"]}
        for fw in frameworks
    }  # fmt: skip
    for fw in frameworks:
        registry.get(fw).load()
    now_versions = registry.versions([fw for fw in frameworks if fw != registry.REFERENCE])
    then_versions = {k: v for k, v in index["versions"].items() if k in now_versions}
    changes: list[Change] = []
    # framework -> recording label -> the changes of the tensors against that recording
    tensor_changes: dict[str, dict[str, list[Change]]] = {
        fw: {label: [] for label in stored[fw]} for fw in frameworks
    }
    n_tensors = 0
    for n, item in enumerate(items):
        threshold = ulps if ulps is not None else THRESHOLD_ULPS.get(item.dtype, 0)
        entries = index["items"][item.name]["frameworks"]
        for fw in frameworks:
            entry = entries.get(fw)
            if entry is None:
                continue
            reason = item.unsupported(fw)
            if "unsupported" in entry or reason:
                if reason != entry.get("unsupported"):
                    then = entry.get("unsupported") or "ran"
                    note = f"support changed: {then} -> {reason or 'runs'}"
                    changes.append(Change(item.name, fw, "", 0, 0.0, threshold, note))
                continue
            values = item.run(fw)
            for key in sorted(set(entry) | set(values)):
                n_tensors += 1
                if key not in values:
                    changes.append(
                        Change(item.name, fw, key, 0, 0.0, threshold, "no longer produced")
                    )
                    continue
                if key not in entry:
                    changes.append(Change(item.name, fw, key, 0, 0.0, threshold, "new tensor"))
                    continue
                for label, arrays in stored[fw].items():
                    outcome = compare_tensor(arrays[f"{item.name}{SEP}{key}"], values[key])
                    found = tensor_changes[fw][label]
                    if isinstance(outcome, str):
                        found.append(Change(item.name, fw, key, 0, 0.0, threshold, outcome))
                    elif outcome[0] > threshold:
                        found.append(Change(item.name, fw, key, outcome[0], outcome[1], threshold))
        if progress:
            progress(item.name, n + 1, len(items))
    # Per framework, the recording its tensors match best: a CPU computes all of them its
    # own way, so one recording fits all of a framework's tensors or the numbers moved.
    matched = {}
    for fw in frameworks:
        label = min(tensor_changes[fw], key=lambda k: (len(tensor_changes[fw][k]), k != "main"))
        matched[fw] = label
        changes += tensor_changes[fw][label]
    platforms = {label: other["platform"] for label, _, other in recordings}
    return CheckResult(
        changes,
        n_tensors,
        len(items),
        _differences(then_versions, now_versions),
        _differences(platforms[matched[frameworks[0]]] if frameworks else index["platform"],
                     platform_info()),
        time.perf_counter() - start,
        matched,
    )  # fmt: skip


def explain(path: Path, change: Change) -> str:
    """Where the framework's current run of ``change.item`` first parts from the reference
    (per step, then per layer): the place to look for what moved."""
    from parity_tests.divergence import first_divergence

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


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def _progress(name: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\r{done}/{total} {name[:60]:<60}", end=end, file=sys.stderr)


def _record_main(args: argparse.Namespace) -> int:
    try:
        frameworks = registry.parse_frameworks(args.frameworks) if args.frameworks else installed()
        items = select(all_items(args.random, args.housing_epochs), args.filter)
        index = record(Path(args.out), items, frameworks, _progress)
    except (BaselineError, ValueError, KeyError, ImportError) as exc:
        print(f"refnn baseline record: {exc}", file=sys.stderr)
        return 2
    n = sum(
        len(v)
        for e in index["items"].values()
        for v in e["frameworks"].values()
        if "unsupported" not in v
    )
    size = sum(f.stat().st_size for f in Path(args.out).iterdir())
    print(
        f"wrote {args.out}: {len(items)} items, {n} tensors, {', '.join(frameworks)}, "
        f"{size / 1e6:.2f} MB; versions: "
        + ", ".join(f"{k} {v}" for k, v in index["versions"].items())
    )
    return 0


def _check_main(args: argparse.Namespace) -> int:
    try:
        frameworks = registry.parse_frameworks(args.frameworks) if args.frameworks else None
        result = check(Path(args.dir), args.filter, frameworks, args.ulps, _progress)
    except (BaselineError, ValueError, KeyError, ImportError) as exc:
        print(f"refnn baseline check: {exc}", file=sys.stderr)
        return 2
    for line in result.version_changes:
        print(f"version changed since the recording: {line}")
    for fw, label in result.matched.items():
        if label != "main":
            print(f"{fw}: checked against the recording for platform {label!r}")
    for line in result.platform_changes:
        print(f"platform changed since the recording: {line}")
    for change in result.changes:
        print(change.message())
    if args.explain:
        seen: set[tuple[str, str]] = set()
        for change in result.changes:
            if (change.item, change.framework) not in seen:
                seen.add((change.item, change.framework))
                print("  first divergence: " + explain(Path(args.dir), change))
    moved = len(result.changes)
    print(
        f"{args.dir}: {result.items} items, {result.tensors} tensors checked, {moved} changed "
        f"beyond the threshold, {result.seconds:.0f} s"
    )
    return 1 if moved else 0


def register(sub: Any) -> None:
    """``refnn baseline record|check``: added to the command by :mod:`experiments.cli`."""
    p = sub.add_parser(
        "baseline",
        help="record numerics baselines per framework version, or check against one",
        description="Record every compared tensor of the parity cases, worked examples and "
        "housing run per framework (with versions and platform), or re-run and report "
        "every change.",
    )
    inner = p.add_subparsers(dest="baseline_command", required=True)
    rec = inner.add_parser("record", help="run the selected items and write a baseline folder")
    rec.add_argument("--out", required=True, help="baseline folder (replaced atomically)")
    rec.add_argument(
        "--filter",
        action="append",
        default=[],
        help="only items whose name contains this (or matches it as a glob with *); repeat "
        "for several. Names: parity/<case>, example/<name>, housing/epochs<E>",
    )
    rec.add_argument(
        "--frameworks",
        default="",
        help="comma-separated frameworks (default: every registered one that is installed)",
    )
    rec.add_argument(
        "--random", type=int, default=0, help="random architectures per dtype (default 0)"
    )
    rec.add_argument(
        "--housing-epochs",
        type=int,
        default=HOUSING_EPOCHS,
        help=f"epochs of the housing run (default {HOUSING_EPOCHS} of 100, to keep CI "
        "short; 0 leaves it out)",
    )
    rec.set_defaults(handler=_record_main)
    chk = inner.add_parser("check", help="re-run a baseline's items and report every change")
    chk.add_argument("dir", help="a baseline folder written by 'refnn baseline record'")
    chk.add_argument("--filter", action="append", default=[], help="as for record")
    chk.add_argument("--frameworks", default="", help="check only these (default: all recorded)")
    chk.add_argument(
        "--ulps",
        type=int,
        default=None,
        help="allowed difference in ULPs (default 0: bit-identical, measured run to run)",
    )
    chk.add_argument(
        "--explain",
        action="store_true",
        help="for each changed item, the first step and layer where the framework now parts "
        "from the reference",
    )
    chk.set_defaults(handler=_check_main)
