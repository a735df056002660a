"""Where an ember training (or inference) step of the workloads spends its time: each
primitive's forward and backward, the optimizer's step and zero_grad, and the parts of a
convolution, timed with perf_counter inside the real step.

    python benchmarks/profile_step.py W2 [W3 W4 ...] [--steps 20] [--infer] [--cpu] [--serial]

The rest of the step (the engine's bookkeeping, zero_grad, Python around the ops) is
reported as "other". Wrapping adds a few microseconds per call. Parts that run on the
block threads (im2col) add up the time of every thread; --serial runs the convolutions'
blocks on the calling thread only (with --cpu and OPENBLAS_NUM_THREADS=1: one core's work).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict

import ember
import ember.ops.conv as conv_ops
import ember.ops.parallel as parallel
from ember.autograd.function import Function
from workloads import WORKLOADS

CLOCK = time.perf_counter
TIMES: dict = defaultdict(list)        # label -> seconds in the current step (appended)
CONV_PARTS = ("convolve", "im2col", "convolve_input_grad", "convolve_weight_grad", "bias_grad",
              "pad_input", "crop_channels_last")


def timed(label, fn):
    def wrapper(*args, **kwargs):
        start = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[label].append(CLOCK() - start)
    return wrapper


def all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_functions(sub)


def instrument() -> None:
    for cls in set(all_functions()):
        name = cls.__name__
        if "forward" in cls.__dict__:
            cls.forward = timed(f"{name} fwd", cls.__dict__["forward"])
        if "backward" in cls.__dict__:
            cls.backward = timed(f"{name} bwd", cls.__dict__["backward"])
    for part in CONV_PARTS:
        setattr(conv_ops, part, timed(f"  conv.{part}", getattr(conv_ops, part)))
    optimizer = ember.optim.Optimizer
    optimizer.step = timed("optimizer.step", optimizer.step)
    optimizer.zero_grad = timed("optimizer.zero_grad", optimizer.zero_grad)


def profile(workload, steps: int, infer: bool) -> None:
    train_step, infer_step = workload.build(ember)
    fn = infer_step if infer else train_step
    for _ in range(3):
        fn()
    totals, per_label, calls = [], defaultdict(list), {}
    for _ in range(steps):
        TIMES.clear()
        start = CLOCK()
        fn()
        totals.append(CLOCK() - start)
        for label, values in TIMES.items():
            per_label[label].append(sum(values))
            calls[label] = len(values)
    total = statistics.median(totals)
    print(f"\n{workload.name} {'inference' if infer else 'training'}: median step "
          f"{1e3 * total:.2f} ms (min {1e3 * min(totals):.2f}) over {steps} steps")
    accounted = 0.0
    rows = sorted(per_label.items(), key=lambda item: -statistics.median(item[1]))
    for label, values in rows:
        median = statistics.median(values)
        if not label.startswith("  "):
            accounted += median
        print(f"  {label:<34} {calls[label]:4d} calls {1e3 * median:8.2f} ms  "
              f"{100 * median / total:5.1f}%  (min {1e3 * min(values):.2f})")
    print(f"  {'other (engine, Python)':<45} {1e3 * (total - accounted):8.2f} ms  "
          f"{100 * (total - accounted) / total:5.1f}%")


def main(argv) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--infer", action="store_true")
    parser.add_argument("--serial", action="store_true",
                        help="run the convolutions' blocks on the calling thread only")
    parser.add_argument("--cpu", action="store_true",
                        help="time with this thread's CPU clock (steadier on a busy machine; "
                             "meaningful with OPENBLAS_NUM_THREADS=1)")
    args = parser.parse_args(argv)
    global CLOCK
    if args.cpu:
        CLOCK = time.thread_time
    if args.serial:
        parallel.intra_op_threads = lambda: 1
    instrument()
    for workload in WORKLOADS:
        if workload.name.split()[0] in args.workloads:
            profile(workload, args.steps, args.infer)


if __name__ == "__main__":
    main(sys.argv[1:])
