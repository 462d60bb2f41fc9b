"""What converting a user's model gives (:meth:`Adapter.convert`): the spec, the parameters in
the reference's names and layout, and where in the user's model each lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import NetworkSpec


class ConversionError(ValueError):
    """The model holds something the reference has no layer kind for (one line, says what)."""


@dataclass
class Converted:
    spec: NetworkSpec
    params: dict[str, NDArray[np.floating]]  # the protocol's Params (imported by it)
    # reference name ("0.W") -> (kind, the framework object holding it, its attribute)
    slots: dict[str, tuple[str, Any, str]] = field(default_factory=dict)
    # reference layer index -> the framework objects that compute it, in order
    groups: list[list[Any]] = field(default_factory=list)
