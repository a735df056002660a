"""Smoke tests of the recurrent examples (mnist1d_gru, shakespeare_char_lstm,
shakespeare_generate, seq2seq_addition, vanishing_gradients): each main() at a tiny size,
plus the pieces each lesson rests on. The full runs, and their numbers, are not part of
the test suite."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from tests.examples.conftest import EXAMPLES

TEXT = "to be, or not to be, that is the question.\n" * 60      # 2,640 characters


@pytest.fixture
def tiny_text(tmp_path):
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "input.txt").write_text(TEXT, encoding="utf-8")
    return str(folder)


def tiny_language_model_args(data: str, out: str, steps: int) -> list:
    return ["--steps", str(steps), "--eval-every", str(steps), "--embedding", "8",
            "--hidden", "32", "--seq-len", "16", "--batch-size", "4", "--lr", "1e-2",
            "--sample-chars", "20", "--data", data, "--out", out]


# --- many-to-one: MNIST-1D GRU ----------------------------------------------------------

def test_mnist1d_gru_is_the_papers_model(example, torch):
    """The same state_dict keys as the paper's PyTorch model, and the same scores."""
    module = example("mnist1d_gru")
    model = module.GRUClassifier()
    reference_gru = torch.nn.GRU(1, 6, batch_first=True, bidirectional=True)
    reference_linear = torch.nn.Linear(480, 10)
    expected_keys = [f"rnn.{key}" for key in reference_gru.state_dict()] + \
        ["linear.weight", "linear.bias"]
    assert list(model.state_dict()) == expected_keys
    assert sum(p.numel() for p in model.parameters()) == 5134
    state = {key: torch.from_numpy(value.numpy()) for key, value in model.state_dict().items()}
    reference_gru.load_state_dict({key[4:]: v for key, v in state.items() if key[:4] == "rnn."})
    reference_linear.load_state_dict({"weight": state["linear.weight"],
                                      "bias": state["linear.bias"]})
    x = np.random.default_rng(0).normal(size=(5, 40)).astype(np.float32)
    outputs, _ = reference_gru(torch.from_numpy(x).reshape(5, 40, 1))     # the paper's forward
    expected = reference_linear(outputs.reshape(5, -1)).detach().numpy()
    np.testing.assert_allclose(model(ember.tensor(x)).detach().numpy(), expected, atol=1e-5)


def test_mnist1d_gru_learns(example, mnist1d_cache, capsys):
    results = example("mnist1d_gru").main(
        ["--steps", "60", "--eval-every", "30", "--data", mnist1d_cache])
    assert results["test_accuracy"] > 0.2              # chance is 0.1; the full run: ~0.9
    assert "step    30" in capsys.readouterr().out


# --- many-to-many, aligned: the character-level LSTM ------------------------------------

def test_windows_continue_each_stream(example):
    module = example("shakespeare_char_lstm")
    streams = module.text_streams(np.arange(103), batch_size=4)       # 3 characters dropped
    assert streams.shape == (4, 25) and streams[1, 0] == 25
    full = list(module.windows(streams, seq_len=10))
    assert [tuple(x.shape) for x, _ in full] == [(4, 10), (4, 10)]   # only whole windows
    partial = list(module.windows(streams, seq_len=10, keep_last_partial=True))
    inputs = np.concatenate([x.numpy() for x, _ in partial], axis=1)
    targets = np.concatenate([y.numpy() for _, y in partial], axis=1)
    np.testing.assert_array_equal(inputs, streams[:, :-1])            # every character once
    np.testing.assert_array_equal(targets, streams[:, 1:])            # and its successor


def test_carrying_the_state_equals_reading_the_whole_stream(example):
    """Truncated BPTT changes the gradient, not the forward: window after window with the
    state carried gives the scores of one pass over the whole stream."""
    module = example("shakespeare_char_lstm")
    model = module.CharLSTM(vocab_size=11, embedding_dim=4, hidden_size=8, num_layers=2)
    streams = np.random.default_rng(1).integers(0, 11, size=(3, 31))
    whole, _ = model(ember.tensor(streams[:, :-1]))
    state, pieces = None, []
    for inputs, _ in module.windows(streams, seq_len=7, keep_last_partial=True):
        logits, state = model(inputs, state)
        state = module.detached(state)
        assert not state[0].requires_grad
        pieces.append(logits)
    np.testing.assert_allclose(ember.cat(pieces, dim=1).detach().numpy(),
                               whole.detach().numpy(), atol=1e-6)


def test_char_lstm_learns_and_saves_a_checkpoint(example, tiny_text, tmp_path):
    results = example("shakespeare_char_lstm").main(
        tiny_language_model_args(tiny_text, str(tmp_path), steps=60))
    uniform = math.log(len(set(TEXT)))                 # 2.94 nats: a model that knows nothing
    assert results["best_val_loss"] < 0.6 * uniform
    assert results["steps"] == 60 and len(results["sample"]) == 21
    checkpoint = ember.load(tmp_path / "model.safetensors")
    assert checkpoint["vocab"]["chars"] == sorted(set(TEXT))
    assert checkpoint["val_loss"] == pytest.approx(results["best_val_loss"])
    assert "lstm.weight_hh_l0" in checkpoint["model"]


# --- one-to-many: generating from the checkpoint ----------------------------------------

def test_generate_reads_the_checkpoint(example, tiny_text, tmp_path, monkeypatch):
    trained = example("shakespeare_char_lstm").main(
        tiny_language_model_args(tiny_text, str(tmp_path), steps=40))
    monkeypatch.syspath_prepend(str(EXAMPLES))          # it imports CharLSTM from beside it
    module = example("shakespeare_generate")
    path = str(tmp_path / "model.safetensors")
    model, vocab, _ = module.load_model(path)
    assert vocab.chars == sorted(set(TEXT))
    assert trained["checkpoint"] == path
    results = module.main(["--checkpoint", path, "--prompt", "t", "--length", "30",
                           "--samples", "2", "--top-k", "3", "--temperature", "0.5"])
    assert [len(text) for text in results["texts"]] == [31, 31]
    assert all(text[0] == "t" and set(text) <= set(TEXT) for text in results["texts"])
    again = module.main(["--checkpoint", path, "--prompt", "t", "--length", "30",
                         "--samples", "2", "--top-k", "3", "--temperature", "0.5"])
    assert again["texts"] == results["texts"]                        # --seed repeats it


# --- many-to-many, encoder-decoder: addition --------------------------------------------

def test_addition_problems_are_held_out_and_encoded(example):
    module = example("seq2seq_addition")
    train, test = module.addition_problems(2000, 500)
    assert train.shape == (2000, 2) and test.shape == (500, 2)
    assert train.min() >= 0 and train.max() <= 999
    seen = set(map(tuple, train.tolist()))
    assert not seen & set(map(tuple, test.tolist()))
    assert len(seen) == 2000
    pairs = np.array([[123, 45], [999, 999]])
    questions, decoder_inputs, targets = module.as_tensors(pairs)
    decode = module.VOCAB.decode
    assert decode(questions[0]) == " 54+321" and decode(questions[1]) == "999+999"
    assert decode(module.as_tensors(pairs, reverse=False)[0][0]) == " 123+45"
    assert decode(decoder_inputs[0]) == "^168$" and decode(targets[0]) == "168$ "
    assert decode(decoder_inputs[1]) == "^1998" and decode(targets[1]) == "1998$"


def test_greedy_decoding_feeds_back_its_own_answer(example):
    """Greedy decoding step by step must agree with teacher forcing on its own output."""
    module = example("seq2seq_addition")
    model = module.Seq2SeqAdder(module.VOCAB.size, embedding_dim=8, hidden_size=16)
    questions, _, _ = module.as_tensors(np.array([[12, 345], [7, 8], [500, 500]]))
    answer = model.greedy_decode(questions)
    start = ember.full((3, 1), module.VOCAB.stoi[module.START], dtype=ember.int64)
    teacher_input = ember.cat([start, answer[:, :-1]], dim=1)
    assert ember.equal(model(questions, teacher_input).argmax(dim=-1), answer)


def test_seq2seq_addition_runs(example, capsys):
    results = example("seq2seq_addition").main(
        ["--steps", "20", "--eval-every", "10", "--train-size", "500", "--test-size", "100",
         "--hidden", "16", "--embedding", "8"])
    assert 0.0 <= results["exact_match"] <= 1.0
    printed = capsys.readouterr().out
    assert "step    10" in printed and "held-out exact match" in printed


# --- vanishing gradients ----------------------------------------------------------------

def test_vanishing_gradients_tanh_rnn_loses_what_an_open_lstm_keeps(example, tmp_path):
    results = example("vanishing_gradients").main(
        ["--steps", "60", "--hidden", "16", "--batch-size", "4", "--out", str(tmp_path)])
    ratios = list(results["ratios"].values())          # tanh RNN, LSTM, opened LSTM
    assert ratios[0] < 1e-8 and ratios[2] > 1e-2
    assert all(len(curve) == 60 for curve in results["curves"].values())
    assert (tmp_path / "vanishing_gradients.png").stat().st_size > 0


def test_hidden_state_gradients_match_pytorch(example, torch):
    """d loss / d h_t at every step, against the same unrolled cells in PyTorch."""
    module = example("vanishing_gradients")
    ember.manual_seed(3)
    inputs = ember.randn(25, 2, 3, dtype=ember.float64)
    readout = ember.nn.Linear(5, 1, dtype=ember.float64)
    cells = [ember.nn.RNNCell(3, 5, dtype=ember.float64),
             module.open_forget_gates(ember.nn.LSTMCell(3, 5, dtype=ember.float64), 2.0)]
    for cell in cells:
        norms = module.hidden_state_gradient_norms(cell, inputs, readout)
        lstm = isinstance(cell, ember.nn.LSTMCell)
        reference = (torch.nn.LSTMCell if lstm else torch.nn.RNNCell)(3, 5).double()
        reference.load_state_dict({k: torch.from_numpy(v.numpy())
                                   for k, v in cell.state_dict().items()})
        head = torch.nn.Linear(5, 1).double()
        head.load_state_dict({k: torch.from_numpy(v.numpy())
                              for k, v in readout.state_dict().items()})
        state, hidden_states = None, []
        for x_t in torch.from_numpy(inputs.numpy()):
            state = reference(x_t, state)
            h_t = state[0] if lstm else state
            h_t.retain_grad()
            hidden_states.append(h_t)
        (head(hidden_states[-1]) ** 2).mean().backward()
        expected = [h.grad.norm().item() for h in hidden_states]
        np.testing.assert_allclose(norms, expected, rtol=1e-10)
