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
