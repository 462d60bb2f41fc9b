"""The worked examples: small networks from the seed articles, reproduced in NumPy and
cross-checked in PyTorch and Keras from the same initial weights.

``refnn examples`` lists them; ``refnn examples run NAME`` runs one.  Each example module
states the source's formulas, the sign conventions, and how the spec encodes them:

==========================  ===================================================
``xor_3_4_1``               :mod:`.xor`
``hand_2_1_1``              :mod:`.delta_rule`
``numeric_3_2_1``           :mod:`.delta_rule`
``logistic_l2_4_layer``     :mod:`.logistic_l2`
``fixed_2_3_2``             :mod:`.fixed`
==========================  ===================================================

(``housing_2_3_1`` is the housing experiment: ``refnn housing``.)
"""

from .example import Figure, WorkedExample
from .registry import EXAMPLES, get_example, mismatches, reproduce
from .trajectory import Trajectory, run

__all__ = [
    "EXAMPLES",
    "Figure",
    "Trajectory",
    "WorkedExample",
    "get_example",
    "mismatches",
    "reproduce",
    "run",
]
