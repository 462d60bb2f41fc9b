"""refnn refuses bad input to examples, housing, demo, bench (and a missing extra for every
command) in one line on stderr, exit status 2, before any work: nothing on stdout, nothing
written.  Argparse's own errors (usage line + error) are tests/test_bad_input.py's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from experiments import extras
from experiments.cli import main

EX = ["examples", "run", "xor_3_4_1"]
H = ["housing", "--epochs", "1", "--jobs", "1", "--no-baseline"]

# (argv, a phrase the one line must hold); "{out}" is a folder that must not be created
BAD_INPUT = [
    # examples
    ([*EX, "--every", "-2"], "--every must be >= 0 (0: no loss lines), got -2"),
    ([*EX, "--steps", "-5"], "--steps must be >= 1, got -5"),
    ([*EX, "--steps", str(10**20), "--frameworks", "numpy"], "GiB, more than this machine"),
    ([*EX, "--frameworks", "numpy", "--keras-loop", "eager"], "--keras-loop eager is for Keras"),
    ([*EX, "--frameworks", ""], "(none given)"),
    ([*EX, "--frameworks", "numpy,numpy"], "named twice: numpy"),
    ([*EX, "--frameworks", "pytorch"], "unknown framework(s) pytorch"),
    (["examples", "run", "", "--frameworks", "numpy"], "unknown worked example ''"),
    (["examples", "run", "XOR_3_4_1", "--frameworks", "numpy"], "unknown worked example"),
    (["examples", "run", "housing_2_3_1", "--frameworks", "numpy"], "run it with refnn housing"),
    # housing: the seed study
    ([*H, "--frameworks", "torch", "--seeds", "0..1", "--out", "{out}"], "NumPy reference only"),
    ([*H, "--frameworks", "numpy,keras", "--seeds", "0..1", "--out", "{out}"], "drop --frameworks"),
    ([*H, "--seeds", "-3..2", "--out", "{out}"], "seeds are integers >= 0, written A..B"),
    ([*H, "--seeds", "0..-2", "--out", "{out}"], "seeds are integers >= 0"),
    ([*H, "--seeds=-1..4", "--out", "{out}"], "seeds are integers >= 0"),
    ([*H, "--seed", "3", "--seeds", "0..1", "--out", "{out}"], "--seed and --seeds exclude"),
    ([*H, "--seeds", "0..1", "--dtype", "float32", "--out", "{out}"], "float64 only"),
    ([*H, "--seeds", "3", "--out", "{out}"], "--seeds must look like A..B"),
    ([*H, "--seeds", f"0..{2**32}", "--out", "{out}"], "below 2**32"),
    # housing: other options
    ([*H, "--frameworks", "numpy", "--epochs", "-7", "--out", "{out}"], "--epochs must be >= 1"),
    ([*H, "--frameworks", "numpy", "--jobs", "-1", "--out", "{out}"], "--jobs must be >= 1"),
    ([*H, "--frameworks", "numpy", "--seed", "-9", "--out", "{out}"], "--seed must be >= 0"),
    ([*H, "--frameworks", "numpy,", "--as-published", "--dtype", "float32"], "float64 only"),
    # demo
    (["demo", "--epochs", "-1"], "--epochs must be >= 1, got -1"),
    (["demo", "--seed", "-5"], "--seed must be >= 0, got -5"),
    # bench
    (["bench", "--frameworks", "numpy", "--repeat", "-1"], "--repeat must be >= 1, got -1"),
    (["bench", "--frameworks", "numpy", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["bench", "--frameworks", "numpy", "--epochs", str(10**15)], "GiB, more than this machine"),
    (["bench", "--frameworks", "numpy", "--json", "{out}/b.json"], "cannot write in"),
    (["bench", "--frameworks", "numpy", "--json", " "], "must name a file"),
    # replacing it by a file at the end, as root, would have broken the machine's /dev/null
    (["bench", "--frameworks", "numpy", "--json", os.devnull], "is not a regular file"),
    (["bench", "--frameworks", "jax,jax"], "named twice: jax"),
]

# (argv, modules to pretend are not installed, phrase): the extra is named, before any work
MISSING_EXTRA = [
    (
        [*H, "--frameworks", "numpy", "--out", "{out}"],
        {"matplotlib"},
        '"reference-nn[experiments]"',
    ),
    ([*H, "--seeds", "0..1", "--out", "{out}"], {"matplotlib"}, "the seed study needs matplotlib"),
    (
        [*H, "--frameworks", "numpy", "--data", "sklearn", "--out", "{out}"],
        {"sklearn"},
        "needs scikit-learn",
    ),
    (
        [*H, "--frameworks", "numpy,torch", "--out", "{out}"],
        {"torch"},
        '"reference-nn[frameworks]"',
    ),
    (
        [*H, "--frameworks", "numpy,jax", "--out", "{out}"],
        {"jax", "matplotlib"},
        '"reference-nn[experiments,frameworks]"',
    ),
    ([*EX], {"torch", "keras"}, "(or run --frameworks numpy)"),
    ([*EX, "--frameworks", "keras-torch"], {"keras"}, "needs keras, which is not installed"),
    (["bench"], {"tensorflow"}, "needs tensorflow-cpu"),
    (["parity-report", "--out", "{out}"], {"matplotlib"}, "refnn parity-report needs matplotlib"),
    (["parity-report", "--out", "{out}"], {"optax"}, '"reference-nn[frameworks]"'),
    (["check-model", "{out}/model.keras"], {"keras"}, "refnn check-model needs keras"),
    (["check-model", "mymodel:net"], {"torch"}, "refnn check-model needs torch"),
    (
        ["baseline", "check", "{out}", "--frameworks", "numpy,torch"],
        {"torch"},
        "refnn baseline check needs torch",
    ),
]


def _run(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    out = tmp_path / "out"
    code = main([a.replace("{out}", str(out)) for a in argv])
    captured = capsys.readouterr()
    assert captured.out == "", "work began before the refusal"
    assert not out.exists(), "a refused run wrote its output folder"
    return code, captured.err


def _one_line(code: int, err: str, phrase: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("refnn"), err
    assert phrase in err, err


@pytest.mark.parametrize(("argv", "phrase"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(argv, phrase, tmp_path, capsys):
    _one_line(*_run(argv, tmp_path, capsys), phrase)


def test_there_are_thirty_distinct_bad_inputs():
    assert len({tuple(argv) for argv, _ in BAD_INPUT}) == len(BAD_INPUT) >= 30


@pytest.mark.parametrize(
    ("argv", "absent", "phrase"), MISSING_EXTRA, ids=[" ".join(a) for a, _, _ in MISSING_EXTRA]
)
def test_a_missing_extra_is_named_before_any_work(
    argv, absent, phrase, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(extras, "missing", lambda modules: [m for m in modules if m in absent])
    code, err = _run(argv, tmp_path, capsys)
    _one_line(code, err, phrase)
    assert "pip install" in err


def test_missing_asks_without_importing():
    assert extras.missing(["numpy", "refnn_no_such_module", "numpy"]) == ["refnn_no_such_module"]
    assert extras.refusal("x", ["numpy"]) is None  # negative control: present means no refusal
    line = extras.refusal("x", ["refnn_no_such_module"])
    assert line == "x needs refnn_no_such_module, which is not installed: pip install " \
        "refnn_no_such_module"  # fmt: skip
    assert extras.install_hint(["torch", "sklearn", "keras"]) == (
        'pip install "reference-nn[experiments,frameworks]"'
    )


def test_framework_modules_follow_the_keras_backend(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert extras.framework_modules(["numpy", "keras"]) == ["keras", "jax", "optax"]
    monkeypatch.delenv("KERAS_BACKEND")
    assert extras.framework_modules(["keras", "torch"]) == ["keras", "tensorflow", "torch"]
    assert extras.framework_modules(["numpy"]) == []


def test_the_every_option_zero_means_no_loss_lines(capsys):
    # 0 is documented (no loss lines), so it runs; the lines are there with 1
    argv = ["examples", "run", "logistic_l2_4_layer", "--frameworks", "numpy", "--steps", "3"]
    assert main([*argv, "--every", "0"]) == 0
    assert "loss after update k" not in capsys.readouterr().out
    assert main([*argv, "--every", "1"]) == 0
    assert "loss after update k" in capsys.readouterr().out


def test_a_shortened_run_does_not_compare_the_published_figures(capsys):
    assert main([*EX, "--frameworks", "numpy", "--steps", "5", "--as-published"]) == 0
    out = capsys.readouterr().out
    assert "published figures: not compared (the source's are after 10,000 step(s); this run " \
        "took 5)" in out  # fmt: skip
    assert "after 4 updates" in out and "are after 10,000 iterations: not compared" in out
    assert "MISMATCH" not in out and "9,999" not in out.split("cause:")[0]
    # the full-length run still compares them (hand_2_1_1: one step, as published)
    assert main(["examples", "run", "hand_2_1_1", "--frameworks", "numpy"]) == 0
    assert "output error term: published 0.12183: numpy ok" in capsys.readouterr().out
