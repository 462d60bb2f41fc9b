"""No silent dtype change for integer data, and no spec larger than memory reaching NumPy's
MemoryError: each refused in one line that says what to do, naming the array or the layer."""

from __future__ import annotations

import numpy as np
import pytest

import reference_nn._checks as checks
from reference_nn import LayerSpec, NetworkSpec, fit
from reference_nn._checks import DTypeError
from reference_nn.options import SpecError

DENSE = NetworkSpec(input_shape=(2,), layers=(LayerSpec.dense(1),), optimizer_options={"lr": 0.1})
EMBED = NetworkSpec(
    input_shape=(3,),
    layers=(
        LayerSpec("embedding", {"input_dim": 5, "output_dim": 2}),
        LayerSpec("flatten"),
        LayerSpec.dense(1),
    ),
    optimizer_options={"lr": 0.1},
)
X_INT, Y = np.array([[0, 1], [1, 0]]), np.array([[0.0], [1.0]])


def _net(spec: NetworkSpec = DENSE):
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(0))
    return net


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda n: n.forward(X_INT), "X has integer dtype int64 but the network computes in "),
        (lambda n: n.predict(X_INT.astype(np.uint8)), "X has integer dtype uint8"),
        (lambda n: n.forward(X_INT.astype(bool)), "X has boolean dtype bool"),
        (lambda n: n.loss_value(X_INT * 1.0, Y.astype(np.int32)), "y has integer dtype int32"),
        (lambda n: fit(n, DENSE.build_optimizer(), X_INT, Y), "X has integer dtype int64"),
        (lambda n: fit(n, DENSE.build_optimizer(), X_INT * 1.0, np.array([[0], [1]])), "y has"),
        (lambda n: n.set_parameters({"0.W": np.ones((2, 1), int), "0.b": [0.0]}), "0.W has int"),
    ],
)
def test_integer_and_boolean_arrays_are_refused_not_cast(call, message):
    with pytest.raises(DTypeError, match=r"convert it explicitly with .*astype\(np.float64\)") as e:
        call(_net())
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_cast_the_message_asks_for_works_and_lists_are_read_as_floats():
    net = _net()
    by_cast = net.forward(X_INT.astype(np.float64))
    np.testing.assert_array_equal(net.forward([[0, 1], [1, 0]]), by_cast)  # a list: no dtype
    f32 = DENSE.with_changes(dtype="float32").build_network()
    with pytest.raises(DTypeError, match=r"astype\(np.float32\)"):
        f32.forward(X_INT)
    assert f32.forward(X_INT.astype(np.float32)).dtype == np.float32


def test_an_embedding_takes_integer_indices_in_forward_and_in_fit():
    X = np.array([[0, 1, 2], [3, 4, 0]])
    net = _net(EMBED)
    before = float(net.loss_value(X, Y))
    history = fit(net, EMBED.build_optimizer(), X, Y, epochs=3)
    assert history.loss[0] == pytest.approx(before) and history.loss[-1] < before
    with pytest.raises(DTypeError, match="takes integer indices"):  # negative control
        fit(_net(EMBED), EMBED.build_optimizer(), X.astype(np.float64), Y)


def test_a_spec_larger_than_memory_names_the_layer_and_the_gib():
    with pytest.raises(SpecError) as e:
        NetworkSpec(input_shape=(100_000,), layers=(LayerSpec.dense(1_000_000),))
    message = str(e.value)
    assert message.startswith("layers[0] (dense): ") and "745.1 GiB" in message
    assert "make the layer smaller" in message and "\n" not in message


def test_the_layers_are_counted_together(monkeypatch):
    # a 1 GiB machine; the layers' zeros are mapped by NumPy without touching memory
    monkeypatch.setattr(checks, "_memory_bytes", lambda: 2**30)
    small = (LayerSpec.dense(8000),)  # 80,008,000 parameters: 0.6 GiB
    NetworkSpec(input_shape=(10_000,), layers=small)  # fits: no error (negative control)
    with pytest.raises(SpecError) as e:
        NetworkSpec(input_shape=(10_000,), layers=(*small, LayerSpec.dense(10_000)))
    assert str(e.value) == (
        "layers[1] (dense): 80,010,000 parameters (160,018,000 with the layers before it) "
        "would need 1.2 GiB, more than this machine's 1.0 GiB of memory; make the layer smaller"
    )
