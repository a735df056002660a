"""The entry points to backpropagation: `backward()` (accumulate into `.grad`) and
`grad()` (return gradients), with their argument checks; the engine does the work."""
from __future__ import annotations

from ember import backend
from ember.autograd import engine
from ember.errors import GraphError, ShapeError
from ember.tensor import Tensor


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _seeds(op: str, outputs: list, grad_outputs) -> list:
    """The starting gradients: ones for one-element outputs, else what the caller gave."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_list(grad_outputs) if not isinstance(grad_outputs, (list, tuple)) \
            else list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{op}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    seeds = []
    for i, (out, given) in enumerate(zip(outputs, grad_outputs)):
        if not out._requires_grad:
            raise GraphError(f"{op}: output {i} does not require grad and has no grad_fn "
                             "(was it computed under no_grad, or from tensors that do not "
                             "require grad?)")
        data = out._data
        if given is None:
            if data.size != 1:
                raise GraphError(
                    f"{op}: a gradient is needed for a non-scalar output of shape "
                    f"{tuple(data.shape)} (grad can be created implicitly only for outputs "
                    f"with one element); call loss.sum().backward() or pass "
                    f"gradient=ember.ones_like(output)")
            one = backend.get_array_module(data).array(1, dtype=data.dtype)
            seeds.append(one.reshape(data.shape))      # cheaper than ones_like
            continue
        given_data = given._data if isinstance(given, Tensor) else backend.as_array(given)
        if given_data.shape != data.shape:
            raise ShapeError(f"{op}: the gradient has shape {tuple(given_data.shape)} but the "
                             f"output has shape {tuple(data.shape)}")
        seeds.append(given_data.astype(data.dtype, copy=False))
    return seeds


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate d(tensors)/d(leaf) into the `.grad` of every leaf that requires grad
    (only of `inputs`, when given)."""
    if create_graph:
        raise NotImplementedError("backward: create_graph=True (higher-order gradients) is "
                                  "not supported; ember computes first-order gradients")
    outputs = _as_list(tensors)
    seeds = _seeds("backward", outputs, grad_tensors)
    if inputs is None:
        engine.run_backward(outputs, seeds, retain_graph=bool(retain_graph))
        return
    inputs = _as_list(inputs)
    grads = engine.run_backward(outputs, seeds, bool(retain_graph), inputs=inputs)
    for x, g in zip(inputs, grads):
        if g is None:
            continue
        if x.grad is None:
            x.grad = g
        else:
            x.grad._data = x.grad._data + g._data


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, returned (not accumulated).

    Example:
        >>> x = ember.tensor(3.0, requires_grad=True)
        >>> ember.autograd.grad(x ** 2, x)
        (tensor(6.),)
    """
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (higher-order gradients) is not "
                                  "supported; ember computes first-order gradients")
    outputs, inputs_list = _as_list(outputs), _as_list(inputs)
    for i, x in enumerate(inputs_list):
        if not x._requires_grad:
            raise GraphError(f"grad: input {i} does not require grad")
    seeds = _seeds("grad", outputs, grad_outputs)
    grads = engine.run_backward(outputs, seeds, bool(retain_graph), inputs=inputs_list)
    if not allow_unused:
        for i, g in enumerate(grads):
            if g is None:
                raise GraphError(f"grad: input {i} was not used to compute the outputs "
                                 "(pass allow_unused=True to get None for it)")
    return grads
