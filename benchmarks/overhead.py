"""Per-op overhead: what ember's Tensor/Function/engine add on top of NumPy, against
PyTorch in the same run.

    make bench        (or: python benchmarks/overhead.py)

Workloads: `a + b` on small tensors (forward only, with and without autograd recording),
and forward + backward of a 3-layer MLP (32-64-64-10, ReLU, batch 8) where the arrays are
so small that the time is almost all per-op overhead.
"""
from __future__ import annotations

import sys

import numpy as np
from harness import compare, markdown_table, pin_torch_threads, write_results

import ember


def add_workloads(torch):
    a_np = np.random.default_rng(0).standard_normal((8,)).astype(np.float32)
    b_np = np.random.default_rng(1).standard_normal((8,)).astype(np.float32)
    ea, eb = ember.tensor(a_np), ember.tensor(b_np)
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    ga, gb = ember.tensor(a_np, requires_grad=True), ember.tensor(b_np, requires_grad=True)
    tga, tgb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    return [
        compare("a + b, 8 floats, no grad", lambda: ea + eb, lambda: ta + tb, number=2000),
        compare("a + b, 8 floats, recorded for backward", lambda: ga + gb, lambda: tga + tgb,
                number=2000),
    ]


def mlp_workload(torch):
    sizes = [32, 64, 64, 10]
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
               for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(o, np.float32) for o in sizes[1:]]
    x_np = rng.standard_normal((8, sizes[0])).astype(np.float32)

    def build(lib):
        ws = [lib.tensor(w, requires_grad=True) for w in weights]
        bs = [lib.tensor(b, requires_grad=True) for b in biases]
        x = lib.tensor(x_np)

        def step():
            h = x
            for i, (w, b) in enumerate(zip(ws, bs)):
                h = h @ w.T + b
                if i < len(ws) - 1:
                    h = h.relu()
            loss = (h * h).mean()
            for p in ws + bs:
                p.grad = None
            loss.backward()

        return step

    return [compare("3-layer MLP (32-64-64-10), batch 8: forward + backward",
                    build(ember), build(torch), number=300)]


def main() -> None:
    torch, threads = pin_torch_threads()
    results = add_workloads(torch) + mlp_workload(torch)
    text = markdown_table(
        "Per-op overhead: ember vs PyTorch",
        results,
        notes=(f"Both libraries in one process, alternating blocks, {threads} threads. "
               "Times are medians per call; the ratio is the median of per-round ratios "
               "(below 1: ember is faster)."))
    print(text)
    print("written to", write_results("overhead.md", text), file=sys.stderr)


if __name__ == "__main__":
    main()
