"""The California housing data and the published preprocessing ("the housing protocol").

Three things live here:

* :func:`load_california_housing` reads the data set from a local file or, failing that,
  through scikit-learn's downloader and cache, and derives the 8 features and the target
  exactly as ``sklearn.datasets.fetch_california_housing`` does (bit for bit).
* :func:`housing_protocol` is the preprocessing published with the ``housing_2_3_1`` example:
  MedInc, AveRooms and the target min-max scaled on all 20,640 rows, the first 10,000 rows,
  and ``train_test_split(test_size=0.33, random_state=42)``, re-implemented in NumPy with the
  same floating-point operations as scikit-learn so the arrays are identical.
* :func:`r2_score` and :func:`mean_squared_error`, the two metrics the example reports.

Only NumPy and the standard library are imported at module level; scikit-learn is imported
lazily, and only when no local file was given, so the library works without it.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reference_nn._checks import as_dtype

__all__ = [
    "ENV_VAR",
    "FEATURE_NAMES",
    "N_SAMPLES",
    "RAW_COLUMNS",
    "TARGET_NAME",
    "HousingData",
    "HousingDataError",
    "HousingDataNotFoundError",
    "HousingSplit",
    "housing_protocol",
    "load_california_housing",
    "mean_squared_error",
    "r2_score",
]

#: Environment variable naming a local copy of the data (used when no ``path`` is given).
ENV_VAR = "REFNN_HOUSING_DATA"

#: Rows in the complete data set; anything else is a truncated or different file.
N_SAMPLES = 20_640

#: Columns of the raw ``cal_housing.data`` file, in file order.
RAW_COLUMNS: tuple[str, ...] = (
    "longitude",
    "latitude",
    "housing_median_age",
    "total_rooms",
    "total_bedrooms",
    "population",
    "households",
    "median_income",
    "median_house_value",
)

#: The 8 derived features, in scikit-learn's order.
FEATURE_NAMES: tuple[str, ...] = (
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
)

#: scikit-learn's name for the target (median house value in units of 100,000 dollars).
TARGET_NAME = "MedHouseVal"

# The member scikit-learn reads from its cal_housing.tgz download.
_TGZ_MEMBER = "CaliforniaHousing/cal_housing.data"

# File names a user is likely to have; used to suggest a file when given a directory.
_KNOWN_FILE_NAMES = ("cal_housing.data.gz", "cal_housing.data", "cal_housing.tgz")

_HOW_TO_FIX = (
    f"pass --data PATH (or path=...) or set the environment variable {ENV_VAR} to a local copy "
    "of cal_housing.data, cal_housing.data.gz or scikit-learn's cal_housing.tgz"
)


class HousingDataError(ValueError):
    """The housing data could not be found, read or validated.

    The message always says what was expected, what was found and how to fix it.
    """


class HousingDataNotFoundError(HousingDataError, FileNotFoundError):
    """The data file does not exist (catchable as HousingDataError or FileNotFoundError)."""


@dataclass(frozen=True, eq=False)
class HousingData:
    """The California housing data set as scikit-learn presents it.

    ``features`` is (N, 8) float64 in the order of ``feature_names``; ``target`` is (N,)
    float64, the median house value in units of 100,000 dollars. The arrays are made
    read-only so that the frozen record really cannot change under its users.
    ``eq=False`` because comparing arrays with ``==`` has no single truth value.
    """

    features: NDArray[np.float64]
    target: NDArray[np.float64]
    feature_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.shape[1] != len(self.feature_names):
            raise HousingDataError(
                f"features must have shape (N, {len(self.feature_names)}), "
                f"got {self.features.shape}"
            )
        if self.target.shape != (self.features.shape[0],):
            raise HousingDataError(
                f"target must have shape ({self.features.shape[0]},), got {self.target.shape}"
            )
        self.features.setflags(write=False)
        self.target.setflags(write=False)


@dataclass(frozen=True, eq=False)
class HousingSplit:
    """The output of :func:`housing_protocol`.

    Targets are 2-D, shape (n, 1), as the networks expect. ``data_min`` and ``data_max`` are
    the min-max scaler's statistics for ``columns`` (the chosen features then the target),
    fitted on all rows; they are kept so the scaling can be documented and inverted.
    ``train_index`` and ``test_index`` are the row numbers (into the first ``n_rows`` rows)
    that went into each part.
    """

    X_train: NDArray[np.floating[Any]]
    X_test: NDArray[np.floating[Any]]
    y_train: NDArray[np.floating[Any]]
    y_test: NDArray[np.floating[Any]]
    data_min: NDArray[np.float64]
    data_max: NDArray[np.float64]
    columns: tuple[str, ...]
    train_index: NDArray[np.intp]
    test_index: NDArray[np.intp]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_california_housing(
    path: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    data_home: str | os.PathLike[str] | None = None,
) -> HousingData:
    """Load the California housing data set (20,640 rows, 8 features, 1 target).

    Where the data comes from, first match wins:

    1. ``path``, if given;
    2. the file named by the environment variable ``REFNN_HOUSING_DATA``, if set and non-empty;
    3. scikit-learn's ``fetch_california_housing(data_home=data_home,
       download_if_missing=download)``, which downloads once and then reads its cache.

    A local file may be the raw ``cal_housing.data`` (comma separated, 9 columns, optional
    header line), gzipped or not, or scikit-learn's ``cal_housing.tgz``; compression is
    detected from the file's content, not its name.

    Raises:
        HousingDataError: with a message saying what was tried and how to fix it.
    """
    if path is not None:
        return _load_local(path, how="path argument")
    env_value = os.environ.get(ENV_VAR, "").strip()
    if env_value:
        return _load_local(env_value, how=f"environment variable {ENV_VAR}")
    return _load_with_sklearn(download=download, data_home=data_home)


def _load_local(path: str | os.PathLike[str], *, how: str) -> HousingData:
    """Read, parse, validate and derive the features from one local file."""
    try:
        file_path = Path(os.fspath(path))
    except TypeError as exc:
        raise HousingDataError(
            f"the data path must be a str or os.PathLike, got {type(path).__name__}"
        ) from exc
    source = f"{file_path} (from the {how})"
    text = _read_text(file_path, source)
    raw = _parse_raw_table(text, source)
    features, target = _derive_like_sklearn(raw.values)
    _check_derived_finite(features, raw.line_numbers, source)
    return HousingData(features, target, FEATURE_NAMES, source)


def _read_text(file_path: Path, source: str) -> str:
    """Return the text of ``cal_housing.data`` from a plain, gzipped or tar(.gz) file."""
    if not file_path.exists():
        raise HousingDataNotFoundError(
            f"housing data file not found: {source}. Check the path, or {_HOW_TO_FIX}."
        )
    if file_path.is_dir():
        candidates = [name for name in _KNOWN_FILE_NAMES if (file_path / name).is_file()]
        hint = f" Did you mean {file_path / candidates[0]}?" if candidates else ""
        raise HousingDataError(f"{source} is a directory, expected the data file itself.{hint}")
    try:
        payload = file_path.read_bytes()
    except OSError as exc:
        raise HousingDataError(f"cannot read {source}: {exc}") from exc

    # Decide by magic bytes, not by extension: a renamed file must still work.
    if payload[:2] == b"\x1f\x8b":
        payload = _gunzip(payload, source)
    if payload[:4] == b"PK\x03\x04":
        raise HousingDataError(
            f"{source} is a zip archive, which is not supported (StatLib's houses.zip has a "
            f"different layout); {_HOW_TO_FIX}"
        )
    # A tar archive has "ustar" at offset 257 (POSIX and GNU formats alike).
    if payload[257:262] == b"ustar":
        payload = _extract_tar_member(payload, source)
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HousingDataError(
            f"{source} is not a text file (byte {exc.start} is not valid UTF-8); expected "
            "comma-separated numbers, a .gz of them or cal_housing.tgz"
        ) from exc


def _gunzip(payload: bytes, source: str) -> bytes:
    """Decompress gzip data, turning truncation and corruption into clear errors."""
    try:
        return gzip.decompress(payload)
    except EOFError as exc:
        raise HousingDataError(
            f"{source} is a truncated gzip file (the compressed stream ends early); "
            f"download or copy it again. ({exc})"
        ) from exc
    except (OSError, zlib.error) as exc:
        raise HousingDataError(f"{source} starts like gzip but is corrupt: {exc}") from exc


def _extract_tar_member(payload: bytes, source: str) -> bytes:
    """Return ``CaliforniaHousing/cal_housing.data`` from a tar archive held in memory."""
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as archive:
            members = {name.removeprefix("./"): name for name in archive.getnames()}
            if _TGZ_MEMBER not in members:
                shown = ", ".join(sorted(members)[:10]) or "(no members)"
                raise HousingDataError(
                    f"{source} is a tar archive without the member {_TGZ_MEMBER!r} that "
                    f"scikit-learn's cal_housing.tgz contains; found: {shown}. {_HOW_TO_FIX}"
                )
            member = archive.extractfile(members[_TGZ_MEMBER])
            if member is None:  # e.g. the name exists but is a directory
                raise HousingDataError(f"{_TGZ_MEMBER!r} in {source} is not a regular file")
            return member.read()
    except tarfile.TarError as exc:
        raise HousingDataError(f"{source} is a damaged tar archive: {exc}") from exc


@dataclass(frozen=True)
class _RawTable:
    """The 9 raw columns and, for error messages, the file line each row came from."""

    values: NDArray[np.float64]
    line_numbers: NDArray[np.intp]


def _parse_raw_table(text: str, source: str) -> _RawTable:
    """Parse ``cal_housing.data`` text into an (N, 9) float64 array, validating as we go.

    Python's ``float`` rounds correctly, as NumPy's ``loadtxt`` (which scikit-learn uses)
    does, so the values are the same; parsing line by line lets errors name the line.
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors add
    # Blank lines are skipped, as np.loadtxt skips them; line numbers count from 1.
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]
    if not lines:
        raise HousingDataError(
            f"{source} is empty (no data rows); expected {N_SAMPLES:,} rows of "
            f"{len(RAW_COLUMNS)} comma-separated numbers. {_HOW_TO_FIX}"
        )
    if _is_header(lines[0][1]):
        _check_header(lines[0], source)
        lines = lines[1:]
        if not lines:
            raise HousingDataError(f"{source} has a header line but no data rows (empty file)")

    last_number = lines[-1][0]
    cut_hint = (
        "; it is the last line, so the file looks cut off mid-row (truncated download or copy)"
    )
    rows: list[list[float]] = []
    first_problem: str | None = None
    n_bad = 0
    for number, line in lines:
        problem = None
        fields = line.split(",")
        if len(fields) != len(RAW_COLUMNS):
            problem = (
                f"line {number} has {len(fields)} comma-separated values, "
                f"expected {len(RAW_COLUMNS)} ({', '.join(RAW_COLUMNS)})"
            )
        else:
            try:
                rows.append([float(field) for field in fields])
            except ValueError:
                problem = _describe_non_numeric(number, fields)
        if problem is not None:
            n_bad += 1
            if first_problem is None:
                first_problem = problem + (cut_hint if number == last_number else "")
    if first_problem is not None:
        others = f" ({n_bad - 1:,} more line(s) have problems too)" if n_bad > 1 else ""
        raise HousingDataError(
            f"{source}: {first_problem}{others}. Use an intact copy: {_HOW_TO_FIX}."
        )

    values = np.array(rows, dtype=np.float64).reshape(-1, len(RAW_COLUMNS))
    line_numbers = np.array([number for number, _ in lines], dtype=np.intp)
    _check_row_count(values.shape[0], source)
    _check_raw_finite(values, line_numbers, source)
    return _RawTable(values, line_numbers)


def _is_header(line: str) -> bool:
    """A header is a first line in which no field is a number."""
    return not any(_is_number(field) for field in line.split(","))


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _check_header(numbered_line: tuple[int, str], source: str) -> None:
    """Refuse a header that names our columns in another order (that would mix them up)."""
    number, line = numbered_line
    names = tuple(name.strip().strip("\"'").lower() for name in line.split(","))
    if sorted(names) == sorted(RAW_COLUMNS) and names != RAW_COLUMNS:
        raise HousingDataError(
            f"{source}: the header on line {number} lists the columns in a different order "
            f"({', '.join(names)}); expected {', '.join(RAW_COLUMNS)}"
        )


def _describe_non_numeric(number: int, fields: list[str]) -> str:
    """Name the first field of a line that is not a number."""
    for column, field in zip(RAW_COLUMNS, fields, strict=True):
        if not _is_number(field):
            return f"line {number}, column {column!r}: {field.strip()!r} is not a number"
    return f"line {number} is not numeric"  # not reached: some field failed to parse


def _check_row_count(n_rows: int, source: str) -> None:
    if n_rows < N_SAMPLES:
        raise HousingDataError(
            f"{source} is truncated: found {n_rows:,} data rows, but the full California "
            f"housing file has {N_SAMPLES:,}. Download or copy it again, or {_HOW_TO_FIX}"
        )
    if n_rows > N_SAMPLES:
        raise HousingDataError(
            f"{source} has {n_rows:,} data rows, but the California housing file has exactly "
            f"{N_SAMPLES:,}; is this a different data set? {_HOW_TO_FIX}"
        )


def _check_raw_finite(
    values: NDArray[np.float64], line_numbers: NDArray[np.intp], source: str
) -> None:
    """NaN or inf parse fine with ``float`` ("nan", "inf") but are never valid here."""
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise HousingDataError(
            f"{source}: line {line_numbers[row]} (data row {row + 1}), column "
            f"{RAW_COLUMNS[column]!r} is {values[row, column]} ({int(bad.sum())} non-finite "
            "value(s) in total); every value must be a finite number"
        )


def _derive_like_sklearn(
    raw: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Derive the 8 features and the target with the exact operations scikit-learn uses.

    This mirrors ``sklearn/datasets/_california_housing.py`` statement by statement (column
    reordering, in-place divisions by households, target / 100000.0), so the results are
    bit-identical to ``fetch_california_housing``. Do not "simplify" it.
    """
    # sklearn's order: value, income, age, rooms, bedrooms, population, households, lat, lon.
    columns_index = [8, 7, 2, 3, 4, 5, 6, 1, 0]
    cal_housing = raw[:, columns_index]
    target, data = cal_housing[:, 0], cal_housing[:, 1:]
    # Zero households would warn here; _check_derived_finite reports it properly instead.
    with np.errstate(divide="ignore", invalid="ignore"):
        data[:, 2] /= data[:, 5]  # average rooms = total rooms / households
        data[:, 3] /= data[:, 5]  # average bedrooms = total bedrooms / households
        data[:, 5] = data[:, 4] / data[:, 5]  # average occupancy = population / households
    target = target / 100000.0  # in units of 100,000 dollars
    return np.ascontiguousarray(data), np.ascontiguousarray(target)


def _check_derived_finite(
    features: NDArray[np.float64], line_numbers: NDArray[np.intp], source: str
) -> None:
    """Zero households would make the averages infinite; say so instead of passing inf on."""
    bad_rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        raise HousingDataError(
            f"{source}: line {line_numbers[row]} (data row {row + 1}) gives non-finite "
            f"features {features[row].tolist()}; households must be non-zero"
        )


def _load_with_sklearn(*, download: bool, data_home: str | os.PathLike[str] | None) -> HousingData:
    """Fall back to scikit-learn's downloader/cache; any failure becomes a HousingDataError."""
    tried = f"no path was given and {ENV_VAR} is not set, so scikit-learn's loader was tried"
    try:
        from sklearn.datasets import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            fetch_california_housing,
        )
    except ImportError as exc:
        raise HousingDataError(
            f"{tried}, but scikit-learn is not installed ({exc}). Either install "
            f"scikit-learn (it downloads the data once and caches it) or {_HOW_TO_FIX}."
        ) from exc
    try:
        bunch = fetch_california_housing(data_home=data_home, download_if_missing=download)
    except Exception as exc:  # network, HTTP, disk and cache errors all end up here
        if download:
            cause = "the download failed (no internet access?)"
        else:
            cause = "the data is not in its cache and download=False"
        raise HousingDataError(
            f"{tried}: fetch_california_housing(data_home={data_home!r}, "
            f"download_if_missing={download}) failed: {type(exc).__name__}: {exc}. "
            f"Probably {cause}. To work offline, {_HOW_TO_FIX}."
        ) from exc
    source = f"scikit-learn fetch_california_housing (data_home={data_home!r})"
    features = np.array(bunch.data, dtype=np.float64)  # copies; float64 -> float64 is exact
    target = np.array(bunch.target, dtype=np.float64)
    _check_sklearn_arrays(features, target, source)
    return HousingData(features, target, FEATURE_NAMES, source)


def _check_sklearn_arrays(
    features: NDArray[np.float64], target: NDArray[np.float64], source: str
) -> None:
    """A stale or corrupted cache should fail here, not in the middle of training."""
    expected = ((N_SAMPLES, len(FEATURE_NAMES)), (N_SAMPLES,))
    if (features.shape, target.shape) != expected:
        raise HousingDataError(
            f"{source} returned data of shape {features.shape} and target {target.shape}, "
            f"expected {expected[0]} and {expected[1]}; clear scikit-learn's cache "
            f"(sklearn.datasets.clear_data_home) or {_HOW_TO_FIX}"
        )
    if not (np.isfinite(features).all() and np.isfinite(target).all()):
        raise HousingDataError(f"{source} returned NaN or infinite values; {_HOW_TO_FIX}")


# --------------------------------------------------------------------------------------------
# The published preprocessing
# --------------------------------------------------------------------------------------------


def housing_protocol(
    data: HousingData,
    *,
    n_rows: int = 10_000,
    test_size: float = 0.33,
    random_state: int = 42,
    columns: tuple[str, ...] = ("MedInc", "AveRooms"),
    dtype: Any = np.float64,
) -> HousingSplit:
    """Apply the published preprocessing of the ``housing_2_3_1`` example.

    Equivalent, bit for bit, to this scikit-learn code::

        table = np.column_stack([data.features[:, [MedInc, AveRooms]], data.target])
        scaled = MinMaxScaler().fit_transform(table)          # fitted on ALL rows
        X, y = scaled[:n_rows, :-1], scaled[:n_rows, -1:]
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state)

    Everything is computed in float64; ``dtype`` (float64 or float32) is applied at the end.
    """
    out_dtype = as_dtype(dtype)
    column_index = _column_indices(columns, data.feature_names)
    _check_n_rows(n_rows, data.features.shape[0])

    table = np.column_stack([data.features[:, column_index], data.target])
    scaled, data_min, data_max = _min_max_scale(table)
    X = scaled[:n_rows, :-1]
    y = scaled[:n_rows, -1:]  # keep 2-D: (n, 1)
    train_index, test_index = _shuffle_split_indices(n_rows, test_size, random_state)
    return HousingSplit(
        X_train=X[train_index].astype(out_dtype),
        X_test=X[test_index].astype(out_dtype),
        y_train=y[train_index].astype(out_dtype),
        y_test=y[test_index].astype(out_dtype),
        data_min=data_min,
        data_max=data_max,
        columns=(*columns, TARGET_NAME),
        train_index=train_index,
        test_index=test_index,
    )


def _column_indices(columns: tuple[str, ...], names: tuple[str, ...]) -> list[int]:
    if isinstance(columns, str):  # ("MedInc") without the comma is a classic slip
        raise HousingDataError(f"columns must be a tuple of names, got the string {columns!r}")
    unknown = [name for name in columns if name not in names]
    if unknown or not columns:
        raise HousingDataError(
            f"unknown or missing column(s) {unknown or list(columns)}; choose from {names}"
        )
    return [names.index(name) for name in columns]


def _check_n_rows(n_rows: int, available: int) -> None:
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)):
        raise HousingDataError(f"n_rows must be an int, got {type(n_rows).__name__}")
    if not 2 <= n_rows <= available:
        raise HousingDataError(f"n_rows must be between 2 and {available}, got {n_rows}")


def _min_max_scale(
    table: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Scale each column to [0, 1] with the arithmetic of sklearn's ``MinMaxScaler``.

    sklearn (preprocessing/_data.py) computes ``scale_ = (1 - 0) / data_range`` with
    near-constant ranges (< 10 * eps) replaced by 1, ``min_ = 0 - data_min * scale_`` and
    transforms with ``X *= scale_; X += min_``. Multiplying by the reciprocal is not the same
    as dividing by the range in floating point, so we copy these steps exactly.
    """
    data_min = np.nanmin(table, axis=0)
    data_max = np.nanmax(table, axis=0)
    data_range = data_max - data_min
    safe_range = data_range.copy()
    safe_range[data_range < 10 * np.finfo(data_range.dtype).eps] = 1.0
    scale = (1 - 0) / safe_range
    minimum = 0 - data_min * scale
    scaled = table * scale
    scaled += minimum
    return scaled, data_min, data_max


def _shuffle_split_indices(
    n_samples: int, test_size: float, random_state: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Train and test indices exactly as ``train_test_split`` (ShuffleSplit) draws them.

    sklearn: ``n_test = ceil(test_size * n)`` for a float (or ``test_size`` itself for an
    int), ``n_train = n - n_test``, ``perm = RandomState(random_state).permutation(n)``,
    test = ``perm[:n_test]``, train = ``perm[n_test:n_test + n_train]``.
    """
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.number)):
        raise HousingDataError(f"test_size must be a float or int, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        if not 1 <= test_size < n_samples:
            raise HousingDataError(f"an int test_size must be in [1, {n_samples}), got {test_size}")
        n_test = int(test_size)
    else:
        if not 0.0 < test_size < 1.0:
            raise HousingDataError(f"a float test_size must be in (0, 1), got {test_size}")
        n_test = math.ceil(test_size * n_samples)
    n_train = n_samples - n_test
    if n_train < 1:
        raise HousingDataError(
            f"test_size={test_size} with {n_samples} samples leaves no training samples"
        )
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise HousingDataError(f"random_state must be an int, got {random_state!r}")
    permutation = np.random.RandomState(random_state).permutation(n_samples)
    return permutation[n_test : n_test + n_train], permutation[:n_test]


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean of squared errors, as ``sklearn.metrics.mean_squared_error`` (single output).

    Accepts shapes (n,) or (n, 1), in any combination; both are treated as (n, 1), which
    rules out the classic (n,) - (n, 1) broadcast to (n, n).
    """
    true, pred = _regression_pair(y_true, y_pred, min_samples=1)
    return float(np.mean((true - pred) ** 2, axis=0)[0])


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination, as ``sklearn.metrics.r2_score`` (single output).

    ``1 - sum((y - y_hat)^2) / sum((y - mean(y))^2)``, with sklearn's conventions for the
    degenerate cases (``force_finite=True``): a perfect prediction scores 1.0, and an
    imperfect prediction of a constant target scores 0.0 instead of -inf. Unlike sklearn,
    fewer than two samples is an error rather than a warning and NaN.
    """
    true, pred = _regression_pair(y_true, y_pred, min_samples=2)
    numerator = np.sum((true - pred) ** 2, axis=0)[0]
    denominator = np.sum((true - np.mean(true, axis=0)) ** 2, axis=0)[0]
    if numerator == 0:
        return 1.0
    if denominator == 0:
        return 0.0
    return float(1 - numerator / denominator)


def _regression_pair(
    y_true: ArrayLike, y_pred: ArrayLike, *, min_samples: int
) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
    """Validate a target/prediction pair and return both as (n, 1) float columns."""
    true = _as_column(y_true, "y_true")
    pred = _as_column(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true has {true.shape[0]} samples but y_pred has {pred.shape[0]}; they must match"
        )
    if true.shape[0] < min_samples:
        raise ValueError(f"need at least {min_samples} sample(s), got {true.shape[0]}")
    # Like sklearn: keep the floating dtype the inputs share, float64 if none is floating.
    floating = [a.dtype for a in (true, pred) if a.dtype.kind == "f"]
    dtype = np.result_type(*floating) if floating else np.dtype(np.float64)
    true, pred = true.astype(dtype, copy=False), pred.astype(dtype, copy=False)
    for name, array in (("y_true", true), ("y_pred", pred)):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinity")
    return true, pred


def _as_column(values: ArrayLike, name: str) -> NDArray[Any]:
    array = np.asarray(values)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 1:
        return array.reshape(-1, 1)
    if array.ndim == 2 and array.shape[1] == 1:
        return array
    raise ValueError(f"{name} must have shape (n,) or (n, 1) (single output), got {array.shape}")
