"""Module: registration, traversal, state dicts with PyTorch's keys, modes, hooks, repr."""
from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(ember.ones(4))
        self.register_buffer("count", ember.zeros(1, dtype=ember.int64))
        self.register_buffer("scratch", ember.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 3), Block())
        self.heads = nn.ModuleList([nn.Linear(4, 1), nn.Linear(4, 2)])
        self.named = nn.ModuleDict({"extra": nn.Linear(4, 4)})

    def forward(self, x):
        h = self.body(x)
        return [head(h) for head in self.heads]


def torch_net(torch):
    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 4)
            self.scale = torch.nn.Parameter(torch.ones(4))
            self.register_buffer("count", torch.zeros(1, dtype=torch.int64))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(2, 3), TorchBlock())
            self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 1), torch.nn.Linear(4, 2)])
            self.named = torch.nn.ModuleDict({"extra": torch.nn.Linear(4, 4)})

        def forward(self, x):
            block = self.body[1]
            h = block.fc(self.body[0](x)) * block.scale
            return [head(h) for head in self.heads]

    return TorchNet()


def test_state_dict_keys_and_order_match_pytorch(torch):
    ours, theirs = Net(), torch_net(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (name, ours_p), (_, theirs_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert tuple(ours_p.shape) == tuple(theirs_p.shape), name


def test_loading_a_pytorch_state_dict_gives_the_same_outputs(torch):
    ours, theirs = Net(), torch_net(torch)
    state = {k: ember.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    result = ours.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    for a, b in zip(ours(ember.tensor(x)), theirs(torch.tensor(x))):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_and_memory_sharing():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert np.array_equal(pa.numpy(), pb.numpy()), name
    state = a.state_dict()
    assert not state["body.0.weight"].requires_grad
    with ember.no_grad():
        a.body[0].weight.fill_(7.0)
    assert state["body.0.weight"].numpy()[0, 0] == 7.0, "state_dict tensors share memory"


def test_failed_strict_load_changes_nothing():
    model = Net()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad = {k: v.clone() + 1 for k, v in model.state_dict().items()}
    bad["heads.1.weight"] = ember.zeros(5, 4)          # wrong shape
    with pytest.raises(ember.ShapeError, match=r"size mismatch for heads\.1\.weight.*\(5, 4\)"
                                               r".*\(2, 4\)"):
        model.load_state_dict(bad)
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), before[k]), f"{k} changed by a failed load"


def test_missing_and_unexpected_keys():
    model = nn.Linear(2, 2)
    with pytest.raises(ember.ShapeError, match="missing keys: bias"):
        model.load_state_dict({"weight": ember.zeros(2, 2)})
    result = model.load_state_dict({"weight": ember.zeros(2, 2), "extra": ember.ones(1)},
                                   strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert model.weight.abs().sum().item() == 0


def test_registration_replaces_and_deletes():
    block = Block()
    assert "scale" in dict(block.named_parameters())
    block.scale = nn.Parameter(ember.zeros(4))
    assert dict(block.named_parameters())["scale"].sum().item() == 0
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'scale'"):
        block.scale = ember.ones(4)
    block.count = ember.ones(1, dtype=ember.int64)           # buffers take plain tensors
    assert block.state_dict()["count"].item() == 1
    del block.fc
    assert "fc.weight" not in block.state_dict()


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU() if hasattr(nn, "ReLU") else nn.Identity(), shared)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_eval_propagate():
    model = Net()
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError):
        model.train("no")


def test_zero_grad_and_requires_grad():
    model = nn.Linear(3, 1)
    model(ember.randn(4, 3)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.abs().sum().item() == 0
    model.zero_grad()
    assert model.weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_to_dtype_keeps_parameter_objects_and_integer_buffers():
    block = Block()
    weight = block.fc.weight
    block.to(ember.float64)
    assert block.fc.weight is weight and weight.dtype == ember.float64
    assert block.count.dtype == ember.int64
    assert block(ember.randn(2, 3, dtype=ember.float64)).dtype == ember.float64
    block.float()
    assert weight.dtype == ember.float32
    with pytest.raises(TypeError, match="floating-point"):
        block.to(ember.int64)


def test_forward_hooks_see_and_replace():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    pre = layer.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 0,))
    out = layer(ember.ones(3, 2))
    assert seen == [(3, 2)]
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy(),
                                                                     (3, 2)))
    handle.remove()
    pre.remove()
    layer(ember.ones(1, 2))
    assert seen == [(3, 2)]


def test_repr_matches_pytorch(torch):
    ours = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1), nn.Identity()),
                         nn.Flatten())
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3),
                                 torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Identity()),
                                 torch.nn.Flatten())
    assert repr(ours) == repr(theirs)
    assert repr(nn.Linear(2, 3, bias=False)) == repr(torch.nn.Linear(2, 3, bias=False))


def test_linear_default_init_matches_pytorch_distribution():
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = layer.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound
    # U(-b, b) has std b/sqrt(3); 120k samples pin it within about 0.5%
    assert abs(w.std() / (bound / np.sqrt(3)) - 1) < 0.02
    assert abs(w.mean()) < 0.02 * bound
    b = layer.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound and b.std() > 0.4 * bound


def test_linear_matches_pytorch_forward_and_backward(torch):
    ours = nn.Linear(5, 3)
    theirs = torch.nn.Linear(5, 3)
    ours.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((4, 2, 5)).astype(np.float32)
    out, expected = ours(ember.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-5)


def test_linear_shape_error_names_both_sizes():
    with pytest.raises(ember.ShapeError, match=r"linear: input has 3 features .* weight expects 4 "
                                               r"\(weight shape \(2, 4\)\)"):
        nn.Linear(4, 2)(ember.randn(5, 3))


def test_sequential_indexing_and_editing():
    seq = nn.Sequential(nn.Linear(1, 2), nn.Linear(2, 3), nn.Linear(3, 4))
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq[-1].out_features == 4
    del seq[0]
    assert list(seq.state_dict())[0] == "0.weight" and seq[0].in_features == 2
    seq.append(nn.Identity())
    assert len(seq) == 3
    named = nn.Sequential(OrderedDict([("first", nn.Linear(1, 1))]))
    assert list(named.state_dict()) == ["first.weight", "first.bias"]
    with pytest.raises(IndexError):
        seq[7]


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(1, 1)])
    layers.append(nn.Linear(1, 2))
    layers += [nn.Linear(2, 2)]
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    table = nn.ModuleDict()
    table["a"] = nn.Linear(1, 1)
    assert "a" in table and list(table.keys()) == ["a"]
    params = nn.ParameterList([ember.ones(2), nn.Parameter(ember.zeros(3))])
    assert [n for n, _ in params.named_parameters()] == ["0", "1"]


def test_deepcopy_is_independent_but_pickle_is_refused():
    model = Net()
    clone = copy.deepcopy(model)
    with ember.no_grad():
        clone.body[0].weight.fill_(3.0)
    assert model.body[0].weight.detach().numpy()[0, 0] != 3.0
    assert list(clone.state_dict()) == list(model.state_dict())
    with pytest.raises(TypeError, match="safetensors"):
        pickle.dumps(model)


def test_apply_and_submodule_lookup():
    model = Net()
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Net" and visited.count("Linear") == 5
    assert model.get_submodule("body.1.fc").out_features == 4
    assert model.get_parameter("heads.0.bias").shape == (1,)
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        model.get_submodule("body.nope")


def test_missing_attribute_error_names_the_class():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        _ = nn.Linear(1, 1).wieght


def test_attribute_reads_follow_every_change_of_a_parameter_or_buffer():
    """Parameters and buffers are mirrored in the instance dict for fast reads: every way
    of changing them must keep the attribute and the registry the same object."""
    layer = nn.Linear(2, 3)
    new_weight = nn.Parameter(ember.zeros(3, 2))
    layer.weight = new_weight
    assert layer.weight is new_weight is layer._parameters["weight"]
    layer.bias = None
    assert layer.bias is None and layer._parameters["bias"] is None
    layer.register_parameter("bias", nn.Parameter(ember.ones(3)))
    assert layer.bias is layer._parameters["bias"]
    del layer.weight
    assert not hasattr(layer, "weight") and "weight" not in layer._parameters
    layer.register_buffer("scale", ember.ones(3))
    replacement = ember.full((3,), 2.0)
    layer.scale = replacement
    assert layer.scale is replacement is layer._buffers["scale"]
    layer.scale = nn.Parameter(ember.ones(3))          # a buffer becomes a parameter
    assert "scale" not in layer._buffers and layer.scale is layer._parameters["scale"]
    del layer.scale
    assert not hasattr(layer, "scale")
