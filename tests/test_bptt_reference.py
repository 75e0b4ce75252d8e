"""tbptt, tbptt_blocks and rtrl against references that do not use the library's autodiff.

1. The definition in numpy (docs/api.md, "Truncated BPTT"): run the forward pass in numpy,
   keeping every state and the weights each step used; at every update u differentiate
   L_u = sum (or mean) of l_t for t in (u', u], with h_c (c = max(0, u - k2)) held at its
   recorded value, entry by entry by a difference quotient. A loss at t <= c goes through its
   own readout only (depth 0). Under an optimizer each step keeps the weights it ran with
   (rule 5): the quotient moves every step's weights by the same delta, so its limit is the sum
   over the steps of the gradient with respect to that step's copy. SGD is then applied in
   numpy too, so the weights the next steps use are the reference's own.
   The quotient is the complex step, Im L(v + i s) / s with s = 1e-20 (Squire & Trapp, 1998):
   L is analytic here (tanh, exp, products, squares: no abs), so Im L(v + i s) = s dL/dv + O(s^3)
   with no difference of two nearly equal numbers, and the derivative is exact to rounding.
   (Central differences, (L(v + e) - L(v - e)) / 2e, agree to about 1e-7; SGD driven by them
   drifts from the run by as much, amplified over the updates, which would blur what rule 5's
   tests check.)
   RTRL is checked against the same reference with k2 = n (its definition: TBPTT(k1, n)).
2. Closed forms: with h_t = h_(t-1) + p_t (one scalar leaf p_t per step) and l_t = h_t, a
   loss at t has dl_t/dp_s = 1 exactly for the cells s it passes through, so the gradient at
   update u is p_s.grad = #{t in (u', u] with a target : c_u < s <= t}: the depth statements
   of rule 3 read off entry by entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_bptt import stepping_blocks

import microgradseq as mg
from microgradseq.bptt import update_steps

F64 = np.float64
INPUTS, HIDDEN, OUTPUTS, BATCH = 2, 3, 2, 2
STEP = 1e-20        # the complex step: dL/dv = Im L(v + i STEP) / STEP, exact to rounding


# ---- two small models, each written twice: with tensors (for the runners) and in numpy --------

def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class TanhRNN:
    """h_t = tanh(x_t W^T + h_(t-1) U^T + b),  output_t = h_t V^T + c,  l_t = ||output_t - y_t||^2."""

    names = ("W", "U", "b", "V", "c")
    hidden = HIDDEN

    @staticmethod
    def initial(rng):
        return {"W": rng.normal(size=(HIDDEN, INPUTS)), "U": rng.normal(size=(HIDDEN, HIDDEN)) * 0.6,
                "b": rng.normal(size=HIDDEN) * 0.3, "V": rng.normal(size=(OUTPUTS, HIDDEN)),
                "c": rng.normal(size=OUTPUTS) * 0.3}

    @staticmethod
    def np_step(theta, x, h):
        return np.tanh(x @ theta["W"].T + h @ theta["U"].T + theta["b"])

    @staticmethod
    def np_output(theta, h):
        return h @ theta["V"].T + theta["c"]

    @staticmethod
    def build(arrays):
        """(the parameters as tensors by name, step(x, h) -> (output, h), step_block(xs, h))."""
        p = {name: mg.tensor(array.copy(), requires_grad=True) for name, array in arrays.items()}

        def cell(x_proj, h):
            return (x_proj + h @ p["U"].T + p["b"]).tanh()

        def step(x, h):
            h = cell(mg.tensor(x) @ p["W"].T, h)
            return h @ p["V"].T + p["c"], h

        def step_block(xs, h):              # the block's input projection as one product
            projected = mg.tensor(np.stack(list(xs))) @ p["W"].T
            outputs = []
            for j in range(len(xs)):
                h = cell(projected[j], h)
                outputs.append(h @ p["V"].T + p["c"])
            return outputs, h
        return p, step, step_block


class LSTM:
    """mg.nn.LSTMCell (gate rows i, f, g, o) with a linear readout of h; the state is (h, c)."""

    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "V", "c")
    hidden = 2

    @staticmethod
    def initial(rng):
        H = LSTM.hidden
        return {"weight_ih": rng.normal(size=(4 * H, INPUTS)) * 0.7,
                "weight_hh": rng.normal(size=(4 * H, H)) * 0.7, "bias_ih": rng.normal(size=4 * H) * 0.3,
                "bias_hh": rng.normal(size=4 * H) * 0.3, "V": rng.normal(size=(OUTPUTS, H)),
                "c": rng.normal(size=OUTPUTS) * 0.3}

    @staticmethod
    def np_step(theta, x, state):
        h, c = state
        H = LSTM.hidden
        a = x @ theta["weight_ih"].T + theta["bias_ih"] + h @ theta["weight_hh"].T + theta["bias_hh"]
        i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        return o * np.tanh(c), c

    @staticmethod
    def np_output(theta, state):
        return state[0] @ theta["V"].T + theta["c"]

    @staticmethod
    def build(arrays):
        cell = mg.nn.LSTMCell(INPUTS, LSTM.hidden, dtype=F64)
        cell.load_state_dict({name: arrays[name] for name in LSTM.names[:4]})
        p = dict(cell.named_parameters())
        p.update(V=mg.tensor(arrays["V"].copy(), requires_grad=True), c=mg.tensor(arrays["c"].copy(),
                                                                                   requires_grad=True))

        def step(x, state):
            state = cell(mg.tensor(x), state)
            return state[0] @ p["V"].T + p["c"], state

        return p, step, stepping_blocks(step)


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def like(state, parts):
    return tuple(parts) if isinstance(state, tuple) else parts[0]


def problem(model, n, gaps, seed=0):
    """Weights, inputs, targets (None at the steps in `gaps`, counted from 1) and h_0 (an LSTM's (h0, c0))."""
    rng = np.random.default_rng(seed)
    theta = model.initial(rng)
    xs = rng.normal(size=(n, BATCH, INPUTS))
    ys = [None if t in gaps else rng.normal(size=(BATCH, OUTPUTS)) for t in range(1, n + 1)]
    parts = [rng.normal(size=(BATCH, model.hidden)) * 0.5 for _ in range(2 if model is LSTM else 1)]
    return theta, xs, ys, like((0, 0) if model is LSTM else 0, parts)


# ---- the reference: the definition in numpy, differentiated by a difference quotient ---------

def numpy_reference(model, theta, xs, ys, h0, k1, k2, reduction="sum", lr=None, learn_h0=True):
    """[(u, L_u, {name: dL_u/dname})] for every update of TBPTT(k1, k2), h_0's parts named h0[i], and
    the final state; with `lr`, plain SGD on the weights after each update, as in the run (SGD moves
    a learned h_0 too, but step 1 has read it: later windows cut at 0 start from the h_0 it read)."""
    n = len(xs)
    theta = {name: value.copy() for name, value in theta.items()}
    h0 = like(h0, [part.copy() for part in as_tuple(h0)])
    used, states, records, previous = [], [h0], [], 0

    def window_loss(delta, h0_delta, u, cut):
        """L_u with every step's recorded weights moved by delta, h_0 by h0_delta: h_c is held
        constant (a moved h_0 counts only where c = 0)."""
        total, count = 0.0, 0
        for t in range(previous + 1, min(cut, u) + 1):            # depth 0: the readout of a constant
            if ys[t - 1] is not None:
                weights = {name: used[t - 1][name] + delta[name] for name in theta}
                total += np.sum((model.np_output(weights, states[t]) - ys[t - 1]) ** 2)
                count += 1
        h = states[cut] if cut else like(h0, [a + d for a, d in zip(as_tuple(states[0]), h0_delta)])
        for t in range(cut + 1, u + 1):
            weights = {name: used[t - 1][name] + delta[name] for name in theta}
            h = model.np_step(weights, xs[t - 1], h)
            if t > previous and ys[t - 1] is not None:
                total += np.sum((model.np_output(weights, h) - ys[t - 1]) ** 2)
                count += 1
        return total / count if reduction == "mean" and count else total

    for t in range(1, n + 1):
        used.append({name: value.copy() for name, value in theta.items()})
        states.append(model.np_step(theta, xs[t - 1], states[-1]))
        if t % k1 and t != n:
            continue
        cut = max(0, t - k2)
        delta = {name: np.zeros(value.shape, complex) for name, value in theta.items()}
        h0_delta = [np.zeros(part.shape, complex) for part in as_tuple(h0)]
        variables = list(delta.items()) + [(f"h0[{i}]", d) for i, d in enumerate(h0_delta)]
        grads = {}
        for name, moved in variables:
            g = np.zeros(moved.shape)
            for index in np.ndindex(moved.shape):
                moved[index] = 1j * STEP
                g[index] = window_loss(delta, h0_delta, t, cut).imag / STEP
                moved[index] = 0.0
            grads[name] = g
        records.append((t, window_loss(delta, h0_delta, t, cut).real, grads))
        if lr is not None:
            theta = {name: value - lr * grads[name] for name, value in theta.items()}
        previous = t
    return records, states[-1]


# ---- the library's runs --------------------------------------------------------------------------

def library_run(runner, model, theta, xs, ys, h0, k1, k2, reduction="sum", lr=None, learn_h0=True):
    """[(u, L_u, {name: .grad, zeros where None})] as on_update sees them, and the result."""
    params, step, step_block = model.build(theta)
    state = like(h0, [mg.tensor(part.copy(), requires_grad=learn_h0) for part in as_tuple(h0)])
    leaves = dict(params, **({f"h0[{i}]": part for i, part in enumerate(as_tuple(state))} if learn_h0 else {}))
    optimizer = None if lr is None else mg.optim.SGD(list(leaves.values()), lr=lr)
    records = []

    def on_update(u, loss):
        records.append((u, loss, {name: np.zeros(p.shape) if p.grad is None else p.grad.copy()
                                  for name, p in leaves.items()}))
        if optimizer is None:
            for p in leaves.values():
                p.grad = None

    options = dict(optimizer=optimizer, on_update=on_update, reduction=reduction)
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, state, xs, ys, mse, k1, k2, **options)
    elif runner == "tbptt_blocks":
        result = mg.bptt.tbptt_blocks(step_block, state, xs, ys, mse, k1, k2, **options)
    elif runner == "block_loss_fn":      # tbptt_blocks, a block's losses summed in one expression
        result = mg.bptt.tbptt_blocks(step_block, state, xs, ys, mse, k1, k2, block_loss_fn=block_mse, **options)
    else:
        assert k2 >= len(xs)
        result = mg.bptt.rtrl(step, state, xs, ys, mse, leaves, k1=k1, **options)
    return records, result


def mse(output, target):
    return ((output - target) ** 2).sum()


def block_mse(outputs, targets):
    """The sum over a block's steps of mse(outputs[j], targets[j])."""
    return ((mg.stack(list(outputs)) - np.stack(list(targets))) ** 2).sum()


def assert_matches_reference(got, expected, result, final_state, n, k1, learn_h0=True, trained=False):
    """The same updates, losses, gradients and final state, to rounding (a little looser after many
    SGD updates, through which rounding differences grow)."""
    close = 1e-10 if trained else 1e-12
    assert [u for u, _, _ in got] == [u for u, _, _ in expected] == update_steps(n, k1)
    assert result.updates == update_steps(n, k1)
    for (u, loss, have), (_, want_loss, want) in zip(got, expected):
        assert loss == pytest.approx(want_loss, rel=close, abs=1e-14), f"L_{u}"
        assert set(have) == {name for name in want if learn_h0 or not name.startswith("h0")}
        for name in have:
            np.testing.assert_allclose(have[name], want[name], rtol=close, atol=close, err_msg=f"{name} at u = {u}")
    for have, want in zip(as_tuple(result.state), as_tuple(final_state)):
        np.testing.assert_allclose(have.data, want, rtol=close, atol=close)      # rule 4: the state carries on


# (n, k1, k2): every kind of window the contract names
WINDOWS = [
    (8, 8, 8),      # TBPTT(n, n): full BPTT, one update
    (8, 1, 8),      # TBPTT(1, n): every step's loss through all history
    (8, 1, 1),      # one cell deep, an update a step
    (8, 1, 3),      # k1 = 1 < k2
    (9, 3, 3),      # k1 = k2 dividing n: the detach-every-k idiom
    (10, 4, 4),     # k1 = k2, ragged tail: its cut is at n - k2 = 6, not at 8
    (10, 4, 2),     # k1 > k2: depth-0 losses at or before each cut; tail (8, 10] cut at 8
    (9, 4, 2),      # k1 > k2, the tail (8, 9] cut at 7: its loss goes back into the previous window
    (10, 3, 2),     # k1 > k2, tail (9, 10] cut at 8
    (9, 5, 1),      # k1 > k2 = 1: every loss but the newest of a window is depth 0 (cells 1 deep)
    (11, 3, 5),     # k1 < k2, k2 not a multiple of k1, ragged tail (9, 11] cut at 6
    (10, 2, 7),     # k1 < k2, k2 odd
    (9, 4, 6),      # k1 < k2 < 2 k1
    (7, 3, 20),     # k2 > n: every cut at 0, h_0 reached at every update
    (5, 7, 2),      # k1 > n: one (tail) update at n, cut at n - k2 = 3
    (6, 6, 9),      # k1 = n < k2
]


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "block_loss_fn"])
@pytest.mark.parametrize("n, k1, k2", WINDOWS, ids=[f"n{n}-TBPTT({k1},{k2})" for n, k1, k2 in WINDOWS])
def test_every_update_is_the_numpy_definitions_gradient(runner, n, k1, k2):
    """A tanh RNN with a readout, h_0 requiring grad, no target at steps 2 and 5: each update's loss
    and gradient (h_0's included: nonzero exactly while c_u = 0) are the definition's."""
    theta, xs, ys, h0 = problem(TanhRNN, n, gaps={2, 5})
    expected, final = numpy_reference(TanhRNN, theta, xs, ys, h0, k1, k2)
    got, result = library_run(runner, TanhRNN, theta, xs, ys, h0, k1, k2)
    assert_matches_reference(got, expected, result, final, n, k1)
    previous = 0
    for u, _, grads in expected:            # h_0 is reached exactly while c_u = 0, by a loss in (u', u]
        injects = any(ys[t - 1] is not None for t in range(previous + 1, u + 1))
        assert (np.abs(grads["h0[0]"]).max() > 1e-6) == (u <= k2 and injects), u
        previous = u


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "block_loss_fn"])
@pytest.mark.parametrize("n, k1, k2", [(10, 4, 2), (11, 3, 5), (10, 4, 4), (8, 2, 2), (10, 2, 5)])
def test_mean_reduction_divides_by_the_number_of_steps_with_a_target(runner, n, k1, k2):
    """reduction="mean": L_u over the steps in (u', u] that have a target. Steps 2, 5, 6 have none
    (with k1 = 2 the update at 6 injects nothing: L_6 = 0 and no gradient, also while the windows
    overlap)."""
    theta, xs, ys, h0 = problem(TanhRNN, n, gaps={2, 5, 6}, seed=3)
    expected, final = numpy_reference(TanhRNN, theta, xs, ys, h0, k1, k2, reduction="mean")
    got, result = library_run(runner, TanhRNN, theta, xs, ys, h0, k1, k2, reduction="mean")
    assert_matches_reference(got, expected, result, final, n, k1)
    summed, _ = numpy_reference(TanhRNN, theta, xs, ys, h0, k1, k2)
    for (u, mean, _), (_, total, _) in zip(expected, summed):
        previous = max((v for v in update_steps(n, k1) if v < u), default=0)
        count = sum(ys[t - 1] is not None for t in range(previous + 1, u + 1))
        assert mean == pytest.approx(total / count if count else 0.0, rel=1e-12)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("n, k1, k2", [(7, 3, 2), (8, 2, 5), (7, 7, 7)])
def test_an_lstm_tuple_state_follows_the_numpy_definition(runner, n, k1, k2):
    """(h, c) from an LSTM cell, (h0, c0) requiring grad: both parts are held constant at the cut
    and carried on; the gradient reaches c0 (and h0) while c_u = 0."""
    theta, xs, ys, h0 = problem(LSTM, n, gaps={4}, seed=1)
    expected, final = numpy_reference(LSTM, theta, xs, ys, h0, k1, k2)
    got, result = library_run(runner, LSTM, theta, xs, ys, h0, k1, k2)
    assert_matches_reference(got, expected, result, final, n, k1)
    if k1 <= k2:                            # the first update's cut is at 0: c0 gets a gradient
        assert np.abs(expected[0][2]["h0[1]"]).max() > 1e-3


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "block_loss_fn"])
@pytest.mark.parametrize("n, k1, k2", [(10, 2, 5), (11, 3, 4), (9, 1, 4), (10, 4, 2), (9, 3, 3)])
def test_with_sgd_between_updates_each_step_keeps_the_weights_it_ran_with(runner, n, k1, k2):
    """Rule 5: with SGD after every update, the update at u differentiates the steps in (c_u, u] as
    they ran, each with the weights of its time (for k1 < k2 some ran before an earlier update
    changed them); the numpy reference runs the same SGD, so the weights each step uses, the losses,
    the gradients and the final state are all its own."""
    theta, xs, ys, h0 = problem(TanhRNN, n, gaps={5}, seed=2)
    expected, final = numpy_reference(TanhRNN, theta, xs, ys, h0, k1, k2, lr=0.3)
    got, result = library_run(runner, TanhRNN, theta, xs, ys, h0, k1, k2, lr=0.3)
    assert_matches_reference(got, expected, result, final, n, k1, trained=True)
    start, _ = numpy_reference(TanhRNN, theta, xs, ys, h0, k1, k2)
    assert not np.allclose(start[-1][2]["U"], expected[-1][2]["U"], rtol=1e-3)   # SGD did change things


@pytest.mark.parametrize("learn_h0", [True, False], ids=["h0 learned", "h0 fixed"])
@pytest.mark.parametrize("lr", [None, 0.3], ids=["no optimizer", "SGD"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("n, k1", [(7, 1), (8, 3), (9, 4), (6, 6), (5, 8)])
def test_rtrl_is_the_numpy_definition_of_tbptt_k1_n(n, k1, reduction, lr, learn_h0):
    """RTRL's gradient at every update is TBPTT(k1, n)'s: the definition with every cut at 0, h_0 a
    parameter (or not), no target at steps 2, 5, 6, with SGD between updates (each step's
    sensitivity taken with the weights it ran with) or none."""
    theta, xs, ys, h0 = problem(TanhRNN, n, gaps={2, 5, 6}, seed=4)
    expected, final = numpy_reference(TanhRNN, theta, xs, ys, h0, k1, n, reduction, lr, learn_h0)
    got, result = library_run("rtrl", TanhRNN, theta, xs, ys, h0, k1, n, reduction, lr, learn_h0)
    assert_matches_reference(got, expected, result, final, n, k1, learn_h0, trained=lr is not None)


@pytest.mark.parametrize("lr", [None, 0.3], ids=["no optimizer", "SGD"])
def test_rtrl_with_an_lstm_tuple_state_is_the_numpy_definition(lr):
    theta, xs, ys, h0 = problem(LSTM, 7, gaps={3}, seed=5)
    expected, final = numpy_reference(LSTM, theta, xs, ys, h0, 3, 7, lr=lr)
    got, result = library_run("rtrl", LSTM, theta, xs, ys, h0, 3, 7, lr=lr)
    assert_matches_reference(got, expected, result, final, 7, 3, trained=lr is not None)


# ---- closed forms: which cells each loss passes through ------------------------------------------

def cells_each_update_reaches(runner, n, k1, k2, gaps=()):
    """h_t = h_(t-1) + p_t, l_t = h_t (no loss at the steps in `gaps`), h_0 a leaf: for each update,
    [h_0.grad, p_1.grad, ..., p_n.grad] (0 where None) as on_update sees them."""
    p = [mg.tensor(0.1 * t, dtype=F64, requires_grad=True) for t in range(1, n + 1)]
    h0 = mg.tensor(0.5, dtype=F64, requires_grad=True)
    leaves = [h0] + p
    got = []

    def on_update(u, loss):
        got.append([0.0 if leaf.grad is None else float(leaf.grad) for leaf in leaves])
        for leaf in leaves:
            leaf.grad = None

    def step(x, h):
        h = h + x
        return h, h

    def step_block(block, h):
        outputs = []
        for x in block:
            h = h + x
            outputs.append(h)
        return outputs, h

    ys = [None if t in gaps else 0.0 for t in range(1, n + 1)]
    loss = lambda output, _: output      # noqa: E731
    if runner == "tbptt":
        mg.bptt.tbptt(step, h0, p, ys, loss, k1, k2, on_update=on_update)
    elif runner == "tbptt_blocks":
        mg.bptt.tbptt_blocks(step_block, h0, p, ys, loss, k1, k2, on_update=on_update)
    else:
        mg.bptt.rtrl(step, h0, p, ys, loss, leaves, k1=k1, on_update=on_update)
    return got


def closed_form(n, k1, k2, gaps=()):
    """Rules 1 to 3 by hand: updates at k1, 2 k1, ..., n; the update at u injects the losses at
    t in (u', u] with targets; the loss at t passes through the cells s in (c_u, t], c_u = max(0, u - k2)
    (none when t <= c_u: depth 0), and reaches h_0 when c_u = 0. dl_t/dp_s = 1 on each of them."""
    updates = list(range(k1, n + 1, k1)) + ([n] if n % k1 else [])
    rows, previous = [], 0
    for u in updates:
        cut = max(0, u - k2)
        row = [0.0] * (n + 1)
        for t in range(previous + 1, u + 1):
            if t in gaps:
                continue
            if cut == 0:                    # (the cells s in (c_u, t]: max(0, t - c_u) of them, its depth)
                row[0] += 1
            for s in range(cut + 1, t + 1):
                row[s] += 1
        rows.append(row)
        previous = u
    return rows


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("n", [1, 6, 7])
def test_each_loss_passes_through_exactly_the_cells_after_its_updates_cut(runner, n):
    """Every (k1, k2) up to n + 2, with and without gaps in the targets: p_s.grad counts the injected
    losses whose gradient passes through cell s, so each entry is the closed form's. (The newest loss
    of a full window has depth k2, the oldest k2 - k1 + 1, or 0 when k1 > k2.)"""
    for gaps in ((), (2, 3)):
        for k1 in range(1, n + 3):
            for k2 in range(1, n + 3):
                want = closed_form(n, k1, k2, gaps)
                got = cells_each_update_reaches(runner, n, k1, k2, gaps)
                assert got == want, (n, k1, k2, gaps)


def test_the_depths_of_a_full_window_are_k2_down_to_k2_minus_k1_plus_1():
    """TBPTT(3, 5), n = 9: the update at 9 (c = 4) injects the losses at 7, 8, 9, of depths 3, 4, 5."""
    got = cells_each_update_reaches("tbptt", 9, 3, 5)[-1]
    assert got == [0, 0, 0, 0, 0, 3, 3, 3, 2, 1]          # cells 5, 6, 7 by all 3 losses, 8 by 2, 9 by 1
    for t, depth in ((7, 3), (8, 4), (9, 5)):
        alone = cells_each_update_reaches("tbptt", 9, 3, 5, gaps=tuple(s for s in (7, 8, 9) if s != t))[-1]
        assert sum(alone) == depth


@pytest.mark.parametrize("n", [1, 5, 7])
def test_rtrl_passes_every_loss_through_all_history(n):
    """RTRL = TBPTT(k1, n): every cut at 0, so l_t reaches h_0 and the cells 1..t, for every k1."""
    for gaps in ((), (2, 3)):
        for k1 in range(1, n + 3):
            assert cells_each_update_reaches("rtrl", n, k1, n, gaps) == closed_form(n, k1, n, gaps), (n, k1, gaps)
