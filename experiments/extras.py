"""Which optional extra of the package each command needs, checked before any work.

``pip install reference-nn`` brings NumPy alone: the library, ``refnn demo`` and the NumPy runs.
The frameworks (``[frameworks]``) and the experiments' plotting, progress bars and scikit-learn
data (``[experiments]``) are extras.  A command that needs one refuses in one line naming it,
before it trains anything, rather than dying on an import at the end of a run.  Presence is
asked with ``importlib.util.find_spec``, which imports nothing: the check costs no framework
import.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable

PACKAGE = "reference-nn"

# import name -> (the name pip knows it by, the extra of pyproject.toml that brings it)
MODULES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "frameworks"),
    "tensorflow": ("tensorflow-cpu", "frameworks"),
    "keras": ("keras", "frameworks"),
    "jax": ("jax", "frameworks"),
    "optax": ("optax", "frameworks"),
    "matplotlib": ("matplotlib", "experiments"),
    "tqdm": ("tqdm", "experiments"),
    "sklearn": ("scikit-learn", "experiments"),
    "threadpoolctl": ("scikit-learn", "experiments"),  # comes with scikit-learn
}


def framework_modules(frameworks: Iterable[str]) -> list[str]:
    """The modules the named frameworks of ``parity_tests.harness.registry`` import (Keras: its
    backend's too, ``KERAS_BACKEND``, TensorFlow when unset)."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    keras_backend = {"tensorflow": ["tensorflow"], "jax": ["jax", "optax"], "torch": ["torch"]}
    needs = {
        "numpy": [],
        "torch": ["torch"],
        "jax": ["jax", "optax"],
        "keras": ["keras", *keras_backend.get(backend, [])],
        "keras-jax": ["keras", "jax", "optax"],
        "keras-torch": ["keras", "torch"],
    }
    out: list[str] = []
    for name in frameworks:
        out += [m for m in needs.get(name, []) if m not in out]
    return out


def missing(modules: Iterable[str]) -> list[str]:
    """Those of ``modules`` that are not installed, in order, each once."""
    out: list[str] = []
    for module in modules:
        if module not in out and importlib.util.find_spec(module) is None:
            out.append(module)
    return out


def install_hint(modules: Iterable[str]) -> str:
    """``pip install "reference-nn[frameworks,experiments]"``: the extras that bring
    ``modules`` (a module outside the table is named for pip as it is)."""
    extras: list[str] = []
    others: list[str] = []
    for module in modules:
        pip_name, extra = MODULES.get(module, (module, ""))
        if extra and extra not in extras:
            extras.append(extra)
        elif not extra and pip_name not in others:
            others.append(pip_name)
    parts = [f'"{PACKAGE}[{",".join(sorted(extras))}]"'] if extras else []
    return "pip install " + " ".join(parts + others)


def refusal(what: str, modules: Iterable[str]) -> str | None:
    """One line for a command that needs ``modules`` when some are not installed, else None:
    ``housing --frameworks torch needs torch (not installed): pip install "reference-nn[...]"``."""
    absent = missing(modules)
    if not absent:
        return None
    names = list(dict.fromkeys(MODULES.get(m, (m, ""))[0] for m in absent))
    verb = "is" if len(names) == 1 else "are"
    return f"{what} needs {', '.join(names)}, which {verb} not installed: {install_hint(absent)}"
