"""A network whose loss reads the logits behind its output layer (``cce`` convention
``logits``, ``bce`` clip ``logits``: Keras on TensorFlow), and ``gradcheck`` on a network with
dropout (the masks held fixed)."""

import numpy as np
import pytest

from reference_nn import LayerSpec, NetworkSpec, gradcheck, numerical_gradient
from tests.fd import FD_TOLERANCE, rel_error, scalar_fd


def _net(out, loss, options, *, scale=1.0, seed=0, layers=None):
    spec = NetworkSpec(
        3,
        layers or (LayerSpec.dense(4, "tanh"), LayerSpec.dense(3, out)),
        loss=loss,
        loss_options=options,
    )
    net = spec.build_network()
    rng = np.random.default_rng(seed)
    net.set_parameters({k: v * scale for k, v in spec.init_parameters(rng).items()})
    X = rng.normal(size=(5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)] if loss == "cce" else (rng.random((5, 3)) < 0.5) * 1.0
    return net, X, y


@pytest.mark.parametrize(
    ("out", "loss", "options"),
    [("softmax", "cce", {"convention": "logits"}), ("sigmoid", "bce", {"clip": "logits"})],
)
def test_a_loss_on_logits_has_the_gradient_of_its_value(out, loss, options):
    net, X, y = _net(out, loss, options)
    _, grads = net.loss_and_gradients(X, y)
    for name, value in net.parameters.items():
        numeric = scalar_fd(lambda: float(net.loss_value(X, y)), value)
        assert rel_error(grads[name], numeric) < FD_TOLERANCE, name


@pytest.mark.parametrize(
    ("out", "loss", "options", "logits_loss"),
    [
        ("softmax", "cce", {"convention": "logits"}, "cce_logits"),
        ("sigmoid", "bce", {"clip": "logits"}, "bce_logits"),
    ],
)
def test_a_loss_on_logits_is_the_logits_loss_of_an_identity_output(out, loss, options, logits_loss):
    # saturated: scores of ~40, where the probabilities round to 0 and 1 in float64
    net, X, y = _net(out, loss, options, scale=30.0)
    plain, _, _ = _net("identity", logits_loss, {}, scale=30.0)
    value, grads = net.loss_and_gradients(X, y)
    expected_value, expected = plain.loss_and_gradients(X, y)
    assert value == expected_value
    assert all(np.array_equal(grads[n], expected[n]) for n in grads)
    # the output is still the probabilities
    logits = plain.forward(X)
    probs = net.forward(X)
    assert probs.min() >= 0 and probs.max() <= 1 and not np.array_equal(probs, logits)
    # negative control: clipping the probabilities (Keras elsewhere) is far from it
    clipped = {"convention": "keras"} if loss == "cce" else {"clip": "keras"}
    assert abs(value - _net(out, loss, clipped, scale=30.0)[0].loss_value(X, y)) > 1.0


@pytest.mark.parametrize(
    ("layers", "options", "message"),
    [
        (
            (LayerSpec.dense(4, "tanh"), LayerSpec.dense(3, "sigmoid")),
            {"convention": "logits"},
            "reads the logits behind a softmax output layer",
        ),
        (
            (LayerSpec.dense(3, "softmax"), LayerSpec("dropout", {"rate": 0.1})),
            {"convention": "logits"},
            "end the network with a dense layer with activation 'softmax'",
        ),
    ],
)
def test_a_loss_on_logits_needs_its_output_layer(layers, options, message):
    with pytest.raises(ValueError, match=message):
        NetworkSpec(3, layers, loss="cce", loss_options=options)


# ---------------------------------------------------------------- gradcheck and dropout
def _dropout_net(seed=3):
    spec = NetworkSpec(
        4,
        (
            LayerSpec.dense(8, "tanh"),
            LayerSpec("dropout", {"rate": 0.5, "seed": seed}),
            LayerSpec.dense(2, "sigmoid"),
        ),
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    rng = np.random.default_rng(1)
    return net, rng.normal(size=(6, 4)), rng.random((6, 2))


def test_gradcheck_holds_the_dropout_masks_fixed():
    net, X, y = _dropout_net()
    report = gradcheck(net, X, y)
    assert report.passed(1e-7), str(report)
    # negative control: finite differences with a new mask at every pass measure the masks
    _, analytic = net.loss_and_gradients(X, y)
    numeric = numerical_gradient(lambda: float(net.loss_value(X, y)), net.parameters["0.W"])
    assert rel_error(analytic["0.W"], numeric) > 0.1


def test_gradcheck_leaves_the_masks_where_one_pass_leaves_them():
    net, X, y = _dropout_net()
    twin, _, _ = _dropout_net()
    gradcheck(net, X, y)
    twin.loss_and_gradients(X, y)  # one pass: one mask drawn
    assert np.array_equal(net.forward(X), twin.forward(X))  # the same next mask


def test_gradcheck_with_given_gradients_on_a_network_with_dropout_is_refused():
    net, X, y = _dropout_net()
    _, analytic = net.loss_and_gradients(X, y)
    with pytest.raises(ValueError, match=r"random masks \(layer 1 \(dropout\)\).*leave analytic="):
        gradcheck(net, X, y, analytic=analytic)
