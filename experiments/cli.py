"""The ``refnn`` command.  It lives above the library: each package adds its own subcommands
(``register(sub)``), and every framework is imported inside a handler, only when used, so
``refnn demo`` and ``refnn housing --frameworks numpy`` need NumPy alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from experiments import baseline as parity_baseline
from experiments import bench, demo
from experiments.housing import cli as housing_cli
from experiments.worked_examples import cli as examples_cli
from parity_tests import check_model
from parity_tests import report as parity_report

Handler = Callable[[argparse.Namespace], int]

# Each entry adds its subcommand(s) to the parser; a new command is one line here.
COMMANDS = (
    demo.register,
    housing_cli.register,
    examples_cli.register,
    parity_report.register,
    bench.register,
    parity_baseline.register,
    check_model.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refnn",
        description="Neural networks in NumPy with hand-written gradients, cross-checked "
        "against the frameworks people train with.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
