"""The housing data shipped with the project: its integrity, and that it is the default source.

Nothing here downloads anything: scikit-learn's downloader is replaced by a stand-in that
fails the test if it is called.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from experiments.housing.dataset import (
    ENV_VAR,
    SHIPPED_FILE,
    SHIPPED_SHA256,
    HousingDataError,
    HousingDataNotFoundError,
    load_california_housing,
)
from experiments.housing.dataset import shipped as shipped_copy
from experiments.housing.protocol import make_problem

ROOT = Path(__file__).resolve().parent.parent
README = SHIPPED_FILE.parent / "README.md"
SHARED_COPY = ROOT.parent / "shared" / "data" / "cal_housing.data.gz"


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    """A REFNN_HOUSING_DATA in the developer's shell must not change what is tested."""
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def no_sklearn_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call of scikit-learn's downloader fails the test (stand-in module either way)."""

    def forbidden(**kwargs: Any) -> Any:
        raise AssertionError("scikit-learn's downloader must not be called")

    package = types.ModuleType("sklearn")
    datasets = types.ModuleType("sklearn.datasets")
    datasets.fetch_california_housing = forbidden  # type: ignore[attr-defined]
    package.datasets = datasets  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sklearn", package)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", datasets)


@pytest.fixture
def fresh_reference() -> Any:
    """Clear the cached shipped arrays around a test that moves or alters the shipped file."""
    shipped_copy.shipped_arrays.cache_clear()
    yield
    shipped_copy.shipped_arrays.cache_clear()


# --------------------------------------------------------------------------------------------
# Integrity
# --------------------------------------------------------------------------------------------


def test_shipped_copy_matches_the_readme_checksum(housing_data_file: Path) -> None:
    # Exactly one checksum in the README, so the comparison cannot pass against nothing.
    published = re.findall(r"\b[0-9a-f]{64}\b", README.read_text(encoding="utf-8"))
    assert len(published) == 1
    text = gzip.decompress(housing_data_file.read_bytes())
    assert hashlib.sha256(text).hexdigest() == published[0] == SHIPPED_SHA256
    # Negative control: one changed byte gives another checksum.
    assert hashlib.sha256(text.replace(b"8.325200", b"8.325300", 1)).hexdigest() != published[0]


@pytest.mark.skipif(not SHARED_COPY.is_file(), reason=f"no {SHARED_COPY} beside the repository")
def test_shipped_copy_is_byte_identical_to_the_shared_copy(housing_data_file: Path) -> None:
    assert housing_data_file.read_bytes() == SHARED_COPY.read_bytes()


def test_fixture_returns_the_shipped_copy(housing_data_file: Path) -> None:
    assert housing_data_file == SHIPPED_FILE
    assert housing_data_file.is_relative_to(ROOT)  # in the project, not ../shared


def test_package_data_declares_the_shipped_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = config["tool"]["setuptools"]["package-data"]["experiments.housing"]
    assert "data/cal_housing.data.gz" in declared
    package_dir = ROOT / "experiments" / "housing"
    for pattern in declared:
        assert list(package_dir.glob(pattern)), pattern  # every entry names a real file


# --------------------------------------------------------------------------------------------
# The default source
# --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_sklearn_download")
def test_default_source_is_the_shipped_copy(housing_data_file: Path) -> None:
    default = load_california_housing()
    explicit = load_california_housing(housing_data_file)
    assert "copy shipped with the project" in default.source
    assert str(SHIPPED_FILE) in default.source
    assert default.note is None
    assert np.array_equal(default.features, explicit.features)
    assert np.array_equal(default.target, explicit.target)


@pytest.mark.usefixtures("no_sklearn_download", "housing_data_file")
def test_make_problem_defaults_to_the_shipped_copy() -> None:
    problem = make_problem(epochs=1)
    assert "copy shipped with the project" in problem.source
    assert problem.note is None
    assert problem.split.X_train.shape == (6700, 2)


@pytest.mark.usefixtures("housing_data_file")
def test_default_works_offline_from_another_directory(tmp_path: Path) -> None:
    # No scikit-learn, no ../shared, another working directory: the shipped copy suffices.
    code = textwrap.dedent(
        """
        import sys
        sys.modules["sklearn"] = None  # importing scikit-learn would fail
        from experiments.housing.dataset import load_california_housing
        data = load_california_housing()
        print(data.features.shape, data.note, data.source)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(ENV_VAR, None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("(20640, 8) None ")
    assert "copy shipped with the project" in result.stdout


def test_modified_shipped_copy_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, housing_data_file: Path, fresh_reference: Any
) -> None:
    text = gzip.decompress(housing_data_file.read_bytes()).replace(b"8.325200", b"8.325300", 1)
    altered = tmp_path / "cal_housing.data.gz"
    altered.write_bytes(gzip.compress(text))
    monkeypatch.setattr(shipped_copy, "SHIPPED_FILE", altered)
    with pytest.raises(HousingDataError, match="modified or damaged") as excinfo:
        load_california_housing()
    assert SHIPPED_SHA256 in str(excinfo.value)
    # Negative control: the intact copy at the same place loads.
    altered.write_bytes(housing_data_file.read_bytes())
    assert load_california_housing().note is None


def test_missing_shipped_copy_says_the_project_is_incomplete(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_reference: Any
) -> None:
    monkeypatch.setattr(shipped_copy, "SHIPPED_FILE", tmp_path / "gone.data.gz")
    with pytest.raises(HousingDataNotFoundError, match="incomplete") as excinfo:
        load_california_housing()
    message = str(excinfo.value)
    assert "--data PATH" in message and ENV_VAR in message and "sklearn" in message


# --------------------------------------------------------------------------------------------
# The root conftest's fixture: skip without the file, fail with REFNN_REQUIRE_DATA=1
# --------------------------------------------------------------------------------------------


def run_fixture_in_isolation(tmp_path: Path, shipped: Path, require: str | None) -> str:
    """Run the root conftest's fixture in a separate pytest with SHIPPED_FILE = ``shipped``.

    A throw-away ``experiments.housing.dataset`` defines only SHIPPED_FILE; the real conftest
    is copied unchanged.
    """
    package = tmp_path / "experiments" / "housing"
    package.mkdir(parents=True)
    (tmp_path / "experiments" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "dataset.py").write_text(
        f"from pathlib import Path\nSHIPPED_FILE = Path({str(shipped)!r})\n"
    )
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text(encoding="utf-8"))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_uses_data.py").write_text(
        "def test_uses_data(housing_data_file):\n    assert housing_data_file.is_file()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "REFNN_REQUIRE_DATA"}
    env.pop("PYTHONPATH", None)
    if require is not None:
        env["REFNN_REQUIRE_DATA"] = require
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("exists", "require", "outcome"),
    [
        (False, None, "1 skipped"),
        (False, "1", "1 error"),
        (True, "1", "1 passed"),  # control: the fixture is not failing for another reason
    ],
)
def test_fixture_skips_or_fails_without_the_file(
    tmp_path: Path, housing_data_file: Path, exists: bool, require: str | None, outcome: str
) -> None:
    shipped = housing_data_file if exists else tmp_path / "absent" / "cal_housing.data.gz"
    output = run_fixture_in_isolation(tmp_path / "project", shipped, require)
    assert outcome in output, output
    if not exists:
        assert str(shipped) in output  # the message names where it looked
    if outcome == "1 error":  # a fixture that fails is reported as an error
        assert "REFNN_REQUIRE_DATA=1 requires it" in output
