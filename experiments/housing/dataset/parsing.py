"""From text to a table: separator, header (which layout, columns mapped by name), rows, row
count and finite values; every error names the line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .schema import ALTERNATIVES, N_SAMPLES, RAW_COLUMNS, SKLEARN_COLUMNS, HousingDataError


@dataclass(frozen=True)
class Table:
    """Parsed values in the canonical column order of their layout.

    ``columns`` is :data:`RAW_COLUMNS` or :data:`SKLEARN_COLUMNS`; ``line_numbers`` gives,
    for error messages, the file line each row came from (None: not from a file).
    """

    values: NDArray[np.float64]
    columns: tuple[str, ...]
    line_numbers: NDArray[np.intp] | None
    headerless: bool


def parse_table(text: str, source: str) -> Table:
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
            f"{len(RAW_COLUMNS)} comma-separated numbers. {ALTERNATIVES}"
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
    check_row_count(values.shape[0], source)
    check_finite(values, line_numbers, file_names, source)
    # Columns by name: permute the file's order into the layout's canonical order.
    order = [file_names.index(name) for name in columns]
    values = np.ascontiguousarray(values[:, order])
    return Table(values, columns, line_numbers, headerless)


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
            f"{source}: {first_problem}{others}. Use an intact copy: {ALTERNATIVES}."
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


def check_row_count(n_rows: int, source: str) -> None:
    if n_rows < N_SAMPLES:
        raise HousingDataError(
            f"{source} is truncated: found {n_rows:,} data rows, but the full California "
            f"housing file has {N_SAMPLES:,}. Download or copy it again, or {ALTERNATIVES}"
        )
    if n_rows > N_SAMPLES:
        raise HousingDataError(
            f"{source} has {n_rows:,} data rows, but the California housing file has exactly "
            f"{N_SAMPLES:,}; is this a different data set? {ALTERNATIVES}"
        )


def row_location(row: int, line_numbers: NDArray[np.intp] | None) -> str:
    """'line 7 (data row 7)' for a file, 'data row 7' otherwise (rows count from 1)."""
    if line_numbers is None:
        return f"data row {row + 1}"
    return f"line {line_numbers[row]} (data row {row + 1})"


def check_finite(
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
            f"{source}: {row_location(row, line_numbers)}, column {names[column]!r} is "
            f"{values[row, column]} ({int(bad.sum())} non-finite value(s) in total); every "
            "value must be a finite number"
        )
