"""Compiled functions shared by every model of a process that computes the same function.

A parity run builds one model per case, and the matrix's cases repeat their parts: 1,008 JAX
cases have 112 distinct networks-with-losses and 18 optimizers.  Compiling (``jax.jit``) or
tracing (``tf.function``) each model's gradient costs more than its 21 calls; compiled once
per structure, a case costs its calls.  An adapter asks for ``get(what, structure, make)``:

* ``structure`` is everything the function computes from besides its arguments (the spec
  less its optimizer, for a gradient), as a hashable value;
* the key also holds the identity of every object of the adapter's own modules (their
  attributes, the members of their dicts and lists, their classes' attributes, the layer
  tables): a test that plants an error by replacing or deleting one of them
  (``monkeypatch.setattr``, ``setitem``, ``delitem``) gets its own compilation,
  never the clean one compiled before, and the clean one is found again afterwards.  The
  objects are kept alive with the entry, so their ids stay unique;
* ``make()`` builds the compiled function from the asking model, the first of its structure;
  later models call it with their own parameters and state.

A model looks each of its functions up once and keeps it: ``get`` reads ~1,000 objects for
the key, and asking for the gradient and the update at every step took 350 us of a JAX matrix
step's 875 us (measured 2026-12-02).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from typing import Any


def spec_less_optimizer(spec: Any) -> tuple[tuple[str, str], ...]:
    """A spec's fields but its optimizer and options, as ``(name, repr)``: what a gradient
    computes from besides the parameters' values."""
    return tuple(
        (f.name, repr(getattr(spec, f.name)))
        for f in dataclasses.fields(spec)
        if f.name not in ("optimizer", "optimizer_options")
    )


class SharedCompiled:
    """One process-wide table of compiled functions for one adapter."""

    def __init__(self, modules: Iterable[str], tables: Callable[[], Iterable[Any]]) -> None:
        """``modules``: the adapter's module names (whatever a traced function reads);
        ``tables``: the layer tables' entries, read at each ``get``."""
        self.modules = tuple(modules)
        self.tables = tables
        self._entries: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}

    def code_in_use(self) -> list[Any]:
        """Every attribute of the modules, the members of those that are dicts, lists, sets
        or tuples (a table edited in place, ``monkeypatch.setitem`` / ``delitem``), the
        attributes of the classes the modules define, and the table entries."""
        modules = [importlib.import_module(name) for name in self.modules]
        attributes = [value for module in modules for value in vars(module).values()]
        members = [
            member
            for value in attributes
            if isinstance(value, (dict, list, set, frozenset, tuple))
            for member in ([*value.keys(), *value.values()] if isinstance(value, dict) else value)
        ]
        own_classes = [
            value
            for value in attributes
            if isinstance(value, type) and value.__module__ in self.modules
        ]
        return [
            *attributes,
            *members,
            *(value for cls in own_classes for value in vars(cls).values()),
            *self.tables(),
        ]

    def get(self, what: str, structure: Any, make: Callable[[], Any]) -> Any:
        code = self.code_in_use()
        key = (what, structure, tuple(id(obj) for obj in code))
        if key not in self._entries:
            self._entries[key] = (make(), code)
        return self._entries[key][0]

    def __len__(self) -> int:
        return len(self._entries)
