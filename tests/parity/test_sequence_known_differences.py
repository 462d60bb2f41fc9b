"""The known differences of the sequence kinds between torch, Keras and the reference, each as a
named test that shows the difference and how the reference (or its adapter) matches each side.

gate order (GRU: z, r, h in Keras and the reference, r, z, n in torch) . weight layout
((D, G*H) vs torch's (G*H, D)) . one bias vs torch's two (b_ih, b_hh) . GRU reset_after
True / False . what each returns (torch: output and h_n; Keras: the last step unless
return_sequences) . attention's packed in_proj_weight in torch vs per-head kernels in Keras .
Keras' attention scale cast through float32 on TensorFlow."""

import numpy as np
import pytest

from parity_tests.harness.compare import tensor_error
from parity_tests.harness.loaders import keras_floatx
from parity_tests.harness.tolerances import tolerance
from reference_nn.layers import GRU, LSTM, Attention, SimpleRNN

pytestmark = pytest.mark.frameworks

TOL = tolerance("float64", "forward")
X = np.random.default_rng(7).normal(size=(3, 5, 2))
TORCH_MODULE = {"simple_rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def _err(a, b):
    return tensor_error(np.asarray(a, np.float64), np.asarray(b, np.float64)).normwise_rel


def _filled(layer, seed=1):
    rng = np.random.default_rng(seed)
    for value in layer.params.values():
        value[...] = rng.normal(scale=0.5, size=value.shape)
    return layer


def _recurrent(kind, **options):
    cls = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[kind]
    return _filled(cls((5, 2), units=3, **options))


def _torch_module(torch, kind, layer, to_torch):
    """torch's own nn.RNN / nn.LSTM / nn.GRU (batch_first) with the layer's parameters, each
    passed through ``to_torch(name, value)``; the two bias rows become b_ih and b_hh."""
    module = getattr(torch.nn, TORCH_MODULE[kind])(2, 3, batch_first=True, dtype=torch.float64)
    b = to_torch("b", layer.params["b"])
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(to_torch("W", layer.params["W"])))
        module.weight_hh_l0.copy_(torch.from_numpy(to_torch("U", layer.params["U"])))
        module.bias_ih_l0.copy_(torch.from_numpy(b[0].copy()))
        module.bias_hh_l0.copy_(torch.from_numpy(b[1].copy()))
    return module


# ---------------------------------------------------------------- layouts and gate order
@pytest.mark.parametrize("kind", ["simple_rnn", "lstm", "gru"])
def test_torchs_own_modules_match_the_reference_through_the_adapters_translation(torch, kind):
    """torch's nn.RNN / nn.LSTM / nn.GRU, loaded through the adapter's translation (transpose
    to (G*H, D), torch's gate order), compute the reference's output: the adapter's module
    runs the same kernels (torch.rnn_tanh / lstm / gru) on the same numbers."""
    from parity_tests.frameworks.torch.layers import _rnn_to_torch

    options = {"reset_after": True} if kind == "gru" else {"convention": "torch"}
    layer = _recurrent(kind, return_sequences=True, **options)
    module = _torch_module(torch, kind, layer, _rnn_to_torch(kind))
    out, _ = module(torch.from_numpy(X))
    assert _err(out.detach().numpy(), layer.forward(X)) < TOL


def test_gru_gate_order_is_z_r_h_in_keras_and_r_z_n_in_torch(torch, keras):
    layer = _recurrent("gru", reset_after=True, return_sequences=True)
    expected = layer.forward(X)
    k = keras.layers.GRU(3, reset_after=True, return_sequences=True, dtype="float64")
    k.build((None, 5, 2))
    assert tuple(k.cell.bias.shape) == layer.params["b"].shape == (2, 9)  # input, recurrent
    for name, attr in (("W", "kernel"), ("U", "recurrent_kernel"), ("b", "bias")):
        getattr(k.cell, attr).assign(layer.params[name])  # Keras: the reference's layout
    assert _err(k(X).numpy(), expected) < TOL

    def transposed_only(name, value):  # the layout translated, the gate order not
        return value.T.copy() if name in ("W", "U") else value.copy()

    out, _ = _torch_module(torch, "gru", layer, transposed_only)(torch.from_numpy(X))
    assert _err(out.detach().numpy(), expected) > 1e-2  # z read as r and r as z


def test_lstm_gate_order_is_i_f_g_o_in_both_and_one_bias_in_keras(keras):
    layer = _recurrent("lstm", convention="keras", return_sequences=False)
    k = keras.layers.LSTM(3, dtype="float64")
    k.build((None, 5, 2))
    assert tuple(k.cell.bias.shape) == layer.params["b"].shape == (12,)
    for name, attr in (("W", "kernel"), ("U", "recurrent_kernel"), ("b", "bias")):
        getattr(k.cell, attr).assign(layer.params[name])
    assert _err(k(X).numpy(), layer.forward(X)) < TOL


# ---------------------------------------------------------------- biases
def test_two_biases_give_the_forward_of_their_sum_but_train_differently(torch):
    """torch keeps b_ih and b_hh; Keras one bias.  b = (b1, b2) computes what b1 + b2 does, but
    each row receives the whole bias gradient (torch's autograd shows it), so one SGD step
    moves the sum twice as far and the two networks part."""
    from parity_tests.frameworks.torch.layers import _rnn_from_torch, _rnn_to_torch

    two = _recurrent("lstm", convention="torch")
    one = LSTM((5, 2), units=3, convention="keras")
    for name in ("W", "U"):
        one.params[name][...] = two.params[name]
    one.params["b"][...] = two.params["b"].sum(axis=0)
    assert _err(one.forward(X), two.forward(X)) < TOL

    g = np.random.default_rng(3).normal(size=(3, 3))  # dL/d(output)
    two.forward(X)
    two.backward(g)
    one.forward(X)
    one.backward(g)
    np.testing.assert_array_equal(two.grads["b"][0], two.grads["b"][1])
    assert _err(two.grads["b"][0], one.grads["b"]) < tolerance("float64", "grads")

    module = _torch_module(torch, "lstm", two, _rnn_to_torch("lstm"))
    out, _ = module(torch.from_numpy(X))
    (out[:, -1] * torch.from_numpy(g)).sum().backward()
    grad_b = np.stack([module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy()])
    assert _err(_rnn_from_torch("lstm")("b", grad_b), two.grads["b"]) < tolerance(
        "float64", "grads"
    )

    lr = 0.5
    two.params["b"] -= lr * two.grads["b"]
    one.params["b"] -= lr * one.grads["b"]
    for layer in (one, two):
        layer.params["W"] -= lr * layer.grads["W"]
        layer.params["U"] -= lr * layer.grads["U"]
    assert _err(one.forward(X), two.forward(X)) > 1e-3


# ---------------------------------------------------------------- reset gate placement
def test_reset_after_true_and_false_are_different_functions_and_keras_computes_each(keras):
    """With the same kernels and no recurrent bias, r * (h U_h) and (r * h) U_h differ."""
    after = _recurrent("gru", reset_after=True)
    after.params["b"][1] = 0
    before = GRU((5, 2), units=3, reset_after=False)
    for name in ("W", "U"):
        before.params[name][...] = after.params[name]
    before.params["b"][...] = after.params["b"][0]
    assert _err(after.forward(X), before.forward(X)) > 1e-3
    for layer, reset_after in ((after, True), (before, False)):
        k = keras.layers.GRU(3, reset_after=reset_after, dtype="float64")
        k.build((None, 5, 2))
        for name, attr in (("W", "kernel"), ("U", "recurrent_kernel"), ("b", "bias")):
            getattr(k.cell, attr).assign(layer.params[name])
        assert _err(k(X).numpy(), layer.forward(X)) < TOL


# ---------------------------------------------------------------- what each returns
def test_torch_returns_every_step_and_h_n_keras_the_last_step_unless_asked(torch, keras):
    from parity_tests.frameworks.torch.layers import _rnn_to_torch

    seq = _recurrent("lstm", convention="torch", return_sequences=True)
    last = LSTM((5, 2), units=3, convention="torch", return_sequences=False)
    for name, value in seq.params.items():
        last.params[name][...] = value
    module = _torch_module(torch, "lstm", seq, _rnn_to_torch("lstm"))
    out, (h_n, _) = module(torch.from_numpy(X))
    assert tuple(out.shape) == (3, 5, 3) and tuple(h_n.shape) == (1, 3, 3)
    assert _err(out.detach().numpy(), seq.forward(X)) < TOL
    assert _err(h_n[0].detach().numpy(), last.forward(X)) < TOL  # h_n is the last step
    k = keras.layers.LSTM(3, dtype="float64")  # return_sequences=False by default
    k.build((None, 5, 2))
    assert tuple(k(X).shape) == (3, 3)


# ---------------------------------------------------------------- attention
def _attention(heads=2, key_dim=2, causal=True):
    return _filled(Attention((5, heads * key_dim), num_heads=heads, key_dim=key_dim, causal=causal))


def test_torch_packs_q_k_v_into_one_in_proj_weight(torch):
    """nn.MultiheadAttention holds ``in_proj_weight (3E, D)``: Wq, Wk, Wv each transposed to
    (E, D) with the heads' rows head-major, stacked."""
    layer = _attention()
    p = layer.params
    D = E = 4
    packed = np.concatenate([p[n].reshape(D, E).T for n in ("Wq", "Wk", "Wv")])
    in_bias = np.concatenate([p[n].reshape(-1) for n in ("bq", "bk", "bv")])
    x = np.random.default_rng(8).normal(size=(3, 5, D))
    mha = torch.nn.MultiheadAttention(E, 2, batch_first=True, dtype=torch.float64)
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)

    def output(weight):
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.from_numpy(weight))
            mha.in_proj_bias.copy_(torch.from_numpy(in_bias))
            mha.out_proj.weight.copy_(torch.from_numpy(p["Wo"].reshape(E, D).T.copy()))
            mha.out_proj.bias.copy_(torch.from_numpy(p["bo"]))
            t = torch.from_numpy(x)
            return mha(t, t, t, attn_mask=mask, need_weights=False)[0].numpy()

    assert _err(output(packed), layer.forward(x)) < TOL
    untransposed = np.concatenate([p[n].reshape(D, E) for n in ("Wq", "Wk", "Wv")])
    assert _err(output(untransposed), layer.forward(x)) > 1e-2


def test_keras_attention_scale_goes_through_float32_on_tensorflow(keras):
    """Keras keeps 1/sqrt(key_dim) as a Python float; TensorFlow's attention tf.casts it,
    which makes a float32 tensor first.  In float64, scores are off by that rounding: key_dim
    3 gives ~1e-8, key_dim 4 (scale 1/2, exact in float32) nothing.  The adapter passes the
    scale as a NumPy float64 and matches the reference."""
    from parity_tests.frameworks.keras.layers import _self_attention

    errors = {}
    with keras_floatx("float64"):
        for key_dim in (3, 4):
            layer = _filled(Attention((5, 4), num_heads=2, key_dim=key_dim, causal=True))
            x = np.random.default_rng(9).normal(size=(3, 5, 4))
            options = {"causal": True, "return_sequences": True}
            options |= {"num_heads": 2, "key_dim": key_dim}
            for exact in (True, False):
                k = _self_attention()(options, None, python_float_scale=not exact, dtype="float64")
                k.build((None, 5, 4))
                for name, attr in (
                    ("q", "_query_dense"),
                    ("k", "_key_dense"),
                    ("v", "_value_dense"),
                    ("o", "_output_dense"),
                ):
                    getattr(k.mha, attr).kernel.assign(layer.params["W" + name])
                    getattr(k.mha, attr).bias.assign(layer.params["b" + name])
                errors[key_dim, exact] = _err(k(x).numpy(), layer.forward(x))
    assert errors[3, True] < TOL and errors[4, True] < TOL and errors[4, False] < TOL
    assert errors[3, False] > 1e-10, errors
