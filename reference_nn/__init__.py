"""reference_nn: neural networks in NumPy with every gradient written out by hand.

A tour::

    import numpy as np
    from reference_nn import LayerSpec, NetworkSpec, fit, gradcheck

    spec = NetworkSpec(input_dim=2, layers=(LayerSpec(3, "sigmoid"), LayerSpec(1, "sigmoid")),
                       loss="mse", optimizer="sgd", optimizer_params={"lr": 0.05})
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(seed=0))
    loss, grads = net.loss_and_gradients(X, y)      # grads["0.W"], grads["0.b"], ...
    print(gradcheck(net, X, y))                      # analytic vs finite differences
    history = fit(net, spec.build_optimizer(), X, y, epochs=10, batch_size=1)

This package imports NumPy only; the framework mirrors live in ``parity_tests``.
"""

from ._checks import DTypeError, NonFiniteError, ShapeError
from .activations import ACTIVATIONS, Activation, get_activation
from .gradcheck import GradcheckReport, gradcheck, numerical_gradient
from .initializers import INITIALIZERS, get_initializer, legacy_rand
from .layers import Dense
from .losses import LOSSES, OUTPUT_ACTIVATION, Loss, get_loss
from .network import Sequential
from .optimizers import OPTIMIZERS, SGD, Adam, Optimizer, RMSprop, get_optimizer
from .regularizers import L2
from .spec import LayerSpec, NetworkSpec
from .training import History, TrainingDivergedError, epoch_orders, fit

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "L2",
    "LOSSES",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATION",
    "SGD",
    "Activation",
    "Adam",
    "DTypeError",
    "Dense",
    "GradcheckReport",
    "History",
    "LayerSpec",
    "Loss",
    "NetworkSpec",
    "NonFiniteError",
    "Optimizer",
    "RMSprop",
    "Sequential",
    "ShapeError",
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
