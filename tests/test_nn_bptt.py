"""Backpropagation through time in `mg.nn`, checked against hand-written numpy.

The references here do not use the library: the vanilla RNN, the LSTM, the GRU and
the ReLU RNN with biases are differentiated by hand (the backward recurrences are
derived in comments), the cells' forward passes are the formulas of docs/api.md written in numpy, and parameter
gradients are compared with central finite differences computed in the test.
Everything runs in float64 so that agreement can be asked for to 1e-10.
"""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.functional import cross_entropy


pytestmark = pytest.mark.usefixtures("float64_default")   # every test here builds float64 tensors


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


# ---- the textbook vanilla RNN, by hand ---------------------------------------------
#
#   s_t = tanh(U x_t + W s_{t-1}),  s_0 = 0
#   y_hat_t = softmax(V s_t)
#   E = sum_t E_t,  E_t = -log y_hat_t[target_t]   (cross-entropy against one-hot y_t)
#
# Backward. Write o_t = V s_t and a_t = U x_t + W s_{t-1}.
#   dE/do_t = y_hat_t - y_t                       (softmax + cross-entropy)
#   dE/dV   = sum_t (y_hat_t - y_t) ⊗ s_t
# s_t influences E through o_t and through a_{t+1} = U x_{t+1} + W s_t, so
#   dE/ds_t = V^T (y_hat_t - y_t) + W^T delta_{t+1}      (delta_{T+1} = 0)
#   delta_t = dE/da_t = dE/ds_t * (1 - s_t^2)            (tanh' = 1 - tanh^2)
# and W, U are shared by every step, so their gradients sum the steps:
#   dE/dW = sum_t delta_t ⊗ s_{t-1},   dE/dU = sum_t delta_t ⊗ x_t


def vanilla_rnn_bptt(xs, targets, U, W, V):
    """(E, dE/dU, dE/dW, dE/dV, per-step contributions delta_t ⊗ s_{t-1} to dE/dW)."""
    steps, hidden = len(xs), W.shape[0]
    s = [np.zeros(hidden)]
    y_hat = []
    for t in range(steps):
        s.append(np.tanh(U @ xs[t] + W @ s[-1]))
        y_hat.append(softmax(V @ s[-1]))
    E = -sum(np.log(y_hat[t][targets[t]]) for t in range(steps))

    dU, dW, dV = np.zeros_like(U), np.zeros_like(W), np.zeros_like(V)
    contributions = [None] * steps
    delta_next = np.zeros(hidden)
    for t in reversed(range(steps)):
        d_o = y_hat[t].copy()
        d_o[targets[t]] -= 1.0                       # y_hat_t - y_t
        dV += np.outer(d_o, s[t + 1])
        d_s = V.T @ d_o + W.T @ delta_next
        delta = d_s * (1.0 - s[t + 1] ** 2)
        contributions[t] = np.outer(delta, s[t])     # s[t] is s_{t-1}: s[0] = s_0
        dW += contributions[t]
        dU += np.outer(delta, xs[t])
        delta_next = delta
    return E, dU, dW, dV, contributions


VOCAB, HIDDEN, STEPS = 8, 6, 30


@pytest.fixture
def vanilla_problem():
    """One-hot inputs over a vocabulary, targets, and U, W, V."""
    rng = np.random.default_rng(0)
    words = rng.integers(0, VOCAB, size=STEPS)
    xs = np.eye(VOCAB)[words]
    targets = rng.integers(0, VOCAB, size=STEPS)
    U = rng.uniform(-0.5, 0.5, (HIDDEN, VOCAB))
    W = rng.uniform(-0.5, 0.5, (HIDDEN, HIDDEN))
    V = rng.uniform(-0.5, 0.5, (VOCAB, HIDDEN))
    return xs, targets, U, W, V


def assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_rnn_cell_unrolled_30_steps_matches_hand_derived_bptt(vanilla_problem):
    """RNNCell + Linear unrolled over 30 steps give the textbook dE/dU, dE/dW, dE/dV."""
    xs, targets, U, W, V = vanilla_problem
    cell = mg.nn.RNNCell(VOCAB, HIDDEN, bias=False)
    readout = mg.nn.Linear(HIDDEN, VOCAB, bias=False)
    cell.load_state_dict({"weight_ih": U, "weight_hh": W})
    readout.load_state_dict({"weight": V})

    h, loss = None, None
    for t in range(STEPS):
        h = cell(xs[t][None, :], h)
        step_loss = cross_entropy(readout(h), np.array([targets[t]]), reduction="sum")
        loss = step_loss if loss is None else loss + step_loss
    loss.backward()

    E, dU, dW, dV, _ = vanilla_rnn_bptt(xs, targets, U, W, V)
    assert_close(loss.item(), E)
    assert_close(cell.weight_ih.grad, dU)
    assert_close(cell.weight_hh.grad, dW)
    assert_close(readout.weight.grad, dV)


def test_rnn_layer_matches_hand_derived_bptt(vanilla_problem):
    """The same network through mg.nn.RNN over x of shape (30, 1, I) gives the same gradients."""
    xs, targets, U, W, V = vanilla_problem
    rnn = mg.nn.RNN(VOCAB, HIDDEN, bias=False)
    readout = mg.nn.Linear(HIDDEN, VOCAB, bias=False)
    rnn.load_state_dict({"weight_ih_l0": U, "weight_hh_l0": W})
    readout.load_state_dict({"weight": V})

    output, _ = rnn(xs[:, None, :])
    logits = readout(output.reshape(STEPS, HIDDEN))
    loss = cross_entropy(logits, targets, reduction="sum")
    loss.backward()

    E, dU, dW, dV, _ = vanilla_rnn_bptt(xs, targets, U, W, V)
    assert_close(loss.item(), E)
    assert_close(rnn.weight_ih_l0.grad, dU)
    assert_close(rnn.weight_hh_l0.grad, dW)
    assert_close(readout.weight.grad, dV)


def test_shared_weight_gradient_is_the_sum_of_per_step_contributions(vanilla_problem):
    """weight_hh.grad = sum_t delta_t ⊗ h_{t-1}: each step adds its own outer product."""
    # To see the parts, the network is unrolled with a separate copy W_t of the
    # recurrent weight at every step (same values). The copy used at step t
    # receives exactly that step's contribution outer(delta_t, h_{t-1}) from the
    # hand-written backward; the shared weight_hh of an RNNCell receives their
    # sum. With h_0 = 0 the first step contributes nothing.
    xs, targets, U, W, V = vanilla_problem
    _, _, _, _, contributions = vanilla_rnn_bptt(xs, targets, U, W, V)

    u_leaf = mg.tensor(U, requires_grad=True)
    v_leaf = mg.tensor(V, requires_grad=True)
    copies = [mg.tensor(W, requires_grad=True) for _ in range(STEPS)]
    h = mg.zeros((1, HIDDEN))
    loss = None
    for t in range(STEPS):
        h = (mg.tensor(xs[t][None, :]) @ u_leaf.T + h @ copies[t].T).tanh()
        step_loss = cross_entropy(h @ v_leaf.T, np.array([targets[t]]), reduction="sum")
        loss = step_loss if loss is None else loss + step_loss
    loss.backward()
    for t in range(STEPS):
        assert_close(copies[t].grad, contributions[t])
    np.testing.assert_array_equal(contributions[0], np.zeros((HIDDEN, HIDDEN)))

    cell = mg.nn.RNNCell(VOCAB, HIDDEN, bias=False)
    cell.load_state_dict({"weight_ih": U, "weight_hh": W})
    h, loss = None, None
    for t in range(STEPS):
        h = cell(xs[t][None, :], h)
        step_loss = cross_entropy(h @ v_leaf.T, np.array([targets[t]]), reduction="sum")
        loss = step_loss if loss is None else loss + step_loss
    loss.backward()
    assert_close(cell.weight_hh.grad, np.sum(contributions, axis=0))


# ---- LSTM, by hand -----------------------------------------------------------------
#
# Forward, per step (rows of the weights in PyTorch's order i, f, g, o):
#   a = x W_ih^T + b_ih + h W_hh^T + b_hh = [a_i | a_f | a_g | a_o]
#   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
#   c' = f * c + i * g,   h' = o * tanh(c')
# Backward, given dh' (from the loss at this step and from step t+1) and dc'
# (carried from step t+1):
#   do = dh' * tanh(c')
#   dc = dc' + dh' * o * (1 - tanh(c')^2)
#   di = dc * g,  df = dc * c,  dg = dc * i,   carried to step t-1: dc * f
#   da = [di σ'(.), df σ'(.), dg (1 - g^2), do σ'(.)]  with σ' = s (1 - s)
#   dW_ih += da^T x,  dW_hh += da^T h,  db_ih = db_hh += sum over the batch of da
#   dx = da W_ih,  carried to step t-1: dh = da W_hh


def lstm_reference(xs, h0, c0, w_ih, w_hh, b_ih, b_hh, step_weights, final_h_weight, final_c_weight):
    """Loss sum_t sum(h_t R_t) + sum(h_T R) + sum(c_T Q) and its gradients, by hand."""
    hidden = h0.shape[1]
    h, c = h0, c0
    cache, hs = [], []
    for x in xs:
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f = sigmoid(a[:, :hidden]), sigmoid(a[:, hidden:2 * hidden])
        g, o = np.tanh(a[:, 2 * hidden:3 * hidden]), sigmoid(a[:, 3 * hidden:])
        c_next = f * c + i * g
        tanh_c = np.tanh(c_next)
        cache.append((x, h, c, i, f, g, o, tanh_c))
        h, c = o * tanh_c, c_next
        hs.append(h)
    loss = (sum(np.sum(h_t * r) for h_t, r in zip(hs, step_weights))
            + np.sum(h * final_h_weight) + np.sum(c * final_c_weight))

    grads = dict(weight_ih=np.zeros_like(w_ih), weight_hh=np.zeros_like(w_hh),
                 bias_ih=np.zeros_like(b_ih), bias_hh=np.zeros_like(b_hh))
    dxs = [None] * len(xs)
    dh_carry, dc_carry = final_h_weight.copy(), final_c_weight.copy()
    for t in reversed(range(len(xs))):
        x, h_prev, c_prev, i, f, g, o, tanh_c = cache[t]
        dh = dh_carry + step_weights[t]
        d_o = dh * tanh_c
        dc = dc_carry + dh * o * (1 - tanh_c ** 2)
        d_i, d_f, d_g = dc * g, dc * c_prev, dc * i
        da = np.concatenate([d_i * i * (1 - i), d_f * f * (1 - f),
                             d_g * (1 - g ** 2), d_o * o * (1 - o)], axis=1)
        grads["weight_ih"] += da.T @ x
        grads["weight_hh"] += da.T @ h_prev
        grads["bias_ih"] += da.sum(axis=0)
        grads["bias_hh"] += da.sum(axis=0)
        dxs[t] = da @ w_ih
        dh_carry, dc_carry = da @ w_hh, dc * f
    return loss, grads, np.stack(dxs), dh_carry, dc_carry


def test_lstm_cell_chain_matches_hand_derived_backward():
    """Five LSTMCell steps on a batch of 2: loss, parameter, input and initial-state grads by hand."""
    rng = np.random.default_rng(1)
    steps, batch, inputs, hidden = 5, 2, 3, 4
    cell = mg.nn.LSTMCell(inputs, hidden, rng=rng)
    weights = cell.state_dict()
    xs = rng.normal(size=(steps, batch, inputs))
    h0, c0 = rng.normal(size=(batch, hidden)), rng.normal(size=(batch, hidden))
    step_weights = rng.normal(size=(steps, batch, hidden))
    final_h_weight, final_c_weight = rng.normal(size=(batch, hidden)), rng.normal(size=(batch, hidden))

    x = mg.tensor(xs, requires_grad=True)
    h, c = mg.tensor(h0, requires_grad=True), mg.tensor(c0, requires_grad=True)
    state, loss = (h, c), None
    for t in range(steps):
        state = cell(x[t], state)
        term = (state[0] * step_weights[t]).sum()
        loss = term if loss is None else loss + term
    loss = loss + (state[0] * final_h_weight).sum() + (state[1] * final_c_weight).sum()
    loss.backward()

    want_loss, want, dx, dh0, dc0 = lstm_reference(
        xs, h0, c0, weights["weight_ih"], weights["weight_hh"], weights["bias_ih"], weights["bias_hh"],
        step_weights, final_h_weight, final_c_weight)
    assert_close(loss.item(), want_loss)
    for name, parameter in cell.named_parameters():
        assert_close(parameter.grad, want[name])
    assert_close(x.grad, dx)
    assert_close(h.grad, dh0)
    assert_close(c.grad, dc0)


def test_lstm_layer_matches_hand_derived_backward():
    """mg.nn.LSTM over the whole sequence gives the same gradients as the hand-written backward."""
    rng = np.random.default_rng(2)
    steps, batch, inputs, hidden = 5, 2, 3, 4
    lstm = mg.nn.LSTM(inputs, hidden, rng=rng)
    weights = lstm.state_dict()
    xs = rng.normal(size=(steps, batch, inputs))
    h0, c0 = rng.normal(size=(batch, hidden)), rng.normal(size=(batch, hidden))
    step_weights = rng.normal(size=(steps, batch, hidden))
    final_h_weight, final_c_weight = rng.normal(size=(batch, hidden)), rng.normal(size=(batch, hidden))

    output, (h_n, c_n) = lstm(xs, (h0[None], c0[None]))
    loss = ((output * step_weights).sum() + (h_n * final_h_weight[None]).sum()
            + (c_n * final_c_weight[None]).sum())
    loss.backward()

    want_loss, want, _, _, _ = lstm_reference(
        xs, h0, c0, weights["weight_ih_l0"], weights["weight_hh_l0"], weights["bias_ih_l0"],
        weights["bias_hh_l0"], step_weights, final_h_weight, final_c_weight)
    assert_close(loss.item(), want_loss)
    for name, parameter in lstm.named_parameters():
        assert_close(parameter.grad, want[name.removesuffix("_l0")])


# ---- GRU, by hand ------------------------------------------------------------------
#
# Forward, per step (rows of the weights in PyTorch's order r, z, n):
#   gi = x W_ih^T + b_ih = [gi_r | gi_z | gi_n],   gh = h W_hh^T + b_hh = [gh_r | gh_z | gh_n]
#   r = σ(gi_r + gh_r),  z = σ(gi_z + gh_z)
#   n = tanh(gi_n + r * gh_n),   gh_n = W_hn h + b_hn   (b_hn is inside r * (...), as PyTorch)
#   h' = (1 - z) * n + z * h
# Loss: sum_t sum(h_t * R_t) + sum(h_T * F).
# Backward, given dh' (R_t, plus what step t+1 sends back, plus F at t = T):
#   dn = dh' * (1 - z),   dz = dh' * (h - n)
#   da_n = dn * (1 - n^2)                      (n's pre-activation gi_n + r * gh_n)
#   dgi_n = da_n                               (x's part of n's block)
#   dr = da_n * gh_n,   dgh_n = da_n * r       (through r * (W_hn h + b_hn): b_hn's gradient has r in it)
#   da_r = dr σ'(.),  da_z = dz σ'(.)          (σ' = s (1 - s); r's and z's pre-activations are
#                                               plain sums, so gi and gh get the same da_r, da_z)
#   dgi = [da_r | da_z | da_n],   dgh = [da_r | da_z | dgh_n]
#   dW_ih += dgi^T x,  db_ih += sum over the batch of dgi,  dx = dgi W_ih
#   dW_hh += dgh^T h,  db_hh += sum over the batch of dgh
# h reaches h' along three paths, so the gradient carried to step t-1 is
#   dh = dh' * z                               (directly, through z * h)
#      + da_r W_hr + da_z W_hz                 (through the gates r and z)
#      + dgh_n W_hn                            (through n's r * (W_hn h + b_hn))


def gru_reference(xs, h0, w_ih, w_hh, b_ih, b_hh, step_weights, final_weight):
    """Loss sum_t sum(h_t R_t) + sum(h_T F), its gradients by hand, dL/dx_t (T, B, I) and dL/dh_0."""
    hidden = h0.shape[1]
    w_hr, w_hz, w_hn = w_hh[:hidden], w_hh[hidden:2 * hidden], w_hh[2 * hidden:]
    h, cache, hs = h0, [], []
    for x in xs:
        gi = x @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        r = sigmoid(gi[:, :hidden] + gh[:, :hidden])
        z = sigmoid(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
        gh_n = gh[:, 2 * hidden:]                    # W_hn h + b_hn
        n = np.tanh(gi[:, 2 * hidden:] + r * gh_n)
        cache.append((x, h, r, z, n, gh_n))
        h = (1 - z) * n + z * h
        hs.append(h)
    loss = sum(np.sum(h_t * w) for h_t, w in zip(hs, step_weights)) + np.sum(h * final_weight)

    grads = dict(weight_ih=np.zeros_like(w_ih), weight_hh=np.zeros_like(w_hh),
                 bias_ih=np.zeros_like(b_ih), bias_hh=np.zeros_like(b_hh))
    dxs = [None] * len(xs)
    dh_carry = final_weight.copy()
    for t in reversed(range(len(xs))):
        x, h_prev, r, z, n, gh_n = cache[t]
        dh = dh_carry + step_weights[t]
        dn, dz = dh * (1 - z), dh * (h_prev - n)
        da_n = dn * (1 - n ** 2)
        dr, dgh_n = da_n * gh_n, da_n * r
        da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)
        dgi = np.concatenate([da_r, da_z, da_n], axis=1)
        dgh = np.concatenate([da_r, da_z, dgh_n], axis=1)
        grads["weight_ih"] += dgi.T @ x
        grads["weight_hh"] += dgh.T @ h_prev
        grads["bias_ih"] += dgi.sum(axis=0)
        grads["bias_hh"] += dgh.sum(axis=0)
        dxs[t] = dgi @ w_ih
        dh_carry = dh * z + da_r @ w_hr + da_z @ w_hz + dgh_n @ w_hn
    return loss, grads, np.stack(dxs), dh_carry


SEQ_STEPS, SEQ_BATCH, SEQ_INPUTS, SEQ_HIDDEN = 5, 3, 3, 4
FUSED = pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])


def sequence_problem(seed):
    """xs (T, B, I), h0 (B, H), the per-step weights R_t (T, B, H) and F (B, H)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(SEQ_STEPS, SEQ_BATCH, SEQ_INPUTS)), rng.normal(size=(SEQ_BATCH, SEQ_HIDDEN)),
            rng.normal(size=(SEQ_STEPS, SEQ_BATCH, SEQ_HIDDEN)), rng.normal(size=(SEQ_BATCH, SEQ_HIDDEN)))


def assert_matches_reference(module, loss, x, h0, want_loss, want, dx, dh0):
    """The loss, every parameter's gradient (a layer's names without their _l0), dL/dx and dL/dh0
    equal the hand-derived ones, and the module has exactly the reference's parameters."""
    assert_close(loss.item(), want_loss)
    grads = {name.removesuffix("_l0"): parameter.grad for name, parameter in module.named_parameters()}
    assert set(grads) == set(want)
    for name, grad in grads.items():
        assert_close(grad, want[name])
    assert_close(x.grad, dx)
    assert_close(h0.grad, dh0)


def layer_backward(layer, xs, h0, step_weights, final_weight):
    """The layer over time-major xs from h0 (one layer), the same loss as `cell_chain_backward`,
    backpropagated: (loss, x, h0 as (1, B, H))."""
    x, h = mg.tensor(xs, requires_grad=True), mg.tensor(h0[None], requires_grad=True)
    output, h_n = layer(x, h)
    loss = (output * step_weights).sum() + (h_n * final_weight[None]).sum()
    loss.backward()
    return loss, x, h


def cell_chain_backward(cell, xs, h0, step_weights, final_weight):
    """The cell looped over xs from h0, loss sum_t sum(h_t R_t) + sum(h_T F), backpropagated:
    (loss, x, h0) with x and h0 the tensors whose .grad now hold dL/dx and dL/dh0."""
    x, h = mg.tensor(xs, requires_grad=True), mg.tensor(h0, requires_grad=True)
    state, loss = h, None
    for t in range(len(xs)):
        state = cell(x[t], state)
        term = (state * step_weights[t]).sum()
        loss = term if loss is None else loss + term
    loss = loss + (state * final_weight).sum()
    loss.backward()
    return loss, x, h


@FUSED
def test_gru_cell_chain_matches_hand_derived_backward(fused):
    """Five GRUCell steps on a batch of 3, with biases: loss, parameter, x_t and h_0 grads by hand."""
    cell = mg.nn.GRUCell(SEQ_INPUTS, SEQ_HIDDEN, rng=np.random.default_rng(10), fused=fused)
    w = cell.state_dict()
    xs, h0, step_weights, final_weight = sequence_problem(11)

    loss, x, h = cell_chain_backward(cell, xs, h0, step_weights, final_weight)

    want_loss, want, dx, dh0 = gru_reference(xs, h0, w["weight_ih"], w["weight_hh"], w["bias_ih"],
                                             w["bias_hh"], step_weights, final_weight)
    # r is not 1, so b_hn's gradient (times r) is not b_in's: the data can tell where b_hn sits
    assert np.abs(want["bias_hh"][2 * SEQ_HIDDEN:] - want["bias_ih"][2 * SEQ_HIDDEN:]).min() > 1e-3
    assert_matches_reference(cell, loss, x, h, want_loss, want, dx, dh0)


@FUSED
def test_gru_layer_matches_hand_derived_backward(fused):
    """mg.nn.GRU over time-major x (5, 3, 3): loss, parameter, x and h_0 grads equal the hand-written BPTT."""
    gru = mg.nn.GRU(SEQ_INPUTS, SEQ_HIDDEN, rng=np.random.default_rng(12), fused=fused)
    w = gru.state_dict()
    xs, h0, step_weights, final_weight = sequence_problem(13)

    loss, x, h = layer_backward(gru, xs, h0, step_weights, final_weight)

    want_loss, want, dx, dh0 = gru_reference(xs, h0, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"],
                                             w["bias_hh_l0"], step_weights, final_weight)
    assert_matches_reference(gru, loss, x, h, want_loss, want, dx, dh0[None])


# ---- ReLU RNN with biases, by hand -------------------------------------------------
#
# Forward: a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,  h_t = max(a_t, 0).
# Loss: sum_t sum(h_t * R_t) + sum(h_T * F).
# Backward. h_t reaches the loss through its own term and through a_{t+1}:
#   dh_t = R_t + da_{t+1} W_hh     (+ F at t = T; da_{T+1} = 0)
#   da_t = dh_t * [a_t > 0]        (relu' is the mask: no gradient where a_t < 0)
#   dW_ih = sum_t da_t^T x_t,  dW_hh = sum_t da_t^T h_{t-1},
#   db_ih = db_hh = sum over steps and batch of da_t  (both biases are plain addends of a_t)
#   dx_t = da_t W_ih,  dL/dh_0 = da_1 W_hh


def relu_rnn_reference(xs, h0, w_ih, w_hh, b_ih, b_hh, step_weights, final_weight):
    """(loss, grads, dL/dx_t (T, B, I), dL/dh_0, the masks [a_t > 0] (T, B, H))."""
    h, hs, masks = h0, [h0], []
    for x in xs:
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        masks.append(a > 0)
        h = np.maximum(a, 0.0)
        hs.append(h)
    loss = sum(np.sum(h_t * w) for h_t, w in zip(hs[1:], step_weights)) + np.sum(h * final_weight)

    grads = dict(weight_ih=np.zeros_like(w_ih), weight_hh=np.zeros_like(w_hh),
                 bias_ih=np.zeros_like(b_ih), bias_hh=np.zeros_like(b_hh))
    dxs = [None] * len(xs)
    dh_carry = final_weight.copy()
    for t in reversed(range(len(xs))):
        da = (dh_carry + step_weights[t]) * masks[t]
        grads["weight_ih"] += da.T @ xs[t]
        grads["weight_hh"] += da.T @ hs[t]           # hs[t] is h_{t-1}: hs[0] = h_0
        grads["bias_ih"] += da.sum(axis=0)
        grads["bias_hh"] += da.sum(axis=0)
        dxs[t] = da @ w_ih
        dh_carry = da @ w_hh
    return loss, grads, np.stack(dxs), dh_carry, np.stack(masks)


def assert_mask_has_both_signs(masks):
    """Every step has pre-activations of both signs, so the relu mask is exercised throughout."""
    for t, mask in enumerate(masks):
        assert mask.any() and not mask.all(), f"step {t + 1}: pre-activations all of one sign"


@FUSED
def test_relu_rnn_cell_chain_matches_hand_derived_backward(fused):
    """Five RNNCell(relu, bias=True) steps on a batch of 3: loss, parameter, x_t and h_0 grads by hand."""
    cell = mg.nn.RNNCell(SEQ_INPUTS, SEQ_HIDDEN, bias=True, nonlinearity="relu",
                         rng=np.random.default_rng(14), fused=fused)
    w = cell.state_dict()
    xs, h0, step_weights, final_weight = sequence_problem(15)

    loss, x, h = cell_chain_backward(cell, xs, h0, step_weights, final_weight)

    want_loss, want, dx, dh0, masks = relu_rnn_reference(
        xs, h0, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"], step_weights, final_weight)
    assert_mask_has_both_signs(masks)
    assert_matches_reference(cell, loss, x, h, want_loss, want, dx, dh0)


@FUSED
def test_relu_rnn_layer_matches_hand_derived_backward(fused):
    """mg.nn.RNN(relu, bias=True) over time-major x (5, 3, 3): loss and all grads by hand."""
    rnn = mg.nn.RNN(SEQ_INPUTS, SEQ_HIDDEN, nonlinearity="relu", bias=True,
                    rng=np.random.default_rng(16), fused=fused)
    w = rnn.state_dict()
    xs, h0, step_weights, final_weight = sequence_problem(17)

    loss, x, h = layer_backward(rnn, xs, h0, step_weights, final_weight)

    want_loss, want, dx, dh0, masks = relu_rnn_reference(
        xs, h0, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"], step_weights,
        final_weight)
    assert_mask_has_both_signs(masks)
    assert_matches_reference(rnn, loss, x, h, want_loss, want, dx, dh0[None])


# ---- forward values: the formulas of docs/api.md in numpy ------------------------------------

def np_rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0.0)


def np_lstm_step(x, state, w_ih, w_hh, b_ih, b_hh):
    h, c = state
    hidden = h.shape[-1]
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f = sigmoid(a[..., :hidden]), sigmoid(a[..., hidden:2 * hidden])
    g, o = np.tanh(a[..., 2 * hidden:3 * hidden]), sigmoid(a[..., 3 * hidden:])
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next


def np_gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """r, z = σ(...); n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h."""
    hidden = h.shape[-1]
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    r = sigmoid(gi[..., :hidden] + gh[..., :hidden])
    z = sigmoid(gi[..., hidden:2 * hidden] + gh[..., hidden:2 * hidden])
    n = np.tanh(gi[..., 2 * hidden:] + r * gh[..., 2 * hidden:])
    return (1 - z) * n + z * h


def layer_weights(weights, k):
    """(w_ih, w_hh, b_ih, b_hh) of layer k from a state dict; missing biases are 0."""
    return (weights[f"weight_ih_l{k}"], weights[f"weight_hh_l{k}"],
            weights.get(f"bias_ih_l{k}", 0.0), weights.get(f"bias_hh_l{k}", 0.0))


def np_layer(kind, weights, num_layers, xs, state, nonlinearity="tanh"):
    """A stacked RNN/LSTM/GRU over time-major xs (T, B, I); returns (outputs, final states)."""
    states = [tuple(s[k] for s in state) if kind == "lstm" else state[k] for k in range(num_layers)]
    outputs = []
    for x in xs:
        below = x
        for k in range(num_layers):
            w = layer_weights(weights, k)
            if kind == "lstm":
                states[k] = np_lstm_step(below, states[k], *w)
                below = states[k][0]
            elif kind == "gru":
                states[k] = below = np_gru_step(below, states[k], *w)
            else:
                states[k] = below = np_rnn_step(below, states[k], *w, nonlinearity)
        outputs.append(below)
    if kind == "lstm":
        return np.stack(outputs), (np.stack([s[0] for s in states]), np.stack([s[1] for s in states]))
    return np.stack(outputs), np.stack(states)


def test_gru_cell_forward_matches_spec_formula():
    """GRUCell computes n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) n + z h."""
    rng = np.random.default_rng(3)
    cell = mg.nn.GRUCell(3, 4, rng=rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    w = cell.state_dict()
    want = np_gru_step(x, h, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
    assert_close(cell(x, h).data, want)


def test_gru_layer_forward_matches_spec_formula():
    """A two-layer GRU over 4 steps gives the numpy GRU recurrence's outputs and final state."""
    rng = np.random.default_rng(4)
    gru = mg.nn.GRU(3, 4, num_layers=2, rng=rng)
    xs, h0 = rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 2, 4))
    output, h_n = gru(xs, h0)
    want_output, want_h_n = np_layer("gru", gru.state_dict(), 2, xs, h0)
    assert_close(output.data, want_output)
    assert_close(h_n.data, want_h_n)


LAYER_KINDS = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers, bias, batch_first", [(1, True, False), (2, False, True)])
def test_layer_forward_matches_numpy_recurrence(kind, num_layers, bias, batch_first):
    """Layer outputs and final states equal the stacked numpy recurrence (batch_first transposes)."""
    rng = np.random.default_rng(5)
    layer = LAYER_KINDS[kind](3, 4, num_layers=num_layers, bias=bias, batch_first=batch_first, rng=rng)
    xs = rng.normal(size=(4, 2, 3))
    state = tuple(rng.normal(size=(num_layers, 2, 4)) for _ in range(2 if kind == "lstm" else 1))
    state = state if kind == "lstm" else state[0]
    output, final = layer(xs.transpose(1, 0, 2) if batch_first else xs, state)
    want_output, want_final = np_layer(kind, layer.state_dict(), num_layers, xs, state)
    assert_close(output.data, want_output.transpose(1, 0, 2) if batch_first else want_output)
    if kind == "lstm":
        assert_close(final[0].data, want_final[0])
        assert_close(final[1].data, want_final[1])
    else:
        assert_close(final.data, want_final)


# ---- gradcheck and finite differences for every cell and layer ---------------------

def finite_difference_parameter_grads(module, loss_fn, eps=1e-6):
    """d loss / d p for every parameter, by central differences on fresh p.data arrays."""
    grads = {}
    with mg.no_grad():
        for name, parameter in module.named_parameters():
            original = parameter.data.copy()
            grad = np.zeros_like(original)
            for index in np.ndindex(*original.shape):
                plus, minus = original.copy(), original.copy()
                plus[index] += eps
                minus[index] -= eps
                parameter.data = plus
                up = loss_fn().item()
                parameter.data = minus
                down = loss_fn().item()
                grad[index] = (up - down) / (2 * eps)
            parameter.data = original
            grads[name] = grad
    return grads


def assert_parameter_grads_match_finite_differences(module, loss_fn):
    module.zero_grad()
    loss_fn().backward()
    autodiff = {name: p.grad.copy() for name, p in module.named_parameters()}
    numeric = finite_difference_parameter_grads(module, loss_fn)
    assert autodiff.keys() == numeric.keys()
    for name in autodiff:
        np.testing.assert_allclose(autodiff[name], numeric[name], rtol=1e-5, atol=1e-7, err_msg=name)


I, H, T, B = 3, 4, 4, 2

CELLS = [
    pytest.param(mg.nn.RNNCell, {"nonlinearity": "tanh"}, id="rnn-tanh"),
    pytest.param(mg.nn.RNNCell, {"nonlinearity": "relu"}, id="rnn-relu"),
    pytest.param(mg.nn.LSTMCell, {}, id="lstm"),
    pytest.param(mg.nn.GRUCell, {}, id="gru"),
]


@pytest.mark.parametrize("cell_class, options", CELLS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_cell_gradients_match_finite_differences(cell_class, options, bias, batched):
    """Two chained cell steps: input/state grads pass gradcheck, parameter grads match differences."""
    rng = np.random.default_rng(6)
    cell = cell_class(I, H, bias=bias, rng=rng, **options)
    lead = (B,) if batched else ()
    x = mg.tensor(rng.normal(size=(2,) + lead + (I,)), requires_grad=True)
    h0 = mg.tensor(rng.normal(size=lead + (H,)), requires_grad=True)
    c0 = mg.tensor(rng.normal(size=lead + (H,)), requires_grad=True)
    out_weight = rng.normal(size=lead + (H,))
    is_lstm = cell_class is mg.nn.LSTMCell

    def loss(x, h0, c0):
        if is_lstm:
            h, c = cell(x[1], cell(x[0], (h0, c0)))
            return (h * out_weight).sum() + (c * out_weight).sum()
        return (cell(x[1], cell(x[0], h0)) * out_weight).sum()

    out_shape = cell(x[0], (h0, c0) if is_lstm else h0)
    assert (out_shape[0] if is_lstm else out_shape).shape == lead + (H,)
    assert mg.gradcheck(loss, [x, h0, c0] if is_lstm else [x, h0, mg.tensor(0.0)])
    assert_parameter_grads_match_finite_differences(cell, lambda: loss(x, h0, c0))


LAYER_CONFIGS = [
    pytest.param(1, True, False, True, id="1layer-bias-batched"),
    pytest.param(2, True, False, True, id="2layers-bias-batched"),
    pytest.param(1, False, False, True, id="1layer-nobias-batched"),
    pytest.param(2, True, True, True, id="2layers-bias-batch_first"),
    pytest.param(2, False, True, True, id="2layers-nobias-batch_first"),
    pytest.param(1, True, False, False, id="1layer-bias-unbatched"),
    pytest.param(2, True, False, False, id="2layers-bias-unbatched"),
]
LAYERS = [
    pytest.param(mg.nn.RNN, {}, id="rnn"),
    pytest.param(mg.nn.RNN, {"nonlinearity": "relu"}, id="rnn-relu"),
    pytest.param(mg.nn.LSTM, {}, id="lstm"),
    pytest.param(mg.nn.GRU, {}, id="gru"),
]


@pytest.mark.parametrize("layer_class, options", LAYERS)
@pytest.mark.parametrize("num_layers, bias, batch_first, batched", LAYER_CONFIGS)
def test_layer_gradients_match_finite_differences(layer_class, options, num_layers, bias,
                                                  batch_first, batched):
    """Sequence and initial-state grads pass gradcheck; parameter grads match differences."""
    rng = np.random.default_rng(7)
    layer = layer_class(I, H, num_layers=num_layers, bias=bias, batch_first=batch_first,
                        rng=rng, **options)
    if batched:
        x_shape = (B, T, I) if batch_first else (T, B, I)
        out_shape, state_shape = x_shape[:2] + (H,), (num_layers, B, H)
    else:
        x_shape, out_shape, state_shape = (T, I), (T, H), (num_layers, H)
    x = mg.tensor(rng.normal(size=x_shape), requires_grad=True)
    h0 = mg.tensor(rng.normal(size=state_shape), requires_grad=True)
    c0 = mg.tensor(rng.normal(size=state_shape), requires_grad=True)
    out_weight, state_weight = rng.normal(size=out_shape), rng.normal(size=state_shape)
    is_lstm = layer_class is mg.nn.LSTM

    def loss(x, h0, c0):
        if is_lstm:
            output, (h_n, c_n) = layer(x, (h0, c0))
            return ((output * out_weight).sum() + (h_n * state_weight).sum()
                    + (c_n * state_weight).sum())
        output, h_n = layer(x, h0)
        return (output * out_weight).sum() + (h_n * state_weight).sum()

    output, final = layer(x, (h0, c0) if is_lstm else h0)
    assert output.shape == out_shape
    assert (final[0] if is_lstm else final).shape == state_shape
    assert mg.gradcheck(loss, [x, h0, c0] if is_lstm else [x, h0, mg.tensor(0.0)])
    assert_parameter_grads_match_finite_differences(layer, lambda: loss(x, h0, c0))
