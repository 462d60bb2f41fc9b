"""One helper for every parity comparison (in the spirit of tinygrad's ``helper_test_op``):
run the reference and a framework on the same spec, parameters, data and batches, and compare
every tensor against the tolerance policy.

    comparisons = compare_case(case, "torch")          # a Case from parity_tests.cases.matrix
    assert_parity(case, "keras", loop="graph")          # raises, every mismatch named

``reference_spec`` lets a test run the reference on a *different* spec (a planted error, or
the other convention) against the framework's run of the case's own spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from parity_tests.harness import registry
from parity_tests.harness.compare import Comparison, compare_runs, failures
from parity_tests.harness.protocol import Array, Params, RunResult, run
from reference_nn import NetworkSpec


def run_framework(
    framework: str,
    spec: NetworkSpec,
    params: Params,
    X: Array,
    y: Array,
    batches: Sequence[NDArray[np.int64]],
    **options: Any,
) -> RunResult:
    """``spec`` built in ``framework`` from ``params``, run over ``batches``."""
    return run(registry.get(framework).build(spec, params, **options), X, y, batches)


def zero_gradient_parameters(spec: NetworkSpec) -> frozenset[str]:
    """The parameters of ``spec`` whose gradient is zero by their layer's mathematics
    (``Layer.zero_gradient_names``), by network name ("0.bk")."""
    return frozenset(
        f"{i}.{name}"
        for i, layer in enumerate(spec.build_layers())
        for name in type(layer).zero_gradient_names
    )


def compare_on(
    name: str,
    framework: str,
    spec: NetworkSpec,
    params: Params,
    X: Array,
    y: Array,
    batches: Sequence[NDArray[np.int64]],
    *,
    reference_spec: NetworkSpec | None = None,
    **options: Any,
) -> list[Comparison]:
    """Reference (``reference_spec`` or ``spec``) vs ``framework`` on ``spec``, every tensor."""
    reference = run_framework(registry.REFERENCE, reference_spec or spec, params, X, y, batches)
    other = run_framework(framework, spec, params, X, y, batches, **options)
    try:
        kinds = frozenset(layer.kind for layer in spec.layers)
        zero = zero_gradient_parameters(spec)
        return compare_runs(name, framework, spec.dtype, reference, other, kinds, zero)
    except ValueError as exc:  # shape/dtype mismatch: say which case and framework
        raise ValueError(f"{name} [{framework}]: {exc}") from exc


def compare_case(
    case: Any, framework: str, *, reference_spec: NetworkSpec | None = None, **options: Any
) -> list[Comparison]:
    """:func:`compare_on` for a :class:`~parity_tests.cases.matrix.Case` (its data, weights,
    batches)."""
    X, y, params, batches = case.materialize()
    return compare_on(
        case.name,
        framework,
        case.spec,
        params,
        X,
        y,
        batches,
        reference_spec=reference_spec,
        **options,
    )


def assert_parity(case: Any, framework: str, **options: Any) -> list[Comparison]:
    """:func:`compare_case`, raising AssertionError that lists every tensor out of tolerance,
    then where the framework first parts from the reference (step, then layer)."""
    comparisons = compare_case(case, framework, **options)
    bad = failures(comparisons)
    if bad:
        from parity_tests.harness.divergence import explain_case

        raise AssertionError("\n".join([*bad, explain_case(case, framework, **options)]))
    return comparisons


def failing(comparisons: list[Comparison]) -> set[tuple[str, str]]:
    """(quantity, tensor) pairs outside tolerance."""
    return {(c.quantity, c.tensor) for c in comparisons if not c.passed}
