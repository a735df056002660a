"""The convolution kernels on raw arrays: each fast path against the reference path it
replaces (columns a block of images at a time against the whole batch at once, the bias
as a column of ones against a separate sum, stride-1 input gradients as convolutions with
the flipped kernel against col2im), and the scratch memory they use."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ember
import ember.ops.conv as conv_ops
import ember.ops.parallel as parallel
from ember.nn.functional.conv import conv2d
from ember.ops.conv_geometry import make_geometry
from ember.ops.im2col import col2im, crop_channels_last, im2col, pad_input
from ember.ops.workspace import release_scratch, scratch
from tests.nn.conv_testing import PROPERTY

seeds = st.integers(0, 2**32 - 1)


@st.composite
def kernel_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    channels, out_channels = groups * draw(st.integers(1, 4)), groups * draw(st.integers(1, 4))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = draw(st.sampled_from([(1, 1), (1, 1), (2, 1), (2, 3)]))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    size = tuple(max(1, d * (k - 1) + 1 - sum(p)) + draw(st.integers(0, 4))
                 for k, d, p in zip(kernel, dilation, pads))
    return dict(groups=groups, channels=channels, out_channels=out_channels, kernel=kernel,
                dilation=dilation, stride=stride, pads=pads, size=size, seed=draw(seeds))


def problem(config: dict) -> tuple:
    """(geometry, x in NCHW memory, the same x in channels-last memory, w, b, dL/dy
    channels-last), float32."""
    rng = np.random.default_rng(config["seed"])
    groups, kernel = config["groups"], config["kernel"]
    geometry = make_geometry("test", config["size"], kernel, config["stride"], config["pads"],
                             config["dilation"])
    x = rng.standard_normal((3, config["channels"]) + config["size"]).astype(np.float32)
    x_channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((config["out_channels"], config["channels"] // groups) + kernel)
    b = rng.standard_normal(config["out_channels"])
    grad = rng.standard_normal((3,) + geometry.output_size + (config["out_channels"],))
    return (geometry, x, x_channels_last, w.astype(np.float32), b.astype(np.float32),
            grad.astype(np.float32))


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@PROPERTY
@given(config=kernel_configs(), ones=st.booleans())
def test_im2col_reads_nchw_and_channels_last_memory_alike(config, ones):
    """The unfold reads the two layouts in different orders but makes the same columns
    (copied out: the columns live in scratch memory, rewritten by the next im2col)."""
    geometry, x, x_last, _, _, _ = problem(config)
    groups = config["groups"]
    columns = np.array(im2col(pad_input(x, geometry), geometry, groups, ones))
    other = im2col(pad_input(x_last, geometry), geometry, groups, ones)
    np.testing.assert_array_equal(other, columns)
    assert columns.shape[2] == np.prod(config["kernel"]) * x.shape[1] // groups + ones
    if ones:
        assert (columns[:, :, -1] == 1).all()


@PROPERTY
@given(config=kernel_configs())
def test_blocks_of_images_give_the_whole_batch_product_and_gradients(config, monkeypatch):
    """Forward and weight gradient a block of images at a time (here one image per block)
    equal the whole batch at once; the bias folded in as a column of ones equals adding
    it, and its gradient from that column equals ones @ dY."""
    geometry, x, _, w, b, grad = problem(config)
    groups = config["groups"]
    grad_rows = grad.reshape(-1, w.shape[0])
    results = {}
    for block_bytes in (10**12, 1):
        monkeypatch.setattr(conv_ops, "COLUMN_BLOCK_BYTES", block_bytes)
        assert len(conv_ops.image_blocks(pad_input(x, geometry), geometry)) == \
            (1 if block_bytes > 1 else x.shape[0])
        y = conv_ops.convolve(pad_input(x, geometry), w, geometry, groups)
        y_with_bias = conv_ops.convolve(pad_input(x, geometry), w, geometry, groups, b)
        grad_w, no_bias = conv_ops.convolve_weight_grad(pad_input(x, geometry), grad_rows,
                                                        w.shape, geometry, groups, False)
        grad_w_too, grad_b = conv_ops.convolve_weight_grad(pad_input(x, geometry), grad_rows,
                                                           w.shape, geometry, groups, True)
        assert no_bias is None
        close(y_with_bias, y + b)
        close(grad_w_too, grad_w)
        close(grad_b, conv_ops.bias_grad(grad_rows))
        results[block_bytes] = (y, grad_w)
        assert {y.dtype, grad_w.dtype, grad_b.dtype} == {np.dtype(np.float32)}
    close(results[1][0], results[10**12][0])
    close(results[1][1], results[10**12][1])


def col2im_input_grad(grad, w, geometry, groups):
    padded = np.zeros((grad.shape[0],) + geometry.array_size + (w.shape[1] * groups,),
                      grad.dtype)
    col2im(grad, w, geometry, groups, out=padded)
    return crop_channels_last(padded, geometry).transpose(0, 2, 3, 1)


@PROPERTY
@given(config=kernel_configs())
def test_input_grad_as_a_convolution_with_the_flipped_kernel_equals_col2im(config,
                                                                          monkeypatch):
    geometry, _, _, w, _, grad = problem(config)
    groups = config["groups"]
    flipped = conv_ops.flipped_kernel_geometry(geometry)
    spans = [d * (k - 1) for d, k in zip(config["dilation"], config["kernel"])]
    applies = config["stride"] == (1, 1) and all(before <= span and after <= span for
                                                (before, after), span in zip(config["pads"],
                                                                             spans))
    assert (flipped is not None) == applies
    monkeypatch.setattr(conv_ops, "TRANSPOSED_INPUT_GRAD_MIN_CHANNELS", 1)
    result = conv_ops.convolve_input_grad(grad, w, geometry, groups)
    assert result.shape == (grad.shape[0],) + geometry.input_size + (w.shape[1] * groups,)
    close(result, col2im_input_grad(grad, w, geometry, groups))
    if flipped is not None:
        assert flipped.output_size == geometry.input_size


def test_the_flipped_kernel_rotates_each_filter_and_swaps_channels_per_group():
    w = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)    # 2 groups of 1
    flipped = conv_ops.flipped_kernel(np.concatenate([w, w + 100]), groups=2)
    assert flipped.shape == (6, 2, 2, 2)
    np.testing.assert_array_equal(flipped[1, 0], w[0, 1, ::-1, ::-1])
    np.testing.assert_array_equal(flipped[4, 1], w[1, 1, ::-1, ::-1] + 100)


@pytest.mark.parametrize("channels, flipped", [(16, True), (15, False)])
def test_wide_stride_1_layers_take_the_flipped_kernel_path(monkeypatch, channels, flipped):
    """The default threshold decides; the path taken is seen by counting convolutions."""
    calls = []
    convolve = conv_ops.convolve
    monkeypatch.setattr(conv_ops, "convolve", lambda *a, **k: calls.append(1) or convolve(*a,
                                                                                          **k))
    x = ember.randn(2, channels, 6, 6, requires_grad=True)
    conv2d(x, ember.randn(4, channels, 3, 3), padding=1).sum().backward()
    assert len(calls) == (2 if flipped else 1)
    assert channels >= conv_ops.TRANSPOSED_INPUT_GRAD_MIN_CHANNELS or not flipped


# --- scratch memory ---------------------------------------------------------------------


def test_scratch_reuses_one_buffer_per_purpose_and_grows_it():
    release_scratch()
    a = scratch(np, (4, 5), np.float32, "test a")
    b = scratch(np, (2, 3), np.float32, "test a")
    assert a.shape == (4, 5) and b.shape == (2, 3) and b.dtype == np.float32
    assert np.shares_memory(a, b), "the same purpose reuses its buffer"
    assert not np.shares_memory(a, scratch(np, (4, 5), np.float32, "test b"))
    c = scratch(np, (100, 100), np.float64, "test a")
    assert c.shape == (100, 100) and c.dtype == np.float64 and not np.shares_memory(a, c)
    c[...] = 1.0                                       # the whole grown buffer is usable
    assert np.shares_memory(c, scratch(np, (10,), np.int64, "test a"))


def test_scratch_is_per_thread():
    mine = scratch(np, (8,), np.float32, "test thread")
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(
        scratch(np, (8,), np.float32, "test thread")))
    thread.start()
    thread.join()
    assert not np.shares_memory(mine, theirs[0])


def test_outputs_and_gradients_never_live_in_scratch_memory():
    """What a convolution returns or saves must survive the next convolution."""
    x = ember.randn(2, 3, 8, 8, requires_grad=True)
    w = ember.randn(4, 3, 3, 3, requires_grad=True)
    first = conv2d(x, w, padding=1)
    kept = first.detach().numpy().copy()
    second = conv2d(x * 2, w, padding=1)
    np.testing.assert_array_equal(first.detach().numpy(), kept)
    (first.sum() + second.sum()).backward()
    grad = x.grad.numpy().copy()
    conv2d(ember.randn(2, 3, 8, 8), w, padding=1)
    np.testing.assert_array_equal(x.grad.numpy(), grad)


# --- blocks shared out among threads ------------------------------------------------------


@pytest.fixture
def two_block_threads(monkeypatch):
    """map_blocks as on a 2-core machine, whatever this one has (needs threadpoolctl); the
    BLAS thread count and ember's thread settings are put back afterwards."""
    pytest.importorskip("threadpoolctl")
    libraries = parallel.blas_libraries().lib_controllers
    before = [library.get_num_threads() for library in libraries]
    monkeypatch.setattr(parallel, "_threads", {"count": 2})
    yield
    for library, count in zip(libraries, before):
        library.set_num_threads(count)


def test_map_blocks_gives_every_result_in_block_order(two_block_threads):
    seen = []

    def work(block):
        seen.append(threading.current_thread().name)
        return block * 10

    assert parallel.map_blocks(work, list(range(40))) == [10 * b for b in range(40)]
    assert len(seen) == 40
    assert parallel.intra_op_threads() == 2 and parallel.map_blocks(work, [1]) == [10]


def test_map_blocks_hands_blas_threads_over_for_good(two_block_threads):
    """BLAS runs single-threaded inside the blocks and after them (its idle threads would
    spin on the cores ember's threads use next); ember keeps its own count of 2."""
    libraries = parallel.blas_libraries().lib_controllers
    assert not parallel.blas_handed_over()
    inside = parallel.map_blocks(
        lambda _: [library.get_num_threads() for library in libraries], list(range(4)))
    assert all(counts == [1] * len(libraries) for counts in inside)
    assert [library.get_num_threads() for library in libraries] == [1] * len(libraries)
    assert parallel.blas_handed_over() and ember.get_num_threads() == 2
    ember.set_num_threads(3)                      # ember's count; BLAS stays at one
    assert ember.get_num_threads() == 3
    assert [library.get_num_threads() for library in libraries] == [1] * len(libraries)


def test_map_blocks_raises_a_workers_error_after_all_threads_stop(two_block_threads):
    finished = []

    def work(block):
        if block == 3:
            raise ValueError("block 3 failed")
        finished.append(block)

    with pytest.raises(ValueError, match="block 3 failed"):
        parallel.map_blocks(work, list(range(8)))
    assert sorted(finished) == [0, 1, 2, 4, 5, 6, 7]


def test_map_blocks_inside_map_blocks_runs_in_order_on_the_same_thread(two_block_threads):
    def work(block):
        thread = threading.current_thread()
        inner = parallel.map_blocks(lambda _: threading.current_thread(), [0, 1, 2])
        return all(t is thread for t in inner)

    assert all(parallel.map_blocks(work, list(range(4))))


def test_threads_give_bitwise_the_same_convolution_as_one_thread(monkeypatch, two_block_threads):
    """Each block's output has its own place and the weight gradient's parts are summed
    in block order, so the thread count changes no bit."""
    pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(conv_ops, "COLUMN_BLOCK_BYTES", 2**14)        # many blocks
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_BYTES", 1)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float32)
              for shape in ((6, 20, 9, 9), (8, 20, 3, 3), (8,))]
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(parallel, "intra_op_threads", lambda count=threads: count)
        x, w, b = (ember.tensor(a, requires_grad=True) for a in arrays)
        for padding, stride in ((1, 1), (0, 2)):                 # flipped kernel, col2im
            y = conv2d(x, w, b, stride=stride, padding=padding)
            (y * y).sum().backward()
        results.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()])
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)
