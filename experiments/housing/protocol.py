"""The published protocol (DESIGN.md, "The housing protocol"), as data.

California housing; MedInc, AveRooms and the target scaled together by min-max over all
20,640 rows; the first 10,000 rows; ``train_test_split(test_size=0.33, random_state=42)``;
a 2-3-1 sigmoid network with biases, every weight and bias drawn from U[0, 1); per-sample SGD
with learning rate 0.05 on the loss ``(y - y_hat)^2``; 100 epochs, samples in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference_nn import LayerSpec, NetworkSpec, epoch_orders
from reference_nn.data import HousingSplit, housing_protocol, load_california_housing

EPOCHS = 100
LEARNING_RATE = 0.05


def housing_spec(dtype: str = "float64", lr: float = LEARNING_RATE) -> NetworkSpec:
    """2-3-1, sigmoid on both layers, U[0, 1) weights and biases, per-sample MSE, plain SGD.

    For one output, ``mse`` of a single sample is exactly ``(y - y_hat)^2``.
    """
    return NetworkSpec(
        input_dim=2,
        layers=(LayerSpec(3, "sigmoid"), LayerSpec(1, "sigmoid")),
        loss="mse",
        optimizer="sgd",
        optimizer_params={"lr": lr},
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
    return HousingProblem(split, spec, initial, orders, housing.source)
