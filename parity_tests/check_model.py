"""``refnn check-model PATH [PATH ...]``: your own model against the NumPy reference.

Each PATH is a saved Keras model (``model.keras``) or a torch module given as ``module:attr``
(``my_models:net``, or ``path/to/file.py:make_net``; a callable is called with no
arguments).  The first model is converted (:mod:`.convert`) into a reference spec and
parameters; then every model given, *itself* (not a rebuilt copy), runs forward, loss,
gradients and one optimizer step on the same data, and each is compared with the reference
against the tolerance policy.  So ``refnn check-model net.py:model port.keras`` checks a torch
model and its Keras port against one reference: a weight, an activation or a layer that
differs in the port is reported, with the first step and layer where it parts.

Models are restored to their own parameters afterwards.  Exit status: 0 all within tolerance,
1 a difference, 2 a usage error (one line).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .adapter import Array, Model, run
from .compare import Comparison, compare_runs
from .convert import ConversionError, Converted, from_keras, from_torch


class CheckModelError(ValueError):
    """A usage error: one line, exit status 2."""


def framework_of(obj: Any) -> str:
    module = type(obj).__module__
    if module.startswith("torch"):
        return "torch"
    if module.startswith("keras") or module.startswith("tf_keras"):
        return "keras"
    raise CheckModelError(
        f"{type(obj).__module__}.{type(obj).__name__} is neither a torch module nor a Keras model"
    )


def convert(obj: Any, **spec_options: Any) -> Converted:
    fw = framework_of(obj)
    return from_torch(obj, **spec_options) if fw == "torch" else from_keras(obj, **spec_options)


def wrap(obj: Any, converted: Converted) -> Model:
    """An adapter model whose network *is* ``obj`` (the loss and optimizer come from the
    spec): the user's own module runs, not a copy rebuilt from the spec."""
    spec = converted.spec
    if framework_of(obj) == "torch":
        from .torch_mirror import TorchModel, _optimizer

        model = TorchModel(spec, converted.params)
        model.model = obj
        model.slots = dict(converted.slots)
        if hasattr(model, "state_slots"):
            model.state_slots = {}
        model.optimizer = _optimizer(spec, obj.parameters())
        model.groups = converted.groups  # type: ignore[attr-defined]
        return model
    from .keras_mirror import KerasModel

    km = KerasModel(spec, converted.params, loop="eager")
    km.model = obj
    km.slots = [(name, holder, attr) for name, (_, holder, attr) in converted.slots.items()]
    km.layers = [group[0] for group in converted.groups]  # one per reference layer
    km.groups = converted.groups  # type: ignore[attr-defined]
    km.variables = [v for _, v in km.named_variables()]
    return km


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
    """Each ``(label, model)`` against the reference made from the first model."""
    from reference_nn.losses import random_targets

    from . import registry
    from .divergence import step_and_locate

    if not models:
        raise CheckModelError("no model given")
    try:
        converted = [(label, obj, convert(obj, **spec_options)) for label, obj in models]
    except ConversionError as exc:
        raise CheckModelError(str(exc)) from None
    reference = converted[0][2]
    spec = reference.spec
    if X is None:
        rng = np.random.default_rng(seed)
        X = rng.normal(scale=0.5, size=(samples, *spec.input_shape))
        y = random_targets(spec.loss, rng, (samples, *spec.output_shape))
    if y is None:
        raise CheckModelError("X given without y")
    X, y = np.asarray(X, dtype=spec.dtype), np.asarray(y, dtype=spec.dtype)
    if X.shape[1:] != spec.input_shape or y.shape != (len(X), *spec.output_shape):
        raise CheckModelError(
            f"data of shapes X {X.shape}, y {y.shape}; the model takes "
            f"(N, {', '.join(map(str, spec.input_shape))}) -> (N, "
            f"{', '.join(map(str, spec.output_shape))})"
        )
    batches = [np.arange(len(X), dtype=np.int64)]
    ref_run = run(registry.get("numpy").build(spec, reference.params), X, y, batches)
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


# ------------------------------------------------------------------------------ loading
def load(path: str) -> Any:
    """A saved ``.keras`` model, or ``module:attr`` / ``file.py:attr`` (called if callable
    and not itself a model)."""
    if path.endswith((".keras", ".h5")):
        if not Path(path).is_file():
            raise CheckModelError(f"{path}: no such file")
        from . import frameworks

        return frameworks.keras().saving.load_model(path, compile=False)
    module_name, sep, attr = path.rpartition(":")
    if not sep or not module_name or not attr:
        raise CheckModelError(
            f"{path!r}: give a saved Keras model (.keras) or a torch module as module:attr"
        )
    if module_name.endswith(".py"):
        if not Path(module_name).is_file():
            raise CheckModelError(f"{module_name}: no such file")
        spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise CheckModelError(f"cannot import {module_name}: {exc}") from None
    if not hasattr(module, attr):
        raise CheckModelError(f"{module_name} has no attribute {attr!r}")
    obj = getattr(module, attr)
    is_model = hasattr(obj, "parameters") or hasattr(obj, "layers")
    return obj() if callable(obj) and not is_model else obj


def main(args: argparse.Namespace) -> int:
    from . import frameworks

    try:
        models = [(p, load(p)) for p in args.paths]
        X = y = None
        if args.data:
            if not Path(args.data).is_file():
                raise CheckModelError(f"{args.data}: no such file")
            with np.load(args.data) as data:
                if "X" not in data or "y" not in data:
                    raise CheckModelError(f"{args.data} must hold arrays named X and y")
                X, y = data["X"], data["y"]
        options = {
            "loss": args.loss,
            "optimizer": args.optimizer,
            "optimizer_options": {"lr": args.lr},
        }
        checks = check_models(models, X, y, samples=args.samples, seed=args.seed, **options)
        spec = convert(models[0][1], **options).spec
    except (CheckModelError, frameworks.FrameworkUnavailable, ValueError) as exc:
        print(f"refnn check-model: {exc}", file=sys.stderr)
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
    p.set_defaults(handler=main)
