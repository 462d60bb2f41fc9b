"""results.json, summary.md and housing.png for a housing run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PUBLISHED = {
    "numpy": {"test_mse": 0.0285, "test_r2": 0.497},
    "keras_defaults": {"test_mse": 0.0281, "test_r2": 0.502},
}


def write_results(
    out: Path, settings: dict[str, Any], versions: dict[str, str], results: dict[str, Any]
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    payload = {"settings": settings, "versions": versions, "published": PUBLISHED, **results}
    paths = [out / "results.json", out / "summary.md", out / "housing.png"]
    paths[0].write_text(json.dumps(payload, indent=1))
    paths[1].write_text(summary_markdown(payload))
    _figure(payload, paths[2])
    return paths


def summary_markdown(p: dict[str, Any]) -> str:
    s, final, worst = p["settings"], p["final"], p["worst"]
    lines = [
        "# Housing experiment",
        "",
        "Settings: " + ", ".join(f"{k}={v}" for k, v in s.items()),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items()),
        "",
        "| framework | test MSE | test R^2 | train MSE | compile s | train s |",
        "|---|---|---|---|---|---|",
    ]
    for fw, f in final.items():
        lines.append(
            f"| {fw} | {f['test_mse']:.17g} | {f['test_r2']:.6f} | {f['train_mse']:.6f} "
            f"| {f['compile_seconds']:.1f} | {f['train_seconds']:.1f} |"
        )
    lines += [
        "",
        f"Published (the article): NumPy test MSE {PUBLISHED['numpy']['test_mse']}, "
        f"R^2 {PUBLISHED['numpy']['test_r2']}; Keras defaults "
        f"{PUBLISHED['keras_defaults']['test_mse']} / {PUBLISHED['keras_defaults']['test_r2']}.",
        "",
        "## Agreement between frameworks",
        "",
        f"- largest relative parameter difference after the last epoch: "
        f"{worst['final_parameter_rel']:.3e}",
        f"- largest at any epoch: {worst['any_epoch_parameter_rel']:.3e}",
        f"- spread of the final test MSE: {worst['final_test_mse_abs']:.3e}",
    ]
    for pair, diffs in p["parameter_differences"].items():
        lines.append(f"- {pair}: final {diffs[-1]:.3e}, worst epoch {max(diffs):.3e}")
    if "as_published" in p:
        from .as_published import summary_lines

        lines += ["", "## As published: the notebook's update rule (NumPy)", ""]
        lines += [f"- {line}" for line in summary_lines(p["as_published"], s["epochs"])]
    if "baseline" in p:
        b = p["baseline"]
        lines += [
            "",
            "## The article's Keras baseline (RMSprop, batch 32, Glorot)",
            "",
            b["summary"],
        ]
    return "\n".join(lines) + "\n"


def _figure(p: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    styles = {"numpy": "-", "torch": "--", "keras": ":"}
    for fw, h in p["history"].items():
        epochs = range(1, len(h["test_mse"]) + 1)
        left.plot(epochs, h["train_mse"], styles.get(fw, "-"), label=f"{fw} train")
        left.plot(epochs, h["test_mse"], styles.get(fw, "-"), label=f"{fw} test")
    if "as_published" in p:  # the notebook's rule (not the gradient): its own curves
        h = p["as_published"]["history"]
        epochs = range(1, len(h["test_mse"]) + 1)
        left.plot(epochs, h["train_mse"], "-.", label="as published (notebook's rule) train")
        left.plot(epochs, h["test_mse"], "-.", label="as published (notebook's rule) test")
    left.set_xlabel("epoch")
    left.set_ylabel("MSE")
    left.set_title("loss curves (overlaid: they coincide)")
    left.legend(fontsize=7)
    for pair, diffs in p["parameter_differences"].items():
        right.semilogy(range(1, len(diffs) + 1), [max(d, 1e-18) for d in diffs], label=pair)
    right.set_xlabel("epoch")
    right.set_ylabel("max relative parameter difference")
    right.set_title("parameter differences between frameworks")
    if p["parameter_differences"]:
        right.legend(fontsize=7)
    else:  # one framework: no pair to compare (and no legend to draw)
        right.text(
            0.5, 0.5, "one framework: nothing to compare", ha="center", transform=right.transAxes
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
