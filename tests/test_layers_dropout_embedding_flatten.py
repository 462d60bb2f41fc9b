"""dropout, embedding and flatten backward against finite differences; masks from the layer's
generator; integer inputs; negative controls."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nn import LayerSpec, NetworkSpec
from reference_nn.layers import Dropout, Embedding, Flatten
from reference_nn.layers.dropout import dropout_mask
from tests.fd import FD_TOLERANCE, rel_error, scalar_fd
from tests.layer_fd import check_layer


@settings(max_examples=20)
@given(
    shape=st.sampled_from([(3,), (2, 3), (2, 2, 3)]),
    n=st.integers(1, 4),
    rate=st.sampled_from([0.0, 0.25, 0.5, 0.9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_dropout_backward_matches_finite_differences_with_the_mask_fixed(shape, n, rate, seed):
    """Each training call draws a new mask, so the function differentiated is the one with
    the mask of the call that backward belongs to: a fresh layer (same seed) per evaluation."""
    rng = np.random.default_rng(seed)
    x, R = rng.normal(size=(n, *shape)), rng.normal(size=(n, *shape))
    layer = Dropout(shape, rate=rate, seed=seed % 1000)
    layer.forward(x)
    dx = layer.backward(R)

    def loss():
        return float((R * Dropout(shape, rate=rate, seed=seed % 1000).forward(x)).sum())

    assert rel_error(dx, scalar_fd(loss, x)) < FD_TOLERANCE


def test_dropout_masks_come_from_the_seeded_generator_one_per_training_call():
    x = np.ones((4, 5))
    layer = Dropout((5,), rate=0.4, seed=7)
    first, second = layer.forward(x), layer.forward(x)
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(first, dropout_mask(rng, (4, 5), 0.4, np.float64))
    np.testing.assert_array_equal(second, dropout_mask(rng, (4, 5), 0.4, np.float64))
    assert set(np.unique(first)) <= {0.0, 1 / 0.6}
    np.testing.assert_array_equal(layer.forward(x, training=False), x)  # inference: identity
    np.testing.assert_array_equal(layer.backward(x), x)


@settings(max_examples=20)
@given(
    length=st.integers(1, 5),
    vocab=st.integers(1, 6),
    dim=st.integers(1, 3),
    n=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_embedding_scatter_adds_into_the_rows(length, vocab, dim, n, seed):
    rng = np.random.default_rng(seed)
    layer = Embedding((length,), input_dim=vocab, output_dim=dim)
    check_layer(layer, rng.integers(0, vocab, size=(n, length)), rng, wrt_input=False)


def test_flatten_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    check_layer(Flatten((2, 3, 2)), rng.normal(size=(3, 2, 3, 2)), rng)
    np.testing.assert_array_equal(
        Flatten((2, 2)).forward(np.arange(8.0).reshape(2, 2, 2)), np.arange(8.0).reshape(2, 4)
    )  # C order: last axis fastest


def _embedding_net():
    spec = NetworkSpec(
        (3,),
        (
            LayerSpec("embedding", {"input_dim": 5, "output_dim": 2}),
            LayerSpec("flatten"),
            LayerSpec.dense(1, "sigmoid"),
        ),
    )
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    return net


def test_a_network_takes_integer_indices_and_refuses_floats_and_out_of_range():
    net = _embedding_net()
    X = np.array([[0, 1, 4], [4, 4, 2]])
    _, grads = net.loss_and_gradients(X, np.array([[0.0], [1.0]]))
    assert grads["0.W"].shape == (5, 2) and np.all(grads["0.W"][3] == 0)  # row 3 unused
    with pytest.raises(TypeError, match=r"integer indices; convert with X.astype\(np.int64\)"):
        net.forward(X.astype(np.float64))
    with pytest.raises(ValueError, match=r"index 5 at \(1, 2\), outside 0..4"):
        net.forward(np.array([[0, 1, 2], [3, 4, 5]]))


def test_an_embedding_after_another_layer_is_refused():
    with pytest.raises(ValueError, match="must be the first layer"):
        NetworkSpec(
            (3,), (LayerSpec.dense(3), LayerSpec("embedding", {"input_dim": 4, "output_dim": 2}))
        )


# ---------------------------------------------------------------- negative controls
def test_an_embedding_gradient_assigned_not_added_is_caught(monkeypatch):
    def assign(self, grad_out):
        dW = np.zeros_like(self.params["W"])
        dW[self._indices] = grad_out  # a repeated row keeps only its last gradient
        self.grads = {"W": dW}
        return np.zeros(self._indices.shape)

    monkeypatch.setattr(Embedding, "backward", assign)
    rng = np.random.default_rng(0)
    layer = Embedding((4,), input_dim=3, output_dim=2)
    with pytest.raises(AssertionError, match="'W'"):
        check_layer(layer, np.array([[0, 0, 1, 2], [2, 2, 2, 1]]), rng, wrt_input=False)


def test_dropout_without_inverted_scaling_is_caught(monkeypatch):
    import reference_nn.layers.dropout as module

    monkeypatch.setattr(
        module,
        "dropout_mask",
        lambda rng, shape, rate, dtype: (rng.random(shape) >= rate).astype(dtype),
    )
    with pytest.raises(AssertionError):
        test_dropout_masks_come_from_the_seeded_generator_one_per_training_call()
