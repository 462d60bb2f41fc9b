"""The JAX model's training pass layer by layer (:meth:`JaxModel.trace`), for the first
divergence: ``jax.grad`` of the loss with respect to the parameters and to a zero added to
each layer's output; the latter is ``dL/d(output)`` of that layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from parity_tests.harness.protocol import Array, LayerTrace, Trace

if TYPE_CHECKING:
    from parity_tests.frameworks.jax.adapter import JaxModel


def trace(model: JaxModel, X: Array, y: Array) -> Trace:
    """A training call, as the other frameworks' traces: this call's dropout masks are drawn,
    the batch statistics used; the parameters and the running statistics are not updated."""
    jax, jnp = model.jax, model.jnp
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    host = model._host(len(X))
    outputs: list[Any] = []
    model.forward(model.params, model.state_, host, Xj, outputs=outputs)
    zeros = [jnp.zeros_like(o) for o in outputs]

    def loss(params: Any, shifts: Any) -> Any:
        out, _ = model.forward(params, model.state_, host, Xj, shifts=shifts)
        return model.loss_fn(out, yj) + model.penalty(params, len(X))

    grads, grad_outs = jax.grad(loss, argnums=(0, 1))(model.params, zeros)
    return Trace(
        X,
        [
            LayerTrace(
                np.array(o),
                np.array(g),
                {
                    k: model._layer(k).from_jax(k.split(".", 1)[1], np.asarray(v))
                    for k, v in grads.items()
                    if k.split(".", 1)[0] == str(i)
                },
            )
            for i, (o, g) in enumerate(zip(outputs, grad_outs, strict=True))
        ],
    )
