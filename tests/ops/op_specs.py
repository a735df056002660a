"""The table of differentiable ops that drives the forward, gradcheck and PyTorch tests.

Each spec calls the op through a library `L` that is either `ember` or `torch`: ember's API
is PyTorch's, so one call serves both. `numpy` is the NumPy reference for the forward.
`domain` says where inputs are drawn: (low, high) for uniform values, or "nonzero" for
magnitudes in [0.2, 2] with random signs (away from kinks at 0).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpSpec:
    name: str
    call: Callable                      # call(L, *tensors) -> tensor, for L = ember or torch
    numpy: Callable | None              # numpy(*arrays) -> array
    shapes: list                        # one shape per input
    domain: object = (-2.0, 2.0)        # one domain for all inputs, or a list per input
    differentiable: tuple = field(default=None)   # which inputs get gradients (default: all)

    def __post_init__(self):
        if self.differentiable is None:
            self.differentiable = tuple(range(len(self.shapes)))

    def domains(self) -> list:
        if isinstance(self.domain, list):
            return self.domain
        return [self.domain] * len(self.shapes)

    def __repr__(self) -> str:
        return self.name


def sample(rng: np.random.Generator, shape: tuple, domain) -> np.ndarray:
    if domain == "nonzero":
        magnitude = rng.uniform(0.2, 2.0, size=shape)
        return magnitude * rng.choice([-1.0, 1.0], size=shape)
    low, high = domain
    return rng.uniform(low, high, size=shape)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _logsumexp(x, axis, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


POSITIVE = (0.2, 2.0)
INDEX = [0, 2, 0, 1]          # repeated on purpose: gradients must add up

SPECS = [
    # --- arithmetic, with broadcasting -----------------------------------------------------
    OpSpec("add", lambda L, a, b: a + b, np.add, [(3, 4), (4,)]),
    OpSpec("add_broadcast_both", lambda L, a, b: a + b, np.add, [(2, 1, 3), (4, 1)]),
    OpSpec("add_alpha", lambda L, a, b: L.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b,
           [(3, 4), (3, 4)]),
    OpSpec("add_scalar", lambda L, a: a + 1.5, lambda a: a + 1.5, [(3, 4)]),
    OpSpec("radd_scalar", lambda L, a: 1.5 + a, lambda a: 1.5 + a, [(3, 4)]),
    OpSpec("sub", lambda L, a, b: a - b, np.subtract, [(3, 4), (3, 1)]),
    OpSpec("rsub_scalar", lambda L, a: 2.0 - a, lambda a: 2.0 - a, [(5,)]),
    OpSpec("mul", lambda L, a, b: a * b, np.multiply, [(2, 3, 4), (3, 1)]),
    OpSpec("mul_self", lambda L, a: a * a, lambda a: a * a, [(4, 3)]),
    OpSpec("mul_scalar", lambda L, a: a * -3.0, lambda a: a * -3.0, [(4, 3)]),
    OpSpec("div", lambda L, a, b: a / b, np.divide, [(3, 4), (4,)], ["nonzero", "nonzero"]),
    OpSpec("rdiv_scalar", lambda L, a: 2.0 / a, lambda a: 2.0 / a, [(3, 4)], "nonzero"),
    OpSpec("neg", lambda L, a: -a, np.negative, [(3, 4)]),
    OpSpec("pow_tensor", lambda L, a, b: a ** b, np.power, [(3, 4), (4,)],
           [POSITIVE, (-2.0, 2.0)]),
    OpSpec("pow_int", lambda L, a: a ** 3, lambda a: a ** 3, [(3, 4)]),
    OpSpec("pow_half", lambda L, a: a ** 0.5, np.sqrt, [(3, 4)], POSITIVE),
    OpSpec("pow_negative", lambda L, a: L.pow(a, -1.5), lambda a: a ** -1.5, [(3, 4)], POSITIVE),
    OpSpec("rpow", lambda L, a: 2.0 ** a, lambda a: 2.0 ** a, [(3, 4)]),
    OpSpec("remainder", lambda L, a, b: L.remainder(a, b), np.mod, [(3, 4), (4,)],
           [(-3.0, 3.0), (0.7, 1.5)]),
    OpSpec("maximum", lambda L, a, b: L.maximum(a, b), np.maximum, [(3, 4), (3, 4)]),
    OpSpec("minimum", lambda L, a, b: L.minimum(a, b), np.minimum, [(3, 4), (4,)]),
    OpSpec("where", lambda L, a, b: L.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
           [(3, 4), (3, 4)], "nonzero"),
    OpSpec("where_scalar", lambda L, a: L.where(a > 0, a, 0.5),
           lambda a: np.where(a > 0, a, 0.5), [(3, 4)], "nonzero"),
    OpSpec("clamp", lambda L, a: L.clamp(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
           [(4, 5)]),
    OpSpec("clamp_min", lambda L, a: a.clamp(min=0.1), lambda a: np.maximum(a, 0.1), [(4, 5)]),
    OpSpec("clamp_tensor_bounds", lambda L, a, lo: L.clamp(a, min=lo),
           lambda a, lo: np.maximum(a, lo), [(3, 4), (4,)]),
    # --- unary ----------------------------------------------------------------------------
    OpSpec("exp", lambda L, a: L.exp(a), np.exp, [(3, 4)]),
    OpSpec("log", lambda L, a: L.log(a), np.log, [(3, 4)], POSITIVE),
    OpSpec("log1p", lambda L, a: L.log1p(a), np.log1p, [(3, 4)], (-0.5, 2.0)),
    OpSpec("expm1", lambda L, a: L.expm1(a), np.expm1, [(3, 4)]),
    OpSpec("log2", lambda L, a: L.log2(a), np.log2, [(3, 4)], POSITIVE),
    OpSpec("log10", lambda L, a: L.log10(a), np.log10, [(3, 4)], POSITIVE),
    OpSpec("sqrt", lambda L, a: L.sqrt(a), np.sqrt, [(3, 4)], POSITIVE),
    OpSpec("rsqrt", lambda L, a: L.rsqrt(a), lambda a: 1 / np.sqrt(a), [(3, 4)], POSITIVE),
    OpSpec("square", lambda L, a: L.square(a), np.square, [(3, 4)]),
    OpSpec("reciprocal", lambda L, a: L.reciprocal(a), np.reciprocal, [(3, 4)], "nonzero"),
    OpSpec("abs", lambda L, a: L.abs(a), np.abs, [(3, 4)], "nonzero"),
    OpSpec("sin", lambda L, a: L.sin(a), np.sin, [(3, 4)]),
    OpSpec("cos", lambda L, a: L.cos(a), np.cos, [(3, 4)]),
    OpSpec("tanh", lambda L, a: L.tanh(a), np.tanh, [(3, 4)]),
    OpSpec("sigmoid", lambda L, a: L.sigmoid(a), lambda a: 1 / (1 + np.exp(-a)), [(3, 4)],
           (-6.0, 6.0)),
    OpSpec("relu", lambda L, a: L.relu(a), lambda a: np.maximum(a, 0), [(3, 4)], "nonzero"),
    OpSpec("clone", lambda L, a: a.clone() * 2, lambda a: a * 2, [(3, 4)]),
    # --- reductions -----------------------------------------------------------------------
    OpSpec("sum_all", lambda L, a: a.sum(), np.sum, [(3, 4, 5)]),
    OpSpec("sum_dim", lambda L, a: a.sum(dim=1), lambda a: a.sum(axis=1), [(3, 4, 5)]),
    OpSpec("sum_dims_keepdim", lambda L, a: a.sum(dim=(0, 2), keepdim=True),
           lambda a: a.sum(axis=(0, 2), keepdims=True), [(3, 4, 5)]),
    OpSpec("sum_negative_dim", lambda L, a: L.sum(a, -1), lambda a: a.sum(axis=-1), [(3, 4)]),
    OpSpec("mean_all", lambda L, a: a.mean(), np.mean, [(3, 4)]),
    OpSpec("mean_dim", lambda L, a: a.mean(dim=0, keepdim=True),
           lambda a: a.mean(axis=0, keepdims=True), [(3, 4)]),
    OpSpec("var_all", lambda L, a: a.var(), lambda a: a.var(ddof=1), [(3, 4)]),
    OpSpec("var_dim_biased", lambda L, a: a.var(dim=1, unbiased=False),
           lambda a: a.var(axis=1), [(3, 4)]),
    OpSpec("var_correction", lambda L, a: L.var(a, dim=(0, 1), correction=2, keepdim=True),
           lambda a: a.var(axis=(0, 1), ddof=2, keepdims=True), [(3, 4, 2)]),
    OpSpec("std_dim", lambda L, a: a.std(dim=0), lambda a: a.std(axis=0, ddof=1), [(5, 3)]),
    OpSpec("amax", lambda L, a: a.amax(dim=1), lambda a: a.max(axis=1), [(3, 4)]),
    OpSpec("amin_dims", lambda L, a: L.amin(a, dim=(0, 2)), lambda a: a.min(axis=(0, 2)),
           [(3, 4, 2)]),
    OpSpec("max_all", lambda L, a: a.max(), np.max, [(3, 4)]),
    OpSpec("min_all", lambda L, a: L.min(a), np.min, [(3, 4)]),
    OpSpec("max_dim_values", lambda L, a: a.max(dim=1).values, lambda a: a.max(axis=1),
           [(3, 4)]),
    OpSpec("min_dim_keepdim", lambda L, a: L.min(a, dim=0, keepdim=True)[0],
           lambda a: a.min(axis=0, keepdims=True), [(3, 4)]),
    OpSpec("logsumexp", lambda L, a: L.logsumexp(a, dim=1), lambda a: _logsumexp(a, 1),
           [(3, 4)]),
    OpSpec("logsumexp_keepdim", lambda L, a: a.logsumexp(dim=0, keepdim=True),
           lambda a: _logsumexp(a, 0, True), [(3, 4)]),
    OpSpec("prod_all", lambda L, a: a.prod(), np.prod, [(2, 3)], "nonzero"),
    OpSpec("prod_dim", lambda L, a: a.prod(dim=1), lambda a: a.prod(axis=1), [(3, 4)],
           "nonzero"),
    OpSpec("norm_2", lambda L, a: a.norm(), np.linalg.norm, [(3, 4)]),
    OpSpec("norm_2_dim", lambda L, a: L.norm(a, dim=1), lambda a: np.linalg.norm(a, axis=1),
           [(3, 4)]),
    OpSpec("norm_1", lambda L, a: L.norm(a, p=1, dim=0),
           lambda a: np.abs(a).sum(axis=0), [(3, 4)], "nonzero"),
    OpSpec("norm_3", lambda L, a: L.norm(a, p=3), lambda a: (np.abs(a) ** 3).sum() ** (1 / 3),
           [(3, 4)], "nonzero"),
    OpSpec("norm_inf", lambda L, a: L.norm(a, p=float("inf"), dim=1),
           lambda a: np.abs(a).max(axis=1), [(3, 4)], "nonzero"),
    OpSpec("cumsum", lambda L, a: L.cumsum(a, dim=1), lambda a: np.cumsum(a, axis=1),
           [(3, 4)]),
    OpSpec("softmax", lambda L, a: L.softmax(a, dim=1), lambda a: _softmax(a, 1), [(3, 5)]),
    OpSpec("softmax_dim0", lambda L, a: a.softmax(0), lambda a: _softmax(a, 0), [(4, 3, 2)]),
    OpSpec("log_softmax", lambda L, a: L.log_softmax(a, dim=-1),
           lambda a: _log_softmax(a, -1), [(3, 5)]),
    # --- shape ----------------------------------------------------------------------------
    OpSpec("reshape", lambda L, a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [(2, 3, 4)]),
    OpSpec("view", lambda L, a: a.view(-1), lambda a: a.reshape(-1), [(2, 3)]),
    OpSpec("flatten", lambda L, a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 4)]),
    OpSpec("squeeze", lambda L, a: a.squeeze(1), lambda a: a.squeeze(1), [(3, 1, 4)]),
    OpSpec("unsqueeze", lambda L, a: a.unsqueeze(-1), lambda a: a[..., None], [(3, 4)]),
    OpSpec("transpose", lambda L, a: a.transpose(0, 2), lambda a: a.swapaxes(0, 2),
           [(2, 3, 4)]),
    OpSpec("permute", lambda L, a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1),
           [(2, 3, 4)]),
    OpSpec("T", lambda L, a: a.T, lambda a: a.T, [(3, 4)]),
    OpSpec("expand", lambda L, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
           [(3, 1)]),
    OpSpec("repeat", lambda L, a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)),
           [(3, 2)]),
    OpSpec("cat", lambda L, a, b: L.cat([a, b], dim=1),
           lambda a, b: np.concatenate([a, b], axis=1), [(2, 3), (2, 4)]),
    OpSpec("stack", lambda L, a, b: L.stack([a, b], dim=1),
           lambda a, b: np.stack([a, b], axis=1), [(2, 3), (2, 3)]),
    OpSpec("split", lambda L, a: L.cat([p * (i + 1) for i, p in enumerate(a.split(2, dim=1))],
                                       dim=1),
           lambda a: np.concatenate([a[:, :2], 2 * a[:, 2:4], 3 * a[:, 4:]], axis=1),
           [(3, 5)]),
    OpSpec("chunk", lambda L, a: a.chunk(3, dim=0)[1], lambda a: a[2:4], [(6, 2)]),
    OpSpec("unbind", lambda L, a: a.unbind(1)[2] * 3, lambda a: a[:, 2] * 3, [(2, 4)]),
    OpSpec("pad", lambda L, a: L.nn.functional.pad(a, (1, 2, 0, 1), value=0.5),
           lambda a: np.pad(a, ((0, 0), (0, 1), (1, 2)), constant_values=0.5), [(2, 3, 4)]),
    OpSpec("pad_crop", lambda L, a: L.nn.functional.pad(a, (-1, 2)),
           lambda a: np.pad(a[:, 1:], ((0, 0), (0, 2))), [(3, 4)]),
    OpSpec("flip", lambda L, a: a.flip(0), lambda a: a[::-1], [(3, 4)]),
    # --- indexing -------------------------------------------------------------------------
    OpSpec("getitem_slices", lambda L, a: a[1:3, ::2], lambda a: a[1:3, ::2], [(4, 5)]),
    OpSpec("getitem_int_none_ellipsis", lambda L, a: a[..., None, 1],
           lambda a: a[..., None, 1], [(3, 4, 5)]),
    OpSpec("getitem_negative_step_free", lambda L, a: a[-1], lambda a: a[-1], [(3, 4)]),
    OpSpec("getitem_repeated_indices", lambda L, a: a[L.tensor(INDEX)],
           lambda a: a[INDEX], [(3, 4)]),
    OpSpec("getitem_list", lambda L, a: a[:, [3, 0, 3]], lambda a: a[:, [3, 0, 3]], [(2, 4)]),
    OpSpec("getitem_two_arrays", lambda L, a: a[L.tensor([0, 1, 1]), L.tensor([2, 0, 2])],
           lambda a: a[[0, 1, 1], [2, 0, 2]], [(3, 4)]),
    OpSpec("getitem_mask", lambda L, a: a[a > 0], lambda a: a[a > 0], [(4, 5)], "nonzero"),
    OpSpec("gather", lambda L, a: L.gather(a, 1, L.tensor([[0, 0], [3, 1], [2, 2]])),
           lambda a: np.take_along_axis(a, np.array([[0, 0], [3, 1], [2, 2]]), 1), [(3, 4)]),
    OpSpec("index_select", lambda L, a: L.index_select(a, 1, L.tensor([2, 0, 2])),
           lambda a: a[:, [2, 0, 2]], [(3, 4)]),
    OpSpec("masked_fill", lambda L, a: a.masked_fill(a > 0, 0.25),
           lambda a: np.where(a > 0, 0.25, a), [(3, 4)], "nonzero"),
    OpSpec("topk_values", lambda L, a: a.topk(2, dim=1).values,
           lambda a: -np.sort(-a, axis=1)[:, :2], [(3, 5)]),
    OpSpec("sort_values", lambda L, a: L.sort(a, dim=0).values, lambda a: np.sort(a, axis=0),
           [(4, 3)]),
    # --- matrix products ------------------------------------------------------------------
    OpSpec("matmul", lambda L, a, b: a @ b, np.matmul, [(3, 4), (4, 5)]),
    OpSpec("matmul_batched_broadcast", lambda L, a, b: a @ b, np.matmul,
           [(2, 1, 3, 4), (5, 4, 2)]),
    OpSpec("matmul_batch_times_matrix", lambda L, a, b: L.matmul(a, b), np.matmul,
           [(2, 3, 4), (4, 5)]),
    OpSpec("matmul_vector_matrix", lambda L, a, b: a @ b, np.matmul, [(4,), (2, 4, 5)]),
    OpSpec("matmul_matrix_vector", lambda L, a, b: a @ b, np.matmul, [(3, 4), (4,)]),
    OpSpec("matmul_vector_vector", lambda L, a, b: a @ b, np.matmul, [(4,), (4,)]),
    OpSpec("mm", lambda L, a, b: L.mm(a, b), np.matmul, [(2, 3), (3, 2)]),
    # the fused linear primitive: (*, in) inputs, with and without a bias
    OpSpec("linear", lambda L, x, w, b: L.nn.functional.linear(x, w, b),
           lambda x, w, b: x @ w.T + b, [(5, 4), (3, 4), (3,)]),
    OpSpec("linear_batched", lambda L, x, w, b: L.nn.functional.linear(x, w, b),
           lambda x, w, b: x @ w.T + b, [(2, 3, 4), (5, 4), (5,)]),
    OpSpec("linear_vector_no_bias", lambda L, x, w: L.nn.functional.linear(x, w),
           lambda x, w: x @ w.T, [(4,), (3, 4)]),
    OpSpec("linear_weight_only", lambda L, x, w, b: L.nn.functional.linear(x, w, b),
           lambda x, w, b: x @ w.T + b, [(5, 4), (3, 4), (3,)], differentiable=(1,)),
    # a wide layer (outputs >= 4 x rows) computes (W x^T)^T and hands on column-major y;
    # the second layer then takes a column-major input and gives its gradient that layout
    OpSpec("linear_wide", lambda L, x, w, b: L.nn.functional.linear(x, w, b),
           lambda x, w, b: x @ w.T + b, [(2, 3), (9, 3), (9,)]),
    OpSpec("linear_wide_then_linear",
           lambda L, x, w, b, v: L.nn.functional.linear(L.tanh(
               L.nn.functional.linear(x, w, b)), v),
           lambda x, w, b, v: np.tanh(x @ w.T + b) @ v.T, [(2, 3), (9, 3), (9,), (4, 9)]),
    OpSpec("bmm", lambda L, a, b: L.bmm(a, b), np.matmul, [(2, 3, 4), (2, 4, 1)]),
    OpSpec("outer", lambda L, a, b: L.outer(a, b), np.outer, [(3,), (4,)]),
    # --- compositions: the graph, not one op ----------------------------------------------
    OpSpec("mlp_layer", lambda L, x, w, b: L.tanh(x @ w.T + b),
           lambda x, w, b: np.tanh(x @ w.T + b), [(5, 3), (4, 3), (4,)]),
    OpSpec("cross_entropy_by_hand",
           lambda L, z: -L.log_softmax(z, 1)[L.arange(3), L.tensor([1, 0, 4])].mean(),
           lambda z: -_log_softmax(z, 1)[np.arange(3), [1, 0, 4]].mean(), [(3, 5)]),
]

SPECS_BY_NAME = {spec.name: spec for spec in SPECS}
assert len(SPECS_BY_NAME) == len(SPECS), "op spec names must be unique"
