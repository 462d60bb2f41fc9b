"""Finite differences: the framework-free third opinion on a gradient.

Central differences ``(f(x + h) - f(x - h)) / 2h`` have truncation error ``O(h^2)`` and
rounding error ``O(eps_machine / h)``; in float64 ``h = 1e-6`` balances them at roughly
1e-10 relative for smooth functions.  In float32 the rounding term alone is ~1e-1, which is
why gradcheck insists on float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import Array, DTypeError
from .network import Sequential

TINY = 1e-300  # keeps relative errors finite where both gradients are exactly zero


def numerical_gradient(f: Callable[[], float], x: Array, h: float = 1e-6) -> Array:
    """``df/dx`` by central differences, perturbing ``x`` in place (restored afterwards)."""
    if x.dtype != np.float64:
        raise DTypeError(f"finite differences need float64, got {x.dtype}")
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        plus = f()
        x[index] = original - h
        minus = f()
        x[index] = original
        grad[index] = (plus - minus) / (2.0 * h)
    return grad


@dataclass(frozen=True)
class ParameterCheck:
    """Agreement of the analytic and the numerical gradient of one parameter."""

    name: str
    max_abs_error: float
    normwise_rel_error: float  # ||analytic - numeric|| / max(||analytic||, ||numeric||)
    worst_index: tuple[int, ...]


@dataclass(frozen=True)
class GradcheckReport:
    checks: tuple[ParameterCheck, ...]

    @property
    def worst(self) -> ParameterCheck:
        return max(self.checks, key=lambda c: c.normwise_rel_error)

    def passed(self, tolerance: float = 1e-7) -> bool:
        return self.worst.normwise_rel_error <= tolerance

    def __str__(self) -> str:
        lines = [f"{'parameter':<10} {'max abs err':>12} {'rel err':>12}  worst index"]
        for c in self.checks:
            lines.append(
                f"{c.name:<10} {c.max_abs_error:12.3e} {c.normwise_rel_error:12.3e}"
                f"  {c.worst_index}"
            )
        return "\n".join(lines)


def compare_gradients(name: str, analytic: Array, numeric: Array) -> ParameterCheck:
    diff = np.abs(analytic - numeric)
    worst = (
        tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape)) if diff.size else ()
    )
    scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numeric)), TINY)
    return ParameterCheck(
        name=name,
        max_abs_error=float(diff.max(initial=0.0)),
        normwise_rel_error=float(np.linalg.norm(analytic - numeric)) / scale,
        worst_index=worst,
    )


def _random_layers(network: Sequential) -> list[tuple[int, Any]]:
    """(index, layer) of every layer that draws from a generator of its own in training
    (dropout: a new mask at each forward pass)."""
    return [
        (i, layer)
        for i, layer in enumerate(network.layers)
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    ]


def gradcheck(
    network: Sequential,
    X: Any,
    y: Any,
    *,
    h: float = 1e-6,
    analytic: dict[str, Array] | None = None,
) -> GradcheckReport:
    """Compare ``network.backward`` (or the given ``analytic`` gradients) with finite differences
    of ``network.loss_value`` for every parameter.  The network must be float64.

    Dropout: the loss is a different function at every training pass (a new mask), so its
    finite differences would measure the masks, not the gradient.  gradcheck holds the masks
    fixed: every pass it makes draws the masks of its analytic pass (each dropout layer's
    generator is set back to its state before that pass), and afterwards the generators are
    where that one pass left them, as after one ``loss_and_gradients``.  Given ``analytic``
    gradients, the masks they were computed with are unknown: refused for such a network.
    Non-trainable state (batch norm's running statistics) is also left as after one pass.
    """
    if network.dtype != np.float64:
        raise DTypeError("gradcheck needs a float64 network (float32 rounding swamps the check)")
    random = _random_layers(network)
    if analytic is not None and random:
        where = ", ".join(f"layer {i} ({layer.kind})" for i, layer in random)
        raise ValueError(
            f"gradcheck with analytic= on a network with random masks ({where}): the masks "
            "those gradients were computed with are unknown; leave analytic= out and gradcheck "
            "computes them itself with the masks it holds fixed"
        )
    before = [layer.rng.bit_generator.state for _, layer in random]
    if analytic is None:
        _, analytic = network.loss_and_gradients(X, y)
    after = [layer.rng.bit_generator.state for _, layer in random]
    state = network.get_state()

    def loss() -> float:
        for (_, layer), saved in zip(random, before, strict=True):
            layer.rng.bit_generator.state = saved  # the analytic pass's masks again
        return float(network.loss_value(X, y))

    params = network.parameters
    checks = []
    try:
        for name, value in params.items():
            numeric = numerical_gradient(loss, value, h)
            checks.append(compare_gradients(name, analytic[name], numeric))
    finally:
        for (_, layer), saved in zip(random, after, strict=True):
            layer.rng.bit_generator.state = saved
        network.set_state(state)
    return GradcheckReport(tuple(checks))
