"""The worked examples in NumPy: the reference reproduces each source's published numbers.

Expected values never come from the code under test: they are the published figures (checked
at the precision they were printed to), or the source's formulas re-computed here by hand --
scalar arithmetic with ``math.exp`` for the one-step examples, the source's own NumPy loop for
the long runs.
"""

import functools
import math

import numpy as np
import pytest

from experiments.worked_examples import Figure, get_example, mismatches, reproduce, run
from experiments.worked_examples.delta_rule import with_zero_biases
from experiments.worked_examples.fixed import printed_losses
from reference_nn import gradcheck


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@functools.cache
def figures(name: str) -> dict:
    return reproduce(get_example(name), "numpy")[0]


@functools.cache
def trajectory(name: str):
    return run("numpy", get_example(name))


# ---------------------------------------------------------------- hand_2_1_1
def hand_by_hand() -> dict[str, float]:
    """The article's hand calculation, written out with scalars."""
    x1, x2, w1, w2, W, y, eta = 0.1, 0.3, 0.4, -0.2, 0.1, 1.0, 0.5
    h = x1 * w1 + x2 * w2  # -0.02
    a = sig(h)
    out = sig(W * a)
    delta_o = (y - out) * out * (1 - out)  # error * f'(h_o): with L = 1/2 (y - yhat)^2
    delta_h = W * delta_o * a * (1 - a)
    return {
        "delta_o": delta_o,
        "delta_h": delta_h,
        "dW_ho": eta * delta_o * a,
        "dW_ih0": eta * delta_h * x1,
        "dW_ih1": eta * delta_h * x2,
    }


def test_hand_2_1_1_matches_the_hand_calculation_and_the_published_figures():
    f, hand = figures("hand_2_1_1"), hand_by_hand()
    assert float(f["delta_o"][0]) == pytest.approx(hand["delta_o"], rel=1e-13)
    assert float(f["delta_h"][0]) == pytest.approx(hand["delta_h"], rel=1e-13)
    assert float(f["dW_ho"][0]) == pytest.approx(hand["dW_ho"], rel=1e-13)
    # Delta w = w_after - w_before: rounding of w (0.4) costs ~1e-17 absolute
    np.testing.assert_allclose(
        f["dW_ih"].ravel(), [hand["dW_ih0"], hand["dW_ih1"]], rtol=1e-10, atol=0
    )
    assert mismatches(get_example("hand_2_1_1"), f) == []
    # and the published figures themselves, by hand, at their printed 5 significant figures
    assert round(hand["delta_o"], 5) == 0.12183
    assert f"{hand['delta_h']:.5g}" == "0.0030455"


def test_error_term_is_minus_dl_dz_for_half_the_squared_error():
    # dL/dz of the output unit for L = 1/2 (y - yhat)^2 is (yhat - y) yhat (1 - yhat);
    # the bias gradient of the zero-bias copy must be exactly that, and the error term its
    # negative.  With the plain squared error ("sse") the error term would double.
    hand = hand_by_hand()
    ex = get_example("hand_2_1_1")
    grads = with_zero_biases(ex).network().loss_and_gradients(ex.X, ex.y)[1]
    assert float(grads["1.b"][0]) == pytest.approx(-hand["delta_o"], rel=1e-13)
    sse = ex.with_changes(spec=ex.spec.with_changes(loss="sse"))
    doubled = reproduce(sse, "numpy")[0]
    assert float(doubled["delta_o"][0]) == pytest.approx(2 * hand["delta_o"], rel=1e-13)


# ---------------------------------------------------------------- numeric_3_2_1
def test_numeric_3_2_1_matches_scalar_arithmetic_and_the_published_figures():
    x, t, eta = [0.5, 0.1, -0.2], 0.6, 0.5
    W_ih = [[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]]
    w_ho = [0.1, -0.3]
    hidden = [sig(sum(x[i] * W_ih[i][j] for i in range(3))) for j in range(2)]
    out = sig(sum(hidden[j] * w_ho[j] for j in range(2)))
    delta_o = (t - out) * out * (1 - out)
    delta_h = [delta_o * w_ho[j] * hidden[j] * (1 - hidden[j]) for j in range(2)]
    f = figures("numeric_3_2_1")
    np.testing.assert_allclose(f["delta_h"], delta_h, rtol=1e-13)
    np.testing.assert_allclose(f["dW_ho"], [eta * delta_o * h for h in hidden], rtol=1e-12)
    expected = [[eta * delta_h[j] * x[i] for j in range(2)] for i in range(3)]
    np.testing.assert_allclose(f["dW_ih"], expected, rtol=1e-10)
    assert mismatches(get_example("numeric_3_2_1"), f) == []


# ---------------------------------------------------------------- xor_3_4_1
def source_xor(iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed 000's ``gradient_descent``, line for line (legacy global RNG, as published)."""
    np.random.seed(10)
    wij = np.random.rand(3, 4)
    wjk = np.random.rand(4, 1)

    def sigmoid(x, w):
        return 1 / (1 + np.exp(-np.dot(x, w)))

    def sigmoid_derivative(x, w):
        return sigmoid(x, w) * (1 - sigmoid(x, w))

    x = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
    y = np.array([[0, 1, 1, 0]]).T
    for _ in range(iterations):
        Xj = sigmoid(x, wij)
        yhat = sigmoid(Xj, wjk)
        g_wjk = np.dot(Xj.T, (y - yhat) * sigmoid_derivative(Xj, wjk))
        g_wij = np.dot(
            x.T,
            np.dot((y - yhat) * sigmoid_derivative(Xj, wjk), wjk.T) * sigmoid_derivative(x, wij),
        )
        wij += g_wij
        wjk += g_wjk
    return yhat, wij, wjk


def test_xor_initial_weights_are_the_legacy_seed_10_stream():
    ex = get_example("xor_3_4_1")
    np.random.seed(10)
    np.testing.assert_array_equal(ex.params["0.W"], np.random.rand(3, 4))
    np.testing.assert_array_equal(ex.params["1.W"], np.random.rand(4, 1))


def test_xor_source_update_is_gradient_descent_on_half_sse_with_lr_1():
    _, wij, wjk = source_xor(1)
    traj = run("numpy", get_example("xor_3_4_1"), steps=1)
    np.testing.assert_allclose(traj.params[1]["0.W"], wij, rtol=1e-15, atol=0)
    np.testing.assert_allclose(traj.params[1]["1.W"], wjk, rtol=1e-15, atol=0)


@pytest.mark.slow  # 10,000 reference steps (~0.7 s) plus the source's loop (~0.5 s)
def test_xor_full_run_reproduces_the_published_prediction_and_the_source_loop():
    f = figures("xor_3_4_1")
    assert mismatches(get_example("xor_3_4_1"), f) == []
    yhat, wij, wjk = source_xor(10_000)
    np.testing.assert_allclose(f["final_prediction"], yhat.ravel(), rtol=1e-12)
    final = trajectory("xor_3_4_1").final_params
    # measured: bit for bit equal (NumPy 2, this machine); the limit is the policy's "steps"
    # (3e-14), because the source groups its products differently and another BLAS may round
    # them differently
    for name, source in (("0.W", wij), ("1.W", wjk)):
        err = np.linalg.norm(final[name] - source) / np.linalg.norm(source)
        assert err < 3e-14, (name, err)


# ---------------------------------------------------------------- fixed_2_3_2
def test_fixed_initial_loss_by_hand():
    X = [[0.6, 0.1], [0.3, 0.6]]
    W1 = [[0.4, 0.3, 0.6], [0.3, 0.4, 0.2]]
    b1 = [0.4, 0.1, 0.2]
    W2 = [[0.2, 0.3], [0.3, 0.4], [0.5, 0.3]]
    b2 = [0.1, 0.2]
    loss = 0.0
    for row in X:
        z1 = [sig(sum(row[i] * W1[i][j] for i in range(2)) + b1[j]) for j in range(3)]
        z2 = [sig(sum(z1[j] * W2[j][k] for j in range(3)) + b2[k]) for k in range(2)]
        loss += sum((o - t) ** 2 / 2 for o, t in zip(z2, [0.0, 1.0], strict=True))
    traj = run("numpy", get_example("fixed_2_3_2"), steps=1)
    assert traj.losses[0] == pytest.approx(loss, rel=1e-14)
    assert round(traj.losses[1], 5) == 0.54478  # the source's first printed loss (batch 0)
    assert round(loss, 5) == 0.54708  # before any update: not the published 0.54478


@pytest.mark.slow  # 50,001 reference steps: ~4 s
def test_fixed_full_run_reproduces_the_published_losses():
    ex = get_example("fixed_2_3_2")
    f = figures("fixed_2_3_2")
    assert mismatches(ex, f) == []
    np.testing.assert_array_equal(f["final_classes"], [[0, 1], [0, 1]])
    lines = printed_losses(trajectory("fixed_2_3_2").losses)
    assert len(lines) == 501 and min(lines) == 0 and max(lines) == 50_000
    assert f"{lines[0]:.4f}" == "0.5448" and f"{lines[50_000]:.4f}" == "0.0004"


# ---------------------------------------------------------------- logistic_l2_4_layer
def course_cost(ex, params: dict, lam: float) -> float:
    """-1/m sum_i sum_k [y log h + (1-y) log(1-h)] + lam/(2m) sum W^2, written out here."""
    a = ex.X
    for i in range(3):
        a = 1 / (1 + np.exp(-(a @ params[f"{i}.W"] + params[f"{i}.b"])))
    m = len(ex.X)
    data = -np.sum(ex.y * np.log(a) + (1 - ex.y) * np.log(1 - a)) / m
    return data + lam / (2 * m) * sum(np.sum(params[f"{i}.W"] ** 2) for i in range(3))


def test_logistic_cost_is_the_course_formula():
    ex = get_example("logistic_l2_4_layer")
    lam = ex.spec.regularizer["lam"]
    assert ex.X.shape == (30, 3) and ex.y.shape == (30, 3) and lam > 0
    np.testing.assert_array_equal(ex.y.sum(axis=1), 1)  # one-hot
    value = float(ex.network().loss_value(ex.X, ex.y))
    assert value == pytest.approx(course_cost(ex, ex.params, lam), rel=1e-14)


# Central differences with h = 1e-5: the cost is ~2.3, so rounding noise is ~2.3 eps / h
# = 5e-11 absolute, truncation ~h^2 = 1e-10; the smallest gradients (0.b, norm 0.008) then
# carry ~6e-9 relative (measured; 3e-8 with h = 1e-6).  1e-7 leaves a margin of 16, and a
# missing penalty term is off by 1e-2 or more.
FD_STEP, FD_LIMIT = 1e-5, 1e-7


def test_logistic_gradients_match_finite_differences():
    ex = get_example("logistic_l2_4_layer")
    report = gradcheck(ex.network(), ex.X, ex.y, h=FD_STEP)
    assert report.passed(FD_LIMIT), str(report)


def test_logistic_biases_are_not_penalised():
    ex = get_example("logistic_l2_4_layer")
    lam, m = ex.spec.regularizer["lam"], len(ex.X)
    plain = ex.with_changes(spec=ex.spec.with_changes(regularizer=None))
    _, g_reg = ex.network().loss_and_gradients(ex.X, ex.y)
    _, g_plain = plain.network().loss_and_gradients(ex.X, ex.y)
    for name in g_reg:
        if name.endswith(".b"):  # exactly the unregularised gradient: no penalty term at all
            np.testing.assert_array_equal(g_reg[name], g_plain[name])
        else:  # backprop + (lambda / m) W
            np.testing.assert_allclose(
                g_reg[name], g_plain[name] + lam / m * ex.params[name], rtol=1e-14, atol=1e-17
            )
    # the cost does not move when only the biases grow
    bigger = {k: v * 10 if k.endswith(".b") else v for k, v in ex.params.items()}
    penalty = course_cost(ex, bigger, lam) - course_cost(ex, bigger, 0.0)
    net = ex.network(bigger)
    reg_penalty = float(net.loss_value(ex.X, ex.y)) - float(
        plain.network(bigger).loss_value(ex.X, ex.y)
    )
    assert reg_penalty == pytest.approx(penalty, rel=1e-12)


def test_logistic_training_learns_the_three_classes():
    f = figures("logistic_l2_4_layer")
    assert f["final_cost"] < 0.5 * f["initial_cost"]
    assert f["train_accuracy"] == 1.0
    assert np.all(np.diff(trajectory("logistic_l2_4_layer").losses) <= 0)  # no unstable stretch


# ---------------------------------------------------------------- negative controls
def test_a_planted_wrong_learning_rate_is_caught():
    ex = get_example("hand_2_1_1")
    wrong = ex.with_changes(spec=ex.spec.with_changes(optimizer_options={"lr": 0.5001}))
    bad = mismatches(wrong, reproduce(wrong, "numpy")[0])
    assert any(m.startswith("Delta w_ho") for m in bad), bad
    assert not any("error term" in m for m in bad)  # error terms do not depend on lr


def test_a_planted_wrong_loss_is_caught():
    ex = get_example("numeric_3_2_1")
    wrong = ex.with_changes(spec=ex.spec.with_changes(loss="sse"))  # no 1/2
    bad = mismatches(wrong, reproduce(wrong, "numpy")[0])
    assert {m.split(":")[0] for m in bad} == {"Delta w_ho", "Delta W_ih"}


def test_a_planted_wrong_initial_weight_is_caught():
    ex = get_example("fixed_2_3_2")
    params = {**ex.params, "1.b": np.array([0.1, 0.2001])}
    traj = run("numpy", ex.with_changes(params=params), steps=1)
    assert Figure("x", 0.54478, significant=5).mismatch(traj.losses[1]) is not None
    assert Figure("x", 0.54478, significant=5).mismatch(run("numpy", ex, steps=1).losses[1]) is None


def test_finite_differences_catch_a_missing_penalty_gradient():
    ex = get_example("logistic_l2_4_layer")
    plain = ex.with_changes(spec=ex.spec.with_changes(regularizer=None))
    _, unpenalised = plain.network().loss_and_gradients(ex.X, ex.y)
    report = gradcheck(ex.network(), ex.X, ex.y, analytic=unpenalised, h=FD_STEP)
    failed = {c.name for c in report.checks if c.normwise_rel_error > FD_LIMIT}
    assert failed == {"0.W", "1.W", "2.W"}  # the biases have no penalty term to miss


def test_figure_rounding_rule():
    f = Figure("v", 0.12183, significant=5)
    assert f.mismatch(0.121834) is None and f.mismatch(0.121826) is None
    assert f.mismatch(0.121836) is not None and f.mismatch(0.121824) is not None
    g = Figure("w", np.array([0.0057, 0.9944]), decimals=4)
    assert g.mismatch([0.00572, 0.99442]) is None
    assert "w" in g.mismatch([0.00576, 0.99442])
    with pytest.raises(ValueError):
        Figure("both", 1.0, decimals=1, significant=1)


# ---------------------------------------------------------------- command line
def test_cli_lists_and_runs_an_example(capsys):
    from experiments.cli import main

    assert main(["examples"]) == 0
    listing = capsys.readouterr().out
    for name in ("xor_3_4_1", "hand_2_1_1", "numeric_3_2_1", "logistic_l2_4_layer"):
        assert name in listing
    assert "housing_2_3_1" in listing
    assert main(["examples", "run", "hand_2_1_1", "--frameworks", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "0.1218322354" in out
    assert "output error term: published 0.12183: numpy ok" in out


def test_cli_rejects_bad_arguments(capsys):
    from experiments.cli import main

    assert main(["examples", "run", "nope", "--frameworks", "numpy"]) == 2
    assert "valid:" in capsys.readouterr().err
    assert main(["examples", "run", "hand_2_1_1", "--frameworks", "numpy,tensorflow"]) == 2
    assert main(["examples", "run", "hand_2_1_1", "--steps", "0", "--frameworks", "numpy"]) == 2


def test_cli_prints_the_source_loss_lines(capsys):
    from experiments.cli import main

    args = ["examples", "run", "fixed_2_3_2", "--frameworks", "numpy", "--steps", "201"]
    # the published figures are after the source's 50,001 steps: a shorter run is not
    # compared with them (nor failed by them)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0.544779971066" in out  # after update 1, the source's "batch 0" line
    assert "published figures: not compared (the source's are after 50,001 step(s)" in out
    assert "MISMATCH" not in out
