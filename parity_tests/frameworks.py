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


@functools.cache
def keras() -> ModuleType:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    try:
        import keras as _keras
        import tensorflow as tf
    except ImportError as exc:
        raise FrameworkUnavailable(
            f"Keras/TensorFlow is not installed ({exc}); pip install 'tensorflow-cpu==2.21.*'"
        ) from exc
    if _keras.backend.backend() != "tensorflow":
        raise FrameworkUnavailable(
            f"the Keras mirror needs the TensorFlow backend, got {_keras.backend.backend()}"
        )
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised by someone else: keep its setting
        pass
    return _keras


def tensorflow() -> ModuleType:
    keras()
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
