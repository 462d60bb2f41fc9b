"""The parity matrix: hidden activation x loss x optimizer formulation x dtype, the saturated
cross-entropy cases, one case per layer-kind variant and dtype, and seeded random
architectures (dense stacks and CNNs)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from parity_tests.cases.case import DTYPES, Case
from parity_tests.cases.layer_variants import BN_KERAS, BN_TORCH, FLAT, LAYER_VARIANTS, layer
from parity_tests.cases.variants import HIDDEN, LOSS_VARIANTS, OPTIMIZER_VARIANTS
from reference_nn import LayerSpec, NetworkSpec

__all__ = ["DTYPES", "HIDDEN", "LAYER_VARIANTS", "LOSS_VARIANTS", "OPTIMIZER_VARIANTS", "Case"]


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


# ---------------------------------------------------------------- saturated outputs
# label -> (loss, loss options, output activation): the cross-entropy conventions that a
# saturated output tells apart, each run only by the frameworks that compute it.  The
# probability forms of bce are left out: their gradient goes through 1 - p of a rounded
# sigmoid, which carries a relative error of eps / (1 - p) (torch against the reference:
# 8e-10 in float64 on these cases), and at the float32 clip bound jnp.clip's gradient is 1/2
# where tf.clip_by_value's (and the reference's) is 1.
SATURATED_LOSSES: dict[str, tuple[str, dict[str, Any], str]] = {
    "cce_logits_convention": ("cce", {"convention": "logits"}, "softmax"),  # Keras, TensorFlow
    "cce_keras": ("cce", {"convention": "keras"}, "softmax"),  # Keras on JAX, torch; JAX
    "bce_logits_convention": ("bce", {"clip": "logits"}, "sigmoid"),  # Keras, TensorFlow
}

# label -> (optimizer, options): rates small enough that 20 steps on gradients of inputs of
# scale SATURATED_INPUT_SCALE leave the outputs saturated (lr 0.1 moves the scores by
# hundreds a step, and the case measures a chaotic trajectory instead of the losses).  No
# Adam: a dead relu unit's bias gradient is rounding noise near epsilon, which Adam turns
# into a step of lr * noise / (|noise| + eps) (float32 step_1 off by 2.5e-4).
SATURATED_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {"lr": 1e-4}),
    "momentum_keras": ("sgd", {"lr": 1e-4, "momentum": 0.9, "convention": "keras"}),
    "momentum_torch": ("sgd", {"lr": 1e-4, "momentum": 0.9, "convention": "torch"}),
}

# inputs of this scale give scores of ~100: float32 probabilities round to exactly 0 and 1,
# float64 ones to 1 (the other classes 1e-40 and less)
SATURATED_INPUT_SCALE = 60.0


def saturated_case(loss: str, optimizer: str, dtype: str, seed: int = 0) -> Case:
    """A relu network whose outputs are saturated (confident and often wrong: losses of tens
    per sample): one of ``SATURATED_LOSSES`` with one of ``SATURATED_OPTIMIZERS``."""
    loss_name, loss_options, out_act = SATURATED_LOSSES[loss]
    opt_name, opt_params = SATURATED_OPTIMIZERS[optimizer]
    spec = NetworkSpec(
        input_shape=3,
        layers=(LayerSpec.dense(5, "relu"), LayerSpec.dense(3, out_act)),
        loss=loss_name,
        loss_options=loss_options,
        optimizer=opt_name,
        optimizer_options=opt_params,
        dtype=dtype,
    )
    name = f"saturated-{loss}-{optimizer}-{dtype}"
    return Case(name, spec, seed, input_scale=SATURATED_INPUT_SCALE)


def saturated_cases() -> list[Case]:
    """Every saturated loss convention x optimizer x dtype.  Not part of :func:`matrix`,
    whose cases the baseline rebuilds by their four-part names."""
    return [
        saturated_case(loss, opt, dtype, seed=500 + i)
        for i, (loss, opt, dtype) in enumerate(
            itertools.product(SATURATED_LOSSES, SATURATED_OPTIMIZERS, DTYPES)
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


def layer_case(name: str, dtype: str, seed: int = 0) -> Case:
    """One of ``LAYER_VARIANTS`` in ``dtype``: mse on sigmoid outputs (or the conv's own
    output), 8 samples, batches of 4, 20 steps."""
    shape, layers, optimizer = LAYER_VARIANTS[name]
    opt_name, opt_params = OPTIMIZER_VARIANTS[optimizer]
    spec = NetworkSpec(
        shape, layers, loss="mse", optimizer=opt_name, optimizer_options=opt_params, dtype=dtype
    )
    return Case(f"{name}-{optimizer}-{dtype}", spec, seed)


def layer_cases() -> list[Case]:
    """Every layer variant in every dtype."""
    return [
        layer_case(name, dtype, seed=100 + i)
        for i, (name, dtype) in enumerate(itertools.product(LAYER_VARIANTS, DTYPES))
    ]


def random_layer_case(seed: int, dtype: str = "float64") -> Case:
    """A seeded random CNN mixing the layer kinds with dense: conv2d (random kernel, strides
    or dilation, padding, bias, activation), then maybe batchnorm, a pooling layer, dropout,
    a second convolution, then flatten, maybe layernorm, dense layers and a loss and optimizer
    from the matrix.  Its name lists its kinds, so ``--filter conv2d`` selects it."""
    rng = np.random.default_rng(10_000 + seed)
    shape = (int(rng.integers(4, 9)), int(rng.integers(4, 9)), int(rng.integers(1, 4)))
    loss = str(rng.choice(list(LOSS_VARIANTS)))
    loss_name, loss_options, out_act = LOSS_VARIANTS[loss]
    opt = str(rng.choice(list(OPTIMIZER_VARIANTS)))
    opt_name, opt_params = OPTIMIZER_VARIANTS[opt]
    convention = opt_params.get("convention") or str(rng.choice(["torch", "keras"]))
    hidden = str(rng.choice(list(HIDDEN)))

    def conv() -> LayerSpec:
        stride = int(rng.integers(1, 3))
        dilation = 1 if stride > 1 else int(rng.integers(1, 3))
        return layer(
            "conv2d",
            filters=int(rng.integers(1, 5)),
            kernel_size=[int(k) for k in rng.integers(1, 4, size=2)],
            strides=stride,
            dilation_rate=dilation,
            padding="same",
            use_bias=bool(rng.integers(0, 2)),
            activation=hidden,
            activation_options=HIDDEN[hidden],
        )

    layers = [conv()]
    if rng.random() < 0.5:
        if hidden == "identity":  # a bias right before batchnorm has gradient exactly 0
            layers[0] = LayerSpec("conv2d", {**layers[0].options, "use_bias": False})
        layers.append(layer("batchnorm", **(BN_TORCH if convention == "torch" else BN_KERAS)))
    if rng.random() < 0.6:
        kind = str(rng.choice(["maxpool2d", "avgpool2d"]))
        layers.append(layer(kind, pool_size=int(rng.integers(2, 4)), padding="same"))
    if rng.random() < 0.4:
        layers.append(layer("dropout", rate=float(rng.choice([0.2, 0.5])), seed=seed))
    if rng.random() < 0.4:
        layers.append(conv())
    layers.append(FLAT)
    flat_size = NetworkSpec(shape, tuple(layers)).output_shape[0]
    # over a single value layernorm's output is beta: gamma's gradient is exactly 0, and
    # comparing rounding noise with 0 measures nothing
    if rng.random() < 0.4 and flat_size > 1:
        layers.append(layer("layernorm", epsilon=float(rng.choice([1e-5, 1e-3]))))
    widths = [int(w) for w in rng.integers(1, 9, size=2)]
    if out_act == "softmax" or loss_name == "cce_logits":
        widths[-1] = max(widths[-1], 2)
    if rng.random() < 0.5:
        layers.append(LayerSpec.dense(widths[0], hidden, HIDDEN[hidden]))
    layers.append(LayerSpec.dense(widths[1], out_act))
    spec = NetworkSpec(
        shape,
        tuple(layers),
        loss=loss_name,
        loss_options=loss_options,
        optimizer=opt_name,
        # sum losses (sse, half_sse) take a tenth of the rate: a CNN with batchnorm under the
        # shared rates oscillates (loss 25 -> 8 -> 22 ...) and multiplies rounding by ~3 a
        # step, which measures the trajectory's conditioning, not the implementations
        optimizer_options=_scaled_lr("sse" if "sse" in loss_name else loss_name, opt_params),
        dtype=dtype,
    )
    n = int(rng.integers(2, 13))
    kinds = "-".join(lay.kind for lay in spec.layers if lay.kind not in ("flatten", "dense"))
    name = f"random-layers{seed}-{kinds}-{hidden}-{loss}-{opt}-{dtype}"
    return Case(name, spec, seed, n_samples=n, batch_size=int(rng.integers(2, n + 1)), steps=20)


N_RANDOM_LAYERS = 10  # seeded random CNNs per dtype in the parity suite


def parity_cases() -> list[Case]:
    """Every case the parity suite runs: the matrix (dense networks), one case per layer-kind
    variant and dtype, and the seeded random CNNs."""
    randoms = [random_layer_case(s, d) for s in range(N_RANDOM_LAYERS) for d in DTYPES]
    return matrix() + layer_cases() + randoms
