"""History: per-epoch columns (NaN where an epoch lacks a key), best values, and its JSON
and dict forms."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ember.training import History


def filled() -> History:
    history = History()
    history.append(1, {"loss": 0.9, "accuracy": 0.5})
    history.append(2, {"loss": 0.7, "accuracy": 0.75, "val_loss": 0.8})
    history.append(3, {"loss": 0.8, "accuracy": 0.75})
    return history


def test_columns_are_padded_with_nan_for_missing_epochs():
    history = filled()
    assert history.epoch == [1, 2, 3] and len(history) == 3
    assert history["loss"] == [0.9, 0.7, 0.8]
    val = history["val_loss"]
    assert math.isnan(val[0]) and val[1] == 0.8 and math.isnan(val[2])
    assert repr(history) == "History(epochs=3, keys=[loss, accuracy, val_loss])"


def test_best_value_and_its_epoch():
    history = filled()
    assert history.best("loss") == (2, 0.7)
    assert history.best("accuracy", mode="max") == (2, 0.75)      # the first of a tie
    assert history.best("val_loss") == (2, 0.8)                    # NaN ignored
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        history.best("loss", mode="lowest")
    with pytest.raises(KeyError, match="no 'val_accuracy' in the history"):
        history.best("val_accuracy")


def test_dict_round_trip_and_json(tmp_path):
    history = filled()
    history.append(4, {"loss": 0.6, "confusion_matrix": np.eye(2, dtype=np.int64)})
    again = History.from_dict(history.to_dict())
    assert again.epoch == history.epoch and list(again.history) == list(history.history)
    assert again["loss"] == history["loss"]
    path = tmp_path / "history.json"
    history.save_json(str(path))
    written = json.loads(path.read_text())
    assert written["epoch"] == [1, 2, 3, 4] and written["loss"] == [0.9, 0.7, 0.8, 0.6]
    assert written["confusion_matrix"][3] == [[1, 0], [0, 1]]
    assert math.isnan(written["val_loss"][0])
