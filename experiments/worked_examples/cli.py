"""``refnn examples``: list the worked examples; ``refnn examples run NAME``: run one.

A run trains the example in each chosen framework from the same initial weights and prints,
side by side, what the source article printed (its final outputs, its loss every N steps,
its error terms...), the published figures with a verdict, and the worst disagreement of
each framework with the NumPy reference.  Exit status 0 when every published figure is
reproduced and every comparison is within tolerance, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np


def register(sub: Any) -> None:
    p = sub.add_parser(
        "examples",
        help="the worked examples of the published articles this project reproduces "
        "(docs/worked_examples.md): list them, or run one",
        description="The worked examples of the published articles this project reproduces "
        "(docs/worked_examples.md).  Without a subcommand: list them.  'run NAME' trains one "
        "in NumPy, PyTorch and Keras from the same weights and prints the article's figures "
        "next to each framework's.",
    )
    p.set_defaults(handler=_list)
    inner = p.add_subparsers(dest="examples_command")
    run = inner.add_parser("run", help="run one worked example")
    run.add_argument("name", help="example name (see 'refnn examples')")
    run.add_argument(
        "--frameworks",
        default="numpy,torch,keras",
        help="comma-separated framework names (default: numpy,torch,keras)",
    )
    run.add_argument(
        "--steps", type=int, default=None, help="gradient steps (default: the source's)"
    )
    run.add_argument(
        "--every",
        type=int,
        default=None,
        help="print the loss every N steps (default: as often as the source did; 0: no loss lines)",
    )
    run.add_argument(
        "--keras-loop",
        choices=("xla", "graph", "eager"),
        default=None,
        help="Keras training loop: compiled with XLA (default), a TF graph, or eager",
    )
    run.add_argument(
        "--as-published",
        action="store_true",
        help="also run the source's program as written, quirks included (NumPy), and print "
        "what it prints next to the true gradient, with the difference and its cause",
    )
    run.set_defaults(handler=_run)


def _list(args: argparse.Namespace) -> int:
    from experiments import extras

    from .registry import ELSEWHERE, EXAMPLES

    width = max(map(len, [*EXAMPLES, *ELSEWHERE]))
    for name, factory in EXAMPLES.items():
        try:
            ex = factory()
        except ModuleNotFoundError as exc:  # its data comes from an extra (digits: sklearn)
            module = (exc.name or "").split(".")[0]
            if module not in extras.MODULES:
                raise
            print(f"{name:<{width}}  needs {extras.MODULES[module][0]}: "
                  f"{extras.install_hint([module])}")  # fmt: skip
            continue
        print(f"{name:<{width}}  {ex.steps:>6} step(s)  {ex.title}  [{ex.source}]")
    for name, where in ELSEWHERE.items():
        print(f"{name:<{width}}  run with {where}")
    print("\nrun one: refnn examples run NAME [--frameworks numpy,torch,keras]")
    return 0


class _Progress:
    """A one-line counter on stderr, only when stderr is a terminal."""

    def __init__(self, framework: str) -> None:
        self.framework = framework

    def __call__(self, done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{self.framework:>6}: step {done:>6} / {total}", end=end, file=sys.stderr)


def _fmt(value: Any) -> str:
    return f"{float(value):.10g}"


def _rows(figures: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(label, one value per framework) for every element of every figure."""
    frameworks = list(figures)
    keys = list(figures[frameworks[0]])
    out = []
    for key in keys:
        arrays = [np.asarray(figures[fw][key], dtype=np.float64) for fw in frameworks]
        flat = [a.ravel() for a in arrays]
        for i in range(flat[0].size):
            index = list(map(int, np.unravel_index(i, arrays[0].shape)))
            label = key if flat[0].size == 1 else f"{key}{index}"
            out.append((label, [_fmt(f[i]) for f in flat]))
    return out


def _refuse(message: str) -> int:
    print(f"refnn examples: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    from experiments import extras
    from parity_tests.harness.registry import parse_frameworks

    from .registry import get_example, reproduce

    try:
        chosen = parse_frameworks(args.frameworks)
    except ValueError as exc:
        return _refuse(str(exc))
    if "numpy" not in chosen:
        chosen.insert(0, "numpy")  # the reference every framework is compared with
    if args.keras_loop is not None and "keras" not in chosen:
        return _refuse(f"--keras-loop {args.keras_loop} is for Keras: add keras to --frameworks")
    if args.steps is not None and args.steps < 1:
        return _refuse(f"--steps must be >= 1, got {args.steps}")
    if args.every is not None and args.every < 0:
        return _refuse(f"--every must be >= 0 (0: no loss lines), got {args.every}")
    refusal = extras.refusal(f"--frameworks {','.join(chosen)}", extras.framework_modules(chosen))
    if refusal is not None:
        return _refuse(f"{refusal} (or run --frameworks numpy)")
    try:
        example = get_example(args.name)
    except KeyError as exc:
        return _refuse(exc.args[0])
    except ModuleNotFoundError as exc:  # the example's data comes from an extra
        module = (exc.name or "").split(".")[0]
        if module not in extras.MODULES:
            raise
        return _refuse(extras.refusal(args.name, [module]) or str(exc))
    if args.steps is not None:
        from reference_nn._checks import AllocationError, check_allocation

        try:  # a loss per step, and the full-batch order of each step
            check_allocation(
                (args.steps + 1) * 8 + args.steps * len(example.X) * 8,
                f"{args.steps:,} steps (a loss and a batch order per step)",
                "use fewer --steps",
            )
        except AllocationError as exc:
            return _refuse(str(exc))
    # the published figures are the source's, after its own number of steps
    published_applies = args.steps is None or args.steps == example.steps
    source_steps = example.steps
    if args.steps is not None:
        example = example.with_changes(steps=args.steps)
    every = example.report_every if args.every is None else args.every

    print(f"{example.name}: {example.title}\nsource: {example.source}")
    print(f"spec: {example.spec.to_json()}\n")

    trajectories, figures = {}, {}
    for fw in chosen:
        progress = _Progress(fw) if sys.stderr.isatty() else None
        options = {"loop": args.keras_loop or "xla"} if fw == "keras" else {}
        figures[fw], trajectories[fw] = reproduce(example, fw, progress, **options)

    _print_loss_lines(example, trajectories, every)
    print("what the source printed (and more), per framework:")
    header = f"{'':<28}" + "".join(f"{fw:>18}" for fw in figures)
    print(header)
    for label, values in _rows(figures):
        print(f"{label:<28}" + "".join(f"{v:>18}" for v in values))

    ok = True
    if example.published and not published_applies:
        print(
            f"\npublished figures: not compared (the source's are after {source_steps:,} "
            f"step(s); this run took {example.steps:,})"
        )
    elif example.published:
        print("\npublished figures, checked at the precision they were printed to:")
        for key, fig in example.published.items():
            verdicts = []
            for fw, figs in figures.items():
                problem = fig.mismatch(figs[key]) if key in figs else "not computed"
                ok &= problem is None
                verdicts.append(f"{fw} {'ok' if problem is None else 'MISMATCH'}")
                if problem is not None:
                    print(f"  {fw}: {problem}")
            print(f"  {fig.what}: published {np.asarray(fig.value)}: {', '.join(verdicts)}")
    ok &= _print_agreement(trajectories)
    if args.as_published and "numpy" in trajectories:
        from .as_published import report

        lines, reproduced = report(example.name, trajectories["numpy"])
        print("\n" + "\n".join(lines))
        ok &= reproduced
    return 0 if ok else 1


def _print_loss_lines(example: Any, trajectories: dict[str, Any], every: int) -> None:
    """The source's loss lines: after update i + 1 for i = 0, every, 2 every, ..."""
    if every <= 0 or not trajectories:
        return
    print(f"loss after update k (the source printed it every {every} steps):")
    print(f"{'k':>8}" + "".join(f"{fw:>20}" for fw in trajectories))
    steps = next(iter(trajectories.values())).steps
    for i in range(0, steps, every):
        print(f"{i + 1:>8}" + "".join(f"{t.losses[i + 1]:>20.12g}" for t in trajectories.values()))
    print()


def _print_agreement(trajectories: dict[str, Any]) -> bool:
    from .compare import compare_trajectories, worst_by_quantity

    ref = trajectories.get("numpy")
    if ref is None:
        return True
    print("\nagreement with the NumPy reference (worst tensor per quantity, normwise relative):")
    ok = True
    for fw, traj in trajectories.items():
        if fw == "numpy":
            continue
        rows = compare_trajectories(ref, traj)
        ok &= all(r.passed for r in rows)
        for row in worst_by_quantity(rows).values():
            print("  " + row.message())
    print(
        "\nwall time of the training loop: "
        + ", ".join(f"{fw} {t.seconds:.2f} s" for fw, t in trajectories.items())
    )
    return ok
