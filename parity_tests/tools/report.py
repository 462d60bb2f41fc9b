"""``refnn parity-report``: run the parity matrix, write Markdown, JSON and a PNG heatmap.

For every case and framework: the worst normwise relative error per quantity against its
tolerance, with the library versions in the header.  This is what a CI job archives when a
framework version moves.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from parity_tests.cases.matrix import (
    DTYPES,
    N_RANDOM_LAYERS,
    Case,
    layer_cases,
    matrix,
    random_case,
    random_layer_case,
)
from parity_tests.harness import registry
from parity_tests.harness.compare import Comparison
from parity_tests.harness.parity import compare_case
from parity_tests.harness.workers import Group, Interrupts


def run_case(
    case: Case, only: str | None = None, check: Callable[[], None] | None = None
) -> list[Comparison]:
    """Reference vs every registered framework that runs ``case`` in this process (or only
    ``only``); a Keras backend other than this process's runs in :func:`run_elsewhere`.
    ``check()`` before each framework (:meth:`Interrupts.check`)."""
    out: list[Comparison] = []
    for name, reason in case.refusal_by_framework().items():
        if reason is None and (name == only if only else not registry.process_backend(name)):
            if check:
                check()
            out += compare_case(case, name)
    return out


def _run_cases(cases: list[Case], framework: str) -> tuple[list[Comparison], dict[str, str]]:
    """In a backend's own process: the comparisons, and the library versions it ran with."""
    comparisons = [c for case in cases for c in run_case(case, only=framework)]
    return comparisons, registry.versions([framework], include_reference=False)


def run_elsewhere(
    cases: list[Case], group: Group | None = None
) -> tuple[list[Comparison], dict[str, dict[str, str]]]:
    """The frameworks that need another Keras backend, each in a process of its own (one
    process each, which also reports its versions: a fresh Keras process costs ~10 s).  The
    processes run at the same time, each waited on by a thread; stopping ``group`` ends
    them."""
    elsewhere = [
        (name, backend)
        for name in registry.names(include_reference=False)
        if (backend := registry.process_backend(name))
    ]
    out: list[Comparison] = []
    versions: dict[str, dict[str, str]] = {}
    if not elsewhere:
        return out, versions
    with ThreadPoolExecutor(len(elsewhere)) as pool:
        futures = [
            (name, pool.submit(_in_backend, backend, _run_cases, cases, name, group=group))
            for name, backend in elsewhere
        ]
        for name, future in futures:  # in registry order, whichever finishes first
            comparisons, versions[name] = future.result()
            out += comparisons
    return out, versions


def _in_backend(backend: str, fn: Callable[..., Any], *args: Any, group: Group | None) -> Any:
    return registry.in_backend_process(backend, fn, *args, group=group)


def _explain_cases(pairs: list[tuple[Case, str]]) -> dict[str, str]:
    """In a framework's process: where each (case, framework) first parts from the reference."""
    from parity_tests.harness.divergence import explain_case

    return {f"{case.name} [{fw}]": explain_case(case, fw) for case, fw in pairs}


def explain_failures(
    cases: list[Case], worst: dict[tuple[str, str, str], Comparison], group: Group | None = None
) -> dict[str, str]:
    """``"case [framework]"`` -> the first step and layer where that framework parts from the
    reference, for every failing pair; another Keras backend's pairs in its own process."""
    by_name = {case.name: case for case in cases}
    failing = sorted({(k[0], k[1]) for k, c in worst.items() if not c.passed})
    here = [(by_name[name], fw) for name, fw in failing if not registry.process_backend(fw)]
    out = _explain_cases(here)
    for fw in sorted({fw for _, fw in failing if registry.process_backend(fw)}):
        pairs = [(by_name[name], f) for name, f in failing if f == fw]
        backend = registry.process_backend(fw)
        out |= registry.in_backend_process(backend, _explain_cases, pairs, group=group)
    return out


def summarize(comparisons: list[Comparison]) -> dict[tuple[str, str, str], Comparison]:
    """(case, framework, quantity) -> the worst tensor comparison."""
    worst: dict[tuple[str, str, str], Comparison] = {}
    for c in comparisons:
        key = (c.case, c.framework, c.quantity)
        if key not in worst or c.error.normwise_rel > worst[key].error.normwise_rel:
            worst[key] = c
    return worst


def measured_maxima(comparisons: list[Comparison]) -> dict[str, dict[str, float]]:
    """dtype -> quantity -> worst normwise relative error over everything run."""
    out: dict[str, dict[str, float]] = {}
    for c in comparisons:
        q = "steps" if c.quantity.startswith("step_") and c.quantity != "step_1" else c.quantity
        table = out.setdefault(c.dtype, {})
        table[q] = max(table.get(q, 0.0), c.error.normwise_rel)
    return out


def _markdown(
    worst: dict[tuple[str, str, str], Comparison],
    versions: dict[str, str],
    maxima: dict[str, dict[str, float]],
    seconds: float,
    divergences: dict[str, str] | None = None,
) -> str:
    quantities = sorted({k[2] for k in worst}, key=lambda q: (q.startswith("step"), len(q), q))
    lines = [
        "# Parity report",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        f"{len({k[0] for k in worst})} cases, {len(worst)} case x framework x quantity "
        f"entries, {seconds:.0f} s.",
        "",
        "## Worst error per dtype (normwise relative)",
        "",
        "| dtype | " + " | ".join(sorted({q for t in maxima.values() for q in t})) + " |",
    ]
    cols = sorted({q for t in maxima.values() for q in t})
    lines.append("|---" * (len(cols) + 1) + "|")
    for dtype, table in maxima.items():
        lines.append(f"| {dtype} | " + " | ".join(f"{table.get(q, 0):.2e}" for q in cols) + " |")
    failed = [c for c in worst.values() if not c.passed]
    lines += ["", f"## Failures: {len(failed)}", ""] + [f"- {c.message()}" for c in failed]
    if divergences:  # --explain
        lines += ["", "## Where each failing case first parts from the reference", ""]
        lines += [f"- {pair}: {text}" for pair, text in sorted(divergences.items())]
    lines += [
        "",
        "## Every case (worst error / tolerance)",
        "",
        "| case | framework | " + " | ".join(quantities) + " |",
        "|---|---|" + "---|" * len(quantities),
    ]
    for case, fw in sorted({(k[0], k[1]) for k in worst}):
        cells = []
        for q in quantities:
            c = worst.get((case, fw, q))
            cells.append(
                ""
                if c is None
                else f"{c.error.normwise_rel:.1e}/{c.tolerance:.0e}{'' if c.passed else ' FAIL'}"
            )
        lines.append(f"| {case} | {fw} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _heatmap(worst: dict[tuple[str, str, str], Comparison], path: Path) -> None:
    """Rows: network (activation-loss, or the random architecture); columns: optimizer,
    dtype and framework; colour: log10 of the worst error / tolerance over all quantities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ratio: dict[tuple[str, str], float] = {}
    for (case, fw, _), c in worst.items():
        parts = case.split("-")
        key = ("-".join(parts[:-2]), f"{parts[-2]} {parts[-1][5:]} {fw}")
        ratio[key] = max(ratio.get(key, 0.0), c.error.normwise_rel / c.tolerance)
    rows = sorted({r for r, _ in ratio})
    cols = sorted({c for _, c in ratio})
    image = np.full((len(rows), len(cols)), np.nan)
    for (r, c), value in ratio.items():
        image[rows.index(r), cols.index(c)] = np.log10(max(value, 1e-6))
    fig, ax = plt.subplots(figsize=(4 + 0.25 * len(cols), 2 + 0.14 * len(rows)))
    if not ratio:  # nothing was compared (every framework refused): say so, draw no image
        ax.text(0.5, 0.5, "no comparison: no framework ran these cases", ha="center")
        ax.set_axis_off()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return
    shown = ax.imshow(image, aspect="auto", cmap="viridis", vmin=-6, vmax=1)
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=6)
    ax.set_yticks(range(len(rows)), rows, fontsize=6)
    ax.set_title("log10(worst error / tolerance): above 0 fails; blank: refused")
    fig.colorbar(shown, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(
    out_dir: Path,
    cases: list[Case],
    progress: Callable[[int, int], None] | None = None,
    explain: bool = False,
) -> dict[str, Any]:
    """Run ``cases`` and write parity.md, parity.json and parity.png into ``out_dir``: the
    folder is locked for the run and replaced whole at the end (``parity_tests.harness.output``, the
    one writer of output folders), so an interrupted run leaves the previous report intact."""
    from parity_tests.harness.output import claim

    summary: dict[str, Any] = {}
    with claim(out_dir) as folder:
        folder.write(lambda tmp: summary.update(_write_into(tmp, cases, progress, explain)))
    return summary


def _write_into(
    out_dir: Path,
    cases: list[Case],
    progress: Callable[[int, int], None] | None = None,
    explain: bool = False,
) -> dict[str, Any]:
    from parity_tests.tools.referee import referee_errors, referee_markdown

    start = time.perf_counter()
    comparisons: list[Comparison] = []
    referee: dict[str, dict[str, float]] = {}
    group = Group()
    # keras-jax, keras-torch: a process each, running while this process runs the rest.  An
    # interruption stops them at once (Interrupts), and an exception leaving the work stops
    # them before the thread pool waits for its thread.
    with ThreadPoolExecutor(1) as pool, Interrupts(group) as interrupts, group.stopped_on_error():
        other_processes = pool.submit(run_elsewhere, cases, group)
        for i, case in enumerate(cases):
            comparisons += run_case(case, check=interrupts.check)
            if progress:
                progress(i + 1, len(cases))
        for case in cases:  # float32 cases: each framework against the float64 referee
            interrupts.check()
            if (errors := referee_errors(case)) is not None:
                referee[case.name] = errors
        elsewhere, known = other_processes.result()
        comparisons += elsewhere
        seconds = time.perf_counter() - start
        worst = summarize(comparisons)
        divergences = explain_failures(cases, worst, group) if explain else {}
        interrupts.check()
    versions, maxima = registry.versions(known=known), measured_maxima(comparisons)
    (out_dir / "parity.md").write_text(
        _markdown(worst, versions, maxima, seconds, divergences) + referee_markdown(referee)
    )
    summary = {
        "versions": versions,
        "seconds": seconds,
        "measured_maxima": maxima,
        "failures": sum(not c.passed for c in worst.values()),
        "entries": [c.to_dict() for c in worst.values()],
        "float32_vs_float64_referee": referee,
        "first_divergence": divergences,
    }
    (out_dir / "parity.json").write_text(json.dumps(summary, indent=1))
    _heatmap(worst, out_dir / "parity.png")
    return summary


# More random architectures than anyone runs (each takes about a second over the frameworks:
# 1,000 a dtype is over half an hour; the tolerances were measured on 60); a larger count is
# a typo, refused before anything is built (naming 1,000 takes ~0.3 s).
MAX_RANDOM = 1_000


def select_cases(filter_text: str | None, n_random: int) -> list[Case]:
    """The dense matrix, the layer-kind cases, ``n_random`` random dense architectures per
    dtype and as many random CNNs (at most the suite's count), names containing
    ``filter_text`` (None: every case); an empty selection is an error (a typo must not pass
    in CI), and so is an empty filter (an unset variable must not select the whole matrix)."""
    if n_random < 0:
        raise ValueError(f"--random must be >= 0, got {n_random}")
    if n_random > MAX_RANDOM:
        raise ValueError(
            f"--random {n_random} is more than {MAX_RANDOM:,} random architectures per dtype "
            "(each takes about a second); ask for fewer"
        )
    if filter_text is not None and not filter_text:
        raise ValueError("--filter is empty; leave it out to run every case")

    def chosen(name: str) -> bool:
        return filter_text is None or filter_text in name

    selected = [c for c in matrix() + layer_cases() if chosen(c.name)]
    for seed in range(n_random):
        # a random architecture does not depend on its dtype: one build names both, and the
        # float32 case is built only when its name is chosen
        case = random_case(seed, "float64")
        if chosen(case.name):
            selected.append(case)
        if chosen(case.name.removesuffix("float64") + "float32"):
            selected.append(random_case(seed, "float32"))
    n_cnn = min(n_random, N_RANDOM_LAYERS)
    selected += [
        c for s in range(n_cnn) for d in DTYPES if chosen((c := random_layer_case(s, d)).name)
    ]
    if not selected:
        raise ValueError(
            f"--filter {filter_text!r} selects no case; case names look like {matrix()[0].name!r}"
        )
    return selected


def main(args: Any) -> int:
    from parity_tests.harness.output import OutputError, claim

    try:
        selected = select_cases(args.filter, args.random)
        out = claim(args.out)  # checked and locked before any case runs
    except (ValueError, OutputError) as exc:
        print(f"refnn parity-report: {exc}", file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done}/{total} cases", end="" if done < total else "\n", file=sys.stderr)

    with out:
        summary = write_report(Path(args.out), selected, progress, args.explain)
    print(
        f"wrote {args.out}/parity.md, parity.json, parity.png: {len(selected)} cases, "
        f"{summary['failures']} failing entries, {summary['seconds']:.0f} s"
    )
    for dtype, table in summary["measured_maxima"].items():
        print(dtype, {q: f"{v:.2e}" for q, v in sorted(table.items())})
    for pair, text in sorted(summary["first_divergence"].items()):
        print(f"{pair}: {text}")
    return 1 if summary["failures"] else 0


def register(sub: Any) -> None:
    """``refnn parity-report``: added to the command by :mod:`experiments.cli`."""
    report = sub.add_parser(
        "parity-report",
        help="run the parity matrix; write parity.md, parity.json and parity.png",
        description="Run every case of the parity matrix (plus seeded random architectures) "
        "against every registered framework and write a Markdown table, JSON and a PNG "
        "heatmap of the worst error per case and framework against its tolerance.",
    )
    report.add_argument("--out", default="results/parity", help="output folder")
    report.add_argument(
        "--random",
        type=int,
        default=30,
        help=f"seeded random architectures per dtype (default 30, at most {MAX_RANDOM:,})",
    )
    report.add_argument(
        "--filter", help="only cases whose name contains this text (case-sensitive, not empty)"
    )
    report.add_argument(
        "--explain",
        action="store_true",
        help="for each failing case and framework, the first step and layer where they part",
    )
    report.set_defaults(handler=main)
