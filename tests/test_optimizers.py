"""Each optimizer formulation against the update written out by hand in scalar arithmetic."""

import math

import numpy as np
import pytest

from reference_nn import SGD, Adam, RMSprop, get_optimizer

GRADS = [0.3, -1.2, 0.7]
P0 = 0.5
LR = 0.1


def run(opt, grads=GRADS, p0=P0):
    p = {"0.W": np.array([[p0]])}
    for g in grads:
        opt.step(p, {"0.W": np.array([[g]])})
    return float(p["0.W"][0, 0])


def torch_momentum(mu, nesterov, wd=0.0):
    p, v = P0, None
    for g in GRADS:
        g = g + wd * p
        v = g if v is None else mu * v + g
        p -= LR * (g + mu * v if nesterov else v)
    return p


def keras_momentum(mu, nesterov):
    p, v = P0, 0.0
    for g in GRADS:
        v = mu * v - LR * g
        p += mu * v - LR * g if nesterov else v
    return p


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_torch(nesterov):
    assert run(SGD(LR, 0.9, nesterov, "torch")) == pytest.approx(
        torch_momentum(0.9, nesterov), rel=1e-14
    )


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_keras(nesterov):
    assert run(SGD(LR, 0.9, nesterov, "keras")) == pytest.approx(
        keras_momentum(0.9, nesterov), rel=1e-14
    )


def test_momentum_conventions_agree_for_a_constant_learning_rate():
    for nesterov in (False, True):
        torch_p = run(SGD(LR, 0.9, nesterov, "torch"))
        assert run(SGD(LR, 0.9, nesterov, "keras")) == pytest.approx(torch_p, rel=1e-14)


def test_plain_sgd_and_torch_weight_decay():
    assert run(SGD(LR)) == pytest.approx(P0 - LR * sum(GRADS), rel=1e-15)
    assert run(SGD(LR, 0.5, weight_decay=0.01)) == pytest.approx(
        torch_momentum(0.5, False, wd=0.01), rel=1e-14
    )


def test_rmsprop_torch_and_keras():
    def by_hand(rho, eps, inside):
        p, v = P0, 0.0
        for g in GRADS:
            v = rho * v + (1 - rho) * g * g
            p -= LR * g / (math.sqrt(v + eps) if inside else math.sqrt(v) + eps)
        return p

    assert run(RMSprop(LR, convention="torch")) == pytest.approx(
        by_hand(0.99, 1e-8, False), rel=1e-14
    )
    assert run(RMSprop(LR, convention="keras")) == pytest.approx(
        by_hand(0.9, 1e-7, True), rel=1e-14
    )


def test_rmsprop_epsilon_placement_matters_early():
    tiny = [1e-5]  # v = (1 - rho) g^2 is ~1e-12: comparable to eps inside the root
    a = run(RMSprop(LR, rho=0.9, eps=1e-7, convention="keras"), tiny)
    b = run(RMSprop(LR, rho=0.9, eps=1e-7, convention="torch"), tiny)
    assert abs(a - b) > 1e-3


def test_adam_torch_and_keras():
    def by_hand(eps, folded):
        p, m, v = P0, 0.0, 0.0
        b1, b2 = 0.9, 0.999
        for t, g in enumerate(GRADS, start=1):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            if folded:  # Keras: correction in the step size, eps on the raw root
                p -= LR * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (math.sqrt(v) + eps)
            else:
                p -= LR * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        return p

    assert run(Adam(LR, convention="torch")) == pytest.approx(by_hand(1e-8, False), rel=1e-14)
    assert run(Adam(LR, convention="keras")) == pytest.approx(by_hand(1e-7, True), rel=1e-14)


def test_float32_state_stays_float32():
    p = {"0.W": np.ones((2, 2), np.float32)}
    for opt in (Adam(LR), RMSprop(LR, convention="keras"), SGD(LR, 0.9, convention="keras")):
        opt.step(p, {"0.W": np.full((2, 2), 0.5, np.float32)})
        assert p["0.W"].dtype == np.float32
        assert all(s.dtype == np.float32 for s in opt.state["0.W"].values())


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="needs an explicit lr"):
        get_optimizer("sgd")
    with pytest.raises(ValueError, match="unknown option"):
        get_optimizer("adam", lr=0.1, beta_1=0.9)
    with pytest.raises(ValueError, match="valid: adam, rmsprop, sgd"):
        get_optimizer("adagrad", lr=0.1)
    with pytest.raises(ValueError, match="weight_decay is torch's option"):
        SGD(0.1, 0.9, convention="keras", weight_decay=0.1)
    with pytest.raises(KeyError, match="do not match"):
        SGD(0.1).step({"a": np.zeros(1)}, {"b": np.zeros(1)})
