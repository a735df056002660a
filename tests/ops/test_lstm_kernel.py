"""The compiled LSTM step (ember/ops/lstm_kernel.c) against the NumPy gate math it replaces
(ember.ops.rnn_gates.LSTMGates with the kernels switched off): one step, forward and
backward, on ordinary, saturating, tiny and NaN pre-activations; whole nn.LSTM layers,
padded and packed; its input checks; and which arrays it takes."""
from __future__ import annotations


import numpy as np
import pytest

import ember
from ember.ops import compiled
from ember.ops.compiled import use_kernels
from ember.ops.rnn_gates import LSTMGates
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

CLOSE = dict(rtol=1e-5, atol=2e-7)
N, H = 5, 24


def step_arrays(seed: int, scale: float = 3.0, extremes: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    pre = (rng.standard_normal((N, 4 * H)) * scale).astype(np.float32)
    if extremes:       # saturating, zero, tiny and exactly-at-threshold pre-activations
        pre[0, :12] = [1000, -1000, 50, -50, 0, 1e-6, -1e-6, 88.5, -88.5, 18, -18, 9.9]
    return dict(pre=pre,
                share=rng.standard_normal((4 * H, N)).astype(np.float32),    # (W_hh h^T)
                c=rng.standard_normal((N, H)).astype(np.float32),
                d_h=rng.standard_normal((N, H)).astype(np.float32),
                d_c=rng.standard_normal((N, H)).astype(np.float32))


def run_step(arrays: dict, kernels: bool, in_place: bool = False) -> dict:
    """One step forward then backward through LSTMGates; every array it writes."""
    with use_kernels(kernels):
        cell = LSTMGates(N, H, np.float32, np)
    assert (cell.kernel is not None) == kernels
    gates = arrays["pre"].copy()
    c = arrays["c"].copy()
    c_new = c if in_place else np.empty_like(c)
    h_new, tanh_c = np.empty_like(c), np.empty_like(c)
    cell.forward(gates, arrays["share"].T, None, c, h_new, c_new, tanh_c, None)
    d_gates, d_c = np.empty_like(gates), arrays["d_c"].copy()
    cell.backward(arrays["d_h"], d_c, gates, None, arrays["c"], h_new, tanh_c, d_gates, None)
    return dict(gates=gates, c_new=c_new, h_new=h_new, tanh_c=tanh_c, d_gates=d_gates, d_c=d_c)


def exact_step(arrays: dict) -> dict:
    """The step in float64 from the same float32 inputs: the lecture's formulas."""
    a = arrays["pre"].astype(np.float64) + arrays["share"].T
    sigma = 1 / (1 + np.exp(-np.clip(a, -700, 700)))
    i, f, o, g = sigma[:, :H], sigma[:, H:2 * H], sigma[:, 3 * H:], np.tanh(a[:, 2 * H:3 * H])
    c_new = f * arrays["c"] + i * g
    tanh_c, d_h = np.tanh(c_new), arrays["d_h"].astype(np.float64)
    d_c_new = arrays["d_c"] + d_h * o * (1 - tanh_c ** 2)
    d_gates = np.concatenate([d_c_new * g * i * (1 - i), d_c_new * arrays["c"] * f * (1 - f),
                              d_c_new * i * (1 - g * g), d_h * tanh_c * o * (1 - o)], axis=1)
    return dict(gates=np.concatenate([i, f, g, o], axis=1), c_new=c_new, h_new=o * tanh_c,
                tanh_c=tanh_c, d_gates=d_gates, d_c=d_c_new * f)


@pytest.mark.parametrize("seed, scale, extremes", [(0, 1.0, False), (1, 3.0, False),
                                                   (3, 3.0, True)])
def test_one_step_equals_the_numpy_gate_math(seed, scale, extremes):
    arrays = step_arrays(seed, scale, extremes)
    compiled_step, numpy_step = run_step(arrays, True), run_step(arrays, False)
    for name, expected in numpy_step.items():
        np.testing.assert_allclose(compiled_step[name], expected, **CLOSE, err_msg=name)
        assert np.isfinite(compiled_step[name]).all(), name


@pytest.mark.parametrize("seed, scale, extremes", [(0, 1.0, False), (2, 30.0, False),
                                                   (3, 3.0, True)])
def test_one_step_is_as_accurate_as_the_numpy_gate_math(seed, scale, extremes):
    # where gates saturate, 1 - s and 1 - g^2 lose digits in float32 on both paths: both
    # are held to the float64 result, the kernel no further from it than NumPy (+ 1 ulp)
    arrays = step_arrays(seed, scale, extremes)
    exact = exact_step(arrays)
    compiled_step, numpy_step = run_step(arrays, True), run_step(arrays, False)
    for name, truth in exact.items():
        compiled_error = np.abs(compiled_step[name] - truth).max()
        numpy_error = np.abs(numpy_step[name] - truth).max()
        assert compiled_error <= numpy_error + 1.2e-7 * max(1.0, np.abs(truth).max()), name


def test_activations_against_float64():
    # sigma and tanh within a few float32 ulps of the exact values, across their range
    z = np.linspace(-30, 30, 4 * H * N, dtype=np.float32).reshape(N, 4 * H)
    arrays = step_arrays(4)
    arrays["pre"] = z.copy()
    arrays["share"][...] = 0
    gates = run_step(arrays, True)["gates"].astype(np.float64)
    exact = 1 / (1 + np.exp(-z.astype(np.float64)))
    exact[:, 2 * H:3 * H] = np.tanh(z[:, 2 * H:3 * H].astype(np.float64))
    np.testing.assert_allclose(gates, exact, rtol=0, atol=3e-7)


def test_state_updated_in_place_equals_a_separate_buffer():
    # inference overwrites c with c' (the same array in and out)
    arrays = step_arrays(5)
    separate, in_place = run_step(arrays, True), run_step(arrays, True, in_place=True)
    for name in separate:
        np.testing.assert_array_equal(in_place[name], separate[name], err_msg=name)


def test_nan_propagates_like_numpy():
    arrays = step_arrays(6)
    arrays["pre"][1, 3] = np.nan                 # i of sequence 1, unit 3
    arrays["pre"][2, 2 * H + 4] = np.nan         # g of sequence 2, unit 4
    compiled_step, numpy_step = run_step(arrays, True), run_step(arrays, False)
    for name in ("h_new", "c_new", "d_gates"):
        np.testing.assert_array_equal(np.isnan(compiled_step[name]),
                                      np.isnan(numpy_step[name]), err_msg=name)
    assert np.isnan(compiled_step["h_new"][1, 3]) and np.isnan(compiled_step["h_new"][2, 4])


@pytest.mark.parametrize("packed", [False, True])
def test_lstm_layer_equals_the_numpy_path(packed):
    ember.manual_seed(0)
    lstm = ember.nn.LSTM(7, 16, num_layers=2)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 4, 7)).astype(np.float32)
    results = []
    for kernels in (True, False):
        lstm.zero_grad()
        inputs = ember.tensor(x, requires_grad=True)
        with use_kernels(kernels):
            if packed:
                sequence = ember.nn.utils.rnn.pack_padded_sequence(inputs, [6, 5, 3, 1])
                output, (h_n, c_n) = lstm(sequence)
                output = output.data
            else:
                output, (h_n, c_n) = lstm(inputs)
            ((output * output).sum() + h_n.sum() + (c_n * c_n).sum()).backward()
        results.append([t.detach().numpy().copy() for t in (output, h_n, c_n)]
                       + [inputs.grad.numpy()] + [p.grad.numpy() for p in lstm.parameters()])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_float64_and_other_arrays_take_the_numpy_path():
    assert compiled.lstm_kernel(np.float32, np) is not None
    assert compiled.lstm_kernel(np.float64, np) is None
    assert compiled.lstm_kernel(np.float32, object()) is None     # another array module
    with use_kernels(False):
        assert compiled.lstm_kernel(np.float32, np) is None


def test_bad_buffers_are_refused_before_anything_is_written():
    kernel = compiled.lstm_kernel(np.float32, np)
    gates = np.ones((N, 4 * H), np.float32)
    state = [np.zeros((N, H), np.float32) for _ in range(4)]
    with pytest.raises(ValueError, match=r"lstm kernel: c does not hold float32"):
        kernel.forward(gates, state[0].astype(np.float64), *state[1:], N, H)
    with pytest.raises(ValueError, match=r"lstm kernel: h_new holds fewer floats than the "
                                         r"step needs \(needs 120 floats\)"):
        kernel.forward(gates, *state[:3], state[3][:2], N, H)
    with pytest.raises(ValueError, match=r"lstm kernel: gates is not a writable C-contiguous"):
        kernel.forward(gates[:, ::2], *state, N, H // 2)
    np.testing.assert_array_equal(gates, 1)       # nothing was written


@pytest.mark.parametrize("n, m", [(32, 1024), (8, 8), (16, 24), (5, 12), (8, 13), (1, 1)])
@pytest.mark.parametrize("add", [True, False])
def test_add_transposed_equals_numpy(n, m, add):
    # multiples of 8 take the AVX2 blocks (where the processor has them), others the loop
    rng = np.random.default_rng(n * 1000 + m)
    start = rng.standard_normal((n, m)).astype(np.float32)
    src = rng.standard_normal((m, n)).astype(np.float32)
    memory = np.full(n * m + 16, 7.0, np.float32)          # with a guard past the end
    dst = memory[:n * m].reshape(n, m)
    dst[...] = start
    compiled._lstm_kernel.add_transposed(dst, src, n, m, add)
    np.testing.assert_array_equal(dst, start + src.T if add else src.T)   # one add: exact
    assert (memory[n * m:] == 7.0).all()
