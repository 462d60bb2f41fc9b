"""The parity matrix: hidden activation x loss x optimizer formulation x dtype, plus seeded
random architectures.  A case is a spec, a seed for data and weights, and a batch schedule;
``materialize`` turns it into arrays that all three implementations receive unchanged."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import ACTIVATIONS, LayerSpec, NetworkSpec, epoch_orders
from reference_nn.losses import random_targets

from . import registry
from .adapter import Array, Params

# Every elementwise activation, with the options its class names for the matrix (softmax is an
# output activation: the cce losses exercise it).
HIDDEN: dict[str, dict[str, float]] = {
    name: dict(cls.example_options) for name, cls in ACTIVATIONS.items() if cls.elementwise
}

# label -> (loss, loss options, output activation)
LOSS_VARIANTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "mse": ("mse", {}, "sigmoid"),
    "sse": ("sse", {}, "identity"),
    "half_sse": ("half_sse", {}, "tanh"),
    "bce": ("bce", {"clip": "none"}, "sigmoid"),
    "logistic": ("logistic", {}, "sigmoid"),
    "bce_logits": ("bce_logits", {}, "identity"),
    "cce": ("cce", {}, "softmax"),
    "cce_logits": ("cce_logits", {}, "identity"),
}

# label -> (optimizer, options)
OPTIMIZER_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {"lr": 0.1}),
    "momentum_torch": ("sgd", {"lr": 0.05, "momentum": 0.9, "convention": "torch"}),
    "nesterov_torch": (
        "sgd",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "convention": "torch"},
    ),
    "momentum_keras": ("sgd", {"lr": 0.05, "momentum": 0.9, "convention": "keras"}),
    "nesterov_keras": (
        "sgd",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "convention": "keras"},
    ),
    "rmsprop_torch": ("rmsprop", {"lr": 0.01, "convention": "torch"}),
    "rmsprop_keras": ("rmsprop", {"lr": 0.01, "convention": "keras"}),
    "adam_torch": ("adam", {"lr": 0.01, "convention": "torch"}),
    "adam_keras": ("adam", {"lr": 0.01, "convention": "keras"}),
}

DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Case:
    name: str
    spec: NetworkSpec
    seed: int
    n_samples: int = 8
    batch_size: int = 4
    steps: int = 20

    def materialize(self) -> tuple[Array, Array, Params, list[NDArray[np.int64]]]:
        """Inputs, targets, initial parameters and the batch index sequence."""
        rng = np.random.default_rng(self.seed)
        dtype = self.spec.np_dtype
        # Inputs of scale 0.5 keep deep random stacks out of float32 sigmoid saturation
        # (p rounding to exactly 1), where the plain BCE formula is undefined.
        X = rng.normal(scale=0.5, size=(self.n_samples, *self.spec.input_shape))
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
        return X.astype(dtype), y.astype(dtype), params, batches

    def frameworks(self) -> dict[str, str | None]:
        """framework -> None if it runs this case, else the reason it cannot (every registered
        framework but the reference)."""
        return {
            name: registry.get(name).unsupported(self.spec)
            for name in registry.names(include_reference=False)
        }


def matrix_case(hidden: str, loss: str, optimizer: str, dtype: str, seed: int = 0) -> Case:
    loss_name, loss_options, out_act = LOSS_VARIANTS[loss]
    opt_name, opt_params = OPTIMIZER_VARIANTS[optimizer]
    opt_params = _scaled_lr(loss_name, opt_params)
    spec = NetworkSpec(
        input_shape=3,
        layers=(LayerSpec.dense(5, hidden, HIDDEN[hidden]), LayerSpec.dense(3, out_act)),
        loss=loss_name,
        loss_options=loss_options,
        optimizer=opt_name,
        optimizer_options=opt_params,
        dtype=dtype,
    )
    return Case(f"{hidden}-{loss}-{optimizer}-{dtype}", spec, seed)


def _scaled_lr(loss: str, opt_params: dict[str, Any]) -> dict[str, Any]:
    # sse sums over the batch and an identity output is unbounded: with the shared learning
    # rates it diverges within 20 steps, which tests nothing.  A tenth keeps it finite.
    return {**opt_params, "lr": opt_params["lr"] * 0.1} if loss == "sse" else opt_params


def matrix() -> list[Case]:
    """Every hidden activation x loss x optimizer formulation x dtype."""
    return [
        matrix_case(h, loss, opt, dtype, seed=i)
        for i, (h, loss, opt, dtype) in enumerate(
            itertools.product(HIDDEN, LOSS_VARIANTS, OPTIMIZER_VARIANTS, DTYPES)
        )
    ]


def random_case(seed: int, dtype: str = "float64") -> Case:
    """A seeded random architecture: depth 1-4, widths 1-16, batch 1-32, biases on or off."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    loss = str(rng.choice(list(LOSS_VARIANTS)))
    loss_name, loss_options, out_act = LOSS_VARIANTS[loss]
    widths = [int(w) for w in rng.integers(1, 17, size=depth + 1)]
    if out_act == "softmax" or loss_name == "cce_logits":
        widths[-1] = max(widths[-1], 2)
    hidden = str(rng.choice(list(HIDDEN)))
    layers = tuple(
        LayerSpec.dense(
            widths[i + 1],
            hidden if i < depth - 1 else out_act,
            HIDDEN[hidden] if i < depth - 1 else {},
            use_bias=bool(rng.integers(0, 2)),
        )
        for i in range(depth)
    )
    opt = str(rng.choice(list(OPTIMIZER_VARIANTS)))
    opt_name, opt_params = OPTIMIZER_VARIANTS[opt]
    opt_params = _scaled_lr(loss_name, opt_params)
    spec = NetworkSpec(
        widths[0],
        layers,
        loss=loss_name,
        loss_options=loss_options,
        optimizer=opt_name,
        optimizer_options=opt_params,
        dtype=dtype,
    )
    n = int(rng.integers(1, 33))
    name = f"random{seed}-{'-'.join(map(str, widths))}-{hidden}-{loss}-{opt}-{dtype}"
    return Case(name, spec, seed, n_samples=n, batch_size=int(rng.integers(1, n + 1)), steps=20)
