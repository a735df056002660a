"""Embedding: a learned lookup table that maps integer ids (words, items) to vectors."""
from __future__ import annotations

from ember.creation import empty
from ember.errors import ShapeError
from ember.grad_mode import no_grad
from ember.nn import init
from ember.nn.functional.sparse import embedding, normalize_padding_idx
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.tensor import Tensor


class Embedding(Module):
    """A table of num_embeddings vectors of size embedding_dim; the output holds the row of
    each index of the input: out[...] = weight[input[...]].

    Args:
        num_embeddings: the number of rows (the vocabulary size).
        embedding_dim: the size of each vector.
        padding_idx: this row gets no gradient and starts at zero (a "no token" row).
        max_norm: rows looked up whose norm exceeds this are rescaled to it, in place.
        norm_type: the p of the p-norm for max_norm (default 2).
        scale_grad_by_freq: divide each row's gradient by its frequency in the batch.
        sparse: sparse gradients are not supported (must be False).

    Shape: input (*) of integers -> output (*, embedding_dim).

    The weight starts N(0, 1), as in PyTorch, with the padding row zeroed.

    Example:
        >>> layer = ember.nn.Embedding(10, 3, padding_idx=0)
        >>> layer(ember.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
        (2, 4, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError("Embedding: sparse gradients are not supported in "
                                      "ember; use sparse=False")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = normalize_padding_idx("Embedding", padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype,
                                          device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"Embedding: the weight given has shape "
                                 f"{tuple(_weight.shape)}, expected ({num_embeddings}, "
                                 f"{embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose table is `embeddings` (shared, not copied), frozen (no
        gradient) unless freeze=False. The padding row is left as given.

        Example:
            >>> table = ember.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
            >>> ember.nn.Embedding.from_pretrained(table)(ember.tensor([1]))
            tensor([[4.0000, 5.1000, 6.3000]])
        """
        if embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-dimensional "
                             f"(num_embeddings, embedding_dim), got shape "
                             f"{tuple(embeddings.shape)}")
        rows, columns = embeddings.shape
        return cls(rows, columns, padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text
