"""Fused recurrent cell steps: one primitive per cell kind (tanh/ReLU RNN, LSTM, GRU) doing
one time step with all gates from one matrix product and a hand-written backward; and
`time_steps`, which splits a sequence into its steps with one gradient buffer for all."""
from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.grad_mode import is_grad_enabled
from ember.tensor import Tensor

# Every step takes gates_x = x_t W_ih^T, the input's share of the gates, computed for all
# time steps at once by the layer (one large matrix product), and adds the rest:
#     a = gates_x + b_ih + h W_hh^T + b_hh          (the step's one matrix product)
# The gates are stacked along the last dimension in PyTorch's order: LSTM (i, f, g, o),
# GRU (r, z, n).


def _sigmoid_(a):
    """sigma(a) = 1 / (1 + e^-a), in place, written as (1 + tanh(a/2)) / 2: the same
    function, but with no overflow for any a."""
    a *= 0.5
    get_array_module(a).tanh(a, out=a)
    a += 1
    a *= 0.5
    return a


def _hidden_product(h, weight_hh):
    """h W_hh^T, computed as (W_hh h^T)^T: the same numbers, and OpenBLAS is about twice
    as fast this way round when the batch is small."""
    return (weight_hh @ h.T).T


def _input_share(gates_x, bias_ih, bias_hh=None):
    """gates_x + b_ih (+ b_hh), in a fresh array (the biases added to each other first:
    one pass over the batch instead of two)."""
    if bias_ih is None and bias_hh is None:
        return gates_x.copy()
    if bias_ih is None or bias_hh is None:
        return gates_x + (bias_hh if bias_ih is None else bias_ih)
    return gates_x + (bias_ih + bias_hh)


def _step_grads(ctx, d_gates_x, d_gates_h, h, weight_hh, d_h_direct=None):
    """Gradients of a = gates_x + b_ih + (h W_hh^T + b_hh) for the inputs
    (gates_x, h, W_hh, b_ih, b_hh), given d_gates_x = dL/da and d_gates_h = dL/d(h W_hh^T
    + b_hh) (the same array except in the GRU):
        dL/dgates_x = dL/db_ih summed over the batch = d_gates_x
        dL/dh = d_gates_h W_hh (+ what reached h directly),  dL/dW_hh = d_gates_h^T h,
        dL/db_hh = d_gates_h summed over the batch.
    With a WeightGradientSum, dL/dW_hh goes there instead (see WeightGradientSum)."""
    need_x, need_h, need_w, need_b_ih, need_b_hh = ctx.needs_input_grad[:5]
    d_h = d_w = d_b_ih = d_b_hh = None
    if need_h:
        d_h = d_gates_h @ weight_hh
        if d_h_direct is not None:
            d_h += d_h_direct
    if need_w and ctx.weight_gradient is None:
        d_w = d_gates_h.T @ h
    elif need_w:                       # summed over the run's steps, returned by its first
        ctx.weight_gradient.add(d_gates_h, h)
        d_w = ctx.weight_gradient.take() if ctx.first_step else None
    if need_b_ih:
        d_b_ih = d_gates_x.sum(axis=0)
    if need_b_hh:
        d_b_hh = d_b_ih if (need_b_ih and d_gates_h is d_gates_x) else d_gates_h.sum(axis=0)
    return (d_gates_x if need_x else None), d_h, d_w, d_b_ih, d_b_hh


class WeightGradientSum:
    """dL/dW_hh for a weight shared by every step of one run over a sequence, summed in
    one buffer: dL/dW_hh = sum over steps of d_gates_h^T h.

    Without it, each step returns its own (gates, hidden) gradient array and the engine
    adds them up: a fresh array per step (1 MB for an LSTM of 256 units) whose memory
    the operating system must map in each time. With it, each step adds its share in
    place, and the run's first step, which backward reaches last (every later step
    depends on it), hands the sum to W_hh. Make one per run and pass it to every step.
    """

    def __init__(self) -> None:
        self.steps = 0
        self.total = self.scratch = None

    def join(self) -> bool:
        """Called by each step's forward; True for the first step of the run."""
        self.steps += 1
        return self.steps == 1

    def add(self, d_gates_h, h) -> None:
        if self.total is None:
            self.total = d_gates_h.T @ h
            return
        if self.scratch is None:
            self.scratch = get_array_module(h).empty_like(self.total)
        get_array_module(h).matmul(d_gates_h.T, h, out=self.scratch)
        self.total += self.scratch

    def take(self):
        """The sum, handed over once (a second backward starts again from zero)."""
        total, self.total, self.scratch = self.total, None, None
        return total


def _join(ctx, weight_gradient) -> None:
    ctx.weight_gradient = weight_gradient
    ctx.first_step = weight_gradient is not None and weight_gradient.join()


class RNNStep(Function):
    """h' = act(gates_x + b_ih + h W_hh^T + b_hh), act = tanh or relu."""

    def forward(ctx, gates_x, h, weight_hh, bias_ih, bias_hh, nonlinearity, weight_gradient):
        xp = get_array_module(gates_x)
        _join(ctx, weight_gradient)
        pre = _input_share(gates_x, bias_ih, bias_hh)
        pre += _hidden_product(h, weight_hh)
        if nonlinearity == "tanh":
            h_new = xp.tanh(pre, out=pre)
        else:
            h_new = xp.maximum(pre, 0, out=pre)
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(h, weight_hh, h_new)
        return h_new

    def backward(ctx, grad):
        h, weight_hh, h_new = ctx.saved_tensors
        if ctx.nonlinearity == "tanh":
            d_pre = grad * (1 - h_new * h_new)           # d tanh(a) = 1 - tanh(a)^2
        else:
            d_pre = grad * (h_new > 0)                   # d relu(a) = 1 where a > 0
        return _step_grads(ctx, d_pre, d_pre, h, weight_hh)


class LSTMStep(Function):
    """One LSTM step on the state s = stack(h, c) of shape (2, batch, hidden):

        i, f, g, o = sigma(a_i), sigma(a_f), tanh(a_g), sigma(a_o)
        c' = f * c + i * g
        h' = o * tanh(c')

    All four gates go through one sigmoid, as tanh(a) = 2 sigma(2a) - 1: fewer, larger
    array operations, and one derivative s (1 - s) for all of them in backward.
    """

    def forward(ctx, gates_x, state, weight_hh, bias_ih, bias_hh, weight_gradient):
        xp = get_array_module(gates_x)
        _join(ctx, weight_gradient)
        h, c = state[0], state[1]
        hidden = h.shape[-1]
        a = _input_share(gates_x, bias_ih, bias_hh)
        a += _hidden_product(h, weight_hh)
        a[:, 2 * hidden:3 * hidden] *= 2
        sigmoids = _sigmoid_(a)                   # sigma(a_i), sigma(a_f), sigma(2 a_g), sigma(a_o)
        i, f, s_g, o = _split(sigmoids, 4)
        g = 2 * s_g - 1                           # = tanh(a_g)
        new_state = xp.empty_like(state)
        c_new = xp.multiply(f, c, out=new_state[1])
        c_new += i * g
        xp.tanh(c_new, out=new_state[0])
        new_state[0] *= o
        # backward needs the gates and tanh(c'): it recomputes g and tanh(c') (cheap)
        # rather than keeping two more arrays per step alive until then
        ctx.save_for_backward(state, weight_hh, sigmoids, new_state)
        return new_state

    def backward(ctx, grad):
        xp = get_array_module(grad)
        state, weight_hh, sigmoids, new_state = ctx.saved_tensors
        h, c = state[0], state[1]
        i, f, s_g, o = _split(sigmoids, 4)
        g = 2 * s_g - 1
        tanh_c = xp.tanh(new_state[1])
        d_h, d_c = grad[0], grad[1]
        # c' reaches the loss directly and through h' = o tanh(c'):
        #   dL/dc' = d_c + d_h * o * (1 - tanh(c')^2)
        d_c_new = 1 - tanh_c * tanh_c
        d_c_new *= o
        d_c_new *= d_h
        d_c_new += d_c
        # dL/d(each gate), then through the gates' derivatives to the pre-activations a
        d_gates = xp.empty_like(sigmoids)
        d_i, d_f, d_g, d_o = _split(d_gates, 4)
        xp.multiply(d_c_new, g, out=d_i)                # dc'/di = g
        xp.multiply(d_c_new, c, out=d_f)                # dc'/df = c
        xp.multiply(d_c_new, i, out=d_g)                # dc'/dg = i
        xp.multiply(d_h, tanh_c, out=d_o)               # dh'/do = tanh(c')
        # d sigma(a)/da = s (1 - s) for i, f, o; for g = 2 sigma(2 a_g) - 1 it is
        # 4 s_g (1 - s_g) (which equals 1 - g^2, tanh's derivative)
        d_g *= 4
        d_gates *= sigmoids
        d_gates *= 1 - sigmoids
        d_x, d_h_prev, d_w, d_b_ih, d_b_hh = _step_grads(ctx, d_gates, d_gates, h, weight_hh)
        d_state = None
        if d_h_prev is not None:
            d_state = xp.empty_like(state)
            d_state[0] = d_h_prev
            xp.multiply(d_c_new, f, out=d_state[1])     # dc'/dc = f
        return d_x, d_state, d_w, d_b_ih, d_b_hh


class GRUStep(Function):
    """One GRU step (PyTorch's form: r multiplies the hidden share of n, bias included):

        x_r, x_z, x_n = gates_x + b_ih            h_r, h_z, h_n = h W_hh^T + b_hh
        r, z = sigma(x_r + h_r), sigma(x_z + h_z)
        n = tanh(x_n + r * h_n)
        h' = (1 - z) * n + z * h
    """

    def forward(ctx, gates_x, h, weight_hh, bias_ih, bias_hh, weight_gradient):
        xp = get_array_module(gates_x)
        _join(ctx, weight_gradient)
        hidden = h.shape[-1]
        x_share = _input_share(gates_x, bias_ih)
        h_share = _hidden_product(h, weight_hh)
        if bias_hh is not None:
            h_share = h_share + bias_hh
        rz = x_share[:, :2 * hidden]
        rz += h_share[:, :2 * hidden]
        _sigmoid_(rz)
        r, z = rz[:, :hidden], rz[:, hidden:]
        h_n = h_share[:, 2 * hidden:]
        n = r * h_n
        n += x_share[:, 2 * hidden:]
        xp.tanh(n, out=n)
        h_new = h - n                                      # h' = n + z (h - n)
        h_new *= z
        h_new += n
        ctx.save_for_backward(h, weight_hh, rz, n, h_n)
        return h_new

    def backward(ctx, grad):
        xp = get_array_module(grad)
        h, weight_hh, rz, n, h_n = ctx.saved_tensors
        hidden = h.shape[-1]
        r, z = rz[:, :hidden], rz[:, hidden:]
        d_gates_x = xp.empty((grad.shape[0], 3 * hidden), dtype=grad.dtype)
        d_r, d_z, d_n = _split(d_gates_x, 3)
        _times(grad, 1 - z, 1 - n * n, out=d_n)            # dh'/dn = 1 - z, d tanh = 1 - n^2
        _times(d_n * h_n, r, 1 - r, out=d_r)               # d(pre-n)/dr = h_n
        _times(grad * (h - n), z, 1 - z, out=d_z)          # dh'/dz = h - n
        # the hidden share gets the same gradients for r and z, and r * d_n for h_n
        d_gates_h = d_gates_x.copy()
        d_gates_h[:, 2 * hidden:] *= r
        return _step_grads(ctx, d_gates_x, d_gates_h, h, weight_hh,
                           d_h_direct=grad * z)            # dh'/dh = z (directly)


def _times(a, b, c=None, *, out):
    """out = a * b (* c), without temporaries beyond out."""
    get_array_module(a).multiply(a, b, out=out)
    if c is not None:
        out *= c
    return out


def _split(gates, count: int) -> list:
    """The gates stacked along the last dimension (of a (batch, count * hidden) array), as
    views."""
    size = gates.shape[1] // count
    return [gates[:, k * size:(k + 1) * size] for k in range(count)]


# --- one sequence, many steps ---------------------------------------------------------


class SequenceSteps(Function):
    """The node behind `time_steps`: ember's nodes have one output each, so a split into
    many steps is this node (its output, a 0-d token, is never used for its value) and one
    `StepOf` node per step reading from it. The steps write their gradients into one
    buffer here; this node, which backward reaches after all of them, hands the buffer to
    the sequence: O(length) work where separate slices would each allocate and add a
    zero gradient the size of the whole sequence (O(length^2))."""

    def forward(ctx, sequence, offsets):
        ctx.sequence, ctx.offsets = sequence, offsets
        ctx.gradient, ctx.written = None, set()
        return get_array_module(sequence).zeros((), dtype=sequence.dtype)

    def gradient_of_step(ctx, index: int):
        """Where step `index` writes its gradient."""
        if ctx.gradient is None:
            ctx.gradient = get_array_module(ctx.sequence).empty_like(ctx.sequence)
        ctx.written.add(index)
        return ctx.gradient[ctx.offsets[index]:ctx.offsets[index + 1]]

    def backward(ctx, grad):
        for index in range(len(ctx.offsets) - 1):
            if index not in ctx.written:        # a step the loss does not depend on
                ctx.gradient_of_step(index)[...] = 0
        gradient = ctx.gradient
        ctx.gradient, ctx.written = None, set()   # a second backward starts afresh
        return gradient


class StepOf(Function):
    """Rows offsets[index]:offsets[index + 1] of the sequence split by `hub`."""

    def forward(ctx, token, hub, index):
        ctx.hub, ctx.index = hub, index
        return hub.sequence[hub.offsets[index]:hub.offsets[index + 1]]

    def backward(ctx, grad):
        ctx.hub.gradient_of_step(ctx.index)[...] = grad
        return get_array_module(grad).zeros((), dtype=grad.dtype)    # for the token


def time_steps(sequence: Tensor, sizes) -> list:
    """Split `sequence` along dimension 0 into consecutive blocks of `sizes` rows: the time
    steps of a flattened batch (sizes = the batch size at each step, as in a packed
    sequence). Like `split`, but backward costs O(len(sequence)) however many steps.

    Example:
        >>> steps = time_steps(gates_x.reshape(T * B, -1), [B] * T)   # T tensors (B, ...)
    """
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + int(size))
    data = sequence._data
    if offsets[-1] != data.shape[0]:
        raise ValueError(f"time_steps: the step sizes add up to {offsets[-1]} but the sequence "
                         f"has {data.shape[0]} rows (shape {tuple(data.shape)})")
    if not (is_grad_enabled() and sequence.requires_grad):
        return [Tensor._make(data[start:stop]) for start, stop in zip(offsets, offsets[1:])]
    token = SequenceSteps.apply(sequence, offsets=offsets)
    hub = token._ctx
    return [StepOf.apply(token, hub=hub, index=k) for k in range(len(offsets) - 1)]


# --- functions -------------------------------------------------------------------------


def rnn_tanh_step(gates_x: Tensor, h: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
                  bias_hh: Tensor | None = None, weight_gradient=None) -> Tensor:
    """h' = tanh(gates_x + b_ih + h W_hh^T + b_hh), gates_x = x W_ih^T. Shapes: gates_x
    (B, H), h (B, H), weight_hh (H, H), biases (H,). In a loop over time, pass every step
    the same `WeightGradientSum` as weight_gradient (see there)."""
    return RNNStep.apply(gates_x, h, weight_hh, bias_ih, bias_hh, nonlinearity="tanh",
                         weight_gradient=weight_gradient)


def rnn_relu_step(gates_x: Tensor, h: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
                  bias_hh: Tensor | None = None, weight_gradient=None) -> Tensor:
    """h' = relu(gates_x + b_ih + h W_hh^T + b_hh), gates_x = x W_ih^T; as rnn_tanh_step."""
    return RNNStep.apply(gates_x, h, weight_hh, bias_ih, bias_hh, nonlinearity="relu",
                         weight_gradient=weight_gradient)


def lstm_step(gates_x: Tensor, state: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
              bias_hh: Tensor | None = None, weight_gradient=None) -> Tensor:
    """One LSTM step. Shapes: gates_x = x W_ih^T (B, 4H) in gate order (i, f, g, o),
    state = stack of (h, c) (2, B, H), weight_hh (4H, H), biases (4H,); returns the new
    state (2, B, H). weight_gradient: as in rnn_tanh_step."""
    return LSTMStep.apply(gates_x, state, weight_hh, bias_ih, bias_hh,
                          weight_gradient=weight_gradient)


def gru_step(gates_x: Tensor, h: Tensor, weight_hh: Tensor, bias_ih: Tensor | None = None,
             bias_hh: Tensor | None = None, weight_gradient=None) -> Tensor:
    """One GRU step. Shapes: gates_x = x W_ih^T (B, 3H) in gate order (r, z, n), h (B, H),
    weight_hh (3H, H), biases (3H,); returns h' (B, H). weight_gradient: as in
    rnn_tanh_step."""
    return GRUStep.apply(gates_x, h, weight_hh, bias_ih, bias_hh,
                         weight_gradient=weight_gradient)
