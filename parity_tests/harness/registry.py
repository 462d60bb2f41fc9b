"""The framework registry: name -> adapter.  Adding a framework is one adapter module (see
:mod:`.adapter` for the protocol) plus one line in ``FRAMEWORKS``.

Entries are ``"module:Class"`` strings, imported on first use, so naming a framework costs
nothing until it is used: ``refnn housing --frameworks numpy`` imports no torch, TensorFlow
or JAX.  The parity suite, the report, the worked examples and the housing run all look
frameworks up here.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from parity_tests.harness.protocol import Adapter

FRAMEWORKS: dict[str, str | Adapter] = {
    "numpy": "parity_tests.frameworks.numpy.adapter:NumpyAdapter",
    "torch": "parity_tests.frameworks.torch.adapter:TorchAdapter",
    "keras": "parity_tests.frameworks.keras.adapter:KerasAdapter",
    "jax": "parity_tests.frameworks.jax.adapter:JaxAdapter",
    # one Keras adapter, once per backend; each runs in a process with that KERAS_BACKEND
    "keras-jax": "parity_tests.frameworks.keras.adapter:KerasJaxAdapter",
    "keras-torch": "parity_tests.frameworks.keras.adapter:KerasTorchAdapter",
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


def loads_here(name: str) -> bool:
    """Whether framework ``name`` imports in this process (installed, and for a Keras backend,
    this process's backend)."""
    from parity_tests.harness.loaders import FrameworkUnavailable

    try:
        get(name).load()
    except FrameworkUnavailable:
        return False
    return True


def loadable(*, include_reference: bool = True) -> list[str]:
    """Every registered framework that imports in this process, in registry order."""
    return [n for n in names(include_reference=include_reference) if loads_here(n)]


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


def keras_of_backend(backend: str) -> str:
    """The registered name of the Keras adapter for ``backend`` ("keras" on TensorFlow)."""
    for name in FRAMEWORKS:
        if getattr(get(name), "backend", None) == backend:
            return name
    raise KeyError(f"no Keras adapter is registered for the {backend} backend")


T = TypeVar("T")


def process_backend(name: str) -> str | None:
    """The Keras backend ``name`` needs when it is not this process's (``"jax"`` for
    ``keras-jax`` in a TensorFlow process), else None: it then runs in a process of its own
    (:func:`in_backend_process`), because Keras reads ``KERAS_BACKEND`` once, at import."""
    from parity_tests.harness.loaders import keras_backend

    backend = getattr(get(name), "backend", None)
    return backend if backend is not None and backend != keras_backend() else None


def _set_backend(backend: str) -> None:
    os.environ["KERAS_BACKEND"] = backend


def in_backend_process(backend: str, fn: Callable[..., T], *args: Any, group: Any = None) -> T:
    """``fn(*args)`` in a fresh ("spawn") process whose Keras backend is ``backend``; ``fn``,
    its arguments and its result must pickle.  The process dies with this one, and is stopped
    with ``group`` (:mod:`parity_tests.harness.workers`)."""
    from parity_tests.harness.workers import run_in_process

    return run_in_process(fn, *args, initializer=_set_backend, initargs=(backend,), group=group)


def _versions_of(name: str) -> dict[str, str]:
    adapter = get(name)
    adapter.load()
    return adapter.versions()


def versions(
    frameworks: Sequence[str] | None = None,
    *,
    known: dict[str, dict[str, str]] | None = None,
    include_reference: bool = True,
) -> dict[str, str]:
    """Library versions of the named frameworks (default: all that import), for report
    headers; a framework that is not installed is listed as such.  A Keras backend other than
    this process's is asked in a process of its own, unless ``known`` has its versions
    already (by framework name, as that process reported them)."""
    from parity_tests.harness.loaders import FrameworkUnavailable

    known = known or {}
    out: dict[str, str] = {}
    chosen = list(frameworks if frameworks is not None else names())
    for name in [REFERENCE, *chosen] if include_reference else chosen:
        try:
            backend = process_backend(name)
            if name in known:
                found = known[name]
            elif backend is None:
                found = _versions_of(name)
            else:
                found = in_backend_process(backend, _versions_of, name)
            # the same library (keras) on several backends: one entry per backend
            out.update(
                {k if k not in out or out[k] == v else f"{k} ({name})": v for k, v in found.items()}
            )
        except FrameworkUnavailable:
            out[name] = "not installed"
    return out
