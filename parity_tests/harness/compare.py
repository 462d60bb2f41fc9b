"""Error metrics per tensor and readable mismatch reports.

For a reference tensor ``a`` and a framework tensor ``b``:

* ``max_abs``       max |a - b|
* ``max_rel``       max |a - b| / max(|a|, |b|, tiny), elementwise
* ``normwise_rel``  ||a - b|| / max(||a||, ||b||, tiny): the pass/fail metric, because it is
  not fooled by one near-zero element, yet a planted error of any visible size moves it
* ``max_ulp``       largest distance in units in the last place (adjacent floats = 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from parity_tests.harness.protocol import RunResult
from parity_tests.harness.tolerances import tolerance

TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class TensorError:
    max_abs: float
    max_rel: float
    normwise_rel: float
    max_ulp: int
    worst_index: tuple[int, ...]
    reference_value: float
    framework_value: float


def _ordinal(x: np.ndarray) -> np.ndarray:
    """Map floats to integers whose difference counts representable floats between them."""
    itype = {np.dtype(np.float64): np.int64, np.dtype(np.float32): np.int32}[x.dtype]
    bits = x.view(itype).astype(np.int64)
    return np.where(bits < 0, np.int64(np.iinfo(itype).min) - bits, bits)


def tensor_error(a: np.ndarray, b: np.ndarray, floor: float = TINY) -> TensorError:
    """The error of ``b`` against ``a``; ``floor``: the smallest norm the difference is
    measured against (a tensor that is rounding noise around zero is measured against the
    size of the quantity it belongs to, see ``compare_runs``)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: reference {a.shape}, framework {b.shape}")
    if a.dtype != b.dtype:
        raise ValueError(f"dtype mismatch: reference {a.dtype}, framework {b.dtype}")
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)).astype(np.float64), TINY)
    rel = diff / scale
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    norm = max(
        float(np.linalg.norm(a.astype(np.float64))),
        float(np.linalg.norm(b.astype(np.float64))),
        floor,
    )
    ulp = np.abs(_ordinal(np.ascontiguousarray(a)) - _ordinal(np.ascontiguousarray(b)))
    return TensorError(
        max_abs=float(diff.max(initial=0.0)),
        max_rel=float(rel.max(initial=0.0)),
        normwise_rel=float(np.linalg.norm(diff)) / norm,
        max_ulp=int(ulp.max(initial=0)),
        worst_index=tuple(int(i) for i in worst),
        reference_value=float(a[worst]) if diff.size else 0.0,
        framework_value=float(b[worst]) if diff.size else 0.0,
    )


@dataclass(frozen=True)
class Comparison:
    case: str
    framework: str
    quantity: str  # forward, loss, grads, step_1, step_20
    tensor: str  # parameter name ("0.W") or "output" / "loss"
    error: TensorError
    tolerance: float
    dtype: str

    @property
    def passed(self) -> bool:
        return self.error.normwise_rel <= self.tolerance

    def message(self) -> str:
        e = self.error
        return (
            f"{self.case} [{self.framework}, {self.dtype}] {self.quantity} {self.tensor}: "
            f"normwise relative error {e.normwise_rel:.3e} > tolerance {self.tolerance:.1e}; "
            f"worst at index {e.worst_index}: reference {e.reference_value!r}, "
            f"{self.framework} {e.framework_value!r} (abs {e.max_abs:.3e}, {e.max_ulp} ulp)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "error"},
            **asdict(self.error),
            "passed": self.passed,
        }


def compare_runs(
    case: str,
    framework: str,
    dtype: str,
    reference: RunResult,
    other: RunResult,
    kinds: frozenset[str] = frozenset(),
    noise: frozenset[str] = frozenset(),
) -> list[Comparison]:
    """Every tensor of every quantity, reference vs framework, each against the tolerance for
    its dtype, quantity, framework and the network's layer ``kinds``.  Tensors named in
    ``noise`` (a gradient that is zero by the layer's mathematics, and the parameter it moves)
    are measured against the norm of their whole quantity (every tensor of it together)."""
    ref_q, other_q = reference.quantities(), other.quantities()
    if set(ref_q) != set(other_q):
        raise ValueError(f"quantities differ: {sorted(ref_q)} vs {sorted(other_q)}")
    out = []
    for quantity, tensors in ref_q.items():
        if set(tensors) != set(other_q[quantity]):
            raise ValueError(
                f"{quantity}: tensors {sorted(tensors)} vs {sorted(other_q[quantity])}"
            )
        tol = tolerance(dtype, quantity, framework, kinds, case)
        whole = TINY  # the quantity's norm: needed only when a noise tensor is in it
        if noise & set(tensors):
            squares = sum(np.sum(np.square(t, dtype=np.float64)) for t in tensors.values())
            whole = max(float(np.sqrt(squares)), TINY)
        for name, a in tensors.items():
            floor = whole if name in noise else TINY
            out.append(
                Comparison(
                    case,
                    framework,
                    quantity,
                    name,
                    tensor_error(a, other_q[quantity][name], floor),
                    tol,
                    dtype,
                )
            )
    return out


def failures(comparisons: list[Comparison]) -> list[str]:
    return [c.message() for c in comparisons if not c.passed]
