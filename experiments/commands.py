"""Subcommands of ``refnn`` that need more than NumPy (frameworks, plotting).  Each study
module adds its own parser; imports of frameworks happen inside the handlers."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

# module path -> function(sub) that adds that module's subcommand(s)
STUDIES = ("experiments.housing.cli", "experiments.worked_examples.cli")


def parse_frameworks(text: str, valid: Sequence[str], command: str) -> list[str] | None:
    """``--frameworks numpy,torch``: the names in order, or None (the error printed) if any is
    unknown or none is given."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(valid))
    if unknown or not chosen:
        print(
            f"{command}: unknown framework(s) {unknown}; valid: {', '.join(valid)}", file=sys.stderr
        )
        return None
    return chosen


def _parity_report(args: argparse.Namespace) -> int:
    from parity_tests.report import main

    return main(args)


def register(sub: Any) -> None:
    for module in STUDIES:
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if not module.startswith(str(exc.name)):
                raise
    report = sub.add_parser(
        "parity-report",
        help="run the parity matrix; write parity.md, parity.json and parity.png",
        description="Run every case of the parity matrix (plus seeded random architectures) "
        "against PyTorch and Keras and write a Markdown table, JSON and a PNG heatmap of the "
        "worst error per case and framework against its tolerance.",
    )
    report.add_argument("--out", default="results/parity", help="output folder")
    report.add_argument(
        "--random", type=int, default=30, help="seeded random architectures per dtype (default 30)"
    )
    report.add_argument("--filter", default="", help="only cases whose name contains this")
    report.set_defaults(handler=_parity_report)
