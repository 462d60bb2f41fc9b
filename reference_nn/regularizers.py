"""L2 regularisation in the frameworks' and the course's conventions, and how they map.

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
    """An L2 penalty on the weights it is given; the network hands it only the parameters its
    layers declare as weights (``Layer.weight_names``), never biases."""

    def __init__(self, lam: float, convention: str = "keras") -> None:
        if lam < 0:
            raise ValueError(f"L2 strength must be >= 0, got {lam}")
        self.lam = float(lam)
        self.convention = check_choice("L2 convention", convention, CONVENTIONS)

    def options(self) -> dict[str, Any]:
        return {"lam": self.lam, "convention": self.convention}

    def coefficient(self, batch_size: int) -> float:
        """The coefficient c in ``penalty = c * sum(W^2)``."""
        return self.lam if self.convention == "keras" else self.lam / (2.0 * batch_size)

    def penalty(self, weights: dict[str, Array], batch_size: int) -> float:
        """``c * sum(W^2)`` over every array in ``weights``."""
        c = self.coefficient(batch_size)
        return float(sum(c * np.sum(w * w) for w in weights.values()))

    def gradients(self, weights: dict[str, Array], batch_size: int) -> dict[str, Array]:
        """``d penalty / dW = 2 c W`` for every array in ``weights``."""
        c = self.coefficient(batch_size)
        return {name: (2.0 * c) * w for name, w in weights.items()}

    def __repr__(self) -> str:
        return f"L2(lam={self.lam!r}, convention={self.convention!r})"
