import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reference_nn.activations import ACTIVATIONS, get_activation
from tests.fd import FD_TOLERANCE, elementwise_fd, rel_error, scalar_fd

# Every elementwise activation of the registry (a new one is tested without an edit here),
# with its example options, and other values where they test more (elu's alpha != 1 makes its
# derivative jump at 0).
OTHER_OPTIONS = {"leaky_relu": {"alpha": 0.1}, "elu": {"alpha": 0.7}}
ELEMENTWISE = {
    name: {**cls.example_options, **OTHER_OPTIONS.get(name, {})}
    for name, cls in ACTIVATIONS.items()
    if cls.elementwise
}

shapes = st.tuples(st.integers(1, 8), st.integers(1, 8))
values = st.floats(-5, 5, allow_nan=False, width=64)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@given(z=arrays(np.float64, shapes, elements=values))
def test_derivative_matches_finite_differences(name, z):
    act = get_activation(name, **ELEMENTWISE[name])
    # FD steps reach 1e-4: keep the points away from 0, where relu, leaky_relu and elu kink
    z = np.where(np.abs(z) < 2e-3, 0.5, z)
    a = act.forward(z)
    numeric = elementwise_fd(act.forward, z)
    assert rel_error(act.derivative(z, a), numeric) < FD_TOLERANCE
    # backward is the chain rule with an upstream gradient of ones
    assert rel_error(act.backward(np.ones_like(z), z, a), numeric) < FD_TOLERANCE


@given(z=arrays(np.float64, shapes, elements=values), seed=st.integers(0, 2**32 - 1))
def test_softmax_backward_is_the_jacobian_vector_product(z, seed):
    act = get_activation("softmax")
    upstream = np.random.default_rng(seed).normal(size=z.shape)
    a = act.forward(z)
    numeric = scalar_fd(lambda: float(np.sum(upstream * act.forward(z))), z)
    assert rel_error(act.backward(upstream, z, a), numeric) < FD_TOLERANCE or (
        np.abs(numeric).max() < 1e-9
    )


def test_formulas_at_known_points():
    # Values worked out by hand, not by the code under test.
    z = np.array([[-1.0, 0.0, 2.0]])
    assert np.allclose(get_activation("sigmoid").forward(z), 1 / (1 + np.exp([1.0, 0.0, -2.0])))
    assert np.allclose(get_activation("leaky_relu", alpha=0.1).forward(z), [[-0.1, 0.0, 2.0]])
    assert np.allclose(get_activation("elu", alpha=2.0).forward(z), [[2 * (np.e**-1 - 1), 0, 2]])
    assert np.allclose(get_activation("softplus").forward(z), np.log(1 + np.exp(z)))
    sm = get_activation("softmax").forward(z)
    assert np.allclose(sm, np.exp(z) / np.exp(z).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "softplus", "elu", "softmax", "tanh"])
def test_extreme_inputs_do_not_overflow_or_warn(name, dtype):
    act = get_activation(name, **ELEMENTWISE.get(name, {}))
    z = np.array([[-1e4, -800.0, -100.0, 0.0, 100.0, 800.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.forward(z)
        if act.elementwise:
            act.derivative(z, a)
    assert a.dtype == dtype
    assert np.all(np.isfinite(a))


def test_sigmoid_tails_are_accurate():
    z = np.array([-800.0, -745.0, -30.0, 30.0, 800.0])
    a = get_activation("sigmoid").forward(z)
    assert a[0] == 0.0 and a[-1] == 1.0
    assert np.isclose(a[1], np.exp(-745.0), rtol=0, atol=1e-323)
    assert np.isclose(a[2], np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-15)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="valid: elu, identity, leaky_relu"):
        get_activation("gelu")


def test_leaky_relu_alpha_must_be_named():
    with pytest.raises(ValueError, match="explicit alpha"):
        get_activation("leaky_relu")
    with pytest.raises(ValueError, match="unknown option"):
        get_activation("sigmoid", alpha=1.0)


def test_the_derived_table_holds_the_known_activations():
    # the table is derived from the registry: this pins that the derivation keeps every
    # activation the reference ships (and that only softmax is not elementwise)
    assert set(ELEMENTWISE) == {
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
    }
    assert set(ACTIVATIONS) - set(ELEMENTWISE) == {"softmax"}
