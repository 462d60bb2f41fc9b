"""maxpool2d's tie rule, pinned by hand: a window whose maximum is held by several inputs sends
its whole gradient to the first of them in row-major order (reference_nn/layers/maxpool2d.py).

The finite-difference tests draw inputs with no ties (the max is not differentiable there) and
the parity suite's continuous data has none either, so a change of this rule (the last tap,
every tied tap, a share each) was seen by no test.  torch's CPU kernel scans the window row by
row and keeps the first strict maximum, which is this rule.
"""

from __future__ import annotations

import numpy as np

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
