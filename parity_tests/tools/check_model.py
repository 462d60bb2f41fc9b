"""``refnn check-model PATH [PATH ...]``: your own model against the NumPy reference.

Each PATH is a saved Keras model (``model.keras``) or a torch module given as ``module:attr``
(``my_models:net``, or ``path/to/file.py:make_net``; a callable is called with no
arguments).  The first model is converted (:mod:`.convert`) into a reference spec and
parameters; then every model given, *itself* (not a rebuilt copy), runs forward, loss,
gradients and one optimizer step on the same data, and each is compared with the reference
against the tolerance policy.  So ``refnn check-model net.py:model port.keras`` checks a torch
model and its Keras port against one reference: a weight, an activation or a layer that
differs in the port is reported, with the first step and layer where it parts.

A cross-entropy (``--loss bce`` / ``cce``) takes the convention the first model's framework
computes (:meth:`Adapter.loss_options`): Keras on TensorFlow reads the logits behind a
sigmoid or softmax output layer, so a confident (saturated) batch agrees with the reference
only under ``logits``; the reference spec printed first names the convention used.

Models are restored to their own parameters afterwards.  Exit status: 0 all within tolerance,
1 a difference, 2 a usage error: one line, found before any model runs (a file or module that
cannot give a model, a loss that does not fit the output layer, options, data).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity_tests.harness.compare import Comparison, compare_runs
from parity_tests.harness.protocol import Array, Model, run
from parity_tests.tools.convert import ConversionError, Converted, convert, owner
from parity_tests.tools.model_files import CheckModelError, framework_of, load, load_data, one_line

__all__ = ["CheckModelError", "check_models", "convert", "format_report", "wrap"]


def wrap(obj: Any, converted: Converted) -> Model:
    """An adapter model whose network *is* ``obj`` (the loss and optimizer come from the
    spec): the user's own module runs, not a copy rebuilt from the spec."""
    return owner(obj).wrap(obj, converted)


@dataclass
class ModelCheck:
    label: str
    framework: str
    comparisons: list[Comparison]
    problems: list[str]  # architecture differences, the first divergence
    divergence: str = ""

    @property
    def passed(self) -> bool:
        return not self.problems and all(c.passed for c in self.comparisons)


def _architecture_differences(ref: Any, other: Any) -> list[str]:
    out = []
    if ref.input_shape != other.input_shape:
        out.append(f"input shape {other.input_shape}, reference {ref.input_shape}")
    if len(ref.layers) != len(other.layers):
        out.append(f"{len(other.layers)} layers, reference {len(ref.layers)}")
    for i, (a, b) in enumerate(zip(ref.build_layers(), other.build_layers(), strict=False)):
        if (a.kind, dict(a.options)) != (b.kind, dict(b.options)):
            out.append(
                f"layer {i}: {b.kind} {dict(b.options)}, reference {a.kind} {dict(a.options)}"
            )
    if ref.dtype != other.dtype:
        out.append(f"dtype {other.dtype}, reference {ref.dtype}")
    return out


def _expected_output(spec: Any) -> str | None:
    """Why ``spec``'s loss does not fit its output layer, or None.  A cross-entropy reads what
    its output activation makes (probabilities from a sigmoid or softmax, raw scores from an
    identity layer); any other pairing compares a framework's quirk, not the model (Keras on
    TensorFlow reads the logits behind a sigmoid or softmax output even under ``*_logits``)."""
    from reference_nn.losses import OUTPUT_ACTIVATION

    expected = OUTPUT_ACTIVATION.get(spec.loss)
    last = spec.layers[-1]
    output = last.options.get("activation") if last.kind == "dense" else None
    if expected is None or output == expected:
        return None
    fitting = sorted(name for name, act in OUTPUT_ACTIVATION.items() if act == output)
    hint = f"use --loss {' or '.join(fitting)}" if fitting else "or choose a loss that fits it"
    made = f"a dense layer with activation {output!r}" if output else f"a {last.kind} layer"
    return (
        f"loss {spec.loss!r} needs an output layer with activation {expected!r}, but the "
        f"model ends in {made}: {hint}"
    )


def _data(spec: Any, X: Any, y: Any, samples: int, seed: int) -> tuple[Array, Array]:
    """The data the check runs on, checked: given (``X`` and ``y``) or drawn (``samples``)."""
    from reference_nn._checks import AllocationError, check_allocation
    from reference_nn.losses import random_targets

    first = spec.build_layers()[0]
    integer_input = getattr(first, "integer_input", False)
    if X is None:
        if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
            raise CheckModelError(f"samples must be a whole number >= 1, got {samples!r}")
        size = samples * (int(np.prod(spec.input_shape)) + int(np.prod(spec.output_shape)))
        try:
            check_allocation(size * 8, f"{samples:,} samples", "use fewer --samples")
        except AllocationError as exc:
            raise CheckModelError(str(exc)) from None
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise CheckModelError(f"seed must be a whole number >= 0, got {seed!r}")
        rng = np.random.default_rng(seed)
        if integer_input:  # an embedding: indices into its table
            X = rng.integers(0, first.input_dim, size=(samples, *spec.input_shape))
        else:
            X = rng.normal(scale=0.5, size=(samples, *spec.input_shape))
        y = random_targets(spec.loss, rng, (samples, *spec.output_shape))
    if y is None:
        raise CheckModelError("X given without y: give both, or neither for random data")
    X, y = _numeric(X, "X", integer_input), _numeric(y, "y", False)
    if X.ndim == 0 or X.shape[1:] != spec.input_shape or y.shape != (len(X), *spec.output_shape):
        raise CheckModelError(
            f"data of shapes X {X.shape}, y {y.shape}; the model takes "
            f"(N, {', '.join(map(str, spec.input_shape))}) -> (N, "
            f"{', '.join(map(str, spec.output_shape))})"
        )
    if len(X) == 0:
        raise CheckModelError("the data has 0 samples: give at least one")
    if integer_input:
        return X.astype(np.int64), y.astype(spec.dtype)
    return X.astype(spec.dtype), y.astype(spec.dtype)


def _numeric(a: Any, name: str, integer: bool) -> np.ndarray:
    """``a`` as a real array with finite values (integers where ``integer``), else one line."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise CheckModelError(f"{name} is not an array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise CheckModelError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if integer and arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
        raise CheckModelError(f"{name} must hold integer indices (the first layer is an embedding)")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise CheckModelError(
            f"{name} holds NaN or infinity at {tuple(np.argwhere(~np.isfinite(arr))[0])}"
        )
    return arr


def check_models(
    models: list[tuple[str, Any]],
    X: Array | None = None,
    y: Array | None = None,
    *,
    samples: int = 16,
    seed: int = 0,
    explain: bool = True,
    **spec_options: Any,
) -> list[ModelCheck]:
    """Each ``(label, model)`` against the reference made from the first model.  A usage error
    (a model, option or data the check cannot take) raises :class:`CheckModelError`, one line,
    before any model runs."""
    from parity_tests.harness import registry
    from parity_tests.harness.divergence import step_and_locate
    from reference_nn import DTypeError

    if not models:
        raise CheckModelError("no model given")
    converted = []
    for label, obj in models:
        try:
            converted.append((label, obj, convert(obj, **spec_options)))
        except (ConversionError, ValueError, TypeError) as exc:  # SpecError: options, dtype
            raise CheckModelError(f"{label}: {one_line(exc)}") from None
    for label, _, conv in converted:
        for name, value in conv.params.items():
            if not np.isfinite(value).all():
                index = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
                raise CheckModelError(
                    f"{label}: parameter {name} holds {value[index]} at {index}: the model's "
                    "weights must be finite numbers"
                )
    reference = converted[0][2]
    spec = reference.spec
    if len(spec.output_shape) != 1:
        raise CheckModelError(
            f"the model's output has shape {spec.output_shape} per sample; the losses take one "
            "vector per sample: end the model with a Flatten and/or a Dense layer"
        )
    reason = _expected_output(spec)
    if reason:
        raise CheckModelError(reason)
    X, y = _data(spec, X, y, samples, seed)
    batches = [np.arange(len(X), dtype=np.int64)]
    try:  # the reference checks the data's values (targets' domain, softmax rows...)
        ref_run = run(registry.get("numpy").build(spec, reference.params), X, y, batches)
    except (ValueError, DTypeError) as exc:
        raise CheckModelError(f"the data: {one_line(exc)}") from None
    out = []
    for label, obj, conv in converted:
        fw = framework_of(obj)
        problems = _architecture_differences(spec, conv.spec)
        check = ModelCheck(label, fw, [], problems)
        out.append(check)
        if any(not p.startswith("layer ") for p in problems):
            continue  # shapes differ: nothing to compare element by element
        model = wrap(obj, conv)
        try:
            check.comparisons = compare_runs(
                label, fw, spec.dtype, ref_run, run(model, X, y, batches)
            )
            if explain and not check.passed:
                model.set_parameters(conv.params)
                ref_model = registry.get("numpy").build(spec, reference.params)
                found = step_and_locate(
                    ref_model,
                    model,
                    "numpy",
                    fw,
                    spec.dtype,
                    X,
                    y,
                    batches,
                    same_parameters=False,
                )
                check.divergence = str(found) if found else "no divergence in the stepped run"
        finally:
            model.set_parameters(conv.params)  # the user's model as it was
    return out


def format_report(checks: list[ModelCheck], spec: Any) -> str:
    lines = [f"reference spec (from {checks[0].label}): {spec.to_json()}"]
    for check in checks:
        verdict = "ok" if check.passed else "DIFFERS"
        lines.append(f"\n{check.label} ({check.framework}) vs the NumPy reference: {verdict}")
        lines += [f"  architecture: {p}" for p in check.problems]
        for c in check.comparisons:
            mark = "ok" if c.passed else "FAIL"
            lines.append(
                f"  {c.quantity:<8} {c.tensor:<8} normwise rel {c.error.normwise_rel:9.2e}  "
                f"tolerance {c.tolerance:7.1e}  {mark}"
            )
        if check.divergence:
            lines.append(f"  {check.divergence}")
    return "\n".join(lines)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The spec options the command line gives, checked before any model is loaded."""
    from reference_nn import get_loss, get_optimizer

    options: dict[str, Any] = {
        "loss": args.loss,
        "optimizer": args.optimizer,
        "optimizer_options": {"lr": args.lr},
    }
    try:
        get_loss(args.loss)
        get_optimizer(args.optimizer, lr=args.lr)
    except (ValueError, TypeError) as exc:
        raise CheckModelError(one_line(exc)) from None
    if args.input_shape:
        try:
            shape = tuple(int(n) for n in args.input_shape.split(","))
        except ValueError:
            shape = ()
        if not shape or min(shape) < 1:
            raise CheckModelError(
                f"--input-shape {args.input_shape!r}: give positive whole numbers separated "
                "by commas (5, or 6,3)"
            )
        options["input_shape"] = shape
    return options


def main(args: argparse.Namespace) -> int:
    from parity_tests.harness import loaders

    try:
        options = _options(args)
        X = y = None
        if args.data:
            X, y = load_data(args.data)
        models = [(p, load(p)) for p in args.paths]
        checks = check_models(models, X, y, samples=args.samples, seed=args.seed, **options)
        spec = convert(models[0][1], **options).spec  # as check_models made it
    except (CheckModelError, loaders.FrameworkUnavailable) as exc:
        print(f"refnn check-model: {one_line(exc, 1000)}", file=sys.stderr)
        return 2
    print(format_report(checks, spec))
    return 0 if all(c.passed for c in checks) else 1


def register(sub: Any) -> None:
    """``refnn check-model``: added to the command by :mod:`experiments.cli`."""
    p = sub.add_parser(
        "check-model",
        help="check your own torch / Keras model (and its ports) against the NumPy reference",
        description="Convert the first model into a reference spec and parameters, then run "
        "every model given (forward, loss, gradients, one optimizer step) against the "
        "reference on the same data.",
    )
    p.add_argument("paths", nargs="+", help="model.keras, or module:attr / file.py:attr (torch)")
    p.add_argument("--loss", default="mse", help="the loss (default mse)")
    p.add_argument("--optimizer", default="sgd", help="the optimizer (default sgd)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--data", default="", help="an .npz with arrays X and y (default: random)")
    p.add_argument("--samples", type=int, default=16, help="random samples (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    p.add_argument(
        "--input-shape",
        default="",
        help="the shape of one sample, e.g. 6 or 6,3: for a torch model that does not say "
        "(one starting with an Embedding)",
    )
    p.set_defaults(handler=main)
