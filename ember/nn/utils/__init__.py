"""Utilities for training networks (gradient clipping, ...); `ember.nn.utils.rnn` holds
PackedSequence and the pack/pad functions."""
from ember.nn.utils import rnn
from ember.nn.utils.clip_grad import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
