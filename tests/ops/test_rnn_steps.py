"""The recurrent layer primitive (ember.ops.rnn.recurrent_layer: the whole sequence through
one layer, with backpropagation through time by hand) against the same steps composed from
ember ops and against PyTorch's cells, for every mode, with and without biases and initial
states, forward and reversed, padded and packed; float64 central differences; float32;
extreme pre-activations; a second backward through a retained graph; errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.errors import GraphError, ShapeError
from ember.ops.rnn import recurrent_layer
from ember.ops.shape import cat
from tests.conftest import rng_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
BATCH, HIDDEN, FEATURES = 3, 4, 5
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
PADDED, PACKED = (3, 3, 3, 3), (3, 3, 2, 1)         # batch size at each step


# --- the reference: the lecture's equations in ember ops, one step at a time --------------


def composite_cell(mode, x_t, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    a_x = x_t @ weight_ih.T + (0 if bias_ih is None else bias_ih)
    a_h = h @ weight_hh.T + (0 if bias_hh is None else bias_hh)
    if mode == "RNN_TANH":
        return (a_x + a_h).tanh(), None
    if mode == "RNN_RELU":
        return (a_x + a_h).relu(), None
    if mode == "LSTM":
        a_i, a_f, a_g, a_o = (a_x + a_h).chunk(4, dim=1)
        c = a_f.sigmoid() * c + a_i.sigmoid() * a_g.tanh()
        return a_o.sigmoid() * c.tanh(), c
    x_r, x_z, x_n = a_x.chunk(3, dim=1)
    h_r, h_z, h_n = a_h.chunk(3, dim=1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h, None


def composite_layer(x, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh, mode, batch_sizes,
                    reverse=False):
    """Step t updates the first batch_sizes[t] states; the others keep theirs."""
    batch = batch_sizes[0]
    zeros = ember.zeros(batch, HIDDEN, dtype=x.dtype)
    h = zeros if h_0 is None else h_0
    c = (zeros if c_0 is None else c_0) if mode == "LSTM" else None
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    outputs = [None] * len(batch_sizes)
    order = range(len(batch_sizes))
    for t in (reversed(order) if reverse else order):
        n = batch_sizes[t]
        h_new, c_new = composite_cell(mode, x[offsets[t]:offsets[t + 1]], h[:n],
                                      None if c is None else c[:n], weight_ih, weight_hh,
                                      bias_ih, bias_hh)
        outputs[t] = h_new
        h = h_new if n == batch else cat([h_new, h[n:]])
        if c is not None:
            c = c_new if n == batch else cat([c_new, c[n:]])
    return cat(outputs), h, c


def layer_inputs(mode, name, batch_sizes=PADDED, bias=True, initial=True, dtype="float64",
                 scale=1.0):
    """x, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh as arrays (None where absent)."""
    rng = rng_for(name)
    gates = GATES[mode] * HIDDEN
    state = (BATCH, HIDDEN)
    arrays = [scale * rng.standard_normal((sum(batch_sizes), FEATURES)),
              rng.standard_normal(state) if initial else None,
              rng.standard_normal(state) if initial and mode == "LSTM" else None,
              rng.standard_normal((gates, FEATURES)) / 2,
              rng.standard_normal((gates, HIDDEN)) / 2,
              rng.standard_normal(gates) if bias else None,
              rng.standard_normal(gates) if bias else None]
    if mode == "RNN_RELU" and bias:     # keep the pre-activations away from relu's kink
        arrays[5] = np.abs(arrays[5]) + 1.0
    return [None if a is None else a.astype(dtype) for a in arrays]


def as_tensors(arrays):
    return [None if a is None else ember.tensor(a, requires_grad=True) for a in arrays]


def outputs(result):
    return [r for r in result if r is not None]


CASES = list(itertools.product(GATES, [PADDED, PACKED], [False, True], [True, False],
                               [True, False]))


@pytest.mark.parametrize("mode, batch_sizes, reverse, bias, initial", CASES,
                         ids=lambda v: str(v))
def test_layer_equals_composite_of_ember_ops(mode, batch_sizes, reverse, bias, initial):
    arrays = layer_inputs(mode, f"composite {mode}{batch_sizes}{bias}{initial}", batch_sizes,
                          bias, initial)
    fused_in, composite_in = as_tensors(arrays), as_tensors(arrays)
    fused = outputs(recurrent_layer(*fused_in, mode, batch_sizes, reverse))
    composite = outputs(composite_layer(*composite_in, mode, batch_sizes, reverse))
    rng = rng_for(f"upstream {mode}")
    upstream = [ember.tensor(rng.standard_normal(y.shape)) for y in composite]
    for ours, theirs in zip(fused, composite):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TIGHT)
    sum((y * u).sum() for y, u in zip(fused, upstream)).backward()
    sum((y * u).sum() for y, u in zip(composite, upstream)).backward()
    for k, (ours, theirs) in enumerate(zip(fused_in, composite_in)):
        if ours is not None:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TIGHT,
                                       err_msg=f"gradient of input {k}")


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("batch_sizes", [PADDED, PACKED], ids=["padded", "packed"])
@pytest.mark.parametrize("mode", list(GATES))
def test_layer_gradcheck(mode, batch_sizes, reverse):
    inputs = as_tensors(layer_inputs(mode, f"gradcheck {mode}", batch_sizes))
    assert gradcheck(lambda *a: outputs(recurrent_layer(*a, mode, batch_sizes, reverse)),
                     inputs)


@pytest.mark.torch
@pytest.mark.parametrize("mode", list(GATES))
def test_layer_matches_pytorch_cells_step_by_step(mode, torch):
    x, h_0, c_0, *weights = layer_inputs(mode, f"torch {mode}")
    ours = recurrent_layer(*as_tensors([x, h_0, c_0, *weights]), mode, PADDED)
    cell = {"RNN_TANH": torch._VF.rnn_tanh_cell, "RNN_RELU": torch._VF.rnn_relu_cell,
            "LSTM": torch._VF.lstm_cell, "GRU": torch._VF.gru_cell}[mode]
    state = (torch.tensor(h_0), torch.tensor(c_0)) if mode == "LSTM" else torch.tensor(h_0)
    theirs = []
    for x_t in torch.tensor(x).split(BATCH):
        state = cell(x_t, state, *map(torch.tensor, weights))
        theirs.append(state[0] if mode == "LSTM" else state)
    np.testing.assert_allclose(ours[0].detach().numpy(), torch.cat(theirs).numpy(), **TIGHT)
    final = state if mode == "LSTM" else (state,)
    for ours_state, theirs_state in zip(ours[1:], final):
        np.testing.assert_allclose(ours_state.detach().numpy(), theirs_state.numpy(), **TIGHT)


@pytest.mark.parametrize("mode", list(GATES))
def test_float32_stays_float32(mode):
    inputs = as_tensors(layer_inputs(mode, f"float32 {mode}", PACKED, dtype="float32"))
    result = outputs(recurrent_layer(*inputs, mode, PACKED))
    sum(y.sum() for y in result).backward()
    assert all(y.dtype == ember.float32 for y in result)
    assert all(x.grad.dtype == ember.float32 for x in inputs if x is not None)


@pytest.mark.parametrize("mode", list(GATES))
def test_extreme_preactivations_stay_finite(mode):
    # inputs of +-1000 saturate every gate: values and gradients stay finite
    inputs = as_tensors(layer_inputs(mode, f"extreme {mode}", dtype="float32", scale=1000.0))
    with np.errstate(all="raise"):
        result = outputs(recurrent_layer(*inputs, mode, PADDED))
        sum((y * y).sum() for y in result).backward()
    assert all(np.isfinite(y.detach().numpy()).all() for y in result)
    assert all(np.isfinite(x.grad.numpy()).all() for x in inputs if x is not None)


def test_without_gradients_records_nothing():
    inputs = [None if a is None else ember.tensor(a) for a in layer_inputs("LSTM", "no grad")]
    result = outputs(recurrent_layer(*inputs, "LSTM", PADDED))
    assert all(y.grad_fn is None and not y.requires_grad for y in result)
    with ember.no_grad():
        recorded = as_tensors(layer_inputs("LSTM", "no grad"))
        assert recurrent_layer(*recorded, "LSTM", PADDED)[0].grad_fn is None


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_second_backward_through_a_retained_graph_gives_the_same_gradients(mode):
    inputs = as_tensors(layer_inputs(mode, f"retain {mode}", PACKED))
    output, h_n, _ = recurrent_layer(*inputs, mode, PACKED, reverse=True)
    loss = (output * output).sum() + h_n.sum()
    loss.backward(retain_graph=True)
    once = [x.grad.numpy().copy() for x in inputs if x is not None]
    loss.backward()
    for first, x in zip(once, [x for x in inputs if x is not None]):
        np.testing.assert_allclose(x.grad.numpy(), 2 * first, **TIGHT)


def test_graphs_alive_at_once_keep_their_own_buffers():
    # the layer reuses the memory of finished graphs (its workspace): two graphs alive at
    # once, a third built after one of them is released, each still gives its own gradients
    arrays = [layer_inputs("LSTM", f"alive {k}", PACKED) for k in range(3)]

    def gradients(inputs, loss):
        loss.backward()
        return [x.grad.numpy().copy() for x in inputs if x is not None]

    expected = []
    for a in arrays:
        inputs = as_tensors(a)
        output, h_n, c_n = recurrent_layer(*inputs, "LSTM", PACKED)
        expected.append(gradients(inputs, (output * output).sum() + (h_n * c_n).sum()))
    first, second, third = (as_tensors(a) for a in arrays)
    losses = []
    for inputs in (first, second):
        output, h_n, c_n = recurrent_layer(*inputs, "LSTM", PACKED)
        losses.append((output * output).sum() + (h_n * c_n).sum())
    got_second = gradients(second, losses[1])
    output, h_n, c_n = recurrent_layer(*third, "LSTM", PACKED)    # reuses second's memory
    got_third = gradients(third, (output * output).sum() + (h_n * c_n).sum())
    got_first = gradients(first, losses[0])
    for got, want in zip([got_first, got_second, got_third], expected):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_outputs_stay_intact_when_later_layers_reuse_memory():
    # the workspace takes back internal buffers only: a result the user still holds is
    # never handed to a later layer (here one whose buffers have the result's shape)
    output, h_n, c_n = recurrent_layer(*as_tensors(layer_inputs("LSTM", "held")), "LSTM",
                                       PADDED)
    held = [y.detach().numpy().copy() for y in (output, h_n, c_n)]
    (output.sum() + c_n.sum()).backward()
    rows = sum(PADDED) + 2 * BATCH                  # the result array's rows
    later = as_tensors(layer_inputs("LSTM", "later", (BATCH,) * (rows // BATCH)))
    recurrent_layer(*later, "LSTM", (BATCH,) * (rows // BATCH))[0].sum().backward()
    for y, values in zip((output, h_n, c_n), held):
        np.testing.assert_array_equal(y.detach().numpy(), values)


def test_changing_a_weight_in_place_before_backward_is_an_error():
    inputs = as_tensors(layer_inputs("GRU", "weight in place"))
    output, _, _ = recurrent_layer(*inputs, "GRU", PADDED)
    with ember.no_grad():
        inputs[4].add_(1.0)                    # weight_hh, as an optimizer step would
    with pytest.raises(GraphError, match="modified by an in-place operation"):
        output.sum().backward()


def test_changing_the_output_in_place_before_backward_is_an_error():
    # the tanh RNN's backward reads h_t from its output: changing it must not go unnoticed
    inputs = as_tensors(layer_inputs("RNN_TANH", "in place"))
    output, _, _ = recurrent_layer(*inputs, "RNN_TANH", PADDED)
    loss = output.sum()
    with ember.no_grad():
        output.mul_(2)
    with pytest.raises(GraphError, match="modified by an in-place operation"):
        loss.backward()


def test_errors_name_the_problem():
    x, h_0, c_0, *weights = as_tensors(layer_inputs("LSTM", "errors"))
    with pytest.raises(ShapeError, match=r"recurrent_layer: batch_sizes \[3, 3, 3\] must be "
                                         r"non-increasing and add up to the 12 rows"):
        recurrent_layer(x, h_0, c_0, *weights, "LSTM", [3, 3, 3])
    with pytest.raises(ShapeError, match=r"non-increasing"):
        recurrent_layer(x, h_0, c_0, *weights, "LSTM", [2, 3, 3, 4])
    with pytest.raises(ShapeError, match=r"c_0 has shape \(2, 4\), expected \(3, 4\)"):
        recurrent_layer(x, h_0, c_0[:2], *weights, "LSTM", PADDED)
    with pytest.raises(ValueError, match=r"unknown mode 'ELMAN'"):
        recurrent_layer(x, h_0, None, *weights, "ELMAN", PADDED)
