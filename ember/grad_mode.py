"""The one grad-mode switch: whether new operations are recorded for backward.

Changed only by the context managers here (also usable as decorators), per thread like
PyTorch's.
"""
from __future__ import annotations

import functools
import inspect
import threading


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are recorded."""
    return _mode.enabled


class _GradModeContext:
    """Base of the grad-mode switches: sets `_target` on entry, restores on exit, and
    decorates a function so that it runs in that mode."""

    _target: bool

    def __new__(cls, func=None):
        # Allow both `@no_grad` and `@no_grad()`, as PyTorch does.
        if func is not None and callable(func):
            return _decorate(func, cls)
        self = super().__new__(cls)
        self._previous: list[bool] = []     # set here, not in __init__: one call less
        return self                         # per `with` (inference runs it every step)

    def __enter__(self) -> None:
        self._previous.append(_mode.enabled)
        _mode.enabled = self._target

    def __exit__(self, *exc_info) -> None:
        _mode.enabled = self._previous.pop()

    def __call__(self, func):
        return _decorate(func, self.__class__)


def _decorate(func, make_context):
    """Run func (or, for a generator function, each step of the generator) in the mode."""
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def generator_wrapper(*args, **kwargs):
            generator = func(*args, **kwargs)
            to_send = None
            while True:
                try:
                    with make_context():
                        value = generator.send(to_send)
                except StopIteration as stop:
                    return stop.value
                to_send = yield value

        return generator_wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with make_context():
            return func(*args, **kwargs)

    return wrapper


class no_grad(_GradModeContext):
    """Don't record operations for backward (inference, in-place parameter updates).

    Example:
        >>> with ember.no_grad():
        ...     y = model(x)          # y.requires_grad is False
    """

    _target = False


class enable_grad(_GradModeContext):
    """Record operations again, inside a `no_grad` block."""

    _target = True


class set_grad_enabled(_GradModeContext):
    """Switch recording on or off by a flag: `with ember.set_grad_enabled(training): ...`.

    Like PyTorch's, calling it as a function also sets the mode right away.
    """

    def __new__(cls, mode: bool):
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        self._previous: list[bool] = []
        self._target = bool(mode)
        self._before_call = _mode.enabled
        _mode.enabled = self._target

    def __enter__(self) -> None:
        self._previous.append(self._before_call)

    def __call__(self, func):
        mode = self._target
        _mode.enabled = self._before_call  # used as a decorator: don't change mode now
        return _decorate(func, lambda: set_grad_enabled(mode))


inference_mode = no_grad
