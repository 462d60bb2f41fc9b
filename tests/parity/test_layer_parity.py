"""The layer kinds against every framework that runs them: one case per kind variant
(``cases.layer_cases``, names start with the kind) and seeded random CNNs
(``cases.random_layer_case``), in float64 and float32: forward, loss, gradients, parameters
(and batch norm's running statistics) after 1 and after 20 steps; then, for networks that
behave differently in inference (batchnorm, dropout), the inference output after training."""

import numpy as np
import pytest

from parity_tests.cases.matrix import (
    N_RANDOM_LAYERS,
    Case,
    layer_case,
    layer_cases,
    random_layer_case,
)
from parity_tests.harness import registry
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.parity import compare_case
from parity_tests.harness.protocol import run
from parity_tests.harness.tolerances import layer_tolerance
from reference_nn.layers import BatchNorm

pytestmark = pytest.mark.frameworks

LAYER = layer_cases()
RANDOM = [random_layer_case(s, d) for s in range(N_RANDOM_LAYERS) for d in ("float64", "float32")]


def _pairs(cases: list[Case]) -> list:
    return [
        pytest.param(case, fw, id=f"{case.name}-{fw}")
        for case in cases
        for fw, reason in case.refusal_by_framework().items()
        if reason is None
    ]


def _kinds(case: Case) -> set[str]:
    return {lay.kind for lay in case.spec.layers}


def _check(case: Case, framework: str) -> None:
    comparisons = compare_case(case, framework)
    bad = [
        c.message()
        for c in comparisons
        if c.error.normwise_rel > layer_tolerance(c.dtype, c.quantity, _kinds(case))
    ]
    assert not bad, "\n".join(bad)
    network = case.spec.build_network()
    n_params, n_state = len(network.parameters), len(network.state)
    # output, loss; grads, step_1, step_20 per parameter; step_1, step_20 per state array
    assert len(comparisons) == 2 + 3 * n_params + 2 * n_state


@pytest.mark.parametrize(("case", "framework"), _pairs(LAYER), indirect=["framework"])
def test_layer_case(case, framework):
    _check(case, framework)


@pytest.mark.parametrize(("case", "framework"), _pairs(RANDOM), indirect=["framework"])
def test_random_layer_case(case, framework):
    _check(case, framework)


# ---------------------------------------------------------------- inference after training
INFERENCE = [c for c in LAYER if _kinds(c) & {"batchnorm", "dropout"}]


def _inference_error(case: Case, framework: str) -> float:
    """Train the case in the reference and in ``framework``, then compare their inference
    outputs (batch norm: the running statistics; dropout: the identity) on all the data."""
    X, y, params, batches = case.materialize()
    outputs = []
    for name in (registry.REFERENCE, framework):
        model = registry.get(name).build(case.spec, params)
        run(model, X, y, batches)
        outputs.append(model.predict(X))
    return tensor_error(*outputs).normwise_rel


@pytest.mark.parametrize(("case", "framework"), _pairs(INFERENCE), indirect=["framework"])
def test_inference_output_after_training(case, framework):
    err = _inference_error(case, framework)
    # a function of the trained parameters: the tolerance of the parameters after the steps
    assert err <= layer_tolerance(case.spec.dtype, "steps", _kinds(case)), err


def test_inference_with_batch_statistics_is_caught(torch, monkeypatch):
    """Negative control: a reference that normalises with the batch statistics in inference
    (forgetting the running ones) fails the inference comparison."""
    case = layer_case("batchnorm-dense-torch", "float64")
    assert _inference_error(case, "torch") <= layer_tolerance("float64", "steps", {"batchnorm"})
    original = BatchNorm.forward
    monkeypatch.setattr(BatchNorm, "forward", lambda self, x, training=True: original(self, x))
    assert _inference_error(case, "torch") > 1e-3


def test_every_kind_has_a_case_named_after_it():
    from reference_nn import LAYER_KINDS

    assert {c.name.split("-")[0] for c in LAYER} == set(LAYER_KINDS) - {"dense"}
    assert np.all([c.name.split("-")[0] in _kinds(c) for c in LAYER])
