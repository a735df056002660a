"""conv1d, conv2d, conv_transpose1d and conv_transpose2d: against a naive loop reference,
against PyTorch on random configurations (forward, and gradients of input, weight and
bias, in float64 and float32) with the fast and the reference kernels, and float64
central differences. The kernels themselves are compared in test_conv_kernels.py."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import ember
import ember.ops.conv as conv_ops
from ember.autograd import gradcheck
from ember.nn.functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ember.nn.functional.pooling import avg_pool2d, max_pool2d
from ember.ops.conv_geometry import conv_padding
from tests.conftest import rng_for
from tests.nn.conv_testing import PROPERTY, run_both, single_threaded_torch  # noqa: F401

seeds = st.integers(0, 2**32 - 1)
# PyTorch warns that it copies the input for an even-length 'same' kernel; so does ember
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def naive_conv2d(x, w, b, stride, pads, dilation, groups):
    """The definition, one multiply-add at a time (tiny inputs only)."""
    (sh, sw), ((top, bottom), (left, right)), (dh, dw) = stride, pads, dilation
    n, _, h, width = x.shape
    out_channels, per_group, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (width + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, out_channels, oh, ow))
    for b_ in range(n):
        for o in range(out_channels):
            g = o // (out_channels // groups)
            for r in range(oh):
                for q in range(ow):
                    total = 0.0 if b is None else b[o]
                    for c in range(per_group):
                        for i in range(kh):
                            for j in range(kw):
                                pixel = xp[b_, g * per_group + c, r * sh + i * dh,
                                           q * sw + j * dw]
                                total += w[o, c, i, j] * pixel
                    out[b_, o, r, q] = total
    return out


@pytest.mark.parametrize("stride, padding, dilation, groups, kernel", [
    (1, 0, 1, 1, (3, 3)),
    (2, 1, 1, 1, (3, 2)),
    (1, "same", 2, 1, (2, 3)),      # even kernel: the odd total padding puts one more after
    (1, "same", 1, 2, (4, 4)),
    ((2, 1), (0, 2), (1, 2), 2, (2, 2)),
    (3, 1, 2, 4, (3, 3)),
])
def test_conv2d_matches_naive_loops(stride, padding, dilation, groups, kernel):
    rng = rng_for(f"naive conv2d {stride} {padding} {dilation} {groups}")
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((4, 4 // groups) + kernel)
    b = rng.standard_normal(4)
    out = conv2d(ember.tensor(x), ember.tensor(w), ember.tensor(b), stride, padding, dilation,
                 groups)
    pair = lambda v: (v, v) if isinstance(v, int) else v   # noqa: E731
    if padding == "same":      # PyTorch's split: total D(K-1), the odd one after
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                for d, k in zip(pair(dilation), kernel)]
    else:
        pads = [(p, p) for p in pair(padding)]
    expected = naive_conv2d(x, w, b, pair(stride), pads, pair(dilation), groups)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_same_padding_splits_an_odd_total_with_the_extra_row_after():
    # kernel 2: total padding 1 goes to the bottom/right, so output[0, 0] sees x[0, 0] only
    x = ember.tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    out = conv2d(x, ember.ones(1, 1, 2, 2, dtype=ember.float64), padding="same")
    assert out.shape == (1, 1, 3, 3)
    assert out[0, 0, 0, 0].item() == 0 + 1 + 3 + 4
    assert out[0, 0, 2, 2].item() == 8


# --- against PyTorch ----------------------------------------------------------------------


@st.composite
def conv2d_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    choices = ["valid", "int", "tuple"] + (["same"] if stride == (1, 1) else [])
    kind = draw(st.sampled_from(choices))
    padding = {"valid": "valid", "same": "same", "int": draw(st.integers(0, 2)),
               "tuple": (draw(st.integers(0, 2)), draw(st.integers(0, 2)))}[kind]
    pads = conv_padding("test", padding, kernel, dilation, stride)
    size = []
    for k, d, (before, after) in zip(kernel, dilation, pads):
        smallest = max(1, d * (k - 1) + 1 - before - after)
        size.append(draw(st.integers(smallest, smallest + 6)))
    return dict(batch=draw(st.integers(1, 3)), in_channels=in_channels,
                out_channels=out_channels, size=tuple(size), kernel=kernel, stride=stride,
                padding=padding, dilation=dilation, groups=groups,
                bias=draw(st.booleans()), seed=draw(seeds))


def conv2d_arrays(config: dict) -> tuple:
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal((config["batch"], config["in_channels"]) + config["size"])
    w = rng.standard_normal((config["out_channels"], config["in_channels"] // config["groups"])
                            + config["kernel"])
    b = rng.standard_normal(config["out_channels"]) if config["bias"] else None
    return [x, w, b], rng


def conv2d_call(module, config):
    args = (config["stride"], config["padding"], config["dilation"], config["groups"])
    return lambda x, w, b: module(x, w, b, *args)


@pytest.fixture(params=["reference", "fast"])
def kernel_path(request, monkeypatch):
    """Run a test with the reference kernels (the whole batch unfolded at once; col2im for
    every input gradient) or with the fast ones wherever they apply, however small the
    problem (columns made one image at a time; stride-1 input gradients as convolutions
    with the flipped kernel)."""
    fast = request.param == "fast"
    monkeypatch.setattr(conv_ops, "COLUMN_BLOCK_BYTES", 1 if fast else 10**12)
    monkeypatch.setattr(conv_ops, "TRANSPOSED_INPUT_GRAD_MIN_CHANNELS", 1 if fast else 10**9)
    return request.param


@pytest.mark.torch
@PROPERTY
@given(config=conv2d_configs())
def test_conv2d_matches_pytorch_float64(torch, kernel_path, config):
    arrays, rng = conv2d_arrays(config)
    run_both(torch, conv2d_call(conv2d, config),
             conv2d_call(torch.nn.functional.conv2d, config), arrays, rng)


@pytest.mark.torch
@PROPERTY
@given(config=conv2d_configs())
def test_conv2d_matches_pytorch_float32(torch, config):
    arrays, rng = conv2d_arrays(config)
    run_both(torch, conv2d_call(conv2d, config),
             conv2d_call(torch.nn.functional.conv2d, config), arrays, rng, dtype="float32")


@pytest.mark.torch
@PROPERTY
@given(config=conv2d_configs())
def test_conv1d_matches_pytorch(torch, config):
    config = dict(config, size=config["size"][1:], kernel=config["kernel"][1:],
                  stride=config["stride"][1], dilation=config["dilation"][1],
                  padding=config["padding"][1] if isinstance(config["padding"], tuple)
                  else config["padding"])
    arrays, rng = conv2d_arrays(config)
    run_both(torch, conv2d_call(conv1d, config),
             conv2d_call(torch.nn.functional.conv1d, config), arrays, rng)


@pytest.mark.torch
@pytest.mark.parametrize("shape, out_channels, padding, dilation", [
    ((2, 32, 6, 5), 3, 1, 1), ((2, 40, 6, 5), 3, "same", 2), ((2, 17, 6, 5), 3, 0, 1),
    ((4, 64, 32, 32), 8, 1, 1),         # 9.4 MB of columns: made in blocks
], ids=str)
def test_wide_layers_take_the_fast_paths_and_match_pytorch(torch, shape, out_channels,
                                                           padding, dilation):
    """With the default thresholds: stride-1 input gradients as convolutions from 16
    channels, columns a block of images at a time beyond COLUMN_BLOCK_BYTES."""
    assert shape[1] >= conv_ops.TRANSPOSED_INPUT_GRAD_MIN_CHANNELS
    rng = rng_for(f"wide {shape}")
    arrays = [rng.standard_normal(shape), rng.standard_normal((out_channels, shape[1], 3, 3)),
              rng.standard_normal(out_channels)]
    for dtype in ("float64", "float32") if shape[0] == 2 else ("float32",):
        run_both(torch, lambda x, w, b: conv2d(x, w, b, 1, padding, dilation),
                 lambda x, w, b: torch.nn.functional.conv2d(x, w, b, 1, padding, dilation),
                 arrays, rng, dtype=dtype)


@st.composite
def transposed_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    for n, k, s, p, extra, d in zip(size, kernel, stride, padding, output_padding, dilation):
        assume((n - 1) * s - 2 * p + d * (k - 1) + extra + 1 >= 1)
    return dict(batch=draw(st.integers(1, 3)), in_channels=in_channels,
                out_channels=out_channels, size=size, kernel=kernel, stride=stride,
                padding=padding, output_padding=output_padding, dilation=dilation,
                groups=groups, bias=draw(st.booleans()), seed=draw(seeds))


def transposed_arrays(config: dict) -> tuple:
    rng = np.random.default_rng(config["seed"])
    x = rng.standard_normal((config["batch"], config["in_channels"]) + config["size"])
    w = rng.standard_normal((config["in_channels"], config["out_channels"] // config["groups"])
                            + config["kernel"])
    b = rng.standard_normal(config["out_channels"]) if config["bias"] else None
    return [x, w, b], rng


def transposed_call(module, config):
    args = (config["stride"], config["padding"], config["output_padding"], config["groups"],
            config["dilation"])
    return lambda x, w, b: module(x, w, b, *args)


@pytest.mark.torch
@PROPERTY
@given(config=transposed_configs())
def test_conv_transpose2d_matches_pytorch(torch, kernel_path, config):
    arrays, rng = transposed_arrays(config)
    run_both(torch, transposed_call(conv_transpose2d, config),
             transposed_call(torch.nn.functional.conv_transpose2d, config), arrays, rng)


@pytest.mark.torch
@PROPERTY
@given(config=transposed_configs())
def test_conv_transpose1d_matches_pytorch(torch, config):
    config = dict(config, size=config["size"][1:], kernel=config["kernel"][1:],
                  stride=config["stride"][1], dilation=config["dilation"][1],
                  padding=config["padding"][1], output_padding=config["output_padding"][1])
    arrays, rng = transposed_arrays(config)
    run_both(torch, transposed_call(conv_transpose1d, config),
             transposed_call(torch.nn.functional.conv_transpose1d, config), arrays, rng,
             dtype="float32")


@pytest.mark.torch
@pytest.mark.parametrize("needs", [(True, False, False), (False, True, False),
                                   (False, False, True), (True, True, False)], ids=str)
def test_only_the_needed_gradients_are_computed(torch, needs):
    rng = rng_for(f"needs {needs}")
    arrays = [rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)),
              rng.standard_normal(4)]
    differentiable = [i for i, need in enumerate(needs) if need]
    run_both(torch, lambda x, w, b: conv2d(x, w, b, 2, 1),
             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, 2, 1), arrays, rng,
             differentiable=differentiable)


@pytest.mark.torch
def test_unbatched_inputs_match_pytorch(torch):
    rng = rng_for("unbatched")
    run_both(torch, lambda x, w: conv2d(x, w, padding=1),
             lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
             [rng.standard_normal((3, 5, 5)), rng.standard_normal((2, 3, 3, 3))], rng)
    run_both(torch, lambda x, w: conv1d(x, w, stride=2),
             lambda x, w: torch.nn.functional.conv1d(x, w, stride=2),
             [rng.standard_normal((3, 9)), rng.standard_normal((2, 3, 3))], rng)
    run_both(torch, lambda x, w: conv_transpose2d(x, w, stride=2),
             lambda x, w: torch.nn.functional.conv_transpose2d(x, w, stride=2),
             [rng.standard_normal((3, 4, 4)), rng.standard_normal((3, 2, 3, 3))], rng)


# --- central differences ------------------------------------------------------------------


@pytest.mark.parametrize("op, shapes, kwargs", [
    (conv2d, [(2, 4, 5, 4), (2, 2, 3, 2), (2,)], dict(stride=(2, 1), padding=1, groups=2)),
    (conv2d, [(1, 2, 5, 5), (3, 2, 2, 2), (3,)], dict(padding="same", dilation=2)),
    (conv1d, [(2, 2, 7), (3, 2, 3), (3,)], dict(stride=2, padding=1, dilation=2)),
    (conv_transpose2d, [(2, 2, 3, 3), (2, 3, 3, 2), (3,)],
     dict(stride=2, padding=1, output_padding=1)),
    (conv_transpose1d, [(1, 4, 4), (4, 1, 3), (2,)], dict(stride=3, groups=2, dilation=2)),
], ids=["conv2d", "conv2d-same", "conv1d", "conv_transpose2d", "conv_transpose1d"])
def test_gradcheck(op, shapes, kwargs):
    rng = rng_for(f"gradcheck {op.__name__} {kwargs}")
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert gradcheck(lambda x, w, b: op(x, w, b, **kwargs), inputs)


# --- dtypes, layouts and the graph --------------------------------------------------------


def test_float32_stays_float32_through_forward_and_backward():
    x = ember.randn(2, 3, 8, 8, requires_grad=True)
    w = ember.randn(4, 3, 3, 3, requires_grad=True)
    b = ember.randn(4, requires_grad=True)
    for out in (conv2d(x, w, b, padding=1), conv2d(x, w, b, stride=2),
                conv_transpose2d(x, w.transpose(0, 1), b, stride=2)):
        assert out.dtype == ember.float32
        out.sum().backward()
        assert {x.grad.dtype, w.grad.dtype, b.grad.dtype} == {ember.float32}
        x.grad = w.grad = b.grad = None


@pytest.mark.torch
def test_a_conv_pool_stack_matches_pytorch(torch):
    """Convolutions read the channels-last memory of the previous layer's output."""
    rng = rng_for("stack")
    arrays = [rng.standard_normal((3, 2, 12, 12)), rng.standard_normal((6, 2, 5, 5)),
              rng.standard_normal(6), rng.standard_normal((8, 6, 3, 3)),
              rng.standard_normal(8)]

    def stack(F, x, w1, b1, w2, b2):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=2)), 2)
        return F.avg_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)

    ember_F = SimpleNamespace(conv2d=conv2d, relu=ember.relu, max_pool2d=max_pool2d,
                              avg_pool2d=avg_pool2d)
    run_both(torch, lambda *a: stack(ember_F, *a),
             lambda *a: stack(torch.nn.functional, *a), arrays, rng)


def test_changing_the_weight_in_place_before_backward_is_an_error():
    w = ember.randn(2, 1, 3, 3, requires_grad=True)
    y = conv2d(ember.randn(1, 1, 5, 5), w)
    with ember.no_grad():
        w.add_(1.0)
    with pytest.raises(ember.errors.GraphError, match="modified by an in-place operation"):
        y.sum().backward()


def test_changing_the_input_in_place_before_backward_is_an_error():
    """The input is saved (and padded again in backward), padded or not."""
    x = ember.randn(1, 1, 5, 5, requires_grad=True)
    h = x * 1.0
    y = conv2d(h, ember.randn(2, 1, 3, 3, requires_grad=True), padding=1)
    with ember.no_grad():
        h.add_(1.0)
    with pytest.raises(ember.errors.GraphError, match="modified by an in-place operation"):
        y.sum().backward()
