"""The fused recurrent steps (ember.ops.rnn) against the same math composed from ember ops
and against PyTorch's cells, float64 central differences over several steps, extreme
pre-activations; and time_steps, the split whose backward fills one buffer."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.ops.rnn import (WeightGradientSum, gru_step, lstm_step, rnn_relu_step, rnn_tanh_step,
                           time_steps)
from tests.conftest import rng_for

TIGHT = dict(rtol=1e-10, atol=1e-12)
BATCH, HIDDEN, FEATURES = 3, 4, 5
GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}
FUSED = {"tanh": rnn_tanh_step, "relu": rnn_relu_step, "lstm": lstm_step, "gru": gru_step}


# --- the composites: the lecture's equations in ember ops -----------------------------


def composite_step(kind, gates_x, state, weight_hh, bias_ih, bias_hh):
    a_x = gates_x if bias_ih is None else gates_x + bias_ih
    h = state[0] if kind == "lstm" else state
    a_h = h @ weight_hh.T
    if bias_hh is not None:
        a_h = a_h + bias_hh
    if kind == "tanh":
        return (a_x + a_h).tanh()
    if kind == "relu":
        return (a_x + a_h).relu()
    if kind == "lstm":
        a_i, a_f, a_g, a_o = (a_x + a_h).chunk(4, dim=1)
        i, f, g, o = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
        c = f * state[1] + i * g
        return ember.stack([o * c.tanh(), c])
    x_r, x_z, x_n = a_x.chunk(3, dim=1)
    h_r, h_z, h_n = a_h.chunk(3, dim=1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def step_inputs(kind, name, bias=True, dtype="float64", scale=1.0):
    """gates_x, state, weight_hh, bias_ih, bias_hh as float arrays (None without bias)."""
    rng = rng_for(name)
    gates = GATES[kind] * HIDDEN
    state_shape = (2, BATCH, HIDDEN) if kind == "lstm" else (BATCH, HIDDEN)
    arrays = [scale * rng.standard_normal((BATCH, gates)), rng.standard_normal(state_shape),
              rng.standard_normal((gates, HIDDEN)) / 2,
              rng.standard_normal(gates) if bias else None,
              rng.standard_normal(gates) if bias else None]
    return [None if a is None else a.astype(dtype) for a in arrays]


def as_tensors(arrays):
    return [None if a is None else ember.tensor(a, requires_grad=True) for a in arrays]


def run_steps(step, inputs, steps=3):
    """Several steps from the same gates_x and weights: the state goes round the loop."""
    gates_x, state, *weights = inputs
    for _ in range(steps):
        state = step(gates_x, state, *weights)
    return state


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("kind", list(GATES))
def test_fused_step_equals_composite_of_ember_ops(kind, bias):
    arrays = step_inputs(kind, f"composite {kind} {bias}", bias)
    fused_in, composite_in = as_tensors(arrays), as_tensors(arrays)
    fused = run_steps(FUSED[kind], fused_in)
    composite = run_steps(lambda *a: composite_step(kind, *a), composite_in)
    np.testing.assert_allclose(fused.detach().numpy(), composite.detach().numpy(), **TIGHT)
    upstream = ember.tensor(rng_for(f"upstream {kind}").standard_normal(fused.shape))
    (fused * upstream).sum().backward()
    (composite * upstream).sum().backward()
    for k, (ours, theirs) in enumerate(zip(fused_in, composite_in)):
        if ours is not None:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TIGHT,
                                       err_msg=f"gradient of input {k}")


@pytest.mark.parametrize("kind", list(GATES))
def test_fused_step_gradcheck_over_several_steps(kind):
    inputs = as_tensors(step_inputs(kind, f"gradcheck {kind}"))
    if kind == "relu":      # keep the pre-activations away from relu's kink
        inputs[3] = ember.tensor(np.abs(inputs[3].detach().numpy()) + 1.0, requires_grad=True)
    assert gradcheck(lambda *a: run_steps(FUSED[kind], a), inputs)


@pytest.mark.torch
@pytest.mark.parametrize("kind", list(GATES))
def test_fused_step_matches_pytorch_cell(kind, torch):
    # PyTorch's cell with the same weights; our gates_x is x W_ih^T
    arrays = step_inputs(kind, f"torch {kind}")
    x = rng_for(f"torch x {kind}").standard_normal((BATCH, FEATURES))
    weight_ih = rng_for(f"torch w {kind}").standard_normal((GATES[kind] * HIDDEN, FEATURES))
    _, state, weight_hh, bias_ih, bias_hh = arrays
    ours = FUSED[kind](ember.tensor(x @ weight_ih.T), ember.tensor(state),
                       *map(ember.tensor, (weight_hh, bias_ih, bias_hh)))
    t = {name: torch.tensor(a) for name, a in dict(
        x=x, w_ih=weight_ih, w_hh=weight_hh, b_ih=bias_ih, b_hh=bias_hh, state=state).items()}
    cell_args = (t["w_ih"], t["w_hh"], t["b_ih"], t["b_hh"])
    if kind == "lstm":
        h, c = torch._VF.lstm_cell(t["x"], (t["state"][0], t["state"][1]), *cell_args)
        theirs = torch.stack([h, c])
    elif kind == "gru":
        theirs = torch._VF.gru_cell(t["x"], t["state"], *cell_args)
    else:
        cell = torch._VF.rnn_tanh_cell if kind == "tanh" else torch._VF.rnn_relu_cell
        theirs = cell(t["x"], t["state"], *cell_args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TIGHT)


@pytest.mark.parametrize("kind", list(GATES))
def test_float32_stays_float32(kind):
    inputs = as_tensors(step_inputs(kind, f"float32 {kind}", dtype="float32"))
    out = run_steps(FUSED[kind], inputs)
    out.sum().backward()
    assert out.dtype == ember.float32
    assert all(x.grad.dtype == ember.float32 for x in inputs)


@pytest.mark.parametrize("kind", list(GATES))
def test_extreme_preactivations_stay_finite(kind):
    # pre-activations of +-1000 saturate every gate: values and gradients stay finite
    inputs = as_tensors(step_inputs(kind, f"extreme {kind}", dtype="float32", scale=1000.0))
    with np.errstate(all="raise"):
        out = run_steps(FUSED[kind], inputs)
        (out * out).sum().backward()
    assert np.isfinite(out.detach().numpy()).all()
    assert all(np.isfinite(x.grad.numpy()).all() for x in inputs)


def test_step_without_gradients_records_nothing():
    inputs = [None if a is None else ember.tensor(a) for a in step_inputs("lstm", "no grad")]
    out = lstm_step(*inputs)
    assert out.grad_fn is None and not out.requires_grad


# --- time_steps ---------------------------------------------------------------------------


def test_time_steps_values_and_gradient_equal_split():
    data = rng_for("split").standard_normal((9, 2))
    ours, reference = ember.tensor(data, requires_grad=True), ember.tensor(data,
                                                                         requires_grad=True)
    sizes = [3, 3, 2, 1]
    pieces, expected = time_steps(ours, sizes), reference.split(sizes)
    weights = [k + 1.0 for k in range(len(sizes))]
    sum(w * (p * p).sum() for w, p in zip(weights, pieces)).backward()
    sum(w * (p * p).sum() for w, p in zip(weights, expected)).backward()
    for p, q in zip(pieces, expected):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), reference.grad.numpy())


def test_time_steps_unused_steps_get_zero_gradient_and_backward_can_repeat():
    x = ember.tensor(np.ones((4, 2)), requires_grad=True)
    pieces = time_steps(x, [1, 1, 1, 1])
    loss = (pieces[1] * 3).sum()                    # steps 0, 2, 3 unused
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [3, 3], [0, 0], [0, 0]])
    loss.backward()                                 # the buffer starts afresh each time
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [6, 6], [0, 0], [0, 0]])


def test_time_steps_checks_the_sizes_and_skips_the_graph_without_grad():
    x = ember.ones(5, 2)
    with pytest.raises(ValueError, match=r"add up to 4 but the sequence has 5 rows"):
        time_steps(x, [2, 2])
    pieces = time_steps(x, [2, 3])
    assert [p.shape for p in pieces] == [(2, 2), (3, 2)]
    assert all(p.grad_fn is None for p in pieces)


@pytest.mark.parametrize("kind", list(GATES))
def test_weight_gradient_sum_equals_the_engines_sum(kind):
    # W_hh's gradient summed in place over a run (returned by its first step) against the
    # engine adding one gradient per step; also for a loss on an early step only, and
    # for a second backward through the retained graph
    arrays = step_inputs(kind, f"weight sum {kind}")

    def run(shared: bool, steps_used: int):
        gates_x, state, weight_hh, bias_ih, bias_hh = as_tensors(arrays)
        weight_gradient = WeightGradientSum() if shared else None
        states = []
        for _ in range(5):
            state = FUSED[kind](gates_x, state, weight_hh, bias_ih, bias_hh, weight_gradient)
            states.append(state)
        loss = sum((s * s).sum() for s in states[:steps_used])
        loss.backward(retain_graph=True)
        first = weight_hh.grad.numpy().copy()
        loss.backward()
        return first, weight_hh.grad.numpy()

    for steps_used in (5, 2):
        ours_once, ours_twice = run(True, steps_used)
        engine_once, engine_twice = run(False, steps_used)
        np.testing.assert_allclose(ours_once, engine_once, **TIGHT)
        np.testing.assert_allclose(ours_twice, engine_twice, **TIGHT)
        np.testing.assert_allclose(ours_twice, 2 * ours_once, **TIGHT)
