"""The Tensor API against PyTorch: constructors, properties, conversions, dtype promotion,
in-place ops, random reproducibility, copying and grad mode."""
from __future__ import annotations

import copy
import operator
import pickle
import re
import threading

import numpy as np
import pytest

import ember
from ember.errors import DTypeError, GraphError, ShapeError
from tests.conftest import rng_for


def torch_name(torch_dtype) -> str:
    """'float32' for torch.float32: the spelling ember's dtype.name uses."""
    return str(torch_dtype).removeprefix("torch.")


def raised(call):
    """The exception `call()` raises, or None."""
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the caller inspects what was raised
        return exc
    return None


# =======================================================================================
# constructors
# =======================================================================================

PYTHON_DATA = [
    3, 3.0, True, -7, [1, 2], [1.0, 2.0], [True, False], [[1, 2], [3, 4]], [1, 2.5],
    [True, 2], [[1.5], [2.5]], [], [[]], [[True], [False]],
]


@pytest.mark.torch
@pytest.mark.parametrize("data", PYTHON_DATA, ids=repr)
def test_tensor_infers_dtype_and_shape_from_python_data_like_pytorch(data, torch):
    ours, theirs = ember.tensor(data), torch.tensor(data)
    assert ours.dtype.name == torch_name(theirs.dtype)
    assert ours.shape == tuple(theirs.shape)
    assert ours.tolist() == theirs.tolist()


NUMPY_DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
                "bool"]


@pytest.mark.torch
@pytest.mark.parametrize("np_dtype", NUMPY_DTYPES)
def test_tensor_keeps_the_dtype_of_a_numpy_array_like_pytorch(np_dtype, torch):
    array = np.array([[0, 1, 2], [3, 4, 5]]).astype(np_dtype)
    ours, theirs = ember.tensor(array), torch.tensor(array)
    assert ours.dtype.name == torch_name(theirs.dtype) == np_dtype
    assert ours.tolist() == theirs.tolist()


@pytest.mark.torch
@pytest.mark.parametrize("scalar", [np.float64(2.5), np.float32(2.5), np.int32(4), np.bool_(1)],
                         ids=lambda s: type(s).__name__)
def test_tensor_of_a_numpy_scalar_is_zero_dim_with_its_dtype(scalar, torch):
    ours, theirs = ember.tensor(scalar), torch.tensor(scalar)
    assert ours.shape == () == tuple(theirs.shape)
    assert ours.dtype.name == torch_name(theirs.dtype)


def test_zero_dim_tensor():
    t = ember.tensor(2.5)
    assert t.shape == () and t.ndim == 0 and t.dim() == 0 and t.numel() == 1
    assert t.item() == 2.5


def test_tensor_copies_its_data():
    array = np.zeros(3, dtype=np.float32)
    t = ember.tensor(array)
    array[0] = 5.0
    assert t.tolist() == [0.0, 0.0, 0.0]
    source = ember.tensor([1.0, 2.0])
    copied = ember.tensor(source)
    source.add_(1)
    assert copied.tolist() == [1.0, 2.0]


def test_tensor_from_a_tensor_that_requires_grad_is_a_new_leaf():
    source = ember.tensor([1.0, 2.0], requires_grad=True)
    t = ember.tensor(source)
    assert t.is_leaf and not t.requires_grad


@pytest.mark.parametrize("make", [ember.from_numpy, ember.as_tensor],
                         ids=["from_numpy", "as_tensor"])
def test_from_numpy_and_as_tensor_share_memory_both_ways(make):
    array = np.zeros(3, dtype=np.float32)
    t = make(array)
    array[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1)
    np.testing.assert_array_equal(array, [6.0, 1.0, 1.0])


def test_from_numpy_shares_a_non_contiguous_view():
    base = np.zeros((3, 4))
    t = ember.from_numpy(base[:, ::2])
    base[1, 2] = 7.0
    assert t.shape == (3, 2) and t[1, 1].item() == 7.0


def test_as_tensor_with_another_dtype_copies():
    array = np.zeros(3, dtype=np.float32)
    t = ember.as_tensor(array, dtype=ember.float64)
    array[0] = 5.0
    assert t.dtype == ember.float64 and t.tolist() == [0.0, 0.0, 0.0]


def test_as_tensor_of_a_tensor_is_the_same_tensor():
    t = ember.tensor([1.0, 2.0])
    assert ember.as_tensor(t) is t
    assert ember.as_tensor(t, dtype=ember.float64).dtype == ember.float64


def test_from_numpy_refuses_what_is_not_a_supported_array():
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        ember.from_numpy([1, 2])
    with pytest.raises(DTypeError, match="complex128"):
        ember.from_numpy(np.zeros(2, dtype=complex))


@pytest.mark.parametrize("make", [
    lambda: ember.tensor([1, 2], requires_grad=True),
    lambda: ember.zeros(2, dtype=ember.int64, requires_grad=True),
    lambda: ember.ones(2, dtype=ember.bool, requires_grad=True),
    lambda: ember.arange(3, requires_grad=True),
    lambda: ember.full((2,), 3, requires_grad=True),
    lambda: ember.tensor([1, 2]).requires_grad_(),
], ids=["tensor", "zeros", "ones-bool", "arange", "full", "requires_grad_"])
def test_requires_grad_on_an_integer_tensor_raises(make):
    with pytest.raises(DTypeError, match="only floating-point tensors can require gradients"):
        make()


@pytest.mark.parametrize("make", [ember.zeros, ember.ones, ember.empty])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([2, 3],)], ids=["args", "tuple", "list"])
def test_filled_constructors_take_sizes_in_any_form(make, size):
    t = make(*size)
    assert t.shape == (2, 3) and t.dtype == ember.float32
    assert make(*size, dtype=ember.int32).dtype == ember.int32


def test_zeros_and_ones_hold_what_they_say():
    assert ember.zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert ember.ones(3, dtype=ember.int64).tolist() == [1, 1, 1]


def test_filled_constructors_follow_the_default_dtype():
    ember.set_default_dtype(ember.float64)
    for t in (ember.zeros(1), ember.ones(1), ember.empty(1), ember.eye(2), ember.rand(1),
              ember.randn(1), ember.tensor([1.5]), ember.arange(0.0, 1.0),
              ember.linspace(0, 1, 2), ember.full((1,), 1.0)):
        assert t.dtype == ember.float64


@pytest.mark.torch
@pytest.mark.parametrize("fill", [3, 3.0, True, -2], ids=repr)
def test_full_infers_its_dtype_from_the_fill_value_like_pytorch(fill, torch):
    ours, theirs = ember.full((2, 3), fill), torch.full((2, 3), fill)
    assert ours.dtype.name == torch_name(theirs.dtype)
    assert ours.tolist() == theirs.tolist()


def test_full_with_an_explicit_dtype():
    t = ember.full((2,), 3, dtype=ember.float64)
    assert t.dtype == ember.float64 and t.tolist() == [3.0, 3.0]


@pytest.mark.torch
@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2)], ids=str)
def test_eye_matches_pytorch(args, torch):
    ours, theirs = ember.eye(*args), torch.eye(*args)
    assert ours.dtype == ember.float32
    assert ours.tolist() == theirs.tolist()


ARANGE_ARGS = [(5,), (2, 7), (0, 10, 3), (-3, 3), (5, 0, -2), (0, 1, 0.25), (1.0, 0, -0.3),
               (3.0,), (0, 1, 0.1), (1, -1, -0.5), (-2.5, 2.5, 0.5)]


@pytest.mark.torch
@pytest.mark.parametrize("args", ARANGE_ARGS, ids=str)
def test_arange_matches_pytorch(args, torch):
    ours, theirs = ember.arange(*args), torch.arange(*args)
    assert ours.dtype.name == torch_name(theirs.dtype)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_arange_with_a_dtype():
    t = ember.arange(0, 5, 2, dtype=ember.float64)
    assert t.dtype == ember.float64 and t.tolist() == [0.0, 2.0, 4.0]


@pytest.mark.torch
def test_arange_is_exact_for_large_integers(torch):
    start = 2 ** 53
    assert ember.arange(start, start + 3).tolist() == torch.arange(start, start + 3).tolist()


@pytest.mark.torch
def test_arange_with_bounds_inconsistent_with_the_step_raises(torch):
    with pytest.raises(RuntimeError):
        torch.arange(5, 0)
    with pytest.raises((ValueError, RuntimeError), match="arange"):
        ember.arange(5, 0)


@pytest.mark.torch
@pytest.mark.parametrize("make,args", [
    ("linspace", (0, 1, 5)), ("linspace", (-2, 3, 7)), ("linspace", (0, 1, 1)),
    ("linspace", (3, -1, 4)), ("logspace", (0, 2, 3)), ("logspace", (-1, 1, 5)),
], ids=str)
def test_linspace_and_logspace_match_pytorch(make, args, torch):
    ours, theirs = getattr(ember, make)(*args), getattr(torch, make)(*args)
    assert ours.dtype == ember.float32 and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_logspace_with_a_base():
    np.testing.assert_allclose(ember.logspace(0, 3, 4, base=2.0).numpy(), [1, 2, 4, 8])
    assert ember.linspace(0, 1, 3, dtype=ember.float64).dtype == ember.float64


@pytest.mark.parametrize("source_dtype", [ember.float32, ember.float64, ember.int64, ember.bool])
def test_like_constructors_keep_shape_and_dtype(source_dtype):
    source = ember.zeros(2, 3, dtype=source_dtype)
    for made, value in [(ember.zeros_like(source), 0), (ember.ones_like(source), 1),
                        (ember.full_like(source, 1), 1), (ember.empty_like(source), None)]:
        assert made.shape == (2, 3) and made.dtype == source_dtype
        if value is not None:
            assert (made == value).all().item()
    assert ember.zeros_like(source, dtype=ember.float64).dtype == ember.float64


@pytest.mark.torch
def test_full_like_casts_the_fill_value_to_the_input_dtype(torch):
    ours = ember.full_like(ember.tensor([1, 2]), 7.5)
    theirs = torch.full_like(torch.tensor([1, 2]), 7.5)
    assert ours.dtype == ember.int64 and ours.tolist() == theirs.tolist()


def test_random_like_constructors():
    source = ember.zeros(4, 5, dtype=ember.float64)
    for made in (ember.rand_like(source), ember.randn_like(source)):
        assert made.shape == (4, 5) and made.dtype == ember.float64
    ints = ember.randint_like(ember.zeros(50, dtype=ember.int32), 3, 7)
    assert ints.dtype == ember.int32 and 3 <= ints.min().item() and ints.max().item() < 7
    floats = ember.randint_like(ember.zeros(50), 5)
    assert floats.dtype == ember.float32 and (floats == floats.floor()).all().item()
    assert 0 <= floats.min().item() and floats.max().item() < 5


def test_rand_is_uniform_on_0_1():
    t = ember.rand(100, 100)
    assert t.shape == (100, 100) and t.dtype == ember.float32
    assert 0.0 <= t.min().item() and t.max().item() < 1.0
    assert abs(t.mean().item() - 0.5) < 0.02      # sd of the mean: 0.29 / 100
    assert ember.rand(3, dtype=ember.float64).dtype == ember.float64
    assert ember.rand(3, dtype=ember.float16).dtype == ember.float16


def test_randn_is_standard_normal():
    t = ember.randn(100, 100)
    assert t.shape == (100, 100) and t.dtype == ember.float32
    assert abs(t.mean().item()) < 0.05 and abs(t.std().item() - 1.0) < 0.05


@pytest.mark.torch
@pytest.mark.parametrize("make", ["rand", "randn"])
def test_rand_and_randn_refuse_integer_dtypes(make, torch):
    with pytest.raises((NotImplementedError, RuntimeError)):
        getattr(torch, make)(3, dtype=torch.int64)
    with pytest.raises((TypeError, RuntimeError), match=make):
        getattr(ember, make)(3, dtype=ember.int64)


def test_random_constructors_can_make_leaves_that_require_grad():
    for t in (ember.rand(2, requires_grad=True), ember.randn(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


def test_randint_draws_from_low_to_high_exclusive():
    t = ember.randint(3, 10, (1000,))
    assert t.dtype == ember.int64 and t.shape == (1000,)
    assert t.min().item() == 3 and t.max().item() == 9     # all 7 values appear in 1000 draws
    assert ember.randint(5, (2, 3)).shape == (2, 3)
    assert ember.randint(5, size=(4,)).max().item() < 5
    assert ember.randint(0, 10, (3,), dtype=ember.int32).dtype == ember.int32


def test_randperm_is_a_permutation():
    t = ember.randperm(50)
    assert t.dtype == ember.int64
    assert sorted(t.tolist()) == list(range(50))
    assert t.tolist() != list(range(50))
    assert ember.randperm(0).tolist() == []


def test_normal_shapes_and_moments():
    t = ember.normal(2.0, 3.0, (100, 100))
    assert t.shape == (100, 100) and t.dtype == ember.float32
    assert abs(t.mean().item() - 2.0) < 0.15 and abs(t.std().item() - 3.0) < 0.15
    means = ember.tensor([0.0, 100.0, -100.0])
    drawn = ember.normal(means, ember.full((3,), 0.01))
    assert drawn.shape == (3,)
    np.testing.assert_allclose(drawn.numpy(), means.numpy(), atol=0.1)
    assert ember.normal(ember.zeros(2, 3), 1.0).shape == (2, 3)
    assert ember.normal(ember.zeros(3, dtype=ember.float64), 1.0).dtype == ember.float64


def test_bernoulli_draws_zeros_and_ones_at_the_given_rate():
    probs = ember.full((10000,), 0.3)
    t = ember.bernoulli(probs)
    assert t.dtype == ember.float32 and t.shape == (10000,)
    assert set(np.unique(t.numpy()).tolist()) == {0.0, 1.0}
    assert abs(t.mean().item() - 0.3) < 0.03
    assert ember.bernoulli(ember.zeros(5)).tolist() == [0.0] * 5
    assert ember.bernoulli(ember.ones(5)).tolist() == [1.0] * 5
    assert ember.bernoulli(ember.zeros(5, dtype=ember.float64)).dtype == ember.float64


def test_multinomial_draws_indices_by_weight():
    weights = ember.tensor([0.0, 1.0, 0.0, 3.0])
    drawn = ember.multinomial(weights, 1000, replacement=True)
    assert drawn.dtype == ember.int64 and drawn.shape == (1000,)
    counts = np.bincount(drawn.numpy(), minlength=4)
    assert counts[0] == counts[2] == 0
    assert abs(counts[3] / 1000 - 0.75) < 0.06
    no_repeat = ember.multinomial(ember.ones(6), 6)
    assert sorted(no_repeat.tolist()) == list(range(6))
    assert ember.multinomial(ember.ones(3, 5), 2).shape == (3, 2)


# =======================================================================================
# properties
# =======================================================================================


@pytest.mark.torch
def test_shape_ndim_size_numel_match_pytorch(torch):
    array = rng_for("shape").standard_normal((2, 3, 4)).astype(np.float32)
    ours, theirs = ember.tensor(array), torch.tensor(array)
    assert ours.shape == tuple(theirs.shape) == (2, 3, 4)
    assert ours.ndim == ours.dim() == theirs.dim() == 3
    assert tuple(ours.size()) == tuple(theirs.size())
    for d in (0, 1, 2, -1, -3):
        assert ours.size(d) == theirs.size(d)
    assert ours.numel() == theirs.numel() == 24
    assert ember.numel(ours) == 24


def test_size_of_a_dimension_out_of_range_raises():
    with pytest.raises(IndexError, match=r"size: dim 3 is out of range .* 3 dimension"):
        ember.zeros(2, 3, 4).size(3)


def test_dtype_and_device():
    t = ember.zeros(2)
    assert t.dtype is ember.float32 and repr(t.dtype) == "ember.float32"
    assert t.device == "cpu" and str(t.device) == "cpu" and t.device.type == "cpu"
    assert not t.is_cuda
    assert t.is_floating_point() and not ember.tensor([1]).is_floating_point()


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)], ids=str)
def test_T_reverses_dimensions_like_pytorch(shape, torch):
    array = np.arange(np.prod(shape)).reshape(shape)
    ours = ember.tensor(array).T
    theirs = torch.tensor(array).permute(*reversed(range(len(shape))))
    assert ours.shape == tuple(theirs.shape)
    assert ours.tolist() == theirs.tolist()


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(2, 3), (4, 2, 3)], ids=str)
def test_mT_swaps_the_last_two_dimensions_like_pytorch(shape, torch):
    array = np.arange(np.prod(shape)).reshape(shape)
    assert ember.tensor(array).mT.tolist() == torch.tensor(array).mT.tolist()


def test_is_leaf_and_grad_fn():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    plain = ember.tensor([1.0, 2.0])
    assert x.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    z = plain * 2
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad
    with ember.no_grad():
        w = x * 2
    assert w.is_leaf and w.grad_fn is None and not w.requires_grad
    d = y.detach()
    assert d.is_leaf and not d.requires_grad


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8", "int8", "int16",
                                   "int32", "int64", "bool"])
def test_element_size_matches_pytorch(dtype, torch):
    ours = ember.zeros(2, dtype=getattr(ember, dtype))
    theirs = torch.zeros(2, dtype=getattr(torch, dtype))
    assert ours.element_size() == theirs.element_size()


# =======================================================================================
# conversions
# =======================================================================================


def test_numpy_shares_memory():
    t = ember.zeros(3)
    array = t.numpy()
    array[0] = 4.0
    assert t.tolist() == [4.0, 0.0, 0.0]
    t.add_(1)
    np.testing.assert_array_equal(array, [5.0, 1.0, 1.0])


def test_numpy_of_a_tensor_that_requires_grad_raises_and_detach_fixes_it():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match=r"numpy.*requires grad.*detach\(\)\.numpy\(\)"):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


@pytest.mark.torch
@pytest.mark.parametrize("data", [2.5, [2.5], [[7]], 3, True, -1.25], ids=repr)
def test_item_returns_a_python_number_like_pytorch(data, torch):
    ours, theirs = ember.tensor(data).item(), torch.tensor(data).item()
    assert ours == theirs and type(ours) is type(theirs)


def test_item_of_a_multi_element_tensor_raises():
    with pytest.raises(ValueError, match=r"item: a tensor with 2 elements \(shape \(2,\)\)"):
        ember.zeros(2).item()


@pytest.mark.torch
@pytest.mark.parametrize("data", [[[1, 2], [3, 4]], [1.5, -2.0], 3.5, [True, False], []],
                         ids=repr)
def test_tolist_matches_pytorch(data, torch):
    assert ember.tensor(data).tolist() == torch.tensor(data).tolist()


@pytest.mark.torch
@pytest.mark.parametrize("method", ["float", "double", "long", "int", "bool", "half"])
@pytest.mark.parametrize("data", [[1.5, -1.7, 0.0, 2.0], [3, -2, 0]], ids=["float", "int"])
def test_dtype_conversion_methods_match_pytorch(method, data, torch):
    ours = getattr(ember.tensor(data), method)()
    theirs = getattr(torch.tensor(data), method)()
    assert ours.dtype.name == torch_name(theirs.dtype)
    assert ours.tolist() == theirs.tolist()


def test_to_a_dtype_or_the_dtype_of_another_tensor():
    t = ember.tensor([1, 2])
    assert t.to(ember.float64).dtype == ember.float64
    assert t.to(dtype=ember.float16).dtype == ember.float16
    assert t.to(ember.zeros(1, dtype=ember.float16)).dtype == ember.float16
    assert t.to(np.float32).dtype == ember.float32
    assert t.to(ember.float64).tolist() == [1.0, 2.0]


@pytest.mark.torch
def test_to_the_same_dtype_returns_the_tensor_itself_like_pytorch(torch):
    ours, theirs = ember.zeros(2), torch.zeros(2)
    assert theirs.to(torch.float32) is theirs
    assert ours.to(ember.float32) is ours
    assert ours.to(ember.float32, copy=True) is not ours


def test_to_is_differentiable_and_casts_the_gradient_back():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(ember.float64)
    assert y.dtype == ember.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == ember.float32 and x.grad.tolist() == [2.0, 4.0]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "bool",
                                   "uint8"])
def test_type_names_the_tensor_type_like_pytorch(dtype, torch):
    ours = ember.zeros(2, dtype=getattr(ember, dtype)).type()
    theirs = torch.zeros(2, dtype=getattr(torch, dtype)).type()
    assert ours.removeprefix("ember.") == theirs.removeprefix("torch.")


def test_type_and_type_as_convert():
    t = ember.zeros(2)
    assert t.type(ember.int32).dtype == ember.int32
    assert t.type_as(ember.tensor([1])).dtype == ember.int64
    assert ember.tensor([1, 2]).type_as(ember.zeros(1, dtype=ember.float64)).tolist() == [1.0, 2.0]


@pytest.mark.torch
def test_type_accepts_a_type_name_like_pytorch(torch):
    assert torch.zeros(2).type("torch.IntTensor").dtype == torch.int32
    assert ember.zeros(2).type("ember.IntTensor").dtype == ember.int32


@pytest.mark.torch
@pytest.mark.parametrize("data", [2.5, [-3.9], [[7]], True], ids=repr)
def test_float_int_bool_of_one_element_match_pytorch(data, torch):
    ours, theirs = ember.tensor(data), torch.tensor(data)
    assert float(ours) == float(theirs)
    assert int(ours) == int(theirs)
    assert bool(ours) == bool(theirs)


@pytest.mark.torch
@pytest.mark.parametrize("convert", [float, int, bool, operator.index],
                         ids=["float", "int", "bool", "index"])
@pytest.mark.parametrize("data", [[1.0, 2.0], [], [1, 2]], ids=["two", "empty", "int-two"])
def test_python_conversions_of_several_elements_raise_like_pytorch(convert, data, torch):
    expected = raised(lambda: convert(torch.tensor(data)))
    assert expected is not None
    with pytest.raises(type(expected)):
        convert(ember.tensor(data))


def test_index_conversion():
    items = [10, 20, 30]
    assert items[ember.tensor(1)] == 20
    assert items[ember.tensor([2])] == 30
    assert items[ember.tensor(1, dtype=ember.int32)] == 20
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        items[ember.tensor(1.0)]


def test_bool_message_points_to_any_and_all():
    with pytest.raises(RuntimeError, match=r"2 values is ambiguous.*\.any\(\) or \.all\(\)"):
        bool(ember.zeros(2))


def test_format_of_a_zero_dim_tensor_formats_its_value():
    loss = ember.tensor(3.14159)
    assert f"{loss:.4f}" == "3.1416"
    assert f"{loss:8.2f}" == "    3.14"
    assert f"{ember.tensor(7):03d}" == "007"
    recorded = ember.tensor(2.0, requires_grad=True) * 1.5
    assert f"{recorded:.3f}" == "3.000"


def test_format_without_a_spec_is_the_repr():
    t = ember.tensor([1.0, 2.0])
    assert f"{t}" == repr(t) == str(t)


@pytest.mark.torch
def test_format_spec_on_a_multi_element_tensor_raises_a_clear_type_error(torch):
    with pytest.raises(TypeError):
        f"{torch.zeros(2):.4f}"
    with pytest.raises(TypeError, match="format"):
        f"{ember.zeros(2):.4f}"


def test_len():
    assert len(ember.zeros(4, 2)) == 4
    assert len(ember.zeros(0)) == 0
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))


@pytest.mark.torch
def test_iteration_yields_rows_like_pytorch(torch):
    data = [[1, 2], [3, 4], [5, 6]]
    rows = list(ember.tensor(data))
    assert len(rows) == 3 and all(isinstance(r, ember.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [r.tolist() for r in torch.tensor(data)]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(ember.tensor(1.0))


def test_gradient_flows_through_iteration():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    sum(element * element for element in x).backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_in():
    t = ember.tensor([1, 2, 3])
    assert 2 in t and 5 not in t
    assert ember.tensor(2) in t
    assert ember.tensor([1.0, 2.0]) in ember.tensor([[1.0, 2.0], [3.0, 4.0]])


def test_np_asarray_of_a_tensor():
    t = ember.tensor([1.0, 2.0])
    array = np.asarray(t)
    assert array.dtype == np.float32 and array.tolist() == [1.0, 2.0]
    assert np.shares_memory(array, t.numpy())
    converted = np.asarray(ember.tensor([1, 2]), dtype=np.float64)
    assert converted.dtype == np.float64 and converted.tolist() == [1.0, 2.0]
    assert np.array(t, copy=True) is not array


@pytest.mark.torch
def test_np_asarray_of_a_tensor_that_requires_grad_raises_like_numpy(torch):
    with pytest.raises(RuntimeError):
        np.asarray(torch.zeros(2, requires_grad=True))
    with pytest.raises(GraphError, match="requires grad"):
        np.asarray(ember.zeros(2, requires_grad=True))


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.lt, operator.eq], ids=lambda f: f.__name__)
def test_ndarray_with_tensor_on_the_right_gives_a_tensor(op):
    array = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    t = ember.tensor([2.0, 2.0, 2.0])
    result = op(array, t)
    assert isinstance(result, ember.Tensor)
    np.testing.assert_array_equal(result.numpy(), op(array, t.numpy()))


def test_ndarray_matmul_tensor_gives_a_tensor():
    result = np.eye(2, dtype=np.float32) @ ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(result, ember.Tensor) and result.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_ndarray_plus_a_tensor_that_requires_grad_is_recorded():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]


@pytest.mark.torch
@pytest.mark.parametrize("data,dtype", [
    ([1.5, 2.25], None), ([1, 2], None), ([True, False], None), (3.0, None),
    ([1e-5, 1.0], None), ([1, 2], "int32"), ([1.5], "float64"), ([], None),
    ([[1.0, 2.0], [3.0, 4.0]], None),
], ids=str)
def test_repr_matches_pytorch_for_simple_tensors(data, dtype, torch):
    ours = ember.tensor(data, dtype=None if dtype is None else getattr(ember, dtype))
    theirs = torch.tensor(data, dtype=None if dtype is None else getattr(torch, dtype))
    assert repr(ours) == repr(theirs).replace("torch.", "ember.")


def test_repr_key_parts():
    assert repr(ember.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert "dtype" not in repr(ember.tensor([1, 2]))
    assert "True" in repr(ember.tensor([True, False]))
    assert "dtype=ember.float64" in repr(ember.tensor([1.5], dtype=ember.float64))
    assert "requires_grad=True" in repr(ember.tensor([1.5], requires_grad=True))
    recorded = repr(ember.tensor([1.5], requires_grad=True) * 2)
    assert "grad_fn=<Mul" in recorded and "requires_grad" not in recorded
    assert repr(ember.zeros(0)) == "tensor([])"
    assert "size=(2, 0)" in repr(ember.zeros(2, 0))


def test_repr_under_a_float64_default_names_float32():
    ember.set_default_dtype(ember.float64)
    assert "dtype" not in repr(ember.tensor([1.5]))
    assert "dtype=ember.float32" in repr(ember.tensor([1.5], dtype=ember.float32))


# =======================================================================================
# dtype promotion
# =======================================================================================

TENSOR_DTYPES = ["bool", "int32", "int64", "float32", "float64"]
SCALARS = [2, 2.5, True]
PROMOTION_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                 "div": operator.truediv, "eq": operator.eq, "lt": operator.lt,
                 "ge": operator.ge}


def _operand_values(kind):
    """A tensor of the given dtype name (same values in both libraries), or a scalar."""
    if isinstance(kind, str):
        return np.array([True, False, True]) if kind == "bool" else np.array(
            [1, -2, 3]).astype(kind)
    return kind


def _is_bool(kind) -> bool:
    return kind == "bool" or kind is True


def _promotion_cases():
    pairs = [(a, b) for a in TENSOR_DTYPES for b in TENSOR_DTYPES]
    pairs += [(a, s) for a in TENSOR_DTYPES for s in SCALARS]
    pairs += [(s, a) for a in TENSOR_DTYPES for s in SCALARS]
    cases = []
    for name in PROMOTION_OPS:
        for a, b in pairs:
            cases.append(pytest.param(name, a, b, id=f"{name}-{a!r}-{b!r}"))
    return cases


@pytest.mark.torch
@pytest.mark.parametrize("op_name,left,right", _promotion_cases())
def test_binary_op_result_dtype_matches_pytorch(op_name, left, right, torch):
    op = PROMOTION_OPS[op_name]

    def ours(kind):
        value = _operand_values(kind)
        return ember.tensor(value) if isinstance(value, np.ndarray) else value

    def theirs(kind):
        value = _operand_values(kind)
        return torch.tensor(value) if isinstance(value, np.ndarray) else value

    expected_error = raised(lambda: op(theirs(left), theirs(right)))
    if expected_error is not None:
        with pytest.raises((TypeError, RuntimeError)):
            op(ours(left), ours(right))
        return
    expected = op(theirs(left), theirs(right))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = op(ours(left), ours(right))
    assert result.dtype.name == torch_name(expected.dtype)
    np.testing.assert_allclose(result.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["bool", "int32", "int64"])
def test_float_scalar_with_integer_tensor_follows_the_default_dtype(kind, torch):
    previous = torch.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        expected = torch.tensor(_operand_values(kind)) * 2.5
        result = ember.tensor(_operand_values(kind)) * 2.5
    finally:
        torch.set_default_dtype(previous)
    assert result.dtype.name == torch_name(expected.dtype) == "float64"


def test_promotion_keeps_float32_with_an_int64_tensor():
    # PyTorch's rule, where NumPy would say float64
    result = ember.zeros(2) + ember.tensor([1, 2])
    assert result.dtype == ember.float32 and result.tolist() == [1.0, 2.0]


# =======================================================================================
# in-place operations
# =======================================================================================

INPLACE_CASES = {
    "add_": lambda t, lib: t.add_(lib.tensor([1.0, 2.0, 3.0])),
    "add_-alpha": lambda t, lib: t.add_(lib.tensor([1.0, 2.0, 3.0]), alpha=2),
    "add_-scalar": lambda t, lib: t.add_(5),
    "sub_-alpha": lambda t, lib: t.sub_(lib.tensor([1.0, 1.0, 1.0]), alpha=0.5),
    "sub_-scalar-alpha": lambda t, lib: t.sub_(1.0, alpha=3),
    "mul_": lambda t, lib: t.mul_(lib.tensor([2.0, 3.0, 4.0])),
    "mul_-scalar": lambda t, lib: t.mul_(-2),
    "div_": lambda t, lib: t.div_(lib.tensor([2.0, 4.0, 8.0])),
    "div_-scalar": lambda t, lib: t.div_(4),
    "clamp_": lambda t, lib: t.clamp_(-0.5, 1.0),
    "clamp_-min": lambda t, lib: t.clamp_(min=0.0),
    "clamp_-max": lambda t, lib: t.clamp_(max=0.0),
    "clamp_-tensors": lambda t, lib: t.clamp_(lib.tensor([0.0, -1.0, 0.0]),
                                              lib.tensor([1.0, 0.0, 1.0])),
    "copy_": lambda t, lib: t.copy_(lib.tensor([7.0, 8.0, 9.0])),
    "copy_-cast": lambda t, lib: t.copy_(lib.tensor([7, 8, 9])),
    "fill_": lambda t, lib: t.fill_(5),
    "fill_-tensor": lambda t, lib: t.fill_(lib.tensor(4.5)),
    "zero_": lambda t, lib: t.zero_(),
    "masked_fill_": lambda t, lib: t.masked_fill_(lib.tensor([True, False, True]), -1.0),
}


def _inplace_source():
    return np.array([1.5, -2.0, 0.25], dtype=np.float32)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(INPLACE_CASES))
def test_inplace_ops_match_pytorch_and_return_the_tensor(name, torch):
    change = INPLACE_CASES[name]
    ours, theirs = ember.tensor(_inplace_source()), torch.tensor(_inplace_source())
    version = ours._version[0]
    assert change(ours, ember) is ours
    change(theirs, torch)
    assert ours.dtype == ember.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert ours._version[0] > version


@pytest.mark.torch
@pytest.mark.parametrize("name", list(INPLACE_CASES))
def test_inplace_ops_on_a_leaf_that_requires_grad_work_under_no_grad(name, torch):
    change = INPLACE_CASES[name]
    ours = ember.tensor(_inplace_source(), requires_grad=True)
    theirs = torch.tensor(_inplace_source(), requires_grad=True)
    with ember.no_grad():
        assert change(ours, ember) is ours
    with torch.no_grad():
        change(theirs, torch)
    assert ours.is_leaf and ours.requires_grad and ours.grad_fn is None
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)


SETITEM_CASES = {
    "int": (1, 10.0),
    "slice": (slice(0, 2), 0.0),
    "tensor-index": (lambda lib: lib.tensor([0, 2]), lambda lib: lib.tensor([5.0, 6.0])),
    "mask": (lambda lib: lib.tensor([True, False, True]), 7.0),
    "2d-row": ((1,), lambda lib: lib.tensor([9.0, 9.0, 9.0])),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SETITEM_CASES))
@pytest.mark.parametrize("requires_grad", [False, True], ids=["plain", "leaf-no_grad"])
def test_setitem_matches_pytorch(name, requires_grad, torch):
    index, value = SETITEM_CASES[name]
    shape = (2, 3) if name == "2d-row" else (3,)
    data = np.arange(6, dtype=np.float32)[:int(np.prod(shape))].reshape(shape)
    results = []
    for lib in (ember, torch):
        t = lib.tensor(data, requires_grad=requires_grad)
        i = index(lib) if callable(index) else index
        v = value(lib) if callable(value) else value
        with lib.no_grad():
            t[i] = v
        results.append(t.detach().numpy())
        if lib is ember:
            assert t.is_leaf and t.requires_grad == requires_grad
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("name", ["uniform_", "normal_", "bernoulli_"])
def test_random_fills_under_no_grad_keep_the_leaf(name):
    x = ember.zeros(10, requires_grad=True)
    with ember.no_grad():
        assert getattr(x, name)() is x
    assert x.is_leaf and x.requires_grad and x.dtype == ember.float32


def test_random_fills_have_the_right_distribution():
    uniform = ember.zeros(10000).uniform_(2.0, 3.0)
    assert 2.0 <= uniform.min().item() and uniform.max().item() < 3.0
    assert abs(uniform.mean().item() - 2.5) < 0.01
    normal = ember.zeros(10000, dtype=ember.float64).normal_(5.0, 0.5)
    assert normal.dtype == ember.float64
    assert abs(normal.mean().item() - 5.0) < 0.02 and abs(normal.std().item() - 0.5) < 0.02
    coins = ember.zeros(10000).bernoulli_(0.25)
    assert set(np.unique(coins.numpy()).tolist()) == {0.0, 1.0}
    assert abs(coins.mean().item() - 0.25) < 0.02


@pytest.mark.torch
@pytest.mark.parametrize("name", ["uniform_", "normal_"])
def test_random_fills_refuse_integer_tensors(name, torch):
    with pytest.raises((NotImplementedError, RuntimeError)):
        getattr(torch.zeros(5, dtype=torch.int64), name)()
    with pytest.raises((TypeError, RuntimeError), match=name):
        getattr(ember.zeros(5, dtype=ember.int64), name)()


INPLACE_ON_GRAPH = dict(INPLACE_CASES, **{
    "uniform_": lambda t, lib: t.uniform_(),
    "normal_": lambda t, lib: t.normal_(),
    "bernoulli_": lambda t, lib: t.bernoulli_(0.5),
    "setitem": lambda t, lib: t.__setitem__(0, 5.0),
})


@pytest.mark.parametrize("name", list(INPLACE_ON_GRAPH))
def test_inplace_on_a_leaf_that_requires_grad_raises_while_recording(name):
    x = ember.tensor(_inplace_source(), requires_grad=True)
    with pytest.raises(GraphError, match=r"leaf tensor that requires grad.*no_grad"):
        INPLACE_ON_GRAPH[name](x, ember)
    np.testing.assert_array_equal(x.detach().numpy(), _inplace_source())   # unchanged
    assert x._version[0] == 0


@pytest.mark.parametrize("name", list(INPLACE_ON_GRAPH))
def test_inplace_on_a_tensor_computed_in_the_graph_raises(name):
    x = ember.tensor(_inplace_source(), requires_grad=True)
    y = x * 1
    with pytest.raises(GraphError, match=r"in-place changes to a tensor computed inside the "
                                         r"graph"):
        INPLACE_ON_GRAPH[name](y, ember)
    np.testing.assert_array_equal(y.detach().numpy(), _inplace_source())


def _op_name_cases():
    cases = []
    for name in INPLACE_ON_GRAPH:
        op = name.split("-")[0]
        cases.append(pytest.param(name, op, id=name))
    return cases


@pytest.mark.parametrize("name,op", _op_name_cases())
def test_inplace_errors_name_the_op_that_was_called(name, op):
    x = ember.tensor(_inplace_source(), requires_grad=True)
    with pytest.raises(GraphError, match=f"^{re.escape(op)}:"):
        INPLACE_ON_GRAPH[name](x, ember)


def test_writing_a_value_that_requires_grad_in_place_raises():
    w = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    target = ember.zeros(3)
    with pytest.raises(GraphError, match="copy_: the value written requires grad"):
        target.copy_(w)
    with pytest.raises(GraphError, match="setitem: the value written requires grad"):
        target[0] = w[0]
    assert target.tolist() == [0.0, 0.0, 0.0]
    target.copy_(w.detach())
    assert target.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("symbol,op", [("+=", operator.iadd), ("-=", operator.isub),
                                       ("*=", operator.imul), ("/=", operator.itruediv)])
def test_augmented_assignment_rebinds_while_recording(symbol, op):
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    before = y
    y = op(y, ember.tensor([2.0, 4.0]))
    assert y is not before and y.grad_fn is not None
    assert before.tolist() == [1.0, 2.0]           # the old tensor keeps its value
    expected = op(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    np.testing.assert_allclose(y.detach().numpy(), expected)
    y.sum().backward()
    slope = {"+=": [1, 1], "-=": [1, 1], "*=": [2, 4], "/=": [0.5, 0.25]}[symbol]
    np.testing.assert_allclose(x.grad.numpy(), slope)


def test_augmented_assignment_of_a_leaf_that_requires_grad_raises_like_pytorch():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ember.GraphError, match="add_: a leaf tensor that requires grad"):
        x += 1
    assert x.tolist() == [1.0, 2.0] and x.is_leaf


def test_augmented_assignment_of_a_graph_tensor_rebinds_while_recording(torch):
    """The residual pattern `out += identity` works and gives PyTorch's gradient."""
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    out = w * 3
    original = out
    out += w
    assert out is not original and original.tolist() == [3.0, 6.0]
    out.sum().backward()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    t_out = tw * 3
    t_out += tw
    t_out.sum().backward()
    assert w.grad.tolist() == tw.grad.tolist() == [4.0, 4.0]


@pytest.mark.parametrize("op", [operator.iadd, operator.isub, operator.imul,
                                operator.itruediv], ids=lambda f: f.__name__)
def test_augmented_assignment_without_recording_changes_in_place(op):
    x = ember.tensor([1.0, 2.0])
    original = x
    x = op(x, 2.0)
    assert x is original and x.grad_fn is None
    np.testing.assert_allclose(original.numpy(), op(np.array([1.0, 2.0]), 2.0))
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    leaf = w
    with ember.no_grad():
        w = op(w, 2.0)
    assert w is leaf and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), op(np.array([1.0, 2.0]), 2.0))


def test_augmented_assignment_with_a_value_that_requires_grad_rebinds():
    x = ember.tensor([1.0, 2.0])
    original = x
    x += ember.tensor([1.0, 1.0], requires_grad=True)
    assert x is not original and x.requires_grad
    assert original.tolist() == [1.0, 2.0]


def _exp_output_changed():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with ember.no_grad():
        y.mul_(2)
    return y.sum()


def _mul_operand_changed():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0])
    y = x * w
    w.add_(1)
    return y.sum()


def _mul_operand_that_requires_grad_changed():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    with ember.no_grad():
        w.mul_(2)
    return y.sum()


def _pow_base_changed():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x ** 2
    with ember.no_grad():
        x.add_(1)
    return y.sum()


def _sigmoid_output_set():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.sigmoid()
    with ember.no_grad():
        y[0] = 0.0
    return y.sum()


def _tanh_output_augmented():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    with ember.no_grad():
        y += 1
    return y.sum()


def _matmul_weight_changed():
    x = ember.tensor(rng_for("matmul-weight").standard_normal((2, 3)).astype(np.float32),
                     requires_grad=True)
    w = ember.ones(3, 2)
    y = x @ w
    w.mul_(2)
    return y.sum()


def _detached_alias_changed():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.detach().zero_()          # detach shares the version counter, as in PyTorch
    return y.sum()


@pytest.mark.parametrize("make_loss", [
    _exp_output_changed, _mul_operand_changed, _mul_operand_that_requires_grad_changed,
    _pow_base_changed, _sigmoid_output_set, _tanh_output_augmented, _matmul_weight_changed,
    _detached_alias_changed,
], ids=lambda f: f.__name__.strip("_"))
def test_changing_a_saved_tensor_in_place_raises_at_backward(make_loss):
    loss = make_loss()
    with pytest.raises(GraphError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.torch
def test_changing_a_saved_tensor_raises_like_pytorch(torch):
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = t.exp()
    with torch.no_grad():
        ty.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        _exp_output_changed().backward()


def test_changing_an_unsaved_input_or_after_backward_is_fine():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0])
    (x + w).sum().backward()                 # add saves nothing
    w.add_(1)
    assert x.grad.tolist() == [1.0, 1.0]
    y = (x * w).sum()
    y.backward()
    w.add_(1)                                # after backward: nothing to protect
    assert x.grad.tolist() == [5.0, 6.0]


def _transposed_weight_changed_through_the_graph():
    """The Linear-layer pattern: y = x @ w.T, then an optimizer step, then backward."""
    x = ember.tensor([[1.0, 2.0]], requires_grad=True)
    w = ember.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    y = x @ w.T
    with ember.no_grad():
        w.mul_(2)
    return y.sum()


def _reshaped_operand_changed():
    x = ember.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    w = ember.tensor([1.0, 2.0, 3.0, 4.0])
    y = x * w
    w.view(2, 2).mul_(2)
    return y.sum()


def _sliced_operand_changed():
    x = ember.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    w = ember.tensor([1.0, 2.0, 3.0, 4.0])
    y = x * w
    w[:2].mul_(2)
    return y.sum()


def _vector_matmul_operand_changed():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = ember.ones(3, 2, requires_grad=True)
    y = x @ w
    with ember.no_grad():
        x.mul_(2)
    return y.sum()


@pytest.mark.parametrize("make_loss", [
    _transposed_weight_changed_through_the_graph, _reshaped_operand_changed,
    _sliced_operand_changed, _vector_matmul_operand_changed,
], ids=lambda f: f.__name__.strip("_"))
def test_changing_a_saved_tensor_through_a_view_raises_at_backward(make_loss):
    loss = make_loss()
    with pytest.raises(GraphError, match="modified by an in-place operation"):
        loss.backward()


@pytest.mark.torch
def test_inplace_change_through_an_integer_index_changes_the_tensor(torch):
    theirs = torch.tensor([1.0, 2.0, 3.0])
    theirs[1].fill_(7.0)
    ours = ember.tensor([1.0, 2.0, 3.0])
    ours[1].fill_(7.0)
    assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("change", [
    lambda t: t.__iadd__(1.5), lambda t: t.add_(1.5), lambda t: t.mul_(ember.tensor([1.5, 1.0])),
    lambda t: t.div_(2), lambda t: t.sub_(0.5),
], ids=["+=1.5", "add_(1.5)", "mul_(float tensor)", "div_(2)", "sub_(0.5)"])
def test_inplace_float_result_into_an_int_tensor_raises(change):
    t = ember.tensor([1, 2])
    with pytest.raises(DTypeError, match=r"_: .*can't be stored in a tensor of dtype ember\.int64"):
        change(t)
    assert t.tolist() == [1, 2]


@pytest.mark.torch
@pytest.mark.parametrize("data,change", [
    ([1, 2], lambda t: t.add_(1.5)),
    ([True], lambda t: t.add_(1)),
    ([1, 2], lambda t: t.div_(2)),
    ([1.0, 2.0], lambda t: t.add_(t.double())),       # allowed: float64 fits float32's kind
    ([1, 2], lambda t: t.mul_(3)),                    # allowed
], ids=["int+=float", "bool+=int", "int/=int", "float32+=float64", "int*=int"])
def test_inplace_dtype_errors_agree_with_pytorch(data, change, torch):
    expected = raised(lambda: change(torch.tensor(data)))
    got = raised(lambda: change(ember.tensor(data)))
    assert (expected is None) == (got is None), (expected, got)
    if got is not None:
        assert isinstance(got, DTypeError)


@pytest.mark.torch
def test_clamp_into_an_int_tensor_with_float_bounds_raises_a_clear_error(torch):
    with pytest.raises(RuntimeError):
        torch.tensor([1, 5]).clamp_(1.5, 3.5)
    with pytest.raises(DTypeError, match="clamp_"):
        ember.tensor([1, 5]).clamp_(1.5, 3.5)


@pytest.mark.torch
def test_clamp_inplace_without_bounds_raises(torch):
    with pytest.raises(RuntimeError):
        torch.tensor([1.0]).clamp_()
    with pytest.raises(ValueError, match="clamp"):
        ember.tensor([1.0]).clamp_()


@pytest.mark.parametrize("change,shapes", [
    (lambda t: t.add_(ember.zeros(2)), r"^add_: .*\(2,\).*\(3,\)"),
    (lambda t: t.mul_(ember.zeros(2, 3)), r"^mul_: .*\(2, 3\).*\(3,\)"),
    (lambda t: t.copy_(ember.zeros(2)), r"^copy_: .*\(2,\).*\(3,\)"),
    (lambda t: t.__setitem__(slice(0, 2), ember.zeros(3)), r"^setitem: .*\(3,\)"),
], ids=["add_", "mul_-would-grow", "copy_", "setitem"])
def test_inplace_shape_errors(change, shapes):
    t = ember.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=shapes):
        change(t)
    assert t.tolist() == [1.0, 2.0, 3.0]


def test_masked_fill_inplace_with_a_mask_of_the_wrong_shape_raises_a_shape_error():
    with pytest.raises(ShapeError, match=r"masked_fill_.*\(2,\).*\(3,\)"):
        ember.zeros(3).masked_fill_(ember.tensor([True, False]), 1.0)


def test_masked_fill_inplace_with_a_float_mask_raises_a_dtype_error():
    with pytest.raises(DTypeError, match=r"masked_fill_.*bool.*float32"):
        ember.zeros(3).masked_fill_(ember.tensor([1.0, 0.0, 1.0]), 1.0)


# =======================================================================================
# random reproducibility, copying and pickling
# =======================================================================================

RANDOM_DRAWS = {
    "rand": lambda g: ember.rand(4, 3, generator=g),
    "randn": lambda g: ember.randn(4, 3, generator=g),
    "randint": lambda g: ember.randint(0, 1000, (12,), generator=g),
    "randperm": lambda g: ember.randperm(12, generator=g),
    "normal": lambda g: ember.normal(0.0, 1.0, (12,), generator=g),
    "bernoulli": lambda g: ember.bernoulli(ember.full((32,), 0.5), generator=g),
    "multinomial": lambda g: ember.multinomial(ember.ones(12), 6, generator=g),
    "uniform_": lambda g: ember.zeros(12).uniform_(generator=g),
    "normal_": lambda g: ember.zeros(12).normal_(generator=g),
    "rand-float64": lambda g: ember.rand(12, generator=g, dtype=ember.float64),
}


def _same(a: ember.Tensor, b: ember.Tensor) -> bool:
    return a.dtype == b.dtype and a.numpy().tobytes() == b.numpy().tobytes()


@pytest.mark.parametrize("name", list(RANDOM_DRAWS))
def test_manual_seed_makes_draws_bitwise_repeatable(name):
    draw = RANDOM_DRAWS[name]
    ember.manual_seed(1234)
    first = [draw(None) for _ in range(3)]
    ember.manual_seed(1234)
    again = [draw(None) for _ in range(3)]
    assert all(_same(a, b) for a, b in zip(first, again))
    assert not _same(first[0], first[1])             # the stream moves on
    ember.manual_seed(4321)
    assert not _same(draw(None), first[0])           # another seed, other numbers


@pytest.mark.parametrize("name", list(RANDOM_DRAWS))
def test_an_explicit_generator_is_independent_of_the_global_one(name):
    draw = RANDOM_DRAWS[name]
    ember.manual_seed(0)
    expected_global = ember.rand(5)
    ember.manual_seed(0)
    from_generator = draw(ember.Generator().manual_seed(7))
    assert _same(ember.rand(5), expected_global)     # the global stream did not move
    ember.rand(100)                                  # global draws do not move the generator
    assert _same(draw(ember.Generator().manual_seed(7)), from_generator)


def test_a_generator_stream_continues_between_draws():
    g = ember.Generator().manual_seed(3)
    a, b = ember.rand(4, generator=g), ember.rand(4, generator=g)
    assert not _same(a, b)
    g.manual_seed(3)
    assert _same(ember.rand(4, generator=g), a)
    assert g.initial_seed() == 3


def test_rng_state_round_trip():
    ember.rand(3)
    state = ember.get_rng_state()
    assert isinstance(state, ember.Tensor) and state.dtype == ember.uint8
    after_saving = [ember.randn(4), ember.randint(0, 100, (4,)), ember.randperm(6)]
    ember.rand(50)
    ember.set_rng_state(state)
    after_restoring = [ember.randn(4), ember.randint(0, 100, (4,)), ember.randperm(6)]
    assert all(_same(a, b) for a, b in zip(after_saving, after_restoring))


def test_set_rng_state_refuses_garbage():
    with pytest.raises(ValueError, match="not a generator state made by get_state"):
        ember.set_rng_state(ember.zeros(3, dtype=ember.uint8))


def test_initial_seed_and_seed():
    ember.manual_seed(42)
    assert ember.initial_seed() == 42
    new = ember.seed()
    assert ember.initial_seed() == new


def test_deepcopy_of_a_leaf_keeps_values_requires_grad_and_grad():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    copied = copy.deepcopy(x)
    assert copied is not x and copied.is_leaf and copied.requires_grad
    assert copied.tolist() == x.tolist() and copied.grad.tolist() == [2.0, 4.0, 6.0]
    with ember.no_grad():
        copied.add_(1)
    copied.grad.zero_()
    assert x.tolist() == [1.0, 2.0, 3.0] and x.grad.tolist() == [2.0, 4.0, 6.0]


def test_deepcopy_keeps_dtype_and_shared_references():
    t = ember.tensor([[1, 2]], dtype=ember.int32)
    pair = copy.deepcopy([t, t])
    assert pair[0] is pair[1] and pair[0] is not t
    assert pair[0].dtype == ember.int32 and pair[0].tolist() == [[1, 2]]
    assert not copy.deepcopy(ember.zeros(2)).requires_grad


@pytest.mark.torch
def test_deepcopy_of_a_non_leaf_raises_like_pytorch(torch):
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(torch.zeros(2, requires_grad=True) * 2)
    with pytest.raises(GraphError, match=r"deepcopy: only .*graph leaves.*detach\(\)"):
        copy.deepcopy(ember.zeros(2, requires_grad=True) * 2)


@pytest.mark.parametrize("obj", [lambda: ember.zeros(2), lambda: [ember.tensor([1, 2])],
                                 lambda: ember.zeros(2, requires_grad=True)],
                         ids=["tensor", "in-a-list", "requires-grad"])
def test_pickling_a_tensor_raises_type_error(obj):
    with pytest.raises(TypeError, match=r"cannot be pickled.*ember\.save"):
        pickle.dumps(obj())


# =======================================================================================
# grad mode
# =======================================================================================


def test_no_grad_context():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with ember.no_grad():
        assert not ember.is_grad_enabled()
        y = x * 2 + 1
        z = x.exp().sum()
    assert ember.is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t.grad_fn is None
    with pytest.raises(GraphError, match="does not require grad"):
        z.backward()


def _recorded(x) -> bool:
    return (x * 2).requires_grad


@pytest.mark.parametrize("make", [lambda f: ember.no_grad(f), lambda f: ember.no_grad()(f)],
                         ids=["@no_grad", "@no_grad()"])
def test_no_grad_as_a_decorator(make):
    x = ember.tensor([1.0], requires_grad=True)

    def step(value, *, scale):
        """docstring kept"""
        return ember.is_grad_enabled(), _recorded(x), value * scale

    decorated = make(step)
    assert decorated(3, scale=2) == (False, False, 6)
    assert decorated.__name__ == "step" and decorated.__doc__ == "docstring kept"
    assert ember.is_grad_enabled() and _recorded(x)


def test_no_grad_decorator_on_a_method():
    class Model:
        @ember.no_grad()
        def predict(self, x):
            return x * 2

    x = ember.tensor([1.0], requires_grad=True)
    assert not Model().predict(x).requires_grad


@pytest.mark.parametrize("make", [lambda f: ember.enable_grad(f),
                                  lambda f: ember.enable_grad()(f)],
                         ids=["@enable_grad", "@enable_grad()"])
def test_enable_grad_as_a_decorator_inside_no_grad(make):
    x = ember.tensor([1.0], requires_grad=True)
    decorated = make(lambda: (ember.is_grad_enabled(), _recorded(x)))
    with ember.no_grad():
        assert decorated() == (True, True)
        assert not ember.is_grad_enabled()


def test_enable_grad_context_inside_no_grad():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.no_grad():
        with ember.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad


@pytest.mark.parametrize("mode", [False, True])
def test_set_grad_enabled_as_a_context_manager(mode):
    x = ember.tensor([1.0], requires_grad=True)
    with ember.no_grad():
        with ember.set_grad_enabled(mode):
            assert ember.is_grad_enabled() is mode
            assert _recorded(x) is mode
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_does_not_change_the_mode_now():
    @ember.set_grad_enabled(False)
    def inference():
        return ember.is_grad_enabled()

    assert ember.is_grad_enabled()
    assert inference() is False
    assert ember.is_grad_enabled()


def test_set_grad_enabled_as_a_function_sets_the_mode():
    try:
        ember.set_grad_enabled(False)
        assert not ember.is_grad_enabled()
        ember.set_grad_enabled(True)
        assert ember.is_grad_enabled()
    finally:
        ember.set_grad_enabled(True)


def test_grad_modes_nest_and_restore():
    seen = []
    with ember.no_grad():
        seen.append(ember.is_grad_enabled())
        with ember.enable_grad():
            seen.append(ember.is_grad_enabled())
            with ember.set_grad_enabled(False):
                seen.append(ember.is_grad_enabled())
                with ember.no_grad():
                    seen.append(ember.is_grad_enabled())
                seen.append(ember.is_grad_enabled())
            seen.append(ember.is_grad_enabled())
        seen.append(ember.is_grad_enabled())
    seen.append(ember.is_grad_enabled())
    assert seen == [False, True, False, False, False, True, False, True]


def test_one_no_grad_object_can_be_entered_twice():
    guard = ember.no_grad()
    with guard:
        with ember.enable_grad():
            with guard:
                assert not ember.is_grad_enabled()
            assert ember.is_grad_enabled()
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with ember.no_grad():
            raise KeyError("boom")
    assert ember.is_grad_enabled()

    @ember.no_grad()
    def fails():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fails()
    assert ember.is_grad_enabled()


def test_inference_mode_turns_recording_off():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.inference_mode():
        assert not _recorded(x)
    assert _recorded(x)


@pytest.mark.torch
def test_grad_mode_is_per_thread_like_pytorch(torch):
    seen = {}

    def worker():
        seen["ember"] = ember.is_grad_enabled()
        seen["torch"] = torch.is_grad_enabled()

    with ember.no_grad(), torch.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen["ember"] is seen["torch"] is True


@pytest.mark.torch
def test_no_grad_decorator_on_a_generator_function(torch):
    @torch.no_grad()
    def theirs():
        yield torch.is_grad_enabled()

    @ember.no_grad()
    def ours():
        yield ember.is_grad_enabled()

    assert list(ours()) == list(theirs()) == [False]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_new_constructors_match_pytorch(dtype, torch):
    ours, theirs = ember.zeros(2, dtype=getattr(ember, dtype)), torch.zeros(
        2, dtype=getattr(torch, dtype))
    filled = [lambda t: t.new_zeros(2, 3), lambda t: t.new_ones((4,)),
              lambda t: t.new_full((2, 2), 7), lambda t: t.new_tensor([1, 2, 3])]
    for make in [*filled, lambda t: t.new_empty(3)]:     # empty: values are unspecified
        a, b = make(ours), make(theirs)
        assert a.dtype.name == str(b.dtype).rpartition(".")[2]
        assert tuple(a.shape) == tuple(b.shape)
        if make in filled:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert ours.new_ones(2, dtype=ember.float64).dtype == ember.float64
    assert ember.ones(1).new_zeros(2, requires_grad=True).requires_grad
