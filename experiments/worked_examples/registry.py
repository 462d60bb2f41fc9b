"""The worked examples by name, and reproducing an example's published figures in a framework."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .delta_rule import hand_2_1_1, numeric_3_2_1
from .digits_cnn import digits_cnn
from .example import WorkedExample
from .fixed import fixed_2_3_2
from .logistic_l2 import logistic_l2_4_layer
from .sequence_rnn import sequence_rnn
from .trajectory import Progress, Trajectory, run
from .xor import xor_3_4_1

# name -> factory (examples are built on demand: cheap, and nothing is shared by accident)
EXAMPLES: dict[str, Callable[[], WorkedExample]] = {
    "xor_3_4_1": xor_3_4_1,
    "hand_2_1_1": hand_2_1_1,
    "numeric_3_2_1": numeric_3_2_1,
    "logistic_l2_4_layer": logistic_l2_4_layer,
    "fixed_2_3_2": fixed_2_3_2,
    "digits_cnn": digits_cnn,
    "sequence_rnn": sequence_rnn,
}

# Worked examples that live elsewhere (listed by the command, run by their own command).
ELSEWHERE = {"housing_2_3_1": "refnn housing (experiments/housing)"}


def get_example(name: str) -> WorkedExample:
    if name in ELSEWHERE:
        raise KeyError(f"{name} is not run here: run it with {ELSEWHERE[name]}")
    if name not in EXAMPLES:
        valid = ", ".join(EXAMPLES)
        raise KeyError(
            f"unknown worked example {name!r}; valid: {valid} (and {', '.join(ELSEWHERE)}, "
            "run by its own command)"
        )
    return EXAMPLES[name]()


def reproduce(
    example: WorkedExample, framework: str, progress: Progress | None = None, **options: Any
) -> tuple[dict[str, Any], Trajectory]:
    """The example's figures (what its source printed) computed in ``framework``, and the
    trajectory of its main run.  ``options`` go to the runner (``loop=`` for Keras)."""
    if example.figures is None:
        raise ValueError(f"{example.name} defines no figures")
    main: list[Trajectory] = []

    def run_in_framework(ex: WorkedExample, steps: int | None = None) -> Trajectory:
        # Only the main run (the example itself, its own steps) reports progress; auxiliary
        # runs (the zero-bias copy that gives the error terms) are instant.
        is_main = ex is example and steps is None
        traj = run(framework, ex, steps, progress=progress if is_main else None, **options)
        if is_main:
            main.append(traj)
        return traj

    figures = example.figures(example, run_in_framework)
    if len(main) != 1:
        raise RuntimeError(f"{example.name}.figures must train the example exactly once")
    return figures, main[0]


def mismatches(example: WorkedExample, figures: dict[str, Any]) -> list[str]:
    """Published figures that ``figures`` does not reproduce (at the printed precision)."""
    out = []
    for key, figure in example.published.items():
        if key not in figures:
            out.append(f"{figure.what}: not computed")
        elif (msg := figure.mismatch(figures[key])) is not None:
            out.append(msg)
    return out
