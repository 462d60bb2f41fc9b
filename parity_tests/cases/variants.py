"""The variants the dense matrix crosses: hidden activations (derived from the reference's
registry), losses with their output activation, optimizer formulations, dtypes."""

from __future__ import annotations

from typing import Any

from reference_nn import ACTIVATIONS

# Every elementwise activation, with the options its class names for the matrix (softmax is an
# output activation: the cce losses exercise it).
HIDDEN: dict[str, dict[str, float]] = {
    name: dict(cls.example_options) for name, cls in ACTIVATIONS.items() if cls.elementwise
}

# label -> (loss, loss options, output activation)
LOSS_VARIANTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "mse": ("mse", {}, "sigmoid"),
    "sse": ("sse", {}, "identity"),
    "half_sse": ("half_sse", {}, "tanh"),
    "bce": ("bce", {"clip": "none"}, "sigmoid"),
    "logistic": ("logistic", {}, "sigmoid"),
    "bce_logits": ("bce_logits", {}, "identity"),
    "cce": ("cce", {}, "softmax"),
    "cce_logits": ("cce_logits", {}, "identity"),
}

# label -> (optimizer, options)
OPTIMIZER_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("sgd", {"lr": 0.1}),
    "momentum_torch": ("sgd", {"lr": 0.05, "momentum": 0.9, "convention": "torch"}),
    "nesterov_torch": (
        "sgd",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "convention": "torch"},
    ),
    "momentum_keras": ("sgd", {"lr": 0.05, "momentum": 0.9, "convention": "keras"}),
    "nesterov_keras": (
        "sgd",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "convention": "keras"},
    ),
    "rmsprop_torch": ("rmsprop", {"lr": 0.01, "convention": "torch"}),
    "rmsprop_keras": ("rmsprop", {"lr": 0.01, "convention": "keras"}),
    "adam_torch": ("adam", {"lr": 0.01, "convention": "torch"}),
    "adam_keras": ("adam", {"lr": 0.01, "convention": "keras"}),
}
