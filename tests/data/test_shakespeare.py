"""Tiny Shakespeare: the vocabulary, the 90/10 split, encode/decode and the windows."""
from __future__ import annotations

import os

import numpy as np
import pytest

import ember
from ember.data.dataloader import DataLoader
from ember.datasets.shakespeare import TinyShakespeare

SHARED = "/work/shared/datasets/tinyshakespeare"
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED),
                                  reason=f"the offline dataset is not at {SHARED}")


def one_sample_at_a_time(samples):
    """default_collate behind another name: the DataLoader then reads sample by sample."""
    return ember.data.default_collate(samples)



@needs_shared
def test_real_file_vocabulary_and_split_sizes():
    train = TinyShakespeare(SHARED, train=True, seq_len=64)
    val = TinyShakespeare(SHARED, train=False, seq_len=64)
    assert train.vocab_size == val.vocab_size == 65
    assert train.chars == val.chars and train.chars[0] == "\n"
    # 1,115,394 characters: 1,003,854 (90%) for training, the remaining 111,540 for val
    assert train.data.shape == (1003854,) and val.data.shape == (111540,)
    assert len(train) == 1003854 - 64 and len(val) == 111540 - 64
    assert train.decode(train.data[:14]) == "First Citizen:"
    with open(os.path.join(SHARED, "input.txt"), encoding="utf-8") as f:
        text = f.read()
    assert val.decode(val.data[:50]) == text[1003854:1003854 + 50]


def write_text(tmp_path, text: str) -> str:
    (tmp_path / "input.txt").write_text(text, encoding="utf-8")
    return str(tmp_path)


def test_encode_decode_round_trip(tmp_path):
    root = write_text(tmp_path, "hello world, hello ember!\n" * 4)
    dataset = TinyShakespeare(root, seq_len=8)
    assert dataset.chars == sorted(set("hello world, hello ember!\n"))
    ids = dataset.encode("hello ember")
    assert ids.dtype == ember.int64
    assert ids.tolist() == [dataset.stoi[c] for c in "hello ember"]
    assert dataset.decode(ids) == "hello ember"
    assert dataset.decode([dataset.stoi["w"]]) == "w"
    with pytest.raises(ValueError, match="character 'z' is not in the vocabulary"):
        dataset.encode("hello z")


def test_windows_are_inputs_and_next_characters(tmp_path):
    text = "abcdefghijklmnopqrstuvwxyz" * 2
    dataset = TinyShakespeare(write_text(tmp_path, text), seq_len=5, split=0.5)
    assert len(dataset) == 26 - 5
    x, y = dataset[2]
    assert x.dtype == y.dtype == ember.int64
    assert dataset.decode(x) == "cdefg" and dataset.decode(y) == "defgh"
    assert dataset.decode(dataset[-1][1]) == text[21:26]
    with pytest.raises(IndexError, match="out of range for 21 windows"):
        dataset[21]
    val = TinyShakespeare(str(tmp_path), train=False, seq_len=5, split=0.5)
    assert val.decode(val[0][0]) == "abcde"


def test_whole_batches_equal_sample_by_sample(tmp_path):
    dataset = TinyShakespeare(write_text(tmp_path, "the quick brown fox jumps " * 10), seq_len=7)
    loader = DataLoader(dataset, batch_size=16, shuffle=True,
                        generator=ember.Generator().manual_seed(0))
    slow = DataLoader(dataset, batch_size=16, shuffle=True,
                      generator=ember.Generator().manual_seed(0),
                      collate_fn=one_sample_at_a_time)
    for (xa, ya), (xb, yb) in zip(loader, slow, strict=True):
        assert xa.shape == (len(xa), 7)
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_errors(tmp_path):
    with pytest.raises(RuntimeError, match="input.txt not found.*download=True"):
        TinyShakespeare(tmp_path)
    root = write_text(tmp_path, "abc")
    with pytest.raises(ValueError, match="too few for windows of seq_len=8"):
        TinyShakespeare(root, seq_len=8)
    with pytest.raises(ValueError, match="split must be between 0 and 1"):
        TinyShakespeare(root, split=1.5)
