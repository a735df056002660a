"""What a change bought: this checkout's ember against another revision's, on the same
workloads, in alternating processes (no PyTorch). A ratio of two ember versions is far
steadier than the difference of two ember/PyTorch ratios on a noisy machine, whose
PyTorch times move by a third from one run to the next.

    python benchmarks/against_revision.py 60a8210            (all workloads)
    python benchmarks/against_revision.py HEAD~3 W2 W4       (some of them)

The revision is checked out in a temporary git worktree, its C extensions are built
there (setup.py build_ext --inplace, with this Python), and its `ember` is imported from
there (PYTHONPATH); both sides run this checkout's workloads.py. Prints a Markdown table
(below 1: this checkout is faster) and writes benchmarks/results/against_revision.md.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from harness import TimedProcess, blas_threads, compare_processes, machine_line, write_results
from workloads import select_workloads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def checkout(revision: str, folder: str) -> str:
    """The revision in a git worktree at `folder`, its extensions built; its commit id."""
    added = subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", folder,
                            revision], capture_output=True, text=True)
    if added.returncode:
        sys.exit(f"against_revision.py: cannot check out {revision!r}: "
                 f"{added.stderr.strip()}")
    if os.path.exists(os.path.join(folder, "setup.py")):
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                       cwd=folder, check=True, capture_output=True)
    return subprocess.run(["git", "-C", folder, "rev-parse", "--short", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def main(revision: str, selected: list[str]) -> None:
    workloads = select_workloads(selected, "against_revision.py")
    threads = blas_threads()
    folder = tempfile.mkdtemp(prefix="ember-revision-")
    os.rmdir(folder)                        # git worktree add makes it
    try:
        commit = checkout(revision, folder)
        here = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--",
                                  "ember", "setup.py"]).returncode != 0
        rows = []
        for workload in workloads:
            ours = TimedProcess("ember", workload.name, threads)
            theirs = TimedProcess("ember", workload.name, threads, source=folder)
            try:
                for kind, number in (("train", workload.number), ("infer", workload.number * 2)):
                    label = f"{workload.name}, {'training' if kind == 'train' else 'inference'}"
                    rows.append(compare_processes(label, ours, theirs, kind, number))
                    print(rows[-1].row(), flush=True)
            finally:
                ours.close()
                theirs.close()
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", folder],
                       capture_output=True)
    edited = ", with uncommitted changes to ember" if changed else ""
    lines = [f"# ember at {here} (this checkout{edited}) against ember at {commit} "
             f"({revision})", "", machine_line(threads), "",
             f"| workload | {here} µs | {commit} µs | ratio | spread (IQR) |",
             "|---|---|---|---|---|"]
    lines += [row.row() for row in rows]
    lines += ["", "Each version in a process of its own, alternating blocks with 0.3 s of "
              "quiet before each; ratio = median of per-round ratios (below 1: this "
              "checkout is faster)."]
    text = "\n".join(lines) + "\n"
    print(text)
    print("written to", write_results("against_revision.md", text), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
