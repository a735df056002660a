"""Matrix products: matmul (batched, broadcasting, with PyTorch's 1-D rules), and the
mm/bmm/mv/dot/outer forms built on it."""
from __future__ import annotations

import numpy as np

from ember.autograd.function import Function
from ember.errors import DTypeError, ShapeError
from ember.ops.operands import as_operand
from ember.tensor import Tensor


class MatMul(Function):
    """a @ b on the last two dimensions, broadcasting the rest. A 1-D operand is treated
    as a row (left) or column (right) vector and that dimension is dropped from the result."""

    def forward(ctx, a, b):
        ctx.vector_a, ctx.vector_b = a.ndim == 1, b.ndim == 1
        a2 = a[None, :] if ctx.vector_a else a
        b2 = b[:, None] if ctx.vector_b else b
        ctx.save_for_backward(a2, b2)
        out = a2 @ b2
        if ctx.vector_a:
            out = out[..., 0, :]
        if ctx.vector_b:
            out = out[..., 0]
        return out

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if ctx.vector_b:
            grad = grad[..., None]
        if ctx.vector_a:
            grad = grad[..., None, :]
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:  # C = A B  =>  dL/dA = dL/dC B^T
            grad_a = grad @ np.swapaxes(b, -1, -2)
            if ctx.vector_a:
                grad_a = grad_a[..., 0, :]
        if need_b:  # dL/dB = A^T dL/dC
            grad_b = np.swapaxes(a, -1, -2) @ grad
            if ctx.vector_b:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


def _check_matmul(op: str, a: Tensor, b: Tensor) -> None:
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise ShapeError(f"{op}: both arguments need at least 1 dimension, got shapes "
                         f"{sa} and {sb}")
    inner_a = sa[-1]
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if inner_a != inner_b:
        raise ShapeError(f"{op}: {sa} @ {sb}: inner dimensions {inner_a} and {inner_b} differ")
    if a._data.dtype != b._data.dtype:
        raise DTypeError(f"{op}: both operands must have the same dtype, got "
                         f"{a.dtype} and {b.dtype}")
    batch_a, batch_b = sa[:-2], sb[:-2]
    if not batch_a or not batch_b or batch_a == batch_b:
        return
    try:
        np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ShapeError(f"{op}: {sa} @ {sb}: batch dimensions {batch_a} and {batch_b} "
                         "cannot be broadcast together") from None


def matmul(input, other) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D and batched operands."""
    input, other = as_operand(input), as_operand(other)
    _check_matmul("matmul", input, other)
    return MatMul.apply(input, other)


def mm(input, mat2) -> Tensor:
    if input.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"mm: expects two 2-D tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input, mat2) -> Tensor:
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: expects two 3-D tensors with the same batch size, got shapes "
                         f"{tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def mv(input, vec) -> Tensor:
    if input.ndim != 2 or vec.ndim != 1:
        raise ShapeError(f"mv: expects a 2-D and a 1-D tensor, got shapes "
                         f"{tuple(input.shape)} and {tuple(vec.shape)}")
    return matmul(input, vec)


def dot(input, other) -> Tensor:
    if input.ndim != 1 or other.ndim != 1:
        raise ShapeError(f"dot: expects two 1-D tensors, got shapes {tuple(input.shape)} and "
                         f"{tuple(other.shape)}")
    return matmul(input, other)


def outer(input, vec2) -> Tensor:
    return input.reshape(-1, 1) * vec2.reshape(1, -1)
