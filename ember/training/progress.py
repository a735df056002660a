"""The progress display of `ember.fit`: on a terminal, a bar per epoch that redraws in place
(tqdm) with the running loss and metrics, ETA and ms/step; in a log file, one line per epoch.
"""
from __future__ import annotations

import math
import sys
import time


def format_logs(logs: dict, keys=None) -> str:
    """'loss 0.2345  accuracy 0.9312' for the numeric entries of logs."""
    parts = []
    for key in keys or logs:
        value = logs.get(key)
        if isinstance(value, float):
            parts.append(f"{key} {value:.4g}" if key == "lr" or not math.isfinite(value)
                         else f"{key} {value:.4f}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key} {value}")
    return "  ".join(parts)


class EpochProgress:
    """Shows one epoch's progress.

    Args:
        epoch, epochs: for the label "epoch 3/10".
        steps: the number of batches in the epoch (None if unknown).
        mode: "bar" (redraw in place, needs a terminal and tqdm), "line" (one line at the
            end of the epoch) or "silent".
    """

    def __init__(self, epoch: int, epochs: int, steps: int | None, mode: str,
                 file=None) -> None:
        self.label = f"epoch {epoch}/{epochs}"
        self.steps, self.mode, self.file = steps, mode, file or sys.stdout
        self.done = 0
        self.bar = None
        if mode == "bar":
            from tqdm.auto import tqdm

            known = ("{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                     "[{elapsed}<{remaining}{postfix}]")
            unknown = "{desc}: {n_fmt} steps [{elapsed}{postfix}]"
            self.bar = tqdm(total=steps, desc=self.label, file=self.file, leave=True,
                            dynamic_ncols=True, unit="step",
                            bar_format=known if steps else unknown)
        self.start = time.perf_counter()     # after tqdm's import, which can take a second

    def update(self, logs: dict) -> None:
        """After each batch, with the running means so far."""
        self.done += 1
        if self.bar is not None:
            elapsed = time.perf_counter() - self.start
            self.bar.set_postfix_str(f"{self.ms_per_step(elapsed):.1f} ms/step  "
                                     f"{format_logs(logs)}", refresh=False)
            self.bar.update(1)

    def ms_per_step(self, elapsed: float) -> float:
        return 1000 * elapsed / max(self.done, 1)

    def close(self, logs: dict) -> None:
        """At the end of the epoch, with the epoch's logs (validation included)."""
        elapsed = time.perf_counter() - self.start
        summary = format_logs(logs)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.ms_per_step(elapsed):.1f} ms/step  {summary}")
            self.bar.close()
        elif self.mode == "line":
            print(f"{self.label}  {self.done} steps  {elapsed:.1f}s  "
                  f"{self.ms_per_step(elapsed):.1f} ms/step  {summary}", file=self.file,
                  flush=True)

    @staticmethod
    def write(message: str, mode: str, file=None) -> None:
        """A line of text (a callback's message), above the bar if one is drawn."""
        if mode == "bar":
            from tqdm.auto import tqdm

            tqdm.write(message, file=file or sys.stdout)
        elif mode == "line":
            print(message, file=file or sys.stdout, flush=True)


def choose_mode(verbose, file=None) -> str:
    """verbose: 0 silent, 1 bar, 2 a line per epoch, "auto": a bar on a terminal with tqdm
    installed, else lines."""
    if verbose not in (0, 1, 2, "auto") or isinstance(verbose, float):
        raise ValueError(f"fit: verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    file = file or sys.stdout
    if verbose in (0, False):
        return "silent"
    if verbose == 2:
        return "line"
    interactive = hasattr(file, "isatty") and file.isatty()
    if verbose == "auto" and not interactive:
        return "line"
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return "line"
    return "bar"
