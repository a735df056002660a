"""The errors ember raises. Each also derives from the built-in PyTorch would raise
(RuntimeError), so code that catches PyTorch's errors catches ember's."""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit an op: the message names the op, the shapes and the rule."""


class DTypeError(TypeError, RuntimeError):
    """A dtype an op cannot take, or two dtypes that do not go together."""


class DeviceError(RuntimeError):
    """Tensors on different devices, or a device that is not available."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph: a second backward through a freed graph, an
    in-place change to a saved tensor, backward on a non-scalar without a gradient."""


def broadcast_error(op: str, shapes) -> ShapeError:
    """The error for shapes that cannot broadcast, naming the first dimension (from the
    right) where they disagree."""
    shapes = [tuple(s) for s in shapes]
    rule = "dimensions are matched from the right and must be equal or 1"
    for k in range(1, max(len(s) for s in shapes) + 1):
        sizes = {s[-k] for s in shapes if len(s) >= k}
        if len(sizes - {1}) > 1:
            rule = (f"dimension {-k} has sizes {', '.join(map(str, sorted(sizes)))}; sizes "
                    "must be equal or 1 (dimensions are matched from the right)")
            break
    return ShapeError(f"{op}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                      f"together: {rule}")
