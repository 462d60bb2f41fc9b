"""The float64 referee: float32 runs are measured against the float64 reference run; a planted
float32 error makes that framework the farthest, and the report gets its section."""

import json

import pytest

from parity_tests import registry, report, torch_mirror
from parity_tests.cases import matrix_case
from parity_tests.referee import closest, referee_errors, referee_markdown

pytestmark = pytest.mark.frameworks

CASE = matrix_case("tanh", "mse", "sgd", "float32")


def test_float32_runs_are_close_to_the_float64_referee_but_not_equal(torch, keras):
    errors = referee_errors(CASE)
    assert set(errors) >= {"numpy", "torch", "keras"}
    assert all(1e-9 < e < 1e-4 for e in errors.values()), errors
    assert referee_errors(matrix_case("tanh", "mse", "sgd", "float64")) is None


def test_a_planted_float32_error_is_the_farthest_from_the_referee(torch, keras, monkeypatch):
    original = torch_mirror.TorchModel.forward_backward

    def off(self, X, y):
        out, loss, grads = original(self, X, y)
        return out * (1 + 1e-4), loss, grads

    monkeypatch.setattr(torch_mirror.TorchModel, "forward_backward", off)
    errors = referee_errors(CASE)
    assert errors["torch"] > 5e-5 and max(errors, key=errors.get) == "torch"
    assert "torch" not in closest(errors)


def test_the_report_has_the_referee_section(tmp_path, torch, keras, monkeypatch):
    # the frameworks of this process only (a Keras backend may need a process of its own)
    three = {k: v for k, v in registry.FRAMEWORKS.items() if k in ("numpy", "torch", "keras")}
    monkeypatch.setattr(registry, "FRAMEWORKS", three)
    report.write_report(tmp_path, [CASE])
    md = (tmp_path / "parity.md").read_text()
    assert "## float32 against the float64 referee" in md
    assert "| tanh-mse-sgd-float32 |" in md.split("float64 referee")[1]
    data = json.loads((tmp_path / "parity.json").read_text())
    assert set(data["float32_vs_float64_referee"]["tanh-mse-sgd-float32"]) >= {"numpy", "torch"}


def test_the_section_counts_who_is_closest():
    md = referee_markdown(
        {"a": {"numpy": 1e-7, "torch": 2e-7}, "b": {"numpy": 3e-7, "torch": 1e-7}}
    )
    assert "numpy 1/2, torch 1/2" in md and "| a | 1.00e-07 | 2.00e-07 | numpy |" in md
    assert referee_markdown({}) == ""
