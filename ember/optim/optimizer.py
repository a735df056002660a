"""Optimizer: the base of ember's optimizers. It keeps the parameter groups (each with its own
hyperparameters) and per-parameter state, runs the update loop, and saves both in PyTorch's
state_dict format (a torch optimizer's state, converted tensor for tensor, loads here)."""
from __future__ import annotations

import copy
import numbers
from collections import defaultdict

import numpy as np

from ember import backend
from ember.errors import DTypeError, ShapeError
from ember.grad_mode import enable_grad, no_grad
from ember.tensor import Tensor


class _RequiredParameter:
    """The default of a hyperparameter that every param group must give (PyTorch's `required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

# PyTorch's switches between its implementations of the same math (for-loop, foreach, fused,
# CUDA-graph capturable, differentiable). ember has one implementation, so constructors accept
# and ignore them, and they are dropped from param groups and loaded state dicts.
TORCH_IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")


class Optimizer:
    """Base class of the optimizers: parameter groups, per-parameter state, the update loop.

    A subclass passes its hyperparameters as `defaults` and writes one method,
    `_update(param, grad, state, group)`: the math of one step for one parameter, on the
    raw arrays `param` and `grad`, changing `param` and the tensors in `state` in place.

    Args:
        params: an iterable of tensors, of (name, tensor) pairs (`model.named_parameters()`),
            or of dicts (param groups): each dict has "params" and may override any of the
            defaults for its parameters.
        defaults: the hyperparameters, used where a param group doesn't give them.

    Example:
        >>> optimizer = ember.optim.SGD([{"params": model.body.parameters()},
        ...                              {"params": model.head.parameters(), "lr": 1e-3}],
        ...                             lr=1e-2, momentum=0.9)
        >>> optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()
    """

    def __init__(self, params, defaults: dict, implementation_flags: dict | None = None) -> None:
        name = type(self).__name__
        for flag in implementation_flags or {}:
            if flag not in TORCH_IMPLEMENTATION_FLAGS:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument {flag!r}")
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, but got "
                            f"a Tensor; pass [tensor] or model.parameters()")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters need to be given in an ordered collection "
                            f"(a set's order changes between runs); use a list")
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)   # parameter tensor -> its state
        self.param_groups: list[dict] = []
        self._steps_taken = 0
        param_groups = list(params)
        if not param_groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # --- parameter groups -----------------------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. layers unfrozen
        for fine-tuning). Options it doesn't give take the optimizer's defaults.

        Args:
            param_group: a dict with "params" (a tensor or an iterable of tensors or of
                (name, tensor) pairs) and any hyperparameters of this optimizer.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the param group has no 'params' entry")
        params, names = _tensors_and_names(name, param_group["params"])
        for index, param in enumerate(params):
            if not param.is_leaf and not param.retains_grad:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter "
                                 f"{index} of the group was computed from others); "
                                 f"optimize the leaves it came from")
        missing = [key for key, default in self.defaults.items()
                   if default is required and key not in param_group]
        if missing:
            raise ValueError(f"{name}: parameter group didn't specify a value of required "
                             f"optimization parameter(s) {missing}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group lists the same tensor more than once")
        in_groups = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in in_groups for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        if self.param_groups and (names is None) != ("param_names" not in self.param_groups[0]):
            raise ValueError(f"{name}: all param groups should be given with names "
                             f"(named_parameters()) or all without")
        options = {key: param_group.get(key, default) for key, default in self.defaults.items()}
        self._check_group(options)

        # Checked: now change the group (the caller's dict, as PyTorch does) and add it.
        for flag in TORCH_IMPLEMENTATION_FLAGS:
            param_group.pop(flag, None)
        param_group["params"] = params
        if names is not None:
            param_group["param_names"] = names
        for key, default in self.defaults.items():
            param_group.setdefault(key, default)
        self.param_groups.append(param_group)

    def _check_group(self, group: dict) -> None:
        """Raise for invalid hyperparameters: here, any that is not a number (or a tuple,
        like Adam's betas); subclasses add their own checks (ValueErrors)."""
        for key in self.defaults:
            value = group[key]
            if not isinstance(value, (numbers.Real, tuple, list)):
                hint = " (use .item() for a tensor)" if isinstance(value, Tensor) else ""
                raise TypeError(f"{type(self).__name__}: {key} must be a number, got "
                                f"{type(value).__name__} {value!r}{hint}")

    def _require(self, condition: bool, problem: str) -> None:
        """Raise `ValueError("<Optimizer>: <problem>")` unless condition holds."""
        if not condition:
            raise ValueError(f"{type(self).__name__}: {problem}")

    # --- stepping -------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none: set `.grad` to None (the default; then `step` skips a parameter
                that gets no new gradient) instead of filling it with zeros.
        """
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.detach_()
                    with no_grad():
                        param.grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient, once.

        Args:
            closure: optional function that re-evaluates the model (zero_grad, forward,
                backward) and returns the loss; it runs with gradients enabled before the
                update.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._check_gradients()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    state = self.state.get(param)
                    fresh = state is None
                    if fresh:
                        state = {}
                    self._update(param._data, param.grad._data, state, group)
                    param._version[0] += 1       # tensors saved for backward see the change
                    if fresh and state:
                        self.state[param] = state
        self._steps_taken += 1
        return loss

    def _update(self, param, grad, state: dict, group: dict) -> None:
        """One step for one parameter: change the array `param` (and `state`) in place."""
        raise NotImplementedError(f"{type(self).__name__} does not define _update (or step)")

    def _check_gradients(self) -> None:
        """Every gradient must match its parameter's shape and dtype (checked before any
        parameter changes)."""
        for group_index, group in enumerate(self.param_groups):
            for index, param in enumerate(group["params"]):
                grad = param.grad
                if grad is None:
                    continue
                grad_array, array = grad._data, param._data
                if grad_array.shape == array.shape and grad_array.dtype == array.dtype:
                    continue
                where = f"{type(self).__name__}.step: parameter {index} of group {group_index}"
                if grad_array.shape != array.shape:
                    raise ShapeError(f"{where} has shape {param.shape} but its gradient has "
                                     f"shape {grad.shape}")
                raise DTypeError(f"{where} has dtype {param.dtype} but its gradient has "
                                 f"dtype {grad.dtype}")

    # --- saving and loading ---------------------------------------------------------------

    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's format: {"state": {index: {name: tensor}},
        "param_groups": [{hyperparameters..., "params": [index, ...]}]}, parameters numbered
        in the order of the groups. The state tensors are the optimizer's own (not copies)."""
        index_of: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            packed_groups.append(packed)
        packed_state = {index_of[id(param)]: dict(state)
                        for param, state in self.state.items() if id(param) in index_of}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state saved by `state_dict()` (ember's, or PyTorch's with its tensors
        converted to ember tensors). Parameters are matched by position; floating-point
        state is copied to each parameter's dtype and device.

        Args:
            state_dict: a dict with "state" and "param_groups", as `state_dict()` returns.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups'")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has a different number of parameter "
                             f"groups ({len(saved_groups)}) than the optimizer "
                             f"({len(self.param_groups)})")
        for index, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}: loaded state dict contains a parameter group that "
                                 f"doesn't match the size of optimizer's group (group "
                                 f"{index}: {len(saved['params'])} saved parameters, "
                                 f"{len(group['params'])} in the optimizer)")
        param_of = {saved_id: param
                    for group, saved in zip(self.param_groups, saved_groups)
                    for saved_id, param in zip(saved["params"], group["params"])}
        unknown = [key for key in state_dict["state"] if key not in param_of]
        if unknown:
            raise ValueError(f"{name}: the state names parameters {unknown} that are in no "
                             f"param group of the state dict")

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for flag in TORCH_IMPLEMENTATION_FLAGS:
                saved.pop(flag, None)
            for key, default in self.defaults.items():
                if key not in saved:
                    if not isinstance(default, bool):   # flags added in newer versions default
                        raise ValueError(f"{name}: a saved param group lacks {key!r}: was it "
                                         f"saved from another kind of optimizer?")
                    saved[key] = default
            self._check_group(saved)
            new_groups.append(saved)
        new_state: defaultdict = defaultdict(dict)
        for saved_id, saved_state in state_dict["state"].items():
            param = param_of[saved_id]
            new_state[param] = {key: _state_value_for(param, key, value)
                                for key, value in saved_state.items()}
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"


# --- helpers for the optimizers ---------------------------------------------------------


def state_tensor(array) -> Tensor:
    """A state buffer: the array as a tensor outside the graph (changed in place by `step`)."""
    return Tensor._make(array)


def step_counter(value: float = 0.0) -> Tensor:
    """The per-parameter step count, a 0-d tensor on the host like PyTorch's: float32, or
    float64 when that is the default dtype."""
    dtype = np.float64 if backend.get_default_dtype() is backend.float64 else np.float32
    return Tensor._make(np.array(value, dtype=dtype))


def _tensors_and_names(optimizer: str, params) -> tuple[list, list | None]:
    """The tensors of a param group and their names (None when given without names)."""
    if isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, (set, frozenset)):
        raise TypeError(f"{optimizer}: parameters need to be given in an ordered collection "
                        f"(a set's order changes between runs); use a list")
    params = list(params)
    named = [isinstance(p, tuple) for p in params]
    if any(named) and not all(named):
        raise ValueError(f"{optimizer}: all params should be given with names or all without "
                         f"(some are (name, tensor) pairs, some are not)")
    names = [p[0] for p in params] if params and all(named) else None
    tensors = [p[1] for p in params] if names is not None else params
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{optimizer}: optimizer can only optimize Tensors, but parameter "
                            f"{index} is a {type(tensor).__name__}")
    return tensors, names


def _state_value_for(param: Tensor, key, value):
    """A copy of one saved state value for `param`: floating-point tensors in the parameter's
    dtype and on its device, except the step count (kept as saved, as PyTorch does)."""
    if isinstance(value, Tensor):
        array = value._data
        if key != "step" and param.is_floating_point() and array.dtype.kind == "f":
            array = array.astype(param._data.dtype)
        if key != "step":
            array = backend.move_array(array, param.device)
        return Tensor._make(array.copy())
    if key == "step" and isinstance(value, numbers.Real):
        return step_counter(float(value))     # PyTorch's older format kept a number
    if isinstance(value, dict):
        return {k: _state_value_for(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_state_value_for(param, None, v) for v in value)
    return value
