"""The pytest plugin: a user's suite gets the ``assert_parity`` fixture (entry point ``pytest11``
in pyproject.toml), which passes a faithful model and fails a planted difference with the
report and the first divergence."""

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USER_TESTS = """
import torch

from parity_tests.cases.matrix import matrix_case


def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


def test_my_model(assert_parity):
    assert_parity(net())


def test_a_parity_case(assert_parity):
    assert_parity(matrix_case("tanh", "mse", "sgd", "float64"), "torch")


def test_a_wrong_port(assert_parity):
    port = net()
    with torch.no_grad():
        port[2].weight[0, 1] *= 1.001
    assert_parity(net(), port)
"""


def test_the_entry_point_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {
        "refnn_parity": "parity_tests.tools.plugin"
    }
    from parity_tests.tools import plugin

    assert callable(plugin.assert_parity)


def test_a_user_suite_gets_the_fixture(tmp_path):
    if not os.environ.get("REFNN_REQUIRE_FRAMEWORKS"):
        pytest.importorskip("torch")
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    installed = any(
        ep.name == "refnn_parity" for ep in importlib.metadata.entry_points(group="pytest11")
    )
    load = [] if installed else ["-p", "parity_tests.tools.plugin"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *load, "test_user.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout
    assert "2 passed, 1 failed" in out or "1 failed, 2 passed" in out, out[-3000:]
    assert "FAILED test_user.py::test_a_wrong_port" in out
    assert "other 1 (torch) vs the NumPy reference: DIFFERS" in out
    assert "first divergence at step 1, layer 1 (forward)" in out
