"""Content checks: every column in the range the real data occupies, the count columns in
their usual order, and finite derived features."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .parsing import Table, row_location
from .schema import N_SAMPLES, RAW_COLUMNS, HousingDataError


@dataclass(frozen=True)
class Range:
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


_COUNT = Range(0, low_open=True, whole=True)  # a positive whole number

# Measured on the shipped copy: longitude [-124.35, -114.31], latitude [32.54, 41.95], age
# 1..52 (52 is a cap), total_rooms 2..39,320, total_bedrooms 1..6,445, population 3..35,682,
# households 1..6,082 (all whole numbers), median_income [0.4999, 15.0001] (capped),
# median_house_value [14,999, 500,001] (censored at both ends). The bounds below are the
# rounded-out envelope: any real copy passes, and swapped columns fall outside.
RAW_RANGES: dict[str, Range] = {
    "longitude": Range(-125.0, -114.0),
    "latitude": Range(32.0, 42.0),
    "housing_median_age": Range(1.0, 52.0, whole=True),
    "total_rooms": _COUNT,
    "total_bedrooms": _COUNT,
    "population": _COUNT,
    "households": _COUNT,
    "median_income": Range(0.0, 16.0, low_open=True),
    "median_house_value": Range(14999.0, 500001.0),
}

# The same bounds, carried through scikit-learn's derivation (averages per household are
# positive; the target is the value / 100,000).
SKLEARN_RANGES: dict[str, Range] = {
    "MedInc": RAW_RANGES["median_income"],
    "HouseAge": RAW_RANGES["housing_median_age"],
    "AveRooms": Range(0.0, low_open=True),
    "AveBedrms": Range(0.0, low_open=True),
    "Population": _COUNT,
    "AveOccup": Range(0.0, low_open=True),
    "Latitude": RAW_RANGES["latitude"],
    "Longitude": RAW_RANGES["longitude"],
    "MedHouseVal": Range(0.14999, 5.00001),
}


# Orderings between count columns: (smaller, larger, rows of the shipped copy in which
# smaller > larger). Bedrooms are rooms, so total_bedrooms > total_rooms in no row;
# households > population in 3 rows and households > total_rooms in 2 (of 20,640). These
# catch what the ranges cannot, two count columns swapped: a swap breaks one of them in
# nearly every row. An ordering broken in no real row must hold everywhere; the others may
# break in up to 1% of the rows, far above the real 0.015% and far below a swap's ~100%.
RAW_ORDERINGS: tuple[tuple[str, str, int], ...] = (
    ("total_bedrooms", "total_rooms", 0),
    ("households", "population", 3),
    ("households", "total_rooms", 2),
)
# The same in scikit-learn's derived features (all three are per household).
SKLEARN_ORDERINGS: tuple[tuple[str, str, int], ...] = (("AveBedrms", "AveRooms", 0),)
ORDERING_ALLOWANCE = 0.01


def check_content(table: Table, source: str) -> None:
    """Every column in its plausible range, and the count columns in their usual order.

    Raises a one-line HousingDataError naming the first offending column and row.
    """
    raw = table.columns == RAW_COLUMNS
    ranges = RAW_RANGES if raw else SKLEARN_RANGES
    orderings = RAW_ORDERINGS if raw else SKLEARN_ORDERINGS
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
                f"{source}: {row_location(row, table.line_numbers)}, column {name!r} is "
                f"{values[row]:g}, outside its plausible range {allowed} ({bad.size:,} of "
                f"{len(values):,} rows are outside){order_hint}"
            )
    for smaller, larger, measured in orderings:
        broken = np.flatnonzero(
            table.values[:, table.columns.index(smaller)]
            > table.values[:, table.columns.index(larger)]
        )
        tolerated = 0.0 if measured == 0 else ORDERING_ALLOWANCE * len(table.values)
        if broken.size > tolerated:
            row = int(broken[0])
            raise HousingDataError(
                f"{source}: column {smaller!r} is greater than column {larger!r} in "
                f"{broken.size:,} row(s) (the first: {row_location(row, table.line_numbers)}); in "
                f"the real data in {measured} of {N_SAMPLES:,} rows{order_hint}"
            )


def check_derived_finite(features: NDArray[np.float64], table: Table, source: str) -> None:
    """Zero households would make the averages infinite; say so instead of passing inf on.

    The range check already refuses zero households; this is the last line of defence.
    """
    bad_rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        raise HousingDataError(
            f"{source}: {row_location(row, table.line_numbers)} gives non-finite features "
            f"{features[row].tolist()}; households must be non-zero"
        )
