"""Optimizers in torch's and in Keras's formulation, each option named.

Every optimizer updates a dict of parameter arrays in place from a dict of gradients with the
same names, and keeps its state (velocities, moments) under those names.  Where torch and
Keras write the same idea differently, ``convention`` selects which one is computed, and the
formulas below are the ones in the installed sources (torch 2.13 ``_single_tensor_*`` paths,
Keras 3 ``update_step``), including the order of operations, because rounding follows it.

``g`` gradient, ``p`` parameter, ``lr`` learning rate, ``t`` step count (1 on the first step).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ._checks import Array, check_choice, check_keys

CONVENTIONS = ("torch", "keras")


class Optimizer:
    name: ClassVar[str]

    def __init__(self, lr: float, convention: str) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        self.lr = float(lr)
        self.convention = check_choice("optimizer convention", convention, CONVENTIONS)
        self.iterations = 0
        self.state: dict[str, dict[str, Array]] = {}

    def params(self) -> dict[str, Any]:
        """Every option, resolved: what a spec stores."""
        raise NotImplementedError

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """Update every parameter in ``params`` in place, from ``grads`` of the same names."""
        if set(params) != set(grads):
            raise KeyError(
                f"gradient names {sorted(grads)} do not match parameter names {sorted(params)}"
            )
        self.iterations += 1
        for name, p in params.items():
            g = grads[name]
            if g.shape != p.shape or g.dtype != p.dtype:
                raise ValueError(
                    f"gradient for {name} has shape {g.shape}/{g.dtype}, "
                    f"parameter {p.shape}/{p.dtype}"
                )
            self._update(name, p, g, self.state.setdefault(name, {}))

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        raise NotImplementedError

    def _decayed(self, p: Array, g: Array, weight_decay: float) -> Array:
        # torch's weight_decay is L2 folded into the gradient, before any momentum:
        # g <- g + wd * p (for every parameter, biases included).
        return g + weight_decay * p if weight_decay else g

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({options})"


class SGD(Optimizer):
    """Gradient descent, optionally with momentum ``mu`` (classical or Nesterov).

    * plain:                 ``p <- p - lr g``  (both frameworks)
    * torch momentum:        ``v <- mu v + g`` (``v = g`` on the first step); ``p <- p - lr v``
    * torch Nesterov:        ``v`` as above; ``p <- p - lr (g + mu v)``
    * Keras momentum:        ``v <- mu v - lr g``; ``p <- p + v``
    * Keras Nesterov:        ``v <- mu v - lr g``; ``p <- p + (mu v - lr g)``

    torch's ``v`` is Keras's ``-v / lr``, so with a constant learning rate the trajectories
    are the same up to rounding; under a changing learning rate they are not.
    """

    name = "sgd"

    def __init__(
        self,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        convention: str = "torch",
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, convention)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        if weight_decay and convention != "torch":
            raise ValueError("weight_decay is torch's option; for Keras use an L2 regularizer")
        self.momentum, self.nesterov, self.weight_decay = float(momentum), nesterov, weight_decay

    def params(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "convention": self.convention,
            "weight_decay": self.weight_decay,
        }

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        lr, mu = self.lr, self.momentum
        if mu == 0:
            p -= lr * g
        elif self.convention == "torch":
            g = self._decayed(p, g, self.weight_decay)
            if "v" not in state:
                state["v"] = g.copy()  # torch starts the buffer at the first gradient
            else:
                state["v"] = mu * state["v"] + g
            step = g + mu * state["v"] if self.nesterov else state["v"]
            p -= lr * step
        else:
            v = state.get("v", np.zeros_like(p))
            v = v * mu - g * lr
            state["v"] = v
            p += (v * mu - g * lr) if self.nesterov else v


class RMSprop(Optimizer):
    """Divide the step by a running root-mean-square of the gradient.

    * torch:  ``v <- alpha v + (1 - alpha) g^2``; ``p <- p - lr g / (sqrt(v) + eps)``
      (defaults alpha 0.99, eps 1e-8)
    * Keras:  ``v <- rho v + (1 - rho) g^2``;   ``p <- p - lr g / sqrt(v + eps)``
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
    ) -> None:
        super().__init__(lr, convention)
        default_rho, default_eps = self.DEFAULTS[self.convention]
        self.rho = default_rho if rho is None else float(rho)
        self.eps = default_eps if eps is None else float(eps)
        if weight_decay and convention != "torch":
            raise ValueError("weight_decay is torch's option; for Keras use an L2 regularizer")
        self.weight_decay = weight_decay

    def params(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "rho": self.rho,
            "eps": self.eps,
            "convention": self.convention,
            "weight_decay": self.weight_decay,
        }

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        g = self._decayed(p, g, self.weight_decay)
        v = state.get("v", np.zeros_like(p))
        if self.convention == "torch":
            v = v * self.rho + (1 - self.rho) * (g * g)
            p -= self.lr * (g / (np.sqrt(v) + self.eps))
        else:
            v = self.rho * v + (1 - self.rho) * (g * g)
            p -= (self.lr * g) / np.sqrt(v + self.eps)
        state["v"] = v


class Adam(Optimizer):
    """Adam with bias correction, in each framework's arrangement.

    With ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``:

    * torch:  ``p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)``
      (eps 1e-8): epsilon is added to the bias-corrected root.
    * Keras:  ``p <- p - (lr sqrt(1 - b2^t) / (1 - b1^t)) m / (sqrt(v) + eps)``
      (eps 1e-7): the correction is folded into the step size and epsilon is added to the
      *uncorrected* root ("epsilon hat"), i.e. a larger effective epsilon early on.
    """

    name = "adam"
    DEFAULT_EPS: ClassVar[dict[str, float]] = {"torch": 1e-8, "keras": 1e-7}

    def __init__(
        self,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float | None = None,
        convention: str = "torch",
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, convention)
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = self.DEFAULT_EPS[self.convention] if eps is None else float(eps)
        if weight_decay and convention != "torch":
            raise ValueError("weight_decay is torch's option; for Keras use an L2 regularizer")
        self.weight_decay = weight_decay

    def params(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "convention": self.convention,
            "weight_decay": self.weight_decay,
        }

    def _update(self, name: str, p: Array, g: Array, state: dict[str, Array]) -> None:
        g = self._decayed(p, g, self.weight_decay)
        t, b1, b2 = self.iterations, self.beta1, self.beta2
        m = state.get("m", np.zeros_like(p))
        v = state.get("v", np.zeros_like(p))
        # Python floats (not NumPy scalars) for the corrections: a float64 scalar would
        # silently upcast a float32 network.
        if self.convention == "torch":
            m = m + (1 - b1) * (g - m)  # torch: exp_avg.lerp_(grad, 1 - beta1)
            v = v * b2 + (1 - b2) * (g * g)
            step_size = self.lr / (1 - b1**t)
            denom = np.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
            p -= step_size * (m / denom)
        else:
            m = m + (g - m) * (1 - b1)
            v = v + (g * g - v) * (1 - b2)
            alpha = self.lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            p -= (m * alpha) / (np.sqrt(v) + self.eps)
        state["m"], state["v"] = m, v


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, RMSprop, Adam)}


def get_optimizer(name: str, **params: Any) -> Optimizer:
    """``get_optimizer("adam", lr=1e-3, convention="keras")``."""
    check_choice("optimizer", name, OPTIMIZERS)
    cls = OPTIMIZERS[name]
    allowed = cls.__init__.__code__.co_varnames[1 : cls.__init__.__code__.co_argcount]
    check_keys(f"optimizer {name!r}", params, allowed)
    if "lr" not in params:
        raise ValueError(f"optimizer {name!r} needs an explicit lr")
    return cls(**params)
