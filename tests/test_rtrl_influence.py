"""RTRL's influence matrix on view: `on_step(t, influence)` of `mg.bptt.rtrl` and `mg.bptt.uoro`.

`influence` is P_t = dh_t/dtheta, per state tensor h a dict name -> dh_t/dp of shape h.shape + p.shape: the
layout of PyTorch's `torch.autograd.functional.jacobian` ("Jacobian[i][j] ... will have as size the
concatenation of the sizes of the corresponding output and the corresponding input"; with strict=False "a
Tensor of zeros as the jacobian" for an input the output does not depend on), read in pytorch/pytorch,
torch/autograd/functional.py at commit 83b8b8ca8239f608e195ea7e7a0951103ea16bb7. The LSTM written out in
numpy below follows `nn.LSTMCell`'s docstring (i, f, g, o; c' = f c + i g; h' = o tanh(c'); weight_ih of
shape (4*hidden_size, input_size)), pytorch/pytorch, torch/nn/modules/rnn.py at commit
e6f551aa3e44ae79694352a686f9cf503768ead6.

Expected values: the recursion P_t = diag(1 - h_t^2)(W_hh P_(t-1) + dpre_t/dtheta) written out in numpy,
central differences of h_t in float64 (of forward passes written in numpy), UORO's mean over every pattern
of its random signs, and RTRL training written out in numpy. None comes from the library.
"""

import importlib
import itertools

import numpy as np
import pytest

import microgradseq as mg

rtrl_module = importlib.import_module("microgradseq.bptt.rtrl")     # (mg.bptt.rtrl is the function)

F64 = np.float64
EPS = 1e-6

# The lecture's 2-unit tanh RNN (one input), three steps from h_0 = 0
W_IH = np.array([[0.5], [-0.3]])
W_HH = np.array([[0.1, 0.2], [-0.4, 0.3]])
B_IH, B_HH = np.array([0.0, 0.1]), np.array([0.05, -0.05])
XS = [np.array([1.0]), np.array([-0.5]), np.array([2.0])]
VALUES = {"W_ih": W_IH, "W_hh": W_HH, "b_ih": B_IH, "b_hh": B_HH}


# ---- references written out in numpy --------------------------------------------------------------------

def rnn_states(values, xs=XS):
    """h_1 .. h_n of h_t = tanh(W_ih x_t + W_hh h_(t-1) + b_ih + b_hh), h_0 = values.get("h0", 0)."""
    h, out = values.get("h0", np.zeros(2)), []
    for x in xs:
        h = np.tanh(values["W_ih"] @ x + values["W_hh"] @ h + values["b_ih"] + values["b_hh"])
        out.append(h)
    return out


def hand_influence(values, xs=XS):
    """P_1 .. P_n by P_t = D_t (W_hh P_(t-1) + M_t), D_t = diag(1 - h_t^2), over theta = the entries of
    `values` in its order; M_t, the direct part: row i has x_t in W_ih[i, :]'s columns, h_(t-1) in
    W_hh[i, :]'s and 1 in b_ih[i]'s and b_hh[i]'s. P_0 = 0, or the identity in h0's block when h0 is one
    of `values`. Each P_t split into Jacobian blocks: name -> array of shape (2,) + p.shape."""
    names = list(values)
    sizes = [values[name].size for name in names]
    starts = dict(zip(names, np.cumsum([0] + sizes[:-1])))
    P = np.zeros((2, sum(sizes)))
    if "h0" in values:
        P[:, starts["h0"]:starts["h0"] + 2] = np.eye(2)
    h, Ps = values.get("h0", np.zeros(2)), []
    for x in xs:
        h_new = np.tanh(values["W_ih"] @ x + values["W_hh"] @ h + values["b_ih"] + values["b_hh"])
        M = np.zeros_like(P)
        for i in range(2):
            M[i, starts["W_ih"] + i] = x[0]
            M[i, starts["W_hh"] + 2 * i:starts["W_hh"] + 2 * i + 2] = h
            M[i, starts["b_ih"] + i] = 1.0
            M[i, starts["b_hh"] + i] = 1.0
        P = (1 - h_new ** 2)[:, None] * (values["W_hh"] @ P + M)
        h = h_new
        Ps.append({name: P[:, starts[name]:starts[name] + size].reshape((2,) + values[name].shape)
                   for name, size in zip(names, sizes)})
    return Ps


def central_influence(states_of, values):
    """dh_t/dp by central differences, for every h_t states_of(values) returns (a list of steps, each an
    array or a tuple of arrays) and every p in `values`: [step][tensor] -> {name: h.shape + p.shape}."""
    def as_tuple(step):
        return step if isinstance(step, tuple) else (step,)
    base = [as_tuple(step) for step in states_of(values)]
    found = [[{} for _ in step] for step in base]
    for name, value in values.items():
        columns = [[[] for _ in step] for step in base]
        for j in range(value.size):
            up, down = dict(values), dict(values)
            bump = np.zeros(value.size)
            bump[j] = EPS
            up[name] = value + bump.reshape(value.shape)
            down[name] = value - bump.reshape(value.shape)
            for t, (a, b) in enumerate(zip(states_of(up), states_of(down))):
                for i, (ha, hb) in enumerate(zip(as_tuple(a), as_tuple(b))):
                    columns[t][i].append((ha - hb) / (2 * EPS))
        for t, step in enumerate(base):
            for i, h in enumerate(step):
                found[t][i][name] = np.moveaxis(np.array(columns[t][i]), 0, -1).reshape(h.shape + value.shape)
    return found


def assert_blocks_close(got, expected, atol):
    assert list(got) == list(expected)
    for name in expected:
        assert got[name].shape == expected[name].shape, name
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=atol, err_msg=name)


# ---- the library's side ---------------------------------------------------------------------------------

def tensors(values):
    return {name: mg.tensor(value, dtype=F64, requires_grad=True) for name, value in values.items()}


def hand_step(params):
    """The RNN written with tensor ops; h0 = None at step 1 means h_0 = 0 (W_hh not read)."""
    def step(x, h):
        pre = params["W_ih"] @ x + params["b_ih"] + params["b_hh"]
        if h is not None:
            pre = pre + params["W_hh"] @ h
        h = pre.tanh()
        return h, h
    return step


def record(runner, step, state, params, xs=XS, targets=None, **options):
    """Run `runner` with on_step and return [(t, influence)] (the arrays as handed out)."""
    seen = []
    runner(step, state, [mg.tensor(x, dtype=F64) for x in xs], targets or [None] * len(xs),
           lambda out, target: (out * target).sum(), params, on_step=lambda t, P: seen.append((t, P)), **options)
    return seen


# ---- rtrl: P_1, P_2, P_3 of the lecture's 2-unit RNN ------------------------------------------------------

def test_p1_p2_p3_of_a_hand_written_2_unit_rnn_are_the_numpy_recursion_and_central_differences():
    """The dicts kept from every step, compared after the run (later steps must not have changed them):
    P_t's blocks against the recursion (to rounding) and against central differences of h_t. P_1's
    W_hh block is exactly zero (h_0 = 0: step 1 does not read W_hh)."""
    seen = record(mg.bptt.rtrl, hand_step(params := tensors(VALUES)), None, params)
    assert [t for t, _ in seen] == [1, 2, 3]
    hand = hand_influence(VALUES)
    differences = central_influence(rnn_states, VALUES)
    for (t, P), expected, numerical in zip(seen, hand, differences):
        assert isinstance(P, dict)
        assert_blocks_close(P, expected, atol=1e-15)
        assert_blocks_close(P, numerical[0], atol=1e-9)
    assert np.all(seen[0][1]["W_hh"] == 0)
    D1 = 1 - rnn_states(VALUES)[0] ** 2
    np.testing.assert_allclose(seen[0][1]["b_ih"], np.diag(D1), rtol=0, atol=1e-15)
    np.testing.assert_allclose(seen[0][1]["W_ih"][:, :, 0], np.diag(D1 * XS[0][0]), rtol=0, atol=1e-15)


def test_an_rnn_cell_gives_its_own_names_and_the_same_blocks_batched_or_not():
    """nn.RNNCell with the lecture's weights: named_parameters' names; unbatched h of shape (2,) gives
    (2,) + p.shape; a batch of one, (1, 2) + p.shape, the same numbers."""
    cell = mg.nn.RNNCell(1, 2, dtype=F64)
    with mg.no_grad():
        for p, value in zip([cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh], VALUES.values()):
            p.copy_(mg.tensor(value, dtype=F64))
    hand = hand_influence(VALUES)
    renamed = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}
    for batched in (False, True):
        xs = [x[None] for x in XS] if batched else XS
        seen = record(mg.bptt.rtrl, lambda x, h: (cell(x, h),) * 2, None, cell.named_parameters(), xs=xs)
        for (t, P), expected in zip(seen, hand):
            assert list(P) == list(renamed)
            for name, short in renamed.items():
                want = expected[short][None] if batched else expected[short]
                assert P[name].shape == want.shape
                np.testing.assert_allclose(P[name], want, rtol=0, atol=1e-15)


def test_names_are_the_mappings_keys_or_params_i_for_a_plain_list_a_tied_weight_once_a_frozen_one_never():
    params = tensors(VALUES)
    listed = [params["W_ih"], params["W_hh"], params["b_ih"], params["b_hh"], params["W_hh"]]    # tied twice
    seen = record(mg.bptt.rtrl, hand_step(params), None, listed)
    assert list(seen[-1][1]) == ["params[0]", "params[1]", "params[2]", "params[3]"]
    np.testing.assert_allclose(seen[-1][1]["params[1]"], hand_influence(VALUES)[-1]["W_hh"], rtol=0, atol=1e-15)

    cell = mg.nn.RNNCell(1, 2, dtype=F64)
    cell.bias_hh.requires_grad_(False)
    seen = record(mg.bptt.rtrl, lambda x, h: (cell(x, h),) * 2, None, cell.named_parameters())
    assert list(seen[0][1]) == ["weight_ih", "weight_hh", "bias_ih"]


# ---- a tuple state, a learned h0, parameters that do not reach ---------------------------------------------

def lstm_states(values, xs, state):
    """nn.LSTMCell's equations in numpy, gates in rows i, f, g, o: [(h_t, c_t)] for t = 1..n."""
    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
    h, c = state
    out = []
    for x in xs:
        gates = x @ values["weight_ih"].T + values["bias_ih"] + h @ values["weight_hh"].T + values["bias_hh"]
        i, f, g, o = np.split(gates, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append((h, c))
    return out


def test_an_lstms_influence_is_a_tuple_of_dicts_h_then_c_matching_central_differences():
    rng = np.random.default_rng(3)
    cell = mg.nn.LSTMCell(2, 2, rng=rng, dtype=F64)
    xs = rng.standard_normal((3, 2, 2))                       # 3 steps, batch 2
    h0, c0 = rng.standard_normal((2, 2)) * 0.5, rng.standard_normal((2, 2)) * 0.5
    seen = []
    result = mg.bptt.rtrl(lambda x, s: (s[0], cell(x, s)), (mg.tensor(h0), mg.tensor(c0)), xs, [None] * 3,
                          lambda out, target: out.sum(), cell.named_parameters(),
                          on_step=lambda t, P: seen.append(P))
    values = {name: p.data.copy() for name, p in cell.named_parameters()}
    states = lstm_states(values, xs, (h0, c0))
    np.testing.assert_allclose(result.state[0].data, states[-1][0], rtol=0, atol=1e-14)   # the numpy LSTM is it
    numerical = central_influence(lambda v: lstm_states(v, xs, (h0, c0)), values)
    assert len(seen) == 3
    for P, expected in zip(seen, numerical):
        assert isinstance(P, tuple) and len(P) == 2
        for blocks, want in zip(P, expected):              # h's dict, then c's
            assert_blocks_close(blocks, want, atol=1e-9)
            assert blocks["weight_ih"].shape == (2, 2, 8, 2)
    assert np.abs(seen[0][0]["weight_hh"]).max() > 1e-3         # h_0 is not zero: step 1 reads W_hh


def test_a_learned_h0_starts_from_the_identity_block_of_p0():
    """h0 a parameter: P_0's h0 block is the identity, so P_1's is D_1 W_hh, and on from there; against
    the recursion started from that P_0 and against central differences in h0."""
    values = {**VALUES, "h0": np.array([0.3, -0.6])}
    params = tensors(values)
    seen = record(mg.bptt.rtrl, hand_step(params), params["h0"], params)
    hand = hand_influence(values)
    numerical = central_influence(rnn_states, values)
    for (t, P), expected, by_differences in zip(seen, hand, numerical):
        assert_blocks_close(P, expected, atol=1e-15)
        assert_blocks_close(P, by_differences[0], atol=1e-9)
    h1 = rnn_states(values)[0]
    np.testing.assert_allclose(seen[0][1]["h0"], (1 - h1 ** 2)[:, None] * W_HH, rtol=0, atol=1e-15)


def test_a_parameter_the_state_does_not_reach_and_a_state_no_parameter_reaches_are_zeros():
    """A readout V read only for the output: its block is zeros of shape h.shape + V.shape at every step.
    A step counter in the state (an integer no parameter reaches): its dict holds zeros of shape p.shape."""
    params = tensors({**VALUES, "V": np.arange(6.0).reshape(3, 2)})
    cell = hand_step(params)

    def step(x, state):
        h, count = state
        h = cell(x, h)[1]
        return params["V"] @ h, (h, count + 1)

    seen = record(mg.bptt.rtrl, step, (None, mg.tensor(0)), params, targets=[np.ones(3)] * 3)
    hand = hand_influence(VALUES)
    for (t, (P_h, P_count)), expected in zip(seen, hand):
        assert P_h["V"].shape == (2, 3, 2) and np.all(P_h["V"] == 0)
        assert_blocks_close({k: v for k, v in P_h.items() if k != "V"}, expected, atol=1e-15)
        assert list(P_count) == list(params)
        for name, block in P_count.items():
            assert block.shape == params[name].shape and np.all(block == 0)


# ---- when it is called, what it may change, what it costs ------------------------------------------------

@pytest.mark.parametrize("runner", [mg.bptt.rtrl, mg.bptt.uoro])
def test_on_step_comes_after_each_step_and_before_that_steps_update(runner):
    events = []
    params = tensors(VALUES)
    runner(hand_step(params), None, [mg.tensor(x, dtype=F64) for x in XS * 2], [np.ones(2)] * 6,
           lambda h, y: (h * y).sum(), params, k1=4, on_update=lambda u, loss: events.append(("update", u)),
           on_step=lambda t, P: events.append(("step", t)))
    assert events == [("step", 1), ("step", 2), ("step", 3), ("step", 4), ("update", 4), ("step", 5),
                      ("step", 6), ("update", 6)]


@pytest.mark.parametrize("runner", [mg.bptt.rtrl, mg.bptt.uoro])
def test_the_arrays_are_read_only_and_no_two_steps_share_memory(runner):
    params = tensors(VALUES)
    seen = record(runner, hand_step(params), None, params, **({"rng": 0} if runner is mg.bptt.uoro else {}))
    for t, P in seen:
        for name, block in P.items():
            assert not block.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                block[...] = 1.0
    for (_, a), (_, b) in itertools.combinations(seen, 2):
        assert not any(np.shares_memory(a[name], b[name]) for name in a)


@pytest.mark.parametrize("runner, where", [(mg.bptt.rtrl, "rtrl"), (mg.bptt.uoro, "uoro")])
@pytest.mark.parametrize("bad", [3, "print", [print]])
def test_an_on_step_that_cannot_be_called_is_refused_before_anything_runs(runner, where, bad):
    params = tensors(VALUES)
    calls = []
    step = hand_step(params)
    optimizer = mg.optim.SGD(list(params.values()), lr=0.1)
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    options = {"rng": rng} if where == "uoro" else {}
    with pytest.raises(TypeError, match=f"^{where}: on_step must be callable, got {type(bad).__name__}$"):
        runner(lambda x, h: calls.append(x) or step(x, h), None, [mg.tensor(x, dtype=F64) for x in XS],
               [np.ones(2)] * 3, lambda h, y: (h * y).sum(), params, optimizer=optimizer, on_step=bad, **options)
    assert calls == []
    for name, p in params.items():
        assert p.grad is None and np.array_equal(p.data, VALUES[name])
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("runner", [mg.bptt.rtrl, mg.bptt.uoro])
def test_without_on_step_no_influence_is_made(runner, monkeypatch):
    """The per-step cost stays zero without on_step: the learners' `influence` is never called."""
    def refuse(self):
        raise AssertionError("influence made without on_step")
    monkeypatch.setattr(rtrl_module.Sensitivities, "influence", refuse)
    monkeypatch.setattr(rtrl_module.RankOne, "influence", refuse)
    params = tensors(VALUES)
    result = runner(hand_step(params), None, [mg.tensor(x, dtype=F64) for x in XS], [np.ones(2)] * 3,
                    lambda h, y: (h * y).sum(), params)
    assert result.updates == [1, 2, 3]


def numpy_rtrl_training(k1, lr, ys):
    """RTRL with SGD written out: l_t = ||h_t - y_t||^2, dl_t/dtheta = 2 (h_t - y_t) P_t with each step's
    own weights, summed between updates, theta -= lr * sum at u = k1, 2 k1, ..., n. P is carried across
    updates as it is. Returns (the losses L_u, the final weights)."""
    values = {name: value.astype(F64).copy() for name, value in VALUES.items()}
    names, sizes = list(values), [v.size for v in values.values()]
    P, h, total, gradient, losses = np.zeros((2, sum(sizes))), np.zeros(2), 0.0, 0.0, []
    for t, (x, y) in enumerate(zip(XS * 2, ys), 1):
        h_new = np.tanh(values["W_ih"] @ x + values["W_hh"] @ h + values["b_ih"] + values["b_hh"])
        M = np.zeros_like(P)
        for i in range(2):
            M[i, i], M[i, 2 + 2 * i:4 + 2 * i], M[i, 6 + i], M[i, 8 + i] = x[0], h, 1.0, 1.0
        P = (1 - h_new ** 2)[:, None] * (values["W_hh"] @ P + M)
        h = h_new
        total += float(((h - y) ** 2).sum())
        gradient = gradient + 2 * (h - y) @ P
        if t % k1 == 0 or t == len(ys):
            losses.append(total)
            flat = np.concatenate([values[name].ravel() for name in names]) - lr * gradient
            values = {name: part.reshape(values[name].shape)
                      for name, part in zip(names, np.split(flat, np.cumsum(sizes)[:-1]))}
            total, gradient = 0.0, 0.0
    return losses, values


@pytest.mark.parametrize("k1", [1, 2, 4])
@pytest.mark.parametrize("with_on_step", [False, True])
def test_training_is_rtrl_with_sgd_written_out_in_numpy_with_or_without_on_step(k1, with_on_step):
    ys = [np.array([0.3, -0.2]), np.array([-0.5, 0.4]), np.array([0.1, 0.1])] * 2
    params = tensors(VALUES)
    options = {"on_step": lambda t, P: None} if with_on_step else {}
    result = mg.bptt.rtrl(hand_step(params), None, [mg.tensor(x, dtype=F64) for x in XS * 2], ys,
                          lambda h, y: ((h - y) ** 2).sum(), params, k1=k1,
                          optimizer=mg.optim.SGD(list(params.values()), lr=0.3), **options)
    losses, values = numpy_rtrl_training(k1, 0.3, ys)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-13, atol=0)
    for name, p in params.items():
        np.testing.assert_allclose(p.data, values[name], rtol=0, atol=1e-14, err_msg=name)
    assert max(np.abs(values[name] - VALUES[name]).max() for name in VALUES) > 1e-2     # it did train


# ---- uoro: a rank-one estimate whose mean over the signs is P_t --------------------------------------------

class ChosenSigns(np.random.Generator):
    """A Generator whose `choice` hands out the given signs in order: uoro draws its signs nu, for each
    state tensor after each step, by rng.choice(array([-1, 1]), size=h.shape)."""

    def __init__(self, signs):
        super().__init__(np.random.PCG64(0))
        self.signs = list(signs)

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        assert sorted(np.asarray(a).tolist()) == [-1.0, 1.0]
        return np.asarray(self.signs.pop(0), np.asarray(a).dtype).reshape(size)


def flattened(P):
    """The blocks side by side: the 2 x |theta| matrix a slide shows."""
    return np.concatenate([block.reshape(2, -1) for block in P.values()], axis=1)


@pytest.mark.parametrize("learned_h0", [False, True])
def test_uoros_estimate_is_rank_one_and_its_mean_over_every_pattern_of_signs_is_p_t_exactly(learned_h0):
    """Two signs a step for 3 steps: all 2^6 patterns, equally likely. Each step's estimate is rank one
    (s~ theta~^T: its second singular value is zero to rounding), the mean over the patterns is the
    numpy recursion's P_t to rounding (UORO's estimate is unbiased), and a single draw is not P_t."""
    values = {**VALUES, "h0": np.array([0.3, -0.6])} if learned_h0 else VALUES
    hand = hand_influence(values)
    estimates = []
    for pattern in itertools.product([-1.0, 1.0], repeat=6):
        rng = ChosenSigns([pattern[0:2], pattern[2:4], pattern[4:6]])
        params = tensors(values)
        seen = record(mg.bptt.uoro, hand_step(params), params["h0"] if learned_h0 else None, params, rng=rng)
        assert rng.signs == []
        for t, P in seen:
            assert list(P) == list(values) and all(P[name].shape == (2,) + values[name].shape for name in values)
            singular = np.linalg.svd(flattened(P), compute_uv=False)
            assert singular[1] <= 1e-14 * singular[0], (pattern, t)
        estimates.append([flattened(P) for _, P in seen])
    mean = np.mean(estimates, axis=0)
    for t in range(3):
        np.testing.assert_allclose(mean[t], flattened(hand[t]), rtol=0, atol=1e-14)
        assert np.abs(np.array(estimates)[:, t] - flattened(hand[t])).max() > 0.1 * np.abs(flattened(hand[t])).max()


def test_uoros_first_estimate_is_nu_nu_transpose_times_p1():
    """After step 1, s~ = rho1 nu and theta~ = nu^T P_1 / rho1 (step 1 is differentiated exactly), so the
    estimate is nu nu^T P_1, whatever rho1: with nu = (1, -1), row i is nu_i (P_1[0] - P_1[1])."""
    params = tensors(VALUES)
    seen = record(mg.bptt.uoro, hand_step(params), None, params, rng=ChosenSigns([[1.0, -1.0]] * 3))
    P1 = flattened(hand_influence(VALUES)[0])
    nu = np.array([1.0, -1.0])
    np.testing.assert_allclose(flattened(seen[0][1]), np.outer(nu, nu) @ P1, rtol=0, atol=1e-15)
