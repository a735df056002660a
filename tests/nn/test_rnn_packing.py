"""Variable-length batches: PackedSequence and the pack/pad functions against PyTorch's
(values, batch sizes, index orders, gradients), round trips, the recurrent layers on packed
input against PyTorch, and the key property: each sequence of a padded batch gives what it
gives alone."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn.rnn import GRU, LSTM, RNN
from ember.nn.utils.rnn import (PackedSequence, invert_permutation, pack_padded_sequence,
                                pack_sequence, pad_packed_sequence, pad_sequence,
                                unpack_sequence, unpad_sequence)
from tests.conftest import rng_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
LENGTHS = [4, 7, 2, 7, 5]           # unsorted, with a tie
SORTED = [7, 7, 5, 4, 2]


def torch_rnn_utils(torch):
    return torch.nn.utils.rnn


def pair(torch, array):
    return ember.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


@pytest.mark.torch
@pytest.mark.parametrize("trailing", [(), (2, 3)], ids=["no features", "features (2, 3)"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time first", "batch first"])
@pytest.mark.parametrize("lengths, enforce_sorted", [(SORTED, True), ([4, 7, 2, 6, 5], False)],
                         ids=["sorted", "unsorted"])
def test_pack_then_pad_matches_pytorch(torch, lengths, enforce_sorted, batch_first, trailing):
    utils = torch_rnn_utils(torch)
    shape = ((5, 8) if batch_first else (8, 5)) + trailing
    ours_x, theirs_x = pair(torch, rng_for(f"pack {batch_first}{trailing}").standard_normal(shape))
    ours = pack_padded_sequence(ours_x, lengths, batch_first, enforce_sorted)
    theirs = utils.pack_padded_sequence(theirs_x, lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(ours.data.detach().numpy(), theirs.data.detach().numpy())
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    assert ours.batch_sizes.dtype == ember.int64
    for mine, torchs in [(ours.sorted_indices, theirs.sorted_indices),
                         (ours.unsorted_indices, theirs.unsorted_indices)]:
        assert (mine is None) == (torchs is None)
        assert mine is None or mine.tolist() == torchs.tolist()
    padded, out_lengths = pad_packed_sequence(ours, batch_first, padding_value=-2.0,
                                              total_length=9)
    expected, expected_lengths = utils.pad_packed_sequence(theirs, batch_first,
                                                           padding_value=-2.0, total_length=9)
    np.testing.assert_array_equal(padded.detach().numpy(), expected.detach().numpy())
    assert out_lengths.tolist() == expected_lengths.tolist() == list(lengths)
    upstream = rng_for("pack upstream").standard_normal(tuple(expected.shape))
    (padded * ember.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(ours_x.grad.numpy(), theirs_x.grad.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time first", "batch first"])
def test_pad_sequence_matches_pytorch(torch, batch_first, padding_side):
    rng = rng_for(f"pad_sequence {batch_first} {padding_side}")
    arrays = [rng.standard_normal((n, 3)) for n in (3, 5, 1)]
    ours = [ember.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    padded = pad_sequence(ours, batch_first, 7.0, padding_side)
    expected = torch_rnn_utils(torch).pad_sequence(theirs, batch_first, 7.0, padding_side)
    np.testing.assert_array_equal(padded.detach().numpy(), expected.detach().numpy())
    upstream = rng.standard_normal(tuple(expected.shape))
    (padded * ember.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_pack_sequence_round_trips():
    sequences = [ember.tensor(rng_for(f"seq {n}").standard_normal((n, 2))) for n in LENGTHS]
    packed = pack_sequence(sequences, enforce_sorted=False)
    assert isinstance(packed, PackedSequence)
    data, batch_sizes, sorted_indices, unsorted_indices = packed       # unpacks like a tuple
    assert batch_sizes.tolist() == [5, 5, 4, 4, 3, 2, 2]
    assert sorted_indices.tolist() == [1, 3, 4, 0, 2]                  # stable among ties
    assert invert_permutation(sorted_indices).tolist() == unsorted_indices.tolist()
    for original, restored in zip(sequences, unpack_sequence(packed)):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
    padded = pad_sequence(sequences, batch_first=True)
    for original, restored in zip(sequences, unpad_sequence(padded, LENGTHS, batch_first=True)):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
    assert packed.double().data.dtype == ember.float64
    assert packed.float().data.dtype == ember.float32


# --- the layers on variable-length batches --------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one way", "bidirectional"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_on_packed_input_matches_pytorch(torch, name, bidirectional):
    utils = torch_rnn_utils(torch)
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=bidirectional,
                                     dtype=torch.float64)
    ours = LAYERS[name](3, 4, num_layers=2, bidirectional=bidirectional, dtype=ember.float64)
    ours.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    rng = rng_for(f"packed layer {name} {bidirectional}")
    ours_x, theirs_x = pair(torch, rng.standard_normal((7, 5, 3)))
    hx = [pair(torch, rng.standard_normal((4 if bidirectional else 2, 5, 4)))
          for _ in range(2 if name == "LSTM" else 1)]
    ours_hx = tuple(h[0] for h in hx) if name == "LSTM" else hx[0][0]
    theirs_hx = tuple(h[1] for h in hx) if name == "LSTM" else hx[0][1]
    lengths = [4, 7, 2, 6, 5]
    ours_out, ours_h = ours(pack_padded_sequence(ours_x, lengths, enforce_sorted=False), ours_hx)
    theirs_out, theirs_h = theirs(utils.pack_padded_sequence(theirs_x, lengths,
                                                             enforce_sorted=False), theirs_hx)
    assert isinstance(ours_out, PackedSequence)
    assert ours_out.batch_sizes.tolist() == theirs_out.batch_sizes.tolist()
    ours_all = [ours_out.data] + (list(ours_h) if name == "LSTM" else [ours_h])
    theirs_all = [theirs_out.data] + (list(theirs_h) if name == "LSTM" else [theirs_h])
    upstream = [rng.standard_normal(tuple(t.shape)) for t in theirs_all]
    sum((e * ember.tensor(u)).sum() for e, u in zip(ours_all, upstream)).backward()
    sum((t * torch.tensor(u)).sum() for t, u in zip(theirs_all, upstream)).backward()
    for e, t in zip(ours_all, theirs_all):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **TIGHT)
    for e, t in [(ours_x, theirs_x)] + hx:
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TIGHT)
    for (key, t), e in zip(theirs.named_parameters(), ours.parameters()):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TIGHT, err_msg=key)


@pytest.mark.parametrize("batch_first", [False, True], ids=["time first", "batch first"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_each_sequence_of_a_packed_batch_gives_what_it_gives_alone(name, batch_first):
    layer = LAYERS[name](3, 4, num_layers=2, bidirectional=True, batch_first=batch_first,
                         dtype=ember.float64)
    rng = rng_for(f"alone {name} {batch_first}")
    x = rng.standard_normal((5, 7, 3) if batch_first else (7, 5, 3))
    x[(slice(None), 6) if batch_first else 6] = 1e6   # padding must not leak into anything
    lengths = [4, 6, 2, 6, 5]
    packed = pack_padded_sequence(ember.tensor(x), lengths, batch_first, enforce_sorted=False)
    output, h_n = layer(packed)
    padded, _ = pad_packed_sequence(output, batch_first)
    h_n = h_n if name != "LSTM" else ember.cat(h_n)
    for b, n in enumerate(lengths):
        alone_x = x[b, :n] if batch_first else x[:n, b]
        alone_output, alone_h = layer(ember.tensor(alone_x))        # unbatched: one sequence
        alone_h = alone_h if name != "LSTM" else ember.cat(alone_h)
        batch_output = padded[b, :n] if batch_first else padded[:n, b]
        np.testing.assert_allclose(batch_output.detach().numpy(),
                                   alone_output.detach().numpy(), **TIGHT)
        np.testing.assert_allclose(h_n[:, b].detach().numpy(), alone_h.detach().numpy(),
                                   **TIGHT)


# --- errors ---------------------------------------------------------------------------------


def test_packing_errors_name_the_problem():
    x = ember.ones(5, 3, 2)
    with pytest.raises(RuntimeError, match=r"must be sorted in decreasing order when "
                                           r"`enforce_sorted` is True"):
        pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match=r"Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(RuntimeError, match=r"Expected `len\(lengths\)` to be equal to "
                                           r"batch_size, but got 2 \(batch_size=3\)"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match=r"a length of 6 is more than the 5 time steps"):
        pack_padded_sequence(x, [6, 2, 1])
    with pytest.raises(ValueError, match=r"Expected total_length to be at least the length "
                                         r"of the longest sequence"):
        pad_packed_sequence(pack_padded_sequence(x, [5, 2, 1]), total_length=4)
    with pytest.raises(ValueError, match=r"pad_sequence: received an empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match=r"same trailing dimensions"):
        pad_sequence([ember.ones(3, 2), ember.ones(3, 4)])
    with pytest.raises(RuntimeError, match=r"input must have 2 dimensions, got 3"):
        GRU(2, 4)(PackedSequence(ember.ones(4, 1, 2), ember.tensor([2, 2])))
