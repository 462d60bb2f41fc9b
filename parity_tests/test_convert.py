"""from_torch / from_keras: every supported layer kind and activation round-trips (model -> spec
and parameters -> the adapter's rebuild -> the same spec, parameters and outputs), and what
has no reference equivalent is refused in one line."""

import numpy as np
import pytest

from parity_tests import from_keras, from_torch, registry
from parity_tests.convert import KERAS_LAYERS, TORCH_MODULES, ConversionError
from reference_nn import ACTIVATIONS, LayerSpec, NetworkSpec

pytestmark = pytest.mark.frameworks

# The layer kinds the converters read, each with specs that exercise its options.  A new entry
# in TORCH_MODULES / KERAS_LAYERS must add its specs here (test_every_converter_is_exercised).
# float32-representable alphas: TF takes the leaky slope as a float32 attribute (keras_layers)
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


def test_every_converter_is_exercised():
    assert set(TORCH_MODULES) == {"Linear"} and set(KERAS_LAYERS) == {"Dense"}
    assert set(KIND_SPECS) == {"dense"}  # one entry per reference kind the converters read


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


def test_importing_the_package_imports_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, parity_tests; parity_tests.from_torch; parity_tests.from_keras; "
        "print('torch' in sys.modules, 'tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
