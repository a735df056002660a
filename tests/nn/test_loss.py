"""The loss modules: repr, attributes, buffers and state_dict equal to PyTorch's, and the
same output as PyTorch's module (the functional losses are tested in test_losses.py)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn import loss as loss_modules
from tests.conftest import rng_for
from tests.nn.test_losses import (
    CLASS_WEIGHT,
    COLUMN_WEIGHT,
    ROW_WEIGHT,
    SPECS,
    as_tensors,
    class_indices,
)

MODULE_CASES = [  # (class, constructor arguments, the spec whose inputs it takes)
    ("MSELoss", {}, "mse_loss"),
    ("L1Loss", {"reduction": "sum"}, "l1_loss"),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"}, "huber_loss"),
    ("SmoothL1Loss", {"beta": 0.3}, "smooth_l1_loss"),
    ("BCELoss", {}, "binary_cross_entropy"),
    ("BCELoss", {"weight": COLUMN_WEIGHT}, "binary_cross_entropy"),
    ("BCEWithLogitsLoss", {"pos_weight": COLUMN_WEIGHT}, "bce_with_logits"),
    ("BCEWithLogitsLoss", {"weight": ROW_WEIGHT, "pos_weight": COLUMN_WEIGHT,
                           "reduction": "sum"}, "bce_with_logits"),
    ("CrossEntropyLoss", {}, "cross_entropy"),
    ("CrossEntropyLoss", {"weight": CLASS_WEIGHT, "ignore_index": 1, "label_smoothing": 0.1},
     "cross_entropy_ignore_class"),
    ("NLLLoss", {"weight": CLASS_WEIGHT, "reduction": "none"}, "nll_loss"),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, "gaussian_nll"),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, "kl_div_log_target"),
]
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


@pytest.mark.torch
@pytest.mark.parametrize("name, arguments, spec_name", MODULE_CASES,
                         ids=[f"{c[0]}-{'+'.join(c[1]) or 'default'}" for c in MODULE_CASES])
def test_module_matches_pytorch(name, arguments, spec_name, torch):
    ours = getattr(loss_modules, name)(**as_tensors(ember, [], arguments, "float64")[1])
    theirs = getattr(torch.nn, name)(**as_tensors(torch, [], arguments, "float64")[1])
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == []
    for attribute, value in vars(theirs).items():
        if not attribute.startswith("_"):
            assert getattr(ours, attribute) == value, attribute
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key in theirs_state:
        np.testing.assert_array_equal(ours_state[key].numpy(), theirs_state[key].numpy())
    spec = SPECS_BY_NAME[spec_name]
    arrays = spec.make(rng_for(spec.name))
    out = ours(*as_tensors(ember, arrays, {}, "float64")[0])
    expected = theirs(*as_tensors(torch, arrays, {}, "float64")[0])
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_weight_buffer_round_trips_through_the_state_dict_and_follows_dtype():
    weight = ember.tensor(CLASS_WEIGHT)
    source = loss_modules.CrossEntropyLoss(weight=weight)
    target = loss_modules.CrossEntropyLoss(weight=ember.ones(5, dtype=ember.float64))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.weight.numpy(), CLASS_WEIGHT)
    assert target.float().weight.dtype == ember.float32
    assert loss_modules.NLLLoss().state_dict() == {}


def test_loss_modules_are_the_same_in_train_and_eval():
    logits, target = class_indices((6, 5), 5)(rng_for("train eval"))
    loss = loss_modules.CrossEntropyLoss(label_smoothing=0.1)
    in_training = loss(ember.tensor(logits), ember.tensor(target)).item()
    assert loss.eval()(ember.tensor(logits), ember.tensor(target)).item() == in_training


def test_public_names_and_a_training_step_written_as_for_pytorch():
    import ember.nn.functional as F
    from ember import nn
    from ember.nn.functional import classification_losses
    assert F.cross_entropy is classification_losses.cross_entropy
    assert nn.CrossEntropyLoss is loss_modules.CrossEntropyLoss
    for name in ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
                 "gaussian_nll_loss", "kl_div"]:
        assert callable(getattr(F, name)), name
    model = nn.Linear(5, 3)
    x, y = ember.randn(8, 5), ember.randint(0, 3, (8,))
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    assert model.weight.grad.shape == (3, 5) and np.isfinite(model.weight.grad.numpy()).all()
