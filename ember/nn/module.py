"""Module: the base of every layer and network.

A Module records its parameters, buffers and submodules as they are assigned (in order, so
everything derived from them is deterministic), switches between training and evaluation,
and saves/loads its state under PyTorch's key names ("0.weight", "encoder.fc.bias").
"""
from __future__ import annotations

import copy
from collections import OrderedDict, namedtuple

import numpy as np

from ember import backend
from ember.errors import ShapeError
from ember.grad_mode import no_grad
from ember.nn.parameter import Buffer, Parameter
from ember.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers: subclass it, create parameters and submodules in `__init__`,
    and compute the output in `forward`.

    Example:
        >>> class TwoLayer(ember.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = ember.nn.Linear(2, 16)
        ...         self.out = ember.nn.Linear(16, 3)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> list(TwoLayer().state_dict())
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_forward_hooks", OrderedDict())
        set_(self, "_forward_pre_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in tuple(self._forward_pre_hooks.values()):
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        output = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    # --- registration as attributes are assigned ----------------------------------------

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__})")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = self.__dict__[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif isinstance(value, Buffer):
            self._forget(name)
            self.register_buffer(name, value, persistent=value.persistent)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                f"(a Parameter or None is required)")
            params[name] = self.__dict__[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (a Module or None is required)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                f"(a Tensor or None is required)")
            buffers[name] = self.__dict__[name] = value
        else:
            object.__setattr__(self, name, value)

    # Parameters and buffers are also mirrored in the instance dict, so that reading
    # `self.weight` in a forward is a plain attribute lookup (the __getattr__ fallback costs
    # about a microsecond); the registries stay the source of truth for everything else.

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: modules (and anything not mirrored) live here.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                self.__dict__.pop(name, None)
                return
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        """Remove `name` from every registry (and the instance dict) before reassigning."""
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        _check_name("register_parameter", name, self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._forget(name)
        self._parameters[name] = self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is part of the module's state but not learned (running statistics).
        Persistent buffers are saved in the state dict."""
        _check_name("register_buffer", name, self)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._forget(name)
        if isinstance(tensor, Buffer):
            tensor = tensor.detach()
        self._buffers[name] = self.__dict__[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        _check_name("add_module", name, self, allow_dots=False)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # --- walking the tree -----------------------------------------------------------------

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True):
        """(name, module) for this module and every descendant, depth first, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and child not in seen:
                seen.add(child)
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(name, parameter) pairs; a parameter shared by two layers is listed once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        module = self
        for part in filter(None, target.split(".")):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        owner, _, name = target.rpartition(".")
        module = self.get_submodule(owner)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r}")
        return module._parameters[name]

    def apply(self, fn) -> Module:
        """Call fn on every submodule (children first) and then on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- modes and gradients --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics) or not."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                with no_grad():
                    param.grad.zero_()

    # --- dtype and device -----------------------------------------------------------------

    def _apply_to_tensors(self, convert) -> Module:
        """Replace every parameter's and buffer's values by convert(values), in place."""
        with no_grad():
            for module in self.modules():
                for registry in (module._parameters, module._buffers):
                    for value in registry.values():
                        if value is None:
                            continue
                        value._data = convert(value).detach()._data
                        if value.grad is not None:
                            value.grad._data = convert(value.grad)._data
        return self

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False) -> Module:
        """Cast floating-point parameters and buffers and/or move everything to a device:
        `model.to(ember.float64)`, `model.to("cpu")`. Integer buffers keep their dtype."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif isinstance(arg, (str, backend.device)):
                device = arg
            else:
                dtype = arg
        if dtype is not None and not backend.as_dtype(dtype).is_floating_point:
            raise TypeError(f"Module.to: only floating-point dtypes can be given, got {dtype}")

        def convert(t: Tensor) -> Tensor:
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            return t if device is None else t.to(device)

        return self._apply_to_tensors(convert)

    def float(self) -> Module:
        return self._apply_to_tensors(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        return self._apply_to_tensors(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        return self._apply_to_tensors(lambda t: t.half() if t.is_floating_point() else t)

    def cpu(self) -> Module:
        return self._apply_to_tensors(lambda t: t.cpu())

    def cuda(self, device=None) -> Module:
        return self._apply_to_tensors(lambda t: t.cuda(device))

    # --- state ----------------------------------------------------------------------------

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name, in registration order
        (tensors share memory with the module's, detached unless keep_vars)."""
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from a state dict into this module's parameters and buffers.

        Every key and shape is checked before anything is copied, so a failed load leaves
        the module unchanged. With strict=False, missing and unexpected keys are returned
        instead of raising."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            source = state_dict[key]
            shape = tuple(np.shape(getattr(source, "_data", source)))
            if shape != tuple(target.shape):
                problems.append(f"size mismatch for {key}: copying a param with shape "
                                f"{shape} from checkpoint, the shape in current model is "
                                f"{tuple(target.shape)}")
        if strict and (missing or unexpected):
            if missing:
                problems.append("missing keys: " + ", ".join(missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ShapeError(f"load_state_dict: error(s) loading state_dict for "
                             f"{type(self).__name__}:\n  " + "\n  ".join(problems))
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    source = state_dict[key]
                    target.copy_(source if isinstance(source, Tensor) else Tensor._make(
                        np.asarray(source)))
        return IncompatibleKeys(missing, unexpected)

    # --- hooks ----------------------------------------------------------------------------

    def register_forward_hook(self, hook):
        """hook(module, inputs, output) after every forward; may return a new output."""
        return _HookHandle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        """hook(module, inputs) before every forward; may return new inputs."""
        return _HookHandle(self._forward_pre_hooks, hook)

    # --- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The layer's settings, shown in its repr: override in subclasses."""
        return ""

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        if not self._modules:
            return f"{type(self).__name__}({', '.join(lines)})" if len(lines) <= 1 \
                else f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def __deepcopy__(self, memo) -> Module:
        """An independent copy (for ensembles, snapshots): parameters are copied."""
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            object.__setattr__(clone, key, copy.deepcopy(value, memo))
        return clone

    def __reduce_ex__(self, protocol):
        raise TypeError("ember modules cannot be pickled (unpickling can run code); save "
                        "model.state_dict() with ember.save(), which writes safetensors")


class _HookHandle:
    _next_id = 0

    def __init__(self, hooks: OrderedDict, hook) -> None:
        self.hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _check_name(op: str, name: str, module: Module, allow_dots: bool = False) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{op}: name must be a string, got {type(name).__name__}")
    if not name or (not allow_dots and "." in name):
        raise KeyError(f"{op}: name {name!r} must be a non-empty string without dots")
    if (name in module.__dict__ and name != "training" and name not in module._parameters
            and name not in module._buffers):
        raise KeyError(f"{op}: attribute {name!r} already exists")
