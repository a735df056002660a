"""Fixtures for the training-loop tests: the safetensors package that checkpoints need."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def safetensors():
    """The safetensors package (the `ember[io]` extra). Missing, checkpoint tests skip,
    except where EMBER_REQUIRE_TORCH is set (make test and CI), where they fail."""
    try:
        import safetensors as safetensors_module
        import safetensors.numpy  # noqa: F401
    except ImportError:
        if os.environ.get("EMBER_REQUIRE_TORCH"):
            raise
        pytest.skip("safetensors is not installed (pip install 'ember[io]')")
    return safetensors_module
