"""RNNCell, LSTMCell, GRUCell: PyTorch parity (outputs and every gradient, with PyTorch's
weights loaded), gradcheck over several steps, parameters, initialisation, repr, errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.rnn_cells import GRUCell, LSTMCell, RNNCell
from tests.conftest import rng_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
CELLS = {"RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}
# (ember class name, keyword arguments)
CONFIGS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
           ("RNNCell", {"bias": False}), ("LSTMCell", {}), ("LSTMCell", {"bias": False}),
           ("GRUCell", {}), ("GRUCell", {"bias": False})]


def cell_pair(torch, name, kwargs, dtype="float64"):
    """The PyTorch cell and ours with its weights."""
    theirs = getattr(torch.nn, name)(5, 4, dtype=getattr(torch, dtype), **kwargs)
    ours = CELLS[name](5, 4, dtype=getattr(ember, dtype), **kwargs)
    ours.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return theirs, ours


def flat(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.torch
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [True, False], ids=["hx", "no hx"])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=str)
def test_cell_matches_pytorch_over_three_steps(torch, name, kwargs, with_state, batched):
    theirs, ours = cell_pair(torch, name, kwargs)
    rng = rng_for(f"{name} {kwargs} {with_state} {batched}")
    shape = (3, 5) if batched else (5,)
    xs = [rng.standard_normal(shape) for _ in range(3)]
    state_shape = shape[:-1] + (4,)
    states = [rng.standard_normal(state_shape) for _ in range(2 if name == "LSTMCell" else 1)]
    t_in = [torch.tensor(a, requires_grad=True) for a in xs + states]
    e_in = [ember.tensor(a, requires_grad=True) for a in xs + states]

    def unroll(cell, inputs):
        x, state = inputs[:3], inputs[3:]
        hx = (tuple(state) if len(state) == 2 else state[0]) if with_state else None
        outputs = []
        for x_t in x:
            hx = cell(x_t, hx)
            outputs += flat(hx)
        return outputs

    t_out, e_out = unroll(theirs, t_in), unroll(ours, e_in)
    upstream = [rng.standard_normal(tuple(t.shape)) for t in t_out]
    sum((t * torch.tensor(u)).sum() for t, u in zip(t_out, upstream)).backward()
    sum((e * ember.tensor(u)).sum() for e, u in zip(e_out, upstream)).backward()
    for t, e in zip(t_out, e_out):
        assert e.shape == tuple(t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **TIGHT)
    used = t_in if with_state else t_in[:3]
    for t, e in zip(used, e_in):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TIGHT)
    for (key, t), e in zip(theirs.named_parameters(), ours.parameters()):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TIGHT, err_msg=key)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_float32_matches_pytorch_and_stays_float32(torch, name):
    theirs, ours = cell_pair(torch, name, {}, dtype="float32")
    x = rng_for(f"float32 {name}").standard_normal((3, 5)).astype(np.float32)
    t_out, e_out = flat(theirs(torch.tensor(x))), flat(ours(ember.tensor(x)))
    for t, e in zip(t_out, e_out):
        assert e.dtype == ember.float32
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_gradcheck_over_several_steps(name):
    # the input, the initial state and every parameter, through three steps
    cell = CELLS[name](3, 2, dtype=ember.float64)
    rng = rng_for(f"gradcheck {name}")
    x = ember.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    h = ember.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    weights = [ember.tensor(p.detach().numpy(), requires_grad=True) for p in cell.parameters()]
    names = list(cell._parameters)

    def unroll(x, h, *weights):
        cell._parameters.update(zip(names, weights))    # the cell computes with these
        state = (h, h * 0.5) if name == "LSTMCell" else h
        for x_t in x.unbind(0):
            state = cell(x_t, state)
        return state

    assert gradcheck(unroll, (x, h, *weights))


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=str)
def test_cell_parameters_state_dict_and_repr_match_pytorch(torch, name, kwargs):
    theirs = getattr(torch.nn, name)(5, 4, **kwargs)
    ours = CELLS[name](5, 4, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == \
        [tuple(p.shape) for p in theirs.parameters()]
    assert repr(ours) == repr(theirs)
    copy = CELLS[name](5, 4, **kwargs)
    copy.load_state_dict(ours.state_dict())
    for a, b in zip(copy.parameters(), ours.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_initialisation_is_uniform_in_plus_minus_one_over_sqrt_hidden(name):
    cell = CELLS[name](300, 400)
    bound = 1 / np.sqrt(400)
    values = np.concatenate([p.detach().numpy().ravel() for p in cell.parameters()])
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound
    # U(-b, b): mean 0, standard deviation b / sqrt(3); over 120,000+ draws
    assert abs(values.mean()) < 0.01 * bound
    assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)


def test_cell_errors_name_the_problem():
    cell = LSTMCell(5, 4)
    with pytest.raises(ValueError, match=r"LSTMCell: Expected input to be 1D or 2D, got 3D"):
        cell(ember.ones(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"inconsistent input_size: got 6 expected 5"):
        cell(ember.ones(3, 6))
    with pytest.raises(RuntimeError, match=r"Input batch size 3 doesn't match hidden0 "
                                           r"batch size 2"):
        cell(ember.ones(3, 5), (ember.ones(2, 4), ember.ones(2, 4)))
    with pytest.raises(RuntimeError, match=r"hidden1 has inconsistent hidden_size: got 3, "
                                           r"expected 4"):
        cell(ember.ones(3, 5), (ember.ones(3, 4), ember.ones(3, 3)))
    with pytest.raises(TypeError, match=r"LSTMCell: hx must be a pair \(h, c\)"):
        cell(ember.ones(3, 5), ember.ones(3, 4))
    with pytest.raises(ValueError, match=r"GRUCell: Expected hidden to be 1D or 2D, got 3D"):
        GRUCell(5, 4)(ember.ones(3, 5), ember.ones(1, 3, 4))
    with pytest.raises(TypeError, match=r"input dtype \(ember.float64\) does not match "
                                        r"weight dtype \(ember.float32\)"):
        RNNCell(5, 4)(ember.ones(3, 5, dtype=ember.float64))
    with pytest.raises(ValueError, match=r"Unknown nonlinearity 'sigmoid'"):
        RNNCell(5, 4, nonlinearity="sigmoid")
