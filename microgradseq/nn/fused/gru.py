"""The fused GRU: r, z = σ(...);  n = tanh(a_n + r * (W_hn h + b_hn));  h' = n + z (h - n).

a = x W_ih^T + b_ih + h W_hh^T + b_hh in gate blocks r, z, n, except that h's part
of n's block, W_hn h + b_hn, is multiplied by r before it joins x's. So the
gradient of the pre-activations has two versions: da_x, the one x's product
sees, and da_h, the one h's product sees. Backward, with dh = dL/dh':

    d_n = (1 - z) (1 - n^2)
    da_r = dh d_n (W_hn h + b_hn) σ'(a_r),   da_z = dh (h - n) σ'(a_z)
    da_x,n = dh d_n,   da_h,n = dh d_n r
    dL/dh = dh z + da_h W_hh

`_gru_factors` writes what multiplies dh from the saved activations; the cell
and the sequence both start from them.
"""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from .kernels import PreparedWeights, activate, blocks, project, rows, sigmoid_scale, step_dtype, transposed
from .marks import StepMarks, attach_marks, check_steps
from .recording import has_history, input_grad, record_node, recurrent_weight_grad, weight_grads

GRU_GATES = "sst"           # r, z: sigmoid; n: tanh


def _gru_factors(rz: np.ndarray, n: np.ndarray, h_n: np.ndarray, factors: np.ndarray,
                 d_n: np.ndarray) -> None:
    """Write what the backward multiplies dh' by, from the saved activations (any leading axes):

        d_n = (1 - z) (1 - n^2):   da_n = dh' d_n, the gradient of n's pre-activation (x's part)
        da_h = dh' * factors,       factors = [d_n (W_hn h + b_hn) σ'(a_r), (h - n) σ'(a_z), d_n r]
    (…, 3, H): h's part of a_n is multiplied by r. Besides da_h W_hh, dh' z carries on to the
    step before. The caller multiplies the z block by h - n (h the previous state). In place.
    """
    hidden = n.shape[-1]
    r, z = rz[..., :hidden], rz[..., hidden:]
    k_r, k_z, k_n = (factors[..., k, :] for k in range(3))
    np.multiply(n, n, out=d_n)
    np.subtract(1, d_n, out=d_n)
    d_n -= np.multiply(z, d_n, out=k_n)
    np.subtract(1, r, out=k_r)
    k_r *= r
    k_r *= h_n
    k_r *= d_n
    np.subtract(1, z, out=k_z)
    k_z *= z
    np.multiply(d_n, r, out=k_n)


def gru_cell(x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, weights: PreparedWeights | None = None) -> Tensor:
    """h' = n + z (h - n) = (1 - z) n + z h, as one node; gradients as in `_gru_factors`.
    `weights`: the cell's `PreparedWeights` (made here when missing)."""
    X, H = x._data, h._data
    w = (weights or PreparedWeights(GRU_GATES)).get(weight_ih, weight_hh, bias_ih, bias_hh)
    dtype = step_dtype(w, X, H)
    hidden = H.shape[-1]
    from_x = np.dot(X, w.ih_t).astype(dtype, copy=False)    # r, z columns times s = 1/2 (kernels)
    from_x += w.bias_ih
    from_h = np.dot(H, w.hh_t).astype(dtype, copy=False)
    from_h += w.bias_hh
    rz = np.add(from_x[..., :2 * hidden], from_h[..., :2 * hidden])
    activate(rz, w.scale[:2 * hidden], w.offset[:2 * hidden])
    h_n = from_h[..., 2 * hidden:]
    n = np.multiply(rz[..., :hidden], h_n)
    n += from_x[..., 2 * hidden:]
    np.tanh(n, n)
    out = H - n
    out *= rz[..., hidden:]
    out += n

    def backward(g):
        factors, d_n = np.empty(H.shape[:-1] + (3, hidden), dtype), np.empty_like(H)
        _gru_factors(rz, n, h_n, factors, d_n)
        factors[..., 1, :] *= H - n
        factors *= g[..., None, :]
        da_h = factors.reshape(H.shape[:-1] + (3 * hidden,))
        da_x = da_h.copy()
        np.multiply(g, d_n, da_x[..., 2 * hidden:])
        z = rz[..., hidden:]
        return (input_grad(x, da_x, w.weight_ih), g * z + np.dot(da_h, w.weight_hh),
                *weight_grads(da_x, da_h, X, H), da_x, da_h)

    return record_node("gru_cell", out, (x, h, weight_ih, weight_hh, bias_ih, bias_hh), backward).named("h")


def gru_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                 bias_hh: Tensor | None, below: StepMarks | None = None, *,
                 reverse: bool = False) -> tuple[Tensor, Tensor, StepMarks]:
    """h_1 .. h_T of a GRU layer as one node (T, B, H).

    Backward (BPTT), t = T down to 1, with the factors of `_gru_factors`:
        dh_t = g_t + dh_(t+1) z_(t+1) + da_h,(t+1) W_hh,   da_h,t = dh_t * factors_t (per gate),
        x's part: da_x,t = da_h,t with its n block dh_t * d_n,t.
    The factors are computed a block of steps at a time, just before the loop reaches the block.
    Returns (h_1 .. h_T, h_T, the step marks); `below` is the marks of the layer underneath.
    `reverse=True`: x is a sequence flipped (a bidirectional layer's reverse direction); the
    step marks and anomaly errors then name input positions (`StepMarks`).
    """
    X = x._data
    H0, W_ih, W_hh = h0._data, weight_ih._data, weight_hh._data
    steps, batch, _ = X.shape
    hidden = W_hh.shape[1]
    dtype = np.result_type(X, H0, W_ih, W_hh)
    scale, offset = sigmoid_scale(hidden, GRU_GATES, dtype)
    bias = 0                                            # b_ih, plus b_hh's r and z parts (b_hn waits for r)
    if bias_ih is not None:
        bias = bias_ih._data + np.concatenate([bias_hh._data[:2 * hidden], np.zeros(hidden, dtype)])
    from_x = project(X, W_ih, bias, dtype, scale)       # (T, B, 3H): x W_ih^T + b_ih (+ b_hr, b_hz)
    w_hh_t = transposed(W_hh, batch, scale)
    scale, offset = scale[:2 * hidden], offset[:2 * hidden]
    b_hn = 0 if bias_hh is None else bias_hh._data[2 * hidden:]
    rz = np.empty((steps, batch, 2 * hidden), dtype)
    h_n, n_s, hs = (np.empty((steps,) + H0.shape, dtype) for _ in range(3))
    dot, tanh, add, multiply = np.dot, np.tanh, np.add, np.multiply
    h = H0
    for x_rz, x_n, gate, r, z, h_n_t, n, h_next in zip(                  # per step: the recurrence only
            from_x[..., :2 * hidden], from_x[..., 2 * hidden:], rz, rz[..., :hidden], rz[..., hidden:],
            h_n, n_s, hs):
        from_h = dot(h, w_hh_t)
        activate(add(x_rz, from_h[:, :2 * hidden], gate), scale, offset)
        multiply(r, add(from_h[:, 2 * hidden:], b_hn, h_n_t), n)
        n += x_n
        tanh(n, n)
        np.subtract(h, n, h_next)
        h_next *= z
        h = add(h_next, n, h_next)
    check_steps("gru_sequence", hs, [x, h0], reverse)
    marks = StepMarks("gru_sequence", [("h", hs, h0)], below, reverse)   # made if a drawing asks

    def backward(g):
        da_h = np.empty((steps, batch, 3, hidden), dtype)       # the factors, times dh step by step
        d_n = np.empty_like(hs)                                 # x's n block: d_n, times dh at the end
        dh_all = np.empty_like(hs)                              # first h_(t-1) - n_t, then dh_t
        da_h_flat = da_h.reshape(steps, batch, 3 * hidden)
        dh_next = 0
        for start, stop in blocks(steps, 3 * hidden * batch):  # (a block's arrays stay in cache)
            _gru_factors(rz[start:stop], n_s[start:stop], h_n[start:stop], da_h[start:stop], d_n[start:stop])
            if start:
                np.subtract(hs[start - 1:stop - 1], n_s[start:stop], out=dh_all[start:stop])
            else:
                np.subtract(hs[:stop - 1], n_s[1:stop], out=dh_all[1:stop])
                np.subtract(H0, n_s[0], out=dh_all[0])
            da_h[start:stop, :, 1] *= dh_all[start:stop]
            back = slice(stop - 1, start - 1 if start else None, -1)                 # t = stop .. start + 1
            for g_t, dh, dh_by_gate, z_t, da_t in zip(
                    g[back], dh_all[back], dh_all[back, :, None], rz[back, :, hidden:], da_h[back]):
                add(g_t, dh_next, dh)
                da_t *= dh_by_gate
                dh_next = dot(da_t.reshape(batch, 3 * hidden), W_hh)
                dh_next += dh * z_t
            d_n[start:stop] *= dh_all[start:stop]
        marks.give_grads("h", dh_all)
        # da_x = [da_h's r and z blocks, d_n], used where they lie: two parts, no copy of the r and z
        # blocks (a view, rows 3H apart; np.matmul reads it as it is, np.dot would copy it)
        da_rz, da_n = da_h[:, :, :2].reshape(steps * batch, 2 * hidden), rows(d_n)
        dx = None
        if has_history(x):
            dx = np.matmul(da_rz, W_ih[:2 * hidden])
            dx += np.matmul(da_n, W_ih[2 * hidden:])
            dx = dx.reshape(X.shape)
        X_rows = rows(X)
        return (dx, dh_next, np.concatenate([np.matmul(da_rz.T, X_rows), np.matmul(da_n.T, X_rows)]),
                recurrent_weight_grad(da_h_flat, h0, hs),
                np.concatenate([da_rz.sum(axis=0), da_n.sum(axis=0)]), rows(da_h_flat).sum(axis=0))

    out = record_node("gru_sequence", hs, (x, h0, weight_ih, weight_hh, bias_ih, bias_hh), backward)
    attach_marks(out, marks)
    return out, out[steps - 1], marks
