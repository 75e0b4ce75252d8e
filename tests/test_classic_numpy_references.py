"""The library against the hand-written numpy BPTT code that courses teach from, in float64.

The expected values come from the numpy code alone, never from the library.

1. Andrej Karpathy's min-char-rnn.py (the gist "Minimal character-level language model with a
   Vanilla Recurrent Neural Network, in Python/numpy", https://gist.github.com/karpathy/d4dee566867f8291f086,
   BSD License). Its `lossFun` is copied below verbatim from the copy in the search index,
   OkameProductions/min-char-rnn, min-char-rnn.py, commit 29961a63186242194d2dbb18b4d9e97b48d4bb5a (the
   gist's Python 3 form; that repository changed only the file I/O). The same model is then written as a course
   would with microgradseq: `nn.RNNCell` (weight_ih = Wxh, weight_hh = Whh, bias_ih = bh, bias_hh = 0 and
   frozen), an `nn.Linear` readout (Why, by), one-hot inputs, summed cross-entropy over seq_length steps,
   and `hprev` carried between chunks with its history dropped: TBPTT(25, 25), also run through
   `mg.bptt.tbptt`. Checked: the loss, every gradient before lossFun's np.clip, hprev, the clipping
   (`clip_grad_value_` against np.clip(dparam, -5, 5, out=dparam)), and the gist's training loop (Adagrad,
   the data pointer that wraps and resets hprev, the smoothed loss) over 50 iterations.
2. Stanford CS231n assignment 3's rnn_layers.py: rnn_step_forward/backward, rnn_forward/backward,
   word_embedding_forward/backward, lstm_step_forward/backward, lstm_forward/backward,
   temporal_affine_forward/backward and temporal_softmax_loss. The functions below keep the assignment's
   names, signatures, layouts and documented math (signatures and docstrings as in, for example,
   AnirudhM1/CS231n-2022-Solutions, assignment3/cs231n/rnn_layers.py, commit
   1308eeedf663a295700b2819b880a51775e9a478), but their bodies are written here from that documented
   math rather than copied from a student's solution. Two layouts differ from PyTorch's, and the tests
   map them explicitly (this is what a student porting weights trips on):
   - CS231n multiplies from the right, x @ Wx with Wx (D, H); PyTorch stores weight_ih (H, D) and
     computes x @ weight_ih.T. So weight_ih = Wx.T, weight_hh = Wh.T, and Linear.weight = w.T.
   - CS231n's LSTM stacks its gates i, f, o, g (a[:, 2H:3H] is o, a[:, 3H:] is g); PyTorch's, and
     microgradseq's, stack i, f, g, o. So the last two blocks swap, in the weights and in the bias.
"""

from __future__ import annotations

import builtins
import types

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.functional import cross_entropy

F64 = np.float64
WORST: dict[str, float] = {}       # the largest relative difference seen per check (read by hand, not asserted)


def close(label, got, want, tol=1e-12):
    """max |got - want| <= tol * max(1, max |want|), recorded in WORST under label."""
    got, want = np.asarray(got, dtype=F64), np.asarray(want, dtype=F64)
    assert got.shape == want.shape, f"{label}: shape {got.shape} != {want.shape}"
    diff = float(np.max(np.abs(got - want), initial=0.0)) / max(1.0, float(np.max(np.abs(want), initial=0.0)))
    WORST[label] = max(WORST.get(label, 0.0), diff)
    assert diff <= tol, f"{label}: relative difference {diff:.3g} > {tol:g}"


# =====================================================================================================
# 1. Karpathy's min-char-rnn.py
# =====================================================================================================

# lossFun reads the model as module globals, as in the gist; `karpathy_lossFun` below runs it with
# globals of its own (these placeholders only say which names it reads).
Wxh = Whh = Why = bh = by = vocab_size = None


# ---- verbatim from min-char-rnn.py by Andrej Karpathy (@karpathy), BSD License ----------------------
# https://gist.github.com/karpathy/d4dee566867f8291f086
def lossFun(inputs, targets, hprev):
  """
  inputs,targets are both list of integers.
  hprev is Hx1 array of initial hidden state
  returns the loss, gradients on model parameters, and last hidden state
  """
  xs, hs, ys, ps = {}, {}, {}, {}
  hs[-1] = np.copy(hprev)
  loss = 0
  # forward pass
  for t in range(len(inputs)):
    xs[t] = np.zeros((vocab_size,1)) # encode in 1-of-k representation
    xs[t][inputs[t]] = 1
    hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t-1]) + bh) # hidden state
    ys[t] = np.dot(Why, hs[t]) + by # unnormalized log probabilities for next chars
    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t])) # probabilities for next chars
    loss += -np.log(ps[t][targets[t],0]) # softmax (cross-entropy loss)
  # backward pass: compute gradients going backwards
  dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
  dbh, dby = np.zeros_like(bh), np.zeros_like(by)
  dhnext = np.zeros_like(hs[0])
  for t in reversed(range(len(inputs))):
    dy = np.copy(ps[t])
    dy[targets[t]] -= 1 # backprop into y. see http://cs231n.github.io/neural-networks-case-study/#grad if confused here
    dWhy += np.dot(dy, hs[t].T)
    dby += dy
    dh = np.dot(Why.T, dy) + dhnext # backprop into h
    dhraw = (1 - hs[t] * hs[t]) * dh # backprop through tanh nonlinearity
    dbh += dhraw
    dWxh += np.dot(dhraw, xs[t].T)
    dWhh += np.dot(dhraw, hs[t-1].T)
    dhnext = np.dot(Whh.T, dhraw)
  for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
    np.clip(dparam, -5, 5, out=dparam) # clip to mitigate exploding gradients
  return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs)-1]
# ---- end of the verbatim copy -------------------------------------------------------------------------


class RecordingNumpy:
    """numpy, except that `clip` first keeps a copy of what it is given: lossFun's gradients before its
    np.clip (in lossFun's order dWxh, dWhh, dWhy, dbh, dby), without editing lossFun."""

    def __init__(self):
        self.before_clip = []

    def __getattr__(self, name):
        return getattr(np, name)

    def clip(self, a, *args, **kwargs):
        self.before_clip.append(np.array(a, copy=True))
        return np.clip(a, *args, **kwargs)


def karpathy_lossFun(model):
    """The verbatim lossFun with its globals taken from `model` (the gist's arrays, which the Adagrad loop
    updates in place, so the function sees every update), and the recorder that stands in for np."""
    recorder = RecordingNumpy()
    namespace = {"__builtins__": builtins, "np": recorder, **model}
    return types.FunctionType(lossFun.__code__, namespace, "lossFun"), recorder


def unclipped(recorder, clipped):
    """The five gradients of the last lossFun call as they were before its clip."""
    before = recorder.before_clip[-5:]
    assert [b.shape for b in before] == [c.shape for c in clipped]
    return before


# A made-up text, heavy in 's' so that some chunks' gradients pass 5 and the clip bites.
DATA = ("sis sews six silk sashes; sam sells sixty sea shells. so says the sly cat, "
        "and the dog sits on the mossy step by the sea. sassy sue sees less mess, sam sees more. ")
CHARS = sorted(set(DATA))       # the gist's list(set(data)) has an order that changes with str hashing
VOCAB = len(CHARS)
CHAR_TO_IX = {ch: i for i, ch in enumerate(CHARS)}
HIDDEN = 16
SEQ_LENGTH = 25
LEARNING_RATE = 1e-1
PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def karpathy_model(seed=0, scale=0.01):
    """The gist's initialisation (randn * 0.01, zero biases), from a seeded generator."""
    rng = np.random.default_rng(seed)
    return {"Wxh": rng.standard_normal((HIDDEN, VOCAB)) * scale,
            "Whh": rng.standard_normal((HIDDEN, HIDDEN)) * scale,
            "Why": rng.standard_normal((VOCAB, HIDDEN)) * scale,
            "bh": np.zeros((HIDDEN, 1)), "by": np.zeros((VOCAB, 1)), "vocab_size": VOCAB}


class CourseCharRNN:
    """The same model as a course writes it with microgradseq: an RNNCell and a Linear readout."""

    def __init__(self, model):
        self.cell = mg.nn.RNNCell(VOCAB, HIDDEN, dtype=F64)
        self.head = mg.nn.Linear(HIDDEN, VOCAB, dtype=F64)
        self.cell.weight_ih.data = model["Wxh"].copy()              # (H, V): the same layout as PyTorch's
        self.cell.weight_hh.data = model["Whh"].copy()
        self.cell.bias_ih.data = model["bh"].ravel().copy()         # the gist's one bias ...
        self.cell.bias_hh.data = np.zeros(HIDDEN)                   # ... and the cuDNN-style second one at 0,
        self.cell.bias_hh.requires_grad_(False)                     # kept there (it would train otherwise)
        self.head.weight.data = model["Why"].copy()
        self.head.bias.data = model["by"].ravel().copy()
        # in lossFun's gradient order: dWxh, dWhh, dWhy, dbh, dby
        self.params = [self.cell.weight_ih, self.cell.weight_hh, self.head.weight, self.cell.bias_ih, self.head.bias]

    def step(self, x, h):
        """one step for mg.bptt.tbptt: (logits, new state)."""
        h = self.cell(x, h)
        return self.head(h), h

    def chunk_loss(self, inputs, targets, hprev):
        """The summed cross-entropy of one chunk from state hprev (None: zeros), and the last state."""
        h, loss = hprev, 0.0
        for x, y in zip(one_hot(inputs), class_targets(targets)):
            logits, h = self.step(x, h)
            loss = loss + cross_entropy(logits, y, reduction="sum")
        return loss, h

    def zero_grad(self):
        self.cell.zero_grad()
        self.head.zero_grad()

    def grads(self):
        return [p.grad for p in self.params]

    def arrays(self):
        return [p.data for p in self.params]


def one_hot(ixes):
    return [np.eye(VOCAB)[[ix]] for ix in ixes]         # (1, V) each: a batch of one


def class_targets(ixes):
    return [np.array([ix]) for ix in ixes]


def chunk(p):
    """The gist's inputs and targets for the data pointer p."""
    return ([CHAR_TO_IX[ch] for ch in DATA[p:p + SEQ_LENGTH]],
            [CHAR_TO_IX[ch] for ch in DATA[p + 1:p + SEQ_LENGTH + 1]])


def as_column_layout(grads):
    """The library's gradients in lossFun's shapes: the biases (H,), (V,) as columns (H, 1), (V, 1)."""
    return [g.reshape(-1, 1) if g.ndim == 1 else g for g in grads]


CHUNKS_BEFORE_WRAP = (len(DATA) - SEQ_LENGTH - 1) // SEQ_LENGTH + 1     # p = 0, 25, ... while p + 26 < len


def test_lossfun_loss_gradients_and_hprev_over_carried_chunks():
    """Chunk after chunk with hprev carried and its history dropped (TBPTT(25, 25)), no updates: the
    loss, the five gradients before lossFun's clip and the last hidden state are lossFun's."""
    model = karpathy_model(seed=1, scale=0.3)
    loss_fn, recorder = karpathy_lossFun(model)
    net = CourseCharRNN(model)
    hprev_np, hprev = np.zeros((HIDDEN, 1)), None
    assert CHUNKS_BEFORE_WRAP >= 5
    for c in range(CHUNKS_BEFORE_WRAP):
        inputs, targets = chunk(c * SEQ_LENGTH)
        want_loss, *clipped, hprev_np = loss_fn(inputs, targets, hprev_np)
        net.zero_grad()
        loss, h = net.chunk_loss(inputs, targets, hprev)
        loss.backward()
        hprev = h.detach()                                  # carried on, its history dropped
        close("min-char-rnn loss", loss.item(), want_loss)
        for name, got, want in zip(PARAM_NAMES, as_column_layout(net.grads()), unclipped(recorder, clipped)):
            close(f"min-char-rnn d{name} (before clip)", got, want)
        close("min-char-rnn hprev", hprev.data.reshape(HIDDEN, 1), hprev_np)
        assert net.cell.bias_hh.grad is None                # frozen at 0, as the gist has no second bias


def test_tbptt_runner_is_the_carried_hprev_loop():
    """mg.bptt.tbptt(step, None, ..., k1=25, k2=25, reduction="sum") over the chunks before the data
    wraps: per update, the same loss and (before clipping) gradients as lossFun and as the hand-written
    detach loop, and the final state is lossFun's last hprev."""
    model = karpathy_model(seed=2, scale=0.3)
    loss_fn, recorder = karpathy_lossFun(model)
    n = CHUNKS_BEFORE_WRAP * SEQ_LENGTH
    ixes = [CHAR_TO_IX[ch] for ch in DATA[:n + 1]]
    inputs, targets = ixes[:-1], ixes[1:]

    want_losses, want_grads, hprev_np = [], [], np.zeros((HIDDEN, 1))
    for c in range(CHUNKS_BEFORE_WRAP):
        window = slice(c * SEQ_LENGTH, (c + 1) * SEQ_LENGTH)
        loss, *clipped, hprev_np = loss_fn(inputs[window], targets[window], hprev_np)
        want_losses.append(loss)
        want_grads.append(unclipped(recorder, clipped))

    loop = CourseCharRNN(model)                             # the hand-written loop
    loop_losses, loop_grads, h = [], [], None
    for c in range(CHUNKS_BEFORE_WRAP):
        window = slice(c * SEQ_LENGTH, (c + 1) * SEQ_LENGTH)
        loop.zero_grad()
        loss, h = loop.chunk_loss(inputs[window], targets[window], h)
        loss.backward()
        h = h.detach()
        loop_losses.append(loss.item())
        loop_grads.append([g.copy() for g in loop.grads()])

    runner = CourseCharRNN(model)
    runner_grads = []

    def on_update(u, loss):                                 # each update's own gradients
        runner_grads.append([g.copy() for g in runner.grads()])
        runner.zero_grad()

    result = mg.bptt.tbptt(runner.step, None, one_hot(inputs), class_targets(targets),
                           lambda logits, y: cross_entropy(logits, y, reduction="sum"),
                           SEQ_LENGTH, SEQ_LENGTH, on_update=on_update, reduction="sum")

    assert result.updates == [SEQ_LENGTH * (c + 1) for c in range(CHUNKS_BEFORE_WRAP)]
    assert len(runner_grads) == len(loop_grads) == len(want_grads) == CHUNKS_BEFORE_WRAP
    for c in range(CHUNKS_BEFORE_WRAP):
        close("tbptt(25, 25) loss vs lossFun", result.losses[c], want_losses[c])
        close("carried-hprev loop loss vs lossFun", loop_losses[c], want_losses[c])
        close("tbptt(25, 25) loss vs loop", result.losses[c], loop_losses[c])
        for name, got, loop_got, want in zip(PARAM_NAMES, as_column_layout(runner_grads[c]),
                                             as_column_layout(loop_grads[c]), want_grads[c]):
            close(f"tbptt(25, 25) d{name} vs lossFun", got, want)
            close(f"carried-hprev loop d{name} vs lossFun", loop_got, want)
            close(f"tbptt(25, 25) d{name} vs loop", got, loop_got)
    close("tbptt(25, 25) final state vs lossFun's hprev", np.asarray(result.state.data).reshape(HIDDEN, 1), hprev_np)


@pytest.mark.parametrize("clip_grad_value_", [mg.nn.utils.clip_grad_value_, mg.optim.clip_grad_value_],
                         ids=["nn.utils", "optim"])
def test_clip_grad_value_is_lossfuns_np_clip(clip_grad_value_):
    """clip_grad_value_(params, 5) after backward gives lossFun's returned (clipped) gradients, on chunks
    where the clip changes something."""
    model = karpathy_model(seed=3, scale=0.3)
    loss_fn, recorder = karpathy_lossFun(model)
    net = CourseCharRNN(model)
    hprev_np, hprev, clipped_entries = np.zeros((HIDDEN, 1)), None, 0
    for c in range(CHUNKS_BEFORE_WRAP):
        inputs, targets = chunk(c * SEQ_LENGTH)
        _, *clipped, hprev_np = loss_fn(inputs, targets, hprev_np)
        clipped_entries += sum(int(np.sum(np.abs(b) > 5)) for b in unclipped(recorder, clipped))
        net.zero_grad()
        loss, h = net.chunk_loss(inputs, targets, hprev)
        loss.backward()
        hprev = h.detach()
        clip_grad_value_(net.params, 5)
        for name, got, want in zip(PARAM_NAMES, as_column_layout(net.grads()), clipped):
            close(f"clip_grad_value_ d{name} vs np.clip", got, want)
        assert max(np.max(np.abs(g)) for g in net.grads()) <= 5
    assert clipped_entries > 0, "no gradient passed 5: the clip was not tested"


def karpathy_training(model, iterations):
    """The gist's training loop without its sampling: (losses, smoothed losses, parameters after each
    iteration). The loop body is the gist's, copied as lossFun is."""
    loss_fn, _ = karpathy_lossFun(model)
    data, seq_length, learning_rate, hidden_size, vocab_size = DATA, SEQ_LENGTH, LEARNING_RATE, HIDDEN, VOCAB
    char_to_ix = CHAR_TO_IX
    Wxh, Whh, Why, bh, by = (model[name] for name in PARAM_NAMES)
    losses, smooth_losses, params = [], [], []
    # ---- from min-char-rnn.py by Andrej Karpathy, BSD License (the sampling left out, the loop bounded) ----
    n, p = 0, 0
    mWxh, mWhh, mWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    mbh, mby = np.zeros_like(bh), np.zeros_like(by) # memory variables for Adagrad
    smooth_loss = -np.log(1.0/vocab_size)*seq_length # loss at iteration 0
    while n < iterations:
      # prepare inputs (we're sweeping from left to right in steps seq_length long)
      if p+seq_length+1 >= len(data) or n == 0:
        hprev = np.zeros((hidden_size,1)) # reset RNN memory
        p = 0 # go from start of data
      inputs = [char_to_ix[ch] for ch in data[p:p+seq_length]]
      targets = [char_to_ix[ch] for ch in data[p+1:p+seq_length+1]]

      # forward seq_length characters through the net and fetch gradient
      loss, dWxh, dWhh, dWhy, dbh, dby, hprev = loss_fn(inputs, targets, hprev)
      smooth_loss = smooth_loss * 0.999 + loss * 0.001

      # perform parameter update with Adagrad
      for param, dparam, mem in zip([Wxh, Whh, Why, bh, by],
                                    [dWxh, dWhh, dWhy, dbh, dby],
                                    [mWxh, mWhh, mWhy, mbh, mby]):
        mem += dparam * dparam
        param += -learning_rate * dparam / np.sqrt(mem + 1e-8) # adagrad update

      p += seq_length # move data pointer
      n += 1 # iteration counter
      # ---- end of the gist's loop ----
      losses.append(loss)
      smooth_losses.append(smooth_loss)
      params.append([a.copy() for a in (Wxh, Whh, Why, bh, by)])
    return losses, smooth_losses, params



def adagrad_step(params, mems):
    """Karpathy's Adagrad in the library's idiom: mem += g * g; p -= lr g / sqrt(mem + 1e-8)."""
    with mg.no_grad():
        for param, mem in zip(params, mems):
            mem += param.grad * param.grad
            param -= LEARNING_RATE * param.grad / mg.sqrt(mem + 1e-8)


def course_training(model, iterations):
    """The gist's training loop written with microgradseq: (losses, smoothed losses, parameters after
    each iteration, in lossFun's shapes)."""
    net = CourseCharRNN(model)
    mems = [np.zeros_like(param.data) for param in net.params]
    smooth_loss = -np.log(1.0 / VOCAB) * SEQ_LENGTH
    losses, smooth_losses, params = [], [], []
    p, hprev = 0, None
    for n in range(iterations):
        if p + SEQ_LENGTH + 1 >= len(DATA) or n == 0:
            hprev, p = None, 0                              # reset the memory (None: zeros), from the start
        inputs, targets = chunk(p)
        net.zero_grad()
        loss, h = net.chunk_loss(inputs, targets, hprev)
        loss.backward()
        hprev = h.detach()
        mg.nn.utils.clip_grad_value_(net.params, 5)
        adagrad_step(net.params, mems)
        smooth_loss = smooth_loss * 0.999 + loss.item() * 0.001
        p += SEQ_LENGTH
        losses.append(loss.item())
        smooth_losses.append(smooth_loss)
        params.append(as_column_layout([a.copy() for a in net.arrays()]))
    return losses, smooth_losses, params


ITERATIONS = 50


def test_training_loop_tracks_the_gists_adagrad_loop():
    """50 iterations of the gist's loop (the data wraps and hprev resets every few chunks, Adagrad with
    lossFun's clip) against the same loop with the library: every parameter, loss and smoothed loss."""
    assert ITERATIONS > 3 * CHUNKS_BEFORE_WRAP                         # several resets of hprev
    want_losses, want_smooth, want_params = karpathy_training(karpathy_model(seed=4), ITERATIONS)
    losses, smooth, params = course_training(karpathy_model(seed=4), ITERATIONS)
    for n in range(ITERATIONS):
        close("training loss", losses[n], want_losses[n], tol=1e-10)
        close("training smoothed loss", smooth[n], want_smooth[n], tol=1e-10)
        for name, got, want in zip(PARAM_NAMES, params[n], want_params[n]):
            close(f"training {name} after Adagrad", got, want, tol=1e-10)
    assert want_losses[-1] < 0.7 * want_losses[0]          # it learned something: the updates did act
    assert np.abs(params[-1][1] - karpathy_model(seed=4)["Whh"]).max() > 0.1


def test_training_through_the_tbptt_runner():
    """The gist's loop up to the first wrap of the data is one run of mg.bptt.tbptt(k1=25, k2=25) whose
    on_update clips and makes the Adagrad step: the next chunk runs with the updated weights."""
    want_losses, _, want_params = karpathy_training(karpathy_model(seed=5), CHUNKS_BEFORE_WRAP)
    net = CourseCharRNN(karpathy_model(seed=5))
    mems = [np.zeros_like(param.data) for param in net.params]
    after = []

    def on_update(u, loss):
        mg.optim.clip_grad_value_(net.params, 5)
        adagrad_step(net.params, mems)
        net.zero_grad()
        after.append(as_column_layout([a.copy() for a in net.arrays()]))

    n = CHUNKS_BEFORE_WRAP * SEQ_LENGTH
    ixes = [CHAR_TO_IX[ch] for ch in DATA[:n + 1]]
    result = mg.bptt.tbptt(net.step, None, one_hot(ixes[:-1]), class_targets(ixes[1:]),
                           lambda logits, y: cross_entropy(logits, y, reduction="sum"),
                           SEQ_LENGTH, SEQ_LENGTH, on_update=on_update, reduction="sum")
    assert len(after) == len(result.losses) == CHUNKS_BEFORE_WRAP
    for c in range(CHUNKS_BEFORE_WRAP):
        close("tbptt training loss", result.losses[c], want_losses[c], tol=1e-10)
        for name, got, want in zip(PARAM_NAMES, after[c], want_params[c]):
            close(f"tbptt training {name} after Adagrad", got, want, tol=1e-10)


# =====================================================================================================
# 2. CS231n assignment 3, rnn_layers.py: its functions, written from their documented math
# =====================================================================================================

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,) -> next_h (N, H), cache."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """-> dx, dprev_h, dWx, dWh, db; tanh' from its output, 1 - next_h^2."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H) -> h (N, T, H), cache: rnn_step_forward over t."""
    N, T, _ = x.shape
    h, cache, prev_h = np.zeros((N, T, Wh.shape[0])), [], h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh, cache):
    """dh (N, T, H): the upstream gradient of every h_t -> dx, dh0, dWx, dWh, db."""
    N, T, H = dh.shape
    Wx = cache[0][2]
    dx, dWx, dWh, db = np.zeros((N, T, Wx.shape[0])), np.zeros_like(Wx), np.zeros((H, H)), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def word_embedding_forward(x, W):
    """x (N, T) integers, W (V, D) -> out (N, T, D), cache."""
    return W[x, :], (x, W.shape)


def word_embedding_backward(dout, cache):
    """dW (V, D): a word used several times gets the sum (np.add.at)."""
    x, shape = cache
    dW = np.zeros(shape)
    np.add.at(dW, x, dout)
    return dW


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Wx (D, 4H), Wh (H, 4H), b (4H,), the gate blocks in the order i, f, o, g."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """-> dx, dprev_h, dprev_c, dWx, dWh, db."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tanh_c, dc * i
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H); the initial cell state is zero, and only h is returned."""
    N, T, _ = x.shape
    h, cache, prev_h, prev_c = np.zeros((N, T, Wh.shape[0])), [], h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def lstm_backward(dh, cache):
    """-> dx, dh0, dWx, dWh, db."""
    N, T, H = dh.shape
    Wx = cache[0][3]
    dx, dWx, dWh, db = np.zeros((N, T, Wx.shape[0])), np.zeros_like(Wx), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c,
                                                                               cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """x (N, T, D), w (D, M), b (M,) -> out (N, T, M), cache."""
    N, T, D = x.shape
    return (x.reshape(N * T, D) @ w).reshape(N, T, -1) + b, (x, w)


def temporal_affine_backward(dout, cache):
    """-> dx, dw, db."""
    x, w = cache
    N, T, D = x.shape
    flat = dout.reshape(N * T, -1)
    return (flat @ w.T).reshape(N, T, D), x.reshape(N * T, D).T @ flat, flat.sum(axis=0)


def temporal_softmax_loss(x, y, mask):
    """x (N, T, V) scores, y (N, T) classes, mask (N, T) bool: the cross-entropy summed over the
    time steps where mask is True, divided by N (not by the number of kept steps); -> loss, dx."""
    N, T, V = x.shape
    flat, y_flat, mask_flat = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    probs = np.exp(flat - flat.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx = probs.copy()
    dx[np.arange(N * T), y_flat] -= 1
    dx = dx / N * mask_flat[:, None]
    return loss, dx.reshape(N, T, V)


# ---- the layout maps, CS231n <-> PyTorch/microgradseq -------------------------------------------------

def lstm_gates_to_pytorch(a):
    """Gate blocks along the last axis from CS231n's order i, f, o, g to PyTorch's i, f, g, o."""
    i, f, o, g = np.split(a, 4, axis=-1)
    return np.concatenate([i, f, g, o], axis=-1)


def lstm_gates_to_cs231n(a):
    """The inverse: PyTorch's i, f, g, o to CS231n's i, f, o, g."""
    i, f, g, o = np.split(a, 4, axis=-1)
    return np.concatenate([i, f, o, g], axis=-1)


def set_cell_weights(cell, Wx, Wh, b, lstm=False):
    """CS231n's (Wx (D, G H), Wh (H, G H), b (G H,)) into a PyTorch-layout cell: weight_ih = Wx^T (G H, D),
    weight_hh = Wh^T, bias_ih = b and bias_hh = 0 (CS231n has one bias); an LSTM's gate blocks reordered."""
    order = lstm_gates_to_pytorch if lstm else (lambda a: a)
    cell_ih, cell_hh, bias_ih, bias_hh = cell_parameters(cell)
    cell_ih.data = order(Wx).T.copy()
    cell_hh.data = order(Wh).T.copy()
    bias_ih.data = order(b).copy()
    bias_hh.data = np.zeros_like(b)


def cell_parameters(module):
    """weight_ih, weight_hh, bias_ih, bias_hh of a cell or of a one-layer RNN/LSTM."""
    suffix = "_l0" if isinstance(module, (mg.nn.RNN, mg.nn.LSTM)) else ""
    return tuple(getattr(module, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def cell_grads_as_cs231n(module, lstm=False):
    """(dWx, dWh, db) from the module's gradients, mapped back; the bias gradient is bias_ih's, and
    bias_hh's must equal it (both biases are added to the same pre-activation)."""
    order = lstm_gates_to_cs231n if lstm else (lambda a: a)
    weight_ih, weight_hh, bias_ih, bias_hh = cell_parameters(module)
    close("bias_hh.grad == bias_ih.grad", bias_hh.grad, bias_ih.grad)
    return order(weight_ih.grad.T), order(weight_hh.grad.T), order(bias_ih.grad)


N, T, D, H, V = 3, 5, 4, 6, 7


@pytest.fixture
def rng():
    return np.random.default_rng(231)


def leaf(array):
    return mg.tensor(np.array(array, dtype=F64), requires_grad=True)


FUSED = pytest.mark.parametrize("fused", [False, True], ids=["ops", "fused"])


@FUSED
def test_rnn_step_against_rnn_step_forward_backward(rng, fused):
    x, prev_h, dnext_h = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    next_h_np, cache = rnn_step_forward(x, prev_h, Wx, Wh, b)
    dx_np, dprev_h_np, dWx_np, dWh_np, db_np = rnn_step_backward(dnext_h, cache)

    cell = mg.nn.RNNCell(D, H, dtype=F64, fused=fused)
    set_cell_weights(cell, Wx, Wh, b)
    x_t, prev_h_t = leaf(x), leaf(prev_h)
    next_h = cell(x_t, prev_h_t)
    (next_h * dnext_h).sum().backward()                 # upstream gradient dnext_h
    close("rnn_step next_h", next_h.data, next_h_np)
    close("rnn_step dx", x_t.grad, dx_np)
    close("rnn_step dprev_h", prev_h_t.grad, dprev_h_np)
    for label, got, want in zip(("dWx", "dWh", "db"), cell_grads_as_cs231n(cell), (dWx_np, dWh_np, db_np)):
        close(f"rnn_step {label}", got, want)


@FUSED
def test_rnn_layer_against_rnn_forward_backward(rng, fused):
    x, h0, dh = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
    Wx, Wh, b = rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    h_np, cache = rnn_forward(x, h0, Wx, Wh, b)
    dx_np, dh0_np, dWx_np, dWh_np, db_np = rnn_backward(dh, cache)

    rnn = mg.nn.RNN(D, H, batch_first=True, dtype=F64, fused=fused)       # (N, T, D), as CS231n's x
    set_cell_weights(rnn, Wx, Wh, b)
    x_t, h0_t = leaf(x), leaf(h0[None])                  # h0 as (num_layers = 1, N, H)
    h, h_last = rnn(x_t, h0_t)
    (h * dh).sum().backward()
    close("rnn_forward h", h.data, h_np)
    close("rnn last state", h_last.data[0], h_np[:, -1])
    close("rnn_backward dx", x_t.grad, dx_np)
    close("rnn_backward dh0", h0_t.grad[0], dh0_np)
    for label, got, want in zip(("dWx", "dWh", "db"), cell_grads_as_cs231n(rnn), (dWx_np, dWh_np, db_np)):
        close(f"rnn_backward {label}", got, want)


@FUSED
def test_rnn_cell_unrolled_against_rnn_forward_backward(rng, fused):
    """The same sequence with an RNNCell in a Python loop over x[:, t, :], as rnn_forward is written."""
    x, h0, dh = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
    Wx, Wh, b = rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    h_np, cache = rnn_forward(x, h0, Wx, Wh, b)
    dx_np, dh0_np, dWx_np, dWh_np, db_np = rnn_backward(dh, cache)

    cell = mg.nn.RNNCell(D, H, dtype=F64, fused=fused)
    set_cell_weights(cell, Wx, Wh, b)
    x_t, h0_t = leaf(x), leaf(h0)
    h, hs = h0_t, []
    for t in range(T):
        h = cell(x_t[:, t, :], h)
        hs.append(h)
    h = mg.stack(hs, dim=1)
    (h * dh).sum().backward()
    close("rnn cell loop h", h.data, h_np)
    close("rnn cell loop dx", x_t.grad, dx_np)
    close("rnn cell loop dh0", h0_t.grad, dh0_np)
    for label, got, want in zip(("dWx", "dWh", "db"), cell_grads_as_cs231n(cell), (dWx_np, dWh_np, db_np)):
        close(f"rnn cell loop {label}", got, want)


def test_embedding_against_word_embedding_forward_backward(rng):
    W = rng.standard_normal((V, D))
    x = np.array([[0, 3, 1, 3, 3], [6, 2, 2, 0, 5], [4, 4, 4, 1, 0]])   # repeated words: summed gradients
    dout = rng.standard_normal((N, T, D))
    out_np, cache = word_embedding_forward(x, W)
    dW_np = word_embedding_backward(dout, cache)

    embedding = mg.nn.Embedding(V, D, dtype=F64)
    embedding.weight.data = W.copy()                     # (V, D) in both
    out = embedding(x)
    (out * dout).sum().backward()
    close("word_embedding_forward", out.data, out_np)
    close("word_embedding_backward dW", embedding.weight.grad, dW_np)


def test_linear_over_time_against_temporal_affine_forward_backward(rng):
    x, w, b, dout = (rng.standard_normal((N, T, D)), rng.standard_normal((D, V)), rng.standard_normal(V),
                     rng.standard_normal((N, T, V)))
    out_np, cache = temporal_affine_forward(x, w, b)
    dx_np, dw_np, db_np = temporal_affine_backward(dout, cache)

    linear = mg.nn.Linear(D, V, dtype=F64)
    linear.weight.data = w.T.copy()                      # CS231n's w (D, M) is PyTorch's weight (M, D) transposed
    linear.bias.data = b.copy()
    x_t = leaf(x)
    out = linear(x_t)                                    # Linear applies to the last axis of (N, T, D)
    (out * dout).sum().backward()
    close("temporal_affine_forward", out.data, out_np)
    close("temporal_affine_backward dx", x_t.grad, dx_np)
    close("temporal_affine_backward dw", linear.weight.grad.T, dw_np)
    close("temporal_affine_backward db", linear.bias.grad, db_np)


def masked_loss_ignore_index_flat(scores, y, mask):
    """(N * T, V) rows, the masked steps' targets set to ignore_index, summed, / N."""
    targets = np.where(mask, y, -100).reshape(-1)
    return cross_entropy(scores.reshape(N * T, V), targets, ignore_index=-100, reduction="sum") / N


def masked_loss_ignore_index_classes_on_axis_1(scores, y, mask):
    """PyTorch's layout for sequences, (N, V, T) with targets (N, T)."""
    return cross_entropy(scores.permute(0, 2, 1), np.where(mask, y, -1), ignore_index=-1, reduction="sum") / N


def masked_loss_times_mask(scores, y, mask):
    """reduction="none", times the mask, summed, / N."""
    per_step = cross_entropy(scores.reshape(N * T, V), y.reshape(-1), reduction="none")
    return (per_step * mask.reshape(-1)).sum() / N


@pytest.mark.parametrize("masked_loss", [masked_loss_ignore_index_flat, masked_loss_ignore_index_classes_on_axis_1,
                                         masked_loss_times_mask], ids=["ignore_index", "axis1", "times_mask"])
def test_cross_entropy_against_temporal_softmax_loss(rng, masked_loss):
    scores, y = rng.standard_normal((N, T, V)) * 2, rng.integers(0, V, size=(N, T))
    mask = np.ones((N, T), dtype=bool)
    mask[0, 3:], mask[2, 1:] = False, False              # padded tails of different lengths
    loss_np, dx_np = temporal_softmax_loss(scores, y, mask)

    scores_t = leaf(scores)
    loss = masked_loss(scores_t, y, mask)
    loss.backward()
    close(f"temporal_softmax_loss ({masked_loss.__name__})", loss.item(), loss_np)
    close(f"temporal_softmax_loss dx ({masked_loss.__name__})", scores_t.grad, dx_np)
    assert np.all(scores_t.grad[~mask] == 0)             # the padded steps get nothing


def test_mean_reduction_is_not_temporal_softmax_loss_division(rng):
    """A porting pitfall: temporal_softmax_loss divides by N, reduction="mean" by the kept steps."""
    scores, y = rng.standard_normal((N, T, V)), rng.integers(0, V, size=(N, T))
    mask = np.ones((N, T), dtype=bool)
    mask[1, 2:] = False
    loss_np, _ = temporal_softmax_loss(scores, y, mask)
    mean = cross_entropy(mg.tensor(scores.reshape(N * T, V)), np.where(mask, y, -100).reshape(-1)).item()
    close("mean reduction * kept / N", mean * mask.sum() / N, loss_np)
    assert abs(mean - loss_np) > 1e-3


def lstm_weights(rng):
    return rng.standard_normal((D, 4 * H)) * 0.5, rng.standard_normal((H, 4 * H)) * 0.5, rng.standard_normal(4 * H)


@FUSED
def test_lstm_cell_against_lstm_step_forward_backward(rng, fused):
    x, prev_h, prev_c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dnext_h, dnext_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = lstm_weights(rng)
    next_h_np, next_c_np, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dx_np, dprev_h_np, dprev_c_np, dWx_np, dWh_np, db_np = lstm_step_backward(dnext_h, dnext_c, cache)

    cell = mg.nn.LSTMCell(D, H, dtype=F64, fused=fused)
    set_cell_weights(cell, Wx, Wh, b, lstm=True)         # i, f, o, g -> i, f, g, o, and transposed
    x_t, prev_h_t, prev_c_t = leaf(x), leaf(prev_h), leaf(prev_c)
    next_h, next_c = cell(x_t, (prev_h_t, prev_c_t))
    ((next_h * dnext_h).sum() + (next_c * dnext_c).sum()).backward()
    close("lstm_step next_h", next_h.data, next_h_np)
    close("lstm_step next_c", next_c.data, next_c_np)
    close("lstm_step dx", x_t.grad, dx_np)
    close("lstm_step dprev_h", prev_h_t.grad, dprev_h_np)
    close("lstm_step dprev_c", prev_c_t.grad, dprev_c_np)
    for label, got, want in zip(("dWx", "dWh", "db"), cell_grads_as_cs231n(cell, lstm=True),
                                (dWx_np, dWh_np, db_np)):
        close(f"lstm_step {label}", got, want)


def test_lstm_weights_copied_without_the_gate_reorder_differ(rng):
    """The student's slip: Wx.T copied as it is puts CS231n's o block where PyTorch reads g."""
    x, prev_h, prev_c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = lstm_weights(rng)
    next_h_np, _, _ = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    cell = mg.nn.LSTMCell(D, H, dtype=F64)
    cell.weight_ih.data, cell.weight_hh.data = Wx.T.copy(), Wh.T.copy()
    cell.bias_ih.data, cell.bias_hh.data = b.copy(), np.zeros(4 * H)
    next_h, _ = cell(x, (prev_h, prev_c))
    assert np.abs(next_h.data - next_h_np).max() > 1e-2
    set_cell_weights(cell, Wx, Wh, b, lstm=True)
    next_h, _ = cell(x, (prev_h, prev_c))
    close("lstm_step next_h after the reorder", next_h.data, next_h_np)


def test_gate_maps_are_inverse():
    a = np.arange(2 * 4 * 3).reshape(2, 12)
    assert np.array_equal(lstm_gates_to_cs231n(lstm_gates_to_pytorch(a)), a)
    assert np.array_equal(lstm_gates_to_pytorch(a)[:, 6:9], a[:, 9:12])     # PyTorch's g is CS231n's last block


@FUSED
def test_lstm_layer_against_lstm_forward_backward(rng, fused):
    x, h0, dh = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
    Wx, Wh, b = lstm_weights(rng)
    h_np, cache = lstm_forward(x, h0, Wx, Wh, b)
    dx_np, dh0_np, dWx_np, dWh_np, db_np = lstm_backward(dh, cache)

    lstm = mg.nn.LSTM(D, H, batch_first=True, dtype=F64, fused=fused)
    set_cell_weights(lstm, Wx, Wh, b, lstm=True)
    x_t, h0_t = leaf(x), leaf(h0[None])
    h, (h_last, _) = lstm(x_t, (h0_t, mg.zeros(1, N, H, dtype=F64)))    # CS231n's c0 is zero
    (h * dh).sum().backward()
    close("lstm_forward h", h.data, h_np)
    close("lstm last state", h_last.data[0], h_np[:, -1])
    close("lstm_backward dx", x_t.grad, dx_np)
    close("lstm_backward dh0", h0_t.grad[0], dh0_np)
    for label, got, want in zip(("dWx", "dWh", "db"), cell_grads_as_cs231n(lstm, lstm=True),
                                (dWx_np, dWh_np, db_np)):
        close(f"lstm_backward {label}", got, want)


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_captioning_style_loss_end_to_end(rng, cell_type):
    """CaptioningRNN.loss's chain: embedding -> RNN or LSTM (h0 given) -> temporal affine -> masked
    temporal softmax loss, the numpy functions composed against the library's modules composed."""
    lstm = cell_type == "lstm"
    gates = 4 if lstm else 1
    words, W_embed = rng.integers(0, V, size=(N, T)), rng.standard_normal((V, D))
    h0 = rng.standard_normal((N, H))
    Wx, Wh, b = (rng.standard_normal((D, gates * H)) * 0.5, rng.standard_normal((H, gates * H)) * 0.5,
                 rng.standard_normal(gates * H))
    W_vocab, b_vocab = rng.standard_normal((H, V)), rng.standard_normal(V)
    y = rng.integers(0, V, size=(N, T))
    mask = np.ones((N, T), dtype=bool)
    mask[1, 3:] = False

    forward, backward = (lstm_forward, lstm_backward) if lstm else (rnn_forward, rnn_backward)
    embedded, embed_cache = word_embedding_forward(words, W_embed)
    hs, rnn_cache = forward(embedded, h0, Wx, Wh, b)
    scores, affine_cache = temporal_affine_forward(hs, W_vocab, b_vocab)
    loss_np, dscores = temporal_softmax_loss(scores, y, mask)
    dhs, dW_vocab, db_vocab = temporal_affine_backward(dscores, affine_cache)
    dembedded, dh0, dWx, dWh, db = backward(dhs, rnn_cache)
    dW_embed = word_embedding_backward(dembedded, embed_cache)

    embedding = mg.nn.Embedding(V, D, dtype=F64)
    embedding.weight.data = W_embed.copy()
    layer = (mg.nn.LSTM if lstm else mg.nn.RNN)(D, H, batch_first=True, dtype=F64)
    set_cell_weights(layer, Wx, Wh, b, lstm=lstm)
    readout = mg.nn.Linear(H, V, dtype=F64)
    readout.weight.data, readout.bias.data = W_vocab.T.copy(), b_vocab.copy()
    h0_t = leaf(h0[None])
    state = (h0_t, mg.zeros(1, N, H, dtype=F64)) if lstm else h0_t
    out, _ = layer(embedding(words), state)
    logits = readout(out)
    loss = cross_entropy(logits.reshape(N * T, V), np.where(mask, y, -100).reshape(-1), reduction="sum") / N
    loss.backward()

    close(f"captioning {cell_type} loss", loss.item(), loss_np)
    close(f"captioning {cell_type} dW_embed", embedding.weight.grad, dW_embed)
    close(f"captioning {cell_type} dh0", h0_t.grad[0], dh0)
    for label, got, want in zip(("dWx", "dWh", "db"), cell_grads_as_cs231n(layer, lstm=lstm), (dWx, dWh, db)):
        close(f"captioning {cell_type} {label}", got, want)
    close(f"captioning {cell_type} dW_vocab", readout.weight.grad.T, dW_vocab)
    close(f"captioning {cell_type} db_vocab", readout.bias.grad, db_vocab)
