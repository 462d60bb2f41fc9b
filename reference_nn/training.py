"""The fit loop: batches in a stated order, one optimizer step per batch, a loss history.

Epoch orders are data: an ``(epochs, N)`` array of index permutations, made once (from a
seed, or sequential) and handed to every implementation, so NumPy, torch and Keras see the
same samples in the same batches in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import (
    Array,
    ShapeError,
    check_allocation,
    check_array,
    check_choice,
    check_count,
    check_indices,
)
from .network import Sequential
from .optimizers import Optimizer

ORDERS = ("sequential", "shuffled")


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite during ``fit``."""

    def __init__(
        self,
        epoch: int,
        step: int,
        loss: float,
        *,
        after_update: bool = False,
        names: list[str] | None = None,
    ) -> None:
        what = (
            f"parameters {', '.join(names or [])} became non-finite in the update"
            if after_update
            else f"loss became {loss}"
        )
        super().__init__(
            f"{what} at epoch {epoch}, step {step} (0-based); "
            "lower the learning rate or check the data"
        )
        self.epoch, self.step, self.loss = epoch, step, loss


@dataclass
class History:
    """Per-epoch record: ``loss`` is the mean of the batch losses seen during the epoch,
    each weighted by its number of samples (what Keras reports: its loss tracker is updated
    with ``sample_weight=batch size``, so a smaller last batch counts for less; with equal
    batches this is the plain mean), ``orders`` the permutations that were used."""

    loss: list[float] = field(default_factory=list)
    orders: NDArray[np.int64] | None = None


def epoch_orders(
    n_samples: int, epochs: int, order: str = "sequential", seed: int | None = None
) -> NDArray[np.int64]:
    """``(epochs, n_samples)`` index permutations.

    ``sequential`` repeats ``0..n-1``; ``shuffled`` draws one permutation per epoch from a
    single ``numpy.random.default_rng(seed)`` (seed required: runs must be repeatable).
    """
    check_choice("epoch order", order, ORDERS)
    n_samples, epochs = check_count(n_samples, "n_samples"), check_count(epochs, "epochs")
    check_allocation(
        n_samples * epochs * np.dtype(np.int64).itemsize,
        f"the sample orders of {epochs:,} epochs of {n_samples:,} samples ({epochs:,} x "
        f"{n_samples:,} int64)",
        "use fewer epochs",
    )
    if order == "sequential":
        return np.tile(np.arange(n_samples, dtype=np.int64), (epochs, 1))
    if seed is None:
        raise ValueError("a shuffled epoch order needs an explicit seed")
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_samples) for _ in range(epochs)]).astype(np.int64)


def check_orders(orders: Any, n_samples: int) -> NDArray[np.int64]:
    """Each row must be a permutation of ``0..n_samples-1``."""
    orders = np.asarray(orders)
    if orders.ndim != 2 or orders.shape[1] != n_samples or orders.dtype.kind not in "iu":
        raise ShapeError(
            f"orders must be an integer array of shape (epochs, {n_samples}), "
            f"got {orders.dtype} {orders.shape}"
        )
    expected = np.arange(n_samples)
    for epoch, row in enumerate(orders):
        if not np.array_equal(np.sort(row), expected):
            raise ValueError(f"orders[{epoch}] is not a permutation of 0..{n_samples - 1}")
    return orders.astype(np.int64)


def fit(
    network: Sequential,
    optimizer: Optimizer,
    X: Any,
    y: Any,
    *,
    epochs: int = 1,
    batch_size: int | None = None,
    orders: Any = None,
    progress: Callable[[int, float], None] | None = None,
) -> History:
    """Train ``network`` in place and return its :class:`History`.

    ``batch_size=None`` means full batch.  ``orders`` defaults to sequential; the last batch
    of an epoch may be smaller (as in Keras and a torch ``DataLoader``).  ``progress`` is
    called as ``progress(epoch, epoch_loss)`` after each epoch.
    """
    epochs = check_count(epochs, "epochs")
    if batch_size is not None:
        batch_size = check_count(batch_size, "batch_size")
    ndim = 1 + len(network.input_shape)
    first = network.layers[0]
    if getattr(first, "integer_input", False):  # an embedding takes integer indices
        X = check_indices(X, "X", first, ndim=ndim)
    else:
        X = check_array(X, "X", network.dtype, ndim=ndim)
    y = check_array(y, "y", network.dtype)
    if X.shape[1:] != network.input_shape:
        raise ShapeError(
            f"X has samples of shape {X.shape[1:]} but the network expects {network.input_shape}"
        )
    if len(X) != len(y):
        raise ShapeError(f"X has {len(X)} rows but y has {len(y)}")
    if y.shape[1:] != network.output_shape:
        hint = "; reshape it with y.reshape(-1, 1)" if y.ndim == 1 else ""
        raise ShapeError(
            f"y has samples of shape {y.shape[1:]} but the network's outputs have shape "
            f"{network.output_shape}{hint}"
        )
    n = len(X)
    if n == 0:
        raise ShapeError("X and y have 0 rows: fit needs at least one sample")
    batch = n if batch_size is None else batch_size
    orders = epoch_orders(n, epochs) if orders is None else check_orders(orders, n)
    if len(orders) != epochs:
        raise ShapeError(f"orders has {len(orders)} rows for {epochs} epochs")

    history = History(orders=orders)
    params = network.parameters
    # X and y are checked above, once: every step takes the unchecked path of the network.
    # A diverging run overflows before its loss is inf; the checks below turn that into one
    # clear error instead of a stream of RuntimeWarnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch, order in enumerate(orders):
            _train_epoch(network, optimizer, X, y, order, batch, epoch, history, params)
            if progress is not None:
                progress(epoch, history.loss[-1])
    return history


def _train_epoch(
    network: Sequential,
    optimizer: Optimizer,
    X: Array,
    y: Array,
    order: NDArray[np.int64],
    batch: int,
    epoch: int,
    history: History,
    params: dict[str, Array],
) -> None:
    """One pass over ``order`` in batches; appends the epoch loss (the batch losses'
    mean weighted by batch size) to ``history``."""
    total = 0.0
    for step, start in enumerate(range(0, len(order), batch)):
        if batch == 1:  # one sample: a view of its row, not a gathered copy (same values)
            i = order[start]
            Xb, yb = X[i : i + 1], y[i : i + 1]
        else:
            idx = order[start : start + batch]
            Xb, yb = X[idx], y[idx]
        loss, grads = network._loss_and_gradients(Xb, yb)
        value = float(loss)
        if not math.isfinite(value):
            raise TrainingDivergedError(epoch, step, value)
        # the first step of a fit checks names, shapes and dtypes; they cannot change after it
        optimizer.step(params, grads, validate=optimizer.iterations == 0)
        total += value * len(yb)
    history.loss.append(total / len(order))
    # The loss above is checked before each update, so the last update of the epoch (the
    # last of the run, in particular) is checked here: its parameters must be finite.
    bad = [name for name, p in params.items() if not np.isfinite(p).all()]
    if bad:
        raise TrainingDivergedError(epoch, step, float("nan"), after_update=True, names=bad)
