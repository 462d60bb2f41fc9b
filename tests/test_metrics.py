"""The regression metrics (reference_nn/metrics.py), beyond tests/test_data.py's hand-computed
values: the dtype each is computed in, a single sample, integer and boolean inputs, and the exact
words of each refusal.  Expected values are worked out by hand or from sklearn's definitions.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference_nn.metrics import mean_squared_error, r2_score


def test_a_single_sample_has_a_mean_squared_error_but_no_r2():
    assert mean_squared_error([2.0], [0.5]) == 2.25
    assert mean_squared_error(np.array([[2.0]]), np.array([0.5])) == 2.25
    with pytest.raises(ValueError, match=r"^need at least 2 sample\(s\), got 1$"):
        r2_score([2.0], [0.5])


def test_zero_samples_are_refused():
    with pytest.raises(ValueError, match=r"^need at least 1 sample\(s\), got 0$"):
        mean_squared_error([], [])


def test_the_result_is_a_python_float_of_the_mean_not_of_one_sample():
    mse = mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 6.0])
    assert type(mse) is float and mse == 3.0  # (0 + 0 + 9) / 3
    r2 = r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 6.0])
    assert type(r2) is float and r2 == 1.0 - 9.0 / 2.0  # mean 2: deviations 1 + 0 + 1


def test_r2_can_be_negative_and_is_exactly_zero_for_the_mean():
    assert r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0  # predicting the mean
    assert r2_score([1.0, 3.0], [3.0, 1.0]) == 1.0 - 8.0 / 2.0  # worse than the mean: -3


def test_float32_inputs_are_computed_in_float32_as_sklearn_does():
    true, pred = np.array([0.1, 0.3], np.float32), np.array([0.0, 0.0], np.float32)
    in_float32 = float((true[0] ** 2 + true[1] ** 2) / np.float32(2))
    in_float64 = float((true.astype(np.float64) ** 2).mean())
    assert in_float32 != in_float64  # the case tells the two apart
    assert mean_squared_error(true, pred) == in_float32
    # one float64 side makes the pair float64
    assert mean_squared_error(true, pred.astype(np.float64)) == in_float64


def test_integer_and_boolean_inputs_are_computed_in_float64():
    # int8 arithmetic would wrap: 100 - (-100) = 200 is -56 in int8
    big, small = np.array([100, 0], np.int8), np.array([-100, 0], np.int8)
    assert mean_squared_error(big, small) == 20000.0
    assert r2_score(big, small) == 1.0 - 40000.0 / 5000.0  # mean 50: 2500 + 2500
    assert mean_squared_error([True, False], [False, False]) == 0.5  # bool - bool: no error


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], r"^y_true has 3 samples but y_pred has 2; they must match$"),
        (
            np.zeros((3, 2)),
            np.zeros(3),
            r"^y_true must have shape \(n,\) or \(n, 1\) \(single output\), got \(3, 2\)$",
        ),
        (
            np.zeros(3),
            np.zeros((1, 3)),
            r"^y_pred must have shape \(n,\) or \(n, 1\) \(single output\), got \(1, 3\)$",
        ),
        ([1.0, np.inf], [1.0, 2.0], r"^y_true contains NaN or infinity$"),
        ([1.0, 2.0], [np.nan, 2.0], r"^y_pred contains NaN or infinity$"),
    ],
)
def test_refusals_name_the_argument_and_the_fix(y_true, y_pred, message):
    for metric in (mean_squared_error, r2_score):
        with pytest.raises(ValueError, match=message):
            metric(y_true, y_pred)


def test_non_numeric_inputs_are_refused_by_name():
    with pytest.raises(TypeError, match=r"^y_pred must be numeric, got dtype <U1$"):
        mean_squared_error([1.0], ["a"])
    with pytest.raises(TypeError, match=r"^y_true must be numeric, got dtype object$"):
        r2_score(np.array([None, 1.0]), [1.0, 2.0])
