"""examples/pytorch_mnist_mlp.py is a PyTorch script whose only ember-specific lines are its
imports: run the same file body on ember and, with the imports swapped, on PyTorch."""
from __future__ import annotations

import re

import pytest

import ember
from tests.examples.conftest import EXAMPLES

SCRIPT = EXAMPLES / "pytorch_mnist_mlp.py"
BEGIN, END = "# -- framework imports", "# -- end of framework imports"
# a short run: one epoch over the first 2000 training and 2000 test images
QUICK = ["--epochs", "1", "--subset", "2000", "--log-interval", "1000"]


def framework_block(source: str) -> tuple[str, str, str]:
    """The source before the framework imports, the imports, and the source after them."""
    start, stop = source.index(BEGIN), source.index(END)
    return source[:start], source[start:stop], source[stop:]


def as_pytorch(source: str) -> str:
    """The script with each framework import pointing at torch instead of ember."""
    before, imports, after = framework_block(source)
    imports = imports.replace("import ember as torch", "import torch")
    imports = re.sub(r"\bember\b", "torch", imports)
    return before + imports + after


def run_script(source: str, argv: list[str], script=SCRIPT) -> tuple[float, dict]:
    """Execute a script's source as a module (not as __main__) and call main(argv)."""
    namespace = {"__name__": f"{script.stem}_under_test", "__file__": str(script)}
    exec(compile(source, str(script), "exec"), namespace)
    return namespace["main"](argv), namespace


def assert_only_the_framework_imports_name_ember(source: str) -> str:
    """Check that a PyTorch-example script names ember only in its framework imports (and
    in the NumPy IDX reader); return the source after the imports."""
    before, imports, after = framework_block(source)
    assert [line for line in imports.splitlines()[1:] if line.strip()] == [
        "import ember as torch", "import ember.nn as nn", "import ember.nn.functional as F",
        "import ember.optim as optim", "from ember.optim.lr_scheduler import StepLR",
        "from ember.utils.data import DataLoader, TensorDataset"]
    # outside the block, ember appears only in the docstring and the NumPy IDX reader
    code_after = after.split("\n", 1)[1]
    assert [line for line in code_after.splitlines() if "ember" in line] == [
        "from ember.datasets import read_idx  # NumPy arrays from MNIST's IDX files "
        "(no framework)"]
    assert "ember" not in before.split('"""')[-1]     # the code before the block: stdlib, NumPy
    return after


def test_only_the_framework_imports_name_ember():
    assert_only_the_framework_imports_name_ember(SCRIPT.read_text())


def test_the_same_script_learns_on_ember_and_on_pytorch(torch, mnist_folder, capsys):
    source = SCRIPT.read_text()
    argv = QUICK + ["--data", mnist_folder]
    ember_accuracy, ember_namespace = run_script(source, argv)
    torch_accuracy, torch_namespace = run_script(as_pytorch(source), argv)
    assert torch_namespace["torch"] is torch and ember_namespace["torch"] is ember

    printed = capsys.readouterr().out
    assert printed.count("Test set: Average loss") == 2
    # one epoch of Adadelta on 2000 images (32 steps): about 70% on both, chance is 10%
    assert ember_accuracy > 0.6, printed
    assert torch_accuracy > 0.6, printed
    assert abs(ember_accuracy - torch_accuracy) < 0.08, (ember_accuracy, torch_accuracy)


def test_the_model_has_pytorchs_state_dict_keys_and_saves(torch, mnist_folder, tmp_path):
    source = SCRIPT.read_text()
    one_batch = ["--epochs", "1", "--subset", "200", "--dry-run", "--save-model",
                 "--data", mnist_folder]
    _, ember_namespace = run_script(source, one_batch + ["--out", str(tmp_path / "ember")])
    _, torch_namespace = run_script(as_pytorch(source),
                                    one_batch + ["--out", str(tmp_path / "torch")])
    ember_state = ember_namespace["Net"]().state_dict()
    torch_state = torch_namespace["Net"]().state_dict()
    assert list(ember_state) == list(torch_state)
    assert [tuple(v.shape) for v in ember_state.values()] == \
           [tuple(v.shape) for v in torch_state.values()]

    saved = ember.load(str(tmp_path / "ember" / "mnist_mlp.pt"))
    model = ember_namespace["Net"]()
    model.load_state_dict(saved)                  # the saved weights load back into a Net


@pytest.mark.parametrize("line", ["import ember as torch", "import ember.nn as nn"])
def test_the_swap_changes_every_framework_import(line):
    swapped = as_pytorch(SCRIPT.read_text())
    assert line not in swapped
    assert line.replace("ember", "torch").replace("import torch as torch",
                                                  "import torch") in swapped
