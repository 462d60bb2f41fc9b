"""Helpers for test suites that run frameworks: used by this project's tests (tests/parity) and
its tier plugin (tests/tiers.py), importable by a user's suite too.

``load_or_skip``: a missing framework skips with a reason, or fails when
REFNN_REQUIRE_FRAMEWORKS=1 (CI); another Keras backend's framework always skips (its own
process runs it).  ``item_frameworks``: the registered frameworks a collected test exercises.
"""

from __future__ import annotations

import pytest

from parity_tests.harness import loaders, registry


def load_or_skip(name: str) -> None:
    try:
        registry.get(name).load()
    except loaders.OtherBackendProcess as exc:
        pytest.skip(str(exc))  # never a failure: that backend's own process runs it
    except loaders.FrameworkUnavailable as exc:
        if loaders.frameworks_required():
            pytest.fail(f"{exc} ({loaders.REQUIRE_ENV} is set: frameworks are required)")
        pytest.skip(str(exc))


def item_frameworks(item: pytest.Item) -> set[str]:
    """The registered frameworks a collected test exercises: its ``framework`` / ``fw``
    parameter, and the session fixtures ``torch`` / ``keras`` / ``jax``."""
    out: set[str] = set()
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for key in ("framework", "fw"):
            value = callspec.params.get(key)
            if isinstance(value, str) and value in registry.FRAMEWORKS:
                out.add(value)
    out |= {name for name in ("torch", "keras", "jax") if name in getattr(item, "fixturenames", ())}
    return out
