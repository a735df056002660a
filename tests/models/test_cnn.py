"""The convolutional zoo (LeNet5, SmallVGG, SmallResNet): each against its PyTorch twin, built
here layer by layer (parameter count, state_dict keys and shapes, outputs with the same
weights, per-layer output shapes), plus the residual block, shape errors and `ember summary`."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import models, nn
from ember.cli import main
from ember.errors import ShapeError
from ember.models.cnn import BasicBlock, LeNet5, SmallResNet, SmallVGG
from tests.conftest import rng_for


# --- the PyTorch twins, written from the papers' descriptions -------------------------------

def torch_lenet5(torch, channels: int, padding: int, num_classes: int = 10):
    tnn = torch.nn

    class TorchLeNet5(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(channels, 6, 5, padding=padding), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(
                tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                tnn.ReLU(), tnn.Linear(84, num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))
    return TorchLeNet5()


def torch_vgg(torch, channels_in: int, size: int, channels, hidden, dropout: float,
              num_classes: int = 10):
    tnn = torch.nn

    class TorchVGG(tnn.Module):
        def __init__(self):
            super().__init__()
            layers, width, side = [], channels_in, size
            for c in channels:
                layers += [tnn.Conv2d(width, c, 3, padding=1, bias=False), tnn.BatchNorm2d(c),
                           tnn.ReLU(), tnn.Conv2d(c, c, 3, padding=1, bias=False),
                           tnn.BatchNorm2d(c), tnn.ReLU(), tnn.MaxPool2d(2)]
                width, side = c, side // 2
            self.features = tnn.Sequential(*layers)
            head, features = [tnn.Flatten()], width * side * side
            for h in hidden:
                head += [tnn.Dropout(dropout)] if dropout else []
                head += [tnn.Linear(features, h), tnn.ReLU()]
                features = h
            head += [tnn.Dropout(dropout)] if dropout else []
            head.append(tnn.Linear(features, num_classes))
            self.classifier = tnn.Sequential(*head)

        def forward(self, x):
            return self.classifier(self.features(x))
    return TorchVGG()


def torch_resnet(torch, channels_in: int, channels, blocks: int, num_classes: int = 10):
    tnn = torch.nn

    class TorchBasicBlock(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            identity = x if self.downsample is None else self.downsample(x)
            return torch.relu(out + identity)

    class TorchResNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(channels_in, channels[0], 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(channels[0])
            width = channels[0]
            for i, c in enumerate(channels):
                stage = []
                for b in range(blocks):
                    stage.append(TorchBasicBlock(width, c, 2 if i > 0 and b == 0 else 1))
                    width = c
                setattr(self, f"layer{i + 1}", tnn.Sequential(*stage))
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.flatten = tnn.Flatten()
            self.fc = tnn.Linear(width, num_classes)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            for i in range(len(channels)):
                x = getattr(self, f"layer{i + 1}")(x)
            return self.fc(self.flatten(self.avgpool(x)))
    return TorchResNet()


# (ember class, its options, the twin's builder, its options, one input shape);
# small widths keep the tests fast
CASES = {
    "lenet5-28": (LeNet5, {"input_shape": (1, 28, 28)},
                  torch_lenet5, {"channels": 1, "padding": 2}, (1, 28, 28)),
    "lenet5-32": (LeNet5, {"input_shape": (3, 32, 32), "num_classes": 7},
                  torch_lenet5, {"channels": 3, "padding": 0, "num_classes": 7}, (3, 32, 32)),
    "vgg-28": (SmallVGG, {"input_shape": (1, 28, 28), "channels": (8, 16), "hidden": 32},
               torch_vgg, {"channels_in": 1, "size": 28, "channels": (8, 16),
                           "hidden": (32,), "dropout": 0.0}, (1, 28, 28)),
    "vgg-32": (SmallVGG, {"input_shape": (3, 32, 32), "channels": (4, 8, 8),
                          "hidden": (16, 12), "dropout": 0.5},
               torch_vgg, {"channels_in": 3, "size": 32, "channels": (4, 8, 8),
                           "hidden": (16, 12), "dropout": 0.5}, (3, 32, 32)),
    "resnet-28": (SmallResNet, {"input_shape": (1, 28, 28), "channels": (4, 8, 16)},
                  torch_resnet, {"channels_in": 1, "channels": (4, 8, 16), "blocks": 2},
                  (1, 28, 28)),
    "resnet-32": (SmallResNet, {"input_shape": (3, 32, 32), "channels": (4, 8), "blocks": 1},
                  torch_resnet, {"channels_in": 3, "channels": (4, 8), "blocks": 1},
                  (3, 32, 32)),
}


def model_and_twin(case: str, torch):
    """The ember model of `case`, its PyTorch twin, and one input's shape."""
    kind, options, make_twin, twin_options, shape = CASES[case]
    return kind(**options), make_twin(torch, **twin_options), shape


def copy_torch_weights(model: nn.Module, twin) -> None:
    model.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                           for k, v in twin.state_dict().items()})


@pytest.mark.parametrize("case", CASES)
def test_parameters_and_state_dict_keys_equal_the_pytorch_twin(case, torch):
    model, twin, _ = model_and_twin(case, torch)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in
                                                             twin.parameters())
    ours, theirs = model.state_dict(), twin.state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]


@pytest.mark.parametrize("case", CASES)
def test_outputs_equal_the_pytorch_twin_with_its_weights(case, torch):
    """Float64, training mode (batch statistics) then eval mode (the running estimates the
    training pass updated), so batch norm's buffers are checked too."""
    model, twin, shape = model_and_twin(case, torch)
    model, twin = model.double(), twin.double()
    copy_torch_weights(model, twin)
    x = rng_for(case).standard_normal((4, *shape))
    model.train()
    twin.train()
    with ember.no_grad():
        ours = model(ember.tensor(x))
    # dropout draws differ between the libraries: compare train outputs without it
    if not any(isinstance(m, nn.Dropout) for m in model.modules()):
        np.testing.assert_allclose(ours.numpy(), twin(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-9, atol=1e-10)
    else:
        with torch.no_grad():
            twin(torch.tensor(x))                       # the same running-stat update
    model.eval()
    twin.eval()
    with ember.no_grad():
        ours = model(ember.tensor(x)).numpy()
    np.testing.assert_allclose(ours, twin(torch.tensor(x)).detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    for key, value in twin.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[key].numpy(), value.numpy(),
                                   rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_summary_shows_each_layers_output_shape_as_in_pytorch(case, torch):
    model, twin, shape = model_and_twin(case, torch)
    shapes, names = {}, {id(m): name for name, m in twin.named_modules()}

    def record(module, inputs, output):
        shapes[names[id(module)]] = list(output.shape)

    for name, module in twin.named_modules():
        if name:
            module.register_forward_hook(record)
    twin.eval()
    twin(torch.zeros(1, *shape))
    table = ember.summary(model, shape, verbose=False)
    assert {row.name: list(row.output_shape) for row in table.rows} == shapes
    assert table.total_params == sum(p.numel() for p in twin.parameters())


def test_lenet5_has_the_classic_61706_parameters():
    # conv1 (1*5*5 + 1) * 6, conv2 (6*5*5 + 1) * 16, then 400-120-84-10 with biases
    by_hand = 26 * 6 + 151 * 16 + 401 * 120 + 121 * 84 + 85 * 10
    assert by_hand == 61_706
    assert sum(p.numel() for p in LeNet5((1, 28, 28), 10).parameters()) == by_hand


def test_an_unchanged_shape_keeps_the_identity_shortcut():
    same, wider, strided = BasicBlock(8, 8), BasicBlock(8, 16), BasicBlock(8, 8, stride=2)
    assert same.downsample is None and not any("downsample" in k for k in same.state_dict())
    assert wider.downsample is not None and strided.downsample is not None
    assert strided(ember.zeros(2, 8, 7, 7)).shape == (2, 8, 4, 4)


def test_the_residual_block_adds_its_input():
    """With the second batch norm's scale and shift zero, the main path is zero and the
    block returns ReLU(x): the identity shortcut, then the final ReLU."""
    block = BasicBlock(4, 4).eval()
    with ember.no_grad():
        block.bn2.weight.zero_()
    x = ember.randn(2, 4, 6, 6)
    assert ember.allclose(block(x), x.relu())
    with ember.no_grad():
        block.bn2.bias.fill_(1.0)
    assert ember.allclose(block(x), (x + 1).relu())


def test_a_small_resnet_learns_a_tiny_batch():
    model = SmallResNet((1, 12, 12), 3, channels=(4, 8), blocks=1)
    x, y = ember.randn(12, 1, 12, 12), ember.arange(12) % 3
    optimizer = ember.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("kind, options, message", [
    (LeNet5, {"input_shape": (1, 20, 20)}, "28x28 or 32x32"),
    (LeNet5, {"input_shape": (28, 28)}, "(channels, height, width)"),
    (SmallVGG, {"input_shape": (1, 6, 6), "channels": (4, 4, 4)}, "too small"),
    (SmallResNet, {"input_shape": (784,)}, "(channels, height, width)"),
])
def test_shapes_that_do_not_fit_are_named(kind, options, message):
    with pytest.raises(ShapeError, match="input") as error:
        kind(**options)
    assert message in str(error.value) and type(kind()).__name__ in str(error.value)


def test_the_zoo_builds_the_cnns_by_name():
    for name, kind in (("lenet5", LeNet5), ("vgg", SmallVGG), ("resnet", SmallResNet)):
        model = models.build(name, (3, 32, 32), 10)
        assert isinstance(model, kind)
        assert model(ember.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert models.build("vgg", (1, 28, 28), 5, channels=(4,), dropout=0.3).classifier[1].p == 0.3


def test_ember_summary_prints_shapes_and_counts_of_the_cnns(capsys):
    assert main(["summary", "--model", "lenet5", "--input-size", "1", "28", "28"]) == 0
    printed = capsys.readouterr().out
    assert "features.0 (Conv2d)" in printed and "[1, 6, 28, 28]" in printed
    assert "Total params: 61,706" in printed
    assert main(["summary", "--model", "resnet", "--input-size", "3", "32", "32"]) == 0
    printed = capsys.readouterr().out
    assert "layer3.0.downsample.0 (Conv2d)" in printed and "[1, 64, 8, 8]" in printed
    expected = sum(p.numel() for p in SmallResNet((3, 32, 32), 10).parameters())
    assert f"Total params: {expected:,}" in printed
