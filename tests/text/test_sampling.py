"""sample(): the draws follow softmax(logits / T), top-k cuts, the seed repeats them, and
bad options give clear errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.text import sample
from tests.conftest import rng_for

DRAWS = 200_000


def softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def frequencies(ids: ember.Tensor, vocab: int) -> np.ndarray:
    return np.bincount(ids.numpy(), minlength=vocab) / ids.shape[0]


def assert_matches(observed: np.ndarray, expected: np.ndarray, draws: int) -> None:
    """Every frequency within 6 binomial standard deviations (plus 1e-4) of its
    probability: a miss has odds below 1e-8 per entry, while a wrong distribution (say,
    a temperature applied the wrong way) is off by hundreds of deviations."""
    sigma = np.sqrt(expected * (1 - expected) / draws)
    np.testing.assert_array_less(np.abs(observed - expected), 6 * sigma + 1e-4)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_draws_follow_the_softmax_of_the_scaled_logits(temperature):
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0], dtype=np.float32)
    ids = sample(ember.tensor(np.tile(logits, (DRAWS, 1))), temperature=temperature)
    assert ids.shape == (DRAWS,) and ids.dtype == ember.int64
    assert_matches(frequencies(ids, 6), softmax(logits / temperature), DRAWS)


def test_top_k_draws_only_the_k_largest_renormalised():
    logits = np.array([0.3, 2.0, -1.0, 1.5, 1.0, 0.0])
    ids = sample(ember.tensor(np.tile(logits, (DRAWS, 1))), top_k=3)
    kept = np.array([1, 3, 4])                           # the three largest scores
    expected = np.zeros(6)
    expected[kept] = softmax(logits[kept])
    observed = frequencies(ids, 6)
    assert set(np.flatnonzero(observed)) == set(kept.tolist())
    assert_matches(observed, expected, DRAWS)


def test_low_temperature_approaches_the_argmax():
    logits = rng_for("low_temperature").normal(size=(500, 20))
    best = logits.argmax(axis=1)
    agreement = [(sample(ember.tensor(logits), temperature=t).numpy() == best).mean()
                 for t in (1.0, 0.3, 0.1, 1e-6)]
    assert agreement[0] < agreement[1] < agreement[2] < agreement[3] == 1.0
    assert agreement[0] < 0.6            # at T = 1 the draw is far from greedy


@pytest.mark.parametrize("temperature", [1.0, 50.0])
def test_top_k_1_is_greedy_at_any_temperature(temperature):
    logits = rng_for("greedy").normal(size=(4, 300, 11)).astype(np.float32)
    ids = sample(ember.tensor(logits), temperature=temperature, top_k=1)
    assert ids.shape == (4, 300)
    np.testing.assert_array_equal(ids.numpy(), logits.argmax(axis=-1))


def test_a_top_k_of_the_vocabulary_or_more_cuts_nothing():
    logits = ember.tensor(rng_for("no_cut").normal(size=(1000, 7)))
    ember.manual_seed(5)
    plain = sample(logits)
    for top_k in (7, 100):
        ember.manual_seed(5)
        assert ember.equal(sample(logits, top_k=top_k), plain)


def test_the_seed_makes_draws_repeatable():
    logits = ember.randn(64, 65)
    ember.manual_seed(7)
    first = sample(logits, temperature=0.8, top_k=10)
    ember.manual_seed(7)
    assert ember.equal(sample(logits, temperature=0.8, top_k=10), first)
    assert not ember.equal(sample(logits, temperature=0.8, top_k=10), first)   # stream moved


def test_a_generator_gives_its_own_stream_and_leaves_the_global_one_alone():
    logits = ember.randn(64, 65)
    state = ember.get_rng_state()
    draws = [sample(logits, generator=ember.Generator().manual_seed(3)) for _ in range(2)]
    assert ember.equal(draws[0], draws[1])
    assert ember.equal(ember.get_rng_state(), state)


def test_extreme_and_infinite_logits():
    """Scores of +-1000 differ by 1 (odds e : 1); a score of -inf is never drawn."""
    logits = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -np.inf, -999.0],
                       [0.0, -np.inf, -np.inf]], dtype=np.float32)
    ids = sample(ember.tensor(np.tile(logits, (DRAWS, 1, 1)))).numpy()
    assert ids.shape == (DRAWS, 3)
    odds = np.exp(1) / (1 + np.exp(1))
    assert_matches(frequencies(ember.tensor(ids[:, 0]), 3), np.array([odds, 0, 1 - odds]),
                   DRAWS)
    assert_matches(frequencies(ember.tensor(ids[:, 1]), 3), np.array([1 - odds, 0, odds]),
                   DRAWS)
    assert (ids[:, 1] != 1).all() and (ids[:, 2] == 0).all()


def test_errors():
    logits = ember.randn(2, 5)
    for temperature in (0, 0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"sample: temperature must be > 0.*got "):
            sample(logits, temperature=temperature)
    with pytest.raises(TypeError, match="sample: temperature must be a number, got str"):
        sample(logits, temperature="hot")
    with pytest.raises(ValueError, match="sample: top_k must be >= 1.*got 0"):
        sample(logits, top_k=0)
    with pytest.raises(TypeError, match="sample: top_k must be an int or None, got float"):
        sample(logits, top_k=2.0)
    with pytest.raises(ember.DTypeError, match="sample: logits must be floating point, got "
                                               "dtype int64"):
        sample(ember.tensor([[1, 2, 3]]))
    with pytest.raises(ember.ShapeError, match=r"sample: logits must have shape \(\*, vocab\)"
                                               r".*got shape \(\)"):
        sample(ember.tensor(1.0))
    with pytest.raises(ember.ShapeError, match=r"got shape \(3, 0\)"):
        sample(ember.zeros(3, 0))
    with pytest.raises(ValueError, match="sample: logits contain NaN"):
        sample(ember.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="a row of logits is all -inf"):
        sample(ember.tensor([[0.0, 1.0], [-np.inf, -np.inf]]))
