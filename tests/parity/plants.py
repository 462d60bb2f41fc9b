"""Planted framework errors shared by the parity tests (each test's negative control)."""

from __future__ import annotations

import pytest

from parity_tests.frameworks.torch import adapter as torch_mirror


def scale_torch_module(
    monkeypatch: pytest.MonkeyPatch, position: int, function: str, factor: float
) -> None:
    """Every torch model built from now on computes ``torch.<function>(x) * factor`` in place
    of its module at ``position`` (for a dense stack: Linear, activation, Linear, ...)."""
    original = torch_mirror.TorchModel.__init__

    def init(self, spec, params):  # type: ignore[no-untyped-def]
        original(self, spec, params)
        torch = self.torch

        class Scaled(torch.nn.Module):
            def forward(self, x):  # type: ignore[no-untyped-def]
                return getattr(torch, function)(x) * factor

        self.model[position] = Scaled()

    monkeypatch.setattr(torch_mirror.TorchModel, "__init__", init)
