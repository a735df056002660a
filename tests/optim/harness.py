"""Run an ember optimizer and a PyTorch one side by side on the same problem: identical
starting parameters, and each step a gradient computed (in NumPy) from each side's own
current parameters, so that any difference in an update shows in every later step."""
from __future__ import annotations

import numpy as np

import ember
from tests.conftest import rng_for  # noqa: F401 - used by the tests too

# A matrix, a vector and a scalar, so shapes and 0-d parameters are both covered.
SHAPES = [(3, 4), (5,), ()]
STEPS = 20


def initial_values(dtype: str) -> list[np.ndarray]:
    rng = rng_for("optim-initial-values")
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def gradient(index: int, step: int, values: np.ndarray) -> np.ndarray:
    """d/dtheta of a shifted quadratic plus a fixed 'minibatch noise' for this step:
    curvature * (theta - target) + noise_step, with mixed signs and scales."""
    rng = rng_for(f"optim-gradient-{index}-{step}")
    shape = values.shape
    curvature = 0.5 + rng.random(shape)
    target = rng.standard_normal(shape)
    noise = 0.3 * rng.standard_normal(shape)
    return (curvature * (values.astype(np.float64) - target) + noise).astype(values.dtype)


def has_gradient(index: int, step: int) -> bool:
    """The scalar parameter gets no gradient every third step (its grad is None then),
    so skipping a parameter, and its own step count, are compared too."""
    return not (index == 2 and step % 3 == 2)


def make_pair(torch, dtype: str):
    values = initial_values(dtype)
    ours = [ember.nn.Parameter(ember.tensor(v.copy())) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    return ours, theirs


def set_gradients(torch, ours, theirs, step: int) -> None:
    for index, (p, q) in enumerate(zip(ours, theirs)):
        if has_gradient(index, step):
            p.grad = ember.tensor(gradient(index, step, p.detach().numpy()))
            q.grad = torch.tensor(gradient(index, step, q.detach().numpy()))
        else:
            p.grad, q.grad = None, None


def tolerance(dtype: str) -> dict:
    return {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-6, "atol": 1e-6}


def assert_same_values(ours, theirs, dtype: str, where: str) -> None:
    for index, (p, q) in enumerate(zip(ours, theirs)):
        assert p.dtype.name == dtype, f"{where}: parameter {index} became {p.dtype}"
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **tolerance(dtype),
                                   err_msg=f"{where}: parameter {index}")


def to_torch_state(torch, state_dict: dict) -> dict:
    """An ember optimizer state dict with every tensor converted to a torch tensor."""
    return _convert(state_dict, lambda t: torch.tensor(t.numpy().copy()), ember.Tensor)


def to_ember_state(torch, state_dict: dict) -> dict:
    """A torch optimizer state dict with every tensor converted to an ember tensor."""
    return _convert(state_dict, lambda t: ember.tensor(t.detach().numpy().copy()),
                    torch.Tensor)


def _convert(value, convert, tensor_type):
    if isinstance(value, tensor_type):
        return convert(value)
    if isinstance(value, dict):
        return {k: _convert(v, convert, tensor_type) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_convert(v, convert, tensor_type) for v in value)
    return value
