"""Tests for the housing loader (experiments.housing.dataset), the published preprocessing
(experiments.housing.protocol) and the metrics (reference_nn.metrics).

The data tests use the copy shipped with the project (experiments/housing/data), through the
root conftest's ``housing_data_file``: without it they are skipped, unless
REFNN_REQUIRE_DATA=1 (as on CI), in which case a missing file is a failure. Nothing here
downloads anything: scikit-learn's downloader is always replaced by a stand-in. The loader's
hardening (layouts, content checks, comparison with the shipped copy, messages) is tested in
tests/test_housing_data_*.py.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import sys
import tarfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from experiments.housing.dataset import (
    ENV_VAR,
    FEATURE_NAMES,
    N_SAMPLES,
    HousingData,
    HousingDataError,
    HousingDataNotFoundError,
    load_california_housing,
)
from experiments.housing.protocol import housing_protocol
from reference_nn._checks import DTypeError
from reference_nn.metrics import mean_squared_error, r2_score

README_SHA256 = "a2b44dcc7e1c9091b43c4f458b25cbd1f7e8068d08edd26bc4703108d3fa6214"
RAW_HEADER = (
    "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,"
    "population,households,median_income,median_house_value"
)


def _sklearn_importable() -> bool:
    try:
        import sklearn  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


HAVE_SKLEARN = _sklearn_importable()
needs_sklearn = pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_file(housing_data_file: Path) -> Path:
    """The shipped data file (the root conftest skips, or fails on CI, when it is absent)."""
    return housing_data_file


@pytest.fixture(scope="module")
def raw_text(shared_file: Path) -> str:
    """The decompressed text of cal_housing.data."""
    return gzip.decompress(shared_file.read_bytes()).decode("ascii")


@pytest.fixture(scope="module")
def housing(shared_file: Path) -> HousingData:
    return load_california_housing(shared_file)


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    """A REFNN_HOUSING_DATA in the developer's shell must not change what is tested."""
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture
def patch_fetch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[..., Any]], None]]:
    """Replace sklearn.datasets.fetch_california_housing (never download in tests).

    With scikit-learn installed its attribute is patched; without it a stand-in
    ``sklearn.datasets`` module is installed, so the test runs either way.
    """

    def install(fake: Callable[..., Any]) -> None:
        if HAVE_SKLEARN:
            import sklearn.datasets  # type: ignore[import-untyped,import-not-found,unused-ignore]

            monkeypatch.setattr(sklearn.datasets, "fetch_california_housing", fake)
        else:
            package = types.ModuleType("sklearn")
            datasets = types.ModuleType("sklearn.datasets")
            datasets.fetch_california_housing = fake  # type: ignore[attr-defined]
            package.datasets = datasets  # type: ignore[attr-defined]
            monkeypatch.setitem(sys.modules, "sklearn", package)
            monkeypatch.setitem(sys.modules, "sklearn.datasets", datasets)

    yield install


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="ascii", newline="")
    return path


def sklearn_derivation(raw: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[Any]]:
    """scikit-learn's documented derivation, copied from its fetch_california_housing."""
    cal_housing = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
    target, data = cal_housing[:, 0], cal_housing[:, 1:]
    data[:, 2] /= data[:, 5]
    data[:, 3] /= data[:, 5]
    data[:, 5] = data[:, 4] / data[:, 5]
    return data, target / 100000.0


# --------------------------------------------------------------------------------------------
# The shared file and the loader's output
# --------------------------------------------------------------------------------------------


def test_shared_file_matches_readme_checksum(raw_text: str) -> None:
    assert hashlib.sha256(raw_text.encode("ascii")).hexdigest() == README_SHA256


def test_shape_and_published_first_row(housing: HousingData) -> None:
    assert housing.features.shape == (20640, 8)
    assert housing.target.shape == (20640,)
    assert housing.features.dtype == housing.target.dtype == np.float64
    assert housing.feature_names == FEATURE_NAMES
    first = dict(zip(housing.feature_names, housing.features[0], strict=True))
    assert first["MedInc"] == 8.3252
    assert first["AveRooms"] == pytest.approx(6.984126984, abs=1e-9)
    assert first["AveRooms"] == 880.0 / 126.0
    assert housing.target[0] == 4.526
    assert "cal_housing.data.gz" in housing.source


def test_arrays_are_read_only(housing: HousingData) -> None:
    with pytest.raises(ValueError, match="read-only"):
        housing.features[0, 0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        housing.target[0] = 0.0


def test_features_bit_identical_to_sklearn_derivation(
    shared_file: Path, housing: HousingData
) -> None:
    # Expected values come from np.loadtxt (what sklearn parses with) and sklearn's own
    # statements, not from our loader.
    with gzip.open(shared_file, "rb") as handle:
        raw = np.loadtxt(handle, delimiter=",")
    data, target = sklearn_derivation(raw)
    assert np.array_equal(housing.features, data)
    assert np.array_equal(housing.target, target)


@needs_sklearn
def test_protocol_bit_identical_to_sklearn(housing: HousingData) -> None:
    from sklearn.model_selection import (  # type: ignore[import-untyped,unused-ignore]
        train_test_split,
    )
    from sklearn.preprocessing import MinMaxScaler  # type: ignore[import-untyped,unused-ignore]

    medinc, averooms = FEATURE_NAMES.index("MedInc"), FEATURE_NAMES.index("AveRooms")
    table = np.column_stack([housing.features[:, [medinc, averooms]], housing.target])
    scaler = MinMaxScaler()
    scaled = scaler.fit_transform(table)
    expected = train_test_split(
        scaled[:10_000, :2], scaled[:10_000, 2:], test_size=0.33, random_state=42
    )
    split = housing_protocol(housing)
    actual = [split.X_train, split.X_test, split.y_train, split.y_test]
    names = ["X_train", "X_test", "y_train", "y_test"]
    for name, want, got in zip(names, expected, actual, strict=True):
        assert got.shape == want.shape, name
        assert np.array_equal(got, want), name
    assert np.array_equal(split.data_min, scaler.data_min_)
    assert np.array_equal(split.data_max, scaler.data_max_)


# --------------------------------------------------------------------------------------------
# File formats
# --------------------------------------------------------------------------------------------


def make_plain(tmp: Path, text: str) -> Path:
    return write_text(tmp / "cal_housing.data", text)


def make_gz(tmp: Path, text: str) -> Path:
    path = tmp / "copy.data.gz"
    path.write_bytes(gzip.compress(text.encode("ascii")))
    return path


def make_gz_without_extension(tmp: Path, text: str) -> Path:
    # gzip must be recognised by its magic bytes, not the file name.
    path = tmp / "housing.txt"
    path.write_bytes(gzip.compress(text.encode("ascii")))
    return path


def make_with_header(tmp: Path, text: str) -> Path:
    return write_text(tmp / "with_header.csv", RAW_HEADER + "\n" + text)


def make_crlf(tmp: Path, text: str) -> Path:
    return write_text(tmp / "windows.data", text.replace("\n", "\r\n"))


def make_tgz(tmp: Path, text: str) -> Path:
    return build_tgz(tmp / "cal_housing.tgz", "CaliforniaHousing/cal_housing.data", text)


def build_tgz(path: Path, member: str, text: str) -> Path:
    payload = text.encode("ascii")
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


@pytest.mark.parametrize(
    "make",
    [make_plain, make_gz, make_gz_without_extension, make_with_header, make_crlf, make_tgz],
)
def test_every_format_gives_identical_arrays(
    make: Callable[[Path, str], Path], tmp_path: Path, raw_text: str, housing: HousingData
) -> None:
    loaded = load_california_housing(make(tmp_path, raw_text))
    assert np.array_equal(loaded.features, housing.features)
    assert np.array_equal(loaded.target, housing.target)


# --------------------------------------------------------------------------------------------
# Where the data comes from
# --------------------------------------------------------------------------------------------


def test_env_var_is_used_when_no_path(
    monkeypatch: pytest.MonkeyPatch, shared_file: Path, housing: HousingData
) -> None:
    monkeypatch.setenv(ENV_VAR, str(shared_file))
    loaded = load_california_housing()
    assert np.array_equal(loaded.features, housing.features)
    assert ENV_VAR in loaded.source


def test_explicit_path_wins_over_env_var(
    monkeypatch: pytest.MonkeyPatch, shared_file: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "does-not-exist.data"))
    loaded = load_california_housing(shared_file)
    assert "path argument" in loaded.source


def test_env_var_pointing_nowhere_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.data.gz"))
    with pytest.raises(HousingDataError, match=ENV_VAR):
        load_california_housing()


def test_sklearn_failure_explains_the_offline_fix(
    patch_fetch: Callable[[Callable[..., Any]], None],
) -> None:
    def no_internet(**kwargs: Any) -> Any:
        raise OSError("[Errno -3] Temporary failure in name resolution")

    patch_fetch(no_internet)
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing("sklearn")
    message = str(excinfo.value)
    assert ENV_VAR in message
    assert "--data" in message
    assert "name resolution" in message  # the original cause is kept
    assert "fetch_california_housing" in message


def test_missing_sklearn_explains_the_offline_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail, as if scikit-learn were absent.
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(HousingDataError, match="not installed") as excinfo:
        load_california_housing("sklearn")
    assert ENV_VAR in str(excinfo.value) and "--data" in str(excinfo.value)


def test_sklearn_is_used_when_asked_by_name(
    patch_fetch: Callable[[Callable[..., Any]], None], tmp_path: Path, housing: HousingData
) -> None:
    # The stand-in returns the real values (in fresh, writeable arrays): the loader checks
    # the ranges and compares with the shipped copy, which random numbers would not pass.
    fake_data = np.array(housing.features)
    fake_target = np.array(housing.target)
    calls: list[dict[str, Any]] = []

    def fake_fetch(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return types.SimpleNamespace(data=fake_data, target=fake_target)

    patch_fetch(fake_fetch)
    loaded = load_california_housing("sklearn", download=False, data_home=tmp_path)
    assert calls == [{"data_home": tmp_path, "download_if_missing": False}]
    assert np.array_equal(loaded.features, fake_data)
    assert np.array_equal(loaded.target, fake_target)
    assert "scikit-learn" in loaded.source
    assert loaded.features is not fake_data  # a copy: read-only flags must not leak back
    assert fake_data.flags.writeable
    assert loaded.note is None  # the same values as the shipped copy


def test_sklearn_result_with_wrong_shape_is_rejected(
    patch_fetch: Callable[[Callable[..., Any]], None],
) -> None:
    patch_fetch(lambda **kwargs: types.SimpleNamespace(data=np.zeros((5, 8)), target=np.zeros(5)))
    with pytest.raises(HousingDataError, match="shape"):
        load_california_housing("sklearn")


# --------------------------------------------------------------------------------------------
# Broken files
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.data.gz"
    with pytest.raises(HousingDataError, match="not found") as excinfo:
        load_california_housing(path)
    assert isinstance(excinfo.value, FileNotFoundError)
    assert isinstance(excinfo.value, HousingDataNotFoundError)
    assert str(path) in str(excinfo.value)
    assert ENV_VAR in str(excinfo.value)


def test_directory_suggests_the_file(tmp_path: Path) -> None:
    write_text(tmp_path / "cal_housing.data", "1\n")
    with pytest.raises(HousingDataError, match=r"directory.*cal_housing\.data"):
        load_california_housing(tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n", RAW_HEADER + "\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    with pytest.raises(HousingDataError, match="empty"):
        load_california_housing(write_text(tmp_path / "empty.data", content))


def test_truncated_file_says_how_many_rows(tmp_path: Path, raw_text: str) -> None:
    first_100 = "".join(raw_text.splitlines(keepends=True)[:100])
    with pytest.raises(HousingDataError, match="truncated") as excinfo:
        load_california_housing(write_text(tmp_path / "short.data", first_100))
    assert "found 100 data rows" in str(excinfo.value)
    assert "20,640" in str(excinfo.value)


def test_last_line_cut_mid_row(tmp_path: Path, raw_text: str) -> None:
    cut = raw_text[: len(raw_text) - 40]  # ends in the middle of the last row
    with pytest.raises(HousingDataError, match="cut off") as excinfo:
        load_california_housing(write_text(tmp_path / "cut.data", cut))
    assert f"line {N_SAMPLES}" in str(excinfo.value)


def test_truncated_gzip_stream(tmp_path: Path, shared_file: Path) -> None:
    path = tmp_path / "cut.data.gz"
    path.write_bytes(shared_file.read_bytes()[:50_000])
    with pytest.raises(HousingDataError, match="truncated gzip"):
        load_california_housing(path)


def test_wrong_column_count_names_the_line(tmp_path: Path, raw_text: str) -> None:
    eight_columns = "\n".join(line.rsplit(",", 1)[0] for line in raw_text.splitlines()) + "\n"
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing(write_text(tmp_path / "eight.data", eight_columns))
    message = str(excinfo.value)
    assert "line 1 has 8" in message and "expected 9" in message


def replace_field(raw_text: str, line: int, column: int, value: str) -> str:
    """Return the text with one field (1-based line, 0-based column) replaced."""
    lines = raw_text.splitlines()
    fields = lines[line - 1].split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("abc", ["line 1234", "total_rooms", "'abc'", "not a number"]),
        ("nan", ["line 1234", "total_rooms", "nan", "finite"]),
        ("inf", ["line 1234", "total_rooms", "inf", "finite"]),
        ("-inf", ["line 1234", "total_rooms", "-inf", "finite"]),
        ("", ["line 1234", "total_rooms", "not a number"]),
    ],
)
def test_bad_value_names_line_and_column(
    tmp_path: Path, raw_text: str, value: str, words: list[str]
) -> None:
    text = replace_field(raw_text, line=1234, column=3, value=value)
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing(write_text(tmp_path / "bad.data", text))
    for word in words:
        assert word in str(excinfo.value)


def test_zero_households_is_rejected(tmp_path: Path, raw_text: str) -> None:
    text = replace_field(raw_text, line=7, column=6, value="0")
    with pytest.raises(HousingDataError, match=r"line 7 .*households"):
        load_california_housing(write_text(tmp_path / "zero.data", text))


def test_header_naming_columns_the_data_does_not_hold_is_rejected(
    tmp_path: Path, raw_text: str
) -> None:
    # Headers are now mapped by name (any order; see test_housing_data_layouts.py), so a
    # header whose names are on the wrong columns is caught by the content checks.
    names = RAW_HEADER.split(",")
    swapped = ",".join([names[1], names[0], *names[2:]])
    with pytest.raises(HousingDataError, match=r"'longitude' is 37\.88, outside"):
        load_california_housing(write_text(tmp_path / "h.csv", swapped + "\n" + raw_text))


def test_tgz_without_expected_member(tmp_path: Path, raw_text: str) -> None:
    path = build_tgz(tmp_path / "cal_housing.tgz", "other/cal_housing.data", raw_text)
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing(path)
    message = str(excinfo.value)
    assert "CaliforniaHousing/cal_housing.data" in message
    assert "other/cal_housing.data" in message  # says what it found instead


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "binary.data"
    path.write_bytes(b"\xff\xfe\x00\x01" * 10)
    with pytest.raises(HousingDataError, match="not a text file"):
        load_california_housing(path)


# --------------------------------------------------------------------------------------------
# The protocol
# --------------------------------------------------------------------------------------------


def test_protocol_shapes_and_dtype(housing: HousingData) -> None:
    split = housing_protocol(housing)
    assert split.X_train.shape == (6700, 2)
    assert split.X_test.shape == (3300, 2)
    assert split.y_train.shape == (6700, 1)
    assert split.y_test.shape == (3300, 1)
    for array in (split.X_train, split.X_test, split.y_train, split.y_test):
        assert array.dtype == np.float64
    assert split.columns == ("MedInc", "AveRooms", "MedHouseVal")
    assert split.data_min.shape == split.data_max.shape == (3,)
    # The indices partition the first 10,000 rows.
    both = np.concatenate([split.train_index, split.test_index])
    assert np.array_equal(np.sort(both), np.arange(10_000))


def test_protocol_split_follows_shuffle_split_recipe(housing: HousingData) -> None:
    split = housing_protocol(housing)
    permutation = np.random.RandomState(42).permutation(10_000)
    n_test = math.ceil(0.33 * 10_000)
    assert np.array_equal(split.test_index, permutation[:n_test])
    assert np.array_equal(split.train_index, permutation[n_test:])


def test_full_scaled_set_spans_exactly_zero_to_one(housing: HousingData) -> None:
    # With every row kept, train + test is the whole scaled table.
    split = housing_protocol(housing, n_rows=N_SAMPLES)
    table = np.vstack(
        [np.hstack([split.X_train, split.y_train]), np.hstack([split.X_test, split.y_test])]
    )
    assert table.shape == (N_SAMPLES, 3)
    assert np.all((table >= 0.0) & (table <= 1.0))
    assert np.array_equal(table.min(axis=0), np.zeros(3))
    # Not exactly 1: MinMaxScaler multiplies by the reciprocal of the range (we copy it), and
    # for AveRooms max * (1 / range) - min / range lands one ulp below 1.0.
    np.testing.assert_array_max_ulp(table.max(axis=0), np.ones(3), maxulp=2)


def test_protocol_float32(housing: HousingData) -> None:
    split64 = housing_protocol(housing)
    split32 = housing_protocol(housing, dtype="float32")
    for a32, a64 in zip(
        (split32.X_train, split32.X_test, split32.y_train, split32.y_test),
        (split64.X_train, split64.X_test, split64.y_train, split64.y_test),
        strict=True,
    ):
        assert a32.dtype == np.float32
        assert np.array_equal(a32, a64.astype(np.float32))  # computed in float64, cast last


@pytest.mark.parametrize("dtype", [np.float16, np.int64, "complex128", "nonsense"])
def test_protocol_rejects_other_dtypes(housing: HousingData, dtype: Any) -> None:
    with pytest.raises(DTypeError, match="float32"):
        housing_protocol(housing, dtype=dtype)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"columns": ("MedInc", "Nope")},
        {"columns": "MedInc"},
        {"n_rows": 1},
        {"n_rows": N_SAMPLES + 1},
        {"test_size": 1.5},
        {"test_size": 0.0},
        {"random_state": None},
    ],
)
def test_protocol_rejects_bad_arguments(housing: HousingData, kwargs: dict[str, Any]) -> None:
    with pytest.raises(HousingDataError):
        housing_protocol(housing, **kwargs)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def test_metrics_hand_computed() -> None:
    y_true = [3.0, -0.5, 2.0, 7.0]
    y_pred = [2.5, 0.0, 2.0, 8.0]
    # errors 0.5, -0.5, 0, -1 -> squares 0.25, 0.25, 0, 1 -> sum 1.5
    assert mean_squared_error(y_true, y_pred) == pytest.approx(1.5 / 4)
    # mean 2.875; sum of squared deviations 29.1875
    assert r2_score(y_true, y_pred) == pytest.approx(1 - 1.5 / 29.1875)


def test_metrics_accept_column_vectors_without_broadcasting() -> None:
    y_true = np.array([1.0, 2.0, 3.0])
    y_pred = np.array([[1.0], [2.0], [4.0]])
    assert mean_squared_error(y_true, y_pred) == pytest.approx(1 / 3)
    assert r2_score(y_true.reshape(-1, 1), y_pred) == pytest.approx(1 - 1 / 2)


def test_r2_degenerate_cases_follow_sklearn() -> None:
    assert r2_score([1.0, 2.0], [1.0, 2.0]) == 1.0  # perfect
    assert r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0  # perfect on a constant target
    assert r2_score([2.0, 2.0], [1.0, 3.0]) == 0.0  # constant target, imperfect: 0, not -inf


@pytest.mark.parametrize(
    ("y_true", "y_pred", "error"),
    [
        (np.zeros(3), np.zeros(4), ValueError),
        (np.zeros((3, 2)), np.zeros((3, 2)), ValueError),
        (np.zeros((3, 1, 1)), np.zeros(3), ValueError),
        (np.array([1.0, np.nan]), np.zeros(2), ValueError),
        (np.array(["a", "b"]), np.zeros(2), TypeError),
    ],
)
def test_metrics_shape_and_value_checks(y_true: Any, y_pred: Any, error: type) -> None:
    with pytest.raises(error):
        mean_squared_error(y_true, y_pred)
    with pytest.raises(error):
        r2_score(y_true, y_pred)


def test_r2_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        r2_score([1.0], [1.0])


@needs_sklearn
@pytest.mark.parametrize("shape", [(50,), (50, 1)])
def test_metrics_equal_sklearn(shape: tuple[int, ...]) -> None:
    from sklearn import metrics  # type: ignore[import-untyped,unused-ignore]

    rng = np.random.default_rng(3)
    dtypes: list[type[np.floating[Any]]] = [np.float64, np.float32]
    for dtype in dtypes:
        y_true: NDArray[np.floating[Any]] = rng.normal(size=shape).astype(dtype)
        noise: NDArray[np.floating[Any]] = rng.normal(scale=0.3, size=shape).astype(dtype)
        y_pred = y_true + noise
        assert mean_squared_error(y_true, y_pred) == metrics.mean_squared_error(y_true, y_pred)
        assert r2_score(y_true, y_pred) == metrics.r2_score(y_true, y_pred)
