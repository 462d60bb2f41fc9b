"""``refnn housing``: the main job."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_FRAMEWORKS = "numpy,torch,keras"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "housing",
        help="the housing experiment in NumPy, PyTorch and Keras from the same weights",
        description="Train the published 2-3-1 network on California housing in every chosen "
        "framework from the same initial weights and sample order; write results.json, "
        "summary.md and housing.png.  Offline: --data PATH or REFNN_HOUSING_DATA.",
    )
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument(
        "--frameworks",
        default=None,
        help=f"comma-separated framework names (default {DEFAULT_FRAMEWORKS}; see "
        "parity_tests/harness/registry.py); the seed study (--seeds) is NumPy only",
    )
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument(
        "--order",
        choices=("sequential", "shuffled"),
        default="sequential",
        help="samples in order (as published) or one seeded permutation per epoch",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="initial weights (and shuffling) seed (default 0)"
    )
    p.add_argument(
        "--data",
        default=None,
        help="cal_housing.data(.gz) or cal_housing.tgz, or 'sklearn' for scikit-learn's "
        "downloader (default: $REFNN_HOUSING_DATA, else the copy shipped with the project)",
    )
    p.add_argument("--out", default="results/housing", help="output folder")
    p.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="frameworks trained side by side in worker processes (1: one after another)",
    )
    p.add_argument(
        "--no-baseline", action="store_true", help="skip the article's Keras-defaults baseline"
    )
    p.add_argument(
        "--as-published",
        action="store_true",
        help="also run the notebook's update rule as written (sigmoid_der of the activations; "
        "NumPy, float64) next to the true-gradient run, with the difference and its cause",
    )
    p.add_argument(
        "--seeds",
        default=None,
        metavar="A..B",
        help="the seed study: NumPy runs from the initial weights of seeds A..B, integers "
        "0 <= A <= B (the text's rule; with --as-published the notebook's too), a table and "
        "histograms in OUT/seeds_A-B/",
    )
    p.set_defaults(handler=main)


class _Progress:
    """A tqdm bar per framework on a terminal; a line per finished framework otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bars: dict[str, Any] = {}

    def __call__(self, framework: str, done: int, total: int) -> None:
        if self.tty:
            from tqdm import tqdm

            if framework not in self.bars:
                self.bars[framework] = tqdm(
                    total=total, desc=f"{framework:>6}", unit="epoch", file=sys.stderr
                )
            self.bars[framework].update(done - self.bars[framework].n)
            if done == total:
                self.bars[framework].close()
        elif done == total:
            print(f"{framework}: {total} epochs done", file=sys.stderr)


def _refuse(message: str) -> int:
    print(f"refnn housing: {message}", file=sys.stderr)
    return 2


def _check_seed_study(args: argparse.Namespace, chosen: list[str]) -> str | None:
    """Why ``--seeds`` cannot run with the other options given, or None.  The study is the
    NumPy reference alone, from seeds A..B, in float64: an option it would ignore is refused,
    not dropped in silence."""
    if "-" in args.seeds:  # parse_seeds's own message would not say why
        return (
            f"--seeds {args.seeds}: seeds are integers >= 0, written A..B with A <= B "
            "(e.g. --seeds 0..49)"
        )
    if args.frameworks is not None and chosen != ["numpy"]:
        return (
            f"--seeds runs the NumPy reference only, not --frameworks {args.frameworks}: "
            "drop --frameworks (or run without --seeds)"
        )
    if args.seed is not None:
        return "--seed and --seeds exclude each other: --seeds A..B names the seeds"
    if args.dtype != "float64":
        return "--as-published and --seeds run in float64 only"
    return None


def _extras_refusal(args: argparse.Namespace, chosen: list[str]) -> str | None:
    """The optional packages this run needs, when some are missing (checked before work)."""
    import os

    from experiments import extras

    from .dataset import ENV_VAR, SKLEARN_SOURCE

    modules = ["matplotlib"]  # housing.png, or the study's histograms
    if sys.stderr.isatty():
        modules.append("tqdm")  # the progress bars
    source = args.data if args.data is not None else os.environ.get(ENV_VAR)
    if source is not None and source.strip() == SKLEARN_SOURCE:
        modules.append("sklearn")
    if args.seeds is None:
        modules += extras.framework_modules(chosen)
    what = "the seed study" if args.seeds is not None else f"--frameworks {','.join(chosen)}"
    return extras.refusal(what, modules)


def main(args: argparse.Namespace) -> int:
    from parity_tests.harness.registry import parse_frameworks

    try:
        chosen = parse_frameworks(
            DEFAULT_FRAMEWORKS if args.frameworks is None else args.frameworks
        )
    except ValueError as exc:
        return _refuse(str(exc))
    if args.epochs < 1:
        return _refuse(f"--epochs must be >= 1, got {args.epochs}")
    if args.jobs < 1:
        return _refuse(f"--jobs must be >= 1, got {args.jobs}")
    if args.seed is not None and args.seed < 0:
        return _refuse(f"--seed must be >= 0, got {args.seed}")
    seeds = None
    if args.seeds is not None:
        from .seed_study import parse_seeds

        problem = _check_seed_study(args, chosen)
        try:
            seeds = parse_seeds(args.seeds) if problem is None else None
        except ValueError as exc:
            problem = str(exc)
        if problem is not None:
            return _refuse(problem)
        chosen = ["numpy"]
    if args.as_published and args.dtype != "float64":
        return _refuse("--as-published and --seeds run in float64 only")
    problem = _extras_refusal(args, chosen)
    if problem is not None:
        return _refuse(problem)
    args.seed = 0 if args.seed is None else args.seed
    args.frameworks = ",".join(chosen)
    from parity_tests.harness.output import OutputError, claim

    if seeds is not None:
        from .seed_study import main as seed_study

        try:
            out = claim(args.out)  # the study writes OUT/seeds_A-B: one run in OUT at a time
        except OutputError as exc:
            return _refuse(str(exc))
        with out:
            return seed_study(args, seeds)
    try:
        out = claim(args.out)  # checked and locked before any work
    except OutputError as exc:
        return _refuse(str(exc))
    with out:
        return _run(args, chosen, out)


def _run(args: argparse.Namespace, chosen: list[str], out: Any) -> int:
    from parity_tests.harness.registry import versions
    from reference_nn._checks import AllocationError

    from .dataset import HousingDataError
    from .protocol import make_problem
    from .report import write_results
    from .run import evaluate, train_all

    try:
        problem = make_problem(
            data=args.data, dtype=args.dtype, epochs=args.epochs, seed=args.seed, order=args.order
        )
    except (HousingDataError, AllocationError) as exc:
        print(f"refnn housing: {exc}", file=sys.stderr)
        return 2
    progress = _Progress()
    baseline = None
    if not args.no_baseline and "keras" in chosen:
        from .baseline import run_baseline
        from .run import SideJob

        # in a process of its own, beside the training (with --jobs 1 too: the frameworks
        # compute on one core each, and the baseline is independent of them)
        baseline = SideJob(run_baseline, problem, epochs=args.epochs, seed=args.seed)
    try:
        runs = train_all(problem, chosen, progress, jobs=args.jobs)
        results = evaluate(problem, runs)
        if baseline is not None:
            results["baseline"] = baseline.result()
    finally:
        if baseline is not None:
            baseline.stop()
    if args.as_published:
        from .as_published import run_as_published

        results["as_published"] = run_as_published(problem, results)
    settings = {k: v for k, v in vars(args).items() if k != "handler"}
    settings["data_source"] = problem.source
    paths = out.write(lambda tmp: write_results(tmp, settings, versions(chosen), results))
    for fw, f in results["final"].items():
        print(
            f"{fw:>6}: test MSE {f['test_mse']:.6f}  R^2 {f['test_r2']:.4f}  "
            f"(compile {f['compile_seconds']:.1f} s, train {f['train_seconds']:.1f} s)"
        )
    w = results["worst"]
    print(
        f"largest relative parameter difference between frameworks: final "
        f"{w['final_parameter_rel']:.2e}, any epoch {w['any_epoch_parameter_rel']:.2e}; "
        f"test MSE spread {w['final_test_mse_abs']:.2e}"
    )
    if "baseline" in results:
        print(results["baseline"]["summary"])
    if "as_published" in results:
        from .as_published import summary_lines

        print("\n".join(summary_lines(results["as_published"], args.epochs)))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
