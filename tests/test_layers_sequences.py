"""simple_rnn, lstm, gru and attention: backward through time against finite differences
(every parameter and the input, both return_sequences settings, both bias conventions, both
reset-gate placements, causal or not), and negative controls that show the check catches a
truncated recurrence, a dropped cell-state carry and a mask applied after the softmax."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nn.layers import GRU, LSTM, Attention, SimpleRNN
from tests.layer_fd import check_layer

SIZES = {
    "timesteps": st.integers(1, 4),
    "features": st.integers(1, 3),
    "units": st.integers(1, 3),
    "n": st.integers(1, 3),
    "return_sequences": st.booleans(),
    "seed": st.integers(0, 2**32 - 1),
}


def _recurrent(cls, timesteps, features, units, return_sequences, **options):
    return cls((timesteps, features), units=units, return_sequences=return_sequences, **options)


def _x(rng, n, timesteps, features):
    return rng.normal(size=(n, timesteps, features))


@settings(max_examples=25, deadline=None)
@given(convention=st.sampled_from(["keras", "torch"]), **SIZES)
def test_simple_rnn_backward_matches_finite_differences(
    convention, timesteps, features, units, n, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    layer = _recurrent(
        SimpleRNN, timesteps, features, units, return_sequences, convention=convention
    )
    check_layer(layer, _x(rng, n, timesteps, features), rng)


@settings(max_examples=25, deadline=None)
@given(convention=st.sampled_from(["keras", "torch"]), **SIZES)
def test_lstm_backward_matches_finite_differences(
    convention, timesteps, features, units, n, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    layer = _recurrent(LSTM, timesteps, features, units, return_sequences, convention=convention)
    check_layer(layer, _x(rng, n, timesteps, features), rng)


@settings(max_examples=25, deadline=None)
@given(reset_after=st.booleans(), **SIZES)
def test_gru_backward_matches_finite_differences(
    reset_after, timesteps, features, units, n, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    layer = _recurrent(GRU, timesteps, features, units, return_sequences, reset_after=reset_after)
    check_layer(layer, _x(rng, n, timesteps, features), rng)


@settings(max_examples=25, deadline=None)
@given(
    heads=st.integers(1, 3),
    key_dim=st.integers(1, 3),
    causal=st.booleans(),
    timesteps=st.integers(1, 4),
    features=st.integers(1, 3),
    n=st.integers(1, 3),
    return_sequences=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_attention_backward_matches_finite_differences(
    heads, key_dim, causal, timesteps, features, n, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    layer = Attention(
        (timesteps, features),
        num_heads=heads,
        key_dim=key_dim,
        causal=causal,
        return_sequences=return_sequences,
    )
    check_layer(layer, _x(rng, n, timesteps, features), rng)


# ---------------------------------------------------------------- written-out values
def test_simple_rnn_two_steps_by_hand():
    """One unit, one feature, two steps: h1 = tanh(w x1 + b), h2 = tanh(w x2 + u h1 + b)."""
    layer = SimpleRNN((2, 1), units=1, convention="keras", return_sequences=True)
    w, u, b = 0.5, -0.7, 0.1
    layer.params["W"][...], layer.params["U"][...], layer.params["b"][...] = w, u, b
    x = np.array([[[1.0], [2.0]]])
    h1 = np.tanh(w * 1.0 + b)
    h2 = np.tanh(w * 2.0 + u * h1 + b)
    np.testing.assert_allclose(layer.forward(x)[0, :, 0], [h1, h2], rtol=1e-15)
    # dL/dh2 = 1 only: dL/du = (1 - h2^2) h1, dL/dw = (1 - h2^2)(x2 + u (1 - h1^2) x1)
    layer.return_sequences = False
    layer.forward(x)
    layer.backward(np.ones((1, 1)))
    dz2 = 1 - h2**2
    np.testing.assert_allclose(layer.grads["U"][0, 0], dz2 * h1, rtol=1e-14)
    np.testing.assert_allclose(layer.grads["W"][0, 0], dz2 * (2.0 + u * (1 - h1**2)), rtol=1e-14)


def test_causal_attention_first_position_sees_only_itself():
    """With the causal mask, position 0's output is v_0 projected: its weights are [1, 0, ...]."""
    rng = np.random.default_rng(3)
    layer = Attention((4, 2), num_heads=2, key_dim=3, causal=True)
    for value in layer.params.values():
        value[...] = rng.normal(size=value.shape)
    x = rng.normal(size=(1, 4, 2))
    y = layer.forward(x)
    p = layer.params
    v0 = np.einsum("d,dhk->hk", x[0, 0], p["Wv"]) + p["bv"]
    np.testing.assert_allclose(y[0, 0], np.einsum("hk,hkd->d", v0, p["Wo"]) + p["bo"], rtol=1e-13)
    A = layer._cache[4]
    assert np.all(A[0][:, np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)
    np.testing.assert_allclose(A.sum(axis=-1), 1, rtol=1e-15)


# ---------------------------------------------------------------- negative controls
def _fails_fd(layer, x, rng):
    with pytest.raises(AssertionError, match="relative errors"):
        check_layer(layer, x, rng)


def plant_truncated_recurrence(monkeypatch):
    """The planted error: a backward that stops at each step (U taken as 0 on the way back:
    no dh_next).  Used here and by the parity negative controls."""
    original = SimpleRNN.backward

    def truncated(self, grad_out):
        U = self.params["U"]
        self.params["U"] = np.zeros_like(U)
        try:
            return original(self, grad_out)
        finally:
            self.params["U"] = U

    monkeypatch.setattr(SimpleRNN, "backward", truncated)


def plant_missing_carry(monkeypatch):
    """The planted error: the cell state's gradient not carried to the step before (``dc * f``
    dropped).  Used here and by the parity negative controls."""
    original = LSTM.step_backward

    def no_carry(*args):
        dz, carry = original(*args)
        return dz, np.zeros_like(carry)

    monkeypatch.setattr(LSTM, "step_backward", staticmethod(no_carry))


def test_truncated_recurrence_is_caught(monkeypatch):
    plant_truncated_recurrence(monkeypatch)
    rng = np.random.default_rng(0)
    layer = SimpleRNN((3, 2), units=2, convention="keras", return_sequences=False)
    _fails_fd(layer, _x(rng, 2, 3, 2), rng)


def test_missing_cell_state_carry_is_caught(monkeypatch):
    plant_missing_carry(monkeypatch)
    rng = np.random.default_rng(1)
    layer = LSTM((3, 2), units=2, convention="keras", return_sequences=False)
    _fails_fd(layer, _x(rng, 2, 3, 2), rng)


def test_gru_reset_gate_gradient_dropped_is_caught(monkeypatch):
    """The candidate's dependence on the reset gate ignored on the way back (dr = 0): the
    cache's recurrent product q_h zeroed before backward."""
    original = GRU.backward

    def no_reset_grad(self, grad_out):
        x, hs, zrn, qh = self._cache
        self._cache = (x, hs, zrn, np.zeros_like(qh))
        return original(self, grad_out)

    monkeypatch.setattr(GRU, "backward", no_reset_grad)
    rng = np.random.default_rng(2)
    layer = GRU((3, 2), units=2, reset_after=True, return_sequences=True)
    _fails_fd(layer, _x(rng, 2, 3, 2), rng)


def mask_after_softmax(self, scores):
    """The planted error: a softmax over every position, then the future zeroed (rows no
    longer sum to 1); backward still takes A as a softmax's output."""
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) * self.visible()


def test_mask_applied_after_the_softmax_is_caught(monkeypatch):
    monkeypatch.setattr(Attention, "attention_weights", mask_after_softmax)
    rng = np.random.default_rng(4)
    layer = Attention((3, 2), num_heads=1, key_dim=2, causal=True)
    _fails_fd(layer, _x(rng, 2, 3, 2), rng)


def test_the_key_bias_gradient_is_zero_and_a_nonzero_one_is_caught(monkeypatch):
    """dL/dbk is identically 0 (module docstring of attention): check_layer holds it to that,
    and a backward that hands bk the gradient of bq fails."""
    rng = np.random.default_rng(5)
    layer = Attention((3, 2), num_heads=2, key_dim=2)
    errors = check_layer(layer, _x(rng, 2, 3, 2), rng)
    assert errors["bk"] < 1e-12
    original = Attention.backward

    def nonzero_bk(self, grad_out):
        dx = original(self, grad_out)
        self.grads["bk"] = self.grads["bq"].copy()
        return dx

    monkeypatch.setattr(Attention, "backward", nonzero_bk)
    _fails_fd(layer, _x(rng, 2, 3, 2), rng)
