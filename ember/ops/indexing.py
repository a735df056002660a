"""Indexing primitives: x[index] (slices, integers, None, Ellipsis, integer arrays and
boolean masks) and gather, whose gradients scatter back and add up at repeated indices;
and what is built from them (index_select, masked_fill, sort, topk, ...)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import DTypeError, ShapeError
from ember.ops.arithmetic import where
from ember.ops.operands import as_operand, normalize_dim
from ember.tensor import Tensor

# What max/min/sort/topk return along a dimension, unpackable like PyTorch's.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


class GetItem(Function):
    output_is_view = True    # for slices, ints and None (NumPy copies for arrays)

    def forward(ctx, x, index, advanced):
        ctx.shape, ctx.index, ctx.advanced = x.shape, index, advanced
        return x[index]

    def backward(ctx, grad):
        # each selected element passes its gradient back to where it came from; an element
        # selected twice receives both (np.add.at adds at repeated indices, = would not)
        full = get_array_module(grad).zeros(ctx.shape, dtype=grad.dtype)
        if ctx.advanced:
            np.add.at(full, _masks_as_positions(ctx.index), grad)
        else:
            full[ctx.index] = grad
        return full


def _masks_as_positions(index):
    """The same index with each boolean mask replaced by the integer arrays of its True
    positions (what np.add.at needs)."""
    parts = index if isinstance(index, tuple) else (index,)
    expanded = []
    for part in parts:
        if getattr(part, "dtype", None) == np.bool_ and part.ndim > 0:
            expanded.extend(np.nonzero(part))
        else:
            expanded.append(part)
    return tuple(expanded)


class Gather(Function):
    """out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for other dims)."""

    def forward(ctx, x, axis, index):
        ctx.shape, ctx.axis, ctx.index = x.shape, axis, index
        leading = tuple(slice(None) if d == axis else slice(0, n)
                        for d, n in enumerate(index.shape))
        return np.take_along_axis(x[leading], index, axis=axis)

    def backward(ctx, grad):
        full = get_array_module(grad).zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(full, _scatter_index(ctx.index, ctx.axis), grad)
        return full


def _scatter_index(index, axis: int) -> tuple:
    """The full index tuple that puts element [i, j, ...] of `index` back into the input."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


# --- turning a user's index into a NumPy index ------------------------------------------


def normalize_index(index):
    """A NumPy index from a user's: tensors and lists become arrays (checked to be integer
    or boolean). Returns (index, is_advanced). An index of integers only gets a trailing
    Ellipsis, so that NumPy returns a 0-d view (as PyTorch does) instead of a copy."""
    parts = index if isinstance(index, tuple) else (index,)
    out, advanced = [], False
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data
        elif isinstance(part, list):
            part = np.asarray(part)
            if part.size == 0:
                part = part.astype(np.int64)
        elif isinstance(part, np.generic):
            part = part.item()
        if hasattr(part, "dtype"):
            if part.dtype.kind not in "iub":
                raise IndexError(f"index: tensors used as indices must be integer or bool, "
                                 f"got dtype {part.dtype}")
            if part.ndim > 0:
                advanced = True
            else:  # a 0-d array is a plain integer (or bool)
                part = part.item()
        out.append(part)
    if all(isinstance(p, int) and not isinstance(p, bool) for p in out):
        out.append(Ellipsis)
    if not isinstance(index, tuple) and len(out) == 1:
        return out[0], advanced
    return tuple(out), advanced


def getitem(input: Tensor, index) -> Tensor:
    numpy_index, advanced = normalize_index(index)
    if advanced and isinstance(numpy_index, tuple):
        selections, rest = _pytorch_order(numpy_index, input._data.ndim)
        if selections is not None:
            input = _apply_getitem(input, selections, advanced=False)
        numpy_index = rest
    return _apply_getitem(input, numpy_index, advanced)


def _apply_getitem(input: Tensor, numpy_index, advanced: bool) -> Tensor:
    try:
        return GetItem.apply(input, index=numpy_index, advanced=advanced)
    except IndexError as exc:
        masks = [tuple(p.shape) for p in (numpy_index if isinstance(numpy_index, tuple)
                                          else (numpy_index,))
                 if getattr(p, "dtype", None) == np.bool_]
        what = (f"a boolean mask of shape {masks[0]} does not fit: "
                if masks and "boolean" in str(exc) else "")
        raise IndexError(f"index: {what}{exc} (tensor shape {tuple(input._data.shape)})") \
            from None


def _pytorch_order(index: tuple, ndim: int) -> tuple:
    """Split an advanced index the way PyTorch reads it: an Ellipsis stands for explicit
    full slices (so one covering no dimension does not separate index arrays), and plain
    integers select first. NumPy would instead treat integers as index arrays and place
    the indexed dimensions differently. Returns (integer selections or None, the rest)."""
    consumed = sum(p.ndim if getattr(p, "dtype", None) == np.bool_ else 1
                   for p in index
                   if p is not None and p is not Ellipsis and not isinstance(p, bool))
    expanded = []
    for part in index:
        if part is Ellipsis:
            expanded.extend([slice(None)] * max(ndim - consumed, 0))
        else:
            expanded.append(part)
    if not any(isinstance(p, int) and not isinstance(p, bool) for p in expanded):
        return None, tuple(expanded)
    selections, rest = [], []
    for part in expanded:
        if isinstance(part, int) and not isinstance(part, bool):
            selections.append(part)          # this dimension disappears before the rest
        elif part is None or isinstance(part, bool):   # new dimensions, nothing consumed
            rest.append(part)
        else:
            width = part.ndim if getattr(part, "dtype", None) == np.bool_ else 1
            selections.extend([slice(None)] * width)
            rest.append(part)
    return tuple(selections), tuple(rest)


# --- functions -------------------------------------------------------------------------


def gather(input, dim: int, index) -> Tensor:
    """Pick values along `dim` by `index` (same number of dimensions as input)."""
    input = as_operand(input)
    index_array = index._data if isinstance(index, Tensor) else np.asarray(index)
    x = input._data
    if index_array.dtype.kind not in "iu":
        raise DTypeError(f"gather: index must be an integer tensor, got {index_array.dtype}")
    if index_array.ndim != x.ndim:
        raise ShapeError(f"gather: index has {index_array.ndim} dimension(s) but input has "
                         f"{x.ndim} (shapes {tuple(index_array.shape)} and {tuple(x.shape)})")
    axis = normalize_dim("gather", dim, x.ndim)
    for d, (n_index, n_input) in enumerate(zip(index_array.shape, x.shape)):
        if d != axis and n_index > n_input:
            raise ShapeError(f"gather: index has size {n_index} in dimension {d} but input "
                             f"has only {n_input} (shapes {tuple(index_array.shape)} and "
                             f"{tuple(x.shape)})")
    if index_array.size and (index_array.min() < 0 or index_array.max() >= x.shape[axis]):
        raise IndexError(f"gather: index out of range for dimension {dim} of size "
                         f"{x.shape[axis]} (index values from {index_array.min()} to "
                         f"{index_array.max()})")
    return Gather.apply(input, axis=axis, index=index_array)


def index_select(input, dim: int, index) -> Tensor:
    axis = normalize_dim("index_select", dim, input.ndim)
    return getitem(input, (slice(None),) * axis + (as_operand(index),))


def take_along_dim(input, indices, dim: int) -> Tensor:
    return gather(input, dim, indices)


def masked_fill(input, mask, value) -> Tensor:
    """`input` with `value` wherever `mask` is True."""
    return where(mask, value, input)


def masked_select(input, mask) -> Tensor:
    mask = as_operand(mask)
    full = np.broadcast_to(mask._data, np.broadcast_shapes(mask._data.shape, input.shape))
    return getitem(input.expand(full.shape), Tensor._make(full))


def nonzero(input, *, as_tuple: bool = False):
    found = np.nonzero(as_operand(input)._data)
    if as_tuple:
        return tuple(Tensor._make(i) for i in found)
    return Tensor._make(np.stack(found, axis=1) if found else np.zeros((0, 0), np.int64))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    data = as_operand(input)._data
    if data.ndim == 0:
        return Tensor._make(np.zeros((), dtype=np.int64))
    axis = normalize_dim("argsort", dim, data.ndim)
    order = np.argsort(data, axis=axis, kind="stable")
    if descending:
        # reverse, then restore the original order among equal elements
        order = np.flip(np.argsort(np.flip(data, axis), axis=axis, kind="stable"), axis)
        order = data.shape[axis] - 1 - order
    return Tensor._make(order)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along `dim`; gradients flow to the values' origins."""
    input = as_operand(input)
    indices = argsort(input, dim, descending)
    if input._data.ndim == 0:
        return ValuesIndices(input.clone(), indices)
    return ValuesIndices(gather(input, dim, indices), indices)


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The k largest (or smallest) values along `dim` and their indices."""
    input = as_operand(input)
    axis = normalize_dim("topk", dim, input._data.ndim)
    size = input._data.shape[axis] if input._data.ndim else 1
    if not 0 <= k <= size:
        raise ShapeError(f"topk: k={k} is out of range for dimension {dim} of size {size}")
    order = argsort(input, axis, descending=largest)._data
    indices = Tensor._make(np.take(order, np.arange(k), axis=axis) if order.ndim else order)
    return ValuesIndices(gather(input, axis, indices), indices)
