"""Differentiable primitives (one Function class each, forward and backward on raw arrays)
and the functions that apply them to tensors."""
