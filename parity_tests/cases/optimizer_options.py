"""Every optimizer option, each on its own against a base, in each convention that has it.

``OPTION_VARIANTS``: label -> (optimizer, options).  A base per optimizer and convention uses
an exactly representable learning rate (a power of two) and every other option at its
default; each variant changes one option (or a combination worth checking: momentum with
weight decay, centered with momentum, everything at once).  The parity test crosses each
variant with float64 and float32 and runs it in every framework that has it.

``python -m parity_tests.cases.optimizer_options`` prints the worst normwise relative error per
variant, dtype and framework.
"""

from __future__ import annotations

from typing import Any

from parity_tests.cases.matrix import Case
from parity_tests.harness import registry
from reference_nn import OPTIMIZERS, NetworkSpec, get_optimizer

BASE_LR: dict[str, float] = {"sgd": 2**-4, "rmsprop": 2**-7, "adam": 2**-7}


def _variants() -> dict[str, tuple[str, dict[str, Any]]]:
    # per (optimizer, convention): label suffix -> options changed from the base
    changes: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
        ("sgd", "torch"): {
            "lr0.1": {"lr": 0.1},
            "lr0.03": {"lr": 0.03},
            "weight_decay": {"weight_decay": 0.1},
            "momentum": {"momentum": 0.9},
            "momentum-weight_decay": {"momentum": 0.9, "weight_decay": 0.1},
            "dampening": {"momentum": 0.9, "dampening": 0.5},
            "dampening-weight_decay": {"momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1},
            "nesterov": {"momentum": 0.9, "nesterov": True},
            "nesterov-weight_decay": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        },
        ("sgd", "keras"): {
            "lr0.1": {"lr": 0.1},
            "lr0.03": {"lr": 0.03},
            "weight_decay": {"weight_decay": 0.1},
            "momentum": {"momentum": 0.9},
            "momentum-weight_decay": {"momentum": 0.9, "weight_decay": 0.1},
            "nesterov": {"momentum": 0.9, "nesterov": True},
            "nesterov-weight_decay": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        },
        **{
            ("rmsprop", convention): {
                "lr0.03": {"lr": 0.03},
                "rho": {"rho": 0.8},
                "eps": {"eps": 1e-3},
                "weight_decay": {"weight_decay": 0.1},
                "momentum": {"momentum": 0.9},
                "centered": {"centered": True},
                "centered-momentum": {"centered": True, "momentum": 0.9},
                "all": {
                    "rho": 0.8,
                    "eps": 1e-3,
                    "weight_decay": 0.1,
                    "momentum": 0.9,
                    "centered": True,
                },
            }
            for convention in ("torch", "keras")
        },
        ("adam", "torch"): {
            "lr0.03": {"lr": 0.03},
            "beta1": {"beta1": 0.3},  # 1 - beta1 >= 0.5: torch's lerp takes its other branch
            "beta2": {"beta2": 0.9},
            "eps": {"eps": 1e-3},
            "weight_decay": {"weight_decay": 0.1},
            "decoupled_weight_decay": {"weight_decay": 0.1, "decoupled_weight_decay": True},
            "amsgrad": {"amsgrad": True},
            "amsgrad-beta2": {"amsgrad": True, "beta2": 0.9},  # v falls often: max() bites
            "all": {
                "beta1": 0.3,
                "beta2": 0.9,
                "eps": 1e-3,
                "weight_decay": 0.1,
                "decoupled_weight_decay": True,
                "amsgrad": True,
            },
        },
        ("adam", "keras"): {
            "lr0.03": {"lr": 0.03},
            "beta1": {"beta1": 0.3},
            "beta2": {"beta2": 0.9},
            "eps": {"eps": 1e-3},
            "weight_decay": {"weight_decay": 0.1},
            "amsgrad": {"amsgrad": True},
            "amsgrad-beta2": {"amsgrad": True, "beta2": 0.9},
            "all": {"beta1": 0.3, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.1, "amsgrad": True},
        },
    }
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for (name, convention), table in changes.items():
        base = {"lr": BASE_LR[name], "convention": convention}
        out[f"{name}-{convention}-base"] = (name, base)
        for suffix, change in table.items():
            out[f"{name}-{convention}-{suffix}"] = (name, {**base, **change})
    return out


OPTION_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = _variants()


def accepted_options(name: str) -> set[str]:
    """The options the reference optimizer ``name`` accepts, read from its constructor."""
    return set(OPTIMIZERS[name].accepted_options())


def non_default_options(name: str, options: dict[str, Any]) -> set[str]:
    """The options ``options`` sets away from their defaults (``lr``: away from the base;
    ``convention``: away from the constructor's default)."""
    resolved = get_optimizer(name, **options).options()
    defaults = get_optimizer(name, lr=BASE_LR[name], convention=resolved["convention"]).options()
    out = {k for k, v in resolved.items() if k != "convention" and v != defaults[k]}
    if resolved["convention"] != get_optimizer(name, lr=BASE_LR[name]).options()["convention"]:
        out.add("convention")
    return out


def option_case(label: str, dtype: str, options: dict[str, Any] | None = None) -> Case:
    """3 -> 5 tanh -> 2 sigmoid, mse, 8 samples in batches of 4, 20 steps: the variant's
    optimizer (or ``options`` instead of its own, for negative controls)."""
    name, variant_options = OPTION_VARIANTS[label]
    spec = NetworkSpec.from_dict(
        {
            "input_dim": 3,
            "layers": [
                {"units": 5, "activation": "tanh"},
                {"units": 2, "activation": "sigmoid"},
            ],
            "loss": "mse",
            "optimizer": name,
            "optimizer_params": variant_options if options is None else options,
            "dtype": dtype,
        }
    )
    return Case(f"{label}-{dtype}", spec, seed=7)


def refusal(framework: str, label: str) -> str | None:
    """Why ``framework`` cannot run variant ``label`` (None: it runs it), as its registered
    adapter says: every framework in ``registry.FRAMEWORKS``, nothing typed in here."""
    return registry.get(framework).refusal(option_case(label, "float64").spec)


def support_table() -> dict[str, dict[str, str | None]]:
    """variant -> framework -> reason it cannot run it (None: runs), for every registered
    framework but the reference."""
    return {
        label: {fw: refusal(fw, label) for fw in registry.names(include_reference=False)}
        for label in OPTION_VARIANTS
    }


def _measure() -> None:  # pragma: no cover - a report, run by hand
    """Worst normwise relative error over the weights after 1 and after 20 steps (what the
    optimizer decides), per variant, framework and dtype, with the tensor and step."""
    from parity_tests.harness.parity import compare_case

    print("| variant | framework | float64 | float32 |")
    print("|---|---|---|---|")
    for label in OPTION_VARIANTS:
        cells: dict[str, dict[str, str]] = {}
        for dtype in ("float64", "float32"):
            case = option_case(label, dtype)
            for fw, reason in case.refusal_by_framework().items():
                if reason is not None:
                    continue
                steps = [c for c in compare_case(case, fw) if c.quantity.startswith("step_")]
                w = max(steps, key=lambda c: c.error.normwise_rel)
                cells.setdefault(fw, {})[dtype] = (
                    f"{w.error.normwise_rel:.1e} ({w.quantity} {w.tensor})"
                )
        for fw, by_dtype in cells.items():
            print(f"| {label} | {fw} | {by_dtype['float64']} | {by_dtype['float32']} |")


if __name__ == "__main__":  # pragma: no cover
    _measure()
