"""What a convolutional network sees: its first layer's filters and the feature maps of one
input after a chosen layer, as image grids drawn with matplotlib (without pyplot)."""
from __future__ import annotations

import math

import numpy as np

from ember.errors import ShapeError
from ember.grad_mode import no_grad
from ember.nn.conv import Conv2d
from ember.nn.module import Module
from ember.tensor import Tensor
from ember.viz.plots import _figure, _input_dtype, _save


def _as_array(values) -> np.ndarray:
    return values.detach().numpy() if isinstance(values, Tensor) else np.asarray(values)


def _filter_weight(weights) -> np.ndarray:
    """The (C_out, C_in, KH, KW) weight of a Conv2d, of a model's first Conv2d, or as given."""
    if isinstance(weights, Module):
        own = getattr(weights, "weight", None)
        if not isinstance(own, Tensor):
            own = next((m.weight for m in weights.modules() if isinstance(m, Conv2d)), None)
        if own is None:
            raise TypeError(f"plot_filters: {type(weights).__name__} has no weight and no "
                            f"Conv2d layer; pass a Conv2d, a model containing one, or a "
                            f"(C_out, C_in, KH, KW) weight")
        weights = own
    weight = _as_array(weights)
    if weight.ndim != 4:
        raise ShapeError(f"plot_filters: expected a 4-D convolution weight (C_out, C_in, KH, "
                         f"KW), as of Conv2d, but got shape {tuple(weight.shape)}")
    return weight.astype(np.float64)


def _grid(figure, panels: int, columns: int):
    """Exactly `panels` axes in rows of `columns`, without ticks."""
    rows = math.ceil(panels / columns)
    axes = [figure.add_subplot(rows, columns, i + 1) for i in range(panels)]
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return axes


def _unit_range(images: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] with one minimum and maximum over all of `images` (for RGB)."""
    low, high = images.min(), images.max()
    return (images - low) / (high - low) if high > low else np.full_like(images, 0.5)


def plot_filters(weights, path: str | None = None, title: str | None = None,
                 columns: int | None = None, max_filters: int = 64, rgb: bool | None = None,
                 figure=None):
    """The filters of a convolution layer as a grid of small images.

    One grey panel per filter when there is one input channel (MNIST's first layer), one
    colour panel per filter for three (RGB), otherwise a row per filter with a panel per
    input channel. Grey panels share a colour scale centred on zero (mid-grey), so the
    filters compare: white weights are positive, black negative.

    Args:
        weights: a Conv2d, a model (its first Conv2d is drawn), or a (C_out, C_in, KH, KW)
            weight as a Tensor or array.
        path: save the figure as PNG here (returned either way).
        title: drawn above the grid.
        columns: panels per row (default: about square; C_in when drawing a row per filter).
        max_filters: draw at most this many filters (the first ones).
        rgb: draw 3-channel filters in colour (default: True when C_in is 3).
        figure: a matplotlib Figure or SubFigure to draw into; by default a new one.

    Returns:
        The matplotlib Figure (one axes per panel).

    Example:
        >>> plot_filters(model.features[0], "filters.png")      # LeNet-5's six 5x5 filters
    """
    weight = _filter_weight(weights)[:max_filters]
    count, channels = weight.shape[:2]
    rgb = channels == 3 if rgb is None else rgb
    if rgb and channels != 3:
        raise ShapeError(f"plot_filters: rgb=True needs 3 input channels, but the weight has "
                         f"shape {tuple(weight.shape)}")
    if rgb or channels == 1:
        panels = count
        columns = columns or math.ceil(math.sqrt(count))
    else:
        panels = count * channels
        columns = columns or channels
    rows = math.ceil(panels / columns)
    figure = figure if figure is not None else _figure(1.1 * columns + 0.4, 1.1 * rows + 0.6)
    axes = _grid(figure, panels, columns)
    if rgb:
        images = _unit_range(weight).transpose(0, 2, 3, 1)     # (C_out, KH, KW, 3)
        for ax, image in zip(axes, images):
            ax.imshow(image, interpolation="nearest")
    else:
        limit = np.abs(weight).max() or 1.0
        images = weight.reshape(-1, *weight.shape[2:])         # (C_out * C_in, KH, KW)
        for ax, image in zip(axes, images):
            ax.imshow(image, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def _one_example(x, dtype: np.dtype) -> Tensor:
    """x as a batch of one: (C, H, W) or (1, C, H, W) -> (1, C, H, W) in the model's dtype."""
    array = _as_array(x)
    if array.ndim == 4 and array.shape[0] != 1:
        raise ShapeError(f"plot_feature_maps: expected one input, (C, H, W) or (1, C, H, W), "
                         f"but got a batch of shape {tuple(array.shape)}")
    if array.ndim not in (3, 4):
        raise ShapeError(f"plot_feature_maps: expected one image, (C, H, W) or (1, C, H, W), "
                         f"but got shape {tuple(array.shape)}")
    return Tensor._make(np.ascontiguousarray(array.reshape(1, *array.shape[-3:]), dtype=dtype))


def _layer_output(model: Module, layer, x: Tensor) -> tuple[np.ndarray, str]:
    """The output of `layer` (a submodule, its name, or None for the model) when the model
    runs on x, caught by a forward hook; eval mode, no graph, the mode is put back."""
    if isinstance(layer, str):
        named = dict(model.named_modules())
        if layer not in named:
            raise ValueError(f"plot_feature_maps: the model has no layer {layer!r}; its "
                             f"layers are {', '.join(repr(n) for n in named if n)}")
        label, layer = layer, named[layer]
    elif layer is None:
        label, layer = type(model).__name__, model
    else:
        label = next((n for n, m in model.named_modules() if m is layer), None)
        if label is None:
            raise ValueError(f"plot_feature_maps: the {type(layer).__name__} given as layer "
                             f"is not part of the model")
        label = label or type(model).__name__
    caught = []

    def catch(module, inputs, output):
        caught.append(output)

    handle = layer.register_forward_hook(catch)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        handle.remove()
        model.train(was_training)
    if not caught:
        raise ValueError(f"plot_feature_maps: layer {label!r} was not called by the model's "
                         f"forward")
    output = caught[0]
    if not isinstance(output, Tensor) or output.ndim != 4:
        shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
        raise ShapeError(f"plot_feature_maps: feature maps need a (1, C, H, W) output, but "
                         f"layer {label!r} gave {shape}; choose a convolution, activation or "
                         f"pooling layer before the flatten")
    return output.numpy()[0].astype(np.float64), label


def plot_feature_maps(model: Module, x, layer=None, path: str | None = None,
                      title: str | None = None, max_maps: int = 32,
                      columns: int | None = None, show_input: bool = True, figure=None):
    """The activation maps of one input after a chosen layer: one panel per channel, each
    with its own colour scale (bright is strong), the input first.

    Args:
        model: an ember.nn.Module taking (N, C, H, W) images (a single layer works too).
        x: one image, (C, H, W) or (1, C, H, W).
        layer: the submodule whose output to draw, or its name in model.named_modules()
            (e.g. "features.1"); None draws the model's own output.
        path: save the figure as PNG here (returned either way).
        title: drawn above the grid (default: the layer's name and output shape).
        max_maps: draw at most this many channels (the first ones).
        columns: panels per row (default: about square).
        show_input: draw the input image as the first panel.
        figure: a matplotlib Figure or SubFigure to draw into; by default a new one.

    Returns:
        The matplotlib Figure (one axes per panel).

    Example:
        >>> plot_feature_maps(model, test_images[0], "features.1", "maps.png")  # after ReLU
    """
    image = _one_example(x, _input_dtype(model))
    maps, label = _layer_output(model, layer, image)
    shown = maps[:max_maps]
    panels = len(shown) + (1 if show_input else 0)
    columns = columns or math.ceil(math.sqrt(panels))
    rows = math.ceil(panels / columns)
    figure = figure if figure is not None else _figure(1.3 * columns + 0.4, 1.3 * rows + 0.6)
    axes = _grid(figure, panels, columns)
    if show_input:
        picture = image.numpy()[0].astype(np.float64)           # (C, H, W)
        if picture.shape[0] == 3:
            axes[0].imshow(_unit_range(picture).transpose(1, 2, 0))
        else:
            axes[0].imshow(picture[0], cmap="gray")
        axes[0].set_title("input", fontsize=8)
        axes = axes[1:]
    for channel, (ax, activation) in enumerate(zip(axes, shown)):
        ax.imshow(activation, cmap="viridis", interpolation="nearest")
        ax.set_title(f"{channel}", fontsize=7)
    figure.suptitle(title or f"{label}: output {list(maps.shape)}")
    return _save(figure, path)
