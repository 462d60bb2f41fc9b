"""Weight initialisers, all driven by an explicit, seeded ``numpy.random.Generator``.

Every initialiser has the signature ``init(rng, shape, fan_in, fan_out)`` and returns a
float64 array; the network casts it to its dtype, so a float32 and a float64 network built
from the same seed start from the same numbers (rounded).  Frameworks never initialise
anything that is compared: these arrays are copied into them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._checks import Array, check_choice

Initializer = Callable[[np.random.Generator, tuple[int, ...], int, int], Array]


def uniform01(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> Array:
    """U[0, 1): the housing article's weights and biases."""
    return rng.random(shape)


def scaled_normal(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> Array:
    """N(0, 1/n_in): standard deviation ``1/sqrt(fan_in)`` (the delta-rule article)."""
    return rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)


def glorot_uniform(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> Array:
    """Keras' default kernel initialiser: U(-l, l) with ``l = sqrt(6 / (fan_in + fan_out))``."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def torch_linear(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> Array:
    """torch ``nn.Linear`` default for weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    torch draws weights with ``kaiming_uniform_(a=sqrt(5))``: gain ``sqrt(2 / (1 + 5)) =
    sqrt(1/3)`` and bound ``gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)``; biases use the same
    bound explicitly.  (The distribution is torch's; the random stream is ours.)
    """
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def zeros(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> Array:
    """All zeros (Keras' default bias)."""
    return np.zeros(shape)


INITIALIZERS: dict[str, Initializer] = {
    "uniform01": uniform01,
    "scaled_normal": scaled_normal,
    "glorot_uniform": glorot_uniform,
    "torch_linear": torch_linear,
    "zeros": zeros,
}


def get_initializer(name: str) -> Initializer:
    check_choice("initializer", name, INITIALIZERS)
    return INITIALIZERS[name]


def legacy_rand(seed: int, shapes: Sequence[tuple[int, ...]]) -> list[Array]:
    """Reproduce ``np.random.seed(seed); [np.random.rand(*s) for s in shapes]``.

    Old examples (the XOR network) seed NumPy's *legacy* global generator.  A private
    ``RandomState(seed)`` yields exactly the same stream without touching global state, so
    we use the legacy algorithm on purpose, and only here.
    """
    legacy = np.random.RandomState(seed)
    return [legacy.rand(*shape) for shape in shapes]
