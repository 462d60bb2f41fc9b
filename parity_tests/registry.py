"""The framework registry: name -> adapter.  Adding a framework is one adapter module (see
:mod:`.adapter` for the protocol) plus one line in ``FRAMEWORKS``.

Entries are ``"module:Class"`` strings, imported on first use, so naming a framework costs
nothing until it is used: ``refnn housing --frameworks numpy`` imports no torch, TensorFlow
or JAX.  The parity suite, the report, the worked examples and the housing run all look
frameworks up here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from .adapter import Adapter

FRAMEWORKS: dict[str, str | Adapter] = {
    "numpy": "parity_tests.numpy_adapter:NumpyAdapter",
    "torch": "parity_tests.torch_mirror:TorchAdapter",
    "keras": "parity_tests.keras_mirror:KerasAdapter",
    "jax": "parity_tests.jax_adapter:JaxAdapter",
    # one Keras adapter, once per backend; each runs in a process with that KERAS_BACKEND
    "keras-jax": "parity_tests.keras_mirror:KerasJaxAdapter",
    "keras-torch": "parity_tests.keras_mirror:KerasTorchAdapter",
}
REFERENCE = "numpy"

_loaded: dict[str, Adapter] = {}


def names(*, include_reference: bool = True) -> list[str]:
    return [n for n in FRAMEWORKS if include_reference or n != REFERENCE]


def get(name: str) -> Adapter:
    """The adapter registered as ``name`` (its framework is not imported until it is used)."""
    if name not in FRAMEWORKS:
        raise KeyError(f"unknown framework {name!r}; valid: {', '.join(FRAMEWORKS)}")
    entry = FRAMEWORKS[name]
    if isinstance(entry, Adapter):
        return entry
    if name not in _loaded:
        module, _, attr = entry.partition(":")
        _loaded[name] = getattr(importlib.import_module(module), attr)()
    return _loaded[name]


def register(name: str, adapter: str | Adapter) -> None:
    """Add (or replace) a framework: an ``Adapter`` instance or a ``"module:Class"`` path."""
    FRAMEWORKS[name] = adapter
    _loaded.pop(name, None)


def unregister(name: str) -> None:
    FRAMEWORKS.pop(name, None)
    _loaded.pop(name, None)


def parse_frameworks(text: str) -> list[str]:
    """``"numpy,torch"`` -> the names, in order; ValueError (one line, the valid names) for an
    unknown, repeated or empty list."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in FRAMEWORKS]
    if unknown or not chosen:
        raise ValueError(
            f"unknown framework(s) {', '.join(unknown) or '(none given)'}; "
            f"valid: {', '.join(FRAMEWORKS)}"
        )
    repeated = sorted({name for name in chosen if chosen.count(name) > 1})
    if repeated:
        raise ValueError(f"framework(s) named twice: {', '.join(repeated)}")
    return chosen


def versions(frameworks: Sequence[str] | None = None) -> dict[str, str]:
    """Library versions of the named frameworks (default: all that import), for report
    headers; a framework that is not installed is listed as such."""
    from .frameworks import FrameworkUnavailable

    out: dict[str, str] = {}
    for name in [REFERENCE, *(frameworks if frameworks is not None else names())]:
        try:
            adapter = get(name)
            adapter.load()
            out.update(adapter.versions())
        except FrameworkUnavailable:
            out[name] = "not installed"
    return out
