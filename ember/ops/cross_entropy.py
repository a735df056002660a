"""Softmax cross-entropy of logits (N, C) against class indices (N,) as one fused primitive:
the common case of `F.cross_entropy` (no class weights, no label smoothing) in a single node
whose backward is softmax minus the one-hot target."""
from __future__ import annotations

from ember.autograd.function import Function
from ember.backend import get_array_module


class SoftmaxCrossEntropy(Function):
    op_name = "cross_entropy"

    def forward(ctx, logits, target, counts, reduction):
        # l_n = log sum_c e^(x_nc) - x_n,y_n, shifted by the row maximum so nothing overflows
        xp = get_array_module(logits)
        rows = xp.arange(logits.shape[0])
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        total = exp.sum(axis=1)
        losses = xp.log(total) - shifted[rows, target]
        if counts is not None:                      # targets equal to ignore_index
            losses *= counts
        exp /= total[:, None]                       # softmax, kept for backward
        ctx.save_for_backward(exp)
        ctx.rows, ctx.target, ctx.counts, ctx.reduction = rows, target, counts, reduction
        if reduction == "none":
            return losses
        loss = losses.sum()
        if reduction == "mean":
            loss = loss / (logits.shape[0] if counts is None else counts.sum())
        return xp.asarray(loss, dtype=logits.dtype)

    def backward(ctx, grad):
        probs, = ctx.saved_tensors
        # dl_n/dx_nc = softmax(x_n)_c - [c == y_n]; the reduction scales each row by
        # dL/dl_n (grad / N for the mean, grad for the sum, grad_n for 'none')
        if ctx.reduction == "none":
            scale = grad[:, None]
        elif ctx.reduction == "mean":
            kept = probs.shape[0] if ctx.counts is None else ctx.counts.sum()
            scale = grad / kept
        else:
            scale = grad
        grad_logits = probs * scale
        if ctx.reduction == "none":
            grad_logits[ctx.rows, ctx.target] -= grad
        else:
            grad_logits[ctx.rows, ctx.target] -= scale
        if ctx.counts is not None:
            grad_logits *= ctx.counts[:, None]
        return grad_logits, None
