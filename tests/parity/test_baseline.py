"""Numerics baselines: record then check passes; a framework whose numbers move by one part in a
million fails and is named, while bits that moved with its error against the reference unchanged
(another CPU's kernels) pass and are reported; --exact keeps the bitwise gate; usage errors are
one line with exit status 2; nothing is written half."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import baseline
from experiments.baseline import SEP, BaselineError, Item, check, record, select
from experiments.cli import main
from tests.parity.plants import scale_torch_module

pytestmark = pytest.mark.frameworks

FILTERS = ["parity/tanh-mse-sgd-float64", "parity/tanh-mse-sgd-float32", "example/hand_2_1_1"]
FRAMEWORKS = ["numpy", "torch"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, request):
    from parity_tests.tools.testing import load_or_skip

    load_or_skip("torch")
    out = tmp_path_factory.mktemp("baselines") / "pinned"
    record(out, select(baseline.all_items(housing_epochs=0), FILTERS), FRAMEWORKS)
    return out


def _names(folder: Path) -> list[str]:
    """What a folder holds, less the lock files that output folders keep beside them."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_record_writes_npz_per_framework_and_an_index(recorded):
    assert sorted(p.name for p in recorded.iterdir()) == ["index.json", "numpy.npz", "torch.npz"]
    index = json.loads((recorded / "index.json").read_text())
    assert set(index["items"]) == {f for f in FILTERS}
    assert "torch" in index["versions"] and "numpy" in index["versions"]
    assert index["platform"]["machine"]
    entry = index["items"]["parity/tanh-mse-sgd-float32"]["frameworks"]["torch"]
    assert entry[f"grads{SEP}0.W"].startswith("float32 [3, 5] sha256:")
    # no temporary folder is left beside it
    assert _names(recorded.parent) == ["pinned"]


def test_check_passes_on_a_fresh_run(recorded, capsys):
    assert main(["baseline", "check", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert "0 changed" in out and "CHANGED" not in out


def _plant_tanh(monkeypatch, factor):
    """A planted framework change: torch's hidden tanh scaled by ``factor`` (the case is
    Linear, Tanh, Linear, Sigmoid)."""
    scale_torch_module(monkeypatch, 1, "tanh", factor)


def test_a_framework_change_of_one_part_in_a_million_fails_and_is_named(
    recorded, monkeypatch, capsys
):
    _plant_tanh(monkeypatch, 1 + 1e-6)
    result = check(recorded, ["tanh-mse-sgd-float64"])
    failed = {(c.item, c.framework, c.tensor) for c in result.changes}
    assert ("parity/tanh-mse-sgd-float64", "torch", f"forward{SEP}output") in failed
    assert {c.framework for c in result.changes} == {"torch"}
    assert main(["baseline", "check", str(recorded), "--filter", "tanh-mse-sgd-float64"]) == 1
    out = capsys.readouterr().out
    assert (
        "CHANGED parity/tanh-mse-sgd-float64 [torch] forward|output: error against the "
        "reference" in out
    )
    # the envelope's negative control: without the plant, the same check passes
    monkeypatch.undo()
    assert check(recorded, ["tanh-mse-sgd-float64"]).changes == []


@pytest.mark.parametrize(
    "case, delta",
    # a few times the envelope (parity_tests/harness/tolerances.py: float64 2e-14, float32 2e-5):
    # the envelope is no looser than it says
    [("tanh-mse-sgd-float64", 1e-12), ("tanh-mse-sgd-float32", 1e-4)],
)
def test_a_change_a_few_times_the_envelope_fails(recorded, monkeypatch, case, delta):
    _plant_tanh(monkeypatch, 1 + delta)
    changes = check(recorded, [case]).changes
    assert changes and {c.framework for c in changes} == {"torch"}


def _plant_stored(folder: Path, fw: str, key: str, factor: float, element=None) -> None:
    with np.load(folder / f"{fw}.npz") as data:
        arrays = dict(data)
    a = arrays[key].copy()
    if element is None:
        a = a * factor
    else:
        a[element] *= factor
    arrays[key] = a
    np.savez_compressed(folder / f"{fw}.npz", **arrays)


def test_bits_that_moved_pass_as_information_and_fail_with_exact(recorded, tmp_path, capsys):
    """The recording of torch differs from this run by one part in a million in one element,
    and its error against the reference now is no larger than then (another CPU's bits):
    the default check passes and says so; --exact fails and names the tensor."""
    copy = _copy(recorded, tmp_path / "moved")
    key = f"parity/tanh-mse-sgd-float64{SEP}step_20{SEP}1.W"
    _plant_stored(copy, "torch", key, 1 + 1e-6, element=(0, 1))

    assert check(copy).changes == []
    assert main(["baseline", "check", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "torch: 1 of " in out and "tensors differ in their bits" in out
    assert "no recording of this platform" in out and "refnn baseline record --like" in out

    result = check(copy, exact=True)
    assert [(c.item, c.framework, c.tensor) for c in result.changes] == [
        ("parity/tanh-mse-sgd-float64", "torch", f"step_20{SEP}1.W")
    ]
    assert main(["baseline", "check", str(copy), "--exact"]) == 1
    assert "CHANGED parity/tanh-mse-sgd-float64 [torch] step_20|1.W" in capsys.readouterr().out
    # the same change filtered out: nothing moved
    assert main(["baseline", "check", str(copy), "--exact", "--filter", "float32"]) == 0


def test_a_reference_that_moved_fails(recorded, tmp_path, capsys):
    copy = _copy(recorded, tmp_path / "reference")
    _plant_stored(copy, "numpy", f"parity/tanh-mse-sgd-float64{SEP}grads{SEP}0.W", 1 + 1e-6)
    result = check(copy)
    assert [(c.framework, c.tensor) for c in result.changes] == [("numpy", f"grads{SEP}0.W")]
    assert "the reference moved" in result.changes[0].detail
    assert main(["baseline", "check", str(copy), "--explain"]) == 1
    assert "the reference itself moved" in capsys.readouterr().out


def test_explain_says_when_the_framework_still_agrees(recorded, tmp_path, capsys):
    copy = _copy(recorded, tmp_path / "explain")
    key = f"parity/tanh-mse-sgd-float64{SEP}step_20{SEP}1.W"
    _plant_stored(copy, "torch", key, 1 + 1e-6, (0, 1))
    argv = ["baseline", "check", str(copy), "--exact", "--explain", "--filter", "float64"]
    assert main(argv) == 1
    assert "still agrees with the reference within tolerance" in capsys.readouterr().out


def test_one_ulp_is_a_change_with_exact_and_not_with_ulps_1(recorded, tmp_path):
    copy = _copy(recorded, tmp_path / "ulp")
    key = f"parity/tanh-mse-sgd-float32{SEP}grads{SEP}0.b"
    with np.load(copy / "numpy.npz") as data:
        arrays = dict(data)
    a = arrays[key].copy()
    a[0] = np.nextafter(a[0], np.float32(np.inf))
    arrays[key] = a
    np.savez_compressed(copy / "numpy.npz", **arrays)
    changes = check(copy, ["float32"], exact=True).changes
    assert [(c.framework, c.tensor) for c in changes] == [("numpy", f"grads{SEP}0.b")]
    assert check(copy, ["float32"], ulps=1).changes == []
    assert check(copy, ["float32"]).changes == []  # one ulp is far inside the envelope


def test_version_changes_are_reported(recorded, tmp_path, capsys):
    copy = _copy(recorded, tmp_path / "versions")
    index = json.loads((copy / "index.json").read_text())
    index["versions"]["torch"] = "2.12.0"
    (copy / "index.json").write_text(json.dumps(index))
    assert main(["baseline", "check", str(copy), "--filter", "example/"]) == 0
    assert "version changed since the recording: torch 2.12.0 -> " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["baseline", "check", "{tmp}/absent"], "no such baseline folder"),
        (["baseline", "check", "{tmp}"], "is not a baseline"),
        (["baseline", "check", "{baseline}", "--filter", "no-such-item"], "selects nothing"),
        (["baseline", "check", "{baseline}", "--frameworks", "keras"], "not in this baseline"),
        (["baseline", "check", "{baseline}", "--ulps", "-1"], "--ulps must be >= 0"),
        (["baseline", "record", "--out", "{tmp}", "--filter", "example/hand"], "not a baseline"),
        (["baseline", "record", "--out", "{tmp}/x", "--filter", "nothing-matches"], "selects"),
        (["baseline", "record", "--out", "{tmp}/x", "--frameworks", "tensorflow"], "unknown"),
    ],
)
def test_usage_errors_are_one_line_exit_2(recorded, tmp_path, capsys, argv, message):
    (tmp_path / "something.txt").write_text("not a baseline")
    argv = [a.format(tmp=tmp_path, baseline=recorded) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["something.txt"]


def test_a_failed_record_leaves_the_old_baseline_and_no_temporary_folder(
    recorded, tmp_path, monkeypatch
):
    copy = _copy(recorded, tmp_path / "pinned")
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    calls = []

    def failing_run(self, framework):
        calls.append(self.name)
        if len(calls) == 2:
            raise RuntimeError("planted failure in the middle of recording")
        return {f"loss{SEP}loss": np.zeros(())}

    monkeypatch.setattr(Item, "run", failing_run)
    with pytest.raises(RuntimeError, match="planted"):
        record(copy, select(baseline.all_items(housing_epochs=0), FILTERS), ["numpy"])
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert _names(tmp_path) == ["pinned"]


def test_a_record_over_an_existing_baseline_replaces_it_whole(recorded, tmp_path):
    copy = _copy(recorded, tmp_path / "pinned")
    record(copy, select(baseline.all_items(housing_epochs=0), ["example/hand_2_1_1"]), ["numpy"])
    assert sorted(p.name for p in copy.iterdir()) == ["index.json", "numpy.npz"]
    assert list(json.loads((copy / "index.json").read_text())["items"]) == ["example/hand_2_1_1"]
    assert _names(tmp_path) == ["pinned"]
    assert oct(os.stat(copy).st_mode & 0o077) != "0o0"  # not left private like a temp folder


def test_filters_match_substrings_and_globs():
    items = baseline.all_items(housing_epochs=2)
    assert {i.name for i in select(items, ["housing"])} == {"housing/epochs2"}
    globbed = select(items, ["parity/tanh-*-adam_torch-float32"])
    assert len(globbed) == 8 and all(i.dtype == "float32" for i in globbed)
    with pytest.raises(BaselineError, match="selects nothing"):
        select(items, ["parity/tanh-*-nothing"])


def test_the_committed_baseline_is_a_valid_small_baseline():
    path = Path(__file__).resolve().parents[2] / "baselines" / "pinned"
    index = baseline.load_index(path)
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size < 5e6
    assert {"numpy", "torch", "keras"} <= set(index["frameworks"])
    kinds = {e["recipe"]["kind"] for e in index["items"].values()}
    assert kinds == {"parity", "example", "housing"}


def test_explain_locates_a_planted_change_in_the_framework(recorded, capsys, monkeypatch):
    scale_torch_module(monkeypatch, 3, "sigmoid", 1.001)  # layer 1's activation
    argv = ["baseline", "check", str(recorded), "--explain", "--filter", "tanh-mse-sgd-float64"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "CHANGED parity/tanh-mse-sgd-float64 [torch] forward|output" in out
    assert "CHANGED parity/tanh-mse-sgd-float64 [numpy]" not in out
    assert "first divergence at step 1, layer 1 (forward)" in out


def test_a_recording_for_this_platform_is_used_when_the_main_one_differs(
    recorded, tmp_path, capsys
):
    """Another CPU rounds some tensors differently (the main recording, here planted), and
    ``platforms/<label>`` holds this CPU's recording: the check uses it for the framework
    whose tensors it matches, and says so; a move against every recording still fails."""
    copy = _copy(recorded, tmp_path / "two")
    (copy / baseline.PLATFORMS).mkdir()
    here = _copy(recorded, copy / baseline.PLATFORMS / "this-cpu")
    key = f"parity/tanh-mse-sgd-float64{SEP}step_20{SEP}1.W"
    _plant_stored(copy, "torch", key, 1 + 1e-15)  # the "other CPU": a few ulps off
    result = check(copy)
    assert result.changes == [] and result.matched == {"numpy": "main", "torch": "this-cpu"}
    assert main(["baseline", "check", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "torch: bit-identical to platform 'this-cpu'" in out
    assert "no recording of this platform" not in out

    _plant_stored(here, "torch", key, 1 + 1e-6)  # and this CPU's own recording moved too
    result = check(copy, exact=True)
    assert [(c.framework, c.tensor) for c in result.changes] == [("torch", f"step_20{SEP}1.W")]


def test_a_platform_recording_of_other_items_is_refused(recorded, tmp_path):
    copy = _copy(recorded, tmp_path / "mixed")
    (copy / baseline.PLATFORMS).mkdir()
    other = copy / baseline.PLATFORMS / "other"
    record(other, select(baseline.all_items(housing_epochs=0), FILTERS[:1]), ["numpy"])
    with pytest.raises(BaselineError, match="records other items"):
        check(copy)


PLANT_TANH = """
import sys
from parity_tests.frameworks.torch import adapter as torch_mirror

original = torch_mirror.TorchModel.__init__

def init(self, spec, params):
    original(self, spec, params)
    torch = self.torch

    class Scaled(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x) * (1 + 1e-6)  # a framework upgrade, planted

    self.model[1] = Scaled()

torch_mirror.TorchModel.__init__ = init
from experiments.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_another_cpu_emulated_by_kernel_switches_passes_and_a_real_change_still_fails(
    recorded, tmp_path
):
    """The check in a fresh process whose libraries are capped to another CPU's kernels
    (``kernel_paths.PROFILES``): torch's bits move, the check passes and reports the drift as
    information; the same emulated CPU with a planted change of one part in a million fails."""
    from experiments.baseline.kernel_paths import run_profile

    other = run_profile(recorded, "sse4")
    assert other["returncode"] == 0, other["stdout"]
    moved = [f for f in other["figures"] if f["framework"] == "torch" and f["ulps"] > 0]
    assert moved, "the kernel switches changed no bit: this test no longer emulates a CPU"
    assert "tensors differ in their bits" in other["stdout"]
    assert "no recording of this platform" in other["stdout"]

    script = tmp_path / "planted.py"
    script.write_text(PLANT_TANH)
    planted = run_profile(recorded, "sse4", command=(sys.executable, str(script)))
    assert planted["returncode"] == 1
    failed = {(c["item"], c["framework"]) for c in planted["changes"]}
    assert ("parity/tanh-mse-sgd-float64", "torch") in failed
    assert "CHANGED parity/tanh-mse-sgd-float64 [torch] forward|output" in planted["stdout"]
