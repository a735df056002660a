"""CharVocab: a character vocabulary (character <-> integer id) for character-level models,
encoding a whole text in one array lookup and saved as plain JSON-able data."""
from __future__ import annotations

import numpy as np

from ember.creation import from_numpy
from ember.tensor import Tensor


class CharVocab:
    """A vocabulary of characters: id i stands for `chars[i]`.

    Args:
        chars: the characters, in id order, each once (a string or a list of
            one-character strings). `CharVocab.from_text(text)` builds it from a corpus.

    Attributes:
        chars: the characters in id order; `stoi` maps character -> id, `itos` id ->
            character; `size` (also `len(vocab)`) is the number of characters.

    The vocabulary is saved as plain data, `to_dict()` -> {"chars": [...]}, which JSON,
    `ember.save` and `CharVocab.from_dict` read back (no pickle).

    Example:
        >>> vocab = CharVocab.from_text("hello world")
        >>> vocab.chars
        [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        >>> vocab.encode("hello").tolist()
        [3, 2, 4, 4, 5]
        >>> vocab.decode([7, 5, 6, 4, 1])
        'world'
    """

    def __init__(self, chars) -> None:
        chars = list(chars)
        for ch in chars:
            if not isinstance(ch, str) or len(ch) != 1:
                raise TypeError(f"CharVocab: every entry must be a one-character string, "
                                f"got {ch!r}")
        if len(set(chars)) != len(chars):
            repeated = next(ch for ch in chars if chars.count(ch) > 1)
            raise ValueError(f"CharVocab: the character {repeated!r} appears more than once; "
                             "each character needs exactly one id")
        if not chars:
            raise ValueError("CharVocab: the vocabulary is empty; give at least one character")
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}
        self.itos = dict(enumerate(chars))
        # code point -> id (-1 for characters outside the vocabulary): a text encodes in one
        # array lookup instead of a Python loop over its characters
        codes = [ord(ch) for ch in chars]
        self._id_of_code = np.full(max(codes) + 1, -1, dtype=np.int64)
        self._id_of_code[codes] = np.arange(len(chars))
        self._char_array = np.array(chars)

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The sorted set of the characters of `text` (the char-rnn convention)."""
        return cls(sorted(set(text)))

    @classmethod
    def from_dict(cls, data: dict) -> CharVocab:
        """The vocabulary `to_dict()` described."""
        if not isinstance(data, dict) or "chars" not in data:
            raise ValueError(f"CharVocab.from_dict: expected a dict with a 'chars' entry (what "
                             f"to_dict() returns), got {type(data).__name__}")
        return cls(data["chars"])

    def to_dict(self) -> dict:
        """{"chars": [...]}: plain data for JSON or a checkpoint's metadata."""
        return {"chars": list(self.chars)}

    @property
    def size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other) -> bool:
        return isinstance(other, CharVocab) and self.chars == other.chars

    def __repr__(self) -> str:
        shown = "".join(self.chars[:20])
        return f"CharVocab(size={self.size}, chars={shown!r}{'...' if self.size > 20 else ''})"

    def encode_array(self, text: str) -> np.ndarray:
        """The ids of `text` as an int64 NumPy array."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        known = codes < len(self._id_of_code)
        ids = np.where(known, self._id_of_code[np.where(known, codes, 0)], -1)
        if (ids < 0).any():
            unknown = text[int(np.argmax(ids < 0))]
            raise ValueError(f"CharVocab.encode: character {unknown!r} is not in the "
                             f"vocabulary of {self.size} characters")
        return ids

    def encode(self, text: str) -> Tensor:
        """The ids of `text` as an int64 tensor of shape (len(text),)."""
        return from_numpy(self.encode_array(text))

    def decode(self, ids) -> str:
        """The text of a sequence of ids (a tensor, array or list; flattened)."""
        if isinstance(ids, Tensor):
            ids = ids.detach().numpy()
        ids = np.asarray(ids).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"CharVocab.decode: ids must be integers, got dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        bad = (ids < 0) | (ids >= self.size)
        if bad.any():
            raise IndexError(f"CharVocab.decode: id {int(ids[np.argmax(bad)])} is out of range "
                             f"for a vocabulary of {self.size} characters")
        return "".join(self._char_array[ids].tolist())
