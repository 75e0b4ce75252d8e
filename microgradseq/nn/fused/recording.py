"""A fused function as one graph node, and the last steps of the backward pass that every cell shares.

A node's rules all need the same backward computation, so it runs once per
pass (`once_per_pass`) and each rule reads its part. Rules keep arrays, never
the node's own tensor, so the graph stays acyclic. A fused node has no
forward-mode rules: under `mg.jvp` the cells and layers run their op-level
steps instead (`forward_mode`).

Once a cell has da = dL/da, the rest is the same for every cell:

    dL/dW_ih = da^T x,   dL/dW_hh = da_h^T h,   dL/db_ih = sum da,   dL/db_hh = sum da_h,
    dL/dx = da W_ih,     dL/dh (through the weights) = da_h W_hh

with da_h = da except in the GRU (its n gate multiplies h's part by r).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ... import forward
from ...gradients import StackedProducts, pass_number
from ...tensor import Rules, Tensor, result
from .kernels import rows


def once_per_pass(compute: Callable[[np.ndarray], tuple]) -> Callable[[np.ndarray], tuple]:
    """`compute(g)`, evaluated once per backward pass: every rule of a node receives the same g.

    Keyed on the pass, not only on g: a second pass may hand the same array again.
    """
    memo = [None, None]

    def cached(g: np.ndarray) -> tuple:
        if memo[0] != pass_number():
            memo[0], memo[1] = pass_number(), compute(g)
        return memo[1]

    return cached


def record_node(op: str, value: np.ndarray, operands: list) -> Tensor:
    """record() with (tensor, gradient) pairs, `gradient(g) -> dL/d tensor`; a missing bias (None)
    is left out. Each operand saves its gradient function, which the shared rule calls."""
    present = [(t, gradient) for t, gradient in operands if t is not None]
    rules = Rules(vjp=(_called,) * len(present), jvp=(_no_tangent,) * len(present))
    return result(op, value, [t for t, _ in present], rules, [gradient for _, gradient in present])


def _called(g: np.ndarray, gradient: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return gradient(g)


def _no_tangent(v: np.ndarray, kept) -> np.ndarray:
    raise NotImplementedError("a fused node has no forward-mode rule; under mg.jvp the cells and layers "
                              "use their op-level steps (forward_mode())")


def forward_mode() -> bool:
    """Whether a forward-mode run (`mg.jvp`) is going on in this thread: then the cells and layers
    take their op-level steps, whose ops carry JVP rules."""
    return forward.current_run.get() is not None


def operands(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grads) -> list:
    """(tensor, rule) pairs of a cell's inputs, each rule reading its slot of `grads(g)`:
    (dx, dh, dW_ih, dW_hh, db_ih, db_hh)."""
    return [(x, lambda g: grads(g)[0]), (h, lambda g: grads(g)[1]),
            (weight_ih, lambda g: grads(g)[2]), (weight_hh, lambda g: grads(g)[3]),
            (bias_ih, lambda g: grads(g)[4]), (bias_hh, lambda g: grads(g)[5])]


def has_history(x: Tensor | None) -> bool:
    """Whether x has history to receive dL/dx."""
    return x is not None and x._node is not None


def input_grad(x: Tensor | None, da: np.ndarray, weight_ih: np.ndarray) -> np.ndarray | None:
    """dL/dx = da W_ih, computed only when x has history to receive it."""
    if not has_history(x):
        return None
    if da.ndim <= 2:
        return np.dot(da, weight_ih)
    # (np.dot of a 3-d array does not call BLAS once: a sequence's (T, B, G*H) as rows, one product)
    return np.dot(rows(da), weight_ih).reshape(da.shape[:-1] + weight_ih.shape[-1:])


def weight_grads(d_in: np.ndarray, d_rec: np.ndarray, x: np.ndarray, h_prev: np.ndarray):
    """dL/dW_ih = da^T x and dL/dW_hh = da_h^T h, kept as factors for the pass's stacked product."""
    shared = d_rec is d_in          # one array: stacked once for both weights
    d_in = rows(d_in)
    d_rec = d_in if shared else rows(d_rec)
    return StackedProducts(d_in, rows(x)), StackedProducts(d_rec, rows(h_prev))


def bias_grads(da: np.ndarray) -> tuple:
    """dL/db_ih = dL/db_hh = sum of da over its rows, kept as factors like the weights' (summed once,
    at the end of the pass, for every step)."""
    products = StackedProducts(rows(da))
    return products, StackedProducts(products.lefts[0])


def recurrent_weight_grad(d_rec: np.ndarray, h0: Tensor, hs: np.ndarray):
    """dL/dW_hh = sum_t da_h,t^T h_(t-1) over a sequence: one product over h_1 .. h_(T-1) (views of
    the saved states, nothing copied), plus h_0's term when h_0 is not zero."""
    product = StackedProducts(rows(d_rec[1:]), rows(hs[:-1]))
    if not h0._data.any():
        return product
    return product.materialise() + np.dot(d_rec[0].T, h0._data)
