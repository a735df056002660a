"""Smoke tests of the CNN examples (LeNet-5 on MNIST, SmallVGG on Fashion-MNIST, the MNIST-1D
CNN) and of the PyTorch CNN script run on ember and, with its imports swapped, on PyTorch:
a few dozen steps each, far above chance. The full runs are not part of the suite."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.examples.conftest import EXAMPLES
from tests.examples.test_pytorch_script import (QUICK, as_pytorch,
                                                assert_only_the_framework_imports_name_ember)
from tests.examples.test_pytorch_script import run_script as run_any_script

SCRIPT = EXAMPLES / "pytorch_mnist_cnn.py"


@pytest.fixture(autouse=True)
def one_blas_thread():
    """These small products run fastest on one BLAS thread (and on a busy machine, two
    threads that wait for each other are many times slower); the setting is put back."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def fashion_folder():
    folder = EXAMPLES.parents[1] / "shared" / "datasets" / "fashion-mnist"
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Fashion-MNIST is not at {folder}")
    return str(folder)


def test_mnist_lenet5_learns_and_draws_its_filters(example, mnist_folder, tmp_path):
    results = example("mnist_lenet5").main(
        ["--epochs", "1", "--subset", "2560", "--test-subset", "1000", "--lr", "3e-3",
         "--data", mnist_folder, "--out", str(tmp_path)])
    assert results["test_accuracy"] > 0.7             # 20 steps; chance is 0.1
    assert len(results["epoch_seconds"]) == 1
    for name in ("history", "filters", "feature_maps"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000, name


def test_fashion_mnist_cnn_learns(example, fashion_folder, tmp_path):
    results = example("fashion_mnist_cnn").main(
        ["--epochs", "1", "--subset", "1280", "--test-subset", "500", "--batch-size", "64",
         "--channels", "8", "16", "--hidden", "32", "--data", fashion_folder,
         "--out", str(tmp_path)])
    assert results["test_accuracy"] > 0.5             # 20 steps; chance is 0.1
    assert (tmp_path / "filters.png").stat().st_size > 1000


def test_mnist1d_cnn_is_the_papers_model_and_learns(example, mnist1d_cache, capsys):
    module = example("mnist1d_cnn")
    model = module.ConvNet1d()
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == [
        ("conv1.weight", (25, 1, 5)), ("conv1.bias", (25,)),
        ("conv2.weight", (25, 25, 3)), ("conv2.bias", (25,)),
        ("conv3.weight", (25, 25, 3)), ("conv3.bias", (25,)),
        ("linear.weight", (10, 125)), ("linear.bias", (10,))]
    assert model(ember.zeros(3, 40)).shape == (3, 10)
    results = module.main(["--steps", "300", "--eval-every", "150", "--data", mnist1d_cache])
    assert results["test_accuracy"] > 0.5             # chance 0.1; the full run: ~92-94%
    assert "step   150" in capsys.readouterr().out


def test_mnist1d_cnn_equals_pytorchs_with_the_same_weights(example, torch):
    module = example("mnist1d_cnn")
    model = module.ConvNet1d().double()
    tnn = torch.nn
    twin = tnn.Sequential(tnn.Conv1d(1, 25, 5, 2, 1), tnn.ReLU(), tnn.Conv1d(25, 25, 3, 2, 1),
                          tnn.ReLU(), tnn.Conv1d(25, 25, 3, 2, 1), tnn.ReLU(), tnn.Flatten(),
                          tnn.Linear(125, 10)).double()
    names = {"0": "conv1", "2": "conv2", "4": "conv3", "7": "linear"}
    model.load_state_dict({f"{names[k.split('.')[0]]}.{k.split('.')[1]}":
                           ember.tensor(v.detach().numpy().copy())
                           for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 40))
    np.testing.assert_allclose(model(ember.tensor(x)).detach().numpy(),
                               twin(torch.tensor(x)[:, None]).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def run_script(source: str, argv: list[str]) -> tuple[float, dict]:
    return run_any_script(source, argv, SCRIPT)


def test_only_the_framework_imports_name_ember_in_the_cnn_script():
    after = assert_only_the_framework_imports_name_ember(SCRIPT.read_text())
    for piece in ("nn.Conv2d(1, 32, 3, 1)", "F.max_pool2d(x, 2)", "F.nll_loss",
                  "optim.Adadelta", "StepLR(optimizer, step_size=1, gamma=args.gamma)"):
        assert piece in after, piece


def test_the_same_cnn_script_learns_on_ember_and_on_pytorch(torch, mnist_folder, capsys):
    source = SCRIPT.read_text()
    argv = QUICK + ["--data", mnist_folder]
    ember_accuracy, ember_namespace = run_script(source, argv)
    torch_accuracy, torch_namespace = run_script(as_pytorch(source), argv)
    assert torch_namespace["torch"] is torch and ember_namespace["torch"] is ember

    printed = capsys.readouterr().out
    assert printed.count("Test set: Average loss") == 2
    # one epoch of Adadelta on 2000 images (32 steps): about 80% on both, chance is 10%
    assert ember_accuracy > 0.6, printed
    assert torch_accuracy > 0.6, printed
    assert abs(ember_accuracy - torch_accuracy) < 0.1, (ember_accuracy, torch_accuracy)


def test_the_cnn_has_pytorchs_state_dict_and_its_saved_weights_load(torch, mnist_folder,
                                                                     tmp_path):
    source = SCRIPT.read_text()
    one_batch = ["--epochs", "1", "--subset", "100", "--test-batch-size", "100", "--dry-run",
                 "--save-model", "--data", mnist_folder]
    _, ember_namespace = run_script(source, one_batch + ["--out", str(tmp_path / "ember")])
    _, torch_namespace = run_script(as_pytorch(source),
                                    one_batch + ["--out", str(tmp_path / "torch")])
    ember_state = ember_namespace["Net"]().state_dict()
    torch_state = torch_namespace["Net"]().state_dict()
    assert list(ember_state) == list(torch_state) == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias"]
    assert [tuple(v.shape) for v in ember_state.values()] == \
           [tuple(v.shape) for v in torch_state.values()]

    saved = ember.load(str(tmp_path / "ember" / "mnist_cnn.pt"))
    model = ember_namespace["Net"]()
    model.load_state_dict(saved)
    # PyTorch's weights in ember's Net give PyTorch's log-probabilities (eval: no dropout)
    twin = torch_namespace["Net"]().double().eval()
    model = model.double().eval()
    model.load_state_dict({k: ember.tensor(v.numpy().copy())
                           for k, v in twin.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28))
    with ember.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(ember.tensor(x)).numpy(),
                                   twin(torch.tensor(x)).numpy(), rtol=1e-9, atol=1e-10)
