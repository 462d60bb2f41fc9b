"""The float64 referee: for a float32 case, the reference run in float64 from the same data and
weights (float32 values are exact in float64) is the exact answer, up to float64 rounding,
which is ~1e-16 against float32's ~1e-7.  Every framework's float32 run, the NumPy reference's
included, is measured against it, so a disagreement between two float32 frameworks can be
settled: which one is closer to the truth.

Per case and framework: the worst normwise relative error against the referee over every
compared tensor (output, loss, gradients, parameters after steps 1 and 20).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from parity_tests.harness import registry
from parity_tests.harness.compare import TINY, tensor_error
from parity_tests.harness.parity import run_framework, zero_gradient_parameters


def referee_errors(case: Any) -> dict[str, float] | None:
    """framework -> worst normwise relative error of its float32 run against the float64
    reference run; None for a case that is not float32."""
    if case.spec.dtype != "float32":
        return None
    X, y, params, batches = case.materialize()
    spec64 = dataclasses.replace(case.spec, dtype="float64")
    params64 = {k: v.astype(np.float64) for k, v in params.items()}
    X64 = X.astype(np.float64) if X.dtype.kind == "f" else X  # embedding indices stay integer
    exact = run_framework(
        registry.REFERENCE, spec64, params64, X64, y.astype(np.float64), batches
    ).quantities()
    runs = [registry.REFERENCE] + [fw for fw in _runnable() if not fw_unsupported(fw, case)]
    zero = zero_gradient_parameters(case.spec)
    floors = {q: _floor(tensors, zero) for q, tensors in exact.items()}
    out: dict[str, float] = {}
    for fw in runs:
        got = run_framework(fw, case.spec, params, X, y, batches).quantities()
        out[fw] = max(
            tensor_error(
                exact[q][t],
                np.asarray(got[q][t], dtype=np.float64),
                floors[q] if t in zero else TINY,
            ).normwise_rel
            for q in exact
            for t in exact[q]
        )
    return out


def _floor(tensors: dict[str, np.ndarray], zero: frozenset[str]) -> float:
    """A gradient that is zero by its layer's mathematics (attention's key bias) is rounding
    noise in both runs: measured against its whole quantity, as ``compare_runs`` does, not
    against its own ~1e-17 norm, which would make every framework's error ~1."""
    if not zero & set(tensors):
        return TINY
    return max(float(np.sqrt(sum(np.sum(np.square(t)) for t in tensors.values()))), TINY)


def _runnable() -> list[str]:
    """Frameworks that load in this process (a Keras backend may need a process of its own)."""
    return registry.loadable(include_reference=False)


def fw_unsupported(framework: str, case: Any) -> str | None:
    return registry.get(framework).refusal(case.spec)


def referee_table(cases: list[Any]) -> dict[str, dict[str, float]]:
    """case name -> framework -> error against the float64 referee, for the float32 cases."""
    return {c.name: e for c in cases if (e := referee_errors(c)) is not None}


def closest(errors: dict[str, float]) -> str:
    best = min(errors.values())
    return ", ".join(fw for fw, e in errors.items() if e == best)


def referee_markdown(table: dict[str, dict[str, float]]) -> str:
    """The report's section: per float32 case, each framework's error against float64."""
    if not table:
        return ""
    frameworks = list(dict.fromkeys(fw for errors in table.values() for fw in errors))
    wins = {fw: 0 for fw in frameworks}
    for errors in table.values():
        for fw in closest(errors).split(", "):
            wins[fw] += 1
    lines = [
        "",
        "## float32 against the float64 referee",
        "",
        "The float64 reference run from the same data and weights is the exact answer; each "
        "entry is the worst normwise relative error of a framework's float32 run against it "
        "(every tensor).  Closest most often: "
        + ", ".join(f"{fw} {n}/{len(table)}" for fw, n in wins.items())
        + ".",
        "",
        "| case | " + " | ".join(frameworks) + " | closest |",
        "|---|" + "---|" * (len(frameworks) + 1),
    ]
    for case, errors in table.items():
        cells = [f"{errors[fw]:.2e}" if fw in errors else "" for fw in frameworks]
        lines.append(f"| {case} | " + " | ".join(cells) + f" | {closest(errors)} |")
    return "\n".join(lines) + "\n"
