"""Negative controls for the layer kinds: plant one error in the reference, assert the parity
comparison with a framework reports it and names the tensor.  Each would pass a
finite-difference check (the planted layer is a consistent, different function) or is a
convention slip only the framework can notice."""

import numpy as np
import pytest

from parity_tests.cases.matrix import Case
from parity_tests.harness.parity import compare_case, failing
from reference_nn import LayerSpec, NetworkSpec
from reference_nn.layers import (
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    MaxPool2D,
    _windows,
)
from reference_nn.layers import dropout as dropout_module

pytestmark = pytest.mark.frameworks


def _case(shape, *layers, n=8, batch=4):
    spec = NetworkSpec(
        shape,
        (*layers, LayerSpec.dense(2, "sigmoid")),
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
    )
    return Case("control-" + "-".join(lay.kind for lay in spec.layers), spec, 21, n, batch)


def _layer(kind, **options):
    return LayerSpec(kind, options)


FLAT = _layer("flatten")
CONV = _layer("conv2d", filters=3, kernel_size=3, strides=2, padding="same", activation="tanh")
CONV_CASE = _case((6, 6, 2), CONV, FLAT)


def _bad(case, framework):
    comparisons = compare_case(case, framework)
    for c in comparisons:
        if not c.passed:  # the message names case, framework, quantity, tensor, values
            assert c.tensor in c.message() and framework in c.message()
    return failing(comparisons)


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_clean_controls_pass(framework):
    assert _bad(CONV_CASE, framework) == set()


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_a_flipped_kernel_is_caught(framework, monkeypatch):
    """A true convolution (kernel flipped) in forward and backward alike: consistent, so
    finite differences agree, but no framework computes it."""
    forward, backward = Conv2D.forward, Conv2D.backward

    def flip(self):
        self.params["W"][...] = self.params["W"][::-1, ::-1].copy()

    def flipped_forward(self, x, training=True):
        flip(self)
        try:
            return forward(self, x, training)
        finally:
            flip(self)

    def flipped_backward(self, grad_out):
        flip(self)
        try:
            dx = backward(self, grad_out)
        finally:
            flip(self)
        self.grads["W"] = self.grads["W"][::-1, ::-1].copy()
        return dx

    monkeypatch.setattr(Conv2D, "forward", flipped_forward)
    monkeypatch.setattr(Conv2D, "backward", flipped_backward)
    bad = _bad(CONV_CASE, framework)
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_same_padding_with_the_extra_row_on_top_is_caught(framework, monkeypatch):
    """6x6, kernel 3, stride 2: one padding row; TensorFlow puts it at the bottom/right."""
    original = _windows.padding_amounts

    def top_left(size, kernel, stride, dilation, padding):
        out, before, after = original(size, kernel, stride, dilation, padding)
        return out, after, before

    monkeypatch.setattr(_windows, "padding_amounts", top_left)
    bad = _bad(CONV_CASE, framework)
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


def test_a_conv1d_bias_gradient_not_summed_over_positions_is_caught(torch, monkeypatch):
    case = _case((7, 2), _layer("conv1d", filters=2, kernel_size=3, activation="tanh"), FLAT)
    original = Conv1D.backward

    def batch_only(self, grad_out):
        dx = original(self, grad_out)
        self.grads["b"] = self.grads["b"] / self.output_shape[0]
        return dx

    monkeypatch.setattr(Conv1D, "backward", batch_only)
    bad = _bad(case, "torch")
    assert ("grads", "0.b") in bad and ("grads", "0.W") not in bad


def test_a_maxpool_gradient_spread_over_the_window_is_caught(torch, monkeypatch):
    case = _case((6, 6, 2), CONV, _layer("maxpool2d", pool_size=2, padding="same"), FLAT)

    def spread(self, grad_out):
        shape, taps, _ = self._cache
        dxpad = np.zeros(shape, grad_out.dtype)
        for index in taps:
            dxpad[index] += grad_out / len(taps)
        self.grads = {}
        return self.windows.crop(dxpad)

    monkeypatch.setattr(MaxPool2D, "backward", spread)
    bad = _bad(case, "torch")
    assert ("grads", "0.W") in bad and ("grads", "3.W") not in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_an_average_over_the_padding_is_caught(framework, monkeypatch):
    """Border windows of a 'same' average pool divided by the pool size, not by the real
    inputs (torch's count_include_pad=True)."""
    case = _case((5, 5, 2), _layer("avgpool2d", pool_size=2, padding="same"), FLAT)
    monkeypatch.setattr(AvgPool2D, "_count", lambda self, dtype: np.array(4.0, dtype))
    bad = _bad(case, framework)
    assert ("forward", "output") in bad and ("grads", "2.W") in bad


def test_flattening_in_nchw_order_is_caught(torch, monkeypatch):
    case = _case((4, 3, 3), _layer("conv2d", filters=2, kernel_size=1), FLAT)
    monkeypatch.setattr(
        Flatten,
        "forward",
        lambda self, x, training=True: x.transpose(0, 3, 1, 2).reshape(len(x), -1),
    )
    monkeypatch.setattr(
        Flatten,
        "backward",
        lambda self, g: g.reshape(len(g), self.input_shape[-1], *self.input_shape[:-1]).transpose(
            0, 2, 3, 1
        ),
    )
    bad = _bad(case, "torch")
    assert ("forward", "output") in bad and ("grads", "2.W") in bad


BN_TORCH = _case(
    (4,), LayerSpec.dense(3, "tanh"), _layer("batchnorm", convention="torch", epsilon=1e-5)
)
BN_KERAS = _case(
    (4,), LayerSpec.dense(3, "tanh"), _layer("batchnorm", convention="keras", epsilon=1e-3)
)


@pytest.mark.parametrize(("case", "framework"), [(BN_TORCH, "torch"), (BN_KERAS, "keras")])
def test_a_missing_one_over_m_in_the_batch_variance_is_caught(
    case, framework, monkeypatch, request
):
    request.getfixturevalue(framework)
    original = BatchNorm.forward

    def var_as_sum(self, x, training=True):
        if not training:
            return original(self, x, training)
        gamma, beta = self.params["gamma"], self.params["beta"]
        mean = x.mean(axis=0)
        var = ((x - mean) ** 2).sum(axis=0)  # the planted error: no 1/M
        self._update_running(mean, var, len(x))
        inv = 1 / np.sqrt(var + self.epsilon)
        xhat = (x - mean) * inv
        self._cache = (xhat, inv, True)
        return gamma * xhat + beta

    monkeypatch.setattr(BatchNorm, "forward", var_as_sum)
    bad = _bad(case, framework)
    assert ("forward", "output") in bad and ("step_1", "1.running_var") in bad


def test_a_biased_running_variance_in_the_torch_convention_is_caught(torch, monkeypatch):
    original = BatchNorm._update_running

    def biased(self, mean, var, m):
        return original(self, mean, var * (m - 1) / m, m)  # cancels the M / (M - 1)

    monkeypatch.setattr(BatchNorm, "_update_running", biased)
    bad = _bad(BN_TORCH, "torch")
    assert ("step_1", "1.running_var") in bad and ("forward", "output") not in bad
    assert ("step_1", "1.running_mean") not in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_a_layernorm_without_epsilon_is_caught(framework, monkeypatch):
    case = _case((3,), LayerSpec.dense(5, "tanh"), _layer("layernorm", epsilon=1e-3))
    original = LayerNorm.forward

    def no_epsilon(self, x, training=True):
        self.epsilon = 0.0
        return original(self, x, training)

    monkeypatch.setattr(LayerNorm, "forward", no_epsilon)
    bad = _bad(case, framework)
    assert ("forward", "output") in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_dropout_without_inverted_scaling_is_caught(framework, monkeypatch):
    case = _case((3,), LayerSpec.dense(6, "tanh"), _layer("dropout", rate=0.5, seed=3))
    monkeypatch.setattr(
        Dropout,
        "forward",
        lambda self, x, training=True: x if not training else _unscaled(self, x),
    )
    bad = _bad(case, framework)
    assert ("forward", "output") in bad and ("grads", "2.W") in bad


def _unscaled(layer, x):
    layer._mask = dropout_module.dropout_mask(layer.rng, x.shape, layer.rate, x.dtype) * (
        1 - layer.rate
    )
    return x * layer._mask


def test_an_embedding_gradient_assigned_not_added_is_caught(torch, monkeypatch):
    case = _case((4,), _layer("embedding", input_dim=3, output_dim=2), FLAT)

    def assign(self, grad_out):
        dW = np.zeros_like(self.params["W"])
        dW[self._indices] = grad_out  # a repeated index keeps only its last gradient
        self.grads = {"W": dW}
        return np.zeros(self._indices.shape)

    monkeypatch.setattr(Embedding, "backward", assign)
    bad = _bad(case, "torch")
    assert ("grads", "0.W") in bad and ("grads", "2.W") not in bad
