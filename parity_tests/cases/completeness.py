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

from parity_tests.cases.matrix import DTYPES, Case, layer_cases, matrix, random_layer_case
from parity_tests.harness import registry
from reference_nn import ACTIVATIONS, LAYER_KINDS, LOSSES, OPTIMIZERS
from reference_nn.optimizers import CONVENTIONS

N_RANDOM_LAYERS = 10  # seeded random CNNs per dtype in the parity suite


def parity_cases() -> list[Case]:
    """Every case the parity suite runs: the matrix (dense networks), one case per layer-kind
    variant and dtype, and the seeded random CNNs."""
    randoms = [random_layer_case(s, d) for s in range(N_RANDOM_LAYERS) for d in DTYPES]
    return matrix() + layer_cases() + randoms


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
    """One line per registry entry that no case exercises, or that some framework neither
    runs in any case nor declares unsupported with a reason."""
    cases = list(cases)
    names = list(frameworks) if frameworks is not None else registry.names(include_reference=False)
    seen = [(case, exercised(case)) for case in cases]
    gaps = []
    for category, entries in registered().items():
        for entry in sorted(entries):
            with_entry = [case for case, ex in seen if entry in ex[category]]
            if not with_entry:
                gaps.append(f"{category} {entry!r} is exercised by no parity case")
                continue
            for fw in names:
                reasons = [registry.get(fw).refusal(case.spec) for case in with_entry]
                if None in reasons:
                    continue  # runs somewhere
                if not all(reasons):
                    gaps.append(f"{fw} refuses {category} {entry!r} without a reason")
    return gaps
