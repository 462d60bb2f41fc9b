"""The layer kinds' parity cases: for each variant (its name starts with the kind it is about),
an input shape, the layers, and an optimizer variant of :data:`.variants.OPTIMIZER_VARIANTS`.
A new layer kind adds its variants here: they are its entry's sample inputs
(:mod:`.catalog`)."""

from __future__ import annotations

from typing import Any

from reference_nn import LayerSpec


def layer(kind: str, **options: Any) -> LayerSpec:
    return LayerSpec(kind, options)


def _conv(kind: str = "conv2d", filters: int = 3, **options: Any) -> LayerSpec:
    return layer(kind, filters=filters, activation=options.pop("activation", "tanh"), **options)


def _rnn(kind: str, units: int = 4, **options: Any) -> LayerSpec:
    return layer(kind, units=units, **options)


FLAT = layer("flatten")
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
        (_conv(kernel_size=3, padding="same"), layer("maxpool2d", pool_size=2), FLAT, HEAD),
        "sgd",
    ),
    "maxpool2d-same-stride2-overlapping": (
        (7, 7, 2),
        (
            _conv(kernel_size=2),
            layer("maxpool2d", pool_size=3, strides=2, padding="same"),
            FLAT,
            HEAD,
        ),
        "sgd",
    ),
    "avgpool2d-valid": (
        (6, 6, 2),
        (_conv(kernel_size=3, padding="same"), layer("avgpool2d", pool_size=[2, 3]), FLAT, HEAD),
        "sgd",
    ),
    "avgpool2d-same-border": (
        (5, 5, 2),
        (
            _conv(kernel_size=2, padding="same"),
            layer("avgpool2d", pool_size=2, padding="same"),
            FLAT,
            HEAD,
        ),
        "adam_keras",
    ),
    "flatten-after-conv2d": ((4, 3, 3), (_conv(kernel_size=1, filters=2), FLAT, HEAD), "sgd"),
    "batchnorm-dense-torch": (
        (3,),
        (LayerSpec.dense(4, "tanh"), layer("batchnorm", **BN_TORCH), HEAD),
        "sgd",
    ),
    "batchnorm-dense-keras": (
        (3,),
        (LayerSpec.dense(4, "tanh"), layer("batchnorm", **BN_KERAS), HEAD),
        "sgd",
    ),
    "batchnorm-conv2d-torch-momentum0.3": (
        (5, 5, 2),
        (_conv(kernel_size=3), layer("batchnorm", momentum=0.3, **BN_TORCH), FLAT, HEAD),
        "sgd",
    ),
    "batchnorm-conv2d-keras-momentum0.9": (
        (5, 5, 2),
        (_conv(kernel_size=3), layer("batchnorm", momentum=0.9, **BN_KERAS), FLAT, HEAD),
        "sgd",
    ),
    "layernorm-dense": (
        (3,),
        (LayerSpec.dense(5, "tanh"), layer("layernorm", epsilon=1e-5), HEAD),
        "adam_torch",
    ),
    "layernorm-conv2d": (
        (4, 4, 2),
        (_conv(kernel_size=3, padding="same"), layer("layernorm", epsilon=1e-3), FLAT, HEAD),
        "sgd",
    ),
    "dropout-dense": (
        (3,),
        (LayerSpec.dense(6, "tanh"), layer("dropout", rate=0.3, seed=5), HEAD),
        "sgd",
    ),
    "dropout-conv2d": (
        (4, 4, 2),
        (_conv(kernel_size=3, padding="same"), layer("dropout", rate=0.5, seed=9), FLAT, HEAD),
        "adam_keras",
    ),
    "embedding-flatten": (
        (4,),
        (layer("embedding", input_dim=7, output_dim=3), FLAT, HEAD),
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
        (layer("attention", num_heads=2, key_dim=3, causal=True), FLAT, HEAD),
        "sgd",
    ),
    "attention-last": (
        (5, 4),
        (layer("attention", num_heads=2, key_dim=2, return_sequences=False), HEAD),
        "momentum_torch",
    ),
    "attention-causal-key_dim3-of-4": (  # Keras only: torch needs heads * key_dim == D
        (4, 4),
        (layer("attention", num_heads=2, key_dim=3, causal=True, return_sequences=False), HEAD),
        "sgd",
    ),
    "embedding-layernorm": (
        (5,),
        (
            layer("embedding", input_dim=4, output_dim=3),
            layer("layernorm", epsilon=1e-5),
            FLAT,
            HEAD,
        ),
        "adam_torch",
    ),
}
