"""Fixtures for the example smoke tests: load a script from examples/ as a module."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# as when a script runs from examples/: its sibling modules (mnist1d_protocol) import
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


def load_example(name: str):
    """examples/<name>.py as a fresh module (its `if __name__ == "__main__"` does not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example():
    return load_example


@pytest.fixture(scope="session")
def mnist1d_cache(tmp_path_factory):
    """One folder for the generated MNIST-1D set, shared by the MNIST-1D examples' tests."""
    return str(tmp_path_factory.mktemp("mnist1d"))


@pytest.fixture(scope="session")
def mnist_folder():
    """The offline MNIST IDX files; the tests that need them skip without them."""
    folder = EXAMPLES.parents[1] / "shared" / "datasets" / "mnist"   # beside the repository
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST is not at {folder}")
    return str(folder)
