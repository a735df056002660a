"""How many threads ember computes with: `ember.set_num_threads(n)` and
`ember.get_num_threads()`. Matrix products use BLAS's threads (set at run time through
threadpoolctl) until ember shares work out among threads of its own (convolutions,
ember.ops.parallel); from then on BLAS runs single-threaded and the count is ember's."""
from __future__ import annotations

import os
import warnings


def set_num_threads(n: int) -> None:
    """Use `n` threads for the work inside an op (like torch.set_num_threads)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number, got {n}")
    from ember.ops import parallel

    if parallel.blas_libraries() is None:
        warnings.warn("set_num_threads needs threadpoolctl (pip install threadpoolctl); "
                      "the thread count is unchanged", RuntimeWarning, stacklevel=2)
        return
    parallel.set_intra_op_threads(int(n))


def get_num_threads() -> int:
    """The threads ember computes with (BLAS's setting, until ember's threads take over)."""
    from ember.ops import parallel

    if parallel.blas_libraries() is None:
        for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            if os.environ.get(name, "").isdigit():
                return int(os.environ[name])
        return os.cpu_count() or 1
    return parallel.intra_op_threads()


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Accepted for PyTorch code: ember's CPU ops are deterministic already (the same seed
    and thread count give bitwise the same run)."""


def are_deterministic_algorithms_enabled() -> bool:
    return True
