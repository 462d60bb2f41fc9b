"""``refnn baseline record|check``: added to the command by :mod:`experiments.cli`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from parity_tests.harness import registry
from parity_tests.harness.loaders import FrameworkUnavailable
from parity_tests.harness.output import OutputError

from .check import CheckResult, check, explain
from .items import HOUSING_EPOCHS, BaselineError, Item, all_items, installed, select
from .store import check_record_target, load_index, platform_info, platform_label, record


def _progress(name: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\r{done}/{total} {name[:60]:<60}", end=end, file=sys.stderr)


def _usage_errors() -> tuple[type[BaseException], ...]:
    return (BaselineError, OutputError, FrameworkUnavailable, ValueError, KeyError, ImportError)


def _record_main(args: argparse.Namespace) -> int:
    try:
        check_record_target(args.out)  # before any framework is imported or any item run
        if args.like is not None:
            if args.filter or args.random or args.housing_epochs != HOUSING_EPOCHS:
                raise BaselineError("--like takes the items from its baseline: drop --filter, "
                                    "--random and --housing-epochs")  # fmt: skip
            like = load_index(Path(args.like))
            items = [Item(name, e["recipe"]) for name, e in like["items"].items()]
            default_fws = list(like["frameworks"])
        else:
            items = select(all_items(args.random, args.housing_epochs), args.filter)
            default_fws = installed()
        frameworks = registry.parse_frameworks(args.frameworks) if args.frameworks else default_fws
        index = record(Path(args.out), items, frameworks, _progress)
    except _usage_errors() as exc:
        print(f"refnn baseline record: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    n = sum(
        len(v)
        for e in index["items"].values()
        for v in e["frameworks"].values()
        if "unsupported" not in v
    )
    out = Path(args.out)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(
        f"wrote {args.out}: {len(items)} items, {n} tensors, {', '.join(index['frameworks'])}, "
        f"{size / 1e6:.2f} MB; versions: "
        + ", ".join(f"{k} {v}" for k, v in index["versions"].items())
    )
    return 0


def _print_summary(args: argparse.Namespace, result: CheckResult) -> None:
    for line in result.version_changes:
        print(f"version changed since the recording: {line}")
    for line in result.platform_changes:
        print(f"platform changed since the recording: {line}")
    for s in result.summaries:
        where = "the main recording" if s.recording == "main" else f"platform {s.recording!r}"
        if s.bit_identical == s.tensors:
            print(f"{s.framework}: bit-identical to {where} ({s.tensors} tensors)")
        else:
            moved = s.tensors - s.bit_identical
            print(
                f"{s.framework}: {moved} of {s.tensors} tensors differ in their bits from "
                f"{where} (up to {s.max_ulps} ulp, {s.max_rel:.1e} relative): kernel drift, "
                f"judged by the error against the reference (largest growth {s.max_growth:.1e}"
                f", {100 * s.envelope_used:.0f}% of its envelope)"
            )
    if not result.exact and not result.platform_recorded:
        info = platform_info()
        print(
            f"no recording of this platform ({info['cpu']}; {info['isa']}): checked against "
            "the envelope of the error against the reference; to record this platform's bits: "
            f"refnn baseline record --like {args.dir} --out "
            f"{os.path.join(args.dir, 'platforms', platform_label())}"
        )


def _check_main(args: argparse.Namespace) -> int:
    try:
        if args.json is not None:
            _check_json_target(args.json)
        frameworks = registry.parse_frameworks(args.frameworks) if args.frameworks else None
        result = check(
            Path(args.dir), args.filter, frameworks, args.ulps, _progress, exact=args.exact
        )
    except _usage_errors() as exc:
        print(f"refnn baseline check: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    _print_summary(args, result)
    for change in result.changes:
        print(change.message())
    if args.explain:
        seen: set[tuple[str, str]] = set()
        for change in result.changes:
            if (change.item, change.framework) not in seen:
                seen.add((change.item, change.framework))
                print("  first divergence: " + explain(Path(args.dir), change))
    if args.json is not None:
        _write_json(Path(args.json), result)
    gate = "bits (--exact)" if result.exact else "the envelope"
    print(
        f"{args.dir}: {result.items} items, {result.tensors} tensors checked, "
        f"{len(result.changes)} changed beyond {gate}, {result.seconds:.0f} s"
    )
    return 1 if result.changes else 0


def _check_json_target(text: str) -> None:
    path = Path(text)
    if not text.strip() or path.is_dir():
        raise BaselineError(f"--json {text!r} is not a file name: name a file to write")
    if path.exists() and not path.is_file():  # /dev/null would be replaced by a file
        raise BaselineError(f"--json {text} exists and is not a regular file: name a file")
    parent = path.parent
    if not parent.is_dir():
        raise BaselineError(f"--json {text}: {parent} is not an existing folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BaselineError(f"--json {text}: cannot write in {parent} (permission denied)")


def _write_json(path: Path, result: CheckResult) -> None:
    data = {
        "exact": result.exact,
        "platform": platform_info(),
        "matched": result.matched,
        "changes": [c.to_dict() for c in result.changes],
        "summaries": [s.__dict__ for s in result.summaries],
        "figures": [f.to_dict() for f in result.figures],
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=0) + "\n")
    os.replace(tmp, path)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "baseline",
        help="record numerics baselines per framework version, or check against one",
        description="Record every compared tensor of the parity cases, worked examples and "
        "housing run per framework (with versions and platform), or re-run them and fail "
        "where a framework's error against the reference grew beyond the measured envelope.",
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
        "--like",
        default=None,
        metavar="DIR",
        help="record the items and frameworks of the baseline DIR (for DIR/platforms/<label>)",
    )
    rec.add_argument(
        "--frameworks",
        default="",
        help="comma-separated frameworks (default: every registered one that is installed; "
        "the reference is always recorded)",
    )
    rec.add_argument(
        "--random",
        type=int,
        default=0,
        help="random architectures per dtype (default 0)",
    )
    rec.add_argument(
        "--housing-epochs",
        type=int,
        default=HOUSING_EPOCHS,
        help=f"epochs of the housing run (default {HOUSING_EPOCHS} of 100, to keep CI "
        "short; 0 leaves it out)",
    )
    rec.set_defaults(handler=_record_main)
    chk = inner.add_parser(
        "check",
        help="re-run a baseline's items; fail where an error against the reference grew",
    )
    chk.add_argument("dir", help="a baseline folder written by 'refnn baseline record'")
    chk.add_argument("--filter", action="append", default=[], help="as for record")
    chk.add_argument("--frameworks", default="", help="check only these (default: all recorded)")
    chk.add_argument(
        "--exact",
        action="store_true",
        help="fail on any bit that moved against the recording matched (a per-machine check)",
    )
    chk.add_argument(
        "--ulps",
        type=int,
        default=None,
        help="with --exact (implied): allow this many ULPs (default 0)",
    )
    chk.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="also write every tensor's figures (bits moved, error against the reference "
        "then and now) to FILE",
    )
    chk.add_argument(
        "--explain",
        action="store_true",
        help="for each changed item, the first step and layer where the framework now parts "
        "from the reference",
    )
    chk.set_defaults(handler=_check_main)
