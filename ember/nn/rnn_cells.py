"""Recurrent cells: RNNCell, LSTMCell and GRUCell, each one time step of its recurrence with
PyTorch's parameters (weight_ih, weight_hh, bias_ih, bias_hh) and gate order."""
from __future__ import annotations

import math

from ember.creation import empty
from ember.errors import DTypeError, ShapeError
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.ops.rnn import recurrent_layer
from ember.tensor import Tensor


class RNNCellBase(Module):
    """What the cells share: weight_ih (gates * hidden, input), weight_hh (gates * hidden,
    hidden), bias_ih and bias_hh (gates * hidden), all starting U(-1/sqrt(hidden),
    1/sqrt(hidden)) as in PyTorch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(empty(gates, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(gates, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(gates, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(gates, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _step(self, mode: str, input: Tensor, h: Tensor | None, c: Tensor | None = None):
        """One step of the cell: the recurrent layer's primitive over a sequence of one step
        (the same gate math as the layers). Returns (h', c') (c' None but for the LSTM)."""
        _, h_new, c_new = recurrent_layer(input, h, c, self.weight_ih, self.weight_hh,
                                          self.bias_ih, self.bias_hh, mode, [input.shape[0]])
        return h_new, c_new

    def _batched(self, input: Tensor, states: tuple) -> tuple:
        """Check the input and the states and add a batch dimension to unbatched ones (a
        state not given stays None: zeros). Returns (input, states, batched)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D "
                             f"instead (shape {tuple(input.shape)})")
        for k, state in enumerate(states):
            if state is not None and state.ndim not in (1, 2):
                which = "hidden" if len(states) == 1 else f"hx[{k}]"
                raise ShapeError(f"{name}: Expected {which} to be 1D or 2D, got "
                                 f"{state.ndim}D instead (shape {tuple(state.shape)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got "
                             f"{input.shape[-1]} expected {self.input_size} (input shape "
                             f"{tuple(input.shape)})")
        if input.dtype != self.weight_ih.dtype:
            raise DTypeError(f"{name}: input dtype ({input.dtype}) does not match weight "
                             f"dtype ({self.weight_ih.dtype})")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        batch = input.shape[0]
        filled = []
        for k, state in enumerate(states):
            if state is None:
                filled.append(None)
                continue
            if not batched:
                state = state.unsqueeze(0)
            if state.shape[0] != batch:
                raise ShapeError(f"{name}: Input batch size {batch} doesn't match hidden{k} "
                                 f"batch size {state.shape[0]}")
            if state.shape[1] != self.hidden_size:
                raise ShapeError(f"{name}: hidden{k} has inconsistent hidden_size: got "
                                 f"{state.shape[1]}, expected {self.hidden_size}")
            if state.dtype != input.dtype:
                raise DTypeError(f"{name}: hidden{k} dtype ({state.dtype}) does not match "
                                 f"input dtype ({input.dtype})")
            filled.append(state)
        return input, filled, batched


class RNNCell(RNNCellBase):
    """An Elman RNN cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    Args:
        input_size: features of the input x.
        hidden_size: features of the hidden state h.
        bias: learn the biases b_ih and b_hh (default True).
        nonlinearity: 'tanh' (default) or 'relu'.

    Shape: input (B, input_size) or (input_size,); hx (B, hidden_size) or (hidden_size,),
    zeros if not given -> h' like hx.

    Example:
        >>> cell = ember.nn.RNNCell(10, 20)
        >>> h = cell(ember.randn(3, 10))
        >>> h = cell(ember.randn(3, 10), h)      # the next step
        >>> h.shape
        (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity '{nonlinearity}'. Select from "
                             "'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._batched(input, (hx,))
        h, _ = self._step("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, h)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """A long short-term memory cell (Hochreiter & Schmidhuber, 1997; with a forget gate):

        i, f, g, o = sigma(.), sigma(.), tanh(.), sigma(.) of x W_ih^T + b_ih + h W_hh^T + b_hh
        c' = f * c + i * g
        h' = o * tanh(c')

    The gates are stacked in PyTorch's order (i, f, g, o) in weight_ih (4 * hidden,
    input) and weight_hh (4 * hidden, hidden).

    Args:
        input_size: features of the input x.
        hidden_size: features of h and c.
        bias: learn the biases b_ih and b_hh (default True).

    Shape: input (B, input_size) or (input_size,); hx = (h, c), each (B, hidden_size) or
    (hidden_size,), zeros if not given -> (h', c') like hx.

    Example:
        >>> cell = ember.nn.LSTMCell(10, 20)
        >>> h, c = cell(ember.randn(3, 10))
        >>> h, c = cell(ember.randn(3, 10), (h, c))
        >>> c.shape
        (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a pair (h, c) of tensors, got "
                            f"{type(hx).__name__}")
        input, (h, c), batched = self._batched(input, (None, None) if hx is None else hx)
        h, c = self._step("LSTM", input, h, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """A gated recurrent unit cell (Cho et al., 2014), in PyTorch's form:

        r = sigma(W_ir x + b_ir + W_hr h + b_hr)
        z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    The gates are stacked in the order (r, z, n) in weight_ih and weight_hh.

    Args:
        input_size: features of the input x.
        hidden_size: features of h.
        bias: learn the biases b_ih and b_hh (default True).

    Shape: input (B, input_size) or (input_size,); hx (B, hidden_size) or (hidden_size,),
    zeros if not given -> h' like hx.

    Example:
        >>> cell = ember.nn.GRUCell(10, 20)
        >>> cell(ember.randn(3, 10)).shape
        (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._batched(input, (hx,))
        h, _ = self._step("GRU", input, h)
        return h if batched else h.squeeze(0)
