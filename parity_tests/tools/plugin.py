"""A pytest plugin (entry point ``pytest11``): the ``assert_parity`` fixture for your own suite.

    def test_my_model(assert_parity):
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        assert_parity(net)                     # forward, gradients, one step vs the reference
        assert_parity(net, keras_port)         # and the Keras port, against the same reference
        assert_parity(net, X=X, y=y, loss="bce_logits", optimizer="adam", lr=1e-3)

    def test_a_case(assert_parity):            # a parity_tests.cases.matrix.Case and a framework
        assert_parity(matrix_case("tanh", "mse", "sgd", "float64"), "torch")

On a difference it raises AssertionError with the report (every tensor against its tolerance)
and the first step and layer where the model parts from the reference; a model, option or data
the check cannot take raises ``CheckModelError`` (one line).  A cross-entropy takes the
convention of the first model's framework (Keras on TensorFlow: the logits behind a softmax or
sigmoid output), unless ``loss_options`` names one.  Nothing is imported when the plugin loads:
the frameworks come in with your models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def check_parity(
    model: Any,
    *others: Any,
    X: Any = None,
    y: Any = None,
    loss: str = "mse",
    loss_options: dict[str, Any] | None = None,
    optimizer: str = "sgd",
    lr: float = 0.01,
    samples: int = 16,
    seed: int = 0,
    **options: Any,
) -> list[Any]:
    """What the fixture calls: a Case and a framework name, or models (torch / Keras)."""
    from parity_tests.cases.matrix import Case

    if isinstance(model, Case):
        from parity_tests.harness.parity import assert_parity

        if len(others) != 1 or not isinstance(others[0], str):
            raise TypeError("assert_parity(case, framework): give one framework name")
        return assert_parity(model, others[0], **options)
    from parity_tests.tools.check_model import check_models, convert, format_report

    if options:
        raise TypeError(f"unknown option(s) {sorted(options)}")
    spec_options = {
        "loss": loss,
        "loss_options": loss_options,
        "optimizer": optimizer,
        "optimizer_options": {"lr": lr},
    }
    models = [("model", model)] + [(f"other {i + 1}", m) for i, m in enumerate(others)]
    checks = check_models(models, X, y, samples=samples, seed=seed, **spec_options)
    if not all(c.passed for c in checks):
        raise AssertionError(format_report(checks, convert(model, **spec_options).spec))
    return checks


@pytest.fixture
def assert_parity() -> Callable[..., list[Any]]:
    """``assert_parity(model, *ports, X=None, y=None, loss="mse", optimizer="sgd", lr=0.01)``
    or ``assert_parity(case, framework)``: raises AssertionError naming every difference."""
    return check_parity
