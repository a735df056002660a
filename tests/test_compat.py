"""What PyTorch scripts ask of the library besides tensors: threads, accelerators, backend
flags, typed constructors."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def test_set_num_threads_changes_the_blas_thread_count():
    pytest.importorskip("threadpoolctl")
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
    finally:
        ember.set_num_threads(before)
    assert ember.get_num_threads() == before
    with pytest.raises(ValueError, match="positive"):
        ember.set_num_threads(0)


def test_device_queries_say_cpu_only_without_a_gpu():
    assert ember.backends.mps.is_available() is False
    if not ember.cuda.is_available():
        assert ember.accelerator.is_available() is False
        assert ember.accelerator.current_accelerator() is None
        assert ember.cuda.device_count() == 0


def test_cudnn_flags_and_determinism_switches_are_accepted():
    ember.backends.cudnn.benchmark = True
    ember.backends.cudnn.benchmark = False
    ember.use_deterministic_algorithms(True)
    assert ember.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor"])
def test_typed_constructors_match_pytorch(name, torch):
    ours, theirs = getattr(ember, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
    assert ours.dtype.name == str(theirs.dtype).rpartition(".")[2]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tuple(getattr(ember, name)(2, 3).shape) == (2, 3)


def test_decision_boundary_draws_into_a_given_panel(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    figure = Figure()
    left, right = figure.subplots(1, 2)
    model = ember.nn.Linear(2, 3)
    x, y = ember.randn(20, 2), ember.randint(0, 3, (20,))
    assert ember.viz.plot_decision_boundary(model, x, y, ax=right) is figure
    assert right.collections and not left.collections
