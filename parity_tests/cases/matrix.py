"""The parity matrix: hidden activation x loss x optimizer formulation x dtype, plus seeded
random architectures.  A case is a spec, a seed for data and weights, and a batch schedule;
``materialize`` turns it into arrays that all three implementations receive unchanged."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from parity_tests.harness import registry
from parity_tests.harness.protocol import Array, Params
from reference_nn import ACTIVATIONS, LayerSpec, NetworkSpec, epoch_orders
from reference_nn.losses import random_targets

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

    def frameworks(self) -> dict[str, str | None]:
        """framework -> None if it runs this case, else the reason it cannot (every registered
        framework but the reference)."""
        return {
            name: registry.get(name).refusal(self.spec)
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


# ---------------------------------------------------------------- layer kinds beyond dense
def _layer(kind: str, **options: Any) -> LayerSpec:
    return LayerSpec(kind, options)


def _conv(kind: str = "conv2d", filters: int = 3, **options: Any) -> LayerSpec:
    return _layer(kind, filters=filters, activation=options.pop("activation", "tanh"), **options)


def _rnn(kind: str, units: int = 4, **options: Any) -> LayerSpec:
    return _layer(kind, units=units, **options)


FLAT = _layer("flatten")
HEAD = LayerSpec.dense(2, "sigmoid")  # every layer case ends flatten -> dense(2) under mse
BN_TORCH = {"convention": "torch", "epsilon": 1e-5}
BN_KERAS = {"convention": "keras", "epsilon": 1e-3}

# name (starting with the kind it is about) -> (input shape, layers, optimizer variant)
LAYER_VARIANTS: dict[str, tuple[tuple[int, ...], tuple[LayerSpec, ...], str]] = {
    "conv2d-valid": ((6, 6, 2), (_conv(kernel_size=3), FLAT, HEAD), "sgd"),
    "conv2d-same-stride2-asymmetric": (
        (7, 6, 2),
        (_conv(kernel_size=3, strides=2, padding="same", use_bias=False), FLAT, HEAD),
        "adam_torch",
    ),
    "conv2d-same-dilation2": (
        (6, 7, 2),
        (_conv(kernel_size=[2, 3], dilation_rate=2, padding="same"), FLAT, HEAD),
        "adam_keras",
    ),
    "conv2d-valid-strides2x1-nobias": (
        (7, 5, 3),
        (_conv(kernel_size=[3, 2], strides=[2, 1], use_bias=False, activation="relu"), FLAT, HEAD),
        "sgd",
    ),
    "conv2d-same-stride2-dilation2": (  # Keras refuses (with its reason); torch runs it
        (8, 8, 1),
        (_conv(kernel_size=2, strides=2, dilation_rate=2, padding="same"), FLAT, HEAD),
        "sgd",
    ),
    "conv2d-output-flattened": (  # no dense: the output is the conv's, in NHWC order
        (5, 5, 2),
        (_conv(kernel_size=3, padding="same", strides=2, activation="identity"), FLAT),
        "sgd",
    ),
    "conv1d-valid": ((9, 2), (_conv("conv1d", kernel_size=3), FLAT, HEAD), "sgd"),
    "conv1d-same-stride2": (
        (8, 3),
        (_conv("conv1d", kernel_size=4, strides=2, padding="same"), FLAT, HEAD),
        "adam_torch",
    ),
    "conv1d-same-dilation3-nobias": (
        (7, 2),
        (
            _conv("conv1d", kernel_size=3, dilation_rate=3, padding="same", use_bias=False),
            FLAT,
            HEAD,
        ),
        "sgd",
    ),
    "maxpool2d-valid": (
        (6, 6, 2),
        (_conv(kernel_size=3, padding="same"), _layer("maxpool2d", pool_size=2), FLAT, HEAD),
        "sgd",
    ),
    "maxpool2d-same-stride2-overlapping": (
        (7, 7, 2),
        (
            _conv(kernel_size=2),
            _layer("maxpool2d", pool_size=3, strides=2, padding="same"),
            FLAT,
            HEAD,
        ),
        "sgd",
    ),
    "avgpool2d-valid": (
        (6, 6, 2),
        (_conv(kernel_size=3, padding="same"), _layer("avgpool2d", pool_size=[2, 3]), FLAT, HEAD),
        "sgd",
    ),
    "avgpool2d-same-border": (
        (5, 5, 2),
        (
            _conv(kernel_size=2, padding="same"),
            _layer("avgpool2d", pool_size=2, padding="same"),
            FLAT,
            HEAD,
        ),
        "adam_keras",
    ),
    "flatten-after-conv2d": ((4, 3, 3), (_conv(kernel_size=1, filters=2), FLAT, HEAD), "sgd"),
    "batchnorm-dense-torch": (
        (3,),
        (LayerSpec.dense(4, "tanh"), _layer("batchnorm", **BN_TORCH), HEAD),
        "sgd",
    ),
    "batchnorm-dense-keras": (
        (3,),
        (LayerSpec.dense(4, "tanh"), _layer("batchnorm", **BN_KERAS), HEAD),
        "sgd",
    ),
    "batchnorm-conv2d-torch-momentum0.3": (
        (5, 5, 2),
        (_conv(kernel_size=3), _layer("batchnorm", momentum=0.3, **BN_TORCH), FLAT, HEAD),
        "sgd",
    ),
    "batchnorm-conv2d-keras-momentum0.9": (
        (5, 5, 2),
        (_conv(kernel_size=3), _layer("batchnorm", momentum=0.9, **BN_KERAS), FLAT, HEAD),
        "sgd",
    ),
    "layernorm-dense": (
        (3,),
        (LayerSpec.dense(5, "tanh"), _layer("layernorm", epsilon=1e-5), HEAD),
        "adam_torch",
    ),
    "layernorm-conv2d": (
        (4, 4, 2),
        (_conv(kernel_size=3, padding="same"), _layer("layernorm", epsilon=1e-3), FLAT, HEAD),
        "sgd",
    ),
    "dropout-dense": (
        (3,),
        (LayerSpec.dense(6, "tanh"), _layer("dropout", rate=0.3, seed=5), HEAD),
        "sgd",
    ),
    "dropout-conv2d": (
        (4, 4, 2),
        (_conv(kernel_size=3, padding="same"), _layer("dropout", rate=0.5, seed=9), FLAT, HEAD),
        "adam_keras",
    ),
    "embedding-flatten": (
        (4,),
        (_layer("embedding", input_dim=7, output_dim=3), FLAT, HEAD),
        "sgd",
    ),
    "simple_rnn-keras-sequences": (
        (5, 3),
        (_rnn("simple_rnn", convention="keras", return_sequences=True), FLAT, HEAD),
        "sgd",
    ),
    "simple_rnn-torch-last": ((5, 3), (_rnn("simple_rnn", convention="torch"), HEAD), "adam_torch"),
    "lstm-keras-last": ((6, 3), (_rnn("lstm", convention="keras"), HEAD), "sgd"),
    "lstm-keras-sequences": (
        (4, 2),
        (_rnn("lstm", units=3, convention="keras", return_sequences=True), FLAT, HEAD),
        "adam_keras",
    ),
    "lstm-torch-sequences": (
        (5, 2),
        (_rnn("lstm", units=3, convention="torch", return_sequences=True), FLAT, HEAD),
        "adam_torch",
    ),
    "gru-reset_after-sequences": (
        (5, 3),
        (_rnn("gru", reset_after=True, return_sequences=True), FLAT, HEAD),
        "sgd",
    ),
    "gru-reset_after-last": ((6, 2), (_rnn("gru", reset_after=True), HEAD), "adam_keras"),
    "gru-reset_before-last": (  # Keras only; torch refuses with its reason
        (5, 3),
        (_rnn("gru", reset_after=False), HEAD),
        "sgd",
    ),
    # attention: SGD and momentum only; Adam turns the key bias's rounding-noise gradient into
    # steps of ~lr * noise / eps (see reference_nn/layers/attention.py)
    "attention-causal-sequences": (
        (4, 6),
        (_layer("attention", num_heads=2, key_dim=3, causal=True), FLAT, HEAD),
        "sgd",
    ),
    "attention-last": (
        (5, 4),
        (_layer("attention", num_heads=2, key_dim=2, return_sequences=False), HEAD),
        "momentum_torch",
    ),
    "attention-causal-key_dim3-of-4": (  # Keras only: torch needs heads * key_dim == D
        (4, 4),
        (_layer("attention", num_heads=2, key_dim=3, causal=True, return_sequences=False), HEAD),
        "sgd",
    ),
    "embedding-layernorm": (
        (5,),
        (
            _layer("embedding", input_dim=4, output_dim=3),
            _layer("layernorm", epsilon=1e-5),
            FLAT,
            HEAD,
        ),
        "adam_torch",
    ),
}


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
        return _layer(
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
        layers.append(_layer("batchnorm", **(BN_TORCH if convention == "torch" else BN_KERAS)))
    if rng.random() < 0.6:
        kind = str(rng.choice(["maxpool2d", "avgpool2d"]))
        layers.append(_layer(kind, pool_size=int(rng.integers(2, 4)), padding="same"))
    if rng.random() < 0.4:
        layers.append(_layer("dropout", rate=float(rng.choice([0.2, 0.5])), seed=seed))
    if rng.random() < 0.4:
        layers.append(conv())
    layers.append(FLAT)
    flat_size = NetworkSpec(shape, tuple(layers)).output_shape[0]
    # over a single value layernorm's output is beta: gamma's gradient is exactly 0, and
    # comparing rounding noise with 0 measures nothing
    if rng.random() < 0.4 and flat_size > 1:
        layers.append(_layer("layernorm", epsilon=float(rng.choice([1e-5, 1e-3]))))
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
