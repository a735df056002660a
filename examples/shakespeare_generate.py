"""Generating Shakespeare (one-to-many): one character in, hundreds out, from the LSTM that
examples/shakespeare_char_lstm.py trained, with ember.generate.

    python examples/shakespeare_generate.py [--prompt T] [--length 500] [--temperature 0.8]
        [--top-k K] [--samples 1] [--checkpoint runs/shakespeare_char_lstm/model.safetensors]

The checkpoint (safetensors, no pickle) holds the weights, the character vocabulary and the
model's sizes. The model reads the prompt, then each sampled character is fed back in
while the LSTM's (h, c) carries the context: one LSTM step per character. A temperature
below 1 makes the text safer and more repetitive, above 1 wilder; --top-k keeps only the
k most likely characters at each step. --samples draws several texts at once, as a batch.
"""
from __future__ import annotations

import argparse
import time

from shakespeare_char_lstm import CharLSTM

import ember
from ember.text import CharVocab


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="runs/shakespeare_char_lstm/model.safetensors")
    parser.add_argument("--prompt", default="T", help="text to start from (one character is "
                                                       "enough)")
    parser.add_argument("--length", type=int, default=500, help="characters to generate")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--samples", type=int, default=1, help="texts drawn at once")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def load_model(path: str) -> tuple[CharLSTM, CharVocab, dict]:
    """The trained model, its vocabulary and the rest of the checkpoint."""
    checkpoint = ember.load(path)
    vocab = CharVocab.from_dict(checkpoint["vocab"])
    config = checkpoint["config"]
    model = CharLSTM(vocab.size, config["embedding"], config["hidden"], config["layers"],
                     config["dropout"])
    model.load_state_dict(checkpoint["model"])
    return model, vocab, checkpoint


def main(argv=None) -> dict:
    args = parse_args(argv)
    model, vocab, checkpoint = load_model(args.checkpoint)
    print(f"{args.checkpoint}: step {checkpoint['step']}, validation loss "
          f"{checkpoint['val_loss']:.4f} nats/char; prompt {args.prompt!r}, temperature "
          f"{args.temperature}, top_k {args.top_k}, seed {args.seed}")
    ember.manual_seed(args.seed)
    prompt = vocab.encode(args.prompt).reshape(1, -1).repeat(args.samples, 1)
    start = time.perf_counter()
    ids = ember.generate(model, prompt, args.length, temperature=args.temperature,
                         top_k=args.top_k)
    seconds = time.perf_counter() - start
    texts = [vocab.decode(row) for row in ids]
    for number, text in enumerate(texts, 1):
        print(f"--- sample {number} ---\n{text}")
    print(f"--- {args.samples} x {args.length} characters in {seconds:.2f} s "
          f"({1000 * seconds / args.length:.1f} ms per step of the batch)")
    return {"texts": texts, "seconds": seconds}


if __name__ == "__main__":
    main()
