import numpy as np
import pytest
from hypothesis import settings

# Property tests are derandomized: CI must be repeatable, and a failure reproducible.
settings.register_profile("refnn", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("refnn")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
