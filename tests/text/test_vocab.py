"""CharVocab: building, encode/decode, saving as plain data, and its errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import ember
from ember.datasets import TinyShakespeare
from ember.text import CharVocab


def test_from_text_is_the_sorted_set_of_characters():
    vocab = CharVocab.from_text("hello world\n")
    assert vocab.chars == ["\n", " ", "d", "e", "h", "l", "o", "r", "w"]
    assert vocab.size == len(vocab) == 9
    assert vocab.stoi == {ch: i for i, ch in enumerate(vocab.chars)}
    assert vocab.itos == dict(enumerate(vocab.chars))


def test_encode_decode_round_trip_including_non_ascii():
    text = "Ça va? 😀 ok\n¡sí!"
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    assert ids.dtype == ember.int64 and ids.shape == (len(text),)
    assert ids.tolist() == [vocab.stoi[ch] for ch in text]
    assert vocab.decode(ids) == text
    assert vocab.decode(ids.numpy().reshape(2, -1)) == text        # flattened
    assert vocab.decode([]) == "" and vocab.encode("").shape == (0,)


def test_the_order_given_is_the_id_order():
    vocab = CharVocab("zab")
    assert vocab.encode("abz").tolist() == [1, 2, 0]
    assert vocab.decode(np.array([0, 0, 2], dtype=np.int32)) == "zzb"


def test_saved_as_json_and_with_ember_save(tmp_path):
    vocab = CharVocab.from_text("To be, or not to be:\nthat is the question.")
    data = json.loads(json.dumps(vocab.to_dict()))
    assert data == {"chars": vocab.chars}
    assert CharVocab.from_dict(data) == vocab
    path = tmp_path / "checkpoint.safetensors"
    ember.save({"weight": ember.ones(2, 3), "vocab": vocab.to_dict()}, path)
    loaded = ember.load(path)
    assert CharVocab.from_dict(loaded["vocab"]) == vocab
    assert CharVocab.from_dict(loaded["vocab"]).decode(vocab.encode("not")) == "not"
    assert vocab != CharVocab("ab")


def test_tiny_shakespeare_uses_a_char_vocab(tmp_path):
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 3
    (tmp_path / "input.txt").write_text(text, encoding="utf-8")
    dataset = TinyShakespeare(tmp_path, seq_len=8)
    assert isinstance(dataset.vocab, CharVocab)
    assert dataset.vocab == CharVocab.from_text(text)
    assert dataset.chars == dataset.vocab.chars and dataset.stoi == dataset.vocab.stoi
    assert dataset.decode(dataset.encode("Citizen")) == "Citizen"


def test_errors():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match=r"encode: character 'z' is not in the vocabulary "
                                         r"of 3 characters"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="character '😀' is not in the vocabulary"):
        vocab.encode("a😀")                       # a code point beyond the lookup table
    with pytest.raises(IndexError, match="decode: id 3 is out of range for a vocabulary of 3"):
        vocab.decode([0, 3])
    with pytest.raises(IndexError, match="decode: id -1 is out of range"):
        vocab.decode([-1])
    with pytest.raises(TypeError, match="decode: ids must be integers, got dtype float"):
        vocab.decode(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="'a' appears more than once"):
        CharVocab("aba")
    with pytest.raises(TypeError, match="one-character string, got 'ab'"):
        CharVocab(["ab", "c"])
    with pytest.raises(ValueError, match="the vocabulary is empty"):
        CharVocab("")
    with pytest.raises(ValueError, match="from_dict: expected a dict with a 'chars' entry"):
        CharVocab.from_dict(["a", "b"])
