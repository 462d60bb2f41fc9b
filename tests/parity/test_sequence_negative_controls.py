"""Negative controls for the sequence kinds: plant one error in the reference, assert the parity
comparison with torch and Keras reports it and names the tensor.  Some are consistent changes
of the function (swapped gates, torch's gate order read as the reference's, a mask after the
softmax) that finite differences cannot see; the others are backward-pass slips (a truncated
recurrence, a dropped cell-state carry, a two-bias gradient split between the rows)."""

import numpy as np
import pytest

from reference_nn.layers import GRU, LSTM, Attention
from tests.parity.test_layer_negative_controls import _bad, _case, _layer
from tests.test_layers_sequences import (
    mask_after_softmax,
    plant_missing_carry,
    plant_truncated_recurrence,
)

pytestmark = pytest.mark.frameworks

FLAT = _layer("flatten")
LSTM_CASE = _case((5, 2), _layer("lstm", units=3, convention="keras"))
GRU_CASE = _case((5, 2), _layer("gru", units=3, reset_after=True, return_sequences=True), FLAT)
RNN_CASE = _case((5, 2), _layer("simple_rnn", units=3, convention="keras"))
# every position's output: the last position sees the whole sequence, so a causal mask only
# shows at the others
ATTENTION_CASE = _case((4, 4), _layer("attention", num_heads=2, key_dim=2, causal=True), FLAT)


def _with_gate_blocks_swapped(monkeypatch, cls, a, b):
    """The layer computes with its gate blocks ``a`` and ``b`` exchanged in W, U and the bias,
    forward and backward alike (a consistent function, so finite differences agree)."""
    forward, backward = cls.forward, cls.backward

    def swap(params):
        for value in params.values():
            blocks = np.split(value, cls.gates, axis=-1)
            blocks[a], blocks[b] = blocks[b], blocks[a]
            value[...] = np.concatenate(blocks, axis=-1)

    def swapped_forward(self, x, training=True):
        swap(self.params)
        try:
            return forward(self, x, training)
        finally:
            swap(self.params)

    def swapped_backward(self, grad_out):
        swap(self.params)
        try:
            dx = backward(self, grad_out)
        finally:
            swap(self.params)
        swap(self.grads)
        return dx

    monkeypatch.setattr(cls, "forward", swapped_forward)
    monkeypatch.setattr(cls, "backward", swapped_backward)


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
@pytest.mark.parametrize("case", [LSTM_CASE, GRU_CASE, RNN_CASE, ATTENTION_CASE], ids=str)
def test_clean_controls_pass(case, framework):
    assert _bad(case, framework) == set()


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_lstm_input_and_forget_gates_swapped_are_caught(framework, monkeypatch):
    _with_gate_blocks_swapped(monkeypatch, LSTM, 0, 1)
    bad = _bad(LSTM_CASE, framework)
    assert ("forward", "output") in bad and ("grads", "0.W") in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_gru_read_in_torchs_gate_order_is_caught(framework, monkeypatch):
    """z and r exchanged: the reference reading torch's r, z, n blocks as its own z, r, h."""
    _with_gate_blocks_swapped(monkeypatch, GRU, 0, 1)
    bad = _bad(GRU_CASE, framework)
    assert ("forward", "output") in bad and ("grads", "0.U") in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_a_missing_cell_state_carry_is_caught(framework, monkeypatch):
    """``dc * f`` not carried to the step before: the forward is right, the gradients not."""
    plant_missing_carry(monkeypatch)
    bad = _bad(LSTM_CASE, framework)
    assert ("forward", "output") not in bad
    assert {("grads", "0.W"), ("grads", "0.U"), ("grads", "0.b")} <= bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_a_truncated_recurrence_is_caught(framework, monkeypatch):
    """Backpropagation stopped at each step (U taken as 0 on the way back)."""
    plant_truncated_recurrence(monkeypatch)
    bad = _bad(RNN_CASE, framework)
    assert ("forward", "output") not in bad and ("grads", "0.W") in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_a_mask_applied_after_the_softmax_is_caught(framework, monkeypatch):
    monkeypatch.setattr(Attention, "attention_weights", mask_after_softmax)
    bad = _bad(ATTENTION_CASE, framework)
    assert ("forward", "output") in bad and ("grads", "0.Wq") in bad


def test_a_two_bias_gradient_split_between_the_rows_is_caught(torch, monkeypatch):
    """torch convention: each of b_ih and b_hh gets the whole gradient; half each (as if the
    two rows were one bias) is caught in the gradients and the steps."""
    case = _case((5, 2), _layer("lstm", units=3, convention="torch"))
    assert _bad(case, "torch") == set()
    original = LSTM.backward

    def halved(self, grad_out):
        dx = original(self, grad_out)
        self.grads["b"] = self.grads["b"] / 2
        return dx

    monkeypatch.setattr(LSTM, "backward", halved)
    bad = _bad(case, "torch")
    assert ("grads", "0.b") in bad and ("grads", "0.W") not in bad


@pytest.mark.parametrize("framework", ["torch", "keras"], indirect=True)
def test_the_first_divergence_names_the_recurrent_layers_backward(framework, monkeypatch):
    """The divergence locator on a sequence network: a dropped carry is a backward error of
    layer 0 at step 1 (its incoming gradient agrees; its weight gradients do not)."""
    from parity_tests.harness.divergence import explain_case

    plant_missing_carry(monkeypatch)
    message = explain_case(LSTM_CASE, framework)
    assert message.startswith("first divergence at step 1, layer 0 (backward)"), message
