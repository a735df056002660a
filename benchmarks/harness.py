"""Side-by-side timing of ember against PyTorch.

Both libraries run the same workload in alternating blocks (the order rotated each
round, after a warm-up), so machine noise hits both alike. Each block times `number`
calls; the per-block ratio ember/PyTorch gives the spread. PyTorch is pinned to the
number of threads NumPy's BLAS uses.

`compare` runs both in this process (for per-op overhead, where thread pools stay idle);
`compare_processes` gives each library a process of its own and pauses between blocks,
for workloads whose BLAS/OpenMP threads would otherwise spin on the cores the other
library is timed on (in one process PyTorch's LSTM step ran about 2x slower).
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass


def blas_threads() -> int:
    """The thread count OpenBLAS/MKL will use (their environment variables, else cores)."""
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(name):
            return int(os.environ[name])
    return os.cpu_count() or 1


def pin_torch_threads():
    import torch

    threads = blas_threads()
    torch.set_num_threads(threads)
    return torch, threads


@dataclass
class Comparison:
    name: str
    ember_us: float          # median time per call, microseconds
    torch_us: float
    ratio: float             # median of per-round ratios ember/torch
    ratio_low: float         # 25th percentile
    ratio_high: float        # 75th percentile

    def row(self) -> str:
        return (f"| {self.name} | {self.ember_us:,.1f} | {self.torch_us:,.1f} | "
                f"{self.ratio:.2f} | {self.ratio_low:.2f}–{self.ratio_high:.2f} |")


def _time_block(fn, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(name: str, ember_fn, torch_fn, number: int = 100, rounds: int = 15,
            warmup: int = 3) -> Comparison:
    """Time both functions in this process, in alternating blocks, and summarise."""
    return alternate(name, lambda: _time_block(ember_fn, number),
                     lambda: _time_block(torch_fn, number), rounds, warmup)


def alternate(name: str, time_ember, time_torch, rounds: int, warmup: int) -> Comparison:
    """Call the two block timers in turn (`warmup` rounds discarded; the order swapped
    every round) and summarise the seconds per call they return."""
    for _ in range(warmup):
        time_ember()
        time_torch()
    ours, theirs, ratios = [], [], []
    for r in range(rounds):
        if r % 2:
            t_torch, t_ember = time_torch(), time_ember()
        else:
            t_ember, t_torch = time_ember(), time_torch()
        ours.append(t_ember)
        theirs.append(t_torch)
        ratios.append(t_ember / t_torch)
    quartiles = statistics.quantiles(ratios, n=4)
    return Comparison(name, 1e6 * statistics.median(ours), 1e6 * statistics.median(theirs),
                      statistics.median(ratios), quartiles[0], quartiles[2])


class TimedProcess:
    """A library's workload in its own process (timer_process.py), timed on request."""

    def __init__(self, library: str, workload_name: str, threads: int,
                 source: str | None = None) -> None:
        """`source`: a checkout whose `library` package is imported instead of the
        installed one (to time two versions of ember against each other)."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "timer_process.py")
        env = dict(os.environ)
        if source is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                [os.path.abspath(source)] + [p for p in [env.get("PYTHONPATH")] if p])
        self.process = subprocess.Popen(
            [sys.executable, script, library, workload_name, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{library} could not build {workload_name}")

    def time_block(self, kind: str, number: int) -> float:
        self.process.stdin.write(f"{kind} {number}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def compare_processes(name: str, ember_side: TimedProcess, torch_side: TimedProcess,
                      kind: str, number: int, rounds: int = 15, warmup: int = 3,
                      pause: float = 0.3) -> Comparison:
    """Alternate timed blocks between two processes, `pause` seconds of quiet before each
    (OpenBLAS's idle threads spin for about 0.1 s after their last call)."""
    def block(side):
        time.sleep(pause)
        return side.time_block(kind, number)

    return alternate(name, lambda: block(ember_side), lambda: block(torch_side), rounds,
                     warmup)


def cpu_model() -> str:
    """The processor's name as Linux reports it: the ratios depend on it (the same commit
    gave W1's training 1.16 on a Sapphire Rapids Xeon and 0.96 on an AMD EPYC)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def machine_line(threads: int | None = None) -> str:
    """The machine and versions; `threads`: what PyTorch is pinned to (default: its own
    setting in this process)."""
    import numpy
    import torch

    return (f"Machine: {cpu_model()} ({platform.machine()}), {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, NumPy {numpy.__version__}, PyTorch "
            f"{torch.__version__} ({threads or torch.get_num_threads()} threads); "
            f"{time.strftime('%Y-%m-%d')}.")


def markdown_table(title: str, comparisons: list, notes: str = "", level: int = 1,
                   machine: bool = True) -> str:
    lines = [f"{'#' * level} {title}", ""]
    if machine:
        lines += [machine_line(), ""]
    lines += ["| workload | ember µs | PyTorch µs | ember/PyTorch | spread (IQR) |",
             "|---|---|---|---|---|"]
    lines += [c.row() for c in comparisons]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def write_results(filename: str, text: str) -> str:
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, filename)
    with open(path, "w") as handle:
        handle.write(text)
    return path
