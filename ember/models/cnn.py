"""Convolutional networks for 28x28 and 32x32 images: LeNet-5, a small VGG-style stack and a
small ResNet of basic residual blocks, with torchvision's layout and parameter names."""
from __future__ import annotations

from ember import nn
from ember.errors import ShapeError
from ember.tensor import Tensor


def _image_shape(model: str, input_shape) -> tuple[int, int, int]:
    """(channels, height, width) of one image, or a clear error for anything else."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ShapeError(f"{model}: input_shape must be one image's (channels, height, width), "
                         f"e.g. (1, 28, 28) or (3, 32, 32); got {shape}")
    return shape


def _pooled(size: int, model: str, shape: tuple) -> int:
    """The size after MaxPool2d(2): floor(size / 2), which must stay at least 1."""
    if size < 2:
        raise ShapeError(f"{model}: input {shape} is too small: a 2x2 pooling would meet a "
                         f"feature map of size {size}")
    return size // 2


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling:

        Conv2d(C, 6, 5, padding=P) - ReLU - MaxPool2d(2) - Conv2d(6, 16, 5) - ReLU -
        MaxPool2d(2) - Flatten - Linear(400, 120) - ReLU - Linear(120, 84) - ReLU -
        Linear(84, num_classes)

    P = 2 for 28x28 inputs (MNIST), so that the maps are 28 -> 14 -> 10 -> 5, as for the
    original 32x32 inputs with P = 0. The 16 maps of 5x5 give the 400 features. On
    (1, 28, 28) inputs: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters.

    Args:
        input_shape: one image's (channels, height, width); 28x28 or 32x32.
        num_classes: outputs of the last layer.

    Shape: (N, C, H, W) -> (N, num_classes).

    Example:
        >>> model = LeNet5((1, 28, 28), 10)
        >>> model(ember.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """

    def __init__(self, input_shape=(1, 28, 28), num_classes: int = 10) -> None:
        super().__init__()
        channels, height, width = _image_shape("LeNet5", input_shape)
        if (height, width) not in ((28, 28), (32, 32)):
            raise ShapeError(f"LeNet5: expects 28x28 or 32x32 images (5x5 maps before the "
                             f"classifier); got input_shape {tuple(input_shape)}")
        padding = 2 if height == 28 else 0
        self.features = nn.Sequential(
            nn.Conv2d(channels, 6, kernel_size=5, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class SmallVGG(nn.Module):
    """A VGG-style stack, [(CONV-BN-RELU) x convs_per_block - POOL] x len(channels), then
    [(DROPOUT-)FC-RELU] x len(hidden) - (DROPOUT-)FC: 3x3 convolutions with padding 1 keep
    the size, each 2x2 pooling halves it (28 -> 14 -> 7; 32 -> 16 -> 8 -> 4).

    The convolutions have no bias: batch norm subtracts each channel's mean, so a bias
    would cancel, and its own shift (beta) takes the bias's place.

    Args:
        input_shape: one image's (channels, height, width), e.g. (1, 28, 28), (3, 32, 32).
        num_classes: outputs of the last layer.
        channels: output channels of each block's convolutions.
        convs_per_block: CONV-BN-RELU layers before each pooling.
        hidden: widths of the fully connected hidden layers (an int for one).
        dropout: dropout probability before each fully connected layer (0: none).

    Shape: (N, C, H, W) -> (N, num_classes).

    Example:
        >>> model = SmallVGG((3, 32, 32), 10, channels=(32, 64, 128))
        >>> model(ember.zeros(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, input_shape=(1, 28, 28), num_classes: int = 10, channels=(32, 64),
                 convs_per_block: int = 2, hidden=(256,), dropout: float = 0.0) -> None:
        super().__init__()
        in_channels, height, width = _image_shape("SmallVGG", input_shape)
        channels = (channels,) if isinstance(channels, int) else tuple(channels)
        if not channels or convs_per_block < 1:
            raise ValueError(f"SmallVGG: needs at least one block of at least one convolution;"
                             f" got channels={channels}, convs_per_block={convs_per_block}")
        layers = []
        for width_out in channels:
            for _ in range(convs_per_block):
                layers += [nn.Conv2d(in_channels, width_out, 3, padding=1, bias=False),
                           nn.BatchNorm2d(width_out), nn.ReLU()]
                in_channels = width_out
            layers.append(nn.MaxPool2d(2))
            height = _pooled(height, "SmallVGG", tuple(input_shape))
            width = _pooled(width, "SmallVGG", tuple(input_shape))
        self.features = nn.Sequential(*layers)
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        head, features = [nn.Flatten()], in_channels * height * width
        for size in hidden:
            head += [nn.Dropout(dropout)] if dropout else []
            head += [nn.Linear(features, size), nn.ReLU()]
            features = size
        head += [nn.Dropout(dropout)] if dropout else []
        head.append(nn.Linear(features, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet's basic residual block (He et al., 2016):

        out = ReLU(BN(conv3x3(ReLU(BN(conv3x3_stride(x))))) + shortcut(x))

    The shortcut is the identity when the shape is unchanged, and a projection,
    BN(conv1x1 with the same stride), when the stride or the number of channels changes.

    Args:
        in_channels, out_channels: channels in and out.
        stride: of the first convolution (2 halves the height and width).

    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).

    Example:
        >>> BasicBlock(16, 32, stride=2)(ember.zeros(2, 16, 28, 28)).shape
        (2, 32, 14, 14)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return (out + shortcut).relu()          # the residual connection, then ReLU


class SmallResNet(nn.Module):
    """A small ResNet for 28x28 and 32x32 images, as in the ResNet paper's CIFAR networks:
    a 3x3 stem convolution, stages of basic blocks (the first at full size, each later one
    halving height and width and changing the channels through a projection shortcut),
    global average pooling and one linear layer. blocks=3 with channels (16, 32, 64) is the
    paper's ResNet-20 (with projection shortcuts, its option B, where its CIFAR runs pad
    the identity with zeros).

    Args:
        input_shape: one image's (channels, height, width), e.g. (1, 28, 28), (3, 32, 32).
        num_classes: outputs of the last layer.
        channels: channels of each stage.
        blocks: basic blocks per stage.

    Shape: (N, C, H, W) -> (N, num_classes).

    Example:
        >>> model = SmallResNet((3, 32, 32), 10, channels=(16, 32, 64), blocks=3)  # ResNet-20
        >>> model(ember.zeros(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, input_shape=(1, 28, 28), num_classes: int = 10,
                 channels=(16, 32, 64), blocks: int = 2) -> None:
        super().__init__()
        in_channels, _, _ = _image_shape("SmallResNet", input_shape)
        channels = (channels,) if isinstance(channels, int) else tuple(channels)
        if not channels or blocks < 1:
            raise ValueError(f"SmallResNet: needs at least one stage of at least one block; "
                             f"got channels={channels}, blocks={blocks}")
        self.conv1 = nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels[0])
        width = channels[0]
        for stage, stage_channels in enumerate(channels):
            stage_blocks = []
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                stage_blocks.append(BasicBlock(width, stage_channels, stride))
                width = stage_channels
            self.add_module(f"layer{stage + 1}", nn.Sequential(*stage_blocks))
        self.stages = len(channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn1(self.conv1(x)).relu()
        for stage in range(self.stages):
            x = getattr(self, f"layer{stage + 1}")(x)
        return self.fc(self.flatten(self.avgpool(x)))   # global average pooling, then linear
