"""Every hidden activation x loss x optimizer formulation x dtype, and seeded random
architectures: forward, loss, gradients, weights after 1 and after 20 steps, reference vs
each framework that has the formulation."""

import pytest

from parity_tests.cases.matrix import (
    DTYPES,
    HIDDEN,
    LOSS_VARIANTS,
    Case,
    matrix,
    matrix_case,
    random_case,
)
from parity_tests.harness import registry
from parity_tests.harness.parity import assert_parity

N_RANDOM = 30  # seeded random architectures per dtype


def _pairs(cases: list[Case]) -> list:
    return [
        pytest.param(case, fw, id=f"{case.name}-{fw}")
        for case in cases
        for fw, reason in case.refusal_by_framework().items()
        if reason is None
    ]


def _check(case: Case, framework: str, **options) -> None:
    comparisons = assert_parity(case, framework, **options)
    n_params = len(case.spec.parameter_names())
    assert len(comparisons) == 2 + 3 * n_params  # output, loss; grads, step_1, step_20 each


@pytest.mark.frameworks
@pytest.mark.parametrize(("case", "framework"), _pairs(matrix()), indirect=["framework"])
def test_matrix(case, framework):
    _check(case, framework)


RANDOM = [random_case(seed, dtype) for seed in range(N_RANDOM) for dtype in ("float64", "float32")]


@pytest.mark.frameworks
@pytest.mark.parametrize(("case", "framework"), _pairs(RANDOM), indirect=["framework"])
def test_random_architecture(case, framework):
    _check(case, framework)


def _keras_formulations() -> set[str]:
    """The matrix's optimizer formulations that Keras runs (case names: hidden-loss-opt-dtype)."""
    keras = registry.get("keras")
    return {c.name.split("-")[2] for c in matrix() if keras.refusal(c.spec) is None}


def _keras_xla_cases() -> list[Case]:
    """Every hidden activation, loss and optimizer formulation Keras has, each at least once
    and in both dtypes: the cases above step eagerly in Keras (20 steps are too few to pay for
    compiling, ``frameworks/keras/compiled.COMPILE_FROM_STEPS``); these run its XLA loop."""
    formulations = sorted(_keras_formulations())
    hidden, losses = list(HIDDEN), list(LOSS_VARIANTS)
    n = max(len(hidden), len(losses), len(formulations))
    combos = [
        (hidden[i % len(hidden)], losses[i % len(losses)], formulations[i % len(formulations)])
        for i in range(n)
    ]
    return [
        matrix_case(h, loss, opt, dtype, seed=i)
        for i, (h, loss, opt) in enumerate(combos)
        for dtype in DTYPES
    ]


@pytest.mark.frameworks
@pytest.mark.parametrize("case", _keras_xla_cases(), ids=lambda c: c.name)
def test_keras_xla_loop(case, keras):
    _check(case, "keras", loop="xla")


def test_the_xla_cases_cover_every_activation_loss_and_keras_formulation():
    names = [c.name.split("-") for c in _keras_xla_cases()]
    expected = _keras_formulations()
    assert {n[0] for n in names} == set(HIDDEN)
    assert {n[1] for n in names} == set(LOSS_VARIANTS)
    assert {n[2] for n in names} == expected and len(expected) >= 5
    assert {(n[0], n[3]) for n in names} >= {(h, d) for h in HIDDEN for d in DTYPES}
