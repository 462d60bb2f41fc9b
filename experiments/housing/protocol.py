"""The published housing protocol (the source article and its notebook), as code and data.

California housing; MedInc, AveRooms and the target scaled together by min-max over all
20,640 rows; the first 10,000 rows; ``train_test_split(test_size=0.33, random_state=42)``;
a 2-3-1 sigmoid network with biases, every weight and bias drawn from U[0, 1); per-sample SGD
with learning rate 0.05 on the loss ``(y - y_hat)^2``; 100 epochs, samples in order.

* :func:`housing_protocol` is the preprocessing: min-max scaling and the split, re-implemented
  in NumPy with the same floating-point operations as scikit-learn so the arrays are
  identical (scikit-learn is not needed);
* :func:`housing_spec` is the network and its training; :func:`make_problem` puts the data
  (:mod:`experiments.housing.dataset`), the preprocessing, the initial weights and the sample
  orders together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import LayerSpec, NetworkSpec, epoch_orders
from reference_nn._checks import as_dtype

from .dataset import TARGET_NAME, HousingData, HousingDataError, load_california_housing

EPOCHS = 100
LEARNING_RATE = 0.05


def housing_spec(dtype: str = "float64", lr: float = LEARNING_RATE) -> NetworkSpec:
    """2-3-1, sigmoid on both layers, U[0, 1) weights and biases, per-sample MSE, plain SGD.

    For one output, ``mse`` of a single sample is exactly ``(y - y_hat)^2``.
    """
    return NetworkSpec(
        input_shape=2,
        layers=(LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(1, "sigmoid")),
        loss="mse",
        optimizer="sgd",
        optimizer_options={"lr": lr},
        dtype=dtype,
        weight_init="uniform01",
        bias_init="uniform01",
    )


@dataclass(frozen=True)
class HousingProblem:
    split: HousingSplit
    spec: NetworkSpec
    initial: dict[str, np.ndarray]
    orders: np.ndarray  # (epochs, n_train) sample order per epoch
    source: str
    note: str | None = None  # HousingData.note: how the data differs from the shipped copy


def make_problem(
    *,
    data: str | None = None,
    dtype: str = "float64",
    epochs: int = EPOCHS,
    seed: int = 0,
    order: str = "sequential",
    order_seed: int | None = None,
) -> HousingProblem:
    """Load, preprocess, draw the initial weights from ``seed`` and the epoch orders.

    ``data`` is passed to :func:`~experiments.housing.dataset.load_california_housing`: None
    (the default) reads ``REFNN_HOUSING_DATA`` if set, else the copy shipped with the project;
    a path reads that file; ``"sklearn"`` uses scikit-learn's downloader and cache.
    ``order="shuffled"`` draws one permutation per epoch from ``order_seed`` (default: seed),
    the same permutations for every framework.
    """
    housing = load_california_housing(data)
    split = housing_protocol(housing, dtype=np.dtype(dtype))
    spec = housing_spec(dtype)
    initial = spec.init_parameters(seed)
    orders = epoch_orders(
        len(split.X_train), epochs, order, seed=order_seed if order_seed is not None else seed
    )
    return HousingProblem(split, spec, initial, orders, housing.source, housing.note)


# --------------------------------------------------------------------------------------------
# The published preprocessing
# --------------------------------------------------------------------------------------------


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
