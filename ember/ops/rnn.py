"""A recurrent layer as one primitive: a whole sequence through one layer in one direction,
the loop over time running on raw arrays, with backpropagation through time written by
hand. The cell's gate math lives in ember.ops.rnn_gates; this file is the loop."""
from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import ShapeError
from ember.ops.compiled import lstm_kernel
from ember.ops.rnn_gates import gate_math
from ember.ops.workspace import recurrent_workspace as workspace
from ember.tensor import Tensor


class RecurrentLayer(Function):
    """One layer over a sequence of batches, step by step (the lecture's unrolled network):

        gates_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh      (the cell's gates)
        h_t (, c_t) = cell(gates_t, h_{t-1} (, c_{t-1}))

    x holds the steps one after another, (rows, features) with batch_sizes[t] rows at step
    t (longest sequences first: a padded batch has B rows at every step, a packed one
    fewer as sequences end). Step t updates the state of its first batch_sizes[t]
    sequences; the others keep theirs. reverse runs the steps from last to first.

    Forward keeps the rows [x_t, 1, h_{t-1}] of every step side by side in one array
    (`inputs`), so that gates_t = [x_t, 1, h_{t-1}] [W_ih | b | W_hh]^T: the bias is the
    weight of a constant input 1. The input's share of all steps, [x, 1] [W_ih | b]^T, is
    ONE matrix product before the loop; each step then adds h_{t-1} W_hh^T and applies the
    gate math in place, in buffers that hold every step (the gates, c_{t-1}, the cell's
    extra array) for backward. The result is one array: the h of every step (rows laid out
    like x), then the final h and, for the LSTM, the final c.

    Backward walks the steps in reverse, carrying dL/dh (and dL/dc) from step to step:

        dL/dgates_t = cell backward (dL/dh_t = from h_t's own use + from step t+1)
        dL/dh_{t-1} = dL/dgates_t W_hh            (+ the GRU's direct path z_t)

    and then sums every step's share of the weights' gradients in ONE matrix product:

        [dL/dW_ih | dL/db | dL/dW_hh] = dL/dgates^T [X | 1 | H_prev],   dL/dX = dL/dgates W_ih

    (b = b_ih + b_hh, so both get dL/db; the GRU's hidden share has its own gradient,
    which differs in n, and gives dL/db_hh and dL/dW_hh from [1 | H_prev]).
    """

    def forward(ctx, x, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh, mode, batch_sizes,
                reverse):
        xp = get_array_module(x)
        (rows, features), batch, hidden = x.shape, batch_sizes[0], weight_hh.shape[1]
        cell = gate_math(mode, batch, hidden, x.dtype, xp)
        recording = any(ctx.needs_input_grad)
        parts = 2 if cell.has_cell_state else 1
        result = xp.empty((rows + parts * batch, hidden), dtype=x.dtype)
        output = result[:rows]
        # the state, updated in place step by step: at the end, the final state
        h = _initial(result[rows:rows + batch], h_0)
        c = _initial(result[rows + batch:], c_0) if cell.has_cell_state else None
        # [x, 1, h_{t-1}] for every step; the input's share [x, 1] [W_ih | b]^T at once
        inputs = workspace.empty((rows, features + 1 + hidden), x.dtype, xp)
        inputs[:, :features] = x
        inputs[:, features] = 1
        h_prevs = inputs[:, features + 1:]
        input_weights = _with_bias(weight_ih, cell.input_bias(bias_ih, bias_hh))   # [W_ih | b]
        gates = workspace.empty((rows, weight_ih.shape[0]), x.dtype, xp)
        xp.matmul(inputs[:, :features + 1], input_weights.T, out=gates)
        kept = workspace.empty((rows if recording else batch, hidden), x.dtype, xp)
        c_prevs = workspace.empty((rows, hidden), x.dtype, xp) if recording and c is not None \
            else None
        scratch = xp.empty(weight_hh.shape[0] * batch, dtype=x.dtype)
        steps = _steps(batch_sizes, reverse)
        for k, (step, size) in enumerate(steps):
            h_prev = h[:size]
            c_prev = None if c is None else c[:size]
            if recording:              # the state this step starts from, kept for backward
                h_prevs[step] = h_prev
                h_prev = h_prevs[step]
                if c is not None:
                    c_prevs[step] = c_prev
                    c_prev = c_prevs[step]
            zero_state = k == 0 and h_0 is None
            share = _hidden_share(h_prev, weight_hh, scratch, zero_state)   # h_{t-1} W_hh^T
            cell.forward(gates[step], share, h_prev, c_prev, output[step],
                         None if c is None else c[:size],
                         kept[step] if recording else kept[:size], bias_hh)
            h[:size] = output[step]
        if recording:
            ctx.cell, ctx.steps, ctx.batch, ctx.features = cell, steps, batch, features
            ctx.save_for_backward(weight_ih, weight_hh, result, inputs, gates, c_prevs, kept)
        else:
            workspace.give_back(inputs, gates, kept)
        return result

    def backward(ctx, grad):
        xp = get_array_module(grad)
        weight_ih, weight_hh, result, inputs, gates, c_prevs, kept = ctx.saved_tensors
        cell, steps, batch, features = ctx.cell, ctx.steps, ctx.batch, ctx.features
        need_x, need_h_0, need_c_0, need_w_ih, need_w_hh, need_b_ih, need_b_hh = \
            ctx.needs_input_grad
        rows = inputs.shape[0]
        output, d_output, h_prevs = result[:rows], grad[:rows], inputs[:, features + 1:]
        # dL/d(state), carried back through time from the final state's gradient
        d_h = grad[rows:rows + batch].copy()
        d_c = grad[rows + batch:].copy() if cell.has_cell_state else None
        d_gates = workspace.empty(gates.shape, gates.dtype, xp)
        scratch = xp.empty(weight_hh.shape[1] * batch, dtype=gates.dtype)
        transposer = lstm_kernel(gates.dtype, xp)       # its add_transposed, or None
        d_hidden = workspace.empty(gates.shape, gates.dtype, xp) \
            if cell.separate_hidden_gradient else d_gates
        for k, (step, size) in enumerate(reversed(steps)):
            d_h_t = d_h[:size]
            d_h_t += d_output[step]            # dL/dh_t: its own use, and step t+1's
            direct = cell.backward(d_h_t, None if d_c is None else d_c[:size], gates[step],
                                   h_prevs[step], None if c_prevs is None else c_prevs[step],
                                   output[step], kept[step], d_gates[step], d_hidden[step])
            if k == len(steps) - 1 and not (need_h_0 or need_c_0):
                break                          # no one needs dL/dh_0
            _hidden_gradient(d_hidden[step], weight_hh, scratch, d_h_t,     # dL/dh_{t-1}
                             transposer)
            if direct is not None:
                d_h_t += direct
        d_x = d_gates @ weight_ih if need_x else None
        weights = _weight_gradients(d_gates, d_hidden, inputs, features)
        workspace.give_back(d_gates, None if d_hidden is d_gates else d_hidden)
        wanted = (need_w_ih, need_w_hh, need_b_ih, need_b_hh)
        return (d_x, d_h if need_h_0 else None, d_c if need_c_0 else None,
                *(g if need else None for g, need in zip(weights, wanted)))

    def release(ctx) -> None:
        """Once the graph is freed, the buffers forward kept go back to the workspace."""
        if ctx.saved:
            workspace.give_back(*ctx.saved[3:])      # inputs, gates, c_prevs, kept
        super().release()


def _with_bias(weight, bias):
    """[W | b] (b = 0 where there is none): the weights of the inputs [x, 1]."""
    xp = get_array_module(weight)
    both = xp.empty((weight.shape[0], weight.shape[1] + 1), dtype=weight.dtype)
    both[:, :-1] = weight
    both[:, -1] = 0 if bias is None else bias
    return both


def _weight_gradients(d_gates, d_hidden, inputs, features: int) -> tuple:
    """(dL/dW_ih, dL/dW_hh, dL/db_ih, dL/db_hh): every step's share summed by one product
    with inputs = [X | 1 | H_prev]. Where the hidden share's gradient differs (the GRU),
    [dW_ih | db_ih] = dL/dgates^T [X | 1] and [db_hh | dW_hh] = dL/d(hidden)^T [1 | H_prev]."""
    if d_hidden is d_gates:
        both = d_gates.T @ inputs
        d_bias = both[:, features]
        return both[:, :features], both[:, features + 1:], d_bias, d_bias.copy()
    input_side = d_gates.T @ inputs[:, :features + 1]
    hidden_side = d_hidden.T @ inputs[:, features:]
    return input_side[:, :features], hidden_side[:, 1:], input_side[:, features], \
        hidden_side[:, 0]


def _steps(batch_sizes, reverse: bool) -> list:
    """(rows of step t, batch_sizes[t]) for every step, in the order the loop runs them."""
    steps, start = [], 0
    for size in batch_sizes:
        steps.append((slice(start, start + size), size))
        start += size
    return steps[::-1] if reverse else steps


def _initial(state, given):
    """Fill the state buffer with the given initial state, or zeros."""
    if given is None:
        state[...] = 0
    else:
        state[...] = given
    return state


def _hidden_share(h, weight_hh, scratch, zero_state: bool):
    """h W_hh^T, computed as (W_hh h^T)^T into scratch: the same numbers, and OpenBLAS is
    about 1.6x faster this way round when the batch is small (the transposed result costs
    a strided add in the cell; still 10% faster per step, measured in the loop). Zeros for
    the zero initial state (nothing to multiply)."""
    rows = weight_hh.shape[0]
    product = scratch[:rows * h.shape[0]].reshape(rows, h.shape[0])
    if zero_state:
        product[...] = 0
    else:
        get_array_module(h).matmul(weight_hh, h.T, out=product)
    return product.T


def _hidden_gradient(d_hidden, weight_hh, scratch, out, transposer) -> None:
    """out = dL/da_t W_hh, computed as (W_hh^T dL/da_t^T)^T like _hidden_share: OpenBLAS
    is 1.2x faster this way round at batch 32 (86 against 106 us); the compiled kernel
    (`transposer`), where built, puts the product back in (n, H) layout."""
    n, hidden = d_hidden.shape[0], weight_hh.shape[1]
    product = scratch[:hidden * n].reshape(hidden, n)
    get_array_module(d_hidden).matmul(weight_hh.T, d_hidden.T, out=product)
    if transposer is not None:
        transposer.add_transposed(out, product, n, hidden, False)
    else:
        out[...] = product.T


def recurrent_layer(x: Tensor, h_0: Tensor | None, c_0: Tensor | None, weight_ih: Tensor,
                    weight_hh: Tensor, bias_ih: Tensor | None, bias_hh: Tensor | None,
                    mode: str, batch_sizes, reverse: bool = False) -> tuple:
    """One recurrent layer (mode RNN_TANH, RNN_RELU, LSTM or GRU) over a sequence, in one
    direction. See RecurrentLayer for the math.

    Shapes: x (rows, features), the steps one after another with batch_sizes[t] rows at
    step t (non-increasing; sum = rows); h_0 and c_0 (batch_sizes[0], H) or None for
    zeros (c_0 only for the LSTM); weight_ih (G, features), weight_hh (G, H), biases (G,)
    or None, G = gates * H in PyTorch's gate order. Returns (output (rows, H), h_n (B, H),
    c_n (B, H) or None).

    Example:
        >>> output, h_n, c_n = recurrent_layer(x.reshape(T * B, -1), None, None, w_ih, w_hh,
        ...                                    b_ih, b_hh, "LSTM", [B] * T)
    """
    batch_sizes = tuple(int(size) for size in batch_sizes)
    rows, batch = x.shape[0], batch_sizes[0]
    if sum(batch_sizes) != rows or any(a < b for a, b in zip(batch_sizes, batch_sizes[1:])):
        raise ShapeError(f"recurrent_layer: batch_sizes {list(batch_sizes)} must be "
                         f"non-increasing and add up to the {rows} rows of the input "
                         f"(shape {tuple(x.shape)})")
    hidden = weight_hh.shape[1]
    for name, state in (("h_0", h_0), ("c_0", c_0)):
        if state is not None and tuple(state.shape) != (batch, hidden):
            raise ShapeError(f"recurrent_layer: {name} has shape {tuple(state.shape)}, "
                             f"expected {(batch, hidden)} (batch, hidden)")
    result = RecurrentLayer.apply(x, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh,
                                  mode=mode, batch_sizes=batch_sizes, reverse=reverse)
    c_n = result[rows + batch:] if mode == "LSTM" else None
    return result[:rows], result[rows:rows + batch], c_n
