"""From a parsed table to the 8 features and the target, bit for bit as scikit-learn
derives them."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .checks import check_content, check_derived_finite
from .parsing import parse_table
from .schema import FEATURE_NAMES, SKLEARN_COLUMNS


def features_from_text(text: str, source: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Parse, check and derive: text in, (features, target) as scikit-learn gives them out."""
    table = parse_table(text, source)
    check_content(table, source)
    if table.columns == SKLEARN_COLUMNS:
        # scikit-learn's frame: the features are already derived; use them as they are.
        features = np.ascontiguousarray(table.values[:, : len(FEATURE_NAMES)])
        target = np.ascontiguousarray(table.values[:, len(FEATURE_NAMES)])
        return features, target
    features, target = derive_like_sklearn(table.values)
    check_derived_finite(features, table, source)
    return features, target


def derive_like_sklearn(
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
    # Zero households would warn here; check_derived_finite reports it properly instead.
    with np.errstate(divide="ignore", invalid="ignore"):
        data[:, 2] /= data[:, 5]  # average rooms = total rooms / households
        data[:, 3] /= data[:, 5]  # average bedrooms = total bedrooms / households
        data[:, 5] = data[:, 4] / data[:, 5]  # average occupancy = population / households
    target = target / 100000.0  # in units of 100,000 dollars
    return np.ascontiguousarray(data), np.ascontiguousarray(target)
