"""The PyTorch adapter: a spec rebuilt with ``torch.nn`` modules, torch's own losses, autograd
and ``torch.optim``.

Layouts: ``nn.Linear.weight`` is ``(n_out, n_in)``, so a dense ``W`` goes in as ``W.T`` and
comes back transposed; each layer kind's translation is one entry of ``LAYERS`` in
:mod:`.torch_layers`.

``train`` (many steps at once) is one ``torch.compile``d ``while_loop`` when the optimizer is
plain SGD: the body takes the step's batch, gets the gradient from torch's autograd through
``torch.func.grad`` of the model's own forward (``torch.func.functional_call``) and loss, and
applies ``torch.optim``'s functional SGD (``torch.optim.sgd.sgd``, what ``SGD.step`` runs).
Eager torch costs ~250 us a step; compiled, a few.  A bug found on the way (torch 2.13
inductor): its post-grad pattern matcher rewrites ``add(p, mm(a, b), alpha=-lr)`` into
``addmm(p, a, b)`` and drops ``alpha``, so ``param.add_(grad, alpha=-lr)`` silently became
``param + grad``; ``pattern_matcher=False`` avoids it, and the parity check caught it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from parity_tests.frameworks.torch.layers import LAYERS, TORCH_NAMES
from parity_tests.harness import loaders
from parity_tests.harness.protocol import Adapter, Array, Batches, Model, NotMirrored, Params
from reference_nn import NetworkSpec

# Runs shorter than this are stepped eagerly: compiling costs seconds, a step ~250 us.
COMPILE_FROM_STEPS = 200


def supports(spec: NetworkSpec) -> str | None:
    """None if torch can run ``spec``, else the reason it cannot."""
    from parity_tests.frameworks.torch.optimizers import unsupported_optimizer

    reason = unsupported_optimizer(spec.optimizer, spec.build_optimizer().options())
    if reason:
        return reason
    if spec.loss == "bce" and spec.loss_options.get("clip") == "keras":
        return "Keras' probability clipping"
    if spec.loss == "cce" and spec.loss_options.get("convention") == "keras":
        return "Keras' probability renormalisation"
    if spec.loss_options.get("clip" if spec.loss == "bce" else "convention") == "logits":
        return "Keras on TensorFlow's loss on the logits behind the output activation"
    return None


def _loss_fn(spec: NetworkSpec) -> Callable[[Any, Any], Any]:
    torch = loaders.torch()
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
        if spec.loss_options.get("reduction", "mean") != "mean":
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
    from parity_tests.frameworks.torch import optimizers as optim_torch

    return optim_torch.build(spec.optimizer, spec.build_optimizer().options(), parameters)


class TorchModel(Model):
    """The network, loss and optimizer of ``spec`` in torch, starting from ``params``."""

    # a user's own model (Adapter.wrap): its objects per reference layer, else None
    groups: list[list[Any]] | None = None

    def __init__(self, spec: NetworkSpec, params: Params) -> None:
        torch = loaders.torch()
        self.torch, self.spec = torch, spec
        self.dtype = getattr(torch, spec.dtype)
        modules: list[Any] = []
        # reference name ("0.W") -> (kind, torch module, torch attribute ("weight"))
        self.slots: dict[str, tuple[str, Any, str]] = {}
        self.state_slots: dict[str, tuple[Any, str]] = {}  # "1.running_mean" -> (module, attr)
        for i, (lay, ref) in enumerate(zip(spec.layers, spec.build_layers(), strict=True)):
            built = LAYERS[lay.kind].build(torch, dict(ref.options), ref.input_shape, self.dtype)
            for name in ref.params:
                self.slots[f"{i}.{name}"] = (lay.kind, built[0], TORCH_NAMES[lay.kind][name])
            for name, attr in LAYERS[lay.kind].state_names.items():
                self.state_slots[f"{i}.{name}"] = (built[0], attr)
            modules += built
        self.weight_names = spec.build_network().weight_names()
        self.model = torch.nn.Sequential(*modules)
        self.set_parameters(params)
        self.loss_fn = _loss_fn(spec)
        self.optimizer = _optimizer(spec, self.model.parameters())
        self._compiled: Any = None

    # ------------------------------------------------------------------ parameters
    def _tensor(self, name: str) -> Any:
        _, module, attr = self.slots[name]
        return getattr(module, attr)

    def set_parameters(self, params: Params) -> None:
        with self.torch.no_grad():
            for name, (kind, _, _) in self.slots.items():
                value = LAYERS[kind].to_torch(name.split(".", 1)[1], params[name])
                self._tensor(name).copy_(self.torch.from_numpy(value))

    def named(self, tensors: Callable[[Any], Any]) -> Params:
        """``tensors(parameter)`` for every parameter, by reference name and layout."""
        out: Params = {}
        for name, (kind, _, _) in self.slots.items():
            value = tensors(self._tensor(name)).detach().numpy()
            out[name] = LAYERS[kind].from_torch(name.split(".", 1)[1], value)
        return out

    def parameters(self) -> Params:
        return self.named(lambda t: t)

    def state(self) -> Params:
        """Running statistics (buffers) by reference name; same layout in torch."""
        return {
            name: getattr(module, attr).detach().numpy().copy()
            for name, (module, attr) in self.state_slots.items()
        }

    def predict(self, X: Array) -> Array:
        """The output in inference mode (``eval()``: running statistics, no dropout)."""
        self.model.eval()
        try:
            with self.torch.no_grad():
                return self.model(self.torch.from_numpy(X)).numpy().copy()
        finally:
            self.model.train()

    # ------------------------------------------------------------------ passes
    def _penalty(self, X: Any, weight: Callable[[str], Any]) -> Any:
        reg = self.spec.regularizer
        if not reg:
            return 0.0
        # keras l * sum(W^2) or course lam / (2m) * sum(W^2), weights only (never biases)
        c = reg["lam"] if reg["convention"] == "keras" else reg["lam"] / (2.0 * X.shape[0])
        return sum(c * (weight(name) ** 2).sum() for name in self.weight_names)

    def output_and_loss(self, X: Any, y: Any) -> Any:
        """Forward pass and loss (with the spec's L2 penalty), on the autograd tape."""
        out = self.model(X)
        return out, self.loss_fn(out, y) + self._penalty(X, self._tensor)

    def forward_backward(self, X: Array, y: Array) -> tuple[Array, Array, Params]:
        Xt, yt = self.torch.from_numpy(X), self.torch.from_numpy(y)
        self.optimizer.zero_grad()
        out, loss = self.output_and_loss(Xt, yt)
        loss.backward()
        grads = self.named(lambda t: t.grad)
        self.optimizer.zero_grad()
        return out.detach().numpy().copy(), np.asarray(loss.detach().numpy()), grads

    def step(self, X: Array, y: Array) -> float:
        self.optimizer.zero_grad()
        _, loss = self.output_and_loss(self.torch.from_numpy(X), self.torch.from_numpy(y))
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    # ------------------------------------------------------------------ compiled steps
    def _compilable(self) -> bool:
        o = self.spec.build_optimizer().options()
        dense_only = all(lay.kind == "dense" for lay in self.spec.layers)  # buffers, host masks
        return (
            self.spec.optimizer == "sgd"
            and not o.get("momentum")
            and not o.get("weight_decay")
            and dense_only
        )

    def _compile(self) -> Any:
        torch = self.torch
        from torch._higher_order_ops import while_loop
        from torch.optim.sgd import sgd

        names = [name for name, _ in self.model.named_parameters()]
        by_ref = {ref: names.index(self._torch_name(ref)) for ref in self.slots}
        lr = self.spec.build_optimizer().options()["lr"]
        model, loss_fn = self.model, self.loss_fn

        def loss(params, x, t):  # type: ignore[no-untyped-def]
            out = torch.func.functional_call(model, dict(zip(names, params, strict=True)), (x,))
            return loss_fn(out, t) + self._penalty(x, lambda ref: params[by_ref[ref]])

        grad = torch.func.grad(loss)

        def steps(params, Xb, Yb, start, stop):  # type: ignore[no-untyped-def]
            def cond(k, losses, *p):  # type: ignore[no-untyped-def]
                return k < stop

            def body(k, losses, *p):  # type: ignore[no-untyped-def]
                x = torch.index_select(Xb, 0, k.reshape(1))[0]
                t = torch.index_select(Yb, 0, k.reshape(1))[0]
                value = loss(p, x, t)
                grads = grad(p, x, t)
                new = [q.clone() for q in p]
                sgd(
                    new,
                    list(grads),
                    [None] * len(new),
                    foreach=False,
                    weight_decay=0.0,
                    momentum=0.0,
                    lr=lr,
                    dampening=0.0,
                    nesterov=False,
                    maximize=False,
                )
                losses = torch.index_put(losses, (k.reshape(1),), value.reshape(1))
                return (k + 1, losses, *new)

            losses = torch.zeros(Xb.shape[0], dtype=Xb.dtype)
            return while_loop(cond, body, (start.clone(), losses, *params))[1:]

        options = {"cpp_wrapper": True, "pattern_matcher": False}  # see the module docstring
        return torch.compile(steps, fullgraph=True, dynamic=False, options=options)

    def _torch_name(self, ref: str) -> str:
        _, module, attr = self.slots[ref]
        for name, p in self.model.named_parameters():
            if p is getattr(module, attr):
                return name
        raise KeyError(ref)

    def _run_compiled(self, X: Array, y: Array, batches: Batches, n: int) -> Array:
        torch = self.torch
        if self._compiled is None:
            self._compiled = self._compile()
        Xb, Yb = torch.from_numpy(X[batches]), torch.from_numpy(y[batches])
        params = [p.detach() for p in self.model.parameters()]
        start = torch.tensor(0, dtype=torch.int64)
        stop = torch.tensor(n, dtype=torch.int64)
        # The compiled loop's body is a subgraph that torch treats as invoked for the first
        # time at every step, and a first invocation runs each op through a Python check of
        # custom-op aliasing (aot_autograd's _AnalyzeCustomOpInputOutputMode): 9 Python calls
        # a step.  There are no custom ops here; off, the worked example fixed_2_3_2 (50,001
        # steps) runs in ~1.5 s instead of ~12 s (measured 2026-12-02).
        with torch._functorch.config.patch(check_custom_op_aliasing=False):
            losses, *new = self._compiled(params, Xb, Yb, start, stop)
        with torch.no_grad():
            for p, value in zip(self.model.parameters(), new, strict=True):
                p.copy_(value)
        return losses.numpy()[:n].copy()

    def prepare(self, X: Array, y: Array, batches: Batches) -> None:
        if self._compilable() and len(batches) >= COMPILE_FROM_STEPS:
            self._run_compiled(X, y, batches, 0)  # an empty range: compiles, changes nothing

    def train(self, X: Array, y: Array, batches: Batches) -> Array:
        if self._compilable() and len(batches) >= COMPILE_FROM_STEPS:
            return self._run_compiled(X, y, batches, len(batches))
        return super().train(X, y, batches)


class TorchAdapter(Adapter):
    name = "torch"
    model_noun = "a torch module"

    def load(self) -> None:
        loaders.torch()

    def versions(self) -> dict[str, str]:
        return {"torch": loaders.torch().__version__}

    def refusal(self, spec: Any) -> str | None:  # type: ignore[override]
        missing = sorted({lay.kind for lay in spec.layers} - set(LAYERS))
        if missing:
            return f"layer kind(s) {', '.join(missing)}"
        for lay, ref in zip(spec.layers, spec.build_layers(), strict=True):
            reason = LAYERS[lay.kind].unsupported(dict(ref.options), ref.input_shape)
            if reason:
                return reason
        return supports(spec)

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> TorchModel:
        if options:
            raise TypeError(f"the torch adapter takes no options, got {sorted(options)}")
        self.check_supported(spec)
        return TorchModel(spec, params)

    # ------------------------------------------------------------------ a user's model
    def owns(self, obj: Any) -> bool:
        """A ``torch.nn.Module`` that is not a Keras model (on the torch backend a Keras model
        is one too, and the Keras adapter owns it)."""
        modules = [getattr(cls, "__module__", "") or "" for cls in type(obj).__mro__]
        return any(m.startswith("torch") for m in modules) and not any(
            m.startswith(("keras", "tf_keras")) for m in modules
        )

    def convert(self, obj: Any, **spec_options: Any) -> Any:
        from parity_tests.frameworks.torch.converters import from_torch

        return from_torch(obj, **spec_options)

    def wrap(self, obj: Any, converted: Any) -> TorchModel:
        spec = converted.spec
        model = TorchModel(spec, converted.params)
        model.model = obj
        model.slots = dict(converted.slots)
        model.state_slots = {}
        model.optimizer = _optimizer(spec, obj.parameters())
        model.groups = converted.groups
        return model

    def loss_options(self, spec: NetworkSpec) -> dict[str, str]:
        """torch's ``BCELoss`` clamps the log at -100 (``clip="torch"``); torch has no
        probability form of ``cce`` (the plain one: no option)."""
        return {"clip": "torch"} if spec.loss == "bce" else {}
