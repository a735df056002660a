"""Sequence to sequence (many-to-many, encoder-decoder): an LSTM encoder reads "123+45",
an LSTM decoder writes "168". Target: >= 95% exact match on held-out problems.

    python examples/seq2seq_addition.py [--steps 3000] [--hidden 128] [--no-reverse]

Problems a+b with a and b of 1 to 3 digits (number of digits drawn uniformly, then the
number); the training and test problems are disjoint. The question is right-aligned in 7
characters and, as in Sutskever et al. (2014) and Keras's addition example, read
reversed ("12+345" is fed as " 543+21"): the encoder then reads a's leading digits last,
just before the decoder has to write the sum's leading digit. It learns several times
faster that way (--no-reverse to compare). The answer is the sum followed by an end mark
"$". The encoder LSTM's final (h, c) starts the decoder LSTM. Training uses teacher
forcing: the decoder reads "^" + the true answer and predicts the answer shifted by one
("^168" -> "168$"), with the padding after "$" ignored by the loss. At test time the
decoder is greedy: it starts from "^", feeds back its own most likely character and stops
at "$". Adam lr 3e-3 annealed (cosine) to 3e-4, batches of 128, gradient norm clipped
to 1.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.optim.lr_scheduler import CosineAnnealingLR
from ember.random import numpy_generator
from ember.text import CharVocab

QUESTION_LENGTH = 7            # "999+999"
ANSWER_LENGTH = 5              # "1998$"
START, END, PAD = "^", "$", " "
VOCAB = CharVocab(PAD + "0123456789+" + START + END)


class Seq2SeqAdder(nn.Module):
    """Embedding -> encoder LSTM; its final state starts the decoder LSTM -> Linear.

    Shape: question (N, 7), decoder input (N, L) -> scores (N, L, vocab).
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 32, hidden_size: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.decoder = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def encode(self, question: ember.Tensor):
        """The encoder's final (h, c): everything the decoder knows about the question."""
        _, state = self.encoder(self.embedding(question))
        return state

    def forward(self, question: ember.Tensor, decoder_input: ember.Tensor) -> ember.Tensor:
        """Teacher forcing: the decoder reads the true previous characters."""
        output, _ = self.decoder(self.embedding(decoder_input), self.encode(question))
        return self.head(output)

    def greedy_decode(self, question: ember.Tensor, length: int = ANSWER_LENGTH):
        """Start from "^" and feed back the most likely character, `length` times."""
        with ember.no_grad():
            state = self.encode(question)
            token = ember.full((question.shape[0], 1), VOCAB.stoi[START], dtype=ember.int64)
            answer = []
            for _ in range(length):
                output, state = self.decoder(self.embedding(token), state)
                token = self.head(output).argmax(dim=-1)         # (N, 1)
                answer.append(token)
            return ember.cat(answer, dim=1)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--test-size", type=int, default=5_000)
    parser.add_argument("--embedding", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--reverse", action=argparse.BooleanOptionalAction, default=True,
                        help="feed the question reversed (default: yes)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def random_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Numbers of 1 to 3 digits, the digit count uniform, then the number uniform."""
    digits = rng.integers(1, 4, size=count)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return low + (rng.random(count) * (10 ** digits - low)).astype(np.int64)


def addition_problems(train_size: int, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs, split into disjoint training and test sets: (N, 2) each."""
    rng = numpy_generator(None)
    pairs = np.stack([random_numbers(rng, 3 * (train_size + test_size)),
                      random_numbers(rng, 3 * (train_size + test_size))], axis=1)
    _, first = np.unique(pairs[:, 0] * 1000 + pairs[:, 1], return_index=True)
    distinct = pairs[np.sort(first)]           # in order of drawing
    if len(distinct) < train_size + test_size:
        raise ValueError(f"seq2seq_addition: only {len(distinct)} distinct problems drawn, "
                         f"fewer than {train_size + test_size}")
    return distinct[:train_size], distinct[train_size:train_size + test_size]


def encode_strings(strings: list[str], width: int) -> ember.Tensor:
    """(N, width) ids; every string already has `width` characters."""
    return VOCAB.encode("".join(strings)).reshape(len(strings), width)


def as_tensors(pairs: np.ndarray, reverse: bool = True):
    """Questions (N, 7), " 54+321" for 123+45 (reversed) or " 123+45"; decoder inputs
    "^168$" and targets "168$ " (N, 5)."""
    questions = [f"{a}+{b}"[::-1] if reverse else f"{a}+{b}" for a, b in pairs]
    questions = [question.rjust(QUESTION_LENGTH) for question in questions]
    answers = [f"{a + b}{END}".ljust(ANSWER_LENGTH) for a, b in pairs]
    decoder_inputs = [(START + answer)[:ANSWER_LENGTH] for answer in answers]
    return (encode_strings(questions, QUESTION_LENGTH),
            encode_strings(decoder_inputs, ANSWER_LENGTH),
            encode_strings(answers, ANSWER_LENGTH))


def exact_match(model: Seq2SeqAdder, questions: ember.Tensor, pairs: np.ndarray,
                show: int = 0) -> float:
    """The fraction of questions whose greedy answer (up to "$") is exactly the sum."""
    model.eval()
    decoded = VOCAB.decode(model.greedy_decode(questions))
    model.train()
    answers = [decoded[i:i + ANSWER_LENGTH].split(END)[0]
               for i in range(0, len(decoded), ANSWER_LENGTH)]
    truths = [str(a + b) for a, b in pairs]
    for (a, b), answer in list(zip(pairs, answers))[:show]:
        print(f"    {a}+{b} = {answer}  {'ok' if answer == str(a + b) else 'WRONG'}")
    return float(np.mean([answer == truth for answer, truth in zip(answers, truths)]))


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads is not None:
        ember.set_num_threads(args.threads)
    ember.manual_seed(args.seed)
    train_pairs, test_pairs = addition_problems(args.train_size, args.test_size)
    train_questions, train_inputs, train_targets = as_tensors(train_pairs, args.reverse)
    test_questions, _, _ = as_tensors(test_pairs, args.reverse)
    model = Seq2SeqAdder(VOCAB.size, args.embedding, args.hidden)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.steps, eta_min=args.lr / 10)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"Addition: {len(train_pairs)} training and {len(test_pairs)} held-out problems "
          f"(a, b of 1-3 digits); Embedding({VOCAB.size}, {args.embedding}), encoder and "
          f"decoder LSTM({args.embedding}, {args.hidden}), Linear({args.hidden}, {VOCAB.size}) "
          f"({parameters:,} parameters); Adam lr {args.lr}, batch {args.batch_size}, "
          f"{args.steps} steps, seed {args.seed}; questions "
          f"{'reversed' if args.reverse else 'as written'}")

    shuffle = numpy_generator(None)
    order, position, seconds = shuffle.permutation(len(train_pairs)), 0, 0.0
    for step in range(1, args.steps + 1):
        started = time.perf_counter()
        if position + args.batch_size > len(order):        # a new pass, newly shuffled
            order, position = shuffle.permutation(len(train_pairs)), 0
        batch = ember.from_numpy(order[position:position + args.batch_size])
        position += args.batch_size
        scores = model(train_questions[batch], train_inputs[batch])
        loss = F.cross_entropy(scores.reshape(-1, VOCAB.size), train_targets[batch].reshape(-1),
                               ignore_index=VOCAB.stoi[PAD])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        seconds += time.perf_counter() - started
        if step % args.eval_every == 0 or step == args.steps:
            accuracy = exact_match(model, test_questions, test_pairs)
            print(f"step {step:5d}   loss {loss.item():.4f}   held-out exact match "
                  f"{accuracy:6.1%}   {seconds:6.1f} s", flush=True)
    accuracy = exact_match(model, test_questions, test_pairs, show=8)
    print(f"held-out exact match {accuracy:.2%} (target >= 95%); training took {seconds:.1f} s "
          f"({1000 * seconds / args.steps:.1f} ms/step)")
    return {"exact_match": accuracy, "seconds": seconds}


if __name__ == "__main__":
    main()
