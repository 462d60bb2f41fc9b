"""backward() against finite differences for random networks, and negative controls."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from reference_nn import LayerSpec, NetworkSpec, gradcheck
from reference_nn.activations import Sigmoid
from reference_nn.layers import Dense
from tests.fd import FD_TOLERANCE, rel_error, scalar_fd

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus"]
ACT_PARAMS = {"leaky_relu": {"alpha": 0.1}, "elu": {"alpha": 1.0}}
# loss -> output activation that makes sense with it (None: any hidden-type activation)
PAIRINGS = {
    "mse": None,
    "sse": None,
    "half_sse": None,
    "bce": "sigmoid",
    "logistic": "sigmoid",
    "bce_logits": "identity",
    "cce": "softmax",
    "cce_logits": "identity",
}


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 16), min_size=depth + 1, max_size=depth + 1))
    loss = draw(st.sampled_from(sorted(PAIRINGS)))
    hidden = draw(st.sampled_from(HIDDEN))
    out = PAIRINGS[loss] or draw(st.sampled_from(HIDDEN))
    if out == "softmax" and widths[-1] == 1:
        widths[-1] = 2
    layers = [
        LayerSpec.dense(
            w,
            hidden if i < depth - 1 else out,
            ACT_PARAMS.get(hidden if i < depth - 1 else out, {}),
            use_bias=draw(st.booleans()),
        )
        for i, w in enumerate(widths[1:])
    ]
    reg = draw(
        st.sampled_from(
            [None, {"lam": 0.3, "convention": "keras"}, {"lam": 0.3, "convention": "course"}]
        )
    )
    spec = NetworkSpec(
        widths[0],
        tuple(layers),
        loss=loss,
        regularizer=reg,
        weight_init="scaled_normal",
        bias_init="scaled_normal",
    )
    return spec, draw(st.integers(1, 32)), draw(st.integers(0, 2**32 - 1))


def _targets(spec, rng, n):
    k = spec.layers[-1].options["units"]
    if spec.loss in ("cce", "cce_logits"):
        return np.eye(k)[rng.integers(0, k, n)]
    if spec.loss in ("bce", "logistic", "bce_logits"):
        return rng.random((n, k))
    return rng.normal(size=(n, k))


@given(case=networks())
def test_backward_matches_finite_differences(case):
    spec, n, seed = case
    rng = np.random.default_rng(seed)
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(rng))
    X, y = rng.normal(size=(n, *spec.input_shape)), _targets(spec, rng, n)
    _, grads = net.loss_and_gradients(X, y)
    for name, value in net.parameters.items():
        numeric = scalar_fd(lambda: float(net.loss_value(X, y)), value)
        err = rel_error(grads[name], numeric)
        assert err < FD_TOLERANCE, f"{spec.loss} {name}: relative error {err:.2e}"


def _small_net(loss="mse", out="sigmoid"):
    spec = NetworkSpec(3, (LayerSpec.dense(4, "tanh"), LayerSpec.dense(2, out)), loss=loss)
    net = spec.build_network()
    rng = np.random.default_rng(7)
    net.set_parameters(spec.init_parameters(rng))
    return net, rng.normal(size=(6, 3)), rng.random((6, 2))


def test_gradcheck_passes_on_a_correct_network():
    net, X, y = _small_net()
    report = gradcheck(net, X, y)
    assert report.passed(1e-7), str(report)
    assert [c.name for c in report.checks] == ["0.W", "0.b", "1.W", "1.b"]


# ---------------------------------------------------------------- negative controls
def test_gradcheck_catches_a_wrong_activation_derivative(monkeypatch):
    net, X, y = _small_net()
    monkeypatch.setattr(Sigmoid, "derivative", lambda self, z, a: a * (1 - a) * 1.01)
    report = gradcheck(net, X, y)
    assert not report.passed(1e-7)
    assert report.worst.name in {"0.W", "0.b", "1.W", "1.b"}


def test_gradcheck_catches_a_bias_gradient_not_summed_over_the_batch(monkeypatch):
    net, X, y = _small_net()
    original = Dense.backward

    def mean_instead_of_sum(self, grad_a):
        out = original(self, grad_a)
        self.grads["b"] = self.grads["b"] / len(grad_a)
        return out

    monkeypatch.setattr(Dense, "backward", mean_instead_of_sum)
    report = gradcheck(net, X, y)
    bad = {c.name for c in report.checks if c.normwise_rel_error > 1e-7}
    assert bad == {"0.b", "1.b"}


def test_gradcheck_catches_a_missing_transpose():
    _, X, y = _small_net()
    square = NetworkSpec(
        3, (LayerSpec.dense(3, "tanh"), LayerSpec.dense(2, "sigmoid"))
    ).build_network()
    square.set_parameters(
        {k: np.random.default_rng(1).normal(size=v.shape) for k, v in square.parameters.items()}
    )
    _, g = square.loss_and_gradients(X, y)
    g["0.W"] = g["0.W"].T.copy()  # X.T @ delta written as (X.T @ delta).T
    report = gradcheck(square, X, y, analytic=g)
    assert report.worst.name == "0.W" and not report.passed(1e-7)


def test_course_penalty_skips_biases():
    net, X, y = _small_net(loss="logistic")
    from reference_nn import L2

    net.regularizer = L2(lam=2.0, convention="course")
    _, with_reg = net.loss_and_gradients(X, y)
    net.regularizer = None
    _, without = net.loss_and_gradients(X, y)
    m = len(X)
    for name, p in net.parameters.items():
        extra = with_reg[name] - without[name]
        expected = (2.0 / m) * p if name.endswith(".W") else np.zeros_like(p)
        assert np.allclose(extra, expected, rtol=1e-12, atol=0), name
