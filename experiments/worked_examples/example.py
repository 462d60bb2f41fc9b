"""What a worked example is: a network, its data, its initial weights, its training, and the
numbers its source article published.

An example is data only.  The spec (a reference_nn ``NetworkSpec``) drives all three
implementations; ``params`` are the source's initial weights in the reference layout
(``W`` is ``(n_in, n_out)``, names ``"0.W"``, ``"0.b"``, ``"1.W"``...), copied unchanged
into PyTorch and Keras.  ``published`` holds each figure as the article printed it, with the
number of decimals it was printed to, so a test can check a reproduction at exactly the
precision the source supports and no more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import NetworkSpec

Array = NDArray[np.float64]
Params = dict[str, Array]
Runner = Callable[..., Any]  # (example, steps=None) -> Trajectory, in one framework


@dataclass(frozen=True)
class Figure:
    """One published number (or array), and how precisely it was printed.

    ``decimals``: printed to that many places after the point (``0.0057``: 4);
    ``significant``: printed to that many significant figures (``0.12183``: 5).
    Exactly one of the two is set.  ``what`` says in words which quantity it is.
    """

    what: str
    value: Any
    decimals: int | None = None
    significant: int | None = None

    def __post_init__(self) -> None:
        if (self.decimals is None) == (self.significant is None):
            raise ValueError(f"{self.what}: give exactly one of decimals / significant")

    def half_unit(self) -> Array:
        """Half a unit in the last printed place, elementwise: the rounding interval."""
        value = np.abs(np.asarray(self.value, dtype=np.float64))
        if self.decimals is not None:
            return np.full_like(value, 0.5 * 10.0 ** (-self.decimals))
        exponent = np.floor(np.log10(np.where(value > 0, value, 1.0)))
        return 0.5 * 10.0 ** (exponent - (self.significant or 0) + 1)

    def mismatch(self, reproduced: Any) -> str | None:
        """None if ``reproduced`` rounds to the published value, else a readable message.

        A reproduced number may differ from the printed one by at most half a unit in the
        last printed place (plus a hair for the binary representation of the printed value).
        """
        got = np.asarray(reproduced, dtype=np.float64)
        want = np.asarray(self.value, dtype=np.float64)
        if got.size == want.size:  # (1, 1) vs a printed scalar, (2, 1) vs a printed row
            got = got.reshape(want.shape)
        else:
            return f"{self.what}: shape {got.shape}, published {want.shape}"
        slack = self.half_unit() * (1 + 1e-9)
        bad = np.abs(got - want) > slack
        if not bad.any():
            return None
        return (
            f"{self.what}: reproduced {np.array2string(got, precision=8)} does not round to "
            f"the published {np.array2string(want, precision=8)} "
            f"(worst excess {float(np.max(np.abs(got - want) - slack)):.3e})"
        )


@dataclass(frozen=True)
class WorkedExample:
    """A network from a source article, ready to run in NumPy, PyTorch and Keras.

    ``steps``: full-batch gradient steps (every example here trains on its whole data set
    each step, as its source did).  ``report_every``: the source printed its loss every this
    many steps (0: it printed no loss history).  ``figures(example, run)`` computes the
    published quantities (same keys as ``published``, plus anything else the source printed)
    from ``run(example, steps)``, a function that trains ``example`` in one framework and
    returns its :class:`~.trajectory.Trajectory`.
    """

    name: str
    title: str
    source: str  # the source article: its title and address
    spec: NetworkSpec
    X: Array
    y: Array
    params: Params
    steps: int
    report_every: int = 0
    published: dict[str, Figure] = field(default_factory=dict)
    figures: Callable[[WorkedExample, Runner], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        # Fail where the example is written, not inside a framework: targets must have the
        # prediction's shape (reference_nn/_checks.py), and parameters must fit the spec exactly.
        net = self.spec.build_network()
        net.set_parameters(self.params)
        if self.y.shape != (len(self.X), *self.spec.output_shape):
            raise ValueError(f"{self.name}: targets {self.y.shape} do not match the outputs")

    def network(self, params: Params | None = None) -> Any:
        """A fresh reference network holding ``params`` (default: the initial ones)."""
        net = self.spec.build_network()
        net.set_parameters(self.params if params is None else params)
        return net

    def with_changes(self, **changes: Any) -> WorkedExample:
        """A copy with some fields replaced (used by the negative controls)."""
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return WorkedExample(**{**fields, **changes})


def as_array(rows: Any) -> Array:
    """A float64 2-D array (the reference refuses silent dtype changes, so be explicit)."""
    return np.array(rows, dtype=np.float64, ndmin=2)
