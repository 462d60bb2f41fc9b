"""Every hidden activation x loss x optimizer formulation x dtype, and seeded random
architectures: forward, loss, gradients, weights after 1 and after 20 steps, reference vs
each framework that has the formulation."""

import pytest

from parity_tests.cases import Case, matrix, random_case
from parity_tests.compare import compare_runs, failures
from parity_tests.report import RUNNERS
from parity_tests.runs import run_reference

N_RANDOM = 30  # seeded random architectures per dtype


def _pairs(cases: list[Case]) -> list:
    return [
        pytest.param(case, fw, id=f"{case.name}-{fw}")
        for case in cases
        for fw, reason in case.frameworks().items()
        if reason is None
    ]


def _check(case: Case, framework: str) -> None:
    X, y, params, batches = case.materialize()
    reference = run_reference(case.spec, params, X, y, batches)
    other = RUNNERS[framework](case.spec, params, X, y, batches)
    comparisons = compare_runs(case.name, framework, case.spec.dtype, reference, other)
    assert len(comparisons) == 2 + 3 * len(params)  # output, loss; grads, step_1, step_20 each
    bad = failures(comparisons)
    assert not bad, "\n".join(bad)


@pytest.mark.frameworks
@pytest.mark.parametrize(("case", "framework"), _pairs(matrix()), indirect=["framework"])
def test_matrix(case, framework):
    _check(case, framework)


RANDOM = [random_case(seed, dtype) for seed in range(N_RANDOM) for dtype in ("float64", "float32")]


@pytest.mark.frameworks
@pytest.mark.parametrize(("case", "framework"), _pairs(RANDOM), indirect=["framework"])
def test_random_architecture(case, framework):
    _check(case, framework)


def test_matrix_covers_every_formulation_in_some_framework():
    cases = matrix()
    assert len(cases) == 7 * 8 * 9 * 2
    uncovered = [c.name for c in cases if all(r is not None for r in c.frameworks().values())]
    assert not uncovered
