"""Reference layer kinds and activations in Keras 3: for each kind, the Keras layer that
computes it and the names of its variables (Keras' layouts: ``Dense.kernel`` is ``(n_in,
n_out)``, as in the reference); for each activation, the ``keras.activations`` function.  A new
layer kind is one entry in ``LAYERS``, a new activation one entry in ``ACTIVATIONS`` (the
converters read it backwards: :mod:`.converters`).  Only ``keras`` APIs are used here, so the
tables serve every Keras backend; the adapter is :mod:`.adapter`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity_tests.harness import loaders
from reference_nn import get_activation
from reference_nn.layers.dropout import dropout_mask


@dataclass(frozen=True)
class KerasActivation:
    """A reference activation as the Keras activation ``name``, its options by keyword."""

    name: str  # keras.activations.<name>: what a layer's ``activation=`` takes
    # reference option -> the Keras function's keyword ("alpha" -> "negative_slope")
    keywords: dict[str, str] = field(default_factory=dict)

    def build(self, reference: str, options: Mapping[str, float]) -> Any:
        """A layer's ``activation=`` argument for ``reference(**options)``: the name, or the
        function with the options resolved by the reference (its defaults filled in)."""
        if not self.keywords:
            return self.name
        resolved = get_activation(reference, **options).options()
        kwargs = {keyword: resolved[option] for option, keyword in self.keywords.items()}
        function = getattr(loaders.keras().activations, self.name)
        return lambda x: function(x, **kwargs)


# reference activation -> its Keras activation
ACTIVATIONS: dict[str, KerasActivation] = {
    "identity": KerasActivation("linear"),
    "sigmoid": KerasActivation("sigmoid"),
    "tanh": KerasActivation("tanh"),
    "relu": KerasActivation("relu"),
    # TF takes the slope as a float32 attribute: exact only for float32-representable alphas
    "leaky_relu": KerasActivation("leaky_relu", {"alpha": "negative_slope"}),
    "elu": KerasActivation("elu", {"alpha": "alpha"}),
    "softplus": KerasActivation("softplus"),
    "softmax": KerasActivation("softmax"),
}


def activation(name: str, options: Mapping[str, float]) -> Any:
    """A layer's ``activation=`` argument for the reference activation ``name(**options)``."""
    return ACTIVATIONS[name].build(name, options)


@dataclass(frozen=True)
class KerasLayer:
    """How one reference layer kind is built in Keras and how its parameters translate."""

    build: Callable[[Any, dict[str, Any], Any, str], Any]  # (keras, options, regularizer, dtype)
    # reference parameter name -> Keras attribute ("W" -> "kernel"; a dotted path reaches into
    # a sublayer: "cell.kernel")
    names: dict[str, str]
    # reference state name -> Keras non-trainable variable ("running_mean" -> "moving_mean")
    state_names: dict[str, str] = field(default_factory=dict)
    # options -> None, or what Keras cannot compute (the adapter refuses the spec with it)
    refusal: Callable[[dict[str, Any]], str | None] = lambda options: None
    # True: the layer reads host data per call (dropout masks), so steps run eagerly
    host_per_call: bool = False


def _dense(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return keras.layers.Dense(
        options["units"],
        activation=activation(options["activation"], options["activation_options"]),
        use_bias=options["use_bias"],
        kernel_regularizer=regularizer,
        dtype=dtype,  # explicit: after one float64 model, later layers no longer follow floatx
    )


def _axes(value: Any, rank: int) -> tuple[int, ...]:
    """An option given as one int (or a 1-list) for every spatial axis, as ``rank`` ints."""
    values = tuple(value) if isinstance(value, tuple | list) else (value,)
    return values * rank if len(values) == 1 else values


def _conv(name: str) -> Callable[..., Any]:
    rank = 1 if name == "Conv1D" else 2

    def build(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
        return getattr(keras.layers, name)(
            options["filters"],
            _axes(options["kernel_size"], rank),
            strides=_axes(options["strides"], rank),
            padding=options["padding"],  # TensorFlow's rule, as the reference
            dilation_rate=_axes(options["dilation_rate"], rank),
            use_bias=options["use_bias"],
            activation=activation(options["activation"], options["activation_options"]),
            kernel_regularizer=regularizer,
            dtype=dtype,
        )

    return build


def _conv_refusal(options: dict[str, Any]) -> str | None:
    if np.max(options["strides"]) > 1 and np.max(options["dilation_rate"]) > 1:
        return "strides > 1 together with dilation_rate > 1 (Keras' Conv layers refuse it)"
    return None


def _pool(name: str) -> Callable[..., Any]:
    def build(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
        strides = options["strides"]
        return getattr(keras.layers, name)(
            pool_size=_axes(options["pool_size"], 2),
            strides=None if strides in (0, (0,)) else _axes(strides, 2),  # None: the pool size
            padding=options["padding"],
            dtype=dtype,
        )

    return build


def _flatten(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return keras.layers.Flatten(dtype=dtype)


@functools.cache
def _torch_running_statistics() -> type:
    """Keras' ``BatchNormalization`` (its normalisation and its gradient, unchanged) with
    torch's running-statistics update written in Keras ops: ``momentum`` is the new batch's
    weight and the batch variance enters unbiased, ``var * M / (M - 1)``.  Keras' own layer
    computes the Keras convention (``test_layer_known_differences`` shows both); this one lets
    a network with ``convention="torch"`` run in Keras too, from the same weights."""
    keras = loaders.keras()
    ops = keras.ops

    class TorchRunningStatistics(keras.layers.BatchNormalization):  # type: ignore[misc, name-defined]
        def __init__(self, torch_momentum: float, **kwargs: Any) -> None:
            # momentum 1: Keras' own update keeps the moving values (v * 1 + batch * 0)
            super().__init__(momentum=1.0, **kwargs)
            self.torch_momentum = torch_momentum

        def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
            out = super().call(inputs, training=training)
            if training:
                mean, var = ops.moments(inputs, axes=self._reduction_axes)
                m = int(np.prod([inputs.shape[a] for a in self._reduction_axes]))
                k = self.torch_momentum
                unbiased = var * (m / (m - 1))
                self.moving_mean.assign((1 - k) * self.moving_mean + k * mean)
                self.moving_variance.assign((1 - k) * self.moving_variance + k * unbiased)
            return out

    return TorchRunningStatistics


def _batchnorm(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    momentum = options["momentum"]
    common = {"axis": -1, "epsilon": options["epsilon"], "dtype": dtype}
    if options["convention"] == "torch":
        return _torch_running_statistics()(0.1 if momentum is None else momentum, **common)
    # Keras' own layer: momentum is the old value's weight, the variance biased
    return keras.layers.BatchNormalization(
        momentum=0.99 if momentum is None else momentum, **common
    )


def _layernorm(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return keras.layers.LayerNormalization(axis=-1, epsilon=options["epsilon"], dtype=dtype)


@functools.cache
def _mask_dropout() -> type:
    """A Keras layer that multiplies by the reference's mask for this call (same seed, one
    draw per training call; identity otherwise): no Keras dropout runs, so both sides drop the
    same elements.  The mask is drawn on the host, so the adapter steps eagerly."""
    keras = loaders.keras()

    class MaskDropout(keras.layers.Layer):  # type: ignore[misc, name-defined]
        def __init__(self, rate: float, seed: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.rate, self.rng = rate, np.random.default_rng(seed)

        def call(self, x: Any, training: Any = None) -> Any:
            if not training:
                return x
            mask = dropout_mask(self.rng, tuple(x.shape), self.rate, self.compute_dtype)
            return x * keras.ops.convert_to_tensor(mask, dtype=self.compute_dtype)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape  # so that building the model never calls ``call``

    return MaskDropout


def _dropout(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return _mask_dropout()(options["rate"], options["seed"], dtype=dtype)


def _embedding(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return keras.layers.Embedding(
        options["input_dim"],
        options["output_dim"],
        embeddings_regularizer=regularizer,
        dtype=dtype,
    )


# ---------------------------------------------------------------- sequences
# Keras' recurrent cells hold the reference's layout as it is: ``kernel (D, G*H)``,
# ``recurrent_kernel (H, G*H)``, gates i, f, c, o (LSTM) and z, r, h (GRU), ``bias (G*H,)``
# or, for GRU with reset_after, ``(2, 3H)`` (input row, recurrent row).
def _recurrent(name: str) -> Callable[..., Any]:
    def build(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
        extra = {"reset_after": options["reset_after"]} if name == "GRU" else {}
        return getattr(keras.layers, name)(
            options["units"],
            return_sequences=options["return_sequences"],
            kernel_regularizer=regularizer,
            recurrent_regularizer=regularizer,
            dtype=dtype,
            **extra,
        )

    return build


def _one_bias_only(options: dict[str, Any]) -> str | None:
    if options["convention"] == "torch":
        return (
            "two biases per step (convention='torch': torch's b_ih and b_hh, each trained); "
            "Keras' SimpleRNN and LSTM have one"
        )
    return None


@functools.cache
def _self_attention() -> type:
    """Keras' ``MultiHeadAttention`` called as self-attention (query = key = value = the
    input), its causal mask by ``use_causal_mask``; the last position only without
    ``return_sequences``.  Its four ``EinsumDense`` projections hold the reference's layout:
    ``kernel (D, heads, key_dim)``, ``bias (heads, key_dim)``; output ``(heads, key_dim, D)``."""
    keras = loaders.keras()

    class SelfAttention(keras.layers.Layer):  # type: ignore[misc, name-defined]
        def __init__(
            self,
            options: dict[str, Any],
            regularizer: Any,
            python_float_scale: bool = False,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            self.causal, self.return_sequences = options["causal"], options["return_sequences"]
            self.mha = keras.layers.MultiHeadAttention(
                options["num_heads"],
                options["key_dim"],
                kernel_regularizer=regularizer,
                dtype=kwargs.get("dtype"),
            )

            # Keras keeps 1/sqrt(key_dim) as a Python float, and TensorFlow's attention casts
            # it with tf.cast, which converts a Python float to float32 first: in a float64
            # network every score is off by the float32 rounding of the scale (~1e-8; exact
            # for key_dim 1, 4, 16...).  A NumPy float64 scalar stays exact, as for the
            # optimizer constants; test_layer_known_differences shows Keras' own value.
            if python_float_scale:
                return
            self.mha._inverse_sqrt_key_dim = np.float64(1.0) / np.sqrt(
                np.float64(options["key_dim"])
            )

        def build(self, input_shape: Any) -> None:
            self.mha.build(input_shape, input_shape)

        def call(self, x: Any, training: Any = None) -> Any:
            y = self.mha(x, x, use_causal_mask=self.causal, training=training)
            return y if self.return_sequences else y[:, -1]

        def compute_output_shape(self, input_shape: Any) -> Any:
            shape = tuple(input_shape)
            return shape if self.return_sequences else (shape[0], shape[-1])

    return SelfAttention


def _attention(keras: Any, options: dict[str, Any], regularizer: Any, dtype: str) -> Any:
    return _self_attention()(options, regularizer, dtype=dtype)


_RNN_NAMES = {"W": "cell.kernel", "U": "cell.recurrent_kernel", "b": "cell.bias"}
_ROLES = {"q": "query", "k": "key", "v": "value", "o": "output"}
_ATTENTION_NAMES = {
    **{f"W{p}": f"mha._{role}_dense.kernel" for p, role in _ROLES.items()},
    **{f"b{p}": f"mha._{role}_dense.bias" for p, role in _ROLES.items()},
}

_GAMMA_BETA = {"gamma": "gamma", "beta": "beta"}
_KERNEL_BIAS = {"W": "kernel", "b": "bias"}

LAYERS: dict[str, KerasLayer] = {
    "dense": KerasLayer(_dense, _KERNEL_BIAS),
    "conv1d": KerasLayer(_conv("Conv1D"), _KERNEL_BIAS, refusal=_conv_refusal),
    "conv2d": KerasLayer(_conv("Conv2D"), _KERNEL_BIAS, refusal=_conv_refusal),
    "maxpool2d": KerasLayer(_pool("MaxPooling2D"), {}),
    "avgpool2d": KerasLayer(_pool("AveragePooling2D"), {}),
    "flatten": KerasLayer(_flatten, {}),
    "batchnorm": KerasLayer(
        _batchnorm,
        _GAMMA_BETA,
        {"running_mean": "moving_mean", "running_var": "moving_variance"},
    ),
    "layernorm": KerasLayer(_layernorm, _GAMMA_BETA),
    "dropout": KerasLayer(_dropout, {}, host_per_call=True),
    "embedding": KerasLayer(_embedding, {"W": "embeddings"}),
    "simple_rnn": KerasLayer(_recurrent("SimpleRNN"), _RNN_NAMES, refusal=_one_bias_only),
    "lstm": KerasLayer(_recurrent("LSTM"), _RNN_NAMES, refusal=_one_bias_only),
    "gru": KerasLayer(_recurrent("GRU"), _RNN_NAMES),
    "attention": KerasLayer(_attention, _ATTENTION_NAMES),
}
