"""Smoke tests of the MNIST-1D and MNIST examples: a few hundred steps or one short epoch,
far above chance. The full runs (6000 steps; 10 epochs) are not part of the test suite."""
from __future__ import annotations

import ember


def test_mnist1d_logistic_learns(example, mnist1d_cache, capsys):
    results = example("mnist1d_logistic").main(
        ["--steps", "200", "--eval-every", "100", "--data", mnist1d_cache])
    assert results["test_accuracy"] > 0.2                # chance is 0.1; the full run: ~0.32
    assert "step   100" in capsys.readouterr().out


def test_mnist1d_resmlp_is_the_papers_model_and_learns(example, mnist1d_cache):
    module = example("mnist1d_resmlp")
    model = module.ResidualMLP()
    assert list(model.state_dict()) == ["linear1.weight", "linear1.bias", "linear2.weight",
                                        "linear2.bias", "linear3.weight", "linear3.bias"]
    assert sum(p.numel() for p in model.parameters()) == (40 * 100 + 100) + (100 * 100 + 100) \
        + (100 * 10 + 10)
    results = module.main(["--steps", "200", "--eval-every", "200", "--data", mnist1d_cache])
    assert results["test_accuracy"] > 0.3


def test_the_residual_connection_adds_the_hidden_state(example):
    """With the second layer's output forced to zero, ReLU(0) = 0 and h passes unchanged."""
    module = example("mnist1d_resmlp")
    model = module.ResidualMLP()
    with ember.no_grad():
        model.linear2.weight.zero_()
        model.linear2.bias.fill_(-1.0)
    x = ember.randn(5, 40)
    expected = model.linear3(model.linear1(x).relu())
    assert ember.allclose(model(x), expected)


def test_mnist_mlp_learns_in_one_short_epoch(example, mnist_folder, tmp_path):
    results = example("mnist_mlp").main(
        ["--epochs", "1", "--subset", "2000", "--data", mnist_folder, "--out", str(tmp_path)])
    assert results["test_accuracy"] > 0.7            # 16 steps; chance is 0.1
    assert len(results["epoch_seconds"]) == 1
    assert (tmp_path / "history.png").stat().st_size > 0
