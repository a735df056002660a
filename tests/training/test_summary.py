"""ember.summary: a row per layer call with its output shape and parameters, totals that
count shared parameters once and equal PyTorch's count for the same architecture."""
from __future__ import annotations

import pytest

import ember
from ember import nn
from ember.training.summary import summary


def rows(result):
    return [(r.name, r.kind, r.depth, r.output_shape, r.params, r.reused) for r in result.rows]


def test_sequential_rows_shapes_and_totals(torch, capsys):
    model = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 10))
    result = summary(model, (40,), batch_size=4)
    assert rows(result) == [("0", "Linear", 0, (4, 100), 4100, False),
                            ("1", "ReLU", 0, (4, 100), 0, False),
                            ("2", "Linear", 0, (4, 10), 1010, False)]
    reference = torch.nn.Sequential(torch.nn.Linear(40, 100), torch.nn.ReLU(),
                                    torch.nn.Linear(100, 10))
    expected = sum(p.numel() for p in reference.parameters())
    assert result.total_params == result.trainable_params == expected == 5110
    assert result.total_params == sum(p.numel() for p in model.parameters())
    assert result.non_trainable_params == 0 and result.input_shape == (4, 40)
    printed = capsys.readouterr().out
    assert printed == str(result) + "\n"
    assert "Total params: 5,110" in printed and "0 (Linear)" in printed
    assert "[4, 100]" in printed and "4,100" in printed


def test_nested_containers_are_indented_by_depth(torch):
    model = nn.Sequential(nn.Sequential(nn.Linear(3, 8), nn.Tanh()),
                          nn.Sequential(nn.Linear(8, 8), nn.Sequential(nn.Linear(8, 2))))
    result = summary(model, 3, verbose=False)
    assert [(r.name, r.depth, r.params) for r in result.rows] == [
        ("0", 0, 0), ("0.0", 1, 32), ("0.1", 1, 0), ("1", 0, 0), ("1.0", 1, 72),
        ("1.1", 1, 0), ("1.1.0", 2, 18)]
    assert result.rows[-1].output_shape == (1, 2)
    table = str(result).splitlines()
    assert any(line.startswith("    1.1.0 (Linear)") for line in table)
    reference = torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh()),
        torch.nn.Sequential(torch.nn.Linear(8, 8),
                            torch.nn.Sequential(torch.nn.Linear(8, 2))))
    assert result.total_params == sum(p.numel() for p in reference.parameters()) == 122


class SharedBlock(nn.Module):
    """The same layer applied twice, and an output layer tied to the embedding."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.shared = nn.Linear(4, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embed.weight                 # tied: (10, 4) both
        self.scale = nn.Parameter(ember.ones(1))            # the model's own parameter

    def forward(self, tokens):
        h = self.embed(tokens)
        h = self.shared(self.shared(h).relu())
        return self.out(h) * self.scale


def test_shared_and_tied_parameters_are_counted_once(torch):
    model = SharedBlock()
    result = summary(model, (6,), dtype=ember.int64, verbose=False)
    assert rows(result) == [("embed", "Embedding", 0, (1, 6, 4), 40, False),
                            ("shared", "Linear", 0, (1, 6, 4), 20, False),
                            ("shared", "Linear", 0, (1, 6, 4), 0, True),
                            ("out", "Linear", 0, (1, 6, 10), 0, False)]
    assert "(reused)" in str(result)
    assert result.total_params == sum(p.numel() for p in model.parameters()) == 61

    class TorchShared(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(10, 4)
            self.shared = torch.nn.Linear(4, 4)
            self.out = torch.nn.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight
            self.scale = torch.nn.Parameter(torch.ones(1))

    assert result.total_params == sum(p.numel() for p in TorchShared().parameters())


def test_frozen_parameters_and_buffers(torch):
    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.Linear(6, 2))
    model[0].requires_grad_(False)
    result = summary(model, (5,), batch_size=2, verbose=False)
    assert result.total_params == 36 + 12 + 14
    assert result.trainable_params == 26 and result.non_trainable_params == 36
    assert "Non-trainable params: 36" in str(result)
    reference = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6),
                                    torch.nn.Linear(6, 2))
    assert result.total_params == sum(p.numel() for p in reference.parameters())


def test_summary_restores_the_mode_removes_its_hooks_and_records_no_graph():
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5)).train()
    summary(model, (2,), verbose=False)
    assert model.training and model[1].training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    summary(model, (2,), verbose=False)
    assert not model.training


def test_tuple_outputs_and_input_data():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 4)

        def forward(self, x):
            h = self.body(x)
            return h[:, :1], h

    result = summary(TwoHeads(), input_data=ember.zeros(5, 3), verbose=False)
    assert result.input_shape == (5, 3) and result.total_params == 16
    assert rows(result) == [("body", "Linear", 0, (5, 4), 16, False)]


def test_summary_errors():
    with pytest.raises(ValueError, match="summary: give input_size"):
        summary(nn.Linear(2, 2))
    with pytest.raises(ember.DTypeError, match="pass dtype=ember.int64"):
        summary(nn.Embedding(10, 3), (4,), verbose=False)
