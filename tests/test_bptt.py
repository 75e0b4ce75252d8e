"""Truncated BPTT: the runner against explicitly rebuilt windows, identities, closed forms, memory, errors.

The reference for every update u is the definition itself (docs/api.md, "Truncated
BPTT"): recompute the forward from the detached state h_c, c = max(0, u - k2),
over steps (c, u], add the losses at t in (u', u] (those at or before c through
their own detached state only: depth 0), backprop, and compare. For a step that
changes its state in place, the same definition written in numpy, differentiated by
central differences. No PyTorch.
"""

from __future__ import annotations

import collections
import gc
import tracemalloc

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.autograd import CUT, OP, topological_order
from microgradseq.bptt import update_steps
from microgradseq.bptt.truncate import map_state, state_tensors

F64 = np.float64


# --- a small model: a cell plus a linear readout, float64 --------------------------------

class Model:
    """step(x_t, state) -> (readout(h_t), state_t) for an RNN, LSTM or GRU cell."""

    def __init__(self, kind: str, inputs: int = 3, hidden: int = 4, outputs: int = 2, seed: int = 0):
        rng = np.random.default_rng(seed)
        cell_type = {"rnn": mg.nn.RNNCell, "lstm": mg.nn.LSTMCell, "gru": mg.nn.GRUCell}[kind]
        self.kind = kind
        self.cell = cell_type(inputs, hidden, rng=rng, dtype=F64)
        self.readout = mg.nn.Linear(hidden, outputs, rng=rng, dtype=F64)
        self.params = dict(self.cell.named_parameters())
        self.params.update({f"readout.{k}": v for k, v in self.readout.named_parameters()})

    def step(self, x, state):
        state = self.cell(x, state)
        h = state[0] if self.kind == "lstm" else state
        return self.readout(h), state

    def output(self, state):
        return self.readout(state[0] if self.kind == "lstm" else state)

    def zero_grad(self):
        for p in self.params.values():
            p.grad = None


def mse(output, target):
    return ((output - target) ** 2).sum()


def make_data(n: int, batch: int = 3, inputs: int = 3, outputs: int = 2, seed: int = 1, gaps=(4,)):
    """Inputs and targets of length n; targets[t] is None for t in `gaps` (no loss at that step)."""
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(batch, inputs)) for _ in range(n)]
    ys = [None if t in gaps else rng.normal(size=(batch, outputs)) for t in range(n)]
    return xs, ys


def initial_state(model: Model, batch: int, seed: int = 2):
    """h_0 (and c_0) that require grad, so the first windows' gradient reaches them."""
    rng = np.random.default_rng(seed)
    hidden = model.cell.hidden_size
    make = lambda: mg.tensor(rng.normal(size=(batch, hidden)) * 0.5, requires_grad=True)  # noqa: E731
    return (make(), make()) if model.kind == "lstm" else make()


def detached(state):
    return map_state(lambda tensor: tensor.detach(), state)


def grads_of(model: Model, h0) -> dict:
    """Copies of every parameter's and h_0's gradient (zeros where none arrived)."""
    out = {name: (np.zeros_like(p.data) if p.grad is None else p.grad.copy()) for name, p in model.params.items()}
    for i, leaf in enumerate(state_tensors(h0)):
        out[f"h0[{i}]"] = np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad.copy()
    return out


def clear(model: Model, h0) -> None:
    model.zero_grad()
    for leaf in state_tensors(h0):
        leaf.grad = None


def run_tbptt(model, h0, xs, ys, k1, k2, reduction="sum"):
    """Each update's gradient (weights held fixed: no optimizer) and the runner's result."""
    per_update = {}

    def on_update(u, loss):
        per_update[u] = grads_of(model, h0)
        clear(model, h0)

    clear(model, h0)
    result = mg.bptt.tbptt(model.step, h0, xs, ys, mse, k1, k2, on_update=on_update, reduction=reduction)
    return per_update, result


def forward_states(model, h0, xs):
    """states[t] = the value of the state after step t (states[0] = h_0), without a tape."""
    states = [h0]
    with mg.no_grad():
        for x in xs:
            states.append(model.step(x, states[-1])[1])
    return states


def rebuilt_window(model, h0, xs, ys, previous: int, u: int, k2: int, reduction="sum"):
    """The definition for one update, built from scratch: h_c held constant, steps (c, u] recomputed."""
    states = forward_states(model, h0, xs)
    cut = max(0, u - k2)
    clear(model, h0)
    losses = []
    for t in range(previous + 1, min(cut, u) + 1):          # depth 0: only the readout of a constant state
        if ys[t - 1] is not None:
            losses.append(mse(model.output(detached(states[t])), ys[t - 1]))
    state = h0 if cut == 0 else detached(states[cut])
    for t in range(cut + 1, u + 1):
        output, state = model.step(xs[t - 1], state)
        if t > previous and ys[t - 1] is not None:
            losses.append(mse(output, ys[t - 1]))
    if not losses:                                          # no target in (u', u]: nothing to inject
        return 0.0, grads_of(model, h0)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    if reduction == "mean":
        total = total / len(losses)
    total.backward()
    expected = grads_of(model, h0)
    clear(model, h0)
    return float(total.item()), expected


def assert_same_grads(actual: dict, expected: dict, where: str) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=0, atol=1e-10, err_msg=f"{where}: {name}")


CONFIGURATIONS = [
    (11, 11),   # TBPTT(n, n): full BPTT
    (1, 11),    # TBPTT(1, n): every step's loss through all history
    (3, 1),     # TBPTT(k1, 1): one cell deep; older losses depth 0
    (5, 2),     # k1 > k2: depth-0 losses at or before the cut
    (2, 5),     # overlapping windows, k1 < k2
    (3, 7),     # overlapping windows, ragged tail (11 = 3 + 3 + 3 + 2)
    (4, 4),     # the common k1 = k2, ragged tail
    (1, 1),
]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("k1, k2", CONFIGURATIONS)
def test_every_update_equals_the_explicitly_rebuilt_window(kind, k1, k2):
    n = 11
    model = Model(kind)
    xs, ys = make_data(n)
    h0 = initial_state(model, batch=3)
    per_update, result = run_tbptt(model, h0, xs, ys, k1, k2)

    assert result.updates == list(per_update) == update_steps(n, k1)
    previous = 0
    for u, loss in zip(result.updates, result.losses):
        expected_loss, expected = rebuilt_window(model, h0, xs, ys, previous, u, k2)
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        assert_same_grads(per_update[u], expected, f"TBPTT({k1}, {k2}) update {u}")
        previous = u


def test_h0_receives_gradient_exactly_while_the_cut_is_at_zero():
    model = Model("rnn")
    xs, ys = make_data(9, gaps=())
    h0 = initial_state(model, batch=3)
    per_update, _ = run_tbptt(model, h0, xs, ys, k1=3, k2=5)
    reaches_h0 = {u: bool(np.any(g["h0[0]"] != 0)) for u, g in per_update.items()}
    assert reaches_h0 == {3: True, 6: False, 9: False}      # c_3 = 0, c_6 = 1, c_9 = 4


@pytest.mark.parametrize("layer_type", [mg.nn.RNN, mg.nn.GRU])
def test_a_step_whose_output_bypasses_its_state_reaches_nothing_behind_the_cut(layer_type):
    """A layer called on one step returns its output and its state as two tensors, so cutting the
    state it returns leaves its output's history alone. TBPTT(4, 2): the update at 4 cuts at 2;
    the runner feeds steps 1 and 2 a cut state, so their losses reach their own step's cell and
    no further, h_0 gets nothing (c > 0), and steps 3 and 4 run from h_2 held constant."""
    rng = np.random.default_rng(5)
    layer = layer_type(3, 4, rng=rng, dtype=F64)
    xs = [rng.normal(size=(1, 2, 3)) for _ in range(4)]
    ys = [rng.normal(size=(1, 2, 4)) for _ in range(4)]
    h0 = mg.tensor(rng.normal(size=(1, 2, 4)), requires_grad=True)
    got = {}
    mg.bptt.tbptt(layer, h0, xs, ys, mse, k1=4, k2=2,
                  on_update=lambda u, loss: got.update({n: p.grad.copy() for n, p in layer.named_parameters()}))
    assert h0.grad is None
    states = [h0.detach()]
    with mg.no_grad():
        for x in xs:
            states.append(layer(x, states[-1])[1])
    for p in layer.parameters():
        p.grad = None
    losses = [mse(layer(xs[t], states[t].detach())[0], ys[t]) for t in range(2)]     # steps 1, 2: one cell
    state = states[2].detach()
    for t in (2, 3):                                                                  # steps 3, 4 from h_2
        output, state = layer(xs[t], state)
        losses.append(mse(output, ys[t]))
    (losses[0] + losses[1] + losses[2] + losses[3]).backward()
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(got[name], p.grad, rtol=1e-12, atol=1e-14, err_msg=name)


def test_a_state_handed_on_unchanged_is_cut_all_the_same():
    """A step that hands the caller's h_0 on unchanged (no input at step 1), TBPTT(3, 2): the cut
    at 1 holds that state constant, so h_0 gets no gradient and the cell gets that of steps 2, 3
    from a constant h_0."""
    rng = np.random.default_rng(6)
    cell = mg.nn.RNNCell(3, 4, rng=rng, dtype=F64)
    xs = [None, rng.normal(size=(2, 3)), rng.normal(size=(2, 3))]
    ys = [None, rng.normal(size=(2, 4)), rng.normal(size=(2, 4))]
    h0 = mg.tensor(rng.normal(size=(2, 4)), requires_grad=True)

    def step(x, h):
        h = h if x is None else cell(x, h)
        return h, h

    got = {}
    mg.bptt.tbptt(step, h0, xs, ys, mse, k1=3, k2=2,
                  on_update=lambda u, loss: got.update({n: p.grad.copy() for n, p in cell.named_parameters()}))
    assert h0.grad is None
    for p in cell.parameters():
        p.grad = None
    h2 = cell(xs[1], h0.detach())
    h3 = cell(xs[2], h2)
    (mse(h2, ys[1]) + mse(h3, ys[2])).backward()
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(got[name], p.grad, rtol=1e-12, atol=1e-14, err_msg=name)


def stepping_blocks(step):
    """`step_block` for tbptt_blocks from a one-step `step`: the block's steps one after another."""
    def step_block(block, state):
        outputs = []
        for x in block:
            output, state = step(x, state)
            outputs.append(output)
        return outputs, state
    return step_block


def run_either(runner, step, state, xs, ys, loss_fn, k1, k2, **options):
    """`tbptt` with `step`, or `tbptt_blocks` with a step_block that calls `step` on each step of its block."""
    if runner == "tbptt":
        return mg.bptt.tbptt(step, state, xs, ys, loss_fn, k1, k2, **options)
    return mg.bptt.tbptt_blocks(stepping_blocks(step), state, xs, ys, loss_fn, k1, k2, **options)


def cell_readout_and_encoder(seed: int, encoder_shape: tuple):
    """An RNNCell(2, 3) and a Linear(3, 1) readout in float64, and an encoder weight W_e of the
    caller's: (rng, cell, readout, W_e, every parameter by name)."""
    rng = np.random.default_rng(seed)
    cell = mg.nn.RNNCell(2, 3, dtype=F64, rng=rng)
    readout = mg.nn.Linear(3, 1, dtype=F64, rng=rng)
    w_e = mg.tensor(rng.normal(size=encoder_shape), requires_grad=True)
    params = {"w_e": w_e, **dict(cell.named_parameters()), **{f"readout.{k}": v for k, v in readout.named_parameters()}}
    return rng, cell, readout, w_e, params


def gradients_at_updates(params: dict):
    """({u: {name: .grad at update u}}, an on_update that fills it and clears the gradients)."""
    got = {}

    def on_update(u, loss):
        got[u] = {name: None if p.grad is None else p.grad.copy() for name, p in params.items()}
        for p in params.values():
            p.grad = None

    return got, on_update


def states_without_recording(step, xs) -> list:
    """[None, h_1, ..., h_n]: the states step makes from no state, under no_grad (values only)."""
    states = [None]
    with mg.no_grad():
        for x in xs:
            states.append(step(x, states[-1])[1])
    return states


def assert_update_took_the_rebuilt_gradients(params: dict, got: dict, u: int) -> None:
    """Each parameter's gradient at update u (`got`, name -> array or None) equals the .grad a
    backward pass over the rebuilt window just left (None counting as zeros); then clears .grad."""
    for name, p in params.items():
        want = np.zeros_like(p.data) if p.grad is None else p.grad
        have = np.zeros_like(p.data) if got[name] is None else got[name]
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14, err_msg=f"update {u}: {name}")
        p.grad = None


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(2, 2), (2, 3), (3, 3), (1, 4)])
@pytest.mark.parametrize("resets", [(3, 5), (2, 4)])
def test_a_state_step_returns_but_the_run_did_not_make_is_left_to_its_caller(runner, k1, k2, resets):
    """Rule 3: the runner cuts only nodes the run made. A learned reset state h_init = tanh(W_e), made
    once before the run, that `step` returns at the steps `resets`: the runner cuts a copy of its own
    there, never the caller's node, so every update's gradient is the definition's (rebuilt below,
    h_init included: it reaches W_e wherever an update's window holds it), and afterwards h_init's
    graph is the caller's as it was."""
    rng, cell, readout, w_e, params = cell_readout_and_encoder(0, (1, 3))
    h_init = w_e.tanh()

    def step(x, h):
        if x is None:                       # reset to the learned state
            return readout(h_init), h_init
        h = cell(x, h)
        return readout(h), h

    n = 6
    xs = [None if t in resets else rng.normal(size=(1, 2)) for t in range(1, n + 1)]
    ys = [rng.normal(size=(1, 1)) for _ in range(n)]
    got, on_update = gradients_at_updates(params)

    run_either(runner, step, None, xs, ys, mse, k1, k2, on_update=on_update)
    assert h_init._node.kind is OP and h_init.op == "tanh"

    states = states_without_recording(step, xs)
    previous = 0
    for u in update_steps(n, k1):
        cut = max(0, u - k2)
        state, losses = (None if cut == 0 else states[cut].detach()), []
        for t in range(cut + 1, u + 1):
            output, state = step(xs[t - 1], state)
            if t > previous:
                losses.append(mse(output, ys[t - 1]))
        sum(losses[1:], losses[0]).backward(retain_graph=True)      # h_init is the caller's: keep it
        assert_update_took_the_rebuilt_gradients(params, got[u], u)
        previous = u

    (h_init ** 2).sum().backward()          # the caller's graph through h_init still works
    np.testing.assert_allclose(w_e.grad, 2 * h_init.data * (1 - h_init.data ** 2), rtol=1e-12)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(2, 2), (2, 3), (3, 2), (6, 6)])
def test_a_graph_of_the_callers_that_every_step_reads_is_kept_for_every_update(runner, k1, k2):
    """An encoder's output, ctx = tanh(W_e), made before the run and read by every step: each update's
    backward pass reaches it, so none may free it. Every update's gradient is the definition's
    (steps (c, u] rebuilt from h_c held constant, losses at or before c through their own state
    only), and afterwards ctx's graph is the caller's as it was."""
    rng, cell, readout, w_e, params = cell_readout_and_encoder(2, (1, 2))
    ctx = w_e.tanh()

    def step(x, h):
        h = cell(ctx + x, h)
        return readout(h), h

    n = 6
    xs, ys = [rng.normal(size=(1, 2)) for _ in range(n)], [rng.normal(size=(1, 1)) for _ in range(n)]
    got, on_update = gradients_at_updates(params)

    run_either(runner, step, None, xs, ys, mse, k1, k2, on_update=on_update)
    assert ctx._node.kind is OP

    states = states_without_recording(step, xs)
    previous = 0
    for u in update_steps(n, k1):
        cut = max(0, u - k2)
        losses = [mse(readout(states[t].detach()), ys[t - 1]) for t in range(previous + 1, cut + 1)]   # depth 0
        state = None if cut == 0 else states[cut].detach()
        for t in range(cut + 1, u + 1):
            output, state = step(xs[t - 1], state)
            if t > previous:
                losses.append(mse(output, ys[t - 1]))
        sum(losses[1:], losses[0]).backward(retain_graph=True)      # ctx is the caller's: keep it
        assert_update_took_the_rebuilt_gradients(params, got[u], u)
        previous = u
    ctx.sum().backward()
    np.testing.assert_allclose(w_e.grad, 1 - ctx.data ** 2, rtol=1e-12)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
def test_an_initial_state_with_history_is_left_to_its_caller(runner):
    """h_0 = tanh(W_0), made by the caller: the run trains W_0 while its cut is at 0 and leaves h_0's
    graph as it was, so the caller can backpropagate through it afterwards."""
    rng = np.random.default_rng(1)
    cell = mg.nn.RNNCell(2, 3, dtype=F64, rng=rng)
    w_0 = mg.tensor(rng.normal(size=(1, 3)), requires_grad=True)
    h0 = w_0.tanh()

    def step(x, h):
        h = cell(x, h)
        return h, h

    xs, ys = [rng.normal(size=(1, 2)) for _ in range(4)], [rng.normal(size=(1, 3)) for _ in range(4)]
    run_either(runner, step, h0, xs, ys, mse, 2, 2)
    assert h0._node.kind is OP and w_0.grad is not None
    trained = w_0.grad.copy()
    (h0 ** 2).sum().backward()
    np.testing.assert_allclose(w_0.grad - trained, 2 * h0.data * (1 - h0.data ** 2), rtol=1e-12)


def test_a_namedtuple_state_stays_one_and_trains_as_a_tuple_does():
    State = collections.namedtuple("State", "h c")
    grads = {}
    for wrap in (tuple, lambda pair: State(*pair)):
        model = Model("lstm")
        xs, ys = make_data(6)

        def step(x, state):
            output, (h, c) = model.step(x, tuple(state) if state is not None else None)
            return output, wrap((h, c))

        result = mg.bptt.tbptt(step, None, xs, ys, mse, k1=2, k2=3)
        assert type(result.state) is (tuple if wrap is tuple else State)
        grads[wrap is tuple] = {name: p.grad.copy() for name, p in model.params.items() if p.grad is not None}
    assert grads[True].keys() == grads[False].keys()
    for name in grads[True]:
        np.testing.assert_array_equal(grads[True][name], grads[False][name])


def test_unbatched_inputs_and_mean_reduction():
    model = Model("lstm")
    rng = np.random.default_rng(5)
    xs = [rng.normal(size=3) for _ in range(7)]
    ys = [rng.normal(size=2) if t != 2 else None for t in range(7)]
    h0 = (mg.tensor(np.zeros(4), requires_grad=True), mg.tensor(np.zeros(4), requires_grad=True))
    per_update, result = run_tbptt(model, h0, xs, ys, 3, 5, reduction="mean")
    previous = 0
    for u, loss in zip(result.updates, result.losses):
        expected_loss, expected = rebuilt_window(model, h0, xs, ys, previous, u, 5, reduction="mean")
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        assert_same_grads(per_update[u], expected, f"mean, update {u}")
        previous = u
    # mean divides by the number of steps with a target: the first update injects 2 losses (t = 1, 2)
    _, summed = run_tbptt(model, h0, xs, ys, 3, 5, reduction="sum")
    assert result.losses[0] == pytest.approx(summed.losses[0] / 2, rel=1e-12)


# --- identities --------------------------------------------------------------------------

def full_bptt(model, h0, xs, ys):
    clear(model, h0)
    state, total = h0, None
    for x, y in zip(xs, ys):
        output, state = model.step(x, state)
        if y is not None:
            total = mse(output, y) if total is None else total + mse(output, y)
    total.backward()
    expected = grads_of(model, h0)
    clear(model, h0)
    return float(total.item()), expected


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_tbptt_n_n_is_full_bptt(kind):
    model = Model(kind)
    xs, ys = make_data(10)
    h0 = initial_state(model, batch=3)
    per_update, result = run_tbptt(model, h0, xs, ys, 10, 10)
    loss, expected = full_bptt(model, h0, xs, ys)
    assert result.updates == [10] and result.losses[0] == pytest.approx(loss, rel=1e-12)
    assert_same_grads(per_update[10], expected, "TBPTT(n, n)")


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_the_updates_of_tbptt_1_n_sum_to_full_bptt(kind):
    model = Model(kind)
    xs, ys = make_data(10)
    h0 = initial_state(model, batch=3)
    per_update, result = run_tbptt(model, h0, xs, ys, 1, 10)
    loss, expected = full_bptt(model, h0, xs, ys)
    summed = {name: sum(g[name] for g in per_update.values()) for name in expected}
    assert sum(result.losses) == pytest.approx(loss, rel=1e-12)
    assert_same_grads(summed, expected, "sum of TBPTT(1, n)")


def detach_every_k(model, h0, xs, ys, k):
    """The loop a user writes: truncate the state every k steps, backward each chunk's loss."""
    clear(model, h0)
    grads, state = [], h0
    for start in range(0, len(xs), k):
        if start:
            state = mg.bptt.truncate(state)
        total = None
        for t in range(start, min(start + k, len(xs))):
            output, state = model.step(xs[t], state)
            if ys[t] is not None:
                total = mse(output, ys[t]) if total is None else total + mse(output, ys[t])
        total.backward()
        grads.append(grads_of(model, h0))
        clear(model, h0)
    return grads


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_tbptt_k_k_is_the_detach_every_k_loop(kind):
    model = Model(kind)
    xs, ys = make_data(12)
    h0 = initial_state(model, batch=3)
    per_update, _ = run_tbptt(model, h0, xs, ys, 4, 4)
    for u, expected in zip([4, 8, 12], detach_every_k(model, h0, xs, ys, 4)):
        assert_same_grads(per_update[u], expected, f"TBPTT(4, 4) update {u}")


def test_the_ragged_tail_of_tbptt_k_k_is_cut_at_n_minus_k2():
    """n = 10, k = 4: updates at 4, 8, 10; the tail's cut is at 10 - 4 = 6, not at the chunk start 8."""
    model = Model("rnn")
    xs, ys = make_data(10)
    h0 = initial_state(model, batch=3)
    per_update, _ = run_tbptt(model, h0, xs, ys, 4, 4)
    _, expected = rebuilt_window(model, h0, xs, ys, 8, 10, k2=4)
    assert_same_grads(per_update[10], expected, "tail")
    chunk = detach_every_k(model, h0, xs, ys, 4)[-1]
    assert not np.allclose(per_update[10]["weight_hh"], chunk["weight_hh"])


# --- the scalar regression case -------------------------------------------------------------

def scalar_run(k1, k2):
    """x_t = w x_(t-1), x_0 = 0.9, w = 0.2; the only loss is x_3 at t = 3."""
    w = mg.tensor(0.2, dtype=F64, requires_grad=True)
    grads = {}

    def on_update(u, loss):
        grads[u] = 0.0 if w.grad is None else float(w.grad)
        w.grad = None

    def step(_, x):
        x = w * x
        return x, x

    mg.bptt.tbptt(step, mg.tensor(0.9, dtype=F64), [None] * 3, [None, None, 0.0], lambda x, _: x,
                  k1, k2, on_update=on_update)
    return grads


@pytest.mark.parametrize("k1", [3, 1])
def test_scalar_case_dx3_dw_is_3_w2_x0(k1):
    grads = scalar_run(k1, 3)
    assert grads[3] == pytest.approx(3 * 0.2 ** 2 * 0.9, abs=1e-15)      # 0.108
    assert all(g == 0.0 for u, g in grads.items() if u != 3)


def test_scalar_case_with_a_cut_one_step_back():
    """TBPTT(2, 2) on n = 3: the tail's cut is at c = 1, so dx_3/dw = 2 w x_1 with x_1 = w x_0 constant."""
    assert scalar_run(2, 2)[3] == pytest.approx(2 * 0.2 * (0.2 * 0.9), abs=1e-15)


# --- the result, the callbacks, the optimizer ---------------------------------------------

def test_result_holds_the_final_state_detached_and_the_losses_as_floats():
    model = Model("lstm")
    xs, ys = make_data(7)
    h0 = initial_state(model, batch=3)
    _, result = run_tbptt(model, h0, xs, ys, 3, 5)
    final = forward_states(model, h0, xs)[-1]
    assert isinstance(result.state, tuple) and len(result.state) == 2
    for got, want in zip(result.state, final):
        np.testing.assert_array_equal(got.data, want.data)
        assert not got.requires_grad
    assert result.updates == [3, 6, 7]
    assert all(type(loss) is float for loss in result.losses)


def test_on_update_comes_after_backward_and_before_the_optimizer():
    calls = []

    class Recorder:
        def __init__(self, w):
            self.w = w

        def step(self):
            calls.append(("step", self.w.grad is not None))

        def zero_grad(self):
            calls.append(("zero_grad",))
            self.w.grad = None

    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    mg.bptt.tbptt(lambda x, h: ((w * h + x).tanh(),) * 2, mg.tensor(0.0, dtype=F64), [1.0] * 5, [0.0] * 5,
                  mse, 2, 2, optimizer=Recorder(w),
                  on_update=lambda u, loss: calls.append(("on_update", u, w.grad is not None)))
    assert calls == [("on_update", 2, True), ("step", True), ("zero_grad",)] * 1 + \
        [("on_update", 4, True), ("step", True), ("zero_grad",),
         ("on_update", 5, True), ("step", True), ("zero_grad",)]


def test_an_update_without_any_target_reports_zero_loss_and_skips_backward():
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    losses = []
    result = mg.bptt.tbptt(lambda x, h: ((w * h + x).tanh(),) * 2, mg.tensor(0.0, dtype=F64), [1.0] * 4,
                           [None, None, 0.0, 0.0], mse, 2, 2, on_update=lambda u, loss: losses.append(w.grad))
    assert result.losses[0] == 0.0 and losses[0] is None and losses[1] is not None


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_an_update_whose_losses_are_all_constants_runs_with_gradient_zero(runner, reduction):
    """A loss_fn may return a constant (a tensor without history) where the target makes the loss
    one (here a padded step): its gradient is zero. An update whose losses are all constants runs
    without a backward pass, as one without targets does, and reports their sum (or mean); the other
    updates are those of the run where these steps have no target."""
    model = Model("rnn")
    xs, ys = make_data(7, gaps=())
    padded = {2, 3}                                     # steps 3 and 4: the whole update at 4 of TBPTT(2, 2)

    def loss_fn(output, target):
        return mg.tensor(0.25, dtype=F64) if target is None else mse(output, target)

    def run(targets, loss):
        grads = {}

        def on_update(u, value):
            grads[u] = {name: None if p.grad is None else p.grad.copy() for name, p in model.params.items()}
            model.zero_grad()
        result = run_either(runner, model.step, None, xs, targets, loss, 2, 2, on_update=on_update,
                            reduction=reduction)
        return result, grads

    masked = [None if t in padded else y for t, y in enumerate(ys)]
    expected, expected_grads = run(masked, mse)
    model.zero_grad()
    constant = [mg.tensor(0.0) if t in padded else y for t, y in enumerate(ys)]     # a marker loss_fn reads
    result, grads = run(constant, lambda output, target: (mg.tensor(0.25, dtype=F64) if isinstance(target, mg.Tensor)
                                                          else mse(output, target)))
    assert result.updates == expected.updates == [2, 4, 6, 7]
    assert result.losses[1] == (0.5 if reduction == "sum" else 0.25) and expected.losses[1] == 0.0
    assert all(g is None for g in grads[4].values())
    for u in (2, 6, 7):
        assert result.losses[result.updates.index(u)] == expected.losses[expected.updates.index(u)]
        for name in model.params:
            np.testing.assert_array_equal(grads[u][name], expected_grads[u][name], err_msg=f"update {u}: {name}")


def test_with_an_optimizer_and_k1_below_k2_gradients_use_the_recorded_values():
    """Rule 5 of truncated BPTT (docs/api.md): the update at u differentiates the computation that happened, with the
    weights each step actually used, even though earlier updates changed them since."""
    rng = np.random.default_rng(3)
    W = mg.tensor(rng.normal(size=(3, 3)) * 0.5, requires_grad=True)
    n, k1, k2, lr = 8, 2, 5, 0.1
    xs = [rng.normal(size=(2, 3)) for _ in range(n)]
    ys = [rng.normal(size=(2, 3)) for _ in range(n)]
    used = []           # the weight array each step used

    def step(x, h):
        used.append(W.data.copy())
        h = (h @ W.T + x).tanh()
        return h, h

    seen = {}
    optimizer = mg.optim.SGD([W], lr=lr)
    mg.bptt.tbptt(step, mg.zeros(2, 3, dtype=F64), xs, ys, mse, k1, k2, optimizer=optimizer,
                  on_update=lambda u, loss: seen.__setitem__(u, W.grad.copy()))

    # rebuild each window with the recorded weights: one leaf per step, the gradient is their sum
    states = [np.zeros((2, 3))]
    for t in range(n):
        states.append(np.tanh(states[-1] @ used[t].T + xs[t]))
    previous = 0
    for u in update_steps(n, k1):
        cut = max(0, u - k2)
        h = mg.tensor(states[cut])
        weights, total = [], None
        for t in range(cut + 1, u + 1):
            weights.append(mg.tensor(used[t - 1], requires_grad=True))
            h = (h @ weights[-1].T + xs[t - 1]).tanh()
            if t > previous:
                total = mse(h, ys[t - 1]) if total is None else total + mse(h, ys[t - 1])
        total.backward()
        np.testing.assert_allclose(seen[u], sum(w.grad for w in weights), rtol=0, atol=1e-12)
        previous = u
    assert not np.allclose(used[0], used[-1])        # the weights did change between updates


# --- memory and depth --------------------------------------------------------------------

def tiny_rnn(hidden: int, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = mg.tensor(rng.normal(size=(hidden, hidden)) / np.sqrt(hidden), requires_grad=True)

    def step(x, h):
        h = (mg.ops.linear(h, W) + x).tanh()          # h W^T + x: three ops a step
        return h, h
    return W, step


def peak_traced_bytes(n: int, k1: int, k2: int, hidden: int = 128, batch: int = 32) -> int:
    """Peak bytes traced while TBPTT(k1, k2) runs over n steps with a loss at every k1-th step,
    so every update backpropagates (retaining the graph when windows overlap)."""
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(n, batch, hidden))
    target = np.zeros((batch, hidden))
    ys = [target if t % k1 == 0 else None for t in range(1, n + 1)]
    W, step = tiny_rnn(hidden, batch)
    h0 = mg.zeros(batch, hidden, dtype=F64)
    gc.collect()
    tracemalloc.start()
    try:
        mg.bptt.tbptt(step, h0, xs, ys, mse, k1, k2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tbptt_peak_memory_does_not_grow_with_the_sequence_length():
    short, long = peak_traced_bytes(2_000, 10, 20), peak_traced_bytes(20_000, 10, 20)
    assert abs(long - short) < 0.10 * short, (short, long)


@pytest.mark.parametrize("n, k1, k2", [(30, 5, 10), (25, 10, 10), (23, 4, 7), (20, 6, 2), (12, 1, 12)])
def test_between_updates_the_tape_holds_at_most_max_k1_k2_steps(n, k1, k2):
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    newest, most = [None], [0]

    def step(x, h):
        h = (w * h + x).tanh()
        newest[0] = h
        return h, h

    def on_update(u, loss):
        if u < n:
            reachable = topological_order(newest[0]._node)
            steps = {node.step for node in reachable if node.kind is OP}
            most[0] = max(most[0], len(steps))

    mg.bptt.tbptt(step, mg.tensor(0.0, dtype=F64), [0.1] * n, [0.0] * n, mse, k1, k2, on_update=on_update)
    assert most[0] <= max(k1, k2)
    if k1 < k2:                              # overlapping windows keep the steps the next update needs
        assert most[0] >= k2 - k1


def test_full_bptt_memory_grows_with_the_sequence_length():
    short, long = peak_traced_bytes(400, 400, 400), peak_traced_bytes(1_600, 1_600, 1_600)
    assert long > 3 * short, (short, long)


def test_a_100_000_step_tbptt_20_40_run_updates_through_the_whole_sequence():
    """A loss at every step (the output itself), 5,000 overlapping 40-step backward passes."""
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    grads = []

    def step(x, h):
        h = (w * h + x).tanh()
        return h, h

    def on_update(u, loss):
        grads.append(w.grad)
        w.grad = None

    n = 100_000
    result = mg.bptt.tbptt(step, mg.tensor(0.0, dtype=F64), np.full(n, 0.1), [0.0] * n,
                           lambda output, _: output, 20, 40, on_update=on_update)
    assert len(result.updates) == 5_000 and result.updates[-1] == n
    assert all(g is not None and np.isfinite(g) for g in grads)
    # the fixed point h* = tanh(w h* + 0.1) is reached long before the end: the late updates agree
    assert grads[-2] == pytest.approx(grads[-3], rel=1e-9)


# --- bad input: a ValueError before any step runs -----------------------------------------

@pytest.mark.parametrize("k1, k2", [(0, 2), (2, 0), (-1, 2), (2, -3), (2.0, 2), (2, 2.5), (True, 2), (2, False),
                                    ("2", 2), (None, 2)])
def test_k1_and_k2_must_be_positive_integers(k1, k2):
    calls = []
    with pytest.raises(ValueError, match="k1|k2"):
        mg.bptt.tbptt(lambda x, h: calls.append(x) or (h, h), None, [1.0] * 4, [0.0] * 4, mse, k1, k2)
    assert calls == []


@pytest.mark.parametrize("inputs, targets, message", [([1.0] * 4, [0.0] * 3, "length"), ([], [], "empty")])
def test_bad_sequences_raise_before_any_step(inputs, targets, message):
    calls = []
    with pytest.raises(ValueError, match=message):
        mg.bptt.tbptt(lambda x, h: calls.append(x) or (h, h), None, inputs, targets, mse, 2, 2)
    assert calls == []


def test_reduction_must_be_sum_or_mean():
    with pytest.raises(ValueError, match="reduction"):
        mg.bptt.tbptt(lambda x, h: (h, h), None, [1.0], [0.0], mse, 1, 1, reduction="none")


def test_numpy_integers_are_accepted_for_k1_and_k2():
    w = mg.tensor(0.5, requires_grad=True)
    result = mg.bptt.tbptt(lambda x, h: (w * x, h), None, [1.0] * 4, [0.0] * 4, mse, np.int64(2), np.int32(3))
    assert result.updates == [2, 4]


# --- the truncation operator ---------------------------------------------------------------

def test_truncate_keeps_values_and_stops_the_gradient():
    a = mg.tensor([0.3, -0.2], dtype=F64, requires_grad=True)
    h = (a * 2).tanh()
    cut = mg.bptt.truncate(h)
    np.testing.assert_array_equal(cut.data, h.data)
    assert not cut.requires_grad
    ((cut * a).sum()).backward()
    np.testing.assert_array_equal(a.grad, cut.data)        # only the direct path: d(cut * a)/da = cut


def test_truncate_keeps_the_structure_of_a_tuple_state():
    h, c = mg.tensor([1.0], requires_grad=True) * 2, mg.tensor([2.0], requires_grad=True) * 3
    state = mg.bptt.truncate((h, c), k2=5)
    assert isinstance(state, tuple) and len(state) == 2
    assert [s.item() for s in state] == [2.0, 6.0]
    nested = mg.bptt.truncate([(h, c), h])
    assert isinstance(nested, list) and isinstance(nested[0], tuple)


@pytest.mark.parametrize("state", [{"h": mg.tensor(1.0)}, 3.0, "h"], ids=["dict", "float", "str"])
def test_truncate_rejects_what_is_not_a_state(state):
    with pytest.raises(TypeError, match="truncate: a state is a Tensor or a tuple of Tensors"):
        mg.bptt.sever(state)
    with pytest.raises(TypeError, match="truncate: a state is a Tensor or a tuple of Tensors"):
        mg.bptt.truncate(state)


@pytest.mark.parametrize("n, k1", [(0, 2), (5, 0), (5, True), (5, 1.5)])
def test_update_steps_rejects_what_is_not_a_positive_integer(n, k1):
    with pytest.raises(ValueError, match="update_steps: (n|k1) must be a positive integer"):
        update_steps(n, k1)


def test_sever_cuts_a_state_that_later_steps_already_used():
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    h1 = w * 2.0
    h2 = w * h1
    mg.bptt.sever(h1, k2=1)
    h2.backward()
    assert w.grad == pytest.approx(h1.item())                # d(w * h1)/dw with h1 constant


# --- the input pipeline ------------------------------------------------------------------

def test_batchify_makes_contiguous_time_major_streams():
    batched = mg.bptt.batchify(np.arange(10), 3)
    assert batched.shape == (3, 3)
    np.testing.assert_array_equal(batched[:, 0], [0, 1, 2])      # stream 0 is the first third
    np.testing.assert_array_equal(batched[:, 2], [6, 7, 8])      # the leftover 9 is dropped
    features = mg.bptt.batchify(np.zeros((9, 5)), 3)
    assert features.shape == (3, 3, 5)


def test_next_step_pairs_shift_by_one():
    inputs, targets = mg.bptt.next_step_pairs(mg.bptt.batchify(np.arange(12), 2))
    np.testing.assert_array_equal(targets[:-1], inputs[1:])
    assert inputs.shape == targets.shape == (5, 2)


@pytest.mark.parametrize("size", [0, -1, 2.0, True])
def test_batchify_rejects_bad_batch_sizes(size):
    with pytest.raises(ValueError, match="batch_size"):
        mg.bptt.batchify(np.arange(10), size)


def test_batchify_rejects_a_sequence_shorter_than_the_batch():
    with pytest.raises(ValueError, match="shorter"):
        mg.bptt.batchify(np.arange(2), 3)


def test_carrying_the_state_across_runs_matches_one_long_run():
    """Two runs over consecutive halves, the second starting from the first's final state,
    give the same forward values as one run over the whole (the state carries on)."""
    W, step = tiny_rnn(4, 2)
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(12, 2, 4))
    ys = [None] * 12
    whole = mg.bptt.tbptt(step, mg.zeros(2, 4, dtype=F64), xs, ys, mse, 3, 3)
    first = mg.bptt.tbptt(step, mg.zeros(2, 4, dtype=F64), xs[:6], ys[:6], mse, 3, 3)
    second = mg.bptt.tbptt(step, first.state, xs[6:], ys[6:], mse, 3, 3)
    np.testing.assert_allclose(second.state.data, whole.state.data, rtol=0, atol=1e-15)


def test_a_state_carried_from_an_earlier_run_reaches_the_next_run_as_the_cut_it_is():
    """result.state is a cut; a second run hands its first step a cut of it made at this run's step 0
    (the same values; a copy without a cut would be a constant, and a drawing would lose the cut,
    or place it at the earlier run's last step), while a leaf h_0 goes in through a copy."""
    cell = mg.nn.RNNCell(1, 3, rng=np.random.default_rng(0))
    seen = []

    def step(x, h):
        seen.append(h)
        h = cell(x, h)
        return h, h

    xs, ys = np.ones((4, 1, 1), np.float32), np.zeros((4, 1, 3), np.float32)
    first = mg.bptt.tbptt(step, None, xs, ys, lambda o, y: ((o - y) ** 2).sum(), k1=2, k2=2)
    seen.clear()
    mg.bptt.tbptt(step, first.state, xs, ys, lambda o, y: ((o - y) ** 2).sum(), k1=2, k2=2)
    assert seen[0].op == "cut" and seen[0]._node.cut_info["step"] == 0
    np.testing.assert_array_equal(seen[0].data, first.state.data)
    assert first.state._node.cut_info["step"] == 4             # the caller's tensor as it was
    h0 = mg.tensor(np.ones((1, 3), np.float32), requires_grad=True)
    seen.clear()
    mg.bptt.tbptt(step, h0, xs, ys, lambda o, y: ((o - y) ** 2).sum(), k1=2, k2=2)
    assert seen[0] is not h0 and seen[0].op == "clone" and h0.grad is not None


def test_a_cut_of_the_callers_that_step_returns_is_not_cut_again_in_place():
    """An earlier run's result.state (a cut) that step returns as a reset state keeps its node as
    the caller had it: the runner cuts a fresh cut of its own there."""
    cell = mg.nn.RNNCell(1, 3, dtype=F64, rng=np.random.default_rng(0))
    xs, ys = np.ones((4, 1, 1)), np.zeros((4, 1, 3))
    loss_fn = lambda o, y: ((o - y) ** 2).sum()      # noqa: E731
    first = mg.bptt.tbptt(lambda x, h: (cell(x, h),) * 2, None, xs, ys, loss_fn, k1=2, k2=2)
    kept = dict(first.state._node.cut_info)

    def step(x, h):
        h = cell(x, h)
        return h, first.state           # a reset to the earlier run's final state at every step

    mg.bptt.tbptt(step, None, xs, ys, loss_fn, k1=1, k2=1)
    assert first.state._node.kind == "cut" and first.state._node.cut_info == kept


# ---- a step that changes its state in place -------------------------------------------------------

def _in_place_problem():
    """h_t = (h_(t-1) + x_t W) U elementwise, h_0 = 0, output h_t, l_t = ||h_t - y_t||^2, 7 steps."""
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    return xs, ys, np.full(3, 0.5), np.full(3, 0.7)


def _in_place_run(in_place: bool, k1: int, k2: int, runner=None) -> list:
    """The model of _in_place_problem, its step written `h += x * W` or `h = h + x * W`: the gradients
    of each update (with `runner`, tbptt_blocks, the step looped over each block)."""
    xs_data, ys_data, W_data, U_data = _in_place_problem()
    xs, ys = [mg.tensor(x) for x in xs_data], [mg.tensor(y) for y in ys_data]
    W, U = mg.tensor(W_data, requires_grad=True), mg.tensor(U_data, requires_grad=True)

    def step(x, h, in_place=in_place):
        if in_place:
            h += x * W
        else:
            h = h + x * W
        h = h * U
        return h, h

    grads = []

    def on_update(u, loss):
        grads.append((W.grad.copy(), U.grad.copy()))
        W.grad = U.grad = None

    def step_block(block_xs, h):
        outputs = []
        for j, x in enumerate(block_xs):     # in place on the state it was fed (later h are its outputs)
            output, h = step(x, h, in_place and j == 0)
            outputs.append(output)
        return outputs, h

    run, stepping = (mg.bptt.tbptt, step) if runner is None else (runner, step_block)
    run(stepping, mg.zeros(3, dtype=np.float64), xs, ys, lambda o, y: ((o - y) ** 2).sum(), k1, k2,
        on_update=on_update)
    return grads


def _numpy_tbptt_by_central_differences(k1: int, k2: int, eps: float = 1e-6) -> list:
    """The definition in numpy for _in_place_problem: at update u, L_u = sum of l_t for t in (u', u]
    with h_c (c = max(0, u - k2)) held at its recorded value; a loss at t <= c has depth 0 and, its
    output being the state itself, no gradient. dL_u/dW and dL_u/dU by central differences."""
    xs, ys, W, U = _in_place_problem()
    n = len(xs)
    states = [np.zeros(3)]
    for x in xs:
        states.append((states[-1] + x * W) * U)

    def window_loss(W, U, previous, u, cut):
        h, total = states[cut], 0.0
        for t in range(cut + 1, u + 1):
            h = (h + xs[t - 1] * W) * U
            if t > previous:
                total += np.sum((h - ys[t - 1]) ** 2)
        return total

    grads, previous = [], 0
    for u in update_steps(n, k1):
        cut, gradient = max(0, u - k2), []
        for which in range(2):
            g = np.zeros(3)
            for i in range(3):
                step = np.zeros(3)
                step[i] = eps
                moved = [(W + step, U), (W - step, U)] if which == 0 else [(W, U + step), (W, U - step)]
                g[i] = (window_loss(*moved[0], previous, u, cut) - window_loss(*moved[1], previous, u, cut)) / (2 * eps)
            gradient.append(g)
        grads.append(tuple(gradient))
        previous = u
    return grads


@pytest.mark.parametrize("runner", [None, mg.bptt.tbptt_blocks], ids=["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(1, 1), (2, 2), (3, 2), (2, 4), (1, 3), (7, 7)])
def test_a_step_that_adds_into_its_state_in_place_gets_the_tbptt_gradients_of_the_definition(
        float64_default, k1, k2, runner):
    """The runner keeps the state each step returned and cuts it later; a step's h += ... must not
    move that cut onto its own new node (it dropped x W's path from W's gradient for k1 != k2).
    Reference: central differences of each update's windowed loss in numpy; the step written out
    (h = h + x W) is held to the same reference."""
    expected = _numpy_tbptt_by_central_differences(k1, k2)
    for in_place in (True, False):
        got = _in_place_run(in_place, k1, k2, runner)
        assert len(got) == len(expected) == len(update_steps(7, k1))
        for u, ((w_got, u_got), (w_want, u_want)) in enumerate(zip(got, expected)):
            np.testing.assert_allclose(w_got, w_want, rtol=1e-7, atol=1e-9, err_msg=f"W, update {u}, {in_place=}")
            np.testing.assert_allclose(u_got, u_want, rtol=1e-7, atol=1e-9, err_msg=f"U, update {u}, {in_place=}")


# ---- from a mutation check of the runners and the cut (each test failed on a mutant the suite let through) ----

def _numpy_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    return np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def _numpy_own_cell_grads(x, h_prev, y, w_ih, w_hh, b_ih, b_hh):
    """d/dtheta of mean((tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) - y)^2) with h_prev held constant."""
    h = _numpy_rnn_cell(x, h_prev, w_ih, w_hh, b_ih, b_hh)
    dh = 2 * (h - y) / h.size
    dpre = dh * (1 - h ** 2)
    dpre2 = dpre.reshape(-1, dpre.shape[-1])
    return {"weight_ih_l0": dpre2.T @ x.reshape(-1, x.shape[-1]),
            "weight_hh_l0": dpre2.T @ h_prev.reshape(-1, h_prev.shape[-1]),
            "bias_ih_l0": dpre2.sum(0), "bias_hh_l0": dpre2.sum(0)}


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
def test_a_layer_step_at_the_first_cut_step_never_reaches_the_initial_state(runner):
    """TBPTT(2, 1) over 2 steps with an RNN layer as the step (its output is not its returned state):
    the update at 2 cuts at c = 1, so step 1 (t = c) is fed a cut state: h0 gets no gradient and each
    loss reaches only its own step's cell. Kills runner.py `t <= cut` -> `t < cut`, blocks.py
    `stop <= cut` -> `stop < cut`, and dropping blocks.py's truncate behind the cut."""
    rng = np.random.default_rng(3)
    layer = mg.nn.RNN(3, 4, rng=rng, dtype=np.float64)
    xs = rng.normal(size=(2, 2, 3))
    ys = rng.normal(size=(2, 2, 4))
    h0_data = rng.normal(size=(1, 2, 4))
    h0 = mg.tensor(h0_data, requires_grad=True)
    mse = mg.functional.mse_loss
    if runner == "tbptt":
        def step(x, h):
            out, h = layer(x[None], h)
            return out[0], h
        mg.bptt.tbptt(step, h0, list(xs), list(ys), mse, k1=2, k2=1)
    else:
        def step_block(block, h):
            out, h = layer(block, h)
            return [out[j] for j in range(len(block))], h
        mg.bptt.tbptt_blocks(step_block, h0, xs, list(ys), mse, k1=2, k2=1)
    assert h0.grad is None
    p = {name: q.numpy().astype(np.float64) for name, q in layer.named_parameters()}
    w = (p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])
    h1 = _numpy_rnn_cell(xs[0], h0_data[0], *w)
    g1 = _numpy_own_cell_grads(xs[0], h0_data[0], ys[0], *w)
    g2 = _numpy_own_cell_grads(xs[1], h1, ys[1], *w)
    for name, q in layer.named_parameters():
        np.testing.assert_allclose(q.grad, g1[name] + g2[name], rtol=1e-10, atol=1e-13, err_msg=name)


def _reachable(node):
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        yield n
        stack.extend(n.inputs)


def test_tbptt_k_k_update_graph_holds_its_cut_when_the_first_op_reads_only_the_state():
    """TBPTT(2, 2): the cut of the update at 4 is h_2, the state of the update at 2. The runner cuts
    h_2 only once step 3 has read it, so the op of step 3 that reads only h_2 (h * 0.5) is
    recorded and the update's graph (what `on_backward` hands `mg.viz.draw_update`) holds the cut
    node. Kills runner.py `min(next_cut, t - 1)` -> `min(next_cut, t)` (h_2 cut before it is read)."""
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    xs = [rng.normal(size=(1, 3)) for _ in range(4)]
    ys = [rng.normal(size=(1, 3)) for _ in range(4)]

    def step(x, h):
        h = mg.tanh(h * 0.5 + mg.tensor(x) @ w)
        return h, h

    cuts = {}

    def on_backward(u, loss):
        cuts[u] = [n for n in _reachable(loss._node) if n.kind is CUT and n.cut_info.get("update") == u]

    mg.bptt.tbptt(step, mg.tensor(np.zeros((1, 3))), xs, ys, mg.functional.mse_loss, k1=2, k2=2,
                  on_backward=on_backward)
    assert len(cuts[4]) == 1



def test_sever_leaves_a_leaf_a_leaf_that_still_collects_gradients():
    """`mg.bptt.sever` on a leaf (a parameter) has no history to cut: the leaf stays one, and a later
    backward pass still adds d(sum p^2)/dp = 2 p into its .grad. Kills truncate.py dropping
    `if node.kind is LEAF: return` in sever_node."""
    p = mg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    mg.bptt.sever(p, k2=1)
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, -4.0, 6.0])
