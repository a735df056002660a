"""What the tests of ember's compiled kernels share."""
from __future__ import annotations

import os

import pytest

from ember.ops import compiled


def skip_unless_kernels_built() -> None:
    """Skip the calling test module where the compiled kernels were not built (no C
    compiler at install); fail instead when EMBER_REQUIRE_KERNELS is set (make test, CI)."""
    if compiled.kernels_built():
        return
    if os.environ.get("EMBER_REQUIRE_KERNELS"):
        raise RuntimeError("EMBER_REQUIRE_KERNELS is set but the compiled kernels were not "
                           "built (pip install -e . needs a C compiler)")
    pytest.skip("the compiled kernels are not built", allow_module_level=True)
