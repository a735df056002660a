"""Shared test fixtures: PyTorch for the parity tests, and repeatable random inputs."""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

import ember


@pytest.fixture(scope="session")
def torch():
    """PyTorch (pinned in the test extra). Missing, the parity tests skip, except where
    EMBER_REQUIRE_TORCH is set (make test and CI set it), where they fail."""
    try:
        import torch as torch_module
    except ImportError:
        if os.environ.get("EMBER_REQUIRE_TORCH"):
            raise
        pytest.skip("PyTorch is not installed")
    return torch_module


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded by a test's name: the same inputs on every run."""
    return np.random.default_rng(zlib.crc32(name.encode()))


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with grad mode on, the default dtype and a fixed seed."""
    ember.manual_seed(0)
    yield
    ember.set_default_dtype(ember.float32)
    assert ember.is_grad_enabled(), "a test left grad mode off"
