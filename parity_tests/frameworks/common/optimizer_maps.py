"""What every framework's optimizer table shares: each entry names the reference options it
maps (``maps``), and an option the entry does not map is refused by name when it is set away
from the reference's default, never silently dropped (a new option of a reference optimizer
is refused by every framework until its table maps it)."""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping
from typing import Any

from reference_nn import OPTIMIZERS


def reference_default(name: str, option: str) -> Any:
    """The reference optimizer ``name``'s default for ``option`` (from its signature);
    ``inspect.Parameter.empty`` for a required one."""
    parameters = inspect.signature(OPTIMIZERS[name].__init__).parameters
    return parameters[option].default if option in parameters else inspect.Parameter.empty


def unmapped_refusal(
    name: str, options: Mapping[str, Any], maps: Collection[str], framework: str
) -> str | None:
    """The refusal of the (resolved) ``options`` of ``name`` that are set away from their
    defaults and not in ``maps``; None when there is none.  ``convention`` is never one: it
    selects the formulation, which each table refuses with its own reason."""
    changed = sorted(
        key
        for key, value in options.items()
        if key not in (*maps, "convention") and value != reference_default(name, key)
    )
    if not changed:
        return None
    return f"the {name} option(s) {', '.join(changed)} (not mapped to {framework}'s optimizer)"
