"""Fixtures shared by tests/ and parity_tests/."""

import os
from pathlib import Path

import pytest

from experiments.housing.dataset import SHIPPED_FILE


@pytest.fixture(scope="session")
def housing_data_file() -> Path:
    """The California housing file shipped with the project (experiments/housing/data).

    Missing only in an incomplete checkout: then skipped, or failed when REFNN_REQUIRE_DATA=1
    (CI), so CI cannot pass by testing nothing."""
    if not SHIPPED_FILE.is_file():
        message = f"California housing data not found at {SHIPPED_FILE}"
        if os.environ.get("REFNN_REQUIRE_DATA") == "1":
            pytest.fail(message + " and REFNN_REQUIRE_DATA=1 requires it")
        pytest.skip(message + " (set REFNN_REQUIRE_DATA=1 to make this a failure)")
    return SHIPPED_FILE
