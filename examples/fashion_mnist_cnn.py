"""A small VGG-style CNN with batch norm and dropout on Fashion-MNIST: above 91% test
accuracy.

    python examples/fashion_mnist_cnn.py [--epochs 6] [--threads 1] [--data DIR] [--out DIR]

Recipe: ember.models.SmallVGG with two blocks of (Conv 3x3 - BatchNorm - ReLU) x 2 - MaxPool 2
(16 then 32 channels: 28 -> 14 -> 7), then Dropout 0.3 - FC 1568-128 - ReLU - Dropout 0.3 -
FC 128-10; pixels scaled to [0, 1] and normalised with Fashion-MNIST's mean 0.2860 and std
0.3530; Adam, lr 2e-3, halved every 2 epochs (StepLR); mini-batches of 128, shuffled;
cross-entropy; 6 epochs on all 60,000 training images, the 10,000 test images used once,
at the end. Prints the time of each epoch and writes history.png, filters.png and
feature_maps.png to --out.
"""
from __future__ import annotations

import argparse
import os

import ember
from ember.datasets import FashionMNIST
from ember.models import SmallVGG
from ember.optim.lr_scheduler import StepLR
from ember.training import EpochTimer
from ember.utils.data import DataLoader, TensorDataset
from ember.viz import plot_feature_maps, plot_filters, plot_history

FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
# the offline datasets live beside the repository, in ../shared/datasets
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                            "shared", "datasets", "fashion-mnist")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--lr-step", type=int, default=2, help="epochs between halvings")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 32],
                        help="channels of each block")
    parser.add_argument("--hidden", type=int, default=128, help="fully connected width")
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--subset", type=int, default=None,
                        help="train on the first N images only (quick runs)")
    parser.add_argument("--test-subset", type=int, default=None,
                        help="test on the first N test images only (quick runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="folder with Fashion-MNIST's four IDX files (default: "
                             "../shared/datasets/fashion-mnist beside the repository)")
    parser.add_argument("--out", default="runs/fashion_mnist_cnn", help="folder for the plots")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (1 is fastest on a busy machine)")
    return parser.parse_args(argv)


def normalised_images(dataset: FashionMNIST, limit: int | None = None) -> TensorDataset:
    """(N, 1, 28, 28) float32 images with about zero mean and unit std, and the labels."""
    images, labels = dataset.data[:limit], dataset.targets[:limit]
    x = (images.float().reshape(-1, 1, 28, 28) / 255 - FASHION_MEAN) / FASHION_STD
    return TensorDataset(x, labels)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    ember.manual_seed(args.seed)
    train = normalised_images(FashionMNIST(args.data, train=True), args.subset)
    test = normalised_images(FashionMNIST(args.data, train=False), args.test_subset)
    model = SmallVGG((1, 28, 28), 10, channels=args.channels, hidden=args.hidden,
                     dropout=args.dropout)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=args.lr_step, gamma=0.5)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    parameters = sum(p.numel() for p in model.parameters())

    print(f"Fashion-MNIST: {len(train)} training and {len(test)} test images; SmallVGG, "
          f"channels {args.channels}, FC {args.hidden}, dropout {args.dropout} "
          f"({parameters:,} parameters); Adam lr {args.lr}, StepLR (x0.5 every "
          f"{args.lr_step} epochs), batch {args.batch_size}, {args.epochs} epochs, "
          f"seed {args.seed}")
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
    plot_history(history, paths["history"], title="SmallVGG on Fashion-MNIST")
    plot_filters(model, paths["filters"], title="the first layer's 3x3 filters")
    item, label = test[0]
    plot_feature_maps(model, item, "features.2", paths["feature_maps"],
                      title=f"test item 0 (class {label.item()}) after conv-BN-ReLU 1")
    print(f"plots: {', '.join(paths.values())}")
    return {"test_accuracy": results["accuracy"], "epoch_seconds": epoch_seconds,
            "plots": paths}


if __name__ == "__main__":
    main()
