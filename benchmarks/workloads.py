"""The benchmark workloads (issue 6), each built identically in ember and PyTorch.

A workload gives, for a library `lib` (the ember or torch module), a training step
(zero_grad + forward + loss + backward + optimizer step) and an inference step (forward
with autograd off). Inputs are synthetic, made once before timing, float32.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np


@dataclass
class Workload:
    name: str
    description: str
    build: object            # build(lib) -> (train_step, infer_step)
    number: int              # calls per timing block (a block of 0.2 s or more: shorter ones
                             # are dominated by waking up after the harness's pause)


def _data(shape, classes, seed=0, labels_shape=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, classes, size=labels_shape or shape[:1]).astype(np.int64)
    return x, y


def _classifier_steps(lib, model, x_np, y_np, optimizer):
    nn_functional = lib.nn.functional
    x, y = lib.tensor(x_np), lib.tensor(y_np)

    def train_step():
        optimizer.zero_grad()
        loss = nn_functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    def infer_step():
        with lib.no_grad():
            model(x)

    return train_step, infer_step


def _seeded(lib, seed=0):
    lib.manual_seed(seed)


def build_mlp(lib):
    """W1: x [128, 784]; 784-512-256-10 ReLU MLP; cross-entropy; SGD(0.01, momentum 0.9)."""
    _seeded(lib)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    x, y = _data((128, 784), 10)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _classifier_steps(lib, model, x, y, optimizer)


def build_lenet(lib):
    """W2: x [64, 1, 28, 28]; LeNet (conv 5x5 pad 2, pool, conv 5x5, pool, 3 linears)."""
    _seeded(lib)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
    x, y = _data((64, 1, 28, 28), 10)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _classifier_steps(lib, model, x, y, optimizer)


def build_cifar_cnn(lib):
    """W3: x [64, 3, 32, 32]; (conv3x3-ReLU)x2-pool, (conv3x3-ReLU)x2-pool, 2 linears."""
    _seeded(lib)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4096, 256), nn.ReLU(), nn.Linear(256, 10))
    x, y = _data((64, 3, 32, 32), 10)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _classifier_steps(lib, model, x, y, optimizer)


def build_char_lstm(lib):
    """W4: one-hot x [64 steps, 32 batch, 65]; LSTM(65, 256) -> Linear(256, 65) at every
    step; cross-entropy over all steps; Adam(2e-3); full BPTT."""
    _seeded(lib)
    nn = lib.nn
    lstm, head = nn.LSTM(65, 256), nn.Linear(256, 65)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 65, size=(64, 32))
    x_np = np.eye(65, dtype=np.float32)[tokens]
    y_np = rng.integers(0, 65, size=(64 * 32,)).astype(np.int64)
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    optimizer = lib.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=2e-3)
    nn_functional = lib.nn.functional

    def train_step():
        optimizer.zero_grad()
        output, _ = lstm(x)
        loss = nn_functional.cross_entropy(head(output).reshape(-1, 65), y)
        loss.backward()
        optimizer.step()

    def infer_step():
        with lib.no_grad():
            output, _ = lstm(x)
            head(output)

    return train_step, infer_step


def build_tiny_mlp(lib):
    """W5: x [8, 2]; 2-16-16-2 ReLU MLP; as W1 (measures per-op overhead)."""
    _seeded(lib)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 2))
    x, y = _data((8, 2), 2)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _classifier_steps(lib, model, x, y, optimizer)


WORKLOADS = [
    Workload("W1 MLP", "x [128, 784], 784-512-256-10", build_mlp, 100),
    Workload("W2 LeNet", "x [64, 1, 28, 28]", build_lenet, 30),
    Workload("W3 CIFAR CNN", "x [64, 3, 32, 32]", build_cifar_cnn, 3),
    Workload("W4 char-LSTM", "x [64, 32, 65], LSTM(65, 256)", build_char_lstm, 6),
    Workload("W5 tiny MLP", "x [8, 2], 2-16-16-2", build_tiny_mlp, 3000),
]


def select_workloads(names: list[str], script: str) -> list[Workload]:
    """The workloads named by their short names ("W1", "W4"...), all of them for none;
    exits with a message naming the choices for an unknown name."""
    known = [workload.name.split()[0] for workload in WORKLOADS]
    unknown = [name for name in names if name not in known]
    if unknown:
        sys.exit(f"{script}: unknown workload {', '.join(unknown)}; choose from "
                 f"{', '.join(known)} (none: all of them)")
    return [workload for workload in WORKLOADS
            if not names or workload.name.split()[0] in names]
