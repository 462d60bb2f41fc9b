"""Reference vs framework for one worked example: which quantities, which metric, which limit.

Quantities, each a dict of tensors by reference parameter name:

* ``grads``          gradients at the initial parameters
* ``step_1``         parameters after one update
* ``step_<steps>``   parameters at the end of the run (for xor_3_4_1 after 10,000 updates,
  for fixed_2_3_2 after 50,001)
* ``loss_history``   the loss at every ``k = 0..steps`` as one vector

Metric: the normwise relative error of ``parity_tests.harness.compare.tensor_error``.  Limits: the
policy in ``parity_tests.harness.tolerances``: ``grads``, ``step_1`` and ``steps`` (which ``step_N``
maps to for any N).  The long runs stay inside ``steps`` with a margin of ten (measured worst
3.1e-15 over all five examples, both frameworks: see docs/worked_examples.md), because every
example here converges smoothly; a run through an unstable stretch would not (see
:mod:`.logistic_l2`).  The loss history, a vector, uses the ``loss`` limit: its norm is
dominated by the early, large losses, so late relative noise on a tiny loss (xor's final
loss 5.4e-5 carries ~4e-14 relative, from cancellation in ``y - yhat``) is weighed fairly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trajectory import Trajectory


@dataclass(frozen=True)
class Row:
    framework: str
    quantity: str
    tensor: str
    normwise_rel: float
    max_abs: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.normwise_rel <= self.tolerance

    def message(self) -> str:
        verdict = "ok" if self.passed else "EXCEEDS"
        return (
            f"{self.framework:>6} {self.quantity:<14} {self.tensor:<8} "
            f"normwise rel {self.normwise_rel:9.2e}  max abs {self.max_abs:9.2e}  "
            f"tolerance {self.tolerance:7.1e}  {verdict}"
        )


def _limit(dtype: str, quantity: str, reference: Trajectory) -> float:
    from parity_tests.harness.tolerances import tolerance

    q = "loss" if quantity == "loss_history" else quantity
    return tolerance(dtype, q, kinds=reference.kinds, case=reference.example)


def quantities(traj: Trajectory) -> dict[str, dict[str, np.ndarray]]:
    out = {"grads": traj.grads, "step_1": traj.params[1] if traj.steps >= 1 else {}}
    out[f"step_{traj.steps}"] = traj.final_params
    out["loss_history"] = {"loss": np.asarray(traj.losses)}
    return {k: v for k, v in out.items() if v}


def compare_trajectories(
    reference: Trajectory, other: Trajectory, dtype: str = "float64"
) -> list[Row]:
    """Every tensor of every quantity, reference vs ``other`` (same steps required)."""
    from parity_tests.harness.compare import tensor_error

    if reference.steps != other.steps:
        raise ValueError(f"runs of {reference.steps} and {other.steps} steps do not compare")
    ref_q, other_q = quantities(reference), quantities(other)
    rows = []
    for quantity, tensors in ref_q.items():
        for name, a in tensors.items():
            e = tensor_error(a, other_q[quantity][name])
            rows.append(
                Row(
                    other.framework,
                    quantity,
                    name,
                    e.normwise_rel,
                    e.max_abs,
                    _limit(dtype, quantity, reference),
                )
            )
    return rows


def worst_by_quantity(rows: list[Row]) -> dict[str, Row]:
    """The row with the largest error for each (framework, quantity kind)."""
    out: dict[str, Row] = {}
    for row in rows:
        kind = "final" if row.quantity.startswith("step_") and row.quantity != "step_1" else None
        key = f"{row.framework}:{kind or row.quantity}"
        if key not in out or row.normwise_rel > out[key].normwise_rel:
            out[key] = row
    return out
