"""`ember.generate`: one-to-many generation with a recurrent language model, feeding each
sampled token back in while the hidden state carries the context."""
from __future__ import annotations

import numpy as np

from ember.creation import from_numpy
from ember.errors import DTypeError, ShapeError
from ember.grad_mode import no_grad
from ember.ops.shape import cat
from ember.random import Generator
from ember.tensor import Tensor
from ember.text.sampling import check_sampling_options, sample


def generate(model, prompt, steps: int, temperature: float = 1.0, top_k: int | None = None,
             generator: Generator | None = None) -> Tensor:
    """Continue `prompt` by `steps` tokens sampled from a recurrent model.

    The model is run over the whole prompt once, then for each new token: sample it from
    the scores at the last position (`ember.text.sample`), feed it back as a sequence of
    length one, and carry the hidden state, so each step costs one time step of the model.
    Runs under `no_grad` with the model in eval mode (dropout off); the model's mode is
    restored afterwards, even if generation fails.

    The model protocol (what `model` must be):

        logits, state = model(tokens, state)

    where `tokens` is an int64 tensor (batch, time), `state` is None on the first call
    and afterwards whatever the previous call returned (e.g. an LSTM's (h, c)), and
    `logits` is (batch, time, vocab): the scores of the next token at every position.

    Args:
        model: a callable (usually an nn.Module) following the protocol above.
        prompt: token ids to start from, (time,) or (batch, time), time >= 1 (a tensor,
            array or list of ints).
        steps: how many tokens to generate (>= 0).
        temperature, top_k, generator: as in `ember.text.sample`.

    Returns: the prompt followed by the generated tokens, int64, (time + steps,) or
    (batch, time + steps) like the prompt.

    Example:
        >>> ids = ember.generate(model, vocab.encode("T"), steps=200, temperature=0.8)
        >>> print(vocab.decode(ids))
    """
    check_sampling_options("generate", temperature, top_k)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"generate: steps must be an integer >= 0, got {steps!r}")
    tokens = _prompt_as_batch(prompt)
    batch = tokens.shape[0]
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        with no_grad():
            logits, state = _run(model, tokens, None, batch)
            generated = [tokens]
            for step in range(steps):
                next_token = sample(logits[:, -1], temperature, top_k, generator)
                generated.append(next_token.reshape(batch, 1))
                if step + 1 < steps:              # the last token needs no scores
                    logits, state = _run(model, generated[-1], state, batch)
    finally:
        if was_training is not None:
            model.train(was_training)
    result = cat(generated, dim=1)
    return result.reshape(-1) if _prompt_is_one_sequence(prompt) else result


def _prompt_is_one_sequence(prompt) -> bool:
    return (prompt.ndim if isinstance(prompt, Tensor) else np.ndim(prompt)) == 1


def _prompt_as_batch(prompt) -> Tensor:
    """The prompt as an int64 (batch, time) tensor, or a clear error."""
    ids = prompt.detach().numpy() if isinstance(prompt, Tensor) else np.asarray(prompt)
    if ids.ndim not in (1, 2) or ids.shape[-1] == 0:
        raise ShapeError(f"generate: the prompt must be token ids of shape (time,) or "
                         f"(batch, time) with time >= 1, got shape {tuple(ids.shape)}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise DTypeError(f"generate: the prompt must hold integer token ids, got dtype "
                         f"{ids.dtype}")
    return from_numpy(np.ascontiguousarray(ids.reshape(-1, ids.shape[-1]), dtype=np.int64))


def _run(model, tokens: Tensor, state, batch: int):
    """One call of the model, checked against the protocol."""
    output = model(tokens, state)
    if not (isinstance(output, tuple) and len(output) == 2):
        raise TypeError(f"generate: the model must return (logits, state), got "
                        f"{type(output).__name__}; see generate's docstring for the protocol")
    logits, state = output
    if not isinstance(logits, Tensor) or logits.ndim != 3 \
            or tuple(logits.shape[:2]) != tuple(tokens.shape):
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ShapeError(f"generate: for tokens of shape {tuple(tokens.shape)} the model "
                         f"returned logits {shape}; expected ({batch}, {tokens.shape[1]}, "
                         "vocab)")
    return logits, state
