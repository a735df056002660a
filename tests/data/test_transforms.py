"""Transforms: ToTensor, Normalize, Compose, Lambda, and Standardize fitted on training
data only."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data.transforms import Compose, Lambda, Normalize, Standardize, ToTensor
from ember.errors import DTypeError, ShapeError
from tests.conftest import rng_for


def test_to_tensor_scales_uint8_greyscale_to_chw_floats():
    image = rng_for("gray").integers(0, 256, (5, 4), dtype=np.uint8)
    out = ToTensor()(image)
    assert out.shape == (1, 5, 4) and out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy()[0], image / 255.0, rtol=1e-6)
    assert ToTensor()(np.full((2, 2), 255, np.uint8)).numpy().max() == 1.0
    from_tensor = ToTensor()(ember.tensor(image))          # MNIST gives uint8 tensors
    np.testing.assert_array_equal(from_tensor.numpy(), out.numpy())


def test_to_tensor_moves_channels_first_and_keeps_other_dtypes():
    image = rng_for("rgb").integers(0, 256, (5, 4, 3), dtype=np.uint8)
    out = ToTensor()(image)
    assert out.shape == (3, 5, 4)
    np.testing.assert_allclose(out.numpy(), image.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    floats = rng_for("f").random((5, 4, 3))
    kept = ToTensor()(floats)
    assert kept.dtype == ember.float64
    np.testing.assert_array_equal(kept.numpy(), floats.transpose(2, 0, 1))
    with pytest.raises(ShapeError, match=r"\(H, W\) or \(H, W, C\).*\(2, 3, 4, 5\)"):
        ToTensor()(np.zeros((2, 3, 4, 5), np.uint8))


def test_normalize_per_channel():
    image = ember.tensor(rng_for("norm").random((3, 4, 5)).astype(np.float32))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = Normalize(mean, std)(image)
    expected = (image.numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    batch = ember.stack([image, image])
    np.testing.assert_allclose(Normalize(mean, std)(batch).numpy()[1], expected, rtol=1e-6)


def test_normalize_errors():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        Normalize((0.5,), (0.0,))
    with pytest.raises(DTypeError, match="float tensor.*uint8"):
        Normalize((0.5,), (0.5,))(ember.zeros(1, 2, 2, dtype=ember.uint8))
    with pytest.raises(ShapeError, match=r"\(\.\.\., C, H, W\).*\(2, 2\)"):
        Normalize((0.5,), (0.5,))(ember.zeros(2, 2))
    with pytest.raises(ShapeError, match="mean has 2 values but the image has 3 channels"):
        Normalize((0.5, 0.5), (0.5,))(ember.zeros(3, 2, 2))


def test_compose_and_lambda_apply_in_order():
    pipeline = Compose([ToTensor(), Normalize((0.5,), (0.5,)), Lambda(lambda x: x.reshape(-1))])
    out = pipeline(np.array([[0, 255]], dtype=np.uint8))
    np.testing.assert_allclose(out.numpy(), [-1.0, 1.0])
    assert "ToTensor()" in repr(pipeline) and "Normalize(mean=[0.5], std=[0.5])" in repr(pipeline)
    with pytest.raises(TypeError, match="callable"):
        Lambda(3)


def test_standardize_uses_training_statistics_only():
    rng = rng_for("standardize")
    train = rng.normal(3.0, 2.0, (200, 4)) * np.array([1, 10, 0.1, 5])
    test = rng.normal(-1.0, 0.5, (50, 4))
    scaler = Standardize().fit(train)
    np.testing.assert_allclose(scaler.mean, train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.std, train.std(axis=0), rtol=1e-12)
    standardized = scaler(train)
    np.testing.assert_allclose(standardized.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(standardized.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(scaler(test), (test - train.mean(0)) / train.std(0), rtol=1e-12)
    assert not np.allclose(scaler(test).mean(axis=0), 0, atol=0.1), "test data was refitted"


def test_standardize_per_channel_pools_all_but_the_channel_dimension():
    images = rng_for("channels").normal(0, 1, (10, 3, 4, 5)) * np.array([1, 2, 3])[:, None, None]
    scaler = Standardize(per_channel=True).fit(images)
    assert scaler.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(scaler.mean.ravel(), images.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(scaler.std.ravel(), images.std(axis=(0, 2, 3)), rtol=1e-12)
    one = scaler(images[0])                                  # a single (C, H, W) sample
    np.testing.assert_allclose(one, scaler(images)[0], rtol=1e-12)
    channels_last = Standardize(per_channel=True, channel_dim=-1).fit(images.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(channels_last.mean.ravel(), scaler.mean.ravel(), rtol=1e-12)


def test_standardize_tensors_keep_float32_and_constant_features_are_only_centred():
    train = np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32)
    scaler = Standardize().fit(ember.tensor(train))
    out = scaler(ember.tensor(train))
    assert isinstance(out, ember.Tensor) and out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(scaler.inverse(out).numpy(), train)


def test_standardize_state_dict_round_trip_and_errors():
    train = rng_for("state").normal(size=(30, 3))
    scaler = Standardize().fit(train)
    restored = Standardize()
    restored.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(restored(train), scaler(train))
    assert set(scaler.state_dict()) == {"mean", "std"}
    assert scaler.state_dict()["mean"].dtype == ember.float64
    with pytest.raises(RuntimeError, match="not fitted yet; call fit"):
        Standardize()(train)
    with pytest.raises(ShapeError, match=r"input of shape \(5, 4\).*statistics of shape \(3,\)"):
        scaler(np.zeros((5, 4)))
    with pytest.raises(KeyError, match="std"):
        Standardize().load_state_dict({"mean": ember.zeros(3)})
