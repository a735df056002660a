"""Function: the base of every differentiable primitive, and the node the graph is made of.

A primitive subclasses Function and writes two methods on raw arrays (NumPy or CuPy):

    class Exp(Function):
        def forward(ctx, x):
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y

        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y                  # d exp(x)/dx = exp(x)

`Exp.apply(tensor)` runs forward and, when grad mode is on and an input requires grad,
returns a Tensor whose `grad_fn` is the Function object itself: the node remembers its
inputs (`parents`), the arrays it saved, and which inputs need a gradient.

Rules for a backward: return one gradient per input (None where `needs_input_grad` is
False), with the input's shape or any shape that broadcasts to it (the engine sums a
broadcast gradient back, in one place); return fresh arrays or `grad` itself (or views of
it), never an array kept elsewhere; never modify `grad` in place; build no graph
(gradients are first order only).
"""
from __future__ import annotations

import numpy as np

from ember.errors import DeviceError, GraphError, ShapeError, broadcast_error
from ember.grad_mode import _mode
from ember.tensor import Tensor

_make_tensor = Tensor._make


class Function:
    """A differentiable primitive, and the graph node that records one use of it."""

    # Defaults shared by all nodes; instances set only what they need.
    parents: tuple = ()
    needs_input_grad: tuple = ()
    saved: tuple | None = ()          # None once the node is released after backward
    versions: tuple = ()              # (version counter, value at save, array) per saved tensor
    hooks: list | None = None         # hooks of the non-leaf tensor this node produced
    retained = None                   # weak reference to that tensor after retain_grad()
    # True for ops whose output may be a view of their first input's memory (reshape,
    # permute, basic indexing...): such an output shares the input's version counter, so
    # an in-place change through either one is seen by every node that saved the other.
    output_is_view = False

    def forward(ctx, *arrays, **params):
        raise NotImplementedError(f"{type(ctx).__name__} does not define forward")

    def backward(ctx, grad):
        raise NotImplementedError(f"{type(ctx).__name__} does not define backward")

    # --- the context API used inside forward and backward --------------------------------

    def save_for_backward(ctx, *arrays) -> None:
        """Keep arrays for backward; an in-place change to them later raises an error."""
        ctx.saved = arrays

    @property
    def saved_tensors(ctx) -> tuple:
        if ctx.saved is None:
            raise GraphError(_freed_message(ctx))
        for counter, value, array in ctx.versions:
            if counter[0] != value and _is_saved(array, ctx.saved):
                raise GraphError(
                    f"{ctx.name()}: a tensor of shape {array.shape} that this op saved for the "
                    f"gradient was modified by an in-place operation (it is at version "
                    f"{counter[0]}; it was saved at version {value}). Make the change "
                    f"out of place (x = x + 1) or on a copy (x.clone()), or after backward.")
        return ctx.saved

    # --- running the op ------------------------------------------------------------------

    @classmethod
    def apply(cls, *inputs, **params) -> Tensor:
        """Run forward on the inputs' arrays and, if a gradient will be needed, record
        this use as a node of the graph. Inputs that are not Tensors are constants."""
        ctx = cls()
        arrays = []                     # plain loops: this runs for every op
        recording = False
        if _mode.enabled:
            needs = []
            for x in inputs:
                if isinstance(x, Tensor):
                    arrays.append(x._data)
                    needs.append(x._requires_grad)
                else:
                    arrays.append(x)
                    needs.append(False)
            if True in needs:
                recording = True
                ctx.needs_input_grad = tuple(needs)
        else:                           # no_grad: nothing to record
            for x in inputs:
                arrays.append(x._data if isinstance(x, Tensor) else x)
        try:
            out = cls.forward(ctx, *arrays, **params)
        except ShapeError:
            raise
        except (ValueError, TypeError) as exc:
            raise _explain_failure(ctx, inputs, arrays, exc) from exc
        if type(out) is not np.ndarray and isinstance(out, np.generic):
            out = np.asarray(out)  # NumPy hands back scalars for 0-d results
        result = _make_tensor(out)
        if cls.output_is_view and out.base is not None and \
                np.may_share_memory(out, arrays[0]):
            result._version = inputs[0]._version
        if recording and out.dtype.kind == "f":
            result._requires_grad = True
            result._ctx = ctx
            ctx.parents = inputs
            if ctx.saved:
                ctx.versions = _versions_at_save(ctx.saved, inputs, result)
        return result

    # --- graph bookkeeping ---------------------------------------------------------------

    def release(ctx) -> None:
        """Free what forward saved (and the links to the inputs) once backward is done."""
        ctx.__dict__.clear()
        ctx.saved = None

    def name(ctx) -> str:
        return getattr(ctx, "op_name", type(ctx).__name__.lower())

    def __repr__(ctx) -> str:
        return f"<{type(ctx).__name__}Backward>"


def _versions_at_save(saved, inputs, result) -> tuple:
    """(version counter, version now, array) for every input tensor, and for the output when
    forward saved it. Which inputs forward saved is worked out only if one of them changes
    (in `saved_tensors`): most never do, and this runs for every recorded op."""
    found = []
    for x in inputs:
        if isinstance(x, Tensor):
            found.append((x._version, x._version[0], x._data))
    if _is_saved(result._data, saved):
        found.append((result._version, result._version[0], result._data))
    return tuple(found)


def _is_saved(data, saved) -> bool:
    """Whether forward saved the array `data`, itself or as a view of its memory (a
    transposed or reshaped input, say)."""
    for array in saved:             # most ops save their inputs themselves
        if array is data:
            return True
    owner = data if data.base is None else data.base
    for array in saved:
        base = getattr(array, "base", None)   # saved numbers have no base
        if base is not None and base is owner:
            return True
    return False


def _freed_message(ctx) -> str:
    return (f"{ctx!r}: trying to backward through the graph a second time (its saved "
            "arrays were freed after the first backward). Pass retain_graph=True to the "
            "first backward() if you need to call it twice.")


def _explain_failure(ctx, inputs, arrays, exc: Exception) -> Exception:
    """Turn a NumPy error inside forward into one that names the op and its inputs."""
    devices = {str(x.device) for x in inputs if isinstance(x, Tensor)}
    if len(devices) > 1:
        return DeviceError(f"{ctx.name()}: expected all tensors on the same device, "
                           f"got {' and '.join(sorted(devices))}")
    shapes = [tuple(a.shape) for a in arrays if hasattr(a, "shape")]
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return broadcast_error(ctx.name(), shapes)
    return type(exc)(f"{ctx.name()}: {exc} (input shapes: {', '.join(map(str, shapes))})")
