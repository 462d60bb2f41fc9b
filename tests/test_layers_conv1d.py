"""conv1d backward against finite differences; a negative control."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nn.layers import Conv1D
from tests.layer_fd import check_layer


@st.composite
def conv1d_layers(draw):
    length, c, f, k = (
        draw(st.integers(1, 9)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, 4)),
    )
    padding = draw(st.sampled_from(["valid", "same"]))
    stride, dilation = (
        (draw(st.integers(1, 3)), 1) if draw(st.booleans()) else (1, draw(st.integers(1, 3)))
    )
    if padding == "valid":
        length = max(length, (k - 1) * dilation + 1)
    layer = Conv1D(
        (length, c),
        filters=f,
        kernel_size=k,
        strides=stride,
        dilation_rate=dilation,
        padding=padding,
        use_bias=draw(st.booleans()),
        activation="tanh",
    )
    return layer, draw(st.integers(1, 4)), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=30)
@given(case=conv1d_layers())
def test_conv1d_backward_matches_finite_differences(case):
    layer, n, seed = case
    rng = np.random.default_rng(seed)
    check_layer(layer, rng.normal(size=(n, *layer.input_shape)), rng)


def test_a_missing_bias_sum_over_positions_is_caught(monkeypatch):
    """db summed over the batch only, not over positions: FD names b."""
    original = Conv1D.backward

    def batch_only(self, grad_out):
        dx = original(self, grad_out)
        self.grads["b"] = self.grads["b"] / self.output_shape[0]
        return dx

    monkeypatch.setattr(Conv1D, "backward", batch_only)
    rng = np.random.default_rng(2)
    with pytest.raises(AssertionError, match="'b'"):
        check_layer(Conv1D((6, 2), filters=2, kernel_size=3), rng.normal(size=(2, 6, 2)), rng)
