"""A reference_nn spec rebuilt in PyTorch: ``nn.Linear`` layers, torch's own losses, autograd
and ``torch.optim``.  Weights are copied in (``nn.Linear.weight`` is ``(n_out, n_in)``, so it
gets ``W.T``) and read back transposed, so results come out in the reference layout."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reference_nn import NetworkSpec

from . import frameworks
from .runs import Array, Params, RunResult, checkpoints


class NotMirrored(ValueError):
    """The spec uses something this framework has no equivalent for (say which)."""


def supports(spec: NetworkSpec) -> str | None:
    """None if torch can run ``spec``, else the reason it cannot."""
    from .optim_torch import unsupported_optimizer

    reason = unsupported_optimizer(spec.optimizer, spec.build_optimizer().options())
    if reason:
        return reason
    if spec.loss == "bce" and spec.loss_params.get("clip") == "keras":
        return "Keras' probability clipping"
    if spec.loss == "cce" and spec.loss_params.get("convention") == "keras":
        return "Keras' probability renormalisation"
    return None


def _is_plain_sgd(spec: NetworkSpec) -> bool:
    return spec.optimizer == "sgd" and not spec.optimizer_params.get("momentum", 0.0)


def _activation(name: str, params: dict[str, float]) -> Any:
    nn = frameworks.torch().nn
    table: dict[str, Callable[[], Any]] = {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope=params["alpha"]),
        "elu": lambda: nn.ELU(alpha=params.get("alpha", 1.0)),
        "softplus": nn.Softplus,  # beta=1, threshold=20: linear above 20 (cases stay below)
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    return table[name]()


def _loss_fn(spec: NetworkSpec) -> Callable[[Any, Any], Any]:
    torch = frameworks.torch()
    nn = torch.nn
    name = spec.loss
    if name == "mse":
        return nn.MSELoss()
    if name == "sse":
        return nn.MSELoss(reduction="sum")
    if name == "half_sse":
        sse = nn.MSELoss(reduction="sum")
        return lambda p, y: 0.5 * sse(p, y)
    if name == "bce":
        if spec.loss_params.get("reduction", "mean") != "mean":
            raise NotMirrored("bce with a reduction other than mean")
        return nn.BCELoss()
    if name == "logistic":  # the course cost: sum over classes, mean over samples
        bce_sum = nn.BCELoss(reduction="sum")
        return lambda p, y: bce_sum(p, y) / p.shape[0]
    if name == "bce_logits":
        return nn.BCEWithLogitsLoss()
    if name == "cce":  # torch has no probability form: written out
        return lambda p, y: -(y * torch.log(p)).sum(dim=-1).mean()
    if name == "cce_logits":
        return nn.CrossEntropyLoss()  # probability targets, mean over the batch
    raise NotMirrored(f"loss {name}")


def _optimizer(spec: NetworkSpec, parameters: Any) -> Any:
    from . import optim_torch

    return optim_torch.build(spec.optimizer, spec.build_optimizer().options(), parameters)


class TorchMirror:
    """The network, loss and optimizer of ``spec`` in torch, starting from ``params``."""

    def __init__(self, spec: NetworkSpec, params: Params) -> None:
        reason = supports(spec)
        if reason:
            raise NotMirrored(f"torch has no equivalent of {reason}")
        torch = frameworks.torch()
        self.torch, self.spec = torch, spec
        self.dtype = getattr(torch, spec.dtype)
        sizes = spec.sizes
        modules: list[Any] = []
        self.linears: list[Any] = []
        for i, lay in enumerate(spec.layers):
            linear = torch.nn.Linear(sizes[i], sizes[i + 1], bias=lay.use_bias, dtype=self.dtype)
            self.linears.append(linear)
            modules += [linear, _activation(lay.activation, lay.activation_params)]
        self.model = torch.nn.Sequential(*modules)
        self.set_parameters(params)
        self.loss_fn = _loss_fn(spec)
        self.optimizer = _optimizer(spec, self.model.parameters())

    def set_parameters(self, params: Params) -> None:
        with self.torch.no_grad():
            for i, linear in enumerate(self.linears):
                linear.weight.copy_(self.torch.from_numpy(params[f"{i}.W"].T.copy()))
                if linear.bias is not None:
                    linear.bias.copy_(self.torch.from_numpy(params[f"{i}.b"]))

    def named(self, tensors: Callable[[Any], Any]) -> Params:
        """``tensors(weight or bias)`` for every parameter, by reference name and layout."""
        out: Params = {}
        for i, linear in enumerate(self.linears):
            out[f"{i}.W"] = tensors(linear.weight).detach().numpy().T.copy()
            if linear.bias is not None:
                out[f"{i}.b"] = tensors(linear.bias).detach().numpy().copy()
        return out

    def parameters(self) -> Params:
        return self.named(lambda t: t)

    def output_and_loss(self, X: Any, y: Any) -> Any:
        """Forward pass and loss (with the spec's L2 penalty), on the autograd tape."""
        out = self.model(X)
        loss = self.loss_fn(out, y)
        reg = self.spec.regularizer
        if reg:  # keras l * sum(W^2) or course lam / (2m) * sum(W^2), weights only
            c = reg["lam"] if reg["convention"] == "keras" else reg["lam"] / (2.0 * X.shape[0])
            loss = loss + sum(c * (lin.weight**2).sum() for lin in self.linears)
        return out, loss

    def run(self, X: Array, y: Array, batches: Sequence[NDArray[np.int64]]) -> RunResult:
        torch = self.torch
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        self.optimizer.zero_grad()
        out, loss = self.output_and_loss(Xt, yt)
        loss.backward()
        result = RunResult(
            output=out.detach().numpy().copy(),
            loss=np.asarray(loss.detach().numpy()),
            grads=self.named(lambda t: t.grad),
        )
        marks = checkpoints(len(batches))
        for step, idx in enumerate(batches, start=1):
            index = torch.from_numpy(idx)
            self.optimizer.zero_grad()
            _, loss = self.output_and_loss(Xt[index], yt[index])
            loss.backward()
            self.optimizer.step()
            if step in marks:
                result.after[step] = self.parameters()
        return result


def run_torch(
    spec: NetworkSpec, params: Params, X: Array, y: Array, batches: Sequence[NDArray[np.int64]]
) -> RunResult:
    return TorchMirror(spec, params).run(X, y, batches)
