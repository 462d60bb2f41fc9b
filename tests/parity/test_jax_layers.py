"""The JAX layer table's own claims (``parity_tests/frameworks/jax/layers.py``): every layer
kind runs, an entry missing from a table is a gap until refused with a reason, the compiled
scan carries batch norm's running statistics and replays the reference's dropout
masks in step order, compiling ahead of time draws nothing, and planted errors in the JAX
entries (padding, masks, running statistics, the leaky ReLU tie) are caught by the parity
comparison against the reference.  The kinds' parity itself is ``test_layer_parity.py``."""

import dataclasses

import numpy as np
import pytest

from parity_tests.cases.matrix import LAYER_VARIANTS, Case, layer_case
from parity_tests.frameworks.jax import adapter as jax_adapter
from parity_tests.frameworks.jax import layers as jax_layers
from parity_tests.harness import registry
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.parity import compare_case, failing
from parity_tests.harness.tolerances import layer_tolerance
from reference_nn import ACTIVATIONS, LAYER_KINDS, LayerSpec, NetworkSpec

pytestmark = pytest.mark.frameworks


def test_every_layer_variant_runs_in_jax(jax):
    refused = {
        name: reason
        for name in LAYER_VARIANTS
        if (reason := registry.get("jax").refusal(layer_case(name, "float64").spec))
    }
    assert refused == {}


def test_an_entry_that_cannot_compute_refuses_with_its_reason(jax, monkeypatch):
    entry = jax_layers.LAYERS["gru"]
    refuses = dataclasses.replace(entry, refusal=lambda config: "no GRU today")
    monkeypatch.setitem(jax_layers.LAYERS, "gru", refuses)
    spec = layer_case("gru-reset_after-last", "float64").spec
    assert registry.get("jax").refusal(spec) == "no GRU today"
    monkeypatch.delitem(jax_layers.LAYERS, "gru")
    assert registry.get("jax").refusal(spec) == "layer kind(s) gru"


def test_an_entry_missing_from_a_table_is_a_gap_until_refused_with_a_reason(jax, monkeypatch):
    """The tables are what the adapter reports: an activation or a layer kind left out of them
    is a gap (the completeness test fails), not a silent refusal; a declared refusal is not."""
    adapter = registry.get("jax")
    assert adapter.gaps("activation", ACTIVATIONS) == []
    assert adapter.gaps("layer kind", LAYER_KINDS) == []
    monkeypatch.delitem(jax_layers.ACTIVATIONS, "elu")
    monkeypatch.delitem(jax_layers.LAYERS, "gru")
    assert adapter.gaps("activation", ACTIVATIONS) == ["elu"]
    assert adapter.gaps("layer kind", LAYER_KINDS) == ["gru"]
    spec = layer_case("gru-reset_after-last", "float64").spec
    assert adapter.refusal(spec) == "layer kind(s) gru"
    declared = {("layer kind", "gru"): "no GRU today"}
    monkeypatch.setattr(type(adapter), "refusals", lambda self: declared)
    assert adapter.gaps("layer kind", LAYER_KINDS) == []
    assert adapter.refusal(spec) == "no GRU today"


def test_tf_padding_puts_the_odd_row_after():
    # n = 7, k = 3, s = 2: out 4, total (4 - 1) 2 + 3 - 7 = 2 -> (1, 1); n = 6: total 1 -> (0, 1)
    assert jax_layers.tf_padding("same", (7, 6), (3, 3), (2, 2), (1, 1)) == ((1, 1), (0, 1))
    assert jax_layers.tf_padding("same", (7,), (3,), (1,), (3,)) == ((3, 3),)
    assert jax_layers.tf_padding("valid", (7,), (3,), (2,), (1,)) == ((0, 0),)


# ---------------------------------------------------------------- the compiled scan
DROPOUT_BN = NetworkSpec(
    (4, 4, 2),
    (
        LayerSpec(
            "conv2d", {"filters": 2, "kernel_size": 3, "padding": "same", "activation": "tanh"}
        ),
        LayerSpec("batchnorm", {"convention": "torch", "epsilon": 1e-5}),
        LayerSpec("dropout", {"rate": 0.3, "seed": 4}),
        LayerSpec("flatten", {}),
        LayerSpec.dense(2, "sigmoid"),
    ),
    loss="mse",
    optimizer="adam",
    optimizer_options={"lr": 0.01, "convention": "torch"},
)


STEPS = jax_adapter.COMPILE_FROM_STEPS


def _trained(dtype, monkeypatch, compiled, prepare=False):
    """forward_backward, then STEPS steps: one compiled scan, or (``compiled=False``) eager."""
    spec = dataclasses.replace(DROPOUT_BN, dtype=dtype)
    X, y, params, _ = Case("scan", spec, 3).materialize()
    batches = np.random.default_rng(0).integers(0, len(X), size=(STEPS, 4))
    with monkeypatch.context() as m:
        if not compiled:
            m.setattr(jax_adapter, "COMPILE_FROM_STEPS", 10**9)
        model = jax_adapter.JaxAdapter().build(spec, params)
        if prepare:
            model.prepare(X, y, batches)
        model.forward_backward(X, y)  # a training call: one mask drawn, the statistics moved
        losses = model.train(X, y, batches)
    assert (model._compiled is not None) == compiled
    return losses, {**model.parameters(), **model.state()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_scan_agrees_with_the_eager_steps_with_masks_and_statistics(
    dtype, jax, monkeypatch
):
    eager_losses, eager = _trained(dtype, monkeypatch, compiled=False)
    # prepare compiles ahead of time: it must draw no mask and move no statistic
    compiled_losses, compiled = _trained(dtype, monkeypatch, compiled=True, prepare=True)
    kinds = {"batchnorm", "dropout"}
    limit = layer_tolerance(dtype, f"step_{STEPS}", kinds)
    assert set(compiled) == set(eager) and "1.running_var" in eager
    for name, value in eager.items():
        assert tensor_error(value, compiled[name]).normwise_rel <= limit, name
    assert tensor_error(eager_losses, compiled_losses).normwise_rel <= limit
    # negative control: the same run with the scan's masks one step late parts ways
    monkeypatch.setattr(jax_layers.DropoutMasks, "draw", _late_masks())
    _, shifted = _trained(dtype, monkeypatch, compiled=True)
    assert tensor_error(eager["4.W"], shifted["4.W"]).normwise_rel > 10 * limit  # ~0.2


def _late_masks():
    """Each call's mask one call late among calls of its batch size (the first is on time)."""
    original = jax_layers.DropoutMasks.draw

    def late(self, batch):
        previous = getattr(self, "previous", {})
        self.previous = {**previous, batch: original(self, batch)}
        return previous.get(batch, self.previous[batch])

    return late


# ---------------------------------------------------------------- negative controls
def test_same_padding_with_the_extra_row_on_top_is_caught(jax, monkeypatch):
    case = layer_case("conv2d-same-stride2-asymmetric", "float64")
    assert failing(compare_case(case, "jax")) == set()
    original = jax_layers.tf_padding

    def on_top(*args):
        return tuple((after, before) for before, after in original(*args))

    monkeypatch.setattr(jax_layers, "tf_padding", on_top)
    bad = failing(compare_case(case, "jax"))
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


def test_an_average_over_the_padding_is_caught(jax, monkeypatch):
    case = layer_case("avgpool2d-same-border", "float64")
    original = jax_layers._window_sum

    def counting_padding(x, config, init, op):
        if x.shape[0] == 1 and x.shape[-1] == 1:  # the count of real inputs: the full window
            return np.full(original(x, config, init, op).shape, np.prod(config["pool"]), x.dtype)
        return original(x, config, init, op)

    monkeypatch.setattr(jax_layers, "_window_sum", counting_padding)
    assert ("forward", "output") in failing(compare_case(case, "jax"))


def test_a_mask_generator_restarted_every_call_is_caught(jax, monkeypatch):
    case = layer_case("dropout-dense", "float64")

    def restarted(self, batch):  # every call draws the seed's first mask
        self.rng = np.random.default_rng(self.seed)
        return original(self, batch)

    original = jax_layers.DropoutMasks.draw
    monkeypatch.setattr(jax_layers.DropoutMasks, "draw", restarted)
    bad = failing(compare_case(case, "jax"))
    # the first call (forward_backward on all the data) is right; the steps part ways
    assert not any(q in ("forward", "loss", "grads") for q, _ in bad)
    assert ("step_1", "0.W") in bad and ("step_20", "0.W") in bad


def test_a_biased_running_variance_in_the_torch_convention_is_caught(jax, monkeypatch):
    case = layer_case("batchnorm-dense-torch", "float64")
    entry = jax_layers.LAYERS["batchnorm"]

    def biased(config, own, x):  # Keras' update with torch's weights: the biased variance
        keras = {**config, "convention": "keras", "momentum": 1 - config["momentum"]}
        return entry.state_update(keras, own, x)

    monkeypatch.setitem(
        jax_layers.LAYERS, "batchnorm", dataclasses.replace(entry, state_update=biased)
    )
    bad = failing(compare_case(case, "jax"))
    assert ("step_1", "1.running_var") in bad and ("step_1", "1.running_mean") not in bad
    assert not any(q in ("forward", "grads") for q, _ in bad)


def test_jax_leaky_relu_tie_at_zero_is_caught(jax, monkeypatch):
    """The tie random-layers0 reaches (a dropped row through a layernorm gives z = 0 exactly):
    ``jax.nn.leaky_relu`` has derivative 1 at 0, the reference (and torch) ``alpha``.  Here a
    layernorm over one value outputs ``beta = 0`` for every sample, so the next dense layer's
    ``z`` is its zero bias."""
    z = jax.numpy.zeros(3)
    ours = jax_layers._activation("leaky_relu", {"alpha": 0.25})
    np.testing.assert_array_equal(jax.grad(lambda z: ours(z).sum())(z), [0.25] * 3)

    def jax_nn(options):
        return lambda z: jax.nn.leaky_relu(z, negative_slope=options["alpha"])

    spec = NetworkSpec(
        (1,),
        (
            LayerSpec("layernorm", {"epsilon": 1e-5}),
            LayerSpec.dense(3, "leaky_relu", {"alpha": 0.25}),
            LayerSpec.dense(2, "sigmoid"),
        ),
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
    )
    case = Case("control-leaky-tie", spec, seed=2)
    assert failing(compare_case(case, "jax")) == set()
    monkeypatch.setitem(jax_layers.ACTIVATIONS, "leaky_relu", jax_nn)
    assert ("grads", "1.b") in failing(compare_case(case, "jax"))
