"""Batches of sequences of different lengths: PackedSequence and pack/pad conversions, as in
`torch.nn.utils.rnn`. The recurrent layers take a PackedSequence and skip the padding."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ember import backend
from ember.creation import full
from ember.errors import ShapeError
from ember.ops.shape import cat
from ember.tensor import Tensor


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A batch of sequences of different lengths with no padding: the sequences sorted
    longest first, their steps laid out time step by time step.

    Fields (unpack it like a tuple):
        data: (sum of lengths, *): step 0 of every sequence, then step 1 of those at
            least 2 long, and so on.
        batch_sizes: int64 (longest length,): how many sequences have each time step.
        sorted_indices: the batch order used, as indices into the original batch (None
            when the batch was already sorted).
        unsorted_indices: the inverse permutation (where each original sequence went).

    Make one with `pack_padded_sequence` or `pack_sequence`, not by hand.

    Example:
        >>> packed = pack_sequence([ember.tensor([1, 2, 3]), ember.tensor([4, 5])])
        >>> packed.data, packed.batch_sizes
        (tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:                 # PackedSequence((data, batch_sizes))
            data, batch_sizes = data
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequences with `data` converted (dtype and/or device); the index
        tensors follow to the device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        indices = [None if i is None else i.to(data.device)
                   for i in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def float(self) -> PackedSequence:
        return self.to(dtype=backend.float32)

    def double(self) -> PackedSequence:
        return self.to(dtype=backend.float64)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse permutation: out[permutation[i]] = i (None stays None)."""
    if permutation is None:
        return None
    order = permutation._data
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.shape[0], dtype=order.dtype)
    return Tensor._make(inverse)


def _lengths_array(op: str, lengths) -> np.ndarray:
    array = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"{op}: lengths must be a 1-D sequence of integers, got "
                         f"{array.dtype} of shape {array.shape}")
    return array.astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch: keep the first lengths[b] steps of each sequence b.

    Args:
        input: (T, B, *) padded sequences, or (B, T, *) with batch_first.
        lengths: the length of each sequence (a list or an integer tensor).
        batch_first: the batch is dimension 0 of `input`.
        enforce_sorted: the sequences must already be sorted longest first; with False
            they are sorted here and the order is remembered for unpacking.

    Example:
        >>> x = ember.randn(5, 3, 8)                   # 3 sequences, up to 5 steps
        >>> packed = pack_padded_sequence(x, [5, 3, 2])
        >>> output, h_n = ember.nn.GRU(8, 16)(packed)
    """
    lengths = _lengths_array("pack_padded_sequence", lengths)
    if input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: input must have at least 2 dimensions "
                         f"(time and batch), got shape {tuple(input.shape)}")
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    batch, steps = input.shape[batch_dim], input.shape[time_dim]
    if lengths.shape[0] != batch:
        raise ShapeError(f"pack_padded_sequence: Expected `len(lengths)` to be equal to "
                         f"batch_size, but got {lengths.shape[0]} (batch_size={batch})")
    if batch == 0:
        raise ShapeError(f"pack_padded_sequence: the batch is empty (input shape "
                         f"{tuple(input.shape)})")
    if lengths.min() <= 0:
        raise ShapeError("pack_padded_sequence: Length of all samples has to be greater "
                         f"than 0, but found an element in 'lengths' that is <= 0 "
                         f"(lengths {lengths.tolist()})")
    if lengths.max() > steps:
        raise ShapeError(f"pack_padded_sequence: a length of {lengths.max()} is more than "
                         f"the {steps} time steps of the input (shape "
                         f"{tuple(input.shape)}, batch_first={batch_first})")
    sorted_indices = None
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise ShapeError("pack_padded_sequence: `lengths` array must be sorted in "
                             "decreasing order when `enforce_sorted` is True. You can pass "
                             "`enforce_sorted=False` to pack_padded_sequence and/or "
                             "pack_sequence to sidestep this requirement.")
        order = np.arange(batch)
    else:
        order = np.argsort(-lengths, kind="stable")      # longest first, ties in order
        sorted_indices = Tensor._make(order)
    lengths = lengths[order]
    # kept[t, k]: the k-th longest sequence has a step t; its rows, time step by time step
    kept = np.arange(lengths[0])[:, None] < lengths[None, :]
    t, k = np.nonzero(kept)
    b = order[k]
    rows = b * steps + t if batch_first else t * batch + b
    flat = input.reshape((batch * steps,) + tuple(input.shape[2:]))
    batch_sizes = Tensor._make(kept.sum(axis=1).astype(np.int64))
    return PackedSequence(flat[Tensor._make(rows)], batch_sizes, sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """Undo `pack_padded_sequence`: a padded batch in the original order, and the lengths.

    Args:
        sequence: a PackedSequence.
        batch_first: return (B, T, *) instead of (T, B, *).
        padding_value: the value of the padding steps.
        total_length: pad to this many steps (at least the longest length).

    Returns:
        (padded, lengths): lengths is an int64 tensor (B,).

    Example:
        >>> output, h_n = rnn(packed)
        >>> padded, lengths = pad_packed_sequence(output, batch_first=True)
    """
    data, batch_sizes = sequence.data, sequence.batch_sizes._data.astype(np.int64)
    steps = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: Expected total_length to be at least "
                             f"the length of the longest sequence in input, but got "
                             f"total_length={total_length} and max sequence length being "
                             f"{steps}")
        steps = total_length
    batch = int(batch_sizes[0])
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    padding_row = data.shape[0]                   # the row appended by _rows_with_padding
    k = np.arange(batch)[None, :]
    # step t of the k-th longest sequence is row starts[t] + k, while k < batch_sizes[t]
    rows = np.where(k < batch_sizes[:, None], starts[:, None] + k, padding_row)
    if steps > rows.shape[0]:
        rows = np.concatenate([rows, np.full((steps - rows.shape[0], batch), padding_row)])
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices._data
        rows, lengths = rows[:, unsorted], lengths[unsorted]
    if batch_first:
        rows = rows.T
    return _rows_with_padding(data, rows, padding_value), Tensor._make(lengths)


def _rows_with_padding(data: Tensor, rows: np.ndarray, padding_value: float) -> Tensor:
    """data[rows] where row len(data) means a padding row: one differentiable lookup."""
    padding = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                   device=data.device)
    return cat([data, padding])[Tensor._make(rows)]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths into one padded tensor.

    Args:
        sequences: tensors (L_i, *) with the same trailing dimensions.
        batch_first: return (B, T, *) instead of (T, B, *); T = the longest length.
        padding_value: the value of the padding.
        padding_side: 'right' (pad after each sequence) or 'left'.

    Example:
        >>> pad_sequence([ember.ones(3, 2), ember.ones(1, 2)]).shape
        (3, 2, 2)
    """
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    lengths = np.array([s.shape[0] if s.ndim else 0 for s in sequences])
    for i, s in enumerate(sequences):
        if s.ndim == 0 or s.shape[1:] != sequences[0].shape[1:]:
            raise ShapeError(f"pad_sequence: every sequence must be (length, *) with the "
                             f"same trailing dimensions; sequence 0 has shape "
                             f"{tuple(sequences[0].shape)}, sequence {i} {tuple(s.shape)}")
    steps = int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    t = np.arange(steps)[:, None]
    position = t if padding_side == "right" else t - (steps - lengths)[None, :]
    kept = (position >= 0) & (position < lengths[None, :])
    rows = np.where(kept, starts[None, :] + position, lengths.sum())
    if batch_first:
        rows = rows.T
    return _rows_with_padding(cat(sequences), rows, padding_value)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Undo `pad_sequence`: the list of sequences, each cut to its length.

    Example:
        >>> a, b = unpad_sequence(pad_sequence([x, y]), ember.tensor([len(x), len(y)]))
    """
    lengths = _lengths_array("unpad_sequence", lengths)
    if batch_first:
        return [padded_sequences[b, :int(n)] for b, n in enumerate(lengths)]
    return [padded_sequences[:int(n), b] for b, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *): `pad_sequence` then `pack_padded_sequence`.

    Example:
        >>> packed = pack_sequence([ember.randn(5, 8), ember.randn(3, 8)])
    """
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Undo `pack_sequence`: the list of sequences in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
