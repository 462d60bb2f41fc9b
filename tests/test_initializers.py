"""The initialisers against their published definitions, and the fans each layer kind gives them.

The parity suite cannot see an initialiser bug: every framework starts from the parameters the
reference drew.  So the expected values here come from the definitions, not from the code:

* Glorot & Bengio (2010), eq. 16: ``W ~ U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``, so
  ``Var W = l^2 / 3 = 2 / (fan_in + fan_out)``;
* torch ``nn.Linear`` (``kaiming_uniform_(a=sqrt(5))``): ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``,
  so ``Var W = 1 / (3 fan_in)``;
* the delta-rule article's ``N(0, 1/fan_in)``; the housing article's ``U[0, 1)``;
* fans as Keras and torch define them: a dense kernel ``(n_in, n_out)``; a convolution kernel
  ``taps * in_channels`` in and ``taps * filters`` out.

Each draw is checked two ways: bit for bit against the documented affine map of the generator's
own stream (``uniform(a, b) = a + (b - a) * random()``), so the stream every framework receives
is pinned, and statistically (variance and range from the formula above).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference_nn import LayerSpec, NetworkSpec
from reference_nn.initializers import (
    INITIALIZERS,
    get_initializer,
    glorot_uniform,
    scaled_normal,
    torch_linear,
    uniform01,
    zeros,
)
from reference_nn.options import SpecError

SEED = 20261204
SHAPE = (300, 200)  # 60,000 draws: the sample variance is within ~1% of the true one
FAN_IN, FAN_OUT = 7, 41  # unequal, so a swapped or dropped fan changes every expected value


def _stream(shape=SHAPE):
    return np.random.default_rng(SEED).random(shape)


def _normal_stream(shape=SHAPE):
    return np.random.default_rng(SEED).standard_normal(shape)


def _draw(init, shape=SHAPE, fan_in=FAN_IN, fan_out=FAN_OUT):
    return init(np.random.default_rng(SEED), shape, fan_in, fan_out)


def test_uniform01_is_the_generators_unit_interval_stream():
    w = _draw(uniform01)
    assert w.dtype == np.float64 and w.shape == SHAPE
    np.testing.assert_array_equal(w, _stream())
    assert w.min() >= 0.0 and w.max() < 1.0
    assert w.var() == pytest.approx(1 / 12, rel=0.02)


def test_glorot_uniform_has_the_papers_limit_and_variance():
    limit = math.sqrt(6.0 / (FAN_IN + FAN_OUT))  # 0.3536 for fans 7 and 41
    w = _draw(glorot_uniform)
    assert w.dtype == np.float64 and w.shape == SHAPE
    np.testing.assert_allclose(w, -limit + 2 * limit * _stream(), rtol=0, atol=1e-15)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.999 * limit  # reaches its limit: not a narrower interval
    assert abs(w.mean()) < 0.01 * limit
    assert w.var() == pytest.approx(2.0 / (FAN_IN + FAN_OUT), rel=0.02)


def test_torch_linear_has_torchs_bound_from_fan_in_alone():
    bound = 1.0 / math.sqrt(FAN_IN)  # fan_out plays no part
    w = _draw(torch_linear)
    assert w.dtype == np.float64 and w.shape == SHAPE
    np.testing.assert_allclose(w, -bound + 2 * bound * _stream(), rtol=0, atol=1e-15)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound
    assert w.var() == pytest.approx(1.0 / (3 * FAN_IN), rel=0.02)
    np.testing.assert_array_equal(w, _draw(torch_linear, fan_out=1))


def test_scaled_normal_has_standard_deviation_one_over_root_fan_in():
    sigma = 1.0 / math.sqrt(FAN_IN)
    w = _draw(scaled_normal)
    assert w.dtype == np.float64 and w.shape == SHAPE
    np.testing.assert_allclose(w, sigma * _normal_stream(), rtol=1e-15, atol=0)
    assert abs(w.mean()) < 0.01 * sigma
    assert w.std() == pytest.approx(sigma, rel=0.01)
    np.testing.assert_array_equal(w, _draw(scaled_normal, fan_out=1))


def test_zeros_is_zero_and_draws_nothing():
    rng = np.random.default_rng(SEED)
    w = zeros(rng, SHAPE, FAN_IN, FAN_OUT)
    assert w.dtype == np.float64 and w.shape == SHAPE
    assert not w.any()
    assert rng.random() == _stream((1,))[0]  # the generator is where it started


def test_every_name_gives_its_function_and_an_unknown_name_is_refused():
    assert INITIALIZERS == {
        "uniform01": uniform01,
        "scaled_normal": scaled_normal,
        "glorot_uniform": glorot_uniform,
        "torch_linear": torch_linear,
        "zeros": zeros,
    }
    for name, function in INITIALIZERS.items():
        assert get_initializer(name) is function
    valid = "glorot_uniform, scaled_normal, torch_linear, uniform01, zeros"
    with pytest.raises(ValueError, match=rf"^unknown initializer 'glorot'; valid: {valid}$"):
        get_initializer("glorot")


# ---------------------------------------------------------------- through the layers' fans
def _limit(fan_in, fan_out):
    return math.sqrt(6.0 / (fan_in + fan_out))


# (layer, input shape, the kernel's (fan_in, fan_out) as Keras and torch define them)
FANS = [
    (LayerSpec.dense(5, "tanh"), (3,), (3, 5)),
    (LayerSpec("conv2d", {"filters": 4, "kernel_size": [3, 2]}), (6, 5, 2), (3 * 2 * 2, 3 * 2 * 4)),
    (LayerSpec("conv1d", {"filters": 6, "kernel_size": 3}), (8, 2), (3 * 2, 3 * 6)),
    (LayerSpec("embedding", {"input_dim": 9, "output_dim": 4}), (3,), (9, 4)),
]


@pytest.mark.parametrize(("layer", "input_shape", "fans"), FANS, ids=lambda v: str(v)[:40])
def test_a_layers_weights_are_drawn_with_its_kernels_fans(layer, input_shape, fans):
    spec = NetworkSpec(input_shape, (layer,), weight_init="glorot_uniform", bias_init="zeros")
    W = spec.init_parameters(SEED)["0.W"]
    expected = -_limit(*fans) + 2 * _limit(*fans) * np.random.default_rng(SEED).random(W.shape)
    np.testing.assert_allclose(W, expected, rtol=0, atol=1e-15)


def test_a_network_draws_layer_by_layer_weights_before_biases():
    spec = NetworkSpec(
        (3,),
        (LayerSpec.dense(4, "tanh"), LayerSpec.dense(2, "sigmoid")),
        weight_init="uniform01",
        bias_init="torch_linear",
    )
    got = spec.init_parameters(SEED)
    rng = np.random.default_rng(SEED)
    expected = {
        "0.W": rng.random((3, 4)),
        "0.b": (lambda u: -1 / math.sqrt(3) + 2 / math.sqrt(3) * u)(rng.random(4)),
        "1.W": rng.random((4, 2)),
        "1.b": (lambda u: -1 / math.sqrt(4) + 2 / math.sqrt(4) * u)(rng.random(2)),
    }
    assert list(got) == list(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-15, err_msg=name)


def test_a_float32_network_starts_from_the_float64_draw_rounded():
    layers = (LayerSpec.dense(4, "tanh"),)
    wide = NetworkSpec((3,), layers).init_parameters(SEED)
    narrow = NetworkSpec((3,), layers, dtype="float32").init_parameters(SEED)
    for name, value in wide.items():
        assert narrow[name].dtype == np.float32
        np.testing.assert_array_equal(narrow[name], value.astype(np.float32))


def test_an_unknown_initialiser_in_a_spec_is_refused():
    with pytest.raises(SpecError, match=r"unknown weight_init 'he_normal'; valid: .*zeros"):
        NetworkSpec((3,), (LayerSpec.dense(1),), weight_init="he_normal")
