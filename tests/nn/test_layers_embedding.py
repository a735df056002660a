"""embedding and one_hot against PyTorch (repeated indices, padding_idx, max_norm,
scale_grad_by_freq) and central differences; the Embedding module's initialisation,
from_pretrained, state_dict and repr."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.embedding import Embedding
from ember.nn.functional.sparse import embedding, one_hot
from tests.conftest import rng_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
# repeated indices (1 three times, 4 twice) and the padding candidates 0 and 9
INDICES = np.array([[1, 4, 1, 0], [9, 1, 4, 2]])


def table(name: str, rows: int = 10, columns: int = 3, dtype="float64"):
    return rng_for(name).standard_normal((rows, columns)).astype(dtype)


def run_both(torch, weight, indices, **kwargs):
    """embedding in both libraries, backpropagating the same upstream gradient; returns
    (our output, their output, our weight, their weight)."""
    ours_w = ember.tensor(weight, requires_grad=True)
    theirs_w = torch.tensor(weight, requires_grad=True)
    ours = embedding(ember.tensor(indices), ours_w, **kwargs)
    theirs = torch.nn.functional.embedding(torch.tensor(indices), theirs_w, **kwargs)
    upstream = rng_for("embedding upstream").standard_normal(tuple(theirs.shape))
    (ours * ember.tensor(upstream.astype(weight.dtype))).sum().backward()
    (theirs * theirs.new_tensor(upstream)).sum().backward()
    return ours, theirs, ours_w, theirs_w


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 0}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"padding_idx": 4, "scale_grad_by_freq": True}], ids=str)
def test_embedding_matches_pytorch(torch, kwargs):
    weight = table(f"embedding {kwargs}")
    ours, theirs, ours_w, theirs_w = run_both(torch, weight, INDICES, **kwargs)
    assert ours.shape == (2, 4, 3)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), **TIGHT)


@pytest.mark.torch
def test_embedding_float32_matches_pytorch_and_stays_float32(torch):
    weight = table("embedding float32", dtype="float32")
    ours, theirs, ours_w, theirs_w = run_both(torch, weight, INDICES, padding_idx=0)
    assert ours.dtype == ours_w.grad.dtype == ember.float32
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), rtol=1e-6)


def test_embedding_gradient_adds_up_at_repeated_indices_and_skips_padding():
    weight = ember.tensor(table("embedding grad"), requires_grad=True)
    embedding(ember.tensor(INDICES), weight, padding_idx=9).sum().backward()
    counts = np.bincount(INDICES.ravel(), minlength=10).astype(float)
    counts[9] = 0                                                # padding: no gradient
    np.testing.assert_array_equal(weight.grad.numpy(), np.repeat(counts[:, None], 3, axis=1))


def test_embedding_equals_indexing_the_weight():
    # the lookup primitive against the composite weight[indices] it replaces
    weight = table("embedding composite")
    ours_w = ember.tensor(weight, requires_grad=True)
    composite_w = ember.tensor(weight, requires_grad=True)
    upstream = ember.tensor(rng_for("composite upstream").standard_normal((2, 4, 3)))
    (embedding(ember.tensor(INDICES), ours_w) * upstream).sum().backward()
    (composite_w[ember.tensor(INDICES)] * upstream).sum().backward()
    np.testing.assert_array_equal(ours_w.grad.numpy(), composite_w.grad.numpy())


def test_embedding_gradcheck():
    # (padding_idx and scale_grad_by_freq change the gradient on purpose, so they are
    # checked against PyTorch above, not against central differences)
    weight = ember.tensor(table("embedding gradcheck"), requires_grad=True)
    assert gradcheck(lambda w: embedding(ember.tensor(INDICES), w), (weight,))


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalises_looked_up_rows_like_pytorch(torch, norm_type):
    weight = table(f"max_norm {norm_type}") * 2
    ours, theirs, ours_w, theirs_w = run_both(torch, weight, INDICES, max_norm=1.5,
                                              norm_type=norm_type)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), **TIGHT)
    norms = np.linalg.norm(ours_w.detach().numpy(), ord=norm_type, axis=1)
    looked_up = np.unique(INDICES)
    assert (norms[looked_up] <= 1.5 + 1e-9).all()
    untouched = np.setdiff1d(np.arange(10), looked_up)
    np.testing.assert_array_equal(ours_w.detach().numpy()[untouched], weight[untouched])


def test_embedding_errors():
    weight = ember.randn(10, 3)
    with pytest.raises(ember.DTypeError, match="embedding: expected an integer .* float32"):
        embedding(ember.tensor([1.0, 2.0]), weight)
    with pytest.raises(IndexError, match=r"from 2 to 10, but must be in \[0, 9\]"):
        embedding(ember.tensor([2, 10]), weight)
    with pytest.raises(IndexError, match=r"from -1 to 3"):
        embedding(ember.tensor([-1, 3]), weight)
    with pytest.raises(ember.ShapeError, match=r"weight must be 2-D .* got shape \(10,\)"):
        embedding(ember.tensor([1]), ember.randn(10))
    with pytest.raises(ValueError, match="padding_idx=10 for 10 embeddings"):
        embedding(ember.tensor([1]), weight, padding_idx=10)
    with pytest.raises(NotImplementedError, match="sparse"):
        embedding(ember.tensor([1]), weight, sparse=True)


# --- the Embedding module ---------------------------------------------------------------

def test_embedding_weight_starts_standard_normal_with_the_padding_row_zeroed():
    layer = Embedding(1000, 100, padding_idx=3)
    weight = layer.weight.detach().numpy()
    assert weight.dtype == np.float32
    np.testing.assert_array_equal(weight[3], 0)
    others = np.delete(weight, 3, axis=0)
    # 99,900 draws: the mean's standard error is 0.003 and the std's 0.0022
    assert abs(others.mean()) < 0.02 and abs(others.std() - 1) < 0.02
    assert np.abs(others).max() > 3           # a normal, not a bounded uniform


def test_embedding_module_forward_and_padding_gradient():
    layer = Embedding(10, 3, padding_idx=0)
    out = layer(ember.tensor(INDICES))
    np.testing.assert_array_equal(out.detach().numpy(), layer.weight.detach().numpy()[INDICES])
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy()[0], 0)
    np.testing.assert_array_equal(layer.weight.grad.numpy()[1], 3)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 0}, {"padding_idx": -2},
                                    {"max_norm": 1.0, "norm_type": 1.0},
                                    {"scale_grad_by_freq": True}], ids=str)
def test_embedding_repr_and_state_dict_match_pytorch(torch, kwargs):
    ours, theirs = Embedding(10, 3, **kwargs), torch.nn.Embedding(10, 3, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert ours.padding_idx == theirs.padding_idx


@pytest.mark.torch
def test_embedding_loads_a_pytorch_state_dict_and_round_trips(torch):
    theirs = torch.nn.Embedding(10, 3, padding_idx=0)
    ours = Embedding(10, 3, padding_idx=0)
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours(ember.tensor(INDICES)).detach().numpy(),
                                  theirs(torch.tensor(INDICES)).detach().numpy())
    copy = Embedding(10, 3, padding_idx=0)
    copy.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(copy.weight.detach().numpy(), ours.weight.detach().numpy())


def test_from_pretrained_shares_the_table_and_freezes_it_by_default():
    pretrained = ember.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    layer = Embedding.from_pretrained(pretrained, padding_idx=0)
    assert not layer.weight.requires_grad
    assert (layer.num_embeddings, layer.embedding_dim, layer.padding_idx) == (2, 3, 0)
    np.testing.assert_array_equal(layer(ember.tensor([1])).numpy(), pretrained.numpy()[[1]])
    np.testing.assert_array_equal(layer.weight.numpy()[0], np.float32([1.0, 2.3, 3.0]))  # kept
    pretrained[1, 0] = 7.0
    assert layer.weight.numpy()[1, 0] == 7.0                                 # shared
    trainable = Embedding.from_pretrained(pretrained, freeze=False)
    assert trainable.weight.requires_grad
    with pytest.raises(ember.ShapeError, match=r"2-dimensional .* got shape \(3,\)"):
        Embedding.from_pretrained(ember.ones(3))


def test_embedding_module_errors():
    with pytest.raises(ValueError, match="padding_idx=-11 for 10 embeddings"):
        Embedding(10, 3, padding_idx=-11)
    with pytest.raises(ember.ShapeError, match=r"shape \(4, 3\), expected \(10, 3\)"):
        Embedding(10, 3, _weight=ember.ones(4, 3))
    with pytest.raises(IndexError, match="index out of range"):
        Embedding(10, 3)(ember.tensor([10]))


# --- one_hot ----------------------------------------------------------------------------

@pytest.mark.torch
@pytest.mark.parametrize("values, num_classes", [([0, 2, 1, 2], -1), ([[0, 3], [1, 1]], 5),
                                                 ([], 4), (2, 3)], ids=str)
def test_one_hot_matches_pytorch(torch, values, num_classes):
    ours = one_hot(ember.tensor(values, dtype=ember.int64), num_classes)
    theirs = torch.nn.functional.one_hot(torch.tensor(values, dtype=torch.int64), num_classes)
    assert ours.dtype == ember.int64
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_one_hot_errors():
    with pytest.raises(ValueError, match="must be non-negative, got -1"):
        one_hot(ember.tensor([0, -1]), 3)
    with pytest.raises(ValueError, match="smaller than num_classes=3, got 3"):
        one_hot(ember.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="empty tensor"):
        one_hot(ember.tensor([], dtype=ember.int64))
    with pytest.raises(ember.DTypeError, match="one_hot: expected an integer"):
        one_hot(ember.tensor([0.0, 1.0]), 2)
