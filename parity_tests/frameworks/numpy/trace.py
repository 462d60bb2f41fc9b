"""The reference's training pass layer by layer (:meth:`NumpyModel.trace`), for the first
divergence: each layer's ``forward`` and ``backward`` in turn, with the L2 penalty's gradient
added to each weight's, as ``Sequential.loss_and_gradients`` computes them whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from parity_tests.harness.protocol import Array, LayerTrace, Trace

if TYPE_CHECKING:
    from parity_tests.frameworks.numpy.adapter import NumpyModel


def trace(model: NumpyModel, X: Array, y: Array) -> Trace:
    """A training call on the model's network (its dropout masks drawn); the parameters are
    not updated."""
    net = model.network
    outputs = []
    a = X
    for layer in net.layers:
        a = layer.forward(a, True)
        outputs.append(a)
    grad = net.loss.gradient(net._loss_input(a), y)
    reg: dict[str, Array] = {}
    if net.regularizer is not None:
        params = net.parameters
        weights = {n: params[n] for n in net.weight_names()}
        reg = net.regularizer.gradients(weights, len(y))
    traces: list[LayerTrace] = []
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        grad_out: Array | None
        if layer is net._logits_layer:  # the loss gave dL/dz: no dL/d(output) exists
            grad_out, grad = None, layer.backward_from_pre_activation(grad)
        else:
            grad_out, grad = grad, layer.backward(grad)
        grads = {f"{i}.{k}": np.array(g) for k, g in layer.grads.items()}
        for name in grads:
            if name in reg:
                grads[name] = grads[name] + reg[name]
        copied = None if grad_out is None else np.array(grad_out)
        traces.insert(0, LayerTrace(np.array(outputs[i]), copied, grads))
    return Trace(X, traces)
