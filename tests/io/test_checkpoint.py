"""ember.save / ember.load: every value type and nesting round trips exactly, flat state
dicts are plain safetensors files, and PyTorch reads ember's files and ember PyTorch's."""
from __future__ import annotations

import io
import math
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.io.checkpoint import load, save
from tests.conftest import rng_for

pytestmark = pytest.mark.usefixtures("safetensors")

DTYPES = [ember.float16, ember.float32, ember.float64, ember.uint8, ember.int8, ember.int16,
          ember.int32, ember.int64, ember.bool]
SHAPES = [(), (0,), (3,), (2, 0, 4), (2, 3, 4)]


def random_array(name: str, shape, dtype) -> np.ndarray:
    rng = rng_for(name)
    if dtype.is_floating_point:
        values = rng.standard_normal(shape) * 100
    elif dtype.numpy == np.bool_:
        values = rng.random(shape) < 0.5
    else:
        info = np.iinfo(dtype.numpy)
        values = rng.integers(info.min, info.max, shape, dtype=dtype.numpy, endpoint=True)
    return np.asarray(values, dtype=dtype.numpy)


def assert_same_tensor(loaded, original) -> None:
    """Same type, dtype, shape and bytes (so -0.0 and NaN payloads count too)."""
    assert isinstance(loaded, ember.Tensor)
    assert loaded.dtype == original.dtype and loaded.shape == original.shape
    assert loaded.numpy().tobytes() == original.detach().numpy().tobytes()


def assert_same(loaded, original) -> None:
    """Recursive equality that also checks types (1 vs 1.0 vs True, list vs tuple)."""
    assert type(loaded) is type(original), (loaded, original)
    if isinstance(original, ember.Tensor):
        assert_same_tensor(loaded, original)
    elif isinstance(original, np.ndarray):
        assert loaded.dtype == original.dtype and loaded.tobytes() == original.tobytes()
    elif isinstance(original, dict):
        assert list(loaded) == list(original)
        assert [type(k) for k in loaded] == [type(k) for k in original]
        for key in original:
            assert_same(loaded[key], original[key])
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original)
        for a, b in zip(loaded, original):
            assert_same(a, b)
    elif isinstance(original, (float, np.floating)) and math.isnan(original):
        assert math.isnan(loaded)
    else:
        assert loaded == original and repr(loaded) == repr(original)


def round_trip(obj, tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    save(obj, path)
    return load(path)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tensor_of_every_dtype_and_shape_round_trips_bitwise(dtype, shape, tmp_path):
    tensor = ember.from_numpy(random_array(f"{dtype}{shape}", shape, dtype))
    assert_same_tensor(round_trip({"x": tensor}, tmp_path)["x"], tensor)
    assert_same_tensor(round_trip(tensor, tmp_path), tensor)


def test_special_float_values_round_trip_bitwise(tmp_path):
    values = ember.tensor([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38])
    assert_same_tensor(round_trip({"v": values}, tmp_path)["v"], values)


def test_every_value_type_and_nesting_round_trips(tmp_path):
    obj = {
        "weights": ember.randn(3, 2),
        "nested": {"deeper": {"ids": ember.tensor([1, 2, 3]), "mask": ember.tensor([True])}},
        7: {0: ember.zeros(2, dtype=ember.float64), 1: None},
        "list": [1, 2.0, True, False, None, "text", ember.ones(1)],
        "tuple": (0.9, 0.999),
        "empty": ({}, [], (), ""),
        "floats": [float("inf"), float("-inf"), float("nan"), -0.0, 1e-300, 0.1],
        "big_int": 2 ** 80,
        "numpy_scalars": [np.float32(0.1), np.float64(2.5), np.int64(-7), np.uint8(255),
                          np.bool_(True), np.float16(np.nan)],
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "ordered": OrderedDict([("b", 1), ("a", ember.zeros(1))]),
    }
    assert_same(round_trip(obj, tmp_path), obj)


def test_top_level_list_tuple_and_plain_values_round_trip(tmp_path):
    for obj in ([ember.ones(2), 3], (ember.zeros(1), {"a": 1}), 5, None, "just text", 0.5):
        assert_same(round_trip(obj, tmp_path), obj)


def test_int_and_str_keys_stay_apart(tmp_path):
    obj = {0: ember.ones(1), "0": ember.zeros(1), 1: 1, "1": "one"}
    loaded = round_trip(obj, tmp_path)
    assert_same(loaded, obj)
    assert loaded[0].item() == 1.0 and loaded["0"].item() == 0.0


def test_colliding_dotted_names_keep_both_tensors(tmp_path):
    obj = {"a.b": ember.tensor([1.0]), "a": {"b": ember.tensor([2.0])}}
    assert_same(round_trip(obj, tmp_path), obj)


def test_state_dict_is_stored_under_exactly_its_keys(tmp_path, safetensors):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Linear(4, 2, bias=False))
    state = model.state_dict()
    path = tmp_path / "model.safetensors"
    save(state, path)
    stored = safetensors.numpy.load_file(str(path))
    assert sorted(stored) == sorted(state) == ["0.bias", "0.weight", "1.weight"]
    for key, tensor in state.items():
        assert np.array_equal(stored[key], tensor.numpy())
    loaded = load(path)
    assert type(loaded) is OrderedDict and list(loaded) == list(state)


def test_loaded_state_dict_restores_a_fresh_model(tmp_path):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Linear(4, 2))
    path = tmp_path / "model.safetensors"
    save(model.state_dict(), path)
    ember.manual_seed(123)
    fresh = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Linear(4, 2))
    x = ember.randn(5, 3)
    assert not np.array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())
    fresh.load_state_dict(load(path))
    assert np.array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())


def test_parameters_that_require_grad_save_their_values(tmp_path):
    param = ember.nn.Parameter(ember.randn(2, 2))
    loaded = round_trip({"p": param}, tmp_path)["p"]
    assert_same_tensor(loaded, param)
    assert not loaded.requires_grad


def test_non_contiguous_views_save_their_own_values(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    views = {"transposed": ember.from_numpy(base.T), "strided": ember.from_numpy(base[:, ::-2]),
             "row": ember.from_numpy(base[2]), "column": ember.from_numpy(base[:, 1]),
             "t_method": ember.from_numpy(base).t()}
    loaded = round_trip(views, tmp_path)
    for key, view in views.items():
        assert loaded[key].shape == view.shape
        assert np.array_equal(loaded[key].numpy(), np.asarray(view.numpy())), key


def test_tensors_sharing_memory_load_as_independent_copies(tmp_path):
    weight = ember.randn(3, 3)
    obj = {"encoder": weight, "decoder": weight, "row": weight[0]}
    loaded = round_trip(obj, tmp_path)
    assert_same(loaded, {key: value.detach() for key, value in obj.items()})
    loaded["encoder"].add_(1.0)
    assert np.array_equal(loaded["decoder"].numpy(), weight.numpy())


def test_loaded_tensors_are_writable_and_own_their_memory(tmp_path):
    loaded = round_trip({"a": ember.zeros(3), "b": ember.zeros(3)}, tmp_path)
    loaded["a"].fill_(5.0)
    assert loaded["a"].tolist() == [5.0, 5.0, 5.0] and loaded["b"].tolist() == [0.0] * 3


def test_file_objects_work_like_paths():
    obj = {"w": ember.randn(2), "step": 3}
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    assert_same(load(buffer), obj)


def test_map_location_cpu_and_torch_style_arguments(tmp_path):
    obj = {"w": ember.randn(2)}
    save(obj, tmp_path / "c.safetensors")
    for location in ("cpu", ember.device("cpu"), None):
        loaded = load(tmp_path / "c.safetensors", map_location=location, weights_only=True)
        assert loaded["w"].device == ember.device("cpu")
        assert_same(loaded, obj)


def test_bad_map_location_raises_before_reading(tmp_path):
    with pytest.raises(TypeError, match="map_location must be a device string"):
        load(tmp_path / "does_not_exist.safetensors", map_location=3)
    with pytest.raises(ember.DeviceError, match="unknown device 'tpu'"):
        load(tmp_path / "does_not_exist.safetensors", map_location="tpu")


@pytest.mark.parametrize("bad, message", [
    (ember.nn.Linear(2, 2), r"obj\['model'\], a Linear \(save model.state_dict\(\) instead\)"),
    ({1, 2}, r"obj\['model'\], a set"),
    (lambda: 0, r"obj\['model'\], a function"),
    ({(1, 2): ember.ones(1)}, r"obj\['model'\] has the key \(1, 2\) of type tuple"),
    ({True: 1}, r"has the key True of type bool"),
    (np.array(["a"]), r"obj\['model'\], a ndarray: .*NumPy dtype <U1 are not supported"),
    ([np.uint64(3)], r"obj\['model'\]\[0\], a uint64: .*NumPy dtype uint64"),
])
def test_unsupported_values_raise_naming_where_they_are(bad, message, tmp_path):
    path = tmp_path / "c.safetensors"
    save({"old": 1}, path)
    with pytest.raises((TypeError, ember.DTypeError), match=message):
        save({"model": bad}, path)
    assert load(path) == {"old": 1}


# --- random nesting (hypothesis) ----------------------------------------------------------

leaf_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False),
    st.text(max_size=5),
    st.sampled_from(DTYPES).flatmap(lambda d: st.tuples(
        st.just(d), st.lists(st.integers(0, 3), max_size=3))).map(
        lambda pair: ember.from_numpy(random_array(str(pair), tuple(pair[1]), pair[0]))))
nested_values = st.recursive(leaf_values, lambda children: st.one_of(
    st.lists(children, max_size=4), st.lists(children, max_size=4).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-5, 5)), children,
                    max_size=4)), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(nested_values)
def test_random_nestings_round_trip(obj):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    assert_same(load(buffer), obj)


# --- PyTorch interchange ------------------------------------------------------------------

def test_pytorch_loads_an_ember_state_dict(torch, tmp_path):
    import safetensors.torch

    model = ember.nn.Sequential(ember.nn.Linear(3, 5), ember.nn.Linear(5, 2))
    path = tmp_path / "ember_model.safetensors"
    save(model.state_dict(), path)
    state = safetensors.torch.load_file(str(path))
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))
    torch_model.load_state_dict(state)           # strict: the keys match exactly
    for key, tensor in model.state_dict().items():
        assert torch.equal(state[key], torch.from_numpy(tensor.numpy()))
    x = rng_for("pytorch_loads").standard_normal((4, 3)).astype(np.float32)
    expected = model(ember.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(torch_model(torch.from_numpy(x)).detach().numpy(), expected,
                               rtol=1e-6, atol=1e-6)


def test_ember_loads_a_pytorch_state_dict(torch, tmp_path):
    import safetensors.torch

    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))
    path = tmp_path / "torch_model.safetensors"
    safetensors.torch.save_file(torch_model.state_dict(), str(path))
    state = load(path)
    assert sorted(state) == sorted(torch_model.state_dict())
    model = ember.nn.Sequential(ember.nn.Linear(3, 5), ember.nn.Linear(5, 2))
    model.load_state_dict(state)
    for key, tensor in torch_model.state_dict().items():
        assert np.array_equal(model.state_dict()[key].numpy(), tensor.numpy())
    x = rng_for("ember_loads").standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(model(ember.from_numpy(x)).detach().numpy(),
                               torch_model(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_dtypes_and_shapes_match_pytorch_both_ways(torch, tmp_path):
    import safetensors.torch

    tensors = {f"{dtype}_{len(shape)}d": random_array(f"pt{dtype}{shape}", shape, dtype)
               for dtype in DTYPES for shape in [(), (2, 3), (0, 2)]}
    ember_path, torch_path = tmp_path / "e.safetensors", tmp_path / "t.safetensors"
    save({key: ember.from_numpy(array) for key, array in tensors.items()}, ember_path)
    safetensors.torch.save_file({key: torch.from_numpy(array.copy())
                                 for key, array in tensors.items()}, str(torch_path))
    from_ember = safetensors.torch.load_file(str(ember_path))
    from_torch = load(torch_path)
    for key, array in tensors.items():
        assert from_ember[key].numpy().dtype == array.dtype
        assert from_ember[key].numpy().tobytes() == array.tobytes()
        assert from_torch[key].numpy().dtype == array.dtype
        assert from_torch[key].numpy().tobytes() == array.tobytes()


def test_pytorch_sees_nested_tensors_under_dotted_names(torch, tmp_path):
    import safetensors.torch

    obj = {"model": {"fc.weight": ember.ones(2)}, "optimizer": {"state": {0: {
        "momentum_buffer": ember.zeros(2)}}}, "epoch": 3}
    save(obj, tmp_path / "c.safetensors")
    names = safetensors.torch.load_file(str(tmp_path / "c.safetensors"))
    assert sorted(names) == ["model.fc.weight", "optimizer.state.0.momentum_buffer"]
