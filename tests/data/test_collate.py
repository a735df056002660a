"""default_collate and default_convert give what PyTorch's give: the same structure,
dtypes and values."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import ember
from ember.data.collate import default_collate, default_convert

Point = namedtuple("Point", "x label")


class T:
    """A tensor inside a sample, made by whichever library is under test."""

    def __init__(self, values):
        self.values = values


def build(sample, lib):
    """The sample with every T replaced by `lib.tensor(values)`."""
    if isinstance(sample, T):
        return lib.tensor(sample.values)
    if isinstance(sample, dict):
        return {key: build(value, lib) for key, value in sample.items()}
    if isinstance(sample, Point):
        return Point(*(build(value, lib) for value in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(build(value, lib) for value in sample)
    return sample


CASES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0],
    "bools": [True, False],
    "mixed_numbers": [1, 2.5],
    "numpy_float32_scalars": [np.float32(1.5), np.float32(2)],
    "numpy_int32_scalars": [np.int32(4), np.int32(5)],
    "numpy_bool_scalars": [np.bool_(True), np.bool_(False)],
    "numpy_0d_arrays": [np.array(1.0), np.array(2.0)],
    "uint8_arrays": [np.full((2, 3), 7, np.uint8), np.zeros((2, 3), np.uint8)],
    "float64_arrays": [np.arange(3.0), np.ones(3)],
    "tensors": [T([1.0, 2.0]), T([3.0, 4.0])],
    "int_tensors": [T(3), T(4)],
    "tuples": [(T([1.0]), 0), (T([2.0]), 1)],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"x": np.ones(2, np.float32), "y": [1, 2]},
              {"x": np.zeros(2, np.float32), "y": [3, 4]}],
    "namedtuples": [Point(T([1.0]), 1), Point(T([2.0]), 0)],
    "strings": ["a", "bc"],
}


def assert_same(ours, theirs):
    """Same nesting, container types, dtypes and values."""
    if hasattr(theirs, "numpy") and not isinstance(theirs, (list, tuple, dict, str)):
        assert isinstance(ours, ember.Tensor), f"expected a tensor, got {type(ours)}"
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    else:
        assert ours == theirs


@pytest.mark.parametrize("case", list(CASES))
def test_default_collate_matches_pytorch(torch, case):
    ours = default_collate(build(CASES[case], ember))
    assert_same(ours, torch.utils.data.default_collate(build(CASES[case], torch)))


@pytest.mark.parametrize("case", ["uint8_arrays", "tuples", "dicts", "numpy_0d_arrays"])
def test_default_convert_matches_pytorch(torch, case):
    ours = default_convert(build(CASES[case][0], ember))
    assert_same(ours, torch.utils.data.default_convert(build(CASES[case][0], torch)))


def test_collate_keeps_float32_and_stacks_along_a_new_first_dimension():
    batch = default_collate([(ember.zeros(3, 4), np.float32(1)) for _ in range(5)])
    assert batch[0].shape == (5, 3, 4) and batch[0].dtype == ember.float32
    assert batch[1].dtype == ember.float32


def test_collate_errors_say_what_was_found():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(ember.ShapeError, match=r"\(2,\).*\(3,\)"):
        default_collate([ember.zeros(2), ember.zeros(3)])
    with pytest.raises(IndexError, match="empty batch"):
        default_collate([])
