"""The Keras 3 adapter (TensorFlow backend): a spec rebuilt with Keras layers, Keras' own
losses, ``tf.GradientTape`` and ``keras.optimizers``.

Layouts: ``Dense.kernel`` has the reference's ``(n_in, n_out)`` layout, so dense weights are
copied as they are; each layer kind's translation is one entry of ``LAYERS`` in
:mod:`.keras_layers`.

Constants: Keras casts a Python float hyperparameter through float32 (momentum 0.9 becomes
0.8999999761581421; Adam's betas in the bias-correction powers; ``l2``).  By default this
adapter passes NumPy float64 scalars, which Keras keeps exact, so it computes what the spec
says.  ``python_float_constants=True`` reproduces what a user who writes plain floats gets;
``parity_tests/test_known_differences.py`` shows both.

``train`` runs its steps in one ``tf.function``: ``loop="xla"`` (the default,
``jit_compile=True``), ``"graph"`` (a plain TF graph: bit-identical to eager Keras) or
``"eager"`` (a Python loop; ~1 ms a step).  The batches arrive gathered, ``(steps, batch, ...)``,
and the loop slices step ``k`` with ``tf.slice`` at the loop counter: reading row indices
from an index tensor made XLA recompile for every new index array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reference_nn import NetworkSpec

from . import frameworks
from .adapter import Adapter, Array, Batches, Model, NotMirrored, Params
from .keras_layers import LAYERS

LOOPS = ("xla", "graph", "eager")


def supports(spec: NetworkSpec) -> str | None:
    """None if Keras can run ``spec``, else the reason it cannot."""
    from .optim_keras import unsupported_optimizer

    reason = unsupported_optimizer(spec.optimizer, spec.build_optimizer().options())
    if reason:
        return reason
    if spec.loss == "bce" and spec.loss_options.get("clip") == "torch":
        return "torch's log clamp at -100"
    if spec.loss == "bce" and spec.loss_options.get("reduction", "mean") != "mean":
        return "bce with a reduction other than mean"
    return None


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


def _optimizer(spec: NetworkSpec, exact: bool) -> Any:
    from . import optim_keras

    return optim_keras.build(spec.optimizer, spec.build_optimizer().options(), exact=exact)


class KerasModel(Model):
    """The network, loss and optimizer of ``spec`` in Keras, starting from ``params``."""

    def __init__(
        self,
        spec: NetworkSpec,
        params: Params,
        *,
        python_float_constants: bool = False,
        loop: str = "xla",
    ) -> None:
        if loop not in LOOPS:
            raise ValueError(f"unknown Keras loop {loop!r}; valid: {', '.join(LOOPS)}")
        keras = frameworks.keras()
        self.tf = frameworks.tensorflow()
        self.spec, self.loop = spec, loop
        exact = not python_float_constants
        reg = spec.regularizer
        with frameworks.keras_floatx(spec.dtype):
            self.layers = []
            self.slots: list[tuple[str, Any, str]] = []  # (reference name, layer, attribute)
            for i, (lay, ref) in enumerate(zip(spec.layers, spec.build_layers(), strict=True)):
                regularizer = None
                if reg and reg["convention"] == "keras" and ref.weight_names:
                    regularizer = keras.regularizers.L2(reg["lam"])
                    if exact:  # the constructor applies float(); restore the exact value
                        regularizer.l2 = np.float64(reg["lam"])
                layer = LAYERS[lay.kind].build(keras, dict(ref.options), regularizer, spec.dtype)
                self.layers.append(layer)
                self.slots += [(f"{i}.{n}", layer, LAYERS[lay.kind].names[n]) for n in ref.params]
            self.model = keras.Sequential(
                [keras.Input(spec.input_shape, dtype=spec.dtype), *self.layers]
            )
            self.loss_fn = _loss_fn(spec, int(np.prod(spec.output_shape)))
            self.optimizer = _optimizer(spec, exact)
        self.weights = set(spec.build_network().weight_names())  # what L2 covers
        self.set_parameters(params)
        self.variables = [v for _, v in self.named_variables()]
        self._compiled: Any = None

    # ------------------------------------------------------------------ parameters
    def named_variables(self) -> list[tuple[str, Any]]:
        """(reference name, Keras variable) for every parameter, in layer order."""
        return [(name, getattr(layer, attr)) for name, layer, attr in self.slots]

    def set_parameters(self, params: Params) -> None:
        for name, variable in self.named_variables():
            variable.assign(params[name])

    def parameters(self) -> Params:
        return {name: np.array(v.numpy()) for name, v in self.named_variables()}

    # ------------------------------------------------------------------ passes
    def output_and_loss(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Forward pass and loss (with the spec's L2 penalty); call inside a GradientTape."""
        out = self.model(X, training=True)
        loss = self.loss_fn(y, out)
        reg = self.spec.regularizer
        if reg and reg["convention"] == "keras":
            loss = loss + self.tf.add_n(self.model.losses)
        elif reg:  # course: lam / (2m) * sum(W^2), written out
            c = reg["lam"] / (2.0 * int(X.shape[0]))
            kernels = [v for name, v in self.named_variables() if name in self.weights]
            loss = loss + sum(c * self.tf.reduce_sum(k**2) for k in kernels)
        return out, loss

    def loss_and_grads(self, X: Any, y: Any) -> tuple[Any, Any, list[Any]]:
        with self.tf.GradientTape() as tape:
            out, loss = self.output_and_loss(X, y)
        return out, loss, tape.gradient(loss, self.variables)

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        out, loss, grads = self.loss_and_grads(self.tf.constant(X), self.tf.constant(y))
        names = [n for n, _ in self.named_variables()]
        return (
            np.array(out.numpy()),
            np.asarray(loss.numpy()),
            {n: np.array(g.numpy()) for n, g in zip(names, grads, strict=True)},
        )

    def step(self, X: Array, y: Array) -> float:
        _, loss, grads = self.loss_and_grads(self.tf.constant(X), self.tf.constant(y))
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
        return float(loss.numpy())

    # ------------------------------------------------------------------ compiled steps
    def _steps(self, Xb: Any, Yb: Any) -> Any:
        """One optimizer step per leading index of ``Xb``; the loss before each."""
        tf = self.tf
        n = tf.shape(Xb)[0]
        x_size = [1, *Xb.shape[1:]]
        y_size = [1, *Yb.shape[1:]]
        x_zeros = [0] * (len(Xb.shape) - 1)
        y_zeros = [0] * (len(Yb.shape) - 1)
        losses = tf.TensorArray(Xb.dtype, size=n)
        for k in tf.range(n):
            x = tf.squeeze(tf.slice(Xb, [k, *x_zeros], x_size), 0)
            t = tf.squeeze(tf.slice(Yb, [k, *y_zeros], y_size), 0)
            _, loss, grads = self.loss_and_grads(x, t)
            self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
            losses = losses.write(k, loss)
        return losses.stack()

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        if self.loop == "eager" or len(batches) == 0:
            return super().train(X, y, batches)
        if self._compiled is None:
            # The optimizer's own variables (iterations, learning rate, moments) must exist
            # before tracing: a tf.function may create variables only on its first trace,
            # and XLA not at all.
            self.optimizer.build(self.variables)
            self._compiled = self.tf.function(self._steps, jit_compile=self.loop == "xla")
        Xb, Yb = self.tf.constant(X[batches]), self.tf.constant(y[batches])
        return np.array(self._compiled(Xb, Yb).numpy())

    def prepare(self, X: Array, y: Array, batches: Batches) -> None:
        """Compile by running the steps, then restore every variable (the model's and the
        optimizer's): XLA compiles on the first call, for these shapes."""
        if self.loop == "eager" or len(batches) == 0:
            return
        self.optimizer.build(self.variables)
        saved = [v.numpy() for v in [*self.variables, *self.optimizer.variables]]
        self.train(X, y, batches)
        for v, value in zip([*self.variables, *self.optimizer.variables], saved, strict=True):
            v.assign(value)


class KerasAdapter(Adapter):
    name = "keras"

    def load(self) -> None:
        frameworks.keras()

    def versions(self) -> dict[str, str]:
        return {
            "keras": frameworks.keras().__version__,
            "tensorflow": frameworks.tensorflow().__version__,
        }

    def unsupported(self, spec: NetworkSpec) -> str | None:
        missing = sorted({lay.kind for lay in spec.layers} - set(LAYERS))
        if missing:
            return f"layer kind(s) {', '.join(missing)}"
        return supports(spec)

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> KerasModel:
        self.check_supported(spec)
        return KerasModel(spec, params, **options)
