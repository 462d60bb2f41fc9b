"""Framework fixtures: a missing framework skips with a reason, or fails when
REFNN_REQUIRE_FRAMEWORKS=1 (CI), so a parity suite that silently tested nothing cannot pass.

``framework`` is parametrised indirectly with a registry name (``"torch"``, ``"keras"``...);
``fw`` runs a test once per registered framework other than the reference.

Keras backends: Keras reads ``KERAS_BACKEND`` once per process, so ``keras`` (TensorFlow),
``keras-jax`` and ``keras-torch`` each run in their own process (``tox -e full``,
``keras-jax``, ``keras-torch``).  A test of another backend's Keras *skips* even when
frameworks are required (``loaders.OtherBackendProcess``): its own process runs it.  So
that CI cannot pass by testing nothing there either, a session with REFNN_REQUIRE_FRAMEWORKS=1
fails unless every framework available in this process that had tests collected passed at
least one of them (printed as "refnn: tests run per framework").  Every test that involves a
Keras framework is marked ``keras`` (``pytest -m keras``: what the backend environments run).
"""

from types import ModuleType

import pytest

from parity_tests.harness import loaders, registry
from parity_tests.tools.testing import item_frameworks, load_or_skip

_ran: dict[str, int] = {}  # framework -> tests passed in this process
_collected: dict[str, int] = {}


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    load_or_skip("torch")
    return loaders.torch()


@pytest.fixture(scope="session")
def keras() -> ModuleType:
    load_or_skip("keras")
    return loaders.keras("tensorflow")


@pytest.fixture(scope="session")
def jax() -> ModuleType:
    load_or_skip("jax")
    return loaders.jax()


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "keras: involves a Keras framework (keras, keras-jax, keras-torch)"
    )


@pytest.hookimpl(tryfirst=True)  # before "-m keras" deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = item_frameworks(item)
        item.user_properties.append(("frameworks", sorted(names)))
        if any(n.startswith("keras") for n in names):
            item.add_marker(pytest.mark.keras)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Counted from reports (which carry ``user_properties``), so that under xdist the
    controller sees every worker's tests."""
    counter = {"setup": _collected, "call": _ran}.get(report.when)
    if counter is None or (report.when == "call" and not report.passed):
        return
    if report.skipped and "another backend's process" in str(report.longrepr):
        return  # e.g. a torch-and-Keras test in the JAX process: not this process's to run
    for key, value in report.user_properties:
        if key == "frameworks":
            for name in value:
                counter[name] = counter.get(name, 0) + 1


def not_run(collected: dict[str, int], ran: dict[str, int]) -> list[str]:
    """Frameworks available in this process with tests collected but none passed."""
    return sorted(
        n for n in collected if collected[n] and not ran.get(n) and registry.loads_here(n)
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not _collected or hasattr(config, "workerinput"):
        return
    counts = ", ".join(f"{n} {_ran.get(n, 0)}/{c}" for n, c in sorted(_collected.items()))
    terminalreporter.write_line(f"refnn: tests run per framework (passed/collected): {counts}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not loaders.frameworks_required() or hasattr(session.config, "workerinput"):
        return  # under xdist the controller sees every worker's reports and decides
    missing = not_run(_collected, _ran)
    if missing:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"refnn: {loaders.REQUIRE_ENV} is set, but no test of {', '.join(missing)} "
            "passed in this process: CI must not pass by testing nothing",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
