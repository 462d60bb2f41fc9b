"""The housing experiment on the real data, a few epochs, in all three frameworks."""

import dataclasses

import numpy as np
import pytest

from experiments.housing import run as housing_run
from experiments.housing.baseline import run_baseline
from experiments.housing.protocol import make_problem
from parity_tests.harness.tolerances import TRAJECTORY
from reference_nn import epoch_orders

pytestmark = pytest.mark.frameworks
EPOCHS = 2  # 13,400 per-sample steps per framework


@pytest.fixture(scope="module")
def problem(housing_data_file):
    return make_problem(data=str(housing_data_file), epochs=EPOCHS)


@pytest.fixture(scope="module")
def runs(problem, torch, keras):
    return {fw: housing_run.train(problem, fw) for fw in ("numpy", "torch", "keras")}


def test_three_frameworks_agree(problem, runs):
    results = housing_run.evaluate(problem, runs)
    worst = results["worst"]
    assert worst["any_epoch_parameter_rel"] < TRAJECTORY["float64"]
    assert worst["final_test_mse_abs"] < 1e-13  # the housing run's target for the final test MSE
    mse = [f["test_mse"] for f in results["final"].values()]
    assert 0.02 < min(mse) and max(mse) < 0.06  # learning, not diverging


def test_a_planted_learning_rate_error_is_caught(problem, runs, torch):
    wrong_spec = problem.spec.with_changes(optimizer_options={"lr": 0.05 * (1 + 1e-7)})
    wrong = housing_run.train(dataclasses.replace(problem, spec=wrong_spec), "torch")
    diff = housing_run.max_relative_difference(
        runs["numpy"].params_per_epoch[0], wrong.params_per_epoch[0]
    )
    assert diff > TRAJECTORY["float64"]


def test_keras_defaults_baseline_is_reproduced_by_the_keras_formulation(problem, keras):
    result = run_baseline(problem, epochs=1, seed=0)
    assert result["keras_vs_reference_rel"] < TRAJECTORY["float64"]
    # torch's epsilon placement (outside the root) is a different optimizer
    assert result["keras_vs_torch_formulation_rel"] > 1e-3


def test_shuffled_orders_are_shared(housing_data_file):
    a = make_problem(data=str(housing_data_file), epochs=2, order="shuffled", seed=5)
    b = make_problem(data=str(housing_data_file), epochs=2, order="shuffled", seed=5)
    np.testing.assert_array_equal(a.orders, b.orders)
    assert not np.array_equal(a.orders[0], np.arange(a.orders.shape[1]))


def test_the_compiled_keras_baseline_gives_the_numbers_of_plain_fit(problem, keras):
    # The main job runs the Keras-defaults baseline's fit as XLA with an epoch per execution;
    # this is the proof that it computes what plain model.fit(batch_size=32) does.
    from experiments.housing.baseline import _keras_fit, baseline_spec

    s = problem.split
    initial = baseline_spec("keras", "float64").init_parameters(0)
    orders = epoch_orders(len(s.X_train), 2, "shuffled", seed=0)
    plain = _keras_fit(initial, s.X_train, s.y_train, orders, compiled=False)
    compiled = _keras_fit(initial, s.X_train, s.y_train, orders, compiled=True)
    assert housing_run.max_relative_difference(plain, compiled) < TRAJECTORY["float64"]
    assert housing_run.max_relative_difference(initial, compiled) > 1e-3  # it trained
