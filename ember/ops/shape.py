"""Shape primitives: reshape, permute, expand, repeat, cat, stack, pad, flip; and what is
built from them (view, flatten, squeeze, unsqueeze, transpose, split, chunk, unbind, ...).
Their gradients move values back to where they came from; none does arithmetic."""
from __future__ import annotations

import math

import numpy as np

from ember import backend
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import ShapeError
from ember.ops.indexing import getitem
from ember.ops.operands import as_operand, cast, normalize_dim
from ember.tensor import Tensor


class Reshape(Function):
    output_is_view = True

    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(Function):
    output_is_view = True

    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    def backward(ctx, grad):
        # put each axis back: the inverse permutation
        return grad.transpose(sorted(range(len(ctx.dims)), key=ctx.dims.__getitem__))


class Expand(Function):
    output_is_view = True

    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    def backward(ctx, grad):
        return grad                  # the engine sums it back over the expanded dimensions


class Repeat(Function):
    def forward(ctx, x, repeats):
        ctx.shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.repeats = repeats
        return np.tile(x, repeats)

    def backward(ctx, grad):
        # view the output as (r0, n0, r1, n1, ...) and add up the r copies of each element
        split = [size for pair in zip(ctx.repeats, ctx.shape) for size in pair]
        return grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))


class Cat(Function):
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.offsets = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return get_array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.offsets, axis=ctx.axis))


class Stack(Function):
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return get_array_module(arrays[0]).stack(arrays, axis=axis)

    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


class Pad(Function):
    def forward(ctx, x, widths, value):
        ctx.inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(ctx, grad):
        return grad[ctx.inside]      # the padding is constant: only the inside gets gradient


class Flip(Function):
    output_is_view = True

    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes)

    def backward(ctx, grad):
        return np.flip(grad, ctx.axes)


# --- functions -------------------------------------------------------------------------


def _shape_arg(shape) -> tuple:
    """Shapes may be given as reshape(2, 3) or reshape((2, 3))."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(op: str, shape: tuple, input_shape: tuple) -> tuple:
    size = math.prod(input_shape)
    if any(s < -1 for s in shape):
        raise ShapeError(f"{op}: invalid shape {shape}: sizes must be >= 0 (or -1 for one "
                         "inferred dimension)")
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1 (inferred), got {shape}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or size % known:
            raise ShapeError(f"{op}: shape {shape} is invalid for input of size {size} "
                             f"(shape {input_shape}): {size} is not a multiple of {known}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ShapeError(f"{op}: shape {shape} is invalid for input of size {size} "
                         f"(shape {input_shape})")
    return shape


def reshape(input, *shape) -> Tensor:
    """The same elements in a new shape; one dimension may be -1 (inferred)."""
    return _reshape("reshape", as_operand(input), shape)


def view(input, *shape) -> Tensor:
    """Like reshape (NumPy copies when a view is impossible, where PyTorch raises)."""
    return _reshape("view", input, shape)


def _reshape(op: str, input, shape) -> Tensor:
    new_shape = _infer_shape(op, _shape_arg(shape), input._data.shape)
    if new_shape == input._data.shape:
        return input
    return Reshape.apply(input, shape=new_shape)


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = as_operand(input)._data.shape
    if not shape:
        return reshape(input, 1)
    start = normalize_dim("flatten", start_dim, len(shape))
    end = normalize_dim("flatten", end_dim, len(shape))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input, dim: int, sizes) -> Tensor:
    shape = input._data.shape
    axis = normalize_dim("unflatten", dim, len(shape))
    sizes = _infer_shape("unflatten", tuple(sizes), (shape[axis],))
    return reshape(input, shape[:axis] + sizes + shape[axis + 1:])


def squeeze(input, dim=None) -> Tensor:
    """Remove dimensions of size 1 (only `dim` if given; a larger `dim` stays)."""
    shape = input._data.shape
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = {normalize_dim("squeeze", d, len(shape))
                for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)}
        dims = {d for d in dims if shape and shape[d] == 1}
    return reshape(input, tuple(n for i, n in enumerate(shape) if i not in dims))


def unsqueeze(input, dim: int) -> Tensor:
    shape = input._data.shape
    if not -len(shape) - 1 <= dim <= len(shape):
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {len(shape)} "
                         f"dimension(s) (expected {-len(shape) - 1} to {len(shape)})")
    axis = dim % (len(shape) + 1)
    return reshape(input, shape[:axis] + (1,) + shape[axis:])


def permute(input, *dims) -> Tensor:
    ndim = input._data.ndim
    dims = tuple(normalize_dim("permute", d, ndim) for d in _shape_arg(dims))
    if sorted(dims) != list(range(ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {ndim} "
                         f"dimensions of a tensor of shape {tuple(input._data.shape)}")
    if dims == tuple(range(ndim)):
        return input
    return Permute.apply(input, dims=dims)


def transpose(input, dim0: int, dim1: int) -> Tensor:
    ndim = input._data.ndim
    if ndim == 0:
        return input
    order = list(range(ndim))
    a, b = normalize_dim("transpose", dim0, ndim), normalize_dim("transpose", dim1, ndim)
    order[a], order[b] = order[b], order[a]
    return permute(input, order)


swapaxes = swapdims = transpose


def t(input) -> Tensor:
    if input._data.ndim > 2:
        raise ShapeError(f"t: expects a tensor with at most 2 dimensions, got shape "
                         f"{tuple(input._data.shape)}; use transpose(dim0, dim1)")
    return transpose(input, 0, -1)


def movedim(input, source: int, destination: int) -> Tensor:
    ndim = input._data.ndim
    order = list(range(ndim))
    order.insert(normalize_dim("movedim", destination, ndim),
                 order.pop(normalize_dim("movedim", source, ndim)))
    return permute(input, order)


def expand(input, *sizes) -> Tensor:
    """A broadcast view to `sizes` (-1 keeps a dimension); no memory is copied."""
    shape = input._data.shape
    sizes = _shape_arg(sizes)
    if len(sizes) < len(shape):
        raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dimensions ({len(shape)}) of a tensor of shape {shape}")
    lead = len(sizes) - len(shape)
    target = []
    for i, size in enumerate(sizes):
        current = shape[i - lead] if i >= lead else None
        if size == -1:
            if current is None:
                raise ShapeError(f"expand: -1 is not allowed for the new leading dimension "
                                 f"{i} (sizes {sizes})")
            size = current
        elif current is not None and current != 1 and current != size:
            raise ShapeError(f"expand: the expanded size {size} must match the existing size "
                             f"{current} at dimension {i} (only dimensions of size 1 can "
                             f"expand; tensor shape {shape}, sizes {sizes})")
        target.append(size)
    target = tuple(target)
    if target == shape:
        return input
    return Expand.apply(input, shape=target)


def repeat(input, *repeats) -> Tensor:
    """Tile the tensor: repeat(2, 3) copies it twice along dim 0 and three times along 1."""
    repeats = _shape_arg(repeats)
    if len(repeats) < input._data.ndim:
        raise ShapeError(f"repeat: the number of repeats ({len(repeats)}) must be at least "
                         f"the number of dimensions ({input._data.ndim})")
    return Repeat.apply(input, repeats=repeats)


def _common_dtype(tensors) -> list:
    dtype = tensors[0]._data.dtype
    for x in tensors[1:]:
        dtype = backend.promote_types(dtype, x._data.dtype)
    return [cast(x, dtype) for x in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension; the other sizes must match."""
    tensors = [as_operand(x) for x in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]._data.shape
    axis = normalize_dim("cat", dim, len(first))
    for i, x in enumerate(tensors[1:], start=1):
        shape = x._data.shape
        if len(shape) != len(first) or any(a != b for d, (a, b) in enumerate(zip(shape, first))
                                           if d != axis):
            raise ShapeError(f"cat: tensor {i} has shape {shape} but tensor 0 has shape {first}; "
                             f"sizes must match except in dimension {dim}")
    return Cat.apply(*_common_dtype(tensors), axis=axis)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension."""
    tensors = [as_operand(x) for x in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    first = tensors[0]._data.shape
    for i, x in enumerate(tensors[1:], start=1):
        if x._data.shape != first:
            raise ShapeError(f"stack: all tensors must have the same shape, but tensor 0 has "
                             f"shape {first} and tensor {i} has shape {x._data.shape}")
    axis = normalize_dim("stack", dim, len(first) + 1)
    return Stack.apply(*_common_dtype(tensors), axis=axis)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of `split_size` along `dim` (the last may be smaller), or of the given sizes."""
    shape = tensor._data.shape
    axis = normalize_dim("split", dim, len(shape))
    length = shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, but dimension "
                             f"{dim} has size {length} (shape {shape})")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(narrow(tensor, axis, start, size))
        start += size
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` pieces of equal size (the last may be smaller), like PyTorch."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    length = input._data.shape[normalize_dim("chunk", dim, input._data.ndim)]
    return split(input, max(math.ceil(length / chunks), 1), dim)


def unbind(input, dim: int = 0) -> tuple:
    axis = normalize_dim("unbind", dim, input._data.ndim)
    return tuple(select(input, axis, i) for i in range(input._data.shape[axis]))


def select(input, dim: int, index: int) -> Tensor:
    axis = normalize_dim("select", dim, input._data.ndim)
    return getitem(input, (slice(None),) * axis + (index,))


def narrow(input, dim: int, start: int, length: int) -> Tensor:
    axis = normalize_dim("narrow", dim, input._data.ndim)
    return getitem(input, (slice(None),) * axis + (slice(start, start + length),))


def flip(input, dims) -> Tensor:
    ndim = input._data.ndim
    if ndim == 0:
        normalize_dim("flip", dims if isinstance(dims, (int, np.integer)) else 0, 0)
        return input.clone()
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return Flip.apply(input, axes=tuple(normalize_dim("flip", d, ndim) for d in dims))


def pad(input, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dimensions: `pad` = (left, right) for the last one, then (top, bottom)
    for the one before, and so on, as in PyTorch. Negative amounts crop."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; ember pads with "
                                  "mode='constant'")
    input = as_operand(input)
    shape = input._data.shape
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ShapeError(f"pad: expected an even number of amounts, at most 2 per dimension "
                         f"({2 * len(shape)} for shape {shape}), got {len(pad)}")
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if any(w < 0 for pair in widths for w in pair):  # crop first, then pad what is left
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(widths, shape))
        input = getitem(input, crop)
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    return Pad.apply(input, widths=tuple(widths), value=value)
