"""Loading data: datasets, samplers, the DataLoader and per-sample transforms
(the API of `torch.utils.data`; also importable as `ember.utils.data`)."""
from ember.data import transforms
from ember.data.collate import default_collate, default_convert
from ember.data.dataloader import DataLoader, get_worker_info
from ember.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from ember.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
