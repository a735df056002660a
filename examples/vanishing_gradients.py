"""Vanishing gradients made visible: the norm of d loss / d h_t at every time step t of a
200-step sequence, with the loss on the last step only, for a tanh RNN and for an LSTM.

    python examples/vanishing_gradients.py [--steps 200] [--hidden 64] [--out DIR]

Each network is unrolled by hand, one cell step at a time (nn.RNNCell, nn.LSTMCell), and
every hidden state h_t keeps its gradient (retain_grad), so one backward pass gives the
whole curve. In a tanh RNN, d h_t / d h_{t-1} = diag(1 - h_t^2) W_hh: backpropagating
multiplies by it once per step, and with the usual initialisation it shrinks the gradient
geometrically. In an LSTM the cell state is updated additively, c_t = f_t * c_{t-1} +
i_t * g_t, so d c_t / d c_{t-1} = f_t: the gradient survives as far as the forget gates
are open. With PyTorch's initialisation they start half open (f ~ sigmoid(0) = 0.5), so
the untrained LSTM also forgets; opening them (the forget-gate bias set to --forget-bias,
5 by default: the "chrono" initialisation of Tallec & Ollivier (2018) uses up to log T for
dependencies T steps long) keeps the gradient alive over hundreds of steps. Computed in
float64 so that gradients far below float32's range still show; plotted on a log scale
to DIR/vanishing_gradients.png.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import ember
import ember.nn as nn


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="sequence length")
    parser.add_argument("--input", type=int, default=8, help="input features")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--forget-bias", type=float, default=5.0,
                        help="forget-gate bias of the third, opened LSTM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/vanishing_gradients",
                        help="folder for vanishing_gradients.png")
    return parser.parse_args(argv)


def open_forget_gates(cell: nn.LSTMCell, bias: float) -> nn.LSTMCell:
    """Set the forget gate's bias (the second quarter of b_ih, gates i, f, g, o) to `bias`
    and b_hh's to 0, so f starts near sigmoid(bias)."""
    hidden = cell.hidden_size
    with ember.no_grad():
        cell.bias_ih[hidden:2 * hidden] = bias
        cell.bias_hh[hidden:2 * hidden] = 0.0
    return cell


def hidden_state_gradient_norms(cell: nn.Module, inputs: ember.Tensor,
                                readout: nn.Linear) -> np.ndarray:
    """||d loss / d h_t|| for t = 1..T, with loss = mean(readout(h_T)^2): the last step only.

    h_t here is the total derivative: every path from h_t to the loss, through later steps.
    """
    lstm = isinstance(cell, nn.LSTMCell)
    state, hidden_states = None, []
    for x_t in inputs.unbind(0):                     # one cell step per time step
        state = cell(x_t, state)
        h_t = state[0] if lstm else state
        h_t.retain_grad()                            # keep d loss / d h_t after backward
        hidden_states.append(h_t)
    loss = (readout(hidden_states[-1]) ** 2).mean()
    loss.backward()
    return np.array([h.grad.norm().item() for h in hidden_states])


def main(argv=None) -> dict:
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    dtype = ember.float64
    inputs = ember.randn(args.steps, args.batch_size, args.input, dtype=dtype)
    readout = nn.Linear(args.hidden, 1, dtype=dtype)
    networks = {
        "tanh RNN": nn.RNNCell(args.input, args.hidden, nonlinearity="tanh", dtype=dtype),
        "LSTM (PyTorch init)": nn.LSTMCell(args.input, args.hidden, dtype=dtype),
        f"LSTM (forget bias {args.forget_bias:g})": open_forget_gates(
            nn.LSTMCell(args.input, args.hidden, dtype=dtype), args.forget_bias),
    }
    print(f"{args.steps} steps, batch {args.batch_size}, input {args.input}, hidden "
          f"{args.hidden}; loss on the last step only; ||d loss / d h_t||:")
    curves = {}
    for name, cell in networks.items():
        norms = hidden_state_gradient_norms(cell, inputs, readout)
        curves[name] = norms
        print(f"  {name:24s} last step {norms[-1]:.3e}   first step {norms[0]:.3e}   "
              f"first / last {norms[0] / norms[-1]:.3e}")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "vanishing_gradients.png")
    plot_curves(curves, path, args.steps)
    print(f"plot: {path}")
    return {"curves": curves, "ratios": {name: norms[0] / norms[-1]
                                         for name, norms in curves.items()}, "plot": path}


def plot_curves(curves: dict, path: str, steps: int) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("vanishing_gradients.py needs matplotlib: pip install "
                          "'ember[plot]'") from None
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    ax = figure.subplots()
    time_steps = np.arange(1, steps + 1)
    for name, norms in curves.items():
        ax.semilogy(time_steps, np.maximum(norms, 1e-300), label=name)   # log: 0 is off-scale
    ax.set_xlabel("time step t (the loss is at the last step)")
    ax.set_ylabel("||d loss / d h_t||")
    ax.set_title(f"Gradient reaching each step of a {steps}-step sequence")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
