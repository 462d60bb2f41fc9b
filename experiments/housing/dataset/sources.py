"""Where the data comes from: a path, the environment variable, the shipped copy or, asked for
by name, scikit-learn's downloader."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# Through the module, not its names: SHIPPED_FILE is read at each call, so pointing it
# elsewhere (as the tests do) reaches every use.
from . import shipped
from .checks import check_content
from .derivation import features_from_text
from .parsing import Table
from .reading import check_exists, read_text, text_sha256
from .schema import (
    ALTERNATIVES,
    ENV_VAR,
    FEATURE_NAMES,
    N_SAMPLES,
    SHIPPED_HOW,
    SKLEARN_COLUMNS,
    SKLEARN_SOURCE,
    HousingData,
    HousingDataError,
    HousingDataWarning,
)


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
    3. the copy shipped with the project, :data:`~.shipped.SHIPPED_FILE` (offline, always
       there).

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
    compared with the shipped copy; see :mod:`experiments.housing.dataset` for what each
    outcome means.

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
                f"the data path is blank ({path!r}); give a file, or {ALTERNATIVES}"
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
    return _finish(_load_local(shipped.SHIPPED_FILE, how=SHIPPED_HOW))


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
    check_exists(file_path, how)
    text = read_text(file_path, source)
    sha256 = text_sha256(text)
    if how == SHIPPED_HOW:
        shipped.check_shipped_checksum(sha256)
    features, target = features_from_text(text, source)
    note = (
        None
        if sha256 == shipped.SHIPPED_SHA256
        else shipped.compare_with_shipped(features, target, source)
    )
    if note is not None:
        source += f"; a different copy (text sha256 {sha256[:16]}...)"
    return HousingData(features, target, FEATURE_NAMES, source, note)


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
    table = Table(np.column_stack([features, target]), SKLEARN_COLUMNS, None, False)
    check_content(table, source)
    note = shipped.compare_with_shipped(features, target, source)
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
            f"(sklearn.datasets.clear_data_home) or {ALTERNATIVES}"
        )
    if not (np.isfinite(features).all() and np.isfinite(target).all()):
        raise HousingDataError(f"{source} returned NaN or infinite values; {ALTERNATIVES}")
