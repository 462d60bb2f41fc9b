"""``refnn check-model``: a torch model and its faithful Keras port pass (the negative control);
a planted difference in the port is found, named, and located; usage errors exit 2."""

import textwrap

import numpy as np
import pytest

from experiments.cli import main
from parity_tests.tools.check_model import CheckModelError, check_models, convert

pytestmark = pytest.mark.frameworks

TORCH_FILE = """
import torch

def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2), torch.nn.Sigmoid()
    )
"""


def _net(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2), torch.nn.Sigmoid()
    )


def _port(keras, net, *, plant=None):
    """The Keras port of ``net`` (same weights); ``plant``: "weight" or "activation"."""
    act = "relu" if plant == "activation" else "tanh"
    # dtypes explicit: after any float64 model in this process, Keras' cached global dtype
    # policy stays float64 (loaders.keras_floatx restores floatx, not the policy)
    f32 = {"dtype": "float32"}
    port = keras.Sequential(
        [
            keras.Input((3,), **f32),
            keras.layers.Dense(5, activation=act, **f32),
            keras.layers.Dense(2, **f32),
            keras.layers.Activation("sigmoid", **f32),
        ]
    )
    for dense, linear in zip(port.layers[:2], [net[0], net[2]], strict=True):
        dense.kernel.assign(linear.weight.detach().numpy().T)
        dense.bias.assign(linear.bias.detach().numpy())
    if plant == "weight":
        w = port.layers[1].kernel.numpy()
        w[2, 1] *= 1.001
        port.layers[1].kernel.assign(w)
    return port


def test_a_faithful_port_passes_and_the_models_are_left_unchanged(torch, keras):
    net = _net(torch)
    port = _port(keras, net)
    before = [p.detach().numpy().copy() for p in net.parameters()]
    checks = check_models([("net", net), ("port", port)])
    assert [c.passed for c in checks] == [True, True]
    quantities = {c.quantity for c in checks[1].comparisons}
    assert quantities == {"forward", "loss", "grads", "step_1"}
    after = [p.detach().numpy() for p in net.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_a_planted_weight_difference_in_the_port_is_found_and_located(torch, keras):
    net = _net(torch)
    checks = check_models([("net", net), ("port", _port(keras, net, plant="weight"))])
    assert checks[0].passed and not checks[1].passed
    failing = {(c.quantity, c.tensor) for c in checks[1].comparisons if not c.passed}
    assert ("forward", "output") in failing and ("grads", "1.W") in failing
    assert checks[1].divergence.startswith("first divergence at step 1, layer 1 (forward)")


def test_a_planted_activation_difference_is_an_architecture_difference(torch, keras):
    net = _net(torch)
    checks = check_models([("net", net), ("port", _port(keras, net, plant="activation"))])
    assert not checks[1].passed
    assert any("layer 0" in p and "relu" in p for p in checks[1].problems)
    assert checks[1].divergence.startswith("first divergence at step 1, layer 0 (forward)")


def test_the_command_on_a_torch_file_and_a_saved_keras_port(torch, keras, tmp_path, capsys):
    (tmp_path / "mynet.py").write_text(textwrap.dedent(TORCH_FILE))
    net = _net(torch)
    _port(keras, net).save(tmp_path / "good.keras")
    _port(keras, net, plant="weight").save(tmp_path / "bad.keras")
    torch_path = f"{tmp_path}/mynet.py:net"

    assert main(["check-model", torch_path, str(tmp_path / "good.keras")]) == 0
    assert "DIFFERS" not in capsys.readouterr().out
    assert main(["check-model", torch_path, str(tmp_path / "bad.keras")]) == 1
    out = capsys.readouterr().out
    assert "bad.keras (keras) vs the NumPy reference: DIFFERS" in out
    assert "first divergence at step 1, layer 1 (forward)" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/absent.keras"], "no such file"),
        (["no_colon_here"], "module:attr"),
        (["{tmp}/mynet.py:nothing"], "has no attribute 'nothing'"),
        (["{tmp}/mynet.py:net", "--data", "{tmp}/absent.npz"], "no such file"),
        (["{tmp}/mynet.py:net", "--loss", "hinge"], "unknown loss"),
    ],
)
def test_usage_errors_are_one_line_exit_2(torch, tmp_path, capsys, args, message):
    (tmp_path / "mynet.py").write_text(textwrap.dedent(TORCH_FILE))
    assert main(["check-model", *[a.format(tmp=tmp_path) for a in args]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_data_of_the_wrong_shape_is_refused(torch):
    with pytest.raises(CheckModelError, match="the model takes"):
        check_models([("net", _net(torch))], np.zeros((4, 2)), np.zeros((4, 2)))


# ---------------------------------------------------------------- cross-entropy outputs
def _softmax_pair(keras, out="softmax", units=3, conv=False):
    """A Keras model with a softmax (or sigmoid) output and a copy with one weight 0.1 off."""
    f32 = {"dtype": "float32"}
    keras.utils.set_random_seed(0)
    if conv:  # the keras.io MNIST convnet's kinds, small
        layers = [
            keras.Input((8, 8, 1), **f32),
            keras.layers.Conv2D(4, 3, activation="relu", **f32),
            keras.layers.MaxPooling2D(2, **f32),
            keras.layers.Flatten(**f32),
            keras.layers.Dense(units, activation=out, **f32),
        ]
    else:
        layers = [keras.Input((4,), **f32), keras.layers.Dense(units, activation=out, **f32)]
    model = keras.Sequential(layers)
    other = keras.models.clone_model(model)
    other.set_weights(model.get_weights())
    w = other.layers[0].kernel.numpy()
    w.flat[0] += 0.1
    other.layers[0].kernel.assign(w)
    return model, other


@pytest.mark.parametrize(
    ("out", "loss", "units", "conv"),
    [("softmax", "cce", 3, False), ("sigmoid", "bce", 2, False), ("softmax", "cce", 10, True)],
    ids=["softmax-cce", "sigmoid-bce", "convnet-softmax-cce"],
)
def test_a_differing_model_whose_loss_reads_the_logits_is_reported(
    keras, tmp_path, capsys, out, loss, units, conv
):
    # Keras on TensorFlow computes these losses from the logits behind the output layer, so
    # its output has no gradient: the first-divergence trace must still report
    model, other = _softmax_pair(keras, out, units, conv)
    model.save(tmp_path / "a.keras")
    other.save(tmp_path / "b.keras")
    args = ["check-model", str(tmp_path / "a.keras"), str(tmp_path / "b.keras"), "--loss", loss]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err == ""
    key = "convention" if loss == "cce" else "clip"
    assert f'"loss_options": {{"{key}": "logits"}}' in captured.out
    assert "a.keras (keras) vs the NumPy reference: ok" in captured.out
    assert "b.keras (keras) vs the NumPy reference: DIFFERS" in captured.out
    assert "first divergence at step 1, layer 0 (forward)" in captured.out


def _saturated_batch(model, n=6, scale=300.0):
    """Inputs that make ``model`` confidently wrong: each row's target is its least likely
    class, whose float32 probability rounds to 0."""
    rng = np.random.default_rng(1)
    X = (rng.random((n, *model.inputs[0].shape[1:])) * scale).astype("float32")
    p = np.asarray(model(X))
    return X, np.eye(p.shape[1], dtype="float32")[np.argmin(p, axis=1)], p


def test_a_saturated_batch_agrees_with_keras_under_the_logits_convention(keras):
    model, _ = _softmax_pair(keras, conv=True, units=10)
    X, y, p = _saturated_batch(model)
    assert (p * y).sum(axis=1).min() == 0.0  # saturated: the true class's probability is 0
    keras_loss = float(keras.losses.CategoricalCrossentropy()(y, model(X)))
    (check,) = check_models([("model", model)], X, y, loss="cce")
    assert check.passed, [c.message() for c in check.comparisons if not c.passed]
    # negative control: the clipping convention caps each row's loss at -log(1e-7) = 16.1
    (clipped,) = check_models(
        [("model", model)], X, y, loss="cce", loss_options={"convention": "keras"}
    )
    failing = {c.quantity for c in clipped.comparisons if not c.passed}
    assert {"loss", "grads"} <= failing and "forward" not in failing
    assert keras_loss > 20
    assert "the loss reads the logits behind this layer" in clipped.divergence


def test_the_convention_follows_the_framework(torch, keras):
    model, _ = _softmax_pair(keras)
    assert convert(model, loss="cce").spec.loss_options == {"convention": "logits"}
    assert convert(model, loss="mse").spec.loss_options == {}
    given = convert(model, loss="cce", loss_options={"convention": "none"})
    assert given.spec.loss_options == {"convention": "none"}
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid())
    assert convert(net, loss="bce").spec.loss_options == {"clip": "torch"}
    assert (
        convert(
            torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(-1)), loss="cce"
        ).spec.loss_options
        == {}
    )


def test_the_fixture_reports_a_differing_softmax_model(keras):
    from parity_tests.tools.plugin import check_parity

    model, other = _softmax_pair(keras)
    check_parity(model, loss="cce")  # the negative control: itself passes
    (check,) = check_parity(model, loss="cce", loss_options={"convention": "none"})
    assert check.passed  # the plain formula: equal to the logits' on unsaturated outputs
    with pytest.raises(AssertionError, match="first divergence at step 1, layer 0"):
        check_parity(model, other, loss="cce")
