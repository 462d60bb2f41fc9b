"""Every optimizer option against every framework that has it: each variant of
``OPTION_VARIANTS`` x float64/float32 x framework, forward, loss, gradients and weights after 1
and 20 steps, within the tolerances of ``parity_tests/harness/tolerances.py``."""

import dataclasses
import importlib

import pytest

from parity_tests.cases.optimizer_options import (
    OPTION_VARIANTS,
    accepted_options,
    non_default_options,
    option_case,
    support_table,
)
from parity_tests.frameworks.keras import optimizers as optim_keras
from parity_tests.frameworks.torch import optimizers as optim_torch
from parity_tests.harness.compare import compare_runs, failures
from parity_tests.harness.parity import compare_case, run_framework
from reference_nn import OPTIMIZERS, get_optimizer

pytestmark = pytest.mark.frameworks

DTYPES = ("float64", "float32")
SUPPORT = support_table()  # variant -> every registered framework -> reason or None


def _pairs() -> list:
    return [
        pytest.param(label, dtype, fw, id=f"{label}-{dtype}-{fw}")
        for label, reasons in SUPPORT.items()
        for dtype in DTYPES
        for fw, reason in reasons.items()
        if reason is None
    ]


def _comparisons(label, dtype, framework, reference_options=None):
    case = option_case(label, dtype)
    reference_spec = option_case(label, dtype, reference_options).spec
    return compare_case(case, framework, reference_spec=reference_spec)


@pytest.mark.parametrize(("label", "dtype", "framework"), _pairs(), indirect=["framework"])
def test_option(label, dtype, framework):
    comparisons = _comparisons(label, dtype, framework)
    assert {c.quantity for c in comparisons} == {"forward", "loss", "grads", "step_1", "step_20"}
    bad = failures(comparisons)
    assert not bad, "\n".join(bad)


def test_every_accepted_option_has_a_non_default_variant():
    for name in OPTIMIZERS:
        variants = [options for n, options in OPTION_VARIANTS.values() if n == name]
        covered = set().union(*(non_default_options(name, options) for options in variants))
        assert accepted_options(name) <= covered, (name, accepted_options(name) - covered)


def _resolved(name: str, options: dict) -> dict:
    return get_optimizer(name, **options).options()


def _optimizers_module(framework: str):
    """A framework's optimizers module, found by the folder layout (keras-jax: keras's)."""
    return importlib.import_module(f"parity_tests.frameworks.{framework.split('-')[0]}.optimizers")


def test_every_variant_runs_somewhere_and_the_mirrors_agree():
    # the optimizer modules behind the adapters (mse, dense: nothing else can be refused)
    for label, (name, options) in OPTION_VARIANTS.items():
        reasons = SUPPORT[label]
        assert None in reasons.values(), (label, reasons)
        assert reasons["jax"] is None  # JAX runs every formulation
        for fw, reason in reasons.items():
            refusal = _optimizers_module(fw).option_refusal(name, _resolved(name, options))
            assert (reason is None) == (refusal is None), (label, fw)


def test_every_variant_changes_the_run():
    # A variant whose weights after 20 steps matched its base's would check nothing about
    # its option: each must move them far beyond the tolerance (reference vs reference).
    for label, (name, options) in OPTION_VARIANTS.items():
        base = f"{name}-{options['convention']}-base"
        if label == base:
            continue
        case = option_case(label, "float64")
        X, y, params, batches = case.materialize()
        variant = run_framework("numpy", case.spec, params, X, y, batches)
        plain = run_framework("numpy", option_case(base, "float64").spec, params, X, y, batches)
        steps = compare_runs(label, base, "float64", plain, variant)
        worst = max(c.error.normwise_rel / c.tolerance for c in steps if c.quantity == "step_20")
        assert worst > 100, (label, worst)


def test_plain_sgd_runs_in_both_frameworks_in_both_conventions():
    for convention in ("torch", "keras"):
        name, options = OPTION_VARIANTS[f"sgd-{convention}-base"]
        assert optim_torch.option_refusal(name, _resolved(name, options)) is None
        assert optim_keras.option_refusal(name, _resolved(name, options)) is None


def test_unsupported_reasons_name_the_formulation():
    assert "decoupled weight_decay" in optim_torch.option_refusal(
        "sgd", _resolved("sgd", {"lr": 0.1, "weight_decay": 0.1, "convention": "keras"})
    )
    assert "Keras's formulation of momentum" in optim_torch.option_refusal(
        "sgd", _resolved("sgd", {"lr": 0.1, "momentum": 0.9, "convention": "keras"})
    )
    assert "coupled weight_decay" in optim_keras.option_refusal(
        "sgd", _resolved("sgd", {"lr": 0.1, "weight_decay": 0.1, "convention": "torch"})
    )
    assert "torch's formulation of Adam" in optim_keras.option_refusal(
        "adam", _resolved("adam", {"lr": 0.1, "amsgrad": True, "convention": "torch"})
    )


def test_keras_refuses_an_option_its_table_does_not_map_by_name(monkeypatch):
    """An option of the reference that the Keras entry does not pass on is refused, never
    dropped: here ``amsgrad`` as if the Adam entry did not map it (at its default it is not)."""
    options = _resolved("adam", {"lr": 0.01, "amsgrad": True, "convention": "keras"})
    assert optim_keras.option_refusal("adam", options) is None
    entry = optim_keras.OPTIMIZERS["adam"]
    unmapped = tuple(k for k in entry.maps if k != "amsgrad")
    monkeypatch.setitem(optim_keras.OPTIMIZERS, "adam", dataclasses.replace(entry, maps=unmapped))
    assert optim_keras.option_refusal("adam", options) == (
        "the adam option(s) amsgrad (not mapped to Keras's optimizer)"
    )
    default = _resolved("adam", {"lr": 0.01, "convention": "keras"})
    assert optim_keras.option_refusal("adam", default) is None


# ---------------------------------------------------------------- negative controls
@pytest.mark.parametrize(
    ("label", "framework", "planted"),
    [
        ("sgd-torch-dampening", "torch", {"dampening": 0.4999}),
        ("sgd-keras-weight_decay", "keras", {"weight_decay": 0.0999}),
        ("rmsprop-torch-centered", "torch", {"centered": False}),
        ("adam-keras-amsgrad-beta2", "keras", {"amsgrad": False}),
        ("adam-torch-decoupled_weight_decay", "torch", {"decoupled_weight_decay": False}),
    ],
    indirect=["framework"],
)
def test_a_wrong_option_in_the_reference_is_caught(label, framework, planted):
    options = OPTION_VARIANTS[label][1]
    comparisons = _comparisons(label, "float64", framework, {**options, **planted})
    bad = {(c.quantity, c.tensor) for c in comparisons if not c.passed}
    assert {("step_20", p) for p in ("0.W", "0.b", "1.W", "1.b")} <= bad
    assert not any(q in ("forward", "loss", "grads") for q, _ in bad)
    assert any("step_20 0.W: normwise relative error" in m for m in failures(comparisons))
