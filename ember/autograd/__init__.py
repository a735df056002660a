"""Reverse-mode automatic differentiation: the graph node (Function), the engine that
walks it backwards, the entry points backward() and grad(), and gradient checking."""
from ember.autograd.api import backward, grad
from ember.autograd.function import Function
from ember.autograd.gradcheck import GradcheckError, gradcheck
from ember.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "GradcheckError", "backward", "enable_grad", "grad", "gradcheck",
           "is_grad_enabled", "no_grad", "set_grad_enabled"]
