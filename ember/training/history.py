"""History: what `ember.fit` returns, the per-epoch values of the loss and every metric."""
from __future__ import annotations

import json
import math

import numpy as np


class History:
    """Per-epoch logs: `history.history["val_loss"]` is a list with one value per epoch.

    Example:
        >>> history = ember.fit(model, train, loss, optimizer, epochs=3)
        >>> history.history["loss"]      # three numbers, falling
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            column = self.history.setdefault(key, [math.nan] * (len(self.epoch) - 1))
            column.append(value)
        for column in self.history.values():
            if len(column) < len(self.epoch):
                column.append(math.nan)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def best(self, key: str, mode: str = "min") -> tuple[int, float]:
        """(epoch, value) of the best value of `key` (the first, on a tie), ignoring NaN;
        mode "min" or "max"."""
        if mode not in ("min", "max"):
            raise ValueError(f"history.best: mode must be 'min' or 'max', got {mode!r}")
        if key not in self.history:
            raise KeyError(f"history.best: no {key!r} in the history (it has "
                           f"{', '.join(self.history)})")
        values = [v for v in self.history[key] if not math.isnan(v)]
        if not values:
            raise ValueError(f"history: no values recorded for {key!r}")
        best = min(values) if mode == "min" else max(values)
        return self.epoch[self.history[key].index(best)], best

    def to_dict(self) -> dict:
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        history = cls()
        history.epoch = list(data.get("epoch", []))
        history.history = {k: list(v) for k, v in data.items() if k != "epoch"}
        return history

    def save_json(self, path: str) -> None:
        """Write {"epoch": [...], key: [...]} as JSON (arrays, such as confusion matrices,
        as nested lists; NaN as NaN)."""
        with open(path, "w") as handle:
            json.dump(self.to_dict(), handle, indent=2, allow_nan=True, default=_as_json)

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"


def _as_json(value):
    """JSON for the NumPy values a metric may log."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"history: cannot write a {type(value).__name__} as JSON")
