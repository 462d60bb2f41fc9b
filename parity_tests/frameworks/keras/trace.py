"""The Keras model's training pass layer by layer (``KerasModel.trace``), for the first
divergence (:mod:`parity_tests.harness.divergence`): one ``tf.GradientTape`` over each
reference layer's output and every variable.  A reference layer is one Keras layer of the
model, or for a user's model (``Adapter.wrap``) its group of Keras layers.  TensorFlow only:
on the other backends the model is untraced (None)."""

from __future__ import annotations

from typing import Any

import numpy as np

from parity_tests.harness.protocol import Array, LayerTrace, Trace


def _copy(grad: Any) -> Array | None:
    """A gradient as a NumPy copy; None stays None (nothing flowed there)."""
    if grad is None:
        return None
    return np.array(grad.numpy() if hasattr(grad, "numpy") else grad)


def trace(model: Any, X: Array, y: Array) -> Trace | None:
    """``model`` (a :class:`.model.KerasModel`) traced on ``(X, y)``; nothing updated."""
    if model.tf is None:
        return None
    tf = model.tf
    x, t = tf.constant(X), tf.constant(y)
    with tf.GradientTape() as tape:
        h, outs = x, []
        for group in model.groups or [[layer] for layer in model.layers]:
            for layer in group:
                h = layer(h, training=True)
            outs.append(h)
        loss = model.with_penalty(model.loss_fn(t, h), x)
    names = [n for n, _ in model.named_variables()]
    found = tape.gradient(loss, [*outs, *model.variables])
    # None: nothing flows there.  The output of a softmax or sigmoid output layer gets none
    # (the loss reads the logits behind it); a variable the loss does not touch has gradient 0
    grad_outs = found[: len(outs)]
    grads = {  # an embedding's gradient is sparse (IndexedSlices): densified
        name: np.zeros_like(np.asarray(v.numpy()))
        if g is None
        else np.array(tf.convert_to_tensor(g).numpy())
        for name, v, g in zip(names, model.variables, found[len(outs) :], strict=True)
    }
    return Trace(
        X,
        [
            LayerTrace(
                np.array(o.numpy()),
                _copy(g),
                {k: v for k, v in grads.items() if k.split(".")[0] == str(i)},
            )
            for i, (o, g) in enumerate(zip(outs, grad_outs, strict=True))
        ],
    )
