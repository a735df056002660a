"""Utilities for training networks (gradient clipping, ...)."""
from ember.nn.utils.clip_grad import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
