"""A PyTorch training script, unchanged, running on ember: the CNN of pytorch/examples
(mnist/main.py), where the only ember-specific lines are the imports.

    python examples/pytorch_mnist_cnn.py [--epochs 14] [--data ../shared/datasets/mnist]

Swap the block of framework imports below for `import torch`, `import torch.nn as nn`,
... and the same file runs on PyTorch (tests/examples/test_cnn_examples.py does exactly
that). The network is pytorch/examples': Conv2d(1, 32, 3) - ReLU - Conv2d(32, 64, 3) - ReLU -
max_pool2d(2) - Dropout(0.25) - flatten - Linear(9216, 128) - ReLU - Dropout(0.5) -
Linear(128, 10) - log_softmax, trained with nll_loss, Adadelta (lr 1.0) and StepLR (gamma
0.7 every epoch). The MNIST arrays are read from the IDX files with NumPy, outside either
framework, because torchvision is not a dependency. Differences from pytorch/examples:
shuffling on every device, --subset for quick runs, and main() returning the final test
accuracy.
"""
import argparse
import os

import numpy as np

# -- framework imports: the only ember-specific lines ---------------------------------------
import ember as torch
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim
from ember.optim.lr_scheduler import StepLR
from ember.utils.data import DataLoader, TensorDataset
# -- end of framework imports ----------------------------------------------------------------
from ember.datasets import read_idx  # NumPy arrays from MNIST's IDX files (no framework)

# the offline datasets live beside the repository, in ../shared/datasets
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                            'shared', 'datasets', 'mnist')


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(  # noqa: UP032
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return correct / len(test_loader.dataset)


def mnist_dataset(folder, train, limit=None):
    """What torchvision's MNIST with ToTensor() and Normalize((0.1307,), (0.3081,)) gives:
    (N, 1, 28, 28) float images with zero mean and unit std, and int64 labels."""
    prefix = 'train' if train else 't10k'
    images = read_idx(os.path.join(folder, prefix + '-images-idx3-ubyte.gz'), np.uint8, 3)
    labels = read_idx(os.path.join(folder, prefix + '-labels-idx1-ubyte.gz'), np.uint8, 1)
    images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    x = (x - 0.1307) / 0.3081
    y = torch.from_numpy(labels.astype(np.int64))
    return TensorDataset(x, y)


def main(argv=None):
    # Training settings
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
    parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                        help='input batch size for training (default: 64)')
    parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                        help='input batch size for testing (default: 1000)')
    parser.add_argument('--epochs', type=int, default=14, metavar='N',
                        help='number of epochs to train (default: 14)')
    parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                        help='learning rate (default: 1.0)')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                        help='Learning rate step gamma (default: 0.7)')
    parser.add_argument('--no-cuda', action='store_true', default=False,
                        help='disables CUDA training')
    parser.add_argument('--dry-run', action='store_true', default=False,
                        help='quickly check a single pass')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--log-interval', type=int, default=100, metavar='N',
                        help='how many batches to wait before logging training status')
    parser.add_argument('--save-model', action='store_true', default=False,
                        help='For Saving the current Model')
    parser.add_argument('--data', default=DEFAULT_DATA,
                        help="folder with MNIST's four IDX files (default: "
                             "../shared/datasets/mnist beside the repository)")
    parser.add_argument('--subset', type=int, default=None, metavar='N',
                        help='use only the first N training and test images')
    parser.add_argument('--out', default='runs/pytorch_mnist_cnn',
                        help='folder for the saved model')
    args = parser.parse_args(argv)
    use_cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)

    device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {'batch_size': args.batch_size, 'shuffle': True}
    test_kwargs = {'batch_size': args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1,
                       'pin_memory': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    dataset1 = mnist_dataset(args.data, train=True, limit=args.subset)
    dataset2 = mnist_dataset(args.data, train=False, limit=args.subset)
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        accuracy = test(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        os.makedirs(args.out, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(args.out, "mnist_cnn.pt"))
    return accuracy


if __name__ == '__main__':
    main()
