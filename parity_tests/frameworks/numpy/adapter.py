"""The reference itself as a framework: ``reference_nn``'s network and optimizer.  It
implements every registry entry, so it has no tables to report (:meth:`Adapter.tables`: a
category left out is implemented whole) and converts no models.

``train`` takes the textbook per-sample loop of :mod:`.per_sample` where it applies (a float64
n-H-1 sigmoid network with biases, MSE, plain SGD, one sample a step: the housing network),
which is bit-identical to the general path and much faster; otherwise it steps the reference
network batch by batch.
"""

from __future__ import annotations

import copy
import platform
from typing import Any

import numpy as np

from parity_tests.frameworks.numpy.per_sample import PerSampleSGD, applies
from parity_tests.frameworks.numpy.trace import trace
from parity_tests.harness.protocol import Adapter, Array, Batches, Model, Params, Resolved, Trace
from reference_nn import L2, NetworkSpec, Sequential, get_loss, get_optimizer


def _network(resolved: Resolved) -> Sequential:
    """The reference network of ``resolved``: copies of its layers (a network's layers hold
    its parameters and its dropout generators, and a resolved spec may be built again)."""
    spec = resolved.spec
    regularizer = None if spec.regularizer is None else L2(**spec.regularizer)
    layers = copy.deepcopy([lay.layer for lay in resolved.layers])
    return Sequential(layers, get_loss(spec.loss, **spec.loss_options), regularizer=regularizer)


class NumpyModel(Model):
    def __init__(self, spec: NetworkSpec | Resolved, params: Params) -> None:
        self.resolved = spec if isinstance(spec, Resolved) else Resolved.of(spec)
        self.spec = self.resolved.spec
        self.network = _network(self.resolved)
        self.network.set_parameters(params)
        self.optimizer = get_optimizer(self.spec.optimizer, **self.resolved.optimizer_options)

    def parameters(self) -> Params:
        return self.network.get_parameters()

    def set_parameters(self, params: Params) -> None:
        self.network.set_parameters(params)

    def state(self) -> Params:
        return self.network.get_state()

    def predict(self, X: Array) -> Array:
        return self.network.predict(X)

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        loss, grads = self.network.loss_and_gradients(X, y)
        # the output of that same forward pass: a second one would draw new dropout masks
        return self.network.last_output.copy(), np.asarray(loss), grads

    def step(self, X: Array, y: Array) -> float:
        loss, grads = self.network.loss_and_gradients(X, y)
        self.optimizer.step(self.network.parameters, grads)
        return float(loss)

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        if applies(self.resolved, X, batches):
            loop = PerSampleSGD(self.parameters(), X, y, self.resolved.optimizer_options["lr"])
            losses = loop.train(batches[:, 0])
            self.set_parameters(loop.parameters())
            return losses
        return super().train(X, y, batches)

    def trace(self, X: Array, y: Array) -> Trace:
        return trace(self, X, y)


class NumpyAdapter(Adapter):
    name = "numpy"

    def versions(self) -> dict[str, str]:
        return {"python": platform.python_version(), "numpy": np.__version__}

    def build(self, spec: NetworkSpec | Resolved, params: Params, **options: Any) -> NumpyModel:
        if options:
            raise TypeError(f"the numpy adapter takes no options, got {sorted(options)}")
        return NumpyModel(spec, params)
