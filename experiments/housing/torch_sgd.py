"""PyTorch: the housing network trained per sample, one compiled call per epoch.

Eager torch costs ~250 us a step (670,000 steps: three minutes).  The epoch is therefore one
``torch.compile``d ``while_loop``: the body takes one row, gets the gradient from torch's
autograd through ``torch.func.grad`` of ``F.mse_loss`` of the ``nn.Linear``-equivalent
forward, and applies ``torch.optim``'s functional SGD (``torch.optim.sgd.sgd``, what
``torch.optim.SGD.step`` runs), all compiled to C++ by inductor.

A bug found on the way (torch 2.13 inductor): its post-grad pattern matcher rewrites
``add(p, mm(a, b), alpha=-lr)`` into ``addmm(p, a, b)`` and drops ``alpha``, so the SGD update
``param.add_(grad, alpha=-lr)`` silently became ``param + grad`` for the one weight whose
gradient is a real matrix product.  ``pattern_matcher=False`` avoids it; the parity check
against NumPy is what caught it.
"""

from __future__ import annotations

import numpy as np

from parity_tests import frameworks

Params = dict[str, np.ndarray]
NAMES = ("0.W", "0.b", "1.W", "1.b")


def _make_epoch(lr: float):  # type: ignore[no-untyped-def]
    torch = frameworks.torch()
    import torch.nn.functional as F
    from torch._higher_order_ops import while_loop
    from torch.optim.sgd import sgd

    def loss(params, x, t):  # type: ignore[no-untyped-def]
        W1, b1, W2, b2 = params  # W in the reference layout (n_in, n_out): x @ W + b
        h = torch.sigmoid(x @ W1 + b1)
        return F.mse_loss(torch.sigmoid(h @ W2 + b2), t)

    grad = torch.func.grad(loss)

    def epoch(W1, b1, W2, b2, X, Y, orders, start, stop):  # type: ignore[no-untyped-def]
        def cond(k, *params):  # type: ignore[no-untyped-def]
            return k < stop

        def body(k, *params):  # type: ignore[no-untyped-def]
            row = torch.index_select(orders, 0, k.reshape(1))
            x, t = torch.index_select(X, 0, row), torch.index_select(Y, 0, row)
            grads = grad(params, x, t)
            new = [p.clone() for p in params]
            sgd(
                new,
                list(grads),
                [None] * 4,
                foreach=False,
                weight_decay=0.0,
                momentum=0.0,
                lr=lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
            )
            return (k + 1, *new)

        return while_loop(cond, body, (start.clone(), W1, b1, W2, b2))[1:]

    options = {"cpp_wrapper": True, "pattern_matcher": False}  # see the module docstring
    return torch.compile(epoch, fullgraph=True, dynamic=False, options=options)


class HousingTorchSGD:
    def __init__(self, initial: Params, X: np.ndarray, y: np.ndarray, lr: float) -> None:
        torch = self.torch = frameworks.torch()
        self.params = tuple(torch.from_numpy(initial[n].copy()) for n in NAMES)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self._epoch = _make_epoch(lr)

    def compile(self, orders: np.ndarray) -> None:
        """Compile with an empty range (start = stop), so timing can separate it."""
        torch = self.torch
        self._orders = torch.from_numpy(np.ascontiguousarray(orders, np.int64).reshape(-1))
        self._n = orders.shape[1]
        zero = torch.tensor(0, dtype=torch.int64)
        self.params = tuple(self._epoch(*self.params, self.X, self.y, self._orders, zero, zero))

    def epoch(self, index: int) -> None:
        torch = self.torch
        start = torch.tensor(index * self._n, dtype=torch.int64)
        stop = torch.tensor((index + 1) * self._n, dtype=torch.int64)
        self.params = tuple(self._epoch(*self.params, self.X, self.y, self._orders, start, stop))

    def parameters(self) -> Params:
        return {n: p.numpy().copy() for n, p in zip(NAMES, self.params, strict=True)}
