"""The backpropagation engine: graph shapes, accumulation, graph release, hooks, grad mode."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import ember
from ember.autograd import Function


def leaf(*values, dtype=ember.float64):
    return ember.tensor(list(values), dtype=dtype, requires_grad=True)


def test_lecture_worked_example():
    """x = (2, -1), w1 = 1.5, w2 = 2, b1 = 3, ReLU hidden unit, w3 = 2.5, b2 = -2, y = 6,
    squared loss: y_hat = 8, loss = 4, dL/dw3 = 16, dL/dw1 = 20, dL/db1 = 10."""
    x = ember.tensor([2.0, -1.0])
    w1, w2, b1 = (ember.tensor(v, requires_grad=True) for v in (1.5, 2.0, 3.0))
    w3, b2 = (ember.tensor(v, requires_grad=True) for v in (2.5, -2.0))
    hidden = ember.relu(w1 * x[0] + w2 * x[1] + b1)
    y_hat = w3 * hidden + b2
    loss = (y_hat - 6.0) ** 2
    loss.backward()
    assert y_hat.item() == 8.0
    assert loss.item() == 4.0
    assert w3.grad.item() == 16.0
    assert w1.grad.item() == 20.0
    assert b1.grad.item() == 10.0
    assert w2.grad.item() == -10.0          # dL/dh = 10, times x2 = -1
    assert b2.grad.item() == 4.0


def test_diamond_graph_sums_both_paths():
    x = leaf(0.3, -1.2)
    y = x * 2.0
    z = y.exp() + y.sin()                  # two paths from y
    z.sum().backward()
    expected = 2.0 * (np.exp(2 * x.detach().numpy()) + np.cos(2 * x.detach().numpy()))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


def test_tensor_used_twice_in_one_op():
    x = leaf(3.0, -2.0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, -4.0])


def test_same_leaf_in_add_gets_both_gradients():
    x = leaf(1.0)
    (x + x + x).backward()
    assert x.grad.item() == 3.0


def test_grad_accumulates_across_backward_calls():
    x = leaf(2.0)
    (x ** 2).backward()
    (x ** 3).backward()
    assert x.grad.item() == 4.0 + 12.0


def test_zeroing_grad_between_calls():
    x = leaf(2.0)
    (x ** 2).backward()
    x.grad = None
    (x * 5).backward()
    assert x.grad.item() == 5.0


def test_graph_is_freed_and_second_backward_raises():
    x = leaf(1.0, 2.0)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(ember.GraphError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_backward_through_a_partly_freed_graph_raises():
    x = leaf(0.5)
    shared = x.exp()
    (shared * 2).backward()
    with pytest.raises(ember.GraphError, match="second time"):
        (shared * 3).backward()


def test_a_chain_of_ten_thousand_ops_backpropagates():
    x = leaf(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_a_long_chain_of_mixed_ops():
    x = leaf(0.1)
    y = x
    for i in range(3_000):
        y = (y + 0.001).tanh() if i % 2 else y * 1.001
    y.backward()
    assert np.isfinite(x.grad.item()) and x.grad.item() > 0


def test_intermediate_activations_are_freed_after_backward():
    """Backward releases what the graph saved: an activation the user dropped is freed
    even while the loss (the graph's root) is still alive."""
    x = ember.randn(100, 100, requires_grad=True)
    hidden = x.tanh()
    watch = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert watch() is not None, "the graph should keep the activation until backward"
    loss.backward()
    assert watch() is None, "backward should release the activation (no reference cycles)"


def test_nodes_are_not_kept_alive_by_reference_cycles():
    gc.disable()
    try:
        x = ember.randn(3, requires_grad=True)
        y = x.exp() * 2
        watch = weakref.ref(y.grad_fn)
        del y
        assert watch() is None
    finally:
        gc.enable()


def test_backward_is_deterministic():
    def run():
        ember.manual_seed(3)
        w = ember.randn(20, 10, requires_grad=True)
        x = ember.randn(8, 20)
        h = (x @ w).tanh()
        loss = (h * h.softmax(1)).sum() + h.logsumexp(1).mean()
        loss.backward()
        return w.grad.numpy().copy()

    assert np.array_equal(run(), run())


def test_non_scalar_backward_needs_a_gradient():
    x = leaf(1.0, 2.0)
    y = x * 3
    with pytest.raises(ember.GraphError, match="non-scalar output of shape"):
        y.backward()
    y.backward(ember.tensor([1.0, -1.0], dtype=ember.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, -3.0])


def test_backward_inputs_restricts_accumulation():
    a, b = leaf(1.0), leaf(2.0)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0
    assert b.grad is None


def test_autograd_grad_returns_without_accumulating():
    x, y = leaf(3.0), leaf(4.0)
    gx, gy = ember.autograd.grad((x * y) ** 2, [x, y])
    assert gx.item() == 2 * 12 * 4 and gy.item() == 2 * 12 * 3
    assert x.grad is None and y.grad is None


def test_autograd_grad_of_a_non_leaf():
    x = leaf(0.5)
    h = x * 4
    (gh,) = ember.autograd.grad(h.sin(), h)
    assert gh.item() == pytest.approx(np.cos(2.0))


def test_autograd_grad_unused_input():
    x, unused = leaf(1.0), leaf(2.0)
    with pytest.raises(ember.GraphError, match="not used"):
        ember.autograd.grad(x * 2, [x, unused])
    gx, none = ember.autograd.grad(x * 2, [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and none is None


def test_gradients_of_different_leaves_never_share_memory():
    """add passes one gradient array to both inputs; each leaf must own its .grad."""
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (a + b).sum().backward()
    a.grad.mul_(10)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_a_seed_gradient_is_not_aliased_by_grad():
    x = leaf(1.0, 2.0)
    seed = ember.tensor([5.0, 6.0], dtype=ember.float64)
    x.backward(seed)
    x.grad.zero_()
    np.testing.assert_array_equal(seed.numpy(), [5.0, 6.0])


class PassThrough(Function):
    """y = x; backward hands the incoming gradient array on as it is."""
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad):
        return grad


class FreshGradient(Function):
    """y = 2x; backward makes a new array for dL/dx, the last of which a test can see."""
    last = None

    def forward(ctx, x):
        return 2 * x

    def backward(ctx, grad):
        FreshGradient.last = 2 * np.asarray(grad)    # the one before is freed
        return FreshGradient.last


def test_a_gradient_handed_on_unchanged_is_copied_into_grad():
    x = leaf(1.0, 2.0)
    seed = ember.tensor([5.0, 6.0], dtype=ember.float64)
    PassThrough.apply(x).backward(seed)
    x.grad.zero_()                       # e.g. clip_grad_norm_ scales .grad in place
    np.testing.assert_array_equal(seed.numpy(), [5.0, 6.0])


def test_a_gradient_a_hook_has_seen_is_copied_into_grad():
    x, seen = leaf(1.0, 2.0), []
    y = PassThrough.apply(x)
    y.register_hook(lambda grad: seen.append(grad))
    y.sum().backward()
    x.grad.mul_(3.0)
    np.testing.assert_array_equal(seen[0].numpy(), [1.0, 1.0])


def test_a_fresh_gradient_becomes_grad_without_a_copy():
    # the arrays handed on along the chain are freed as it goes, and a new array can get a
    # freed one's id: the fresh gradient of x must not be taken for a handed-on one
    for _ in range(20):
        x = leaf(1.0, 2.0, 3.0)
        FreshGradient.apply(FreshGradient.apply(FreshGradient.apply(x))).sum().backward()
        assert x.grad._data is FreshGradient.last
        np.testing.assert_array_equal(x.grad.numpy(), [8.0, 8.0, 8.0])


def test_view_gradients_are_copied_into_grad():
    a, b = leaf(1.0, 2.0, 3.0, 4.0), leaf(1.0, 1.0, 1.0, 1.0)
    (a.reshape(2, 2) + b.reshape(2, 2)).sum().backward()
    a.grad.add_(1.0)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0] * 4)


def test_broadcast_gradient_is_summed_to_the_input_shape():
    bias = leaf(0.0, 0.0, 0.0)
    x = ember.ones(5, 3, dtype=ember.float64)
    (x + bias).sum().backward()
    assert bias.grad.shape == (3,)
    np.testing.assert_array_equal(bias.grad.numpy(), [5.0, 5.0, 5.0])


def test_mixed_precision_gradient_comes_back_in_the_leaf_dtype():
    w = ember.ones(3, requires_grad=True)                     # float32
    x = ember.ones(3, dtype=ember.float64)
    (w * x).sum().backward()
    assert w.grad.dtype == ember.float32


def test_detach_stops_the_gradient():
    x = leaf(2.0)
    y = x * x.detach()
    y.backward()
    assert x.grad.item() == 2.0


def test_no_grad_records_nothing_and_enable_grad_restores():
    x = leaf(1.0)
    with ember.no_grad():
        y = x * 2
        with ember.enable_grad():
            z = x * 3
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_leaf_hook_sees_the_total_gradient_once_and_can_replace_it():
    x = leaf(1.0)
    seen = []

    def hook(grad):
        seen.append(grad.item())
        return grad * 10

    x.register_hook(hook)
    (x * 2 + x * 3).backward()
    assert seen == [5.0]
    assert x.grad.item() == 50.0


def test_non_leaf_hook_and_its_removal():
    x = leaf(1.0)
    seen = []
    h = x * 2
    handle = h.register_hook(lambda g: seen.append(g.item()))
    (h * 3 + h).backward(retain_graph=True)
    assert seen == [4.0]
    handle.remove()
    (h * 3 + h).backward()
    assert seen == [4.0]


def test_a_hook_that_replaces_a_non_leaf_gradient_changes_upstream():
    x = leaf(1.0)
    h = x * 2
    h.register_hook(lambda g: g * 0)
    (h * 5).backward()
    assert x.grad.item() == 0.0


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf(1.0, 2.0)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h ** 2).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])
    assert h.grad.shape == h.shape


def test_outputs_of_integer_ops_do_not_require_grad():
    x = leaf(1.0, 3.0, 2.0)
    assert not x.argmax().requires_grad
    assert not (x > 1).requires_grad
    assert not x.long().requires_grad


class WronglyDifferentiatedSquare(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x                      # should be 2x


class PyTorchStyleCube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * grad


def test_custom_function_written_like_pytorch():
    x = leaf(2.0)
    PyTorchStyleCube.apply(x).backward()
    assert x.grad.item() == 12.0
    assert ember.autograd.gradcheck(PyTorchStyleCube.apply, (leaf(0.7, -1.3),))


def test_gradcheck_names_the_input_and_the_worst_element():
    x = leaf(0.5, -1.0, 2.0)
    with pytest.raises(ember.autograd.GradcheckError,
                       match=r"input 0 .*element \(2,\): analytic .* vs numerical"):
        ember.autograd.gradcheck(WronglyDifferentiatedSquare.apply, (x,))
    assert not ember.autograd.gradcheck(WronglyDifferentiatedSquare.apply, (x,),
                                        raise_exception=False)


def test_gradcheck_on_large_inputs_uses_directions_and_still_locates_errors():
    big = ember.randn(30, 30, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: (t.tanh() @ t).sum(1), (big,))
    with pytest.raises(ember.autograd.GradcheckError, match="element"):
        ember.autograd.gradcheck(WronglyDifferentiatedSquare.apply, (big,))


def test_gradcheck_warns_for_float32_inputs():
    x = ember.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="not float64"):
        ember.autograd.gradcheck(ember.tanh, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradcheck_checks_every_input_of_a_multi_output_function():
    a, b = leaf(0.3, 0.4), leaf(1.5, -0.5)
    assert ember.autograd.gradcheck(lambda p, q: (p * q, p.exp() + q), (a, b))
