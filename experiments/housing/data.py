"""The California housing data: where it comes from, how it is read and how it is checked.

:func:`load_california_housing` returns the 8 features and the target exactly as
``sklearn.datasets.fetch_california_housing`` does (bit for bit). By default it reads the copy
shipped with the project, ``experiments/housing/data/cal_housing.data.gz`` (see the README
there), so nothing is downloaded and no file outside the project is needed.

A file is only accepted when it is plausibly *this* data set, in *this* order:

* a header, if any, must be one of the two known layouts (StatLib's raw column names or
  scikit-learn's frame), in any column order; columns are mapped by name;
* every column must lie in the range the real data occupies (a headerless file with two
  columns swapped fails here, naming the column);
* the data is compared with the shipped copy: identical values are silent, the same rows in
  another order are refused (the protocol takes the first 10,000 rows, so order matters), and
  anything else is used with a :class:`HousingDataWarning` and :attr:`HousingData.note`.

Only NumPy and the standard library are imported at module level; scikit-learn is imported
lazily, and only when its downloader is asked for by name.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import tarfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ENV_VAR",
    "FEATURE_NAMES",
    "N_SAMPLES",
    "RAW_COLUMNS",
    "SHIPPED_FILE",
    "SHIPPED_SHA256",
    "SKLEARN_COLUMNS",
    "SKLEARN_SOURCE",
    "TARGET_NAME",
    "HousingData",
    "HousingDataError",
    "HousingDataNotFoundError",
    "HousingDataWarning",
    "load_california_housing",
]

#: Environment variable naming a local copy of the data (used when no ``path`` is given).
ENV_VAR = "REFNN_HOUSING_DATA"

#: The ``path`` (or value of ``REFNN_HOUSING_DATA``) that asks for scikit-learn's downloader.
SKLEARN_SOURCE = "sklearn"

#: The copy of StatLib's ``cal_housing.data`` shipped with the project (gzipped text).
SHIPPED_FILE = Path(__file__).resolve().parent / "data" / "cal_housing.data.gz"

#: sha256 of the shipped copy's uncompressed text (also in data/README.md).
SHIPPED_SHA256 = "a2b44dcc7e1c9091b43c4f458b25cbd1f7e8068d08edd26bc4703108d3fa6214"

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

#: The columns of scikit-learn's frame (``fetch_california_housing(as_frame=True).frame``).
SKLEARN_COLUMNS: tuple[str, ...] = (*FEATURE_NAMES, TARGET_NAME)

# The member scikit-learn reads from its cal_housing.tgz download.
_TGZ_MEMBER = "CaliforniaHousing/cal_housing.data"

# File names a user is likely to have; used to suggest a file when given a directory.
_KNOWN_FILE_NAMES = ("cal_housing.data.gz", "cal_housing.data", "cal_housing.tgz")

# How the shipped copy is named in sources and messages.
_SHIPPED_HOW = "copy shipped with the project"

# What a user can do instead; used at the end of most messages.
_ALTERNATIVES = (
    f"leave out --data and {ENV_VAR} to use the copy shipped with the project, point --data "
    f"PATH (or {ENV_VAR}) at an intact copy of cal_housing.data, cal_housing.data.gz or "
    f"scikit-learn's cal_housing.tgz, or use --data {SKLEARN_SOURCE} for scikit-learn's "
    "downloader"
)


class HousingDataError(ValueError):
    """The housing data could not be found, read or validated.

    The message is one line: what was expected, what was found and what to do.
    """


class HousingDataNotFoundError(HousingDataError, FileNotFoundError):
    """The data file does not exist (catchable as HousingDataError or FileNotFoundError)."""


class HousingDataWarning(UserWarning):
    """The data passed every check but is not the copy shipped with the project."""


@dataclass(frozen=True, eq=False)
class HousingData:
    """The California housing data set as scikit-learn presents it.

    ``features`` is (N, 8) float64 in the order of ``feature_names``; ``target`` is (N,)
    float64, the median house value in units of 100,000 dollars. The arrays are made
    read-only so that the frozen record really cannot change under its users.
    ``eq=False`` because comparing arrays with ``==`` has no single truth value.
    ``note`` is None for data identical to the shipped copy, else says how it differs (the
    same text is also issued as a :class:`HousingDataWarning`).
    """

    features: NDArray[np.float64]
    target: NDArray[np.float64]
    feature_names: tuple[str, ...]
    source: str
    note: str | None = None

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


# --------------------------------------------------------------------------------------------
# Where the data comes from
# --------------------------------------------------------------------------------------------


def load_california_housing(
    path: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    data_home: str | os.PathLike[str] | None = None,
) -> HousingData:
    """Load the California housing data set (20,640 rows, 8 features, 1 target).

    Where the data comes from, first match wins:

    1. ``path`` (``--data PATH`` on the command line), if given;
    2. the file named by the environment variable ``REFNN_HOUSING_DATA``, if set (set but
       blank is an error, not "unset");
    3. the copy shipped with the project, :data:`SHIPPED_FILE` (offline, always there).

    scikit-learn's downloader and cache are used only when asked for by name: ``path`` (or
    ``REFNN_HOUSING_DATA``) equal to the string ``"sklearn"``. Then
    ``fetch_california_housing(data_home=data_home, download_if_missing=download)`` is called,
    which downloads once and then reads its cache; ``download`` and ``data_home`` are used
    only for this source. (A file literally named ``sklearn`` can be given as ``./sklearn``.)

    A local file may be:

    * the raw ``cal_housing.data``: comma separated, StatLib's 9 columns; without a header
      the columns must be in StatLib's order (:data:`RAW_COLUMNS`), with a header they may
      be in any order and are mapped by name;
    * scikit-learn's frame as CSV: a header with :data:`SKLEARN_COLUMNS` in any order; the
      8 features are already derived and are used as they are;
    * either of those gzipped, or scikit-learn's ``cal_housing.tgz``; compression is detected
      from the file's content, not its name.

    Every source is checked (row count, finite values, per-column plausible ranges) and
    compared with the shipped copy; see the module docstring for what each outcome means.

    Raises:
        HousingDataError: one line saying what was found and what to do.
    """
    if path is not None:
        if isinstance(path, str) and path.strip() == SKLEARN_SOURCE:
            return _finish(
                _load_with_sklearn(download=download, data_home=data_home, how="path argument")
            )
        if isinstance(path, str) and not path.strip():
            raise HousingDataError(
                f"the data path is blank ({path!r}); give a file, or {_ALTERNATIVES}"
            )
        return _finish(_load_local(path, how="path argument"))
    env_value = os.environ.get(ENV_VAR)
    if env_value is not None:
        if not env_value.strip():
            raise HousingDataError(
                f"the environment variable {ENV_VAR} is set but blank ({env_value!r}); unset "
                f"it to use the copy shipped with the project, or set it to a data file or to "
                f"{SKLEARN_SOURCE!r}"
            )
        if env_value.strip() == SKLEARN_SOURCE:
            return _finish(
                _load_with_sklearn(
                    download=download, data_home=data_home, how=f"{ENV_VAR}={SKLEARN_SOURCE}"
                )
            )
        return _finish(_load_local(env_value.strip(), how=f"environment variable {ENV_VAR}"))
    return _finish(_load_local(SHIPPED_FILE, how=_SHIPPED_HOW))


def _finish(data: HousingData) -> HousingData:
    """Issue the note, if any, as a warning (stderr by default), then return the data."""
    if data.note is not None:
        warnings.warn(data.note, HousingDataWarning, stacklevel=3)
    return data


def _load_local(path: str | os.PathLike[str], *, how: str) -> HousingData:
    """Read, parse, check and derive the features from one local file."""
    try:
        file_path = Path(os.fspath(path))
    except TypeError as exc:
        raise HousingDataError(
            f"the data path must be a str or os.PathLike, got {type(path).__name__}"
        ) from exc
    source = f"{file_path} (from the {how})"
    _check_exists(file_path, how)
    text = _read_text(file_path, source)
    sha256 = _sha256(text)
    if how == _SHIPPED_HOW:
        _check_shipped_checksum(sha256)
    features, target = _parse(text, source)
    note = None if sha256 == SHIPPED_SHA256 else _compare_with_shipped(features, target, source)
    if note is not None:
        source += f"; a different copy (text sha256 {sha256[:16]}...)"
    return HousingData(features, target, FEATURE_NAMES, source, note)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_shipped_checksum(sha256: str) -> None:
    """The shipped copy is the reference everything is compared with: it must be intact."""
    if sha256 != SHIPPED_SHA256:
        raise HousingDataError(
            f"the copy shipped with the project, {SHIPPED_FILE}, has been modified or damaged "
            f"(sha256 of its text {sha256}, expected {SHIPPED_SHA256}); restore it (git "
            f"checkout -- {SHIPPED_FILE.name} in its folder, or reinstall), or pass --data PATH"
        )


def _check_exists(file_path: Path, how: str) -> None:
    """A missing file gets a message fitted to where its name came from."""
    if file_path.exists():
        return
    if how == "path argument":
        fix = (
            f"Check the path, or leave it out to use the copy shipped with the project (or "
            f"{ENV_VAR} if set), or give {SKLEARN_SOURCE!r} for scikit-learn's downloader"
        )
    elif how.startswith("environment variable"):
        fix = (
            f"Correct {ENV_VAR}, or unset it to use the copy shipped with the project, or "
            f"pass --data PATH"
        )
    else:
        fix = (
            "The project is incomplete (checkout or install without package data?): restore "
            f"experiments/housing/data/, or pass --data PATH or set {ENV_VAR} to a copy, or "
            f"use --data {SKLEARN_SOURCE}"
        )
    raise HousingDataNotFoundError(
        f"housing data file not found: {file_path} (from the {how}) does not exist. {fix}."
    )


def _read_text(file_path: Path, source: str) -> str:
    """Return the text of ``cal_housing.data`` from a plain, gzipped or tar(.gz) file."""
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
            f"different layout); {_ALTERNATIVES}"
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
                    f"scikit-learn's cal_housing.tgz contains; found: {shown}. {_ALTERNATIVES}"
                )
            member = archive.extractfile(members[_TGZ_MEMBER])
            if member is None:  # e.g. the name exists but is a directory
                raise HousingDataError(f"{_TGZ_MEMBER!r} in {source} is not a regular file")
            return member.read()
    except tarfile.TarError as exc:
        raise HousingDataError(f"{source} is a damaged tar archive: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Parsing: separator, header (layout), rows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """Parsed values in the canonical column order of their layout.

    ``columns`` is :data:`RAW_COLUMNS` or :data:`SKLEARN_COLUMNS`; ``line_numbers`` gives,
    for error messages, the file line each row came from (None: not from a file).
    """

    values: NDArray[np.float64]
    columns: tuple[str, ...]
    line_numbers: NDArray[np.intp] | None
    headerless: bool


def _parse(text: str, source: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Parse, check and derive: text in, (features, target) as scikit-learn gives them out."""
    table = _parse_table(text, source)
    _check_content(table, source)
    if table.columns == SKLEARN_COLUMNS:
        # scikit-learn's frame: the features are already derived; use them as they are.
        features = np.ascontiguousarray(table.values[:, : len(FEATURE_NAMES)])
        target = np.ascontiguousarray(table.values[:, len(FEATURE_NAMES)])
        return features, target
    features, target = _derive_like_sklearn(table.values)
    _check_derived_finite(features, table, source)
    return features, target


def _parse_table(text: str, source: str) -> _Table:
    """Parse CSV text into an (N, 9) float64 array in its layout's order, checking as we go.

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
            f"{len(RAW_COLUMNS)} comma-separated numbers. {_ALTERNATIVES}"
        )
    for number, line in lines[:2]:  # the header (if any) and the first data row
        _check_separator(number, line, source)

    headerless = not _is_header(lines[0][1])
    if headerless:
        columns, file_names = RAW_COLUMNS, RAW_COLUMNS
    else:
        columns, file_names = _read_header(lines[0], source)
        lines = lines[1:]
        if not lines:
            raise HousingDataError(f"{source} has a header line but no data rows (empty file)")

    values, line_numbers = _parse_rows(lines, file_names, source)
    _check_row_count(values.shape[0], source)
    _check_finite(values, line_numbers, file_names, source)
    # Columns by name: permute the file's order into the layout's canonical order.
    order = [file_names.index(name) for name in columns]
    values = np.ascontiguousarray(values[:, order])
    return _Table(values, columns, line_numbers, headerless)


def _check_separator(number: int, line: str, source: str) -> None:
    """Refuse another separator at once, before it can pass for a header or a cut-off row."""
    for separator, shown in ((";", "';'"), ("\t", "tabs ('\\t')"), ("|", "'|'")):
        if separator in line:
            raise HousingDataError(
                f"{source} uses {shown} as separator (line {number}); expected ','. Save it "
                f"as comma-separated values (CSV with ',' and '.' as decimal point)"
            )
    if "," not in line and len(line.split()) > 1:
        raise HousingDataError(
            f"{source} uses spaces as separator (line {number}); expected ','. Save it as "
            "comma-separated values"
        )


def _is_header(line: str) -> bool:
    """A header is a first line in which no field is a number."""
    return not any(_is_number(field) for field in line.split(","))


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _read_header(
    numbered_line: tuple[int, str], source: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Recognise a known layout by its header; return (canonical columns, file's columns).

    Names are compared without case, spaces or quotes; any column order is accepted, since
    the columns are then mapped by name. Anything else is refused rather than guessed.
    """
    number, line = numbered_line
    found = [name.strip().strip("\"'").strip() for name in line.split(",")]
    keys = [name.lower() for name in found]
    for layout in (RAW_COLUMNS, SKLEARN_COLUMNS):
        by_key = {name.lower(): name for name in layout}
        if sorted(keys) == sorted(by_key):
            return layout, tuple(by_key[key] for key in keys)
    hint = ""
    if found and found[0] == "":
        hint = " (the first column has no name: a pandas index? export with index=False)"
    raise HousingDataError(
        f"{source}: unknown header on line {number} ({','.join(found)}){hint}; expected "
        f"StatLib's columns ({','.join(RAW_COLUMNS)}) or scikit-learn's frame "
        f"({','.join(SKLEARN_COLUMNS)}), in any order, or no header (StatLib's order)"
    )


def _parse_rows(
    lines: list[tuple[int, str]], names: tuple[str, ...], source: str
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Parse each line into len(names) floats; report the first bad line (and how many)."""
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
        if len(fields) != len(names):
            problem = (
                f"line {number} has {len(fields)} comma-separated values, "
                f"expected {len(names)} ({', '.join(names)})"
            )
        else:
            try:
                rows.append([float(field) for field in fields])
            except ValueError:
                problem = _describe_non_numeric(number, fields, names)
        if problem is not None:
            n_bad += 1
            if first_problem is None:
                first_problem = problem + (cut_hint if number == last_number else "")
    if first_problem is not None:
        others = f" ({n_bad - 1:,} more line(s) have problems too)" if n_bad > 1 else ""
        raise HousingDataError(
            f"{source}: {first_problem}{others}. Use an intact copy: {_ALTERNATIVES}."
        )
    values = np.array(rows, dtype=np.float64).reshape(-1, len(names))
    line_numbers = np.array([number for number, _ in lines], dtype=np.intp)
    return values, line_numbers


def _describe_non_numeric(number: int, fields: list[str], names: tuple[str, ...]) -> str:
    """Name the first field of a line that is not a number."""
    for column, field in zip(names, fields, strict=True):
        if not _is_number(field):
            return f"line {number}, column {column!r}: {field.strip()!r} is not a number"
    return f"line {number} is not numeric"  # not reached: some field failed to parse


def _check_row_count(n_rows: int, source: str) -> None:
    if n_rows < N_SAMPLES:
        raise HousingDataError(
            f"{source} is truncated: found {n_rows:,} data rows, but the full California "
            f"housing file has {N_SAMPLES:,}. Download or copy it again, or {_ALTERNATIVES}"
        )
    if n_rows > N_SAMPLES:
        raise HousingDataError(
            f"{source} has {n_rows:,} data rows, but the California housing file has exactly "
            f"{N_SAMPLES:,}; is this a different data set? {_ALTERNATIVES}"
        )


def _where(row: int, line_numbers: NDArray[np.intp] | None) -> str:
    """'line 7 (data row 7)' for a file, 'data row 7' otherwise (rows count from 1)."""
    if line_numbers is None:
        return f"data row {row + 1}"
    return f"line {line_numbers[row]} (data row {row + 1})"


def _check_finite(
    values: NDArray[np.float64],
    line_numbers: NDArray[np.intp] | None,
    names: tuple[str, ...],
    source: str,
) -> None:
    """NaN or inf parse fine with ``float`` ("nan", "inf") but are never valid here."""
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise HousingDataError(
            f"{source}: {_where(row, line_numbers)}, column {names[column]!r} is "
            f"{values[row, column]} ({int(bad.sum())} non-finite value(s) in total); every "
            "value must be a finite number"
        )


# --------------------------------------------------------------------------------------------
# Content: plausible ranges, measured on the real data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Range:
    """``low <= x <= high`` (``low < x`` when ``low_open``); ``whole``: x is an integer."""

    low: float
    high: float = math.inf
    low_open: bool = False
    whole: bool = False

    def contains(self, x: NDArray[np.float64]) -> NDArray[np.bool_]:
        above = x > self.low if self.low_open else x >= self.low
        inside = above & (x <= self.high)
        return inside & (x == np.round(x)) if self.whole else inside

    def __str__(self) -> str:
        if math.isinf(self.high):
            text = f"> {self.low:g}" if self.low_open else f">= {self.low:g}"
        else:
            text = f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return f"{text}, whole numbers" if self.whole else text


_COUNT = _Range(0, low_open=True, whole=True)  # a positive whole number

# Measured on the shipped copy: longitude [-124.35, -114.31], latitude [32.54, 41.95], age
# 1..52 (52 is a cap), total_rooms 2..39,320, total_bedrooms 1..6,445, population 3..35,682,
# households 1..6,082 (all whole numbers), median_income [0.4999, 15.0001] (capped),
# median_house_value [14,999, 500,001] (censored at both ends). The bounds below are the
# rounded-out envelope: any real copy passes, and swapped columns fall outside.
_RAW_RANGES: dict[str, _Range] = {
    "longitude": _Range(-125.0, -114.0),
    "latitude": _Range(32.0, 42.0),
    "housing_median_age": _Range(1.0, 52.0, whole=True),
    "total_rooms": _COUNT,
    "total_bedrooms": _COUNT,
    "population": _COUNT,
    "households": _COUNT,
    "median_income": _Range(0.0, 16.0, low_open=True),
    "median_house_value": _Range(14999.0, 500001.0),
}

# The same bounds, carried through scikit-learn's derivation (averages per household are
# positive; the target is the value / 100,000).
_SKLEARN_RANGES: dict[str, _Range] = {
    "MedInc": _RAW_RANGES["median_income"],
    "HouseAge": _RAW_RANGES["housing_median_age"],
    "AveRooms": _Range(0.0, low_open=True),
    "AveBedrms": _Range(0.0, low_open=True),
    "Population": _COUNT,
    "AveOccup": _Range(0.0, low_open=True),
    "Latitude": _RAW_RANGES["latitude"],
    "Longitude": _RAW_RANGES["longitude"],
    "MedHouseVal": _Range(0.14999, 5.00001),
}


# Orderings between count columns: (smaller, larger, rows of the shipped copy in which
# smaller > larger). Bedrooms are rooms, so total_bedrooms > total_rooms in no row;
# households > population in 3 rows and households > total_rooms in 2 (of 20,640). These
# catch what the ranges cannot, two count columns swapped: a swap breaks one of them in
# nearly every row. An ordering broken in no real row must hold everywhere; the others may
# break in up to 1% of the rows, far above the real 0.015% and far below a swap's ~100%.
_RAW_ORDERINGS: tuple[tuple[str, str, int], ...] = (
    ("total_bedrooms", "total_rooms", 0),
    ("households", "population", 3),
    ("households", "total_rooms", 2),
)
# The same in scikit-learn's derived features (all three are per household).
_SKLEARN_ORDERINGS: tuple[tuple[str, str, int], ...] = (("AveBedrms", "AveRooms", 0),)
_ORDERING_ALLOWANCE = 0.01


def _check_content(table: _Table, source: str) -> None:
    """Every column in its plausible range, and the count columns in their usual order.

    Raises a one-line HousingDataError naming the first offending column and row.
    """
    raw = table.columns == RAW_COLUMNS
    ranges = _RAW_RANGES if raw else _SKLEARN_RANGES
    orderings = _RAW_ORDERINGS if raw else _SKLEARN_ORDERINGS
    order_hint = (
        f"; without a header the columns must be in StatLib's order ({','.join(RAW_COLUMNS)}):"
        " are two columns swapped, or is this another data set?"
        if table.headerless
        else "; are the header's names on the wrong columns, or is this another data set?"
    )
    for column, name in enumerate(table.columns):
        allowed = ranges[name]
        values = table.values[:, column]
        bad = np.flatnonzero(~allowed.contains(values))
        if bad.size:
            row = int(bad[0])
            raise HousingDataError(
                f"{source}: {_where(row, table.line_numbers)}, column {name!r} is "
                f"{values[row]:g}, outside its plausible range {allowed} ({bad.size:,} of "
                f"{len(values):,} rows are outside){order_hint}"
            )
    for smaller, larger, measured in orderings:
        broken = np.flatnonzero(
            table.values[:, table.columns.index(smaller)]
            > table.values[:, table.columns.index(larger)]
        )
        tolerated = 0.0 if measured == 0 else _ORDERING_ALLOWANCE * len(table.values)
        if broken.size > tolerated:
            row = int(broken[0])
            raise HousingDataError(
                f"{source}: column {smaller!r} is greater than column {larger!r} in "
                f"{broken.size:,} row(s) (the first: {_where(row, table.line_numbers)}); in "
                f"the real data in {measured} of {N_SAMPLES:,} rows{order_hint}"
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


def _check_derived_finite(features: NDArray[np.float64], table: _Table, source: str) -> None:
    """Zero households would make the averages infinite; say so instead of passing inf on.

    The range check already refuses zero households; this is the last line of defence.
    """
    bad_rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        raise HousingDataError(
            f"{source}: {_where(row, table.line_numbers)} gives non-finite features "
            f"{features[row].tolist()}; households must be non-zero"
        )


# --------------------------------------------------------------------------------------------
# Comparison with the shipped copy
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _shipped_arrays() -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The shipped copy's features and target (read-only), or None when it is missing."""
    if not SHIPPED_FILE.is_file():
        return None
    source = f"{SHIPPED_FILE} (from the {_SHIPPED_HOW})"
    text = _read_text(SHIPPED_FILE, source)
    _check_shipped_checksum(_sha256(text))
    features, target = _parse(text, source)
    features.setflags(write=False)
    target.setflags(write=False)
    return features, target


def _compare_with_shipped(
    features: NDArray[np.float64], target: NDArray[np.float64], source: str
) -> str | None:
    """None if the values equal the shipped copy's; a note if they differ; refuse a reorder.

    Compared are the derived features and target, so a copy that differs only in its text
    (line endings, a header, a column order, number formatting, compression) is silent.
    """
    reference = _shipped_arrays()
    if reference is None:
        return (
            f"{source} was not compared with the copy shipped with the project, which is "
            f"missing ({SHIPPED_FILE})"
        )
    ours = np.column_stack([features, target])
    theirs = np.column_stack(reference)
    if np.array_equal(ours, theirs):
        return None
    differs = np.flatnonzero((ours != theirs).any(axis=1))
    if np.array_equal(_sorted_rows(ours), _sorted_rows(theirs)):
        raise HousingDataError(
            f"{source} is a reordered copy: it has the same {N_SAMPLES:,} rows as the copy "
            f"shipped with the project but in another order ({differs.size:,} rows moved, the "
            f"first is data row {differs[0] + 1}); the protocol takes the first 10,000 rows, "
            "so the order matters. Use the original order: leave out --data and "
            f"{ENV_VAR} to use the shipped copy"
        )
    return (
        f"{source} is not the copy shipped with the project: {differs.size:,} of "
        f"{N_SAMPLES:,} rows differ (the first is data row {differs[0] + 1}). It passed the "
        "content checks and is used, but results may differ from the published ones"
    )


def _sorted_rows(table: NDArray[np.float64]) -> NDArray[np.float64]:
    """The rows in lexicographic order: equal for two tables holding the same multiset."""
    return table[np.lexsort(table.T[::-1])]


# --------------------------------------------------------------------------------------------
# scikit-learn's downloader, when asked for
# --------------------------------------------------------------------------------------------


def _load_with_sklearn(
    *, download: bool, data_home: str | os.PathLike[str] | None, how: str
) -> HousingData:
    """scikit-learn's downloader/cache; any failure becomes a HousingDataError."""
    tried = f"scikit-learn's loader was asked for (by {how})"
    offline = (
        f"To work offline, leave out --data and {ENV_VAR} to use the copy shipped with the "
        f"project, or pass --data PATH or set {ENV_VAR} to a local copy"
    )
    try:
        from sklearn.datasets import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            fetch_california_housing,
        )
    except ImportError as exc:
        raise HousingDataError(
            f"{tried}, but scikit-learn is not installed ({exc}). Install scikit-learn (it "
            f"downloads the data once and caches it). {offline}."
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
            f"Probably {cause}. {offline}."
        ) from exc
    source = f"scikit-learn fetch_california_housing (data_home={data_home!r})"
    features = np.array(bunch.data, dtype=np.float64)  # copies; float64 -> float64 is exact
    target = np.array(bunch.target, dtype=np.float64)
    _check_sklearn_arrays(features, target, source)
    table = _Table(np.column_stack([features, target]), SKLEARN_COLUMNS, None, False)
    _check_content(table, source)
    note = _compare_with_shipped(features, target, source)
    return HousingData(features, target, FEATURE_NAMES, source, note)


def _check_sklearn_arrays(
    features: NDArray[np.float64], target: NDArray[np.float64], source: str
) -> None:
    """A stale or corrupted cache should fail here, not in the middle of training."""
    expected = ((N_SAMPLES, len(FEATURE_NAMES)), (N_SAMPLES,))
    if (features.shape, target.shape) != expected:
        raise HousingDataError(
            f"{source} returned data of shape {features.shape} and target {target.shape}, "
            f"expected {expected[0]} and {expected[1]}; clear scikit-learn's cache "
            f"(sklearn.datasets.clear_data_home) or {_ALTERNATIVES}"
        )
    if not (np.isfinite(features).all() and np.isfinite(target).all()):
        raise HousingDataError(f"{source} returned NaN or infinite values; {_ALTERNATIVES}")
