"""How many threads the array library's BLAS uses: `ember.set_num_threads(n)` and
`ember.get_num_threads()`, through threadpoolctl (which sets OpenBLAS/MKL at run time)."""
from __future__ import annotations

import os
import warnings

_limits = None      # keeps the active limit alive (threadpoolctl restores on release)


def set_num_threads(n: int) -> None:
    """Use `n` threads in matrix products (like torch.set_num_threads)."""
    global _limits
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number, got {n}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        warnings.warn("set_num_threads needs threadpoolctl (pip install threadpoolctl); "
                      "the thread count is unchanged", RuntimeWarning, stacklevel=2)
        return
    _limits = threadpool_limits(limits=int(n))


def get_num_threads() -> int:
    """The threads matrix products use (the BLAS library's setting)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            if os.environ.get(name, "").isdigit():
                return int(os.environ[name])
        return os.cpu_count() or 1
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else 1


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted for PyTorch code: ember's CPU ops are deterministic already (the same seed
    and thread count give bitwise the same run)."""


def are_deterministic_algorithms_enabled() -> bool:
    return True
