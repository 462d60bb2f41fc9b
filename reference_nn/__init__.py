"""reference_nn: neural networks in NumPy with every gradient written out by hand.

A tour::

    import numpy as np
    from reference_nn import LayerSpec, NetworkSpec, fit, gradcheck

    spec = NetworkSpec(input_shape=(2,),
                       layers=(LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(1, "sigmoid")),
                       loss="mse", optimizer="sgd", optimizer_options={"lr": 0.05})
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(seed=0))
    loss, grads = net.loss_and_gradients(X, y)      # grads["0.W"], grads["0.b"], ...
    print(gradcheck(net, X, y))                      # analytic vs finite differences
    history = fit(net, spec.build_optimizer(), X, y, epochs=10, batch_size=1)

This package imports NumPy only, and nothing from ``parity_tests`` or ``experiments`` (the
framework adapters and the ``refnn`` command live there, above it).
"""

from ._checks import DTypeError, NonFiniteError, ShapeError
from .activations import ACTIVATIONS, Activation, get_activation
from .gradcheck import GradcheckReport, gradcheck, numerical_gradient
from .initializers import INITIALIZERS, get_initializer, legacy_rand
from .layers import LAYER_KINDS, Dense, Layer
from .losses import LOSSES, OUTPUT_ACTIVATION, TARGETS, Loss, get_loss
from .network import Sequential
from .optimizers import OPTIMIZERS, SGD, Adam, Optimizer, RMSprop, get_optimizer
from .options import SpecError
from .regularizers import L2
from .spec import LayerSpec, NetworkSpec
from .training import History, TrainingDivergedError, epoch_orders, fit

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "L2",
    "LAYER_KINDS",
    "LOSSES",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATION",
    "SGD",
    "TARGETS",
    "Activation",
    "Adam",
    "DTypeError",
    "Dense",
    "GradcheckReport",
    "History",
    "Layer",
    "LayerSpec",
    "Loss",
    "NetworkSpec",
    "NonFiniteError",
    "Optimizer",
    "RMSprop",
    "Sequential",
    "ShapeError",
    "SpecError",
    "TrainingDivergedError",
    "epoch_orders",
    "fit",
    "get_activation",
    "get_initializer",
    "get_loss",
    "get_optimizer",
    "gradcheck",
    "legacy_rand",
    "numerical_gradient",
]
