"""What the MNIST and Fashion-MNIST examples share (not an example itself): where the
offline data lives, normalised image datasets, and the train-then-test run with its report
and plots, so each example shows only its model and recipe."""
from __future__ import annotations

import os

import ember
from ember.training import EpochTimer
from ember.utils.data import DataLoader, TensorDataset
from ember.viz import plot_feature_maps, plot_filters, plot_history


def shared_dataset(name: str) -> str:
    """The folder of an offline dataset: ../shared/datasets/<name> beside the repository."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                        "shared", "datasets", name)


def normalised_images(dataset, mean: float, std: float, shape: tuple,
                      limit: int | None = None) -> TensorDataset:
    """Pixels scaled to [0, 1], then standardised with the dataset's mean and std, each
    image reshaped to `shape` ((784,) for an MLP, (1, 28, 28) for a CNN); the first
    `limit` images only when given."""
    images, labels = dataset.data[:limit], dataset.targets[:limit]
    x = (images.float().reshape(-1, *shape) / 255 - mean) / std
    return TensorDataset(x, labels)


def train_and_test(model, train, test, optimizer, scheduler, args) -> tuple:
    """ember.fit on shuffled mini-batches of args.batch_size for args.epochs, then one
    evaluation on the test set. Prints the result and the time per epoch; returns
    (history, test results, seconds of each epoch)."""
    timer = EpochTimer()
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    history = ember.fit(model, loader, "cross_entropy", optimizer, epochs=args.epochs,
                        scheduler=scheduler, verbose=2, callbacks=[timer])
    results = ember.evaluate(model, test, "cross_entropy", batch_size=1000)
    seconds = timer.seconds
    print(f"test accuracy {results['accuracy']:.2%}, test loss {results['loss']:.4f}; "
          f"{sum(seconds) / len(seconds):.1f} s per epoch on average ({sum(seconds):.0f} s "
          "in all)")
    return history, results, seconds


def plot_cnn(model, history, test, folder: str, name: str, filters_title: str,
             feature_layer: str, feature_title: str) -> dict:
    """history.png, filters.png (the first layer's filters) and feature_maps.png (test
    item 0 after `feature_layer`) in `folder`; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = {kind: os.path.join(folder, f"{kind}.png")
             for kind in ("history", "filters", "feature_maps")}
    plot_history(history, paths["history"], title=name)
    plot_filters(model, paths["filters"], title=filters_title)
    item, label = test[0]
    plot_feature_maps(model, item, feature_layer, paths["feature_maps"],
                      title=feature_title.format(label=label.item()))
    print(f"plots: {', '.join(paths.values())}")
    return paths
