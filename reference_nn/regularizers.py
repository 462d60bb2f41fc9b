"""L2 regularisation in the three conventions of DESIGN.md, and the mapping between them.

For a weight matrix ``W`` (biases are never penalised here):

============  ===============================  =======================  ========================
convention    added to the loss                added to dL/dW           where it comes from
============  ===============================  =======================  ========================
``keras``     ``l * sum(W^2)``                 ``2 l W``                ``keras.regularizers.l2(l)``
``course``    ``lambda / (2 m) * sum(W^2)``    ``(lambda / m) W``       the course cost, m = batch
``torch``     nothing (not a loss term)        ``wd * W``               ``weight_decay=wd`` in
                                                                        ``torch.optim``
============  ===============================  =======================  ========================

So the three agree when ``wd = 2 l = lambda / m``.  torch's ``weight_decay`` is an option
of the optimizer and, unless parameter groups say otherwise, it also decays the biases;
the reference's torch-style optimizers therefore take ``weight_decay`` themselves
(:mod:`reference_nn.optimizers`), while this module covers the two loss-term conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import Array, check_choice

CONVENTIONS = ("keras", "course")


class L2:
    """An L2 penalty on weight matrices (parameter names ending in ``.W``), never biases."""

    def __init__(self, lam: float, convention: str = "keras") -> None:
        if lam < 0:
            raise ValueError(f"L2 strength must be >= 0, got {lam}")
        self.lam = float(lam)
        self.convention = check_choice("L2 convention", convention, CONVENTIONS)

    def params(self) -> dict[str, Any]:
        return {"lam": self.lam, "convention": self.convention}

    def _factor(self, batch_size: int) -> float:
        """The coefficient c in ``penalty = c * sum(W^2)``."""
        return self.lam if self.convention == "keras" else self.lam / (2.0 * batch_size)

    def penalty(self, weights: dict[str, Array], batch_size: int) -> float:
        c = self._factor(batch_size)
        return float(sum(c * np.sum(w * w) for name, w in weights.items() if _is_weight(name)))

    def gradients(self, weights: dict[str, Array], batch_size: int) -> dict[str, Array]:
        """``d penalty / dW = 2 c W`` for every weight matrix; biases get nothing."""
        c = self._factor(batch_size)
        return {name: (2.0 * c) * w for name, w in weights.items() if _is_weight(name)}

    def __repr__(self) -> str:
        return f"L2(lam={self.lam!r}, convention={self.convention!r})"


def _is_weight(name: str) -> bool:
    return name.endswith(".W")


def keras_l2_from_course(lam: float, batch_size: int) -> float:
    """Keras ``l2(l)`` equal to the course penalty ``lambda/(2m)`` for batches of ``m``."""
    return lam / (2.0 * batch_size)


def torch_weight_decay_from_keras(l2: float) -> float:
    """torch ``weight_decay`` that adds the same gradient as Keras ``l2(l)``: ``2 l``."""
    return 2.0 * l2
