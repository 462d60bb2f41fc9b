"""Keras on each backend: which Keras ops drop float64 to float32 there (Keras 3.15: its
``result_type`` maps float64 to float32 on every backend but TensorFlow), what the adapter
uses instead, planted errors in the backend-neutral adapter, and the per-backend processes.

Each test runs in the process of its backend (``tox -e full`` / ``keras-jax`` /
``keras-torch``) and skips in the others."""

import configparser
from pathlib import Path

import numpy as np
import pytest

from parity_tests.cases.matrix import Case
from parity_tests.frameworks.keras import backends as keras_backends
from parity_tests.frameworks.keras import losses as keras_losses
from parity_tests.frameworks.keras.model import KerasModel
from parity_tests.harness import loaders, registry
from parity_tests.harness.parity import compare_case, failing
from reference_nn import LayerSpec, NetworkSpec
from tests.parity.conftest import not_run

pytestmark = pytest.mark.frameworks
ROOT = Path(__file__).resolve().parents[2]
KERAS = {"keras": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}

# op -> the backends on which it computes float64 input in float32 (measured, Keras 3.15.1)
DROPS = {
    "ops.matmul": {"torch"},
    "ops.mean": {"jax", "torch"},
    "ops.tanh": {"jax"},
    "ops.maximum": {"torch"},
    "losses.MeanSquaredError": {"jax", "torch"},
    "layers.Dense": {"torch"},
}


def _probe(keras, what, rng):
    """(value in float64 as Keras computes it, the exact float64 value) for one op."""
    ops = keras.ops
    X, Y = rng.normal(size=(8, 30)), rng.normal(size=(30, 20))
    x = ops.convert_to_tensor(X, dtype="float64")
    if what == "ops.matmul":
        return ops.matmul(x, ops.convert_to_tensor(Y, dtype="float64")), X @ Y
    if what == "ops.mean":
        return ops.mean(x), X.mean()
    if what == "ops.tanh":
        return ops.tanh(x), np.tanh(X)
    if what == "ops.maximum":
        return ops.maximum(x, ops.convert_to_tensor(X[::-1], dtype="float64")), np.maximum(
            X, X[::-1]
        )
    if what == "losses.MeanSquaredError":
        Z = rng.normal(size=X.shape)
        mse = keras.losses.MeanSquaredError(dtype="float64")
        return mse(ops.convert_to_tensor(Z, dtype="float64"), x), np.mean((X - Z) ** 2)
    if what == "layers.Dense":
        layer = keras.layers.Dense(20, dtype="float64")
        layer.build((None, 30))
        layer.kernel.assign(Y)
        return layer(x), X @ Y + keras.ops.convert_to_numpy(layer.bias.value)
    raise KeyError(what)


def _replacement(keras, what, rng):
    """The adapter's float64 form of the op (see keras_backends), and the exact value."""
    ops = keras.ops
    X, Y = rng.normal(size=(8, 30)), rng.normal(size=(30, 20))
    x = ops.convert_to_tensor(X, dtype="float64")
    if what == "ops.mean":  # the losses: ops.sum and the backend's own division
        return ops.sum(x) / X.size, X.mean()
    if what == "ops.tanh":
        return keras_backends._tanh_by_tanh_shrink(keras)(x), np.tanh(X)
    if what == "layers.Dense":
        layer = keras_backends._einsum_dense(
            keras,
            {"units": 20, "activation": "identity", "activation_options": {}, "use_bias": False},
            None,
            "float64",
        )
        layer.build((None, 30))
        layer.kernel.assign(Y)
        return layer(x), X @ Y
    raise KeyError(what)


def _error(keras, value, exact):
    got = np.asarray(keras.ops.convert_to_numpy(value))
    return got.dtype, float(np.linalg.norm(got - exact) / np.linalg.norm(exact))


@pytest.mark.parametrize("framework", list(KERAS), indirect=True)
@pytest.mark.parametrize("what", list(DROPS))
def test_which_keras_ops_compute_float64_in_float32(what, framework):
    keras = loaders.keras(KERAS[framework])
    dtype, err = _error(keras, *_probe(keras, what, np.random.default_rng(0)))
    if KERAS[framework] in DROPS[what]:
        assert err > 1e-10, (what, dtype, err)  # float32 rounding: ~1e-8
    else:
        assert dtype == np.float64 and err < 1e-14, (what, dtype, err)


@pytest.mark.parametrize("framework", ["keras-jax", "keras-torch"], indirect=True)
@pytest.mark.parametrize("what", ["ops.mean", "ops.tanh", "layers.Dense"])
def test_what_the_adapter_uses_instead_keeps_float64(what, framework):
    keras = loaders.keras(KERAS[framework])
    dtype, err = _error(keras, *_replacement(keras, what, np.random.default_rng(0)))
    assert dtype == np.float64 and err < 1e-15, (what, err)


@pytest.mark.parametrize("framework", ["keras-jax", "keras-torch"], indirect=True)
def test_the_replacements_are_what_the_model_uses(framework):
    spec = NetworkSpec(3, (LayerSpec.dense(4, "tanh"), LayerSpec.dense(2, "sigmoid")))
    model = registry.get(framework).build(spec, spec.init_parameters(0))
    keras = loaders.keras(KERAS[framework])
    first = model.layers[0]
    if framework == "keras-torch":
        assert isinstance(first, keras.layers.EinsumDense)
    else:
        assert isinstance(first, keras.layers.Dense)
        assert first.activation is not keras.activations.tanh  # the tanh_shrink form


# ---------------------------------------------------------------- negative controls
SQUARE = NetworkSpec(
    3,
    (LayerSpec.dense(3, "tanh"), LayerSpec.dense(2, "sigmoid")),
    loss="mse",
    optimizer="rmsprop",
    optimizer_options={"lr": 0.01, "convention": "keras"},
)


@pytest.mark.parametrize("framework", list(KERAS), indirect=True)
def test_clean_backend_run_passes(framework):
    assert failing(compare_case(Case("control", SQUARE, seed=11), framework)) == set()


@pytest.mark.parametrize("framework", ["keras-jax", "keras-torch"], indirect=True)
def test_a_wrong_loss_divisor_in_the_adapter_is_caught(framework, monkeypatch):
    original = keras_losses.by_ops

    def planted(name):
        loss = original(name)
        return lambda y, p: loss(y, p) * (1 + 1e-9)  # a divisor one part in 1e9 off

    monkeypatch.setattr(keras_losses, "by_ops", planted)
    bad = failing(compare_case(Case("control", SQUARE, seed=11), framework))
    assert ("loss", "loss") in bad and ("grads", "0.W") in bad
    assert ("forward", "output") not in bad


@pytest.mark.parametrize("framework", ["keras-jax", "keras-torch"], indirect=True)
def test_a_transposed_hidden_kernel_is_caught(framework, monkeypatch):
    original = KerasModel.set_parameters

    def transposed(self, params):
        original(self, {**params, "0.W": params["0.W"].T.copy()})  # square: no shape error

    monkeypatch.setattr(KerasModel, "set_parameters", transposed)
    bad = failing(compare_case(Case("control", SQUARE, seed=11), framework))
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


@pytest.mark.parametrize("framework", ["keras-jax"], indirect=True)
def test_float64_tanh_on_jax_without_the_replacement_is_caught(framework, monkeypatch):
    # Negative control of the replacement itself: with Keras's own tanh, float64 parity fails
    # (as a tanh output layer, its output is even typed float32).
    monkeypatch.delitem(keras_backends.FLOAT64_ACTIVATIONS, ("jax", "tanh"))
    bad = failing(compare_case(Case("control", SQUARE, seed=11), framework))
    assert ("forward", "output") in bad and ("grads", "0.W") in bad
    out_tanh = SQUARE.with_changes(
        layers=(LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(2, "tanh"))
    )
    with pytest.raises(ValueError, match="dtype mismatch"):
        compare_case(Case("control", out_tanh, seed=11), framework)


# ---------------------------------------------------------------- one process per backend
def test_another_backends_keras_is_unavailable_here_and_says_why():
    here = loaders.keras_backend()
    for name, backend in KERAS.items():
        if backend == here:
            continue
        with pytest.raises(loaders.OtherBackendProcess, match="another backend's process"):
            registry.get(name).load()


def test_every_keras_backend_has_a_tox_environment_that_ci_runs():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    ci = (ROOT / ".ci" / "run").read_text()
    for name, backend in KERAS.items():
        env = "full" if backend == "tensorflow" else name
        section = tox[f"testenv:{env}"]
        assert f"KERAS_BACKEND = {backend}" in section.get("set_env", "") or env == "full"
        assert "REFNN_REQUIRE_FRAMEWORKS = 1" in section["set_env"]
        assert env in ci.split("tox -e ", 1)[1].split()[0].split(",")
        if env != "full":  # its process deselects what is not its own (tests/tiers.py)
            assert "-m pytest" in section["commands"]
    assert "KERAS_BACKEND = tensorflow" in tox["testenv"]["set_env"]


def test_a_required_session_that_ran_no_test_of_an_available_framework_fails():
    # the conftest check: collected but none passed (and available here) -> reported
    assert not_run({"jax": 2}, {"jax": 1}) == []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("parity_tests.harness.registry.loads_here", lambda name: True)
        assert not_run({"keras-jax": 5, "torch": 1}, {"torch": 1}) == ["keras-jax"]


# ---------------------------------------------------------------- per-framework tolerances
def test_tolerance_takes_the_framework_and_compare_runs_passes_it(monkeypatch):
    from parity_tests.harness import tolerances
    from parity_tests.harness.compare import compare_runs
    from parity_tests.harness.protocol import RunResult

    assert tolerances.tolerance("float64", "grads", "keras-jax") == tolerances.tolerance(
        "float64", "grads"
    )
    own = {**tolerances.TOLERANCES["float64"], "grads": 1e-3}
    monkeypatch.setitem(tolerances.FRAMEWORK_TOLERANCES, "keras-jax", {"float64": own})
    assert tolerances.tolerance("float64", "grads", "keras-jax") == 1e-3
    assert tolerances.tolerance("float64", "grads", "keras") == 5e-14  # others unchanged
    ref = RunResult(np.ones((2, 1)), np.asarray(1.0), {"0.W": np.ones((2, 2))})
    off = RunResult(np.ones((2, 1)), np.asarray(1.0), {"0.W": np.ones((2, 2)) * (1 + 1e-6)})
    for name, passed in (("keras-jax", True), ("keras", False)):  # 1e-6: inside 1e-3 only
        grads = [c for c in compare_runs("t", name, "float64", ref, off) if c.quantity == "grads"]
        assert [c.passed for c in grads] == [passed], name
