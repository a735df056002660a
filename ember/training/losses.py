"""The losses `ember.fit` accepts by name, and what a binary loss says about the model's
outputs (logits or probabilities) for the accuracy metric."""
from __future__ import annotations

import ember.nn.functional as F
from ember.nn import BCELoss, BCEWithLogitsLoss

# name -> function in ember.nn.functional; the full names are accepted as well
LOSS_ALIASES = {"mse": "mse_loss", "l1": "l1_loss", "mae": "l1_loss", "huber": "huber_loss",
                "smooth_l1": "smooth_l1_loss", "bce": "binary_cross_entropy",
                "bce_with_logits": "binary_cross_entropy_with_logits", "nll": "nll_loss",
                "kl_div": "kl_div", "cross_entropy": "cross_entropy",
                "binary_cross_entropy": "binary_cross_entropy",
                "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
                "mse_loss": "mse_loss", "l1_loss": "l1_loss", "huber_loss": "huber_loss",
                "smooth_l1_loss": "smooth_l1_loss", "nll_loss": "nll_loss"}


def resolve_loss(loss, op: str = "fit"):
    """A loss callable from a function, a loss Module, or a name (see LOSS_ALIASES).

    Example:
        >>> resolve_loss("mse") is ember.nn.functional.mse_loss
        True
    """
    if isinstance(loss, str):
        if loss not in LOSS_ALIASES:
            raise ValueError(f"{op}: unknown loss {loss!r}; pass a function, a loss module, "
                             f"or one of the names {', '.join(sorted(LOSS_ALIASES))}")
        return getattr(F, LOSS_ALIASES[loss])
    if not callable(loss):
        raise TypeError(f"{op}: loss must be callable as loss(outputs, targets) or the name "
                        f"of a loss, got {type(loss).__name__}")
    return loss


def binary_threshold(loss) -> float | None:
    """The score above which a single-output model predicts class 1, as its loss implies:
    0 for logits (BCE with logits), 0.5 for probabilities (BCE), None if it says nothing."""
    if loss is F.binary_cross_entropy_with_logits or isinstance(loss, BCEWithLogitsLoss):
        return 0.0
    if loss is F.binary_cross_entropy or isinstance(loss, BCELoss):
        return 0.5
    return None
