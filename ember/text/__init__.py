"""Text utilities for sequence models: a character vocabulary, sampling the next token
with a temperature and top-k, and `generate` for one-to-many generation."""
from ember.text.generation import generate
from ember.text.sampling import sample
from ember.text.vocab import CharVocab
