"""Backpropagation written out: a two-layer sigmoid network trained with the chain rule by
hand in NumPy, next to the same network trained with ember's autograd.

    python examples/two_layer_by_hand.py [--steps 20] [--hidden 16] [--lr 2.0]

Both start from the same initial weights (ember's nn.Linear initialisation, copied into
NumPy) and take the same plain gradient-descent steps on the same data, in float64. At
every step the script prints both losses and checks that they, and every hand-written
gradient, equal autograd's to 1e-10; it stops with an error if one does not.
"""
from __future__ import annotations

import argparse

import numpy as np

import ember
import ember.nn as nn
from ember.datasets import moons

TOLERANCE = 1e-10


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2.0)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def forward_and_backward(params: dict, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    """The loss and its gradient with respect to each parameter, by the chain rule.

    Shapes: x (N, 2), y (N, 1); W1 (2, H), b1 (H,), W2 (H, 1), b2 (1,).
    """
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = x.shape[0]
    # forward: two affine maps, each followed by a sigmoid, then the mean squared error
    z1 = x @ w1 + b1                  # (N, H)
    h = sigmoid(z1)                   # (N, H)
    z2 = h @ w2 + b2                  # (N, 1)
    y_hat = sigmoid(z2)               # (N, 1)
    loss = np.mean((y_hat - y) ** 2)

    # backward: the same steps in reverse, each multiplying by one local derivative
    d_y_hat = 2.0 * (y_hat - y) / n            # dL/dy_hat       of L = mean((y_hat - y)^2)
    d_z2 = d_y_hat * y_hat * (1.0 - y_hat)     # dL/dz2 = dL/dy_hat * sigmoid'(z2)
    d_w2 = h.T @ d_z2                          # dL/dW2 = h^T dL/dz2          (H, 1)
    d_b2 = d_z2.sum(axis=0)                    # dL/db2 = sum over examples   (1,)
    d_h = d_z2 @ w2.T                          # dL/dh  = dL/dz2 W2^T         (N, H)
    d_z1 = d_h * h * (1.0 - h)                 # dL/dz1 = dL/dh * sigmoid'(z1)
    d_w1 = x.T @ d_z1                          # dL/dW1 = x^T dL/dz1          (2, H)
    d_b1 = d_z1.sum(axis=0)                    # dL/db1 = sum over examples   (H,)
    return loss, {"W1": d_w1, "b1": d_b1, "W2": d_w2, "b2": d_b2}


def numpy_copy_of_weights(model: nn.Sequential) -> dict:
    """The model's parameters as NumPy arrays under the lecture's names. nn.Linear stores
    its weight as (out_features, in_features) and computes x W^T + b, so W = weight^T."""
    first, second = model[0], model[2]
    return {"W1": first.weight.detach().numpy().T.copy(),
            "b1": first.bias.detach().numpy().copy(),
            "W2": second.weight.detach().numpy().T.copy(),
            "b2": second.bias.detach().numpy().copy()}


def autograd_gradients(model: nn.Sequential) -> dict:
    """ember's gradients under the same names (dL/dW = (dL/d weight)^T)."""
    first, second = model[0], model[2]
    return {"W1": first.weight.grad.numpy().T, "b1": first.bias.grad.numpy(),
            "W2": second.weight.grad.numpy().T, "b2": second.bias.grad.numpy()}


def check_gradients(by_hand: dict, by_autograd: dict, step: int) -> float:
    """The largest difference between the two gradients; raises if one exceeds TOLERANCE."""
    worst = 0.0
    for name, gradient in by_hand.items():
        difference = float(np.max(np.abs(gradient - by_autograd[name])))
        if difference > TOLERANCE:
            raise AssertionError(f"step {step}: dL/d{name} by hand and by autograd differ by "
                                 f"{difference:.3g} (tolerance {TOLERANCE:g})")
        worst = max(worst, difference)
    return worst


def main(argv=None) -> dict:
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    x, y = moons(args.points, seed=args.seed).tensors
    x, y = x.double(), y.double().unsqueeze(1)             # float64, targets (N, 1)

    model = nn.Sequential(nn.Linear(2, args.hidden), nn.Sigmoid(),
                          nn.Linear(args.hidden, 1), nn.Sigmoid()).double()
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()
    params = numpy_copy_of_weights(model)       # the NumPy network starts from the same weights
    x_np, y_np = x.numpy(), y.numpy()

    print(f"moons: {len(y_np)} points; network 2-{args.hidden}-1, sigmoid units, mean squared "
          f"error, gradient descent with lr {args.lr}, float64")
    print(f"{'step':>4}  {'loss (NumPy, by hand)':>22}  {'loss (ember autograd)':>22}  "
          f"{'max |grad difference|':>22}")
    for step in range(args.steps):
        loss_by_hand, gradients_by_hand = forward_and_backward(params, x_np, y_np)
        for name, gradient in gradients_by_hand.items():
            params[name] -= args.lr * gradient                  # W <- W - lr dL/dW

        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if abs(loss.item() - loss_by_hand) > TOLERANCE:
            raise AssertionError(f"step {step}: the losses differ: {loss_by_hand!r} by hand, "
                                 f"{loss.item()!r} by ember")
        worst = check_gradients(gradients_by_hand, autograd_gradients(model), step)
        optimizer.step()
        print(f"{step:4d}  {loss_by_hand:22.12f}  {loss.item():22.12f}  {worst:22.3e}")

    with ember.no_grad():
        accuracy = ((model(x) > 0.5).double() == y).double().mean().item()
    print(f"every gradient agreed to {TOLERANCE:g}; training accuracy after {args.steps} "
          f"steps: {accuracy:.1%}")
    return {"loss_by_hand": loss_by_hand, "loss_autograd": loss.item(), "accuracy": accuracy}


if __name__ == "__main__":
    main()
