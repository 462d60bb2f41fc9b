"""The loader refuses or flags data that would silently give wrong results.

Each test is one finding of the outside probe: a file the loader used to accept and train on
wrongly. Every check has a negative control: the same content in an acceptable form loads
without a warning, so the check is not simply refusing everything.
"""

from __future__ import annotations

import gzip
import itertools
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from experiments.housing.dataset import (
    ENV_VAR,
    N_SAMPLES,
    RAW_COLUMNS,
    SKLEARN_COLUMNS,
    HousingData,
    HousingDataError,
    HousingDataWarning,
    load_california_housing,
)
from experiments.housing.dataset import checks as content_checks
from experiments.housing.protocol import make_problem


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def raw_text(housing_data_file: Path) -> str:
    return gzip.decompress(housing_data_file.read_bytes()).decode("ascii")


@pytest.fixture(scope="module")
def raw(raw_text: str) -> NDArray[np.float64]:
    """The 9 raw columns, parsed independently of the loader."""
    return np.loadtxt(raw_text.splitlines(), delimiter=",")


@pytest.fixture(scope="module")
def housing(housing_data_file: Path) -> HousingData:
    return load_california_housing(housing_data_file)


@pytest.fixture
def sklearn_frame(housing: HousingData) -> NDArray[np.float64]:
    """scikit-learn's frame: the 8 derived features then MedHouseVal."""
    return np.column_stack([housing.features, housing.target])


def write_csv(
    path: Path, table: NDArray[np.float64], header: tuple[str, ...] | None, sep: str = ","
) -> Path:
    """Write ``table`` as text, each value with repr (round-trips exactly, as pandas does)."""
    lines = [] if header is None else [sep.join(header)]
    lines += [sep.join(repr(float(v)) for v in row) for row in table]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def load_quietly(path: Path | str) -> HousingData:
    """Load, failing the test on a HousingDataWarning (the data must equal the shipped copy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", HousingDataWarning)
        return load_california_housing(path)


def assert_same(loaded: HousingData, housing: HousingData) -> None:
    assert np.array_equal(loaded.features, housing.features)
    assert np.array_equal(loaded.target, housing.target)
    assert loaded.note is None


def message_of(path: Path | str) -> str:
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing(path)
    message = str(excinfo.value)
    assert "\n" not in message  # one line
    return message


# --------------------------------------------------------------------------------------------
# a. Known layouts, recognised by their header and mapped by name
# --------------------------------------------------------------------------------------------

REVERSED = tuple(range(8, -1, -1))
SHUFFLED = (3, 7, 0, 8, 5, 1, 6, 2, 4)


@pytest.mark.parametrize("order", [tuple(range(9)), REVERSED, SHUFFLED])
def test_sklearn_frame_csv_is_read_by_name(
    tmp_path: Path, sklearn_frame: NDArray[np.float64], housing: HousingData, order: tuple[int]
) -> None:
    # The probe's file: the frame exported to CSV (header MedInc,...,MedHouseVal). It used to
    # load as raw columns, training on longitude as "MedInc".
    header = tuple(SKLEARN_COLUMNS[i] for i in order)
    path = write_csv(tmp_path / "frame.csv", sklearn_frame[:, order], header)
    assert_same(load_quietly(path), housing)


def test_sklearn_frame_without_its_header_is_refused(
    tmp_path: Path, sklearn_frame: NDArray[np.float64]
) -> None:
    # Negative control for the above: the same numbers without the header cannot be mapped.
    message = message_of(write_csv(tmp_path / "frame.csv", sklearn_frame, None))
    assert "column 'longitude' is 8.3252, outside its plausible range" in message
    assert "StatLib's order" in message


@pytest.mark.parametrize("order", [REVERSED, SHUFFLED])
def test_raw_header_in_any_order_is_mapped_by_name(
    tmp_path: Path, raw: NDArray[np.float64], housing: HousingData, order: tuple[int]
) -> None:
    header = tuple(RAW_COLUMNS[i] for i in order)
    assert_same(load_quietly(write_csv(tmp_path / "raw.csv", raw[:, order], header)), housing)


def test_header_names_ignore_case_spaces_and_quotes(
    tmp_path: Path, sklearn_frame: NDArray[np.float64], housing: HousingData
) -> None:
    header = tuple(f' "{name.upper()}" ' for name in SKLEARN_COLUMNS)
    assert_same(load_quietly(write_csv(tmp_path / "f.csv", sklearn_frame, header)), housing)


@pytest.mark.parametrize(
    ("header", "extra"),
    [
        ((*SKLEARN_COLUMNS[:-1], "Price"), None),  # a renamed target
        ((*SKLEARN_COLUMNS[:-1], "MedInc"), None),  # a duplicate
        ((*RAW_COLUMNS[:-1], "MedHouseVal"), None),  # the two layouts mixed
        (("", *SKLEARN_COLUMNS[:-1]), "pandas index"),  # to_csv() with its index column
    ],
)
def test_unknown_header_is_refused_naming_the_expected_ones(
    tmp_path: Path, raw: NDArray[np.float64], header: tuple[str, ...], extra: str | None
) -> None:
    message = message_of(write_csv(tmp_path / "h.csv", raw, header))
    assert "unknown header on line 1" in message
    assert ",".join(RAW_COLUMNS) in message and ",".join(SKLEARN_COLUMNS) in message
    if extra:
        assert extra in message


def test_header_on_the_wrong_columns_is_refused_naming_the_column(
    tmp_path: Path, sklearn_frame: NDArray[np.float64]
) -> None:
    # scikit-learn's names over raw data, or names on the wrong columns: the content checks
    # see it (MedInc gets the longitudes).
    header = (SKLEARN_COLUMNS[-2], *SKLEARN_COLUMNS[1:-2], SKLEARN_COLUMNS[0], SKLEARN_COLUMNS[-1])
    message = message_of(write_csv(tmp_path / "f.csv", sklearn_frame, header))
    assert "column 'MedInc' is -122.23, outside its plausible range (0, 16]" in message
    assert "header's names on the wrong columns" in message


# --------------------------------------------------------------------------------------------
# b. Content: plausible ranges (and orderings) for a headerless file
# --------------------------------------------------------------------------------------------


def test_ranges_are_an_envelope_of_the_real_data(raw: NDArray[np.float64]) -> None:
    # The measured extremes quoted in data.py and data/README.md, then the bounds around them.
    measured = {
        "longitude": (-124.35, -114.31),
        "latitude": (32.54, 41.95),
        "housing_median_age": (1, 52),
        "total_rooms": (2, 39320),
        "total_bedrooms": (1, 6445),
        "population": (3, 35682),
        "households": (1, 6082),
        "median_income": (0.4999, 15.0001),
        "median_house_value": (14999, 500001),
    }
    for column, name in enumerate(RAW_COLUMNS):
        values = raw[:, column]
        assert (values.min(), values.max()) == measured[name], name
        assert content_checks.RAW_RANGES[name].contains(values).all(), name
    # The orderings between counts, with the number of real rows that break each.
    for smaller, larger, rows in content_checks.RAW_ORDERINGS:
        broken = raw[:, RAW_COLUMNS.index(smaller)] > raw[:, RAW_COLUMNS.index(larger)]
        assert int(broken.sum()) == rows, (smaller, larger)


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(range(9), 2)))
def test_every_swap_of_two_columns_is_refused_naming_a_column(
    tmp_path: Path, raw: NDArray[np.float64], a: int, b: int
) -> None:
    swapped = raw.copy()
    swapped[:, [a, b]] = swapped[:, [b, a]]
    message = message_of(write_csv(tmp_path / "swapped.data", swapped, None))
    assert f"column '{RAW_COLUMNS[a]}'" in message or f"column '{RAW_COLUMNS[b]}'" in message
    assert "are two columns swapped" in message


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("latitude", "52.5", ["'latitude' is 52.5", "[32, 42]"]),
        ("longitude", "122.23", ["'longitude' is 122.23", "[-125, -114]"]),
        ("housing_median_age", "0", ["'housing_median_age' is 0", "[1, 52]"]),
        ("households", "2.5", ["'households' is 2.5", "whole numbers"]),
        ("total_rooms", "-880", ["'total_rooms' is -880", "> 0"]),
        ("median_income", "0", ["'median_income' is 0", "(0, 16]"]),
        ("median_income", "83252", ["'median_income' is 83252", "(0, 16]"]),
        ("median_house_value", "4.526", ["'median_house_value' is 4.526", "[14999, 500001]"]),
        ("total_bedrooms", "3634", ["'total_bedrooms' is greater than column 'total_rooms'"]),
    ],
)
def test_one_implausible_value_is_refused_naming_line_and_column(
    tmp_path: Path, raw_text: str, column: str, value: str, words: list[str]
) -> None:
    lines = raw_text.splitlines()
    fields = lines[99].split(",")
    fields[RAW_COLUMNS.index(column)] = value
    lines[99] = ",".join(fields)
    path = tmp_path / "one.data"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    message = message_of(path)
    assert "line 100 (data row 100)" in message
    for word in words:
        assert word in message


# --------------------------------------------------------------------------------------------
# b. Comparison with the shipped copy: reordered (refused), different (warned), same (silent)
# --------------------------------------------------------------------------------------------


def permute(table: NDArray[np.float64], how: str) -> NDArray[np.float64]:
    if how == "reversed":
        return table[::-1]
    order = np.arange(len(table))
    if how == "two rows after the first 10,000 swapped":
        order[[10_000, 10_001]] = order[[10_001, 10_000]]
    elif how == "two rows of the first 10,000 swapped":
        order[[0, 9_999]] = order[[9_999, 0]]
    return table[order]


HOW = [
    "reversed",
    "two rows of the first 10,000 swapped",
    "two rows after the first 10,000 swapped",
]


@pytest.mark.parametrize("how", HOW)
def test_reordered_headerless_copy_is_refused(
    tmp_path: Path, raw: NDArray[np.float64], how: str
) -> None:
    message = message_of(write_csv(tmp_path / "reordered.data", permute(raw, how), None))
    assert "is a reordered copy" in message
    assert "first 10,000 rows" in message


@pytest.mark.parametrize("how", HOW[:2])
def test_reordered_sklearn_frame_is_refused(
    tmp_path: Path, sklearn_frame: NDArray[np.float64], how: str
) -> None:
    path = write_csv(tmp_path / "frame.csv", permute(sklearn_frame, how), SKLEARN_COLUMNS)
    assert "is a reordered copy" in message_of(path)


def test_copy_with_other_text_but_the_same_values_is_silent(
    tmp_path: Path, raw: NDArray[np.float64], housing: HousingData
) -> None:
    # Negative control for the comparison: another sha256 (shortest number formatting, CRLF,
    # gzip) but the same values in the same order is the same data: no note, no warning.
    text = "\r\n".join(",".join(f"{v:g}" for v in row) for row in raw) + "\r\n"
    path = tmp_path / "reformatted.data.gz"
    path.write_bytes(gzip.compress(text.encode("ascii")))
    assert_same(load_quietly(path), housing)


def test_different_copy_is_used_with_a_warning_and_a_note(
    tmp_path: Path, raw_text: str, housing: HousingData
) -> None:
    lines = raw_text.splitlines()
    assert lines[4].split(",")[7] == "3.846200"
    lines[4] = lines[4].replace("3.846200", "3.846300")  # still plausible
    path = tmp_path / "edited.data"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    with pytest.warns(
        HousingDataWarning, match=r"1 of 20,640 rows differ \(the first is data row 5"
    ):
        loaded = load_california_housing(path)
    assert loaded.note is not None and "not the copy shipped with the project" in loaded.note
    assert "a different copy (text sha256" in loaded.source
    assert loaded.features[4, 0] == 3.8463  # it is used as it is
    with pytest.warns(HousingDataWarning):
        problem = make_problem(data=str(path), epochs=1)
    assert problem.note == loaded.note  # make_problem passes it on for the CLI/report


# --------------------------------------------------------------------------------------------
# scikit-learn's downloader, when asked for by name, is checked the same way
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fake_fetch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Any, Any], None]]:
    """Install a stand-in sklearn.datasets.fetch_california_housing returning given arrays."""

    def install(data: Any, target: Any) -> None:
        package = types.ModuleType("sklearn")
        datasets = types.ModuleType("sklearn.datasets")
        datasets.fetch_california_housing = lambda **kwargs: types.SimpleNamespace(  # type: ignore[attr-defined]
            data=data, target=target
        )
        package.datasets = datasets  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "sklearn", package)
        monkeypatch.setitem(sys.modules, "sklearn.datasets", datasets)

    yield install


def test_sklearn_downloader_reordered_is_refused(
    fake_fetch: Callable[[Any, Any], None], housing: HousingData
) -> None:
    fake_fetch(np.array(housing.features[::-1]), np.array(housing.target[::-1]))
    assert "is a reordered copy" in message_of("sklearn")


def test_sklearn_downloader_implausible_is_refused(
    fake_fetch: Callable[[Any, Any], None], housing: HousingData
) -> None:
    fake_fetch(np.array(housing.features[:, ::-1]), np.array(housing.target))
    assert "data row 1, column 'MedInc' is -122.23, outside" in message_of("sklearn")


@pytest.mark.parametrize("env", [False, True])
def test_sklearn_downloader_same_data_is_silent(
    fake_fetch: Callable[[Any, Any], None],
    housing: HousingData,
    monkeypatch: pytest.MonkeyPatch,
    env: bool,
) -> None:
    fake_fetch(np.array(housing.features), np.array(housing.target))
    if env:
        monkeypatch.setenv(ENV_VAR, "sklearn")
    loaded = load_quietly(None if env else "sklearn")  # type: ignore[arg-type]
    assert_same(loaded, housing)
    assert "scikit-learn" in loaded.source


def test_a_file_named_sklearn_is_a_file_when_given_as_a_path(tmp_path: Path) -> None:
    message = message_of(tmp_path / "sklearn")  # a Path object, not the keyword
    assert "does not exist" in message


# --------------------------------------------------------------------------------------------
# c. Messages
# --------------------------------------------------------------------------------------------


def test_missing_data_file_says_it_does_not_exist_and_names_the_alternatives(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nope.data.gz"
    message = message_of(path)
    assert f"{path} (from the path argument) does not exist" in message
    assert "pass --data" not in message and "--data PATH" not in message  # it was given
    assert "shipped with the project" in message
    assert ENV_VAR in message and "'sklearn'" in message


def test_missing_env_var_file_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.data"))
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing()
    message = str(excinfo.value)
    assert f"(from the environment variable {ENV_VAR}) does not exist" in message
    assert f"Correct {ENV_VAR}, or unset it" in message


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_blank_env_var_is_reported_as_blank(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(HousingDataError) as excinfo:
        load_california_housing()
    message = str(excinfo.value)
    assert f"{ENV_VAR} is set but blank ({value!r})" in message
    assert "not set" not in message


def test_blank_path_is_reported_as_blank() -> None:
    assert "the data path is blank" in message_of(" ")


@pytest.mark.parametrize(
    ("sep", "shown"), [(";", "';'"), ("\t", "tabs ('\\t')"), ("|", "'|'"), (" ", "spaces")]
)
@pytest.mark.parametrize("header", [False, True])
def test_other_separators_are_named(
    tmp_path: Path, raw: NDArray[np.float64], sep: str, shown: str, header: bool
) -> None:
    path = write_csv(tmp_path / "sep.csv", raw, RAW_COLUMNS if header else None, sep=sep)
    message = message_of(path)
    assert f"uses {shown} as separator (line 1); expected ','" in message
    assert "cut off" not in message and "header" not in message


def test_european_csv_is_named_by_its_separator(tmp_path: Path) -> None:
    # ';' between fields and ',' as decimal point (a spreadsheet's "CSV" in many locales).
    rows = ["MedInc;HouseAge", "8,3252;41,0"] + ["1,0;2,0"] * 5
    path = tmp_path / "eu.csv"
    path.write_text("\n".join(rows) + "\n", encoding="ascii")
    assert "uses ';' as separator (line 1); expected ','" in message_of(path)


def test_housing_cli_reports_a_missing_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from experiments.cli import main

    args = ["housing", "--data", str(tmp_path / "nope.data"), "--frameworks", "numpy"]
    args += ["--epochs", "1", "--out", str(tmp_path / "out"), "--jobs", "1", "--no-baseline"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("refnn housing: housing data file not found: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_wrong_row_count_is_still_reported_before_content(tmp_path: Path, raw_text: str) -> None:
    # The content checks come after the row count: a short file is "truncated", not "swapped".
    lines = raw_text.splitlines()[: N_SAMPLES - 1]
    path = tmp_path / "short.data"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    assert "is truncated: found 20,639 data rows" in message_of(path)
