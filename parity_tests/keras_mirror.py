"""A reference_nn spec rebuilt in Keras 3 (TensorFlow backend): ``Dense`` layers, Keras'
own losses, ``tf.GradientTape`` and ``keras.optimizers``.  ``Dense.kernel`` has the
reference's ``(n_in, n_out)`` layout, so weights are copied as they are.

Constants: Keras casts a Python float hyperparameter through float32 (momentum 0.9 becomes
0.8999999761581421; Adam's betas in the bias-correction powers; ``l2``).  By default this
mirror passes NumPy float64 scalars, which Keras keeps exact, so it computes what the spec
says.  ``python_float_constants=True`` reproduces what a user who writes plain floats gets;
``parity_tests/test_known_differences.py`` shows both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import NetworkSpec

from . import frameworks
from .runs import Array, Params, RunResult, checkpoints
from .torch_mirror import NotMirrored


def supports(spec: NetworkSpec) -> str | None:
    """None if Keras can run ``spec``, else the reason it cannot."""
    from .optim_keras import unsupported_optimizer

    reason = unsupported_optimizer(spec.optimizer, spec.build_optimizer().options())
    if reason:
        return reason
    if spec.loss == "bce" and spec.loss_params.get("clip") == "torch":
        return "torch's log clamp at -100"
    if spec.loss == "bce" and spec.loss_params.get("reduction", "mean") != "mean":
        return "bce with a reduction other than mean"
    return None


def _activation(name: str, params: dict[str, float]) -> Any:
    act = frameworks.keras().activations
    table: dict[str, Any] = {
        "identity": "linear",
        "sigmoid": "sigmoid",
        "tanh": "tanh",
        "relu": "relu",
        # TF takes the slope as a float32 attribute: exact only for float32-representable alphas
        "leaky_relu": lambda x: act.leaky_relu(x, negative_slope=params["alpha"]),
        "elu": lambda x: act.elu(x, alpha=params.get("alpha", 1.0)),
        "softplus": "softplus",
        "softmax": "softmax",
    }
    return table[name]


def _loss_fn(spec: NetworkSpec, n_out: int) -> Callable[[Any, Any], Any]:
    losses = frameworks.keras().losses
    dt = {"dtype": spec.dtype}  # explicit: the loss casts predictions to its own dtype
    name = spec.loss
    if name == "mse":
        return losses.MeanSquaredError(**dt)
    if name in ("sse", "half_sse"):
        # Keras' "sum" reduction sums the per-sample means over the outputs: times K is the SSE
        total = losses.MeanSquaredError(reduction="sum", **dt)
        scale = n_out * (0.5 if name == "half_sse" else 1.0)
        return lambda y, p: total(y, p) * scale
    if name == "bce":
        return losses.BinaryCrossentropy(**dt)
    if name == "logistic":  # mean over outputs and batch, times K: sum over classes / m
        bce = losses.BinaryCrossentropy(**dt)
        return lambda y, p: bce(y, p) * n_out
    if name == "bce_logits":
        return losses.BinaryCrossentropy(from_logits=True, **dt)
    if name == "cce":
        return losses.CategoricalCrossentropy(**dt)
    if name == "cce_logits":
        return losses.CategoricalCrossentropy(from_logits=True, **dt)
    raise NotMirrored(f"loss {name}")


def _constant(value: float, exact: bool) -> float:
    return np.float64(value) if exact else float(value)


def _optimizer(spec: NetworkSpec, exact: bool) -> Any:
    from . import optim_keras

    return optim_keras.build(spec.optimizer, spec.build_optimizer().options(), exact=exact)


class KerasMirror:
    """The network, loss and optimizer of ``spec`` in Keras, starting from ``params``."""

    def __init__(self, spec: NetworkSpec, params: Params, *, python_float_constants: bool = False):
        reason = supports(spec)
        if reason:
            raise NotMirrored(f"Keras has no equivalent of {reason}")
        keras = frameworks.keras()
        self.tf = frameworks.tensorflow()
        self.spec = spec
        exact = not python_float_constants
        reg = spec.regularizer
        with frameworks.keras_floatx(spec.dtype):
            self.dense = []
            for lay in spec.layers:
                regularizer = None
                if reg and reg["convention"] == "keras":
                    regularizer = keras.regularizers.L2(reg["lam"])
                    if exact:  # the constructor applies float(); restore the exact value
                        regularizer.l2 = np.float64(reg["lam"])
                self.dense.append(
                    keras.layers.Dense(
                        lay.units,
                        activation=_activation(lay.activation, lay.activation_params),
                        use_bias=lay.use_bias,
                        kernel_regularizer=regularizer,
                        # explicit: after one float64 model, later layers no longer follow floatx
                        dtype=spec.dtype,
                    )
                )
            self.model = keras.Sequential(
                [keras.Input((spec.input_dim,), dtype=spec.dtype), *self.dense]
            )
            self.loss_fn = _loss_fn(spec, spec.layers[-1].units)
            self.optimizer = _optimizer(spec, exact)
        self.set_parameters(params)

    def set_parameters(self, params: Params) -> None:
        for i, layer in enumerate(self.dense):
            layer.kernel.assign(params[f"{i}.W"])
            if layer.use_bias:
                layer.bias.assign(params[f"{i}.b"])

    def named_variables(self) -> list[tuple[str, Any]]:
        """(reference name, Keras variable) for every parameter, in layer order."""
        out = []
        for i, layer in enumerate(self.dense):
            out.append((f"{i}.W", layer.kernel))
            if layer.use_bias:
                out.append((f"{i}.b", layer.bias))
        return out

    def parameters(self) -> Params:
        return {name: np.array(v.numpy()) for name, v in self.named_variables()}

    def output_and_loss(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Forward pass and loss (with the spec's L2 penalty); call inside a GradientTape."""
        out = self.model(X, training=True)
        loss = self.loss_fn(y, out)
        reg = self.spec.regularizer
        if reg and reg["convention"] == "keras":
            loss = loss + self.tf.add_n(self.model.losses)
        elif reg:  # course: lam / (2m) * sum(W^2), written out
            c = reg["lam"] / (2.0 * int(X.shape[0]))
            loss = loss + sum(c * self.tf.reduce_sum(d.kernel**2) for d in self.dense)
        return out, loss

    def _loss_and_grads(self, X: Any, y: Any) -> tuple[Any, Any, list[Any]]:
        variables = [v for _, v in self.named_variables()]
        with self.tf.GradientTape() as tape:
            out, loss = self.output_and_loss(X, y)
        return out, loss, tape.gradient(loss, variables)

    def run(self, X: Array, y: Array, batches: Sequence[NDArray[np.int64]]) -> RunResult:
        tf = self.tf
        Xt, yt = tf.constant(X), tf.constant(y)
        out, loss, grads = self._loss_and_grads(Xt, yt)
        names = [n for n, _ in self.named_variables()]
        result = RunResult(
            output=np.array(out.numpy()),
            loss=np.asarray(loss.numpy()),
            grads={n: np.array(g.numpy()) for n, g in zip(names, grads, strict=True)},
        )
        variables = [v for _, v in self.named_variables()]
        marks = checkpoints(len(batches))
        for step, idx in enumerate(batches, start=1):
            _, _, grads = self._loss_and_grads(tf.gather(Xt, idx), tf.gather(yt, idx))
            self.optimizer.apply_gradients(zip(grads, variables, strict=True))
            if step in marks:
                result.after[step] = self.parameters()
        return result


def run_keras(
    spec: NetworkSpec,
    params: Params,
    X: Array,
    y: Array,
    batches: Sequence[NDArray[np.int64]],
    **options: Any,
) -> RunResult:
    return KerasMirror(spec, params, **options).run(X, y, batches)
