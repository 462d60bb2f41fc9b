"""gradcheck, the framework-free third opinion, checked itself: its central difference against a
function whose finite difference is known in closed form, its error metric against hand-computed
values, its verdict on a planted wrong gradient (it must fail) and on the right one (it must
pass), and what it leaves behind (parameters, running statistics).

A gradient checker that always passes would make every finite-difference test in the suite
vacuous, so each verdict here has its opposite beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference_nn import LayerSpec, NetworkSpec, gradcheck, numerical_gradient
from reference_nn._checks import DTypeError
from reference_nn.gradcheck import GradcheckReport, ParameterCheck, compare_gradients


# ---------------------------------------------------------------- numerical_gradient
def test_central_difference_of_a_cubic_is_exact_plus_h_squared():
    # ((x + h)^3 - (x - h)^3) / 2h = 3x^2 + h^2 exactly: the central difference, its step h and
    # its division by 2h are all visible in the result (a one-sided difference gives 3x^2 + 3xh).
    x = np.array([[0.5, -1.25], [2.0, 3.0]])
    start = x.copy()
    for h in (1e-2, 1e-3):
        got = numerical_gradient(lambda: float(np.sum(x**3)), x, h)
        np.testing.assert_allclose(got, 3 * start**2 + h**2, rtol=1e-9)
        np.testing.assert_array_equal(x, start)  # every entry restored


def test_the_default_step_is_one_in_a_million():
    # at x = 1e-5 the h^2 term of the cubic's central difference is 1/300 of 3x^2: visible
    x = np.array([1e-5])
    got = numerical_gradient(lambda: float(x[0] ** 3), x)
    assert got[0] == pytest.approx(3e-10 + (1e-6) ** 2, rel=1e-6)


def test_finite_differences_refuse_float32():
    with pytest.raises(DTypeError, match=r"^finite differences need float64, got float32$"):
        numerical_gradient(lambda: 0.0, np.zeros(2, np.float32))


# ---------------------------------------------------------------- the error metric
def test_compare_gradients_by_hand():
    check = compare_gradients("0.W", np.array([3.0, 4.0]), np.array([3.0, 0.0]))
    # diff (0, 4): max abs 4 at index 1; norms 5 and 3: 4 / 5
    assert check == ParameterCheck("0.W", 4.0, 0.8, (1,))
    check = compare_gradients("1.b", np.array([0.0, 0.0]), np.array([0.0, 2.0]))
    assert check == ParameterCheck("1.b", 2.0, 1.0, (1,))  # the larger norm is the numeric one
    analytic, numeric = np.array([[1.0, 2.0], [2.0, -2.0]]), np.array([[1.0, 2.0], [2.0, 1.0]])
    check = compare_gradients("x", analytic, numeric)
    assert check == ParameterCheck("x", 3.0, 3.0 / math.sqrt(13.0), (1, 1))


def test_compare_gradients_of_zeros_and_of_nothing():
    assert compare_gradients("z", np.zeros(3), np.zeros(3)) == ParameterCheck("z", 0.0, 0.0, (0,))
    assert compare_gradients("e", np.zeros(0), np.zeros(0)) == ParameterCheck("e", 0.0, 0.0, ())


def test_the_report_judges_its_worst_parameter_against_the_tolerance():
    report = GradcheckReport(
        (
            ParameterCheck("0.W", 1e-3, 2e-8, (0, 1)),
            ParameterCheck("0.b", 1e-9, 1e-7, (2,)),
            ParameterCheck("1.W", 5e-2, 3e-8, (1, 0)),
        )
    )
    assert report.worst.name == "0.b"  # by relative error, not by absolute error
    assert report.passed()  # 1e-7 <= 1e-7: the default tolerance, inclusive
    assert not report.passed(9.99e-8)
    assert not GradcheckReport((ParameterCheck("0.W", 0.0, 1.01e-7, ()),)).passed()
    assert str(report) == (
        "parameter   max abs err      rel err  worst index\n"
        "0.W           1.000e-03    2.000e-08  (0, 1)\n"
        "0.b           1.000e-09    1.000e-07  (2,)\n"
        "1.W           5.000e-02    3.000e-08  (1, 0)"
    )


# ---------------------------------------------------------------- the verdict on a network
def _network(dtype="float64", layers=None):
    layers = layers or (LayerSpec.dense(4, "tanh"), LayerSpec.dense(2, "sigmoid"))
    spec = NetworkSpec(3, layers, loss="mse", dtype=dtype)
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(7))
    rng = np.random.default_rng(8)
    return net, rng.normal(size=(5, 3)), rng.random((5, 2))


def test_gradcheck_passes_the_right_gradient_and_fails_a_planted_wrong_one():
    net, X, y = _network()
    right = gradcheck(net, X, y)
    assert [c.name for c in right.checks] == ["0.W", "0.b", "1.W", "1.b"]
    assert right.passed(), str(right)
    assert right.worst.normwise_rel_error < 1e-8

    _, analytic = net.loss_and_gradients(X, y)
    size = float(np.linalg.norm(analytic["1.W"]))
    planted = {k: v.copy() for k, v in analytic.items()}
    planted["1.W"][2, 1] += 1e-3 * size  # one entry off by 1e-3 of the tensor's norm
    wrong = gradcheck(net, X, y, analytic=planted)
    assert not wrong.passed()
    assert wrong.passed(1e-2)
    worst = wrong.worst
    assert worst.name == "1.W" and worst.worst_index == (2, 1)
    assert worst.max_abs_error == pytest.approx(1e-3 * size, rel=1e-4)
    assert worst.normwise_rel_error == pytest.approx(1e-3, rel=1e-3)
    for check in wrong.checks:
        if check.name != "1.W":
            assert check.normwise_rel_error < 1e-8, check


def test_gradcheck_uses_the_step_it_is_given():
    net, X, y = _network()
    assert gradcheck(net, X, y).passed()
    coarse = gradcheck(net, X, y, h=0.3)  # truncation error O(h^2) of a curved loss: visible
    assert coarse.worst.normwise_rel_error > 1e-4


def test_gradcheck_leaves_the_parameters_as_they_were():
    net, X, y = _network()
    before = {k: v.copy() for k, v in net.get_parameters().items()}
    gradcheck(net, X, y)
    for name, value in net.get_parameters().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_gradcheck_leaves_running_statistics_as_after_one_pass():
    norm = LayerSpec("batchnorm", {"convention": "torch", "epsilon": 1e-5})
    layers = (LayerSpec.dense(4, "tanh"), norm, LayerSpec.dense(2, "sigmoid"))
    net, X, y = _network(layers=layers)
    twin, _, _ = _network(layers=layers)
    assert gradcheck(net, X, y).passed()
    twin.loss_and_gradients(X, y)
    state, expected = net.get_state(), twin.get_state()
    assert set(state) == {"1.running_mean", "1.running_var"}
    for name, value in expected.items():
        np.testing.assert_array_equal(state[name], value, err_msg=name)
    assert np.any(expected["1.running_mean"] != 0)  # one pass did move them


def test_gradcheck_refuses_a_float32_network():
    net, X, y = _network(dtype="float32")
    with pytest.raises(DTypeError, match=r"^gradcheck needs a float64 network"):
        gradcheck(net, X, y)


def test_given_gradients_on_a_network_with_dropout_are_refused_in_these_words():
    spec = NetworkSpec(
        4,
        (
            LayerSpec("dropout", {"rate": 0.5, "seed": 1}),
            LayerSpec.dense(8, "tanh"),
            LayerSpec("dropout", {"rate": 0.5, "seed": 2}),
            LayerSpec.dense(2, "sigmoid"),
        ),
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    X, y = np.ones((3, 4)), np.ones((3, 2))
    _, analytic = net.loss_and_gradients(X, y)
    expected = (
        "gradcheck with analytic= on a network with random masks (layer 0 (dropout), "
        "layer 2 (dropout)): the masks those gradients were computed with are unknown; leave "
        "analytic= out and gradcheck computes them itself with the masks it holds fixed"
    )
    with pytest.raises(ValueError) as caught:
        gradcheck(net, X, y, analytic=analytic)
    assert str(caught.value) == expected
