"""Property tests against PyTorch: broadcasting, reductions, indexing and shape ops on shapes,
dims and indices that hypothesis draws; float64 values and gradients agree to about 1e-10.
Values come from a NumPy generator seeded by a drawn seed: continuous, so never tied."""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
from tests.ops.op_specs import POSITIVE, sample

pytestmark = pytest.mark.torch

# Repeatable in CI (derandomize), fast (40 examples), no per-example deadline (the first
# call into PyTorch is slow). The autouse fixture that resets ember's state between tests
# is function-scoped; sharing it across a test's examples is harmless. The larger spaces
# (a reduction's dims, an index) get 100 examples: with 40, hypothesis rarely drew a tuple
# of two or three dims or a backward slice. An example costs 1 to 3 ms.
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
WIDE_PROPERTY = settings(PROPERTY, max_examples=100)
TOLERANCE = dict(rtol=1e-10, atol=1e-12)
ANY = (-2.0, 2.0)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def shapes(min_dims: int = 0, max_dims: int = 4):
    """Tensor shapes with `min_dims` to `max_dims` dimensions of sizes 1 to 4."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4)


def assert_matches_torch(torch, call: Callable, arrays: list, rng: np.random.Generator):
    """Run `call(L, *inputs)` with L = ember and L = torch on the same float64 arrays and
    check the output's shape and values; then backpropagate the same random upstream
    gradient, sum(out * w), through both and check that every input's .grad has exactly
    that input's shape and torch's values. Returns ember's output."""
    ours = [ember.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = call(ember, *ours), call(torch, *theirs)
    assert tuple(out.shape) == tuple(expected.shape), "output shape"
    assert out.dtype == ember.float64
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOLERANCE,
                               err_msg="forward values")
    upstream = rng.standard_normal(tuple(expected.shape))
    (out * ember.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for i, (x, t) in enumerate(zip(ours, theirs)):
        assert x.grad is not None, f"input {i} got no gradient"
        assert tuple(x.grad.shape) == tuple(x.shape), f"shape of the gradient of input {i}"
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **TOLERANCE,
                                   err_msg=f"gradient of input {i}")
    return out


def signed(dim: int, rank: int, negative: bool) -> int:
    """`dim` as a non-negative index, or counted from the end when `negative`."""
    return dim - rank if negative else dim


@st.composite
def one_dim(draw, ndim: int, extra: int = 0):
    """One dimension of a tensor with `ndim` dimensions (plus `extra` new ones, as
    unsqueeze and stack take), negative ones included; a 0-d tensor accepts 0 and -1."""
    rank = max(ndim + extra, 1)
    return draw(st.integers(-rank, rank - 1))


@st.composite
def distinct_dims(draw, ndim: int, min_size: int = 1):
    """A tuple of distinct dimensions in any order, each possibly counted from the end."""
    rank = max(ndim, 1)
    count = draw(st.integers(min_size, rank))
    dims = draw(st.permutations(range(rank)))[:count]
    return tuple(signed(d, rank, draw(st.booleans())) for d in dims)


# --- 1. broadcasting ---------------------------------------------------------------------

BinaryOp = namedtuple("BinaryOp", ["call", "domains"])

BINARY_OPS = {
    "add": BinaryOp(lambda L, a, b: a + b, [ANY, ANY]),
    "sub": BinaryOp(lambda L, a, b: a - b, [ANY, ANY]),
    "mul": BinaryOp(lambda L, a, b: a * b, [ANY, ANY]),
    "div": BinaryOp(lambda L, a, b: a / b, [ANY, "nonzero"]),
    "maximum": BinaryOp(lambda L, a, b: L.maximum(a, b), [ANY, ANY]),
    "minimum": BinaryOp(lambda L, a, b: L.minimum(a, b), [ANY, ANY]),
    "pow": BinaryOp(lambda L, a, b: a ** b, [POSITIVE, ANY]),
}


def broadcast_shapes(num_shapes: int):
    """Shapes that broadcast together (0 to 4 dimensions of sizes 1 to 4; some dimensions
    are 1 and some leading ones are missing), with the shape they broadcast to."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=4,
                                             min_side=1, max_side=4)


@pytest.mark.parametrize("name", BINARY_OPS)
@PROPERTY
@given(broadcast=broadcast_shapes(2), seed=seeds)
def test_binary_op_broadcasts_like_torch(name, broadcast, seed, torch):
    op, rng = BINARY_OPS[name], np.random.default_rng(seed)
    arrays = [sample(rng, shape, domain)
              for shape, domain in zip(broadcast.input_shapes, op.domains)]
    out = assert_matches_torch(torch, op.call, arrays, rng)
    assert out.shape == broadcast.result_shape


@PROPERTY
@given(broadcast=broadcast_shapes(3), seed=seeds)
def test_where_broadcasts_condition_and_both_branches_like_torch(broadcast, seed, torch):
    rng = np.random.default_rng(seed)
    condition_shape, *branch_shapes = broadcast.input_shapes
    condition = rng.random(condition_shape) < 0.5
    arrays = [sample(rng, shape, ANY) for shape in branch_shapes]
    out = assert_matches_torch(
        torch, lambda L, a, b: L.where(L.tensor(condition), a, b), arrays, rng)
    assert out.shape == broadcast.result_shape


# --- 2. reductions -----------------------------------------------------------------------

# call(L, x, dim, keepdim). `dims` says which `dim` arguments the op takes:
#   "any": None (all), an int or a tuple, the empty tuple (all) included;
#   "nonempty": not the empty tuple (for var and std: torch's backward reads dim=() as no
#   dimension while its forward reads it as all, and gets the gradient wrong);
#   "int_or_tuple": not None;  "int_or_none": prod reduces one dimension or all;
#   "int": softmax's single dimension.
Reduction = namedtuple("Reduction", ["call", "dims"])


def _all_as_empty_tuple(dim):
    """amax and amin spell 'every dimension' as dim=() (None is not accepted by torch)."""
    return () if dim is None else dim


def _norm(p):
    return Reduction(lambda L, x, dim, keepdim: x.norm(p=p, dim=dim, keepdim=keepdim), "any")


REDUCTIONS = {
    "sum": Reduction(lambda L, x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim), "any"),
    "mean": Reduction(lambda L, x, dim, keepdim: L.mean(x, dim=dim, keepdim=keepdim), "any"),
    "var_unbiased": Reduction(
        lambda L, x, dim, keepdim: x.var(dim=dim, unbiased=True, keepdim=keepdim),
        "nonempty"),
    "var_biased": Reduction(
        lambda L, x, dim, keepdim: L.var(x, dim=dim, unbiased=False, keepdim=keepdim),
        "nonempty"),
    "std_unbiased": Reduction(
        lambda L, x, dim, keepdim: x.std(dim=dim, unbiased=True, keepdim=keepdim),
        "nonempty"),
    "std_biased": Reduction(
        lambda L, x, dim, keepdim: L.std(x, dim=dim, unbiased=False, keepdim=keepdim),
        "nonempty"),
    "amax": Reduction(
        lambda L, x, dim, keepdim: x.amax(dim=_all_as_empty_tuple(dim), keepdim=keepdim), "any"),
    "amin": Reduction(
        lambda L, x, dim, keepdim: L.amin(x, dim=_all_as_empty_tuple(dim), keepdim=keepdim),
        "any"),
    "logsumexp": Reduction(lambda L, x, dim, keepdim: L.logsumexp(x, dim, keepdim=keepdim),
                           "int_or_tuple"),
    "prod": Reduction(lambda L, x, dim, keepdim: (x.prod() if dim is None
                                                  else x.prod(dim, keepdim=keepdim)),
                      "int_or_none"),
    "norm_1": _norm(1),
    "norm_2": _norm(2),
    "norm_3": _norm(3),
    "norm_inf": _norm(float("inf")),
    "softmax": Reduction(lambda L, x, dim, keepdim: L.softmax(x, dim), "int"),
    "log_softmax": Reduction(lambda L, x, dim, keepdim: x.log_softmax(dim), "int"),
}


def reduction_dims(ndim: int, kind: str):
    """A `dim` argument of the given kind (see REDUCTIONS) for an `ndim`-dimensional
    tensor: None, one int (negative included), or a tuple of distinct dims (for "any",
    maybe the empty tuple, which also means every dimension)."""
    choices = {
        "any": st.none() | one_dim(ndim) | distinct_dims(ndim, min_size=0),
        "nonempty": st.none() | one_dim(ndim) | distinct_dims(ndim),
        "int_or_tuple": one_dim(ndim) | distinct_dims(ndim),
        "int_or_none": st.none() | one_dim(ndim),
        "int": one_dim(ndim),
    }
    return choices[kind]


def reduced_count(shape: tuple, dim) -> int:
    """How many elements each output element of a reduction over `dim` summarises."""
    if dim is None or dim == ():
        return int(np.prod(shape))
    dims = (dim,) if isinstance(dim, int) else dim
    return int(np.prod([shape[d] for d in dims])) if shape else 1


# The unbiased var and std of one element are 0 / 0 = nan in both libraries (as they should
# be, and compared as such); both warn about it.
NAN_WARNINGS = pytest.mark.filterwarnings(
    "ignore:.*degrees of freedom is <= 0:UserWarning",
    "ignore:invalid value encountered:RuntimeWarning",
    "ignore:divide by zero encountered:RuntimeWarning")


@NAN_WARNINGS
@pytest.mark.parametrize("name", REDUCTIONS)
@WIDE_PROPERTY
@given(data=st.data(), shape=shapes(), keepdim=st.booleans(), seed=seeds)
def test_reduction_over_random_dims_matches_torch(name, data, shape, keepdim, seed, torch):
    reduction, rng = REDUCTIONS[name], np.random.default_rng(seed)
    dim = data.draw(reduction_dims(len(shape), reduction.dims), label="dim")
    if name == "std_biased" and reduced_count(shape, dim) == 1:
        return  # a zero std: see test_std_of_constant_values_has_zero_gradient_as_in_torch
    assert_matches_torch(torch, lambda L, x: reduction.call(L, x, dim, keepdim),
                         [sample(rng, shape, ANY)], rng)


@pytest.mark.parametrize("name", ["max", "min"])
@PROPERTY
@given(data=st.data(), shape=shapes(), keepdim=st.booleans(), seed=seeds)
def test_max_min_along_a_dim_match_torch_values_indices_and_gradient(name, data, shape,
                                                                     keepdim, seed, torch):
    rng = np.random.default_rng(seed)
    dim = data.draw(one_dim(len(shape)), label="dim")
    x = sample(rng, shape, ANY)
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    values, indices = getattr(ours, name)(dim, keepdim=keepdim)
    expected_values, expected_indices = getattr(theirs, name)(dim, keepdim=keepdim)
    assert tuple(values.shape) == tuple(expected_values.shape)
    assert tuple(indices.shape) == tuple(expected_indices.shape)
    assert indices.dtype == ember.int64
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    np.testing.assert_allclose(values.detach().numpy(), expected_values.detach().numpy(),
                               **TOLERANCE)
    upstream = rng.standard_normal(tuple(expected_values.shape))
    (values * ember.tensor(upstream)).sum().backward()
    (expected_values * torch.tensor(upstream)).sum().backward()
    assert tuple(ours.grad.shape) == shape
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TOLERANCE)


@NAN_WARNINGS
@pytest.mark.parametrize("unbiased", [False, True])
def test_std_of_constant_values_has_zero_gradient_as_in_torch(unbiased, torch):
    constant_rows = np.array([[1.5, 1.5, 1.5], [-0.5, -0.5, -0.5]])
    assert_matches_torch(torch, lambda L, x: x.std(dim=1, unbiased=unbiased),
                         [constant_rows], np.random.default_rng(0))


# --- 3. indexing -------------------------------------------------------------------------


@st.composite
def slices(draw, size: int, negative_steps: bool = True):
    """A slice of a dimension of `size`: start and stop anywhere (out of range, negative or
    left out), step 1 to 3 or -1 to -3 (or left out)."""
    bound = st.none() | st.integers(-size - 2, size + 1)
    step = draw(st.integers(1, 3))
    if negative_steps and not draw(st.booleans()):   # half of them step backwards
        step = -step
    elif step == 1 and draw(st.booleans()):
        step = None
    return slice(draw(bound), draw(bound), step)


@st.composite
def basic_indices(draw, shape: tuple):
    """A basic index for `shape`: for some dimensions an int (negative included) or a
    slice, maybe an Ellipsis standing for the dimensions in between, and None (a new axis)
    anywhere. A single part is sometimes given bare, not in a tuple."""
    ndim = len(shape)
    explicit = ndim - draw(st.integers(0, ndim))            # how many dims get a part
    leading = draw(st.integers(0, explicit))                # ... of those, before the '...'
    use_ellipsis = draw(st.booleans())
    if not use_ellipsis:
        leading = explicit                                  # the parts cover the first dims
    addressed = list(shape[:leading]) + list(shape[ndim - (explicit - leading):])

    def part(size):
        return st.integers(-size, size - 1) if draw(st.booleans()) else slices(size)

    parts = [draw(part(size)) for size in addressed]
    if use_ellipsis:
        parts.insert(leading, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if len(parts) == 1 and draw(st.booleans()):
        return parts[0]
    return tuple(parts)


def torch_basic_getitem(t, index):
    """t[index] in PyTorch, whose slices cannot step backwards: a negative-step slice takes
    the same elements in increasing order, and that output dimension is flipped back."""
    parts = index if isinstance(index, tuple) else (index,)
    explicit = sum(part is not None and part is not Ellipsis for part in parts)
    expanded = []
    for part in parts:
        expanded += [slice(None)] * (t.dim() - explicit) if part is Ellipsis else [part]
    forward, flipped, in_dim, out_dim = [], [], 0, 0
    for part in expanded:
        if isinstance(part, slice):
            chosen = range(t.shape[in_dim])[part]
            if chosen.step < 0:
                part = slice(chosen[-1], chosen[0] + 1, -chosen.step) if chosen else slice(0, 0)
                flipped.append(out_dim)
        forward.append(part)
        in_dim += part is not None
        out_dim += not isinstance(part, int)
    out = t[tuple(forward)]
    return out.flip(flipped) if flipped else out


@WIDE_PROPERTY
@given(data=st.data(), shape=shapes(), seed=seeds)
def test_basic_indexing_matches_numpy_and_torch(data, shape, seed, torch):
    rng = np.random.default_rng(seed)
    index = data.draw(basic_indices(shape), label="index")
    x = sample(rng, shape, ANY)

    def call(L, t):
        return t[index] if L is ember else torch_basic_getitem(t, index)

    out = assert_matches_torch(torch, call, [x], rng)
    np.testing.assert_array_equal(out.detach().numpy(), x[index])   # and NumPy's view


@st.composite
def integer_array_indices(draw, shape: tuple):
    """An index with integer arrays for a random set of dimensions (shapes that broadcast
    together; values with repeats and negatives) and a full or stepped slice for the
    others; maybe an Ellipsis in place of a run of full slices, and a None (new axis)
    anywhere. No plain ints: see test_advanced_index_dims_are_placed_as_in_torch."""
    ndim = len(shape)
    advanced = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                             unique=True))
    array_shapes = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=len(advanced), min_dims=1, max_dims=2, min_side=1, max_side=4))
    index = [slice(None)] * ndim
    for d, array_shape in zip(advanced, array_shapes.input_shapes):
        index[d] = draw(hnp.arrays(np.int64, array_shape,
                                   elements=st.integers(-shape[d], shape[d] - 1)))
    for d in set(range(ndim)) - set(advanced):
        index[d] = draw(st.sampled_from([slice(None), slice(None, None, 2), slice(1, None)]))
    # An Ellipsis for no dimensions only at either end (between two arrays, see
    # test_advanced_index_dims_are_placed_as_in_torch).
    full_slice_runs = [(a, b) for a in range(ndim + 1) for b in range(a, ndim + 1)
                       if (a < b or a in (0, ndim))
                       and all(isinstance(p, slice) and p == slice(None) for p in index[a:b])]
    if draw(st.booleans()):
        a, b = draw(st.sampled_from(full_slice_runs))
        index[a:b] = [Ellipsis]
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), None)
    return tuple(index)


@WIDE_PROPERTY
@given(data=st.data(), shape=shapes(min_dims=1), seed=seeds)
def test_integer_array_indexing_accumulates_gradient_at_repeats_like_torch(data, shape,
                                                                           seed, torch):
    rng = np.random.default_rng(seed)
    index = data.draw(integer_array_indices(shape), label="index")
    x = sample(rng, shape, ANY)

    def call(L, t):
        return t[tuple(L.tensor(p) if isinstance(p, np.ndarray) else p for p in index)]

    out = assert_matches_torch(torch, call, [x], rng)
    np.testing.assert_array_equal(out.detach().numpy(), x[index])


@st.composite
def mask_indices(draw, shape: tuple):
    """A boolean mask over some consecutive dimensions, after full slices for the
    dimensions before it, and maybe a slice (forward: PyTorch's only) for the one after."""
    ndim = len(shape)
    start = draw(st.integers(0, ndim - 1))
    stop = draw(st.integers(start + 1, ndim))
    mask = draw(hnp.arrays(np.bool_, shape[start:stop]))
    index = (slice(None),) * start + (mask,)
    if stop < ndim and draw(st.booleans()):
        index += (draw(slices(shape[stop], negative_steps=False)),)
    return index


@WIDE_PROPERTY
@given(data=st.data(), shape=shapes(min_dims=1), seed=seeds)
def test_boolean_mask_indexing_matches_torch(data, shape, seed, torch):
    rng = np.random.default_rng(seed)
    index = data.draw(mask_indices(shape), label="index")
    x = sample(rng, shape, ANY)

    def call(L, t):
        return t[tuple(L.tensor(p) if isinstance(p, np.ndarray) else p for p in index)]

    out = assert_matches_torch(torch, call, [x], rng)
    np.testing.assert_array_equal(out.detach().numpy(), x[index])


@st.composite
def gather_cases(draw):
    """(input shape, dim, index) for gather: the index has as many dimensions as the input,
    any size along `dim`, at most the input's size along the others, and values in
    range (repeats likely)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(one_dim(len(shape)))
    index_shape = tuple(draw(st.integers(1, 4)) if d == dim % len(shape)
                        else draw(st.integers(1, size)) for d, size in enumerate(shape))
    index = draw(hnp.arrays(np.int64, index_shape,
                            elements=st.integers(0, shape[dim] - 1)))
    return shape, dim, index


@PROPERTY
@given(case=gather_cases(), seed=seeds)
def test_gather_matches_torch(case, seed, torch):
    shape, dim, index = case
    rng = np.random.default_rng(seed)
    assert_matches_torch(torch, lambda L, t: L.gather(t, dim, L.tensor(index)),
                         [sample(rng, shape, ANY)], rng)


# Where the dimensions an index array selects go: NumPy and PyTorch agree that they stay in
# place when the arrays are next to each other, and go first otherwise; they disagree on
# what "next to each other" means. PyTorch applies plain ints (selects) and expands '...'
# before it looks, NumPy counts an int as an index array and '...' as a separator.
MISPLACED_INDICES = {
    "int, slice, array": lambda L, i: (1, slice(None), L.tensor(i)),
    "slice, int, slice, array": lambda L, i: (slice(None), 1, slice(None), L.tensor(i)),
    "slice, array, slice, int": lambda L, i: (slice(None), L.tensor(i), slice(None), 1),
    "slice, array, empty ..., array": lambda L, i: (slice(None), L.tensor(i), Ellipsis,
                                                    L.tensor(i), slice(None)),
}


@pytest.mark.parametrize("name", MISPLACED_INDICES)
def test_advanced_index_dims_are_placed_as_in_torch(name, torch):
    x = np.arange(360.0).reshape(3, 4, 5, 6)
    index = MISPLACED_INDICES[name]
    assert_matches_torch(torch, lambda L, t: t[index(L, [0, 2])], [x],
                         np.random.default_rng(0))


# --- 4. shape ops ------------------------------------------------------------------------


def divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def reshape_cases(draw):
    """(shape, new shape): the new shape splits the same number of elements into 0 to 4
    dimensions (size-1 ones included), one of them maybe written -1."""
    shape = draw(shapes())
    remaining, target = int(np.prod(shape)), []
    for _ in range(draw(st.integers(0, 3))):
        size = draw(st.sampled_from(divisors(remaining)))
        target.append(size)
        remaining //= size
    if remaining > 1 or draw(st.booleans()):
        target.insert(draw(st.integers(0, len(target))), remaining)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


@PROPERTY
@given(case=reshape_cases(), seed=seeds)
def test_reshape_matches_torch(case, seed, torch):
    shape, target = case
    rng = np.random.default_rng(seed)
    assert_matches_torch(torch, lambda L, t: t.reshape(target), [sample(rng, shape, ANY)],
                         rng)


@st.composite
def permute_cases(draw):
    """(shape, dims): a random permutation of the dimensions, some counted from the end."""
    shape = draw(shapes())
    ndim = len(shape)
    order = draw(st.permutations(range(ndim)))
    return shape, tuple(signed(d, ndim, draw(st.booleans())) for d in order)


@PROPERTY
@given(case=permute_cases(), seed=seeds)
def test_permute_matches_torch(case, seed, torch):
    shape, dims = case
    rng = np.random.default_rng(seed)
    assert_matches_torch(torch, lambda L, t: t.permute(dims), [sample(rng, shape, ANY)], rng)


@PROPERTY
@given(data=st.data(), shape=shapes(), seed=seeds)
def test_transpose_of_random_dims_matches_torch(data, shape, seed, torch):
    rng = np.random.default_rng(seed)
    dim0 = data.draw(one_dim(len(shape)), label="dim0")
    dim1 = data.draw(one_dim(len(shape)), label="dim1")
    assert_matches_torch(torch, lambda L, t: t.transpose(dim0, dim1),
                         [sample(rng, shape, ANY)], rng)


@PROPERTY
@given(data=st.data(), shape=shapes(), seed=seeds)
def test_squeeze_matches_torch(data, shape, seed, torch):
    """squeeze() removes every size-1 dimension; squeeze(dim) only those named (a dimension
    of another size stays)."""
    rng = np.random.default_rng(seed)
    dim = data.draw(st.none() | one_dim(len(shape)) | distinct_dims(len(shape)), label="dim")

    def call(L, t):
        return t.squeeze() if dim is None else t.squeeze(dim)

    assert_matches_torch(torch, call, [sample(rng, shape, ANY)], rng)


@PROPERTY
@given(data=st.data(), shape=shapes(), seed=seeds)
def test_unsqueeze_matches_torch(data, shape, seed, torch):
    rng = np.random.default_rng(seed)
    dim = data.draw(one_dim(len(shape), extra=1), label="dim")
    assert_matches_torch(torch, lambda L, t: L.unsqueeze(t, dim), [sample(rng, shape, ANY)],
                         rng)


@st.composite
def cat_cases(draw):
    """(shapes, dim): 1 to 4 shapes that agree except in `dim`, where each has its own size."""
    shape = draw(shapes(min_dims=1))
    dim = draw(one_dim(len(shape)))
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    axis = dim % len(shape)
    return [shape[:axis] + (size,) + shape[axis + 1:] for size in sizes], dim


@PROPERTY
@given(case=cat_cases(), seed=seeds)
def test_cat_matches_torch(case, seed, torch):
    input_shapes, dim = case
    rng = np.random.default_rng(seed)
    out = assert_matches_torch(torch, lambda L, *ts: L.cat(ts, dim=dim),
                               [sample(rng, shape, ANY) for shape in input_shapes], rng)
    assert out.shape[dim] == sum(shape[dim] for shape in input_shapes)


@PROPERTY
@given(data=st.data(), shape=shapes(max_dims=3), count=st.integers(1, 4), seed=seeds)
def test_stack_matches_torch(data, shape, count, seed, torch):
    rng = np.random.default_rng(seed)
    dim = data.draw(one_dim(len(shape), extra=1), label="dim")
    assert_matches_torch(torch, lambda L, *ts: L.stack(ts, dim=dim),
                         [sample(rng, shape, ANY) for _ in range(count)], rng)


@PROPERTY
@given(data=st.data(), shape=shapes(), seed=seeds)
def test_repeat_matches_torch(data, shape, seed, torch):
    """Repeats for every dimension and up to two new leading ones; 0 repeats included."""
    rng = np.random.default_rng(seed)
    ndim = len(shape)
    repeats = data.draw(st.lists(st.integers(0, 3), min_size=max(ndim, 1),
                                 max_size=ndim + 2), label="repeats")
    assert_matches_torch(torch, lambda L, t: t.repeat(*repeats), [sample(rng, shape, ANY)],
                         rng)


@st.composite
def expand_cases(draw):
    """(shape, sizes): size-1 dimensions grow to 1-4, the others keep their size; any
    existing dimension may be written -1; up to two new leading dimensions."""
    shape = draw(shapes())
    sizes = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 2)))]
    for n in shape:
        new = draw(st.integers(1, 4)) if n == 1 else n
        sizes.append(-1 if draw(st.booleans()) else new)
    return shape, tuple(sizes)


@PROPERTY
@given(case=expand_cases(), seed=seeds)
def test_expand_matches_torch(case, seed, torch):
    shape, sizes = case
    rng = np.random.default_rng(seed)
    assert_matches_torch(torch, lambda L, t: t.expand(sizes), [sample(rng, shape, ANY)], rng)


@PROPERTY
@given(data=st.data(), shape=shapes(min_dims=1), seed=seeds)
def test_flip_of_random_dims_matches_torch(data, shape, seed, torch):
    """Flip any set of dimensions (none included); 0-d tensors: see the test below."""
    rng = np.random.default_rng(seed)
    dims = data.draw(distinct_dims(len(shape), min_size=0), label="dims")
    assert_matches_torch(torch, lambda L, t: t.flip(dims), [sample(rng, shape, ANY)], rng)


def test_flip_of_a_0d_tensor_is_a_copy_as_in_torch(torch):
    assert_matches_torch(torch, lambda L, t: t.flip(0), [np.array(0.5)],
                         np.random.default_rng(0))
