"""Small models, data and a hand-written training loop that the fit tests compare with."""
from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader


def spirals(n: int = 90):
    return ember.datasets.spirals(n, classes=3)


def mlp(seed: int, dropout: float = 0.0, hidden: int = 16, classes: int = 3):
    """A 2 -> hidden -> classes MLP, initialised after seeding ember with `seed`."""
    ember.manual_seed(seed)
    layers = [nn.Linear(2, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, classes))
    return nn.Sequential(*layers)


def weights(model) -> dict:
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def hand_loop(model, optimizer, loader, epochs: int, loss_fn=F.cross_entropy, val_loader=None,
              scheduler=None, per_batch: bool = False, clip: float | None = None) -> dict:
    """The loop a PyTorch user writes, logging what fit logs (mean loss weighted by batch
    size, accuracy from the argmax, the lr of the last step, validation in eval mode)."""
    history = {"loss": [], "accuracy": [], "lr": []}
    for _ in range(epochs):
        model.train()
        total, count, correct = 0.0, 0, 0
        for inputs, targets in loader:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            if per_batch:
                scheduler.step()
            n = targets.shape[0]
            total, count = total + loss.item() * n, count + n
            correct += int((outputs.detach().numpy().argmax(1) == targets.numpy()).sum())
        history["loss"].append(total / count)
        history["accuracy"].append(correct / count)
        history["lr"].append(lr)
        if val_loader is not None:
            model.eval()
            total, count, correct = 0.0, 0, 0
            with ember.no_grad():
                for inputs, targets in val_loader:
                    outputs = model(inputs)
                    n = targets.shape[0]
                    total, count = total + loss_fn(outputs, targets).item() * n, count + n
                    correct += int((outputs.numpy().argmax(1) == targets.numpy()).sum())
            history.setdefault("val_loss", []).append(total / count)
            history.setdefault("val_accuracy", []).append(correct / count)
        if scheduler is not None and not per_batch:
            scheduler.step()
    return history


def shuffled_loader(dataset, batch_size: int = 16, generator=None) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
