"""The fused RNN: h' = act(a), a = x W_ih^T + b_ih + h W_hh^T + b_hh, act tanh or relu.

Backward, with g = dL/dh':

    da = g * act'(a),   act'(a) read off h' = act(a): tanh' = 1 - h'^2, relu' = 1 where h' > 0,

and the shared formulas of `recording.py` give dL/dx, dL/dh and the weights'.
"""

from __future__ import annotations

import numpy as np

from ...gradients import StackedProducts
from ...tensor import Tensor
from .kernels import PreparedWeights, bias_sum, project, rows, step_dtype, transposed
from .marks import StepMarks, attach_marks, check_steps
from .recording import bias_grads, input_grad, record_node, recurrent_weight_grad, weight_grads

RNN_GATES = "t"             # one block, scale 1: tanh's, and relu's (the scale is all the step uses)


def _relu_into(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0, out=out)


def _act_grad(h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """act'(a) from h = act(a), a new array:  tanh' = 1 - h^2;  relu' = 1 where h > 0."""
    if nonlinearity == "relu":
        return (h > 0).astype(h.dtype)
    out = h * h
    return np.subtract(1, out, out=out)


def rnn_cell(x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, nonlinearity: str = "tanh",
             weights: PreparedWeights | None = None) -> Tensor:
    """h' = act(a), a = x W_ih^T + b_ih + h W_hh^T + b_hh, as one node.

    Backward: da = g * act'(a); dL/dh = da W_hh, and the shared formulas give the rest.
    `weights`: the cell's `PreparedWeights` (made here when missing).
    """
    X, H = x._data, h._data
    w = (weights or PreparedWeights(RNN_GATES)).get(weight_ih, weight_hh, bias_ih, bias_hh)
    dtype = step_dtype(w, X, H)
    pre = np.dot(X, w.ih_t).astype(dtype, copy=False)
    pre += np.dot(H, w.hh_t)
    pre += w.bias
    out = np.tanh(pre, pre) if nonlinearity == "tanh" else _relu_into(pre, pre)

    def backward(g):
        da = _act_grad(out, nonlinearity)
        da *= g
        return (input_grad(x, da, w.weight_ih), np.dot(da, w.weight_hh),
                *weight_grads(da, da, X, H), *bias_grads(da))

    return record_node("rnn_cell", out, (x, h, weight_ih, weight_hh, bias_ih, bias_hh), backward).named("h")


def rnn_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                 bias_hh: Tensor | None, nonlinearity: str = "tanh",
                 below: StepMarks | None = None, *, reverse: bool = False) -> tuple[Tensor, Tensor, StepMarks]:
    """h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) for t = 1..T, as one node (T, B, H).

    Backward (BPTT), from t = T down to 1, with dh_T+1 = 0 through the recurrence:
        dh_t = g_t + da_(t+1) W_hh,   da_t = dh_t * act'(a_t);   dL/dh_0 = da_1 W_hh.
    Returns (h_1 .. h_T, h_T, the step marks); `below` is the marks of the layer underneath.
    `reverse=True`: x is a sequence flipped (a bidirectional layer's reverse direction); the
    step marks and anomaly errors then name input positions (`StepMarks`).
    """
    X = x._data
    W_ih, W_hh = weight_ih._data, weight_hh._data
    steps, batch, _ = X.shape
    dtype = np.result_type(X, h0._data, W_ih, W_hh)
    pre = project(X, W_ih, bias_sum(bias_ih, bias_hh), dtype)
    hs = np.empty((steps,) + h0.shape, dtype)           # h_1 .. h_T, a fresh array of its own
    act, dot, w_hh_t = (np.tanh if nonlinearity == "tanh" else _relu_into), np.dot, transposed(W_hh, batch)
    h = h0._data
    for a, h_next in zip(pre, hs):                      # the recurrence, nothing else, per step
        a += dot(h, w_hh_t)
        h = act(a, h_next)
    check_steps("rnn_sequence", hs, [x, h0], reverse)
    marks = StepMarks("rnn_sequence", [("h", hs, h0)], below, reverse)   # made if a drawing asks

    def backward(g):
        da = _act_grad(hs, nonlinearity)                # act'(a_t), times dh_t step by step below
        dh_all = np.empty_like(hs)
        dh_next = 0
        for g_t, dh, da_t in zip(g[::-1], dh_all[::-1], da[::-1]):     # t = T .. 1
            np.add(g_t, dh_next, dh)
            da_t *= dh
            dh_next = dot(da_t, W_hh)
        marks.give_grads("h", dh_all)
        bias = rows(da).sum(axis=0)
        dx = input_grad(x, da, W_ih)
        return (dx, dh_next, StackedProducts(rows(da), rows(X)), recurrent_weight_grad(da, h0, hs),
                bias, bias)

    out = record_node("rnn_sequence", hs, (x, h0, weight_ih, weight_hh, bias_ih, bias_hh), backward)
    attach_marks(out, marks)
    return out, out[steps - 1], marks
