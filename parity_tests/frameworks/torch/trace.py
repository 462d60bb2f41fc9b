"""torch's training pass layer by layer (``TorchModel.trace``), for the first-divergence
search: each reference layer's modules run in turn (the adapter's ``nn.Sequential`` split by
the number of modules each layer kind builds, or a user's own modules as converted), each
output keeps its gradient (``retain_grad``), and one backward pass of the loss fills them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parity_tests.harness.protocol import Array, LayerTrace, Trace

if TYPE_CHECKING:
    from parity_tests.frameworks.torch.adapter import TorchModel


def trace_layers(model: TorchModel, X: Array, y: Array) -> Trace:
    """The pass on ``(X, y)`` at the model's parameters, nothing updated."""
    torch = model.torch
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model.optimizer.zero_grad()
    h, outputs = Xt, []
    for group in model.layer_modules():
        for module in group:
            h = module(h)
        h.retain_grad()
        outputs.append(h)
    loss = model.loss_fn(h, yt) + model.penalty(Xt, model.tensor)
    loss.backward()
    grads = model.named(lambda t: t.grad)
    model.optimizer.zero_grad()
    layers = []
    for i, out in enumerate(outputs):
        grad_out = None if out.grad is None else out.grad.numpy().copy()
        mine = {k: v for k, v in grads.items() if k.split(".", 1)[0] == str(i)}
        layers.append(LayerTrace(out.detach().numpy().copy(), grad_out, mine))
    return Trace(X, layers)
