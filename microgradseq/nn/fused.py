"""Fused recurrent steps: one graph node per cell step, or per sequence, with hand-derived gradients.

The cells in `cells.py` are built from primitive ops, so backprop through them
is generic: about a dozen nodes per step, each with its own small rule. Here
the same functions are single nodes whose rules are the gradients derived by
hand, the way a numpy BPTT is written (`RNNCell(..., fused=True)`,
`LSTM(..., fused=True)`, ...). `tests/test_fused.py` proves both paths give the
same outputs and gradients.

- `rnn_cell`, `lstm_cell`, `gru_cell`: one node per step (an LSTM step's node
  holds h' and c' stacked, read out by two slices labelled "h" and "c").
- `rnn_sequence`, `lstm_sequence`, `gru_sequence`: one node for a whole layer
  over a whole sequence. The input projection x W_ih^T is one product for all
  steps, the loop does only the recurrence, and the backward pass is the
  hand-written BPTT loop, with every weight gradient one stacked product.

A node's rules all need the same backward computation, so it runs once per
pass (`once_per_pass`) and each rule reads its part. Rules keep arrays, never
the node's own tensor, so the graph stays acyclic. A constant input (no
history) held by the caller is copied rather than fingerprinted for in-place
changes (`_kept_input`).

Notation, per step: a = x W_ih^T + b_ih + h W_hh^T + b_hh (the pre-activations),
g = dL/d(output) arriving at the node, σ the logistic sigmoid,
σ'(a) = σ(1 - σ), tanh'(a) = 1 - tanh^2. Every cell shares the last steps:

    dL/dW_ih = da^T x,   dL/dW_hh = da_h^T h,   dL/db_ih = sum da,   dL/db_hh = sum da_h,
    dL/dx = da W_ih,     dL/dh (through the weights) = da_h W_hh

with da_h = da except in the GRU (its n gate multiplies h's part by r).

Drawings: a sequence node also records one *step mark* per state per step, a
node of kind `MARK` labelled "h" (and "c") and stamped with its step, chained
h_1 -> h_2 -> ... -> the sequence node. Marks hold no rules and the backward
pass skips them (it differentiates only ops and leaves), so they cost nothing
there; they let `mg.draw` show one box per step, name the step in anomaly
errors, and receive dL/dh_t from the sequence node's backward so the drawing
colours steps by gradient norm as it does for the unfused graph.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..autograd import MARK, Node, StackedProducts, at_step, state
from ..tensor import Tensor, record


# ---- shared pieces ---------------------------------------------------------------------------

def once_per_pass(compute: Callable[[np.ndarray], tuple]) -> Callable[[np.ndarray], tuple]:
    """`compute(g)`, evaluated once per backward pass: every rule of a node receives the same g.

    Keyed on the pass, not only on g: a second pass may hand the same array again.
    """
    memo = [None, None]

    def cached(g: np.ndarray) -> tuple:
        if memo[0] != state.backward_pass:
            memo[0], memo[1] = state.backward_pass, compute(g)
        return memo[1]

    return cached


def _record(op: str, value: np.ndarray, operands: list) -> Tensor:
    """record() with (tensor, rule) pairs; a missing bias (None) is left out."""
    present = [(t, rule) for t, rule in operands if t is not None]
    return record(op, value, [t for t, _ in present], [rule for _, rule in present])


def _kept_input(x: Tensor) -> tuple[Tensor | None, np.ndarray]:
    """(x as an operand, the array the node keeps for dL/dW_ih = da^T x).

    An input without history that the caller holds is copied and left out of
    the operands: the copy costs less than fingerprinting the caller's array
    at record and again at backward (the in-place check), and nothing can
    change it. Inputs with history are operands as usual.
    """
    if x._node is None and x._exposed:
        return None, x._data.copy()
    return x, x._data


def _input_grad(x: Tensor | None, da: np.ndarray, weight_ih: np.ndarray) -> np.ndarray | None:
    """dL/dx = da W_ih, computed only when x has history to receive it."""
    return None if x is None or x._node is None else np.dot(da, weight_ih)


def _bias_sum(bias_ih: Tensor | None, bias_hh: Tensor | None):
    """b_ih + b_hh, or 0 without biases."""
    return 0 if bias_ih is None else bias_ih._data + bias_hh._data


def _project(x: np.ndarray, weight_ih: np.ndarray, bias, dtype,
             scale: np.ndarray | None = None) -> np.ndarray:
    """(x W_ih^T + bias) * scale for every step at once: (T, B, I) -> (T, B, G*H), one product.

    The per-column scale goes into the small weight and bias, not over the large result.
    """
    if scale is not None:
        weight_ih, bias = weight_ih * scale[:, None], bias * scale
    steps, batch, width = x.shape
    flat = np.dot(x.reshape(steps * batch, width), weight_ih.T).astype(dtype, copy=False)
    flat += bias
    return flat.reshape(steps, batch, -1)


BLOCK = 1 << 16     # elements: what a block of steps may hold to stay in cache


def _transposed(weight: np.ndarray, batch: int, scale: np.ndarray | None = None) -> np.ndarray:
    """W^T (times `scale` per column) for the product h W^T at every step.

    A C-ordered copy makes each product faster; only for a single row (a
    matrix-vector product) with a large W is the transposed view about as
    fast, and the copy would cost more than it saves.
    """
    copy = batch > 1 or weight.size <= BLOCK
    if scale is None:
        return weight.T.copy() if copy else weight.T
    return np.multiply(weight.T, scale, order="C" if copy else "K")


def _blocks(steps: int, per_step: int) -> list[tuple[int, int]]:
    """(start, stop) blocks of steps, last block first, each holding about BLOCK elements.

    Work done for all steps at once costs few numpy calls when the steps are small;
    done a block at a time, its arrays also stay in cache when they are large.
    """
    size = max(1, BLOCK // max(1, per_step))
    return [(max(0, stop - size), stop) for stop in range(steps, 0, -size)]


def _rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


def _sigmoid_scale(hidden: int, gates: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-column scale s and offset b with σ(a) = 0.5 tanh(0.5 a) + 0.5 and tanh(a) = 1 tanh(1 a) + 0.

    `gates` names each gate block, "s" for a sigmoid and "t" for a tanh: with
    a' = s a, the activations are s tanh(a') + b, one tanh call for all gates.
    Scaling by 0.5 is exact in floating point.
    """
    sigmoid = np.repeat([kind == "s" for kind in gates], hidden)
    return np.where(sigmoid, 0.5, 1.0).astype(dtype), np.where(sigmoid, 0.5, 0.0).astype(dtype)


def _activate(a: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Each gate's activation in place (σ or tanh, see `_sigmoid_scale`), for a already times `scale`."""
    np.tanh(a, a)
    a *= scale
    a += offset
    return a


def _weight_grads(d_in: np.ndarray, d_rec: np.ndarray, x: np.ndarray, h_prev: np.ndarray):
    """dL/dW_ih = da^T x and dL/dW_hh = da_h^T h, kept as factors for the pass's stacked product."""
    shared = d_rec is d_in          # one array: stacked once for both weights
    d_in = _rows(d_in)
    d_rec = d_in if shared else _rows(d_rec)
    return StackedProducts(d_in, _rows(x)), StackedProducts(d_rec, _rows(h_prev))


def _recurrent_weight_grad(d_rec: np.ndarray, h0: Tensor, hs: np.ndarray):
    """dL/dW_hh = sum_t da_h,t^T h_(t-1) over a sequence: one product over h_1 .. h_(T-1) (views of
    the saved states, nothing copied), plus h_0's term when h_0 is not zero."""
    product = StackedProducts(_rows(d_rec[1:]), _rows(hs[:-1]))
    if not h0._data.any():
        return product
    return product.materialise() + np.dot(d_rec[0].T, h0._data)


def _operands(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grads) -> list:
    """(tensor, rule) pairs of a cell's inputs, each rule reading its slot of `grads(g)`:
    (dx, dh, dW_ih, dW_hh, db_ih, db_hh)."""
    return [(x, lambda g: grads(g)[0]), (h, lambda g: grads(g)[1]),
            (weight_ih, lambda g: grads(g)[2]), (weight_hh, lambda g: grads(g)[3]),
            (bias_ih, lambda g: grads(g)[4]), (bias_hh, lambda g: grads(g)[5])]


# ---- step marks: one box per step in drawings -------------------------------------------------

def _attach_marks(out: Tensor, states: list[tuple[str, np.ndarray, Tensor]],
                  below: dict | None) -> dict[str, list[Node]]:
    """Chain one mark per state per step behind the sequence node `out`: label -> marks of t = 1..T.

    `states` lists (label, values (T, B, H), initial state tensor), the cell
    state before the hidden state (c_t is made first, then h_t from it).
    `below` holds the marks of the layer underneath, whose h_t feeds step t.
    """
    node = out._node
    if node is None:
        return {}
    op, dtype, shape = node.op, node.dtype, states[0][1].shape[1:]
    labels = [label for label, _, _ in states]
    marks = {label: [] for label in labels}
    previous = tuple(initial._node for _, _, initial in states if initial._node is not None)
    under = below["h"] if below else None
    for step in range(1, len(states[0][1]) + 1):
        feeds = previous if under is None else previous + (under[step - 1],)
        for label in labels:
            mark = Node(op, MARK, feeds, None, shape, dtype)
            mark.label, mark.step = label, step
            marks[label].append(mark)
            feeds = (mark,)
        previous = feeds if len(labels) == 1 else tuple(marks[label][-1] for label in labels)
    if np.prod(shape) <= 4:                 # tiny states show their values in drawings
        for label, values, _ in states:
            for mark, value in zip(marks[label], values):
                mark.value = value
    node.inputs += (marks["h"][-1],)
    node.rules += (None,)       # never called: the backward pass does not differentiate marks
    return marks


def _give_mark_grads(marks: list[Node], grads: np.ndarray) -> None:
    """Hand dL/d(state at step t) to the marks; under detect_anomaly, name the step where a NaN or
    inf appears (the latest bad step: the backward pass runs from t = T down)."""
    for mark, grad in zip(marks, grads):
        mark.grad = grad
    if marks and state.anomaly and not np.isfinite(grads).all():
        from ..anomaly import check_backward
        finite = np.isfinite(grads).reshape(len(grads), -1).all(axis=1)
        t = len(finite) - 1 - int(np.argmin(finite[::-1]))
        check_backward(marks[t], grads[t])


def _check_steps(op: str, values: np.ndarray, inputs: list) -> None:
    """Under detect_anomaly, name the first step whose forward values are not finite."""
    if state.anomaly and not np.isfinite(values).all():
        from ..anomaly import check_forward
        t = int(np.argmin(np.isfinite(values).reshape(len(values), -1).all(axis=1)))
        with at_step(t + 1):
            check_forward(op, values[t], tuple(i.shape for i in inputs if i is not None))


# ---- RNN: h' = act(a) -------------------------------------------------------------------------

def _relu_into(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0, out=out)


def _act_grad(h: np.ndarray, nonlinearity: str, out: np.ndarray | None = None) -> np.ndarray:
    """act'(a) from h = act(a), written into `out`:  tanh' = 1 - h^2;  relu' = 1 where h > 0."""
    if nonlinearity == "relu":
        if out is None:
            return (h > 0).astype(h.dtype)
        np.copyto(out, h > 0)
        return out
    out = np.multiply(h, h, out=out)
    return np.subtract(1, out, out=out)


def rnn_cell(x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
             bias_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    """h' = act(a), a = x W_ih^T + b_ih + h W_hh^T + b_hh, as one node.

    Backward: da = g * act'(a); the shared formulas above give the rest.
    """
    x, X = _kept_input(x)
    H, W_ih, W_hh = h._data, weight_ih._data, weight_hh._data
    pre = np.dot(X, W_ih.T).astype(np.result_type(X, H, W_ih, W_hh), copy=False)
    pre += np.dot(H, W_hh.T)
    pre += _bias_sum(bias_ih, bias_hh)
    out = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)

    def backward(g):
        da = g * _act_grad(out, nonlinearity)
        return (_input_grad(x, da, W_ih), np.dot(da, W_hh), *_weight_grads(da, da, X, H), da, da)

    grads = once_per_pass(backward)
    return _record("rnn_cell", out, _operands(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grads)).named("h")


def rnn_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                 bias_hh: Tensor | None, nonlinearity: str = "tanh",
                 below: dict | None = None) -> tuple[Tensor, Tensor, dict]:
    """h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) for t = 1..T, as one node (T, B, H).

    Backward (BPTT), from t = T down to 1, with dh_T+1 = 0 through the recurrence:
        dh_t = g_t + da_(t+1) W_hh,   da_t = dh_t * act'(a_t);   dL/dh_0 = da_1 W_hh.
    Returns (h_1 .. h_T, h_T, the step marks); `below` is the marks of the layer underneath.
    """
    x, X = _kept_input(x)
    W_ih, W_hh = weight_ih._data, weight_hh._data
    steps, batch, _ = X.shape
    dtype = np.result_type(X, h0._data, W_ih, W_hh)
    pre = _project(X, W_ih, _bias_sum(bias_ih, bias_hh), dtype)
    hs = np.empty((steps,) + h0.shape, dtype)           # h_1 .. h_T, a fresh array of its own
    act, dot, w_hh_t = (np.tanh if nonlinearity == "tanh" else _relu_into), np.dot, _transposed(W_hh, batch)
    h = h0._data
    for a, h_next in zip(pre, hs):                      # the recurrence, nothing else, per step
        a += dot(h, w_hh_t)
        h = act(a, h_next)
    _check_steps("rnn_sequence", hs, [x, h0])
    marks = {}                                          # filled once the node exists

    def backward(g):
        da = _act_grad(hs, nonlinearity, pre)           # act'(a_t), times dh_t step by step (in `pre`,
                                                        # which the forward pass no longer needs)
        dh_all = np.empty_like(hs)
        dh_next = 0
        for g_t, dh, da_t in zip(g[::-1], dh_all[::-1], da[::-1]):     # t = T .. 1
            np.add(g_t, dh_next, dh)
            da_t *= dh
            dh_next = dot(da_t, W_hh)
        _give_mark_grads(marks.get("h", []), dh_all)
        bias = _rows(da).sum(axis=0)
        dx = _input_grad(x, da, W_ih)
        return (dx, dh_next, StackedProducts(_rows(da), _rows(X)), _recurrent_weight_grad(da, h0, hs),
                bias, bias)

    grads = once_per_pass(backward)
    out = _record("rnn_sequence", hs, _operands(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grads))
    marks.update(_attach_marks(out, [("h", hs, h0)], below))
    return out, out[steps - 1], marks


# ---- LSTM: gates i, f, g, o;  c' = f c + i g,  h' = o tanh(c') ---------------------------------

LSTM_GATES = "ssts"         # i, f: sigmoid; g: tanh; o: sigmoid


def _lstm_factors(gates: np.ndarray, tanh_c: np.ndarray, factors: np.ndarray,
                  factor_dc: np.ndarray) -> None:
    """Write what the backward multiplies by, from the saved activations (any leading axes):

        dc = dc' (from later steps) + dh * factor_dc,        factor_dc = o (1 - tanh(c')^2)
        da = [dc, dc * c, dc, dh] * factors (per gate),      factors = [g σ'(a_i), σ'(a_f), i (1 - g^2),
                                                                        tanh(c') σ'(a_o)]   (…, 4, H)
    and dc * f carries on to the step before. The caller multiplies the f block by c, the previous
    cell state. Everything is computed in place: no temporaries as large as the sequence.
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
              bias_ih: Tensor | None, bias_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """(h', c') as one node holding both, shape (2, B, H), read out by slices labelled "h" and "c".

    Backward, with g = (dh', dc'): the factors in `_lstm_factors`; dL/dc = dc * f.
    """
    h, c = state
    x, X = _kept_input(x)
    H, C, W_ih, W_hh = h._data, c._data, weight_ih._data, weight_hh._data
    hidden = W_hh.shape[1]
    dtype = np.result_type(X, H, C, W_ih, W_hh)
    scale, offset = _sigmoid_scale(hidden, LSTM_GATES, dtype)
    gates = np.dot(X, W_ih.T).astype(dtype, copy=False)
    gates += np.dot(H, W_hh.T)
    gates += _bias_sum(bias_ih, bias_hh)
    gates *= scale
    i, f, g, o = np.split(_activate(gates, scale, offset), 4, axis=-1)
    out = np.empty((2,) + H.shape, dtype)
    c_next = np.add(f * C, i * g, out[1])
    tanh_c = np.tanh(c_next)
    np.multiply(o, tanh_c, out[0])

    def backward(grad):
        factors, factor_dc = np.empty(H.shape[:-1] + (4, hidden), dtype), np.empty_like(H)
        _lstm_factors(gates, tanh_c, factors, factor_dc)
        factors[..., 1, :] *= C
        dh, dc = grad[0], grad[1] + grad[0] * factor_dc
        factors[..., :3, :] *= dc[..., None, :]
        factors[..., 3, :] *= dh
        da = factors.reshape(H.shape[:-1] + (4 * hidden,))
        d_state = np.stack([np.dot(da, W_hh), dc * f])     # (dL/dh, dL/dc) side by side
        return (_input_grad(x, da, W_ih), d_state, *_weight_grads(da, da, X, H), da, da)

    grads = once_per_pass(backward)
    operands = _operands(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grads)
    operands.insert(2, (c, lambda grad: grads(grad)[1][1]))
    operands[1] = (h, lambda grad: grads(grad)[1][0])
    both = _record("lstm_cell", out, operands)
    return both[0].named("h"), both[1].named("c")


def lstm_sequence(x: Tensor, h0: Tensor, c0: Tensor, weight_ih: Tensor, weight_hh: Tensor,
                  bias_ih: Tensor | None, bias_hh: Tensor | None,
                  below: dict | None = None) -> tuple[Tensor, tuple[Tensor, Tensor], dict]:
    """Every step's (h_t, c_t) as one node of shape (2, T, B, H): [0] the h's, [1] the c's.

    Backward (BPTT), t = T down to 1, with g = (g_h, g_c) and the factors of `_lstm_factors`:
        dh_t = g_h,t + da_(t+1) W_hh,   dc_t = g_c,t + dc_(t+1) f_(t+1) + dh_t * factor_dc,t,
        da_t = [dc_t, dc_t, dc_t, dh_t] * factors_t (per gate);   dL/dh_0 = da_1 W_hh, dL/dc_0 = dc_1 f_1.
    Returns (h_1 .. h_T, (h_T, c_T), the step marks); `below` is the marks of the layer underneath.
    """
    x, X = _kept_input(x)
    H0, C0, W_ih, W_hh = h0._data, c0._data, weight_ih._data, weight_hh._data
    steps, batch, _ = X.shape
    hidden = W_hh.shape[1]
    dtype = np.result_type(X, H0, C0, W_ih, W_hh)
    scale, offset = _sigmoid_scale(hidden, LSTM_GATES, dtype)
    gates = _project(X, W_ih, _bias_sum(bias_ih, bias_hh), dtype, scale)
    w_hh_t = _transposed(W_hh, batch, scale)
    out = np.empty((2, steps) + H0.shape, dtype)
    hs, cs = out[0], out[1]
    tanh_c = np.empty_like(hs)
    by_gate = gates.reshape(steps, batch, 4, hidden)
    dot, tanh, multiply = np.dot, np.tanh, np.multiply
    h, c = H0, C0
    for a, i, f, g, o, c_next, tanh_c_next, h_next in zip(          # per step: the recurrence only
            gates, *(by_gate[:, :, k] for k in range(4)), cs, tanh_c, hs):
        a += dot(h, w_hh_t)
        _activate(a, scale, offset)
        c = multiply(f, c, c_next)
        c += i * g
        h = multiply(o, tanh(c, tanh_c_next), h_next)
    _check_steps("lstm_sequence", out.swapaxes(0, 1), [x, h0, c0])
    marks = {}                                          # filled once the node exists

    def backward(grad):
        da = np.empty((steps, batch, 4, hidden), dtype)         # the factors, times dc, dh step by step
        dh_all, dc_all = np.empty_like(hs), np.empty_like(cs)    # dc_all starts as factor_dc
        dh_next = dc_next = 0
        for start, stop in _blocks(steps, gates[0].size):
            _lstm_factors(gates[start:stop], tanh_c[start:stop], da[start:stop], dc_all[start:stop])
            da[start + 1:stop, :, 1] *= cs[start:stop - 1]
            da[start, :, 1] *= C0 if start == 0 else cs[start - 1]
            back = slice(stop - 1, start - 1 if start else None, -1)                 # t = stop .. start + 1
            for g_h, g_c, dh, dc, dc_by_gate, forget, da_t in zip(
                    grad[0][back], grad[1][back], dh_all[back], dc_all[back], dc_all[back, :, None],
                    by_gate[back, :, 1], da[back]):
                np.add(g_h, dh_next, dh)
                dc *= dh
                dc += dc_next
                dc += g_c
                da_t[:, :3] *= dc_by_gate
                da_t[:, 3] *= dh
                dh_next = dot(da_t.reshape(batch, -1), W_hh)
                dc_next = dc * forget
        _give_mark_grads(marks.get("h", []), dh_all)
        _give_mark_grads(marks.get("c", []), dc_all)
        da = da.reshape(steps, batch, -1)
        bias = _rows(da).sum(axis=0)
        dx = _input_grad(x, da, W_ih)
        return (dx, (dh_next, dc_next), StackedProducts(_rows(da), _rows(X)),
                _recurrent_weight_grad(da, h0, hs), bias, bias)

    grads = once_per_pass(backward)
    operands = _operands(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grads)
    operands[1] = (h0, lambda grad: grads(grad)[1][0])
    operands.insert(2, (c0, lambda grad: grads(grad)[1][1]))
    both = _record("lstm_sequence", out, operands)
    marks.update(_attach_marks(both, [("c", cs, c0), ("h", hs, h0)], below))
    output = both[0]
    return output, (output[steps - 1], both[1, steps - 1]), marks


# ---- GRU: r, z = σ(...);  n = tanh(a_n + r * (W_hn h + b_hn));  h' = n + z (h - n) ------------

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
             bias_hh: Tensor | None) -> Tensor:
    """h' = n + z (h - n) = (1 - z) n + z h, as one node; gradients as in `_gru_factors`."""
    x, X = _kept_input(x)
    H, W_ih, W_hh = h._data, weight_ih._data, weight_hh._data
    hidden = W_hh.shape[1]
    dtype = np.result_type(X, H, W_ih, W_hh)
    from_x = np.dot(X, W_ih.T).astype(dtype, copy=False)
    from_h = np.dot(H, W_hh.T).astype(dtype, copy=False)
    if bias_ih is not None:
        from_x += bias_ih._data
        from_h += bias_hh._data
    scale, offset = _sigmoid_scale(hidden, "ss", dtype)
    rz = np.tanh(scale * (from_x[..., :2 * hidden] + from_h[..., :2 * hidden])) * scale + offset
    h_n = from_h[..., 2 * hidden:]
    n = np.tanh(from_x[..., 2 * hidden:] + rz[..., :hidden] * h_n)
    out = n + rz[..., hidden:] * (H - n)

    def backward(g):
        factors, d_n = np.empty(H.shape[:-1] + (3, hidden), dtype), np.empty_like(H)
        _gru_factors(rz, n, h_n, factors, d_n)
        factors[..., 1, :] *= H - n
        factors *= g[..., None, :]
        da_h = factors.reshape(H.shape[:-1] + (3 * hidden,))
        da_x = da_h.copy()
        da_x[..., 2 * hidden:] = g * d_n
        z = rz[..., hidden:]
        return (_input_grad(x, da_x, W_ih), g * z + np.dot(da_h, W_hh), *_weight_grads(da_x, da_h, X, H),
                da_x, da_h)

    grads = once_per_pass(backward)
    return _record("gru_cell", out, _operands(x, h, weight_ih, weight_hh, bias_ih, bias_hh, grads)).named("h")


def gru_sequence(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                 bias_hh: Tensor | None, below: dict | None = None) -> tuple[Tensor, Tensor, dict]:
    """h_1 .. h_T of a GRU layer as one node (T, B, H).

    Backward (BPTT), t = T down to 1, with the factors of `_gru_factors`:
        dh_t = g_t + dh_(t+1) z_(t+1) + da_h,(t+1) W_hh,   da_h,t = dh_t * factors_t (per gate),
        x's part: da_x,t = da_h,t with its n block dh_t * d_n,t.
    Returns (h_1 .. h_T, h_T, the step marks); `below` is the marks of the layer underneath.
    """
    x, X = _kept_input(x)
    H0, W_ih, W_hh = h0._data, weight_ih._data, weight_hh._data
    steps, batch, _ = X.shape
    hidden = W_hh.shape[1]
    dtype = np.result_type(X, H0, W_ih, W_hh)
    scale, offset = _sigmoid_scale(hidden, "sst", dtype)
    bias = 0                                            # b_ih, plus b_hh's r and z parts (b_hn waits for r)
    if bias_ih is not None:
        bias = bias_ih._data + np.concatenate([bias_hh._data[:2 * hidden], np.zeros(hidden, dtype)])
    from_x = _project(X, W_ih, bias, dtype, scale)      # (T, B, 3H): x W_ih^T + b_ih (+ b_hr, b_hz)
    w_hh_t = _transposed(W_hh, batch, scale)
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
        _activate(add(x_rz, from_h[:, :2 * hidden], gate), scale, offset)
        multiply(r, add(from_h[:, 2 * hidden:], b_hn, h_n_t), n)
        n += x_n
        tanh(n, n)
        np.subtract(h, n, h_next)
        h_next *= z
        h = add(h_next, n, h_next)
    _check_steps("gru_sequence", hs, [x, h0])
    marks = {}                                          # filled once the node exists

    def backward(g):
        da_h = np.empty((steps, batch, 3, hidden), dtype)       # the factors, times dh step by step
        da_x = np.empty((steps, batch, 3 * hidden), dtype)
        d_n = da_x[..., 2 * hidden:]                            # x's n block: d_n, times dh at the end
        _gru_factors(rz, n_s, h_n, da_h, d_n)
        dh_all = np.empty_like(hs)                              # first h_(t-1) - n_t, then dh_t
        np.subtract(hs[:-1], n_s[1:], out=dh_all[1:])
        np.subtract(H0, n_s[0], out=dh_all[0])
        da_h[:, :, 1] *= dh_all
        dh_next = 0
        for g_t, dh, dh_by_gate, z_t, da_t in zip(                                   # t = T .. 1
                g[::-1], dh_all[::-1], dh_all[:, :, None][::-1], rz[..., hidden:][::-1], da_h[::-1]):
            add(g_t, dh_next, dh)
            da_t *= dh_by_gate
            dh_next = dot(da_t.reshape(batch, -1), W_hh)
            dh_next += dh * z_t
        _give_mark_grads(marks.get("h", []), dh_all)
        da_h = da_h.reshape(steps, batch, -1)
        da_x[..., :2 * hidden] = da_h[..., :2 * hidden]
        d_n *= dh_all
        dx = _input_grad(x, da_x, W_ih)
        return (dx, dh_next, StackedProducts(_rows(da_x), _rows(X)), _recurrent_weight_grad(da_h, h0, hs),
                _rows(da_x).sum(axis=0), _rows(da_h).sum(axis=0))

    grads = once_per_pass(backward)
    out = _record("gru_sequence", hs, _operands(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, grads))
    marks.update(_attach_marks(out, [("h", hs, h0)], below))
    return out, out[steps - 1], marks
