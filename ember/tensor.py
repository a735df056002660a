"""The Tensor: an n-dimensional array that remembers how it was computed.

A tensor holds its values in `_data` (a NumPy array, or CuPy on a GPU) and, when it came
from an op recorded for backward, the node that made it in `_ctx` (its `grad_fn`). Its
math methods are one-line calls into `ember.ops`; in-place methods and conversions live
in `tensor_inplace.py` and `tensor_conversion.py`.
"""
from __future__ import annotations

import numpy as np

from ember import backend
from ember.errors import DTypeError, GraphError, ShapeError
from ember.tensor_conversion import TensorConversion
from ember.tensor_inplace import TensorInPlace


class Tensor(TensorConversion, TensorInPlace):
    """An n-dimensional array with reverse-mode automatic differentiation.

    Make one with `ember.tensor(data)`, `ember.zeros(...)`, `ember.randn(...)`. Operations
    on tensors that require grad are recorded; `loss.backward()` then fills `.grad` of
    every leaf tensor that requires grad.

    Example:
        >>> x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x ** 2).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = ("_data", "grad", "_requires_grad", "_ctx", "_version", "_hooks",
                 "__weakref__")
    __array_ufunc__ = None          # NumPy defers to our operators: ndarray + Tensor -> Tensor
    __array_priority__ = 1000

    def __init__(self, *args, dtype=None, device=None, requires_grad: bool = False) -> None:
        """`Tensor(data)` copies data as the default float dtype (like torch.Tensor);
        `Tensor(2, 3)` makes a zero-filled tensor of that shape."""
        dtype = dtype or backend.get_default_dtype()
        if args and all(isinstance(a, (int, np.integer)) for a in args):
            data = np.zeros(tuple(int(a) for a in args), dtype=backend.as_dtype(dtype).numpy)
        elif len(args) <= 1:
            data = backend.as_array(args[0] if args else [], dtype=dtype, copy=True)
        else:
            raise TypeError("Tensor(): expected data or sizes, e.g. Tensor([1, 2]) or "
                            "Tensor(2, 3); use ember.tensor(data) to infer the dtype")
        if device is not None:
            data = backend.move_array(data, backend.device(device))
        _init_slots(self, data)
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(array, requires_grad: bool = False) -> Tensor:
        """Wrap an array without copying or checking it (the fast path the ops use)."""
        t = _new_tensor(Tensor)
        t._data = array
        t.grad = None
        t._requires_grad = requires_grad
        t._ctx = None
        t._version = [0]
        t._hooks = None
        return t

    # --- what it holds --------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return self._data.shape
        return self._data.shape[operands.normalize_dim("size", dim, self._data.ndim)]

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> backend.dtype:
        return backend.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def T(self) -> Tensor:
        """Dimensions reversed (the transpose of a matrix)."""
        if self._data.ndim < 2:
            return self
        return shape.Permute.apply(self, dims=tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped (a batch of transposed matrices)."""
        if self._data.ndim < 2:
            raise ShapeError(f"mT: expects a tensor with at least 2 dimensions, got shape "
                             f"{self._data.shape}")
        return shape.transpose(self, -2, -1)

    @property
    def data(self) -> Tensor:
        """The same values as a tensor outside the graph (shares memory, like PyTorch's
        `.data`; changes through it are not seen by autograd)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = value._data if isinstance(value, Tensor) else backend.as_array(value)

    # --- dtype and device ---------------------------------------------------------------

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """This tensor with another dtype and/or on another device (itself if nothing
        changes): `x.to(ember.float64)`, `x.to("cpu")`, `x.to(other_tensor)`.
        Differentiable: gradients are converted back."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif isinstance(arg, (str, backend.device)):
                device = arg
            else:
                dtype = arg
        result = self
        if dtype is not None:
            result = operands.cast(result, backend.as_dtype(dtype).numpy)
        if device is not None:
            result = operands.to_device(result, device)
        if copy and result is self:
            result = self.clone()
        return result

    def cpu(self) -> Tensor:
        return operands.to_device(self, "cpu")

    def cuda(self, device=None) -> Tensor:
        return operands.to_device(self, "cuda" if device is None else f"cuda:{device}")

    def float(self): return self.to(backend.float32)
    def double(self): return self.to(backend.float64)
    def half(self): return self.to(backend.float16)
    def long(self): return self.to(backend.int64)
    def int(self): return self.to(backend.int32)
    def bool(self): return self.to(backend.bool_)
    def byte(self): return self.to(backend.uint8)
    def type_as(self, other): return self.to(other.dtype)

    def type(self, dtype=None):
        """With a dtype, `to(dtype)`; without, the type's name (e.g. 'ember.FloatTensor')."""
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}
        if dtype is None:
            return f"ember.{names[self.dtype.name]}Tensor"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            short = dtype.rpartition(".")[2].removesuffix("Tensor")
            by_short = {v: k for k, v in names.items()}
            if short not in by_short:
                raise DTypeError(f"type: unknown tensor type {dtype!r}")
            dtype = by_short[short]
        return self.to(backend.as_dtype(dtype))

    # --- autograd -------------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf tensor."""
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating-point tensors can require gradients, "
                f"this one is {self.dtype} (convert with .float() first)")
        if not requires_grad and self._ctx is not None:
            raise GraphError("requires_grad_: cannot turn off requires_grad on a tensor "
                             "computed from others; use .detach() to get one outside "
                             "the graph")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded op (inputs and parameters)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires
        grad, and add it to their `.grad`.

        Args:
            gradient: dL/d(self), needed unless this tensor holds one element.
            retain_graph: keep the graph for another backward (default: free it).
            inputs: accumulate only into these leaves.
        """
        api.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """The same values, outside the graph (shares memory and version counter)."""
        t = Tensor._make(self._data)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        if self._ctx is not None:
            self._ctx = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` during backward."""
        if not self._requires_grad:
            raise GraphError("retain_grad: the tensor does not require grad")
        if self._ctx is not None:
            engine.retain_grad(self)

    @property
    def retains_grad(self) -> bool:
        return self._ctx is not None and self._ctx.retained is not None

    def register_hook(self, hook):
        """Call `hook(grad)` with this tensor's gradient during backward; a hook may
        return a new gradient. Returns a handle whose `remove()` takes the hook away."""
        if not self._requires_grad:
            raise GraphError("register_hook: cannot register a hook on a tensor that "
                             "doesn't require gradient")
        owner = self._ctx if self._ctx is not None else self
        if owner.hooks is None:
            owner.hooks = []
        owner.hooks.append(hook)
        return _HookHandle(owner.hooks, hook)

    @property
    def hooks(self):  # leaves keep their hooks on the tensor, others on their node
        return self._hooks

    @hooks.setter
    def hooks(self, value) -> None:
        self._hooks = value

    # --- arithmetic operators -------------------------------------------------------------

    def __add__(self, other): return arithmetic.add(self, other)
    def __radd__(self, other): return arithmetic.add(other, self)
    def __sub__(self, other): return arithmetic.sub(self, other)
    def __rsub__(self, other): return arithmetic.sub(other, self)
    def __mul__(self, other): return arithmetic.mul(self, other)
    def __rmul__(self, other): return arithmetic.mul(other, self)
    def __truediv__(self, other): return arithmetic.div(self, other)
    def __rtruediv__(self, other): return arithmetic.div(other, self)
    def __floordiv__(self, other): return arithmetic.floor_divide(self, other)
    def __rfloordiv__(self, other): return arithmetic.floor_divide(other, self)
    def __mod__(self, other): return arithmetic.remainder(self, other)
    def __rmod__(self, other): return arithmetic.remainder(other, self)
    def __pow__(self, other): return arithmetic.pow(self, other)
    def __rpow__(self, other): return arithmetic.pow(other, self)
    def __matmul__(self, other): return linalg.matmul(self, other)
    def __rmatmul__(self, other): return linalg.matmul(other, self)
    def __neg__(self): return arithmetic.neg(self)
    def __pos__(self): return self
    def __abs__(self): return elementwise.abs(self)

    # x += y changes x in place outside the graph; while recording it rebinds x to x + y
    # (the value is the same; other references to the old x keep the old value).
    def __iadd__(self, other): return self._inplace_or_rebind("add_", arithmetic.add, other)
    def __isub__(self, other): return self._inplace_or_rebind("sub_", arithmetic.sub, other)
    def __imul__(self, other): return self._inplace_or_rebind("mul_", arithmetic.mul, other)
    def __itruediv__(self, other): return self._inplace_or_rebind("div_", arithmetic.div, other)

    # --- comparisons and logic (no gradient) ----------------------------------------------

    def __eq__(self, other): return compare.eq(self, other)
    def __ne__(self, other): return compare.ne(self, other)
    def __lt__(self, other): return compare.lt(self, other)
    def __le__(self, other): return compare.le(self, other)
    def __gt__(self, other): return compare.gt(self, other)
    def __ge__(self, other): return compare.ge(self, other)
    def __and__(self, other): return compare.logical_op("and", self, other)
    def __rand__(self, other): return compare.logical_op("and", other, self)
    def __or__(self, other): return compare.logical_op("or", self, other)
    def __ror__(self, other): return compare.logical_op("or", other, self)
    def __xor__(self, other): return compare.logical_op("xor", self, other)
    def __rxor__(self, other): return compare.logical_op("xor", other, self)
    def __invert__(self): return compare.bitwise_not(self)
    __hash__ = object.__hash__

    def eq(self, other): return compare.eq(self, other)
    def ne(self, other): return compare.ne(self, other)
    def lt(self, other): return compare.lt(self, other)
    def le(self, other): return compare.le(self, other)
    def gt(self, other): return compare.gt(self, other)
    def ge(self, other): return compare.ge(self, other)
    def equal(self, other): return compare.equal(self, other)
    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
        return compare.allclose(self, other, rtol, atol, equal_nan)
    def isfinite(self): return compare.isfinite(self)
    def isnan(self): return compare.isnan(self)
    def isinf(self): return compare.isinf(self)
    def logical_not(self): return compare.logical_not(self)
    def logical_and(self, other): return compare.logical_op("and", self, other)
    def logical_or(self, other): return compare.logical_op("or", self, other)

    # --- elementwise math -----------------------------------------------------------------

    def add(self, other, *, alpha=1): return arithmetic.add(self, other, alpha=alpha)
    def sub(self, other, *, alpha=1): return arithmetic.sub(self, other, alpha=alpha)
    def mul(self, other): return arithmetic.mul(self, other)
    def div(self, other, *, rounding_mode=None):
        return arithmetic.div(self, other, rounding_mode=rounding_mode)
    def pow(self, exponent): return arithmetic.pow(self, exponent)
    def remainder(self, other): return arithmetic.remainder(self, other)
    def neg(self): return arithmetic.neg(self)
    def maximum(self, other): return arithmetic.maximum(self, other)
    def minimum(self, other): return arithmetic.minimum(self, other)
    def clamp(self, min=None, max=None): return arithmetic.clamp(self, min, max)
    clip = clamp
    def where(self, condition, other): return arithmetic.where(condition, self, other)
    def exp(self): return elementwise.exp(self)
    def log(self): return elementwise.log(self)
    def log1p(self): return elementwise.log1p(self)
    def log2(self): return elementwise.log2(self)
    def log10(self): return elementwise.log10(self)
    def expm1(self): return elementwise.expm1(self)
    def sqrt(self): return elementwise.sqrt(self)
    def rsqrt(self): return elementwise.rsqrt(self)
    def square(self): return elementwise.square(self)
    def reciprocal(self): return elementwise.reciprocal(self)
    def abs(self): return elementwise.abs(self)
    def sin(self): return elementwise.sin(self)
    def cos(self): return elementwise.cos(self)
    def tanh(self): return elementwise.tanh(self)
    def sigmoid(self): return elementwise.sigmoid(self)
    def erf(self): return special.erf(self)
    def erfc(self): return special.erfc(self)
    def relu(self): return elementwise.relu(self)
    def sign(self): return elementwise.sign(self)
    def floor(self): return elementwise.floor(self)
    def ceil(self): return elementwise.ceil(self)
    def round(self, *, decimals=0): return elementwise.round(self, decimals=decimals)
    def trunc(self): return elementwise.trunc(self)
    def matmul(self, other): return linalg.matmul(self, other)
    def mm(self, other): return linalg.mm(self, other)
    def bmm(self, other): return linalg.bmm(self, other)
    def mv(self, vec): return linalg.mv(self, vec)
    def dot(self, other): return linalg.dot(self, other)
    def outer(self, other): return linalg.outer(self, other)

    # --- reductions -----------------------------------------------------------------------

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return reduce.sum(self, dim, keepdim, dtype=dtype)
    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return reduce.mean(self, dim, keepdim, dtype=dtype)
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return reduce.var(self, dim, unbiased, keepdim, correction=correction)
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return reduce.std(self, dim, unbiased, keepdim, correction=correction)
    def max(self, dim=None, keepdim=False): return reduce.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return reduce.min(self, dim, keepdim)
    def amax(self, dim=(), keepdim=False): return reduce.amax(self, dim, keepdim)
    def amin(self, dim=(), keepdim=False): return reduce.amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return reduce.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return reduce.argmin(self, dim, keepdim)
    def logsumexp(self, dim, keepdim=False): return reduce.logsumexp(self, dim, keepdim)
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return reduce.prod(self, dim, keepdim, dtype=dtype)
    def norm(self, p="fro", dim=None, keepdim=False): return reduce.norm(self, p, dim, keepdim)
    def cumsum(self, dim, *, dtype=None): return reduce.cumsum(self, dim, dtype=dtype)
    def any(self, dim=None, keepdim=False): return reduce.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return reduce.all(self, dim, keepdim)
    def softmax(self, dim, *, dtype=None): return softmax_ops.softmax(self, dim, dtype=dtype)
    def log_softmax(self, dim, *, dtype=None):
        return softmax_ops.log_softmax(self, dim, dtype=dtype)

    # --- shape ----------------------------------------------------------------------------

    def reshape(self, *shape_): return shape.reshape(self, *shape_)
    def view(self, *shape_): return shape.view(self, *shape_)
    def view_as(self, other): return shape.reshape(self, other.shape)
    def reshape_as(self, other): return shape.reshape(self, other.shape)
    def flatten(self, start_dim=0, end_dim=-1): return shape.flatten(self, start_dim, end_dim)
    def unflatten(self, dim, sizes): return shape.unflatten(self, dim, sizes)
    def squeeze(self, dim=None): return shape.squeeze(self, dim)
    def unsqueeze(self, dim): return shape.unsqueeze(self, dim)
    def permute(self, *dims): return shape.permute(self, *dims)
    def transpose(self, dim0, dim1): return shape.transpose(self, dim0, dim1)
    swapaxes = swapdims = transpose
    def t(self): return shape.t(self)
    def movedim(self, source, destination): return shape.movedim(self, source, destination)
    def expand(self, *sizes): return shape.expand(self, *sizes)
    def expand_as(self, other): return shape.expand(self, other.shape)
    def repeat(self, *repeats): return shape.repeat(self, *repeats)
    def split(self, split_size, dim=0): return shape.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return shape.chunk(self, chunks, dim)
    def unbind(self, dim=0): return shape.unbind(self, dim)
    def select(self, dim, index): return shape.select(self, dim, index)
    def narrow(self, dim, start, length): return shape.narrow(self, dim, start, length)
    def flip(self, dims): return shape.flip(self, dims)
    def contiguous(self): return self if self._data.flags.c_contiguous else self.clone()
    def clone(self): return arithmetic.clone(self)

    # --- indexing -------------------------------------------------------------------------

    def __getitem__(self, index): return indexing.getitem(self, index)
    def gather(self, dim, index): return indexing.gather(self, dim, index)
    def index_select(self, dim, index): return indexing.index_select(self, dim, index)
    def masked_fill(self, mask, value): return indexing.masked_fill(self, mask, value)
    def masked_select(self, mask): return indexing.masked_select(self, mask)
    def nonzero(self, *, as_tuple=False): return indexing.nonzero(self, as_tuple=as_tuple)
    def sort(self, dim=-1, descending=False): return indexing.sort(self, dim, descending)
    def argsort(self, dim=-1, descending=False): return indexing.argsort(self, dim, descending)
    def topk(self, k, dim=-1, largest=True, sorted=True):
        return indexing.topk(self, k, dim, largest, sorted)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __contains__(self, element) -> bool:
        return bool((self == element).any())


class _HookHandle:
    """Returned by register_hook; `remove()` unregisters the hook."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_new_tensor = object.__new__


def _init_slots(t: Tensor, data) -> None:
    t._data = data
    t.grad = None
    t._requires_grad = False
    t._ctx = None
    t._version = [0]
    t._hooks = None


# The autograd engine and the ops build Tensors, so they are imported once the class exists.
from ember.autograd import api, engine  # noqa: E402, I001
from ember.ops import (arithmetic, compare, elementwise, indexing, linalg,  # noqa: E402
                       operands, reduce, shape, special)
from ember.ops import softmax as softmax_ops  # noqa: E402
