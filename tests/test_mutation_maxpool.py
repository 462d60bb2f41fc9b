"""maxpool2d's tie rule, pinned by hand: a window whose maximum is held by several inputs sends
its whole gradient to the first of them in row-major order (reference_nn/layers/maxpool2d.py).
And what else mutation testing found unpinned in this layer kind: the dtype of its gradient,
its border rule, the words of its refusals.

The finite-difference tests draw inputs with no ties (the max is not differentiable there) and
the parity suite's continuous data has none either, so a change of this rule (the last tap,
every tied tap, a share each) was seen by no test.  It is the frameworks' rule: torch 2.13 and
TensorFlow 2.21 on CPU send the gradient of the window [[1, 3], [3, 2]] to its (0, 1) entry and
that of a constant window to its top-left one (checked by hand, float32 and float64).
"""

from __future__ import annotations

import numpy as np
import pytest

from reference_nn._checks import ShapeError
from reference_nn.layers import MaxPool2D


def _grad(layer, x, grad_out):
    layer.forward(np.asarray(x, dtype=np.float64))
    return layer.backward(np.asarray(grad_out, dtype=np.float64))


def test_two_tied_inputs_the_first_in_row_major_order_gets_the_gradient():
    layer = MaxPool2D((2, 2, 1), pool_size=2)
    x = np.array([[3.0, 1.0], [2.0, 3.0]]).reshape(1, 2, 2, 1)  # 3 at (0, 0) and (1, 1)
    dx = _grad(layer, x, np.full((1, 1, 1, 1), 5.0))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5.0, 0.0], [0.0, 0.0]])
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)  # (0, 1) before (1, 0)
    dx = _grad(layer, x, np.full((1, 1, 1, 1), 5.0))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0.0, 5.0], [0.0, 0.0]])


def test_a_constant_window_sends_everything_to_its_top_left_input():
    layer = MaxPool2D((2, 4, 2), pool_size=2)
    x = np.full((1, 2, 4, 2), 7.0)
    grad_out = np.array([[1.0, -2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)  # (window, channel)
    dx = _grad(layer, x, grad_out)
    expected = np.zeros((2, 4, 2))
    expected[0, 0] = [1.0, -2.0]  # window 0's top-left, both channels
    expected[0, 2] = [3.0, 4.0]  # window 1's top-left
    np.testing.assert_array_equal(dx[0], expected)
    np.testing.assert_array_equal(layer.forward(x), np.full((1, 1, 2, 2), 7.0))


def test_overlapping_windows_each_pick_their_own_first_tie():
    # 2x3 of equal values, pool 2, stride 1: window 0 covers columns 0-1, window 1 columns 1-2;
    # each window's first tap is its own top-left, so the shared column gets only window 1's
    layer = MaxPool2D((2, 3, 1), pool_size=2, strides=1)
    dx = _grad(layer, np.zeros((1, 2, 3, 1)), np.array([10.0, 20.0]).reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[10.0, 20.0, 0.0], [0.0, 0.0, 0.0]])


def test_a_tie_with_a_larger_value_elsewhere_is_no_tie():
    layer = MaxPool2D((2, 2, 1), pool_size=2)
    x = np.array([[3.0, 3.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    dx = _grad(layer, x, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0.0, 0.0], [0.0, 1.0]])


def test_a_tie_in_a_same_padded_window_goes_to_the_first_real_input():
    # 3x3 input, pool 2, same: the bottom-right window holds x[2, 2] and three padded -inf
    # taps; the window left of it holds x[2, 0] and x[2, 1], tied
    layer = MaxPool2D((3, 3, 1), pool_size=2, padding="same")
    x = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]).reshape(1, 3, 3, 1)
    dx = _grad(layer, x, np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1))
    np.testing.assert_array_equal(
        dx[0, :, :, 0], [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]]
    )


# ---------------------------------------------------------------- beyond ties
def test_valid_padding_drops_the_border_and_same_keeps_it():
    x = np.arange(9.0).reshape(1, 3, 3, 1)  # max of each 2x2 window is its bottom-right
    valid = MaxPool2D((3, 3, 1), pool_size=2)
    np.testing.assert_array_equal(valid.forward(x)[0, :, :, 0], [[4.0]])
    np.testing.assert_array_equal(
        valid.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0], [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    )
    same = MaxPool2D((3, 3, 1), pool_size=2, padding="same")
    np.testing.assert_array_equal(same.forward(x)[0, :, :, 0], [[4.0, 5.0], [7.0, 8.0]])


def test_a_float32_gradient_stays_float32():
    layer = MaxPool2D((2, 2, 1), pool_size=2, dtype=np.float32)
    layer.forward(np.ones((1, 2, 2, 1), np.float32))
    assert layer.backward(np.ones((1, 1, 1, 1), np.float32)).dtype == np.float32


def test_backward_before_forward_is_refused():
    with pytest.raises(RuntimeError, match=r"^backward\(\) called before forward\(\)$"):
        MaxPool2D((2, 2, 1)).backward(np.ones((1, 1, 1, 1)))


@pytest.mark.parametrize(
    ("shape", "options", "message"),
    [
        ((3,), {}, r"maxpool2d layer needs samples of shape \(H, W, C\), got \(3,\)"),
        ((4, 4, 1), {"pool_size": [1, 2, 3]}, r"maxpool2d layer: pool_size needs 1 or 2 values, "),
        ((4, 4, 1), {"strides": [1, 2, 3]}, r"maxpool2d layer: strides needs 1 or 2 values, got "),
        ((4, 4, 1), {"strides": [1, 0]}, r"maxpool2d layer: strides must be >= 1 \(or 0 for the "),
        ((1, 4, 1), {}, r"maxpool2d layer: input \(1, 4\) is smaller than the window "),
    ],
)
def test_a_bad_pool_is_refused_in_these_words(shape, options, message):
    with pytest.raises(ShapeError, match="^" + message):
        MaxPool2D(shape, **options)


def test_an_input_of_the_wrong_shape_is_refused_naming_the_layer():
    layer = MaxPool2D((2, 2, 1))
    expected = (
        "MaxPool2D((2, 2, 1) -> (1, 1, 1), pool=(2, 2), strides=(2, 2), padding='valid') "
        "got input of shape (1, 3, 2, 1)"
    )
    with pytest.raises(ShapeError) as caught:
        layer.forward(np.zeros((1, 3, 2, 1)))
    assert str(caught.value) == expected
