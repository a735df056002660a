"""Recurrent layers with PyTorch's arguments, parameter names, gate order and results:
RNN (tanh or relu), LSTM and GRU. Each is its cell's gate math (ember.ops.rnn_gates) run
over the sequence by one loop (ember.ops.rnn), layer by layer and direction by direction."""
from __future__ import annotations

from ember.nn.rnn_base import RNNBase
from ember.ops.shape import stack


class RNN(RNNBase):
    """An Elman RNN, layer by layer: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
    (or relu), where x_t is the input (layer 0) or the previous layer's h_t.

    Args:
        input_size: features of the input x_t.
        hidden_size: features of the hidden state h_t.
        num_layers: stacked layers, each reading the one below (default 1).
        nonlinearity: 'tanh' (default) or 'relu'.
        bias: learn b_ih and b_hh (default True).
        batch_first: input and output are (batch, seq, feature) (default False).
        dropout: dropout on each layer's output except the last, in training (default 0).
        bidirectional: also run each layer backward in time and concatenate (default False).

    Shape: input (L, B, H_in), (B, L, H_in) with batch_first, (L, H_in) unbatched, or a
    PackedSequence; hx (D * num_layers, B, H), zeros if not given (D = 2 if bidirectional
    else 1) -> output (L, B, D * H) (or like the input's layout), h_n (D * num_layers, B, H).

    Example:
        >>> rnn = ember.nn.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(ember.randn(5, 3, 10), ember.zeros(2, 3, 20))
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class GRU(RNNBase):
    """A gated recurrent unit network (Cho et al., 2014), layer by layer:

        r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    with the gates stacked (r, z, n) in weight_ih_l{k} and weight_hh_l{k}.

    Args: as `RNN`, without nonlinearity.

    Shape: as `RNN`.

    Example:
        >>> gru = ember.nn.GRU(1, 6, bidirectional=True, batch_first=True)
        >>> output, h_n = gru(ember.randn(100, 40, 1))
        >>> output.shape, h_n.shape
        ((100, 40, 12), (2, 100, 6))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """A long short-term memory network (Hochreiter & Schmidhuber, 1997), layer by layer:

        i_t, f_t, g_t, o_t = sigma, sigma, tanh, sigma of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    with the gates stacked (i, f, g, o) in weight_ih_l{k} and weight_hh_l{k}.

    Args: as `RNN`, without nonlinearity; proj_size must be 0 (not supported).

    Shape: input as `RNN`; hx = (h_0, c_0), each (D * num_layers, B, H), zeros if not
    given -> output (L, B, D * H), (h_n, c_n) each (D * num_layers, B, H).

    Example:
        >>> lstm = ember.nn.LSTM(65, 256)
        >>> output, (h_n, c_n) = lstm(ember.randn(64, 32, 65))
        >>> output.shape, c_n.shape
        ((64, 32, 256), (1, 32, 256))

    Truncated backpropagation through time: run a long sequence in chunks, carrying the
    state from one chunk to the next but cutting the graph there with detach(), so each
    backward covers one chunk (and its memory is freed):

        >>> state = None
        >>> for chunk, target in chunks:                 # e.g. 64 steps at a time
        ...     output, state = lstm(chunk, state)
        ...     loss = F.cross_entropy(head(output).reshape(-1, vocab), target.reshape(-1))
        ...     optimizer.zero_grad(); loss.backward()
        ...     ember.nn.utils.clip_grad_norm_(params, 1.0); optimizer.step()
        ...     state = tuple(s.detach() for s in state)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    # the state of one (layer, direction) is the pair (h, c)

    def _initial_states(self, hx) -> list:
        if hx is None:
            return [(None, None)] * (self.num_layers * self._directions)
        h_0, c_0 = hx
        return list(zip(h_0.unbind(0), c_0.unbind(0)))

    def _final_states(self, finals: list, permutation) -> tuple:
        h_n, c_n = stack([h for h, _ in finals]), stack([c for _, c in finals])
        if permutation is not None:
            h_n, c_n = h_n.index_select(1, permutation), c_n.index_select(1, permutation)
        return h_n, c_n

    def _check_hx(self, hx, batched: bool, batch: int) -> None:
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTM: hx must be a pair (h_0, c_0) of tensors, got "
                            f"{type(hx).__name__}")
        for k, state in enumerate(hx):
            self._check_state(state, f"hidden[{k}]", batched, batch)
