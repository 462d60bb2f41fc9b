"""Keeps the registries, the parity matrix and the framework adapters in step.

Every activation, loss, optimizer formulation and layer kind the reference registers must be
exercised by some case of the parity cases (:func:`parity_cases`: the matrix, the layer-kind
cases and the random CNNs), and for every registered framework either run by some
case or declared unsupported with a reason.  Everything is derived from the registries: no
count is typed in, so a new registry entry without a matrix case (or an adapter that neither
runs nor refuses it) is reported by :func:`coverage_gaps`.
"""

from __future__ import annotations

from collections.abc import Iterable

from parity_tests.cases.catalog import entries
from parity_tests.cases.matrix import N_RANDOM_LAYERS, Case, parity_cases
from parity_tests.harness import registry
from reference_nn import ACTIVATIONS, LAYER_KINDS, LOSSES, OPTIMIZERS
from reference_nn.optimizers import CONVENTIONS

__all__ = ["N_RANDOM_LAYERS", "coverage_gaps", "exercised", "parity_cases", "registered"]


def formulations() -> set[str]:
    """Every optimizer in every convention: ``"adam/keras"``, ``"sgd/torch"``..."""
    return {f"{name}/{convention}" for name in OPTIMIZERS for convention in CONVENTIONS}


def exercised(case: Case) -> dict[str, set[str]]:
    """What one case exercises, per category."""
    spec = case.spec
    options = [lay.options for lay in spec.layers]
    return {
        "activation": {o["activation"] for o in options if "activation" in o},
        "loss": {spec.loss},
        "optimizer formulation": {
            f"{spec.optimizer}/{spec.optimizer_options.get('convention', 'torch')}"
        },
        "layer kind": {lay.kind for lay in spec.layers},
        "layer convention": {
            f"{lay.kind}/{lay.options['convention']}"
            for lay in spec.layers
            if "convention" in lay.options
        },
    }


def registered() -> dict[str, set[str]]:
    return {
        "activation": set(ACTIVATIONS),
        "loss": set(LOSSES),
        "optimizer formulation": formulations(),
        "layer kind": set(LAYER_KINDS),
        "layer convention": {
            f"{kind}/{convention}"
            for kind, cls in LAYER_KINDS.items()
            if "convention" in cls.OPTIONS
            for convention in cls.OPTIONS["convention"].choices or ()  # type: ignore[union-attr]
        },
    }


def coverage_gaps(cases: Iterable[Case], frameworks: Iterable[str] | None = None) -> list[str]:
    """One line per registry entry that no case exercises, that some framework refuses in
    every case without a reason, or that some framework's tables neither implement nor refuse
    (:meth:`catalog.Entry.status`)."""
    cases = list(cases)
    names = list(frameworks) if frameworks is not None else registry.names(include_reference=False)
    seen = [(case, exercised(case)) for case in cases]
    gaps = []
    for category, names_in_category in registered().items():
        for name in sorted(names_in_category):
            with_entry = [case for case, ex in seen if name in ex[category]]
            if not with_entry:
                gaps.append(f"{category} {name!r} is exercised by no parity case")
                continue
            for fw in names:
                reasons = [registry.get(fw).refusal(case.spec) for case in with_entry]
                if None in reasons:
                    continue  # runs somewhere
                if not all(reasons):
                    gaps.append(f"{fw} refuses {category} {name!r} without a reason")
    for entry in entries():
        for fw in names:
            if entry.status(fw) == "neither implemented nor refused":
                gaps.append(
                    f"{fw} neither implements nor refuses {entry.category} {entry.name!r}: add "
                    f"it to the tables of parity_tests/frameworks/{fw.split('-')[0]}/ or declare "
                    "a refusal with its reason"
                )
    return gaps
