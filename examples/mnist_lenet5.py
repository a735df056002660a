"""LeNet-5 on MNIST: above 99% test accuracy, and pictures of what its first layer learned.

    python examples/mnist_lenet5.py [--epochs 10] [--threads 1] [--data DIR] [--out DIR]

Recipe: ember.models.LeNet5 (Conv 6@5x5 pad 2 - ReLU - MaxPool 2 - Conv 16@5x5 - ReLU -
MaxPool 2 - FC 400-120-84-10 with ReLU; 61,706 parameters); pixels scaled to [0, 1] and
normalised with MNIST's mean 0.1307 and std 0.3081; Adam, lr 1e-3, halved every 3 epochs
(StepLR); mini-batches of 128, shuffled; cross-entropy; 10 epochs on all 60,000 training
images, the 10,000 test images used once, at the end. Prints the time of each epoch and
writes to --out: history.png (curves), filters.png (the six learned 5x5 filters) and
feature_maps.png (the first test digit after the first convolution and its ReLU).
"""
from __future__ import annotations

import argparse
import os

import ember
from ember.datasets import MNIST
from ember.models import LeNet5
from ember.optim.lr_scheduler import StepLR
from ember.training import EpochTimer
from ember.utils.data import DataLoader, TensorDataset
from ember.viz import plot_feature_maps, plot_filters, plot_history

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# the offline datasets live beside the repository, in ../shared/datasets
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                            "shared", "datasets", "mnist")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", type=int, default=None,
                        help="train on the first N images only (quick runs)")
    parser.add_argument("--test-subset", type=int, default=None,
                        help="test on the first N test images only (quick runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="folder with MNIST's four IDX files (default: "
                             "../shared/datasets/mnist beside the repository)")
    parser.add_argument("--out", default="runs/mnist_lenet5", help="folder for the plots")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (1 is fastest for these small products on a busy "
                             "machine)")
    return parser.parse_args(argv)


def normalised_images(dataset: MNIST, limit: int | None = None) -> TensorDataset:
    """(N, 1, 28, 28) float32 images with zero mean and unit std over MNIST, and the labels."""
    images, labels = dataset.data[:limit], dataset.targets[:limit]
    x = (images.float().reshape(-1, 1, 28, 28) / 255 - MNIST_MEAN) / MNIST_STD
    return TensorDataset(x, labels)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    ember.manual_seed(args.seed)
    train = normalised_images(MNIST(args.data, train=True), args.subset)
    test = normalised_images(MNIST(args.data, train=False), args.test_subset)
    model = LeNet5((1, 28, 28), 10)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    parameters = sum(p.numel() for p in model.parameters())

    print(f"MNIST: {len(train)} training and {len(test)} test images; LeNet-5 "
          f"({parameters:,} parameters); Adam lr {args.lr}, StepLR (x0.5 every 3 epochs), "
          f"batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}")
    timer = EpochTimer()
    history = ember.fit(model, loader, "cross_entropy", optimizer, epochs=args.epochs,
                        scheduler=scheduler, verbose=2, callbacks=[timer])
    epoch_seconds = timer.seconds
    results = ember.evaluate(model, test, "cross_entropy", batch_size=1000)
    mean_epoch = sum(epoch_seconds) / len(epoch_seconds)
    print(f"test accuracy {results['accuracy']:.2%}, test loss {results['loss']:.4f}; "
          f"{mean_epoch:.1f} s per epoch on average ({sum(epoch_seconds):.0f} s in all)")

    os.makedirs(args.out, exist_ok=True)
    paths = {name: os.path.join(args.out, f"{name}.png")
             for name in ("history", "filters", "feature_maps")}
    plot_history(history, paths["history"], title="LeNet-5 on MNIST")
    plot_filters(model, paths["filters"], title="LeNet-5: the first layer's 5x5 filters")
    digit, label = test[0]
    plot_feature_maps(model, digit, "features.1", paths["feature_maps"],
                      title=f"a test digit ({label.item()}) after conv 1 and ReLU")
    print(f"plots: {', '.join(paths.values())}")
    return {"test_accuracy": results["accuracy"], "epoch_seconds": epoch_seconds,
            "plots": paths}


if __name__ == "__main__":
    main()
