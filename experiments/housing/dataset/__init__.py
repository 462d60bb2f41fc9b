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

By concern: :mod:`.schema` (columns, names, errors, the record), :mod:`.sources` (where the data
comes from: :func:`load_california_housing`), :mod:`.reading` (a file to text),
:mod:`.parsing` (text to a table), :mod:`.checks` (plausible content), :mod:`.derivation` (the
features as scikit-learn derives them) and :mod:`.shipped` (the shipped copy and the comparison
with it).
"""

from .schema import (
    ENV_VAR,
    FEATURE_NAMES,
    N_SAMPLES,
    RAW_COLUMNS,
    SKLEARN_COLUMNS,
    SKLEARN_SOURCE,
    TARGET_NAME,
    HousingData,
    HousingDataError,
    HousingDataNotFoundError,
    HousingDataWarning,
)
from .shipped import SHIPPED_FILE, SHIPPED_SHA256
from .sources import load_california_housing

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
