"""ember.evaluate and ember.predict: eval mode without a graph, the model's mode put back,
whole-set numbers from uneven batches, outputs concatenated in order."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.training.fit import evaluate, predict
from tests.training.helpers import mlp, spirals


class Spy(nn.Module):
    """An MLP that records, at every forward, its mode and whether grad mode is on."""

    def __init__(self):
        super().__init__()
        self.body = mlp(0, dropout=0.5)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, ember.is_grad_enabled()))
        return self.body(x)


@pytest.mark.parametrize("start_in_train_mode", [True, False])
def test_evaluate_runs_in_eval_mode_without_grad_and_restores_the_mode(start_in_train_mode):
    model = Spy().train(start_in_train_mode)
    results = evaluate(model, spirals(30), "cross_entropy", batch_size=8)
    assert model.calls == [(False, False)] * 4                 # 30 examples: 8+8+8+6
    assert model.training is start_in_train_mode
    assert model.body[2].training is start_in_train_mode      # submodules too
    assert all(p.grad is None for p in model.parameters())
    assert set(results) == {"loss", "accuracy"}


def test_evaluate_restores_the_mode_when_the_model_raises():
    model = mlp(0).train()
    with pytest.raises(ember.ShapeError):
        evaluate(model, (ember.zeros(4, 3), ember.zeros(4, dtype=ember.int64)))
    assert model.training


def test_evaluate_over_uneven_batches_equals_the_whole_set():
    data = spirals(50)
    x, y = data.tensors
    model = mlp(3)
    results = evaluate(model, data, "cross_entropy", metrics=["accuracy", "top2_accuracy"],
                       batch_size=7)
    with ember.no_grad():
        scores = model(x)
    whole_loss = F.cross_entropy(scores, y).item()
    assert abs(results["loss"] - whole_loss) < 1e-6
    assert results["accuracy"] == np.mean(scores.numpy().argmax(1) == y.numpy())
    top2 = np.argsort(-scores.numpy(), axis=1)[:, :2]
    assert results["top2_accuracy"] == np.mean((top2 == y.numpy()[:, None]).any(1))
    assert 0 < results["accuracy"] < results["top2_accuracy"] < 1


def test_evaluate_metrics_only_and_a_loader():
    data = spirals(30)
    loader = DataLoader(data, batch_size=4)
    assert list(evaluate(mlp(0), loader)) == ["accuracy"]
    assert evaluate(mlp(0), loader, metrics=()) == {}


def test_predict_concatenates_batches_for_every_kind_of_input():
    data = spirals(45)
    x, y = data.tensors
    model = Spy()
    expected = model.eval()(x).detach().numpy()
    model.train()
    forms = {"tensor": x, "array": x.numpy(), "dataset": data, "pair": (x, y),
             "loader": DataLoader(data, batch_size=10),
             "inputs-only loader": DataLoader(TensorDataset(x), batch_size=10)}
    for name, form in forms.items():
        model.calls.clear()
        outputs = predict(model, form, batch_size=10)
        assert outputs.shape == (45, 3), name
        assert np.array_equal(outputs.numpy(), expected), name
        assert not outputs.requires_grad, name
        assert model.calls == [(False, False)] * 5, name          # 10+10+10+10+5
        assert model.training, name


def test_predict_errors():
    with pytest.raises(ValueError, match="no examples"):
        predict(mlp(0), ember.zeros(0, 2))
    x, y = spirals(30).tensors
    with pytest.raises(ValueError, match="predict: each batch"):
        predict(mlp(0), DataLoader(TensorDataset(x, y, y), batch_size=8))
