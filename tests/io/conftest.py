"""Fixtures for the checkpoint tests: the safetensors package (the `ember[io]` extra)."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def safetensors():
    """The safetensors package. Missing, the tests that need it skip, except where
    EMBER_REQUIRE_TORCH is set (make test and CI set it: the test extras must be there),
    where they fail."""
    try:
        import safetensors as safetensors_module
        import safetensors.numpy  # noqa: F401
    except ImportError:
        if os.environ.get("EMBER_REQUIRE_TORCH"):
            raise
        pytest.skip("safetensors is not installed (pip install 'ember[io]')")
    return safetensors_module
