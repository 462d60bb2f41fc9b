"""Regression metrics, as scikit-learn defines them (single output), in pure NumPy.

:func:`mean_squared_error` and :func:`r2_score` are the two numbers the housing experiment
reports. Both accept targets and predictions of shape ``(n,)`` or ``(n, 1)`` in any
combination and treat both as ``(n, 1)``, so the classic ``(n,) - (n, 1)`` broadcast to
``(n, n)`` cannot happen. Only NumPy is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["mean_squared_error", "r2_score"]


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean of squared errors, as ``sklearn.metrics.mean_squared_error`` (single output).

    ``mean((y - y_hat)^2)`` over the n samples. Accepts shapes (n,) or (n, 1), in any
    combination; both are treated as (n, 1), which rules out the classic (n,) - (n, 1)
    broadcast to (n, n).
    """
    true, pred = _regression_pair(y_true, y_pred, min_samples=1)
    return float(np.mean((true - pred) ** 2, axis=0)[0])


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination, as ``sklearn.metrics.r2_score`` (single output).

    ``1 - sum((y - y_hat)^2) / sum((y - mean(y))^2)``, with sklearn's conventions for the
    degenerate cases (``force_finite=True``): a perfect prediction scores 1.0, and an
    imperfect prediction of a constant target scores 0.0 instead of -inf. Unlike sklearn,
    fewer than two samples is an error rather than a warning and NaN.
    """
    true, pred = _regression_pair(y_true, y_pred, min_samples=2)
    numerator = np.sum((true - pred) ** 2, axis=0)[0]
    denominator = np.sum((true - np.mean(true, axis=0)) ** 2, axis=0)[0]
    if numerator == 0:
        return 1.0
    if denominator == 0:
        return 0.0
    return float(1 - numerator / denominator)


def _regression_pair(
    y_true: ArrayLike, y_pred: ArrayLike, *, min_samples: int
) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
    """Validate a target/prediction pair and return both as (n, 1) float columns."""
    true = _as_column(y_true, "y_true")
    pred = _as_column(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true has {true.shape[0]} samples but y_pred has {pred.shape[0]}; they must match"
        )
    if true.shape[0] < min_samples:
        raise ValueError(f"need at least {min_samples} sample(s), got {true.shape[0]}")
    # Like sklearn: keep the floating dtype the inputs share, float64 if none is floating.
    floating = [a.dtype for a in (true, pred) if a.dtype.kind == "f"]
    dtype = np.result_type(*floating) if floating else np.dtype(np.float64)
    true, pred = true.astype(dtype, copy=False), pred.astype(dtype, copy=False)
    for name, array in (("y_true", true), ("y_pred", pred)):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinity")
    return true, pred


def _as_column(values: ArrayLike, name: str) -> NDArray[Any]:
    """``values`` as an (n, 1) array; (n,) is reshaped, anything else is refused."""
    array = np.asarray(values)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 1:
        return array.reshape(-1, 1)
    if array.ndim == 2 and array.shape[1] == 1:
        return array
    raise ValueError(f"{name} must have shape (n,) or (n, 1) (single output), got {array.shape}")
