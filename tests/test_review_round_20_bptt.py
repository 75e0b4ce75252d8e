"""Round 20 review: the truncated-BPTT runners against an independent numpy reference.

Every expectation here comes from outside the library:

* `Reference`: a vanilla tanh RNN and an LSTM (gate rows i, f, g, o, as `mg.nn.LSTMCell`), each
  with a linear readout, an optional embedding (the char model) and a loss (a sum of squares, or
  cross-entropy averaged over the batch), whose forward AND backward passes are written out by
  hand in numpy: no autodiff, no difference quotients.
* `reference_tbptt`: the contract's TBPTT(k1, k2) (docs/api.md, "Truncated BPTT"; docs/tbptt.md)
  run with that model, the truncation done explicitly: updates at u = k1, 2 k1, ... and at the
  tail n; the update at u injects the losses of the steps in (u', u] that have a target (u' the
  previous update), summed or (reduction="mean") averaged; its backward walk starts at step u and
  stops after step c_u + 1, c_u = max(0, u - k2), so the state at c_u is a constant and a loss at
  t <= c_u reaches its readout only (depth 0). Each step runs with the weights of its time and the
  walk uses the weights each step ran with (rule 5); SGD and Adam are written out in numpy too,
  so the weights a later step uses are the reference's own. RTRL's contract is TBPTT(k1, n): the
  same reference with k2 = n.
* closed forms (the caller's reset graph, d tanh(w)/dw = 1 - tanh(w)^2), and the exact
  expectation of UORO's estimate: the average over every pattern of its random signs.

Comparisons are in float64 at 1e-10, relative to max(1, |expected|) (the values here are O(1) to
O(10); the two computations differ only by rounding, about 1e-15 per operation). Float32 runs are
compared with the float64 reference at 2e-4 (single precision, eps 6e-8, over about ten steps).
"""

from __future__ import annotations

import collections
import gc
import json
import tracemalloc

import numpy as np
import pytest
from test_bptt import stepping_blocks

import microgradseq as mg
from microgradseq import charlm
from microgradseq.autograd import Node, current_step, grad_enabled
from microgradseq.forward import current_run
from microgradseq.random import default_generator

F64 = np.float64
I, H, O, B = 2, 3, 2, 2          # input size, hidden size, readout size, batch
TOL = 1e-10
CELL = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

def assert_close(got, want, what, tol=TOL):
    """|got - want| <= tol * max(1, |want|), entry by entry, shapes equal."""
    got, want = np.asarray(got, dtype=F64), np.asarray(want, dtype=F64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    worst = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))) if want.size else 0.0
    assert worst <= tol, f"{what}: differs by {worst:.3g} (tolerance {tol:g})"


# ---- the reference: a model whose forward and backward passes are written out in numpy -------------

def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class Reference:
    """One model in plain numpy. `kind` "rnn" (h' = tanh(a)) or "lstm" ((h', c') from gates i, f, g, o),
    a = x W_ih^T + b_ih + h W_hh^T + b_hh; output o = h V^T + c; loss "mse" (sum of squares) or "ce"
    (cross-entropy averaged over the batch, integer targets); `embedding`: x_t = E[codes_t]."""

    def __init__(self, kind, loss="mse", embedding=False):
        self.kind, self.loss, self.embedding = kind, loss, embedding

    def hidden(self, state):
        return state[0] if self.kind == "lstm" else state

    def parts(self, state):
        return tuple(state) if self.kind == "lstm" else (state,)

    def pack(self, parts):
        return tuple(parts) if self.kind == "lstm" else parts[0]

    def input(self, w, x):
        return w["E"][x] if self.embedding else x

    def cell(self, w, x, state):
        """(the new state, what the backward pass needs)."""
        h = self.hidden(state)
        a = x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
        if self.kind == "rnn":
            new = np.tanh(a)
            return new, (x, h, new)
        n = h.shape[-1]
        i, f, g, o = sigmoid(a[:, :n]), sigmoid(a[:, n:2 * n]), np.tanh(a[:, 2 * n:3 * n]), sigmoid(a[:, 3 * n:])
        c = f * state[1] + i * g
        tc = np.tanh(c)
        return (o * tc, c), (x, h, state[1], i, f, g, o, tc)

    def cell_backward(self, w, cache, d_new):
        """(dL/d state_(t-1), {cell weight: dL/dweight}, dL/dx_t) from dL/d state_t: the chain rule by hand."""
        if self.kind == "rnn":
            x, h, new = cache
            da = d_new * (1.0 - new ** 2)
        else:
            x, h, c, i, f, g, o, tc = cache
            dh, dc = d_new
            dc_total = dc + dh * o * (1.0 - tc ** 2)
            da = np.concatenate([dc_total * g * i * (1.0 - i), dc_total * c * f * (1.0 - f),
                                 dc_total * i * (1.0 - g ** 2), dh * tc * o * (1.0 - o)], axis=-1)
        grads = {"weight_ih": da.T @ x, "weight_hh": da.T @ h, "bias_ih": da.sum(0), "bias_hh": da.sum(0)}
        dh_previous = da @ w["weight_hh"]
        d_previous = dh_previous if self.kind == "rnn" else (dh_previous, dc_total * f)
        return d_previous, grads, da @ w["weight_ih"]

    def total(self, cache, d_state):
        """dL/d state_s as the graph has it: for an LSTM, c_s's includes the path through h_s = o tanh(c_s)."""
        if self.kind == "rnn":
            return d_state
        dh, dc = d_state
        o, tc = cache[6], cache[7]
        return dh, dc + dh * o * (1.0 - tc ** 2)

    def step_loss(self, w, state, y):
        """(l_t, {"V", "c": dl/d}, dl/dh_t) for one step's loss, written out."""
        h = self.hidden(state)
        out = h @ w["V"].T + w["c"]
        if self.loss == "mse":
            value, d_out = float(np.sum((out - y) ** 2)), 2.0 * (out - y)
        else:
            top = out.max(-1, keepdims=True)
            e = np.exp(out - top)
            rows = np.arange(len(y))
            value = float(np.mean(np.log(e.sum(-1)) + top[:, 0] - out[rows, y]))
            d_out = e / e.sum(-1, keepdims=True)
            d_out[rows, y] -= 1.0
            d_out /= len(y)
        return value, {"V": d_out.T @ h, "c": d_out.sum(0)}, d_out @ w["V"]


class NumpySGD:
    def __init__(self, lr):
        self.lr = lr

    def step(self, theta, grads):
        for name, g in grads.items():
            if g is not None:
                theta[name] = theta[name] - self.lr * g


class NumpyAdam:
    """torch.optim.Adam's update (betas 0.9, 0.999, eps 1e-8); a parameter without a gradient is skipped
    and its step count stays."""

    def __init__(self, lr):
        self.lr, self.moments = lr, {}

    def step(self, theta, grads):
        for name, g in grads.items():
            if g is None:
                continue
            t, m, v = self.moments.get(name, (0, 0.0, 0.0))
            t, m, v = t + 1, 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            self.moments[name] = (t, m, v)
            theta[name] = theta[name] - self.lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)


def numpy_optimizer(optimizer):
    if optimizer is None:
        return None
    kind, lr = optimizer
    return NumpySGD(lr) if kind == "sgd" else NumpyAdam(lr)


def expected_updates(n, k1):
    """Rule 1 by hand: k1, 2 k1, ..., and n when k1 does not divide it."""
    updates = list(range(k1, n + 1, k1))
    return updates + ([n] if n % k1 else [])


def reference_tbptt(ref, theta, xs, ys, h0, k1, k2, reduction="sum", optimizer=None, learn_h0=False):
    """The contract's TBPTT(k1, k2), step by step and update by update, with the backward walk of
    each update written out and stopped at its cut. Returns (records, final state, final weights);
    a record is dict(u, cut, loss, grads {name: array, or None where no path reaches it},
    state_grads {s: dL_u/d state_s for the states the walk reaches, s in [c_u, u]}).
    With `learn_h0` the initial state's parts are parameters "h0" (and "c0")."""
    n = len(xs)
    theta = {name: np.array(value, dtype=F64) for name, value in theta.items()}
    initial_names = ["h0", "c0"][:len(ref.parts(h0))]
    if learn_h0:
        theta.update(zip(initial_names, ref.parts(h0)))
    opt = numpy_optimizer(optimizer)
    states, caches, used, records, previous = [h0], [None], [None], [], 0
    for t in range(1, n + 1):
        w = dict(theta)                     # the weights step t runs with (never written into)
        new, cache = ref.cell(w, ref.input(w, xs[t - 1]), states[-1])
        used.append(w)
        states.append(new)
        caches.append(cache)
        if t % k1 and t != n:
            continue
        u, cut = t, max(0, t - k2)
        injected = [s for s in range(previous + 1, u + 1) if ys[s - 1] is not None]
        scale = 1.0 / len(injected) if reduction == "mean" and injected else 1.0
        grads = {name: np.zeros_like(value) for name, value in theta.items()}
        reached, total, d_hidden = set(), 0.0, {}
        for s in injected:                  # each loss's readout, with the weights step s ran with
            value, g, dh = ref.step_loss(used[s], states[s], ys[s - 1])
            total += value
            for name in g:
                grads[name] += scale * g[name]
            reached |= {"V", "c"}
            d_hidden[s] = scale * dh        # (used below only for s > cut: depth 0 at or behind it)
        d_state = tuple(np.zeros_like(p) for p in ref.parts(states[u]))
        live, state_grads = False, {}
        for s in range(u, cut, -1):         # the walk: steps u, u - 1, ..., cut + 1; state_cut constant
            if s in d_hidden:
                d_state = (d_state[0] + d_hidden[s],) + d_state[1:]
                live = True
            if not live:                    # no loss at or after s: nothing reaches step s
                continue
            state_grads[s] = ref.total(caches[s], d_state)
            d_previous, g, dx = ref.cell_backward(used[s], caches[s], ref.pack(d_state))
            for name in g:
                grads[name] += g[name]
            reached |= set(CELL)
            if ref.embedding:
                np.add.at(grads["E"], xs[s - 1], dx)
                reached.add("E")
            d_state = ref.parts(d_previous)
        if live:
            state_grads[cut] = d_state      # what arrives at the cut state (held constant)
            if cut == 0 and learn_h0:
                for name, part in zip(initial_names, d_state):
                    grads[name] = part
                    reached.add(name)
        records.append(dict(u=u, cut=cut, loss=total * scale, state_grads=state_grads,
                            grads={name: g if name in reached else None for name, g in grads.items()}))
        if opt is not None:
            opt.step(theta, records[-1]["grads"])
        previous = u
    return records, states[n], theta


# ---- the problems and the library's runs ------------------------------------------------------------

def make_problem(kind, n, gaps, seed=0, vocab=None, hidden=H, batch=B):
    """Weights (numpy), inputs, targets (None at the steps in `gaps`, counted from 1), h_0."""
    rng = np.random.default_rng(seed)
    H, B = hidden, batch   # noqa: N806
    gates = 4 if kind == "lstm" else 1
    size = I
    theta = {"weight_ih": rng.normal(size=(gates * H, size)) * 0.6, "weight_hh": rng.normal(size=(gates * H, H)) * 0.6,
             "bias_ih": rng.normal(size=gates * H) * 0.3, "bias_hh": rng.normal(size=gates * H) * 0.3,
             "V": rng.normal(size=(vocab or O, H)) * 0.8, "c": rng.normal(size=vocab or O) * 0.3}
    if vocab:
        theta["E"] = rng.normal(size=(vocab, I))
        xs = rng.integers(0, vocab, size=(n, B))
        ys = [None if t in gaps else rng.integers(0, vocab, size=B) for t in range(1, n + 1)]
    else:
        xs = rng.normal(size=(n, B, I))
        ys = [None if t in gaps else rng.normal(size=(B, O)) for t in range(1, n + 1)]
    parts = [rng.normal(size=(B, H)) * 0.5 for _ in range(2 if kind == "lstm" else 1)]
    return theta, xs, ys, (tuple(parts) if kind == "lstm" else parts[0])


HC = collections.namedtuple("HC", "h c")


def as_form(parts, form, kind):
    """The library state of the given form from its tensors: "plain" (h, or LSTM's (h, c)),
    "namedtuple" (HC(h, c)) or "nested" ([h] for an RNN, (h, (c,)) for an LSTM)."""
    if kind == "rnn":
        return [parts[0]] if form == "nested" else parts[0]
    if form == "namedtuple":
        return HC(*parts)
    if form == "nested":
        return (parts[0], (parts[1],))
    return tuple(parts)


def from_form(state, form, kind):
    """The state's tensors, in order (h, then c)."""
    if kind == "rnn":
        return (state[0],) if form == "nested" else (state,)
    if form == "nested":
        return (state[0], state[1][0])
    return (state[0], state[1])


def mse(output, target):
    return ((output - target) ** 2).sum()


def block_mse(outputs, targets):
    return ((mg.stack(list(outputs)) - np.stack(list(targets))) ** 2).sum()


class LibraryModel:
    """The same model with the library's cells: mg.nn.RNNCell / LSTMCell (op-level or fused) and a
    readout of tensors; `step` records every state it returns (in order) so their .grad can be read."""

    def __init__(self, kind, theta, fused=False, dtype=F64, form="plain"):
        self.kind, self.form = kind, form
        cell_type = mg.nn.RNNCell if kind == "rnn" else mg.nn.LSTMCell
        hidden = theta["weight_hh"].shape[1]
        self.cell = cell_type(I, hidden, dtype=dtype, fused=fused, rng=np.random.default_rng(5))
        self.cell.load_state_dict({name: theta[name].astype(dtype) for name in CELL})
        self.V = mg.tensor(theta["V"].astype(dtype), requires_grad=True)
        self.c = mg.tensor(theta["c"].astype(dtype), requires_grad=True)
        self.params = dict(self.cell.named_parameters(), V=self.V, c=self.c)
        self.states = []        # every state a step returned, step 1 first
        self.block_ends = []    # (last step, state) of every block tbptt_blocks ran

    def step(self, x, state):
        new = self.cell(x, from_form(state, self.form, self.kind) if self.kind == "lstm"
                        else from_form(state, self.form, self.kind)[0])
        parts = new if self.kind == "lstm" else (new,)
        state = as_form(parts, self.form, self.kind)
        self.states.append(state)
        return parts[0] @ self.V.T + self.c, state

    def step_block(self, xs, state):
        outputs = []
        for x in xs:
            output, state = self.step(x, state)
            outputs.append(output)
        self.block_ends.append((len(self.states), state))
        return outputs, state


def initial_state(kind, h0, form, learn_h0, dtype=F64):
    parts = [mg.tensor(np.array(p, dtype=dtype), requires_grad=learn_h0) for p in (h0 if kind == "lstm" else (h0,))]
    return as_form(parts, form, kind), parts


def library_optimizer(optimizer, params):
    if optimizer is None:
        return None
    kind, lr = optimizer
    return (mg.optim.SGD if kind == "sgd" else mg.optim.Adam)(params, lr=lr)


def grads_of(tensors):
    return tuple(None if t.grad is None else np.array(t.grad) for t in tensors)


def run_library(runner, kind, theta, xs, ys, h0, k1, k2, fused=False, reduction="sum", optimizer=None,
                learn_h0=False, form="plain", dtype=F64, rng=None):
    """One run; returns (what on_update saw at each update, the result, the model, the leaves, the
    on_backward calls). Without an optimizer on_update clears the gradients, so each update's are its own."""
    model = LibraryModel(kind, theta, fused, dtype, form)
    state, parts = initial_state(kind, h0, form, learn_h0, dtype)
    leaves = dict(model.params)
    if learn_h0:
        leaves.update(zip(["h0", "c0"], parts))
    opt = library_optimizer(optimizer, list(leaves.values()))
    seen, backward_calls, events = [], [], []

    def state_grads():
        if runner in ("tbptt_blocks", "block_loss_fn"):
            return {s: grads_of(from_form(st, form, kind)) for s, st in model.block_ends}
        return {s: grads_of(from_form(st, form, kind)) for s, st in enumerate(model.states, 1)}

    def on_update(u, loss):
        events.append(("on_update", u))
        seen.append(dict(u=u, loss=loss, grads={name: None if p.grad is None else np.array(p.grad)
                                                for name, p in leaves.items()},
                         state_grads=state_grads() if runner not in ("rtrl", "uoro") else {}))
        if opt is None:
            for p in leaves.values():
                p.grad = None

    def on_backward(u, loss):
        events.append(("on_backward", u))
        backward_calls.append(dict(u=u, loss=loss.item(), state_grads=state_grads()))

    loss_fn = mse
    common = dict(optimizer=opt, on_update=on_update, reduction=reduction)
    if runner == "tbptt":
        result = mg.bptt.tbptt(model.step, state, xs, ys, loss_fn, k1, k2, **common)
    elif runner == "tbptt_on_backward":     # (on_backward makes every backward pass keep its graph)
        result = mg.bptt.tbptt(model.step, state, xs, ys, loss_fn, k1, k2, on_backward=on_backward, **common)
    elif runner == "tbptt_blocks":
        result = mg.bptt.tbptt_blocks(model.step_block, state, xs, ys, loss_fn, k1, k2, **common)
    elif runner == "block_loss_fn":
        result = mg.bptt.tbptt_blocks(model.step_block, state, xs, ys, loss_fn, k1, k2, block_loss_fn=block_mse,
                                      **common)
    elif runner == "rtrl":
        result = mg.bptt.rtrl(model.step, state, xs, ys, loss_fn, leaves, k1, **common)
    else:
        result = mg.bptt.uoro(model.step, state, xs, ys, loss_fn, leaves, k1, rng=rng, **common)
    return dict(seen=seen, result=result, model=model, leaves=leaves, backward=backward_calls, events=events)


def check_against_reference(run, records, final, n, k1, form, kind, learn_h0, tol=TOL, state_grads=True):
    """Updates, losses, every gradient (None exactly where the reference's walk does not reach), the
    states' .grad (this update's where its walk reaches them, else None; the cut state may show either),
    and the final state (detached, its form kept).

    A fused LSTM cell makes h_t and c_t two outputs of one node, so c_t's .grad there lacks the path
    through h_t = o tanh(c_t) (a sibling, not a child): only h_t's .grad is compared for it (noted in
    the review's report; the weights' gradients are unaffected)."""
    seen, result = run["seen"], run["result"]
    fused_lstm = kind == "lstm" and run["model"].cell.fused
    updates = expected_updates(n, k1)
    assert result.updates == updates == [r["u"] for r in records] == [s["u"] for s in seen]
    assert len(result.losses) == len(updates) and all(type(v) is float for v in result.losses)
    for got, want, value in zip(seen, records, result.losses):
        u = want["u"]
        assert_close(value, want["loss"], f"L_{u}", tol)
        assert_close(got["loss"], want["loss"], f"on_update's L_{u}", tol)
        for name, g in got["grads"].items():
            expected = want["grads"][name]
            if expected is None:
                assert g is None, f"{name} at u = {u}: a gradient where no path reaches"
            else:
                assert g is not None, f"{name} at u = {u}: no gradient"
                assert_close(g, expected, f"d L_{u} / d {name}", tol)
        if not state_grads:
            continue
        for s, grads in got["state_grads"].items():
            expected = want["state_grads"].get(s)
            if s == want["cut"] and all(g is None for g in grads):
                continue                        # the cut state: None is allowed there
            if expected is None:
                assert all(g is None for g in grads), (
                    f"state {s} at u = {u} (cut {want['cut']}): shows a gradient, but this update's walk "
                    f"does not reach it")
            else:
                for part, (g, e) in enumerate(zip(grads, expected)):
                    if part == 1 and fused_lstm:
                        continue
                    assert g is not None, f"state {s} part {part} at u = {u}: no gradient"
                    assert_close(g, e, f"d L_{u} / d state_{s}[{part}]", tol)
    parts = from_form(result.state, form, kind)
    if form == "namedtuple":
        assert type(result.state) is HC
    for got, want in zip(parts, final if kind == "lstm" else (final,)):
        assert not got.requires_grad, "the final state must come back detached"
        assert_close(got.data, want, "the final state", tol)


# ---- 1. every configuration, every runner, both cells, op-level and fused ------------------------

# (n, k1, k2, steps without a target): each configuration the brief names, and an update with no target
CONFIGS = [
    (7, 2, 5, {3, 4}),          # k1 < k2, ragged tail (6, 7]; the update at 4 injects nothing (overlapping)
    (8, 3, 3, {5}),             # k1 == k2, n not a multiple: the tail (6, 8] cut at 5, not 6
    (9, 3, 3, {4, 5, 6}),       # k1 == k2 dividing n; the update at 6 injects nothing
    (10, 4, 2, {2, 8}),         # k1 > k2: depth-0 losses at and behind each cut; tail (8, 10] cut at 8
    (9, 5, 1, {5}),             # k1 > k2 = 1: the update at 5 has only depth-0 losses (no cell weight reached)
    (7, 1, 3, {2}),             # k1 = 1 < k2; the update at 2 injects nothing
    (6, 1, 1, set()),           # k1 = k2 = 1: one cell deep, an update a step
    (6, 2, 9, {1}),             # k2 >= n: every cut at 0, h_0 reached at every update
    (5, 8, 2, {4}),             # k1 >= n: one tail update at 5, cut at 3 (losses at 1..3 depth 0)
    (6, 6, 6, set()),           # TBPTT(n, n): full BPTT
    (11, 4, 6, {9, 10, 11}),    # ragged tail (8, 11] with no target at all, cut at 5
    (7, 3, 7, {7}),             # k2 == n; the tail (6, 7] injects nothing
]
CONFIG_IDS = [f"n{n}-TBPTT({k1},{k2})-gaps{sorted(g)}" for n, k1, k2, g in CONFIGS]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("runner", ["tbptt", "tbptt_on_backward", "tbptt_blocks", "block_loss_fn"])
@pytest.mark.parametrize("kind, fused", [("rnn", False), ("rnn", True), ("lstm", False), ("lstm", True)])
@pytest.mark.parametrize("n, k1, k2, gaps", CONFIGS, ids=CONFIG_IDS)
def test_every_configuration_matches_the_numpy_definition(n, k1, k2, gaps, kind, fused, runner, reduction):
    """tbptt (with and without on_backward, which makes every backward pass keep its graph) and
    tbptt_blocks (step losses, and block_loss_fn) against `reference_tbptt`: each update's
    L_u, every weight's and h_0's gradient (None exactly where the reference's walk reaches nothing),
    the .grad of the states (this update's, or None behind its cut and where nothing reaches), and
    the final state, for every configuration in CONFIGS. Expectation: the hand-written numpy backward."""
    theta, xs, ys, h0 = make_problem(kind, n, gaps, seed=n * 10 + k1)
    records, final, _ = reference_tbptt(Reference(kind), theta, xs, ys, h0, k1, k2, reduction, learn_h0=True)
    run = run_library(runner, kind, theta, xs, ys, h0, k1, k2, fused, reduction, learn_h0=True)
    check_against_reference(run, records, final, n, k1, "plain", kind, learn_h0=True)


@pytest.mark.parametrize("n, k1, k2, gaps", CONFIGS, ids=CONFIG_IDS)
def test_on_backward_sees_each_updates_loss_and_state_gradients_before_on_update(n, k1, k2, gaps):
    """on_backward(u, loss) comes right after each update's backward pass, before on_update(u), with
    loss.item() = L_u (the reference's), and is not called for an update with nothing to walk (no
    target in (u', u]); the states' .grad it sees are the reference's dL_u/d state_s (docs/api.md)."""
    theta, xs, ys, h0 = make_problem("lstm", n, gaps, seed=3)
    records, _, _ = reference_tbptt(Reference("lstm"), theta, xs, ys, h0, k1, k2)
    run = run_library("tbptt_on_backward", "lstm", theta, xs, ys, h0, k1, k2)
    walked = [r for r in records if r["grads"]["V"] is not None]
    assert [call["u"] for call in run["backward"]] == [r["u"] for r in walked]
    expected_events = []
    for r in records:
        expected_events += ([("on_backward", r["u"])] if r in walked else []) + [("on_update", r["u"])]
    assert run["events"] == expected_events
    for call, want in zip(run["backward"], walked):
        assert_close(call["loss"], want["loss"], f"on_backward's L_{want['u']}")
        for s in range(want["cut"] + 1, want["u"] + 1):
            if s in want["state_grads"]:
                for g, e in zip(call["state_grads"][s], want["state_grads"][s]):
                    assert_close(g, e, f"on_backward: d L_{want['u']} / d state_{s}")


# ---- 2. an optimizer between updates: each step keeps the weights it ran with -----------------------

OPTIMIZED = [(7, 2, 5, {4}), (10, 4, 2, {2}), (8, 3, 3, set()), (6, 1, 6, {3}), (9, 2, 3, {3, 4})]


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "block_loss_fn"])
@pytest.mark.parametrize("optimizer", [("sgd", 0.2), ("adam", 0.05)], ids=["SGD", "Adam"])
@pytest.mark.parametrize("kind, fused", [("rnn", False), ("rnn", True), ("lstm", False), ("lstm", True)])
@pytest.mark.parametrize("n, k1, k2, gaps", OPTIMIZED, ids=[f"n{n}-TBPTT({k1},{k2})" for n, k1, k2, _ in OPTIMIZED])
def test_with_an_optimizer_every_update_uses_the_weights_each_step_ran_with(n, k1, k2, gaps, kind, fused, optimizer,
                                                                              runner):
    """Rule 5: SGD or Adam between updates (h_0 trained too); for k1 < k2 a window holds steps that ran
    before an earlier update changed the weights, and its gradient uses the weights they ran with (the
    reference keeps each step's weights; its SGD/Adam are numpy's). Losses, gradients (before each
    optimizer step), the final state and the final weights (h_0's too: it moves, but step 1 read the
    old value) are the reference's."""
    theta, xs, ys, h0 = make_problem(kind, n, gaps, seed=7 + n)
    records, final, weights = reference_tbptt(Reference(kind), theta, xs, ys, h0, k1, k2, optimizer=optimizer,
                                              learn_h0=True)
    run = run_library(runner, kind, theta, xs, ys, h0, k1, k2, fused, optimizer=optimizer, learn_h0=True)
    check_against_reference(run, records, final, n, k1, "plain", kind, learn_h0=True)
    for name, p in run["leaves"].items():
        assert_close(p.data, weights[name], f"{name} after the run")
    assert not np.allclose(weights["weight_hh"], theta["weight_hh"])       # the optimizer did move them


# ---- 3. the states a run may carry: a namedtuple, nested tuples and lists --------------------------

@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "rtrl"])
@pytest.mark.parametrize("kind, form", [("lstm", "namedtuple"), ("lstm", "nested"), ("rnn", "nested")])
def test_a_namedtuple_or_nested_state_trains_as_the_plain_one(kind, form, runner):
    """An LSTM's state as HC(h, c) or (h, (c,)), an RNN's as [h]: the same losses and gradients as the
    reference (h_0, c_0 learned; SGD between updates), and result.state in the same form (a namedtuple
    stays one), detached."""
    n, k1, k2 = (8, 3, 5) if runner != "rtrl" else (8, 3, 8)
    theta, xs, ys, h0 = make_problem(kind, n, {2}, seed=11)
    records, final, _ = reference_tbptt(Reference(kind), theta, xs, ys, h0, k1, k2, optimizer=("sgd", 0.1),
                                        learn_h0=True)
    run = run_library(runner, kind, theta, xs, ys, h0, k1, k2, optimizer=("sgd", 0.1), learn_h0=True, form=form)
    check_against_reference(run, records, final, n, k1, form, kind, learn_h0=True)
    state = run["result"].state
    if form == "nested":
        assert isinstance(state, list if kind == "rnn" else tuple)
        if kind == "lstm":
            assert isinstance(state[1], tuple) and len(state[1]) == 1


# ---- 4. RTRL: TBPTT(k1, n)'s gradient, online --------------------------------------------------

RTRL_CASES = [(7, 2, {3, 4}), (8, 3, {1}), (6, 1, {2}), (5, 8, {4}), (6, 6, set()), (7, 3, {7})]


@pytest.mark.parametrize("optimizer", [None, ("sgd", 0.2), ("adam", 0.05)], ids=["none", "SGD", "Adam"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("kind, fused", [("rnn", False), ("rnn", True), ("lstm", False), ("lstm", True)])
@pytest.mark.parametrize("n, k1, gaps", RTRL_CASES, ids=[f"n{n}-k1={k1}" for n, k1, _ in RTRL_CASES])
def test_rtrl_is_tbptt_k1_n_of_the_numpy_definition(n, k1, gaps, kind, fused, reduction, optimizer):
    """RTRL's gradient at every update is the reference's TBPTT(k1, n) (docs/forward_mode.md, section 4),
    h_0 learned, None targets (an update with none at all), either reduction, with no optimizer, SGD
    or Adam between updates (each step's sensitivity built with the weights it ran with); its result
    (updates, losses as floats, the final state detached) and the final weights are the reference's."""
    theta, xs, ys, h0 = make_problem(kind, n, gaps, seed=20 + n + k1)
    records, final, weights = reference_tbptt(Reference(kind), theta, xs, ys, h0, k1, n, reduction, optimizer,
                                              learn_h0=True)
    run = run_library("rtrl", kind, theta, xs, ys, h0, k1, n, fused, reduction, optimizer, learn_h0=True)
    check_against_reference(run, records, final, n, k1, "plain", kind, learn_h0=True, state_grads=False)
    if optimizer is not None:
        for name, p in run["leaves"].items():
            assert_close(p.data, weights[name], f"{name} after the run")


# ---- 5. UORO: an unbiased estimate of RTRL's gradient --------------------------------------------

class ChosenSigns(np.random.Generator):
    """A Generator whose `choice` deals out given signs, in order (what uoro draws its nu with)."""

    def __init__(self, signs):
        super().__init__(np.random.PCG64(0))
        self.signs, self.used = list(signs), 0

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        count = int(np.prod(size))
        taken = self.signs[self.used:self.used + count]
        taken += [1.0] * (count - len(taken))         # signs past the pattern: they reach no gradient
        self.used += count
        return np.array(taken, dtype=np.asarray(a).dtype).reshape(size)


UORO_CASES = [("rnn", 4, 1, {2}, "sum", True), ("rnn", 4, 2, set(), "mean", True), ("rnn", 5, 3, {1}, "sum", True),
              ("lstm", 4, 2, {3}, "sum", True), ("lstm", 4, 4, set(), "mean", False)]


@pytest.mark.parametrize("kind, n, k1, gaps, reduction, learn_h0", UORO_CASES,
                         ids=[f"{c[0]}-n{c[1]}-k1={c[2]}-{c[4]}-h0{'learned' if c[5] else 'fixed'}"
                              for c in UORO_CASES])
def test_uoros_expectation_over_every_pattern_of_signs_is_the_definitions_gradient(kind, n, k1, gaps, reduction,
                                                                                    learn_h0):
    """UORO's signs nu are +-1 with equal probability, so its expectation is exactly the average over
    every pattern of the signs that can reach a gradient (those of steps 1 .. n - 1; step n's reach
    none). Unbiasedness (E[nu nu^T] = I, the cross terms odd in nu) makes that average TBPTT(k1, n)'s
    gradient, the reference's, as an identity: no sampling error, only rounding, so 1e-10 holds.
    One batch element and H = 2 (RNN) or H = 1 (LSTM: h and c) keep the patterns to 2^6 to 2^8. The
    first update with k1 = 1 is exact pattern by pattern (docs/forward_mode.md, section 7)."""
    hidden = 2 if kind == "rnn" else 1
    theta, xs, ys, h0 = make_problem(kind, n, gaps, seed=31 + n, hidden=hidden, batch=1)
    records, _, _ = reference_tbptt(Reference(kind), theta, xs, ys, h0, k1, n, reduction, learn_h0=learn_h0)
    bits = (n - 1) * hidden * (2 if kind == "lstm" else 1)
    total = None
    for pattern in range(2 ** bits):
        signs = [1.0 if pattern >> b & 1 else -1.0 for b in range(bits)]
        run = run_library("uoro", kind, theta, xs, ys, h0, k1, n, reduction=reduction, learn_h0=learn_h0,
                          rng=ChosenSigns(signs))
        grads = [{name: g for name, g in s["grads"].items()} for s in run["seen"]]
        assert [s["u"] for s in run["seen"]] == [r["u"] for r in records]
        for got, want in zip(run["seen"], records):
            assert_close(got["loss"], want["loss"], f"uoro's L_{want['u']}")
            for name, g in got["grads"].items():
                assert (g is None) == (want["grads"][name] is None), (name, want["u"])
        if k1 == 1 and records[0]["grads"]["V"] is not None:
            for name, g in grads[0].items():
                if g is not None:
                    assert_close(g, records[0]["grads"][name], f"uoro's first update, {name}")
        if total is None:
            total = grads
        else:
            for mine, more in zip(total, grads):
                for name, g in more.items():
                    if g is not None:
                        mine[name] = mine[name] + g
    for mine, want in zip(total, records):
        for name, g in mine.items():
            if g is not None:
                assert_close(g / 2 ** bits, want["grads"][name], f"mean of uoro at u = {want['u']}, {name}")


def test_uoros_sample_mean_lies_within_its_standard_errors_of_the_definitions_gradient():
    """With a real generator: the mean of 400 estimates (seeds 0..399) of the one update of an RNN run
    (n = 6, k1 = 6, fused cell), entry by entry, lies within 5 standard errors (the sample's own) of
    the reference's TBPTT(6, 6) gradient; by the central limit theorem a failure of one of the ~30
    entries at 5 SE has probability about 1e-5, and the seeds are fixed, so it does not flake. A
    single estimate is far from it (the noise is real)."""
    n = 6
    theta, xs, ys, h0 = make_problem("rnn", n, {2}, seed=41)
    records, _, _ = reference_tbptt(Reference("rnn"), theta, xs, ys, h0, n, n)
    want = np.concatenate([records[0]["grads"][name].ravel() for name in (*CELL, "V", "c")])
    samples = []
    for seed in range(400):
        run = run_library("uoro", "rnn", theta, xs, ys, h0, n, n, fused=True, rng=seed)
        samples.append(np.concatenate([run["seen"][0]["grads"][name].ravel() for name in (*CELL, "V", "c")]))
    samples = np.array(samples)
    mean, error = samples.mean(0), samples.std(0, ddof=1) / np.sqrt(len(samples))
    assert np.all(np.abs(mean - want) <= 5 * error + 1e-12), np.max(np.abs(mean - want) / (error + 1e-300))
    assert np.max(np.abs(samples[0] - want)) > 1e-3


# ---- 6. the char model's block path ---------------------------------------------------------------

@pytest.mark.parametrize("block_loss", [False, True], ids=["step losses", "next_char_losses"])
@pytest.mark.parametrize("cell, fused", [("rnn", False), ("rnn", True), ("lstm", False), ("lstm", True)])
@pytest.mark.parametrize("n, k1, k2, gaps", [(9, 2, 5, {3, 4}), (10, 4, 2, {9}), (8, 3, 3, set()), (7, 7, 7, {1})])
def test_the_char_models_block_path_is_the_definition(n, k1, k2, gaps, cell, fused, block_loss):
    """CharLM.step_block under tbptt_blocks (and CharLM.step under tbptt): embedding, cell, readout,
    cross-entropy averaged over the batch, reduction "mean", SGD between updates; the losses and the
    gradients of every weight (the embedding's rows included), and the final weights, are the
    reference's (its embedding gradient is the scatter-add of dL/dx_t into the rows read)."""
    vocab = 5
    theta, xs, ys, _ = make_problem(cell, n, gaps, seed=50 + n, vocab=vocab)
    ref = Reference(cell, loss="ce", embedding=True)
    h0 = np.zeros((B, H)) if cell == "rnn" else (np.zeros((B, H)), np.zeros((B, H)))
    records, _, weights = reference_tbptt(ref, theta, xs, ys, h0, k1, k2, "mean", ("sgd", 0.3))
    names = {"embedding.weight": "E", "readout.weight": "V", "readout.bias": "c",
             **{f"cell.{name}": name for name in CELL}}
    for blocks in (True, False):
        model = charlm.CharLM(vocab, H, cell, embedding_dim=I, rng=np.random.default_rng(0), dtype=F64)
        model.cell.fused = fused
        model.load_state_dict({key: theta[name] for key, name in names.items()})
        params = dict(model.named_parameters())
        optimizer = mg.optim.SGD(model.parameters(), lr=0.3)
        seen = []

        def on_update(u, loss):
            seen.append((u, loss, {key: None if p.grad is None else np.array(p.grad) for key, p in params.items()}))

        if blocks:
            result = mg.bptt.tbptt_blocks(model.step_block, None, xs, ys, charlm.next_char_loss, k1, k2, optimizer,
                                          on_update, "mean", charlm.next_char_losses if block_loss else None)
        else:
            result = mg.bptt.tbptt(model.step, None, xs, ys, charlm.next_char_loss, k1, k2, optimizer, on_update,
                                   "mean")
        assert result.updates == [r["u"] for r in records]
        for (u, loss, grads), want in zip(seen, records):
            assert_close(loss, want["loss"], f"char model L_{u}")
            for key, g in grads.items():
                expected = want["grads"][names[key]]
                assert (g is None) == (expected is None), (key, u)
                if g is not None:
                    assert_close(g, expected, f"char model d L_{u} / d {key}")
        for key, p in params.items():
            assert_close(p.data, weights[names[key]], f"char model {key} after the run")


# ---- 7. an update with nothing to walk leaves no earlier update's gradient on its states ---------------

@pytest.mark.parametrize("constant", [False, True], ids=["no target", "constant losses"])
@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
def test_an_update_with_nothing_to_walk_shows_no_earlier_updates_gradient_on_its_states(runner, constant):
    """docs/tbptt.md: "h.grad of a state is this update's gradient or None ... so per-step norms read in
    on_update never mix two updates". TBPTT(2, 5) on h_t = tanh(w h_(t-1) + x_t), l_t = h_t, with no
    target (or a loss_fn giving a constant, docs/api.md: gradient zero, no backward pass) at steps 5
    and 6: the update at 6 walks nothing, so at on_update(6) every state's .grad is None (its gradient
    is zero) - not update 4's dL_4/dh_s, which states 2 to 4 (inside its window, c_6 = 1) held
    before the fix. The closed form checks update 4's value: dL_4/dh_4 = 1 (its own loss).
    (tbptt_blocks: the states that end its blocks, here every step.)"""
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    states, seen = [], {}

    def step(x, h):
        h = (w * h + x).tanh()
        states.append(h)
        return h, h

    step_block = stepping_blocks(step)

    def on_update(u, loss):
        seen[u] = [None if h.grad is None else float(h.grad) for h in states]
        w.grad = None

    ys = [0.0, 0.0, 0.0, 0.0, None, None, 0.0, 0.0]
    loss_fn = (lambda o, y: o * 1.0) if not constant else (lambda o, y: mg.tensor(0.25, dtype=F64) if y is None
                                                          else o * 1.0)
    if constant:
        ys = [y if y is not None else "pad" for y in ys]
        loss_fn = (lambda o, y: mg.tensor(0.25, dtype=F64) if isinstance(y, str) else o * 1.0)
    xs = [0.1 * i for i in range(8)]
    if runner == "tbptt":
        mg.bptt.tbptt(step, mg.tensor(0.0, dtype=F64), xs, ys, loss_fn, 2, 5, on_update=on_update)
    else:
        mg.bptt.tbptt_blocks(step_block, mg.tensor(0.0, dtype=F64), xs, ys, loss_fn, 2, 5, on_update=on_update)
    assert seen[4][3] == 1.0                        # update 4 walked: dL_4/dh_4 = 1
    assert seen[6] == [None] * 6, seen[6]           # update 6 walked nothing
    assert seen[8][3] is not None                   # update 8 (c = 3) walks state 4 again


# ---- 8. float32 stays float32 ------------------------------------------------------------------

@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "block_loss_fn", "rtrl", "uoro"])
@pytest.mark.parametrize("kind, fused", [("rnn", True), ("lstm", False), ("lstm", True)])
def test_float32_runs_stay_float32_and_agree_with_the_reference_to_single_precision(kind, fused, runner):
    """A float32 model, inputs, targets and h_0, SGD between updates: every gradient on_update sees,
    the final state and the weights after the optimizer are float32, the losses Python floats; the
    values agree with the float64 reference started from the same (float32-rounded) numbers to 2e-4
    (single precision over ten steps; uoro: dtypes only, its values are random). Adam keeps float32 too."""
    n, k1, k2 = 10, 3, (5 if runner not in ("rtrl", "uoro") else 10)
    theta, xs, ys, h0 = make_problem(kind, n, {4}, seed=60)
    theta = {name: v.astype(np.float32).astype(F64) for name, v in theta.items()}
    xs32, ys32 = xs.astype(np.float32), [None if y is None else y.astype(np.float32) for y in ys]
    h0 = tuple(p.astype(np.float32) for p in h0) if kind == "lstm" else h0.astype(np.float32)
    h0_64 = tuple(p.astype(F64) for p in h0) if kind == "lstm" else h0.astype(F64)
    records, final, weights = reference_tbptt(Reference(kind), theta, xs32.astype(F64),
                                              [None if y is None else y.astype(F64) for y in ys32], h0_64, k1, k2,
                                              optimizer=("sgd", 0.1), learn_h0=True)
    for optimizer in (("sgd", 0.1), ("adam", 0.01)):
        run = run_library(runner, kind, theta, xs32, ys32, h0, k1, k2, fused, optimizer=optimizer, learn_h0=True,
                          dtype=np.float32, rng=0)
        for seen in run["seen"]:
            assert all(g is None or g.dtype == np.float32 for g in seen["grads"].values())
            assert type(seen["loss"]) is float
        assert all(type(v) is float for v in run["result"].losses)
        parts = from_form(run["result"].state, "plain", kind)
        assert all(p.dtype == np.float32 and not p.requires_grad for p in parts)
        assert all(p.dtype == np.float32 for p in run["leaves"].values())
        if optimizer[0] == "sgd" and runner != "uoro":
            check_against_reference(run, records, final, n, k1, "plain", kind, learn_h0=True, tol=2e-4,
                                    state_grads=False)
            for name, p in run["leaves"].items():
                assert_close(p.data, weights[name], f"float32 {name} after the run", tol=2e-4)


# ---- 9. bad input: a clear error naming the runner, before anything changes -------------------------

def _bidirectional():
    return mg.nn.LSTM(I, H, bidirectional=True, dtype=F64, rng=np.random.default_rng(0))


BAD_CALLS = [   # (runners it applies to, change to the good call, exception, words of the message)
    ("all", dict(k1=0), ValueError, "k1"),
    ("all", dict(k1=True), ValueError, "k1"),
    ("windowed", dict(k2=2.5), ValueError, "k2"),
    ("windowed", dict(k2=None), ValueError, "k2"),
    ("all", dict(targets="short"), ValueError, "differ in length"),
    ("all", dict(inputs=[], targets=[]), ValueError, "empty"),
    ("all", dict(reduction="avg"), ValueError, "reduction"),
    ("all", dict(state={"h": None}), TypeError, "dict"),
    ("all", dict(state=np.zeros((B, H))), TypeError, "ndarray"),
    ("all", dict(loss_fn=None), TypeError, "loss_fn"),
    ("all", dict(optimizer=[1]), TypeError, "optimizer"),
    ("all", dict(on_update=3), TypeError, "on_update"),
    ("all", dict(inputs="generator"), TypeError, "list("),
    ("all", dict(targets="dict"), ValueError, "keys"),
    ("all", dict(step="bidirectional"), ValueError, "bidirectional"),
    ("all", dict(step="no pair"), TypeError, "step 1"),
    ("all", dict(loss_fn="float"), TypeError, "step 1"),
    ("all", dict(loss_fn="vector"), ValueError, "step 1"),
    ("online", dict(params=[]), ValueError, "params"),
    ("online", dict(params="one tensor"), TypeError, "params"),
    ("online", dict(params="non-leaf"), ValueError, "leaf"),
    ("online", dict(params="no grad"), ValueError, "requires grad"),
    ("uoro", dict(rng="seed"), TypeError, "rng"),
    ("uoro", dict(rng=-1), TypeError, "rng"),
    ("blocks", dict(block_loss_fn=3), TypeError, "block_loss_fn"),
    ("blocks", dict(inputs="no slices"), TypeError, "slices"),
]


def _applies(scope, runner):
    return (scope == "all" or (scope == "windowed" and runner in ("tbptt", "tbptt_blocks"))
            or (scope == "online" and runner in ("rtrl", "uoro")) or scope == runner
            or (scope == "blocks" and runner == "tbptt_blocks"))


CASES = [(runner, *bad) for runner in ("tbptt", "tbptt_blocks", "rtrl", "uoro") for bad in BAD_CALLS
         if _applies(bad[0], runner)]


@pytest.mark.parametrize("runner, scope, change, error, words", CASES,
                         ids=[f"{c[0]}-{list(c[2].items())[0][0]}={list(c[2].items())[0][1]!r}"[:60] for c in CASES])
def test_bad_input_is_a_clear_error_naming_the_runner_before_anything_changes(runner, scope, change, error, words):
    """docs/api.md: the arguments are checked before any step, and what step and loss_fn return is
    checked at step 1 before it is used, leaving no gradient behind. Each bad call raises the
    documented exception, its message starting with the runner's name and saying what is wrong;
    afterwards the weights keep their values, no .grad appeared, the Adam optimizer holds no state,
    and neither the library's generator nor the Generator passed to uoro moved."""
    n = 4
    theta, xs, ys, h0 = make_problem("rnn", n, set(), seed=70)
    model = LibraryModel("rnn", theta, fused=True)
    optimizer = mg.optim.Adam(list(model.params.values()), lr=0.1)
    rng = np.random.default_rng(5)
    before = {name: p.data.copy() for name, p in model.params.items()}
    library_state = json.dumps(default_generator().bit_generator.state)
    rng_state = json.dumps(rng.bit_generator.state)
    calls = []

    def good_step(x, h):
        calls.append(1)
        return model.step(x, h)

    def state_only(x, h):                   # returns no (output, state) pair
        calls.append(1)
        return model.step(x, h)[1]

    args = dict(state=mg.tensor(h0), inputs=list(xs), targets=list(ys), loss_fn=mse, k1=2, optimizer=optimizer,
                on_update=None, reduction="sum")
    if runner in ("tbptt", "tbptt_blocks"):
        args["k2"] = 3
    if runner in ("rtrl", "uoro"):
        args["params"] = model.params
    if runner == "uoro":
        args["rng"] = rng
    args.update(change)
    special = {"short": list(ys)[:-1], "dict": {t: y for t, y in enumerate(ys) if t != 2},
               "generator": (x for x in xs), "no slices": {t: x for t, x in enumerate(xs)}}
    for key in ("inputs", "targets"):
        if isinstance(args[key], str):
            args[key] = special[args[key]]
    step = {"good": good_step, "no pair": state_only, "bidirectional": None}[args.pop("step", "good")] \
        or _bidirectional()
    if args["loss_fn"] == "float":
        args["loss_fn"] = lambda o, y: 1.0
    elif args["loss_fn"] == "vector":
        args["loss_fn"] = lambda o, y: ((o - y) ** 2).sum(0)
    if isinstance(args.get("params"), str):
        args["params"] = {"one tensor": model.V, "non-leaf": [model.V * 2],
                          "no grad": [mg.tensor(np.ones(2))]}[args["params"]]
    def block_of(one_step):
        def step_block(block, h):
            outputs = []
            for x in block:
                result = one_step(x, h)
                if not isinstance(result, tuple):
                    return result
                output, h = result
                outputs.append(output)
            return outputs, h
        return step_block

    if runner == "tbptt_blocks" and not isinstance(step, mg.nn.Module):
        step = block_of(step)
    with pytest.raises(error) as caught:
        getattr(mg.bptt, runner)(step, **args)
    message = str(caught.value)
    where = runner
    assert message.startswith(f"{where}:"), message
    assert words in message or (words == "step 1" and "steps 1 to 1" in message), message
    if "step 1" not in words:
        assert calls == [], "a step ran before the arguments were checked"
    for name, p in model.params.items():
        assert np.array_equal(p.data, before[name]), f"{name} changed"
        assert p.grad is None, f"{name} has a gradient"
    assert optimizer.state_dict()["state"] == {}, "the optimizer's state changed"
    assert json.dumps(default_generator().bit_generator.state) == library_state
    assert json.dumps(rng.bit_generator.state) == rng_state



# ---- 10. an exception mid-run -----------------------------------------------------------------

class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["step", "loss_fn", "on_update"])
@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "rtrl", "uoro"])
def test_an_exception_mid_run_propagates_unchanged_and_leaves_everything_consistent(runner, where):
    """A fused LSTM, TBPTT(2, 3) (rtrl, uoro: TBPTT(2, n)), SGD, h_0 = (tanh(A), c_0) computed by the
    caller from a leaf A (a graph of the caller's). An exception raised in step or loss_fn at step 5,
    or in on_update at u = 4, comes out as the same exception object (its message untouched); then:
    the weights are the reference's after the updates that finished (2 and 4; for on_update at 4,
    after update 2, with update 4's gradients in .grad, not yet applied); no gradient is left behind
    by an interrupted window; grad mode, the step stamp and forward mode are back to what they were;
    the caller's graph is intact (d sum(tanh(A))/dA = 1 - tanh(A)^2, the closed form); and a new run
    with the same model is the reference's run from the current weights. (uoro: its values are random,
    so only the state of things is checked.)"""
    n, k1 = 9, 2
    k2 = 3 if runner in ("tbptt", "tbptt_blocks") else n
    theta, xs, ys, h0 = make_problem("lstm", n, set(), seed=80)
    model = LibraryModel("lstm", theta, fused=True)
    A = mg.tensor(np.arctanh(np.clip(h0[0], -0.9, 0.9)), requires_grad=True)
    h0 = (np.tanh(A.data), h0[1])
    optimizer = mg.optim.SGD(list(model.params.values()), lr=0.2)
    boom, count = Boom("raised by the caller's " + where), [0]

    def counted(fn, at):
        def wrapper(*args):
            count[0] += 1
            if count[0] == at:
                raise boom
            return fn(*args)
        return wrapper

    step, loss_fn, on_update = model.step, mse, None
    if where == "step":
        step = counted(model.step, 5)
    elif where == "loss_fn":
        loss_fn = counted(mse, 5)
    else:
        on_update = counted(lambda u, loss: None, 2)

    def run(step, loss_fn, on_update):
        state = (A.tanh(), mg.tensor(h0[1]))
        if runner == "tbptt":
            return mg.bptt.tbptt(step, state, xs, ys, loss_fn, k1, k2, optimizer, on_update)
        if runner == "tbptt_blocks":
            return mg.bptt.tbptt_blocks(stepping_blocks(step), state, xs, ys, loss_fn, k1, k2, optimizer, on_update)
        return getattr(mg.bptt, runner)(step, state, xs, ys, loss_fn, model.params, k1, optimizer, on_update,
                                        **({"rng": 0} if runner == "uoro" else {}))

    with pytest.raises(Boom) as caught:
        run(step, loss_fn, on_update)
    assert caught.value is boom and str(caught.value) == "raised by the caller's " + where
    assert grad_enabled.get() is True and current_step.get() is None and current_run.get() is None
    done = 4 if where != "on_update" else 2
    _, _, weights = reference_tbptt(Reference("lstm"), theta, xs[:done], ys[:done], h0, k1, min(k2, done),
                                    optimizer=("sgd", 0.2))
    if runner != "uoro":
        for name, p in model.params.items():
            assert_close(p.data, weights[name], f"{name} after the interruption")
    if where == "on_update":
        records, _, _ = reference_tbptt(Reference("lstm"), theta, xs[:4], ys[:4], h0, k1, min(k2, 4),
                                        optimizer=("sgd", 0.2))
        for name, p in model.params.items():
            assert p.grad is not None
            if runner != "uoro":
                assert_close(p.grad, records[-1]["grads"][name], f"update 4's gradient of {name}")
        optimizer.zero_grad()
    else:
        assert all(p.grad is None for p in model.params.values())
    A.grad = None
    (A.tanh().sum() + 0.0).backward()         # a fresh use, and then the caller's own graph:
    h_caller = A.tanh()
    A.grad = None
    h_caller.sum().backward()
    assert_close(A.grad, 1.0 - np.tanh(A.data) ** 2, "the caller's graph after the interruption")
    # a new run from the current weights is the reference's
    current = {name: np.array(p.data) for name, p in model.params.items()}
    count[0] = -10 ** 9
    records, final, weights = reference_tbptt(Reference("lstm"), current, xs, ys, h0, k1, k2, optimizer=("sgd", 0.2))
    result = run(model.step, mse, None)
    assert result.updates == expected_updates(n, k1)
    if runner != "uoro":
        for got, want in zip(result.losses, records):
            assert_close(got, want["loss"], f"L_{want['u']} of the run after")
        for name, p in model.params.items():
            assert_close(p.data, weights[name], f"{name} after the run after")


def test_the_callers_graph_survives_an_exception_after_an_update_walked_it():
    """h_0 = tanh(A) (the caller's graph), TBPTT(2, 6) so the updates at 2 and 4 walk through h_0 into A
    (cut at 0), then loss_fn raises at step 5: A.grad holds exactly the two updates' dL/dA (the reference's
    dL/dh_0 times 1 - tanh(A)^2, the closed form of tanh's derivative), and h_0's own graph can still be
    walked afterwards: h_0.sum().backward() adds 1 - tanh(A)^2."""
    n = 8
    theta, xs, ys, h0 = make_problem("rnn", n, set(), seed=81)
    model = LibraryModel("rnn", theta)
    A = mg.tensor(np.arctanh(np.clip(h0, -0.9, 0.9)), requires_grad=True)
    h_caller = A.tanh()
    derivative = 1.0 - np.tanh(A.data) ** 2
    records, _, _ = reference_tbptt(Reference("rnn"), theta, xs[:4], ys[:4], np.tanh(A.data), 2, 6, learn_h0=True)
    calls = [0]

    def loss_fn(output, target):
        calls[0] += 1
        if calls[0] == 5:
            raise Boom("step 5")
        return mse(output, target)

    with pytest.raises(Boom):
        mg.bptt.tbptt(model.step, h_caller, xs, ys, loss_fn, 2, 6)
    want = (records[0]["grads"]["h0"] + records[1]["grads"]["h0"]) * derivative
    assert_close(A.grad, want, "A.grad after updates 2 and 4")
    h_caller.sum().backward()
    assert_close(A.grad, want + derivative, "A.grad after the caller's own backward")


# ---- 11. memory does not grow with n; 100,000 steps without recursion ----------------------------

def live_nodes():
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Node)


def tiny_step(w):
    def step(x, h):
        h = (w * h + x).tanh()
        return h, h
    return step


@pytest.mark.parametrize("k1, k2, on_backward", [(3, 7, True), (7, 3, False)])
def test_tbptt_memory_does_not_grow_with_n(k1, k2, on_backward):
    """n = 20,000 steps of a one-number RNN with a loss at every step: the graph nodes alive at the
    updates just after steps 2,000, 10,000 and 19,000 are as many (the tape never holds more than
    max(k1, k2) steps; on_backward given, which keeps every update's graph for the callback), and the
    traced memory between the first and the last of them grows by no more than what the result's
    lists take for the updates in between (an int of 32 bytes, a float of 24 and two list slots of 8,
    with the lists' over-allocation: under 100 bytes an update), plus 64 KiB; a tape growing with n
    would add kilobytes a step."""
    n = 20_000
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    marks = [min(u for u in expected_updates(n, k1) if u >= mark) for mark in (2_000, 10_000, 19_000)]
    counts, traced = {}, {}

    def on_update(u, loss):
        w.grad = None
        if u in marks:
            counts[u] = live_nodes()
            traced[u] = tracemalloc.get_traced_memory()[0]

    options = dict(on_update=on_update, on_backward=(lambda u, loss: None) if on_backward else None)
    before = live_nodes()                   # (nodes other tests left alive: not this run's)
    tracemalloc.start()
    try:
        result = mg.bptt.tbptt(tiny_step(w), mg.tensor(0.0, dtype=F64), np.full(n, 0.1), [0.0] * n,
                               lambda output, _: output, k1, k2, **options)
    finally:
        tracemalloc.stop()
    assert len(result.updates) == len(expected_updates(n, k1))
    assert len(set(counts.values())) == 1 and counts[marks[-1]] - before < 20 * max(k1, k2), (counts, before)
    between = sum(1 for u in result.updates if marks[0] < u <= marks[-1])
    assert traced[marks[-1]] - traced[marks[0]] <= 100 * between + 64 * 1024, (traced, between)


@pytest.mark.parametrize("runner", ["tbptt_blocks", "rtrl", "uoro"])
def test_the_other_runners_keep_as_many_nodes_alive_at_step_200_as_at_step_2000(runner):
    """tbptt_blocks (TBPTT(5, 12)), rtrl and uoro (k1 = 5), n = 2,000: the graph nodes alive at the
    updates at 200, 1,000 and 1,995 are as many: nothing of the past is kept."""
    n = 2_000
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    counts = {}

    def on_update(u, loss):
        w.grad = None
        if u in (200, 1_000, 1_995):
            counts[u] = live_nodes()

    step = tiny_step(w)
    xs, ys, h0 = np.full(n, 0.1), [0.0] * n, mg.tensor(0.0, dtype=F64)
    if runner == "tbptt_blocks":
        mg.bptt.tbptt_blocks(stepping_blocks(step), h0, xs, ys, lambda o, _: o, 5, 12, on_update=on_update)
    else:
        getattr(mg.bptt, runner)(step, h0, xs, ys, lambda o, _: o, [w], 5, on_update=on_update)
    assert len(counts) == 3 and len(set(counts.values())) == 1, counts


def test_a_100_000_step_full_bptt_run_needs_no_recursion():
    """TBPTT(n, n) over n = 100,000 steps of a one-number RNN: one backward pass through a chain
    100,000 cells deep (and the graph freed after it) must not recurse. With w = 0 the state is
    h_t = tanh(x_t) and the last loss l_n = h_n has dl_n/dw = (1 - h_n^2) h_(n-1), and dl_n/dh_0 = 0:
    the closed form."""
    n = 100_000
    w = mg.tensor(0.0, dtype=F64, requires_grad=True)
    h0 = mg.tensor(0.3, dtype=F64, requires_grad=True)
    xs = np.linspace(-1.0, 1.0, n)
    ys = [None] * (n - 1) + [0.0]
    result = mg.bptt.tbptt(tiny_step(w), h0, xs, ys, lambda output, _: output * 1.0, n, n)
    assert result.updates == [n]
    h = np.tanh(xs)
    assert_close(result.losses[0], h[-1], "l_n")
    assert_close(w.grad, (1.0 - h[-1] ** 2) * h[-2], "dl_n/dw")
    assert_close(h0.grad, 0.0, "dl_n/dh_0")
