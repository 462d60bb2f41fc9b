import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_nn import ShapeError
from reference_nn.losses import LOSSES, get_loss
from tests.fd import FD_TOLERANCE, rel_error, scalar_fd

# Each loss with a generator of (predictions, targets) inside its domain.  Probabilities stay
# away from the clip points (1e-7) so the finite-difference steps never cross them.


def _case(name, params, rng, n, k):
    logits = rng.normal(size=(n, k))
    probs = 1 / (1 + np.exp(-logits))
    onehot = np.eye(k)[rng.integers(0, k, n)]
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if "logits" in params.values():  # a convention on logits takes the scores
        return logits, onehot if name == "cce" else rng.random((n, k))
    if name in ("sse", "half_sse", "mse"):
        return logits, rng.normal(size=(n, k))
    if name in ("bce", "logistic"):
        return np.clip(probs, 0.05, 0.95), rng.random((n, k))
    if name == "bce_logits":
        return logits, rng.random((n, k))
    if name == "cce":
        return np.clip(softmax, 0.05, 0.95), onehot
    return logits, onehot  # cce_logits


CASES = [
    ("sse", {}),
    ("half_sse", {}),
    ("mse", {}),
    ("bce", {"clip": "none"}),
    ("bce", {"clip": "keras"}),
    ("bce", {"clip": "torch"}),
    ("bce", {"clip": "none", "reduction": "sum"}),
    ("bce", {"clip": "logits"}),
    ("bce", {"clip": "logits", "reduction": "batch_mean"}),
    ("logistic", {}),
    ("bce_logits", {}),
    ("cce", {"convention": "none"}),
    ("cce", {"convention": "keras"}),
    ("cce", {"convention": "logits"}),
    ("cce_logits", {}),
]


@pytest.mark.parametrize(("name", "params"), CASES, ids=lambda c: str(c))
@given(n=st.integers(1, 16), k=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_gradient_matches_finite_differences(name, params, n, k, seed):
    loss = get_loss(name, **params)
    p, y = _case(name, params, np.random.default_rng(seed), n, k)
    numeric = scalar_fd(lambda: float(loss.value(p, y)), p)
    assert rel_error(loss.gradient(p, y), numeric) < FD_TOLERANCE


def test_every_registered_loss_is_tested():
    assert {name for name, _ in CASES} == set(LOSSES)


def test_values_by_hand():
    p = np.array([[0.2, 0.7], [0.9, 0.4]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    sq = 0.2**2 + 0.3**2 + 0.1**2 + 0.4**2
    assert np.isclose(get_loss("sse").value(p, y), sq)
    assert np.isclose(get_loss("half_sse").value(p, y), sq / 2)
    assert np.isclose(get_loss("mse").value(p, y), sq / 4)
    bce_terms = -(np.log(0.8) + np.log(0.7) + np.log(0.9) + np.log(0.6))
    assert np.isclose(get_loss("bce").value(p, y), bce_terms / 4)  # mean over N*K
    assert np.isclose(get_loss("logistic").value(p, y), bce_terms / 2)  # sum over K, mean over N
    assert np.isclose(get_loss("cce").value(p, y), -(np.log(0.7) + np.log(0.9)) / 2)


def test_reductions_scale_the_gradient():
    p, y = np.full((4, 3), 0.5), np.zeros((4, 3))
    assert np.allclose(get_loss("sse").gradient(p, y), 1.0)
    assert np.allclose(get_loss("mse").gradient(p, y), 1.0 / 12)
    assert np.allclose(get_loss("half_sse").gradient(p, y), 0.5)


def test_bce_clipping_conventions_differ_at_saturation():
    p = np.array([[0.0, 1.0 - 1e-9]])
    y = np.array([[1.0, 0.0]])
    keras = get_loss("bce", clip="keras").value(p, y)
    torch = get_loss("bce", clip="torch").value(p, y)
    # Keras: -log(1e-7) - log(1e-7) (both clipped to epsilon); torch: log(0) clamped at -100.
    assert np.isclose(keras, (-np.log(1e-7) - np.log(1e-7)) / 2)
    assert np.isclose(torch, (100.0 - np.log(1e-9)) / 2)
    with pytest.raises(ValueError, match="strictly inside"):
        get_loss("bce").value(p, y)
    # Keras' clip has zero gradient where it acted.
    assert get_loss("bce", clip="keras").gradient(p, y)[0, 0] == 0.0


def test_keras_cce_gradient_differs_from_plain_by_a_row_constant():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.eye(4)[[0, 1, 2, 3, 0]]
    diff = get_loss("cce", convention="keras").gradient(p, y) - get_loss("cce").gradient(p, y)
    assert np.allclose(diff, diff[:, :1])  # constant along each row: softmax removes it


def test_target_shape_must_match():
    p = np.zeros((5, 1))
    with pytest.raises(ShapeError, match=r"reshape the target with y.reshape\(-1, 1\)"):
        get_loss("mse").value(p, np.zeros(5))


def test_domain_errors_are_clear():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        get_loss("bce").value(np.full((1, 1), 0.5), np.full((1, 1), 2.0))
    with pytest.raises(ValueError, match="valid: bce, bce_logits"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="unknown option"):
        get_loss("mse", reduction="sum")


# ---------------------------------------------------------------- conventions on logits
def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_the_logits_conventions_are_the_logits_losses_on_the_scores():
    rng = np.random.default_rng(3)
    s, onehot, binary = rng.normal(size=(5, 4)), np.eye(4)[[0, 1, 2, 3, 0]], rng.random((5, 4))
    cce, cce_logits = get_loss("cce", convention="logits"), get_loss("cce_logits")
    assert cce.value(s, onehot) == cce_logits.value(s, onehot)
    assert np.array_equal(cce.gradient(s, onehot), cce_logits.gradient(s, onehot))
    bce, bce_logits = get_loss("bce", clip="logits"), get_loss("bce_logits")
    assert bce.value(s, binary) == bce_logits.value(s, binary)
    assert np.array_equal(bce.gradient(s, binary), bce_logits.gradient(s, binary))
    assert (cce.logits_of, bce.logits_of) == ("softmax", "sigmoid")
    assert get_loss("cce").logits_of is None and get_loss("bce", clip="keras").logits_of is None


def test_a_confident_softmax_row_logits_against_clipped_probabilities():
    # -log p_true by hand: log(1 + exp(-20) + exp(-21)) = 2.8e-9
    s, y = np.array([[20.0, 0.0, -1.0]]), np.array([[1.0, 0.0, 0.0]])
    exact = np.log1p(np.exp(-20.0) + np.exp(-21.0))
    logits = float(get_loss("cce", convention="logits").value(s, y))
    clipped = float(get_loss("cce", convention="keras").value(_softmax(s), y))
    # log(sum(exp(s - max))) rounds 1 + 2.8e-9 to double first (TensorFlow does the same): 4e-8
    assert logits == pytest.approx(exact, rel=1e-7, abs=0)
    assert clipped == pytest.approx(-np.log1p(-1e-7), rel=1e-9, abs=0)  # 1.0e-7: 36 times more
    # the clip also zeroes the true class's gradient, where the logits form has p - y
    assert get_loss("cce", convention="keras").gradient(_softmax(s), y)[0, 0] == 0.0
    grad = get_loss("cce", convention="logits").gradient(s, y)[0, 0]
    assert grad == pytest.approx(_softmax(s)[0, 0] - 1.0, rel=1e-12, abs=0)
    assert grad == pytest.approx(-exact, rel=1e-7, abs=0)  # p - 1 rounds p first: 4e-8


def test_a_saturated_sigmoid_logits_against_clipped_probabilities():
    s, y = np.array([[30.0, -40.0]]), np.array([[0.0, 1.0]])
    logits = float(get_loss("bce", clip="logits").value(s, y))
    assert logits == pytest.approx((30.0 + 40.0) / 2, rel=1e-12, abs=0)
    clipped = float(get_loss("bce", clip="keras").value(1 / (1 + np.exp(-s)), y))
    assert clipped == pytest.approx(-np.log(1e-7), rel=1e-6, abs=0)  # 16.1 for each element


def test_a_logits_convention_takes_any_real_scores_but_checks_its_targets():
    s = np.array([[-50.0, 3.0], [7.0, 100.0]])
    get_loss("cce", convention="logits").value(s, np.array([[1.0, 0.0], [0.0, 1.0]]))
    get_loss("bce", clip="logits").value(s, np.array([[1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="target row 1 is all zeros"):
        get_loss("cce", convention="logits").value(s, np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        get_loss("bce", clip="logits").value(s, np.array([[2.0, 0.0], [0.0, 1.0]]))
