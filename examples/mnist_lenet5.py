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

import ember
from ember.datasets import MNIST
from ember.models import LeNet5
from ember.optim.lr_scheduler import StepLR
from image_training import normalised_images, plot_cnn, shared_dataset, train_and_test

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
DEFAULT_DATA = shared_dataset("mnist")


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


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    ember.manual_seed(args.seed)
    images = (MNIST_MEAN, MNIST_STD, (1, 28, 28))
    train = normalised_images(MNIST(args.data, train=True), *images, args.subset)
    test = normalised_images(MNIST(args.data, train=False), *images, args.test_subset)
    model = LeNet5((1, 28, 28), 10)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"MNIST: {len(train)} training and {len(test)} test images; LeNet-5 "
          f"({parameters:,} parameters); Adam lr {args.lr}, StepLR (x0.5 every 3 epochs), "
          f"batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}")
    history, results, epoch_seconds = train_and_test(model, train, test, optimizer,
                                                     scheduler, args)
    paths = plot_cnn(model, history, test, args.out, "LeNet-5 on MNIST",
                     "LeNet-5: the first layer's 5x5 filters", "features.1",
                     "a test digit ({label}) after conv 1 and ReLU")
    return {"test_accuracy": results["accuracy"], "epoch_seconds": epoch_seconds,
            "plots": paths}


if __name__ == "__main__":
    main()
