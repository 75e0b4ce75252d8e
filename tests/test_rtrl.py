"""RTRL and UORO (`mg.bptt.rtrl`, `mg.bptt.uoro`): online gradients with no tape of the past.

References: TBPTT(k1, n) on the same cell (reverse mode through the recorded
history, tested against finite differences elsewhere); a vanilla RNN's RTRL
written out here in numpy, the sensitivity recursion by hand; central
differences of the whole sequence's loss (a learned initial state, a step that
changes its state in place); for UORO, RTRL's exact gradient and the sample standard
error of many estimates, and UORO written out in numpy fed the same random signs.
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
    ({"params": [mg.tensor(np.ones(3), requires_grad=True) * 2]}, ValueError,
     r"{where}: params\[0\] .* requires grad \(a parameter, a leaf\), got the result of the op 'mul'"),
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
    do vary: the check is not met trivially. (The seeds are fixed, so the test is deterministic; over
    ten disjoint blocks of 1,000 seeds the largest z was 2.6 and the mean square 0.3 to 2.0. Step 3
    has no target, so only step 1's signs reach a loss here: a bias in how s~ and theta~ are carried
    on (rho0) shows in test_uoro_averaged_over_every_pattern_of_signs_is_exactly_rtrl.)"""
    exact = rtrl_gradient(steps=3)
    assert_unbiased(np.stack([uoro_estimate(seed, steps=3) for seed in range(1000)]), exact)


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


# ---- a learned initial state ----------------------------------------------------------------------

def learned_initial_state(cell_name, made_from_params, move=None, steps=STEPS):
    """`problem` with an initial state that is trained: either the parameters themselves (h0, or an
    LSTM's (h0, c0), one per sequence), or computed from parameters before the run and shared by the
    batch (h0 = tanh(W0), c0 = 2 W1, broadcast to the batch). `move` = (name, entry, delta) shifts
    one entry of a parameter before the state is made from it (finite differences). Built afresh for
    each run: runs must not share a recorded graph."""
    step, _, inputs, targets, params = problem(cell_name, steps=steps)
    rng = np.random.default_rng(5)
    names = ["h0", "c0"] if cell_name == "LSTMCell" else ["h0"]
    if made_from_params:
        names = [name.replace("h0", "W0").replace("c0", "W1") for name in names]
    shape = (1, HIDDEN) if made_from_params else (BATCH, HIDDEN)
    arrays = {name: rng.standard_normal(shape) * 0.5 for name in names}
    if move is not None:
        name, entry, delta = move
        if name in arrays:
            arrays[name].flat[entry] += delta
        else:
            params[name].data = params[name].data + delta * (np.arange(params[name].data.size) == entry
                                                             ).reshape(params[name].shape)
    leaves = {name: mg.tensor(array, requires_grad=True) for name, array in arrays.items()}
    params.update(leaves)
    if made_from_params:
        batch = np.ones((BATCH, 1))
        parts = [leaves["W0"].tanh() * batch] + ([leaves["W1"] * 2.0 * batch] if cell_name == "LSTMCell" else [])
    else:
        parts = list(leaves.values())
    state = tuple(parts) if cell_name == "LSTMCell" else parts[0]
    return step, state, inputs, targets, params


def record_updates(runner, build, k1, optimizer=None, **options):
    """Run `runner` on the problem `build()` makes, with `optimizer(list of params)` if given; for each
    update, (u, L_u, {name: .grad or None}) as on_update sees them; and the parameters at the end."""
    step, state, inputs, targets, params = build()
    records = []

    def on_update(u, loss):
        records.append((u, loss, {name: None if p.grad is None else p.grad.copy() for name, p in params.items()}))

    trainer = None if optimizer is None else optimizer(list(params.values()))
    if runner == "tbptt":
        mg.bptt.tbptt(step, state, inputs, targets, loss_fn, k1, len(inputs), optimizer=trainer, on_update=on_update)
    else:
        getattr(mg.bptt, runner)(step, state, inputs, targets, loss_fn, params, k1=k1, optimizer=trainer,
                                 on_update=on_update, **options)
    return records, {name: p.data.copy() for name, p in params.items()}


def sgd(params):
    return mg.optim.SGD(params, lr=0.3)


def assert_same_updates(got, expected, atol=1e-10):
    """The same update steps and losses; each parameter's .grad the same, None where tbptt's is."""
    assert [u for u, _, _ in got] == [u for u, _, _ in expected]
    for (u, loss_b, have), (_, loss_a, want) in zip(got, expected):
        assert loss_b == pytest.approx(loss_a, rel=1e-12)
        for name in want:
            if want[name] is None:
                assert have[name] is None, f"{name} at u = {u}: tbptt gives no gradient, got {have[name]}"
            else:
                assert have[name] is not None, f"{name} at u = {u}: no gradient"
                np.testing.assert_allclose(have[name], want[name], rtol=0, atol=atol, err_msg=f"{name} at u = {u}")


LEARNED = ["h0", "c0", "W0", "W1"]


@pytest.mark.parametrize("with_optimizer", [False, True], ids=["no optimizer", "SGD"])
@pytest.mark.parametrize("made_from_params", [False, True], ids=["h0 a parameter", "h0 = tanh(W0)"])
@pytest.mark.parametrize("cell_name", ["RNNCell", "LSTMCell"])
def test_a_learned_initial_state_gets_tbptt_k1_n_gradient_at_every_update(cell_name, made_from_params,
                                                                          with_optimizer):
    """P_0 = dh_0/dtheta: the identity in a learned h0's block (an LSTM's (h0, c0): one block each),
    the Jacobian of h0 = tanh(W0) (and c0 = 2 W1) in W0's. Every update's gradient is tbptt(3, n)'s,
    h0's and W0's included (they were 0: P_0 was 0), with SGD changing them too. TBPTT reaches
    them by reverse mode through the recorded history."""
    build = lambda: learned_initial_state(cell_name, made_from_params)
    optimizer = sgd if with_optimizer else None
    expected, _ = record_updates("tbptt", build, 3, optimizer)
    got, _ = record_updates("rtrl", build, 3, optimizer)
    assert all(np.abs(grad).max() > 1e-2 for name, grad in expected[0][2].items() if name in LEARNED)
    assert_same_updates(got, expected)


def total_loss(cell_name, made_from_params, move):
    """The summed loss of the whole sequence, run forward with no gradient, one entry moved."""
    step, state, inputs, targets, _ = learned_initial_state(cell_name, made_from_params, move)
    total = 0.0
    with mg.no_grad():
        for x, y in zip(inputs, targets):
            output, state = step(x, state)
            if y is not None:
                total += loss_fn(output, y).item()
    return total


@pytest.mark.parametrize("made_from_params", [False, True], ids=["h0 a parameter", "h0 = tanh(W0)"])
@pytest.mark.parametrize("cell_name", ["RNNCell", "LSTMCell"])
def test_a_learned_initial_states_gradient_matches_finite_differences(cell_name, made_from_params):
    """With one update at the end (k1 = n) the gradient is the summed loss's, float64: central
    differences (eps 1e-6) of the whole sequence's loss, in every entry of h0 (c0) or W0 (W1), and
    in a few of the recurrent weight's (their paths through h0 included)."""
    step, state, inputs, targets, params = learned_initial_state(cell_name, made_from_params)
    mg.bptt.rtrl(step, state, inputs, targets, loss_fn, params, k1=len(inputs))
    checked = [(name, entry) for name in LEARNED if name in params for entry in range(params[name].data.size)]
    checked += [("cell.weight_hh", entry) for entry in (0, 5, 13)]
    for name, entry in checked:
        numeric = (total_loss(cell_name, made_from_params, (name, entry, 1e-6))
                   - total_loss(cell_name, made_from_params, (name, entry, -1e-6))) / 2e-6
        assert params[name].grad.ravel()[entry] == pytest.approx(numeric, rel=1e-6, abs=1e-7), (name, entry)
    assert np.abs(params["W0" if made_from_params else "h0"].grad).max() > 1e-2


def test_rtrl_refuses_a_step_that_reads_a_tensor_computed_from_a_parameter_before_the_run():
    """scale_eff = 2 scale, made once before the run and read by every step: TBPTT's reverse mode
    follows it back to `scale`, RTRL's forward mode cannot (it sees only the ops a step runs). Rather
    than leave scale's gradient out, rtrl says so at the first step that reads it, before any update."""
    step, state, inputs, targets, params = problem("RNNCell")
    scale = mg.tensor(np.array(1.5), requires_grad=True)
    scale_eff = scale * 2.0
    updates = []

    def scaled_step(x, h):
        return step(x * scale_eff, h)

    mg.bptt.tbptt(scaled_step, state, inputs, targets, loss_fn, 3, len(inputs))
    assert abs(scale.grad) > 1e-3
    scale.grad = None
    with pytest.raises(ValueError, match=r"rtrl: step 1 reads a tensor computed from the parameter scale outside "
                                         r"the step \('mul' .*: made before the run, or kept from an earlier "
                                         r"step\); RTRL's forward mode sees only the ops a step runs"):
        mg.bptt.rtrl(scaled_step, state, inputs, targets, loss_fn, dict(params, scale=scale), k1=3,
                     on_update=lambda u, loss: updates.append(u))
    assert updates == [] and scale.grad is None


# ---- UORO with a learned initial state --------------------------------------------------------------

def assert_unbiased(estimates, exact, exact_entries=0):
    """The mean of the estimates is within its standard errors (z) of `exact`: below 5 in every entry
    and below 3 in mean square (about 1 when unbiased). Entries without noise match to rounding (at
    least `exact_entries` of them); the estimates do vary."""
    mean, error = estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    noisy = error > 1e-10
    z = np.abs(mean - exact)[noisy] / error[noisy]
    assert z.max() < 5 and np.mean(z ** 2) < 3, (z.max(), np.mean(z ** 2))
    np.testing.assert_allclose(mean[~noisy], exact[~noisy], rtol=1e-9, atol=1e-12)
    assert (~noisy).sum() >= exact_entries and noisy.sum() >= 30 and error.max() > 1e-3 * np.abs(exact).max()


def tbptt_gradient(build):
    """The flattened gradient of BPTT over the whole sequence (tbptt(n, n): one update, at the end)."""
    step, state, inputs, targets, params = build()
    mg.bptt.tbptt(step, state, inputs, targets, loss_fn, len(inputs), len(inputs))
    return np.concatenate([p.grad.ravel() for p in params.values()])


def test_uoro_estimates_with_a_learned_initial_state_average_to_the_exact_gradient():
    """h0 a parameter, 3 steps, one update: over 1,000 estimates h0's gradient (and every other
    entry) averages to the exact one, BPTT's. Before, h0 got 0."""
    build = lambda: learned_initial_state("RNNCell", False, steps=3)
    exact = tbptt_gradient(build)
    estimates = []
    for seed in range(1000):
        step, state, inputs, targets, params = build()
        mg.bptt.uoro(step, state, inputs, targets, loss_fn, params, k1=3, rng=seed)
        estimates.append(np.concatenate([p.grad.ravel() for p in params.values()]))
    assert np.abs(exact[-BATCH * HIDDEN:]).max() > 1e-2                      # h0's entries, last
    assert_unbiased(np.stack(estimates), exact, exact_entries=15)            # the readout's


@pytest.mark.parametrize("made_from_params", [False, True], ids=["h0 a parameter", "h0 = tanh(W0)"])
@pytest.mark.parametrize("cell_name", ["RNNCell", "LSTMCell"])
def test_uoros_first_update_is_exact_with_a_learned_initial_state(cell_name, made_from_params):
    """UORO feeds step 1 the initial state itself, history included, so P_0 is used exactly, not
    estimated: with k1 = 1 the first update's gradient (l_1's, h0's or W0's included) is TBPTT's,
    whatever the seed; the later ones are noisy."""
    build = lambda: learned_initial_state(cell_name, made_from_params)
    (first, *_), _ = record_updates("tbptt", build, 1, sgd)
    for seed in (0, 1):
        (got, *_), _ = record_updates("uoro", build, 1, sgd, rng=seed)
        assert_same_updates([got], [first])


# ---- UORO's expectation, exactly: the mean over every pattern of signs ----------------------------

class ChosenSigns(np.random.Generator):
    """A Generator whose `choice` hands out the given arrays of signs in order: uoro draws its signs
    nu, for each state tensor after each step, by rng.choice(array([-1, 1]), size=h.shape)."""

    def __init__(self, signs):
        super().__init__(np.random.PCG64(0))
        self.signs = list(signs)

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        assert sorted(np.asarray(a).tolist()) == [-1.0, 1.0]
        return np.asarray(self.signs.pop(0), np.asarray(a).dtype).reshape(size)


def tiny_problem(cell_name):
    """An RNN with H = 2 and a learned h0, or an LSTM with H = 1 ((h, c): one number each), batch 1,
    5 steps with a target at each, a readout to 2 outputs, loss ||y - target||^2: two signs a step."""
    rng = np.random.default_rng(21)
    hidden = 2 if cell_name == "RNNCell" else 1
    cell = getattr(mg.nn, cell_name)(2, hidden, rng=rng, dtype=np.float64)
    readout = mg.nn.Linear(hidden, 2, rng=rng, dtype=np.float64)
    h0 = mg.tensor(rng.standard_normal((1, hidden)), requires_grad=True)
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"readout.{k}": v for k, v in readout.named_parameters()}}
    if cell_name == "RNNCell":
        params["h0"] = h0
    state = h0 if cell_name == "RNNCell" else (h0.detach(), mg.tensor(rng.standard_normal((1, 1))))

    def step(x, state):
        state = cell(x, state)
        return readout(state[0] if isinstance(state, tuple) else state), state

    xs, ys = rng.standard_normal((5, 1, 2)), list(rng.standard_normal((5, 1, 2)))
    return step, state, xs, ys, params


@pytest.mark.parametrize("cell_name", ["RNNCell", "LSTMCell"])
def test_uoro_averaged_over_every_pattern_of_signs_is_exactly_rtrl(cell_name):
    """Unbiasedness without sampling: E over the signs is the average over every pattern of them,
    equally likely, and it must equal RTRL's gradient at every update (k1 = 2: 2, 4 and the tail 5)
    to rounding. The signs drawn after step 4 reach no loss (the last is at 5): 2^8 patterns. This
    catches any bias, also one in how s~ and theta~ are carried across steps (rho0), which the
    sampled tests over 3 steps do not reach (their losses are at steps 1 and 2)."""
    mse = lambda y, target: ((y - target) ** 2).sum()          # noqa: E731

    def updates(runner, **options):
        step, state, xs, ys, params = tiny_problem(cell_name)
        grads = []

        def on_update(u, loss):
            grads.append(np.concatenate([p.grad.ravel() for p in params.values()]))
            for p in params.values():
                p.grad = None
        runner(step, state, xs, ys, mse, params, k1=2, on_update=on_update, **options)
        return np.stack(grads)

    exact = updates(mg.bptt.rtrl)
    estimates = []
    for pattern in range(2 ** 8):
        bits = [1.0 if pattern >> i & 1 else -1.0 for i in range(8)]
        signs = [bits[2 * s:2 * s + 2] for s in range(4)] + [[1.0, 1.0]]         # steps 1..4, then step 5's
        if cell_name == "LSTMCell":
            signs = [[a] for pair in signs for a in pair]                          # h's sign, then c's
        rng = ChosenSigns(signs)
        estimates.append(updates(mg.bptt.uoro, rng=rng))
        assert rng.signs == []
    estimates = np.stack(estimates)
    np.testing.assert_allclose(estimates.mean(axis=0), exact, rtol=1e-10, atol=1e-12)
    assert np.abs(estimates - exact).max() > 1e-2 * np.abs(exact).max()          # while each one is noisy


# ---- gradients only where tbptt's reach -------------------------------------------------------------

def sometimes_problem():
    """An RNN whose step reads two more parameters at some steps only: `bias_out` in the output at
    steps 2 and 5, `push` into the state at step 4; and a parameter `unused` no step reads. (Each
    input carries its step number.)"""
    rng = np.random.default_rng(3)
    cell = mg.nn.RNNCell(INPUTS, HIDDEN, rng=rng, dtype=np.float64)
    readout = mg.nn.Linear(HIDDEN, 3, rng=rng, dtype=np.float64)
    extra = {name: mg.tensor(rng.standard_normal(shape) * 0.5, requires_grad=True)
             for name, shape in [("bias_out", (3,)), ("push", (HIDDEN,)), ("unused", (2,))]}
    steps = 7
    inputs = [(x, t) for t, x in enumerate(rng.standard_normal((steps, BATCH, INPUTS)), 1)]
    targets = [rng.integers(0, 3, BATCH) for _ in range(steps)]

    def step(x_and_t, h):
        x, t = x_and_t
        h = cell(x, h)
        if t == 4:
            h = h + extra["push"]
        output = readout(h)
        if t in (2, 5):
            output = output + extra["bias_out"]
        return output, h

    params = {f"cell.{k}": v for k, v in cell.named_parameters()}
    params.update({f"readout.{k}": v for k, v in readout.named_parameters()}, **extra)
    return step, mg.tensor(np.zeros((BATCH, HIDDEN))), inputs, targets, params


@pytest.mark.parametrize("k1", [1, 3])
@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_a_parameter_no_loss_reaches_keeps_grad_none_as_under_tbptt(runner, k1):
    """With SGD (zero_grad: None after every update) each update's .grad is None exactly where
    tbptt's is: `unused` always, `bias_out` at the updates without step 2 or 5, `push` before step 4
    (from then on the state carries it). RTRL's gradients equal tbptt's; UORO's first update's too at
    k1 = 1 (step 1's loss: exact)."""
    expected, _ = record_updates("tbptt", sometimes_problem, k1, sgd)
    got, _ = record_updates(runner, sometimes_problem, k1, sgd, **({"rng": 0} if runner == "uoro" else {}))
    if runner == "rtrl":
        assert_same_updates(got, expected)
    else:
        if k1 == 1:
            assert_same_updates(got[:1], expected[:1])
        assert [sorted(n for n, g in have.items() if g is None) for _, _, have in got] == \
               [sorted(n for n, g in want.items() if g is None) for _, _, want in expected]
    none_at = {name: [u for u, _, grads in expected if grads[name] is None] for name in ("bias_out", "push", "unused")}
    assert none_at == ({"bias_out": [1, 3, 4, 6, 7], "push": [1, 2, 3], "unused": [1, 2, 3, 4, 5, 6, 7]} if k1 == 1
                       else {"bias_out": [7], "push": [3], "unused": [3, 6, 7]})


def test_under_adamw_a_parameter_no_step_reads_is_left_alone_as_under_tbptt():
    """AdamW decays a parameter that has a gradient, a zero one too: `unused` must have none (it had
    zeros, and shrank under RTRL while TBPTT left it alone). Every parameter ends where tbptt's does."""
    adamw = lambda params: mg.optim.AdamW(params, lr=0.05, weight_decay=0.5)
    _, expected = record_updates("tbptt", sometimes_problem, 2, adamw)
    _, got = record_updates("rtrl", sometimes_problem, 2, adamw)
    _, start = record_updates("tbptt", sometimes_problem, 2)
    np.testing.assert_array_equal(got["unused"], start["unused"])
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-10, err_msg=name)


# ---- frozen parameters ------------------------------------------------------------------------------

@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_a_frozen_parameter_is_skipped_as_the_optimizers_skip_it(runner):
    """module.parameters() lists a frozen Parameter (requires_grad_(False)); the optimizers skip it,
    and so do rtrl and uoro: a constant, no .grad, unchanged by SGD. RTRL's other gradients are
    tbptt's; both runners' first update is (UORO's is exact there)."""
    def build():
        step, state, inputs, targets, params = problem("RNNCell")
        params["cell.bias_hh"].requires_grad_(False)
        return step, state, inputs, targets, params

    def record(runner):
        step, state, inputs, targets, params = build()
        records = []
        module_parameters = list(params.values())           # as module.parameters() gives them
        trainer = mg.optim.SGD(module_parameters, lr=0.3)
        on_update = lambda u, loss: records.append((u, loss, {name: None if p.grad is None else p.grad.copy()
                                                              for name, p in params.items()}))
        if runner == "tbptt":
            mg.bptt.tbptt(step, state, inputs, targets, loss_fn, 1, len(inputs), trainer, on_update)
        else:
            getattr(mg.bptt, runner)(step, state, inputs, targets, loss_fn, iter(module_parameters), 1, trainer,
                                     on_update, **({"rng": 0} if runner == "uoro" else {}))
        return records, params["cell.bias_hh"]

    expected, _ = record("tbptt")
    got, frozen = record(runner)
    assert_same_updates(got if runner == "rtrl" else got[:1], expected if runner == "rtrl" else expected[:1])
    assert all(grads["cell.bias_hh"] is None for _, _, grads in got)
    np.testing.assert_array_equal(frozen.data, build()[4]["cell.bias_hh"].data)


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_a_model_frozen_whole_runs_with_losses_and_no_gradient_as_under_tbptt(runner):
    step, state, inputs, targets, params = problem("GRUCell")
    for p in params.values():
        p.requires_grad_(False)
    expected = mg.bptt.tbptt(step, state, inputs, targets, loss_fn, 3, len(inputs))
    got = getattr(mg.bptt, runner)(step, state, inputs, targets, loss_fn, params, k1=3)
    assert got.updates == expected.updates
    np.testing.assert_allclose(got.losses, expected.losses, rtol=1e-12)
    assert all(p.grad is None for p in params.values())


# ---- memory: nothing grows with n, also between sparse updates --------------------------------------

def peak_of_one_update_at_the_end(runner, steps):
    """Peak traced memory of a run of `steps` steps with k1 = n (every loss waits for the one update
    at the end), a one-number linear recurrence so that the steps are cheap; after an untraced run
    of as many steps, which fills numpy's and Python's caches of freed blocks."""
    w = mg.tensor(np.array([0.5]), requires_grad=True)

    def step(x, h):
        h = h * w + x
        return h, h

    def run():
        return getattr(mg.bptt, runner)(step, mg.tensor(np.zeros(1)), inputs, targets, lambda h, y: (h * y).sum(),
                                        [w], k1=steps, **({"rng": 0} if runner == "uoro" else {}))
    inputs, targets = np.full((steps, 1), 0.1), np.ones((steps, 1))
    run()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("runner, short, long", [("rtrl", 2_000, 20_000), ("uoro", 1_000, 4_000)])
def test_memory_does_not_grow_with_the_steps_between_updates(runner, short, long):
    """With k1 = n the losses of every step wait for one update. The run keeps running sums (the
    losses', their count, the gradient's), not a list of the losses: peak memory over 20,000 steps is
    within 16 KiB of that over 2,000 (it was 32 bytes a step more, 560 KiB). (UORO over 1,000 and
    4,000 steps, 94 KiB apart before: its steps cost three times RTRL's here.)"""
    small, large = peak_of_one_update_at_the_end(runner, short), peak_of_one_update_at_the_end(runner, long)
    assert large - small < 16 * 1024, (small, large)


# ---- a state handed on as it is ----------------------------------------------------------------------

def handing_on_problem(learned_h0, steps=7):
    """A step whose state (h, m) hands m on unchanged except at steps 2 and 5 (where m takes h), and
    that resets h to the initial h0 after step 4: the new state then holds tensors the step was fed
    or a parameter, as they are, with no op of the step's own making them. h0 is a parameter when
    `learned_h0`. (Each input carries its step number.)"""
    rng = np.random.default_rng(11)
    cell = mg.nn.RNNCell(INPUTS, HIDDEN, rng=rng, dtype=np.float64)
    readout = mg.nn.Linear(HIDDEN, 3, rng=rng, dtype=np.float64)
    h0 = mg.tensor(rng.standard_normal((BATCH, HIDDEN)) * 0.5, requires_grad=learned_h0)
    inputs = [(x, t) for t, x in enumerate(rng.standard_normal((steps, BATCH, INPUTS)), 1)]
    targets = [rng.integers(0, 3, BATCH) for _ in range(steps)]

    def step(x_and_t, state):
        (x, t), (h, m) = x_and_t, state
        h_new = cell(x, h)
        output = readout(h_new + m)
        return output, (h0 if t == 4 else h_new, h_new if t in (2, 5) else m)

    params = {f"cell.{k}": v for k, v in cell.named_parameters()}
    params.update({f"readout.{k}": v for k, v in readout.named_parameters()})
    if learned_h0:
        params["h0"] = h0
    return step, (h0, mg.tensor(np.zeros((BATCH, HIDDEN)))), inputs, targets, params


@pytest.mark.parametrize("with_optimizer", [False, True], ids=["no optimizer", "SGD"])
def test_rtrl_carries_the_sensitivity_of_a_state_handed_on_as_it_is(with_optimizer):
    """m handed on unchanged keeps its P (it was lost: read after the forward-mode run, a tensor the
    run was seeded with has no tangent left, so P became 0), and h reset to the learned h0 takes
    h0's P, its rows of the identity. Every update's gradient is tbptt(2, n)'s."""
    build = lambda: handing_on_problem(learned_h0=True)
    optimizer = sgd if with_optimizer else None
    expected, _ = record_updates("tbptt", build, 2, optimizer)
    got, _ = record_updates("rtrl", build, 2, optimizer)
    assert_same_updates(got, expected)


def test_uoro_estimates_through_a_state_handed_on_as_it_is_average_to_the_exact_gradient():
    """The same for UORO's s~: m handed on at steps 3 and 4 keeps its direction (it was 0 there, which
    biased every later loss's estimate). 1,000 estimates over 5 steps, one update, against BPTT's."""
    build = lambda: handing_on_problem(learned_h0=False, steps=5)
    exact = tbptt_gradient(build)
    estimates = []
    for seed in range(1000):
        step, state, inputs, targets, params = build()
        mg.bptt.uoro(step, state, inputs, targets, loss_fn, params, k1=5, rng=seed)
        estimates.append(np.concatenate([p.grad.ravel() for p in params.values()]))
    assert_unbiased(np.stack(estimates), exact, exact_entries=15)


# ---- a step that changes its state in place ------------------------------------------------------

def _in_place_problem():
    """h_t = (h_(t-1) + x_t W) U elementwise, h_0 = 0, output h_t, l_t = ||h_t - y_t||^2, 6 steps, k1 = 2."""
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    return xs, ys, np.full(3, 0.5), np.full(3, 0.7)


def _in_place_updates(runner: str, reset_with_zero: bool = False, in_place: bool = True) -> list:
    """_in_place_problem's step written with `h += x * W` (and, with `reset_with_zero`, the state zeroed in
    place at step 3 by h.zero_()): [W's, U's] gradient at each update of `runner` (uoro's signs from
    np.random.default_rng(1))."""
    xs_data, ys_data, W_data, U_data = _in_place_problem()
    xs, ys = [mg.tensor(x) for x in xs_data], [mg.tensor(y) for y in ys_data]
    W, U = mg.tensor(W_data, requires_grad=True), mg.tensor(U_data, requires_grad=True)
    count = [0]

    def step(x, h):
        count[0] += 1
        if reset_with_zero and count[0] == 3:
            h.zero_()
        if in_place:
            h += x * W
        else:
            h = h + x * W
        h = h * U
        return h, h

    grads = []

    def on_update(u, loss):
        grads.append(np.concatenate([W.grad, U.grad]))
        W.grad = U.grad = None

    options = {"rng": np.random.default_rng(1)} if runner == "uoro" else {}
    getattr(mg.bptt, runner)(step, mg.zeros(3, dtype=np.float64), xs, ys, lambda o, y: ((o - y) ** 2).sum(),
                             {"W": W, "U": U}, k1=2, on_update=on_update, **options)
    return grads


def _numpy_online_gradients(reset_with_zero: bool, eps: float = 1e-6) -> list:
    """RTRL's gradient by its definition, TBPTT(2, n)'s: at u = 2, 4, 6, dL_u/d[W, U] of
    L_u = l_(u-1) + l_u through the whole history (h zeroed before step 3 when `reset_with_zero`),
    by central differences of the loss written in numpy."""
    xs, ys, W, U = _in_place_problem()

    def L(theta, u):
        W, U = theta[:3], theta[3:]
        h, total = np.zeros(3), 0.0
        for t in range(1, u + 1):
            h = ((0 * h if reset_with_zero and t == 3 else h) + xs[t - 1] * W) * U
            if t > u - 2:
                total += np.sum((h - ys[t - 1]) ** 2)
        return total

    theta, grads = np.concatenate([W, U]), []
    for u in (2, 4, 6):
        steps = np.eye(6) * eps
        grads.append(np.array([(L(theta + e, u) - L(theta - e, u)) / (2 * eps) for e in steps]))
    return grads


def _numpy_uoro(signs_rng: np.random.Generator, eps: float = 1e-7) -> list:
    """UORO (Tallec & Ollivier, 2018, as the docstring of mg.bptt.rtrl.RankOne writes it) by hand for
    _in_place_problem: f(h) = (h + x W) U, so df/dh = diag(U), df/dW = diag(x U), df/dU = diag(h + x W).
    Per step: the estimate 2 (h_t - y_t) . (U s~) theta~ + dl_t/dtheta; signs nu (one draw of 3 from
    signs_rng); s~ <- rho0 U s~ + rho1 nu, theta~ <- theta~ / rho0 + [nu x U, nu (h + x W)] / rho1 with
    rho0 = sqrt((|theta~| + eps) / (|U s~| + eps)), rho1 = sqrt((|nu^T df/dtheta| + eps) / (|nu| + eps)).
    The estimates summed over each update's two steps."""
    xs, ys, W, U = _in_place_problem()
    h, s, theta = np.zeros(3), np.zeros(3), np.zeros(6)
    grads, total = [], np.zeros(6)
    for t, (x, y) in enumerate(zip(xs, ys), 1):
        pre = h + x * W
        h_new = pre * U
        residual = 2 * (h_new - y)
        total = total + residual @ (U * s) * theta + np.concatenate([residual * x * U, residual * pre])
        nu = signs_rng.choice(np.array([-1.0, 1.0]), size=3)
        along, nu_theta = U * s, np.concatenate([nu * x * U, nu * pre])
        rho0 = np.sqrt((np.linalg.norm(theta) + eps) / (np.linalg.norm(along) + eps))
        rho1 = np.sqrt((np.linalg.norm(nu_theta) + eps) / (np.linalg.norm(nu) + eps))
        s, theta, h = rho0 * along + rho1 * nu, theta / rho0 + nu_theta / rho1, h_new
        if t % 2 == 0:
            grads.append(total)
            total = np.zeros(6)
    return grads


@pytest.mark.parametrize("reset_with_zero", [False, True], ids=["h += x W", "and h.zero_() at step 3"])
def test_rtrl_follows_a_step_that_changes_its_state_in_place_with_the_gradient_of_its_loss(reset_with_zero):
    """The fed state's node is taken before the step (h += ... gives h a new one), and a state zeroed
    in place is a constant in the forward-mode run: W.grad was None, or the reset kept its tangent.
    Reference: central differences of each update's loss in numpy (as TBPTT(2, n) defines it)."""
    got = _in_place_updates("rtrl", reset_with_zero)
    expected = _numpy_online_gradients(reset_with_zero)
    assert len(got) == len(expected) == 3
    for u, (want, have) in enumerate(zip(expected, got)):
        np.testing.assert_allclose(have, want, rtol=1e-7, atol=1e-9, err_msg=f"update {u}")


@pytest.mark.parametrize("in_place", [True, False], ids=["h += x W", "h = h + x W"])
def test_uoro_follows_a_step_that_changes_its_state_in_place_as_uoro_written_out_in_numpy(in_place):
    """With the same random signs (a generator seeded alike, drawn as uoro draws them: 3 signs a step
    by rng.choice), uoro's estimates for h += x W are those of UORO written out in numpy (W got no
    gradient at all before the fed state's nodes were taken first). UORO is stochastic: only its
    arithmetic given the signs is checked here; its mean is checked against exact gradients above."""
    got = _in_place_updates("uoro", in_place=in_place)
    expected = _numpy_uoro(np.random.default_rng(1))
    assert len(got) == len(expected) == 3
    assert not np.allclose(got[-1], _numpy_online_gradients(False)[-1], rtol=1e-3)      # noisy, not RTRL's
    for u, (want, have) in enumerate(zip(expected, got)):
        np.testing.assert_allclose(have, want, rtol=1e-10, atol=1e-12, err_msg=f"update {u}")


def test_an_integer_counter_in_the_state_is_the_steps_own_to_count_in_place():
    """A step that counts with n += 1 leaves the caller's initial counter at 0, as tbptt does."""
    W = mg.tensor(np.full(3, 0.5), requires_grad=True, dtype=np.float64)
    xs = [mg.tensor(np.ones(3), dtype=np.float64) for _ in range(4)]

    def step(x, state):
        h, n = state
        n += 1
        h = (h + x * W).tanh()
        return h, (h, n)

    for runner in ("rtrl", "uoro"):
        counter = mg.tensor(0)
        state = (mg.zeros(3, dtype=np.float64), counter)
        result = getattr(mg.bptt, runner)(step, state, xs, xs, lambda o, y: ((o - y) ** 2).sum(), {"W": W})
        assert counter.item() == 0 and result.state[1].item() == 4
