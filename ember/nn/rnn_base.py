"""RNNBase: what the recurrent layers share. PyTorch's arguments, parameters and checks, and
the loop over stacked layers and directions, each running the cell over the whole sequence
as one primitive (ember.ops.rnn), for padded batches and PackedSequence alike."""
from __future__ import annotations

import math
import numbers
import warnings

import ember.nn.functional as F
from ember.creation import empty
from ember.errors import DTypeError, ShapeError
from ember.nn import init
from ember.nn.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence
from ember.ops.rnn import recurrent_layer
from ember.ops.shape import cat, stack
from ember.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, named as
    in PyTorch (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, then _reverse for the
    backward direction, then layer 1, ...), checks of the input and the initial states,
    and the loop over layers and directions.

    The time loop (ember.ops.rnn.recurrent_layer, one primitive per layer and direction)
    sees the batch flattened time step by time step: rows (N, features)
    with batch_sizes[t] rows at step t (longest sequences first). A padded batch is the
    case where every step has all B rows; a PackedSequence is the general case, where a
    sequence stops taking steps (and keeps its final state) once its length is reached.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        _check_settings(name, mode, input_size, hidden_size, num_layers, bias, batch_first,
                        dropout, proj_size)
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size (LSTM with projections) is not "
                                      "supported in ember; use proj_size=0 and a Linear layer "
                                      "on the output")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, "
                          f"so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._all_weights = []           # parameter names per (layer, direction)
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix,
                            Parameter(empty(*shape, dtype=dtype, device=device)))
                self._all_weights.append([kind + suffix for kind in shapes])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in
        PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    @property
    def all_weights(self) -> list:
        """The parameters of each (layer, direction): [w_ih, w_hh(, b_ih, b_hh)]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Nothing to do in ember (PyTorch packs the weights for cuDNN here)."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text

    # --- the initial and final states of each (layer, direction): pairs (h, c), where c is
    # None except in the LSTM, which overrides these two.

    def _initial_states(self, hx) -> list:
        """(h_0, None) for each (layer, direction) from hx (D * layers, B, H); None for
        zeros."""
        if hx is None:
            return [(None, None)] * (self.num_layers * self._directions)
        return [(h, None) for h in hx.unbind(0)]

    def _final_states(self, finals: list, permutation):
        """h_n (D * layers, B, H) from the final (h, c) of each (layer, direction)."""
        h_n = stack([h for h, _ in finals])
        return h_n if permutation is None else h_n.index_select(1, permutation)

    # --- forward ----------------------------------------------------------------------

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def forward(self, input, hx=None):
        """Run the layers over the sequence; see the class docstring for shapes."""
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            self._check_input(data, expected_ndim=2)
            sizes = [int(n) for n in batch_sizes._data]
            if hx is not None:
                self._check_hx(hx, batched=True, batch=sizes[0])
                hx = _permute_batch(_as_tuple(hx), sorted_indices)
            output, h_n = self._run(data, sizes, hx, unsorted_indices)
            return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), h_n
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (2, 3):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ShapeError(f"{name}: Expected input to be 2D or 3D (sequence, batch, "
                             f"features), got {shape}")
        batched = input.ndim == 3
        if batched and self.batch_first:
            input = input.transpose(0, 1)
        elif not batched:
            input = input.unsqueeze(1)        # one sequence: a batch of one
        self._check_input(input, expected_ndim=3)
        steps, batch, features = input.shape
        if steps == 0:
            raise ShapeError(f"{name}: the input has no time steps (shape "
                             f"{tuple(input.shape)})")
        if hx is not None:
            self._check_hx(hx, batched=batched, batch=batch)
            hx = _as_tuple(hx) if batched else _unsqueeze_batch(_as_tuple(hx))
        output, h_n = self._run(input.reshape(steps * batch, features), [batch] * steps, hx,
                                None)
        output = output.reshape(steps, batch, output.shape[-1])
        if not batched:
            return output.squeeze(1), _squeeze_batch(h_n)
        return (output.transpose(0, 1) if self.batch_first else output), h_n

    def _run(self, data: Tensor, batch_sizes: list, hx, unsorted_indices) -> tuple:
        """The loop over layers and directions; each (layer, direction) runs over the whole
        sequence as one primitive (recurrent_layer). data: (N, features), time step by time
        step, batch_sizes[t] rows at step t. Returns the last layer's output
        (N, D * hidden) and the final states."""
        initial = self._initial_states(hx)
        layer_input, finals = data, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self._directions):
                k = layer * self._directions + direction
                weight_ih, weight_hh, *biases = self.all_weights[k]
                bias_ih, bias_hh = biases if biases else (None, None)
                h_0, c_0 = initial[k]
                output, h_n, c_n = recurrent_layer(layer_input, h_0, c_0, weight_ih, weight_hh,
                                                   bias_ih, bias_hh, self.mode, batch_sizes,
                                                   reverse=direction == 1)
                outputs.append(output)
                finals.append((h_n, c_n))
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, dim=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, self._final_states(finals, unsorted_indices)

    # --- checks ---------------------------------------------------------------------------

    def _check_input(self, input: Tensor, expected_ndim: int) -> None:
        name = type(self).__name__
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")
        if input.ndim != expected_ndim:
            raise ShapeError(f"{name}: input must have {expected_ndim} dimensions, got "
                             f"{input.ndim} (shape {tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]} (input shape "
                             f"{tuple(input.shape)})")

    def _check_hx(self, hx, batched: bool, batch: int) -> None:
        self._check_state(hx, "hidden", batched, batch)

    def _check_state(self, state, what: str, batched: bool, batch: int) -> None:
        """A state must be (D * num_layers, batch, hidden), or (D * num_layers, hidden)
        for an unbatched input, in the input's dtype."""
        name = type(self).__name__
        if not isinstance(state, Tensor):
            raise TypeError(f"{name}: {what} must be a tensor, got {type(state).__name__}")
        ndim = 3 if batched else 2
        if state.ndim != ndim:
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(f"{name}: For {kind} input, {what} should also be {ndim}-D but "
                             f"got {state.ndim}-D tensor (shape {tuple(state.shape)})")
        expected = (self.num_layers * self._directions,) + ((batch,) if batched else ()) \
            + (self.hidden_size,)
        if tuple(state.shape) != expected:
            raise ShapeError(f"{name}: Expected {what} size {expected}, got "
                             f"{list(state.shape)} (num_layers * num_directions, batch, "
                             f"hidden_size)")
        if state.dtype != self.weight_ih_l0.dtype:
            raise DTypeError(f"{name}: {what} dtype ({state.dtype}) does not match the "
                             f"weight dtype ({self.weight_ih_l0.dtype})")


def _check_settings(name, mode, input_size, hidden_size, num_layers, bias, batch_first,
                    dropout, proj_size) -> None:
    """PyTorch's checks of the constructor's arguments, with its exception types."""
    if mode not in _GATES:
        raise ValueError(f"{name}: Unrecognized RNN mode: {mode}")
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
            or not 0 <= dropout <= 1:
        raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                         f"the probability of an element being zeroed, got {dropout!r}")
    for arg, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name}: {arg} should be of type bool, got: "
                            f"{type(value).__name__}")
    for arg, value in (("input_size", input_size), ("hidden_size", hidden_size),
                       ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name}: {arg} should be of type int, got: "
                            f"{type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name}: {arg} must be greater than zero, got {value}")
    if proj_size < 0:
        raise ValueError(f"{name}: proj_size should be a positive integer or zero to "
                         "disable projections")
    if proj_size and proj_size >= hidden_size:
        raise ValueError(f"{name}: proj_size has to be smaller than hidden_size")


def _as_tuple(hx):
    """An LSTM's (h_0, c_0) given as a list becomes a tuple; a tensor stays a tensor."""
    return tuple(hx) if isinstance(hx, list) else hx


def _permute_batch(hx, permutation):
    if permutation is None:
        return hx
    if isinstance(hx, tuple):
        return tuple(h.index_select(1, permutation) for h in hx)
    return hx.index_select(1, permutation)


def _unsqueeze_batch(hx):
    return tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(1)


def _squeeze_batch(hx):
    return tuple(h.squeeze(1) for h in hx) if isinstance(hx, tuple) else hx.squeeze(1)
