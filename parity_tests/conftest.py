"""Framework fixtures: a missing framework skips with a reason, or fails when
REFNN_REQUIRE_FRAMEWORKS=1 (CI), so a parity suite that silently tested nothing cannot pass.

``framework`` is parametrised indirectly with a registry name (``"torch"``, ``"keras"``...);
``fw`` runs a test once per registered framework other than the reference."""

from types import ModuleType

import pytest

from parity_tests import frameworks, registry


def load_or_skip(name: str) -> None:
    try:
        registry.get(name).load()
    except frameworks.FrameworkUnavailable as exc:
        if frameworks.frameworks_required():
            pytest.fail(f"{exc} ({frameworks.REQUIRE_ENV} is set: frameworks are required)")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    load_or_skip("torch")
    return frameworks.torch()


@pytest.fixture(scope="session")
def keras() -> ModuleType:
    load_or_skip("keras")
    return frameworks.keras()


@pytest.fixture
def framework(request: pytest.FixtureRequest) -> str:
    """Parametrised framework name; loads (or skips) that framework."""
    name: str = request.param
    load_or_skip(name)
    return name


@pytest.fixture(params=registry.names(include_reference=False))
def fw(request: pytest.FixtureRequest) -> str:
    """Every registered framework but the reference, each loaded (or skipped)."""
    load_or_skip(request.param)
    return request.param
