"""One entry per registry entry of the reference (in the spirit of PyTorch's OpInfo): each
layer kind, activation, loss and optimizer, with its reference, its variants (the rows of the
case tables that exercise it: its sample inputs), the parity cases built from them, and what
each framework declares about it: implemented, or refused with a reason.

Nothing here is typed per entry: the entries are read from the reference's registries
(``LAYER_KINDS``, ``ACTIVATIONS``, ``LOSSES``, ``OPTIMIZERS``), the variants from the case
tables (:mod:`.variants`, :mod:`.layer_variants`), and the refusals from each registered
adapter's ``tables()`` and ``refusals()`` (:mod:`parity_tests.harness.protocol`).  The
matrix (:mod:`.matrix`) is built from the same tables, and the completeness test
(:mod:`.completeness`) reads these entries: an entry without a variant, or that a framework
neither implements nor refuses, is a gap.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from parity_tests.cases.case import Case
from parity_tests.cases.layer_variants import LAYER_VARIANTS
from parity_tests.cases.variants import HIDDEN, LOSS_VARIANTS, OPTIMIZER_VARIANTS
from parity_tests.harness import registry
from parity_tests.harness.protocol import CATEGORIES, used_entries
from reference_nn import ACTIVATIONS, LAYER_KINDS, LOSSES, OPTIMIZERS


@dataclass(frozen=True)
class Entry:
    category: str  # one of protocol.CATEGORIES
    name: str
    reference: Any  # the reference's class (a Layer, an Activation, an Optimizer) or factory
    variants: tuple[str, ...]  # the case-table rows that exercise it

    def cases(self) -> list[Case]:
        """Every parity case that uses this entry."""
        return [
            case for case in _all_cases() if self.name in used_entries(case.spec)[self.category]
        ]

    def status(self, framework: str) -> str | None:
        """None where ``framework`` implements this entry; its declared reason where it
        refuses it; "neither implemented nor refused" where its tables lack it (a gap)."""
        adapter = registry.get(framework)
        declared = adapter.refusals().get((self.category, self.name))
        if declared:
            return declared
        if adapter.gaps(self.category, [self.name]):
            return "neither implemented nor refused"
        return None

    def refusals(self, frameworks: Iterable[str] | None = None) -> dict[str, str]:
        """framework -> its reason, for each framework that does not implement this entry."""
        names = frameworks if frameworks is not None else registry.names(include_reference=False)
        return {fw: reason for fw in names if (reason := self.status(fw))}


def _variants(category: str, name: str) -> tuple[str, ...]:
    if category == "activation":
        hidden = (f"hidden:{name}",) if name in HIDDEN else ()
        outputs = tuple(f"output:{label}" for label, row in LOSS_VARIANTS.items() if row[2] == name)
        return hidden + outputs
    if category == "loss":
        return tuple(label for label, row in LOSS_VARIANTS.items() if row[0] == name)
    if category == "optimizer":
        return tuple(label for label, row in OPTIMIZER_VARIANTS.items() if row[0] == name)
    return tuple(
        label
        for label, (_, layers, _) in LAYER_VARIANTS.items()
        if any(lay.kind == name for lay in layers)
    )


def _references() -> dict[str, dict[str, Any]]:
    from reference_nn import get_loss

    return {
        "layer kind": dict(LAYER_KINDS),
        "activation": dict(ACTIVATIONS),
        "loss": {name: functools.partial(get_loss, name) for name in LOSSES},
        "optimizer": dict(OPTIMIZERS),
    }


def entries(category: str | None = None) -> list[Entry]:
    """Every entry (of ``category``), in registry order."""
    refs = _references()
    assert set(refs) == set(CATEGORIES)
    return [
        Entry(cat, name, ref, _variants(cat, name))
        for cat in CATEGORIES
        if category in (None, cat)
        for name, ref in refs[cat].items()
    ]


def entry(category: str, name: str) -> Entry:
    found = [e for e in entries(category) if e.name == name]
    if not found:
        raise KeyError(f"no {category} {name!r} in the reference's registries")
    return found[0]


@functools.cache
def _all_cases() -> tuple[Case, ...]:
    from parity_tests.cases.matrix import parity_cases

    return tuple(parity_cases())
