"""The known layout and convention differences of the layer kinds, each as a named test: it
shows the difference between the frameworks (or between a framework's native use and the
reference), and shows how the reference (or its adapter) matches each side.

weight layouts (HWIO vs OIHW) . 'same' padding asymmetry . flatten order (NHWC vs NCHW) .
batchnorm momentum, epsilon and running variance . layernorm epsilon."""

import numpy as np
import pytest

from parity_tests.cases.matrix import Case
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.parity import compare_case, failing
from parity_tests.harness.tolerances import tolerance
from reference_nn import LayerSpec, NetworkSpec
from reference_nn.layers import BatchNorm, Conv2D, Flatten, LayerNorm

pytestmark = pytest.mark.frameworks

RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 6, 6, 2))
TOL = tolerance("float64", "forward")


def _conv(**options):
    layer = Conv2D((6, 6, 2), filters=4, **options)
    layer.params["W"][...] = np.random.default_rng(1).normal(size=layer.params["W"].shape)
    layer.params["b"][...] = np.random.default_rng(2).normal(size=4)
    return layer


def _err(a, b):
    return tensor_error(np.asarray(a, np.float64), np.asarray(b, np.float64)).normwise_rel


# ---------------------------------------------------------------- weight layout
def test_conv_kernel_layout_is_hwio_in_keras_and_oihw_in_torch(torch, keras):
    from parity_tests.frameworks.torch.layers import _kernel_from_torch, _kernel_to_torch

    ref = _conv(kernel_size=[3, 2])
    W, b = ref.params["W"], ref.params["b"]
    assert W.shape == (3, 2, 2, 4)  # (kh, kw, C, F)
    k = keras.layers.Conv2D(4, (3, 2), dtype="float64")
    k.build((None, 6, 6, 2))
    assert tuple(k.kernel.shape) == W.shape  # Keras: the same HWIO layout, copied as is
    k.kernel.assign(W)
    k.bias.assign(b)
    assert _err(k(X).numpy(), ref.forward(X)) < TOL
    t = torch.nn.Conv2d(2, 4, (3, 2), dtype=torch.float64)
    assert tuple(t.weight.shape) == (4, 2, 3, 2)  # torch: (F, C, kh, kw)
    with torch.no_grad():
        t.bias.copy_(torch.from_numpy(b))
        t.weight.copy_(torch.from_numpy(W.reshape(4, 2, 3, 2)))  # same numbers, wrong layout
        wrong = t(torch.from_numpy(X).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
        t.weight.copy_(torch.from_numpy(_kernel_to_torch("W", W)))  # HWIO -> OIHW
        right = t(torch.from_numpy(X).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert _err(wrong, ref.forward(X)) > 0.1
    assert _err(right, ref.forward(X)) < TOL
    np.testing.assert_array_equal(_kernel_from_torch("W", _kernel_to_torch("W", W)), W)


# ---------------------------------------------------------------- 'same' padding
def test_same_padding_puts_the_extra_row_bottom_right_as_tensorflow(torch, keras):
    """6x6 input, kernel 3, stride 2, 'same': TensorFlow pads 0 rows on top and 1 at the
    bottom.  torch has no 'same' for stride 2; its symmetric padding=1 gives the same output
    size but shifted windows.  The reference matches Keras, and torch with explicit F.pad."""
    ref = _conv(kernel_size=3, strides=2, padding="same")
    assert ref.windows.pads == ((0, 1), (0, 1))
    want = ref.forward(X)
    k = keras.layers.Conv2D(4, 3, strides=2, padding="same", dtype="float64")
    k.build((None, 6, 6, 2))
    k.kernel.assign(ref.params["W"])
    k.bias.assign(ref.params["b"])
    assert _err(k(X).numpy(), want) < TOL
    from parity_tests.frameworks.torch.layers import _kernel_to_torch

    F = torch.nn.functional
    x = torch.from_numpy(X).permute(0, 3, 1, 2)
    w = torch.from_numpy(_kernel_to_torch("W", ref.params["W"]))
    bias = torch.from_numpy(ref.params["b"])
    symmetric = F.conv2d(x, w, bias, stride=2, padding=1).permute(0, 2, 3, 1).numpy()
    explicit = F.conv2d(F.pad(x, (0, 1, 0, 1)), w, bias, stride=2).permute(0, 2, 3, 1).numpy()
    assert symmetric.shape == want.shape and _err(symmetric, want) > 0.1
    assert _err(explicit, want) < TOL
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv2d(x, w, bias, stride=2, padding="same")


# ---------------------------------------------------------------- flatten order
def test_flatten_order_differs_between_nhwc_and_nchw(torch):
    """The reference flattens (N, H, W, C) with C fastest; torch's nn.Flatten on the NCHW
    tensor puts W fastest.  The dense layer after it would see permuted features, so the torch
    adapter flattens channels-last (its spatial modules hand back NHWC)."""
    ref = Flatten((6, 6, 2)).forward(X)
    nchw = torch.from_numpy(X).permute(0, 3, 1, 2)
    native = torch.nn.Flatten()(nchw).numpy()
    adapter = torch.nn.Flatten()(nchw.permute(0, 2, 3, 1)).numpy()  # back to NHWC first
    assert sorted(native[0]) == sorted(ref[0])  # the same numbers ...
    assert _err(native, ref) > 0.1  # ... in another order
    np.testing.assert_array_equal(adapter, ref)


def test_flatten_order_matters_to_the_parity_case(torch, monkeypatch):
    """The adapter with torch's native NCHW flatten fails the conv -> flatten -> dense case,
    naming the output and the dense weights' gradient."""
    from parity_tests.cases import matrix as cases
    from parity_tests.frameworks.torch import layers as torch_layers

    def nchw_flatten(torch_, layer, dtype):
        class NCHWFlatten(torch_.nn.Module):
            def forward(self, x):
                return x.movedim(-1, 1).flatten(1)

        return [NCHWFlatten()]

    case = cases.layer_case("flatten-after-conv2d", "float64")
    assert failing(compare_case(case, "torch")) == set()
    monkeypatch.setitem(
        torch_layers.LAYERS, "flatten", torch_layers.TorchLayer(nchw_flatten, *_same_pair())
    )
    bad = failing(compare_case(case, "torch"))
    assert ("forward", "output") in bad and ("grads", "2.W") in bad


def _same_pair():
    from parity_tests.frameworks.torch.layers import _same

    return _same, _same


# ---------------------------------------------------------------- batchnorm conventions
def _bn_case(convention, epsilon, momentum=None):
    options = {"convention": convention, "epsilon": epsilon}
    if momentum is not None:
        options["momentum"] = momentum
    spec = NetworkSpec(
        (4,),
        (LayerSpec.dense(3, "tanh"), LayerSpec("batchnorm", options), LayerSpec.dense(2)),
        optimizer="sgd",
        optimizer_options={"lr": 0.1},
    )
    return Case(f"batchnorm-{convention}-{epsilon}", spec, seed=4, n_samples=6, batch_size=3)


def test_batchnorm_framework_defaults_differ_and_each_convention_matches_its_framework(
    torch, keras
):
    """Defaults: torch momentum 0.1 of the new batch, eps 1e-5, unbiased running variance;
    Keras momentum 0.99 of the old value, eps 1e-3, biased.  One training call on the same
    batch gives different running statistics and outputs; the reference's torch convention
    (eps 1e-5) matches torch's default layer, its Keras convention (eps 1e-3) Keras'."""
    x = RNG.normal(size=(5, 3))
    t = torch.nn.BatchNorm1d(3, dtype=torch.float64)  # defaults
    k = keras.layers.BatchNormalization(dtype="float64")  # defaults
    t_out = t(torch.from_numpy(x)).detach().numpy()
    k_out = k(x, training=True).numpy()
    t_state = (t.running_mean.numpy(), t.running_var.numpy())
    k_state = (k.moving_mean.numpy(), k.moving_variance.numpy())
    assert t.eps == 1e-5 and k.epsilon == 1e-3 and t.momentum == 0.1 and k.momentum == 0.99
    assert _err(t_out, k_out) > 1e-4  # epsilon alone
    assert _err(t_state[1], k_state[1]) > 1e-3  # momentum and bias of the variance
    for convention, eps, out, (mean, var) in (
        ("torch", 1e-5, t_out, t_state),
        ("keras", 1e-3, k_out, k_state),
    ):
        ref = BatchNorm((3,), convention=convention, epsilon=eps)
        assert _err(ref.forward(x), out) < TOL
        assert _err(ref.state["running_mean"], mean) < TOL
        assert _err(ref.state["running_var"], var) < TOL


def test_running_variance_bias_is_what_separates_the_conventions(torch):
    """With Keras' momentum translated (0.9 of the old value = 0.1 of the new batch) the running
    means agree and only the variance's M / (M - 1) is left: the torch adapter refuses the
    Keras convention for that reason, and the reference in the wrong convention fails."""
    torch_case = _bn_case("torch", 1e-5)
    keras_spec = _bn_case("keras", 1e-5, momentum=0.9).spec
    assert failing(compare_case(torch_case, "torch")) == set()
    bad = failing(compare_case(torch_case, "torch", reference_spec=keras_spec))
    assert ("step_1", "1.running_var") in bad and ("step_1", "1.running_mean") not in bad
    assert "Keras' running statistics" in _bn_case("keras", 1e-3).refusal_by_framework()["torch"]


def test_keras_own_layer_is_the_keras_convention_and_torch_runs_through_a_subclass(keras):
    """Keras' BatchNormalization computes the Keras convention (the reference in the torch
    convention fails against it on both running statistics).  A torch-convention network runs
    in Keras through the adapter's subclass, which keeps Keras' normalisation and gradient and
    replaces only the running-statistics update."""
    from parity_tests.harness import registry

    keras_case = _bn_case("keras", 1e-3)
    assert failing(compare_case(keras_case, "keras")) == set()
    bad = failing(compare_case(keras_case, "keras", reference_spec=_bn_case("torch", 1e-3).spec))
    assert ("step_1", "1.running_var") in bad and ("step_1", "1.running_mean") in bad
    torch_case = _bn_case("torch", 1e-5)
    assert torch_case.refusal_by_framework()["keras"] is None
    assert failing(compare_case(torch_case, "keras")) == set()
    params = keras_case.materialize()[2]
    own = registry.get("keras").build(keras_case.spec, params).layers[1]
    sub = registry.get("keras").build(torch_case.spec, params).layers[1]
    assert type(own) is keras.layers.BatchNormalization
    assert type(sub).__name__ == "TorchRunningStatistics" and sub.torch_momentum == 0.1


# ---------------------------------------------------------------- layernorm epsilon
def test_layernorm_epsilon_defaults_differ(torch, keras):
    """torch's nn.LayerNorm uses eps 1e-5, Keras' LayerNormalization 1e-3: the reference with
    each epsilon matches each framework's default layer; the two differ."""
    x = RNG.normal(scale=0.05, size=(4, 5))  # small variance: epsilon matters more
    t = torch.nn.LayerNorm(5, dtype=torch.float64)(torch.from_numpy(x)).detach().numpy()
    k = keras.layers.LayerNormalization(dtype="float64")(x).numpy()
    assert _err(t, k) > 1e-2
    assert _err(LayerNorm((5,), epsilon=1e-5).forward(x), t) < TOL
    assert _err(LayerNorm((5,), epsilon=1e-3).forward(x), k) < TOL
