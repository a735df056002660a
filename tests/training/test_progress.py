"""The progress display: a line per epoch in logs, a bar on a terminal (tqdm), nothing at
verbose=0."""
from __future__ import annotations

import io
import re

import pytest

from ember.optim import SGD
from ember.training import EarlyStopping
from ember.training.fit import fit
from ember.training import progress as progress_module
from ember.training.progress import EpochProgress, choose_mode, format_logs
from tests.training.helpers import mlp, spirals

LINE = re.compile(r"epoch (\d+)/3  (\d+) steps  \d+\.\ds  \d+\.\d ms/step  loss (\d\.\d{4})  "
                  r"accuracy (\d\.\d{4})  val_loss (\d\.\d{4})  val_accuracy (\d\.\d{4})  "
                  r"lr 0\.1")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def train(verbose, file=None, epochs: int = 3, callbacks=(), data=None):
    model = mlp(0)
    return fit(model, data if data is not None else spirals(40), "cross_entropy",
               SGD(model.parameters(), lr=0.1), epochs=epochs, val_data=spirals(20),
               batch_size=16, verbose=verbose, file=file, callbacks=callbacks)


@pytest.mark.parametrize("verbose", [2, "auto"])
def test_a_line_per_epoch_with_steps_timing_loss_metrics_and_validation(verbose, capsys):
    printed = io.StringIO()                                     # not a terminal
    history = train(verbose, printed)
    lines = printed.getvalue().splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines):
        match = LINE.fullmatch(line)
        assert match, line
        assert int(match[1]) == epoch + 1 and int(match[2]) == 3      # 40 / 16: 3 steps
        for group, key in zip(range(3, 7), ["loss", "accuracy", "val_loss", "val_accuracy"]):
            assert match[group] == f"{history[key][epoch]:.4f}"
    assert capsys.readouterr() == ("", "")                      # nothing else anywhere


def test_lines_go_to_stdout_by_default(capsys):
    train(2)
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 3 and all(LINE.fullmatch(s) for s in out.splitlines())


def test_verbose_0_prints_nothing(capsys):
    printed = io.StringIO()
    train(0, printed, epochs=4, callbacks=[EarlyStopping("loss", mode="max")])
    assert printed.getvalue() == ""
    assert capsys.readouterr() == ("", "")


def test_verbose_1_draws_a_tqdm_bar_with_timing_and_running_means():
    pytest.importorskip("tqdm")
    printed = io.StringIO()
    history = train(1, printed, epochs=2)
    text = printed.getvalue()
    assert "\r" in text                                           # redrawn in place
    for epoch in (1, 2):
        final = [part for part in text.split("\r") if f"epoch {epoch}/2" in part][-1]
        assert "100%" in final and "3/3" in final
        assert re.search(r"\d+\.\d ms/step  loss \d\.\d{4}", final), final
        assert f"val_loss {history['val_loss'][epoch - 1]:.4f}" in final
    assert not LINE.search(text)


def test_auto_draws_a_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    assert choose_mode("auto", Terminal()) == "bar"
    assert choose_mode("auto", io.StringIO()) == "line"
    assert choose_mode(1, io.StringIO()) == "bar"
    assert choose_mode(0, Terminal()) == "silent" and choose_mode(2, Terminal()) == "line"
    printed = Terminal()
    train("auto", printed, epochs=1)
    assert "ms/step" in printed.getvalue() and "|" in printed.getvalue()


def test_a_bar_for_a_loader_of_unknown_length():
    pytest.importorskip("tqdm")
    x, y = spirals(40).tensors

    class Batches:                                               # iterable, no len()
        def __iter__(self):
            return iter([(x[:16], y[:16]), (x[16:], y[16:])])

    printed = io.StringIO()
    train(1, printed, epochs=1, data=Batches())
    assert "2 steps" in printed.getvalue() and "ms/step" in printed.getvalue()
    printed = io.StringIO()
    train(2, printed, epochs=1, data=Batches())
    assert "epoch 1/1  2 steps" in printed.getvalue()


def test_line_timing_is_measured_from_the_start_of_the_epoch(monkeypatch):
    clock = iter([100.0, 101.0])
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    printed = io.StringIO()
    progress = EpochProgress(2, 5, 4, "line", printed)        # starts at 100.0
    for _ in range(4):
        progress.update({"loss": 0.5})
    progress.close({"loss": 0.5})                            # ends at 101.0
    assert printed.getvalue() == "epoch 2/5  4 steps  1.0s  250.0 ms/step  loss 0.5000\n"


def test_format_logs_shows_non_finite_values_and_skips_arrays():
    text = format_logs({"loss": float("nan"), "accuracy": 0.5, "lr": 1e-3,
                        "confusion_matrix": [[1]], "val_loss": float("inf")})
    assert text == "loss nan  accuracy 0.5000  lr 0.001  val_loss inf"


def test_bad_verbose():
    for verbose in (3, -1, "yes", 1.5):
        with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'"):
            choose_mode(verbose)


def test_callback_messages_are_written_above_the_bar():
    pytest.importorskip("tqdm")
    printed = io.StringIO()
    train(1, printed, epochs=3, callbacks=[EarlyStopping("loss", mode="max")])
    assert "EarlyStopping: stopped after epoch 2" in printed.getvalue()
