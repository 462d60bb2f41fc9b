"""Finite-difference helpers for the tests, written independently of reference_nn.gradcheck
so that a bug there cannot hide a bug elsewhere.

Richardson-extrapolated central differences: ``D(h) = (f(x+h) - f(x-h)) / 2h`` has error
``c h^2 + O(h^4)``, so ``(4 D(h/2) - D(h)) / 3`` cancels the ``h^2`` term.  That allows a
large step (h = 1e-4), which keeps the rounding error ``~eps |f| / h`` near 1e-12: plain
central differences with h = 1e-6 carry ~1e-10 absolute noise, which is a 4e-6 *relative*
error for a derivative as small as tanh'(6) = 2.5e-5.
"""

import numpy as np

H = 1e-4
FD_TOLERANCE = 1e-7  # the library promises float64 gradients within 1e-7 relative


def _richardson(d):
    return (4 * d(H / 2) - d(H)) / 3


def elementwise_fd(f, z):
    """d f(z)_i / d z_i for an elementwise f."""
    return _richardson(lambda h: (f(z + h) - f(z - h)) / (2 * h))


def scalar_fd(f, x):
    """Gradient of scalar f() w.r.t. every element of x (perturbed in place, then restored)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]

        def d(h, i=i, old=old):
            x[i] = old + h
            fp = f()
            x[i] = old - h
            fm = f()
            x[i] = old
            return (fp - fm) / (2 * h)

        grad[i] = _richardson(d)
    return grad


def rel_error(a, b):
    """Normwise relative error ||a - b|| / max(||a||, ||b||)."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)
