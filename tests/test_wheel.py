"""``pip install reference-nn`` with no extras: every ``refnn`` command works, or refuses in one
line naming the extra to install, exit status 2, before any work.

The wheel is built from a copy of the sources (the work tree is left as it is) and installed
with NumPy alone into a fresh virtualenv, once per test session: pytest-xdist's workers share
it through a lock in the session's temporary folder.  Commands run from an empty folder with a
bare environment, so nothing of the checkout or of the test environment is importable.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "reference_nn", "parity_tests", "experiments")
EXTRAS = ("torch", "tensorflow", "keras", "jax", "optax", "matplotlib", "tqdm", "sklearn")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the venv layout and lock are POSIX")


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done


def _build(where: Path) -> Path:
    """The wheel built from a copy of the sources, installed with NumPy into a new venv;
    returns the venv's bin folder."""
    src = where / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    # without isolation when setuptools is here: no download of the build backend
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    wheels = where / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--no-deps", *isolation, "-q", "-w", str(wheels), str(src)])
    (wheel,) = wheels.glob("reference_nn-*.whl")
    venv = where / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    numpy = f"numpy=={np.__version__}"  # the one this session has: pip's cache has it
    install = ["install", "-q", "--no-compile", "--no-deps", numpy, str(wheel)]
    _run([*pip, "--python", str(python), *install])
    return venv / "bin"


@pytest.fixture(scope="session")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _build(tmp_path_factory.mktemp("wheel"))
    shared = tmp_path_factory.getbasetemp().parent / "refnn-wheel"  # this session's workers
    shared.mkdir(exist_ok=True)
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "bin"
        if not done.exists():
            done.symlink_to(_build(shared))
        return done.resolve()


@pytest.fixture
def refnn(venv_bin: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    env = {
        "PATH": f"{venv_bin}{os.pathsep}{os.defpath}",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
    }

    def call(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv_bin / "refnn"), *argv],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=600,
        )

    call.work = work  # type: ignore[attr-defined]
    return call


def test_the_venv_has_the_wheel_and_numpy_only(venv_bin):
    code = (
        "import importlib.util as u, experiments, reference_nn; "
        f"print(experiments.__file__); print([m for m in {EXTRAS!r} if u.find_spec(m)])"
    )
    where, present = _run([str(venv_bin / "python"), "-c", code], cwd="/").stdout.splitlines()
    assert "site-packages" in where and str(ROOT) not in where
    assert present == "[]"  # else the refusals below would not be tested


PINNED = str(ROOT / "baselines" / "pinned")

# argv, and None when it must work (exit 0) or the extras its one-line refusal must name
COMMANDS = [
    (["demo", "--epochs", "3"], None),
    (["examples"], None),
    (["examples", "run", "xor_3_4_1", "--frameworks", "numpy", "--steps", "20"], None),
    (["bench", "--frameworks", "numpy", "--epochs", "1", "--repeat", "1"], None),
    (["housing", "--frameworks", "numpy", "--epochs", "1", "--out", "h"], "experiments"),
    (["housing", "--out", "h"], "experiments,frameworks"),
    (["housing", "--seeds", "0..1", "--out", "h"], "experiments"),
    (["examples", "run", "xor_3_4_1"], "frameworks"),
    (["examples", "run", "digits_cnn", "--frameworks", "numpy"], "experiments"),
    (["parity-report", "--out", "p"], "experiments,frameworks"),
    (["bench"], "frameworks"),
    (["baseline", "check", PINNED], "experiments,frameworks"),
    (["baseline", "record", "--out", "b"], "experiments"),
    (["check-model", "model.keras"], "frameworks"),
    (["check-model", "mymodule:net"], "frameworks"),
]


@pytest.mark.parametrize(("argv", "extra"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_each_command_works_or_names_its_extra(refnn, argv, extra):
    done = refnn(*argv)
    assert "Traceback" not in done.stderr, done.stderr
    if extra is None:
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # refused before any work
    assert done.stderr.count("\n") == 1, done.stderr
    assert f'pip install "reference-nn[{extra}]"' in done.stderr
    assert list(refnn.work.iterdir()) == []  # nothing written


def test_help_of_the_command_and_of_every_subcommand(refnn):
    done = refnn("--help")
    assert done.returncode == 0 and "the worked examples of the published articles" in done.stdout
    commands = done.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert len(commands) >= 7
    for command in commands:
        sub = refnn(command, "--help")
        assert sub.returncode == 0 and sub.stdout.startswith("usage: refnn"), sub.stderr


def test_the_listing_marks_the_example_that_needs_an_extra(refnn):
    out = refnn("examples").stdout
    assert (
        "digits_cnn" in out and 'needs scikit-learn: pip install "reference-nn[experiments]"' in out
    )
    assert "xor_3_4_1" in out and "10000 step(s)" in out
