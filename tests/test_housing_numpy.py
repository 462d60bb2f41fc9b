"""The housing experiment's fast NumPy loop is the reference library's fit, step for step."""

import numpy as np
import pytest

from experiments.housing.protocol import housing_spec, make_problem
from parity_tests.frameworks.numpy.per_sample import PerSampleSGD, applies
from reference_nn import fit


@pytest.fixture(scope="module")
def problem(housing_data_file):
    return make_problem(data=str(housing_data_file), epochs=2, order="shuffled", seed=3)


def test_textbook_loop_equals_reference_fit(problem):
    s = problem.split
    loop = PerSampleSGD(problem.initial, s.X_train, s.y_train, lr=0.05)
    assert applies(problem.spec, s.X_train, problem.orders[0][:, None])
    for order in problem.orders:
        loop.train(order)
    net = problem.spec.build_network()
    net.set_parameters(problem.initial)
    fit(
        net,
        problem.spec.build_optimizer(),
        s.X_train,
        s.y_train,
        epochs=2,
        batch_size=1,
        orders=problem.orders,
    )
    for name, value in net.parameters.items():
        # 13,400 steps; measured: bit-identical (same operations in the same order)
        np.testing.assert_allclose(loop.parameters()[name], value, rtol=1e-14, atol=0)


def test_the_loop_notices_a_planted_error(problem):
    s = problem.split
    wrong = PerSampleSGD(problem.initial, s.X_train, s.y_train, lr=0.05 * (1 + 1e-9))
    right = PerSampleSGD(problem.initial, s.X_train, s.y_train, lr=0.05)
    for t in (wrong, right):
        t.train(problem.orders[0][:500])
    diff = max(np.max(np.abs(wrong.parameters()[k] - right.parameters()[k])) for k in ("0.W",))
    assert diff > 1e-12


def test_spec_is_the_published_network():
    spec = housing_spec()
    assert spec.input_shape == (2,) and spec.output_shape == (1,)
    assert [lay.options["units"] for lay in spec.layers] == [3, 1]
    assert [lay.options["activation"] for lay in spec.layers] == ["sigmoid", "sigmoid"]
    assert spec.optimizer_options == {"lr": 0.05} and spec.loss == "mse"
    assert (spec.weight_init, spec.bias_init) == ("uniform01", "uniform01")
