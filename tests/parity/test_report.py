"""The report command writes what a CI job archives, and reports a failure as a failure."""

import json

import pytest

from parity_tests.cases.matrix import matrix_case
from parity_tests.harness.tolerances import TOLERANCES
from parity_tests.tools import report

pytestmark = pytest.mark.frameworks


def test_report_files(tmp_path, torch, keras, monkeypatch):
    # the other Keras backends' processes are test_the_other_backends_run_in_their_processes
    _reference_only(monkeypatch, "torch", "keras")
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


def test_the_other_backends_run_in_their_processes():
    """keras-jax and keras-torch, each in a process with its KERAS_BACKEND, side by side:
    their comparisons and versions come back to this process."""
    import importlib.util

    from parity_tests.harness import loaders, registry

    missing = [m for m in ("keras", "jax", "torch") if importlib.util.find_spec(m) is None]
    if missing and not loaders.frameworks_required():
        pytest.skip(f"{', '.join(missing)} not installed")
    others = [n for n in registry.names() if registry.process_backend(n)]
    assert others, "this process runs every Keras backend: nothing to run elsewhere"
    comparisons, versions = report.run_elsewhere([matrix_case("tanh", "mse", "sgd", "float64")])
    assert {c.framework for c in comparisons} == set(others) == set(versions)
    assert comparisons and all(c.passed for c in comparisons)
    assert all("keras" in versions[name] for name in others)


def test_report_counts_a_planted_failure(tmp_path, torch, monkeypatch):
    _reference_only(monkeypatch, "torch")  # the count is the report's, whichever framework
    monkeypatch.setitem(TOLERANCES["float64"], "grads", 1e-300)
    summary = report.write_report(tmp_path, [matrix_case("tanh", "mse", "sgd", "float64")])
    assert summary["failures"] > 0
    assert "Failures: 0" not in (tmp_path / "parity.md").read_text()


def test_explain_names_where_a_planted_error_first_parts(torch, monkeypatch):
    """--explain: a reference whose tanh derivative is 1% off fails against torch, and the
    report says where: step 1, layer 0 (the tanh layer), in the backward pass."""
    from parity_tests.harness.parity import compare_case
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


def _reference_only(monkeypatch, *also: str) -> None:
    from parity_tests.harness import registry

    keep = {k: v for k, v in registry.FRAMEWORKS.items() if k in ("numpy", *also)}
    monkeypatch.setattr(registry, "FRAMEWORKS", keep)


def test_the_whole_default_selection_runs_through_the_report(tmp_path, monkeypatch, capsys):
    """``refnn parity-report`` with no filter: every case of the default selection (the
    matrix, every layer kind, 30 random architectures and 10 random CNNs a dtype) through
    the command's own path (selection, output folder, report, referee), with the reference
    alone: the whole report over every framework takes ~20 minutes.  Every float32 case,
    the embedding cases that crashed the referee included, gets its referee entry; the
    frameworks' side is test_one_case_per_layer_kind_* here and in test_referee.py."""
    from argparse import Namespace

    from tests.parity.test_referee import REFEREE_BOUND

    _reference_only(monkeypatch)
    out = tmp_path / "out"
    args = Namespace(out=str(out), random=30, filter=None, explain=False)
    assert report.main(args) == 0, capsys.readouterr().err
    selected = report.select_cases(None, 30)
    float32 = {c.name for c in selected if c.spec.dtype == "float32"}
    kinds = {layer.kind for c in selected for layer in c.spec.layers}
    assert len(selected) == 1158 and len(float32) == 579 and len(kinds) == 14
    referee = json.loads((out / "parity.json").read_text())["float32_vs_float64_referee"]
    assert set(referee) == float32
    # float32 against the exact answer after 20 steps: ~1e-7 to 1e-5, and 1.0e-3 for
    # random-layers0 (batchnorm and RMSprop amplify rounding); an error near 1 means the two
    # runs measure different things (as attention's zero key-bias gradient did)
    assert all(0 < e["numpy"] < REFEREE_BOUND for e in referee.values())
    assert "wrote" in capsys.readouterr().out


def test_one_case_per_layer_kind_through_the_report(tmp_path, torch, monkeypatch):
    """Every layer kind through run_case, the referee, the tables and the heatmap (torch runs
    every kind; each framework's run of every kind against the referee is in test_referee)."""
    from tests.parity.test_referee import one_case_per_layer_kind

    _reference_only(monkeypatch, "torch")
    cases = one_case_per_layer_kind("torch")
    summary = report.write_report(tmp_path, cases)
    assert summary["failures"] == 0
    md = (tmp_path / "parity.md").read_text()
    for case in cases:
        assert f"| {case.name} | torch |" in md
        assert set(summary["float32_vs_float64_referee"][case.name]) == {"numpy", "torch"}
    assert (tmp_path / "parity.png").read_bytes()[:4] == b"\x89PNG"


def test_a_selection_is_named_before_it_is_built(monkeypatch):
    """--random is checked before anything is built; the float32 twin of a random case is
    built only when its name is chosen."""
    built = []
    original = report.random_case
    monkeypatch.setattr(report, "random_case", lambda s, d: built.append(d) or original(s, d))
    with pytest.raises(ValueError, match="more than 1,000"):
        report.select_cases("zzz", 1_000_000_000)
    assert built == []
    assert len(report.select_cases("float64", 5)) > 5 and built == ["float64"] * 5
    with pytest.raises(ValueError, match="--filter is empty"):
        report.select_cases("", 0)
