"""Reused memory: scratch buffers, the recurrent workspace, and the allocator setting."""
import ctypes
import platform

import numpy as np
import pytest

from ember.ops.workspace import Workspace, release_scratch, reuse_freed_memory, scratch


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
