"""What a run produces, the same for all three implementations, and the NumPy run itself.

A run starts from given parameters and data and records: the forward output and the loss on
the whole data set, the gradients there, and the parameters after each checkpoint step of the
given batch sequence.  Everything is keyed by the reference's parameter names, in the
reference's layout (``W`` is ``(n_in, n_out)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from reference_nn import NetworkSpec

Array = NDArray[np.floating]
Params = dict[str, Array]


@dataclass
class RunResult:
    output: Array
    loss: Array  # 0-d array, in the run's dtype
    grads: Params
    after: dict[int, Params] = field(default_factory=dict)  # step number -> parameters

    def quantities(self) -> dict[str, dict[str, Array]]:
        """Flat view for comparison: quantity -> {tensor name -> array}."""
        out: dict[str, dict[str, Array]] = {
            "forward": {"output": self.output},
            "loss": {"loss": np.asarray(self.loss)},
            "grads": self.grads,
        }
        for step, params in self.after.items():
            out[f"step_{step}"] = params
        return out


def checkpoints(n_steps: int) -> tuple[int, ...]:
    return tuple(sorted({1, n_steps}))


def run_reference(
    spec: NetworkSpec, params: Params, X: Array, y: Array, batches: Sequence[NDArray[np.int64]]
) -> RunResult:
    net = spec.build_network()
    net.set_parameters(params)
    loss, grads = net.loss_and_gradients(X, y)
    result = RunResult(output=net.forward(X).copy(), loss=np.asarray(loss), grads=grads)
    optimizer = spec.build_optimizer()
    marks = checkpoints(len(batches))
    for step, idx in enumerate(batches, start=1):
        _, g = net.loss_and_gradients(X[idx], y[idx])
        optimizer.step(net.parameters, g)
        if step in marks:
            result.after[step] = net.get_parameters()
    return result
