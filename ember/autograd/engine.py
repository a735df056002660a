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
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, _input_nodes(root))]
        while stack:
            node, pending = stack[-1]
            for child in pending:
                if child not in visited:
                    visited.add(child)
                    stack.append((child, _input_nodes(child)))
                    break
            else:  # every input of `node` is done: node can follow them
                stack.pop()
                post_order.append(node)
    post_order.reverse()
    return post_order


def _input_nodes(node):
    """The nodes that produced `node`'s inputs, for inputs that need a gradient."""
    return iter([x._ctx for x, need in zip(node.parents, node.needs_input_grad)
                 if need and x._ctx is not None])


def sum_to_shape(grad, shape: tuple, node=None):
    """Undo broadcasting: sum a gradient over the axes that broadcasting added or stretched,
    so that it has `shape` again. This is the only place ember un-broadcasts."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise GraphError(f"{node!r} returned a gradient of shape {grad.shape} for an input "
                         f"of shape {shape}; it should broadcast to the input's shape")
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def run_backward(roots, seeds, retain_graph: bool = False, inputs=None):
    """Backpropagate `seeds` (the gradients of `roots`) through the graph.

    Without `inputs`, gradients of leaf tensors are accumulated into their `.grad`.
    With `inputs` (a sequence of tensors), nothing is accumulated: the gradient of each
    input is returned instead (None where none reached it), as `ember.autograd.grad` does.
    """
    order = topological_order([r._ctx for r in roots if r._ctx is not None])
    node_grads: dict = {}      # node -> gradient of the tensor it produced (summed)
    leaf_grads: dict = {}      # id(leaf) -> [leaf, gradient]
    passed_on: set = set()     # ids of arrays handed to a backward (or given as seeds)
    wanted = _capture_targets(inputs)
    captured: dict = {}

    def deliver(x, grad, node):
        """Add `grad` to what input `x` of `node` has received so far."""
        if grad.shape != x._data.shape:
            grad = sum_to_shape(grad, x._data.shape, node)
        if grad.dtype != x._data.dtype:
            grad = grad.astype(x._data.dtype)
        producer = x._ctx
        if producer is not None:
            previous = node_grads.get(producer)
            node_grads[producer] = grad if previous is None else previous + grad
        else:
            entry = leaf_grads.get(id(x))
            if entry is None:
                leaf_grads[id(x)] = [x, grad]
            else:
                entry[1] = entry[1] + grad

    for root, seed in zip(roots, seeds):
        passed_on.add(id(seed))
        deliver(root, seed, None)

    for node in order:
        grad = node_grads.pop(node, None)
        if grad is not None:
            if node.saved is None:
                raise GraphError(f"{node!r}: trying to backward through the graph a second "
                                 "time (its saved arrays were freed after the first "
                                 "backward). Pass retain_graph=True to the first backward() "
                                 "to do that.")
            grad = _run_tensor_hooks(node.hooks, grad)
            if node.retained is not None:
                _store_retained(node.retained(), grad)
            if node in wanted:
                captured[node] = grad
            passed_on.add(id(grad))
            input_grads = type(node).backward(node, grad)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            for x, need, input_grad in zip(node.parents, node.needs_input_grad, input_grads):
                if need and input_grad is not None:
                    deliver(x, input_grad, node)
        if not retain_graph:
            node.release()

    if inputs is not None:
        for leaf, grad in leaf_grads.values():
            captured[id(leaf)] = _run_tensor_hooks(leaf._hooks, grad)
        return tuple(_captured_tensor(captured, x) for x in inputs)
    _accumulate_into_leaves(leaf_grads.values(), passed_on)
    return None


def _accumulate_into_leaves(entries, passed_on: set) -> None:
    """Add each leaf's gradient to its `.grad`. A leaf's first gradient becomes its `.grad`
    without a copy when no one else can hold that array: not a view, not handed to a
    backward or given as a seed, not the gradient of another leaf too."""
    entries = list(entries)
    holders: dict = {}
    for _, grad in entries:
        holders[id(grad)] = holders.get(id(grad), 0) + 1
    for leaf, grad in entries:
        hooked = _run_tensor_hooks(leaf._hooks, grad)
        if leaf.grad is None:
            shared = (hooked is not grad or grad.base is not None
                      or id(grad) in passed_on or holders[id(grad)] > 1)
            leaf.grad = Tensor._make(np.array(hooked) if shared else _as_array(hooked))
        else:
            leaf.grad._data = leaf.grad._data + hooked


def _capture_targets(inputs) -> set:
    return set() if inputs is None else {x._ctx for x in inputs if x._ctx is not None}


def _captured_tensor(captured: dict, x):
    grad = captured.get(x._ctx if x._ctx is not None else id(x))
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
