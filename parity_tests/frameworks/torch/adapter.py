"""The PyTorch adapter: a spec rebuilt with ``torch.nn`` modules, torch's own losses, autograd
and ``torch.optim``.

Each table is a module of this folder, read by :meth:`TorchAdapter.tables`: the layer kinds
and activations (:mod:`.layers`; ``nn.Linear.weight`` is ``(n_out, n_in)``, so a dense ``W``
goes in as ``W.T`` and comes back transposed), the losses (:mod:`.losses`) and the optimizers
(:mod:`.optimizers`).  torch implements every entry of the reference's registries; what it
refuses is an option's convention (``option_refusal``).  The per-layer trace is
:mod:`.trace`, a user's ``nn.Sequential`` is read by :mod:`.converters`.

``train`` (many steps at once) is one ``torch.compile``d ``while_loop`` when the optimizer is
plain SGD: the body takes the step's batch, gets the gradient from torch's autograd through
``torch.func.grad`` of the model's own forward (``torch.func.functional_call``) and loss, and
applies ``torch.optim``'s functional SGD (``torch.optim.sgd.sgd``, what ``SGD.step`` runs).
Eager torch costs ~250 us a step; compiled, a few.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np

from parity_tests.frameworks.torch import losses as torch_losses
from parity_tests.frameworks.torch import optimizers
from parity_tests.frameworks.torch.layers import ACTIVATIONS, LAYERS
from parity_tests.frameworks.torch.trace import trace_layers
from parity_tests.harness import loaders
from parity_tests.harness.conversion import Converted
from parity_tests.harness.protocol import Adapter, Array, Batches, Model, Params, Resolved, Trace
from reference_nn import NetworkSpec
from reference_nn.regularizers import L2

# Runs shorter than this are stepped eagerly: compiling costs seconds, a step ~250 us.
COMPILE_FROM_STEPS = 200


class TorchModel(Model):
    """The network, loss and optimizer of a resolved spec in torch, starting from ``params``
    (:meth:`wrapping`: a user's own module in place of the network built here)."""

    # a user's own model: its modules per reference layer (else the built network's, sliced
    # by ``group_sizes``)
    groups: list[list[Any]] | None = None

    def __init__(self, resolved: Resolved, params: Params) -> None:
        torch = loaders.torch()
        dtype = getattr(torch, resolved.spec.dtype)
        modules: list[Any] = []
        slots: dict[str, tuple[str, Any, str]] = {}
        state_slots: dict[str, tuple[Any, str]] = {}
        self.group_sizes: list[int] = []
        for lay in resolved.layers:
            entry = LAYERS[lay.kind]
            built = entry.build(torch, lay, dtype)
            for name in lay.layer.params:
                slots[f"{lay.index}.{name}"] = (lay.kind, built[0], entry.names[name])
            for name, attr in entry.state_names.items():
                state_slots[f"{lay.index}.{name}"] = (built[0], attr)
            modules += built
            self.group_sizes.append(len(built))
        self._attach(resolved, torch.nn.Sequential(*modules), slots, state_slots)
        self.set_parameters(params)

    @classmethod
    def wrapping(cls, module: Any, converted: Converted) -> TorchModel:
        """A model whose network is the user's ``module`` as converted (its parameters stay)."""
        model = cls.__new__(cls)
        model._attach(Resolved.of(converted.spec), module, dict(converted.slots), {})
        model.groups = converted.groups
        return model

    def _attach(
        self,
        resolved: Resolved,
        network: Any,
        slots: dict[str, tuple[str, Any, str]],
        state_slots: dict[str, tuple[Any, str]],
    ) -> None:
        torch = loaders.torch()
        spec = resolved.spec
        self.torch, self.resolved, self.spec = torch, resolved, spec
        self.model = network
        # reference name ("0.W") -> (kind, torch module, torch attribute ("weight"))
        self.slots = slots
        self.state_slots = state_slots  # "1.running_mean" -> (module, attribute)
        self.l2 = L2(**spec.regularizer) if spec.regularizer else None
        self.loss_fn = torch_losses.build(spec.loss, spec.loss_options)
        self.optimizer = optimizers.build(
            spec.optimizer, resolved.optimizer_options, network.parameters()
        )
        self._compiled: Any = None

    # ------------------------------------------------------------------ parameters
    def tensor(self, name: str) -> Any:
        """The live torch tensor of the reference parameter ``name`` ("0.W")."""
        _, module, attr = self.slots[name]
        return getattr(module, attr)

    def set_parameters(self, params: Params) -> None:
        with self.torch.no_grad():
            for name, (kind, _, _) in self.slots.items():
                value = LAYERS[kind].to_torch(name.split(".", 1)[1], params[name])
                self.tensor(name).copy_(self.torch.from_numpy(value))

    def named(self, tensors: Callable[[Any], Any]) -> Params:
        """``tensors(parameter)`` for every parameter, by reference name and layout."""
        out: Params = {}
        for name, (kind, _, _) in self.slots.items():
            value = tensors(self.tensor(name)).detach().numpy()
            # a copy whatever the table's translation returns: an identity translation would
            # hand out a view of the live tensor, which the next step would change
            out[name] = np.array(LAYERS[kind].from_torch(name.split(".", 1)[1], value))
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
    def penalty(self, X: Any, weight: Callable[[str], Any]) -> Any:
        """The spec's L2 penalty on the weights (``weight(name)``: the tensor of "0.W")."""
        if self.l2 is None:
            return 0.0
        c = self.l2.coefficient(X.shape[0])
        return sum(c * (weight(name) ** 2).sum() for name in self.resolved.weight_names)

    def output_and_loss(self, X: Any, y: Any) -> Any:
        """Forward pass and loss (with the spec's L2 penalty), on the autograd tape."""
        out = self.model(X)
        return out, self.loss_fn(out, y) + self.penalty(X, self.tensor)

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

    def layer_modules(self) -> list[list[Any]]:
        """The modules of each reference layer, in order."""
        if self.groups is not None:
            return self.groups
        modules, groups, start = list(self.model), [], 0
        for size in self.group_sizes:
            groups.append(modules[start : start + size])
            start += size
        return groups

    def trace(self, X: Array, y: Array) -> Trace:
        return trace_layers(self, X, y)

    # ------------------------------------------------------------------ compiled steps
    def _compilable(self) -> bool:
        o = self.resolved.optimizer_options
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
        lr = self.resolved.optimizer_options["lr"]
        model, loss_fn = self.model, self.loss_fn

        def loss(params, x, t):  # type: ignore[no-untyped-def]
            out = torch.func.functional_call(model, dict(zip(names, params, strict=True)), (x,))
            return loss_fn(out, t) + self.penalty(x, lambda ref: params[by_ref[ref]])

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

        # torch 2.13's inductor: its post-grad pattern matcher rewrites
        # add(p, mm(a, b), alpha=-lr) into addmm(p, a, b) and drops alpha, so
        # param.add_(grad, alpha=-lr) would compute param + grad
        options = {"cpp_wrapper": True, "pattern_matcher": False}
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
        # a step, most of a long run's time.  There are no custom ops here: off.
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

    def tables(self) -> Mapping[str, Collection[str]]:
        return {
            "layer kind": LAYERS,
            "activation": ACTIVATIONS,
            "loss": torch_losses.LOSSES,
            "optimizer": optimizers.OPTIMIZERS,
        }

    def option_refusal(self, resolved: Resolved) -> str | None:
        for lay in resolved.layers:
            reason = LAYERS[lay.kind].refusal(lay.options, lay.input_shape)
            if reason:
                return reason
        spec = resolved.spec
        reason = optimizers.option_refusal(spec.optimizer, resolved.optimizer_options)
        return reason or torch_losses.option_refusal(spec.loss, spec.loss_options)

    def build(self, spec: NetworkSpec, params: Params, **options: Any) -> TorchModel:
        if options:
            raise TypeError(f"the torch adapter takes no options, got {sorted(options)}")
        resolved = Resolved.of(spec)
        self.check_supported(resolved)
        return TorchModel(resolved, params)

    # ------------------------------------------------------------------ a user's model
    def owns(self, obj: Any) -> bool:
        """A ``torch.nn.Module`` that is not a Keras model (on the torch backend a Keras model
        is one too, and the Keras adapter owns it)."""
        modules = [getattr(cls, "__module__", "") or "" for cls in type(obj).__mro__]
        return any(m.startswith("torch") for m in modules) and not any(
            m.startswith(("keras", "tf_keras")) for m in modules
        )

    def convert(self, obj: Any, **spec_options: Any) -> Converted:
        from parity_tests.frameworks.torch.converters import from_torch

        return from_torch(obj, **spec_options)

    def wrap(self, obj: Any, converted: Converted) -> TorchModel:
        return TorchModel.wrapping(obj, converted)

    def loss_options(self, spec: NetworkSpec) -> dict[str, str]:
        """torch's ``BCELoss`` clamps the log at -100 (``clip="torch"``); torch has no
        probability form of ``cce`` (the plain one: no option)."""
        return {"clip": "torch"} if spec.loss == "bce" else {}
