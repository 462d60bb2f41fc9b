"""Each optimizer formulation and option against the update written out by hand in scalar
arithmetic, and every option's validation."""

import math

import numpy as np
import pytest

from reference_nn import OPTIMIZERS, SGD, Adam, RMSprop, get_optimizer

GRADS = [0.3, -1.2, 0.7]
AMS_GRADS = [1.0, 0.01, -0.01]  # v falls after the first step, so max(v_max, v) != v
P0 = 0.5
LR = 0.1


def run(opt, grads=GRADS, p0=P0):
    p = {"0.W": np.array([[p0]])}
    for g in grads:
        opt.step(p, {"0.W": np.array([[g]])})
    return float(p["0.W"][0, 0])


# ---------------------------------------------------------------- SGD by hand
def torch_sgd(mu=0.0, nesterov=False, wd=0.0, damp=0.0, grads=GRADS):
    p, v = P0, None
    for g in grads:
        g = g + wd * p
        if mu:
            v = g if v is None else mu * v + (1 - damp) * g
            g = g + mu * v if nesterov else v
        p -= LR * g
    return p


def keras_sgd(mu=0.0, nesterov=False, wd=0.0, grads=GRADS):
    p, v = P0, 0.0
    for g in grads:
        p -= p * wd * LR
        if mu:
            v = mu * v - LR * g
            p += mu * v - LR * g if nesterov else v
        else:
            p -= LR * g
    return p


def test_torch_weight_decay_without_momentum_one_step():
    # torch.optim.SGD(lr=0.1, weight_decay=0.1): 0.5 - 0.1 * (0.3 + 0.1 * 0.5) = 0.465
    # (ignoring the decay would give 0.5 - 0.1 * 0.3 = 0.47)
    assert run(SGD(0.1, weight_decay=0.1, convention="torch"), [0.3]) == pytest.approx(
        0.465, rel=1e-15
    )


def test_keras_weight_decay_without_momentum_one_step():
    # keras SGD(0.1, weight_decay=0.1): p <- 0.5 - 0.5 * 0.1 * 0.1 = 0.495, then - 0.1 * 0.3
    assert run(SGD(0.1, weight_decay=0.1, convention="keras"), [0.3]) == pytest.approx(
        0.465, rel=1e-15
    )


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_torch(nesterov):
    assert run(SGD(LR, 0.9, nesterov, "torch")) == pytest.approx(
        torch_sgd(0.9, nesterov), rel=1e-14
    )


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_keras(nesterov):
    assert run(SGD(LR, 0.9, nesterov, "keras")) == pytest.approx(
        keras_sgd(0.9, nesterov), rel=1e-14
    )


def test_momentum_conventions_agree_for_a_constant_learning_rate():
    for nesterov in (False, True):
        torch_p = run(SGD(LR, 0.9, nesterov, "torch"))
        assert run(SGD(LR, 0.9, nesterov, "keras")) == pytest.approx(torch_p, rel=1e-14)


def test_plain_sgd_is_the_same_in_both_conventions():
    expected = P0 - LR * GRADS[0] - LR * GRADS[1] - LR * GRADS[2]
    assert run(SGD(LR, convention="torch")) == pytest.approx(expected, rel=1e-15)
    assert run(SGD(LR, convention="keras")) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(("mu", "nesterov"), [(0.0, False), (0.5, False), (0.5, True)])
def test_sgd_weight_decay_each_convention(mu, nesterov):
    torch_p = run(SGD(LR, mu, nesterov, "torch", weight_decay=0.01))
    keras_p = run(SGD(LR, mu, nesterov, "keras", weight_decay=0.01))
    assert torch_p == pytest.approx(torch_sgd(mu, nesterov, wd=0.01), rel=1e-14)
    assert keras_p == pytest.approx(keras_sgd(mu, nesterov, wd=0.01), rel=1e-14)
    assert torch_p != pytest.approx(run(SGD(LR, mu, nesterov, "torch")), rel=1e-6)
    if mu:  # coupled decay goes through the momentum buffer, decoupled does not
        assert torch_p != pytest.approx(keras_p, rel=1e-9)


def test_sgd_dampening_torch():
    # step 1: v = 0.3 (no dampening on the first step), p = 0.5 - 0.03 = 0.47
    # step 2: v = 0.9 * 0.3 + 0.6 * -1.2 = -0.45, p = 0.47 + 0.045 = 0.515
    opt = SGD(LR, 0.9, convention="torch", dampening=0.4)
    assert run(opt, GRADS[:2]) == pytest.approx(0.515, rel=1e-14)
    assert run(SGD(LR, 0.9, convention="torch", dampening=0.4)) == pytest.approx(
        torch_sgd(0.9, damp=0.4), rel=1e-14
    )
    opt = SGD(LR, 0.9, convention="torch", dampening=0.4, weight_decay=0.01)
    assert run(opt) == pytest.approx(torch_sgd(0.9, damp=0.4, wd=0.01), rel=1e-14)


@pytest.mark.parametrize("lr", [0.1, 0.03, 0.0625])
@pytest.mark.parametrize("convention", ["torch", "keras"])
def test_sgd_learning_rates_not_representable_in_binary(lr, convention):
    # 0.1 and 0.03 are rounded to the nearest double; the update uses that double, as in torch
    p = P0
    for g in GRADS:
        p -= lr * g
    assert run(SGD(lr, convention=convention)) == pytest.approx(p, rel=1e-15)


# ---------------------------------------------------------------- RMSprop by hand
def rmsprop_by_hand(convention, rho, eps, weight_decay=0.0, momentum=0.0, centered=False):
    p, v, a, b = P0, 0.0, 0.0, 0.0
    for g in GRADS:
        if convention == "torch":
            g = g + weight_decay * p
        else:
            p -= p * weight_decay * LR
        v = rho * v + (1 - rho) * g * g
        a = rho * a + (1 - rho) * g
        mean_sq = v - a * a if centered else v
        if convention == "torch":
            d = math.sqrt(mean_sq) + eps
            b = momentum * b + g / d
            p -= LR * b if momentum else LR * g / d
        else:
            d = math.sqrt(mean_sq + eps)
            b = momentum * b + LR * g / d
            p -= b if momentum else LR * g / d
    return p


def test_rmsprop_torch_and_keras():
    assert run(RMSprop(LR, convention="torch")) == pytest.approx(
        rmsprop_by_hand("torch", 0.99, 1e-8), rel=1e-14
    )
    assert run(RMSprop(LR, convention="keras")) == pytest.approx(
        rmsprop_by_hand("keras", 0.9, 1e-7), rel=1e-14
    )


def test_rmsprop_epsilon_placement_matters_early():
    tiny = [1e-5]  # v = (1 - rho) g^2 is ~1e-12: comparable to eps inside the root
    a = run(RMSprop(LR, rho=0.9, eps=1e-7, convention="keras"), tiny)
    b = run(RMSprop(LR, rho=0.9, eps=1e-7, convention="torch"), tiny)
    assert abs(a - b) > 1e-3


def test_rmsprop_centered_one_step():
    # v = 0.1 * 0.09 = 0.009, a = 0.1 * 0.3 = 0.03, v - a^2 = 0.0081, sqrt = 0.09
    # torch: 0.5 - 0.1 * 0.3 / (0.09 + 0.01) = 0.2; Keras: 0.5 - 0.03 / sqrt(0.0081 + 0.0019)
    torch_p = run(RMSprop(LR, rho=0.9, eps=0.01, convention="torch", centered=True), [0.3])
    keras_p = run(RMSprop(LR, rho=0.9, eps=0.0019, convention="keras", centered=True), [0.3])
    assert torch_p == pytest.approx(0.2, rel=1e-14)
    assert keras_p == pytest.approx(0.5 - 0.03 / 0.1, rel=1e-14)


@pytest.mark.parametrize("convention", ["torch", "keras"])
@pytest.mark.parametrize(
    "options",
    [
        {"centered": True},
        {"momentum": 0.9},
        {"centered": True, "momentum": 0.9},
        {"weight_decay": 0.01},
        {"weight_decay": 0.01, "momentum": 0.5, "centered": True},
        {"rho": 0.8, "eps": 1e-3},
    ],
)
def test_rmsprop_options(convention, options):
    rho, eps = options.get("rho", 0.9), options.get("eps", 1e-6)
    opt = RMSprop(LR, convention=convention, **{**options, "rho": rho, "eps": eps})
    rest = {k: v for k, v in options.items() if k not in ("rho", "eps")}
    expected = rmsprop_by_hand(convention, rho, eps, **rest)
    assert run(opt) == pytest.approx(expected, rel=1e-14)
    plain = rmsprop_by_hand(convention, rho, eps)
    if rest:  # each option changes the result: the check above is not vacuous
        assert expected != pytest.approx(plain, rel=1e-6)


def test_rmsprop_momentum_conventions_agree_for_a_constant_learning_rate():
    torch_p = run(RMSprop(LR, 0.9, 0.0, "torch", momentum=0.9))
    assert run(RMSprop(LR, 0.9, 0.0, "keras", momentum=0.9)) == pytest.approx(torch_p, 1e-14)


# ---------------------------------------------------------------- Adam by hand
def adam_by_hand(
    convention, eps, b1=0.9, b2=0.999, wd=0.0, decoupled=False, amsgrad=False, grads=GRADS
):
    p, m, v, v_max = P0, 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        if convention == "keras":
            p -= p * wd * LR
        elif decoupled:
            p *= 1 - LR * wd
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = max(v_max, v)
        root = math.sqrt(v_max if amsgrad else v)
        if convention == "keras":  # correction in the step size, eps on the raw root
            p -= LR * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (root + eps)
        else:
            p -= LR * (m / (1 - b1**t)) / (root / math.sqrt(1 - b2**t) + eps)
    return p


def test_adam_torch_and_keras():
    assert run(Adam(LR, convention="torch")) == pytest.approx(adam_by_hand("torch", 1e-8), 1e-14)
    assert run(Adam(LR, convention="keras")) == pytest.approx(adam_by_hand("keras", 1e-7), 1e-14)


def test_adam_first_step_is_lr_times_sign():
    # m_hat = g, v_hat = g^2: p <- 0.5 - 0.1 * 0.3 / (0.3 + 0) = 0.4 with eps = 0
    for convention in ("torch", "keras"):
        assert run(Adam(LR, eps=0.0, convention=convention), [0.3]) == pytest.approx(0.4, 1e-15)


@pytest.mark.parametrize("convention", ["torch", "keras"])
@pytest.mark.parametrize(
    "options",
    [
        {"amsgrad": True},
        {"weight_decay": 0.1},
        {"beta1": 0.3, "beta2": 0.5},  # 1 - beta1 >= 0.5: torch's lerp takes its other branch
        {"eps": 1e-2},
        {"amsgrad": True, "weight_decay": 0.1, "beta2": 0.9},
    ],
)
def test_adam_options(convention, options):
    eps = options.get("eps", 1e-8)
    opt = Adam(LR, convention=convention, **{**options, "eps": eps})
    by_hand = {"amsgrad": "amsgrad", "weight_decay": "wd", "beta1": "b1", "beta2": "b2"}
    kwargs = {by_hand[k]: v for k, v in options.items() if k in by_hand}
    expected = adam_by_hand(convention, eps, grads=AMS_GRADS, **kwargs)
    assert run(opt, AMS_GRADS) == pytest.approx(expected, rel=1e-14)
    assert expected != pytest.approx(adam_by_hand(convention, 1e-8, grads=AMS_GRADS), rel=1e-6)


def test_adam_torch_decoupled_weight_decay():
    # one step, eps 0: p <- 0.5 (1 - 0.1 * 0.1) = 0.495, then - 0.1 * sign(0.3) = 0.395
    opt = Adam(LR, eps=0.0, weight_decay=0.1, decoupled_weight_decay=True)
    assert run(opt, [0.3]) == pytest.approx(0.395, rel=1e-15)
    opt = Adam(LR, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)
    expected = adam_by_hand("torch", 1e-8, wd=0.1, decoupled=True, amsgrad=True, grads=AMS_GRADS)
    assert run(opt, AMS_GRADS) == pytest.approx(expected, rel=1e-14)
    coupled = adam_by_hand("torch", 1e-8, wd=0.1, amsgrad=True, grads=AMS_GRADS)
    assert expected != pytest.approx(coupled, rel=1e-6)


# ---------------------------------------------------------------- state, options, errors
def test_float32_state_stays_float32():
    p = {"0.W": np.ones((2, 2), np.float32)}
    for opt in (
        Adam(LR, amsgrad=True, weight_decay=0.1, decoupled_weight_decay=True),
        Adam(LR, amsgrad=True, weight_decay=0.1, convention="keras"),
        RMSprop(LR, convention="keras", centered=True, momentum=0.9, weight_decay=0.1),
        RMSprop(LR, centered=True, momentum=0.9, weight_decay=0.1),
        SGD(LR, 0.9, convention="keras", weight_decay=0.1),
        SGD(LR, 0.9, convention="torch", dampening=0.5, weight_decay=0.1),
    ):
        for _ in range(2):
            opt.step(p, {"0.W": np.full((2, 2), 0.5, np.float32)})
        assert p["0.W"].dtype == np.float32
        assert all(s.dtype == np.float32 for s in opt.state["0.W"].values())


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("convention", ["torch", "keras"])
def test_options_are_every_accepted_option_and_round_trip(name, convention):
    cls = OPTIMIZERS[name]
    opt = get_optimizer(name, lr=0.03, convention=convention)
    assert set(opt.options()) == set(cls.accepted_options())
    assert get_optimizer(name, **opt.options()).options() == opt.options()
    assert not hasattr(opt, "params")  # settings are options(); arrays are params


def test_zero_epsilon_is_allowed():
    assert Adam(LR, eps=0.0).eps == 0.0 and RMSprop(LR, eps=0.0, convention="keras").eps == 0.0


BAD = [
    (lambda: SGD(0.0), ValueError, r"^SGD lr must be finite and > 0, got 0\.0$"),
    (lambda: SGD(-0.1), ValueError, r"SGD lr must be finite and > 0, got -0\.1"),
    (lambda: SGD(math.inf), ValueError, r"SGD lr must be finite and > 0, got inf"),
    (lambda: Adam(math.nan), ValueError, r"Adam lr must be finite and > 0, got nan"),
    (lambda: SGD("0.1"), TypeError, r"SGD lr must be a real number, got '0.1' \(str\)"),
    (lambda: SGD(True), TypeError, r"SGD lr must be a real number, got True \(bool\)"),
    (lambda: SGD(LR, 1.0), ValueError, r"^SGD momentum must be in \[0, 1\), got 1\.0$"),
    (lambda: SGD(LR, -0.1), ValueError, r"SGD momentum must be in \[0, 1\), got -0\.1"),
    (lambda: SGD(LR, math.nan), ValueError, r"SGD momentum must be in \[0, 1\), got nan"),
    (lambda: SGD(LR, 0.9, "yes"), TypeError, r"SGD nesterov must be a bool .*'yes' \(str\)"),
    (lambda: SGD(LR, 0.9, 1), TypeError, r"SGD nesterov must be a bool .*got 1 \(int\)"),
    (lambda: SGD(LR, nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
    (lambda: SGD(LR, weight_decay=-1), ValueError, r"SGD weight_decay must be finite and >= 0"),
    (lambda: SGD(LR, weight_decay=math.inf), ValueError, r"weight_decay must be finite"),
    (lambda: SGD(LR, 0.9, dampening=1.5), ValueError, r"SGD dampening must be in \[0, 1\]"),
    (lambda: SGD(LR, 0.9, dampening=-0.1), ValueError, r"SGD dampening must be in \[0, 1\]"),
    (lambda: SGD(LR, 0.9, dampening="0"), TypeError, r"SGD dampening must be a real number"),
    (lambda: SGD(LR, dampening=0.5), ValueError, r"SGD dampening needs momentum > 0"),
    (lambda: SGD(LR, 0.9, True, dampening=0.5), ValueError, r"nesterov=True needs dampening 0"),
    (
        lambda: SGD(LR, 0.9, convention="keras", dampening=0.5),
        ValueError,
        r"SGD dampening is torch's option \(convention='torch'\); Keras's SGD has no dampening",
    ),
    (lambda: SGD(LR, convention="pytorch"), ValueError, r"unknown optimizer convention"),
    (lambda: RMSprop(LR, 1.0), ValueError, r"^RMSprop rho must be in \[0, 1\), got 1\.0$"),
    (lambda: RMSprop(LR, -0.5), ValueError, r"RMSprop rho must be in \[0, 1\)"),
    (lambda: RMSprop(LR, eps=-1e-8), ValueError, r"RMSprop eps must be finite and >= 0"),
    (lambda: RMSprop(LR, eps=math.inf), ValueError, r"RMSprop eps must be finite and >= 0"),
    (lambda: RMSprop(LR, momentum=1.0), ValueError, r"RMSprop momentum must be in \[0, 1\)"),
    (lambda: RMSprop(LR, centered="False"), TypeError, r"RMSprop centered must be a bool"),
    (lambda: RMSprop(LR, centered=0), TypeError, r"RMSprop centered must be a bool"),
    (lambda: RMSprop(LR, weight_decay=math.nan), ValueError, r"RMSprop weight_decay must be"),
    (lambda: Adam(LR, 2.0), ValueError, r"^Adam beta1 must be in \[0, 1\), got 2\.0$"),
    (lambda: Adam(LR, 0.9, 1.0), ValueError, r"^Adam beta2 must be in \[0, 1\), got 1\.0$"),
    (lambda: Adam(LR, 0.9, -0.1), ValueError, r"Adam beta2 must be in \[0, 1\)"),
    (lambda: Adam(LR, eps=-1e-8), ValueError, r"Adam eps must be finite and >= 0"),
    (lambda: Adam(LR, eps=math.nan), ValueError, r"Adam eps must be finite and >= 0"),
    (lambda: Adam(LR, weight_decay=-0.1), ValueError, r"Adam weight_decay must be finite"),
    (lambda: Adam(LR, amsgrad="True"), TypeError, r"Adam amsgrad must be a bool"),
    (
        lambda: Adam(LR, weight_decay=0.1, decoupled_weight_decay=1),
        TypeError,
        r"Adam decoupled_weight_decay must be a bool",
    ),
    (
        lambda: Adam(LR, decoupled_weight_decay=True),
        ValueError,
        r"decoupled_weight_decay=True needs weight_decay > 0",
    ),
    (
        lambda: Adam(LR, convention="keras", weight_decay=0.1, decoupled_weight_decay=True),
        ValueError,
        r"Adam decoupled_weight_decay is torch's option \(convention='torch'\); with "
        r"convention='keras', weight_decay is always decoupled",
    ),
]


@pytest.mark.parametrize(("build", "error", "message"), BAD)
def test_bad_option_values_are_refused(build, error, message):
    with pytest.raises(error, match=message) as info:
        build()
    assert "\n" not in str(info.value)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="needs an explicit lr"):
        get_optimizer("sgd")
    with pytest.raises(ValueError, match="unknown option"):
        get_optimizer("adam", lr=0.1, beta_1=0.9)
    with pytest.raises(ValueError, match="valid: adam, rmsprop, sgd"):
        get_optimizer("adagrad", lr=0.1)
    with pytest.raises(ValueError, match=r"unknown option.*allowed: .*dampening"):
        get_optimizer("sgd", lr=0.1, damping=0.1)
    with pytest.raises(KeyError, match="do not match"):
        SGD(0.1).step({"a": np.zeros(1)}, {"b": np.zeros(1)})


def test_numpy_scalars_are_accepted():
    opt = SGD(np.float32(0.1), np.float64(0.9), np.bool_(True))
    assert opt.options()["lr"] == float(np.float32(0.1)) and opt.nesterov is True


def test_a_refused_step_changes_nothing():
    opt = SGD(0.1)
    params = {"0.W": np.array([[1.0]]), "1.W": np.array([[2.0]])}
    grads = {"0.W": np.array([[1.0]]), "1.W": np.array([[1.0, 2.0]])}  # second one misshapen
    with pytest.raises(ValueError, match=r"1\.W"):
        opt.step(params, grads)
    assert opt.iterations == 0 and params["0.W"][0, 0] == 1.0  # checked before any update
