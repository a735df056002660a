"""Reverse-mode automatic differentiation: backpropagation through the recorded graph.

The whole algorithm, as in the lecture:
  1. order the graph so that every node comes before the nodes that fed it;
  2. seed the output's gradient (ones for a scalar loss);
  3. walk the order, giving each node the sum of the gradients that reached its output and
     letting it apply the chain rule (its backward) to pass gradients to its inputs;
  4. accumulate the gradients that reach leaf tensors into their `.grad`.
"""
from __future__ import annotations

import weakref

import numpy as np

from ember.errors import GraphError
from ember.tensor import Tensor


def topological_order(roots) -> list:
    """Nodes reachable from `roots`, each before every node it consumes (outputs first).

    Iterative depth-first search, so a chain of any length fits; deterministic, because
    inputs are visited in the order the op received them.
    """
    post_order, visited = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:              # every node that fed `node` is already in the order
            post_order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for x, need in zip(node.parents, node.needs_input_grad):
            if need and x._ctx is not None and x._ctx not in visited:
                stack.append((x._ctx, False))
    post_order.reverse()
    return post_order


def sum_to_shape(grad, shape: tuple, node=None):
    """Undo broadcasting: sum a gradient over the axes that broadcasting added or stretched,
    so that it has `shape` again. This is the only place ember un-broadcasts."""
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise GraphError(f"{node!r} returned a gradient of shape {grad.shape} for an input "
                         f"of shape {shape}; it should broadcast to the input's shape")
    stretched = tuple(extra + i for i, n in enumerate(shape)
                      if n == 1 and grad.shape[extra + i] != 1)
    if not stretched:  # only leading dimensions were added (a bias, say)
        return grad.sum(axis=tuple(range(extra)))
    return grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True).reshape(shape)


def run_backward(roots, seeds, retain_graph: bool = False, inputs=None):
    """Backpropagate `seeds` (the gradients of `roots`) through the graph.

    Without `inputs`, gradients of leaf tensors are accumulated into their `.grad`.
    With `inputs` (a sequence of tensors), nothing is accumulated: the gradient of each
    input is returned instead (None where none reached it), as `ember.autograd.grad` does.
    """
    node_grads: dict = {}      # node -> gradient of the tensor it produced (summed)
    leaf_grads: dict = {}      # leaf tensor -> its gradient (summed)
    # arrays that someone else may hold too, by id (the arrays themselves are kept, so that
    # no other array can get their id): the seeds, and the gradients that a backward passed
    # on unchanged (a hook or the caller may hold those)
    passed_on: dict = {}
    for root, seed in zip(roots, seeds):
        passed_on[id(seed)] = seed
        _add(leaf_grads if root._ctx is None else node_grads,
             root if root._ctx is None else root._ctx, seed)
    wanted = _capture_targets(inputs)
    captured: dict = {}

    for node in topological_order([r._ctx for r in roots if r._ctx is not None]):
        grad = node_grads.pop(node, None)
        if grad is not None:
            if node.saved is None:
                raise GraphError(f"{node!r}: trying to backward through the graph a second "
                                 "time (its saved arrays were freed after the first "
                                 "backward). Pass retain_graph=True to the first backward() "
                                 "to do that.")
            if node.hooks:
                grad = _run_tensor_hooks(node.hooks, grad)
            if node.retained is not None:
                _store_retained(node.retained(), grad)
            if node in wanted:
                captured[node] = grad
            # the chain rule: the node turns dL/d(output) into dL/d(each input)
            input_grads = type(node).backward(node, grad)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            for x, need, input_grad in zip(node.parents, node.needs_input_grad, input_grads):
                if need and input_grad is not None:
                    if input_grad is grad:
                        passed_on[id(grad)] = grad
                    data = x._data
                    if input_grad.shape != data.shape:
                        input_grad = sum_to_shape(input_grad, data.shape, node)
                    if input_grad.dtype != data.dtype:
                        input_grad = input_grad.astype(data.dtype)
                    # accumulate: a tensor used in several places gets the sum of their
                    # gradients (written out here, not called: this runs for every edge)
                    grads, key = (leaf_grads, x) if x._ctx is None else (node_grads, x._ctx)
                    previous = grads.get(key)
                    grads[key] = input_grad if previous is None else previous + input_grad
        if not retain_graph:
            node.release()

    if inputs is not None:
        for leaf, grad in leaf_grads.items():
            captured[leaf] = _run_tensor_hooks(leaf._hooks, grad)
        return tuple(_captured_tensor(captured, x) for x in inputs)
    _accumulate_into_leaves(leaf_grads.items(), passed_on)
    return None


def _add(grads: dict, key, grad) -> None:
    """Accumulate: a tensor used in several places gets the sum of their gradients."""
    previous = grads.get(key)
    grads[key] = grad if previous is None else previous + grad


def _accumulate_into_leaves(entries, passed_on: dict) -> None:
    """Add each leaf's gradient to its `.grad`. A leaf's first gradient becomes its `.grad`
    without a copy when no one else can hold that array: not a view, not a seed or a
    gradient that a backward passed on unchanged, not the gradient of another leaf too.
    (Fresh gradients are the rule: a Linear weight's is 4 MB in a CIFAR-style network.)"""
    entries = list(entries)
    holders: dict = {}
    for _, grad in entries:
        holders[id(grad)] = holders.get(id(grad), 0) + 1
    for leaf, grad in entries:
        hooked = _run_tensor_hooks(leaf._hooks, grad) if leaf._hooks else grad
        if leaf.grad is None:
            shared = (hooked is not grad or grad.base is not None
                      or id(grad) in passed_on or holders[id(grad)] > 1)
            leaf.grad = Tensor._make(np.array(hooked) if shared else _as_array(hooked))
        else:
            leaf.grad._data = leaf.grad._data + hooked


def _capture_targets(inputs) -> set:
    return set() if inputs is None else {x._ctx for x in inputs if x._ctx is not None}


def _captured_tensor(captured: dict, x):
    grad = captured.get(x._ctx if x._ctx is not None else x)
    return None if grad is None else Tensor._make(np.array(grad))


def _as_array(grad):
    return np.asarray(grad) if isinstance(grad, np.generic) else grad


def _run_tensor_hooks(hooks, grad):
    """Call a tensor's hooks on its gradient; a hook may return a replacement."""
    if hooks:
        for hook in hooks:
            replaced = hook(Tensor._make(grad))
            if replaced is not None:
                grad = replaced._data
    return grad


def _store_retained(tensor, grad) -> None:
    if tensor is None:
        return
    if tensor.grad is None:
        tensor.grad = Tensor._make(np.array(grad))
    else:
        tensor.grad._data = tensor.grad._data + grad


def retain_grad(tensor) -> None:
    """Keep the gradient of a non-leaf tensor in `.grad` during backward."""
    tensor._ctx.retained = weakref.ref(tensor)
