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

Per-layer traces come from each framework's model internals, one tracer per framework in
``TRACERS`` (a new framework adds one entry; without one, only the step is reported):
``NumpyModel.network.layers``, ``TorchModel.model`` (an ``nn.Sequential``, split into each
reference layer's modules by the kind's entry in :mod:`.torch_layers`), ``KerasModel.layers``
(one Keras layer per reference layer) and ``JaxModel.forward`` (differentiated with respect to
a zero added to each layer's output, which gives that layer's ``dL/d(output)``).  Activations
are compared in the reference layout; a layer kind whose framework layout differs (channels
first) would need its translation here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity_tests.harness import registry
from parity_tests.harness.compare import tensor_error
from parity_tests.harness.protocol import Array, Model, Params
from parity_tests.harness.tolerances import tolerance


@dataclass
class LayerTrace:
    output: Array
    # dL/d(output of this layer); None where the loss does not read the output: a loss on the
    # logits behind it (Keras on TensorFlow with a softmax or sigmoid output layer)
    grad_out: Array | None
    grads: dict[str, Array]  # this layer's parameter gradients, by reference name ("1.W")


@dataclass
class Trace:
    inputs: Array
    layers: list[LayerTrace]


# ------------------------------------------------------------------------------ tracers
def _copy(grad: Any) -> Array | None:
    """A framework's gradient as a NumPy copy; None stays None (nothing flowed there)."""
    if grad is None:
        return None
    return np.array(grad.numpy() if hasattr(grad, "numpy") else grad)


TRACERS: dict[str, Callable[[Any, Array, Array], Trace | None]] = {
    "numpy": lambda model, X, y: model.trace(X, y),
    "torch": lambda model, X, y: model.trace(X, y),
    "keras": lambda model, X, y: model.trace(X, y),
    "jax": lambda model, X, y: model.trace(X, y),
}


def trace(framework: str, model: Model, X: Array, y: Array) -> Trace | None:
    """Per-layer forward and backward of ``model`` on ``(X, y)``; None without a tracer."""
    tracer = TRACERS.get(framework)
    return tracer(model, X, y) if tracer else None


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
        ta, tb = trace(reference, ref, xb, yb), trace(framework, other, xb, yb)
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
