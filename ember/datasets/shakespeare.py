"""Tiny Shakespeare (char-rnn's input.txt) for character-level language modelling:
a character vocabulary, encode/decode, and (input, next characters) windows."""
from __future__ import annotations

import os

import numpy as np

from ember.creation import from_numpy
from ember.data.dataset import Dataset
from ember.datasets.download import download_file
from ember.tensor import Tensor
from ember.text.vocab import CharVocab


class TinyShakespeare(Dataset):
    """Character windows from Tiny Shakespeare: item i is (chars[i : i+seq_len],
    chars[i+1 : i+seq_len+1]) as int64 tensors, the input and the next character at
    every position.

    Args:
        root: folder holding `input.txt` (directly or in `root/tinyshakespeare/`).
        train: the first `split` of the text (True) or the rest (False), by position.
        seq_len: characters per window.
        split: the training fraction (default 0.9, as nanoGPT and char-rnn use).
        transform, target_transform: applied to each input / target window.
        download: fetch `input.txt` from char-rnn's repository (md5-checked) if missing.

    The vocabulary (`.vocab`, an `ember.text.CharVocab`; also `.chars`, `.stoi`, `.itos`)
    is the sorted set of characters in the whole file (65 for the real one), the same for
    both splits. `.data` is the split's encoded text (int64 tensor).

    Example:
        >>> train = TinyShakespeare("data", train=True, seq_len=64)
        >>> x, y = train[0]                       # y is x shifted by one character
        >>> train.decode(x[:14])
        'First Citizen:'
    """

    url = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
           "tinyshakespeare/input.txt")
    md5 = "6fb458f1232090904fb40fe944165e91"

    def __init__(self, root, train: bool = True, seq_len: int = 128, split: float = 0.9,
                 transform=None, target_transform=None, download: bool = False) -> None:
        if not isinstance(seq_len, (int, np.integer)) or seq_len <= 0:
            raise ValueError(f"TinyShakespeare: seq_len must be a positive integer, got "
                             f"{seq_len!r}")
        if not 0 < split < 1:
            raise ValueError(f"TinyShakespeare: split must be between 0 and 1, got {split!r}")
        self.root = os.path.expanduser(os.fspath(root))
        self.train, self.seq_len, self.split = train, int(seq_len), split
        self.transform, self.target_transform = transform, target_transform
        if download and self._find() is None:
            download_file([self.url], os.path.join(self.root, "tinyshakespeare", "input.txt"),
                          self.md5)
        path = self._find()
        if path is None:
            raise RuntimeError(f"TinyShakespeare: input.txt not found in {self.root} or "
                               f"{os.path.join(self.root, 'tinyshakespeare')}; pass "
                               "download=True to fetch it")
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        self.vocab = CharVocab.from_text(text)
        self.chars, self.stoi, self.itos = self.vocab.chars, self.vocab.stoi, self.vocab.itos
        encoded = self.vocab.encode_array(text)
        boundary = int(len(encoded) * split)
        part = encoded[:boundary] if train else encoded[boundary:]
        if len(part) <= self.seq_len:
            raise ValueError(f"TinyShakespeare: the {'train' if train else 'test'} split has "
                             f"{len(part)} characters, too few for windows of seq_len="
                             f"{self.seq_len} (need more than seq_len)")
        self.data = from_numpy(part)

    def _find(self):
        for folder in (self.root, os.path.join(self.root, "tinyshakespeare")):
            path = os.path.join(folder, "input.txt")
            if os.path.isfile(path):
                return path
        return None

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Tensor:
        """The vocabulary indices of `text` as an int64 tensor."""
        return self.vocab.encode(text)

    def decode(self, indices) -> str:
        """The text of a sequence of vocabulary indices (tensor, array or list)."""
        return self.vocab.decode(indices)

    def __len__(self) -> int:
        return self.data.shape[0] - self.seq_len

    def __getitem__(self, index: int):
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"TinyShakespeare: index {index} is out of range for "
                             f"{length} windows")
        start = index % length
        text = self.data.numpy()
        inputs = from_numpy(text[start:start + self.seq_len])
        targets = from_numpy(text[start + 1:start + self.seq_len + 1])
        if self.transform is not None:
            inputs = self.transform(inputs)
        if self.target_transform is not None:
            targets = self.target_transform(targets)
        return inputs, targets

    def get_batch(self, indices: np.ndarray):
        """The windows starting at `indices`, gathered in one step (None with transforms)."""
        if self.transform is not None or self.target_transform is not None:
            return None
        starts = np.where(indices < 0, indices + len(self), indices)
        windows = self.data.numpy()[starts[:, None] + np.arange(self.seq_len + 1)]
        return [from_numpy(np.ascontiguousarray(windows[:, :-1])),
                from_numpy(np.ascontiguousarray(windows[:, 1:]))]
