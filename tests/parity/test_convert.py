"""from_torch / from_keras: every supported layer kind and activation round-trips (model -> spec
and parameters -> the adapter's rebuild -> the same spec, parameters and outputs), and what
has no reference equivalent is refused in one line."""

import numpy as np
import pytest

from parity_tests import from_keras, from_torch
from parity_tests.cases.matrix import Case
from parity_tests.frameworks.keras.converters import CONVERTERS as KERAS_LAYERS
from parity_tests.frameworks.torch.converters import CONVERTERS as TORCH_MODULES
from parity_tests.harness import registry
from parity_tests.tools.convert import ConversionError
from reference_nn import ACTIVATIONS, LayerSpec, NetworkSpec

pytestmark = pytest.mark.frameworks

# The layer kinds the converters read, each with specs that exercise its options.  A new entry
# in TORCH_MODULES / KERAS_LAYERS must add its specs here (test_every_converter_is_exercised).
# float32-representable alphas: TF takes the leaky slope as a float32 attribute
# (frameworks/keras/layers.py)
OPTIONS = {"leaky_relu": {"alpha": 0.25}, "elu": {"alpha": 0.5}}
KIND_SPECS = {
    "dense": [
        (LayerSpec.dense(4, act, OPTIONS.get(act), use_bias=bias), LayerSpec.dense(2, "softmax"))
        for act, cls in ACTIVATIONS.items()
        if cls.elementwise
        for bias in (True, False)
    ],
}
CASES = [
    (kind, i, dtype)
    for kind, specs in KIND_SPECS.items()
    for i in range(len(specs))
    for dtype in ("float64", "float32")
]


def _spec(kind, i, dtype):
    return NetworkSpec(
        3,
        KIND_SPECS[kind][i],
        loss="cce",
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
        dtype=dtype,
    )


def _same_spec(a, b):
    assert a.input_shape == b.input_shape and a.dtype == b.dtype
    assert [(x.kind, dict(x.options)) for x in a.build_layers()] == [
        (x.kind, dict(x.options)) for x in b.build_layers()
    ]


def _same_params(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def _layer(kind, **options):
    return LayerSpec(kind, options)


HEAD = LayerSpec.dense(2, "softmax")
FLAT = _layer("flatten")
CONV = _layer(
    "conv2d",
    filters=3,
    kernel_size=[3, 2],
    strides=[1, 1],
    padding="same",
    dilation_rate=[1, 1],
    activation="tanh",
)
RNN = {"units": 3, "return_sequences": False}
# every other layer kind a converter reads: kind -> (input shape, layers); explicit lists for
# the per-axis options (a converter reads Keras' tuples, (3, 3), never the shorthand 3)
LAYER_KIND_SPECS = {
    "conv2d": ((6, 5, 2), (CONV, FLAT, HEAD)),
    "conv1d": (
        (7, 2),
        (
            _layer(
                "conv1d",
                filters=2,
                kernel_size=[3],
                strides=[2],
                padding="valid",
                dilation_rate=[1],
                use_bias=False,
                activation="relu",
            ),
            FLAT,
            HEAD,
        ),
    ),
    "maxpool2d": (
        (6, 6, 2),
        (CONV, _layer("maxpool2d", pool_size=[2, 2], strides=[2, 2], padding="valid"), FLAT, HEAD),
    ),
    "avgpool2d": (
        (5, 5, 2),
        (CONV, _layer("avgpool2d", pool_size=[2, 3], strides=[1, 2], padding="same"), FLAT, HEAD),
    ),
    "layernorm": ((3,), (LayerSpec.dense(4, "tanh"), _layer("layernorm", epsilon=1e-3), HEAD)),
    "embedding": ((4,), (_layer("embedding", input_dim=5, output_dim=3), FLAT, HEAD)),
    "simple_rnn": ((5, 2), (_layer("simple_rnn", convention="keras", **RNN), HEAD)),
    "lstm": (
        (5, 2),
        (_layer("lstm", convention="keras", units=3, return_sequences=True), FLAT, HEAD),
    ),
    "gru": ((5, 2), (_layer("gru", reset_after=False, **RNN), HEAD)),
    "gru-reset_after": ((5, 2), (_layer("gru", reset_after=True, **RNN), HEAD)),
}
# the kinds torch's converter reads besides dense (torch's own modules, no layout change)
TORCH_KIND_SPECS = {
    "layernorm": LAYER_KIND_SPECS["layernorm"],
    "embedding": LAYER_KIND_SPECS["embedding"],
    "layernorm-first": ((4,), (_layer("layernorm", epsilon=1e-5), HEAD)),
}


def _kind_spec(shape, layers, dtype):
    return NetworkSpec(
        shape, layers, loss="cce", optimizer="sgd", optimizer_options={"lr": 0.1}, dtype=dtype
    )


def _inputs(spec, seed):
    """The parity cases' inputs for ``spec`` (indices for an embedding first)."""
    return Case("inputs", spec, seed).materialize()[0]


def test_every_converter_is_exercised():
    keras_kinds = {"dense", *(name.split("-")[0] for name in LAYER_KIND_SPECS), "flatten"}
    read = {lay.kind for _, layers in LAYER_KIND_SPECS.values() for lay in layers} | {"dense"}
    assert keras_kinds == read
    assert set(KERAS_LAYERS) == {
        "Dense", "Conv1D", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten",
        "LayerNormalization", "Embedding", "SimpleRNN", "LSTM", "GRU",
    }  # fmt: skip
    assert set(TORCH_MODULES) == {"Linear", "LayerNorm", "Embedding", "Flatten"}
    assert set(KIND_SPECS) == {"dense"}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(LAYER_KIND_SPECS))
def test_keras_round_trip_of_every_layer_kind(keras, name, dtype):
    """The Keras adapter's model of the spec (plain Keras layers) converts back to the spec
    and its parameters, and the rebuilt model computes the same outputs."""
    spec = _kind_spec(*LAYER_KIND_SPECS[name], dtype)
    params = spec.init_parameters(seed=3)
    built = registry.get("keras").build(spec, params)
    converted = from_keras(built.model, loss="cce", optimizer="sgd", optimizer_options={"lr": 0.1})
    _same_spec(spec, converted.spec)
    _same_params(params, converted.params)
    X = _inputs(spec, 4)
    again = registry.get("keras").build(converted.spec, converted.params)
    np.testing.assert_array_equal(again.model(X).numpy(), built.model(X).numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(TORCH_KIND_SPECS))
def test_torch_round_trip_of_every_layer_kind(torch, name, dtype):
    spec = _kind_spec(*TORCH_KIND_SPECS[name], dtype)
    params = spec.init_parameters(seed=3)
    built = registry.get("torch").build(spec, params)
    converted = from_torch(
        built.model,
        loss="cce",
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
        input_shape=spec.input_shape,
    )
    _same_spec(spec, converted.spec)
    _same_params(params, converted.params)
    X = torch.from_numpy(_inputs(spec, 4))
    again = registry.get("torch").build(converted.spec, converted.params)
    assert np.array_equal(again.model(X).detach().numpy(), built.model(X).detach().numpy())


def test_keras_options_the_reference_does_not_compute_are_refused_by_name(keras):
    with pytest.warns(UserWarning, match="rms_scaling=True"):  # deprecated in Keras: refused here
        rms_scaled = keras.layers.LayerNormalization(rms_scaling=True)
    cases = [
        (keras.layers.Conv2D(2, 3, data_format="channels_first"), (2, 6, 6), "data_format"),
        (keras.layers.LSTM(3, go_backwards=True), (5, 2), "go_backwards"),
        (keras.layers.GRU(3, recurrent_dropout=0.1), (5, 2), "recurrent_dropout"),
        (keras.layers.SimpleRNN(3, activation="relu"), (5, 2), "activations other than tanh"),
        (rms_scaled, (4,), "rms_scaling"),
        (keras.layers.Embedding(5, 2, mask_zero=True), (4,), "mask_zero"),
    ]
    for layer, shape, what in cases:
        model = keras.Sequential([keras.Input(shape), layer])
        with pytest.raises(ConversionError, match=what):
            from_keras(model)


@pytest.mark.parametrize("kind, i, dtype", CASES)
def test_torch_round_trip(torch, kind, i, dtype):
    spec = _spec(kind, i, dtype)
    params = spec.init_parameters(seed=i)
    built = registry.get("torch").build(spec, params)
    converted = from_torch(built.model, loss="cce", optimizer="sgd", optimizer_options={"lr": 0.1})
    _same_spec(spec, converted.spec)
    _same_params(params, converted.params)
    # and back: the adapter's rebuild of the converted spec computes what the module computes
    X = np.random.default_rng(i).normal(size=(5, 3)).astype(dtype)
    again = registry.get("torch").build(converted.spec, converted.params)
    assert np.array_equal(
        again.model(torch.from_numpy(X)).detach().numpy(),
        built.model(torch.from_numpy(X)).detach().numpy(),
    )


@pytest.mark.parametrize("kind, i, dtype", CASES)
def test_keras_round_trip(keras, kind, i, dtype):
    spec = _spec(kind, i, dtype)
    params = spec.init_parameters(seed=i)
    lay = spec.build_layers()[0]
    act, opts = lay.options["activation"], lay.options["activation_options"]
    # a user's model: activations with options as their own layers, the rest by name
    as_layer = {
        "leaky_relu": lambda: keras.layers.LeakyReLU(negative_slope=opts["alpha"], dtype=dtype),
        "elu": lambda: keras.layers.ELU(alpha=opts["alpha"], dtype=dtype),
    }
    first = [keras.layers.Dense(4, use_bias=lay.options["use_bias"], dtype=dtype)]
    if act in as_layer:
        first.append(as_layer[act]())
    else:
        first[0] = keras.layers.Dense(
            4,
            activation={"identity": "linear"}.get(act, act),
            use_bias=lay.options["use_bias"],
            dtype=dtype,
        )
    model = keras.Sequential(
        [keras.Input((3,), dtype=dtype), *first, keras.layers.Dense(2, "softmax", dtype=dtype)]
    )
    for name, layer, attr in [
        ("0.W", first[0], "kernel"),
        ("0.b", first[0], "bias"),
        ("1.W", model.layers[-1], "kernel"),
        ("1.b", model.layers[-1], "bias"),
    ]:
        if name in params:
            getattr(layer, attr).assign(params[name])
    converted = from_keras(model, loss="cce", optimizer="sgd", optimizer_options={"lr": 0.1})
    _same_spec(spec, converted.spec)
    _same_params(params, converted.params)
    X = np.random.default_rng(i).normal(size=(5, 3)).astype(dtype)
    again = registry.get("keras").build(converted.spec, converted.params)
    np.testing.assert_array_equal(again.model(X).numpy(), model(X).numpy())


def test_torch_refusals_name_the_position_and_class(torch):
    nn = torch.nn
    with pytest.raises(ConversionError, match=r"position 1: Dropout has no reference layer kind"):
        from_torch(nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)))
    with pytest.raises(ConversionError, match=r"Softplus\(beta=2"):
        from_torch(nn.Sequential(nn.Linear(3, 2), nn.Softplus(beta=2)))
    with pytest.raises(ConversionError, match=r"takes a torch\.nn\.Sequential"):
        from_torch(nn.Linear(3, 2))
    with pytest.raises(ConversionError, match="share one dtype"):
        from_torch(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1, dtype=torch.float64)))


def test_keras_refusals_name_the_layer(keras):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation="gelu"), keras.layers.Dense(1)]
    )
    with pytest.raises(ConversionError, match=r"layer 0 .*activation 'gelu'"):
        from_keras(model)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dropout(0.2)])
    with pytest.raises(ConversionError, match=r"position 1: Dropout has no reference layer kind"):
        from_keras(model)
    reg = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1))]
    )
    with pytest.raises(ConversionError, match="kernel_regularizer is not converted"):
        from_keras(reg)


def test_layers_that_do_not_fit_together_are_refused_naming_both(torch, keras):
    nn = torch.nn
    with pytest.raises(ConversionError) as info:
        from_torch(nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1)))
    message = str(info.value)
    assert "torch position 1 (Linear(in_features=5, out_features=1, bias=True))" in message
    assert "holds W of shape (5, 1)" in message
    assert "torch position 0 (Linear(in_features=3, out_features=4, bias=True))" in message
    assert "gives outputs of shape (4,), which needs (4, 1)" in message
    # with an activation between them, the position before is the Linear's
    with pytest.raises(
        ConversionError, match=r"position 0 \(Linear.*gives outputs of shape \(4,\)"
    ):
        from_torch(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(5, 1)))
    with pytest.raises(ConversionError, match=r"the model's input has shape \(2,\)"):
        from_torch(nn.Sequential(nn.Linear(3, 4)), input_shape=(2,))
    # the negative control: layers that fit convert
    from_torch(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)))


def test_a_model_without_weights_is_refused(torch, keras):
    with pytest.raises(ConversionError, match=r"the model has no weights \(Flatten\)"):
        from_keras(keras.Sequential([keras.Input((3,)), keras.layers.Flatten()]))
    with pytest.raises(ConversionError, match=r"the model has no weights \(Flatten\)"):
        from_torch(torch.nn.Sequential(torch.nn.Flatten()), input_shape=(3,))


def test_importing_the_package_imports_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, parity_tests; parity_tests.from_torch; parity_tests.from_keras; "
        "print('torch' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
