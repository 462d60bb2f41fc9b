"""Input validation shared by the whole library.

The rule throughout: bad input gets a clear error, never a silent broadcast,
a silent dtype change or a NaN that surfaces a thousand steps later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]

SUPPORTED_DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))


class ShapeError(ValueError):
    """Arrays whose shapes do not fit together."""


class DTypeError(TypeError):
    """An array whose dtype is not the one the network computes in."""


class NonFiniteError(ValueError):
    """NaN or infinity where a finite number is required."""


class AllocationError(ValueError):
    """An array that would not fit in this machine's memory (refused before allocating)."""


def _memory_bytes() -> int | None:
    """This machine's physical memory in bytes, where the platform says (None otherwise)."""
    import os

    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def check_allocation(nbytes: int, what: str, hint: str) -> None:
    """Refuse an array of ``nbytes`` larger than the machine's memory, with its size."""
    memory = _memory_bytes()
    if memory is not None and nbytes > memory:
        raise AllocationError(
            f"{what} would need {nbytes / 2**30:,.1f} GiB, more than this machine's "
            f"{memory / 2**30:,.1f} GiB of memory; {hint}"
        )


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """An integer count (epochs, batch size): bool, float and str are refused, not rounded."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_dtype(dtype: Any) -> np.dtype[Any]:
    """Normalise ``dtype`` ("float64", np.float32, ...) and refuse anything but float32/64."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"unknown dtype {dtype!r}; use 'float32' or 'float64'") from exc
    if resolved not in SUPPORTED_DTYPES:
        raise DTypeError(f"dtype {resolved} is not supported; use 'float32' or 'float64'")
    return resolved


def _dtype_of(value: Any) -> np.dtype[Any] | None:
    """The dtype of an array (NumPy's, or another library's that NumPy can name); None for
    nested lists and for dtypes NumPy cannot name."""
    given = getattr(value, "dtype", None)
    if given is None:
        return None
    try:
        return np.dtype(given)
    except TypeError:
        return None


def check_array(
    value: Any,
    name: str,
    dtype: np.dtype[Any],
    *,
    ndim: int | None = None,
    finite: bool = True,
) -> Array:
    """Return ``value`` as an array of exactly ``dtype``.

    Nested lists of numbers are read in ``dtype`` (they have no dtype to change).  An array
    of another dtype is refused, floating or not: converting it is exactly the silent upcast,
    downcast or int-to-float change that makes two implementations disagree for no visible
    reason (integer indices for an embedding layer go through :func:`check_indices`).
    """
    given = _dtype_of(value)
    if given is not None and given != dtype:
        if given.kind not in "fiub":
            raise DTypeError(f"{name} has non-numeric dtype {given}")
        what = {"i": "integer ", "u": "integer ", "b": "boolean "}.get(given.kind, "")
        raise DTypeError(
            f"{name} has {what}dtype {given} but the network computes in {dtype}; "
            f"convert it explicitly with {name}.astype(np.{dtype.name})"
        )
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise DTypeError(f"{name} cannot be read as a {dtype} array: {exc}") from exc
    if ndim is not None and array.ndim != ndim:
        raise ShapeError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if finite:
        check_finite(array, name)
    return array


def check_indices(value: Any, name: str, layer: Any, *, ndim: int) -> Any:
    """Integer indices for a first layer that takes them (``layer.input_dim`` rows): an
    integer array of ``ndim`` dimensions, every value in range; one-line errors otherwise."""
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise DTypeError(
            f"{name} has dtype {array.dtype} but the first layer ({layer.kind}) takes integer "
            f"indices; convert with {name}.astype(np.int64)"
        )
    if array.ndim != ndim:
        raise ShapeError(f"{name} must be {ndim}-D, got shape {array.shape}")
    bad = (array < 0) | (array >= layer.input_dim)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ShapeError(
            f"{name} holds index {int(array[first])} at {first}, outside 0..{layer.input_dim - 1} "
            f"({layer.kind} input_dim {layer.input_dim}); map the indices into range or raise "
            "input_dim"
        )
    return array


def check_finite(array: Array, name: str) -> None:
    """Raise NonFiniteError naming the first offending index."""
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(
            f"{name} contains {int(bad.sum())} non-finite value(s); first at index {first}: "
            f"{array[first]!r}"
        )


def check_same_shape(y_pred: Array, y_true: Array) -> None:
    """Targets must have exactly the shape of the predictions.

    A ``(N,)`` target against ``(N, 1)`` predictions would broadcast to ``(N, N)`` in
    NumPy and in torch and give a plausible-looking but wrong loss, so it is refused.
    """
    if y_pred.shape != y_true.shape:
        hint = ""
        if y_true.ndim == 1 and y_pred.ndim == 2 and y_pred.shape == (y_true.shape[0], 1):
            hint = "; reshape the target with y.reshape(-1, 1)"
        raise ShapeError(
            f"target shape {y_true.shape} does not match prediction shape {y_pred.shape}{hint}"
        )


def check_choice(kind: str, name: str, valid: Iterable[str]) -> str:
    """Refuse an unknown name, listing the valid ones."""
    options = sorted(valid)
    if name not in options:
        raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(options)}")
    return name


def check_keys(kind: str, given: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse unknown keyword options, listing the allowed ones."""
    allowed_set = set(allowed)
    unknown = sorted(set(given) - allowed_set)
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for {kind}; "
            f"allowed: {', '.join(sorted(allowed_set)) or 'none'}"
        )
