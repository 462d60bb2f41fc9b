"""The parity suite's error metrics (parity_tests/harness/compare.py) against hand-computed values.

Every parity verdict is ``normwise_rel <= tolerance``: a metric that read too small would pass
a framework that disagrees, and nothing in the parity suite would notice (its negative controls
plant errors thousands of times the limits).  So each metric is computed here by hand, on
tensors small enough to do it on paper, including the units-in-the-last-place count, which is
checked against the IEEE 754 bit patterns.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from parity_tests.harness.compare import (
    TINY,
    Comparison,
    TensorError,
    compare_runs,
    failures,
    tensor_error,
)
from parity_tests.harness.protocol import RunResult

ONE_BITS = 0x3FF0000000000000  # 1.0 as float64 bits
FOUR_BITS = 0x4010000000000000  # 4.0


def test_the_metrics_of_a_small_tensor_by_hand():
    e = tensor_error(np.array([3.0, 4.0]), np.array([3.0, 0.0]))
    # diff (0, 4); elementwise scale (3, 4): max_rel 1; norms 5 and 3: normwise 4/5;
    # 0.0 and 4.0 are FOUR_BITS floats apart
    assert e == TensorError(
        max_abs=4.0,
        max_rel=1.0,
        normwise_rel=0.8,
        max_ulp=FOUR_BITS,
        worst_index=(1,),
        reference_value=4.0,
        framework_value=0.0,
    )


def test_the_worst_element_is_the_largest_absolute_difference_and_the_larger_norm_divides():
    a = np.array([[1.0, -2.0], [0.5, 8.0]])
    b = np.array([[1.0, -2.5], [0.25, 8.0]])
    e = tensor_error(a, b)
    assert e.max_abs == 0.5 and e.worst_index == (0, 1)
    assert (e.reference_value, e.framework_value) == (-2.0, -2.5)
    assert e.max_rel == 0.5  # |0.5 - 0.25| / 0.5, larger than 0.5 / 2.5
    norm_b = math.sqrt(1 + 6.25 + 0.0625 + 64)  # ||b|| > ||a||: b's norm divides
    assert e.normwise_rel == pytest.approx(math.sqrt(0.25 + 0.0625) / norm_b, rel=1e-15)
    assert tensor_error(b, a).normwise_rel == e.normwise_rel  # symmetric


def test_ulps_count_the_floats_between_across_zero_and_in_float32():
    one = np.array([1.0])
    assert tensor_error(one, np.nextafter(one, 2.0)).max_ulp == 1
    assert tensor_error(one, np.array([1.0 + 4 * 2.0**-52])).max_ulp == 4
    assert tensor_error(one, np.array([2.0])).max_ulp == 2**52
    assert tensor_error(np.array([-0.0]), np.array([0.0])).max_ulp == 0
    smallest = np.array([5e-324])  # the smallest subnormal: one float either side of zero
    assert tensor_error(-smallest, smallest).max_ulp == 2
    assert tensor_error(-one, one).max_ulp == 2 * ONE_BITS
    one32 = np.array([1.0], np.float32)
    assert tensor_error(one32, np.nextafter(one32, np.float32(2))).max_ulp == 1
    assert tensor_error(one32, np.array([2.0], np.float32)).max_ulp == 2**23
    assert tensor_error(-one32, one32).max_ulp == 2 * 0x3F800000


def test_a_floor_measures_noise_against_the_size_of_its_quantity():
    a, b = np.array([1e-17]), np.array([-1e-17])
    assert tensor_error(a, b).normwise_rel == 2.0
    assert tensor_error(a, b, floor=4.0).normwise_rel == 2e-17 / 4.0
    assert tensor_error(a, b, floor=1e-20).normwise_rel == 2.0  # a floor below the norms: none


def test_tensors_of_zeros_and_empty_tensors():
    zero = tensor_error(np.zeros(3), np.zeros(3))
    assert (zero.max_abs, zero.max_rel, zero.normwise_rel, zero.max_ulp) == (0.0, 0.0, 0.0, 0)
    empty = tensor_error(np.zeros((0, 2)), np.zeros((0, 2)))
    assert empty == TensorError(0.0, 0.0, 0.0, 0, (), 0.0, 0.0)
    assert TINY == np.finfo(np.float64).tiny


def test_shapes_and_dtypes_must_match():
    with pytest.raises(ValueError, match=r"^shape mismatch: reference \(3,\), framework \(2,\)$"):
        tensor_error(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"^dtype mismatch: reference float64, framework float32$"):
        tensor_error(np.zeros(3), np.zeros(3, np.float32))


# ---------------------------------------------------------------- comparisons and their words
def _comparison(normwise, tolerance):
    error = TensorError(1.5e-3, 2e-3, normwise, 12, (0, 2), 0.25, 0.2515)
    return Comparison("tanh-mse-sgd", "torch", "grads", "0.W", error, tolerance, "float64")


def test_a_comparison_passes_at_its_tolerance_and_fails_above_it():
    assert _comparison(5e-14, 5e-14).passed
    assert not _comparison(5.000001e-14, 5e-14).passed
    assert _comparison(0.0, 5e-14).passed


def test_a_failure_says_where_and_by_how_much():
    c = _comparison(1.25e-3, 5e-14)
    assert c.message() == (
        "tanh-mse-sgd [torch, float64] grads 0.W: normwise relative error 1.250e-03 > "
        "tolerance 5.0e-14; worst at index (0, 2): reference 0.25, torch 0.2515 "
        "(abs 1.500e-03, 12 ulp)"
    )
    assert failures([_comparison(1e-15, 5e-14), c]) == [c.message()]
    assert failures([_comparison(1e-15, 5e-14)]) == []


def test_a_comparison_as_a_record():
    assert _comparison(1.25e-3, 5e-14).to_dict() == {
        "case": "tanh-mse-sgd",
        "framework": "torch",
        "quantity": "grads",
        "tensor": "0.W",
        "tolerance": 5e-14,
        "dtype": "float64",
        "max_abs": 1.5e-3,
        "max_rel": 2e-3,
        "normwise_rel": 1.25e-3,
        "max_ulp": 12,
        "worst_index": (0, 2),
        "reference_value": 0.25,
        "framework_value": 0.2515,
        "passed": False,
    }


# ---------------------------------------------------------------- compare_runs
def _run(grads, output=(1.0, 2.0), loss=0.5, after=None):
    return RunResult(
        output=np.array(output),
        loss=np.array(loss),
        grads={k: np.array(v) for k, v in grads.items()},
        after={s: {k: np.array(v) for k, v in p.items()} for s, p in (after or {}).items()},
    )


def test_compare_runs_compares_every_tensor_of_every_quantity():
    ref = _run({"0.W": [3.0, 4.0], "0.b": [1.0]}, after={1: {"0.W": [1.0], "0.b": [2.0]}})
    other = _run({"0.W": [3.0, 0.0], "0.b": [1.0]}, after={1: {"0.W": [1.0], "0.b": [2.0]}})
    got = compare_runs("c", "torch", "float64", ref, other)
    assert [(c.quantity, c.tensor) for c in got] == [
        ("forward", "output"),
        ("loss", "loss"),
        ("grads", "0.W"),
        ("grads", "0.b"),
        ("step_1", "0.W"),
        ("step_1", "0.b"),
    ]
    assert [c.passed for c in got] == [True, True, False, True, True, True]
    assert got[2].error.normwise_rel == 0.8
    assert {(c.case, c.framework, c.dtype) for c in got} == {("c", "torch", "float64")}


def test_compare_runs_refuses_runs_that_recorded_different_things():
    ref = _run({"0.W": [1.0]}, after={1: {"0.W": [1.0]}})
    with pytest.raises(ValueError, match=r"^quantities differ: \['forward', 'grads', 'loss', "):
        compare_runs("c", "torch", "float64", ref, _run({"0.W": [1.0]}))
    with pytest.raises(ValueError, match=r"^grads: tensors \['0.W'\] vs \['0.b'\]$"):
        compare_runs("c", "torch", "float64", _run({"0.W": [1.0]}), _run({"0.b": [1.0]}))


def test_a_noise_tensor_is_measured_against_its_whole_quantity():
    # the key bias's gradient is zero by the mathematics: +-1e-17 is rounding noise, measured
    # against ||(3, 4, 1e-17)|| = 5 (the reference's whole gradient), not against 1e-17
    ref = _run({"0.W": [3.0, 4.0], "0.bk": [1e-17]})
    other = _run({"0.W": [3.0, 4.0], "0.bk": [-1e-17]})
    plain = {c.tensor: c for c in compare_runs("c", "torch", "float64", ref, other)}
    assert plain["0.bk"].error.normwise_rel == 2.0 and not plain["0.bk"].passed
    noisy = compare_runs("c", "torch", "float64", ref, other, noise=frozenset({"0.bk"}))
    by_name = {c.tensor: c for c in noisy}
    assert by_name["0.bk"].error.normwise_rel == pytest.approx(2e-17 / 5.0, rel=1e-15)
    assert by_name["0.bk"].passed
    assert by_name["0.W"].error.normwise_rel == 0.0
    # a quantity without a noise tensor keeps the plain metric
    assert by_name["output"].error == plain["output"].error


def test_a_noise_tensor_that_is_not_noise_still_fails():
    ref = _run({"0.W": [3.0, 4.0], "0.bk": [1e-17]})
    other = _run({"0.W": [3.0, 4.0], "0.bk": [0.5]})  # 0.5 against a norm of 5: 0.1
    (bk,) = [
        c
        for c in compare_runs("c", "torch", "float64", ref, other, noise=frozenset({"0.bk"}))
        if c.tensor == "0.bk"
    ]
    assert bk.error.normwise_rel == pytest.approx(0.5 / 5.0, rel=1e-15) and not bk.passed


def test_only_the_noise_tensor_is_measured_against_the_whole_quantity():
    # 0.b is small but not noise: its own norm divides (0.5), not the quantity's (~2e-4)
    ref = _run({"0.W": [3.0, 4.0], "0.b": [1e-3], "0.bk": [1e-17]})
    other = _run({"0.W": [3.0, 4.0], "0.b": [2e-3], "0.bk": [1e-17]})
    got = compare_runs("c", "torch", "float64", ref, other, noise=frozenset({"0.bk"}))
    b = next(c for c in got if c.tensor == "0.b")
    assert b.error.normwise_rel == 0.5 and not b.passed


def test_the_whole_quantitys_norm_is_summed_in_float64():
    # 3e19 squared overflows float32 (max 3.4e38): summed in float32 the whole would be inf and
    # every noise tensor's error 0
    ref = _run({"0.W": np.array([3e19], np.float32), "0.bk": np.array([0.0], np.float32)})
    other = _run({"0.W": np.array([3e19], np.float32), "0.bk": np.array([1e19], np.float32)})
    for run in (ref, other):
        run.output, run.loss = run.output.astype(np.float32), run.loss.astype(np.float32)
    got = compare_runs("c", "torch", "float32", ref, other, noise=frozenset({"0.bk"}))
    bk = next(c for c in got if c.tensor == "0.bk")
    assert bk.error.normwise_rel == pytest.approx(1 / 3, rel=1e-6) and not bk.passed
