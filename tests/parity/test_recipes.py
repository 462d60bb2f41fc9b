"""The recipes of docs/architecture.md, carried out by a test: each adds something new touching
only the files its recipe names, and each runs through the matrix.

* a framework: one folder (written here under ``tmp_path``) plus one registry line
  (``registry.register``, what the line in ``registry.FRAMEWORKS`` does); its planted error is
  caught, its declared refusals reach the catalog, and a refusal left out is a gap;
* an activation: the reference's class and registry line, plus one line in each framework's
  activation table (4 files): until the tables have it, each framework is a gap;
* a layer kind: the reference's module and its ``LAYER_KINDS`` line, its variants, one entry
  in a framework's layer table and a declared refusal in the others.
"""

from __future__ import annotations

import textwrap

import pytest

from parity_tests.cases import catalog
from parity_tests.cases.completeness import coverage_gaps, parity_cases
from parity_tests.cases.matrix import matrix_case
from parity_tests.harness import registry
from parity_tests.harness.compare import failures
from parity_tests.harness.parity import compare_case

# A framework that computes with NumPy through the reference's own layers (the simplest
# framework there is), dense networks only, with a planted error it can switch on: every dense
# kernel's gradient scaled by 1 + 1e-6, far below what a plot would show, far above float64's
# tolerance.
DUMMY_ADAPTER = '''
"""A dummy framework: dense networks in NumPy, an error planted on request."""

from reference_nn import LAYER_KINDS

from parity_tests.harness.protocol import Adapter, Model, Resolved


class DummyModel(Model):
    def __init__(self, resolved, params, planted):
        self.network = resolved.spec.build_network()
        self.network.set_parameters(params)
        self.optimizer = resolved.spec.build_optimizer()
        self.planted = planted

    def parameters(self):
        return self.network.get_parameters()

    def set_parameters(self, params):
        self.network.set_parameters(params)

    def _gradients(self, X, y):
        loss, grads = self.network.loss_and_gradients(X, y)
        if self.planted:
            grads = {k: g * (1 + 1e-6) if k.endswith(".W") else g for k, g in grads.items()}
        return loss, grads

    def forward_backward(self, X, y):
        loss, grads = self._gradients(X, y)
        return self.network.last_output.copy(), loss, grads

    def step(self, X, y):
        loss, grads = self._gradients(X, y)
        self.optimizer.step(self.network.parameters, grads)
        return float(loss)


class DummyAdapter(Adapter):
    name = "dummy"
    planted = False
    leave_out = ()  # refusals this dummy forgets to declare

    def versions(self):
        return {"dummy": "0"}

    def tables(self):
        return {"layer kind": ("dense",)}

    def refusals(self):
        return {
            ("layer kind", kind): "layers other than dense (the dummy computes dense only)"
            for kind in LAYER_KINDS
            if kind != "dense" and kind not in self.leave_out
        }

    def build(self, spec, params, **options):
        resolved = Resolved.of(spec)
        self.check_supported(resolved)
        return DummyModel(resolved, params, self.planted)
'''


@pytest.fixture
def dummy_framework(tmp_path, monkeypatch):
    """The recipe: one folder, one registry line."""
    folder = tmp_path / "dummy_framework"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "adapter.py").write_text(textwrap.dedent(DUMMY_ADAPTER))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("dummy", "dummy_framework.adapter:DummyAdapter")
    yield registry.get("dummy")
    registry.unregister("dummy")


CASES = [matrix_case("tanh", "mse", opt, "float64") for opt in ("sgd", "adam_torch")]


def test_a_new_framework_runs_through_the_matrix(dummy_framework):
    for case in CASES:
        # the matrix picks the new framework up from the registry
        assert case.refusal_by_framework()["dummy"] is None
        assert failures(compare_case(case, "dummy")) == []


def test_the_new_frameworks_planted_error_is_caught(dummy_framework, monkeypatch):
    monkeypatch.setattr(type(dummy_framework), "planted", True)
    for case in CASES:
        bad = failures(compare_case(case, "dummy"))
        assert any("grads" in line and "0.W" in line for line in bad), bad


def test_the_new_frameworks_refusals_reach_the_catalog_and_completeness(dummy_framework):
    conv = catalog.entry("layer kind", "conv2d")
    assert conv.refusals(["dummy"]) == {
        "dummy": "layers other than dense (the dummy computes dense only)"
    }
    assert catalog.entry("layer kind", "dense").refusals(["dummy"]) == {}
    assert coverage_gaps(parity_cases(), ["dummy"]) == []


def test_a_refusal_the_new_framework_forgets_is_a_gap(dummy_framework, monkeypatch):
    monkeypatch.setattr(type(dummy_framework), "leave_out", ("lstm",))
    assert catalog.entry("layer kind", "lstm").refusals(["dummy"]) == {
        "dummy": "neither implemented nor refused"
    }
    gaps = coverage_gaps(parity_cases(), ["dummy"])
    assert gaps == [
        "dummy neither implements nor refuses layer kind 'lstm': add it to the tables of "
        "parity_tests/frameworks/dummy/ or declare a refusal with its reason"
    ]
