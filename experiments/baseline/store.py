"""A baseline folder on disk: recording it (locked, written whole) and reading it back safely.

``refnn baseline record --out DIR`` writes

* ``DIR/<framework>.npz``: every tensor, keyed ``"<item>|<quantity>|<tensor>"``
  (``"parity/tanh-mse-sgd-float64|grads|0.W"``), exactly as the framework returned it; the
  reference (``numpy``) is always among them, since the check measures every framework's
  error against it;
* ``DIR/index.json``: the library versions, the platform (CPU model and the ISA flags by which
  kernels are picked), and for every item its recipe (how to rebuild it) and, per framework and
  tensor, shape, dtype and a SHA-256 of the bytes, so that ``git diff`` of a re-recorded
  baseline names what moved.

The folder goes through :mod:`parity_tests.harness.output`: checked and locked before any work (a
second record into it stops at once), filled beside it and swapped in whole, so a baseline is
complete or absent, never half written.  ``DIR/platforms/<label>/`` (the same items recorded
on other CPUs) is carried over when ``DIR`` is recorded again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parity_tests.harness import registry
from parity_tests.harness.output import OutputError, check_target, claim
from parity_tests.harness.protocol import Array

from .items import SEP, BaselineError, Item, recipe_problem

FORMAT = "refnn-baseline"
FORMAT_VERSION = 1
INDEX = "index.json"
PLATFORMS = "platforms"  # DIR/platforms/<label>/: the same items recorded on another CPU

Progress = Callable[[str, int, int], None]


# ------------------------------------------------------------------------------- the platform

# The CPU features by which BLAS, oneDNN and XLA pick their kernels: two CPUs sold under one
# model name ("AMD EPYC") can differ here, and so round differently.
ISA_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
)  # fmt: skip


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _isa() -> str:
    flags = _cpuinfo_field("flags")
    if flags is None:
        return "unknown"
    have = set(flags.split())
    return " ".join(f for f in ISA_FLAGS if f in have) or "none"


def platform_info() -> dict[str, str]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "cpu": _cpuinfo_field("model name") or platform.processor() or "unknown",
        "isa": _isa(),
        "python": platform.python_version(),
    }


def platform_label() -> str:
    """A folder name for this CPU's recording: vendor and widest vector ISA."""
    cpu = platform_info()["cpu"].lower()
    vendor = "amd" if "amd" in cpu else "intel" if "intel" in cpu else "cpu"
    isa = _isa().split()
    widest = next((f for f in ("amx_tile", "avx512f", "avx2", "avx") if f in isa), "base")
    return f"{vendor}-{widest.replace('_tile', '').replace('avx512f', 'avx512')}"


# ------------------------------------------------------------------------------- recording


def _digest(a: Array) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def check_record_target(out: str | os.PathLike[str]) -> Path:
    """The folder ``out`` as an absolute path, if a baseline may be recorded there: a place
    an output folder may be written (``parity_tests.harness.output.check_target``) that is empty,
    absent or a baseline already.  BaselineError (one line) otherwise; nothing is created."""
    text = os.fspath(out)
    if not text.strip():
        raise BaselineError("--out is empty; name a baseline folder")
    try:
        target = check_target(text)
    except OutputError as exc:
        raise BaselineError(str(exc)) from None
    if target.is_dir() and not (target / INDEX).is_file() and any(target.iterdir()):
        raise BaselineError(f"{text} exists and is not a baseline: refusing to replace it")
    return target


def record(
    out: Path,
    items: Sequence[Item],
    frameworks: Sequence[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run ``items`` in ``frameworks`` (the reference is always added) and write the baseline
    to ``out``: checked and locked first, swapped in whole at the end."""
    frameworks = [registry.REFERENCE] + [f for f in frameworks if f != registry.REFERENCE]
    try:
        folder = claim(out)
    except OutputError as exc:
        raise BaselineError(str(exc)) from None
    with folder:
        check_record_target(out)  # again, now that the folder is locked
        for fw in frameworks:
            registry.get(fw).load()
        tensors: dict[str, dict[str, Array]] = {fw: {} for fw in frameworks}
        index_items: dict[str, Any] = {}
        for n, item in enumerate(items):
            entry: dict[str, Any] = {"recipe": item.recipe, "frameworks": {}}
            for fw in frameworks:
                reason = item.refusal(fw)
                if reason:
                    entry["frameworks"][fw] = {"unsupported": reason}
                    continue
                values = item.run(fw)
                # one line per tensor in the JSON, so that a diff of two recordings reads well
                entry["frameworks"][fw] = {
                    key: f"{a.dtype} {list(a.shape)} sha256:{_digest(a)}"
                    for key, a in values.items()
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
            "items": index_items,
        }

        def fill(tmp: Path) -> None:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # a baseline is shared, not private like a temp
            for fw, arrays in tensors.items():
                with open(tmp / f"{fw}.npz", "wb") as fh:
                    np.savez_compressed(fh, **arrays)
                    fh.flush()
                    os.fsync(fh.fileno())
            (tmp / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")

        # only other CPUs' recordings are carried over from a previous baseline here
        folder.write(fill, keep=lambda entry: entry.name == PLATFORMS)
    return index


# ------------------------------------------------------------------------------- reading


def load_index(path: Path) -> dict[str, Any]:
    """The index of the baseline folder ``path``, checked: BaselineError (one line) if the
    folder is missing, is not a baseline, or its index cannot rebuild its items."""
    path = Path(path)
    if not str(path).strip() or not path.exists():
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
    shapes = {"items": dict, "frameworks": list, "versions": dict, "platform": dict}
    for key, kind in shapes.items():
        if not isinstance(index.get(key), kind):
            raise BaselineError(
                f"{index_file}: '{key}' is missing or not a JSON {kind.__name__}: the index is "
                "damaged; restore it from version control or record the baseline again"
            )
    unknown = [fw for fw in index["frameworks"] if fw not in registry.names()]
    if unknown:
        raise BaselineError(
            f"{index_file}: unknown framework(s) {', '.join(map(str, unknown))}; this refnn "
            f"knows {', '.join(registry.names())}"
        )
    if registry.REFERENCE not in index["frameworks"]:
        raise BaselineError(
            f"{index_file}: the reference ({registry.REFERENCE}) is not recorded, so no error "
            "against it can be measured: record the baseline again"
        )
    for name, entry in index["items"].items():
        problem = recipe_problem(name, entry.get("recipe") if isinstance(entry, dict) else None)
        if problem is None and not isinstance(entry.get("frameworks"), dict):
            problem = f"item {name!r} has no per-framework entries"
        if problem:
            raise BaselineError(f"{index_file}: {problem}; record the baseline again")
    for fw in index["frameworks"]:
        if not (path / f"{fw}.npz").is_file():
            raise BaselineError(f"{path}: {fw}.npz is missing; the baseline is incomplete")
    return index


def load_arrays(path: Path, framework: str) -> dict[str, Array]:
    """Every stored tensor of ``framework`` in the baseline folder ``path``, read whole (a
    damaged archive is found here, not half way through a check).  Never unpickles."""
    file = Path(path) / f"{framework}.npz"
    try:
        with open(file, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc).split(". ")[0].split("\n")[0] or type(exc).__name__
        if "pickle" in reason.lower():
            reason = "it holds Python objects, which a baseline never does"
        raise BaselineError(
            f"{file}: not a readable baseline archive ({reason}); restore it from version "
            "control or record the baseline again"
        ) from None


def stored(arrays: dict[str, Array], file: Path, item: str, key: str) -> Array:
    """The stored tensor ``key`` of ``item``; a folder whose archive lacks it is mixed up."""
    try:
        return arrays[f"{item}{SEP}{key}"]
    except KeyError:
        raise BaselineError(
            f"{file} has no tensor {key!r} of item {item!r} though its index lists it: the "
            "folder mixes recordings of different items; record the baseline again"
        ) from None


def platform_recordings(path: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """``(label, folder, index)`` for the main recording and each ``DIR/platforms/<label>``;
    a platform recording of other items is refused."""
    main = load_index(path)
    found = [("main", Path(path), main)]
    extra = Path(path) / PLATFORMS
    if extra.is_dir():
        for folder in sorted(p for p in extra.iterdir() if p.is_dir()):
            other = load_index(folder)
            if set(other["items"]) != set(main["items"]):
                raise BaselineError(f"{folder}: records other items than {path}; record it again")
            found.append((folder.name, folder, other))
    return found
