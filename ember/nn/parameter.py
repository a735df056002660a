"""Parameter: a tensor that a Module learns, registered when assigned to it."""
from __future__ import annotations

from ember.creation import tensor as make_tensor
from ember.tensor import Tensor, _init_slots


class Parameter(Tensor):
    """A leaf tensor that requires grad and that a Module records as a parameter.

    `Parameter(t)` shares memory with `t`, like PyTorch's.

    Example:
        >>> layer.scale = ember.nn.Parameter(ember.ones(3))
        >>> [name for name, _ in layer.named_parameters()]
        [..., 'scale']
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = make_tensor([])
        elif not isinstance(data, Tensor):
            data = make_tensor(data)
        _init_slots(self, data._data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module
    (`self.running_mean = Buffer(ember.zeros(3))`), as in PyTorch 2.5+."""

    __slots__ = ("persistent",)

    def __init__(self, data, *, persistent: bool = True) -> None:
        data = data if isinstance(data, Tensor) else make_tensor(data)
        _init_slots(self, data._data)
        self.persistent = persistent
