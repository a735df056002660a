"""Functions of integer indices: embedding (a lookup table whose rows are learned) and
one_hot."""
from __future__ import annotations

import numpy as np

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import DTypeError, ShapeError
from ember.grad_mode import no_grad
from ember.tensor import Tensor


class EmbeddingLookup(Function):
    """out[..., :] = weight[indices[...], :], a row looked up for every index.

    Backward: row i of dL/dweight is the sum of the output gradients at every position
    that looked up row i (rows looked up twice get both gradients, rows never looked up
    get zero). The padding row gets no gradient; with scale_grad_by_freq each gradient is
    divided by how often its row was looked up in the batch.
    """

    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.indices, ctx.weight_shape = indices, weight.shape
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[indices]

    def backward(ctx, grad):
        xp = get_array_module(grad)
        num_embeddings, embedding_dim = ctx.weight_shape
        rows = ctx.indices.reshape(-1)
        row_grads = grad.reshape(-1, embedding_dim)
        if ctx.scale_grad_by_freq:
            # dL/dW_i = (1 / count_i) sum_{positions p with index i} dL/dout_p
            counts = xp.bincount(rows, minlength=num_embeddings)
            row_grads = row_grads / counts[rows, None].astype(grad.dtype)
        if ctx.padding_idx is not None:
            kept = rows != ctx.padding_idx
            rows, row_grads = rows[kept], row_grads[kept]
        grad_weight = xp.zeros(ctx.weight_shape, dtype=grad.dtype)
        np.add.at(grad_weight, rows, row_grads)       # += at repeated rows, unlike =
        return grad_weight


def _integer_indices(op: str, input, num_classes: int | None = None) -> np.ndarray:
    """The index array of `input`, checked to be integers in [0, num_classes)."""
    indices = input._data if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected an integer (int64 or int32) tensor of indices, "
                         f"got dtype {indices.dtype}")
    if num_classes is not None and indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= num_classes:
            raise IndexError(f"{op}: index out of range: the indices run from {low} to "
                             f"{high}, but must be in [0, {num_classes - 1}] for a table "
                             f"of {num_classes} rows")
    return indices


def normalize_padding_idx(op: str, padding_idx: int | None, num_embeddings: int) -> int | None:
    """padding_idx as a row number in [0, num_embeddings) (negative counts from the end)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings: got "
                         f"padding_idx={padding_idx} for {num_embeddings} embeddings")
    return padding_idx % num_embeddings


def embedding_renorm_(weight: Tensor, indices: np.ndarray, max_norm: float,
                      norm_type: float = 2.0) -> Tensor:
    """Rescale, in place and outside the graph, each row of weight named in `indices`
    whose norm exceeds max_norm, to norm max_norm (as PyTorch does, dividing by
    norm + 1e-7)."""
    rows = np.unique(indices)
    with no_grad():
        looked_up = weight.detach()[Tensor._make(rows)]
        norms = looked_up.norm(norm_type, dim=1, keepdim=True)
        scale = (max_norm / (norms + 1e-7)).where(norms > max_norm, 1.0)
        weight[Tensor._make(rows)] = looked_up * scale
    return weight


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up the rows of `weight` named by the integer `input`: out[...] = weight[input[...]].

    Args:
        input: integer tensor of indices into the rows of weight.
        weight: the table, (num_embeddings, embedding_dim).
        padding_idx: the row at this index gets no gradient (a "no token" row).
        max_norm: rows looked up whose norm is above this are first rescaled to this norm,
            in place in `weight`.
        norm_type: the p of the p-norm for max_norm.
        scale_grad_by_freq: divide each row's gradient by how often the row is looked up
            in this batch.
        sparse: sparse gradients are not supported (ember gradients are dense).

    Shape: input (*) -> output (*, embedding_dim).

    Example:
        >>> table = ember.randn(10, 3, requires_grad=True)
        >>> F.embedding(ember.tensor([[1, 2], [4, 9]]), table).shape
        (2, 2, 3)
    """
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported in ember; "
                                  "use sparse=False (the gradient is a dense tensor)")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    num_embeddings = weight.shape[0]
    indices = _integer_indices("embedding", input, num_embeddings)
    padding_idx = normalize_padding_idx("embedding", padding_idx, num_embeddings)
    if max_norm is not None:
        embedding_renorm_(weight, indices, max_norm, norm_type)
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx,
                                 scale_grad_by_freq=scale_grad_by_freq)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """A vector of zeros with a one at each index: out[..., i] = (tensor[...] == i).

    Args:
        tensor: integer class indices, all in [0, num_classes).
        num_classes: length of each one-hot vector; -1 means max(tensor) + 1.

    Shape: (*) -> (*, num_classes), dtype int64 (as in PyTorch).

    Example:
        >>> F.one_hot(ember.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    indices = _integer_indices("one_hot", tensor)
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError("one_hot: can not infer the number of classes from an empty "
                             "tensor; pass num_classes")
        num_classes = int(indices.max()) + 1
    if indices.size and int(indices.min()) < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got "
                         f"{int(indices.min())}")
    if indices.size and int(indices.max()) >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes="
                         f"{num_classes}, got {int(indices.max())}")
    xp = get_array_module(indices)
    classes = xp.arange(num_classes)
    return Tensor._make((indices[..., None] == classes).astype(np.int64))
