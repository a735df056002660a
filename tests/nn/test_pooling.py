"""max_pool1d/2d, avg_pool1d/2d and the adaptive pools: against a naive loop reference,
against PyTorch on random configurations (values on a coarse grid, so windows tie and the
tie rule is tested), and float64 central differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import ember
from ember.autograd import gradcheck
from ember.nn.functional.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,
                                         adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
                                         avg_pool2d, max_pool1d, max_pool2d)
from tests.conftest import rng_for
from tests.nn.conv_testing import PROPERTY, run_both, single_threaded_torch  # noqa: F401

seeds = st.integers(0, 2**32 - 1)


def naive_max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """Output, flat indices and the gradient of sum(output * upstream) for upstream = 1...,
    one window at a time: the window's first maximum (row-major) wins."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape

    def length(size, k, s, p, d):
        span = size + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if ceil_mode else span // s) + 1
        return out - 1 if ceil_mode and (out - 1) * s >= size + p else out

    oh, ow = length(h, kh, sh, ph, dh), length(w, kw, sw, pw, dw)
    out = np.zeros((n, c, oh, ow))
    indices = np.zeros((n, c, oh, ow), dtype=np.int64)
    grad = np.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            for r in range(oh):
                for q in range(ow):
                    best, where = -np.inf, None
                    for i in range(kh):
                        for j in range(kw):
                            row, col = r * sh - ph + i * dh, q * sw - pw + j * dw
                            if 0 <= row < h and 0 <= col < w and x[b, ch, row, col] > best:
                                best, where = x[b, ch, row, col], (row, col)
                    out[b, ch, r, q] = best
                    indices[b, ch, r, q] = where[0] * w + where[1]
                    grad[b, ch][where] += 1.0
    return out, indices, grad


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 3), (1, 2), (1, 0), (2, 1), False),
    ((3, 2), (3, 3), (1, 1), (1, 2), True),
])
def test_max_pool2d_matches_naive_loops_with_ties(kernel, stride, padding, dilation,
                                                  ceil_mode):
    rng = rng_for(f"naive max {kernel} {stride}")
    x = rng.integers(-2, 3, (2, 2, 7, 8)).astype(np.float64)      # many ties
    xt = ember.tensor(x, requires_grad=True)
    out, indices = max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode,
                              return_indices=True)
    out.sum().backward()
    expected, expected_indices, expected_grad = naive_max_pool2d(x, kernel, stride, padding,
                                                                 dilation, ceil_mode)
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)
    np.testing.assert_array_equal(xt.grad.numpy(), expected_grad)
    assert xt.grad.numpy().sum() == out.numel(), "each window passes its gradient once"


def test_max_pool_padding_is_minus_infinity():
    x = ember.full((1, 1, 2, 2), -5.0)
    assert (max_pool2d(x, 2, stride=1, padding=1).numpy() == -5.0).all()


def test_a_window_of_padding_only_gives_minus_infinity_and_no_gradient():
    # kernel 2 with dilation 2 and padding 1 on a length-1 input: the window holds the
    # positions -1 and 1, both padding
    x = ember.tensor([[[3.0]]], requires_grad=True)
    out, index = max_pool1d(x, 2, padding=1, dilation=2, return_indices=True)
    assert out.item() == -np.inf
    assert index.item() == 1            # PyTorch's index: the window's first position >= 0
    out.sum().backward()
    assert x.grad.item() == 0.0


def test_max_pool_on_integers():
    x = ember.tensor(np.arange(16).reshape(1, 1, 4, 4))
    out = max_pool2d(x, 2, padding=1)
    assert out.dtype == ember.int64
    np.testing.assert_array_equal(out.numpy()[0, 0], [[0, 2, 3], [8, 10, 11], [12, 14, 15]])


# --- against PyTorch ----------------------------------------------------------------------


def every_window_holds_an_input_element(config: dict) -> bool:
    """False where dilation lets a window fall entirely in the padding: PyTorch then
    reports an index outside the plane and sends the gradient there (into a neighbouring
    plane); ember sends none. Those configurations are tested apart."""
    for n, k, d, p, s in zip(config["shape"][2:], config["kernel"], config["dilation"],
                             config["padding"], config["stride"] or config["kernel"]):
        positions = np.arange(0, n + 2 * p - d * (k - 1), s)[:, None] - p + d * np.arange(k)
        if not ((positions >= 0) & (positions < n)).any(axis=1).all():
            return False
    return True


@st.composite
def pool_configs(draw, dims: int = 2, dilated: bool = True):
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * dims)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 3)) if dilated else 1 for _ in range(dims))
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 5))
                 for k, d, p in zip(kernel, dilation, padding))
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size,
                kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=draw(st.booleans()), count_include_pad=draw(st.booleans()),
                divisor_override=draw(st.sampled_from([None, None, 3])), seed=draw(seeds))


def grid_values(config: dict) -> tuple:
    """Values on a grid of halves: windows often tie."""
    rng = np.random.default_rng(config["seed"])
    return rng.integers(-4, 5, config["shape"]) / 2.0, rng


def compare_max_pool(torch, ours, theirs, config):
    assume(every_window_holds_an_input_element(config))
    x, rng = grid_values(config)
    args = (config["kernel"], config["stride"], config["padding"], config["dilation"],
            config["ceil_mode"], True)
    ours_out = run_both(torch, lambda t: ours(t, *args)[0], lambda t: theirs(t, *args)[0],
                        [x], rng)
    indices = ours(ember.tensor(x), *args)[1]
    assert indices.dtype == ember.int64
    np.testing.assert_array_equal(indices.numpy(), theirs(torch.tensor(x), *args)[1].numpy())
    return ours_out


@pytest.mark.torch
@PROPERTY
@given(config=pool_configs())
def test_max_pool2d_matches_pytorch_with_ties(torch, config):
    compare_max_pool(torch, max_pool2d, torch.nn.functional.max_pool2d, config)


@pytest.mark.torch
@PROPERTY
@given(config=pool_configs(dims=1))
def test_max_pool1d_matches_pytorch_with_ties(torch, config):
    compare_max_pool(torch, max_pool1d, torch.nn.functional.max_pool1d, config)


@pytest.mark.torch
@PROPERTY
@given(config=pool_configs(dilated=False))
def test_avg_pool2d_matches_pytorch(torch, config):
    x, rng = grid_values(config)
    args = (config["kernel"], config["stride"], config["padding"], config["ceil_mode"],
            config["count_include_pad"], config["divisor_override"])
    for dtype in ("float64", "float32"):
        run_both(torch, lambda t: avg_pool2d(t, *args),
                 lambda t: torch.nn.functional.avg_pool2d(t, *args), [x], rng, dtype=dtype)


@pytest.mark.torch
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((3, 7), (4, 2), (2, 2), (1, 0)),     # a ceil-mode window runs past the padding
    ((5, 5), 3, 1, 1),
    ((6, 5), (3, 2), (2, 3), 1),
    ((4, 8), 2, 3, 1),
])
def test_avg_pool2d_divisors_at_the_edges_match_pytorch(torch, shape, kernel, stride, padding,
                                                        count_include_pad, ceil_mode):
    rng = rng_for(f"avg edges {shape} {kernel}")
    x = rng.standard_normal((2, 2) + shape)
    args = (kernel, stride, padding, ceil_mode, count_include_pad)
    run_both(torch, lambda t: avg_pool2d(t, *args),
             lambda t: torch.nn.functional.avg_pool2d(t, *args), [x], rng)


@pytest.mark.torch
@PROPERTY
@given(config=pool_configs(dims=1, dilated=False))
def test_avg_pool1d_matches_pytorch(torch, config):
    x, rng = grid_values(config)
    args = (config["kernel"], config["stride"], config["padding"], config["ceil_mode"],
            config["count_include_pad"])
    run_both(torch, lambda t: avg_pool1d(t, *args),
             lambda t: torch.nn.functional.avg_pool1d(t, *args), [x], rng)


@st.composite
def adaptive_configs(draw):
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    output = (draw(st.one_of(st.none(), st.integers(1, 10))), draw(st.integers(1, 10)))
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size,
                output=output, seed=draw(seeds))


@pytest.mark.torch
@PROPERTY
@given(config=adaptive_configs())
def test_adaptive_pools_match_pytorch(torch, config):
    x, rng = grid_values(config)
    F, output = torch.nn.functional, config["output"]
    run_both(torch, lambda t: adaptive_avg_pool2d(t, output),
             lambda t: F.adaptive_avg_pool2d(t, output), [x], rng)
    run_both(torch, lambda t: adaptive_max_pool2d(t, output),
             lambda t: F.adaptive_max_pool2d(t, output), [x], rng)
    np.testing.assert_array_equal(
        adaptive_max_pool2d(ember.tensor(x), output, return_indices=True)[1].numpy(),
        F.adaptive_max_pool2d(torch.tensor(x), output, return_indices=True)[1].numpy())
    length = output[1]
    run_both(torch, lambda t: adaptive_avg_pool1d(t[:, :, 0], length),
             lambda t: F.adaptive_avg_pool1d(t[:, :, 0], length), [x], rng, dtype="float32")
    run_both(torch, lambda t: adaptive_max_pool1d(t[:, :, 0], length),
             lambda t: F.adaptive_max_pool1d(t[:, :, 0], length), [x], rng)


@pytest.mark.torch
def test_unbatched_pooling_matches_pytorch(torch):
    rng = rng_for("unbatched pooling")
    x = rng.standard_normal((3, 6, 7))
    F = torch.nn.functional
    run_both(torch, lambda t: max_pool2d(t, 2, ceil_mode=True),
             lambda t: F.max_pool2d(t, 2, ceil_mode=True), [x], rng)
    run_both(torch, lambda t: avg_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 3, 2, 1), [x], rng)
    run_both(torch, lambda t: max_pool1d(t, 3), lambda t: F.max_pool1d(t, 3), [x[0]], rng)
    run_both(torch, lambda t: adaptive_avg_pool2d(t, 2), lambda t: F.adaptive_avg_pool2d(t, 2),
             [x], rng)
    ours = max_pool2d(ember.tensor(x), 2, return_indices=True)[1]
    np.testing.assert_array_equal(ours.numpy(), F.max_pool2d(torch.tensor(x), 2,
                                                             return_indices=True)[1].numpy())


# --- central differences, dtypes ----------------------------------------------------------


def distinct_values(shape, name):
    """A permutation of well-separated values: no ties, so max is differentiable."""
    rng = rng_for(name)
    return ember.tensor(rng.permutation(np.prod(shape)).reshape(shape) * 0.1,
                        requires_grad=True)


@pytest.mark.parametrize("op, shape, kwargs", [
    (max_pool2d, (2, 2, 6, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (max_pool2d, (1, 2, 7, 7), dict(kernel_size=2, stride=1, dilation=2)),
    (max_pool1d, (2, 2, 9), dict(kernel_size=3, stride=2, padding=1)),
    (avg_pool2d, (2, 2, 6, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                    count_include_pad=False)),
    (avg_pool1d, (2, 2, 9), dict(kernel_size=4, stride=3, padding=2)),
    (adaptive_avg_pool2d, (2, 2, 7, 5), dict(output_size=(3, 4))),
    (adaptive_max_pool2d, (2, 2, 7, 5), dict(output_size=(3, 4))),
    (adaptive_max_pool1d, (2, 2, 7), dict(output_size=3)),
    (adaptive_avg_pool1d, (2, 2, 7), dict(output_size=5)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_gradcheck(op, shape, kwargs):
    x = distinct_values(shape, f"gradcheck {op.__name__} {kwargs}")
    assert gradcheck(lambda t: op(t, **kwargs), (x,))


@pytest.mark.parametrize("op", [
    lambda x: max_pool2d(x, 2), lambda x: avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: adaptive_avg_pool2d(x, 3), lambda x: adaptive_max_pool2d(x, 3),
])
def test_float32_stays_float32(op):
    x = ember.randn(2, 3, 8, 7, requires_grad=True)
    out = op(x)
    assert out.dtype == ember.float32
    out.sum().backward()
    assert x.grad.dtype == ember.float32


def test_max_pool_passes_the_gradient_of_a_tied_window_to_its_first_element():
    x = ember.ones(1, 1, 2, 2, requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])


# --- max pooling's backward: each way of routing the gradient ---------------------------


def through_identity_conv(lib, t):
    """t itself, through a 1x1 convolution with the identity as its weight (`lib` is ember
    or torch): in ember the result, and the gradient that flows back into the op before
    it, are then channels-last in memory, as in a network."""
    channels = t.shape[1]
    eye = lib.tensor(np.eye(channels).reshape(channels, channels, 1, 1), dtype=t.dtype)
    return lib.nn.functional.conv2d(t, eye)


@pytest.mark.torch
@pytest.mark.parametrize("layout", ["nchw", "channels-last", "mixed"])
@pytest.mark.parametrize("kernel, stride, size", [
    (2, 2, (8, 6)),        # windows tile the input: each element is written once
    (2, 2, (7, 6)),        # a row is left over: the gradient starts from zeros
    (3, 1, (6, 5)),        # overlapping windows add up
], ids=["tiled", "left-over", "overlapping"])
def test_max_pool_backward_matches_pytorch_with_ties(torch, layout, kernel, stride, size):
    rng = rng_for(f"max pool paths {kernel} {stride} {size} {layout}")
    x = rng.integers(-2, 3, (2, 3) + size) / 2.0      # many ties (as after a ReLU)

    def network(lib):
        def run(t):
            if layout == "nchw":
                return lib.nn.functional.max_pool2d(t, kernel, stride)
            pooled = lib.nn.functional.max_pool2d(through_identity_conv(lib, t), kernel,
                                                  stride)
            # mixed: a channels-last input, an NCHW gradient (copied to the input's layout)
            return pooled if layout == "mixed" else through_identity_conv(lib, pooled)
        return run

    for dtype in ("float64", "float32"):
        run_both(torch, network(ember), network(torch), [x], rng, dtype=dtype)


@pytest.mark.torch
@pytest.mark.parametrize("kernel, stride, size", [(2, 2, (4, 4)), (2, 2, (5, 4)),
                                                  (3, 1, (5, 5))],
                         ids=["tiled", "left-over", "overlapping"])
def test_an_infinite_or_nan_gradient_reaches_only_the_window_maximum(torch, kernel, stride,
                                                                    size):
    """0 * inf = NaN: a gradient with inf or NaN in it must not leak into the elements
    that are not a window's maximum (the product used for finite gradients would)."""
    rng = rng_for(f"max pool inf {size}")
    x = rng.permutation(np.prod(size)).reshape((1, 1) + size).astype(np.float64)
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = max_pool2d(ours, kernel, stride)
    upstream = np.ones(out.shape)
    upstream.flat[0], upstream.flat[-1] = np.inf, np.nan
    out.backward(ember.tensor(upstream))
    torch.nn.functional.max_pool2d(theirs, kernel, stride).backward(torch.tensor(upstream))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert np.isnan(ours.grad.numpy()).sum() == 1
