"""The reference itself as a framework: ``reference_nn``'s network and optimizer.

``train`` takes the textbook per-sample loop of :mod:`.numpy_per_sample` where it applies (a
float64 n-H-1 sigmoid network with biases, MSE, plain SGD, one sample a step: the housing
network), which is bit-identical to the general path and ~50x faster; otherwise it steps the
reference network batch by batch.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from parity_tests.frameworks.numpy.per_sample import PerSampleSGD, applies
from parity_tests.harness.protocol import Adapter, Array, Batches, Model, Params
from reference_nn import NetworkSpec


class NumpyModel(Model):
    def __init__(self, spec: NetworkSpec, params: Params) -> None:
        self.spec = spec
        self.network = spec.build_network()
        self.network.set_parameters(params)
        self.optimizer = spec.build_optimizer()

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
        if applies(self.spec, X, batches):
            loop = PerSampleSGD(self.parameters(), X, y, self.optimizer.options()["lr"])
            losses = loop.train(batches[:, 0])
            self.set_parameters(loop.parameters())
            return losses
        return super().train(X, y, batches)


class NumpyAdapter(Adapter):
    name = "numpy"

    def versions(self) -> dict[str, str]:
        return {"python": platform.python_version(), "numpy": np.__version__}

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> NumpyModel:
        if options:
            raise TypeError(f"the numpy adapter takes no options, got {sorted(options)}")
        return NumpyModel(spec, params)
