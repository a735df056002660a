"""The losses: one table of specs x reductions x options drives the PyTorch-parity tests
(forward and gradients, float64 and float32) and the float64 gradchecks; then stability at
extreme values, ignore_index, and error messages. The modules: test_loss.py."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from ember.nn import loss as loss_modules
from ember.nn.functional import classification_losses, losses
from tests.conftest import rng_for


def ember_loss(name: str) -> Callable:
    return getattr(losses, name, None) or getattr(classification_losses, name)


# --- inputs ------------------------------------------------------------------------------

_rng = rng_for("loss weights")
ELEMENT_WEIGHT = _rng.uniform(0.2, 2.0, (4, 5))
COLUMN_WEIGHT = _rng.uniform(0.2, 2.0, (5,))
ROW_WEIGHT = _rng.uniform(0.2, 2.0, (4, 1))
CLASS_WEIGHT = np.array([0.5, 1.0, 2.0, 0.2, 1.5])
CLASS_WEIGHT_4 = np.array([0.7, 1.3, 0.4, 2.0])


def normalized(x: np.ndarray, axis: int) -> np.ndarray:
    return x / x.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def regression_pair(rng):
    return rng.standard_normal((4, 5)), 1.5 * rng.standard_normal((4, 5))


def gaussian(var_shape):
    def make(rng):
        return (rng.standard_normal((4, 5)), rng.standard_normal((4, 5)),
                rng.uniform(0.1, 2.0, var_shape))
    return make


def kl_pair(rng):
    target = normalized(rng.uniform(0.1, 1.0, (4, 5)), 1)
    target[0, 2] = 0.0                      # p = 0 contributes 0 (0 log 0 = 0)
    return log_softmax(rng.standard_normal((4, 5)), 1), target


def kl_log_pair(rng):
    return (log_softmax(rng.standard_normal((4, 5)), 1),
            log_softmax(rng.standard_normal((4, 5)), 1))


def probabilities_and_targets(rng):
    target = rng.uniform(0, 1, (4, 5))
    target[0, :2], target[1, :2] = 0.0, 1.0     # hard labels too
    return rng.uniform(0.02, 0.98, (4, 5)), target


def soft_probabilities_and_targets(rng):     # targets inside (0, 1), to differentiate
    return rng.uniform(0.02, 0.98, (4, 5)), rng.uniform(0.05, 0.95, (4, 5))


def logits_and_targets(rng):
    return 3 * rng.standard_normal((4, 5)), probabilities_and_targets(rng)[1]


def class_indices(shape, classes, ignored=True):
    def make(rng):
        logits = 2 * rng.standard_normal(shape)
        batch_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
        target = rng.integers(0, classes, batch_shape)
        if ignored:
            target.flat[1] = -100
        return logits, target
    return make


def class_probabilities(shape):
    def make(rng):
        class_axis = 1 if len(shape) > 1 else 0
        return (2 * rng.standard_normal(shape),
                normalized(rng.uniform(0, 1, shape), class_axis))
    return make


def log_probabilities(shape, ignored=True):
    def make(rng):
        logits, target = class_indices(shape, shape[1], ignored)(rng)
        return log_softmax(logits, 1), target
    return make


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LossSpec:
    name: str
    function: str                 # its name in ember's functional and in torch.nn.functional
    make: Callable                # make(rng) -> positional input arrays (targets may be int)
    differentiable: tuple         # positions of the inputs whose gradients are compared
    options: tuple = (("plain", {}),)         # (id, keyword arguments; arrays -> tensors)
    reductions: tuple = ("mean", "sum", "none")


REGRESSION_OPTIONS = (("plain", {}), ("weight", {"weight": ELEMENT_WEIGHT}))
CE_OPTIONS = (("plain", {}), ("weight", {"weight": CLASS_WEIGHT}),
              ("smoothing", {"label_smoothing": 0.2}),
              ("weight+smoothing", {"weight": CLASS_WEIGHT, "label_smoothing": 0.3}))
SPECS = [
    LossSpec("mse_loss", "mse_loss", regression_pair, (0, 1), REGRESSION_OPTIONS),
    LossSpec("l1_loss", "l1_loss", regression_pair, (0, 1), REGRESSION_OPTIONS),
    LossSpec("huber_loss", "huber_loss", regression_pair, (0, 1),
             (("delta=1", {}), ("delta=0.5", {"delta": 0.5}),
              ("delta=2+weight", {"delta": 2.0, "weight": ELEMENT_WEIGHT}))),
    LossSpec("smooth_l1_loss", "smooth_l1_loss", regression_pair, (0, 1),
             (("beta=1", {}), ("beta=0.5", {"beta": 0.5}), ("beta=0", {"beta": 0.0}))),
    LossSpec("gaussian_nll", "gaussian_nll_loss", gaussian((4, 5)), (0, 1, 2),
             (("plain", {}), ("full", {"full": True}))),
    LossSpec("gaussian_nll_var_per_sample", "gaussian_nll_loss", gaussian((4,)), (0, 2)),
    LossSpec("gaussian_nll_var_size_1", "gaussian_nll_loss", gaussian((4, 1)), (0, 2)),
    LossSpec("gaussian_nll_var_number", "gaussian_nll_loss", regression_pair, (0, 1),
             (("var=0.7", {"var": 0.7}),)),
    LossSpec("kl_div", "kl_div", kl_pair, (0,),
             reductions=("mean", "sum", "none", "batchmean")),
    LossSpec("kl_div_log_target", "kl_div", kl_log_pair, (0, 1),
             (("log_target", {"log_target": True}),), ("batchmean", "sum", "none")),
    LossSpec("bce_soft_target", "binary_cross_entropy", soft_probabilities_and_targets,
             (0, 1)),
    LossSpec("binary_cross_entropy", "binary_cross_entropy", probabilities_and_targets,
             (0,), (("plain", {}), ("weight", {"weight": ELEMENT_WEIGHT}),
                      ("weight_broadcast", {"weight": COLUMN_WEIGHT}))),
    LossSpec("bce_with_logits", "binary_cross_entropy_with_logits", logits_and_targets,
             (0, 1), (("plain", {}), ("weight", {"weight": ROW_WEIGHT}),
                      ("pos_weight", {"pos_weight": COLUMN_WEIGHT}),
                      ("both", {"weight": ELEMENT_WEIGHT, "pos_weight": COLUMN_WEIGHT}))),
    LossSpec("cross_entropy", "cross_entropy", class_indices((6, 5), 5), (0,), CE_OPTIONS),
    # no target ignored: the fused single-node path (the one above masks the ignored rows)
    LossSpec("cross_entropy_all_counted", "cross_entropy", class_indices((7, 5), 5, False),
             (0,)),
    LossSpec("cross_entropy_ignore_class", "cross_entropy",
             class_indices((6, 5), 5, ignored=False), (0,),
             (("ignore=2", {"ignore_index": 2}),
              ("ignore=2+weight+smoothing",
               {"ignore_index": 2, "weight": CLASS_WEIGHT, "label_smoothing": 0.1}))),
    LossSpec("cross_entropy_kdim", "cross_entropy", class_indices((3, 4, 2, 3), 4), (0,),
             (("plain", {}), ("weight+smoothing",
                              {"weight": CLASS_WEIGHT_4, "label_smoothing": 0.25}))),
    LossSpec("cross_entropy_unbatched", "cross_entropy", class_indices((5,), 5, False), (0,),
             CE_OPTIONS),
    LossSpec("cross_entropy_probs", "cross_entropy", class_probabilities((6, 5)), (0, 1),
             CE_OPTIONS),
    LossSpec("cross_entropy_probs_unbatched", "cross_entropy", class_probabilities((5,)),
             (0, 1), CE_OPTIONS),
    LossSpec("cross_entropy_probs_kdim", "cross_entropy", class_probabilities((3, 4, 2)),
             (0, 1), (("weight+smoothing",
                       {"weight": CLASS_WEIGHT_4, "label_smoothing": 0.1}),)),
    LossSpec("nll_loss", "nll_loss", log_probabilities((6, 5)), (0,),
             (("plain", {}), ("weight", {"weight": CLASS_WEIGHT}))),
    LossSpec("nll_loss_kdim", "nll_loss", log_probabilities((3, 4, 2, 3), ignored=False), (0,),
             (("plain", {}), ("weight+ignore=1", {"weight": CLASS_WEIGHT_4,
                                                  "ignore_index": 1}))),
]
CASES = [pytest.param(spec, reduction, options, id=f"{spec.name}-{reduction}-{option_id}")
         for spec in SPECS for reduction in spec.reductions
         for option_id, options in spec.options]


def as_tensors(lib, arrays, options, dtype, differentiable=()) -> tuple:
    """The inputs and options as `lib` tensors: floats in `dtype`, integers as they are."""
    def convert(a, requires_grad=False):
        if a.dtype.kind == "f":
            return lib.tensor(a.astype(dtype), requires_grad=requires_grad)
        return lib.tensor(a)
    inputs = [convert(a, i in differentiable) for i, a in enumerate(arrays)]
    kwargs = {k: convert(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    return inputs, kwargs


def quietly(function, *args, **kwargs):
    """Call without kl_div's warning about reduction='mean' (tested on its own below)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return function(*args, **kwargs)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec, reduction, options", CASES)
def test_forward_and_gradient_match_pytorch(spec, reduction, options, dtype, torch):
    arrays = spec.make(rng_for(spec.name))
    ours, our_options = as_tensors(ember, arrays, options, dtype, spec.differentiable)
    theirs, their_options = as_tensors(torch, arrays, options, dtype,
                                       spec.differentiable)
    out = quietly(ember_loss(spec.function), *ours, reduction=reduction, **our_options)
    expected = quietly(getattr(torch.nn.functional, spec.function), *theirs,
                       reduction=reduction, **their_options)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    assert out.dtype == getattr(ember, dtype), "the loss changed the input's dtype"
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    upstream = rng_for(spec.name + "upstream").standard_normal(tuple(expected.shape))
    (out * ember.tensor(upstream.astype(dtype))).sum().backward()
    (expected * torch.tensor(upstream.astype(dtype))).sum().backward()
    for i in spec.differentiable:
        assert ours[i].grad is not None, f"input {i} got no gradient"
        assert ours[i].grad.dtype == getattr(ember, dtype)
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), **tol,
                                   err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("spec, reduction, options", CASES)
def test_gradient_matches_central_differences(spec, reduction, options):
    arrays = spec.make(rng_for(spec.name))
    inputs, kwargs = as_tensors(ember, arrays, options, "float64", spec.differentiable)
    function = ember_loss(spec.function)
    assert gradcheck(lambda *xs: quietly(function, *xs, reduction=reduction, **kwargs),
                     inputs)


# --- stability -----------------------------------------------------------------------------

EXTREME_LOGITS = np.array([-1000.0, -60.0, -1.0, 0.0, 1.0, 60.0, 1000.0])


def compare_with_torch(torch, ember_call, torch_call, arrays, dtype, differentiable=(0,)):
    """Run both on the same inputs (ours raising on any NumPy warning); check that the
    outputs and gradients match, and return ours."""
    ours, _ = as_tensors(ember, arrays, {}, dtype, differentiable)
    theirs, _ = as_tensors(torch, arrays, {}, dtype, differentiable)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # no overflow, no 0/0 in NumPy
        out = ember_call(*ours)
        out.sum().backward()
    expected = torch_call(*theirs)
    expected.sum().backward()
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    for i in differentiable:
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), **tol)
    return out, [ours[i].grad for i in differentiable]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("target", [0.0, 0.3, 1.0])
def test_bce_with_logits_is_exact_for_extreme_logits(dtype, target, torch):
    arrays = (EXTREME_LOGITS, np.full(EXTREME_LOGITS.shape, target), np.array([2.5]))
    out, grads = compare_with_torch(
        torch, lambda x, y, w: classification_losses.binary_cross_entropy_with_logits(
            x, y, reduction="none", pos_weight=w),
        lambda x, y, w: torch.nn.functional.binary_cross_entropy_with_logits(
            x, y, reduction="none", pos_weight=w), arrays, dtype)
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(grads[0].numpy()).all()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_entropy_is_finite_for_extreme_logits(dtype, torch):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [0.0, 0.0, 0.0]])
    arrays = (logits, np.array([1, 2, 0]))
    out, grads = compare_with_torch(
        torch, lambda x, y: classification_losses.cross_entropy(
            x, y, reduction="none", label_smoothing=0.1),
        lambda x, y: torch.nn.functional.cross_entropy(x, y, reduction="none",
                                                       label_smoothing=0.1), arrays, dtype)
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(grads[0].numpy()).all()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_binary_cross_entropy_at_probabilities_zero_and_one(dtype, torch):
    # log is clamped at -100 in the value; the slope (p - y)/max(p(1 - p), 1e-12) is large
    # but finite, exactly as PyTorch computes it
    arrays = (np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 1.0]))
    out, grads = compare_with_torch(
        torch, lambda p, y: classification_losses.binary_cross_entropy(p, y, reduction="none"),
        lambda p, y: torch.nn.functional.binary_cross_entropy(p, y, reduction="none"),
        arrays, dtype)
    np.testing.assert_allclose(out.detach().numpy(), [0, 0, 100, 100, np.log(2)], rtol=1e-6)
    assert np.isfinite(grads[0].numpy()).all()


def test_binary_cross_entropy_target_gradient_at_zero_and_one_is_the_clamped_slope():
    # PyTorch gives +-inf here (it differentiates the unclamped logs); ours is the slope of
    # the value actually computed, which central differences confirm
    p = ember.tensor([0.0, 1.0, 0.0, 1.0, 0.3], dtype=ember.float64)
    y = ember.tensor([0.2, 0.6, 0.4, 0.8, 0.5], dtype=ember.float64, requires_grad=True)
    assert gradcheck(lambda t: classification_losses.binary_cross_entropy(p, t), (y,))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gaussian_nll_clamps_var_for_the_value_only(dtype, torch):
    arrays = (np.array([0.0, 1.0, 2.0, 0.5]), np.ones(4), np.array([1e-9, 0.0, 0.5, 1e-6]))
    compare_with_torch(
        torch, lambda x, y, v: losses.gaussian_nll_loss(x, y, v, reduction="none"),
        lambda x, y, v: torch.nn.functional.gaussian_nll_loss(x, y, v, reduction="none"),
        arrays, dtype, differentiable=(0, 2))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("function, options", [
    pytest.param("cross_entropy", {}, id="cross_entropy"),
    pytest.param("cross_entropy", {"weight": CLASS_WEIGHT_4}, id="cross_entropy-weight"),
    pytest.param("cross_entropy", {"label_smoothing": 0.2, "weight": CLASS_WEIGHT_4},
                 id="cross_entropy-weight+smoothing"),
    pytest.param("nll_loss", {}, id="nll_loss"),
    pytest.param("nll_loss", {"weight": CLASS_WEIGHT_4}, id="nll_loss-weight")])
def test_all_targets_ignored_match_pytorch(function, options, reduction, torch):
    arrays = (rng_for("ignored").standard_normal((3, 4)), np.full(3, -100))
    ours, our_options = as_tensors(ember, arrays, options, "float64", (0,))
    theirs, their_options = as_tensors(torch, arrays, options, "float64", (0,))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # nan by design, not by 0/0
        out = ember_loss(function)(*ours, reduction=reduction, **our_options)
        out.sum().backward()
    expected = getattr(torch.nn.functional, function)(*theirs, reduction=reduction,
                                                      **their_options)
    expected.sum().backward()
    if reduction == "mean":
        assert np.isnan(out.item()), "mean over no targets is 0/0, which PyTorch gives as nan"
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(ours[0].grad.numpy(), theirs[0].grad.numpy())


def test_mean_over_targets_of_zero_total_weight_is_nan_like_pytorch(torch):
    logits, target = rng_for("zero weight").standard_normal((3, 4)), np.array([0, 1, 0])
    weight = np.array([0.0, 0.0, 1.0, 1.0])
    out = classification_losses.cross_entropy(ember.tensor(logits), ember.tensor(target),
                                              ember.tensor(weight))
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                                 torch.tensor(weight))
    assert np.isnan(out.item()) and np.isnan(expected.item())


# --- errors and warnings -------------------------------------------------------------------


def t(*values, dtype=None):
    return ember.tensor(np.array(values) if dtype is None else np.array(values, dtype=dtype))


F_CE, F_NLL = classification_losses.cross_entropy, classification_losses.nll_loss
F_BCE = classification_losses.binary_cross_entropy
F_BCE_LOGITS = classification_losses.binary_cross_entropy_with_logits
LOGITS = ember.zeros(3, 4)
BAD_CALLS = [
    ("ce_target_length", lambda: F_CE(LOGITS, t(0, 1)), ember.ShapeError,
     ["cross_entropy", "(3, 4)", "(3,)", "(2,)"]),
    ("ce_target_column", lambda: F_CE(LOGITS, ember.zeros(3, 1, dtype=ember.int64)),
     ember.ShapeError, ["cross_entropy", "(3,)", "(3, 1)"]),
    ("ce_target_too_large", lambda: F_CE(LOGITS, t(0, 4, 1)), IndexError,
     ["cross_entropy", "target 4", "4 classes", "ignore_index=-100"]),
    ("ce_target_negative", lambda: F_CE(LOGITS, t(0, -1, 1)), IndexError, ["target -1"]),
    ("nll_target_out_of_range", lambda: F_NLL(LOGITS, t(0, 9, 1), ignore_index=9 - 1),
     IndexError, ["nll_loss", "target 9", "ignore_index=8"]),
    ("ce_float_labels", lambda: F_CE(LOGITS, t(0.0, 1.0, 2.0)), ember.DTypeError,
     ["cross_entropy", "float", "(3,)", "target.long()", "probabilities", "(3, 4)"]),
    ("nll_float_target", lambda: F_NLL(LOGITS, ember.zeros(3, 4)), ember.DTypeError,
     ["nll_loss", "float32", "(3, 4)", "integer", "(3,)"]),
    ("ce_class_weight_size", lambda: F_CE(LOGITS, t(0, 1, 2), weight=ember.ones(3)),
     ember.ShapeError, ["cross_entropy", "weight", "(4,)", "(3,)"]),
    ("ce_label_smoothing", lambda: F_CE(LOGITS, t(0, 1, 2), label_smoothing=1.5),
     ValueError, ["cross_entropy", "label_smoothing", "1.5"]),
    ("ce_probabilities_ignore", lambda: F_CE(LOGITS, ember.ones(3, 4) / 4, ignore_index=1),
     ValueError, ["cross_entropy", "ignore_index=1", "probabilit"]),
    ("ce_0d_input", lambda: F_CE(ember.tensor(1.0), ember.tensor(0)), ember.ShapeError,
     ["cross_entropy", "(N, C)", "0-d"]),
    ("ce_integer_input", lambda: F_CE(ember.zeros(3, 4, dtype=ember.int64), t(0, 1, 2)),
     ember.DTypeError, ["cross_entropy", "int64", "floating"]),
    ("ce_bad_reduction", lambda: F_CE(LOGITS, t(0, 1, 2), reduction="avg"), ValueError,
     ["cross_entropy", "'avg'", "'mean'", "'sum'", "'none'"]),
    ("mse_no_broadcast", lambda: losses.mse_loss(ember.zeros(3), ember.zeros(4)),
     ember.ShapeError, ["mse_loss", "(3,)", "(4,)", "same shape"]),
    ("mse_weight_shape", lambda: losses.mse_loss(ember.zeros(3), ember.zeros(3),
                                                 weight=ember.ones(1)),
     ember.ShapeError, ["mse_loss", "weight", "(1,)", "(3,)"]),
    ("mse_not_a_tensor", lambda: losses.mse_loss([1.0], ember.zeros(1)), TypeError,
     ["mse_loss", "list"]),
    ("huber_delta", lambda: losses.huber_loss(ember.zeros(2), ember.zeros(2), delta=0.0),
     ValueError, ["huber_loss", "delta", "positive"]),
    ("smooth_l1_beta", lambda: losses.smooth_l1_loss(ember.zeros(2), ember.zeros(2),
                                                     beta=-1.0),
     ValueError, ["smooth_l1_loss", "beta", "-1.0"]),
    ("bce_input_range", lambda: F_BCE(t(0.5, 1.5), t(0.0, 1.0)), ValueError,
     ["binary_cross_entropy", "input", "between 0 and 1", "1.5"]),
    ("bce_input_nan", lambda: F_BCE(t(0.5, np.nan), t(0.0, 1.0)), ValueError,
     ["binary_cross_entropy", "input", "nan"]),
    ("bce_target_range", lambda: F_BCE(t(0.5, 0.5), t(0.0, 2.0)), ValueError,
     ["binary_cross_entropy", "target", "2.0"]),
    ("bce_shape", lambda: F_BCE(ember.rand(3), ember.rand(3, 1)), ember.ShapeError,
     ["binary_cross_entropy", "(3, 1)", "(3,)"]),
    ("bce_weight_too_big", lambda: F_BCE(ember.rand(3), ember.rand(3), ember.ones(2, 3)),
     ember.ShapeError, ["binary_cross_entropy", "weight", "(2, 3)", "(3,)"]),
    ("bce_logits_pos_weight", lambda: F_BCE_LOGITS(ember.zeros(2, 3), ember.zeros(2, 3),
                                                   pos_weight=ember.ones(2)),
     ember.ShapeError, ["binary_cross_entropy_with_logits", "pos_weight", "(2,)", "(2, 3)"]),
    ("gaussian_negative_var", lambda: losses.gaussian_nll_loss(
        ember.zeros(3), ember.zeros(3), t(1.0, -0.5, 1.0)), ValueError,
     ["gaussian_nll_loss", "var", "non-negative", "-0.5"]),
    ("gaussian_var_shape", lambda: losses.gaussian_nll_loss(
        ember.zeros(3, 2), ember.zeros(3, 2), ember.ones(2)), ember.ShapeError,
     ["gaussian_nll_loss", "var", "(2,)", "(3, 2)"]),
    ("kl_div_shapes", lambda: losses.kl_div(ember.zeros(3), ember.zeros(4), reduction="sum"),
     ember.ShapeError, ["kl_div", "(3,)", "(4,)"]),
    ("kl_div_reduction", lambda: losses.kl_div(ember.zeros(3), ember.zeros(3),
                                               reduction="batch"),
     ValueError, ["kl_div", "'batchmean'", "'batch'"]),
    ("module_reduction", lambda: loss_modules.CrossEntropyLoss(reduction="meen"), ValueError,
     ["CrossEntropyLoss", "'meen'"]),
]


@pytest.mark.parametrize("call, error, fragments",
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_CALLS])
def test_bad_input_gets_a_clear_error(call, error, fragments):
    with pytest.raises(error) as caught:
        call()
    for fragment in fragments:
        assert fragment in str(caught.value), f"{fragment!r} missing from: {caught.value}"


@pytest.mark.parametrize("function", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
def test_shapes_that_only_broadcast_warn_like_pytorch(function, torch):
    # a (3,) prediction against a (3, 1) target silently makes a (3, 3) loss: both warn
    prediction, target = rng_for(function).standard_normal(3), np.arange(3.0).reshape(3, 1)
    with pytest.warns(UserWarning, match=r"\(3, 1\).*\(3,\).*\(3, 3\)"):
        out = ember_loss(function)(ember.tensor(prediction), ember.tensor(target))
    with pytest.warns(UserWarning):
        expected = getattr(torch.nn.functional, function)(torch.tensor(prediction),
                                                          torch.tensor(target))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_kl_div_warns_that_mean_is_not_batchmean():
    with pytest.warns(UserWarning, match="batchmean"):
        losses.kl_div(ember.zeros(2, 3), ember.ones(2, 3) / 3)


def test_legacy_size_average_and_reduce_match_pytorch(torch):
    x, y = rng_for("legacy").standard_normal((2, 3)), rng_for("legacy y").standard_normal((2, 3))
    for size_average, reduce in [(False, None), (None, False), (True, True)]:
        with pytest.warns(UserWarning, match="deprecated"):
            out = losses.mse_loss(ember.tensor(x), ember.tensor(y), size_average, reduce)
        with pytest.warns(UserWarning):
            expected = torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(y),
                                                    size_average, reduce)
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert loss_modules.NLLLoss(size_average=False).reduction == "sum"
