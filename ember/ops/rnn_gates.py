"""The gate math of one recurrent step, forward and backward, on raw arrays: the Elman cell
(tanh or ReLU), the LSTM and the GRU. The loop over time (ember.ops.rnn) runs every step of
a layer or a cell through these classes."""
from __future__ import annotations

from ember.backend import get_array_module
from ember.ops.compiled import lstm_kernel

# The arrays of one step over n sequences, hidden size H, G = gates * H, PyTorch's gate order:
#   gates         (n, G)  in: the input's share of the pre-activations, x W_ih^T + b_ih
#                         (+ b_hh but in the GRU); out: the gates' activations
#   hidden_share  (n, G)  h_prev W_hh^T (any memory layout; the step may overwrite it)
#   h_prev, c_prev, h_new, c_new, kept   (n, H)
# `kept` is what backward needs besides the gates and the previous state: tanh(c') for the
# LSTM, W_hn h_prev + b_hn for the GRU (unused by the Elman cell). Everything is written in
# place (out=): the loop hands in rows of buffers that hold the whole sequence. backward
# gets dL/dh' (and dL/dc') and fills dL/d(input share) (and dL/d(hidden share) where it
# differs: the GRU), and returns the part of dL/dh_prev that does not go through W_hh.


class ElmanGates:
    """h' = act(a), a = x W_ih^T + b_ih + h W_hh^T + b_hh, act = tanh or relu."""

    has_cell_state = False
    separate_hidden_gradient = False     # dL/d(hidden share) = dL/d(input share)

    def __init__(self, nonlinearity: str) -> None:
        self.nonlinearity = nonlinearity

    @staticmethod
    def input_bias(bias_ih, bias_hh):
        return _bias_sum(bias_ih, bias_hh)

    def forward(self, gates, hidden_share, h_prev, c_prev, h_new, c_new, kept, bias_hh):
        xp = get_array_module(gates)
        gates += hidden_share
        if self.nonlinearity == "tanh":
            xp.tanh(gates, out=h_new)
        else:
            xp.maximum(gates, 0, out=h_new)

    def backward(self, d_h, d_c, gates, h_prev, c_prev, h_new, kept, d_gates, d_hidden):
        """Fills d_gates = dL/da (d_hidden is the same array); returns dL/dh_prev's direct
        part (none: h_prev reaches h' only through a)."""
        xp = get_array_module(d_h)
        if self.nonlinearity == "tanh":
            xp.multiply(h_new, h_new, out=d_gates)      # d tanh(a)/da = 1 - tanh(a)^2
            xp.subtract(1, d_gates, out=d_gates)
            d_gates *= d_h
        else:
            xp.greater(h_new, 0, out=d_gates)           # d relu(a)/da = 1 where a > 0
            d_gates *= d_h
        return None


class LSTMGates:
    """i, f, g, o = sigma(a_i), sigma(a_f), tanh(a_g), sigma(a_o) (stacked in that order),
    c' = f * c + i * g,  h' = o * tanh(c').

    All four activations come from one sigmoid over the whole (n, 4H) block, as
    tanh(a) = 2 sigma(2 a) - 1: fewer, larger array operations. For float32 NumPy arrays,
    the compiled kernel (ember/ops/lstm_kernel.c, the same formulas) does the step in one
    pass where it is built: about 10x faster than the dozen NumPy calls below.
    """

    has_cell_state = True
    separate_hidden_gradient = False

    def __init__(self, batch: int, hidden: int, dtype, xp) -> None:
        self.hidden = hidden
        self.scratch = xp.empty((batch, 4 * hidden), dtype=dtype)
        self.kernel = lstm_kernel(dtype, xp)

    @staticmethod
    def input_bias(bias_ih, bias_hh):
        return _bias_sum(bias_ih, bias_hh)

    def forward(self, gates, hidden_share, h_prev, c_prev, h_new, c_new, kept, bias_hh):
        xp = get_array_module(gates)
        if self.kernel is not None:
            n, width = gates.shape
            if hidden_share.T.flags.c_contiguous:     # (W_hh h^T)^T: add it as stored
                self.kernel.add_transposed(gates, hidden_share.T, n, width, True)
            else:
                gates += hidden_share
            self.kernel.forward(gates, c_prev, c_new, kept, h_new, n, self.hidden)
            return
        gates += hidden_share
        i, f, g, o = _split(gates, 4)
        g *= 2
        _sigmoid_(gates)                        # sigma(a_i), sigma(a_f), sigma(2 a_g), sigma(a_o)
        g *= 2
        g -= 1                                  # g = 2 sigma(2 a_g) - 1 = tanh(a_g)
        xp.multiply(i, g, out=h_new)            # (h_new as scratch until the last line)
        xp.multiply(f, c_prev, out=c_new)       # c' = f c + i g
        c_new += h_new
        xp.tanh(c_new, out=kept)
        xp.multiply(o, kept, out=h_new)         # h' = o tanh(c')

    def backward(self, d_h, d_c, gates, h_prev, c_prev, h_new, kept, d_gates, d_hidden):
        """Given d_h = dL/dh' and d_c = dL/dc' (from later steps), fills d_gates = dL/da
        and turns d_c into dL/dc_prev, in place. h_prev reaches h' only through a."""
        if self.kernel is not None:
            self.kernel.backward(d_h, d_c, gates, c_prev, kept, d_gates, gates.shape[0],
                                 self.hidden)
            return None
        xp = get_array_module(d_h)
        i, f, g, o = _split(gates, 4)
        d_i, d_f, d_g, d_o = _split(d_gates, 4)
        tanh_c = kept
        # c' reaches the loss directly and through h' = o tanh(c'):
        #   dL/dc' = d_c + d_h * o * (1 - tanh(c')^2)
        xp.multiply(tanh_c, tanh_c, out=d_f)    # (d_f as scratch)
        xp.subtract(1, d_f, out=d_f)
        d_f *= o
        d_f *= d_h
        d_c += d_f
        xp.multiply(d_h, tanh_c, out=d_o)       # dh'/do = tanh(c')
        xp.multiply(d_c, g, out=d_i)            # dc'/di = g
        xp.multiply(d_c, c_prev, out=d_f)       # dc'/df = c
        xp.multiply(d_c, i, out=d_g)            # dc'/dg = i
        d_c *= f                                # dL/dc = dL/dc' * f
        # through the activations: d sigma(a)/da = s (1 - s) for i, f, o;
        # d tanh(a)/da = 1 - g^2 for g
        derivative = self.scratch[:gates.shape[0]]
        xp.subtract(1, gates, out=derivative)
        derivative *= gates
        d_tanh = derivative[:, 2 * self.hidden:3 * self.hidden]
        xp.multiply(g, g, out=d_tanh)
        xp.subtract(1, d_tanh, out=d_tanh)
        d_gates *= derivative
        return None


class GRUGates:
    """PyTorch's GRU, where r multiplies the hidden share of n, its bias included:

        x_r, x_z, x_n = x W_ih^T + b_ih        h_r, h_z, h_n = h W_hh^T + b_hh
        r, z = sigma(x_r + h_r), sigma(x_z + h_z)
        n = tanh(x_n + r * h_n)
        h' = (1 - z) * n + z * h
    """

    has_cell_state = False
    separate_hidden_gradient = True      # r scales the hidden share of n

    def __init__(self, batch: int, hidden: int, dtype, xp) -> None:
        self.hidden = hidden
        self.scratch = xp.empty((batch, hidden), dtype=dtype)

    @staticmethod
    def input_bias(bias_ih, bias_hh):
        """b_hr and b_hz join b_ih (they are added to the same sums); b_hn stays with h."""
        if bias_hh is None:
            return bias_ih
        hidden = bias_hh.shape[0] // 3
        bias = bias_hh.copy()
        bias[2 * hidden:] = 0
        return bias if bias_ih is None else bias + bias_ih

    def forward(self, gates, hidden_share, h_prev, c_prev, h_new, c_new, kept, bias_hh):
        xp = get_array_module(gates)
        hidden = self.hidden
        rz, n = gates[:, :2 * hidden], gates[:, 2 * hidden:]
        rz += hidden_share[:, :2 * hidden]
        _sigmoid_(rz)
        r, z = rz[:, :hidden], rz[:, hidden:]
        kept[...] = hidden_share[:, 2 * hidden:]          # h_n = W_hn h + b_hn
        if bias_hh is not None:
            kept += bias_hh[2 * hidden:]
        xp.multiply(r, kept, out=h_new)                   # (h_new as scratch)
        n += h_new
        xp.tanh(n, out=n)                                 # n = tanh(x_n + r * h_n)
        xp.subtract(h_prev, n, out=h_new)                 # h' = n + z (h - n)
        h_new *= z
        h_new += n

    def backward(self, d_h, d_c, gates, h_prev, c_prev, h_new, kept, d_gates, d_hidden):
        """Fills d_gates = dL/d(input share) and d_hidden = dL/d(hidden share), and returns
        dL/dh_prev's direct part, d_h * z (h' = ... + z h)."""
        xp = get_array_module(d_h)
        hidden = self.hidden
        r, z, n = _split(gates, 3)
        d_r, d_z, d_n = _split(d_gates, 3)
        h_n = kept
        scratch = self.scratch[:d_h.shape[0]]
        xp.subtract(1, z, out=scratch)
        xp.multiply(n, n, out=d_n)              # dL/d(x_n + r h_n) = d_h (1 - z) (1 - n^2)
        xp.subtract(1, d_n, out=d_n)
        d_n *= scratch
        d_n *= d_h
        xp.subtract(h_prev, n, out=d_z)         # dL/d(x_z + h_z) = d_h (h - n) z (1 - z)
        d_z *= d_h
        d_z *= z
        d_z *= scratch
        xp.multiply(d_n, h_n, out=d_r)          # dL/d(x_r + h_r) = d_n h_n r (1 - r)
        d_r *= r
        xp.subtract(1, r, out=scratch)
        d_r *= scratch
        # the hidden share: the same for r and z; dL/dh_n = d_n * r
        d_hidden[:, :2 * hidden] = d_gates[:, :2 * hidden]
        xp.multiply(d_n, r, out=d_hidden[:, 2 * hidden:])
        return d_h * z


def gate_math(mode: str, batch: int, hidden: int, dtype, xp):
    """The gate math of a recurrent layer's mode (RNN_TANH, RNN_RELU, LSTM, GRU), with
    scratch space for `batch` rows."""
    if mode == "LSTM":
        return LSTMGates(batch, hidden, dtype, xp)
    if mode == "GRU":
        return GRUGates(batch, hidden, dtype, xp)
    if mode in ("RNN_TANH", "RNN_RELU"):
        return ElmanGates("tanh" if mode == "RNN_TANH" else "relu")
    raise ValueError(f"recurrent layer: unknown mode {mode!r}; expected RNN_TANH, RNN_RELU, "
                     "LSTM or GRU")


def _bias_sum(bias_ih, bias_hh):
    if bias_ih is None or bias_hh is None:
        return bias_hh if bias_ih is None else bias_ih
    return bias_ih + bias_hh


def _sigmoid_(a):
    """sigma(a) = (1 + tanh(a/2)) / 2, in place: no overflow for any a."""
    a *= 0.5
    get_array_module(a).tanh(a, out=a)
    a += 1
    a *= 0.5
    return a


def _split(gates, count: int) -> list:
    """The gates stacked along the last dimension, as views."""
    size = gates.shape[1] // count
    return [gates[:, k * size:(k + 1) * size] for k in range(count)]
