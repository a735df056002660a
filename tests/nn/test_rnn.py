"""RNN, LSTM, GRU layers: PyTorch parity for every configuration with PyTorch's weights
loaded (outputs, final states, and the gradients of the input, the initial states and every
weight), unbatched input, float32, dropout between layers, BPTT over 1,000 steps and its
truncated form, parameters, initialisation, repr, and errors."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn.rnn import GRU, LSTM, RNN
from tests.conftest import rng_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
STEPS, BATCH, FEATURES, HIDDEN = 4, 3, 5, 4


def layer_pair(torch, name, dtype="float64", **kwargs):
    """PyTorch's layer and ours, loaded with PyTorch's weights through its state_dict."""
    theirs = getattr(torch.nn, name)(FEATURES, HIDDEN, dtype=getattr(torch, dtype), **kwargs)
    ours = LAYERS[name](FEATURES, HIDDEN, dtype=getattr(ember, dtype), **kwargs)
    ours.load_state_dict({k: ember.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return theirs, ours


def initial_state(rng, name, shape):
    """hx as arrays: one for RNN/GRU, (h_0, c_0) for LSTM."""
    return [rng.standard_normal(shape) for _ in range(2 if name == "LSTM" else 1)]


def as_hx(tensors):
    return tuple(tensors) if len(tensors) == 2 else tensors[0]


def outputs_of(result) -> list:
    output, hidden = result
    return [output] + (list(hidden) if isinstance(hidden, tuple) else [hidden])


def check_against_pytorch(torch, theirs, ours, x, hx, rng, tol=TIGHT):
    """Run both on x (and hx, a list of arrays, or None), backpropagate the same random
    upstream gradients, and compare outputs and all gradients."""
    t_in = [torch.tensor(a, requires_grad=True) for a in [x] + (hx or [])]
    e_in = [ember.tensor(a, requires_grad=True) for a in [x] + (hx or [])]
    t_out = outputs_of(theirs(t_in[0], as_hx(t_in[1:]) if hx else None))
    e_out = outputs_of(ours(e_in[0], as_hx(e_in[1:]) if hx else None))
    upstream = [rng.standard_normal(tuple(t.shape)) for t in t_out]
    sum((t * torch.tensor(u)).sum() for t, u in zip(t_out, upstream)).backward()
    sum((e * ember.tensor(u.astype(x.dtype))).sum() for e, u in zip(e_out, upstream)).backward()
    for k, (t, e) in enumerate(zip(t_out, e_out)):
        assert e.shape == tuple(t.shape), f"output {k}"
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **tol,
                                   err_msg=f"output {k}")
    for k, (t, e) in enumerate(zip(t_in, e_in)):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol,
                                   err_msg=f"gradient of input {k}")
    for (key, t), (_, e) in zip(theirs.named_parameters(), ours.named_parameters()):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol, err_msg=key)


CONFIGURATIONS = list(itertools.product([1, 2], [False, True], [False, True], [True, False],
                                        [False, True]))


@pytest.mark.torch
@pytest.mark.parametrize("layers, bidirectional, batch_first, bias, with_hx", CONFIGURATIONS,
                         ids=lambda v: str(v))
@pytest.mark.parametrize("name, kwargs", KINDS, ids=str)
def test_layer_matches_pytorch(torch, name, kwargs, layers, bidirectional, batch_first, bias,
                               with_hx):
    theirs, ours = layer_pair(torch, name, num_layers=layers, bidirectional=bidirectional,
                              batch_first=batch_first, bias=bias, **kwargs)
    rng = rng_for(f"{name}{kwargs}{layers}{bidirectional}{batch_first}{bias}{with_hx}")
    x = rng.standard_normal((BATCH, STEPS, FEATURES) if batch_first
                            else (STEPS, BATCH, FEATURES))
    directions = 2 if bidirectional else 1
    hx = initial_state(rng, name, (layers * directions, BATCH, HIDDEN)) if with_hx else None
    check_against_pytorch(torch, theirs, ours, x, hx, rng)


@pytest.mark.torch
@pytest.mark.parametrize("with_hx", [False, True], ids=["no hx", "hx"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time first", "batch first"])
@pytest.mark.parametrize("name, kwargs", KINDS, ids=str)
def test_unbatched_input_matches_pytorch(torch, name, kwargs, batch_first, with_hx):
    theirs, ours = layer_pair(torch, name, num_layers=2, bidirectional=True,
                              batch_first=batch_first, **kwargs)
    rng = rng_for(f"unbatched {name} {kwargs} {batch_first} {with_hx}")
    hx = initial_state(rng, name, (4, HIDDEN)) if with_hx else None
    check_against_pytorch(torch, theirs, ours, rng.standard_normal((STEPS, FEATURES)), hx, rng)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_float32_matches_pytorch_and_stays_float32(torch, name):
    theirs, ours = layer_pair(torch, name, dtype="float32", num_layers=2, bidirectional=True)
    rng = rng_for(f"float32 {name}")
    x = rng.standard_normal((STEPS, BATCH, FEATURES)).astype(np.float32)
    hx = [a.astype(np.float32) for a in initial_state(rng, name, (4, BATCH, HIDDEN))]
    check_against_pytorch(torch, theirs, ours, x, hx, rng, tol=dict(rtol=1e-4, atol=1e-5))
    output, _ = ours(ember.tensor(x))
    assert output.dtype == ember.float32
    output.sum().backward()
    assert all(p.grad.dtype == ember.float32 for p in ours.parameters())


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("name, kwargs", KINDS, ids=str)
def test_two_layer_bidirectional_gradcheck(name, kwargs, packed):
    # float64 central differences for the input, the initial states and every weight of a
    # 2-layer bidirectional layer (the loop over layers and directions around the fused
    # primitive), on a padded or a packed batch; small, as every element is perturbed
    steps, batch, features, hidden = 3, 3, 2, 2
    layer = LAYERS[name](features, hidden, num_layers=2, bidirectional=True,
                         dtype=ember.float64, **kwargs)
    params = list(layer.parameters())
    rng = rng_for(f"module gradcheck {name}{kwargs}{packed}")
    x = ember.tensor(rng.standard_normal((steps, batch, features)), requires_grad=True)
    hx = [ember.tensor(h, requires_grad=True) for h in initial_state(rng, name, (4, batch,
                                                                                hidden))]

    def run(x, *rest):
        states, weights = rest[:len(hx)], rest[len(hx):]
        for param, value in zip(params, weights):
            param._data = value._data     # gradcheck's perturbed copies of the weights
        if packed:
            x = ember.nn.utils.rnn.pack_padded_sequence(x, [3, 1, 2], enforce_sorted=False)
        output, hidden = layer(x, as_hx(list(states)))
        output = output.data if packed else output
        return [output] + (list(hidden) if isinstance(hidden, tuple) else [hidden])

    assert gradcheck(run, [x] + hx + params)


# --- parameters ---------------------------------------------------------------------------


SETTINGS = [{}, {"num_layers": 2, "bidirectional": True},
            {"num_layers": 3, "bias": False, "batch_first": True, "dropout": 0.25}]


@pytest.mark.torch
@pytest.mark.parametrize("name, kwargs", [(name, kwargs) for name in LAYERS for kwargs in
                                          SETTINGS] + [("RNN", {"nonlinearity": "relu"})],
                         ids=str)
def test_parameters_state_dict_and_repr_match_pytorch(torch, name, kwargs):
    theirs = getattr(torch.nn, name)(FEATURES, HIDDEN, **kwargs)
    ours = LAYERS[name](FEATURES, HIDDEN, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == \
        [tuple(p.shape) for p in theirs.parameters()]
    assert repr(ours) == repr(theirs)
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
    copy = LAYERS[name](FEATURES, HIDDEN, **kwargs)
    copy.load_state_dict(ours.state_dict())
    x = ember.randn(STEPS, BATCH, FEATURES)
    with ember.no_grad():
        np.testing.assert_array_equal(copy.eval()(x)[0].numpy(), ours.eval()(x)[0].numpy())


@pytest.mark.parametrize("name", list(LAYERS))
def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_hidden(name):
    layer = LAYERS[name](100, 256, num_layers=2, bidirectional=True)
    bound = 1 / np.sqrt(256)
    for key, param in layer.named_parameters():
        values = param.detach().numpy().ravel()
        assert np.abs(values).max() <= bound, key
        if values.size > 10_000:      # U(-b, b): mean 0, standard deviation b / sqrt(3)
            assert abs(values.mean()) < 0.03 * bound, key
            assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.03), key


# --- dropout between layers ---------------------------------------------------------------


def identity_second_layer(p: float) -> RNN:
    """A 2-layer relu RNN whose second layer copies its (dropped-out) input: W_ih = I,
    W_hh = 0, no bias, so its output shows the dropout mask directly."""
    rnn = RNN(3, 16, num_layers=2, nonlinearity="relu", bias=False, dropout=p)
    with ember.no_grad():
        rnn.weight_ih_l0.copy_(ember.tensor(np.abs(rng_for("ih").standard_normal((16, 3))),
                                            dtype=ember.float32))
        rnn.weight_hh_l0.zero_()
        rnn.weight_ih_l1.copy_(ember.eye(16))
        rnn.weight_hh_l1.zero_()
    return rnn


def test_dropout_between_layers_in_training_only():
    rnn = identity_second_layer(0.4)
    x = ember.tensor(np.abs(rng_for("dropout x").standard_normal((50, 20, 3))),
                     dtype=ember.float32)
    layer_one = np.maximum(x.numpy() @ rnn.weight_ih_l0.detach().numpy().T, 0)
    eval_output = rnn.eval()(x)[0].detach().numpy()
    np.testing.assert_allclose(eval_output, layer_one, rtol=1e-6)   # eval: no dropout
    train_output = rnn.train()(x)[0].detach().numpy()
    dropped = train_output == 0
    # every element is dropped or scaled by 1 / (1 - p); 16,000 draws, p = 0.4
    np.testing.assert_allclose(train_output[~dropped], layer_one[~dropped] / 0.6, rtol=1e-5)
    assert abs(dropped.mean() - 0.4) < 0.03
    assert not np.array_equal(rnn(x)[0].detach().numpy(), train_output)   # a new mask


def test_dropout_with_one_layer_warns_like_pytorch():
    with pytest.warns(UserWarning, match=r"non-zero dropout expects num_layers greater than "
                                         r"1, but got dropout=0.5 and num_layers=1"):
        LSTM(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LSTM(3, 4, num_layers=2, dropout=0.5)


# --- backpropagation through time ----------------------------------------------------------


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_bptt_over_1000_steps_gives_finite_gradients(name):
    layer = LAYERS[name](2, 8)
    x = ember.tensor(rng_for(f"bptt {name}").standard_normal((1000, 2, 2)),
                     dtype=ember.float32, requires_grad=True)
    output, _ = layer(x)
    output[-1].sum().backward()                  # only the last step: the whole chain
    assert np.isfinite(x.grad.numpy()).all()
    assert np.abs(x.grad.numpy()[-1]).sum() > 0
    for key, param in layer.named_parameters():
        assert np.isfinite(param.grad.numpy()).all() and np.abs(param.grad.numpy()).sum() > 0, key


def test_truncated_bptt_carries_the_state_but_not_the_gradient():
    # two chunks with the state carried across, detached: the same outputs as one run, and
    # chunk 2's loss sends no gradient into chunk 1
    lstm = LSTM(3, 5, dtype=ember.float64)
    x = ember.tensor(rng_for("tbptt").standard_normal((12, 2, 3)), requires_grad=True)
    whole, _ = lstm(x)
    first, (h, c) = lstm(x[:6])
    second, _ = lstm(x[6:], (h.detach(), c.detach()))
    np.testing.assert_allclose(ember.cat([first, second]).detach().numpy(),
                               whole.detach().numpy(), **TIGHT)
    second.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:6], 0)
    assert np.abs(x.grad.numpy()[6:]).sum() > 0
    # the weights' gradient is chunk 2's alone: the same as starting from constant states
    expected = LSTM(3, 5, dtype=ember.float64)
    expected.load_state_dict(lstm.state_dict())
    expected(x.detach()[6:], (h.detach(), c.detach()))[0].sum().backward()
    for (key, ours), theirs in zip(lstm.named_parameters(), expected.parameters()):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TIGHT,
                                   err_msg=key)


# --- errors ---------------------------------------------------------------------------------


def test_forward_errors_name_the_problem():
    lstm, gru = LSTM(5, 4, num_layers=2), GRU(5, 4)
    x = ember.ones(6, 3, 5)
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size. "
                                           r"Expected 5, got 6"):
        lstm(ember.ones(6, 3, 6))
    with pytest.raises(ValueError, match=r"GRU: Expected input to be 2D or 3D"):
        gru(ember.ones(2, 6, 3, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 3, 4\), got \[1, 2, 4\]"):
        gru(x, ember.zeros(1, 2, 4))                            # batch mismatch
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 3, 4\), got "
                                           r"\[2, 3, 5\]"):
        lstm(x, (ember.zeros(2, 3, 4), ember.zeros(2, 3, 5)))
    with pytest.raises(RuntimeError, match=r"For batched 3-D input, hidden should also be 3-D"):
        gru(x, ember.zeros(3, 4))
    with pytest.raises(RuntimeError, match=r"For unbatched 2-D input, hidden\[0\] should also "
                                           r"be 2-D"):
        lstm(ember.ones(6, 5), (ember.zeros(2, 1, 4), ember.zeros(2, 1, 4)))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a pair \(h_0, c_0\)"):
        lstm(x, ember.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"input dtype \(ember.float64\) does not match weight "
                                         r"dtype \(ember.float32\)"):
        gru(x.double())
    with pytest.raises(ValueError, match=r"no time steps"):
        gru(ember.ones(0, 3, 5))


def test_constructor_errors_like_pytorch():
    with pytest.raises(ValueError, match=r"Unknown nonlinearity 'sigmoid'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"hidden_size must be greater than zero"):
        LSTM(3, 0)
    with pytest.raises(TypeError, match=r"input_size should be of type int"):
        LSTM(3.0, 4)
    with pytest.raises(TypeError, match=r"batch_first should be of type bool"):
        LSTM(3, 4, batch_first=1)
    with pytest.raises(NotImplementedError, match=r"proj_size"):
        LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"proj_size has to be smaller than hidden_size"):
        LSTM(3, 4, proj_size=4)


def test_no_grad_records_nothing_and_double_converts_the_layer():
    lstm = LSTM(FEATURES, HIDDEN, num_layers=2)
    x = ember.randn(STEPS, BATCH, FEATURES)
    with ember.no_grad():
        output, (h_n, c_n) = lstm(x)
    assert output.grad_fn is None and h_n.grad_fn is None and c_n.grad_fn is None
    output, _ = lstm.double()(x.double())
    assert output.dtype == ember.float64


def test_chunks_without_detach_give_the_whole_sequences_gradients():
    # two runs chained through the state (no detach): each run sums W_hh's gradient over
    # its own steps, and together they equal one run over the whole sequence
    whole_lstm = LSTM(3, 5, dtype=ember.float64)
    chunked = LSTM(3, 5, dtype=ember.float64)
    chunked.load_state_dict(whole_lstm.state_dict())
    x = rng_for("chunks").standard_normal((10, 2, 3))
    whole, _ = whole_lstm(ember.tensor(x))
    first, state = chunked(ember.tensor(x[:4]))
    second, _ = chunked(ember.tensor(x[4:]), state)
    (whole * whole).sum().backward()
    ((first * first).sum() + (second * second).sum()).backward()
    for (key, ours), theirs in zip(chunked.named_parameters(), whole_lstm.parameters()):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TIGHT,
                                   err_msg=key)
