"""Smoke tests of the 2-D examples (xor, two_layer_by_hand, spiral_classifier,
regularization, hidden_width): each main() runs with tiny settings and measures what its
lesson claims. The full runs, and their numbers, are not part of the test suite."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn


def test_xor_needs_a_hidden_layer(example, tmp_path):
    results = example("xor").main(["--steps", "300", "--out", str(tmp_path)])
    linear, hidden = results["logistic regression"], results["2-8-1 tanh network"]
    assert linear["train_accuracy"] <= 0.8          # no line separates XOR
    assert hidden["train_accuracy"] == 1.0
    assert {p.name for p in tmp_path.iterdir()} == {"logistic_regression.png",
                                                    "hidden_layer.png"}


def test_two_layer_by_hand_matches_autograd(example, capsys):
    results = example("two_layer_by_hand").main(["--steps", "5"])
    assert results["loss_by_hand"] == pytest.approx(results["loss_autograd"], abs=1e-12)
    lines = capsys.readouterr().out.splitlines()
    losses = [float(line.split()[1]) for line in lines if line[:4].strip().isdigit()]
    assert len(losses) == 5 and losses[-1] < losses[0]       # gradient descent went down


def test_two_layer_by_hand_catches_a_wrong_derivative(example, monkeypatch):
    module = example("two_layer_by_hand")
    correct = module.forward_and_backward

    def forgets_a_factor(params, x, y):             # as if sigmoid'(z1) were dropped
        loss, gradients = correct(params, x, y)
        gradients["b1"] = gradients["b1"] * 1.001
        return loss, gradients

    monkeypatch.setattr(module, "forward_and_backward", forgets_a_factor)
    with pytest.raises(AssertionError, match="dL/db1"):
        module.main(["--steps", "2"])


def test_spiral_classifier_learns_and_plots(example, tmp_path):
    results = example("spiral_classifier").main(["--epochs", "20", "--out", str(tmp_path)])
    assert results["train_accuracy"] > 0.7          # chance is 1/3
    assert (tmp_path / "decision_boundary.png").stat().st_size > 0
    assert (tmp_path / "history.png").stat().st_size > 0


def test_regularization_shrinks_the_weights(example, tmp_path):
    results = example("regularization").main(
        ["--lambdas", "0.001", "0.1", "--epochs", "15", "--out", str(tmp_path)])
    weak, strong = results[0.001], results[0.1]
    assert all(s < w for s, w in zip(strong["weight_norms"], weak["weight_norms"]))
    assert {p.name for p in tmp_path.iterdir()} == {"boundary_lambda_0.001.png",
                                                    "boundary_lambda_0.1.png"}


def test_the_l2_penalty_is_sgds_weight_decay_on_the_weights(example):
    """What regularization.py's docstring says: with SGD (and momentum), adding
    (lambda/2) ||W||^2 to the loss gives the same steps as weight_decay=lambda."""
    module = example("regularization")
    x, y = ember.datasets.spirals(60).tensors
    strength, trained = 0.1, []
    for use_penalty in (True, False):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
        weights = [model[0].weight, model[2].weight]
        biases = [model[0].bias, model[2].bias]
        decay = 0.0 if use_penalty else strength
        optimizer = ember.optim.SGD([{"params": weights, "weight_decay": decay},
                                     {"params": biases}], lr=0.1, momentum=0.9)
        loss_fn = (module.l2_penalized_loss(model, strength) if use_penalty
                   else ember.nn.functional.cross_entropy)
        for _ in range(5):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        trained.append([p.detach().numpy().copy() for p in model.parameters()])
    for with_penalty, with_decay in zip(*trained):
        np.testing.assert_allclose(with_penalty, with_decay, rtol=1e-5, atol=1e-6)


def test_hidden_width_counts_parameters_and_compares_widths(example, tmp_path):
    results = example("hidden_width").main(
        ["--widths", "2", "64", "--epochs", "20", "--out", str(tmp_path)])
    for width in (2, 64):                # (2 w + w) in the hidden layer, (3 w + 3) in the output
        assert results[width]["parameters"] == 3 * width + 3 * width + 3
    assert results[64]["train_accuracy"] > results[2]["train_accuracy"]
    assert len(list(tmp_path.glob("boundary_width_*.png"))) == 2
