"""The JAX adapter's own claims: optax is used only where it computes the formulation exactly
(bit for bit), float32 stays float32 with x64 enabled, the compiled scan agrees with the
eager steps, and a planted error in the adapter is caught."""

import dataclasses

import numpy as np
import pytest

from parity_tests.cases.matrix import Case, matrix_case
from parity_tests.cases.optimizer_options import OPTION_VARIANTS
from parity_tests.frameworks.jax import adapter as jax_adapter
from parity_tests.frameworks.jax import optimizers as optim_jax
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.parity import compare_case, failing, run_framework
from parity_tests.harness.tolerances import tolerance
from reference_nn import LayerSpec, NetworkSpec, get_optimizer

pytestmark = pytest.mark.frameworks


def _resolved(name, options):
    return get_optimizer(name, **options).options()


OPTAX_VARIANTS = [
    label
    for label, (name, options) in OPTION_VARIANTS.items()
    if optim_jax.uses_optax(name, _resolved(name, options))
]


def _updates(name, options, dtype, prefer_optax, jnp):
    """20 updates of two parameters from seeded gradients; the parameters after each."""
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(4, 3)).astype(dtype), "b": rng.normal(size=3).astype(dtype)}
    grads = [
        {k: rng.normal(size=v.shape).astype(dtype) for k, v in params.items()} for _ in range(20)
    ]
    opt = optim_jax.build(name, _resolved(name, options), prefer_optax=prefer_optax)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    state = opt.init(p)
    ref = get_optimizer(name, **options)
    ref_p = {k: v.copy() for k, v in params.items()}
    out = []
    for g in grads:
        p, state = opt.update(p, {k: jnp.asarray(v) for k, v in g.items()}, state)
        ref.step(ref_p, {k: v.copy() for k, v in g.items()})
        out.append(
            ({k: np.asarray(v) for k, v in p.items()}, {k: v.copy() for k, v in ref_p.items()})
        )
    return out


def test_optax_is_used_for_exactly_the_sgd_formulations_it_computes():
    assert set(OPTAX_VARIANTS) == {
        label
        for label in OPTION_VARIANTS
        if label.startswith("sgd-torch") and "dampening" not in label
    } | {"sgd-keras-base", "sgd-keras-lr0.1", "sgd-keras-lr0.03"}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("label", OPTAX_VARIANTS)
def test_optax_computes_the_formulation_bit_for_bit(label, dtype, jax):
    name, options = OPTION_VARIANTS[label]
    via_optax = _updates(name, options, dtype, True, jax.numpy)
    by_hand = _updates(name, options, dtype, False, jax.numpy)
    assert optim_jax.build(name, _resolved(name, options)).via_optax
    for (a, ref), (b, _) in zip(via_optax, by_hand, strict=True):
        for k in a:
            assert a[k].dtype == np.dtype(dtype)
            np.testing.assert_array_equal(a[k], b[k])  # optax == the written rule, exactly
            np.testing.assert_array_equal(a[k], ref[k])  # == the reference, exactly


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("label", [lb for lb in OPTION_VARIANTS if lb not in OPTAX_VARIANTS])
def test_hand_written_updates_match_the_reference(label, dtype, jax):
    name, options = OPTION_VARIANTS[label]
    for p, ref in _updates(name, options, dtype, True, jax.numpy):
        for k in p:
            assert tensor_error(ref[k], p[k]).normwise_rel <= tolerance(dtype, "steps", "jax")


def test_optax_adam_is_not_torchs_adam(jax):
    # Why Adam is written by hand: optax divides the moments by their corrections before the
    # root (sqrt(v / c2)); torch divides the root (sqrt(v) / sqrt(c2)).  Not bitwise the same.
    import optax

    rng = np.random.default_rng(1)
    p = {"w": jax.numpy.asarray(rng.normal(size=50))}
    transform = optax.adam(0.01, b1=0.9, b2=0.999, eps=1e-8)
    state = transform.init(p)
    ref = get_optimizer("adam", lr=0.01, convention="torch")
    ref_p = {"w": np.asarray(p["w"]).copy()}
    for _ in range(20):
        g = rng.normal(size=50)
        u, state = transform.update({"w": jax.numpy.asarray(g)}, state, p)
        p = optax.apply_updates(p, u)
        ref.step(ref_p, {"w": g})
    assert not np.array_equal(np.asarray(p["w"]), ref_p["w"])


# ---------------------------------------------------------------- dtypes and the compiled loop
def test_float32_stays_float32_with_x64_enabled(jax):
    assert jax.config.jax_enable_x64  # enabled by the adapter's load
    case = matrix_case("tanh", "mse", "adam_torch", "float32")
    X, y, params, batches = case.materialize()
    result = run_framework("jax", case.spec, params, X, y, batches)
    for quantity in result.quantities().values():
        assert {v.dtype for v in quantity.values()} == {np.dtype(np.float32)}
    model = jax_adapter.JaxAdapter().build(case.spec, params)
    losses = model.train(X, y, np.tile(np.arange(4), (jax_adapter.COMPILE_FROM_STEPS, 1)))
    assert losses.dtype == np.float32 and model.params["0.W"].dtype == np.float32


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_scan_agrees_with_the_eager_steps(dtype, jax, monkeypatch):
    case = matrix_case("sigmoid", "bce", "momentum_torch", dtype)
    X, y, params, _ = case.materialize()
    batches = np.random.default_rng(0).integers(0, len(X), size=(jax_adapter.COMPILE_FROM_STEPS, 4))
    compiled = jax_adapter.JaxAdapter().build(case.spec, params)
    compiled_losses = compiled.train(X, y, batches)
    assert compiled._compiled is not None
    monkeypatch.setattr(jax_adapter, "COMPILE_FROM_STEPS", 10**9)
    eager = jax_adapter.JaxAdapter().build(case.spec, params)
    eager_losses = eager.train(X, y, batches)
    limit = tolerance(dtype, f"step_{len(batches)}", "jax")
    for name, p in eager.parameters().items():
        assert tensor_error(p, compiled.parameters()[name]).normwise_rel <= limit, name
    assert tensor_error(eager_losses, compiled_losses).normwise_rel <= tolerance(dtype, "loss")


# ---------------------------------------------------------------- negative controls
SQUARE = NetworkSpec(
    3,
    (LayerSpec.dense(3, "tanh"), LayerSpec.dense(2, "sigmoid")),
    loss="mse",
    optimizer="adam",
    optimizer_options={"lr": 0.01, "convention": "torch"},
)


def test_a_missing_transpose_in_the_jax_adapter_is_caught(jax, monkeypatch):
    original = jax_adapter.JaxModel.set_parameters

    def transposed(self, params):
        original(self, {**params, "0.W": params["0.W"].T.copy()})  # square: no shape error

    monkeypatch.setattr(jax_adapter.JaxModel, "set_parameters", transposed)
    bad = failing(compare_case(Case("control", SQUARE, seed=11), "jax"))
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


def test_a_wrong_constant_in_a_hand_written_jax_update_is_caught(jax, monkeypatch):
    entry = optim_jax.OPTIMIZERS["adam"]

    def wrong_beta2(o):
        return entry.build({**o, "beta2": o["beta2"] * (1 - 1e-7)})

    monkeypatch.setitem(optim_jax.OPTIMIZERS, "adam", dataclasses.replace(entry, build=wrong_beta2))
    bad = failing(compare_case(Case("control", SQUARE, seed=11), "jax"))
    assert {("step_20", n) for n in ("0.W", "0.b", "1.W", "1.b")} <= bad
    assert not any(q in ("forward", "loss", "grads") for q, _ in bad)


def test_an_option_the_table_does_not_map_is_refused_by_name(monkeypatch):
    """An option of the reference that no JAX update reads is refused, never dropped: here
    ``amsgrad`` as if the Adam entry did not map it (at its default it changes nothing)."""
    options = {"lr": 0.01, "convention": "torch"}
    spec = dataclasses.replace(SQUARE, optimizer_options={**options, "amsgrad": True})
    adapter = jax_adapter.JaxAdapter()
    assert adapter.refusal(spec) is None
    entry = optim_jax.OPTIMIZERS["adam"]
    unmapped = tuple(k for k in entry.maps if k != "amsgrad")
    monkeypatch.setitem(optim_jax.OPTIMIZERS, "adam", dataclasses.replace(entry, maps=unmapped))
    assert adapter.refusal(spec) == "the adam option(s) amsgrad (not mapped to JAX's optimizer)"
    assert adapter.refusal(dataclasses.replace(spec, optimizer_options=options)) is None
