"""Filter and feature-map plots: one panel per filter or channel, the pixels drawn are the
weights and activations themselves, the model's mode is put back, and bad input is named."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.errors import ShapeError
from ember.models import LeNet5, SmallVGG
from ember.viz import plot_feature_maps, plot_filters

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def drawn(ax) -> np.ndarray:
    """The array an axes' image shows."""
    (image,) = ax.get_images()
    return np.asarray(image.get_array())


def test_one_grey_panel_per_filter_of_a_one_channel_layer(tmp_path):
    conv = nn.Conv2d(1, 6, 5)
    figure = plot_filters(conv, tmp_path / "filters.png", title="six filters")
    assert len(figure.axes) == 6
    for ax, weight in zip(figure.axes, conv.weight.detach().numpy()):
        np.testing.assert_allclose(drawn(ax), weight[0], rtol=1e-6)
    # one symmetric scale for all: zero is mid-grey in every panel
    limit = np.abs(conv.weight.detach().numpy()).max()
    assert {ax.get_images()[0].get_clim() for ax in figure.axes} == {(-limit, limit)}
    assert (tmp_path / "filters.png").stat().st_size > 1000


def test_a_model_draws_its_first_convolution():
    model = LeNet5()
    assert len(plot_filters(model).axes) == 6             # features.0: Conv2d(1, 6, 5)
    assert len(plot_filters(model.features[3]).axes) == 16 * 6   # a row per filter


def test_three_channel_filters_are_colour_panels():
    weight = ember.randn(10, 3, 3, 3)
    figure = plot_filters(weight, max_filters=8)
    assert len(figure.axes) == 8
    assert drawn(figure.axes[0]).shape == (3, 3, 3)      # an RGB image (KH, KW, 3)
    assert len(plot_filters(weight, rgb=False).axes) == 30


def test_filters_draw_into_a_given_figure():
    from matplotlib.figure import Figure

    figure = Figure()
    left, right = figure.subfigures(1, 2)
    assert plot_filters(nn.Conv2d(1, 4, 3), figure=right) is right
    assert len(figure.axes) == 4 and not left.axes


@pytest.mark.parametrize("weights", [ember.randn(4, 3), nn.Linear(3, 4), nn.Conv1d(1, 4, 3),
                                     np.zeros((2, 1, 3, 3, 3))])
def test_a_weight_that_is_not_4d_is_refused(weights):
    with pytest.raises(ShapeError, match=r"plot_filters: expected a 4-D .* got shape \("):
        plot_filters(weights)


def test_a_layer_without_filters_is_refused():
    with pytest.raises(TypeError, match="plot_filters: Sequential has no weight and no Conv2d"):
        plot_filters(nn.Sequential(nn.ReLU()))
    with pytest.raises(ShapeError, match="rgb=True needs 3 input channels"):
        plot_filters(ember.randn(2, 1, 3, 3), rgb=True)


def test_feature_maps_show_the_chosen_layers_output_for_one_input(tmp_path):
    model = LeNet5()
    model.train()
    image = ember.randn(1, 28, 28)
    figure = plot_feature_maps(model, image, "features.1", tmp_path / "maps.png")
    assert len(figure.axes) == 1 + 6                      # the input, then six maps
    np.testing.assert_allclose(drawn(figure.axes[0]), image.numpy()[0])
    with ember.no_grad():
        expected = model.features[1](model.features[0](image[None])).numpy()[0]
    for ax, activation in zip(figure.axes[1:], expected):
        np.testing.assert_allclose(drawn(ax), activation, rtol=1e-5, atol=1e-6)
    assert model.training                                 # the mode is put back
    assert (tmp_path / "maps.png").stat().st_size > 1000


def test_feature_maps_by_module_capped_and_of_a_lone_layer():
    model = SmallVGG((3, 32, 32), channels=(8, 16))
    x = np.zeros((1, 3, 32, 32))                          # float64 array: cast to float32
    figure = plot_feature_maps(model, x, model.features[9], max_maps=10, show_input=False)
    assert len(figure.axes) == 10
    assert drawn(figure.axes[0]).shape == (16, 16)
    assert len(plot_feature_maps(nn.Conv2d(1, 5, 3), np.ones((1, 8, 8))).axes) == 6
    assert not model._forward_hooks and not model.features[9]._forward_hooks   # removed


@pytest.mark.parametrize("layer, x, error, message", [
    ("classifier.1", (1, 28, 28), ShapeError, "layer 'classifier.1' gave (1, 120)"),
    ("conv9", (1, 28, 28), ValueError, "the model has no layer 'conv9'"),
    (None, (2, 1, 28, 28), ShapeError, "got a batch of shape (2, 1, 28, 28)"),
    (None, (28, 28), ShapeError, "got shape (28, 28)"),
    (nn.ReLU(), (1, 28, 28), ValueError, "is not part of the model"),
])
def test_feature_maps_name_what_went_wrong(layer, x, error, message):
    with pytest.raises(error) as caught:
        plot_feature_maps(LeNet5(), ember.zeros(*x), layer)
    assert message in str(caught.value) and "plot_feature_maps" in str(caught.value)
