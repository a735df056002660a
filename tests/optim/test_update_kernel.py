"""The compiled optimizer updates (ember/ops/update_kernel.c) against the NumPy code they
replace (ember/optim/sgd.py and adam.py with the kernels switched off): the same bits, step
after step, for every option they cover; the cases they leave to NumPy; their input checks."""
from __future__ import annotations


import numpy as np
import pytest

import ember
from ember.ops import compiled
from ember.ops.compiled import use_kernels
from tests.kernels import skip_unless_kernels_built

skip_unless_kernels_built()

SGD_OPTIONS = [dict(momentum=0.0), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
               dict(momentum=0.5, dampening=0.3), dict(momentum=0.9, weight_decay=1e-2),
               dict(weight_decay=0.1, maximize=True), dict(momentum=0.9, maximize=True)]
ADAM_OPTIONS = [dict(), dict(betas=(0.8, 0.99), eps=1e-6), dict(weight_decay=1e-2),
                dict(weight_decay=1e-2, decoupled_weight_decay=True), dict(maximize=True),
                dict(lr=1e-1, weight_decay=0.5, maximize=True)]


def trajectory(optimizer_class, options: dict, kernels: bool, dtype=np.float32,
               steps: int = 5) -> list:
    """The parameters after each of `steps` updates with fixed pseudo-random gradients."""
    rng = np.random.default_rng(0)
    params = [ember.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in [(7, 5), (5,), ()]]
    optimizer = optimizer_class(params, **{"lr": 0.05, **options})
    history = []
    with use_kernels(kernels):
        for _ in range(steps):
            for p in params:
                p.grad = ember.tensor(rng.standard_normal(p.shape).astype(dtype))
            optimizer.step()
            history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_gives_the_numpy_updates_bit_for_bit(options):
    compiled_run = trajectory(ember.optim.SGD, options, kernels=True)
    numpy_run = trajectory(ember.optim.SGD, options, kernels=False)
    for step, (got, expected) in enumerate(zip(compiled_run, numpy_run)):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("optimizer_class, options",
                         [(ember.optim.Adam, options) for options in ADAM_OPTIONS]
                         + [(ember.optim.AdamW, options) for options in ADAM_OPTIONS
                            if "decoupled_weight_decay" not in options], ids=str)
def test_adam_gives_the_numpy_updates_bit_for_bit(optimizer_class, options):
    compiled_run = trajectory(optimizer_class, options, kernels=True)
    numpy_run = trajectory(optimizer_class, options, kernels=False)
    for step, (got, expected) in enumerate(zip(compiled_run, numpy_run)):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b, err_msg=f"step {step + 1}")


def test_switching_paths_mid_run_keeps_the_state():
    # a run that alternates between the two paths equals either one: same state, same math
    mixed, rng = [], np.random.default_rng(1)
    param = ember.tensor(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    optimizer = ember.optim.Adam([param], lr=0.1)
    for step in range(6):
        param.grad = ember.tensor(np.full(6, step - 2.5, np.float32))
        with use_kernels(step % 2 == 0):
            optimizer.step()
        mixed.append(param.detach().numpy().copy())
    reference, rng = [], np.random.default_rng(1)
    param = ember.tensor(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    optimizer = ember.optim.Adam([param], lr=0.1)
    with use_kernels(False):
        for step in range(6):
            param.grad = ember.tensor(np.full(6, step - 2.5, np.float32))
            optimizer.step()
            reference.append(param.detach().numpy().copy())
    np.testing.assert_array_equal(np.array(mixed), np.array(reference))


def test_other_cases_take_the_numpy_path():
    float32 = np.zeros(4, np.float32)
    assert compiled.update_kernel(float32, float32) is not None
    assert compiled.update_kernel(float32, np.zeros(4)) is None             # float64
    assert compiled.update_kernel(np.zeros((4, 4), np.float32).T[::2]) is None   # strided
    assert compiled.update_kernel(float32, [0.0] * 4) is None               # not an array
    with use_kernels(False):
        assert compiled.update_kernel(float32, float32) is None


class Refusing:
    """Stands in for the compiled module: any call fails the test."""
    def __getattr__(self, name):
        raise AssertionError(f"the compiled {name} was called")


@pytest.mark.parametrize("optimizer_class, options, dtype, compiled_use", [
    (ember.optim.Adam, dict(amsgrad=True), np.float32, False),
    (ember.optim.SGD, dict(momentum=0.9), np.float64, False),
    (ember.optim.Adam, dict(), np.float32, True),        # the stand-in is really asked
])
def test_which_steps_use_the_kernel(monkeypatch, optimizer_class, options, dtype,
                                    compiled_use):
    monkeypatch.setattr(compiled, "_update_kernel", Refusing())
    if compiled_use:
        with pytest.raises(AssertionError, match="the compiled adam was called"):
            trajectory(optimizer_class, options, kernels=True, dtype=dtype, steps=1)
    else:
        trajectory(optimizer_class, options, kernels=True, dtype=dtype, steps=2)


def test_bad_buffers_are_refused_before_anything_is_written():
    kernel = compiled.update_kernel(np.zeros(1, np.float32))
    param, grad = np.ones(6, np.float32), np.ones(6, np.float32)
    with pytest.raises(ValueError, match=r"update kernel: grad must hold 6 float32 values "
                                         r"\(the parameter's\), got 20 bytes"):
        kernel.sgd(param, grad[:5], None, 0.1, 0.0, 1.0, 0.0, False, False, False)
    with pytest.raises(ValueError, match=r"update kernel: exp_avg_sq is not a writable "
                                         r"C-contiguous buffer"):
        kernel.adam(param, grad, np.zeros(6, np.float32), np.zeros(12, np.float32)[::2],
                    0.1, 0.1, 0.999, 0.001, 1e-8, 1.0, 0.0, 1.0, False)
    np.testing.assert_array_equal(param, 1)      # nothing was written
