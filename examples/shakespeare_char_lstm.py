"""A character-level LSTM language model on Tiny Shakespeare (many-to-many, aligned): at
every position, predict the next character. Target: validation loss <= 1.60 nats/char.

    python examples/shakespeare_char_lstm.py [--steps 5000] [--hidden 256] [--out DIR]

Recipe (char-rnn style): the first 90% of the text for training, the last 10% for
validation; the training text cut into --batch-size parallel streams, read left to right
in windows of --seq-len characters, so row b of one batch continues row b of the batch
before; the LSTM's (h, c) is carried from batch to batch, detached (truncated BPTT), and
reset at each pass over the text. Embedding(65, 64) -> LSTM(64, 256) -> Linear(256, 65),
cross-entropy at every step, Adam lr 2e-3 annealed (cosine) to 2e-4, gradient norm
clipped to 1. Every --eval-every steps: the validation loss over the whole split and a
short sample; the best model and its vocabulary are saved with ember.save to
DIR/model.safetensors, which examples/shakespeare_generate.py reads.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.datasets import TinyShakespeare
from ember.optim.lr_scheduler import CosineAnnealingLR

# the offline datasets live beside the repository, in ../shared/datasets
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                            "shared", "datasets", "tinyshakespeare")


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear: the scores of the next character at every position.

    Follows ember.generate's protocol: model(tokens, state) -> (logits, state).

    Shape: tokens (N, L) int64, state None or (h, c) each (layers, N, hidden) ->
    logits (N, L, vocab), state (h_n, c_n).
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: ember.Tensor, state=None):
        output, state = self.lstm(self.embedding(tokens), state)
        return self.head(self.dropout(output)), state


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="optimizer steps")
    parser.add_argument("--embedding", type=int, default=64, help="embedding size")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--seq-len", type=int, default=100, help="BPTT window (characters)")
    parser.add_argument("--batch-size", type=int, default=64, help="parallel text streams")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--sample-chars", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="stop training after this many minutes (a safety net)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (1 is fastest on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder with input.txt")
    parser.add_argument("--out", default="runs/shakespeare_char_lstm",
                        help="folder for model.safetensors")
    return parser.parse_args(argv)


def text_streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """The text cut into batch_size equal consecutive pieces, one per row: (N, length)."""
    length = len(ids) // batch_size
    return ids[:batch_size * length].reshape(batch_size, length)


def windows(streams: np.ndarray, seq_len: int, keep_last_partial: bool = False):
    """(inputs, targets) windows of seq_len columns, left to right; targets are the inputs
    shifted by one character. Window k + 1 of each row continues window k of that row."""
    last = streams.shape[1] - 1                  # the last column has no next character
    stop = last if keep_last_partial else last - seq_len + 1
    for start in range(0, max(stop, 0), seq_len):
        end = min(start + seq_len, last)
        yield (ember.from_numpy(np.ascontiguousarray(streams[:, start:end])),
               ember.from_numpy(np.ascontiguousarray(streams[:, start + 1:end + 1])))


def detached(state):
    """The carried state cut from the graph: the next backward stops here (truncated BPTT)."""
    return tuple(s.detach() for s in state)


def train_step(model: CharLSTM, optimizer, inputs, targets, state, clip: float):
    """One step of truncated BPTT: forward over the window from the carried state, the
    mean cross-entropy over every position, backward through this window only, clipped
    gradients, an update. Returns the loss and the state to carry, detached."""
    logits, state = model(inputs, state)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), detached(state)


def validation_loss(model: CharLSTM, streams: np.ndarray, seq_len: int) -> float:
    """Mean cross-entropy (nats/char) over every character of the validation streams."""
    model.eval()
    total, count, state = 0.0, 0, None
    with ember.no_grad():
        for inputs, targets in windows(streams, seq_len, keep_last_partial=True):
            logits, state = model(inputs, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                     reduction="sum").item()
            count += targets.numel()
    model.train()
    return total / count


def save_checkpoint(path: str, model: CharLSTM, vocab, args, step: int, val_loss: float):
    """Model weights, vocabulary and sizes in one safetensors file (no pickle)."""
    config = {"embedding": args.embedding, "hidden": args.hidden, "layers": args.layers,
              "dropout": args.dropout}
    ember.save({"model": model.state_dict(), "vocab": vocab.to_dict(), "config": config,
                "step": step, "val_loss": val_loss}, path)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    train = TinyShakespeare(args.data, train=True, seq_len=args.seq_len)
    val = TinyShakespeare(args.data, train=False, seq_len=args.seq_len)
    vocab = train.vocab
    train_streams = text_streams(train.data.numpy(), args.batch_size)
    val_streams = text_streams(val.data.numpy(), args.batch_size)
    ember.manual_seed(args.seed)
    model = CharLSTM(vocab.size, args.embedding, args.hidden, args.layers, args.dropout)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.steps, eta_min=args.lr / 10)
    parameters = sum(p.numel() for p in model.parameters())
    windows_per_pass = (train_streams.shape[1] - 1) // args.seq_len
    print(f"Tiny Shakespeare: {train.data.shape[0]:,} training and {val.data.shape[0]:,} "
          f"validation characters, vocabulary {vocab.size}; Embedding({vocab.size}, "
          f"{args.embedding}) -> LSTM({args.embedding}, {args.hidden}, layers={args.layers}) "
          f"-> Linear({args.hidden}, {vocab.size}) ({parameters:,} parameters); batch "
          f"{args.batch_size} x {args.seq_len} characters ({windows_per_pass} steps per pass); "
          f"Adam lr {args.lr}, clip {args.clip}, {args.steps} steps")

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "model.safetensors")
    history, best, step, passes, sample_text = [], float("inf"), 0, 0, ""
    train_losses: list[float] = []
    start = time.perf_counter()
    train_seconds = 0.0                              # the steps alone, without evaluation
    out_of_time = False
    while step < args.steps and not out_of_time:
        state, passes = None, passes + 1                # each pass starts from zero state
        for inputs, targets in windows(train_streams, args.seq_len):
            step_start = time.perf_counter()
            loss, state = train_step(model, optimizer, inputs, targets, state, args.clip)
            scheduler.step()
            train_losses.append(loss)
            step += 1
            train_seconds += time.perf_counter() - step_start
            elapsed = time.perf_counter() - start
            out_of_time = args.time_limit is not None and elapsed > 60 * args.time_limit
            if step % args.eval_every == 0 or step == args.steps or out_of_time:
                val_loss = validation_loss(model, val_streams, args.seq_len)
                train_loss = float(np.mean(train_losses[-args.eval_every:]))
                history.append({"step": step, "train_loss": train_loss, "val_loss": val_loss,
                                "seconds": elapsed})
                if val_loss < best:
                    best = val_loss
                    save_checkpoint(checkpoint, model, vocab, args, step, val_loss)
                print(f"step {step:6d}  pass {passes:3d}  train loss {train_loss:.4f}  "
                      f"val loss {val_loss:.4f}  {1000 * train_seconds / step:6.1f} ms/step  "
                      f"{elapsed / 60:6.1f} min", flush=True)
                sample_text = vocab.decode(ember.generate(model, vocab.encode("\n"),
                                                          args.sample_chars, temperature=0.8))
                print("    " + sample_text.strip().replace("\n", "\n    "), flush=True)
            if step >= args.steps or out_of_time:
                break
    seconds = time.perf_counter() - start
    print(f"best validation loss {best:.4f} nats/char (target <= 1.60); {step} steps in "
          f"{seconds / 60:.1f} min wall ({1000 * train_seconds / step:.0f} ms per training "
          f"step); checkpoint: {checkpoint}")
    return {"val_loss": history[-1]["val_loss"], "best_val_loss": best, "steps": step,
            "seconds": seconds, "train_seconds": train_seconds, "history": history,
            "sample": sample_text, "checkpoint": checkpoint}


if __name__ == "__main__":
    main()
