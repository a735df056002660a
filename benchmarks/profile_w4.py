"""W4 (char-LSTM) timing: each library alone in fresh processes, and where an ember step
spends its time (each primitive's forward and backward, and the optimizer step).

    python benchmarks/profile_w4.py alone [--rounds 3] [--steps 30] [--infer] [--cpu]
    python benchmarks/profile_w4.py profile [--steps 20] [--infer] [--cpu]

`alone` runs ember and PyTorch each in its own fresh process, alternating, `rounds` times,
and prints the median step time of each process and the ratio of the medians. `profile`
wraps every Function's forward and backward of an ember step with a timer (a few
microseconds per call). --cpu times with the process's CPU time instead of the wall
clock: steadier on a busy machine, and meaningful with one BLAS thread
(OPENBLAS_NUM_THREADS=1, which also pins PyTorch to one thread).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
TIMES: dict = defaultdict(list)        # label -> seconds in the current step
CLOCK = [time.perf_counter]            # or time.process_time (--cpu)


def time_alone(library: str, steps: int, infer: bool, cpu: bool) -> dict:
    """Median and quartiles of one library's step time, in a fresh process."""
    clock = "process_time" if cpu else "perf_counter"
    code = f"""
import json, statistics, sys, time
sys.path.insert(0, {HERE!r})
from harness import blas_threads
import {library} as lib
if {library!r} == "torch":
    lib.set_num_threads(blas_threads())
from workloads import build_char_lstm
train_step, infer_step = build_char_lstm(lib)
fn = infer_step if {infer} else train_step
for _ in range(5):
    fn()
times = []
for _ in range({steps}):
    start = time.{clock}()
    fn()
    times.append(time.{clock}() - start)
q = statistics.quantiles(times, n=4)
print(json.dumps({{"median": statistics.median(times), "q1": q[0], "q3": q[2]}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{library} run failed:\n{result.stderr}")
    return json.loads(result.stdout)


def alone(rounds: int, steps: int, infer: bool, cpu: bool) -> None:
    what = "inference" if infer else "training"
    medians = {"ember": [], "torch": []}
    for r in range(rounds):
        order = ("ember", "torch") if r % 2 == 0 else ("torch", "ember")
        for library in order:
            result = time_alone(library, steps, infer, cpu)
            medians[library].append(result["median"])
            print(f"  {what} {library:<6} median {1e3 * result['median']:7.2f} ms "
                  f"(IQR {1e3 * result['q1']:.2f}-{1e3 * result['q3']:.2f})", flush=True)
    ours, theirs = statistics.median(medians["ember"]), statistics.median(medians["torch"])
    print(f"W4 {what}, each alone: ember {1e3 * ours:.2f} ms, PyTorch {1e3 * theirs:.2f} ms, "
          f"ratio {ours / theirs:.2f} (per round: "
          + ", ".join(f"{a / b:.2f}" for a, b in zip(medians["ember"], medians["torch"]))
          + ")")


def timed(label, fn):
    def wrapper(*args, **kwargs):
        start = CLOCK[0]()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[label].append(CLOCK[0]() - start)
    return wrapper


def all_functions(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_functions(sub)


def instrument() -> None:
    import ember
    from ember.autograd.function import Function

    for cls in set(all_functions(Function)):
        if "forward" in cls.__dict__:
            cls.forward = timed(f"{cls.__name__} fwd", cls.__dict__["forward"])
        if "backward" in cls.__dict__:
            cls.backward = timed(f"{cls.__name__} bwd", cls.__dict__["backward"])
    ember.optim.Adam.step = timed("Adam.step", ember.optim.Adam.step)
    ember.optim.Adam.zero_grad = timed("Adam.zero_grad", ember.optim.Adam.zero_grad)


def profile(steps: int, infer: bool) -> None:
    import ember

    sys.path.insert(0, HERE)
    from workloads import build_char_lstm

    instrument()
    train_step, infer_step = build_char_lstm(ember)
    fn = infer_step if infer else train_step
    for _ in range(3):
        fn()
    totals, per_label, calls = [], defaultdict(list), {}
    for _ in range(steps):
        TIMES.clear()
        start = CLOCK[0]()
        fn()
        totals.append(CLOCK[0]() - start)
        for label, values in TIMES.items():
            per_label[label].append(sum(values))
            calls[label] = len(values)
    total = statistics.median(totals)
    print(f"W4 {'inference' if infer else 'training'}: median step {1e3 * total:.2f} ms "
          f"over {steps} steps")
    accounted = 0.0
    for label, values in sorted(per_label.items(), key=lambda item: -statistics.median(item[1])):
        median = statistics.median(values)
        accounted += median
        print(f"  {label:<26} {calls[label]:5d} calls {1e3 * median:8.2f} ms "
              f"{100 * median / total:5.1f}%")
    print(f"  {'other (engine, Python)':<38} {1e3 * (total - accounted):8.2f} ms "
          f"{100 * (total - accounted) / total:5.1f}%")


def main(argv) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["alone", "profile"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--infer", action="store_true")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args(argv)
    if args.cpu:
        CLOCK[0] = time.process_time
    if args.mode == "alone":
        alone(args.rounds, args.steps, args.infer, args.cpu)
    else:
        profile(args.steps, args.infer)


if __name__ == "__main__":
    main(sys.argv[1:])
