"""Subcommands of ``refnn`` that need more than NumPy (frameworks, plotting)."""

from __future__ import annotations

import argparse
from typing import Any


def _parity_report(args: argparse.Namespace) -> int:
    from parity_tests.report import main

    return main(args)


def register(sub: Any) -> None:
    report = sub.add_parser(
        "parity-report",
        help="run the parity matrix; write parity.md, parity.json and parity.png",
        description="Run every case of the parity matrix (plus seeded random architectures) "
        "against PyTorch and Keras and write a Markdown table, JSON and a PNG heatmap of the "
        "worst error per case and framework against its tolerance.",
    )
    report.add_argument("--out", default="results/parity", help="output folder")
    report.add_argument("--random", type=int, default=30,
                        help="seeded random architectures per dtype (default 30)")
    report.add_argument("--filter", default="", help="only cases whose name contains this")
    report.set_defaults(handler=_parity_report)
