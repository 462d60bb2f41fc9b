"""Compiled functions shared across models (:mod:`parity_tests.frameworks.common.shared_compiled`):
models of one structure share, models of another do not, and a shared compilation never hides a
planted error nor outlives it."""

import dataclasses

import pytest

from parity_tests.cases.matrix import BN_KERAS, Case, matrix_case
from parity_tests.frameworks.jax import adapter as jax_adapter
from parity_tests.frameworks.jax import optimizers as optim_jax
from parity_tests.frameworks.keras import backends as keras_backends
from parity_tests.frameworks.keras.model import KerasModel
from parity_tests.harness import registry
from parity_tests.harness.parity import compare_case, failing
from reference_nn import LayerSpec, NetworkSpec

pytestmark = pytest.mark.frameworks

SQUARE = NetworkSpec(
    3,
    (LayerSpec.dense(3, "tanh"), LayerSpec.dense(2, "sigmoid")),
    loss="mse",
    optimizer="adam",
    optimizer_options={"lr": 0.01, "convention": "torch"},
)


def _build(framework, case, **options):
    return registry.get(framework).build(case.spec, case.materialize()[2], **options)


def test_jax_models_of_one_structure_share_their_compiled_functions(jax):
    """The matrix's saving: a second model of the same spec less its optimizer calls the
    gradient its first model compiled; another optimizer adds only its update."""
    first, adam, again = (
        _build("jax", matrix_case("tanh", "mse", opt, "float64", seed=seed))
        for seed, opt in ((3, "sgd"), (4, "adam_torch"), (5, "sgd"))
    )
    assert first._shared("_value_and_grad") is adam._shared("_value_and_grad")
    assert first._shared("optimizer.update") is again._shared("optimizer.update")
    assert first._shared("optimizer.update") is not adam._shared("optimizer.update")
    other_loss = _build("jax", matrix_case("tanh", "bce", "sgd", "float64", seed=3))
    assert other_loss._shared("_value_and_grad") is not first._shared("_value_and_grad")


def test_jax_error_planted_after_a_clean_run_is_compiled_afresh_and_caught(jax, monkeypatch):
    """The clean case compiles first; the planted runs must not reuse it, and the clean one
    after them passes again (nor may a planted compilation outlive its patch)."""
    case = Case("control", SQUARE, seed=11)
    assert failing(compare_case(case, "jax")) == set()
    adam = optim_jax.OPTIMIZERS["adam"]
    wrong = lambda o: adam.build({**o, "beta2": o["beta2"] * (1 - 1e-7)})  # noqa: E731
    with monkeypatch.context() as m:
        m.setitem(optim_jax.OPTIMIZERS, "adam", dataclasses.replace(adam, build=wrong))
        assert ("step_20", "0.W") in failing(compare_case(case, "jax"))
    dense = jax_adapter.LAYERS["dense"]
    with monkeypatch.context() as m:
        scaled = dataclasses.replace(
            dense, apply=lambda c, o, x, t: dense.apply(c, o, x, t) * 1.001
        )
        m.setitem(jax_adapter.LAYERS, "dense", scaled)
        assert ("forward", "output") in failing(compare_case(case, "jax"))
    assert failing(compare_case(case, "jax")) == set()


def test_keras_dense_models_of_one_structure_share_their_traced_gradient(keras):
    first, adam = (
        _build("keras", matrix_case("tanh", "mse", opt, "float64", seed=seed))
        for seed, opt in ((3, "sgd"), (4, "adam_keras"))
    )
    assert first.shared_gradient and adam.shared_gradient
    assert first._shared("gradient") is adam._shared("gradient")
    bce = _build("keras", matrix_case("tanh", "bce", "sgd", "float64", seed=3))
    assert bce._shared("gradient") is not first._shared("gradient")
    case = matrix_case("tanh", "mse", "sgd", "float64", seed=3)
    python_floats = _build("keras", case, python_float_constants=True)
    assert python_floats._shared("gradient") is not first._shared("gradient")


SGD = dataclasses.replace(SQUARE, optimizer="sgd", optimizer_options={"lr": 0.1})


@pytest.mark.parametrize("framework", ["keras", "keras-jax"], indirect=True)
def test_keras_error_planted_after_a_clean_run_is_traced_afresh_and_caught(framework, monkeypatch):
    """On TensorFlow the shared gradient is a ``tf.function``, on JAX a ``jax.jit`` (with the
    update): a replaced method of the adapter, or an entry deleted from one of its tables,
    must give a compilation of its own."""
    case = Case("control", SGD, seed=11)
    assert failing(compare_case(case, framework)) == set()
    original = KerasModel.__init__

    def init(self, spec, params, **options):
        original(self, spec, params, **options)
        self.layers[1].activation = lambda z: self.ops.sigmoid(z) * 1.001

    with monkeypatch.context() as m:
        m.setattr(KerasModel, "__init__", init)
        assert ("forward", "output") in failing(compare_case(case, framework))
    assert failing(compare_case(case, framework)) == set()
    if framework == "keras-jax":  # float64 tanh is replaced on JAX; without it, float32
        with monkeypatch.context() as m:
            m.delitem(keras_backends.FLOAT64_ACTIVATIONS, ("jax", "tanh"))
            assert ("forward", "output") in failing(compare_case(case, framework))
        assert failing(compare_case(case, framework)) == set()


def test_keras_networks_with_other_variables_share_nothing(keras):
    """Running statistics (batch norm) and dropout seeds are variables the mapping does not
    cover: such a network keeps the tape over its own variables."""
    for layer in (LayerSpec("batchnorm", BN_KERAS), LayerSpec("dropout", {"rate": 0.5})):
        spec = dataclasses.replace(SGD, layers=(layer, *SGD.layers))
        assert not _build("keras", Case("other", spec, seed=1)).shared_gradient
    assert _build("keras", Case("dense", SGD, seed=1)).shared_gradient


def test_keras_with_a_loop_named_keeps_the_tape(keras):
    """A named loop runs as named, and its gradient by the tape: the baseline records the
    XLA loop's models bit for bit, and the traced gradient differs by ulps."""
    for loop in ("xla", "graph", "eager"):
        assert not _build("keras", Case("dense", SGD, seed=1), loop=loop).shared_gradient
