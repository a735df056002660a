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

import ember
from ember.datasets import FashionMNIST
from ember.models import SmallVGG
from ember.optim.lr_scheduler import StepLR
from image_training import normalised_images, plot_cnn, shared_dataset, train_and_test

FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
DEFAULT_DATA = shared_dataset("fashion-mnist")


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


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    ember.manual_seed(args.seed)
    images = (FASHION_MEAN, FASHION_STD, (1, 28, 28))
    train = normalised_images(FashionMNIST(args.data, train=True), *images, args.subset)
    test = normalised_images(FashionMNIST(args.data, train=False), *images, args.test_subset)
    model = SmallVGG((1, 28, 28), 10, channels=args.channels, hidden=args.hidden,
                     dropout=args.dropout)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=args.lr_step, gamma=0.5)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"Fashion-MNIST: {len(train)} training and {len(test)} test images; SmallVGG, "
          f"channels {args.channels}, FC {args.hidden}, dropout {args.dropout} "
          f"({parameters:,} parameters); Adam lr {args.lr}, StepLR (x0.5 every "
          f"{args.lr_step} epochs), batch {args.batch_size}, {args.epochs} epochs, "
          f"seed {args.seed}")
    history, results, epoch_seconds = train_and_test(model, train, test, optimizer,
                                                     scheduler, args)
    paths = plot_cnn(model, history, test, args.out, "SmallVGG on Fashion-MNIST",
                     "the first layer's 3x3 filters", "features.2",
                     "test item 0 (class {label}) after conv-BN-ReLU 1")
    return {"test_accuracy": results["accuracy"], "epoch_seconds": epoch_seconds,
            "plots": paths}


if __name__ == "__main__":
    main()
