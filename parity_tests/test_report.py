"""The report command writes what a CI job archives, and reports a failure as a failure."""

import json

import pytest

from parity_tests import report
from parity_tests.cases import matrix_case
from parity_tests.tolerances import TOLERANCES

pytestmark = pytest.mark.frameworks


def test_report_files(tmp_path, torch, keras):
    cases = [
        matrix_case("tanh", "mse", "sgd", "float64"),
        matrix_case("relu", "cce", "adam_keras", "float32"),
    ]
    summary = report.write_report(tmp_path, cases)
    md = (tmp_path / "parity.md").read_text()
    assert "torch 2.13" in md and "keras 3." in md
    assert "tanh-mse-sgd-float64 | torch" in md and "relu-cce-adam_keras-float32 | keras" in md
    data = json.loads((tmp_path / "parity.json").read_text())
    assert data["failures"] == 0 and summary["versions"]["torch"].startswith("2.13")
    assert (tmp_path / "parity.png").read_bytes()[:4] == b"\x89PNG"


def test_report_counts_a_planted_failure(tmp_path, torch, keras, monkeypatch):
    monkeypatch.setitem(TOLERANCES["float64"], "grads", 1e-300)
    summary = report.write_report(tmp_path, [matrix_case("tanh", "mse", "sgd", "float64")])
    assert summary["failures"] > 0
    assert "Failures: 0" not in (tmp_path / "parity.md").read_text()


def test_explain_names_where_a_planted_error_first_parts(torch, monkeypatch):
    """--explain: a reference whose tanh derivative is 1% off fails against torch, and the
    report says where: step 1, layer 0 (the tanh layer), in the backward pass."""
    from parity_tests.harness import compare_case
    from reference_nn.activations import Tanh

    case = matrix_case("tanh", "mse", "sgd", "float64")
    original = Tanh.derivative
    monkeypatch.setattr(Tanh, "derivative", lambda self, z, a: 1.01 * original(self, z, a))
    worst = report.summarize(compare_case(case, "torch"))
    found = report.explain_failures([case], worst)
    assert list(found) == [f"{case.name} [torch]"]
    assert found[f"{case.name} [torch]"].startswith(
        "first divergence at step 1, layer 0 (backward)"
    )
    text = report._markdown(worst, {}, report.measured_maxima(list(worst.values())), 0, found)
    assert "first parts from the reference" in text and "layer 0 (backward)" in text
    monkeypatch.setattr(Tanh, "derivative", original)  # clean: nothing fails, nothing to explain
    assert report.explain_failures([case], report.summarize(compare_case(case, "torch"))) == {}
