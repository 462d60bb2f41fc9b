"""Optimizers in torch's and in Keras's formulation, each option named and checked.

Every optimizer updates a dict of parameter arrays in place from a dict of gradients with the
same names, and keeps its state (velocities, moments) under those names.  Where torch and
Keras write the same idea differently, ``convention`` selects which one is computed, and the
formulas below are the ones in the installed sources (torch 2.13 ``_single_tensor_*`` paths,
Keras 3 ``update_step`` and ``_apply_weight_decay``), including the order of operations,
because rounding follows it.

``g`` gradient, ``p`` parameter, ``lr`` learning rate, ``t`` step count (1 on the first step),
``wd`` weight decay.  ``weight_decay`` means a different thing in each convention:

* torch (coupled, L2 folded into the gradient before anything else):  ``g <- g + wd p``
* Keras (decoupled, applied to the parameter before the update, with the gradient taken at
  the old parameter):  ``p <- p - p wd lr``

Every option is validated when the optimizer is built (type, finiteness, range), and an
option the chosen convention does not have is refused, naming the convention that has it.
The settings are returned by :meth:`Optimizer.options` (arrays are params, settings options).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._checks import Array, check_choice, check_keys

CONVENTIONS = ("torch", "keras")


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if math.isinf(high):
        return f"finite and {'>' if low_open else '>='} {low:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_real(
    owner: str,
    option: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a Python float, or a one-line TypeError / ValueError naming the range."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner} {option} must be a real number, got {value!r} ({type(value).__name__})"
        )
    x = float(value)
    above = low < x if low_open else low <= x
    below = x < high if high_open else x <= high
    if not (math.isfinite(x) and above and below):
        raise ValueError(
            f"{owner} {option} must be {_interval(low, high, low_open, high_open)}, got {x!r}"
        )
    return x


def check_flag(owner: str, option: str, value: Any) -> bool:
    """A real bool (``True``/``False``), never a string or an int that looks like one."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{owner} {option} must be a bool (True or False), got {value!r} "
            f"({type(value).__name__})"
        )
    return bool(value)


def _lerp(start: Array, end: Array, weight: float) -> Array:
    # torch's lerp (ATen Lerp.h): start + w (end - start) for |w| < 0.5,
    # else end - (end - start) (1 - w).
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


class Optimizer:
    name: ClassVar[str]
    # option -> the note given when another convention is asked for it (non-default value)
    TORCH_ONLY: ClassVar[dict[str, str]] = {}

    def __init__(self, lr: float, convention: str) -> None:
        self.convention = check_choice("optimizer convention", convention, CONVENTIONS)
        self.lr = check_real(self.label, "lr", lr, 0.0, low_open=True)
        self.iterations = 0
        self.state: dict[str, dict[str, Array]] = {}

    @property
    def label(self) -> str:
        return type(self).__name__

    @classmethod
    def accepted_options(cls) -> tuple[str, ...]:
        """The keyword options the constructor takes, read from its signature."""
        return tuple(inspect.signature(cls.__init__).parameters)[1:]

    def options(self) -> dict[str, Any]:
        """Every option, resolved (defaults filled in): what a spec stores."""
        raise NotImplementedError

    def _torch_only(self, option: str, value: Any, default: Any) -> None:
        if self.convention != "torch" and value != default:
            raise ValueError(
                f"{self.label} {option} is torch's option (convention='torch'); "
                f"{self.TORCH_ONLY[option]}"
            )

    def step(
        self, params: Mapping[str, Array], grads: Mapping[str, Array], *, validate: bool = True
    ) -> None:
        """Update every parameter in ``params`` in place, from ``grads`` of the same names.

        ``validate=False`` skips the name, shape and dtype checks: for a caller that made the
        gradients itself from these parameters (``fit`` checks its first step only).
        """
        if validate:  # every check before any update: a refused step changes nothing
            if set(params) != set(grads):
                raise KeyError(
                    f"gradient names {sorted(grads)} do not match parameter names {sorted(params)}"
                )
            for name, p in params.items():
                g = grads[name]
                if g.shape != p.shape or g.dtype != p.dtype:
                    raise ValueError(
                        f"gradient for {name} has shape {g.shape}/{g.dtype}, "
                        f"parameter {p.shape}/{p.dtype}"
                    )
        self.iterations += 1
        for name, p in params.items():
            self._update(name, p, grads[name], self.state.setdefault(name, {}))

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        raise NotImplementedError

    def _weight_decay(self, p: Array, g: Array, wd: float) -> Array:
        """Apply ``weight_decay`` in this convention; return the gradient to use."""
        if not wd:
            return g
        if self.convention == "torch":
            # torch, coupled: g <- g + wd p   (grad.add(param, alpha=weight_decay))
            return g + wd * p
        # Keras, decoupled, before the update: p <- p - p wd lr   (variable * wd * lr)
        p -= p * wd * self.lr
        return g

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"


class SGD(Optimizer):
    """Gradient descent, optionally with momentum ``mu`` (classical or Nesterov).

    Weight decay first (see the module docstring), then:

    * plain (``mu = 0``):   ``p <- p - lr g``  (both frameworks)
    * torch momentum:       ``v <- mu v + (1 - dampening) g`` (``v = g`` on the first step,
      undamped); ``p <- p - lr v``
    * torch Nesterov:       ``v`` as above; ``p <- p - lr (g + mu v)`` (dampening must be 0)
    * Keras momentum:       ``v <- mu v - lr g``; ``p <- p + v``
    * Keras Nesterov:       ``v <- mu v - lr g``; ``p <- p + (mu v - lr g)``

    torch's ``v`` is Keras's ``-v / lr``, so with a constant learning rate the trajectories
    are the same up to rounding; under a changing learning rate they are not.  ``dampening``
    is torch's only.
    """

    name = "sgd"
    TORCH_ONLY: ClassVar[dict[str, str]] = {"dampening": "Keras's SGD has no dampening"}

    def __init__(
        self,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        convention: str = "torch",
        weight_decay: float = 0.0,
        *,
        dampening: float = 0.0,
    ) -> None:
        super().__init__(lr, convention)
        label = self.label
        self.momentum = check_real(label, "momentum", momentum, 0.0, 1.0, high_open=True)
        self.nesterov = check_flag(label, "nesterov", nesterov)
        self.weight_decay = check_real(label, "weight_decay", weight_decay, 0.0)
        self.dampening = check_real(label, "dampening", dampening, 0.0, 1.0)
        self._torch_only("dampening", self.dampening, 0.0)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD nesterov=True needs momentum > 0")
        if self.dampening and self.momentum == 0:
            raise ValueError("SGD dampening needs momentum > 0 (it damps the momentum buffer)")
        if self.dampening and self.nesterov:
            raise ValueError("SGD nesterov=True needs dampening 0 (as in torch)")

    def options(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "convention": self.convention,
            "weight_decay": self.weight_decay,
            "dampening": self.dampening,
        }

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        lr, mu = self.lr, self.momentum
        g = self._weight_decay(p, g, self.weight_decay)
        if mu == 0:
            # p <- p - lr g
            p -= lr * g
        elif self.convention == "torch":
            if "v" not in state:
                # v <- g on the first step (torch clones the gradient, no dampening)
                state["v"] = g.copy()
            else:
                # v <- mu v + (1 - dampening) g   (buf.mul_(mu).add_(g, alpha=1 - dampening))
                state["v"] = state["v"] * mu + (1 - self.dampening) * g
            v = state["v"]
            # p <- p - lr (g + mu v) (Nesterov) or p - lr v
            p -= lr * (g + mu * v if self.nesterov else v)
        else:
            # v <- mu v - lr g
            v = state.get("v", np.zeros_like(p)) * mu - g * lr
            state["v"] = v
            # p <- p + (mu v - lr g) (Nesterov) or p + v
            p += (v * mu - g * lr) if self.nesterov else v


class RMSprop(Optimizer):
    """Divide the step by a running root-mean-square of the gradient.

    Weight decay first (see the module docstring).  With ``v <- rho v + (1 - rho) g^2`` and,
    if ``centered``, the running mean ``a <- rho a + (1 - rho) g`` (torch: ``lerp``):

    * torch:  ``d = sqrt(v - a^2) + eps`` (centered) or ``sqrt(v) + eps``;
      ``p <- p - lr g / d``, or with momentum ``b <- momentum b + g / d``, ``p <- p - lr b``
      (defaults rho ("alpha") 0.99, eps 1e-8)
    * Keras:  ``d = sqrt((v - a^2) + eps)`` (centered) or ``sqrt(v + eps)``;
      ``p <- p - lr g / d``, or with momentum ``b <- momentum b + lr g / d``, ``p <- p - b``
      (defaults rho 0.9, eps 1e-7)

    The epsilon sits outside the root in torch and inside it in Keras: on the first steps,
    where ``v`` is tiny, the two differ by far more than rounding.
    """

    name = "rmsprop"
    DEFAULTS: ClassVar[dict[str, tuple[float, float]]] = {
        "torch": (0.99, 1e-8),
        "keras": (0.9, 1e-7),
    }

    def __init__(
        self,
        lr: float,
        rho: float | None = None,
        eps: float | None = None,
        convention: str = "torch",
        weight_decay: float = 0.0,
        *,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(lr, convention)
        label = self.label
        default_rho, default_eps = self.DEFAULTS[self.convention]
        rho = default_rho if rho is None else rho
        self.rho = check_real(label, "rho", rho, 0.0, 1.0, high_open=True)
        self.eps = check_real(label, "eps", default_eps if eps is None else eps, 0.0)
        self.weight_decay = check_real(label, "weight_decay", weight_decay, 0.0)
        self.momentum = check_real(label, "momentum", momentum, 0.0, 1.0, high_open=True)
        self.centered = check_flag(label, "centered", centered)

    def options(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "rho": self.rho,
            "eps": self.eps,
            "convention": self.convention,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "centered": self.centered,
        }

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        g = self._weight_decay(p, g, self.weight_decay)
        lr, rho, eps = self.lr, self.rho, self.eps
        v = state.get("v", np.zeros_like(p))
        a = state.get("a", np.zeros_like(p))
        if self.convention == "torch":
            # v <- rho v + (1 - rho) g^2   (square_avg.mul_(alpha).addcmul_(g, g, 1 - alpha))
            v = v * rho + (1 - rho) * (g * g)
            if self.centered:
                # a <- lerp(a, g, 1 - rho); d = sqrt(v - a^2) + eps
                a = _lerp(a, g, 1 - rho)
                d = np.sqrt(v - a * a) + eps
            else:
                # d = sqrt(v) + eps
                d = np.sqrt(v) + eps
            if self.momentum:
                # b <- momentum b + g / d; p <- p - lr b
                b = state.get("b", np.zeros_like(p)) * self.momentum + g / d
                state["b"] = b
                p -= lr * b
            else:
                # p <- p - lr (g / d)   (param.addcdiv_(g, d, value=-lr))
                p -= lr * (g / d)
        else:
            # v <- rho v + (1 - rho) g^2
            v = rho * v + (1 - rho) * (g * g)
            if self.centered:
                # a <- rho a + (1 - rho) g; d = sqrt((v - a^2) + eps)
                a = rho * a + (1 - rho) * g
                d = np.sqrt(v - a * a + eps)
            else:
                # d = sqrt(v + eps)
                d = np.sqrt(v + eps)
            # increment = (lr g) / d
            increment = (lr * g) / d
            if self.momentum:
                # b <- momentum b + increment; p <- p - b
                b = self.momentum * state.get("b", np.zeros_like(p)) + increment
                state["b"] = b
                p -= b
            else:
                # p <- p - increment
                p -= increment
        state["v"] = v
        if self.centered:
            state["a"] = a


class Adam(Optimizer):
    """Adam with bias correction, in each framework's arrangement.

    Weight decay first (see the module docstring; torch's ``decoupled_weight_decay=True`` is
    AdamW: ``p <- p (1 - lr wd)``).  Then ``m <- b1 m + (1 - b1) g``,
    ``v <- b2 v + (1 - b2) g^2``, and with ``amsgrad`` ``v_max <- max(v_max, v)`` replaces
    ``v`` below (the maximum of the *uncorrected* ``v``, in both frameworks):

    * torch:  ``p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)``
      (eps 1e-8): epsilon is added to the bias-corrected root.
    * Keras:  ``p <- p - (lr sqrt(1 - b2^t) / (1 - b1^t)) m / (sqrt(v) + eps)``
      (eps 1e-7): the correction is folded into the step size and epsilon is added to the
      *uncorrected* root ("epsilon hat"), i.e. a larger effective epsilon early on.  The step
      size is computed in the parameter's dtype (torch's in double).
    """

    name = "adam"
    DEFAULT_EPS: ClassVar[dict[str, float]] = {"torch": 1e-8, "keras": 1e-7}
    TORCH_ONLY: ClassVar[dict[str, str]] = {
        "decoupled_weight_decay": "with convention='keras', weight_decay is always decoupled",
    }

    def __init__(
        self,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float | None = None,
        convention: str = "torch",
        weight_decay: float = 0.0,
        *,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(lr, convention)
        label = self.label
        self.beta1 = check_real(label, "beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = check_real(label, "beta2", beta2, 0.0, 1.0, high_open=True)
        eps = self.DEFAULT_EPS[self.convention] if eps is None else eps
        self.eps = check_real(label, "eps", eps, 0.0)
        self.weight_decay = check_real(label, "weight_decay", weight_decay, 0.0)
        self.amsgrad = check_flag(label, "amsgrad", amsgrad)
        self.decoupled_weight_decay = check_flag(
            label, "decoupled_weight_decay", decoupled_weight_decay
        )
        self._torch_only("decoupled_weight_decay", self.decoupled_weight_decay, False)
        if self.decoupled_weight_decay and not self.weight_decay:
            raise ValueError("Adam decoupled_weight_decay=True needs weight_decay > 0")

    def options(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "convention": self.convention,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
            "decoupled_weight_decay": self.decoupled_weight_decay,
        }

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        t, b1, b2, lr = self.iterations, self.beta1, self.beta2, self.lr
        if self.decoupled_weight_decay:
            # torch AdamW: p <- p (1 - lr wd)   (param.mul_(1 - lr * weight_decay))
            p *= 1 - lr * self.weight_decay
        else:
            g = self._weight_decay(p, g, self.weight_decay)
        m = state.get("m", np.zeros_like(p))
        v = state.get("v", np.zeros_like(p))
        if self.convention == "torch":
            # torch computes the corrections in Python floats (double), as here; Python floats
            # (not float64 scalars) keep a float32 network float32.
            # m <- lerp(m, g, 1 - b1); v <- b2 v + (1 - b2) g^2
            m = _lerp(m, g, 1 - b1)
            v = v * b2 + (1 - b2) * (g * g)
            if self.amsgrad:
                # v_max <- max(v_max, v)
                state["v_max"] = np.maximum(state.get("v_max", np.zeros_like(p)), v)
            root = np.sqrt(state["v_max"] if self.amsgrad else v)
            # p <- p - (lr / (1 - b1^t)) (m / (sqrt(v) / (1 - b2^t)^0.5 + eps))
            step_size = lr / (1 - b1**t)
            denom = root / (1 - b2**t) ** 0.5 + self.eps
            p -= step_size * (m / denom)
        else:
            # m <- m + (g - m)(1 - b1); v <- v + (g^2 - v)(1 - b2)
            m = m + (g - m) * (1 - b1)
            v = v + (g * g - v) * (1 - b2)
            if self.amsgrad:
                # v_max <- max(v_max, v)
                state["v_max"] = np.maximum(state.get("v_max", np.zeros_like(p)), v)
            root = np.sqrt(state["v_max"] if self.amsgrad else v)
            # p <- p - (m alpha) / (sqrt(v) + eps), alpha = lr sqrt(1 - b2^t) / (1 - b1^t),
            # alpha in the parameter's dtype, as Keras computes it (ops.cast(beta, dtype)):
            # in float32, 1 - 0.999 loses 1e-5 relative to cancellation, in both.
            dt = p.dtype.type
            alpha = dt(lr) * np.sqrt(dt(1) - dt(b2) ** dt(t)) / (dt(1) - dt(b1) ** dt(t))
            p -= (m * alpha) / (root + self.eps)
        state["m"], state["v"] = m, v


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, RMSprop, Adam)}


def get_optimizer(name: str, **options: Any) -> Optimizer:
    """``get_optimizer("adam", lr=1e-3, convention="keras")``."""
    check_choice("optimizer", name, OPTIMIZERS)
    cls = OPTIMIZERS[name]
    check_keys(f"optimizer {name!r}", options, cls.accepted_options())
    if "lr" not in options:
        raise ValueError(f"optimizer {name!r} needs an explicit lr")
    return cls(**options)
