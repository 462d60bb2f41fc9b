"""The copy shipped with the project: where it is, its checksum, and the comparison every other
source is put through (identical is silent, reordered is refused, different is a note)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .derivation import features_from_text
from .reading import read_text, text_sha256
from .schema import ENV_VAR, N_SAMPLES, SHIPPED_HOW, HousingDataError

#: The copy of StatLib's ``cal_housing.data`` shipped with the project (gzipped text), in the
#: data folder beside this package.
SHIPPED_FILE = Path(__file__).resolve().parent.parent / "data" / "cal_housing.data.gz"

#: sha256 of the shipped copy's uncompressed text (also in experiments/housing/data/README.md).
SHIPPED_SHA256 = "a2b44dcc7e1c9091b43c4f458b25cbd1f7e8068d08edd26bc4703108d3fa6214"


def check_shipped_checksum(sha256: str) -> None:
    """The shipped copy is the reference everything is compared with: it must be intact."""
    if sha256 != SHIPPED_SHA256:
        raise HousingDataError(
            f"the copy shipped with the project, {SHIPPED_FILE}, has been modified or damaged "
            f"(sha256 of its text {sha256}, expected {SHIPPED_SHA256}); restore it (git "
            f"checkout -- {SHIPPED_FILE.name} in its folder, or reinstall), or pass --data PATH"
        )


@functools.lru_cache(maxsize=1)
def shipped_arrays() -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The shipped copy's features and target (read-only), or None when it is missing."""
    if not SHIPPED_FILE.is_file():
        return None
    source = f"{SHIPPED_FILE} (from the {SHIPPED_HOW})"
    text = read_text(SHIPPED_FILE, source)
    check_shipped_checksum(text_sha256(text))
    features, target = features_from_text(text, source)
    features.setflags(write=False)
    target.setflags(write=False)
    return features, target


def compare_with_shipped(
    features: NDArray[np.float64], target: NDArray[np.float64], source: str
) -> str | None:
    """None if the values equal the shipped copy's; a note if they differ; refuse a reorder.

    Compared are the derived features and target, so a copy that differs only in its text
    (line endings, a header, a column order, number formatting, compression) is silent.
    """
    reference = shipped_arrays()
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
