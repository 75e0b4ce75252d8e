"""Round 33: the two TBPTT runners share their update (`bptt.runner.Updater`), and the influence
`rtrl` / `uoro` show `on_step` has one dtype.

1. TBPTT(k1, k2) against a numpy TBPTT written by hand (no difference quotients, no autodiff): a
   tanh RNN h_t = tanh(W x_t + U h_(t-1) + b), o_t = v . h_t, l_t = (o_t - y_t)^2 / 2, trained by
   SGD. At update u the losses at t in (u', u] are backpropagated through the steps t, t - 1, ..,
   c_u + 1, c_u = max(0, u - k2) (h_c held constant; a loss at t <= c_u reaches v only), each step
   with the weights it ran with (docs/api.md, "Truncated BPTT", rule 5):
       dl_t/dv += e_t h_t,  dh = e_t v_t,  then for s = t .. c + 1:  da = dh (1 - h_s^2),
       dW += da x_s^T,  dU += da h_(s-1)^T,  db += da,  dh = U_s^T da.
   Checked for several (k1, k2) (k1 > k2, k1 < k2, k1 = k2 = 1, a tail update), steps without a
   target, both reductions, with `tbptt`, `tbptt_blocks` and `tbptt_blocks` with `block_loss_fn`:
   L_u, every `.grad` `on_update` reads, and the weights after the run.
2. Each runner keeps its own float32 sum of L_u: `tbptt` adds the step losses left to right, as
   functools.reduce over np.float32 does; `tbptt_blocks` stacks them and sums once, as numpy's
   `np.stack(losses).sum()` does (pairwise, eight accumulators from eight terms). The losses are
   chosen so that the two orders give different float32 numbers.
3. What the update frees: when `on_update(u, L_u)` runs, no loss tensor of the update is alive and
   at most max(k1, k2) states that are not cuts are (the newest ones), in both runners.
4. The influence P_t = dh_t/dtheta `on_step(t, influence)` is shown has one dtype in every block,
   the result type of the blocks the run carries, zeros (a state tensor no parameter reaches)
   included: before round 33 RTRL's zero blocks had np.result_type(h.dtype, p.dtype) per block, so a
   run mixing float32 and float64 showed blocks of both dtypes. Values against a numpy forward
   recursion of dh_t/dp. For comparison, PyTorch's `torch.autograd.functional.jacobian`
   (pytorch/pytorch, torch/autograd/functional.py at 05bcb61d4f31e8778226123f0ff0e24f6efdf7ed) lays a
   block out as `out.size() + inputs[el_idx].size()` (the layout used here) and fills an output
   independent of an input with `torch.zeros_like(inp_el)`, the input's dtype; RTRL itself has no
   PyTorch counterpart.
"""

from __future__ import annotations

import functools
import gc
import weakref

import numpy as np
import pytest
from test_bptt import stepping_blocks

import microgradseq as mg
from microgradseq.autograd import CUT

HIDDEN, INPUTS = 3, 2
N = 11                   # not a multiple of most k1 below: a tail update
LR = 0.1
CONFIGS = [(3, 2), (2, 5), (1, 1), (4, 4), (5, 1), (1, 3), (2, 2), (11, 11), (3, 20)]


# ---- 1. TBPTT(k1, k2) against a numpy TBPTT --------------------------------------------------------------

def initial_weights():
    rng = np.random.default_rng(33)
    return {"W": rng.normal(size=(HIDDEN, INPUTS)), "U": rng.normal(size=(HIDDEN, HIDDEN)) * 0.5,
            "b": rng.normal(size=HIDDEN) * 0.2, "v": rng.normal(size=HIDDEN)}


def sequence(with_gaps: bool):
    rng = np.random.default_rng(7)
    xs = rng.normal(size=(N, INPUTS))
    ys = [float(y) for y in rng.normal(size=N)]
    if with_gaps:                       # steps without a target: no loss there
        ys[3] = ys[4] = None
    return xs, ys


def numpy_tbptt(weights, h0, xs, ys, k1, k2, reduction):
    """(updates, L_u, the gradients at each update, the final weights): the definition, by hand."""
    theta = {name: value.copy() for name, value in weights.items()}
    hs, used, outputs = [h0], [None], [None]            # h_s, the weights step s ran with, o_s
    updates, losses, grads, pending = [], [], [], []
    n = len(xs)
    for t in range(1, n + 1):
        ran = {name: value.copy() for name, value in theta.items()}
        hs.append(np.tanh(ran["W"] @ xs[t - 1] + ran["U"] @ hs[t - 1] + ran["b"]))
        used.append(ran)
        outputs.append(ran["v"] @ hs[t])
        if ys[t - 1] is not None:
            pending.append(t)
        if t % k1 and t != n:
            continue
        cut = max(0, t - k2)
        grad = {name: np.zeros_like(value) for name, value in theta.items()}
        total = 0.0
        for s in pending:
            error = outputs[s] - ys[s - 1]
            total += 0.5 * error ** 2
            grad["v"] += error * hs[s]
            dh = error * used[s]["v"]
            for r in range(s, cut, -1):                 # the cells after the cut, newest first
                da = dh * (1.0 - hs[r] ** 2)
                grad["W"] += np.outer(da, xs[r - 1])
                grad["U"] += np.outer(da, hs[r - 1])
                grad["b"] += da
                dh = used[r]["U"].T @ da
        if reduction == "mean" and pending:
            total /= len(pending)
            grad = {name: g / len(pending) for name, g in grad.items()}
        updates.append(t)
        losses.append(total)
        grads.append(grad)
        theta = {name: theta[name] - LR * grad[name] for name in theta}
        pending = []
    return updates, losses, grads, theta


def run_library(runner, weights, h0, xs, ys, k1, k2, reduction):
    params = {name: mg.tensor(value.copy(), requires_grad=True) for name, value in weights.items()}

    def step(x, h):
        h = (params["W"] @ x + params["U"] @ h + params["b"]).tanh()
        return (params["v"] * h).sum(), h

    def loss_fn(output, target):
        return 0.5 * (output - target) ** 2

    def block_loss_fn(outputs, targets):
        return functools.reduce(lambda a, b: a + b, [loss_fn(o, y) for o, y in zip(outputs, targets)])

    seen = []

    def on_update(u, loss):
        seen.append({name: np.zeros_like(p.data) if p.grad is None else np.array(p.grad)
                     for name, p in params.items()})

    inputs = [mg.tensor(x) for x in xs]
    options = dict(optimizer=mg.optim.SGD(list(params.values()), lr=LR), on_update=on_update,
                   reduction=reduction)
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, mg.tensor(h0), inputs, ys, loss_fn, k1, k2, **options)
    elif runner == "tbptt_blocks":
        result = mg.bptt.tbptt_blocks(stepping_blocks(step), mg.tensor(h0), inputs, ys, loss_fn, k1, k2, **options)
    else:
        result = mg.bptt.tbptt_blocks(stepping_blocks(step), mg.tensor(h0), inputs, ys, loss_fn, k1, k2,
                                      block_loss_fn=block_loss_fn, **options)
    return result, seen, {name: np.array(p.data) for name, p in params.items()}


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "block_loss_fn"])
@pytest.mark.parametrize("k1, k2", CONFIGS)
@pytest.mark.parametrize("reduction, with_gaps", [("sum", False), ("mean", True)])
def test_both_runners_make_the_updates_of_a_numpy_tbptt(runner, k1, k2, reduction, with_gaps):
    weights, (xs, ys) = initial_weights(), sequence(with_gaps)
    h0 = np.full(HIDDEN, 0.3)
    updates, losses, grads, final = numpy_tbptt(weights, h0, xs, ys, k1, k2, reduction)
    result, seen, weights_after = run_library(runner, weights, h0, xs, ys, k1, k2, reduction)
    assert result.updates == updates == mg.bptt.update_steps(N, k1)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-12, atol=1e-15)
    assert len(seen) == len(grads)
    for u, got, expected in zip(updates, seen, grads):
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-10, atol=1e-13, err_msg=f"{name} at {u}")
    for name in final:
        np.testing.assert_allclose(weights_after[name], final[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_the_numpy_tbptt_is_not_full_bptt_in_disguise():
    """The reference's cut matters: TBPTT(2, 2) and TBPTT(2, 11) (full depth) give different gradients
    of U at the update at 4, so the comparisons above see where the cut is."""
    weights, (xs, ys) = initial_weights(), sequence(False)
    h0 = np.full(HIDDEN, 0.3)
    shallow = numpy_tbptt(weights, h0, xs, ys, 2, 2, "sum")[2][1]["U"]
    deep = numpy_tbptt(weights, h0, xs, ys, 2, 11, "sum")[2][1]["U"]
    assert np.abs(shallow - deep).max() > 1e-3


# ---- 2. each runner's float32 sum of L_u -------------------------------------------------------------------

def float32_losses():
    """Sixteen float32 step losses whose left-to-right sum and numpy's pairwise sum differ, in each half
    (the losses of TBPTT(8, 8)) and in the whole (TBPTT(16, 16))."""
    rng = np.random.default_rng(3)
    return (rng.normal(size=16) * 10.0 ** rng.integers(-2, 6, size=16)).astype(np.float32)


def left_to_right(values):
    return functools.reduce(lambda a, b: np.float32(a + b), values)


def pairwise(values):
    return np.stack(values).sum()


@pytest.mark.parametrize("k1", [8, 16])
def test_the_chosen_losses_tell_the_two_orders_apart(k1):
    values = float32_losses()
    for u in range(k1, 17, k1):
        chunk = list(values[u - k1:u])
        assert pairwise(chunk).dtype == np.float32
        assert left_to_right(chunk) != pairwise(chunk)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1", [8, 16])
def test_each_runner_keeps_its_own_float32_sum_of_the_losses(runner, k1):
    """l_t = h_t = 0 * h_(t-1) + x_t exactly, so the step losses are the chosen float32 numbers; L_u is
    tbptt's left-to-right sum, tbptt_blocks' stacked sum, to the last bit."""
    values = float32_losses()
    w = mg.tensor(np.float32(0.0), requires_grad=True)
    inputs = [mg.tensor(value) for value in values]

    def step(x, h):
        h = h * w + x
        return h, h

    h0 = mg.tensor(np.float32(0.0))
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, h0, inputs, [0.0] * 16, lambda o, y: o, k1, k1)
    else:
        result = mg.bptt.tbptt_blocks(stepping_blocks(step), h0, inputs, [0.0] * 16, lambda o, y: o, k1, k1)
    summed = left_to_right if runner == "tbptt" else pairwise
    assert result.losses == [float(summed(list(values[u - k1:u]))) for u in range(k1, 17, k1)]


# ---- 3. what an update has freed when on_update runs ----------------------------------------------------

@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(2, 4), (1, 3), (3, 2), (2, 2), (4, 1), (5, 5)])
def test_on_update_finds_the_losses_freed_and_at_most_max_k1_k2_states_alive(runner, k1, k2):
    """The tape holds at most max(k1, k2) steps: the states alive and not cut (a cut holds no history; the
    runner may still hold the state its last step or block was fed) are the newest max(k1, k2) at most."""
    n = 13
    w = mg.tensor(np.array(0.5), requires_grad=True)
    inputs = [mg.tensor(np.array(float(t))) for t in range(1, n + 1)]
    states, losses, alive = {}, {}, {}

    def step(x, h):
        h = h * w + x
        states[int(x.item())] = weakref.ref(h)
        return h, h

    def loss_fn(output, target):
        loss = (output - target) ** 2
        losses[len(losses) + 1] = weakref.ref(loss)
        return loss

    def on_update(u, loss):
        gc.collect()
        alive[u] = ([t for t, ref in states.items() if ref() is not None and ref()._node.kind is not CUT],
                    [t for t, ref in losses.items() if ref() is not None])

    h0 = mg.tensor(np.array(0.0))
    if runner == "tbptt":
        mg.bptt.tbptt(step, h0, inputs, [0.0] * n, loss_fn, k1, k2, on_update=on_update)
    else:
        mg.bptt.tbptt_blocks(stepping_blocks(step), h0, inputs, [0.0] * n, loss_fn, k1, k2, on_update=on_update)
    assert sorted(alive) == mg.bptt.update_steps(n, k1)
    for u, (kept, loss_kept) in alive.items():
        assert loss_kept == [], (u, loss_kept)
        assert u in kept and all(u - max(k1, k2) < t <= u for t in kept), (u, kept)


# ---- 4. one dtype for every block of the influence -------------------------------------------------------

def mixed_model(rng):
    """State (h, c, k): h float32 from the float32 W only, c float64 from the float64 U only, k a float32
    counter no parameter reaches."""
    W = mg.tensor(rng.normal(size=(HIDDEN, INPUTS)).astype(np.float32), requires_grad=True)
    U = mg.tensor(rng.normal(size=(HIDDEN, HIDDEN)) * 0.5, requires_grad=True)

    def step(x, state):
        h, c, k = state
        h = (W @ x + h).tanh()
        c = (U @ c).tanh()
        return h.sum() + c.sum(), (h, c, k + 1.0)

    return W, U, step


def numpy_influence(W, U, xs, h0, c0):
    """dh_t/dW (h.shape + W.shape) and dc_t/dU after each step, in float64, by the recursions
    dh_t[i]/dW[a, b] = (1 - h_t[i]^2) (delta_ia x_t[b] + dh_(t-1)[i]/dW[a, b]),
    dc_t[i]/dU[a, b] = (1 - c_t[i]^2) (delta_ia c_(t-1)[b] + sum_j U[i, j] dc_(t-1)[j]/dU[a, b])."""
    W, U = W.astype(np.float64), U.astype(np.float64)
    h, c = h0.astype(np.float64), c0.astype(np.float64)
    Ph, Pc = np.zeros((HIDDEN, HIDDEN, INPUTS)), np.zeros((HIDDEN, HIDDEN, HIDDEN))
    eye = np.eye(HIDDEN)
    out = []
    for x in xs:
        x = x.astype(np.float64)
        h_new, c_new = np.tanh(W @ x + h), np.tanh(U @ c)
        Ph = (1 - h_new ** 2)[:, None, None] * (eye[:, :, None] * x[None, None, :] + Ph)
        Pc = (1 - c_new ** 2)[:, None, None] * (eye[:, :, None] * c[None, None, :] + np.einsum("ij,jab->iab", U, Pc))
        h, c = h_new, c_new
        out.append((Ph.copy(), Pc.copy()))
    return out


def mixed_run(runner):
    rng = np.random.default_rng(5)
    W, U, step = mixed_model(rng)
    xs = [rng.normal(size=INPUTS).astype(np.float32) for _ in range(4)]
    h0, c0, k0 = np.zeros(HIDDEN, np.float32), np.linspace(0.5, 1.0, HIDDEN), np.zeros(2, np.float32)
    shown = []
    options = {} if runner is mg.bptt.rtrl else {"rng": 0}
    runner(step, (mg.tensor(h0), mg.tensor(c0), mg.tensor(k0)), [mg.tensor(x) for x in xs], [0.5] * 4,
           lambda o, y: (o - y) ** 2, {"W": W, "U": U}, on_step=lambda t, p: shown.append(p), **options)
    return shown, np.array(W.data), np.array(U.data), xs, h0, c0


@pytest.mark.parametrize("runner", [mg.bptt.rtrl, mg.bptt.uoro], ids=["rtrl", "uoro"])
def test_every_block_of_a_mixed_dtype_run_has_one_dtype(runner):
    """float32 and float64 mixed: every block float64, the counter's zeros too."""
    shown, *_ = mixed_run(runner)
    assert len(shown) == 4
    for influence in shown:
        assert isinstance(influence, tuple) and len(influence) == 3
        assert {block.dtype for blocks in influence for block in blocks.values()} == {np.dtype(np.float64)}


def test_rtrl_mixed_dtype_blocks_hold_the_numpy_jacobians():
    shown, W, U, xs, h0, c0 = mixed_run(mg.bptt.rtrl)
    for (h, c, k), (Ph, Pc) in zip(shown, numpy_influence(W, U, xs, h0, c0)):
        np.testing.assert_allclose(h["W"], Ph, rtol=1e-5, atol=1e-6)          # (computed in float32)
        np.testing.assert_allclose(c["U"], Pc, rtol=1e-12, atol=1e-14)
        assert h["U"].shape == (HIDDEN, HIDDEN, HIDDEN) and not h["U"].any()
        assert c["W"].shape == (HIDDEN, HIDDEN, INPUTS) and not c["W"].any()
        assert k["W"].shape == (2, HIDDEN, INPUTS) and k["U"].shape == (2, HIDDEN, HIDDEN)
        assert not k["W"].any() and not k["U"].any()
        assert all(not block.flags.writeable for blocks in (h, c, k) for block in blocks.values())


def test_uoro_mixed_dtype_blocks_stay_one_rank_one_product():
    """UORO's estimate is s~ theta~^T: the blocks of all state tensors and parameters, laid side by side
    as a (|state|, |theta|) matrix, have rank one (upcasting changes no value)."""
    shown, *_ = mixed_run(mg.bptt.uoro)
    for influence in shown:
        rows = [np.concatenate([blocks[name].reshape(blocks[name].shape[:1] + (-1,)) for name in ("W", "U")],
                               axis=1) for blocks in influence]
        singular = np.linalg.svd(np.concatenate(rows, axis=0), compute_uv=False)
        assert singular[0] > 0 and singular[1] <= 1e-6 * singular[0]


def test_uoro_with_float32_parameters_and_a_float64_state_gives_one_dtype():
    """theta~ is float32 (every parameter is), s~ of the float64 state tensor float64: the blocks of
    the float32 state tensor, s~_h theta~^T in float32, are upcast to float64 with the others."""
    rng = np.random.default_rng(4)
    W = mg.tensor(rng.normal(size=(HIDDEN, INPUTS)).astype(np.float32), requires_grad=True)

    def step(x, state):
        h, c = state
        h = (W @ x + h).tanh()
        c = (c * 0.5 + W.sum()).tanh()
        return h.sum() + c.sum(), (h, c)

    shown = []
    mg.bptt.uoro(step, (mg.tensor(np.zeros(HIDDEN, np.float32)), mg.tensor(np.ones(2))),
                 [mg.tensor(rng.normal(size=INPUTS).astype(np.float32))] * 3, [0.0] * 3,
                 lambda o, y: (o - y) ** 2, [W], rng=1, on_step=lambda t, p: shown.append(p))
    for h, c in shown:
        assert h["params[0]"].dtype == c["params[0]"].dtype == np.float64
        assert h["params[0]"].shape == (HIDDEN, HIDDEN, INPUTS) and c["params[0]"].shape == (2, HIDDEN, INPUTS)


def counter_run(params):
    """A state no parameter reaches (a float32 counter); the parameters reach only the output."""
    def step(x, k):
        return sum((p * x).sum() for p in params.values()), k + 1.0

    shown = []
    mg.bptt.rtrl(step, mg.tensor(np.zeros(2, np.float32)), [mg.tensor(np.float32(1.0))] * 2, [0.0] * 2,
                 lambda o, y: (o - y) ** 2, params, on_step=lambda t, p: shown.append(p))
    return shown


def test_with_nothing_reached_the_zeros_take_the_parameters_and_states_result_type():
    mixed = counter_run({"W": mg.tensor(np.ones(3, np.float32), requires_grad=True),
                         "U": mg.tensor(np.ones(2), requires_grad=True)})
    single = counter_run({"W": mg.tensor(np.ones(3, np.float32), requires_grad=True)})
    for influence in mixed:
        assert {name: (b.dtype, b.shape) for name, b in influence.items()} == {
            "W": (np.dtype(np.float64), (2, 3)), "U": (np.dtype(np.float64), (2, 2))}
        assert not any(b.any() for b in influence.values())
    for influence in single:
        assert influence["W"].dtype == np.float32 and not influence["W"].any()


def test_an_all_float32_run_keeps_float32_blocks():
    """The rule changes nothing when there is one dtype: float32 stays float32, zeros included."""
    rng = np.random.default_rng(2)
    W = mg.tensor(rng.normal(size=(HIDDEN, INPUTS)).astype(np.float32), requires_grad=True)

    def step(x, state):
        h, k = state
        h = (W @ x + h).tanh()
        return h.sum(), (h, k + 1.0)

    shown = []
    mg.bptt.rtrl(step, (mg.tensor(np.zeros(HIDDEN, np.float32)), mg.tensor(np.zeros(1, np.float32))),
                 [mg.tensor(rng.normal(size=INPUTS).astype(np.float32))] * 3, [0.0] * 3,
                 lambda o, y: (o - y) ** 2, [W], on_step=lambda t, p: shown.append(p))
    for h, k in shown:
        assert h["params[0]"].dtype == k["params[0]"].dtype == np.float32
        assert h["params[0]"].any() and not k["params[0]"].any()
