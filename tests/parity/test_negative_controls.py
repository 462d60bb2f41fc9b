"""Negative controls: plant one error, assert the comparison reports it and names the parameter.
A parity check that would pass with these bugs in place would be worth nothing."""

import numpy as np
import pytest

from parity_tests.cases.matrix import Case
from parity_tests.frameworks.torch.adapter import TorchModel
from parity_tests.harness.parity import compare_case, failing
from reference_nn import LayerSpec, NetworkSpec
from reference_nn import losses as losses_module
from reference_nn.activations import Tanh
from reference_nn.layers import Dense

pytestmark = pytest.mark.frameworks

SPEC = NetworkSpec(
    3,
    (LayerSpec.dense(3, "tanh"), LayerSpec.dense(2, "sigmoid")),
    loss="mse",
    optimizer="sgd",
    optimizer_options={"lr": 0.1},
)
CASE = Case("control", SPEC, seed=11)


def _failing(framework: str, reference_spec: NetworkSpec | None = None) -> set[tuple[str, str]]:
    """(quantity, tensor) pairs outside tolerance, reference vs ``framework``."""
    comparisons = compare_case(CASE, framework, reference_spec=reference_spec)
    for c in comparisons:
        if not c.passed:  # the message names case, framework, quantity, parameter, values
            assert c.tensor in c.message() and framework in c.message()
    return failing(comparisons)


def test_clean_run_passes(fw):
    assert _failing(fw) == set()


def test_wrong_activation_derivative_is_caught(fw, monkeypatch):
    monkeypatch.setattr(Tanh, "derivative", lambda self, z, a: 1.0 - a * a * 1.001)
    bad = _failing(fw)
    assert ("grads", "0.W") in bad and ("grads", "0.b") in bad
    assert ("grads", "1.W") not in bad  # the output layer's gradient does not involve tanh'


def test_bias_gradient_not_summed_over_the_batch_is_caught(fw, monkeypatch):
    original = Dense.backward

    def mean_not_sum(self, grad_a):
        out = original(self, grad_a)
        self.grads["b"] = self.grads["b"] / len(grad_a)
        return out

    monkeypatch.setattr(Dense, "backward", mean_not_sum)
    bad = _failing(fw)
    assert {("grads", "0.b"), ("grads", "1.b")} <= bad
    assert ("grads", "0.W") not in bad


def test_missing_one_over_n_is_caught(fw, monkeypatch):
    monkeypatch.setattr(losses_module, "_divisor", lambda y, reduction: 1)
    bad = _failing(fw)
    assert {("grads", name) for name in ("0.W", "0.b", "1.W", "1.b")} <= bad
    assert ("loss", "loss") in bad


def test_missing_transpose_in_the_torch_mirror_is_caught(torch, monkeypatch):
    # The hidden layer is square (3 -> 3), so copying W instead of W.T raises no shape error:
    # only the comparison can notice.
    original = TorchModel.set_parameters

    def no_transpose(self, params):
        original(self, params)
        with self.torch.no_grad():  # layer 0's weight copied as W, not W.T
            self.tensor("0.W").copy_(self.torch.from_numpy(params["0.W"].copy()))

    monkeypatch.setattr(TorchModel, "set_parameters", no_transpose)
    bad = _failing("torch")
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


def test_wrong_optimizer_constant_is_caught(fw):
    convention = "torch" if fw in ("torch", "jax") else "keras"  # jax has both: torch's here
    spec = SPEC.with_changes(
        optimizer_options={"lr": 0.1, "momentum": 0.9, "convention": convention}
    )
    wrong = spec.with_changes(optimizer_options={**spec.optimizer_options, "momentum": 0.899})
    bad = failing(compare_case(Case("control", spec, seed=11), fw, reference_spec=wrong))
    assert {("step_20", name) for name in ("0.W", "0.b", "1.W", "1.b")} <= bad
    assert not any(q in ("forward", "grads", "loss") for q, _ in bad)


def test_dtype_and_shape_mismatches_are_errors_not_passes():
    from parity_tests.harness.compare import tensor_error

    with pytest.raises(ValueError, match="dtype mismatch"):
        tensor_error(np.zeros(3), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="shape mismatch"):
        tensor_error(np.zeros((3, 2)), np.zeros((2, 3)))
