"""What the California housing data is: its columns, size and names, the errors the loader
raises, and the record it returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Environment variable naming a local copy of the data (used when no ``path`` is given).
ENV_VAR = "REFNN_HOUSING_DATA"

#: The ``path`` (or value of ``REFNN_HOUSING_DATA``) that asks for scikit-learn's downloader.
SKLEARN_SOURCE = "sklearn"

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

# How the shipped copy is named in sources and messages.
SHIPPED_HOW = "copy shipped with the project"

# What a user can do instead; used at the end of most messages.
ALTERNATIVES = (
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
