"""What ``refnn check-model`` reads from its arguments, each checked before any model runs: a
saved Keras model (its file signature first), a torch module given as ``module:attr`` or
``file.py:attr`` (a callable is called with no arguments), and an ``.npz`` of ``X`` and
``y``.  Every refusal is one line (:class:`CheckModelError`, exit status 2)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from parity_tests.tools.convert import ConversionError, owner


class CheckModelError(ValueError):
    """A usage error: one line, exit status 2."""


def framework_of(obj: Any) -> str:
    """The registered name of the framework ``obj`` is a model of (CheckModelError if none)."""
    try:
        return owner(obj).name
    except ConversionError as exc:
        raise CheckModelError(str(exc)) from None


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut at ``limit`` characters (a framework's message
    can run to pages)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# the first bytes of each saved-model format Keras reads
_SIGNATURES = {".keras": (b"PK\x03\x04", "a zip archive"), ".h5": (b"\x89HDF\r\n\x1a\n", "HDF5")}


def _existing_file(path: str, what: str) -> Path:
    file = Path(path)
    if file.is_dir():
        raise CheckModelError(f"{path} is a directory; give {what}")
    if not file.is_file():
        raise CheckModelError(f"{path}: no such file")
    if file.stat().st_size == 0:
        raise CheckModelError(f"{path} is empty; give {what}")
    return file


def _load_keras(path: str) -> Any:
    from parity_tests.harness import loaders

    file = _existing_file(path, "the file a Keras model was saved to (model.save)")
    signature, kind = _SIGNATURES[file.suffix]
    with file.open("rb") as f:
        if f.read(len(signature)) != signature:
            raise CheckModelError(
                f"{path} is not a saved Keras model (a {file.suffix} file is {kind}): "
                "save the model with model.save(path)"
            )
    keras = loaders.keras()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # a damaged archive, an unknown layer class: Keras says which
        raise CheckModelError(f"{path}: Keras cannot load it: {one_line(exc)}") from None


def _import(module_name: str) -> Any:
    """The module named ``module_name`` (a dotted name, or a ``.py`` file), run as Python runs
    it; anything it raises is one line naming the file or module."""
    try:
        if module_name.endswith(".py"):
            _existing_file(module_name, "a Python file defining the model")
            spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if spec is None or spec.loader is None:
                raise CheckModelError(f"{module_name}: not a Python file Python can load")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(module_name)
    except CheckModelError:
        raise
    except SyntaxError as exc:
        raise CheckModelError(
            f"{exc.filename or module_name}, line {exc.lineno}: syntax error: {exc.msg}"
        ) from None
    except ImportError as exc:
        raise CheckModelError(f"cannot import {module_name}: {one_line(exc)}") from None
    except (Exception, SystemExit) as exc:  # the user's code at import time
        raise CheckModelError(
            f"importing {module_name} raised {type(exc).__name__}: {one_line(exc)}"
        ) from None


def _required_arguments(fn: Any) -> list[str]:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: calling it will tell
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty
        and (p.kind in kinds or p.kind is inspect.Parameter.KEYWORD_ONLY)
    ]


def _model_of(obj: Any, path: str) -> Any:
    """``obj`` itself if it is a model; a function or class with no required arguments is
    called, and must return one."""
    attr = path.rpartition(":")[2]
    if not isinstance(obj, type) and (hasattr(obj, "parameters") or hasattr(obj, "layers")):
        return obj
    if not callable(obj):
        raise CheckModelError(
            f"{path}: {attr} is a {type(obj).__name__}, not a torch module or Keras model "
            "(nor a function that returns one)"
        )
    required = _required_arguments(obj)
    if required:
        raise CheckModelError(
            f"{path}: {attr}() needs argument(s) {', '.join(required)}; give a model, or a "
            "function or class that makes one with no arguments"
        )
    try:
        made = obj()
    except Exception as exc:
        raise CheckModelError(
            f"{path}: {attr}() raised {type(exc).__name__}: {one_line(exc)}"
        ) from None
    try:
        framework_of(made)
    except CheckModelError as exc:
        raise CheckModelError(f"{path}: {attr}() returned {exc}") from None
    return made


def load(path: str) -> Any:
    """A saved ``.keras`` / ``.h5`` model, or ``module:attr`` / ``file.py:attr`` (a model, or a
    function or class called with no arguments to make one)."""
    if path.endswith((".keras", ".h5")):
        return _load_keras(path)
    module_name, sep, attr = path.rpartition(":")
    if not sep or not module_name or not attr:
        raise CheckModelError(
            f"{path!r}: give a saved Keras model (.keras) or a torch module as module:attr"
        )
    module = _import(module_name)
    if not hasattr(module, attr):
        raise CheckModelError(f"{module_name} has no attribute {attr!r}")
    obj = _model_of(getattr(module, attr), path)
    framework_of(obj)
    return obj


def load_data(path: str) -> tuple[Any, Any]:
    """Arrays ``X`` and ``y`` of an ``.npz`` file."""
    _existing_file(path, "an .npz file with arrays X and y (numpy.savez)")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckModelError(
            f"{path} is not an .npz file with arrays X and y ({one_line(exc)})"
        ) from None
    if not hasattr(data, "files"):
        raise CheckModelError(
            f"{path} holds one array; give an .npz with arrays X and y (numpy.savez)"
        )
    with data:
        if "X" not in data.files or "y" not in data.files:
            raise CheckModelError(
                f"{path} must hold arrays named X and y; it holds {sorted(data.files)}"
            )
        try:
            return data["X"], data["y"]
        except ValueError as exc:  # object arrays: pickled Python objects, not loaded
            raise CheckModelError(
                f"{path}: {one_line(exc)}; save X and y as arrays of numbers (pickled "
                "objects are not loaded)"
            ) from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise CheckModelError(f"{path}: cannot read X and y ({one_line(exc)})") from None
