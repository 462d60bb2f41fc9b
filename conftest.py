"""Fixtures shared by tests/ and parity_tests/."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data" / "cal_housing.data.gz"


@pytest.fixture(scope="session")
def housing_data_file() -> Path:
    """The offline California housing file (../shared/data); skipped when absent, or failed
    when REFNN_REQUIRE_DATA=1 (CI), so CI cannot pass by testing nothing."""
    if not SHARED_DATA.is_file():
        message = f"California housing data not found at {SHARED_DATA}"
        if os.environ.get("REFNN_REQUIRE_DATA") == "1":
            pytest.fail(message + " and REFNN_REQUIRE_DATA=1 requires it")
        pytest.skip(message + " (set REFNN_REQUIRE_DATA=1 to make this a failure)")
    return SHARED_DATA
