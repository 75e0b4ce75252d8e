"""The fused LSTM: gates i, f, g, o;  c' = f c + i g,  h' = o tanh(c').

With a = x W_ih^T + b_ih + h W_hh^T + b_hh split into the four gate blocks,
i, f, o = σ(a_i), σ(a_f), σ(a_o) and g = tanh(a_g). Backward, with dh' and dc'
the gradients arriving at h' and c', and dc the whole gradient of c' (which
also reaches the loss through h'):

    dc = dc' + dh' o (1 - tanh(c')^2)
    da_i = dc g σ'(a_i),   da_f = dc c σ'(a_f),   da_g = dc i (1 - g^2),   da_o = dh' tanh(c') σ'(a_o)
    dL/dc = dc f,          dL/dh = da W_hh

The sequence computes the per-gate factors for a block of steps at once
(`_lstm_factors`); the cell, one step, multiplies them out directly.
"""

from __future__ import annotations

import numpy as np

from ...gradients import StackedProducts
from ...tensor import Tensor
from .kernels import (PreparedWeights, activate, bias_sum, blocks, project, rows, sigmoid_scale, step_dtype,
                      transposed)
from .marks import StepMarks, attach_marks, check_steps
from .recording import bias_grads, input_grad, record_node, recurrent_weight_grad, weight_grads

LSTM_GATES = "ssts"         # i, f: sigmoid; g: tanh; o: sigmoid


def _lstm_factors(gates: np.ndarray, tanh_c: np.ndarray, factors: np.ndarray,
                  factor_dc: np.ndarray) -> None:
    """Write what the backward multiplies by, from the saved activations (any leading axes):

        dc = dc' (from later steps) + dh * factor_dc,        factor_dc = o (1 - tanh(c')^2)
        da = [dc, dc * c, dc, dh] * factors (per gate),      factors = [g σ'(a_i), σ'(a_f), i (1 - g^2),
                                                                        tanh(c') σ'(a_o)]   (…, 4, H)
    and dc * f carries on to the step before. The caller multiplies the f block by c, the previous
    cell state. Everything is computed in place: no temporaries as large as the sequence, and
    `factor_dc` may be `tanh_c` itself (it is written last).
    """
    hidden = tanh_c.shape[-1]
    i, f, g, o = (gates[..., k * hidden:(k + 1) * hidden] for k in range(4))
    k_i, k_f, k_g, k_o = (factors[..., k, :] for k in range(4))
    np.subtract(1, i, out=k_i)
    k_i *= i
    k_i *= g
    np.subtract(1, f, out=k_f)
    k_f *= f
    np.multiply(g, g, out=k_g)
    np.subtract(1, k_g, out=k_g)
    k_g *= i
    np.subtract(1, o, out=k_o)
    k_o *= o
    k_o *= tanh_c
    np.multiply(tanh_c, tanh_c, out=factor_dc)
    np.subtract(1, factor_dc, out=factor_dc)
    factor_dc *= o


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor], weight_ih: Tensor, weight_hh: Tensor,
              bias_ih: Tensor | None, bias_hh: Tensor | None,
              weights: PreparedWeights | None = None) -> tuple[Tensor, Tensor]:
    """(h', c') as one node holding both, shape (2, B, H), read out by slices labelled "h" and "c".

    Backward, with g = (dh', dc') and act = [i, f, g, o] the gates (`kernels.Prepared`: each is
    s tanh(s a) + offset, so act'(a) = s^2 - (act - offset)^2):
        dc = dc' + dh' o (1 - tanh(c')^2),   da = act'(a) * [dc g, dc c, dc i, dh' tanh(c')] (per gate),
        dL/dc = dc f,   dL/dh = da W_hh.
    `weights`: the cell's `PreparedWeights` (made here when missing).
    """
    h, c = state
    X, H, C = x._data, h._data, c._data
    w = (weights or PreparedWeights(LSTM_GATES)).get(weight_ih, weight_hh, bias_ih, bias_hh)
    dtype = step_dtype(w, X, H, C)
    hidden = H.shape[-1]
    act = np.dot(X, w.ih_t).astype(dtype, copy=False)      # s a
    act += np.dot(H, w.hh_t)
    act += w.bias
    activate(act, w.scale, w.offset)                        # i, f, g, o
    i, f, g, o = (act[..., k * hidden:(k + 1) * hidden] for k in range(4))
    out = np.empty((2,) + H.shape, dtype)
    c_next = np.multiply(f, C, out[1])
    c_next += i * g
    tanh_c = np.tanh(c_next)
    np.multiply(o, tanh_c, out[0])

    def backward(grad):
        dh = grad[0]
        dc = np.multiply(tanh_c, tanh_c)                    # dc = dc' + dh' o (1 - tanh(c')^2)
        np.subtract(1, dc, dc)
        dc *= o
        dc *= dh
        dc += grad[1]
        da = np.subtract(act, w.offset)                     # act'(a) = s^2 - (act - offset)^2
        da *= da
        np.subtract(w.slope, da, da)
        by_gate = da.reshape(H.shape[:-1] + (4, hidden))   # times [dc g, dc c, dc i, dh' tanh(c')]
        by_gate[..., :3, :] *= dc[..., None, :]
        by_gate[..., 0, :] *= g
        by_gate[..., 1, :] *= C
        by_gate[..., 2, :] *= i
        by_gate[..., 3, :] *= dh
        by_gate[..., 3, :] *= tanh_c
        return (input_grad(x, da, w.weight_ih), np.dot(da, w.weight_hh), dc * f,
                *weight_grads(da, da, X, H), *bias_grads(da))

    both = record_node("lstm_cell", out, (x, h, c, weight_ih, weight_hh, bias_ih, bias_hh), backward)
    return both[0].named("h"), both[1].named("c")


def lstm_sequence(x: Tensor, h0: Tensor, c0: Tensor, weight_ih: Tensor, weight_hh: Tensor,
                  bias_ih: Tensor | None, bias_hh: Tensor | None,
                  below: StepMarks | None = None, *,
                  reverse: bool = False) -> tuple[Tensor, tuple[Tensor, Tensor], StepMarks]:
    """Every step's (h_t, c_t) as one node of shape (2, T, B, H): [0] the h's, [1] the c's.

    Backward (BPTT), t = T down to 1, with g = (g_h, g_c) and the factors of `_lstm_factors`:
        dh_t = g_h,t + da_(t+1) W_hh,   dc_t = g_c,t + dc_(t+1) f_(t+1) + dh_t * factor_dc,t,
        da_t = [dc_t, dc_t, dc_t, dh_t] * factors_t (per gate);   dL/dh_0 = da_1 W_hh, dL/dc_0 = dc_1 f_1.
    The factors are computed a block of steps at a time, just before the loop reaches the block,
    by the first backward pass, which writes da over the gates it read them from; a later pass
    over a kept graph (TBPTT) reuses them.
    Returns (h_1 .. h_T, (h_T, c_T), the step marks); `below` is the marks of the layer underneath.
    `reverse=True`: x is a sequence flipped (a bidirectional layer's reverse direction); the
    step marks and anomaly errors then name input positions (`StepMarks`).
    """
    X = x._data
    H0, C0, W_ih, W_hh = h0._data, c0._data, weight_ih._data, weight_hh._data
    steps, batch, _ = X.shape
    hidden = W_hh.shape[1]
    dtype = np.result_type(X, H0, C0, W_ih, W_hh)
    scale, offset = sigmoid_scale(hidden, LSTM_GATES, dtype)
    gates = project(X, W_ih, bias_sum(bias_ih, bias_hh), dtype, scale)
    w_hh_t = transposed(W_hh, batch, scale)
    out = np.empty((2, steps) + H0.shape, dtype)
    hs, cs = out[0], out[1]
    tanh_c = np.empty_like(hs)
    by_gate = gates.reshape(steps, batch, 4, hidden)
    dot, tanh, multiply = np.dot, np.tanh, np.multiply
    h, c = H0, C0
    for a, i, f, g, o, c_next, tanh_c_next, h_next in zip(          # per step: the recurrence only
            gates, *(by_gate[:, :, k] for k in range(4)), cs, tanh_c, hs):
        a += dot(h, w_hh_t)
        activate(a, scale, offset)
        c = multiply(f, c, c_next)
        c += i * g
        h = multiply(o, tanh(c, tanh_c_next), h_next)
    check_steps("lstm_sequence", out.swapaxes(0, 1), [x, h0, c0], reverse)
    marks = StepMarks("lstm_sequence", [("c", cs, c0), ("h", hs, h0)], below, reverse)   # made if a drawing asks

    kept = None     # (factors, factor_dc, f): made by the first backward pass and reused by later passes
                    # over a kept graph (TBPTT(k1, k2) walks each step k2 / k1 times)

    def backward(grad):
        nonlocal kept, gates, by_gate, tanh_c
        first = kept is None
        if first:
            if gates is None:
                raise RuntimeError("backward: an earlier backward pass through a fused LSTM layer (lstm_sequence) "
                                   "was interrupted after it had begun to write over the gates the layer saved; "
                                   "run the layer's forward pass again")
            factors = np.empty((steps, batch, 4, hidden), dtype)
            forget = by_gate[:, :, 1].copy()            # f_t: every pass reads it
            da, gates = gates, None                     # this pass writes da over the gates, and factor_dc over
            factor_dc = tanh_c                          # tanh(c'), a block at a time, once the block's factors
        else:                                           # are made from them
            (factors, factor_dc, forget), da = kept, np.empty((steps, batch, 4 * hidden), dtype)
        da_by_gate = da.reshape(steps, batch, 4, hidden)
        dh_all, dc_all = np.empty_like(hs), np.empty_like(cs)
        dh_next = dc_next = 0
        for start, stop in blocks(steps, da[0].size):
            if first:
                _lstm_factors(da[start:stop], tanh_c[start:stop], factors[start:stop], factor_dc[start:stop])
                factors[start + 1:stop, :, 1] *= cs[start:stop - 1]
                factors[start, :, 1] *= C0 if start == 0 else cs[start - 1]
            back = slice(stop - 1, start - 1 if start else None, -1)                 # t = stop .. start + 1
            for g_h, g_c, dh, dc, dc_by_gate, f_t, k_ifg, k_o, k_dc, da_ifg, da_o, da_t in zip(
                    grad[0][back], grad[1][back], dh_all[back], dc_all[back], dc_all[back, :, None],
                    forget[back], factors[back, :, :3], factors[back, :, 3], factor_dc[back],
                    da_by_gate[back, :, :3], da_by_gate[back, :, 3], da[back]):
                np.add(g_h, dh_next, dh)
                multiply(k_dc, dh, dc)
                dc += dc_next
                dc += g_c
                multiply(k_ifg, dc_by_gate, da_ifg)
                multiply(k_o, dh, da_o)
                dh_next = dot(da_t, W_hh)
                dc_next = dc * f_t
        if first:       # (only the factors read the gates and tanh(c'))
            kept, by_gate, tanh_c = (factors, factor_dc, forget), None, None
        marks.give_grads("h", dh_all)
        marks.give_grads("c", dc_all)
        bias = rows(da).sum(axis=0)
        dx = input_grad(x, da, W_ih)
        return (dx, dh_next, dc_next, StackedProducts(rows(da), rows(X)),
                recurrent_weight_grad(da, h0, hs), bias, bias)

    both = record_node("lstm_sequence", out, (x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh), backward)
    attach_marks(both, marks)
    output = both[0]
    return output, (output[steps - 1], both[1, steps - 1]), marks
