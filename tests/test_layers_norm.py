"""batchnorm and layernorm backward against finite differences (training and inference), the
running-statistics updates of both conventions written out, and negative controls."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_nn import LayerSpec, NetworkSpec
from reference_nn.layers import BatchNorm, LayerNorm
from tests.layer_fd import check_layer

SHAPES = st.sampled_from([(3,), (4, 2), (3, 3, 2), (2, 2, 1)])


@settings(max_examples=30)
@given(
    shape=SHAPES,
    n=st.integers(2, 5),
    convention=st.sampled_from(["torch", "keras"]),
    training=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_batchnorm_backward_matches_finite_differences(shape, n, convention, training, seed):
    rng = np.random.default_rng(seed)
    layer = BatchNorm(shape, convention=convention, epsilon=1e-3)
    layer.state["running_mean"][...] = rng.normal(size=shape[-1])
    layer.state["running_var"][...] = rng.uniform(0.5, 2, size=shape[-1])
    check_layer(layer, rng.normal(size=(n, *shape)), rng, training=training)


@settings(max_examples=30)
@given(shape=SHAPES, n=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_layernorm_backward_matches_finite_differences(shape, n, seed):
    if shape[-1] == 1:
        shape = (*shape[:-1], 2)
    rng = np.random.default_rng(seed)
    check_layer(LayerNorm(shape, epsilon=1e-5), rng.normal(size=(n, *shape)), rng)


@pytest.mark.parametrize("convention", ["torch", "keras"])
def test_running_statistics_follow_the_convention(convention):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3, 2))
    layer = BatchNorm((3, 2), convention=convention, epsilon=1e-5)
    layer.forward(x)
    flat = x.reshape(-1, 2)
    mean, biased, unbiased = flat.mean(0), flat.var(0), flat.var(0, ddof=1)
    if convention == "torch":  # 0.1 of the new batch, unbiased variance
        want_mean, want_var = 0.9 * 0 + 0.1 * mean, 0.9 * 1 + 0.1 * unbiased
    else:  # 0.99 of the old value, biased variance
        want_mean, want_var = 0.99 * 0 + 0.01 * mean, 0.99 * 1 + 0.01 * biased
    np.testing.assert_allclose(layer.state["running_mean"], want_mean, rtol=1e-13)
    np.testing.assert_allclose(layer.state["running_var"], want_var, rtol=1e-13)
    # inference uses them
    out = layer.forward(x, training=False)
    np.testing.assert_allclose(out, (x - want_mean) / np.sqrt(want_var + 1e-5), rtol=1e-12)


def test_state_is_exposed_by_name_and_is_not_a_parameter():
    spec = NetworkSpec(
        (4,),
        (
            LayerSpec.dense(3, "tanh"),
            LayerSpec("batchnorm", {"convention": "keras", "epsilon": 1e-3}),
            LayerSpec.dense(1, "sigmoid"),
        ),
    )
    net = spec.build_network()
    assert set(net.get_state()) == {"1.running_mean", "1.running_var"}
    assert not set(net.get_state()) & set(net.parameters)
    net.set_state({"1.running_mean": np.full(3, 2.0), "1.running_var": np.full(3, 4.0)})
    assert net.layers[1].state["running_var"][0] == 4.0
    with pytest.raises(KeyError, match="missing"):
        net.set_state({"1.running_mean": np.zeros(3)})


def test_batchnorm_needs_explicit_epsilon_and_convention():
    with pytest.raises(ValueError, match="'epsilon' is required"):
        BatchNorm((3,), convention="torch")
    with pytest.raises(ValueError, match=r"'convention'.*must be one of keras, torch"):
        BatchNorm((3,), convention="jax", epsilon=1e-3)


def test_torch_convention_refuses_one_value_per_channel():
    with pytest.raises(ValueError, match="batch of 2 or more"):
        BatchNorm((3,), convention="torch", epsilon=1e-5).forward(np.ones((1, 3)))


# ---------------------------------------------------------------- negative controls
def test_a_missing_one_over_m_in_the_batch_variance_is_caught(monkeypatch):
    """var = sum((x - mu)^2) instead of the mean: FD names x (the backward assumes 1/M)."""
    original = BatchNorm.forward

    def sum_not_mean(self, x, training=True):
        out = original(self, x, training)
        xhat, inv, tr = self._cache
        m = x.size // self.channels
        inv2 = inv / np.sqrt(m)  # as if var had no 1/M (eps aside)
        self._cache = (xhat / np.sqrt(m), inv2, tr)
        return out / np.sqrt(m)

    monkeypatch.setattr(BatchNorm, "forward", sum_not_mean)
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match="'x'"):
        check_layer(BatchNorm((3,), convention="keras", epsilon=1e-3), rng.normal(size=(4, 3)), rng)


def test_a_layernorm_without_the_mean_path_is_caught(monkeypatch):
    original = LayerNorm.backward

    def no_mean_path(self, grad_out):
        original(self, grad_out)
        xhat, inv = self._cache
        gh = grad_out * self.params["gamma"]
        d = self.size
        return (inv / d) * (d * gh - xhat * (gh * xhat).sum(-1, keepdims=True))

    monkeypatch.setattr(LayerNorm, "backward", no_mean_path)
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match="'x'"):
        check_layer(LayerNorm((4,), epsilon=1e-5), rng.normal(size=(3, 4)), rng)


def _exact_channel_moments(x):
    import math

    flat = x.reshape(-1, x.shape[-1])
    mean = np.array([math.fsum(col) / len(col) for col in flat.T])
    var = np.array(
        [math.fsum((col - m) ** 2) / len(col) for col, m in zip(flat.T, mean, strict=True)]
    )
    return mean, var


def test_batch_statistics_stay_accurate_for_large_batches():
    """64,000 non-negative values per channel (relu-like, as in the digits example): the mean
    and variance agree with exactly rounded sums (math.fsum) to ~1e-16; a plain reduction over
    the leading axes drifts by eps * M (the negative control)."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(0.3, 0.5, size=(1000, 8, 8, 4)), 0)
    mean, var = _exact_channel_moments(x)
    layer = BatchNorm((8, 8, 4), convention="keras", epsilon=1e-3, momentum=0.0)
    layer.forward(x)  # momentum 0 (Keras convention): the running values become the batch's
    assert np.max(np.abs(layer.state["running_mean"] - mean) / mean) < 1e-15
    assert np.max(np.abs(layer.state["running_var"] - var) / var) < 1e-15
    naive_var = ((x - x.mean(axis=(0, 1, 2))) ** 2).mean(axis=(0, 1, 2))
    assert np.max(np.abs(naive_var - var) / var) > 1e-14
