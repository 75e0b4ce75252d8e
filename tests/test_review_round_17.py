"""Review round 17: truncated BPTT, RTRL/UORO and the drawing of a TBPTT update, checked against
the definition worked out by hand (numpy, central differences), never against the runners' own output.

Each test names one behaviour and says in its docstring what was wrong before.
"""

from __future__ import annotations

import gc
import re

import numpy as np
import pytest
from test_bptt import stepping_blocks

import microgradseq as mg
from microgradseq import viz
from microgradseq.autograd import Node

F64 = np.float64


def squared_error(output, target):
    return ((output - target) ** 2).sum()


def edges_with(source: str, *words: str) -> list[str]:
    return [line for line in source.splitlines() if "->" in line and all(w in line for w in words)]


def title_of(source: str) -> str:
    return re.search(r"label=<(the update at [^>]*)>", source).group(1)


def clusters_of(source: str) -> set[int]:
    return {int(t) for t in re.findall(r"cluster_step_(\d+)", source)}


def drawn_updates(k1: int, k2: int, n: int, targets_at: set[int]) -> dict[int, str]:
    """{u: draw_update's DOT text} for TBPTT(k1, k2) over an RNNCell with a readout, a target only
    at the steps in `targets_at`."""
    mg.manual_seed(2)
    cell, readout = mg.nn.RNNCell(2, 3), mg.nn.Linear(3, 1)
    params = {**dict(cell.named_parameters()), **{f"readout.{k}": v for k, v in readout.named_parameters()}}

    def step(x, h):
        h = cell(x, h)
        return readout(h), h

    inputs = [mg.randn(1, 2) for _ in range(n)]
    targets = [mg.zeros(1, 1) if t in targets_at else None for t in range(1, n + 1)]
    drawn = {}
    mg.bptt.tbptt(step, None, inputs, targets, squared_error, k1, k2,
                  on_backward=lambda u, loss: drawn.setdefault(u, viz.draw_update(loss, params).source))
    return drawn


# ---- draw_update's title: the update and its cut, from the runner ------------------------------------

def test_draw_update_names_the_update_whose_last_steps_have_no_target():
    """TBPTT(4, 4) over 8 steps updates at u = 4 and 8 (rule 1). Steps 3 and 4 have no target, so the
    graph of L_4 ends at step 2, and draw_update titled it "the update at u = 2" (its last step)."""
    drawn = drawn_updates(4, 4, 8, targets_at={1, 2, 5, 6, 7, 8})
    assert sorted(drawn) == [4, 8]
    assert title_of(drawn[4]).startswith("the update at u = 4: losses of t = 1 .. 2 injected")


def test_draw_update_names_the_cut_of_an_update_whose_losses_all_lie_behind_it():
    """TBPTT(5, 2) over 5 steps: one update, u = 5, cut at c = u - k2 = 3 (rule 3). Only steps 1 and 2
    have targets (depth 0: each loss reaches its own state, cut). draw_update read u and c off the
    graph and said "the update at u = 2 ... the cut at c = 2"."""
    drawn = drawn_updates(5, 2, 5, targets_at={1, 2})
    assert title_of(drawn[5]) == ("the update at u = 5: losses of t = 1 .. 2 injected; gradients stop at the "
                                  "cut at c = 3")


# ---- the cut of a TBPTT(k, k) update is drawn ---------------------------------------------------------

def leaky_step(weight):
    """h_t = 0.9 h_(t-1) + tanh(x_t W): the first op on the state reads the state alone."""
    def step(x, h):
        h = 0.9 * h + (mg.tensor(x) @ weight).tanh()
        return h, h
    return step


def concat_step(linear):
    """h_t = tanh(W [x_t, h_(t-1)] + b), the state joined to the input first."""
    def step(x, h):
        h = linear(mg.concat([mg.tensor(x), h], axis=-1)).tanh()
        return h, h
    return step


@pytest.mark.parametrize("kind", ["leaky", "concat"])
def test_a_tbptt_k_k_update_draws_its_cut_when_the_step_reads_the_state_alone_first(kind):
    """TBPTT(3, 3): the update at u = 6 cuts at c = 3. The runner cut h_3 right after the update at
    3, before step 4 read it; an op whose only input with history is a cut is not recorded, so with
    `0.9 * h` or `concat([x, h])` as the step's first op on the state the drawing of update 6 had no
    cut at all (and its title said "no cut (c = 0)"). h_3 is now cut once step 4 has read it."""
    rng = np.random.default_rng(0)
    weight = mg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    linear = mg.nn.Linear(5, 3, rng=rng, dtype=F64)
    step = leaky_step(weight) if kind == "leaky" else concat_step(linear)
    inputs = [rng.normal(size=(1, 2)) for _ in range(8)]
    drawn = {}
    mg.bptt.tbptt(step, mg.zeros(1, 3, dtype=F64), inputs, [np.zeros((1, 3))] * 8, squared_error, 3, 3,
                  on_backward=lambda u, loss: drawn.setdefault(u, viz.draw_update(loss).source))
    source = drawn[6]
    cut = re.search(r"(n\d+) \[label=<<B>cut</B>", source).group(1)
    assert edges_with(source, cut, "style=dashed", "label=<cut (k2 = 3)")
    assert re.search(rf"subgraph cluster_step_3 {{[^}}]*\b{cut}\b", source)
    assert title_of(source).endswith("gradients stop at the cut at c = 3")


def test_tbptt_blocks_records_the_cut_a_tbptt_k_k_block_reads_first():
    """tbptt_blocks cut h_3 before the block (3, 6] read it, as tbptt did: `0.9 * h` at step 4 was
    not recorded, and a drawing of the block showed no cut. Steps 4 to 6 have no target, so the
    update at 6 runs no backward pass and the graph is whole when on_update draws it."""
    rng = np.random.default_rng(0)
    weight = mg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    step, kept = leaky_step(weight), {}

    step_block = stepping_blocks(step)

    def on_update(u, loss):
        if u == 6:
            kept["source"] = viz.draw(kept["state"]).source

    def keep_state(block, h):
        outputs, h = step_block(block, h)
        kept["state"] = h
        return outputs, h

    inputs = [rng.normal(size=(1, 2)) for _ in range(9)]
    targets = [np.zeros((1, 3)) if t not in (4, 5, 6) else None for t in range(1, 10)]
    mg.bptt.tbptt_blocks(keep_state, mg.zeros(1, 3, dtype=F64), inputs, targets, squared_error, 3, 3,
                         on_update=on_update)
    assert edges_with(kept["source"], "style=dashed", "label=<cut (k2 = 3)")


# ---- tbptt_blocks adds one-element losses of any shape, as tbptt does --------------------------------

def linear_recurrence_definition(w: float, xs, ys, k1: int, k2: int) -> list[tuple[int, float, float]]:
    """[(u, L_u, dL_u/dw)] of TBPTT(k1, k2) for h_t = w h_(t-1) + x_t, h_0 = 0, l_t = (h_t - y_t)^2
    (no loss where y_t is None), by the definition: the state at c = max(0, u - k2) held constant,
    the derivative by central differences."""
    n = len(xs)
    states = [0.0]
    for x in xs:
        states.append(w * states[-1] + x)

    def window_loss(weight: float, previous: int, u: int) -> float:
        cut = max(0, u - k2)
        total, h = 0.0, states[cut]
        for t in range(1, u + 1):
            if t > cut:
                h = weight * h + xs[t - 1]
            value = states[t] if t <= cut else h        # at or behind the cut: its own, constant state
            if t > previous and ys[t - 1] is not None:
                total += (value - ys[t - 1]) ** 2
        return total

    updates, previous, eps = [], 0, 1e-6
    for u in [t for t in range(1, n + 1) if t % k1 == 0 or t == n]:
        slope = (window_loss(w + eps, previous, u) - window_loss(w - eps, previous, u)) / (2 * eps)
        updates.append((u, window_loss(w, previous, u), slope))
        previous = u
    return updates


def test_tbptt_blocks_adds_a_step_loss_of_shape_1_to_a_block_loss_of_shape_0():
    """loss_fn may return any one-element tensor (here shape (1,)), and block_loss_fn the blocks' sum
    as a 0-d tensor. TBPTT(4, 2) over 6 steps with no target at step 3: the update at 4 injects
    step 2's block loss and step 4's own loss, and tbptt_blocks stacked them: "stack: shapes (),
    (1,) must all be equal". Each update's loss and gradient is the definition's."""
    rng = np.random.default_rng(4)
    w0, xs = 0.7, list(rng.normal(size=6))
    ys = [None if t == 3 else float(y) for t, y in zip(range(1, 7), rng.normal(size=6))]
    w = mg.tensor(w0, requires_grad=True, dtype=F64)

    def step_block(block, h):
        outputs = []
        for x in block:
            h = x if h is None else w * h + x
            outputs.append(h)
        return outputs, h

    def step_losses(output, target):
        return ((output - target) ** 2).reshape(1)

    def block_losses(outputs, targets):
        return sum(((o - y) ** 2 for o, y in zip(outputs[1:], targets[1:])), (outputs[0] - targets[0]) ** 2)

    seen = []

    def on_update(u, loss):
        seen.append((u, loss, 0.0 if w.grad is None else float(w.grad)))
        w.grad = None

    mg.bptt.tbptt_blocks(step_block, mg.tensor(0.0, dtype=F64), [mg.tensor(x, dtype=F64) for x in xs], ys,
                         step_losses, 4, 2, on_update=on_update, block_loss_fn=block_losses)
    expected = linear_recurrence_definition(w0, xs, ys, 4, 2)
    assert [u for u, _, _ in seen] == [u for u, _, _ in expected] == [4, 6]
    for (u, loss, grad), (_, want_loss, want_grad) in zip(seen, expected):
        assert loss == pytest.approx(want_loss, rel=1e-12), u
        assert grad == pytest.approx(want_grad, rel=1e-7, abs=1e-9), u


# ---- RTRL and UORO read each step's input inside the step ---------------------------------------------

def live_nodes() -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if type(thing) is Node)


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_online_learners_keep_nothing_per_step_of_inputs_that_have_history(runner):
    """Inputs that are a tensor with history (a projection computed once before the run): rtrl and
    uoro indexed inputs[t - 1] before the step began, so each step's getitem node counted as a
    tensor the step read from outside, and `Reach` remembered every one of them: the live nodes
    (and memory: about 0.8 kB a step) grew with n. Nothing but .updates and .losses may."""
    def nodes_at_the_end(n: int) -> int:
        rng = np.random.default_rng(0)
        projection = mg.tensor(rng.normal(size=(2, 2)), requires_grad=True)
        cell = mg.nn.RNNCell(2, 3, rng=rng, dtype=F64)
        inputs = mg.tensor(rng.normal(size=(n, 1, 2))) @ projection.T
        targets = list(rng.normal(size=(n, 1, 3)))
        params = list(cell.parameters()) + ([projection] if runner == "uoro" else [])
        counts = []
        getattr(mg.bptt, runner)(lambda x, h: (cell(x, h),) * 2, None, inputs, targets, squared_error, params,
                                 k1=10, on_update=lambda u, loss: counts.append(live_nodes()) if u == n else None)
        return counts[0]

    short, long = nodes_at_the_end(100), nodes_at_the_end(1000)
    assert long - short < 20, (short, long)


def test_rtrl_trains_a_learned_input_sequence_with_the_gradient_of_its_loss():
    """A learned input sequence X (a parameter, listed in params) read as inputs: rtrl refused it,
    "step 1 reads a tensor computed from the parameter X outside the step" — the tensor was the
    runner's own X[0], indexed before the step began. With one update at the end (k1 = n) the
    gradient is the summed loss's, checked by central differences of a numpy forward pass."""
    rng = np.random.default_rng(0)
    n, hidden = 4, 3
    x0, w_hh = rng.normal(size=(n, 1, 2)), rng.normal(size=(hidden, hidden)) * 0.5
    w_ih, ys = rng.normal(size=(hidden, 2)), rng.normal(size=(n, 1, hidden))
    X = mg.tensor(x0, requires_grad=True)
    weight_ih, weight_hh = mg.tensor(w_ih, requires_grad=True), mg.tensor(w_hh, requires_grad=True)

    def step(x, h):
        h = (x @ weight_ih.T + (0 if h is None else h @ weight_hh.T)).tanh()
        return h, h

    mg.bptt.rtrl(step, None, X, list(ys), squared_error, {"X": X, "weight_ih": weight_ih, "weight_hh": weight_hh},
                 k1=n)

    def total_loss(xs: np.ndarray) -> float:
        h, total = np.zeros((1, hidden)), 0.0
        for x, y in zip(xs, ys):
            h = np.tanh(x @ w_ih.T + h @ w_hh.T)
            total += ((h - y) ** 2).sum()
        return total

    expected, eps = np.zeros_like(x0), 1e-6
    for index in np.ndindex(*x0.shape):
        step_up, step_down = x0.copy(), x0.copy()
        step_up[index] += eps
        step_down[index] -= eps
        expected[index] = (total_loss(step_up) - total_loss(step_down)) / (2 * eps)
    np.testing.assert_allclose(X.grad, expected, rtol=1e-6, atol=1e-8)


# ---- found outside bptt and viz: the steps a layer numbers --------------------------------------------

@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_a_layer_as_the_step_of_tbptt_draws_each_step_in_the_runners_cluster(fused):
    """mg.nn.RNN called on one step (a documented use: its output is computed beside its state) as
    tbptt's step, TBPTT(3, 3): the update at 6 backpropagates steps 4 to 6, cut at 3. The layer
    stamped the cell's nodes with its own step, 1, inside the runner's step t, so the drawing put
    the recurrence of steps 4, 5 and 6 in a cluster "t = 1"; it numbers its steps from the step
    it is called in now (`metadata.step_offset`)."""
    mg.manual_seed(0)
    layer = mg.nn.RNN(2, 3, fused=fused)
    inputs, targets = [mg.randn(1, 1, 2) for _ in range(6)], [mg.zeros(1, 1, 3)] * 6
    drawn = {}
    mg.bptt.tbptt(layer, None, inputs, targets, squared_error, 3, 3,
                  on_backward=lambda u, loss: drawn.setdefault(u, viz.draw_update(loss).source))
    assert clusters_of(drawn[3]) == {1, 2, 3}
    assert clusters_of(drawn[6]) == {3, 4, 5, 6}        # (3: the cut state h_3)


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_a_layer_called_inside_a_step_numbers_its_steps_from_that_step(fused):
    """A bidirectional 2-step layer called inside `mg.viz.step(5)`: its steps are 5 and 6 in both
    directions, as two steps of a sequence that starts at step 5; outside any step, 1 and 2."""
    mg.manual_seed(0)
    layer = mg.nn.GRU(2, 3, bidirectional=True, fused=fused)
    x = mg.randn(2, 1, 2)
    with mg.viz.step(5):
        inside, _ = layer(x)
    outside, _ = layer(x)
    assert clusters_of(viz.draw(inside.sum(), max_steps=None).source) == {5, 6}
    assert clusters_of(viz.draw(outside.sum(), max_steps=None).source) == {1, 2}
