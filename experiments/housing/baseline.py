"""The article's Keras baseline: Keras defaults (RMSprop, batch 32, Glorot initialisation),
run with ``model.fit`` from a given initialisation and batch order, and reproduced by the
reference with the same initialisation and order.

Keras defaults: ``RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-7)``, ``Dense`` kernels
Glorot-uniform and zero biases, ``fit(batch_size=32)``.  Keras' RMSprop divides by
``sqrt(v + eps)``; torch's by ``sqrt(v) + eps``.  The reference's ``convention="keras"``
RMSprop reproduces Keras to rounding; its ``convention="torch"`` one is also run, to show how
far the other epsilon placement lands.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from parity_tests.harness import loaders
from reference_nn import LayerSpec, NetworkSpec, epoch_orders, fit
from reference_nn.metrics import mean_squared_error, r2_score

from .protocol import HousingProblem
from .run import max_relative_difference

BATCH = 32


def baseline_spec(convention: str, dtype: str) -> NetworkSpec:
    return NetworkSpec(
        input_shape=2,
        layers=(LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(1, "sigmoid")),
        loss="mse",
        optimizer="rmsprop",
        optimizer_options={"lr": 0.001, "rho": 0.9, "eps": 1e-7, "convention": convention},
        dtype=dtype,
        weight_init="glorot_uniform",
        bias_init="zeros",
    )


def _keras_fit(
    initial: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    orders: np.ndarray,
    *,
    compiled: bool = True,
) -> dict[str, np.ndarray]:
    """``model.fit(batch_size=32)`` epoch by epoch in our batch order.  ``compiled``: the
    fit loop runs as XLA (``jit_compile=True``) with a whole epoch per execution
    (``steps_per_execution``), which ``test_housing.py`` shows gives the numbers of plain
    ``fit`` (to rounding) in a fraction of the time; and all epochs are one ``fit`` call over
    a dataset of every epoch's batches in order (each epoch's last, shorter batch included, so
    execution ``k`` is epoch ``k``), since each ``fit`` call has a cost of its own before any
    step.  Measured 2026-12-02: the same parameters bit for bit as one ``fit`` per epoch."""
    keras = loaders.keras()
    dtype = str(X.dtype)
    with loaders.keras_floatx(dtype):
        model = keras.Sequential(
            [
                keras.Input((X.shape[1],), dtype=dtype),
                keras.layers.Dense(3, "sigmoid", dtype=dtype),
                keras.layers.Dense(1, "sigmoid", dtype=dtype),
            ]
        )
        steps = -(-X.shape[0] // BATCH)
        model.compile(
            optimizer=keras.optimizers.RMSprop(),
            loss="mse",
            jit_compile=compiled,
            steps_per_execution=steps if compiled else 1,
        )
        hidden, output = model.layers
        for var, name in (
            (hidden.kernel, "0.W"),
            (hidden.bias, "0.b"),
            (output.kernel, "1.W"),
            (output.bias, "1.b"),
        ):
            var.assign(initial[name])
        # fit inside floatx too: the compiled loss is built at the first fit, in floatx, and a
        # float32 loss would round every gradient to float32 (measured: 1.6e-8 after 3 epochs)
        if compiled:
            tf = loaders.tensorflow()
            epochs = tf.data.Dataset.from_tensor_slices((X[orders], y[orders]))
            batches = epochs.flat_map(
                lambda Xe, ye: tf.data.Dataset.from_tensor_slices((Xe, ye)).batch(BATCH)
            )
            batches = batches.apply(tf.data.experimental.assert_cardinality(len(orders) * steps))
            model.fit(batches, epochs=1, shuffle=False, verbose=0)
        else:
            for order in orders:  # the same batches as the reference: our order, no shuffling
                model.fit(X[order], y[order], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return {
        "0.W": hidden.kernel.numpy(),
        "0.b": hidden.bias.numpy(),
        "1.W": output.kernel.numpy(),
        "1.b": output.bias.numpy(),
    }


def _reference_fit(
    spec: NetworkSpec,
    initial: dict[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    orders: np.ndarray,
) -> dict[str, np.ndarray]:
    net = spec.build_network()
    net.set_parameters(initial)
    fit(net, spec.build_optimizer(), X, y, epochs=len(orders), batch_size=BATCH, orders=orders)
    return net.get_parameters()


def run_baseline(problem: HousingProblem, *, epochs: int, seed: int) -> dict[str, Any]:
    s, dtype = problem.split, problem.spec.dtype
    keras_spec = baseline_spec("keras", dtype)
    initial = keras_spec.init_parameters(seed)
    orders = epoch_orders(len(s.X_train), epochs, "shuffled", seed=seed)
    loaders.keras()  # imported before the clock starts: "keras fit" is the fit alone
    start = time.perf_counter()
    params = {"keras": _keras_fit(initial, s.X_train, s.y_train, orders)}
    keras_seconds = time.perf_counter() - start
    for convention in ("keras", "torch"):
        params[f"numpy_{convention}_rmsprop"] = _reference_fit(
            baseline_spec(convention, dtype), initial, s.X_train, s.y_train, orders
        )
    net = keras_spec.build_network()
    metrics = {}
    for name, p in params.items():
        net.set_parameters(p)
        y_hat = net.predict(s.X_test)
        metrics[name] = {
            "test_mse": mean_squared_error(s.y_test, y_hat),
            "test_r2": r2_score(s.y_test, y_hat),
        }
    same = max_relative_difference(params["keras"], params["numpy_keras_rmsprop"])
    other = max_relative_difference(params["keras"], params["numpy_torch_rmsprop"])
    summary = (
        f"Keras defaults, {epochs} epochs: test MSE {metrics['keras']['test_mse']:.6f}, "
        f"R^2 {metrics['keras']['test_r2']:.4f} (keras fit {keras_seconds:.1f} s).  "
        f"The reference's "
        f"Keras-formulation RMSprop ends within {same:.2e} (largest relative parameter "
        f"difference); its torch-formulation RMSprop (eps outside the root) differs by "
        f"{other:.2e}, test MSE {metrics['numpy_torch_rmsprop']['test_mse']:.6f}."
    )
    return {
        "metrics": metrics,
        "keras_vs_reference_rel": same,
        "keras_vs_torch_formulation_rel": other,
        "keras_seconds": keras_seconds,
        "summary": summary,
    }
