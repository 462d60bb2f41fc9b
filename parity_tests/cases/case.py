"""A parity case: a spec, a seed for data and weights, and a batch schedule; ``materialize``
turns it into arrays that every framework receives unchanged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from parity_tests.harness import registry
from parity_tests.harness.protocol import Array, Params
from reference_nn import NetworkSpec, epoch_orders
from reference_nn.losses import random_targets

DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Case:
    name: str
    spec: NetworkSpec
    seed: int
    n_samples: int = 8
    batch_size: int = 4
    steps: int = 20
    # Inputs of scale 0.5 keep deep random stacks out of float32 sigmoid saturation (p
    # rounding to exactly 1), where the plain BCE formula is undefined; the saturated cases
    # (saturated_cases) ask for it.
    input_scale: float = 0.5

    def materialize(self) -> tuple[Array, Array, Params, list[NDArray[np.int64]]]:
        """Inputs, targets, initial parameters and the batch index sequence."""
        rng = np.random.default_rng(self.seed)
        dtype = self.spec.np_dtype
        X = rng.normal(scale=self.input_scale, size=(self.n_samples, *self.spec.input_shape))
        first = self.spec.build_layers()[0]
        if getattr(first, "integer_input", False):  # an embedding: indices, kept integer
            X = rng.integers(0, first.input_dim, size=(self.n_samples, *self.spec.input_shape))
        y = random_targets(self.spec.loss, rng, (self.n_samples, *self.spec.output_shape))
        params = self.spec.init_parameters(rng)
        per_epoch = -(-self.n_samples // self.batch_size)
        epochs = -(-self.steps // per_epoch)
        orders = epoch_orders(self.n_samples, epochs, "shuffled", seed=self.seed)
        batches = [
            order[i : i + self.batch_size]
            for order in orders
            for i in range(0, self.n_samples, self.batch_size)
        ][: self.steps]
        if X.dtype.kind == "f":
            X = X.astype(dtype)
        return X, y.astype(dtype), params, batches

    def refusal_by_framework(self) -> dict[str, str | None]:
        """framework -> None if it runs this case, else the reason it cannot (every registered
        framework but the reference)."""
        return {
            name: registry.get(name).refusal(self.spec)
            for name in registry.names(include_reference=False)
        }
