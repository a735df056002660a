"""One library's side of a workload, in a process of its own: builds the workload, then
answers the harness's requests on stdin ("train 5" -> one untimed step, then the seconds
per call of 5 timed training steps, on stdout) until stdin closes. Importing only one
library keeps the other's thread pools (OpenBLAS for NumPy, OpenMP for PyTorch) from
spinning on the cores while it runs.

    python benchmarks/timer_process.py ember "W1 MLP" 2      (library, workload, threads)
"""
from __future__ import annotations

import importlib
import sys
import time

from workloads import WORKLOADS


def main(library: str, workload_name: str, threads: int) -> None:
    lib = importlib.import_module(library)
    if library == "torch":
        lib.set_num_threads(threads)
    workload = next(w for w in WORKLOADS if w.name == workload_name)
    steps = dict(zip(("train", "infer"), workload.build(lib)))
    print("ready", flush=True)
    for line in sys.stdin:
        kind, number = line.split()
        step = steps[kind]
        step()          # untimed: wakes the thread pools and caches after the harness's pause
        start = time.perf_counter()
        for _ in range(int(number)):
            step()
        print((time.perf_counter() - start) / int(number), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
