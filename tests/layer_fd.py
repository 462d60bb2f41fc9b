"""One finite-difference check for any layer kind: ``L = sum(R * layer(x))`` with a fixed random
``R``, so ``dL/d(output) = R``; ``backward(R)`` must match central differences (tests/fd.py)
for every parameter and for the input."""

import numpy as np

from tests.fd import FD_TOLERANCE, rel_error, scalar_fd


def check_layer(layer, x, rng, *, training=True, wrt_input=True, tolerance=FD_TOLERANCE):
    """Assert backward matches finite differences; return {name: relative error}."""
    for value in layer.params.values():
        value[...] = rng.normal(size=value.shape)
    R = rng.normal(size=(len(x), *layer.output_shape))

    def loss():
        return float((R * layer.forward(x, training)).sum())

    layer.forward(x, training)
    dx = layer.backward(R.copy())
    analytic = dict(layer.grads)
    errors = {}
    whole = np.sqrt(sum(np.sum(g**2) for g in analytic.values()))
    for name, value in layer.params.items():
        numeric = scalar_fd(loss, value)
        if name in type(layer).zero_gradient_names:
            # zero by the layer's mathematics: both must be noise next to the whole gradient
            size = max(np.linalg.norm(analytic[name]), np.linalg.norm(numeric))
            errors[name] = float(size / whole) if whole else 0.0
        else:
            errors[name] = rel_error(analytic[name], numeric)
    if wrt_input:
        errors["x"] = rel_error(dx, scalar_fd(loss, x))
    bad = {k: e for k, e in errors.items() if e >= tolerance}
    assert not bad, f"{layer!r}: relative errors {bad}"
    return errors


def distinct(rng, shape, spacing=0.01):
    """Values at least ``spacing`` apart (no ties: max pooling is differentiable there)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * spacing + rng.uniform(0, spacing / 10, n)).reshape(shape) - (
        n * spacing / 2
    )
