"""Declared options: what a layer kind (or a spec field) accepts, checked with one message rule.

A layer kind lists its options as :class:`Option` entries; :func:`resolve` checks a given
mapping against them and fills in defaults.  Every refusal is one line that names where the
value was found, the value, and what is allowed, e.g.::

    layer 0 (dense): option 'use_bias' must be a bool (true/false), got 'false' (str)

JSON has no tuples and no distinction between 2 and 2.0 for some writers, so the rules are
stated for JSON values: an integer option takes an int (not a bool, not 2.7, not "4"); a
float option takes an int or a float (not a bool); a bool option takes true/false only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class SpecError(ValueError):
    """A spec (or a layer's options) that cannot describe a network; the message says why."""


_REQUIRED = object()


@dataclass(frozen=True)
class Option:
    """One named option: its JSON type, its default (absent: required) and its range.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``str``, ``dict``, ``int_tuple``;
    ``choices`` limits a ``str``; ``check`` returns an error fragment ("must be >= 1") or None.
    """

    kind: str
    default: Any = _REQUIRED
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    check: Callable[[Any], str | None] | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


def at_least(lower: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= lower else f"must be >= {lower}"


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_value(where: str, name: str, option: Option, value: Any) -> Any:
    """``value`` converted to its Python form (tuples for ``int_tuple``), or SpecError."""

    def fail(what: str) -> SpecError:
        return SpecError(f"{where}: option {name!r} {what}, got {_describe(value)}")

    kind = option.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail("must be a bool (true/false)")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail("must be an integer")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail("must be a number")
        if not math.isfinite(value):
            raise fail("must be finite")
        value = float(value)
    elif kind == "str":
        if not isinstance(value, str):
            raise fail("must be a string")
        choices = option.choices() if callable(option.choices) else option.choices
        if choices is not None and value not in choices:
            raise fail(f"must be one of {', '.join(sorted(choices))}")
    elif kind == "dict":
        if not isinstance(value, Mapping):
            raise fail("must be an object (a mapping of names to values)")
        value = dict(value)
    elif kind == "int_tuple":
        items = value if isinstance(value, list | tuple) else [value]
        if not items or any(isinstance(v, bool) or not isinstance(v, int) for v in items):
            raise fail("must be an integer or a list of integers")
        value = tuple(items)
    else:  # pragma: no cover - a declaration error, not user input
        raise TypeError(f"unknown option kind {kind!r}")
    if option.check is not None:
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            problem = option.check(v)
            if problem:
                raise fail(problem)
    return value


def resolve(where: str, schema: Mapping[str, Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``given`` against ``schema``: unknown and missing names, types, ranges; defaults
    filled in.  The result holds every option, in the schema's order."""
    if not isinstance(given, Mapping):
        raise SpecError(f"{where}: options must be an object, got {_describe(given)}")
    unknown = sorted(set(given) - set(schema))
    if unknown:
        raise SpecError(
            f"{where}: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(schema) or 'none'}"
        )
    out: dict[str, Any] = {}
    for name, option in schema.items():
        if name in given:
            out[name] = check_value(where, name, option, given[name])
        elif option.required:
            raise SpecError(f"{where}: option {name!r} is required ({option.kind})")
        else:
            out[name] = option.default
    return out
