"""Activation functions and their exact derivatives.

Each activation maps the pre-activation ``z = x @ W + b`` to ``a = f(z)``.  In the backward
pass a layer receives ``dL/da`` and needs ``dL/dz``.  For the elementwise activations that is
``dL/dz = dL/da * f'(z)``; softmax mixes the outputs of a row, so it needs the full
Jacobian-vector product (see :class:`Softmax`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._checks import Array, NonFiniteError, check_choice, check_keys


class Activation:
    """Base class: subclasses give ``forward`` and ``derivative`` (``f'(z)`` from z and a)."""

    name: ClassVar[str]
    elementwise: ClassVar[bool] = True
    # Options the parity matrix builds this activation with (required options need a value).
    example_options: ClassVar[dict[str, float]] = {}

    def forward(self, z: Array) -> Array:
        raise NotImplementedError

    def derivative(self, z: Array, a: Array) -> Array:
        """``f'(z)`` elementwise; ``a = f(z)`` is passed because many derivatives reuse it."""
        raise NotImplementedError

    def backward(self, grad_a: Array, z: Array, a: Array) -> Array:
        """Chain rule through the activation: ``dL/dz = dL/da * f'(z)``."""
        return grad_a * self.derivative(z, a)

    def options(self) -> dict[str, float]:
        """Options that define this activation (stored in a spec)."""
        return {}

    def __call__(self, z: Array) -> Array:
        return self.forward(z)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"


class Identity(Activation):
    name = "identity"

    def forward(self, z: Array) -> Array:
        return z

    def derivative(self, z: Array, a: Array) -> Array:
        return np.ones_like(z)

    def backward(self, grad_a: Array, z: Array, a: Array) -> Array:
        return grad_a


# exp(x) is finite for x below this, per dtype (log of the largest float, less a margin)
_EXP_LIMIT = {t: float(np.log(np.finfo(t).max)) - 1 for t in (np.float32, np.float64)}
_FEW = 16  # up to this many values, a Python min beats z.min() (measured: 1.5 vs 4 us at 3)


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, ``f'(z) = f(z) (1 - f(z))``."""

    name = "sigmoid"

    def forward(self, z: Array) -> Array:
        # The frameworks compute 1 / (1 + exp(-z)); we do too wherever exp(-z) is finite, so
        # that results agree to the last bit.  Far in the negative tail exp(-z) overflows
        # (z < -709 in float64, z < -88 in float32), so there the algebraically equal form
        # exp(z) / (1 + exp(z)) is used instead: no overflow warning, no lost precision.
        limit = _EXP_LIMIT[z.dtype.type]
        # the smallest z: Python's min over a few values costs a third of a NumPy reduction
        # (the per-sample steps of fit: z is (1, units))
        lowest = min(z.flat) if 0 < z.size <= _FEW else (z.min() if z.size else 0.0)
        if lowest > -limit:  # the common case: one expression, no masks
            return 1.0 / (1.0 + np.exp(-z))
        safe = z > -limit
        out = np.empty_like(z)
        out[safe] = 1.0 / (1.0 + np.exp(-z[safe]))
        e = np.exp(z[~safe])
        out[~safe] = e / (1.0 + e)
        return out

    def derivative(self, z: Array, a: Array) -> Array:
        return a * (1.0 - a)


class Tanh(Activation):
    """``f'(z) = 1 - tanh(z)^2``."""

    name = "tanh"

    def forward(self, z: Array) -> Array:
        return np.tanh(z)

    def derivative(self, z: Array, a: Array) -> Array:
        return 1.0 - a * a


class ReLU(Activation):
    """``max(z, 0)``; the derivative at exactly 0 is taken as 0, as torch and TF do."""

    name = "relu"

    def forward(self, z: Array) -> Array:
        return np.maximum(z, 0.0)

    def derivative(self, z: Array, a: Array) -> Array:
        return (z > 0).astype(z.dtype)


class LeakyReLU(Activation):
    """``z`` for ``z > 0`` else ``alpha * z``.

    Defaults differ by framework: torch ``nn.LeakyReLU`` 0.01, Keras ``layers.LeakyReLU`` 0.3,
    ``keras.activations.leaky_relu`` 0.2.  The spec always names alpha, so no default is used.
    """

    name = "leaky_relu"
    # A float32-representable slope: TensorFlow passes the slope as a float32 attribute.
    example_options: ClassVar[dict[str, float]] = {"alpha": 0.25}

    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)

    def options(self) -> dict[str, float]:
        return {"alpha": self.alpha}

    def forward(self, z: Array) -> Array:
        return np.where(z > 0, z, self.alpha * z)

    def derivative(self, z: Array, a: Array) -> Array:
        return np.where(z > 0, 1.0, self.alpha).astype(z.dtype)


class ELU(Activation):
    """``z`` for ``z > 0`` else ``alpha (exp(z) - 1)``; derivative ``alpha exp(z)`` there."""

    name = "elu"
    example_options: ClassVar[dict[str, float]] = {"alpha": 1.0}

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float(alpha)

    def options(self) -> dict[str, float]:
        return {"alpha": self.alpha}

    def forward(self, z: Array) -> Array:
        # expm1 keeps full precision near 0, where exp(z) - 1 cancels; only the negative
        # side is evaluated so no overflow can occur for large positive z.
        negative = np.minimum(z, 0.0)
        return np.where(z > 0, z, self.alpha * np.expm1(negative))

    def derivative(self, z: Array, a: Array) -> Array:
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype)


class Softplus(Activation):
    """``log(1 + exp(z))``, derivative ``sigmoid(z)``.

    Computed as ``max(z, 0) + log1p(exp(-|z|))``, exact and overflow-free for every z.
    torch's ``nn.Softplus`` returns ``z`` itself above ``threshold=20``; that is a different
    function (by up to 2e-9 there), so parity cases keep |z| below the threshold.
    """

    name = "softplus"

    def forward(self, z: Array) -> Array:
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))

    def derivative(self, z: Array, a: Array) -> Array:
        return Sigmoid().forward(z)


class Softmax(Activation):
    """Row-wise ``exp(z_i) / sum_j exp(z_j)`` (for an output layer).

    Its Jacobian is ``da_i/dz_j = a_i (delta_ij - a_j)``, so the backward pass is the
    Jacobian-vector product ``dL/dz_j = a_j (dL/da_j - sum_i dL/da_i a_i)``.
    """

    name = "softmax"
    elementwise = False

    def forward(self, z: Array) -> Array:
        # Subtracting the row maximum changes nothing mathematically and prevents overflow.
        top = z.max(axis=-1, keepdims=True)
        if not np.isfinite(top).all():
            _refuse_rows(z, top)
        shifted = np.exp(z - top)
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def derivative(self, z: Array, a: Array) -> Array:
        raise TypeError("softmax has no elementwise derivative; use backward()")

    def backward(self, grad_a: Array, z: Array, a: Array) -> Array:
        return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))


def _refuse_rows(z: Array, top: Array) -> None:
    """Softmax is undefined on a row that is all -inf or holds +inf or NaN (the frameworks
    return NaN there): name the first such row and what to do."""
    row = tuple(int(i) for i in np.argwhere(~np.isfinite(top))[0][:-1])
    value = top[row].item()
    if np.isnan(value):
        what, todo = "holds NaN", "check the layer's inputs and parameters"
    elif value > 0:
        what = "holds +inf"
        todo = "its scores overflowed: lower the learning rate or scale the inputs"
    else:
        what, todo = "is -inf in every entry", "leave at least one entry of each row unmasked"
    raise NonFiniteError(f"softmax input row {row} {what}: no probabilities exist; {todo}")


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softplus, Softmax)
}

# Options each activation accepts (all required for leaky_relu: the frameworks' defaults differ).
_OPTIONS: dict[str, tuple[str, ...]] = {"leaky_relu": ("alpha",), "elu": ("alpha",)}


def get_activation(name: str | Activation, **options: Any) -> Activation:
    """Look up an activation by name: ``get_activation("leaky_relu", alpha=0.1)``."""
    if isinstance(name, Activation):
        return name
    check_choice("activation", name, ACTIVATIONS)
    check_keys(f"activation {name!r}", options, _OPTIONS.get(name, ()))
    if name == "leaky_relu" and "alpha" not in options:
        raise ValueError("leaky_relu needs an explicit alpha (torch 0.01, Keras 0.3/0.2 differ)")
    return ACTIVATIONS[name](**options)
