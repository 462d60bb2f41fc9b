"""maxpool2d and avgpool2d backward against finite differences over shapes, pools, strides,
paddings and batch sizes; TensorFlow's border rules; negative controls."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nn.layers import AvgPool2D, MaxPool2D
from tests.layer_fd import check_layer, distinct


@st.composite
def pools(draw, cls):
    h, w, c = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        h, w = max(h, ph), max(w, pw)
    strides = [draw(st.integers(1, 3)), draw(st.integers(1, 3))] if draw(st.booleans()) else 0
    layer = cls((h, w, c), pool_size=[ph, pw], strides=strides, padding=padding)
    return layer, draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=30)
@given(case=pools(MaxPool2D))
def test_maxpool2d_backward_matches_finite_differences(case):
    layer, n, seed = case
    rng = np.random.default_rng(seed)
    check_layer(layer, distinct(rng, (n, *layer.input_shape)), rng)


@settings(max_examples=30)
@given(case=pools(AvgPool2D))
def test_avgpool2d_backward_matches_finite_differences(case):
    layer, n, seed = case
    rng = np.random.default_rng(seed)
    check_layer(layer, rng.normal(size=(n, *layer.input_shape)), rng)


def test_same_avgpool_divides_by_the_real_inputs_at_the_border():
    # 3x3 input of ones, pool 2, stride 2, same: out 2x2, padding (0, 1) per axis; every
    # window averages only real inputs, so the output is all ones (counts 4, 2, 2, 1).
    layer = AvgPool2D((3, 3, 1), pool_size=2, padding="same")
    np.testing.assert_array_equal(layer.forward(np.ones((1, 3, 3, 1))), np.ones((1, 2, 2, 1)))
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    np.testing.assert_allclose(layer.forward(x)[0, :, :, 0], [[2.0, 3.5], [6.5, 8.0]])


def test_same_maxpool_never_picks_the_padding():
    layer = MaxPool2D((3, 3, 1), pool_size=2, padding="same")
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # all negative: zero padding would win
    np.testing.assert_array_equal(layer.forward(x)[0, :, :, 0], [[-1.0, -3.0], [-7.0, -9.0]])


# ---------------------------------------------------------------- negative controls
def test_maxpool_gradient_to_every_input_of_the_window_is_caught(monkeypatch):
    def spread(self, grad_out):
        shape, taps, _ = self._cache
        dxpad = np.zeros(shape)
        for index in taps:
            dxpad[index] += grad_out
        self.grads = {}
        return self.windows.crop(dxpad)

    monkeypatch.setattr(MaxPool2D, "backward", spread)
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match="'x'"):
        check_layer(MaxPool2D((4, 4, 1), pool_size=2), distinct(rng, (2, 4, 4, 1)), rng)


def test_avgpool_dividing_by_the_pool_size_at_the_border_is_caught(monkeypatch):
    monkeypatch.setattr(AvgPool2D, "_count", lambda self, dtype: np.array(4.0))
    with pytest.raises(AssertionError):
        test_same_avgpool_divides_by_the_real_inputs_at_the_border()
