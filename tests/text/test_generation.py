"""ember.generate: feeds sampled tokens back with the carried state, equals recomputing the
whole sequence, runs without gradients in eval mode, and checks its inputs first."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.text import generate

VOCAB = 7


class NextToken(nn.Module):
    """Scores that make token (t + 1) mod VOCAB certain after token t; records each call's
    token shape, training flag and grad mode. No state."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def forward(self, tokens, state=None):
        self.calls.append((tuple(tokens.shape), self.training, ember.is_grad_enabled()))
        successor = (tokens + 1) % VOCAB
        return 100.0 * nn.functional.one_hot(successor, VOCAB).float(), state


class RunningSum(nn.Module):
    """The state is the sum of every token seen; the next token is that sum mod VOCAB.
    Only a generator that carries the state gets the sequence right."""

    def forward(self, tokens, state=None):
        sums = tokens.cumsum(dim=1) + (0 if state is None else state)
        return 100.0 * nn.functional.one_hot(sums % VOCAB, VOCAB).float(), sums[:, -1:]


class CharLSTM(nn.Module):
    """The protocol with a real recurrent layer: Embedding -> LSTM -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True, dropout=0.5)
        self.head = nn.Linear(16, VOCAB)

    def forward(self, tokens, state=None):
        output, state = self.lstm(self.embedding(tokens), state)
        return self.head(output), state


def test_each_sampled_token_is_fed_back():
    model = NextToken()
    result = generate(model, ember.tensor([3]), steps=6)
    assert result.tolist() == [3, 4, 5, 6, 0, 1, 2]
    assert result.dtype == ember.int64
    # the prompt once, then one token per step; the last token is not fed back
    assert [shape for shape, _, _ in model.calls] == [(1, 1)] + [(1, 1)] * 5


def test_the_state_is_carried_from_step_to_step():
    result = generate(RunningSum(), [2, 3], steps=4)
    sums, expected = 5, [2, 3]
    for _ in range(4):
        expected.append(sums % VOCAB)
        sums += expected[-1]
    assert result.tolist() == expected          # 2, 3, 5, 3, 6, 5


def test_a_batch_of_prompts_keeps_its_shape():
    model = NextToken()
    result = generate(model, ember.tensor([[1, 2, 3], [6, 6, 6]]), steps=3)
    assert result.tolist() == [[1, 2, 3, 4, 5, 6], [6, 6, 6, 0, 1, 2]]
    assert model.calls[0][0] == (2, 3) and model.calls[1][0] == (2, 1)
    assert generate(model, [[5]], steps=0).tolist() == [[5]]


def test_greedy_generation_equals_recomputing_the_whole_sequence():
    """With the state carried, step by step must equal rerunning the LSTM from scratch on
    the sequence so far (in eval mode, so dropout is off in both)."""
    model = CharLSTM()
    prompt = ember.tensor([[1, 4, 2], [0, 6, 5]])
    result = generate(model, prompt, steps=10, top_k=1)
    model.eval()
    sequence = prompt
    with ember.no_grad():
        for _ in range(10):
            logits, _ = model(sequence)
            sequence = ember.cat([sequence, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    assert ember.equal(result, sequence)


def test_runs_without_gradients_in_eval_mode_and_restores_the_mode():
    model = NextToken()
    assert model.training
    result = generate(model, [0], steps=3)
    assert {(training, grad) for _, training, grad in model.calls} == {(False, False)}
    assert model.training and ember.is_grad_enabled() and not result.requires_grad
    model.eval()
    generate(model, [0], steps=3)
    assert not model.training


def test_the_mode_is_restored_when_the_model_fails():
    class FailsOnThirdCall(NextToken):
        def forward(self, tokens, state=None):
            if len(self.calls) == 2:
                raise RuntimeError("model failure")
            return super().forward(tokens, state)

    model = FailsOnThirdCall()
    with pytest.raises(RuntimeError, match="model failure"):
        generate(model, [0], steps=5)
    assert model.training and ember.is_grad_enabled()


def test_the_seed_makes_generation_repeatable():
    model = CharLSTM()
    prompt = ember.tensor([2])
    ember.manual_seed(11)
    first = generate(model, prompt, steps=40, temperature=1.5)
    ember.manual_seed(11)
    assert ember.equal(generate(model, prompt, steps=40, temperature=1.5), first)
    ember.manual_seed(12)
    assert not ember.equal(generate(model, prompt, steps=40, temperature=1.5), first)
    generator = ember.Generator().manual_seed(11)
    again = generate(model, prompt, steps=40, temperature=1.5, generator=generator)
    assert ember.equal(again, first)       # the same seed on a private generator


def test_works_with_a_plain_function():
    def model(tokens, state):
        return 100.0 * nn.functional.one_hot((tokens + 1) % VOCAB, VOCAB).float(), state
    assert generate(model, np.array([5]), steps=2).tolist() == [5, 6, 0]


def test_errors_come_before_the_model_runs():
    model = NextToken()
    with pytest.raises(ValueError, match="generate: temperature must be > 0"):
        generate(model, [1], steps=3, temperature=0)
    with pytest.raises(ValueError, match="generate: top_k must be >= 1"):
        generate(model, [1], steps=3, top_k=0)
    with pytest.raises(ValueError, match="generate: steps must be an integer >= 0, got -1"):
        generate(model, [1], steps=-1)
    with pytest.raises(ValueError, match="steps must be an integer >= 0, got 2.5"):
        generate(model, [1], steps=2.5)
    with pytest.raises(ember.DTypeError, match="generate: the prompt must hold integer token "
                                               "ids, got dtype float32"):
        generate(model, ember.tensor([1.0]), steps=3)
    with pytest.raises(ember.ShapeError, match=r"shape \(time,\) or \(batch, time\) with "
                                               r"time >= 1, got shape \(0,\)"):
        generate(model, [], steps=3)
    with pytest.raises(ember.ShapeError, match=r"got shape \(1, 1, 1\)"):
        generate(model, [[[1]]], steps=3)
    assert model.calls == [] and model.training


def test_a_model_breaking_the_protocol_gets_a_clear_error():
    with pytest.raises(TypeError, match=r"the model must return \(logits, state\), got Tensor"):
        generate(lambda tokens, state: ember.zeros(1, 1, VOCAB), [1], steps=2)
    with pytest.raises(ember.ShapeError, match=r"for tokens of shape \(1, 2\) the model "
                                               r"returned logits \(1, 7\); expected \(1, 2, "
                                               r"vocab\)"):
        generate(lambda tokens, state: (ember.zeros(1, VOCAB), None), [1, 2], steps=2)
