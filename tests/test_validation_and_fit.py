"""Bad input gets a clear error; fit, specs and epoch orders behave as documented."""

import json
import subprocess
import sys

import numpy as np
import pytest

from reference_nn import (
    SGD,
    DTypeError,
    LayerSpec,
    NetworkSpec,
    NonFiniteError,
    ShapeError,
    TrainingDivergedError,
    epoch_orders,
    fit,
    legacy_rand,
)

SPEC = NetworkSpec(
    2,
    (LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(1, "sigmoid")),
    loss="mse",
    optimizer_options={"lr": 0.05},
    weight_init="uniform01",
    bias_init="uniform01",
)


@pytest.fixture
def net():
    n = SPEC.build_network()
    n.set_parameters(SPEC.init_parameters(0))
    return n


def test_importing_reference_nn_imports_no_framework():
    code = (
        "import sys, reference_nn, reference_nn.metrics; "
        "bad = [m for m in ('torch', 'tensorflow', 'keras', 'sklearn') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_flat_target_is_refused(net):
    with pytest.raises(ShapeError, match="reshape"):
        net.loss_value(np.zeros((4, 2)), np.zeros(4))


def test_wrong_dtype_is_refused_not_cast(net):
    with pytest.raises(DTypeError, match="astype"):
        net.forward(np.zeros((4, 2), np.float32))
    f32 = SPEC.with_changes(dtype="float32").build_network()
    with pytest.raises(DTypeError):
        f32.forward(np.zeros((4, 2)))
    assert f32.forward(np.zeros((4, 2), np.float32)).dtype == np.float32


def test_non_finite_input_is_refused(net):
    X = np.zeros((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"index \(2, 1\)"):
        net.forward(X)


def test_wrong_feature_count_and_parameter_names(net):
    with pytest.raises(ShapeError, match="3 features"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(KeyError, match="missing"):
        net.set_parameters({"0.W": np.zeros((2, 3))})
    with pytest.raises(ShapeError, match="needs shape"):
        net.set_parameters({**net.get_parameters(), "0.W": np.zeros((3, 2))})


def test_divergence_names_epoch_and_step():
    spec = SPEC.with_changes(
        loss="sse", layers=(LayerSpec.dense(3, "relu"), LayerSpec.dense(1, "identity"))
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    X = np.random.default_rng(0).normal(size=(8, 2)) * 100
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, step \d+"):
        fit(net, SGD(lr=10.0), X, np.ones((8, 1)), epochs=50, batch_size=2)


LINEAR = SPEC.with_changes(layers=(LayerSpec.dense(3, "identity"), LayerSpec.dense(1, "identity")))


def test_divergence_in_the_last_update_is_caught():
    # One epoch, one full batch: the only update is the last one, after the loss check.
    # lr * dL/dW = 1e308 * ~1e3 overflows to inf in that update.
    net = LINEAR.build_network()
    net.set_parameters(LINEAR.init_parameters(0))
    X, y = np.random.default_rng(0).random((4, 2)), np.full((4, 1), 1e3)
    with pytest.raises(TrainingDivergedError, match=r"non-finite in the update at epoch 0, step 0"):
        fit(net, SGD(lr=1e308), X, y, epochs=1)


def test_a_finite_run_is_not_reported_as_divergent():  # control for the test above
    net = LINEAR.build_network()
    net.set_parameters(LINEAR.init_parameters(0))
    X, y = np.random.default_rng(0).random((4, 2)), np.full((4, 1), 1e3)
    assert len(fit(net, SGD(lr=1e-3), X, y, epochs=1).loss) == 1


def test_fit_per_sample_sgd_equals_a_hand_loop(net):
    rng = np.random.default_rng(3)
    X, y = rng.random((5, 2)), rng.random((5, 1))
    start = net.get_parameters()
    orders = epoch_orders(5, 2, "shuffled", seed=1)
    history = fit(net, SGD(lr=0.05), X, y, epochs=2, batch_size=1, orders=orders)
    # the same training written without fit(): one step per sample, in the given order
    ref = SPEC.build_network()
    ref.set_parameters(start)
    for order in orders:
        for i in order:
            _, g = ref.loss_and_gradients(X[i : i + 1], y[i : i + 1])
            for k, p in ref.parameters.items():
                p -= 0.05 * g[k]
    for k, p in net.parameters.items():
        np.testing.assert_array_equal(p, ref.parameters[k])
    assert len(history.loss) == 2 and history.loss[1] < history.loss[0]


def test_epoch_orders():
    seq = epoch_orders(4, 2)
    assert seq.tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]
    a, b = epoch_orders(50, 3, "shuffled", seed=9), epoch_orders(50, 3, "shuffled", seed=9)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
    with pytest.raises(ValueError, match="explicit seed"):
        epoch_orders(4, 1, "shuffled")
    with pytest.raises(ValueError, match="not a permutation"):
        fit(
            SPEC.build_network(),
            SGD(0.1),
            np.zeros((3, 2)),
            np.zeros((3, 1)),
            orders=np.array([[0, 0, 1]]),
        )


def test_spec_round_trips_through_json():
    spec = SPEC.with_changes(
        layers=(
            LayerSpec.dense(4, "leaky_relu", {"alpha": 0.2}, use_bias=False),
            LayerSpec.dense(2, "softmax"),
        ),
        loss="cce",
        loss_options={"convention": "keras"},
        regularizer={"lam": 0.1, "convention": "course"},
        optimizer="adam",
        optimizer_options={"lr": 1e-3, "convention": "keras"},
        dtype="float32",
    )
    text = spec.to_json()
    again = NetworkSpec.from_json(text)
    assert again == spec and json.loads(again.to_json()) == json.loads(text)
    assert again.parameter_names() == ["0.W", "1.W", "1.b"]
    np.testing.assert_array_equal(spec.init_parameters(5)["1.W"], again.init_parameters(5)["1.W"])


def test_spec_rejects_unknown_names():
    with pytest.raises(ValueError, match="valid:"):
        SPEC.with_changes(loss="l1")
    with pytest.raises(ValueError, match="unknown option"):
        NetworkSpec.from_dict({**SPEC.to_dict(), "colour": "red"})


def test_legacy_rand_matches_the_global_legacy_generator():
    state = np.random.get_state()
    try:
        np.random.seed(10)
        expected = [np.random.rand(3, 4), np.random.rand(4, 1)]
    finally:
        np.random.set_state(state)
    got = legacy_rand(10, [(3, 4), (4, 1)])
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e, g)
