"""A fused function as one graph node, and the last steps of the backward pass that every cell shares.

A node's rules all need the same backward computation, so it runs once per
pass (`OncePerPass`) and each rule reads its part. Rules keep arrays, never
the node's own tensor, so the graph stays acyclic. A fused node has no
forward-mode rules: under `mg.jvp` the cells and layers run their op-level
steps instead (`forward_mode`).

Once a cell has da = dL/da, the rest is the same for every cell:

    dL/dW_ih = da^T x,   dL/dW_hh = da_h^T h,   dL/db_ih = sum da,   dL/db_hh = sum da_h,
    dL/dx = da W_ih,     dL/dh (through the weights) = da_h W_hh

with da_h = da except in the GRU (its n gate multiplies h's part by r).
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from ... import forward
from ...gradients import OncePerPass, StackedProducts
from ...tensor import Rules, Tensor, result
from .kernels import rows


def record_node(op: str, value: np.ndarray, inputs: tuple, backward: Callable[[np.ndarray], tuple]) -> Tensor:
    """record() for a fused function of `inputs` (tensors; None for a missing bias, left out):
    `backward(g)` returns dL/d input for every input, in order, and operand k's rule reads slot k."""
    present = tuple(k for k, t in enumerate(inputs) if t is not None)
    shared = OncePerPass(backward)
    return result(op, value, [inputs[k] for k in present], _slot_rules(present), (shared,) * len(present))


def _slot(k: int) -> Callable:
    def rule(g: np.ndarray, shared: OncePerPass) -> np.ndarray:
        return shared(g)[k]
    return rule


_SLOTS = tuple(_slot(k) for k in range(8))     # a fused node has at most 8 operands (an LSTM cell's: 7)


@functools.lru_cache(maxsize=None)
def _slot_rules(present: tuple) -> Rules:
    """The Rules row of a fused node whose operands are the inputs at positions `present`."""
    return Rules(vjp=tuple(_SLOTS[k] for k in present), jvp=(_no_tangent,) * len(present))


def _no_tangent(v: np.ndarray, kept) -> np.ndarray:
    raise NotImplementedError("a fused node has no forward-mode rule; under mg.jvp the cells and layers "
                              "use their op-level steps (forward_mode())")


def forward_mode() -> bool:
    """Whether a forward-mode run (`mg.jvp`) is going on in this thread: then the cells and layers
    take their op-level steps, whose ops carry JVP rules."""
    return forward.current_run.get() is not None


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
