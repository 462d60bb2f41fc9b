"""The registries, the parity matrix and the adapters stay in step (see ``completeness``)."""

import itertools

import pytest

from parity_tests.cases import matrix as cases
from parity_tests.cases.completeness import coverage_gaps, exercised, parity_cases, registered
from parity_tests.frameworks.numpy.adapter import NumpyAdapter, NumpyModel
from parity_tests.harness import registry
from parity_tests.harness.parity import compare_case, failing
from reference_nn import ACTIVATIONS, LAYER_KINDS, LOSSES
from reference_nn.activations import Identity

MATRIX = cases.matrix()
ALL = parity_cases()  # the matrix, the layer-kind cases and the random CNNs


def test_matrix_size_is_derived_from_its_axes():
    axes = (cases.HIDDEN, cases.LOSS_VARIANTS, cases.OPTIMIZER_VARIANTS, cases.DTYPES)
    assert len(MATRIX) == len(list(itertools.product(*axes)))
    assert len({c.name for c in MATRIX}) == len(MATRIX)


def test_every_registered_entry_is_exercised_and_every_framework_runs_or_refuses_it():
    assert coverage_gaps(ALL) == []


def test_every_case_runs_in_some_framework():
    uncovered = [
        c.name for c in ALL if all(r is not None for r in c.refusal_by_framework().values())
    ]
    assert not uncovered


def test_what_the_cases_exercise_is_what_is_registered():
    union = {k: set().union(*(exercised(c)[k] for c in ALL)) for k in registered()}
    assert union == registered()


def test_layer_case_names_start_with_their_kind():
    for case in cases.layer_cases():
        assert case.name.split("-")[0] in LAYER_KINDS, case.name
        assert case.name.split("-")[0] in {lay.kind for lay in case.spec.layers}, case.name


# ---------------------------------------------------------------- negative controls
def test_a_registry_entry_missing_from_the_matrix_is_reported(monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "swish", Identity)
    monkeypatch.setitem(LAYER_KINDS, "conv9d", LAYER_KINDS["dense"])
    gaps = coverage_gaps(ALL)
    assert any("activation 'swish'" in g for g in gaps)
    assert any("layer kind 'conv9d'" in g for g in gaps)


def test_a_framework_that_refuses_without_a_reason_is_reported():
    class Refuses(NumpyAdapter):
        name = "refuses"

        def refusal(self, spec):
            return "" if spec.loss == "cce" else None  # refuses, but says nothing

    registry.register("refuses", Refuses())
    try:
        gaps = coverage_gaps(ALL, ["refuses"])
    finally:
        registry.unregister("refuses")
    # softmax outputs appear only with the cce loss in the cases, so both are reported
    assert gaps == [
        "refuses refuses activation 'softmax' without a reason",
        "refuses refuses loss 'cce' without a reason",
    ]
    assert not any(f"loss {loss!r}" in g for g in gaps for loss in set(LOSSES) - {"cce"})


# ---------------------------------------------------------------- a new framework
class DummyAdapter(NumpyAdapter):
    """A 'framework' in one class: the reference under another name, optionally with a
    planted error in its gradients (the second layer's weight gradient times 1.001)."""

    name = "dummy"

    def __init__(self, planted_error: bool = False) -> None:
        self.planted_error = planted_error

    def build(self, spec, params, **options):
        model = super().build(spec, params, **options)
        if not self.planted_error:
            return model

        class Planted(NumpyModel):
            def forward_backward(self, X, y):
                out, loss, grads = super().forward_backward(X, y)
                return out, loss, {**grads, "1.W": grads["1.W"] * 1.001}

        return Planted(spec, params)


@pytest.fixture
def dummy():
    registry.register("dummy", DummyAdapter())  # the one registry line
    yield "dummy"
    registry.unregister("dummy")


def test_registering_a_framework_adds_it_everywhere(dummy):
    case = cases.matrix_case("tanh", "mse", "adam_keras", "float64")
    assert "dummy" in case.refusal_by_framework() and case.refusal_by_framework()["dummy"] is None
    assert coverage_gaps(ALL, [dummy]) == []
    assert failing(compare_case(case, dummy)) == set()
    assert "dummy" in registry.parse_frameworks("numpy,dummy")


def test_a_planted_error_in_a_new_framework_is_caught(dummy):
    registry.register("dummy", DummyAdapter(planted_error=True))
    case = cases.matrix_case("tanh", "mse", "sgd", "float64")
    assert failing(compare_case(case, dummy)) == {("grads", "1.W")}


def test_parse_frameworks_refuses_unknown_repeated_and_empty_lists():
    assert registry.parse_frameworks(" numpy, torch ") == ["numpy", "torch"]
    for bad, message in (("numpy,tf", "unknown"), ("numpy,numpy", "twice"), (",", "none given")):
        with pytest.raises(ValueError, match=message):
            registry.parse_frameworks(bad)
