"""The ``refnn`` command.  It lives above the library: each package adds its own subcommand(s)
(``register(sub)``), and every framework is imported inside a handler, only when used, so
``refnn demo`` and ``refnn examples run xor_3_4_1 --frameworks numpy`` need NumPy alone.

What a command needs beyond NumPy (an extra of the package) is checked here, or by the
command's own handler where it depends on the command's data, before any work: a missing extra
is one line naming it and exit status 2, never a traceback at the end of a run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from experiments import baseline as parity_baseline
from experiments import bench, demo, extras
from experiments.housing import cli as housing_cli
from experiments.worked_examples import cli as examples_cli
from parity_tests.harness.loaders import FrameworkUnavailable
from parity_tests.tools import check_model
from parity_tests.tools import report as parity_report

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


# A value that begins with a minus and a digit ("-3..2", "-1e3"): argparse takes such a token
# for an option unless it is a plain negative number, and says only "expected one argument".
_DASH_VALUE = re.compile(r"-\d")


def _attach_dash_values(argv: list[str]) -> list[str]:
    """``--seeds -3..2`` -> ``--seeds=-3..2``, so the command's own check sees the value and
    says what is wrong with it.  Only a long option followed by such a value is joined."""
    out: list[str] = []
    for token in argv:
        previous = out[-1] if out else ""
        if (
            _DASH_VALUE.match(token)
            and previous.startswith("--")
            and "=" not in previous
            and previous != "--"
        ):
            out[-1] = f"{previous}={token}"
        else:
            out.append(token)
    return out


def _baseline_frameworks(args: argparse.Namespace) -> list[str]:
    """The frameworks a ``baseline check`` will run: those named, else those recorded."""
    from parity_tests.harness.registry import parse_frameworks

    try:
        if getattr(args, "frameworks", ""):
            return parse_frameworks(args.frameworks)
        from experiments.baseline import load_index

        return list(load_index(Path(args.dir))["frameworks"])
    except Exception:  # the command's own checks report a bad folder or list, in one line
        return []


def _needs(args: argparse.Namespace) -> tuple[str, list[str]]:
    """(what, modules) for the commands whose needs do not depend on their data; the others
    (housing, examples, bench) check in their handlers."""
    from parity_tests.harness.registry import names

    if args.command == "parity-report":  # every registered framework, and a PNG heatmap
        return "refnn parity-report", [*extras.framework_modules(names()), "matplotlib"]
    if args.command == "check-model":
        keras = any(p.endswith((".keras", ".h5")) for p in args.paths)
        torch = any(not p.endswith((".keras", ".h5")) for p in args.paths)
        chosen = ["keras"] * keras + ["torch"] * torch
        return "refnn check-model", extras.framework_modules(chosen)
    if args.command == "baseline":
        # its items include the worked examples, whose digits data is scikit-learn's
        if getattr(args, "baseline_command", "") == "check":
            modules = extras.framework_modules(_baseline_frameworks(args))
            return "refnn baseline check", [*modules, "sklearn"]
        if getattr(args, "baseline_command", "") == "record":
            return "refnn baseline record", ["sklearn"]
    return "", []


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(_attach_dash_values(argv))
    handler: Handler = args.handler
    what, modules = _needs(args)
    refusal = extras.refusal(what, modules) if modules else None
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    try:
        code = handler(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the exit
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        # a path the checks above did not foresee: still one line naming the extra
        module = (exc.name or "").split(".")[0]
        if module not in extras.MODULES:
            raise
        pip_name = extras.MODULES[module][0]
        hint = extras.install_hint([module])
        print(f"refnn {args.command}: {pip_name} is not installed: {hint}", file=sys.stderr)
        return 2
    except FrameworkUnavailable as exc:  # installed but unusable, found only when imported
        print(f"refnn {args.command}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (``refnn examples | head``): nothing left to say, and Python's
        # flush at exit must not raise a second time
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
