"""Run the workloads side by side with PyTorch and write benchmarks/results/workloads.md.

    make bench                     (all workloads, training and inference, and memory)
    python benchmarks/run.py W1 W5 (some of them)

Each library builds and times the workload in a process of its own (timer_process.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from harness import (TimedProcess, blas_threads, compare_processes, machine_line,
                     markdown_table, write_results)
from workloads import select_workloads

MEMORY_STEPS = 5


def peak_memory_mb(workload_name: str, library: str) -> dict:
    """Peak resident memory of a fresh process that imports only `library`, builds the
    workload and trains it for a few steps: the total, and the growth after imports and
    data (what training adds). Read from /proc/self/status's VmHWM, which starts afresh at
    exec (getrusage's ru_maxrss does not: it keeps the parent's peak from before the fork)."""
    code = f"""
import json, resource, sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import {library} as lib
from workloads import WORKLOADS
workload = next(w for w in WORKLOADS if w.name == {workload_name!r})
if {library!r} == "torch":
    lib.set_num_threads({int(os.environ.get('OMP_NUM_THREADS', os.cpu_count()))})
train_step, _ = workload.build(lib)
before = peak_mb()
for _ in range({MEMORY_STEPS}):
    train_step()
after = peak_mb()
print(json.dumps({{"peak": round(after, 1), "growth": round(after - before, 1),
                  "other library loaded": ("torch" if {library!r} == "ember" else "ember")
                  in sys.modules}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout)


def _ratio(ours: dict, theirs: dict, key: str) -> str:
    if key not in ours or key not in theirs or not theirs[key]:
        return "n/a"
    return f"{ours[key] / theirs[key]:.2f}"


def main(selected: list[str]) -> None:
    workloads = select_workloads(selected, "run.py")
    threads = blas_threads()
    training, inference, notes = [], [], []
    for workload in workloads:
        short = workload.name.split()[0]
        label = f"{workload.name} ({workload.description})"
        ours = TimedProcess("ember", workload.name, threads)
        theirs = TimedProcess("torch", workload.name, threads)
        try:
            training.append(compare_processes(label, ours, theirs, "train", workload.number))
            inference.append(compare_processes(label, ours, theirs, "infer",
                                               workload.number * 2))
        finally:
            ours.close()
            theirs.close()
        print(training[-1].row(), flush=True)
        print(inference[-1].row(), flush=True)
        if short == "W3":
            ours, theirs = peak_memory_mb(workload.name, "ember"), peak_memory_mb(
                workload.name, "torch")
            notes.append(f"- {workload.name} peak resident memory over {MEMORY_STEPS} training "
                         f"steps, a fresh process per library: ember {ours}, PyTorch {theirs} "
                         "(MB; peak = whole process, growth = the increase over imports, "
                         "model and data, i.e. what training adds); ratio of peaks "
                         f"{_ratio(ours, theirs, 'peak')}, of growths "
                         f"{_ratio(ours, theirs, 'growth')}")
    text = f"# ember vs PyTorch: the workloads of issue 6\n\n{machine_line(threads)}\n\n"
    text += markdown_table("Training step", training, level=2, machine=False)
    text += "\n" + markdown_table("Inference (autograd off)", inference, level=2,
                                  machine=False)
    text += ("\nTraining step = zero_grad + forward + loss + backward + optimizer step. "
             f"Each library in a process of its own, alternating blocks with 0.3 s of quiet "
             f"before each, {threads} threads; times "
             "are medians per step; ratio = median of per-round ratios (below 1: ember is "
             "faster); IQR = spread of those ratios.\n")
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    print(text)
    print("written to", write_results("workloads.md", text), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
