"""What finite differences cannot see and no parity case happened to hit: derivatives at exactly
the kink, and the bookkeeping of ``fit`` (the epoch loss with an uneven last batch).  Each
test here kills mutants that survived the rest of the suite (docs/mutation.md)."""

from __future__ import annotations

import numpy as np
import pytest

from reference_nn import LayerSpec, NetworkSpec, fit
from reference_nn.activations import ACTIVATIONS, get_activation

# The derivative each kinked activation takes at exactly z = 0, as torch's autograd and
# TensorFlow's gradients give it (torch 2.13: ReLU 0, LeakyReLU(0.25) 0.25, ELU(0.5) 0.5;
# TF's ReluGrad and LeakyReluGrad test features > 0; Keras's elu with alpha != 1 is
# where(x > 0, elu, alpha * elu)).  The left-hand slope, in each case.
AT_THE_KINK = {
    "relu": lambda options: 0.0,
    "leaky_relu": lambda options: options["alpha"],
    "elu": lambda options: options["alpha"],
}
ALPHAS = [0.25, 0.5, 2.0]


def _build(name: str, alpha: float) -> tuple[object, dict[str, float]]:
    options = {"alpha": alpha} if name in ("leaky_relu", "elu") else {}
    return get_activation(name, **options), options


def test_every_kinked_activation_is_listed():
    smooth = {"identity", "sigmoid", "tanh", "softplus", "softmax"}
    assert set(ACTIVATIONS) == smooth | set(AT_THE_KINK)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("name", sorted(AT_THE_KINK))
def test_derivative_at_the_kink_is_the_frameworks(name, alpha, dtype):
    act, options = _build(name, alpha)
    z = np.array([[-0.0, 0.0, 1e-30, -1e-30]], dtype=dtype)
    a = act.forward(z)
    d = act.derivative(z, a)
    expected_left = AT_THE_KINK[name](options)
    expected_right = 1.0
    left_tiny = {"relu": 0.0, "leaky_relu": alpha, "elu": alpha * np.exp(dtype(-1e-30))}[name]
    assert d.dtype == dtype
    assert d[0, 0] == expected_left and d[0, 1] == expected_left  # -0.0 and +0.0 alike
    assert d[0, 2] == expected_right
    assert d[0, 3] == pytest.approx(left_tiny, rel=1e-6)
    # the backward pass uses the same value
    grad = act.backward(np.full_like(z, 3.0), z, a)
    assert grad[0, 1] == 3.0 * expected_left and grad[0, 2] == 3.0


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("name", sorted(AT_THE_KINK))
def test_value_at_and_around_the_kink(name, alpha):
    act, _ = _build(name, alpha)
    z = np.array([[-2.0, 0.0, 3.0]])
    slope = {"relu": 0.0, "leaky_relu": alpha}.get(name)
    left = alpha * np.expm1(-2.0) if name == "elu" else slope * -2.0
    np.testing.assert_array_equal(act.forward(z), [[left, 0.0, 3.0]])
    d = act.derivative(z, act.forward(z))
    left_slope = alpha * np.exp(-2.0) if name == "elu" else slope
    assert d[0, 0] == pytest.approx(left_slope, rel=1e-15) and d[0, 2] == 1.0


def _network(batch_loss: str = "mse"):
    spec = NetworkSpec(
        input_shape=(2,),
        layers=(LayerSpec.dense(1, "identity"),),
        loss=batch_loss,
    )
    net = spec.build_network()
    net.set_parameters({"0.W": np.array([[1.0], [-2.0]]), "0.b": np.array([0.5])})
    return net, _Frozen()


class _Frozen:
    """An optimizer that counts its steps and changes nothing: every batch of an epoch sees
    the same parameters, so its loss is known in closed form."""

    iterations = 0

    def step(self, params, grads, validate=False):
        self.iterations += 1


def test_the_epoch_loss_weights_an_uneven_last_batch_by_its_size():
    """5 samples in batches of 2: 2, 2, 1.  With frozen parameters the batch losses are the
    per-sample squared errors averaged per batch; the epoch loss is their mean weighted by
    batch size (Keras's loss tracker: update_state(loss, sample_weight=batch size)), which
    here is the mean over the 5 samples, not the mean of the 3 batch means."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    y = np.array([[0.0], [0.0], [1.0], [0.0], [3.0]])
    net, opt = _network()
    errors = ((X @ np.array([[1.0], [-2.0]]) + 0.5 - y) ** 2).ravel()  # 2.25 2.25 2.25 6.25 6.25
    batch_means = [errors[0:2].mean(), errors[2:4].mean(), errors[4:5].mean()]
    history = fit(net, opt, X, y, epochs=2, batch_size=2)
    assert history.loss == [pytest.approx(errors.mean(), rel=1e-15)] * 2
    assert history.loss[0] != pytest.approx(np.mean(batch_means))  # the plain mean differs
    # equal batches: the weighted mean is the plain mean of the batch losses
    even = fit(*_network(), X[:4], y[:4], epochs=1, batch_size=2)
    assert even.loss == [pytest.approx(np.mean(batch_means[:2]), rel=1e-15)]
    # the order decides which sample is alone in the last batch; the epoch loss does not change
    shuffled = fit(*_network(), X, y, epochs=1, batch_size=2, orders=[[4, 3, 2, 1, 0]])
    assert shuffled.loss == [pytest.approx(errors.mean(), rel=1e-15)]
    full = fit(*_network(), X, y, epochs=1)  # one batch of all five
    assert full.loss == [pytest.approx(errors.mean(), rel=1e-15)]
    assert fit(*_network(), X, y, epochs=1, batch_size=1).loss == [pytest.approx(errors.mean())]


def test_the_history_keeps_the_orders_and_reports_each_epoch():
    X = np.arange(6.0).reshape(3, 2) / 6
    y = np.zeros((3, 1))
    seen = []
    orders = np.array([[2, 0, 1], [1, 2, 0]])
    history = fit(
        *_network(),
        X,
        y,
        epochs=2,
        batch_size=2,
        orders=orders,
        progress=lambda e, loss: seen.append((e, loss)),
    )
    np.testing.assert_array_equal(history.orders, orders)
    assert [e for e, _ in seen] == [0, 1]
    assert [loss for _, loss in seen] == history.loss


# ------------------------------------------------------------------------------ optimizers

OPTIMIZERS = [
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "convention": "keras"}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "convention": "keras"}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "convention": "keras", "amsgrad": True}),
]


@pytest.mark.parametrize(("name", "options"), OPTIMIZERS, ids=lambda v: str(v))
def test_fits_fast_path_equals_checked_steps(name, options):
    """``fit`` checks its first step only (``validate=False`` afterwards): the same updates as
    a loop of checked steps, for optimizers with per-parameter state, bit for bit."""
    from reference_nn.optimizers import get_optimizer

    spec = NetworkSpec(
        input_shape=(3,),
        layers=(LayerSpec.dense(4, "tanh"), LayerSpec.dense(2, "identity")),
        loss="mse",
        optimizer=name,
        optimizer_options=options,
    )
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    fast, slow = spec.build_network(), spec.build_network()
    initial = spec.init_parameters(1)
    fast.set_parameters(initial)
    slow.set_parameters(initial)
    opt_fast, opt_slow = get_optimizer(name, **options), get_optimizer(name, **options)
    fit(fast, opt_fast, X, y, epochs=4, batch_size=4)  # 2 steps an epoch: 4 and 2 samples
    for _ in range(4):
        for idx in (slice(0, 4), slice(4, 6)):
            _, grads = slow.loss_and_gradients(X[idx], y[idx])
            opt_slow.step(slow.parameters, grads, validate=True)
    assert opt_fast.iterations == opt_slow.iterations == 8
    for key, value in slow.parameters.items():
        np.testing.assert_array_equal(fast.parameters[key], value, err_msg=key)
    assert sorted(opt_fast.state) == sorted(slow.parameters)  # state per parameter, by name


def test_a_gradient_of_another_dtype_or_shape_is_refused():
    from reference_nn.optimizers import get_optimizer

    p = {"0.W": np.zeros((2, 2)), "0.b": np.zeros(2)}
    ok = {"0.W": np.ones((2, 2)), "0.b": np.ones(2)}
    opt = get_optimizer("sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"0.W has shape \(2, 2\)/float32"):
        opt.step(p, {**ok, "0.W": np.ones((2, 2), np.float32)})  # same shape, other dtype
    with pytest.raises(ValueError, match=r"0.b has shape \(3,\)/float64"):
        opt.step(p, {**ok, "0.b": np.ones(3)})  # same dtype, other shape
    with pytest.raises(KeyError, match="do not match"):
        opt.step(p, {"0.W": ok["0.W"]})
    # (a refused step still counts and may have updated the parameters checked before the bad
    # one: reported, optimizers.py is not changed here)


# ------------------------------------------------------------------------------ messages
# The exact words of fit's refusals (the names, shapes and hints in them are what tells the
# user what to do; a message that lost its variable part would still raise).


def _two_in_one_out():
    spec = NetworkSpec(
        input_shape=(2,),
        layers=(LayerSpec.dense(3, "identity"), LayerSpec.dense(1, "identity")),
        loss="mse",
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    return net, spec.build_optimizer()


X4, Y4 = np.ones((4, 2)), np.ones((4, 1))
FIT_MESSAGES = [
    ({"X": np.ones(4)}, "X must be 2-D, got shape (4,)"),
    ({"X": np.ones((4, 3))}, "X has samples of shape (3,) but the network expects (2,)"),
    ({"X": np.array([[1.0, np.nan]] * 4)}, "X contains 4 non-finite value(s); first at index "),
    ({"y": np.array([[np.inf]] * 4)}, "y contains 4 non-finite value(s); first at index "),
    (
        {"y": Y4.astype(np.float32)},
        "y has dtype float32 but the network computes in float64; convert it explicitly with "
        "y.astype(np.float64)",
    ),
    (
        {"y": np.ones(4)},
        "y has samples of shape () but the network's outputs have shape (1,); reshape it with "
        "y.reshape(-1, 1)",
    ),
    (
        {"y": np.ones((4, 2))},
        "y has samples of shape (2,) but the network's outputs have shape (1,)",
    ),
    (
        {"X": np.ones((0, 2)), "y": np.ones((0, 1))},
        "X and y have 0 rows: fit needs at least one sample",
    ),
    ({"orders": [[0, 1, 1, 3]]}, "orders[0] is not a permutation of 0..3"),
]


@pytest.mark.parametrize(("change", "message"), FIT_MESSAGES, ids=[m for _, m in FIT_MESSAGES])
def test_fit_refuses_in_these_words(change, message):
    net, opt = _two_in_one_out()
    data = {"X": X4, "y": Y4, **change}
    rest = {k: v for k, v in data.items() if k not in ("X", "y")}
    with pytest.raises(ValueError if "dtype" not in message else TypeError) as info:
        fit(net, opt, data["X"], data["y"], **rest)
    text = str(info.value)
    assert text == message or (message.endswith("index ") and text.startswith(message))


def test_epoch_orders_refuse_in_these_words():
    from reference_nn import epoch_orders

    with pytest.raises(ValueError) as info:
        epoch_orders(3, 1, "random")
    assert str(info.value) == "unknown epoch order 'random'; valid: sequential, shuffled"
    with pytest.raises(ValueError) as info:
        epoch_orders(3, 1, "shuffled")
    assert str(info.value) == "a shuffled epoch order needs an explicit seed"
    with pytest.raises(ValueError) as info:
        epoch_orders(10**6, 10**9)
    text = str(info.value)
    assert text.startswith(
        "the sample orders of 1,000,000,000 epochs of 1,000,000 samples (1,000,000,000 x "
        "1,000,000 int64) would need 7,450,580.6 GiB, more than this machine's "
    )
    assert text.endswith(" GiB of memory; use fewer epochs")
    orders = epoch_orders(3, 2)
    assert orders.dtype == np.int64 and orders.tolist() == [[0, 1, 2], [0, 1, 2]]


def test_divergence_errors_name_what_diverged_and_where():
    from reference_nn.training import TrainingDivergedError

    loss = TrainingDivergedError(3, 5, float("inf"))
    assert str(loss) == (
        "loss became inf at epoch 3, step 5 (0-based); lower the learning rate or check the data"
    )
    assert loss.loss == float("inf") and (loss.epoch, loss.step) == (3, 5)
    update = TrainingDivergedError(1, 2, float("nan"), after_update=True, names=["0.W", "1.b"])
    assert str(update) == (
        "parameters 0.W, 1.b became non-finite in the update at epoch 1, step 2 (0-based); "
        "lower the learning rate or check the data"
    )
    # in fit: the loss, as a float, and the parameters by name
    net, _ = _two_in_one_out()
    from reference_nn.optimizers import SGD

    with pytest.raises(TrainingDivergedError) as info:
        fit(net, SGD(lr=1e308), np.ones((4, 2)), np.full((4, 1), 1e3), epochs=1)
    assert str(info.value).startswith("parameters 0.W, 0.b, 1.W, 1.b became non-finite")
    assert isinstance(info.value.loss, float) and np.isnan(info.value.loss)
    spec = NetworkSpec(
        input_shape=(2,),
        layers=(LayerSpec.dense(3, "relu"), LayerSpec.dense(1, "identity")),
        loss="sse",
        optimizer="sgd",
        optimizer_options={"lr": 10.0},
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    X = np.random.default_rng(0).normal(size=(8, 2)) * 100
    with pytest.raises(TrainingDivergedError) as info:
        fit(net, SGD(lr=10.0), X, np.ones((8, 1)), epochs=50, batch_size=2)
    assert str(info.value).startswith("loss became ")
    assert isinstance(info.value.loss, float) and not np.isfinite(info.value.loss)
