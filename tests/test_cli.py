"""The `ember` command (train, evaluate, summary), the model zoo and the dataset catalog."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import models
from ember.cli import build_model, main
from ember.datasets.catalog import load_splits

MNIST_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")


def test_train_writes_checkpoints_history_plots_and_config(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    code = main(["train", "--dataset", "spirals", "--model", "mlp", "--hidden", "32",
                 "--epochs", "3", "--lr", "0.01", "--out", str(out), "--verbose", "2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.count("epoch ") >= 3 and "test accuracy" in printed
    assert "Total params: 195" in printed            # 2*32+32 + 32*3+3
    for name in ("model.safetensors", "last.safetensors", "best.safetensors", "history.json",
                 "config.json", "history.png", "decision_boundary.png"):
        assert (out / name).stat().st_size > 0, name
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3 and len(history["val_accuracy"]) == 3
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "spirals" and 0 <= config["test"]["accuracy"] <= 1


def test_evaluate_reproduces_the_test_accuracy_of_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--dataset", "xor", "--model", "mlp", "--hidden", "16", "--epochs", "4",
          "--lr", "0.02", "--out", str(out), "--verbose", "0"])
    config = json.loads((out / "config.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy {config['test']['accuracy']:.2%}" in printed.splitlines()[-1]


def test_resume_continues_to_the_same_weights(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["train", "--dataset", "moons", "--model", "mlp", "--hidden", "8",
              "--lr", "0.05", "--verbose", "0", "--optimizer", "momentum"]
    main(common + ["--epochs", "4", "--out", str(straight)])
    main(common + ["--epochs", "2", "--out", str(resumed)])
    main(common + ["--epochs", "4", "--out", str(resumed), "--resume"])
    a = ember.load(str(straight / "model.safetensors"))
    b = ember.load(str(resumed / "model.safetensors"))
    for key in a:
        assert np.array_equal(a[key].numpy(), b[key].numpy()), key


def test_model_from_a_python_file(tmp_path, capsys):
    source = tmp_path / "mine.py"
    source.write_text("import ember.nn as nn\n"
                      "def build(input_shape, num_classes):\n"
                      "    return nn.Sequential(nn.Linear(input_shape[0], 5), nn.Tanh(),\n"
                      "                         nn.Linear(5, num_classes))\n")
    assert main(["summary", "--model", f"{source}:build", "--input-size", "7",
                 "--num-classes", "3"]) == 0
    assert "Total params: 58" in capsys.readouterr().out   # 7*5+5 + 5*3+3


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    assert main(["summary", "--model", "nope", "--input-size", "3"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert main(["summary", "--model", f"{tmp_path}/missing.py:f", "--input-size", "3"]) == 2
    assert "no file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "not-a-dataset"])


def test_the_installed_command_runs():
    result = subprocess.run([sys.executable, "-m", "ember", "summary", "--model", "logreg",
                             "--input-size", "40"], capture_output=True, text=True, check=True)
    assert "Total params: 410" in result.stdout


def test_zoo_models_have_the_documented_sizes(torch):
    resmlp = models.build("resmlp", (40,), 10)
    assert sum(p.numel() for p in resmlp.parameters()) == 40 * 100 + 100 + 100 * 100 + 100 \
        + 100 * 10 + 10
    mlp = models.build("mlp", (784,), 10, hidden=(512, 256))
    reference = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                    torch.nn.Linear(256, 10))
    assert sum(p.numel() for p in mlp.parameters()) == sum(p.numel() for p in
                                                           reference.parameters())
    assert models.build("logreg", (1, 28, 28), 10)(ember.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("transformer", (3,), 2, {})


def test_catalog_splits_are_disjoint_and_deterministic():
    a = load_splits("spirals", samples=500, seed=3)
    b = load_splits("spirals", samples=500, seed=3)
    assert (len(a.train), len(a.val), len(a.test)) == (300, 100, 100)
    assert np.array_equal(a.train.tensors[0].numpy(), b.train.tensors[0].numpy())
    # every point lands in exactly one split (the three spirals share the origin, so
    # count (point, label) pairs)
    rows = {(*point, label) for s in (a.train, a.val, a.test)
            for point, label in zip(s.tensors[0].numpy().tolist(), s.tensors[1].numpy())}
    assert len(rows) == 500
    assert a.input_shape == (2,) and a.num_classes == 3


def test_mnist1d_splits_keep_the_published_test_set():
    splits = load_splits("mnist1d", val_fraction=0.1)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (3600, 400, 1000)


@pytest.mark.skipif(not os.path.isdir(MNIST_ROOT), reason="shared MNIST files not present")
def test_mnist_is_standardized_with_training_statistics_only():
    splits = load_splits("mnist", MNIST_ROOT, val_fraction=0.1)
    train = splits.train.tensors[0].numpy()
    assert train.shape[1:] == (1, 28, 28) and train.dtype == np.float32
    assert abs(train.mean()) < 1e-4 and abs(train.std() - 1) < 1e-4
    raw = ember.datasets.MNIST(MNIST_ROOT, train=False).data.numpy() / 255
    mean, std = splits.standardize.mean.reshape(-1)[0], splits.standardize.std.reshape(-1)[0]
    expected = (raw - mean) / std
    np.testing.assert_allclose(splits.test.tensors[0].numpy()[:, 0], expected, rtol=1e-5,
                               atol=1e-5)


def test_catalog_errors():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_splits("cifar")
    with pytest.raises(ValueError, match="give the folder"):
        load_splits("mnist")
