"""The first divergence: planted errors are located at the right step, layer and direction, a
clean run has none (the negative control), and a failing ``assert_parity`` says where."""

import dataclasses

import numpy as np
import pytest

from parity_tests.cases.matrix import Case, matrix_case
from parity_tests.frameworks.jax import adapter as jax_adapter
from parity_tests.frameworks.jax import layers as jax_layers
from parity_tests.frameworks.keras.model import KerasModel
from parity_tests.frameworks.torch import adapter as torch_mirror
from parity_tests.harness.divergence import explain_case, first_divergence
from parity_tests.harness.parity import assert_parity
from reference_nn import LayerSpec, NetworkSpec
from reference_nn.layers import Dense
from tests.parity.plants import scale_torch_module

pytestmark = pytest.mark.frameworks
# the frameworks whose models trace layer by layer (Model.trace) and a planted error
traced = pytest.mark.parametrize("framework", ["torch", "keras", "jax"], indirect=True)

SPEC = NetworkSpec(
    3,
    (LayerSpec.dense(4, "tanh"), LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(2, "sigmoid")),
    loss="mse",
    optimizer="sgd",
    optimizer_options={"lr": 0.1},
)
CASE = Case("divergence", SPEC, seed=3)


def _divergence(framework, case=CASE):
    X, y, params, batches = case.materialize()
    return first_divergence(case.spec, params, X, y, batches, framework)


def _plant_in_second_layer(framework, monkeypatch):
    """The framework's layer 1 computes sigmoid(z) * (1 + 1e-3) instead of sigmoid(z)."""
    if framework == "torch":  # modules: Linear, Tanh, Linear, Sigmoid, ...
        scale_torch_module(monkeypatch, 3, "sigmoid", 1.001)
    elif framework == "keras":
        original = KerasModel.__init__

        def init(self, spec, params, **options):
            original(self, spec, params, **options)
            self.layers[1].activation = lambda z: self.tf.sigmoid(z) * 1.001

        monkeypatch.setattr(KerasModel, "__init__", init)
    else:  # jax: layer 1 computed by a dense entry whose output is scaled
        dense = jax_layers.LAYERS["dense"]
        scaled = dataclasses.replace(
            dense,
            apply=lambda config, own, x, training: dense.apply(config, own, x, training) * 1.001,
        )
        monkeypatch.setitem(jax_layers.LAYERS, "dense_scaled", scaled)
        original = jax_adapter.JaxModel.__init__

        def init(self, spec, params, **options):
            original(self, spec, params, **options)
            self.layers[1] = ("dense_scaled", self.layers[1][1])

        monkeypatch.setattr(jax_adapter.JaxModel, "__init__", init)


@traced
def test_a_clean_run_has_no_divergence(framework):
    assert _divergence(framework) is None


@traced
def test_a_planted_error_in_the_second_layer_is_step_1_layer_1_forward(framework, monkeypatch):
    _plant_in_second_layer(framework, monkeypatch)
    found = _divergence(framework)
    assert str(found).startswith("first divergence at step 1, layer 1 (forward)")
    assert (found.step, found.layer, found.where) == (1, 1, "forward")


@traced
def test_a_backward_only_error_is_located_in_its_layer(framework, monkeypatch):
    # the reference's layer 0 weight gradient is 0.1 % too large; its forward is untouched
    original = Dense.backward

    def scaled(self, grad_out):
        out = original(self, grad_out)
        if self.n_out == 4:  # layer 0 only (3 -> 4)
            self.grads["W"] = self.grads["W"] * 1.001
        return out

    monkeypatch.setattr(Dense, "backward", scaled)
    found = _divergence(framework)
    assert (found.step, found.layer, found.where) == (1, 0, "backward")
    assert "0.W gradient differs" in found.detail


def test_an_error_from_a_later_step_is_found_at_that_step(torch, monkeypatch):
    # torch's optimizer goes wrong from its 4th step on: forward and backward stay right
    original = torch_mirror.TorchModel.step
    calls = []

    def step(self, X, y):
        loss = original(self, X, y)
        calls.append(1)
        if len(calls) >= 4:
            with self.torch.no_grad():
                for p in self.model.parameters():
                    p.mul_(1.001)
        return loss

    monkeypatch.setattr(torch_mirror.TorchModel, "step", step)
    found = _divergence("torch")
    assert (found.step, found.layer, found.where) == (4, None, "update")


def test_assert_parity_appends_the_first_divergence(torch, monkeypatch):
    _plant_in_second_layer("torch", monkeypatch)
    with pytest.raises(AssertionError) as info:
        assert_parity(CASE, "torch")
    lines = str(info.value).splitlines()
    assert lines[-1].startswith("first divergence at step 1, layer 1 (forward)")
    assert any("forward output" in line for line in lines[:-1])


def test_explain_never_hides_the_failure(torch, monkeypatch):
    monkeypatch.setattr(
        "parity_tests.harness.divergence.first_divergence",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("tracer broke")),
    )
    assert explain_case(CASE, "torch").startswith("first divergence: could not trace")


@traced
def test_float32_matrix_cases_do_not_part(framework):
    case = matrix_case("tanh", "cce", "sgd", "float32")
    assert _divergence(framework, case) is None
    assert np.dtype(case.spec.dtype) == np.float32


@pytest.mark.parametrize("item", ["example/xor_3_4_1", "housing/epochs2"])
def test_worked_example_and_housing_trajectories_are_traced(torch, monkeypatch, item):
    from experiments.baseline import all_items, select

    (chosen,) = select(all_items(), [item])
    p = chosen.problem()
    assert first_divergence(p.spec, p.params, p.X, p.y, p.batches, "torch", max_steps=50) is None
    _plant_in_second_layer("torch", monkeypatch)  # both networks: dense, sigmoid, dense, sigmoid
    found = first_divergence(p.spec, p.params, p.X, p.y, p.batches, "torch", max_steps=50)
    assert str(found).startswith("first divergence at step 1, layer 1 (forward)")
