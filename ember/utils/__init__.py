"""Utilities under PyTorch's names: `ember.utils.data` is `torch.utils.data`."""
from ember.utils import data
