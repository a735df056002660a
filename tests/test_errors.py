"""Every user-facing error: the exception type, and a message that names the op, the
offending shapes or values, and what was expected (ARCHITECTURE rule 7)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.errors import DeviceError, DTypeError, GraphError, ShapeError


def escaped(*parts: str) -> str:
    """A pattern matching the literal parts in this order, anything between them."""
    return ".*".join(re.escape(p) for p in parts)


# --- the error classes ------------------------------------------------------------------


def test_shape_error_is_caught_as_runtime_error_and_value_error():
    for base in (RuntimeError, ValueError):
        try:
            ember.zeros(3, 4) @ ember.zeros(5, 2)
        except base as exc:
            assert isinstance(exc, ShapeError)
        else:
            pytest.fail(f"no {base.__name__} raised")


def test_the_other_error_classes_derive_from_the_builtins_pytorch_raises():
    assert issubclass(DTypeError, TypeError) and issubclass(DTypeError, RuntimeError)
    assert issubclass(GraphError, RuntimeError) and issubclass(DeviceError, RuntimeError)
    with pytest.raises(RuntimeError):
        ember.tensor([1, 2]).mean()                              # DTypeError
    with pytest.raises(RuntimeError):
        ember.zeros(2, requires_grad=True).numpy()               # GraphError


ERROR_PARITY = [
    ("matmul", lambda lib: lib.zeros(3, 4) @ lib.zeros(5, 2), None),
    ("add-broadcast", lambda lib: lib.zeros(2, 3) + lib.zeros(4), None),
    ("view", lambda lib: lib.zeros(2, 3).view(-1, -1), None),
    ("sum-dim", lambda lib: lib.zeros(2, 3).sum(2), None),
    ("expand", lambda lib: lib.zeros(2, 3).expand(4, 3), None),
    ("gather-ndim", lambda lib: lib.zeros(2, 3).gather(1, lib.tensor([0, 1])), None),
    ("index", lambda lib: lib.zeros(2, 3)[2], None),
    ("mean-int", lambda lib: lib.tensor([1, 2]).mean(), None),
    ("split", lambda lib: lib.zeros(5, 2).split([2, 2]), None),
    ("item", lambda lib: lib.zeros(2).item(), None),
    ("topk", lambda lib: lib.zeros(2, 3).topk(4), None),
    ("float-index", lambda lib: lib.zeros(2, 3)[lib.tensor([0.0, 1.0])], None),
]


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    pytest.param(call, id=name) for name, call, _ in ERROR_PARITY
])
def test_errors_are_caught_by_what_pytorch_raises(call, torch):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)):
        call(ember)


# --- matmul -----------------------------------------------------------------------------


def test_matmul_inner_dimension_mismatch():
    with pytest.raises(ShapeError,
                       match=re.escape("matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 "
                                       "differ")):
        ember.zeros(3, 4) @ ember.zeros(5, 2)


def test_matmul_inner_dimension_mismatch_for_vectors_and_batches():
    with pytest.raises(ShapeError, match=escaped("matmul: (3,) @ (4,)", "3 and 4")):
        ember.matmul(ember.zeros(3), ember.zeros(4))
    with pytest.raises(ShapeError, match=escaped("matmul: (2, 3, 4) @ (3, 4, 2)",
                                                 "batch dimensions (2,) and (3,)")):
        ember.zeros(2, 3, 4) @ ember.zeros(3, 4, 2)
    with pytest.raises(ShapeError, match=escaped("matmul", "at least 1 dimension", "()")):
        ember.matmul(ember.tensor(1.0), ember.zeros(4, 2))


def test_matmul_dtype_mismatch():
    with pytest.raises(DTypeError, match=escaped("matmul", "same dtype", "ember.float32",
                                                 "ember.float64")):
        ember.zeros(3, 4) @ ember.zeros(4, 2, dtype=ember.float64)


def test_mm_bmm_mv_dot_name_themselves():
    cases = [
        ("mm", lambda: ember.mm(ember.zeros(3), ember.zeros(3, 4)), "(3,)"),
        ("bmm", lambda: ember.bmm(ember.zeros(2, 3, 4), ember.zeros(3, 4, 5)), "(3, 4, 5)"),
        ("mv", lambda: ember.mv(ember.zeros(3, 4), ember.zeros(4, 1)), "(4, 1)"),
        ("dot", lambda: ember.dot(ember.zeros(3, 1), ember.zeros(3)), "(3, 1)"),
    ]
    for op, call, shape in cases:
        with pytest.raises(ShapeError, match=escaped(f"{op}: ", shape)):
            call()


# --- broadcasting -----------------------------------------------------------------------

BROADCAST_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: ember.maximum(a, b),
    "where": lambda a, b: ember.where(ember.ones(2, 3).bool(), a, b),
}


@pytest.mark.parametrize("requires_grad", [False, True], ids=["plain", "recorded"])
@pytest.mark.parametrize("op", list(BROADCAST_OPS))
def test_broadcasting_failure_names_the_op_and_both_shapes(op, requires_grad):
    a = ember.zeros(2, 3, requires_grad=requires_grad)
    with pytest.raises(ShapeError, match=escaped(f"{op}: shapes (2, 3) and ", "(4,)",
                                                 "cannot be broadcast",
                                                 "dimension -1 has sizes 3, 4")):
        BROADCAST_OPS[op](a, ember.zeros(4))


@pytest.mark.parametrize("op", ["eq", "lt"])
def test_comparison_broadcasting_failure_names_the_op(op):
    with pytest.raises(ShapeError, match=escaped(f"{op}: ", "(2, 3)", "(4,)")):
        getattr(ember.zeros(2, 3), op)(ember.zeros(4))


# --- shapes -----------------------------------------------------------------------------


def test_reshape_to_an_incompatible_shape():
    with pytest.raises(ShapeError, match=escaped("reshape: shape (4, 2) is invalid for input "
                                                 "of size 6 (shape (2, 3))")):
        ember.zeros(2, 3).reshape(4, 2)
    with pytest.raises(ShapeError, match=escaped("shape (-1, 4)", "size 6",
                                                 "not a multiple of 4")):
        ember.zeros(2, 3).reshape(-1, 4)
    with pytest.raises(ShapeError, match=escaped("reshape: invalid shape (-2, 3)")):
        ember.zeros(2, 3).reshape(-2, 3)


def test_view_to_an_incompatible_shape_names_the_shapes():
    with pytest.raises(ShapeError, match=escaped("shape (5,) is invalid for input of size 6",
                                                 "(2, 3)")):
        ember.zeros(2, 3).view(5)


def test_view_errors_name_view():
    with pytest.raises(ShapeError, match="^view: "):
        ember.zeros(2, 3).view(5)


def test_two_inferred_dimensions():
    with pytest.raises(ShapeError, match=escaped("only one dimension can be -1", "(-1, -1)")):
        ember.zeros(2, 3).view(-1, -1)


def test_cat_shape_mismatch():
    with pytest.raises(ShapeError, match=escaped("cat: tensor 1 has shape (2, 4) but tensor 0 "
                                                 "has shape (2, 3)", "except in dimension 0")):
        ember.cat([ember.zeros(2, 3), ember.zeros(2, 4)])
    with pytest.raises(ShapeError, match=escaped("cat: tensor 2 has shape (3,)")):
        ember.cat([ember.zeros(2, 3), ember.zeros(1, 3), ember.zeros(3)])
    with pytest.raises(ValueError, match="cat: expected a non-empty sequence"):
        ember.cat([])


def test_stack_shape_mismatch():
    with pytest.raises(ShapeError, match=escaped("stack: all tensors must have the same shape",
                                                 "tensor 0 has shape (2, 3)",
                                                 "tensor 1 has shape (3, 2)")):
        ember.stack([ember.zeros(2, 3), ember.zeros(3, 2)])


def test_expand_of_a_non_singleton_dimension():
    with pytest.raises(ShapeError, match=escaped("expand: the expanded size 4 must match the "
                                                 "existing size 2 at dimension 0",
                                                 "(2, 3)", "(4, 3)")):
        ember.zeros(2, 3).expand(4, 3)
    with pytest.raises(ShapeError, match=escaped("expand: the number of sizes (1)",
                                                 "dimensions (2)")):
        ember.zeros(2, 3).expand(3)


def test_repeat_with_too_few_repeats():
    with pytest.raises(ShapeError, match=escaped("repeat: the number of repeats (1) must be at "
                                                 "least the number of dimensions (2)")):
        ember.zeros(2, 3).repeat(2)


@pytest.mark.parametrize("dims", [(0, 0, 1), (0, 1)], ids=["duplicate", "too-few"])
def test_permute_with_a_bad_permutation(dims):
    with pytest.raises(ShapeError, match=escaped(f"permute: dims {dims} are not a permutation "
                                                 "of the 3 dimensions", "(2, 3, 4)")):
        ember.zeros(2, 3, 4).permute(*dims)


def test_permute_with_a_dimension_out_of_range():
    with pytest.raises(IndexError, match=escaped("permute: dim 3 is out of range")):
        ember.zeros(2, 3, 4).permute(0, 1, 3)


def test_t_of_a_3d_tensor():
    with pytest.raises(ShapeError, match=escaped("t: ", "at most 2 dimensions", "(2, 3, 4)")):
        ember.zeros(2, 3, 4).t()


DIM_OPS = {
    "sum": lambda x, d: x.sum(d),
    "mean": lambda x, d: x.mean(d),
    "squeeze": lambda x, d: x.squeeze(d),
    "argmax": lambda x, d: x.argmax(d),
    "cumsum": lambda x, d: x.cumsum(d),
    "transpose": lambda x, d: x.transpose(0, d),
    "flatten": lambda x, d: x.flatten(d),
    "cat": lambda x, d: ember.cat([x, x], d),
    "max": lambda x, d: x.max(d),
    "softmax": lambda x, d: x.softmax(d),
    "log_softmax": lambda x, d: x.log_softmax(d),
}


@pytest.mark.parametrize("dim", [2, -3])
@pytest.mark.parametrize("op", list(DIM_OPS))
def test_dim_out_of_range_names_the_op_the_dim_and_the_range(op, dim):
    with pytest.raises(IndexError, match=escaped(f"{op}: dim {dim} is out of range for a "
                                                 "tensor with 2 dimension(s)",
                                                 "expected -2 to 1")):
        DIM_OPS[op](ember.zeros(2, 3), dim)


@pytest.mark.parametrize("dim", [3, -4])
def test_unsqueeze_dim_out_of_range_gives_the_range(dim):
    # unsqueeze of a 2-D tensor accepts dims -3..2 (one more than the tensor has)
    with pytest.raises(IndexError, match=escaped(f"unsqueeze: dim {dim} is out of range",
                                                 "expected -3 to 2")):
        ember.zeros(2, 3).unsqueeze(dim)


def test_unsqueeze_dim_out_of_range_states_the_real_number_of_dimensions():
    with pytest.raises(IndexError, match=escaped("unsqueeze: dim 3", "2 dimension")):
        ember.zeros(2, 3).unsqueeze(3)


def test_dim_of_the_wrong_type():
    with pytest.raises(TypeError, match=escaped("transpose: dim must be an int, got 1.0")):
        ember.zeros(2, 3).transpose(0, 1.0)


def test_repeated_dim_in_a_reduction():
    with pytest.raises(ValueError, match=escaped("sum: dim (1, -1) names the same dimension "
                                                 "twice")):
        ember.zeros(2, 3).sum((1, -1))


def test_pad_with_an_odd_number_of_amounts():
    with pytest.raises(ShapeError, match=escaped("pad: expected an even number of amounts",
                                                 "(2, 3)", "got 1")):
        F.pad(ember.zeros(2, 3), (1,))
    with pytest.raises(ShapeError, match=escaped("pad:", "2 for shape (3,)", "got 4")):
        F.pad(ember.zeros(3), (1, 1, 1, 1))


def test_split_sizes_that_do_not_add_up():
    with pytest.raises(ShapeError, match=escaped("split: sizes [2, 2] add up to 4, but "
                                                 "dimension 0 has size 5 (shape (5, 2))")):
        ember.zeros(5, 2).split([2, 2])
    with pytest.raises(ValueError, match="split: split_size must be positive, got 0"):
        ember.zeros(5, 2).split(0)


def test_topk_with_k_too_large():
    with pytest.raises(ValueError, match=escaped("topk: k=4 is out of range for dimension -1 "
                                                 "of size 3")):
        ember.zeros(2, 3).topk(4)
    with pytest.raises(ValueError, match=escaped("topk: k=-1")):
        ember.zeros(2, 3).topk(-1)


# --- gather and indexing ----------------------------------------------------------------


def test_gather_with_the_wrong_number_of_dimensions():
    with pytest.raises(ShapeError, match=escaped("gather: index has 1 dimension(s) but input "
                                                 "has 2", "(2,)", "(2, 3)")):
        ember.zeros(2, 3).gather(1, ember.tensor([0, 1]))


def test_gather_with_an_index_out_of_range():
    with pytest.raises(IndexError, match=escaped("gather: index out of range for dimension 1 "
                                                 "of size 3", "0 to 3")):
        ember.zeros(2, 3).gather(1, ember.tensor([[0, 3], [1, 1]]))


def test_gather_with_an_index_too_large_in_another_dimension():
    with pytest.raises(ShapeError, match=escaped("gather: index has size 3 in dimension 0 but "
                                                 "input has only 2")):
        ember.zeros(2, 3).gather(1, ember.zeros(3, 1, dtype=ember.int64))


@pytest.mark.torch
def test_gather_with_a_negative_index_raises_like_pytorch(torch):
    with pytest.raises(RuntimeError, match="out of bounds"):
        torch.zeros(2, 3).gather(1, torch.tensor([[-1, 0]]))
    with pytest.raises(IndexError, match=escaped("gather: index out of range", "-1")):
        ember.zeros(2, 3).gather(1, ember.tensor([[-1, 0]]))


def test_gather_with_a_float_index():
    with pytest.raises(DTypeError, match=escaped("gather: index must be an integer tensor, got "
                                                 "float32")):
        ember.zeros(2, 3).gather(1, ember.tensor([[0.0, 1.0], [1.0, 1.0]]))


@pytest.mark.parametrize("index,value,axis,size", [
    (2, 2, 0, 2), ((0, 5), 5, 1, 3), (-3, -3, 0, 2),
], ids=["row", "column", "negative"])
def test_indexing_out_of_bounds(index, value, axis, size):
    with pytest.raises(IndexError, match=escaped(f"index {value} is out of bounds for axis "
                                                 f"{axis} with size {size}",
                                                 "tensor shape (2, 3)")):
        ember.zeros(2, 3)[index]


def test_indexing_out_of_bounds_with_an_index_tensor():
    with pytest.raises(IndexError, match=escaped("index 4 is out of bounds", "(2, 3)")):
        ember.zeros(2, 3)[ember.tensor([0, 4])]


def test_too_many_indices():
    with pytest.raises(IndexError, match=escaped("too many indices", "(2, 3)")):
        ember.zeros(2, 3)[0, 0, 0]


def test_setitem_out_of_bounds_names_the_op_and_shape():
    x = ember.zeros(3)
    with pytest.raises(IndexError, match=escaped("setitem: ", "index 5", "(3,)")):
        x[5] = 1.0


@pytest.mark.parametrize("make_index", [
    lambda: ember.tensor([0.0, 1.0]),
    lambda: (0, ember.tensor([0.5, 1.0])),
], ids=["tensor", "in-a-tuple"])
def test_float_tensors_as_indices(make_index):
    with pytest.raises(IndexError, match=escaped("index: tensors used as indices must be "
                                                 "integer or bool, got dtype float32")):
        ember.zeros(2, 3)[make_index()]


def test_float_tensor_in_index_select():
    with pytest.raises(IndexError, match=escaped("integer or bool, got dtype float32")):
        ember.zeros(2, 3).index_select(0, ember.tensor([0.0]))


def test_zero_dim_float_tensor_as_index_names_the_dtype():
    with pytest.raises(IndexError, match=escaped("integer or bool", "float32")):
        ember.zeros(2, 3)[ember.tensor(1.0)]


@pytest.mark.torch
def test_boolean_mask_of_the_wrong_shape_raises(torch):
    with pytest.raises(IndexError, match="shape of the mask"):
        torch.arange(6).reshape(3, 2)[torch.tensor([True, False])]
    with pytest.raises(IndexError, match=escaped("mask", "(2,)", "(3, 2)")):
        ember.arange(6).reshape(3, 2)[ember.tensor([True, False])]


# --- autograd ---------------------------------------------------------------------------


def test_backward_on_a_non_scalar_without_a_gradient():
    x = ember.zeros(2, 3, requires_grad=True)
    with pytest.raises(GraphError, match=escaped("backward: a gradient is needed for a "
                                                 "non-scalar output of shape (2, 3)",
                                                 "loss.sum().backward()")):
        (x * 2).backward()


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(GraphError, match=escaped("backward: output 0 does not require grad",
                                                 "no_grad")):
        ember.zeros(2).sum().backward()
    x = ember.zeros(2, requires_grad=True)
    with pytest.raises(GraphError, match="does not require grad"):
        x.argmax().backward()


@pytest.mark.parametrize("make_loss", [
    lambda x: (x * x).sum(), lambda x: (x + 1).sum(), lambda x: x.exp().mean(),
], ids=["mul", "add", "exp-mean"])
def test_backward_twice_without_retain_graph(make_loss):
    x = ember.ones(2, 3, requires_grad=True)
    loss = make_loss(x)
    loss.backward()
    with pytest.raises(GraphError, match=escaped("backward through the graph a second time",
                                                 "retain_graph=True")):
        loss.backward()


def test_backward_twice_with_retain_graph_accumulates():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert x.grad.tolist() == [4.0, 8.0]


@pytest.mark.parametrize("shape", [(3, 2), (3,), (1, 3), ()], ids=str)
def test_backward_with_a_gradient_of_the_wrong_shape(shape):
    x = ember.zeros(2, 3, requires_grad=True)
    with pytest.raises(ShapeError, match=escaped(f"backward: the gradient has shape {shape} but "
                                                 "the output has shape (2, 3)")):
        (x * 2).backward(ember.ones(shape))
    assert x.grad is None


def test_backward_with_create_graph():
    x = ember.zeros(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match=escaped("backward: create_graph=True",
                                                          "not supported", "first-order")):
        (x * 2).sum().backward(create_graph=True)


def test_mean_of_an_int_tensor():
    with pytest.raises(DTypeError, match=escaped("mean: expected a floating-point tensor, got "
                                                 "ember.int64", ".float()")):
        ember.tensor([1, 2]).mean()


@pytest.mark.parametrize("make", [
    lambda: ember.tensor([1, 2], requires_grad=True),
    lambda: ember.tensor([1, 2]).requires_grad_(),
    lambda: setattr(ember.tensor([1, 2]), "requires_grad", True),
], ids=["constructor", "requires_grad_", "attribute"])
def test_requires_grad_on_an_int_tensor(make):
    with pytest.raises(DTypeError, match=escaped("requires_grad: only floating-point tensors "
                                                 "can require gradients", "ember.int64",
                                                 ".float()")):
        make()


def test_requires_grad_false_on_a_computed_tensor():
    y = ember.zeros(2, requires_grad=True) * 2
    with pytest.raises(GraphError, match=escaped("requires_grad_", "computed from others",
                                                 ".detach()")):
        y.requires_grad_(False)


def test_numpy_of_a_tensor_that_requires_grad():
    with pytest.raises(GraphError, match=escaped("numpy: can't call numpy() on a tensor that "
                                                 "requires grad", "tensor.detach().numpy()")):
        ember.zeros(2, requires_grad=True).numpy()


def test_item_of_a_multi_element_tensor():
    with pytest.raises(ValueError, match=escaped("item: a tensor with 6 elements (shape "
                                                 "(2, 3)) cannot be converted to a Python "
                                                 "number")):
        ember.zeros(2, 3).item()


@pytest.mark.parametrize("dtype", ["float128", "complex64", "int128", "torch.cfloat", "str"])
def test_unsupported_dtype_strings(dtype):
    with pytest.raises(DTypeError, match=escaped(f"unsupported dtype {dtype!r}",
                                                 "ember supports float16, float32, float64")):
        ember.zeros(2, dtype=dtype)


@pytest.mark.parametrize("make", [
    lambda: ember.tensor([1.0], dtype=np.complex64),
    lambda: ember.zeros(2).to(dtype="int128"),
    lambda: ember.set_default_dtype(ember.int64),
], ids=["numpy-dtype", "to", "default-dtype"])
def test_unsupported_dtypes_elsewhere(make):
    with pytest.raises(DTypeError, match="unsupported dtype|floating-point dtype"):
        make()


def test_arrays_of_unsupported_dtypes():
    with pytest.raises(DTypeError, match=escaped("NumPy dtype complex128 are not supported",
                                                 "float32")):
        ember.tensor(np.zeros(2, dtype=complex))
    with pytest.raises(TypeError, match=escaped("tensor: cannot make a tensor from list data",
                                                "rectangular")):
        ember.tensor([[1, 2], [3]])


def test_clamp_without_bounds():
    with pytest.raises(ValueError, match="clamp: at least one of min and max must be given"):
        ember.zeros(2).clamp()


def test_div_rounding_mode():
    with pytest.raises(ValueError, match=escaped("div: rounding_mode must be None, 'floor' or "
                                                 "'trunc', got 'round'")):
        ember.zeros(2).div(2, rounding_mode="round")


def test_bitwise_ops_on_floats():
    with pytest.raises(DTypeError, match=escaped("bitwise_and: only integer and bool tensors",
                                                 "float32")):
        ember.zeros(2) & ember.zeros(2)
    with pytest.raises(DTypeError, match=escaped("bitwise_not", "float32")):
        ~ember.zeros(2)


def test_random_constructor_arguments():
    with pytest.raises(ValueError, match=escaped("randint: high (5) must be greater than low "
                                                 "(5)")):
        ember.randint(5, 5, (2,))
    with pytest.raises(ValueError, match=escaped("sizes must be non-negative, got (-1,)")):
        ember.zeros(-1)
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        ember.arange(0, 5, 0)
    with pytest.raises(ValueError, match=escaped("multinomial: cannot draw 3 samples without "
                                                 "replacement from 2 categories")):
        ember.multinomial(ember.tensor([1.0, 1.0]), 3)
    with pytest.raises(ValueError, match="multinomial: weights must be finite, non-negative"):
        ember.multinomial(ember.tensor([1.0, -1.0]), 1)


def test_normal_with_a_negative_std_names_the_op():
    with pytest.raises(ValueError, match=escaped("normal", "std", "-1")):
        ember.normal(0.0, -1.0, (2,))


def test_multinomial_with_too_few_nonzero_weights_names_the_op():
    with pytest.raises(ValueError, match="multinomial"):
        ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 2)


def test_manual_seed_negative_wraps_around_like_pytorch():
    ember.manual_seed(-1)
    first = ember.rand(3)
    ember.manual_seed(2 ** 64 - 1)
    assert ember.equal(first, ember.rand(3))


def test_unknown_device():
    with pytest.raises(DeviceError, match=escaped("unknown device 'tpu'", "'cpu' or 'cuda")):
        ember.zeros(2, device="tpu")
