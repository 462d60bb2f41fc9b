"""The tolerance table (parity_tests/harness/tolerances.py) is neither too tight nor too loose, and
the comparison applies the limit it says it applies.

Not too loose: every limit is its measured worst error (the tables in tolerances.py) times the
documented margin, "about 10, rounded up" (50 for the baseline envelope); a limit more than 15
times its measurement (150 for the envelope) has been loosened past what anything measured
needs.  The dense table's measurements are read from the module's docstring, so the table and
its documentation cannot drift apart; the other tables' are copied here from their comments.

Applied as stated: for every dtype, quantity, network kind and named case, a framework tensor
planted 2% above its limit fails and one 2% below passes, through ``compare_runs`` itself.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from parity_tests.harness import tolerances
from parity_tests.harness.compare import compare_runs
from parity_tests.harness.protocol import RunResult
from parity_tests.harness.tolerances import (
    BASELINE_ENVELOPE,
    CASE_TOLERANCES,
    NORMALISATION,
    TOLERANCES,
    baseline_envelope,
    layer_tolerance,
    tolerance,
)

MARGIN = (1.0, 15.0)  # "a margin of about 10, rounded up"
ENVELOPE_MARGIN = (50.0, 150.0)  # "about 50x the worst, rounded up"

# NORMALISATION's measurements (tolerances.py, "random CNNs with batchnorm or layernorm", the
# worst over torch and Keras; steps covers step_1 and step_20, so it bounds "steps" only)
NORMALISATION_MEASURED = {
    "float64": {"forward": 3.2e-15, "grads": 2.8e-13, "steps": 1.6e-12},
    "float32": {"forward": 9.5e-07, "grads": 7.1e-05, "steps": 9.3e-04},
}
# digits_cnn (tolerances.py, "named cases"): the worse of torch and Keras per quantity, the
# steps figure being the parameters after the 80-step run
DIGITS_MEASURED = {
    "forward": 3.2e-14,
    "loss": 1.5e-14,
    "grads": 8.7e-14,
    "step_1": 6.0e-14,
    "steps": 9.0e-14,
}
# the baseline envelope's measurements (tolerances.py, "the baseline check's envelope"): the
# larger of the emulated kernel paths and the two real CPUs
ENVELOPE_MEASURED = {
    "float64": {"parity": 2.8e-16, "example": 4.1e-15, "housing": 6.1e-16, "reference": 5.0e-15},
    "float32": {"parity": 4.0e-07, "reference": 5.1e-07},
}


def _docstring_table():
    """{dtype: {quantity: (measured, tolerance)}} from the first table of the module docstring."""
    rows = re.findall(
        r"^(float64|float32)\s+(forward|loss|grads|step_1|steps)(?: \(\d+\))?\s+(\S+)\s+(\S+)",
        tolerances.__doc__ or "",
        flags=re.MULTILINE,
    )
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for dtype, quantity, measured, limit in rows:
        table.setdefault(dtype, {})[quantity] = (float(measured), float(limit))
    return table


def test_the_docstrings_table_is_the_table():
    documented = _docstring_table()
    assert {d: {q: lim for q, (_, lim) in t.items()} for d, t in documented.items()} == TOLERANCES


def _within_margin(limit, measured, margin=MARGIN):
    low, high = margin
    return low * measured <= limit <= high * measured


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_dense_limit_is_its_measurement_times_about_ten(dtype):
    for quantity, (measured, limit) in _docstring_table()[dtype].items():
        assert TOLERANCES[dtype][quantity] == limit
        assert _within_margin(limit, measured), (dtype, quantity, limit, measured)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_normalisation_limit_is_its_measurement_times_about_ten(dtype):
    for quantity, measured in NORMALISATION_MEASURED[dtype].items():
        limit = NORMALISATION[dtype][quantity]
        assert _within_margin(limit, measured), (dtype, quantity, limit, measured)
    # step_1 is bounded by the measured steps (it is one of them) and above the dense step_1
    assert TOLERANCES[dtype]["step_1"] <= NORMALISATION[dtype]["step_1"]
    assert NORMALISATION[dtype]["step_1"] <= 15 * NORMALISATION_MEASURED[dtype]["steps"]


def test_each_digits_cnn_limit_is_its_measurement_times_about_ten():
    for quantity, measured in DIGITS_MEASURED.items():
        limit = CASE_TOLERANCES["digits_cnn"]["float64"][quantity]
        assert _within_margin(limit, measured), (quantity, limit, measured)


def test_each_baseline_envelope_is_its_measurement_times_about_fifty():
    assert {d: set(t) for d, t in BASELINE_ENVELOPE.items()} == {
        d: set(t) for d, t in ENVELOPE_MEASURED.items()
    }
    for dtype, kinds in ENVELOPE_MEASURED.items():
        for kind, measured in kinds.items():
            limit = BASELINE_ENVELOPE[dtype][kind]
            assert _within_margin(limit, measured, ENVELOPE_MARGIN), (dtype, kind, limit)


# ---------------------------------------------------------------- the lookup
def test_the_dense_lookup():
    for dtype, table in TOLERANCES.items():
        for quantity, limit in table.items():
            assert tolerance(dtype, quantity) == limit
        assert tolerance(dtype, "step_1") == table["step_1"]
        for n in (2, 20, 670000):
            assert tolerance(dtype, f"step_{n}") == table["steps"]
        assert (
            tolerance(dtype, "grads", "torch", frozenset({"conv2d", "maxpool2d"}))
            == (table["grads"])
        )


def test_an_unknown_dtype_or_quantity_is_refused():
    with pytest.raises(KeyError, match=r"no tolerances for dtype 'float16'; have \['float32', "):
        tolerance("float16", "grads")
    with pytest.raises(KeyError, match="no tolerance for quantity 'output'"):
        tolerance("float64", "output")


def test_a_framework_with_limits_of_its_own_gets_them(monkeypatch):
    own = {"float64": {**TOLERANCES["float64"], "grads": 1e-13}}
    monkeypatch.setitem(tolerances.FRAMEWORK_TOLERANCES, "slowfw", own)
    assert tolerance("float64", "grads", "slowfw") == 1e-13
    assert tolerance("float64", "step_7", "slowfw") == own["float64"]["steps"]
    assert tolerance("float32", "grads", "slowfw") == TOLERANCES["float32"]["grads"]
    assert tolerance("float64", "grads", "torch") == TOLERANCES["float64"]["grads"]
    assert tolerance("float64", "grads") == TOLERANCES["float64"]["grads"]


def test_a_frameworks_own_limits_reach_normalisation_networks_and_compare_runs(monkeypatch):
    # a framework's own limit above NORMALISATION's wins there too (the larger of the two)
    own = {"float64": {**TOLERANCES["float64"], "grads": 1e-11, "loss": 1e-13}}
    monkeypatch.setitem(tolerances.FRAMEWORK_TOLERANCES, "slowfw", own)
    norm = frozenset({"batchnorm"})
    assert tolerance("float64", "grads", "slowfw", norm) == 1e-11
    assert layer_tolerance("float64", "grads", norm, "slowfw") == 1e-11
    assert tolerance("float64", "loss", "slowfw", norm) == 1e-13
    assert tolerance("float64", "grads", "torch", norm) == NORMALISATION["float64"]["grads"]
    exact, off = _planted(5e-12, "float64")  # above NORMALISATION's 3e-12, below slowfw's
    ref = RunResult(exact, exact, {"0.W": exact})
    for framework, verdict in (("slowfw", True), ("torch", False)):
        got = compare_runs(
            "c", framework, "float64", ref, RunResult(exact, exact, {"0.W": off}), norm
        )
        (grads,) = [c for c in got if c.quantity == "grads"]
        assert grads.passed is verdict, framework


@pytest.mark.parametrize("kind", ["batchnorm", "layernorm"])
def test_a_normalisation_layer_raises_forward_gradient_and_step_limits_not_the_loss(kind):
    kinds = frozenset({"dense", kind})
    for dtype, table in NORMALISATION.items():
        for quantity in ("forward", "grads", "step_1"):
            assert tolerance(dtype, quantity, None, kinds) == table[quantity]
            assert layer_tolerance(dtype, quantity, kinds) == table[quantity]
        assert tolerance(dtype, "step_20", None, kinds) == table["steps"]
        assert layer_tolerance(dtype, "step_3", kinds) == table["steps"]
        assert tolerance(dtype, "loss", None, kinds) == TOLERANCES[dtype]["loss"]
        assert layer_tolerance(dtype, "loss", kinds) == TOLERANCES[dtype]["loss"]
        assert layer_tolerance(dtype, "grads", {"conv2d"}) == TOLERANCES[dtype]["grads"]


def test_a_named_case_has_its_own_limits_in_its_dtype_only():
    own = CASE_TOLERANCES["digits_cnn"]["float64"]
    norm = frozenset({"batchnorm"})
    for quantity in ("forward", "loss", "grads", "step_1"):
        assert tolerance("float64", quantity, "torch", norm, "digits_cnn") == own[quantity]
    assert tolerance("float64", "step_80", "torch", norm, "digits_cnn") == own["steps"]
    assert (
        tolerance("float32", "grads", "torch", norm, "digits_cnn")
        == NORMALISATION["float32"]["grads"]
    )
    assert (
        tolerance("float64", "grads", "torch", norm, "another") == NORMALISATION["float64"]["grads"]
    )


def test_the_baseline_envelope_lookup():
    for dtype, table in BASELINE_ENVELOPE.items():
        for kind, limit in table.items():
            if kind != "reference":
                assert baseline_envelope(dtype, kind) == limit
        assert baseline_envelope(dtype, "parity", reference=True) == table["reference"]
    with pytest.raises(ValueError, match=r"^no baseline envelope measured for float32 housing"):
        baseline_envelope("float32", "housing")
    with pytest.raises(ValueError) as caught:
        baseline_envelope("float16", "parity")
    assert str(caught.value) == (
        "no baseline envelope measured for float16 parity items: measure one with "
        "'python -m experiments.baseline.kernel_paths DIR' (parity_tests/harness/tolerances.py)"
    )


# ---------------------------------------------------------------- applied as stated
def _planted(relative, dtype):
    """Two tensors of normwise relative error ``relative``: ``(1, 0)`` against ``(1, x)`` has
    error ``x / sqrt(1 + x^2)``."""
    x = relative / math.sqrt(1.0 - relative**2)
    return np.array([1.0, 0.0], dtype), np.array([1.0, x], dtype)


QUANTITIES = ("forward", "loss", "grads", "step_1", "step_20")
SETTINGS = [  # (kinds, case): the dense table, a normalisation network, a named case
    (frozenset(), ""),
    (frozenset({"batchnorm"}), ""),
    (frozenset({"batchnorm"}), "digits_cnn"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("kinds", "case"), SETTINGS, ids=["dense", "batchnorm", "digits_cnn"])
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_a_planted_error_just_above_its_limit_fails_and_just_below_passes(
    dtype, kinds, case, quantity
):
    limit = tolerance(dtype, quantity, "torch", kinds, case)
    assert limit < 0.02  # a relative error of 1e-2 or more always fails

    def run(exact, tensor):
        fields = {q: exact for q in QUANTITIES}
        fields[quantity] = tensor
        return RunResult(
            output=fields["forward"],
            loss=fields["loss"],
            grads={"0.W": fields["grads"]},
            after={1: {"0.W": fields["step_1"]}, 20: {"0.W": fields["step_20"]}},
        )

    for factor, verdict in ((1.02, False), (0.98, True)):
        exact, off = _planted(factor * limit, dtype)
        got = compare_runs(case or "any", "torch", dtype, run(exact, exact), run(exact, off), kinds)
        judged = {c.quantity: c for c in got}
        assert judged[quantity].tolerance == limit
        assert judged[quantity].passed is verdict, (judged[quantity].error.normwise_rel, limit)
        assert all(c.passed for c in got if c.quantity != quantity)
