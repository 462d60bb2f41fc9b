"""The refnn command line: every subcommand parses, bad input gets a clear message."""

import pytest

from experiments.cli import build_parser, main


def test_subcommands_and_housing_options():
    parser = build_parser()
    args = parser.parse_args(
        [
            "housing",
            "--epochs",
            "3",
            "--frameworks",
            "numpy",
            "--jobs",
            "1",
            "--dtype",
            "float32",
            "--order",
            "shuffled",
            "--seed",
            "4",
            "--data",
            "x.gz",
            "--out",
            "o",
            "--no-baseline",
        ]
    )
    assert (args.epochs, args.jobs, args.dtype, args.order, args.seed) == (
        3,
        1,
        "float32",
        "shuffled",
        4,
    )
    assert parser.parse_args(["parity-report", "--random", "0"]).random == 0
    assert parser.parse_args(["demo"]).epochs == 200


def test_housing_refuses_unknown_frameworks(capsys):
    assert main(["housing", "--frameworks", "numpy,tensorflow"]) == 2
    err = capsys.readouterr().err
    assert "unknown framework(s) tensorflow" in err and "valid: numpy, torch, keras" in err


def test_housing_missing_data_file_is_a_clear_error(capsys, tmp_path):
    code = main(["housing", "--frameworks", "numpy", "--data", str(tmp_path / "nope.gz")])
    assert code == 2
    assert "nope.gz" in capsys.readouterr().err


def test_housing_numpy_only_writes_the_report(housing_data_file, tmp_path, capsys):
    code = main(
        [
            "housing",
            "--frameworks",
            "numpy",
            "--epochs",
            "2",
            "--jobs",
            "1",
            "--data",
            str(housing_data_file),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "numpy: test MSE" in out
    assert {p.name for p in tmp_path.iterdir()} == {"results.json", "summary.md", "housing.png"}


def test_demo_runs(capsys):
    assert main(["demo", "--epochs", "5"]) == 0
    assert "worst relative error" in capsys.readouterr().out


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "housing" in out and "parity-report" in out and "demo" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "no-such-case"], "selects no case"),
        (["--random", "-1"], "--random must be >= 0"),
    ],
)
def test_parity_report_refuses_an_empty_selection(tmp_path, capsys, args, message):
    out = tmp_path / "report"
    assert main(["parity-report", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()  # nothing written, an earlier report is not overwritten


def test_help_says_what_the_worked_examples_are(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "the worked examples of the published articles this project reproduces" in out
    assert "docs/worked_examples.md" in out and "seed articles" not in out


def test_a_closed_pipe_ends_the_command_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes a byte: EPIPE, always
    try:
        done = subprocess.run(
            [sys.executable, "-m", "experiments.cli", "examples"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 1
    assert done.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
