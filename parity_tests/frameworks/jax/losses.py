"""Reference losses in ``jax.numpy``, written out from each loss's definition: the elementwise
value, summed, divided by the reduction's divisor, with every option of the reference (Keras's
clipping, torch's log clamp at -100, Keras's renormalisation).

``LOSSES`` maps a reference loss name to a builder: the reference loss object (its options
resolved) -> ``(p, y) -> loss``.  A new loss is one entry; the adapter reports the table's
names, so a reference loss missing here is a gap the completeness test names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_tests.harness import loaders
from reference_nn import NetworkSpec, get_loss
from reference_nn.losses import Loss

LossFn = Callable[[Any, Any], Any]


def _reduce(loss: Loss, elementwise: Any, y: Any) -> Any:
    divisor = {"mean": y.size, "batch_mean": y.shape[0]}.get(loss.reduction, 1)
    return loaders.jax().numpy.sum(elementwise) / divisor


def _squared_error(loss: Any) -> LossFn:
    return lambda p, y: _reduce(loss, loss.scale * (p - y) * (p - y), y)


def _binary_cross_entropy(loss: Any) -> LossFn:
    jnp = loaders.jax().numpy

    def bce(p: Any, y: Any) -> Any:
        if loss.clip == "keras":
            p = jnp.clip(p, loss.epsilon, 1.0 - loss.epsilon)
        log_p, log_1mp = jnp.log(p), jnp.log(1.0 - p)
        if loss.clip == "torch":
            log_p, log_1mp = jnp.maximum(log_p, -100.0), jnp.maximum(log_1mp, -100.0)
        return _reduce(loss, -(y * log_p + (1.0 - y) * log_1mp), y)

    return bce


def _binary_cross_entropy_with_logits(loss: Any) -> LossFn:
    # softplus(s) - s y: jax.nn.softplus is max(s, 0) + log1p(exp(-|s|)) with the exact
    # derivative sigmoid(s).  Written out with jnp.maximum, autodiff would give the tie s = 0
    # (a relu network's all-zero hidden layer) a derivative of 0 instead of 1/2
    nn = loaders.jax().nn
    return lambda s, y: _reduce(loss, nn.softplus(s) - s * y, y)


def _categorical_cross_entropy(loss: Any) -> LossFn:
    jnp = loaders.jax().numpy

    def cce(p: Any, y: Any) -> Any:
        if loss.convention == "keras":
            p = p / jnp.sum(p, axis=-1, keepdims=True)
            p = jnp.clip(p, loss.epsilon, 1.0 - loss.epsilon)
        return _reduce(loss, -y * jnp.log(p), y)

    return cce


def _categorical_cross_entropy_with_logits(loss: Any) -> LossFn:
    nn = loaders.jax().nn
    return lambda s, y: _reduce(loss, -y * nn.log_softmax(s, axis=-1), y)


LOSSES: dict[str, Callable[[Any], LossFn]] = {
    "sse": _squared_error,
    "half_sse": _squared_error,
    "mse": _squared_error,
    "bce": _binary_cross_entropy,
    "logistic": _binary_cross_entropy,
    "bce_logits": _binary_cross_entropy_with_logits,
    "cce": _categorical_cross_entropy,
    "cce_logits": _categorical_cross_entropy_with_logits,
}


def loss_fn(spec: NetworkSpec) -> LossFn:
    """``(p, y) -> loss`` in ``jax.numpy``, for the spec's loss and options."""
    return LOSSES[spec.loss](get_loss(spec.loss, **spec.loss_options))
