"""The known framework differences, each as a named test: it shows the difference, and shows
which named formulation of the reference matches each framework."""

import warnings

import numpy as np
import pytest

from parity_tests.cases.matrix import SATURATED_LOSSES, Case, saturated_cases
from parity_tests.harness import loaders
from parity_tests.harness.compare import failures, tensor_error
from parity_tests.harness.parity import assert_parity, compare_case
from reference_nn import LayerSpec, NetworkSpec, ShapeError, get_activation, get_loss

pytestmark = pytest.mark.frameworks

F32 = lambda x: float(np.float32(x))  # noqa: E731  a constant as Keras' float32 cast leaves it


def _case(optimizer: str, params: dict, *, loss="mse", hidden="tanh", out="sigmoid", name=None):
    spec = NetworkSpec(
        3,
        (LayerSpec.dense(5, hidden), LayerSpec.dense(2, out)),
        loss=loss,
        optimizer=optimizer,
        optimizer_options=params,
    )
    return Case(name or f"{optimizer}-{params}", spec, seed=3)


def _errors(case, framework, spec=None, **options):
    """Reference run of ``spec`` (default: the case's) vs ``framework`` on the case's spec."""
    return compare_case(case, framework, reference_spec=spec, **options)


def _worst(comparisons, quantity):
    return max(c.error.normwise_rel for c in comparisons if c.quantity == quantity)


# ---------------------------------------------------------------- Keras float32 constants
def test_keras_momentum_written_as_a_python_float_is_rounded_to_float32(keras):
    case = _case("sgd", {"lr": 0.05, "momentum": 0.9, "convention": "keras"})
    plain_floats = _errors(case, "keras", python_float_constants=True)
    # The first step has no momentum term yet; from the second on, 0.9 vs 0.8999999761581421 shows.
    assert _worst(plain_floats, "step_1") < 1e-15
    assert _worst(plain_floats, "step_20") > 1e-10
    # Matched deliberately: the reference given the float32-rounded momentum agrees...
    rounded = case.spec.with_changes(
        optimizer_options={**case.spec.optimizer_options, "momentum": F32(0.9)}
    )
    assert not failures(_errors(case, "keras", spec=rounded, python_float_constants=True))
    # ...and the mirror's default (NumPy float64 scalars) keeps Keras exact.
    assert not failures(_errors(case, "keras"))


def test_keras_adam_betas_as_python_floats_are_rounded_in_the_bias_correction(keras):
    case = _case("adam", {"lr": 0.01, "convention": "keras"})
    plain_floats = _errors(case, "keras", python_float_constants=True)
    assert _worst(plain_floats, "step_1") > 1e-12  # beta**t with beta = f32(0.9), f32(0.999)
    assert not failures(_errors(case, "keras"))  # float64 scalars: exact


def test_keras_leaky_relu_slope_is_a_float32_attribute(keras):
    with loaders.keras_floatx("float64"):
        z = np.linspace(-3, 3, 13).reshape(1, -1)
        out = np.asarray(keras.activations.leaky_relu(z, negative_slope=0.2))
    exact = get_activation("leaky_relu", alpha=0.2).forward(z)
    rounded = get_activation("leaky_relu", alpha=F32(0.2)).forward(z)
    assert tensor_error(exact, out).max_rel > 1e-9
    np.testing.assert_array_equal(rounded, out)


# ---------------------------------------------------------------- epsilon placement
@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_epsilon_placement_each_convention_matches_its_framework(optimizer, torch, keras):
    # A tiny learning signal makes v comparable to epsilon, where the placements differ.
    torch_case = _case(optimizer, {"lr": 0.01, "eps": 1e-3, "convention": "torch"}, name="t")
    keras_case = _case(optimizer, {"lr": 0.01, "eps": 1e-3, "convention": "keras"}, name="k")
    assert not failures(_errors(torch_case, "torch"))
    assert not failures(_errors(keras_case, "keras"))
    # The torch formulation of the reference against Keras: far outside any tolerance.
    crossed = _errors(keras_case, "keras", spec=torch_case.spec)
    assert _worst(crossed, "step_20") > 1e-6


# ---------------------------------------------------------------- binary cross-entropy
def test_bce_clipping_keras_vs_torch_log_clamp(torch, keras):
    p = np.array([[0.0, 1e-9, 0.3, 1.0 - 1e-12, 1.0]])
    y = np.array([[1.0, 1.0, 0.0, 0.0, 0.0]])
    with loaders.keras_floatx("float64"):
        keras_value = float(keras.losses.BinaryCrossentropy()(y, p))  # probabilities as given
    torch_value = float(torch.nn.BCELoss()(torch.from_numpy(p), torch.from_numpy(y)))
    ref_keras = float(get_loss("bce", clip="keras").value(p, y))
    ref_torch = float(get_loss("bce", clip="torch").value(p, y))
    assert keras_value == pytest.approx(ref_keras, rel=1e-14)
    assert torch_value == pytest.approx(ref_torch, rel=1e-14)
    assert abs(keras_value - torch_value) > 10  # -log(1e-7) = 16 vs the clamp at 100


def test_keras_turns_a_sigmoid_output_back_into_logits(keras):
    # With a sigmoid output layer, Keras' BinaryCrossentropy reads the pre-activation it kept
    # (`_keras_logits`) and uses the logits formula: no clipping, even when saturated.
    spec = NetworkSpec(
        2, (LayerSpec.dense(1, "sigmoid"),), loss="bce", loss_options={"clip": "keras"}
    )
    params = {"0.W": np.array([[30.0], [10.0]]), "0.b": np.array([5.0])}
    X, y = np.array([[1.0, 1.0], [0.2, 0.1]]), np.array([[0.0], [1.0]])
    from parity_tests.frameworks.keras.model import KerasModel

    mirror = KerasModel(spec, params)
    _, loss = mirror.output_and_loss(X, y)
    logits = X @ params["0.W"] + params["0.b"]
    assert float(loss) == pytest.approx(float(get_loss("bce_logits").value(logits, y)), rel=1e-14)
    clipped = float(get_loss("bce", clip="keras").value(1 / (1 + np.exp(-logits)), y))
    assert abs(float(loss) - clipped) > 1.0


# ---------------------------------------------------------------- categorical cross-entropy
def _softmax_model(keras, dtype, W, b):
    model = keras.Sequential(
        [keras.Input((2,), dtype=dtype), keras.layers.Dense(3, activation="softmax", dtype=dtype)]
    )
    model.layers[0].kernel.assign(W.astype(dtype))
    model.layers[0].bias.assign(b.astype(dtype))
    return model


def _keras_cce(keras, model, X, y):
    """Keras' own CategoricalCrossentropy on the model's softmax output, and dL/dW."""
    tf = loaders.tensorflow()
    dtype = model.layers[0].kernel.dtype
    with tf.GradientTape() as tape:
        loss = keras.losses.CategoricalCrossentropy(dtype=dtype)(y.astype(dtype), model(X))
    return float(loss), np.array(tape.gradient(loss, model.layers[0].kernel))


def _reference_cce(convention, dtype, W, b, X, y):
    spec = NetworkSpec(
        2,
        (LayerSpec.dense(3, "softmax"),),
        loss="cce",
        loss_options={"convention": convention},
        dtype=dtype,
    )
    net = spec.build_network()
    net.set_parameters({"0.W": W.astype(dtype), "0.b": b.astype(dtype)})
    loss, grads = net.loss_and_gradients(X.astype(dtype), y.astype(dtype))
    return float(loss), grads["0.W"]


def test_keras_on_tensorflow_reads_the_logits_behind_a_softmax_output(keras):
    # One confident row (scores 15.5, 5, -3.5): -log p_true = 2.4e-8 in float64.  Keras
    # computes it from the logits; the clipping convention says 1e-7 with a zero gradient.
    W, b = np.array([[10.0, -5.0, 0.0], [4.0, 1.0, -3.0]]), np.array([0.5, 0.0, -0.5])
    X, y = np.array([[1.0, 1.0]]), np.array([[1.0, 0.0, 0.0]])
    with loaders.keras_floatx("float64"):
        keras_loss, keras_dW = _keras_cce(keras, _softmax_model(keras, "float64", W, b), X, y)
    logits_loss, logits_dW = _reference_cce("logits", "float64", W, b, X, y)
    clipped_loss, clipped_dW = _reference_cce("keras", "float64", W, b, X, y)
    assert logits_loss == pytest.approx(keras_loss, rel=1e-14, abs=0)
    assert tensor_error(logits_dW, keras_dW).normwise_rel < 1e-14
    assert clipped_loss == pytest.approx(-np.log1p(-1e-7), rel=1e-9, abs=0)
    assert clipped_loss > 4 * keras_loss and clipped_dW[0, 0] == 0.0 != keras_dW[0, 0]


def test_keras_on_tensorflow_a_saturated_softmax_batch_in_float32(keras):
    # Confidently wrong rows: float32 probabilities of exactly 0 for the true class.  Keras
    # gives the logits' loss (tens per row); the clip caps each row at -log(1e-7) = 16.1, and
    # the plain formula refuses log(0).
    rng = np.random.default_rng(0)
    W, b = rng.normal(scale=80.0, size=(2, 3)), np.zeros(3)
    X = rng.normal(size=(8, 2))
    scores = X @ W
    y = np.eye(3)[np.argmin(scores, axis=1)]  # each row's least likely class
    with loaders.keras_floatx("float32"):
        keras_loss, keras_dW = _keras_cce(keras, _softmax_model(keras, "float32", W, b), X, y)
    logits_loss, logits_dW = _reference_cce("logits", "float32", W, b, X, y)
    clipped_loss, _ = _reference_cce("keras", "float32", W, b, X, y)
    assert keras_loss > 20 and clipped_loss <= 16.2
    assert logits_loss == pytest.approx(keras_loss, rel=1e-6, abs=0)
    assert tensor_error(logits_dW, keras_dW).normwise_rel < 1e-6
    with pytest.raises(ValueError, match="needs predictions > 0"):
        _reference_cce("none", "float32", W, b, X, y)


def test_keras_on_tensorflow_is_refused_the_clipping_conventions_for_such_outputs(keras):
    from parity_tests.harness import registry

    adapter = registry.get("keras")
    for loss, key, out in (("cce", "convention", "softmax"), ("bce", "clip", "sigmoid")):
        spec = NetworkSpec(2, (LayerSpec.dense(3, out),), loss=loss)
        clipped = spec.with_changes(loss_options={key: "keras"})
        reason = adapter.refusal(clipped)
        assert reason and f"reads the logits behind a {out} output layer" in reason
        assert adapter.refusal(spec.with_changes(loss_options={key: "logits"})) is None
        assert adapter.refusal(spec) is None  # the plain formula: equal unless saturated


# ---------------------------------------------------------------- saturated outputs
SATURATED = [
    pytest.param(case, fw, id=f"{case.name}-{fw}")
    for case in saturated_cases()
    for fw, reason in case.refusal_by_framework().items()
    if reason is None
]


def test_every_saturated_convention_runs_in_some_framework():
    ran = {case.name.rsplit("-", 2)[0] for case, _ in (p.values for p in SATURATED)}
    assert ran == {f"saturated-{label}" for label in SATURATED_LOSSES}


@pytest.mark.parametrize(("case", "framework"), SATURATED, indirect=["framework"])
def test_a_saturated_output_each_convention_matches_its_framework(case, framework):
    X, _, params, _ = case.materialize()
    net = case.spec.build_network()
    net.set_parameters(params)
    output = net.forward(X)
    assert (output == 1.0).any()  # saturated, as the case says
    comparisons = assert_parity(case, framework)
    assert len(comparisons) == 2 + 3 * len(case.spec.parameter_names())


def test_a_saturated_output_parts_the_conventions(keras):
    # negative control: the Keras run of the logits case against the clipping convention
    name = "saturated-cce_logits_convention-sgd-float64"
    case = next(c for c in saturated_cases() if c.name == name)
    clipped = case.spec.with_changes(loss_options={"convention": "keras"})
    comparisons = compare_case(case, "keras", reference_spec=clipped)
    failing = {c.quantity for c in comparisons if not c.passed}
    assert {"loss", "grads", "step_1"} <= failing
    assert "forward" not in failing  # the probabilities agree; the losses on them do not


# ---------------------------------------------------------------- reductions and shapes
def test_mse_with_several_outputs_is_the_mean_over_all_elements_in_both(torch, keras):
    rng = np.random.default_rng(0)
    p, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    with loaders.keras_floatx("float64"):
        keras_value = float(keras.losses.MeanSquaredError()(y, p))
    torch_value = float(torch.nn.MSELoss()(torch.from_numpy(p), torch.from_numpy(y)))
    total = float(np.sum((p - y) ** 2))
    assert keras_value == pytest.approx(total / 18, rel=1e-15)
    assert torch_value == pytest.approx(total / 18, rel=1e-15)
    assert float(get_loss("mse").value(p, y)) == pytest.approx(total / 18, rel=1e-15)
    # what differs is a per-sample *sum* over outputs (the course convention): K times larger
    assert total / 6 == pytest.approx(3 * keras_value, rel=1e-15)


def test_flat_targets_broadcast_in_torch_and_are_refused_by_the_reference(torch, keras):
    p, y = np.array([[0.1], [0.5], [0.9]]), np.array([0.0, 1.0, 1.0])
    correct = float(np.mean((p[:, 0] - y) ** 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns, then broadcasts to (3, 3)
        torch_value = float(torch.nn.MSELoss()(torch.from_numpy(p), torch.from_numpy(y)))
    assert torch_value == pytest.approx(float(np.mean((p - y) ** 2)))  # the (N, N) mean
    assert abs(torch_value - correct) > 0.1
    with loaders.keras_floatx("float64"):
        keras_value = float(keras.losses.MeanSquaredError()(y, p))
    assert keras_value == pytest.approx(correct, rel=1e-15)  # Keras squeezes the extra axis
    with pytest.raises(ShapeError, match="reshape"):
        get_loss("mse").value(p, y)


def test_torch_softplus_is_linear_above_its_threshold(torch):
    z = np.array([[5.0, 19.0, 21.0, 30.0]])
    out = torch.nn.Softplus()(torch.from_numpy(z)).numpy()
    exact = get_activation("softplus").forward(z)
    assert np.array_equal(out[0, 2:], z[0, 2:])  # returns z itself above 20
    assert tensor_error(exact[:, 2:], out[:, 2:]).max_abs > 1e-10  # log1p(exp(-21)) = 7.6e-10
    assert tensor_error(exact[:, :2], out[:, :2]).max_rel < 1e-15
