"""The first divergence: the first step, then the first layer, where two runs part.

Steps: both frameworks are built from the same parameters and stepped together with their own
``Model.step``; after each step the parameters are compared against the tolerance policy.  At
the first step ``k`` where they part, both models are set back to the reference's parameters
before that step and step ``k``'s forward and backward pass is traced layer by layer:

* forward: the first layer whose input agrees but whose output differs;
* backward (walking from the loss down): the first layer whose incoming gradient
  ``dL/d(output)`` agrees but whose parameter gradient (or outgoing ``dL/d(input)``) differs;
  an incoming gradient that already differs at the last layer is the loss's gradient;
* neither: the passes agree layer by layer, so the optimizer update itself differs.

Steps count from 1 (step 1 is the first update); layers from 0 (the spec's ``layers[i]``).

Per-layer traces come from each model's ``Model.trace`` (the protocol; each framework's
``frameworks/<name>/trace.py``): a model that cannot trace (Keras on a backend other than
TensorFlow) returns None, and only the step is reported.  Activations are compared in the
reference layout, which every trace returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity_tests.harness import registry
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.protocol import Array, Model, Params, Trace
from parity_tests.harness.tolerances import tolerance


# ------------------------------------------------------------------------------ locating
@dataclass(frozen=True)
class Divergence:
    step: int
    layer: int | None  # None: the loss or the optimizer update
    where: str  # "forward", "backward", "loss gradient", "update", "untraced"
    detail: str

    def __str__(self) -> str:
        layer = "" if self.layer is None else f", layer {self.layer}"
        return f"first divergence at step {self.step}{layer} ({self.where}): {self.detail}"


def _rel(a: Array, b: Array) -> float:
    return tensor_error(a, b).normwise_rel


def locate(ref: Trace, other: Trace, dtype: str) -> tuple[int | None, str, str]:
    """``(layer, where, detail)`` of the first layer where two traces of one pass part."""
    fwd, bwd = tolerance(dtype, "forward"), tolerance(dtype, "grads")
    for i, (a, b) in enumerate(zip(ref.layers, other.layers, strict=True)):
        e = _rel(a.output, b.output)
        if e > fwd:
            return i, "forward", f"inputs agree, output differs (normwise rel {e:.2e} > {fwd:.0e})"
    last = len(ref.layers) - 1
    for i in reversed(range(len(ref.layers))):
        a, b = ref.layers[i], other.layers[i]
        # without dL/d(output) on either side (a loss on logits), the layer's parameter
        # gradients are compared alone
        untraced = a.grad_out is None or b.grad_out is None
        e = 0.0 if untraced else _rel(a.grad_out, b.grad_out)
        if e > bwd:
            if i == last:
                return None, "loss gradient", f"outputs agree, dL/d(output) differs ({e:.2e})"
            return (
                i + 1,
                "backward",
                f"incoming gradient agrees, its gradient to its input differs ({e:.2e})",
            )
        for name in sorted(a.grads):
            e = _rel(a.grads[name], b.grads[name])
            if e > bwd:
                incoming = (
                    "the loss reads the logits behind this layer (no dL/d(output) to compare)"
                    if untraced
                    else "incoming gradient agrees"
                )
                return (
                    i,
                    "backward",
                    f"{incoming}, {name} gradient differs (normwise rel {e:.2e} > {bwd:.0e})",
                )
    return None, "update", "forward and backward agree layer by layer; the optimizer step differs"


def first_divergence(
    spec: Any,
    params: Params,
    X: Array,
    y: Array,
    batches: Sequence[Any],
    framework: str,
    *,
    reference: str = registry.REFERENCE,
    options: dict[str, Any] | None = None,
    max_steps: int | None = None,
    reference_spec: Any = None,
) -> Divergence | None:
    """Step ``reference`` (on ``reference_spec``, default ``spec``) and ``framework`` together
    over ``batches``; at the first step where the parameters part beyond tolerance, trace that
    step layer by layer.  None if they never part (within ``max_steps``)."""
    ref = registry.get(reference).build(reference_spec or spec, params)
    other = registry.get(framework).build(spec, params, **(options or {}))
    return step_and_locate(ref, other, reference, framework, spec.dtype, X, y, batches, max_steps)


def step_and_locate(
    ref: Model,
    other: Model,
    reference: str,
    framework: str,
    dtype: str,
    X: Array,
    y: Array,
    batches: Sequence[Any],
    max_steps: int | None = None,
    *,
    same_parameters: bool = True,
) -> Divergence | None:
    """:func:`first_divergence` for two models already built.  ``same_parameters``: trace the
    parting step with both at the reference's parameters (models built from the same ones);
    False: each at its own (models whose parameters differ from the start)."""
    for k, idx in enumerate(batches[:max_steps] if max_steps else batches, start=1):
        xb, yb = X[idx], y[idx]
        before, before_other = ref.parameters(), other.parameters()
        ref.step(xb, yb)
        other.step(xb, yb)
        pa, pb = ref.parameters(), other.parameters()
        tol = tolerance(dtype, "step_1" if k == 1 else "steps")
        parted = [n for n in pa if _rel(pa[n], pb[n]) > tol]
        if not parted:
            continue
        ref.set_parameters(before)
        other.set_parameters(before if same_parameters else before_other)
        ta, tb = ref.trace(xb, yb), other.trace(xb, yb)
        if ta is None or tb is None:
            return Divergence(k, None, "untraced", f"parameters {', '.join(parted)} part")
        layer, where, detail = locate(ta, tb, dtype)
        return Divergence(k, layer, where, detail)
    return None


def explain_case(case: Any, framework: str, *, reference_spec: Any = None, **options: Any) -> str:
    """One line for a failure message: where ``framework`` first parts from the reference on
    ``case`` (a :class:`~parity_tests.cases.matrix.Case`)."""
    X, y, params, batches = case.materialize()
    try:
        found = first_divergence(
            case.spec,
            params,
            X,
            y,
            batches,
            framework,
            options=options,
            reference_spec=reference_spec,
        )
    except Exception as exc:  # the explanation must never hide the failure it explains
        return f"first divergence: could not trace ({type(exc).__name__}: {exc})"
    if found is None:
        return (
            "first divergence: none in the stepped parameters (the difference is in the "
            "full-data forward/backward or a compiled loop only)"
        )
    return str(found)
