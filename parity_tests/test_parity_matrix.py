"""Every hidden activation x loss x optimizer formulation x dtype, and seeded random
architectures: forward, loss, gradients, weights after 1 and after 20 steps, reference vs
each framework that has the formulation."""

import pytest

from parity_tests.cases import Case, matrix, random_case
from parity_tests.harness import assert_parity

N_RANDOM = 30  # seeded random architectures per dtype


def _pairs(cases: list[Case]) -> list:
    return [
        pytest.param(case, fw, id=f"{case.name}-{fw}")
        for case in cases
        for fw, reason in case.frameworks().items()
        if reason is None
    ]


def _check(case: Case, framework: str) -> None:
    comparisons = assert_parity(case, framework)
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
