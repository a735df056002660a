"""Independent blocks of a kernel (blocks of images) shared out among ember's threads:
NumPy's copies and the matrix products release the GIL, so each thread unfolds and
multiplies its own blocks in its own core's cache, with BLAS single-threaded inside.
Left to itself, BLAS parallelises only the products, and the unfolding copies between
them run on one core while the other waits.

Once blocks have run on several threads, BLAS stays single-threaded for the rest of the
process: OpenBLAS's idle threads spin for about 0.1 s after each call, and on the cores
where ember's threads run next they made a W3 training step 1.65x slower (129 vs 78 ms
on 2 cores). ember's own thread count (ember.set_num_threads) is kept apart from BLAS's.

This needs threadpoolctl; without it, with one thread, or for arrays that are not
NumPy's, blocks run in order on the calling thread. Results never depend on which
thread ran a block.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_blas = {}                          # "controller": threadpoolctl's BLAS libraries, or None
_threads: dict = {}                 # "count": ember's thread count; "blas_single": handed over
_pool: dict = {}                    # "executor": the worker threads, "size": how many
_one_section_at_a_time = threading.Lock()
_running = threading.local()        # .blocks: this thread is running blocks already


def blas_libraries():
    """threadpoolctl's handle on the loaded BLAS libraries, or None without threadpoolctl
    (looked up once)."""
    if "controller" not in _blas:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas["controller"] = None
        else:
            _blas["controller"] = ThreadpoolController().select(user_api="blas")
    return _blas["controller"]


def blas_threads() -> int:
    """How many threads BLAS is set to use (1 when that cannot be known)."""
    libraries = blas_libraries()
    if libraries is None or not libraries.lib_controllers:
        return 1
    return max(library.num_threads for library in libraries.lib_controllers)


def intra_op_threads() -> int:
    """ember's thread count: as set by ember.set_num_threads, else BLAS's."""
    return _threads["count"] if "count" in _threads else blas_threads()


def set_intra_op_threads(count: int) -> None:
    """Compute with `count` threads: ember's, and BLAS's until they are handed over."""
    if not _threads.get("blas_single"):
        _set_blas_threads(count)
    _threads["count"] = count


def blas_handed_over() -> bool:
    """True once BLAS runs single-threaded for good, ember's threads doing the sharing."""
    return _threads.get("blas_single", False)


def hand_blas_threads_over() -> None:
    if not _threads.get("blas_single"):
        _threads["count"] = intra_op_threads()
        _set_blas_threads(1)
        _threads["blas_single"] = True


def _set_blas_threads(count: int) -> None:
    for library in blas_libraries().lib_controllers:
        library.set_num_threads(count)


def block_threads(xp=np) -> int:
    """How many threads map_blocks would use for arrays of module `xp`."""
    if xp is not np or getattr(_running, "blocks", False) or blas_libraries() is None:
        return 1
    return intra_op_threads()


def workers(count: int) -> ThreadPoolExecutor:
    """A pool of `count` worker threads, kept from call to call."""
    if _pool.get("size") != count:
        if "executor" in _pool:
            _pool["executor"].shutdown(wait=True)
        _pool["executor"] = ThreadPoolExecutor(count, thread_name_prefix="ember-blocks")
        _pool["size"] = count
    return _pool["executor"]


def map_blocks(work, blocks: list, xp=np) -> list:
    """[work(block) for block in blocks], computed by the calling thread and one worker
    per further thread of ember's, each taking the next block when it is done with one (so a
    thread slowed by another process does less). `work` must write nowhere but its own
    block's share of the output, and use only thread-local scratch memory."""
    threads = min(len(blocks), block_threads(xp))
    if threads < 2:
        return [work(block) for block in blocks]
    results = [None] * len(blocks)
    next_block = iter(range(len(blocks)))        # next() is atomic under the GIL

    def take_blocks():
        _running.blocks = True
        try:
            for index in next_block:
                results[index] = work(blocks[index])
        finally:
            _running.blocks = False

    hand_blas_threads_over()
    with _one_section_at_a_time:
        futures = [workers(threads - 1).submit(take_blocks) for _ in range(threads - 1)]
        try:
            take_blocks()
        finally:
            for future in futures:
                future.exception()               # wait for every worker before returning
        for future in futures:
            future.result()                      # a worker's error is raised here
    return results
