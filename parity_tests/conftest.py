"""Framework fixtures: a missing framework skips with a reason, or fails when
REFNN_REQUIRE_FRAMEWORKS=1 (CI), so a parity suite that silently tested nothing cannot pass."""

from collections.abc import Callable
from types import ModuleType

import pytest

from parity_tests import frameworks


def _load(loader: Callable[[], ModuleType]) -> ModuleType:
    try:
        return loader()
    except frameworks.FrameworkUnavailable as exc:
        if frameworks.frameworks_required():
            pytest.fail(f"{exc} ({frameworks.REQUIRE_ENV} is set: frameworks are required)")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    return _load(frameworks.torch)


@pytest.fixture(scope="session")
def keras() -> ModuleType:
    return _load(frameworks.keras)


@pytest.fixture
def framework(request: pytest.FixtureRequest) -> str:
    """Parametrised framework name; loads (or skips) that framework."""
    name: str = request.param
    request.getfixturevalue(name)
    return name
