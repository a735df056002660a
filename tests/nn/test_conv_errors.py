"""Errors of the convolution and pooling functions and layers: each names the op, the sizes
and the rule; the size errors show the output-size formula with the numbers filled in."""
from __future__ import annotations

import re

import pytest

import ember
from ember.errors import DTypeError, ShapeError
from ember.nn.conv import Conv1d, Conv2d, ConvTranspose2d
from ember.nn.functional.conv import conv2d, conv_transpose2d
from ember.nn.functional.pooling import (adaptive_avg_pool2d, avg_pool2d, max_pool1d,
                                         max_pool2d)
from ember.nn.pooling import MaxPool2d
from ember.ops.conv_geometry import output_length


def raises(error, *fragments):
    """pytest.raises that also checks that every fragment is in the message."""
    return pytest.raises(error, match="(?s)" + "".join(f"(?=.*{re.escape(f)})"
                                                       for f in fragments))


# --- sizes that do not fit ----------------------------------------------------------------


def test_a_kernel_larger_than_the_input_shows_the_formula_with_its_numbers():
    with raises(ShapeError, "conv2d", "does not fit", "along height", "N = 4",
                "D(F-1)+1 = 1*(5-1)+1 = 5",
                "out = floor((N + 2P - D(F-1) - 1)/S) + 1 = floor((4 + 2*0 - 1*(5-1) - 1)/1)"
                " + 1 = 0"):
        conv2d(ember.randn(1, 1, 4, 10), ember.randn(1, 1, 5, 5))


def test_the_layer_reports_the_axis_that_does_not_fit():
    with raises(ShapeError, "along width", "N = 2 column(s)", "dilated kernel spans",
                "floor((2 + 2*1 - 2*(3-1) - 1)/1) + 1 = 0"):
        Conv2d(1, 1, 3, padding=1, dilation=2)(ember.randn(1, 1, 9, 2))


def test_asymmetric_padding_is_shown_as_both_terms():
    # ('same' pads asymmetrically but always fits; the formula still names both terms)
    with raises(ShapeError, "N + P_before + P_after - D(F-1) - 1", "floor((2 + 0 + 1 - 1*(5-1)"):
        output_length("conv2d", "height", 2, 5, 1, 0, 1, 1)


def test_pooling_kernel_that_does_not_fit():
    with raises(ShapeError, "max_pool2d", "does not fit", "floor((2 + 2*0 - 1*(3-1) - 1)/3)"):
        max_pool2d(ember.randn(1, 1, 2, 2), 3)


def test_transposed_convolution_with_an_empty_output():
    with raises(ShapeError, "conv_transpose2d", "out = (N - 1)S - 2P + D(F-1) + "
                "output_padding + 1 = (3 - 1)*1 - 2*3 + 1*(3-1) + 0 + 1 = -1"):
        conv_transpose2d(ember.randn(1, 2, 3, 3), ember.randn(2, 3, 3, 3), padding=3)


# --- exact tiling (exact=True) --------------------------------------------------------------------


def test_exact_tiling_reports_the_leftover():
    with raises(ShapeError, "exact=True", "along height", "N + 2P - D(F-1) - 1 = "
                "28 + 2*0 - 1*(5-1) - 1 = 23", "not divisible by S = 2", "23 = 2*11 + 1",
                "floor((28 + 2*0 - 1*(5-1) - 1)/2) + 1 = 12 with 1 left over"):
        conv2d(ember.randn(1, 1, 28, 28), ember.randn(1, 1, 5, 5), stride=2, exact=True)


def test_exact_tiling_passes_when_the_stride_divides():
    out = conv2d(ember.randn(1, 1, 29, 29), ember.randn(1, 1, 5, 5), stride=2, exact=True)
    assert out.shape == (1, 1, 13, 13)
    assert MaxPool2d(2, exact=True)(ember.randn(1, 1, 8, 8)).shape == (1, 1, 4, 4)
    # without exact the leftover is dropped silently, as in PyTorch
    assert MaxPool2d(2)(ember.randn(1, 1, 7, 7)).shape == (1, 1, 3, 3)


def test_exact_tiling_for_layers_and_pools():
    with raises(ShapeError, "max_pool2d", "exact=True", "5 = 2*2 + 1", "1 row(s)"):
        MaxPool2d(2, exact=True)(ember.randn(1, 1, 7, 8))
    with raises(ShapeError, "max_pool1d", "along length", "7 + 2*1 - 1*(2-1) - 1 = 7"):
        max_pool1d(ember.randn(1, 1, 7), 2, padding=1, exact=True)
    with raises(ShapeError, "conv1d", "exact=True"):
        Conv1d(1, 1, 3, stride=2, exact=True)(ember.randn(1, 1, 8))
    with raises(ShapeError, "avg_pool2d", "along width"):
        avg_pool2d(ember.randn(1, 1, 7, 6), 3, stride=2, exact=True)


# --- channels and groups ------------------------------------------------------------------


def test_channel_mismatch_names_in_channels_and_both_shapes():
    with raises(ShapeError, "conv2d", "3 channels", "(8, 3, 32, 32)", "(6, 1, 5, 5)",
                "in_channels = weight.shape[1] * groups = 1 * 1 = 1"):
        Conv2d(1, 6, 5)(ember.randn(8, 3, 32, 32))


def test_groups_must_divide_the_channels():
    with raises(ShapeError, "groups=3 must divide the weight's out_channels", "4 % 3 = 1"):
        conv2d(ember.randn(1, 6, 5, 5), ember.randn(4, 2, 3, 3), groups=3)
    with raises(ShapeError, "expects in_channels = weight.shape[1] * groups = 2 * 2 = 4",
                "groups=2 must also divide the input's channels: 5 % 2 = 1"):
        conv2d(ember.randn(1, 5, 5, 5), ember.randn(4, 2, 3, 3), groups=2)
    with raises(ValueError, "in_channels must be divisible by groups"):
        Conv2d(3, 4, 3, groups=2)
    with raises(ValueError, "out_channels must be divisible by groups"):
        Conv2d(4, 3, 3, groups=2)
    with raises(ShapeError, "conv_transpose2d", "weight.shape[0] = 3", "2 channels"):
        conv_transpose2d(ember.randn(1, 2, 3, 3), ember.randn(3, 3, 3, 3))


def test_bias_and_weight_shapes():
    with raises(ShapeError, "bias should have shape (1,)", "got bias of shape (2,)"):
        conv2d(ember.randn(1, 1, 3, 3), ember.randn(1, 1, 3, 3), ember.randn(2))
    with raises(ShapeError, "expected a 4-D weight", "(1, 1, 3)"):
        conv2d(ember.randn(1, 1, 3, 3), ember.randn(1, 1, 3))
    with raises(ShapeError, "expected a 4-D input", "(2, 1, 3, 3, 3)"):
        conv2d(ember.randn(2, 1, 3, 3, 3), ember.randn(1, 1, 3, 3))


# --- arguments and dtypes -----------------------------------------------------------------


def test_bad_arguments():
    x, w = ember.randn(1, 2, 6, 6), ember.randn(2, 2, 3, 3)
    with raises(ValueError, "padding='same' is not supported for strided convolutions"):
        conv2d(x, w, stride=2, padding="same")
    with raises(ValueError, "padding='same' is not supported for strided convolutions"):
        Conv2d(2, 2, 3, stride=2, padding="same")
    with raises(ValueError, "invalid padding string 'full'"):
        conv2d(x, w, padding="full")
    with raises(ValueError, "padding must be non-negative"):
        conv2d(x, w, padding=-1)
    with raises(ValueError, "stride must be positive"):
        conv2d(x, w, stride=0)
    with raises(TypeError, "dilation must be an int or a tuple of 2 ints"):
        conv2d(x, w, dilation=(1, 2, 3))
    with raises(ValueError, "output_padding must be smaller than either stride or dilation"):
        conv_transpose2d(x, w, stride=2, output_padding=2)
    with raises(ValueError, "padding_mode must be one of"):
        Conv2d(2, 2, 3, padding_mode="mirror")
    with raises(ValueError, 'only "zeros" padding mode'):
        ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with raises(ValueError, "padding_mode='reflect'", "at most 1"):
        Conv2d(2, 2, 3, padding=2, padding_mode="reflect")(ember.randn(1, 2, 2, 2))


def test_pooling_arguments():
    x = ember.randn(1, 1, 6, 6)
    with raises(ValueError, "max_pool2d", "at most half of the kernel size"):
        max_pool2d(x, 2, padding=2)
    with raises(ValueError, "divisor_override must not be zero"):
        avg_pool2d(x, 2, divisor_override=0)
    with raises(ValueError, "output_size must be positive"):
        adaptive_avg_pool2d(x, 0)
    with raises(ShapeError, "max_pool2d", "(N, C, H, W) or (C, H, W)", "(6, 6)"):
        max_pool2d(ember.randn(6, 6), 2)
    with raises(DTypeError, "avg_pool2d", "floating-point", "int64"):
        avg_pool2d(ember.ones(1, 1, 4, 4, dtype=ember.int64), 2)


def test_dtypes_must_agree():
    with raises(DTypeError, "conv2d", "same dtype", "float64", "float32"):
        conv2d(ember.randn(1, 1, 3, 3, dtype=ember.float64), ember.randn(1, 1, 3, 3))
    with raises(DTypeError, "conv2d", "floating-point input", "int64"):
        conv2d(ember.ones(1, 1, 3, 3, dtype=ember.int64), ember.randn(1, 1, 3, 3))
