"""conv2d backward against finite differences over shapes, strides, paddings, dilations and
batch sizes; TensorFlow's 'same' padding rule; negative controls."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nn import LayerSpec, NetworkSpec, gradcheck
from reference_nn.layers import Conv2D
from reference_nn.layers._windows import padding_amounts
from tests.layer_fd import check_layer


@st.composite
def conv2d_layers(draw):
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    if draw(st.booleans()):
        strides, dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (1, 1)
    else:
        strides, dilation = (1, 1), (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if padding == "valid":  # the input must hold one window
        h = max(h, (kh - 1) * dilation[0] + 1)
        w = max(w, (kw - 1) * dilation[1] + 1)
    layer = Conv2D(
        (h, w, c),
        filters=f,
        kernel_size=[kh, kw],
        strides=list(strides),
        dilation_rate=list(dilation),
        padding=padding,
        use_bias=draw(st.booleans()),
        activation=draw(st.sampled_from(["identity", "tanh"])),
    )
    return layer, draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=30)
@given(case=conv2d_layers())
def test_conv2d_backward_matches_finite_differences(case):
    layer, n, seed = case
    rng = np.random.default_rng(seed)
    check_layer(layer, rng.normal(size=(n, *layer.input_shape)), rng)


def test_conv2d_is_the_written_sum():
    """z[n,p,q,f] = b[f] + sum_{i,j,c} xpad[n, p*s + i*d, q*s + j*d, c] W[i,j,c,f], by loops."""
    rng = np.random.default_rng(0)
    layer = Conv2D((5, 6, 2), filters=3, kernel_size=[2, 3], strides=[2, 1], padding="same")
    layer.params["W"][...] = rng.normal(size=layer.params["W"].shape)
    layer.params["b"][...] = rng.normal(size=3)
    x = rng.normal(size=(2, 5, 6, 2))
    (pt, pb), (pl, pr) = layer.windows.pads
    xpad = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = layer.forward(x)
    expected = np.zeros_like(out)
    for n, p, q, f in np.ndindex(out.shape):
        expected[n, p, q, f] = layer.params["b"][f] + sum(
            xpad[n, p * 2 + i, q + j, c] * layer.params["W"][i, j, c, f]
            for i in range(2)
            for j in range(3)
            for c in range(2)
        )
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "expected"),
    [
        (5, 3, 1, 1, (5, 1, 1)),
        (5, 3, 2, 1, (3, 1, 1)),
        (6, 3, 2, 1, (3, 0, 1)),  # odd total: the extra row goes after (bottom/right)
        (6, 2, 2, 1, (3, 0, 0)),
        (7, 4, 3, 1, (3, 1, 2)),
        (5, 3, 1, 2, (5, 2, 2)),
    ],
)
def test_same_padding_is_tensorflows_rule(size, kernel, stride, dilation, expected):
    assert padding_amounts(size, kernel, stride, dilation, "same") == expected


def test_a_small_cnn_passes_gradcheck():
    spec = NetworkSpec(
        (6, 6, 2),
        (
            LayerSpec(
                "conv2d", {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "tanh"}
            ),
            LayerSpec("avgpool2d", {"pool_size": 2}),
            LayerSpec("flatten"),
            LayerSpec.dense(2, "sigmoid"),
        ),
    )
    net = spec.build_network()
    rng = np.random.default_rng(3)
    net.set_parameters(spec.init_parameters(rng))
    report = gradcheck(net, rng.normal(size=(4, 6, 6, 2)), rng.random((4, 2)))
    assert report.passed(1e-7), str(report)


def test_valid_padding_on_a_too_small_input_is_refused():
    with pytest.raises(ValueError, match=r"smaller than the window.*use padding 'same'"):
        Conv2D((2, 2, 1), filters=1, kernel_size=3)


# ---------------------------------------------------------------- negative controls
def test_a_flipped_kernel_is_caught(monkeypatch):
    """A convolution (kernel flipped) instead of a cross-correlation: FD names W and x."""
    rng = np.random.default_rng(1)
    layer = Conv2D((4, 4, 2), filters=2, kernel_size=2)
    original = Conv2D.backward

    def flipped(self, grad_out):
        dx = original(self, grad_out)
        self.grads["W"] = self.grads["W"][::-1, ::-1].copy()
        return dx

    monkeypatch.setattr(Conv2D, "backward", flipped)
    with pytest.raises(AssertionError, match="'W'"):
        check_layer(layer, rng.normal(size=(2, 4, 4, 2)), rng)
