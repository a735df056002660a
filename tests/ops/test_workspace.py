"""Reused memory: scratch buffers, the recurrent workspace, and the allocator setting."""
import ctypes
import platform

import numpy as np
import pytest

from ember.ops.workspace import (ZEROS_MAX_BYTES, Workspace, is_dense, release_scratch,
                                 reuse_freed_memory, scratch, zeros_laid_out_like)


def test_scratch_is_reused_for_the_same_purpose_and_grows_when_too_small():
    first = scratch(np, (4, 8), np.float32, "test")
    again = scratch(np, (2, 8), np.float32, "test")
    assert np.shares_memory(first, again) and again.shape == (2, 8)
    bigger = scratch(np, (100, 8), np.float64, "test")
    assert bigger.shape == (100, 8) and bigger.dtype == np.float64
    assert not np.shares_memory(scratch(np, (4,), np.float32, "other"), bigger)
    release_scratch()
    assert not np.shares_memory(scratch(np, (4, 8), np.float32, "test"), bigger)


def test_workspace_hands_back_only_a_matching_array_and_keeps_at_most_capacity():
    pool = Workspace(capacity=2)
    a, b, c = np.empty((3, 4)), np.empty((3, 4), np.float32), np.empty(5)
    pool.give_back(a, None, b, c)                    # a is dropped: over capacity
    assert pool.empty((3, 4), np.float32, np) is b
    assert pool.empty((3, 4), np.float64, np) is not a
    assert pool.empty((5,), np.float64, np) is c
    assert pool.free == []


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_reuse_freed_memory_sets_glibcs_options_and_can_be_undone():
    assert hasattr(ctypes.CDLL(None), "mallopt")
    assert reuse_freed_memory(False) is True
    assert reuse_freed_memory(True) is True
    x = np.ones(10**6)                                # allocation still works either way
    assert x.sum() == 10**6


def test_zeros_laid_out_like_follows_the_memory_order_and_stays_zero():
    channels_last = np.ones((2, 5, 4, 3), np.float32).transpose(0, 3, 1, 2)
    zeros = zeros_laid_out_like(channels_last)
    assert zeros.shape == channels_last.shape and zeros.strides == channels_last.strides
    assert zeros.dtype == np.float32 and not zeros.any()
    with pytest.raises(ValueError):
        zeros[0, 0, 0, 0] = 1.0                      # read-only: shared between calls
    bigger = zeros_laid_out_like(np.ones((7, 11), np.float32))   # the buffer grows
    assert bigger.shape == (7, 11) and bigger.flags.c_contiguous and not bigger.any()
    assert zeros_laid_out_like(np.ones(3, np.int64)).dtype == np.int64
    assert zeros_laid_out_like(np.ones((4, 6))[:, ::2]) is None   # not dense: no layout to copy
    assert zeros_laid_out_like(np.empty(ZEROS_MAX_BYTES + 1, np.uint8)) is None   # not kept
    release_scratch()
    assert zeros_laid_out_like(np.ones(5, np.float32)).size == 5


def test_is_dense_accepts_permutations_and_size_one_axes_only():
    base = np.ones((3, 1, 4, 5))
    assert is_dense(base) and is_dense(base.transpose(2, 0, 3, 1)) and is_dense(base[1:3])
    assert not is_dense(base[:, :, :2]) and not is_dense(base[..., ::2])
