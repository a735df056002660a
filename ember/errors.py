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
