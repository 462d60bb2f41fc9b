"""Lazy, once-per-process framework imports.

Frameworks are imported on first use only, so ``reference_nn`` and the NumPy-only test run never
pay for them.  Each worker process uses one thread per framework: pytest-xdist already runs
one worker per core, and oversubscribed thread pools make CPU runs slower, not faster.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

REQUIRE_ENV = "REFNN_REQUIRE_FRAMEWORKS"


class FrameworkUnavailable(ImportError):
    pass


def frameworks_required() -> bool:
    """CI sets REFNN_REQUIRE_FRAMEWORKS=1: a missing framework is then a failure, not a skip."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


@functools.cache
def torch() -> ModuleType:
    try:
        import torch as _torch
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"PyTorch is not installed ({exc}); pip install 'torch==2.13.*'"
        ) from exc
    _torch.set_num_threads(1)
    return _torch


KERAS_BACKENDS = ("tensorflow", "jax", "torch")


class OtherBackendProcess(FrameworkUnavailable):
    """Keras reads ``KERAS_BACKEND`` once, at import: a Keras adapter for another backend runs
    in another process (``tox -e keras-jax``...).  The fixtures skip on this reason even when
    frameworks are required: that backend's own process runs those tests."""


def keras_backend() -> str:
    """The Keras backend of this process: the imported Keras's, else what ``KERAS_BACKEND``
    will select (TensorFlow when unset)."""
    import sys

    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        return str(sys.modules["keras"].backend.backend())
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def keras(backend: str | None = None) -> ModuleType:
    """Keras on ``backend`` (default: this process's); OtherBackendProcess when this process's
    Keras uses another."""
    backend = backend or keras_backend()
    if backend not in KERAS_BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; valid: {', '.join(KERAS_BACKENDS)}")
    current = keras_backend()
    if current != backend:
        raise OtherBackendProcess(
            f"Keras on {backend} runs in a process with KERAS_BACKEND={backend} "
            f"(another backend's process: this one's Keras backend is {current}; "
            f"see tox -e {'keras-' + backend if backend != 'tensorflow' else 'full'})"
        )
    return _keras(backend)


@functools.cache
def _keras(backend: str) -> ModuleType:
    os.environ.setdefault("KERAS_BACKEND", backend)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    if backend == "jax":
        jax()  # float64 needs x64 enabled before Keras creates any variable
    elif backend == "torch":
        torch()
    try:
        import keras as _keras
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"Keras is not installed ({exc}); pip install 'keras>=3.10'"
        ) from exc
    if backend == "tensorflow":
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise FrameworkUnavailable(
                f"TensorFlow is not installed ({exc}); pip install 'tensorflow-cpu==2.21.*'"
            ) from exc
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised by someone else: keep its setting
            pass
    if _keras.backend.backend() != backend:  # KERAS_BACKEND changed after the check above
        raise OtherBackendProcess(
            f"Keras imported with backend {_keras.backend.backend()}, not {backend} "
            "(another backend's process)"
        )
    return _keras


@functools.cache
def jax() -> ModuleType:
    """JAX with 64-bit types enabled, once per process, before any array exists.

    Safe for float32 runs: every array the JAX adapters create has an explicit dtype (inputs,
    parameters, optimizer state, constants from NumPy float32 scalars), and Python scalars are
    weakly typed, so a float32 computation stays float32; without x64, a float64 array would
    silently become float32.  No other framework reads this flag."""
    try:
        import jax as _jax
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"JAX is not installed ({exc}); pip install 'jax[cpu]==0.10.*' 'optax==0.2.*'"
        ) from exc
    _jax.config.update("jax_enable_x64", True)
    return _jax


def optax() -> ModuleType:
    jax()
    try:
        import optax as _optax
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"optax is not installed ({exc}); pip install 'optax==0.2.*'"
        ) from exc
    return _optax


def tensorflow() -> ModuleType:
    keras("tensorflow")
    import tensorflow as tf

    return tf


@contextmanager
def keras_floatx(dtype: str) -> Iterator[None]:
    """Keras builds layers, losses *and optimizers* in floatx: set it, then restore it."""
    k = keras()
    previous = k.config.floatx()
    k.config.set_floatx(dtype)
    try:
        yield
    finally:
        k.config.set_floatx(previous)
