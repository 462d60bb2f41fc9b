"""What a mutation run of reference_nn/network.py found no NumPy-only test checking: the L2
penalty's part in the loss and the gradients (on the checked path and on fit's unchecked one),
inference mode, a loss on logits behind more than two layers, the value checks of fit's steps,
the integer-input checks and the words of the network's refusals.

Expected values are built from the definitions (regularizers.py's table: the keras convention adds
``l * sum(W^2)`` and ``2 l W``, the course's ``lambda / 2m * sum(W^2)`` and ``(lambda / m) W``;
batch normalisation in inference divides by ``sqrt(running_var + eps)``), not read from the
network.  The gradient checks use finite differences, which share no code with backward.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference_nn import SGD, LayerSpec, NetworkSpec, Sequential, fit, gradcheck
from reference_nn._checks import DTypeError, ShapeError
from reference_nn.layers import Dense, Embedding

LAYERS = (LayerSpec.dense(3, "tanh"), LayerSpec.dense(2, "sigmoid"))


def _data(n=6, seed=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.random((n, 2))


# ---------------------------------------------------------------- the L2 penalty
@pytest.mark.parametrize("convention", ["keras", "course"])
def test_the_l2_penalty_enters_the_loss_and_the_weights_gradients(convention):
    lam, X, y = 0.3, *_data()
    plain = NetworkSpec(4, LAYERS, loss="mse")
    penalised = plain.with_changes(regularizer={"lam": lam, "convention": convention})
    params = plain.init_parameters(5)
    c = lam if convention == "keras" else lam / (2 * len(X))  # penalty = c * sum(W^2)
    sum_sq = sum(float(np.sum(params[w] ** 2)) for w in ("0.W", "1.W"))

    a, b = plain.build_network(), penalised.build_network()
    a.set_parameters(params)
    b.set_parameters(params)
    loss_a, grads_a = a.loss_and_gradients(X, y)
    loss_b, grads_b = b.loss_and_gradients(X, y)
    assert loss_b == pytest.approx(loss_a + c * sum_sq, rel=1e-14)
    assert b.loss_value(X, y) == loss_b
    expected = {
        "0.W": grads_a["0.W"] + 2 * c * params["0.W"],
        "0.b": grads_a["0.b"],  # biases are never penalised
        "1.W": grads_a["1.W"] + 2 * c * params["1.W"],
        "1.b": grads_a["1.b"],
    }
    for name, value in expected.items():
        np.testing.assert_allclose(grads_b[name], value, rtol=1e-14, atol=0, err_msg=name)
    assert gradcheck(b, X, y).passed()

    # fit's per-step path (no checks): the loss it records and the step it takes
    history = fit(b, SGD(lr=0.1), X, y, epochs=1)
    assert history.loss == [pytest.approx(float(loss_b), rel=1e-14)]
    for name, value in b.get_parameters().items():
        np.testing.assert_allclose(value, params[name] - 0.1 * expected[name], rtol=1e-14)


# ---------------------------------------------------------------- inference mode
def test_predict_runs_every_layer_in_inference_mode():
    spec = NetworkSpec(
        4,
        (
            LayerSpec.dense(5, "tanh"),
            LayerSpec("dropout", {"rate": 0.5, "seed": 1}),
            LayerSpec("batchnorm", {"convention": "torch", "epsilon": 1e-5}),
            LayerSpec.dense(2, "identity"),
        ),
    )
    net = spec.build_network()
    params = spec.init_parameters(6)
    params["0.b"] = np.linspace(-0.5, 0.5, 5)
    net.set_parameters(params)
    X, _ = _data()
    # dropout passes everything; batch norm uses its running statistics (mean 0, variance 1
    # before any training pass) and gamma 1, beta 0
    h = np.tanh(X @ params["0.W"] + params["0.b"]) / math.sqrt(1.0 + 1e-5)
    expected = h @ params["3.W"] + params["3.b"]
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-14)
    np.testing.assert_allclose(net.forward(X, training=False), expected, rtol=1e-14)
    # negative control: in training mode a mask is drawn and the batch's statistics are used
    assert not np.allclose(net.forward(X), expected, rtol=1e-3)


# ---------------------------------------------------------------- a loss on logits
@pytest.mark.parametrize(
    ("out", "loss", "options"),
    [("sigmoid", "bce", {"clip": "logits"}), ("softmax", "cce", {"convention": "logits"})],
)
def test_a_loss_on_logits_backpropagates_through_every_layer_before_the_output(out, loss, options):
    # three layers: "every layer but the output" and "the first layer" differ only from three on
    layers = (LayerSpec.dense(5, "tanh"), LayerSpec.dense(4, "tanh"), LayerSpec.dense(3, out))
    spec = NetworkSpec(3, layers, loss=loss, loss_options=options)
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(2))
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 3)), np.eye(3)[rng.integers(0, 3, 5)]
    report = gradcheck(net, X, y)
    assert report.passed(), str(report)
    assert {c.name for c in report.checks} == {"0.W", "0.b", "1.W", "1.b", "2.W", "2.b"}


# ---------------------------------------------------------------- fit's per-step value checks
def test_fit_refuses_a_prediction_the_loss_cannot_take_at_the_step_it_happens():
    spec = NetworkSpec(
        2, (LayerSpec.dense(1, "sigmoid"),), loss="bce", loss_options={"clip": "none"}
    )
    net = spec.build_network()
    net.set_parameters({"0.W": np.array([[50.0], [50.0]]), "0.b": np.array([0.0])})
    X, y = np.ones((3, 2)), np.array([[1.0], [0.0], [1.0]])  # sigmoid(100) is 1.0 in float64
    with pytest.raises(
        ValueError, match=r"^bce with clip='none' needs predictions strictly inside"
    ):
        fit(net, SGD(lr=0.1), X, y)
    net.set_parameters({"0.W": np.array([[0.5], [-0.25]]), "0.b": np.array([0.1])})
    assert len(fit(net, SGD(lr=0.1), X, y, epochs=2).loss) == 2  # inside (0, 1): trains


# ---------------------------------------------------------------- integer inputs
def _embedding_net():
    spec = NetworkSpec(
        3,
        (
            LayerSpec("embedding", {"input_dim": 5, "output_dim": 2}),
            LayerSpec("flatten"),
            LayerSpec.dense(1, "identity"),
        ),
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    return net


def test_integer_inputs_of_one_sample_are_a_batch():
    net = _embedding_net()
    W = net.parameters["0.W"]
    out = net.forward(np.array([[4, 0, 2]]))
    expected = np.concatenate([W[4], W[0], W[2]]) @ net.parameters["2.W"] + net.parameters["2.b"]
    np.testing.assert_allclose(out, expected[None, :], rtol=1e-15)


@pytest.mark.parametrize(
    ("X", "shape"), [(np.zeros((2, 4), np.int64), "(2, 4)"), (np.zeros((0, 3), np.int64), "(0, 3)")]
)
def test_integer_inputs_of_the_wrong_shape_or_no_rows_are_refused(X, shape):
    expected = f"X has shape {shape} but the network expects (N >= 1, *(3,))"
    with pytest.raises(ShapeError) as caught:
        _embedding_net().forward(X)
    assert str(caught.value) == expected


# ---------------------------------------------------------------- the network's refusals
def test_a_network_is_refused_in_these_words():
    dense = Dense((3,), units=4, activation="tanh")
    cases = [
        ([], ValueError, "a network needs at least one layer"),
        (
            [dense, Dense((5,), units=2)],
            ShapeError,
            "layer 0 gives outputs of shape (4,) but layer 1 expects (5,)",
        ),
        (
            [dense, Embedding((4,), input_dim=3, output_dim=2)],
            ShapeError,
            "layer 1 (embedding) takes integer indices, so it must be the first layer; move it "
            "to the front",
        ),
        (
            [dense, Dense((4,), dtype=np.float32, units=2)],
            DTypeError,
            "all layers must share one dtype, got ['float32', 'float64']",
        ),
    ]
    for layers, error, words in cases:
        with pytest.raises(error) as caught:
            Sequential(layers)
        assert str(caught.value) == words


def test_inputs_are_refused_in_these_words():
    net = Sequential([Dense((3,), units=2)])
    with pytest.raises(RuntimeError, match=r"^backward\(\) called before forward\(\)$"):
        net.backward(np.zeros((1, 2)))
    with pytest.raises(ShapeError, match=r"^X has 0 rows: a batch needs at least one sample$"):
        net.forward(np.zeros((0, 3)))
    conv = NetworkSpec((4, 4, 1), (LayerSpec("conv2d", {"filters": 1, "kernel_size": 2}),))
    with pytest.raises(ShapeError) as caught:
        conv.build_network().forward(np.zeros((2, 4, 5, 1)))
    assert str(caught.value) == "X has samples of shape (4, 5, 1) but the network expects (4, 4, 1)"


def test_a_networks_defaults_are_mse_glorot_weights_and_zero_biases():
    net = Sequential([Dense((3,), units=4)])
    net.set_parameters({"0.W": np.zeros((3, 4)), "0.b": np.zeros(4)})
    assert net.loss_value(np.zeros((2, 3)), np.zeros((2, 4))) == 0.25  # mean of (1/2 - 0)^2
    net.initialize(np.random.default_rng(9))
    limit = math.sqrt(6.0 / (3 + 4))
    u = np.random.default_rng(9).random((3, 4))
    np.testing.assert_allclose(net.parameters["0.W"], -limit + 2 * limit * u, rtol=0, atol=1e-15)
    assert not net.parameters["0.b"].any()


# ---------------------------------------------------------------- fit trains in training mode
def test_fits_steps_run_dropout_and_batch_norm_in_training_mode():
    spec = NetworkSpec(
        4,
        (
            LayerSpec.dense(5, "tanh"),
            LayerSpec("dropout", {"rate": 0.5, "seed": 1}),
            LayerSpec("batchnorm", {"convention": "torch", "epsilon": 1e-5}),
            LayerSpec.dense(2, "sigmoid"),
        ),
    )
    X, y = _data()
    params = spec.init_parameters(6)
    fitted, checked = spec.build_network(), spec.build_network()
    fitted.set_parameters(params)
    checked.set_parameters(params)
    loss, grads = checked.loss_and_gradients(X, y)  # the checked path, in training mode
    history = fit(fitted, SGD(lr=0.1), X, y)
    assert history.loss == [pytest.approx(float(loss), rel=1e-14)]
    for name, value in fitted.get_parameters().items():
        np.testing.assert_allclose(value, params[name] - 0.1 * grads[name], rtol=1e-14)
    for name, value in checked.get_state().items():  # running statistics moved the same way
        np.testing.assert_allclose(fitted.get_state()[name], value, rtol=1e-14)


# ---------------------------------------------------------------- dtypes and their words
def _float32_net():
    spec = NetworkSpec(4, LAYERS, dtype="float32")
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(5))
    return net


def test_a_float32_network_takes_float32_data_and_gives_float32_gradients():
    X, y = (a.astype(np.float32) for a in _data())
    loss, grads = _float32_net().loss_and_gradients(X, y)
    assert loss.dtype == np.float32
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}


@pytest.mark.parametrize(
    ("which", "words"),
    [
        (
            "X",
            "X has dtype float64 but the network computes in float32; convert it explicitly "
            "with X.astype(np.float32)",
        ),
        (
            "y",
            "y has dtype float64 but the network computes in float32; convert it explicitly "
            "with y.astype(np.float32)",
        ),
        ("ndim", "X must be 2-D, got shape (6, 4, 1)"),
    ],
)
def test_data_of_another_dtype_or_rank_is_refused_in_these_words(which, words):
    X, y = (a.astype(np.float32) for a in _data())
    if which == "X":
        X = X.astype(np.float64)
    elif which == "y":
        y = y.astype(np.float64)
    else:
        X = X[:, :, None]
    with pytest.raises((ShapeError, DTypeError)) as caught:
        _float32_net().loss_value(X, y)
    assert str(caught.value) == words


def test_parameters_and_state_are_refused_in_these_words():
    net = _float32_net()
    with pytest.raises(DTypeError, match=r"^parameter 0\.W has dtype float64 but the network "):
        net.set_parameters({**net.get_parameters(), "0.W": np.zeros((4, 3))})
    spec = NetworkSpec(
        3, (LayerSpec("batchnorm", {"convention": "keras", "epsilon": 1e-3}),), dtype="float32"
    )
    norm = spec.build_network()
    state = norm.get_state()
    with pytest.raises(DTypeError, match=r"^state 0\.running_mean has dtype float64 but the "):
        norm.set_state({**state, "0.running_mean": np.zeros(3)})
    with pytest.raises(ShapeError) as caught:
        norm.set_state({**state, "0.running_var": np.ones(4, np.float32)})
    assert str(caught.value) == "state 0.running_var needs shape (3,), got (4,)"
    norm.set_state({**state, "0.running_var": np.full(3, 2.0, np.float32)})  # the right one
    assert norm.get_state()["0.running_var"].tolist() == [2.0, 2.0, 2.0]


def test_a_networks_repr_lists_its_layers_loss_and_penalty():
    spec = NetworkSpec(4, LAYERS, regularizer={"lam": 0.3, "convention": "keras"})
    net = spec.build_network()
    a, b = (repr(layer) for layer in net.layers)
    assert repr(net) == (
        f"Sequential([\n  {a},\n  {b}\n], loss={net.loss!r}, "
        "regularizer=L2(lam=0.3, convention='keras'))"
    )
    assert repr(NetworkSpec(4, LAYERS).build_network()).endswith(f"\n], loss={net.loss!r})")
