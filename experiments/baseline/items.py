"""What a baseline records: its items, how each is rebuilt from its recipe, and how it runs.

Items:

* ``parity/<case>``: a case of :mod:`parity_tests.cases.matrix` (the matrix, or
``random<seed>-...``):
  what the parity suite compares (output, loss, gradients, parameters after steps 1 and 20);
* ``example/<name>``: a worked example (:mod:`experiments.worked_examples`): the loss after
  every update, the initial gradients and the final parameters;
* ``housing/epochs<E>``: the housing run (:mod:`experiments.housing`) for ``E`` epochs
  (default 2 of the published 100, to keep CI short): the parameters after every epoch.

A tensor is keyed ``"<quantity>|<tensor>"`` within its item (``"grads|0.W"``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity_tests.harness import registry
from parity_tests.harness.protocol import Array, Params

HOUSING_EPOCHS = 2
SEP = "|"


class BaselineError(ValueError):
    """A usage error: one line, exit status 2."""


@dataclass(frozen=True)
class Problem:
    """Everything a framework needs to run an item step by step (for the first divergence)."""

    spec: Any
    params: Params
    X: Array
    y: Array
    batches: list[Any]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # framework -> options


@dataclass(frozen=True)
class Item:
    name: str
    recipe: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.recipe["kind"])

    # -------------------------------------------------------------- rebuilding
    def _case(self) -> Any:
        from parity_tests.cases.matrix import matrix_case, random_case

        r = self.recipe
        case_name = r["case"]
        try:
            if "random_seed" in r:
                case = random_case(int(r["random_seed"]), str(r["dtype"]))
            else:  # by its parts and seed: a new activation must not reseed the old cases
                case = matrix_case(r["hidden"], r["loss"], r["optimizer"], r["dtype"], r["seed"])
        except (KeyError, ValueError):
            case = None
        if case is None or case.name != case_name:
            raise BaselineError(
                f"{self.name}: parity_tests.cases.matrix no longer defines {case_name!r} "
                "(the matrix or the random generator changed): record the baseline again"
            )
        return case

    def _example(self) -> Any:
        from experiments.worked_examples.registry import get_example

        try:
            example = get_example(str(self.recipe["example"]))
        except KeyError as exc:
            raise BaselineError(f"{self.name}: {exc.args[0]}") from None
        return example.with_changes(steps=int(self.recipe["steps"]))

    def _housing(self) -> Any:
        from experiments.housing.protocol import make_problem

        return make_problem(epochs=int(self.recipe["epochs"]), seed=int(self.recipe["seed"]))

    @property
    def dtype(self) -> str:
        return str(self.recipe["dtype"])

    def spec(self) -> Any:
        if self.kind == "parity":
            return self._case().spec
        if self.kind == "example":
            return self._example().spec
        from experiments.housing.protocol import housing_spec

        return housing_spec(self.dtype)

    def refusal(self, framework: str) -> str | None:
        return registry.get(framework).refusal(self.spec())

    def problem(self) -> Problem:
        """Spec, initial parameters, data and the batch schedule, as the item runs them."""
        if self.kind == "parity":
            case = self._case()
            X, y, params, batches = case.materialize()
            return Problem(case.spec, params, X, y, batches)
        if self.kind == "example":
            ex = self._example()
            full = np.arange(len(ex.X), dtype=np.int64)
            return Problem(ex.spec, ex.params, ex.X, ex.y, [full] * ex.steps)
        hp = self._housing()
        s = hp.split
        return Problem(hp.spec, hp.initial, s.X_train, s.y_train, list(hp.orders.reshape(-1, 1)))

    # -------------------------------------------------------------- running
    def run(self, framework: str) -> dict[str, Array]:
        """``"quantity|tensor"`` -> array, for this item in ``framework``."""
        # Keras's XLA loop, named: a run shorter than 200 steps would otherwise step eagerly,
        # and the recordings are of the compiled loop
        options = {"loop": "xla"} if framework == "keras" else {}
        if self.kind == "parity":
            from parity_tests.harness.parity import run_framework

            case = self._case()
            X, y, params, batches = case.materialize()
            result = run_framework(framework, case.spec, params, X, y, batches, **options)
            return _flatten(result.quantities())
        if self.kind == "example":
            from experiments.worked_examples.trajectory import run

            traj = run(framework, self._example(), **options)
            return _flatten(
                {"losses": {"losses": traj.losses}, "grads": traj.grads, "final": traj.final_params}
            )
        from experiments.housing.run import train

        fr = train(self._housing(), framework)
        return _flatten({f"epoch_{k + 1}": p for k, p in enumerate(fr.params_per_epoch)})


def _flatten(quantities: dict[str, dict[str, Array]]) -> dict[str, Array]:
    return {
        f"{q}{SEP}{t}": np.asarray(a)
        for q, tensors in quantities.items()
        for t, a in tensors.items()
    }


def all_items(n_random: int = 0, housing_epochs: int = HOUSING_EPOCHS) -> list[Item]:
    """The parity matrix, ``n_random`` random architectures per dtype, the worked examples and
    the housing run (``housing_epochs`` epochs; 0 leaves it out)."""
    from experiments.worked_examples.registry import EXAMPLES, get_example
    from parity_tests.cases.matrix import DTYPES, matrix, random_case

    if n_random < 0 or housing_epochs < 0:
        raise BaselineError("--random and --housing-epochs must be >= 0")
    items = []
    for c in matrix():
        hidden, loss, optimizer, dtype = c.name.split("-")
        recipe = {"kind": "parity", "case": c.name, "dtype": dtype, "seed": c.seed}
        recipe |= {"hidden": hidden, "loss": loss, "optimizer": optimizer}
        items.append(Item(f"parity/{c.name}", recipe))
    for seed in range(n_random):
        for dtype in DTYPES:
            c = random_case(seed, dtype)
            recipe = {"kind": "parity", "case": c.name, "dtype": dtype, "random_seed": seed}
            items.append(Item(f"parity/{c.name}", recipe))
    for name in EXAMPLES:
        ex = get_example(name)
        recipe = {"kind": "example", "example": name, "steps": ex.steps, "dtype": ex.spec.dtype}
        items.append(Item(f"example/{name}", recipe))
    if housing_epochs:
        recipe = {"kind": "housing", "epochs": housing_epochs, "seed": 0, "dtype": "float64"}
        items.append(Item(f"housing/epochs{housing_epochs}", recipe))
    return items


def installed() -> list[str]:
    """Every registered framework that imports here (the reference first)."""
    return registry.loadable()


def matches(name: str, filters: Sequence[str]) -> bool:
    """No filter, or any filter: a glob (``*``, ``?``, ``[``) matching the whole name, else a
    substring of it."""
    if not filters:
        return True
    return any(
        fnmatch.fnmatchcase(name, f) if any(ch in f for ch in "*?[") else f in name for f in filters
    )


def select(items: Iterable[Item], filters: Sequence[str]) -> list[Item]:
    chosen = [item for item in items if matches(item.name, filters)]
    if not chosen:
        raise BaselineError(
            f"--filter {' '.join(map(repr, filters))} selects nothing; item names look like "
            "'parity/tanh-mse-sgd-float64', 'example/xor_3_4_1', 'housing/epochs2'"
        )
    return chosen


# The keys each kind of recipe needs (what ``Item`` reads to rebuild it).
RECIPE_KEYS: dict[str, tuple[str, ...]] = {
    "parity": ("case", "dtype"),
    "example": ("example", "steps", "dtype"),
    "housing": ("epochs", "seed", "dtype"),
}


def recipe_problem(name: str, recipe: Any) -> str | None:
    """Why ``recipe`` cannot rebuild item ``name``, or None when it can."""
    if not isinstance(recipe, dict):
        return f"item {name!r} has no recipe (a JSON object)"
    kind = recipe.get("kind")
    if kind not in RECIPE_KEYS:
        return f"item {name!r}: recipe kind {kind!r} is not one of {', '.join(RECIPE_KEYS)}"
    missing = [k for k in RECIPE_KEYS[kind] if k not in recipe]
    if kind == "parity" and "random_seed" not in recipe:
        missing += [k for k in ("hidden", "loss", "optimizer", "seed") if k not in recipe]
    if missing:
        return f"item {name!r}: its {kind} recipe lacks {', '.join(missing)}"
    if recipe["dtype"] not in ("float32", "float64"):
        return f"item {name!r}: dtype {recipe['dtype']!r} is not float32 or float64"
    return None
