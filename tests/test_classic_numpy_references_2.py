"""The library against two more classic numpy RNN programs that courses teach from, in float64.

The expected values come from numpy written here (or numbers the course itself publishes), never from
the library. Both programs are written here from their equations and array layouts, not copied (their
licences are unclear); the names and signatures are kept so that a student recognises them.

1. Denny Britz, "Recurrent Neural Networks Tutorial, Part 2" (WildML), the numpy `RNNNumpy` language model
   of dennybritz/rnn-tutorial-rnnlm, RNNLM.ipynb, commit 8e43b76b39ddc92f32451f95bd1e289d1e29d885:
   s_t = tanh(U x_t + W s_{t-1}), o_t = softmax(V s_t), no biases, U (H, C), V (C, H), W (H, H), x_t a
   word index (U x_t is U's column x_t), s_0 = 0; `calculate_total_loss` sums -log o_t[y_t] over the
   words, `calculate_loss` divides by their number; `bptt(x, y)` sends every output's error back
   through its own step and at most `bptt_truncate` earlier ones (1-based: the loss at step t reaches
   the pre-activations of steps max(1, t - k) .. t, min(t, k + 1) cells), for all outputs of the
   sentence at once, and `sgd_step` makes one SGD step per sentence; `gradient_check` compares with
   central differences, h = 0.001, relative error |a - n| / (|a| + |n|) < 0.01, on a model built with
   bptt_truncate=1000 (full BPTT).
   In the library: `RNNCell(C, H, bias=False)` (weight_ih = U, weight_hh = W, PyTorch's layout already)
   and `Linear(H, C, bias=False)` (weight = V), one-hot inputs, summed cross-entropy.
   The finding, tested below: Britz's truncated gradient is the sum of the gradients of all updates of
   TBPTT(1, bptt_truncate + 1) with no weight change between them (the runner without an optimizer),
   and the SGD step taken after the sentence. It is not TBPTT(n, k2) for any k2 (one update per
   sentence with one cut), nor TBPTT(k, k), nor any other (k1, k2) once the sentence is longer than
   bptt_truncate + 2 (at bptt_truncate + 2, TBPTT(k + 1, k + 1) happens to match too); note the off-by-one: bptt_truncate = 4 is a window of k2 = 5 cells.
2. deeplearning.ai "Sequence Models" (Andrew Ng), week 1: "Building a Recurrent Neural Network - Step by
   Step" (rnn_cell_forward, rnn_forward, lstm_cell_forward, lstm_forward, rnn_cell_backward,
   rnn_backward, and the optional lstm_cell_backward, lstm_backward) and "Character level language model
   - Dinosaurus Island" (clip, sample, optimize, model, with the provided rnn_forward/rnn_backward of
   its utils). Math and layouts as in the course's notebooks (read in students' public copies):
   column-major arrays (n_x, m) and (n_x, m, T_x); the LSTM's gates f, i (update), c~ (candidate) and o,
   each with its own W (n_a, n_a + n_x) acting on the concatenation [a_prev; x_t] and its own b (n_a, 1).
   Mapped to PyTorch's layout: batch-major rows (m, n_x); weight_hh is the first n_a columns of each
   W, weight_ih the last n_x; the gate blocks stacked i, f, g (= c~), o; the course's one bias goes
   into bias_ih with bias_hh = 0. The course's expected outputs for `optimize` are checked too.
   (One public student copy's lstm_backward never updates da_prevt and dc_prevt in its loop: the
   functions below are written from the math, not from any copy.)
"""

from __future__ import annotations

import numpy as np
import pytest
from test_classic_numpy_references import F64, WORST, close

import microgradseq as mg
from microgradseq.functional import cross_entropy, softmax


def apart(got, want):
    """max |got - want| / max(1, max |want|): how far two results are."""
    got, want = np.asarray(got, dtype=F64), np.asarray(want, dtype=F64)
    return float(np.max(np.abs(got - want))) / max(1.0, float(np.max(np.abs(want))))


def softmax_vector(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def ce_sum(logits, y):
    return cross_entropy(logits, y, reduction="sum")


# =====================================================================================================
# 1. Denny Britz's RNNNumpy (rnn-tutorial-rnnlm), from its equations
# =====================================================================================================

def britz_model(word_dim, hidden_dim, rng):
    """His initialisation: U, V, W uniform in +-1/sqrt(n), n the incoming connections (C for U, H for
    V and W), drawn in the order U, V, W. `rng` is a numpy RandomState (his np.random.seed)."""
    U = rng.uniform(-np.sqrt(1. / word_dim), np.sqrt(1. / word_dim), (hidden_dim, word_dim))
    V = rng.uniform(-np.sqrt(1. / hidden_dim), np.sqrt(1. / hidden_dim), (word_dim, hidden_dim))
    W = rng.uniform(-np.sqrt(1. / hidden_dim), np.sqrt(1. / hidden_dim), (hidden_dim, hidden_dim))
    return U, V, W


def britz_forward(U, V, W, words):
    """o (T, C): o[t - 1] = softmax(V s_t); s (T + 1, H) with s[0] = s_0 = 0 and s[t] = tanh(U x_t + W s_{t-1}),
    steps t = 1..T (his arrays are 0-based with the zero state kept in the last row)."""
    T, H = len(words), W.shape[0]
    s, o = np.zeros((T + 1, H)), np.zeros((T, V.shape[0]))
    for t in range(1, T + 1):
        s[t] = np.tanh(U[:, words[t - 1]] + W @ s[t - 1])
        o[t - 1] = softmax_vector(V @ s[t])
    return o, s


def britz_total_loss(U, V, W, sentences, targets):
    """calculate_total_loss: the sum over sentences and words of -log o_t[y_t]."""
    total = 0.0
    for words, ys in zip(sentences, targets):
        o, _ = britz_forward(U, V, W, words)
        total += -np.sum(np.log(o[np.arange(len(ys)), ys]))
    return total


def britz_loss(U, V, W, sentences, targets):
    """calculate_loss: the total divided by the number of words N."""
    return britz_total_loss(U, V, W, sentences, targets) / sum(len(ys) for ys in targets)


def britz_bptt(U, V, W, words, ys, bptt_truncate):
    """(dU, dV, dW) of the sentence's total loss, each output's error sent back through its own step
    and at most bptt_truncate earlier ones."""
    o, s = britz_forward(U, V, W, words)
    dU, dV, dW = np.zeros_like(U), np.zeros_like(V), np.zeros_like(W)
    for t in range(len(ys), 0, -1):
        e = o[t - 1].copy()
        e[ys[t - 1]] -= 1                                   # dL_t / d(V s_t)
        dV += np.outer(e, s[t])
        delta = (V.T @ e) * (1 - s[t] ** 2)                  # dL_t / da_t, a_t the pre-activation
        for j in range(t, max(1, t - bptt_truncate) - 1, -1):   # a_t, a_{t-1}, ..., a_{max(1, t - k)}
            dW += np.outer(delta, s[j - 1])
            dU[:, words[j - 1]] += delta
            delta = (W.T @ delta) * (1 - s[j - 1] ** 2)      # dL_t / da_{j-1}
    return dU, dV, dW


class BritzRNN:
    """The same model with the library: a bias-free RNNCell and a bias-free Linear readout."""

    def __init__(self, U, V, W, fused=False):
        C, H = V.shape
        self.cell = mg.nn.RNNCell(C, H, bias=False, dtype=F64, fused=fused)
        self.head = mg.nn.Linear(H, C, bias=False, dtype=F64)
        self.cell.weight_ih.data = U.copy()                 # (H, C): U as it is
        self.cell.weight_hh.data = W.copy()                 # (H, H)
        self.head.weight.data = V.copy()                    # (C, H)
        self.params = [self.cell.weight_ih, self.head.weight, self.cell.weight_hh]     # Britz's order U, V, W
        self.C = C

    def step(self, x, s):
        s = self.cell(x, s)
        return self.head(s), s

    def inputs(self, words):
        return [np.eye(self.C)[[w]] for w in words]          # (1, C) one-hot rows, a batch of one

    def forward(self, words):
        """(logits per step, states per step) with the graph."""
        s, logits, states = None, [], []
        for x in self.inputs(words):
            out, s = self.step(x, s)
            logits.append(out)
            states.append(s)
        return logits, states

    def total_loss(self, words, ys):
        logits, _ = self.forward(words)
        return sum(ce_sum(out, np.array([y])) for out, y in zip(logits, ys))

    def truncated_loss(self, words, ys, bptt_truncate):
        """A loss whose gradient is Britz's truncated one, by a cut per loss (mg.bptt.truncate): the loss
        at step t is recomputed from the state s_{start-1}, start = max(1, t - k), held constant. Its
        value is the total loss."""
        _, states = self.forward(words)
        xs, total = self.inputs(words), 0.0
        for t in range(1, len(ys) + 1):
            start = max(1, t - bptt_truncate)
            s = None if start == 1 else mg.bptt.truncate(states[start - 2])
            for j in range(start, t + 1):
                out, s = self.step(xs[j - 1], s)
            total = total + ce_sum(out, np.array([ys[t - 1]]))
        return total

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def grads(self):
        return [np.zeros_like(p.data) if p.grad is None else p.grad.copy() for p in self.params]

    def runner_grads(self, words, ys, k1, k2):
        """The summed gradients of every update of mg.bptt.tbptt(k1, k2) over the sentence, no optimizer:
        the weights do not change between the updates and .grad adds up."""
        self.zero_grad()
        mg.bptt.tbptt(self.step, None, self.inputs(words), [np.array([y]) for y in ys], ce_sum, k1, k2)
        return self.grads()


C_SMALL, H_SMALL = 11, 7


def small_britz(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    U = rng.uniform(-1, 1, (H_SMALL, C_SMALL)) * scale
    V = rng.uniform(-1, 1, (C_SMALL, H_SMALL)) * scale
    W = rng.uniform(-1, 1, (H_SMALL, H_SMALL)) * scale
    return U, V, W


def sentence(seed, length):
    rng = np.random.default_rng(100 + seed)
    codes = rng.integers(0, C_SMALL, size=length + 1)
    return [int(c) for c in codes[:-1]], [int(c) for c in codes[1:]]      # x, and y = x shifted by one


@pytest.mark.parametrize("fused", [False, True], ids=["ops", "fused"])
def test_britz_forward_loss_and_full_bptt(fused):
    """forward_propagation's o and s, calculate_total_loss / calculate_loss (summed and mean
    cross-entropy) over several sentences, predict's argmax, and bptt with bptt_truncate >= T (full
    BPTT, as in his gradient check) against backward()."""
    U, V, W = small_britz(seed=1)
    net = BritzRNN(U, V, W, fused=fused)
    data = [sentence(s, length) for s, length in enumerate((3, 6, 9, 12))]
    sentences, targets = [x for x, _ in data], [y for _, y in data]
    total = 0.0
    for words, ys in data:
        o_np, s_np = britz_forward(U, V, W, words)
        net.zero_grad()
        logits, states = net.forward(words)
        loss = sum(ce_sum(out, np.array([y])) for out, y in zip(logits, ys))
        loss.backward()
        total = total + loss.item()
        close("britz o_t", np.concatenate([softmax(out, dim=-1).data for out in logits]), o_np)
        close("britz s_t", np.concatenate([s.data for s in states]), s_np[1:])
        assert [int(np.argmax(out.data)) for out in logits] == list(np.argmax(o_np, axis=1))   # predict
        close("britz sentence loss", loss.item(), britz_total_loss(U, V, W, [words], [ys]))
        for name, got, want in zip("UVW", net.grads(), britz_bptt(U, V, W, words, ys, bptt_truncate=1000)):
            close(f"britz full-BPTT d{name}", got, want)
    close("britz calculate_total_loss", total, britz_total_loss(U, V, W, sentences, targets))
    mean = cross_entropy(mg.cat([mg.cat(net.forward(w)[0]) for w in sentences]),
                         np.concatenate([np.array(y) for y in targets])).item()
    close("britz calculate_loss (mean)", mean, britz_loss(U, V, W, sentences, targets))


@pytest.mark.parametrize("bptt_truncate", [0, 1, 2, 4])
def test_britz_truncation_is_tbptt_1_k_plus_1_summed_without_updates(bptt_truncate):
    """Britz's bptt(x, y) with bptt_truncate = k equals (1) the summed gradients of the updates of
    TBPTT(1, k + 1) with no optimizer, and (2) a cut per loss with mg.bptt.truncate; and it differs
    from full BPTT once T > k + 1."""
    U, V, W = small_britz(seed=2)
    net = BritzRNN(U, V, W)
    words, ys = sentence(7, 10)
    want = britz_bptt(U, V, W, words, ys, bptt_truncate)
    for name, got, w in zip("UVW", net.runner_grads(words, ys, 1, bptt_truncate + 1), want):
        close(f"britz k={bptt_truncate} d{name} vs TBPTT(1, k+1) summed", got, w)
    net.zero_grad()
    loss = net.truncated_loss(words, ys, bptt_truncate)
    close("britz per-loss cut: value is the total loss", loss.item(), britz_total_loss(U, V, W, [words], [ys]))
    loss.backward()
    for name, got, w in zip("UVW", net.grads(), want):
        close(f"britz k={bptt_truncate} d{name} vs per-loss truncate", got, w)
    full = britz_bptt(U, V, W, words, ys, bptt_truncate=1000)
    assert apart(want[2], full[2]) > 1e-4                   # dW: truncation changed it


def test_britz_truncation_is_no_other_tbptt_k1_k2():
    """Over every (k1, k2) with 1 <= k1 <= T and 1 <= k2 <= T + 1, summed over the updates with no
    optimizer, the only one equal to Britz's bptt_truncate = 3 is (1, 4): not TBPTT(T, k2) with one
    update per sentence (its cut c = T - k2 is one for all losses), not TBPTT(4, 4) (detach every 4)."""
    k, T = 3, 9
    U, V, W = small_britz(seed=3)
    net = BritzRNN(U, V, W)
    words, ys = sentence(3, T)
    want = np.concatenate([g.ravel() for g in britz_bptt(U, V, W, words, ys, k)])
    distance = {}
    for k1 in range(1, T + 1):
        for k2 in range(1, T + 2):
            got = np.concatenate([g.ravel() for g in net.runner_grads(words, ys, k1, k2)])
            distance[k1, k2] = apart(got, want)
    matches = [pair for pair, d in distance.items() if d <= 1e-12]
    assert matches == [(1, k + 1)], matches
    WORST["britz k=3 vs TBPTT(1, 4)"] = distance[1, k + 1]
    assert min(d for pair, d in distance.items() if pair != (1, k + 1)) > 1e-4
    assert distance[T, k + 1] > 1e-3 and distance[k + 1, k + 1] > 1e-3 and distance[T, T] > 1e-3


def test_britz_equals_full_bptt_when_the_sentence_fits_the_window():
    """T <= bptt_truncate + 1: every loss reaches step 1, so Britz's gradient is full BPTT, TBPTT(T, T)."""
    U, V, W = small_britz(seed=4)
    net = BritzRNN(U, V, W)
    words, ys = sentence(4, 5)
    want = britz_bptt(U, V, W, words, ys, bptt_truncate=4)
    for (k1, k2) in ((5, 5), (1, 5), (1, 50)):
        for name, got, w in zip("UVW", net.runner_grads(words, ys, k1, k2), want):
            close(f"britz T <= k+1 d{name} vs TBPTT({k1}, {k2})", got, w)


def britz_sgd_training(U, V, W, data, learning_rate, bptt_truncate, nepoch):
    """train_with_sgd with evaluate_loss_after=1: the loss over the data at the start of each epoch
    (the learning rate halved when it went up), then one sgd_step per sentence."""
    U, V, W = U.copy(), V.copy(), W.copy()
    sentences, targets = [x for x, _ in data], [y for _, y in data]
    losses, rates, after = [], [], []
    for epoch in range(nepoch):
        losses.append(britz_loss(U, V, W, sentences, targets))
        if len(losses) > 1 and losses[-1] > losses[-2]:
            learning_rate *= 0.5
        rates.append(learning_rate)
        for words, ys in data:
            dU, dV, dW = britz_bptt(U, V, W, words, ys, bptt_truncate)
            U, V, W = U - learning_rate * dU, V - learning_rate * dV, W - learning_rate * dW
            after.append((U, V, W))
    return losses, rates, after


def test_britz_sgd_training_with_the_runner():
    """train_with_sgd (bptt_truncate = 2, sentences of 2 to 8 words, 3 epochs, the loss evaluated each
    epoch and the learning rate halved when it rises) with the library: the runner's TBPTT(1, 3) with
    no optimizer inside, then one optimizer step per sentence. Letting the runner step the optimizer
    at each of its updates is a different algorithm."""
    k, lr, nepoch = 2, 0.8, 3
    U, V, W = small_britz(seed=5, scale=0.5)
    data = [sentence(10 + s, length) for s, length in enumerate((2, 5, 8, 3, 7))]
    want_losses, want_rates, want_after = britz_sgd_training(U, V, W, data, lr, k, nepoch)

    net = BritzRNN(U, V, W)
    optimizer = mg.optim.SGD(net.params, lr=lr)
    losses, n = [], 0
    for epoch in range(nepoch):
        with mg.no_grad():
            total = sum(net.total_loss(words, ys).item() for words, ys in data)
        losses.append(total / sum(len(ys) for _, ys in data))
        if len(losses) > 1 and losses[-1] > losses[-2]:
            for group in optimizer.param_groups:
                group["lr"] *= 0.5
        close("britz sgd learning rate", optimizer.param_groups[0]["lr"], want_rates[epoch])
        close("britz sgd calculate_loss per epoch", losses[-1], want_losses[epoch])
        for words, ys in data:
            optimizer.zero_grad()
            mg.bptt.tbptt(net.step, None, net.inputs(words), [np.array([y]) for y in ys], ce_sum, 1, k + 1)
            optimizer.step()                                # one step per sentence, after all its updates
            for name, p, w in zip("UVW", net.params, want_after[n]):
                close(f"britz sgd {name} after sgd_step", p.data, w, tol=1e-11)
            n += 1
    assert losses[-1] < losses[0]                          # it learned

    stepping = BritzRNN(U, V, W)                            # the runner's optimizer steps at every update
    words, ys = data[1]
    mg.bptt.tbptt(stepping.step, None, stepping.inputs(words), [np.array([y]) for y in ys], ce_sum, 1, k + 1,
                  optimizer=mg.optim.SGD(stepping.params, lr=lr))
    one_step = [a - lr * g for a, g in zip((U, V, W), britz_bptt(U, V, W, words, ys, k))]
    assert apart(stepping.params[2].data, one_step[2]) > 1e-4


def britz_relative_errors(backprop, estimated):
    """His gradient_check's measure |a - n| / (|a| + |n|), 0 where both are 0 (his NaN, which passes)."""
    denominator = np.abs(backprop) + np.abs(estimated)
    return np.where(denominator == 0, 0.0, np.abs(backprop - estimated) / np.where(denominator == 0, 1, denominator))


def britz_numeric_gradients(U, V, W, words, ys, h=0.001):
    """His estimate (J(theta + h) - J(theta - h)) / 2h of calculate_total_loss for every entry of U, V, W."""
    params, estimates = [U.copy(), V.copy(), W.copy()], []
    for p in params:
        estimate = np.zeros_like(p)
        for ix in np.ndindex(*p.shape):
            original = p[ix]
            p[ix] = original + h
            plus = britz_total_loss(*params, [words], [ys])
            p[ix] = original - h
            minus = britz_total_loss(*params, [words], [ys])
            p[ix] = original
            estimate[ix] = (plus - minus) / (2 * h)
        estimates.append(estimate)
    return estimates


def test_britz_gradient_check_with_mg_gradcheck():
    """His check as he ran it (np.random.seed(10), a vocabulary of 100, 10 hidden units, bptt_truncate
    =1000, x = [0, 1, 2, 3], y = [1, 2, 3, 4], h = 0.001, threshold 0.01): the library's gradient passes
    his relative-error test against numpy central differences, and mg.gradcheck(eps=1e-3, rtol=0.01)
    passes. With truncation (bptt_truncate = 1 on a longer sentence) his test fails, and so does
    mg.gradcheck on the per-loss-cut loss: a truncated gradient is not the loss's gradient, which is
    why he checked with bptt_truncate=1000."""
    U, V, W = britz_model(100, 10, np.random.RandomState(10))
    words, ys = [0, 1, 2, 3], [1, 2, 3, 4]
    net = BritzRNN(U, V, W)
    net.total_loss(words, ys).backward()
    backprop = net.grads()
    for name, a, n in zip("UVW", backprop, britz_numeric_gradients(U, V, W, words, ys)):
        errors = britz_relative_errors(a, n)
        WORST[f"britz gradient_check relative error {name}"] = float(errors.max())
        assert errors.max() < 0.01, name
    assert mg.gradcheck(lambda *params: net.total_loss(words, ys), net.params, eps=1e-3, atol=1e-8, rtol=0.01)

    U, V, W = small_britz(seed=6)
    words, ys = sentence(6, 8)
    net = BritzRNN(U, V, W)
    truncated = britz_bptt(U, V, W, words, ys, bptt_truncate=1)
    numeric = britz_numeric_gradients(U, V, W, words, ys)
    assert max(britz_relative_errors(a, n).max() for a, n in zip(truncated, numeric)) > 0.01
    with pytest.raises(mg.GradcheckError, match="finite differences give"):
        mg.gradcheck(lambda *params: net.truncated_loss(words, ys, 1), net.params, eps=1e-3, atol=1e-8, rtol=0.01)
    assert mg.gradcheck(lambda *params: net.total_loss(words, ys), net.params, eps=1e-3, atol=1e-8, rtol=0.01)


# =====================================================================================================
# 2. deeplearning.ai Sequence Models, week 1: "Building a RNN step by step", from its equations
# =====================================================================================================

def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax_columns(z):
    """Softmax over axis 0: the course's arrays hold one example per column."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def rnn_cell_forward(xt, a_prev, parameters):
    """xt (n_x, m), a_prev (n_a, m): a_next = tanh(Waa a_prev + Wax xt + ba), yt_pred = softmax(Wya a_next + by)."""
    p = parameters
    a_next = np.tanh(p["Waa"] @ a_prev + p["Wax"] @ xt + p["ba"])
    yt_pred = softmax_columns(p["Wya"] @ a_next + p["by"])
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)


def rnn_forward(x, a0, parameters):
    """x (n_x, m, T_x), a0 (n_a, m) -> a (n_a, m, T_x), y_pred (n_y, m, T_x), (caches, x)."""
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches, a_next = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), [], a0
    for t in range(T_x):
        a_next, y_pred[:, :, t], cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next, cache):
    """dtanh = (1 - a_next^2) da_next; dxt = Wax^T dtanh, da_prev = Waa^T dtanh, dWax = dtanh xt^T,
    dWaa = dtanh a_prev^T, dba = sum of dtanh over the examples (n_a, 1)."""
    a_next, a_prev, xt, p = cache
    dtanh = (1 - a_next ** 2) * da_next
    return {"dxt": p["Wax"].T @ dtanh, "da_prev": p["Waa"].T @ dtanh, "dWax": dtanh @ xt.T,
            "dWaa": dtanh @ a_prev.T, "dba": dtanh.sum(axis=1, keepdims=True)}


def rnn_backward(da, caches):
    """da (n_a, m, T_x), the upstream gradient of every hidden state -> dx, da0, dWax, dWaa, dba."""
    caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    g = {"dx": np.zeros((n_x, m, T_x)), "dWax": np.zeros((n_a, n_x)), "dWaa": np.zeros((n_a, n_a)),
         "dba": np.zeros((n_a, 1))}
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        step = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        g["dx"][:, :, t], da_prevt = step["dxt"], step["da_prev"]
        for name in ("dWax", "dWaa", "dba"):
            g[name] += step[name]
    g["da0"] = da_prevt
    return g


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    """concat = [a_prev; xt]; ft, it, ot = sigmoid(W concat + b), cct = tanh(Wc concat + bc);
    c_next = ft c_prev + it cct; a_next = ot tanh(c_next); yt_pred = softmax(Wy a_next + by)."""
    p = parameters
    concat = np.concatenate([a_prev, xt], axis=0)
    ft, it = sigmoid(p["Wf"] @ concat + p["bf"]), sigmoid(p["Wi"] @ concat + p["bi"])
    cct, ot = np.tanh(p["Wc"] @ concat + p["bc"]), sigmoid(p["Wo"] @ concat + p["bo"])
    c_next = ft * c_prev + it * cct
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax_columns(p["Wy"] @ a_next + p["by"])
    return a_next, c_next, yt_pred, (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)


def lstm_forward(x, a0, parameters):
    """x (n_x, m, T_x), a0 (n_a, m); the first cell state is zero -> a, y, c (each (., m, T_x)), caches."""
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a, c, y = np.zeros((n_a, m, T_x)), np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x))
    a_next, c_next, caches = a0, np.zeros((n_a, m)), []
    for t in range(T_x):
        a_next, c_next, y[:, :, t], cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t], c[:, :, t] = a_next, c_next
        caches.append(cache)
    return a, y, c, (caches, x)


GATES = ("f", "i", "c", "o")


def lstm_cell_backward(da_next, dc_next, cache):
    """The course's optional lstm_cell_backward, from the chain rule: dc = dc_next + da_next ot (1 - tanh^2 c_next);
    the gates' pre-activation gradients; dW = d(gate) concat^T; d concat = sum of W^T d(gate)."""
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_a = a_next.shape[0]
    tanh_c = np.tanh(c_next)
    dc = dc_next + da_next * ot * (1 - tanh_c ** 2)
    pre = {"o": da_next * tanh_c * ot * (1 - ot), "c": dc * it * (1 - cct ** 2),
           "i": dc * cct * it * (1 - it), "f": dc * c_prev * ft * (1 - ft)}
    concat = np.concatenate([a_prev, xt], axis=0)
    dconcat = sum(p["W" + gate].T @ pre[gate] for gate in GATES)
    g = {"da_prev": dconcat[:n_a], "dxt": dconcat[n_a:], "dc_prev": dc * ft}
    for gate in GATES:
        g["dW" + gate] = pre[gate] @ concat.T
        g["db" + gate] = pre[gate].sum(axis=1, keepdims=True)
    return g


def lstm_backward(da, caches):
    """da (n_a, m, T_x) -> dx, da0, dW*, db* (the cell state's upstream gradient is zero)."""
    caches, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    g = {"dx": np.zeros((n_x, m, T_x))}
    for gate in GATES:
        g["dW" + gate], g["db" + gate] = np.zeros((n_a, n_a + n_x)), np.zeros((n_a, 1))
    da_prevt, dc_prevt = np.zeros((n_a, m)), np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        step = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t])
        g["dx"][:, :, t], da_prevt, dc_prevt = step["dxt"], step["da_prev"], step["dc_prev"]
        for gate in GATES:
            g["dW" + gate] += step["dW" + gate]
            g["db" + gate] += step["db" + gate]
    g["da0"] = da_prevt
    return g


# ---- the layout maps, course <-> PyTorch/microgradseq --------------------------------------------------

PYTORCH_GATES = ("i", "f", "c", "o")       # PyTorch's i, f, g, o: the course's update gate, forget gate, c~, output


def course_lstm_to_pytorch(p, n_a, order=PYTORCH_GATES):
    """(weight_ih (4 n_a, n_x), weight_hh (4 n_a, n_a), bias (4 n_a,)): each W's first n_a columns act on
    a_prev (weight_hh), the rest on x_t (weight_ih); blocks stacked in `order`."""
    weight_ih = np.vstack([p["W" + g][:, n_a:] for g in order])
    weight_hh = np.vstack([p["W" + g][:, :n_a] for g in order])
    bias = np.concatenate([p["b" + g].ravel() for g in order])
    return weight_ih, weight_hh, bias


def pytorch_lstm_grads_to_course(d_ih, d_hh, d_bias, n_a):
    """{dWf, dbf, ...} from the library's gradients: [d weight_hh block | d weight_ih block] per gate."""
    g = {}
    for k, gate in enumerate(PYTORCH_GATES):
        rows = slice(k * n_a, (k + 1) * n_a)
        g["dW" + gate] = np.hstack([d_hh[rows], d_ih[rows]])
        g["db" + gate] = d_bias[rows].reshape(-1, 1)
    return g


def params_of(module):
    suffix = "_l0" if isinstance(module, (mg.nn.RNN, mg.nn.LSTM)) else ""
    return tuple(getattr(module, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def load(module, weight_ih, weight_hh, bias):
    ih, hh, b_ih, b_hh = params_of(module)
    ih.data, hh.data, b_ih.data, b_hh.data = weight_ih.copy(), weight_hh.copy(), bias.copy(), np.zeros_like(bias)


def bias_grad(module):
    """The course's one bias's gradient: bias_ih's, which must equal bias_hh's."""
    _, _, b_ih, b_hh = params_of(module)
    close("bias_hh.grad == bias_ih.grad", b_hh.grad, b_ih.grad)
    return b_ih.grad


def batch_major(x):
    """(n_x, m, T_x) -> (m, T_x, n_x), PyTorch's batch_first layout."""
    return x.transpose(1, 2, 0)


def column_major(x):
    """(m, T_x, n) -> (n, m, T_x), the course's layout."""
    return x.transpose(2, 0, 1)


def leaf(array):
    return mg.tensor(np.array(array, dtype=F64), requires_grad=True)


N_X, N_A, N_Y, M, T_X = 3, 5, 2, 10, 7       # the course's test sizes


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def rnn_parameters(rng):
    return {"Wax": rng.standard_normal((N_A, N_X)), "Waa": rng.standard_normal((N_A, N_A)),
            "Wya": rng.standard_normal((N_Y, N_A)), "ba": rng.standard_normal((N_A, 1)),
            "by": rng.standard_normal((N_Y, 1))}


def lstm_parameters(rng):
    p = {}
    for gate in GATES:
        p["W" + gate], p["b" + gate] = rng.standard_normal((N_A, N_A + N_X)), rng.standard_normal((N_A, 1))
    p["Wy"], p["by"] = rng.standard_normal((N_Y, N_A)), rng.standard_normal((N_Y, 1))
    return p


def readout(weight, bias):
    head = mg.nn.Linear(weight.shape[1], weight.shape[0], dtype=F64)
    head.weight.data, head.bias.data = weight.copy(), bias.ravel().copy()
    return head


FUSED = pytest.mark.parametrize("fused", [False, True], ids=["ops", "fused"])


@FUSED
def test_rnn_cell_against_rnn_cell_forward_backward(rng, fused):
    """One step: a_next, yt_pred, and rnn_cell_backward's dxt, da_prev, dWax, dWaa, dba for an upstream
    da_next. weight_ih = Wax and weight_hh = Waa as they are; rows are examples (the transpose)."""
    p = rnn_parameters(rng)
    xt, a_prev, da_next = rng.standard_normal((N_X, M)), rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M))
    a_next_np, yt_np, cache = rnn_cell_forward(xt, a_prev, p)
    g = rnn_cell_backward(da_next, cache)

    cell = mg.nn.RNNCell(N_X, N_A, dtype=F64, fused=fused)
    load(cell, p["Wax"], p["Waa"], p["ba"].ravel())
    x_t, a_t = leaf(xt.T), leaf(a_prev.T)
    a_next = cell(x_t, a_t)
    (a_next * da_next.T).sum().backward()
    close("rnn_cell_forward a_next", a_next.data.T, a_next_np)
    close("rnn_cell_forward yt_pred", softmax(readout(p["Wya"], p["by"])(a_next), dim=-1).data.T, yt_np)
    close("rnn_cell_backward dxt", x_t.grad.T, g["dxt"])
    close("rnn_cell_backward da_prev", a_t.grad.T, g["da_prev"])
    close("rnn_cell_backward dWax", cell.weight_ih.grad, g["dWax"])
    close("rnn_cell_backward dWaa", cell.weight_hh.grad, g["dWaa"])
    close("rnn_cell_backward dba", bias_grad(cell).reshape(-1, 1), g["dba"])


@FUSED
@pytest.mark.parametrize("unrolled", [False, True], ids=["layer", "cell_loop"])
def test_rnn_against_rnn_forward_backward(rng, fused, unrolled):
    """rnn_forward's a and y_pred, and rnn_backward's dx, da0, dWax, dWaa, dba, with nn.RNN(batch_first)
    on x transposed to (m, T_x, n_x), or with an RNNCell over x[:, :, t].T as the course loops."""
    p = rnn_parameters(rng)
    x, a0, da = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M, T_X))
    a_np, y_np, caches = rnn_forward(x, a0, p)
    g = rnn_backward(da, caches)

    x_t = leaf(batch_major(x))
    if unrolled:
        module = mg.nn.RNNCell(N_X, N_A, dtype=F64, fused=fused)
        load(module, p["Wax"], p["Waa"], p["ba"].ravel())
        a0_t = leaf(a0.T)
        h, hs = a0_t, []
        for t in range(T_X):
            h = module(x_t[:, t, :], h)
            hs.append(h)
        a = mg.stack(hs, dim=1)
    else:
        module = mg.nn.RNN(N_X, N_A, batch_first=True, dtype=F64, fused=fused)
        load(module, p["Wax"], p["Waa"], p["ba"].ravel())
        a0_t = leaf(a0.T[None])                              # (num_layers = 1, m, n_a)
        a, _ = module(x_t, a0_t)
    (a * batch_major(da)).sum().backward()
    close("rnn_forward a", column_major(a.data), a_np)
    close("rnn_forward y_pred", column_major(softmax(readout(p["Wya"], p["by"])(a), dim=-1).data), y_np)
    close("rnn_backward dx", column_major(x_t.grad), g["dx"])
    close("rnn_backward da0", a0_t.grad.reshape(M, N_A).T, g["da0"])
    ih, hh, _, _ = params_of(module)
    close("rnn_backward dWax", ih.grad, g["dWax"])
    close("rnn_backward dWaa", hh.grad, g["dWaa"])
    close("rnn_backward dba", bias_grad(module).reshape(-1, 1), g["dba"])


@FUSED
def test_lstm_cell_against_lstm_cell_forward_backward(rng, fused):
    """One LSTM step with the course's four W's split at column n_a and stacked i, f, c~, o."""
    p = lstm_parameters(rng)
    xt, a_prev, c_prev = rng.standard_normal((N_X, M)), rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M))
    da_next, dc_next = rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M))
    a_next_np, c_next_np, yt_np, cache = lstm_cell_forward(xt, a_prev, c_prev, p)
    g = lstm_cell_backward(da_next, dc_next, cache)

    cell = mg.nn.LSTMCell(N_X, N_A, dtype=F64, fused=fused)
    load(cell, *course_lstm_to_pytorch(p, N_A))
    x_t, a_t, c_t = leaf(xt.T), leaf(a_prev.T), leaf(c_prev.T)
    a_next, c_next = cell(x_t, (a_t, c_t))
    ((a_next * da_next.T).sum() + (c_next * dc_next.T).sum()).backward()
    close("lstm_cell_forward a_next", a_next.data.T, a_next_np)
    close("lstm_cell_forward c_next", c_next.data.T, c_next_np)
    close("lstm_cell_forward yt_pred", softmax(readout(p["Wy"], p["by"])(a_next), dim=-1).data.T, yt_np)
    close("lstm_cell_backward dxt", x_t.grad.T, g["dxt"])
    close("lstm_cell_backward da_prev", a_t.grad.T, g["da_prev"])
    close("lstm_cell_backward dc_prev", c_t.grad.T, g["dc_prev"])
    got = pytorch_lstm_grads_to_course(cell.weight_ih.grad, cell.weight_hh.grad, bias_grad(cell), N_A)
    for name in sorted(got):
        close(f"lstm_cell_backward {name}", got[name], g[name])


@FUSED
def test_lstm_layer_against_lstm_forward_backward(rng, fused):
    """lstm_forward's a, c, y and lstm_backward's dx, da0, dW*, db* with nn.LSTM(batch_first), c0 = 0."""
    p = lstm_parameters(rng)
    x, a0, da = rng.standard_normal((N_X, M, T_X)), rng.standard_normal((N_A, M)), rng.standard_normal((N_A, M, T_X))
    a_np, y_np, c_np, caches = lstm_forward(x, a0, p)
    g = lstm_backward(da, caches)

    lstm = mg.nn.LSTM(N_X, N_A, batch_first=True, dtype=F64, fused=fused)
    load(lstm, *course_lstm_to_pytorch(p, N_A))
    x_t, a0_t = leaf(batch_major(x)), leaf(a0.T[None])
    a, (a_last, c_last) = lstm(x_t, (a0_t, mg.zeros(1, M, N_A, dtype=F64)))
    (a * batch_major(da)).sum().backward()
    close("lstm_forward a", column_major(a.data), a_np)
    close("lstm_forward y", column_major(softmax(readout(p["Wy"], p["by"])(a), dim=-1).data), y_np)
    close("lstm_forward last c", c_last.data[0].T, c_np[:, :, -1])
    close("lstm_backward dx", column_major(x_t.grad), g["dx"])
    close("lstm_backward da0", a0_t.grad[0].T, g["da0"])
    got = pytorch_lstm_grads_to_course(lstm.weight_ih_l0.grad, lstm.weight_hh_l0.grad, bias_grad(lstm), N_A)
    for name in sorted(got):
        close(f"lstm_backward {name}", got[name], g[name])


def test_course_lstm_weights_mapped_the_wrong_way_differ_silently(rng):
    """Two porting slips that raise nothing when n_x = n_a: stacking the gates in the course's listing
    order f, i, c~, o (PyTorch reads i, f, g, o), and splitting [a_prev; x_t] as if x came first."""
    n = 4
    p = {}
    for gate in GATES:
        p["W" + gate], p["b" + gate] = rng.standard_normal((n, 2 * n)), rng.standard_normal((n, 1))
    p["Wy"], p["by"] = rng.standard_normal((2, n)), rng.standard_normal((2, 1))
    xt, a_prev, c_prev = rng.standard_normal((n, M)), rng.standard_normal((n, M)), rng.standard_normal((n, M))
    want, _, _, _ = lstm_cell_forward(xt, a_prev, c_prev, p)
    cell = mg.nn.LSTMCell(n, n, dtype=F64)

    def run():
        return cell(xt.T, (a_prev.T, c_prev.T))[0].data.T

    load(cell, *course_lstm_to_pytorch(p, n, order=GATES))                 # f, i, c, o: wrong
    assert apart(run(), want) > 1e-2
    ih, hh, bias = course_lstm_to_pytorch(p, n)
    load(cell, hh, ih, bias)                                                # halves swapped: wrong
    assert apart(run(), want) > 1e-2
    load(cell, ih, hh, bias)
    close("lstm after the right mapping", run(), want)


# =====================================================================================================
# 2b. deeplearning.ai "Dinosaurus Island": clip, sample, optimize, model
# =====================================================================================================

CHARS = ["\n"] + [chr(ord("a") + i) for i in range(26)]   # sorted(set(data)) of the dinosaur names: '\n' is 0
DINO_VOCAB = len(CHARS)
CHAR_TO_IX = {ch: i for i, ch in enumerate(CHARS)}
NEWLINE = CHAR_TO_IX["\n"]


def one_hot_column(ix, vocab_size=DINO_VOCAB):
    """The course's x^<t>: a (vocab_size, 1) one-hot column, zeros for None (the first input)."""
    x = np.zeros((vocab_size, 1))
    if ix is not None:
        x[ix] = 1
    return x


def dino_rnn_forward(X, Y, a0, parameters, vocab_size=DINO_VOCAB):
    """The utils' rnn_forward: loss = sum_t -log y_hat_t[Y_t], cache (y_hat, a, x) with a[-1] = a0."""
    p = parameters
    x, a, y_hat, loss = {}, {-1: a0.copy()}, {}, 0.0
    for t in range(len(X)):
        x[t] = one_hot_column(X[t], vocab_size)
        a[t] = np.tanh(p["Wax"] @ x[t] + p["Waa"] @ a[t - 1] + p["b"])
        y_hat[t] = softmax_columns(p["Wya"] @ a[t] + p["by"])
        loss -= np.log(y_hat[t][Y[t], 0])
    return loss, (y_hat, a, x)


def dino_rnn_backward(X, Y, parameters, cache):
    """The utils' rnn_backward: e_t = y_hat_t - onehot(Y_t), the delta recursion through tanh."""
    p = parameters
    y_hat, a, x = cache
    g = {"dWax": np.zeros_like(p["Wax"]), "dWaa": np.zeros_like(p["Waa"]), "dWya": np.zeros_like(p["Wya"]),
         "db": np.zeros_like(p["b"]), "dby": np.zeros_like(p["by"])}
    da_next = np.zeros_like(a[0])
    for t in reversed(range(len(X))):
        dy = y_hat[t].copy()
        dy[Y[t]] -= 1
        g["dWya"] += dy @ a[t].T
        g["dby"] += dy
        daraw = (1 - a[t] ** 2) * (p["Wya"].T @ dy + da_next)
        g["db"] += daraw
        g["dWax"] += daraw @ x[t].T
        g["dWaa"] += daraw @ a[t - 1].T
        da_next = p["Waa"].T @ daraw
    return g, a


def clip(gradients, maxValue):
    """Every gradient clipped elementwise to [-maxValue, maxValue], in place."""
    for name in ("dWax", "dWaa", "dWya", "db", "dby"):
        np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])
    return gradients


def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    """forward, backward, clip to 5, gradient descent; -> loss, the clipped gradients, the last a."""
    loss, cache = dino_rnn_forward(X, Y, a_prev, parameters)
    gradients, a = dino_rnn_backward(X, Y, parameters, cache)
    gradients = clip(gradients, 5)
    for name in ("Wax", "Waa", "Wya", "b", "by"):
        parameters[name] -= learning_rate * gradients["d" + name]
    return loss, gradients, a[len(X) - 1]


def sample(parameters, char_to_ix, seed):
    """The course's sampling loop: x^<1> = 0, a^<0> = 0; at each step a = tanh(Wax x + Waa a_prev + b),
    y = softmax(Wya a + by), an index drawn from y with np.random.seed(counter + seed) then np.random.choice
    (seed and counter both go up by one a step, so the seeds are seed, seed + 2, seed + 4, ...), fed back
    as a one-hot x; stops at '\\n' or after 50 characters (then '\\n' is appended). Also returns every y."""
    p = parameters
    vocab_size, n_a = p["by"].shape[0], p["Waa"].shape[1]
    x, a_prev, indices, distributions, idx, counter = np.zeros((vocab_size, 1)), np.zeros((n_a, 1)), [], [], -1, 0
    newline_character = char_to_ix["\n"]
    while idx != newline_character and counter != 50:
        a = np.tanh(p["Wax"] @ x + p["Waa"] @ a_prev + p["b"])
        y = softmax_columns(p["Wya"] @ a + p["by"])
        np.random.seed(counter + seed)
        idx = np.random.choice(list(range(vocab_size)), p=y.ravel())
        indices.append(int(idx))
        distributions.append(y.ravel())
        x = one_hot_column(idx, vocab_size)
        a_prev = a
        seed += 1
        counter += 1
    if counter == 50:
        indices.append(char_to_ix["\n"])
    return indices, distributions


class DinoRNN:
    """The course's model with the library: RNNCell (weight_ih = Wax, weight_hh = Waa, bias_ih = b,
    bias_hh = 0 and frozen) and a Linear readout (Wya, by)."""

    def __init__(self, parameters):
        p = parameters
        n_a = p["Waa"].shape[0]
        self.cell = mg.nn.RNNCell(DINO_VOCAB, n_a, dtype=F64)
        self.head = mg.nn.Linear(n_a, DINO_VOCAB, dtype=F64)
        self.cell.weight_ih.data, self.cell.weight_hh.data = p["Wax"].copy(), p["Waa"].copy()
        self.cell.bias_ih.data, self.cell.bias_hh.data = p["b"].ravel().copy(), np.zeros(n_a)
        self.cell.bias_hh.requires_grad_(False)
        self.head.weight.data, self.head.bias.data = p["Wya"].copy(), p["by"].ravel().copy()
        # in the course's names
        self.params = {"Wax": self.cell.weight_ih, "Waa": self.cell.weight_hh, "Wya": self.head.weight,
                       "b": self.cell.bias_ih, "by": self.head.bias}

    def step(self, x, a):
        a = self.cell(x, a)
        return self.head(a), a

    @staticmethod
    def inputs(X):
        return [one_hot_column(ix).T for ix in X]           # (1, vocab) rows; None -> zeros

    def loss(self, X, Y, a_prev):
        a, loss = a_prev, 0.0
        for x, y in zip(self.inputs(X), Y):
            logits, a = self.step(x, a)
            loss = loss + cross_entropy(logits, np.array([y]), reduction="sum")
        return loss, a

    def grads(self):
        """In the course's shapes: the biases as columns."""
        return {"d" + name: (p.grad.reshape(-1, 1) if p.grad.ndim == 1 else p.grad) for name, p in self.params.items()}

    def arrays(self):
        return {name: (p.data.reshape(-1, 1) if p.data.ndim == 1 else p.data) for name, p in self.params.items()}


def course_optimize_case():
    """The notebook's optimize test: np.random.seed(1), then randn in this order."""
    rs = np.random.RandomState(1)
    vocab_size, n_a = 27, 100
    a_prev = rs.randn(n_a, 1)
    Wax, Waa, Wya = rs.randn(n_a, vocab_size), rs.randn(n_a, n_a), rs.randn(vocab_size, n_a)
    b, by = rs.randn(n_a, 1), rs.randn(vocab_size, 1)
    X, Y = [12, 3, 5, 11, 22, 3], [4, 14, 11, 22, 25, 26]
    return a_prev, {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": b, "by": by}, X, Y


def test_optimize_against_numpy_and_the_courses_expected_output():
    """optimize's loss, clipped gradients, last hidden state and updated parameters: the library (loss,
    backward, clip_grad_value_(5), SGD(lr=0.01)) against optimize written here, and both against the
    expected output the notebook prints (Loss = 126.503975722, dWaa[1][2] = 0.194709315347, argmax dWax = 93,
    dWya[1][2] = -0.007773876032, db[4] = -0.06809825, dby[1] = 0.01538192, a_last[4] = -1)."""
    a_prev, parameters, X, Y = course_optimize_case()
    net = DinoRNN(parameters)
    optimizer = mg.optim.SGD(list(net.params.values()), lr=0.01)
    loss_np, g, a_last_np = optimize(X, Y, a_prev, parameters)        # updates `parameters` in place

    loss, a_last = net.loss(X, Y, mg.tensor(a_prev.T))
    loss.backward()
    mg.nn.utils.clip_grad_value_(net.params.values(), 5)
    clipped = net.grads()
    optimizer.step()
    close("optimize loss", loss.item(), loss_np)
    close("optimize a_last", a_last.data.T, a_last_np)
    for name in g:
        close(f"optimize {name} (clipped)", clipped[name], g[name])
    for name, array in net.arrays().items():
        close(f"optimize {name} after the update", array, parameters[name])

    assert abs(loss_np - 126.503975722) < 5e-9 and abs(loss.item() - 126.503975722) < 5e-9
    for got in (g, clipped):
        assert abs(got["dWaa"][1][2] - 0.194709315347) < 5e-12
        assert int(np.argmax(got["dWax"])) == 93
        assert abs(got["dWya"][1][2] - -0.007773876032) < 5e-12
        assert abs(got["db"][4][0] - -0.06809825) < 5e-9
        assert abs(got["dby"][1][0] - 0.01538192) < 5e-9
    assert abs(a_last.data[0, 4] - -1.0) < 5e-12


def test_clip_is_clip_grad_value_():
    """The notebook's clip test (np.random.seed(3), gradients randn * 10, maxValue = 10; it prints
    dWaa[1][2] = 10.0, dWax[3][1] = -10.0, dWya[1][2] = 0.29713815361, db[4] = 10., dby[1] = 8.45833407),
    and a real backward pass where the clip bites: clip_grad_value_ is np.clip of every gradient."""
    rs = np.random.RandomState(3)
    shapes = {"dWax": (5, 3), "dWaa": (5, 5), "dWya": (2, 5), "db": (5, 1), "dby": (2, 1)}
    gradients = {name: rs.randn(*shape) * 10 for name, shape in shapes.items()}      # drawn in this order
    tensors = {name: mg.zeros(*shape, dtype=F64, requires_grad=True) for name, shape in shapes.items()}
    for name, t in tensors.items():
        t.grad = gradients[name].copy()
    mg.nn.utils.clip_grad_value_(tensors.values(), 10)
    want = clip({name: a.copy() for name, a in gradients.items()}, 10)
    for name, t in tensors.items():
        close(f"clip {name}", t.grad, want[name])
    assert want["dWaa"][1][2] == 10.0 and want["dWax"][3][1] == -10.0 and want["db"][4][0] == 10.0
    assert abs(want["dWya"][1][2] - 0.29713815361) < 5e-12 and abs(want["dby"][1][0] - 8.45833407) < 5e-9

    a_prev, parameters, X, Y = course_optimize_case()
    loss, cache = dino_rnn_forward(X, Y, a_prev, parameters)
    raw, _ = dino_rnn_backward(X, Y, parameters, cache)
    net = DinoRNN(parameters)
    net.loss(X, Y, mg.tensor(a_prev.T))[0].backward()
    for name, got in net.grads().items():
        close(f"dino gradient {name} before the clip", got, raw[name])
    assert sum(int(np.sum(np.abs(a) > 1)) for a in raw.values()) > 0
    mg.optim.clip_grad_value_(net.params.values(), 1)
    want = clip({name: a.copy() for name, a in raw.items()}, 1)
    for name, got in net.grads().items():
        close(f"clip_grad_value_(1) {name}", got, want[name])


NAMES = ["aachenosaurus", "abrictosaurus", "bob", "dino", "zuniceratops", "yi", "xenoceratops", "ceratops",
         "tyrannosaurus", "iguanodon"]


def dino_examples(iterations):
    for j in range(iterations):
        ixes = [CHAR_TO_IX[ch] for ch in NAMES[j % len(NAMES)]]
        X = [None] + ixes
        yield X, X[1:] + [NEWLINE]


def small_dino_parameters(n_a=12, seed=7, scale=0.4):
    """randn * scale weights (the course's are * 0.01; larger here so that the clip at 5 bites), zero biases."""
    rs = np.random.RandomState(seed)
    return {"Wax": rs.randn(n_a, DINO_VOCAB) * scale, "Waa": rs.randn(n_a, n_a) * scale,
            "Wya": rs.randn(DINO_VOCAB, n_a) * scale, "b": np.zeros((n_a, 1)), "by": np.zeros((DINO_VOCAB, 1))}


@pytest.mark.parametrize("with_runner", [False, True], ids=["loop", "tbptt"])
def test_model_loop_carries_a_prev_across_names(with_runner):
    """model()'s loop over 25 names: optimize per name with a_prev carried to the next name (not reset;
    its history dropped), the loss smoothed as loss * 0.999 + curr_loss * 0.001 from
    get_initial_loss(27, dino_names = 7). With the library: the hand-written detach loop, or each name as
    one mg.bptt.tbptt(k1 = k2 = len(X)) call (full BPTT over the name) whose on_update clips before the
    SGD step, result.state carried on."""
    iterations = 25
    parameters = small_dino_parameters()
    net = DinoRNN(parameters)
    optimizer = mg.optim.SGD(list(net.params.values()), lr=0.01)
    a_prev_np, a_prev = np.zeros((parameters["Waa"].shape[0], 1)), None
    loss_np = loss_mg = -np.log(1.0 / DINO_VOCAB) * 7
    clipped_entries = 0
    for X, Y in dino_examples(iterations):
        curr_np, g, a_prev_np = optimize(X, Y, a_prev_np, parameters)
        clipped_entries += sum(int(np.sum(np.abs(a) == 5)) for a in g.values())     # (g is clipped)
        if with_runner:
            result = mg.bptt.tbptt(net.step, a_prev, net.inputs(X), [np.array([y]) for y in Y],
                                   lambda logits, y: cross_entropy(logits, y, reduction="sum"), len(X), len(X),
                                   optimizer=optimizer,
                                   on_update=lambda u, loss: mg.nn.utils.clip_grad_value_(net.params.values(), 5))
            curr, a_prev = result.losses[0], result.state
        else:
            optimizer.zero_grad()
            loss, a = net.loss(X, Y, a_prev)
            loss.backward()
            mg.nn.utils.clip_grad_value_(net.params.values(), 5)
            optimizer.step()
            curr, a_prev = loss.item(), a.detach()
        loss_np, loss_mg = loss_np * 0.999 + curr_np * 0.001, loss_mg * 0.999 + curr * 0.001
        close("model loop current loss", curr, curr_np, tol=1e-10)
        close("model loop smoothed loss", loss_mg, loss_np, tol=1e-10)
        close("model loop a_prev", a_prev.data.T, a_prev_np, tol=1e-10)
        for name, array in net.arrays().items():
            close(f"model loop {name}", array, parameters[name], tol=1e-10)
    assert clipped_entries > 0, "the clip never bit"


def legacy_choice(y, seed):
    """The course's draw: np.random.seed(seed) then np.random.choice over range(len(y)) with p = y."""
    np.random.seed(seed)
    return np.random.choice(list(range(len(y))), p=y)


def library_sample(net, draw):
    """The sampling loop with the library's model (under no_grad); `draw(probs, counter)` picks the index."""
    x, a, indices, distributions, idx, counter = np.zeros((1, DINO_VOCAB)), None, [], [], -1, 0
    with mg.no_grad():
        while idx != NEWLINE and counter != 50:
            logits, a = net.step(x, a)
            probs = softmax(logits, dim=-1)
            idx = int(draw(probs, counter))
            indices.append(idx)
            distributions.append(probs.data[0])
            x = one_hot_column(idx).T
            counter += 1
    if counter == 50:
        indices.append(NEWLINE)
    return indices, distributions


def test_sample_distributions_along_the_courses_path():
    """sample(parameters, char_to_ix, seed) with the course's seeding on a random model: along the indices
    it drew, the library's softmax at every step is numpy's, and the course's seeded draw applied to the
    library's distributions picks the same indices."""
    state = np.random.get_state()
    try:
        for seed in (0, 3):
            parameters = small_dino_parameters(n_a=20, seed=11 + seed)
            want, want_y = sample(parameters, CHAR_TO_IX, seed)
            net = DinoRNN(parameters)
            got, got_y = library_sample(net, lambda probs, counter: legacy_choice(probs.data[0], seed + 2 * counter))
            assert got == want
            assert len(want) > 3
            close("sample distributions", np.array(got_y), np.array(want_y))
    finally:
        np.random.set_state(state)


def deterministic_parameters(chain, start, n_a=DINO_VOCAB):
    """A model whose every distribution is exactly one-hot (the other exponentials underflow to 0): the
    first character `start`, then character c followed by chain[c]."""
    Wax = 10.0 * np.eye(n_a, DINO_VOCAB)                    # a = tanh(10 x): the previous character, nearly 1
    Wya = np.zeros((DINO_VOCAB, n_a))
    for c, following in chain.items():
        Wya[CHAR_TO_IX[following], CHAR_TO_IX[c]] = 2000.0
    by = np.zeros((DINO_VOCAB, 1))
    by[CHAR_TO_IX[start]] = 1000.0
    return {"Wax": Wax, "Waa": np.zeros((n_a, n_a)), "Wya": Wya, "b": np.zeros((n_a, 1)), "by": by}


@pytest.mark.parametrize("case", ["name", "fifty", "newline_first"])
def test_library_sampling_with_its_own_generator_where_deterministic(case):
    """The library's own draw (mg.multinomial with an mg.Generator) cannot repeat the course's draws (numpy's
    legacy np.random.seed / MT19937 stream); it can where the distributions are one-hot: the name the
    chain spells and its '\\n', the 50-character cap with the appended '\\n', a '\\n' at once."""
    chain, start = {"newline_first": ({}, "\n"), "name": ({"d": "i", "i": "n", "n": "o", "o": "\n"}, "d"),
                    "fifty": ({"a": "b", "b": "a"}, "a")}[case]
    parameters = deterministic_parameters(chain, start)
    state = np.random.get_state()
    try:
        want, want_y = sample(parameters, CHAR_TO_IX, seed=0)
    finally:
        np.random.set_state(state)
    assert all(np.sum(y == 1.0) == 1 and np.sum(y == 0.0) == DINO_VOCAB - 1 for y in want_y)
    generator = mg.Generator().manual_seed(2024)
    got, got_y = library_sample(DinoRNN(parameters),
                                lambda probs, counter: mg.multinomial(probs[0], 1, generator=generator).item())
    assert got == want
    close("deterministic sample distributions", np.array(got_y), np.array(want_y))
    expected = {"name": "dino\n", "fifty": "ab" * 25 + "\n", "newline_first": "\n"}[case]
    assert "".join(CHARS[i] for i in want) == expected
