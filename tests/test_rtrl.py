"""RTRL and UORO (`mg.bptt.rtrl`, `mg.bptt.uoro`): online gradients with no tape of the past.

References: TBPTT(k1, n) on the same cell (reverse mode through the recorded
history, tested against finite differences elsewhere); a vanilla RNN's RTRL
written out here in numpy, the sensitivity recursion by hand; for UORO, RTRL's
exact gradient and the sample standard error of many estimates.
"""

import tracemalloc

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.functional as F

STEPS, BATCH, INPUTS, HIDDEN = 7, 3, 2, 4


def problem(cell_name: str, seed: int = 0, steps: int = STEPS, batch: int = BATCH, fused: bool = False):
    """A cell with a linear readout to 3 classes, float64; inputs, class targets (one step without
    a target), an initial state that is not zero; the parameters by name."""
    rng = np.random.default_rng(seed)
    cell = getattr(mg.nn, cell_name)(INPUTS, HIDDEN, rng=rng, dtype=np.float64, fused=fused)
    readout = mg.nn.Linear(HIDDEN, 3, rng=rng, dtype=np.float64)
    inputs = rng.standard_normal((steps, batch, INPUTS))
    targets = [rng.integers(0, 3, batch) for _ in range(steps)]
    targets[2] = None
    h0 = mg.tensor(rng.standard_normal((batch, HIDDEN)) * 0.5)
    state = (h0, mg.tensor(rng.standard_normal((batch, HIDDEN)) * 0.5)) if cell_name == "LSTMCell" else h0

    def step(x, state):
        state = cell(x, state)
        h = state[0] if isinstance(state, tuple) else state
        return readout(h), state

    params = {f"cell.{k}": v for k, v in cell.named_parameters()}
    params.update({f"readout.{k}": v for k, v in readout.named_parameters()})
    return step, state, inputs, targets, params


def loss_fn(logits, target):
    return F.cross_entropy(logits, target)


def run_and_record(runner, cell_name, k1, with_optimizer, reduction="sum", **options):
    """Run `runner` and return, for each update, (u, L_u, {name: .grad}) read in on_update."""
    step, state, inputs, targets, params = problem(cell_name, **options)
    records = []

    def on_update(u, loss):
        records.append((u, loss, {name: np.zeros(p.shape) if p.grad is None else p.grad.copy()
                                  for name, p in params.items()}))

    optimizer = mg.optim.SGD(list(params.values()), lr=0.5) if with_optimizer else None
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, state, inputs, targets, loss_fn, k1, len(inputs), optimizer=optimizer,
                               on_update=on_update, reduction=reduction)
    else:
        result = getattr(mg.bptt, runner)(step, state, inputs, targets, loss_fn, params, k1=k1,
                                          optimizer=optimizer, on_update=on_update, reduction=reduction)
    return result, records


# ---- RTRL = TBPTT(k1, n) --------------------------------------------------------------------------

@pytest.mark.parametrize("with_optimizer", [False, True], ids=["no optimizer", "SGD"])
@pytest.mark.parametrize("k1", [1, 3])
@pytest.mark.parametrize("cell_name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_rtrl_gradient_equals_tbptt_k1_n_at_every_update(cell_name, k1, with_optimizer):
    """At every update (k1 = 3 over 7 steps: 3, 6 and the tail 7) RTRL's gradient, loss and update
    steps are TBPTT(k1, n)'s. With SGD both runs change the weights at the same steps, and each
    step's gradient uses that step's own weights (rule 5)."""
    tbptt_result, expected = run_and_record("tbptt", cell_name, k1, with_optimizer)
    rtrl_result, got = run_and_record("rtrl", cell_name, k1, with_optimizer)
    assert rtrl_result.updates == tbptt_result.updates == [u for u, _, _ in expected]
    assert [u for u, _, _ in got] == tbptt_result.updates
    np.testing.assert_allclose(rtrl_result.losses, tbptt_result.losses, rtol=1e-12)
    for (u, _, want), (_, _, have) in zip(expected, got):
        for name in want:
            np.testing.assert_allclose(have[name], want[name], rtol=0, atol=1e-10, err_msg=f"{name} at u = {u}")
    for want, have in zip(mg.bptt.truncate(tbptt_result.state) if cell_name == "LSTMCell" else [tbptt_result.state],
                          rtrl_result.state if cell_name == "LSTMCell" else [rtrl_result.state]):
        np.testing.assert_allclose(have.data, want.data, rtol=0, atol=1e-12)


def test_rtrl_with_mean_reduction_and_a_fused_cell_equals_tbptt():
    """reduction="mean" divides each L_u by its number of losses, as tbptt does; a fused cell runs its
    op-level step under forward mode and gives the same gradient."""
    _, expected = run_and_record("tbptt", "GRUCell", 3, False, reduction="mean", fused=True)
    _, got = run_and_record("rtrl", "GRUCell", 3, False, reduction="mean", fused=True)
    for (u, loss_a, want), (_, loss_b, have) in zip(expected, got):
        assert loss_b == pytest.approx(loss_a, rel=1e-12)
        for name in want:
            np.testing.assert_allclose(have[name], want[name], rtol=0, atol=1e-10, err_msg=f"{name} at u = {u}")


# ---- RTRL = the sensitivity recursion written out ---------------------------------------------------

def numpy_rtrl(W_ih, W_hh, b_ih, b_hh, xs, ys, h0, k1):
    """A tanh RNN h_t = tanh(a_t), a_t = W_ih x_t + b_ih + W_hh h_(t-1) + b_hh, loss
    l_t = sum over the batch of ||h_t - y_t||^2; the gradient summed over each update's steps.

    Per sequence b, P_t = dh_t/dtheta (H x |theta|, theta = (W_ih, W_hh, b_ih, b_hh) flattened):
        P_t = diag(1 - h_t^2) (W_hh P_(t-1) + da_t/dtheta),   P_0 = 0,
    with da_t[i]/dW_ih[i', j] = [i = i'] x_t[j], da_t[i]/dW_hh[i', j] = [i = i'] h_(t-1)[j] and
    da_t[i]/db[i'] = [i = i'] for both biases; then dl_t/dtheta = 2 (h_t - y_t)^T P_t."""
    H, I = W_ih.shape
    batch = len(h0)
    size = H * I + H * H + 2 * H
    P, h = np.zeros((batch, H, size)), h0
    gradients, total = [], np.zeros(size)
    for t, (x, y) in enumerate(zip(xs, ys), 1):
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        h_new = np.tanh(a)
        direct = np.zeros((batch, H, size))
        for i in range(H):
            direct[:, i, i * I:(i + 1) * I] = x                                  # W_ih[i, :]
            direct[:, i, H * I + i * H:H * I + (i + 1) * H] = h                  # W_hh[i, :]
            direct[:, i, H * I + H * H + i] = 1.0                                # b_ih[i]
            direct[:, i, H * I + H * H + H + i] = 1.0                            # b_hh[i]
        P = (1 - h_new ** 2)[:, :, None] * (np.einsum("ij,bjk->bik", W_hh, P) + direct)
        h = h_new
        total = total + np.einsum("bi,bik->k", 2 * (h - y), P)
        if t % k1 == 0 or t == len(xs):
            gradients.append(total)
            total = np.zeros(size)
    return gradients


def test_rtrl_equals_the_sensitivity_recursion_written_out_in_numpy():
    rng = np.random.default_rng(7)
    cell = mg.nn.RNNCell(INPUTS, HIDDEN, rng=rng, dtype=np.float64)
    steps, k1 = 6, 4
    xs = rng.standard_normal((steps, BATCH, INPUTS))
    ys = [rng.standard_normal((BATCH, HIDDEN)) * 0.5 for _ in range(steps)]
    h0 = rng.standard_normal((BATCH, HIDDEN)) * 0.5
    weights = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    expected = numpy_rtrl(*[w.data for w in weights], xs, ys, h0, k1)

    got = []

    def on_update(u, loss):
        got.append(np.concatenate([w.grad.ravel() for w in weights]))
        for w in weights:
            w.grad = None

    mg.bptt.rtrl(lambda x, h: (cell(x, h),) * 2, mg.tensor(h0), xs, ys,
                 lambda h, y: F.mse_loss(h, y, reduction="sum"), weights, k1=k1, on_update=on_update)
    assert len(got) == len(expected) == 2
    for have, want in zip(got, expected):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)


def test_the_parameter_seeds_are_the_identity_stored_in_order_theta_numbers():
    """Side by side, the parameters' tangents are the |theta| x |theta| identity (direction d moves entry
    d of theta alone), and each spans only |theta| + size - 1 numbers of memory, not |theta| x size."""
    from microgradseq.bptt.rtrl import identity_directions
    params = [mg.tensor(np.ones(shape), requires_grad=True) for shape in [(3, 4), (5,), ()]]
    seeds = identity_directions(params)
    np.testing.assert_array_equal(np.concatenate([s.reshape(18, -1) for s in seeds], axis=1), np.eye(18))
    for seed, p in zip(seeds, params):
        low, high = getattr(np.lib, "array_utils", np).byte_bounds(seed)      # (numpy 1.x: np.byte_bounds)
        assert seed.shape == (18,) + p.shape and high - low == (18 + p.data.size - 1) * 8


# ---- parameters and arguments -----------------------------------------------------------------------

def test_params_as_a_mapping_or_a_list_with_a_tied_weight_listed_twice_give_the_same_gradient():
    """A mapping or an iterable; a tensor listed twice (tied weights, as state_dict lists them) is
    one parameter, its gradient added once."""
    grads = []
    for listing in ("mapping", "list"):
        step, state, inputs, targets, params = problem("RNNCell")
        given = dict(params, tied=params["cell.weight_hh"]) if listing == "mapping" else \
            list(params.values()) + [params["cell.weight_hh"]]
        mg.bptt.rtrl(step, state, inputs, targets, loss_fn, given)
        grads.append(params["cell.weight_hh"].grad.copy())
    _, tbptt_records = run_and_record("tbptt", "RNNCell", 1, False)
    np.testing.assert_allclose(grads[0], grads[1], rtol=0, atol=0)
    np.testing.assert_allclose(grads[0], tbptt_records[-1][2]["cell.weight_hh"], rtol=0, atol=1e-10)


def test_only_the_listed_parameters_get_a_gradient():
    """The readout left out of params gets no .grad; the cell's gradient is unchanged by leaving it out."""
    step, state, inputs, targets, params = problem("RNNCell")
    cell_only = {k: v for k, v in params.items() if k.startswith("cell.")}
    mg.bptt.rtrl(step, state, inputs, targets, loss_fn, cell_only)
    assert params["readout.weight"].grad is None
    _, records = run_and_record("tbptt", "RNNCell", 1, False)
    np.testing.assert_allclose(params["cell.weight_ih"].grad, records[-1][2]["cell.weight_ih"], atol=1e-10)


BAD_CALLS = [
    ({"k1": 0}, ValueError, "{where}: k1 must be a positive integer, got 0"),
    ({"k1": True}, ValueError, "{where}: k1 must be a positive integer, got True"),
    ({"k1": 1.5}, ValueError, "{where}: k1 must be a positive integer, got 1.5"),
    ({"targets": [None] * 3}, ValueError, r"{where}: inputs and targets differ in length \(4 != 3\)"),
    ({"inputs": [], "targets": []}, ValueError, "{where}: the sequence is empty"),
    ({"params": {}}, ValueError, "{where}: params is empty"),
    ({"params": []}, ValueError, "{where}: params is empty"),
    ({"params": [np.ones(3)]}, TypeError, r"{where}: params\[0\] must be a Tensor, got ndarray"),
    ({"params": {"w": mg.tensor(np.ones(3))}}, ValueError, "{where}: w .* must be a tensor that requires grad"),
    ({"params": mg.tensor(np.ones(3), requires_grad=True)}, TypeError, "{where}: params must be .* a single Tensor"),
    ({"params": 3}, TypeError, "{where}: params must be a mapping name -> tensor or an iterable of tensors, got int"),
    ({"reduction": "none"}, ValueError, "{where}: reduction must be 'sum' or 'mean', got 'none'"),
    ({"loss_fn": 3}, TypeError, "{where}: loss_fn must be callable, got int"),
    ({"optimizer": object()}, TypeError, "{where}: optimizer must have step"),
]


@pytest.mark.parametrize("where", ["rtrl", "uoro"])
@pytest.mark.parametrize("change, error, message", BAD_CALLS, ids=[m.split(": ")[1][:40] for _, _, m in BAD_CALLS])
def test_bad_arguments_are_refused_before_any_step(where, change, error, message):
    steps_run = []
    w = mg.tensor(np.ones((2, 2)), requires_grad=True)

    def step(x, h):
        steps_run.append(x)
        return h, h

    arguments = dict(step=step, state=mg.tensor(np.ones(2)), inputs=[np.ones(2)] * 4, targets=[None] * 4,
                     loss_fn=lambda o, y: o.sum(), params={"w": w})
    arguments.update(change)
    with pytest.raises(error, match=message.format(where=where)):
        getattr(mg.bptt, where)(**arguments)
    assert steps_run == []


def test_a_loss_that_is_not_one_number_is_named():
    step, state, inputs, targets, params = problem("RNNCell")
    with pytest.raises(ValueError, match=r"rtrl: loss_fn must return a one-element Tensor, got shape \(3,\) at step 1"):
        mg.bptt.rtrl(step, state, inputs, targets, lambda o, y: F.cross_entropy(o, y, reduction="none"), params)


# ---- UORO ------------------------------------------------------------------------------------------

def uoro_estimate(seed, steps=5, cell_name="RNNCell"):
    """The flattened gradient of one UORO run (one update at the end) with random signs from `seed`."""
    step, state, inputs, targets, params = problem(cell_name, steps=steps, batch=2)
    mg.bptt.uoro(step, state, inputs, targets, loss_fn, params, k1=steps, rng=seed)
    return np.concatenate([p.grad.ravel() for p in params.values()])


def rtrl_gradient(steps=5, cell_name="RNNCell"):
    step, state, inputs, targets, params = problem(cell_name, steps=steps, batch=2)
    mg.bptt.rtrl(step, state, inputs, targets, loss_fn, params, k1=steps)
    return np.concatenate([p.grad.ravel() for p in params.values()])


def test_uoro_estimates_average_to_the_rtrl_gradient():
    """Over 1,000 estimates (seeds 0..999, 3 steps), the mean's distance from RTRL's gradient, in
    standard errors of the mean (z), is below 5 in every entry and its mean square is below 3 (about
    1 when unbiased, 1.6 here; signs of +-1.2 instead of +-1, a 44% bias in one term, give 14). Entries
    the estimate does not touch (the readout's: no noise) must match to rounding. And the estimates
    do vary: the check is not met trivially."""
    exact = rtrl_gradient(steps=3)
    estimates = np.stack([uoro_estimate(seed, steps=3) for seed in range(1000)])
    mean, error = estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    noisy = error > 1e-10
    z = np.abs(mean - exact)[noisy] / error[noisy]
    assert z.max() < 5 and np.mean(z ** 2) < 3, (z.max(), np.mean(z ** 2))
    np.testing.assert_allclose(mean[~noisy], exact[~noisy], rtol=1e-9, atol=1e-12)
    assert noisy.sum() >= 30 and error.max() > 1e-3 * np.abs(exact).max()


def test_one_uoro_estimate_is_not_the_exact_gradient():
    exact, estimate = rtrl_gradient(), uoro_estimate(seed=1)
    assert np.abs(estimate - exact).max() > 1e-3 * np.abs(exact).max()


def test_the_same_seed_gives_the_same_uoro_estimate_and_another_seed_another():
    np.testing.assert_array_equal(uoro_estimate(seed=11), uoro_estimate(seed=11))
    assert not np.array_equal(uoro_estimate(seed=11), uoro_estimate(seed=12))


def test_uoro_runs_an_lstm_with_an_optimizer_and_returns_what_tbptt_returns():
    """A tuple state, k1 = 3 with a ragged tail, SGD: the result's updates are tbptt's, its losses
    finite, its final state the carried (h, c) without history."""
    _, tbptt_records = run_and_record("tbptt", "LSTMCell", 3, True)
    result, records = run_and_record("uoro", "LSTMCell", 3, True)
    assert result.updates == [u for u, _, _ in tbptt_records] == [3, 6, 7]
    assert all(np.isfinite(result.losses))
    h, c = result.state
    assert h.shape == c.shape == (BATCH, HIDDEN) and not h.requires_grad and not c.requires_grad
    # the first update's loss is computed before any weight changed: the same as tbptt's
    assert records[0][1] == pytest.approx(tbptt_records[0][1], rel=1e-12)


def test_uoro_leaves_gradients_of_leaves_it_does_not_train_alone():
    """UORO's per-step reverse passes reach every leaf of the step's tape; a leaf not in params keeps
    the .grad it had."""
    step, state, inputs, targets, params = problem("RNNCell")
    readout_weight = params.pop("readout.weight")
    readout_weight.grad = np.full(readout_weight.shape, 7.0)
    mg.bptt.uoro(step, state, inputs, targets, loss_fn, params, rng=0)
    np.testing.assert_array_equal(readout_weight.grad, np.full(readout_weight.shape, 7.0))


# ---- memory: nothing grows with n -----------------------------------------------------------------

def peak_traced_memory(steps):
    """Peak traced memory of an RTRL run of `steps` steps (H = 8, a batch of 32: P_t is
    32 x 8 x 88 numbers, 180 kB), inputs made before tracing starts."""
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(1, 8, rng=rng, dtype=np.float64)
    inputs = rng.standard_normal((steps, 32, 1))
    targets = list(rng.standard_normal((steps, 32, 8)))
    params = list(cell.parameters())
    tracemalloc.start()
    try:
        mg.bptt.rtrl(lambda x, h: (cell(x, h),) * 2, None, inputs, targets,
                     lambda h, y: F.mse_loss(h, y), params, k1=100)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_rtrl_memory_does_not_grow_with_the_sequence_length():
    """Peak traced memory over 400 and over 4,000 steps differs by less than 20%: RTRL keeps P_t and
    nothing of the past (BPTT over 4,000 steps would keep 4,000 steps of tape). (What does grow a
    little, about 0.1 MB, is numpy's and Python's caches of freed blocks, which fill during the first
    few thousand steps and then stop: 8,000 steps end where 4,000 do.)"""
    short, long = peak_traced_memory(400), peak_traced_memory(4000)
    assert abs(long - short) < 0.2 * short, (short, long)


def test_uoro_readout_gradient_is_exact_whatever_grad_the_parameters_held():
    """The readout takes no noisy estimate in UORO: with optimizer=None its gradient summed over the
    updates equals RTRL's (an exact method) at k1 = 1, also when the parameters' .grad held values
    from before (the nu-pass does not reach the readout; its old .grad must not leak in)."""
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(2, 3, dtype=np.float64, rng=rng)
    readout = mg.nn.Linear(3, 1, dtype=np.float64, rng=rng)
    params = list(cell.parameters()) + list(readout.parameters())
    xs, ys = [rng.normal(size=(1, 2)) for _ in range(4)], [rng.normal(size=(1, 1)) for _ in range(4)]

    def step(x, h):
        h = cell(x, h)
        return readout(h), h

    def readout_grads(runner, **options):
        for p in params:
            p.grad = None
        readout.bias.grad = np.array([100.0])
        runner(step, None, xs, ys, lambda y, t: ((y - t) ** 2).sum(), params, k1=1, **options)
        return readout.weight.grad.copy(), readout.bias.grad.copy()

    exact, estimated = readout_grads(mg.bptt.rtrl), readout_grads(mg.bptt.uoro, rng=0)
    for want, got in zip(exact, estimated):
        np.testing.assert_allclose(got, want, rtol=1e-12)
