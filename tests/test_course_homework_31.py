"""Three homework assignments of an autodiff course, solved as a student would from the README, docs/ and
the docstrings; each test is a reference solution checked against hand-written numpy, a closed form or
central finite differences (never against a number the library produced by another route).

1. A GRU cell written with tensor ops, in PyTorch's equations and gate order (r, z, n), against
   `mg.nn.GRUCell` with copied weights and against numpy; gradients by central differences and gradcheck.
2. The vanishing gradient: dL/dh_t read with hooks under full BPTT and TBPTT(k1, k2) (docs/tbptt.md's
   definition, the runner `mg.bptt.tbptt`), and each update's gradient against a numpy TBPTT, optimizer
   steps between updates included (rule 5: the recorded values), to 1e-10 in float64; an adding task trained.
3. Forward mode: a JVP of an LSTM's final hidden state with respect to `weight_ih`, against numpy central
   differences and against uᵀJ from a VJP (uᵀ(Jv) = (uᵀJ)v); RTRL on a tiny RNN and an LSTM against numpy
   BPTT and central differences.

Sources read (not ported from memory):
- PyTorch's GRUCell and LSTMCell equations, gate orders and weight shapes: pytorch/pytorch,
  torch/nn/modules/rnn.py at e6f551aa3e44ae79694352a686f9cf503768ead6 (classes GRUCell, LSTMCell).
- PyTorch's forward-mode tutorial, "Usage with Modules" (delattr, then setattr of dual tensors) and
  functional_call with dual parameters: pytorch/tutorials, intermediate_source/forward_ad_usage.py at
  2dac3e41051684b8a9ad78263220c053bf35f5b2.
- torch.func's API reference (docs/source/func.api): a Jacobian over a module's parameters needs
  functional_call, so that they are the function's inputs; a tensor a function reaches otherwise is not one.
"""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.autograd.forward_ad as fwAD
from microgradseq.functional import mse_loss

EPS = 1e-6


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def central_differences(f, x, eps=EPS):
    """d f / d x by central differences, f: array -> array; shape f(x).shape + x.shape."""
    rows = []
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        rows.append((f(x + step) - f(x - step)) / (2 * eps))
    out = np.array(rows)                                  # (x.size,) + f.shape
    return np.moveaxis(out, 0, -1).reshape(out.shape[1:] + x.shape)


# ---- homework 1: a GRU cell of one's own -----------------------------------------------------------

def numpy_gru(x, h, W_ih, W_hh, b_ih, b_hh):
    """PyTorch's GRUCell: rows r, z, n of weight_ih and weight_hh; r multiplies W_hn h + b_hn."""
    H = h.shape[-1]
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def my_gru(x, h, W_ih, W_hh, b_ih, b_hh):
    """The student's answer: the same equations with tensor ops only."""
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def gru_problem(seed=0, I=3, H=4, B=2):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((3 * H, I)) * 0.5,
              rng.standard_normal((3 * H, H)) * 0.5, rng.standard_normal(3 * H) * 0.5,
              rng.standard_normal(3 * H) * 0.5]
    return arrays, [mg.tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_hw1_my_gru_and_grucell_with_copied_weights_match_numpy(fused):
    arrays, tensors = gru_problem()
    expected = numpy_gru(*arrays)
    np.testing.assert_allclose(my_gru(*tensors).data, expected, rtol=0, atol=1e-14)
    x, h, W_ih, W_hh, b_ih, b_hh = arrays
    cell = mg.nn.GRUCell(3, 4, dtype=np.float64, fused=fused)
    cell.load_state_dict({"weight_ih": W_ih, "weight_hh": W_hh, "bias_ih": b_ih, "bias_hh": b_hh})
    np.testing.assert_allclose(cell(mg.tensor(x), mg.tensor(h)).data, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(cell(mg.tensor(x[0]), hx=mg.tensor(h[0])).data, expected[0], atol=1e-14)


def test_hw1_my_gru_gradients_match_numpy_central_differences():
    """dL/d(every input) for L = Σ w ⊙ h', w fixed weights, against central differences of numpy_gru."""
    arrays, tensors = gru_problem(seed=1)
    w = np.random.default_rng(2).standard_normal((2, 4))
    (my_gru(*tensors) * w).sum().backward()
    for position, (array, tensor) in enumerate(zip(arrays, tensors)):
        def loss(a, position=position):
            moved = list(arrays)
            moved[position] = a
            return np.array((numpy_gru(*moved) * w).sum())
        np.testing.assert_allclose(tensor.grad, central_differences(loss, array), rtol=1e-7, atol=1e-9)


def test_hw1_gradcheck_in_float64_reverse_and_forward_mode_over_three_steps():
    arrays, tensors = gru_problem(seed=3)
    xs = [mg.tensor(a, requires_grad=True) for a in np.random.default_rng(4).standard_normal((3, 2, 3))]

    def unrolled(h, W_ih, W_hh, b_ih, b_hh, *xs):
        for x in xs:
            h = my_gru(x, h, W_ih, W_hh, b_ih, b_hh)
        return h

    assert mg.gradcheck(unrolled, tensors[1:] + xs, check_forward_ad=True)
    assert mg.autograd.gradcheck(my_gru, tuple(tensors))


def test_hw1_chos_gru_passes_gradcheck_but_is_not_pytorchs_function():
    """The common slip, r applied to h before W_hn (Cho et al.'s form): its gradients are right for the
    wrong function, so only the comparison with PyTorch's equations catches it."""
    arrays, tensors = gru_problem(seed=5)
    H = 4

    def cho_gru(x, h, W_ih, W_hh, b_ih, b_hh):
        i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
        h_r, h_z, _ = (h @ W_hh.T + b_hh).chunk(3, dim=1)
        r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
        n = (i_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:]).tanh()
        return (1 - z) * n + z * h

    assert mg.gradcheck(cho_gru, tensors)
    assert np.abs(cho_gru(*tensors).data - numpy_gru(*arrays)).max() > 1e-3


def test_hw1_gradcheck_on_float32_says_to_use_float64():
    x = mg.tensor(np.linspace(-1, 1, 3, dtype=np.float32), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="float64"):
        mg.gradcheck(lambda x: (x.tanh() ** 3).sum(), [x])


def test_cell_docstrings_give_pytorchs_equations():
    """help(mg.nn.GRUCell) is where a student looks first for the gate order and where b_hn goes."""
    assert "n = tanh(W_in x + b_in + r * (W_hn h + b_hn))" in mg.nn.GRUCell.__doc__
    assert "h' = (1 - z) * n + z * h" in mg.nn.GRUCell.__doc__
    assert "c' = f * c + i * g" in mg.nn.LSTMCell.__doc__ and "h' = o * tanh(c')" in mg.nn.LSTMCell.__doc__


def test_a_device_passed_where_pytorch_puts_it_says_to_pass_it_by_keyword():
    """PyTorch: GRUCell(input_size, hidden_size, bias=True, device=None, dtype=None); here rng holds
    that place."""
    with pytest.raises(TypeError, match="GRUCell: rng must be .* got str; a device goes by keyword"):
        mg.nn.GRUCell(3, 4, True, "cpu")
    with pytest.raises(TypeError, match="Linear: rng must be .* got device; a device goes by keyword"):
        mg.nn.Linear(3, 4, True, mg.device("cpu"))
    assert mg.nn.GRUCell(3, 4, True, None, np.float64, device="cpu").weight_ih.dtype == np.float64


# ---- homework 2: truncated BPTT against numpy, and the vanishing gradient ------------------------

NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "readout.weight", "readout.bias"]


def numpy_tbptt(weights, xs, ys, k1, k2, lr=0.0, reduction="sum"):
    """docs/tbptt.md's TBPTT(k1, k2) for h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), o_t = W_o h_t + b_o,
    l_t = ||o_t - y_t||² (None: no loss), h_0 = 0, and SGD(lr) after every update that has a loss. Each
    step keeps the weights it ran with (rule 5). Returns [(u, grads or None, {t: dL_u/dh_t})]."""
    n, B = len(xs), xs.shape[1]
    w = dict(weights)
    hs, used, outs = [np.zeros((B, w["weight_hh"].shape[0]))], [None], [None]
    updates = list(range(k1, n + 1, k1)) + ([n] if n % k1 else [])
    previous, history = 0, []
    for t in range(1, n + 1):
        used.append(dict(w))
        hs.append(np.tanh(xs[t - 1] @ w["weight_ih"].T + w["bias_ih"] + hs[-1] @ w["weight_hh"].T + w["bias_hh"]))
        outs.append(hs[-1] @ w["readout.weight"].T + w["readout.bias"])
        if t not in updates:
            continue
        u, cut = t, max(0, t - k2)
        injected = [s for s in range(previous + 1, u + 1) if ys[s - 1] is not None]
        scale = 1.0 / len(injected) if reduction == "mean" and injected else 1.0
        g = {name: np.zeros_like(value) for name, value in w.items()}
        deltas, delta = {}, np.zeros_like(hs[0])

        def readout_loss(s):
            d_out = scale * 2 * (outs[s] - ys[s - 1])
            g["readout.weight"] += d_out.T @ hs[s]
            g["readout.bias"] += d_out.sum(0)
            return d_out @ used[s]["readout.weight"]

        for s in range(u, cut, -1):                       # the window: cells cut + 1 .. u
            if s in injected:
                delta = delta + readout_loss(s)
            if s <= max(injected, default=0):
                deltas[s] = delta
            da = delta * (1 - hs[s] ** 2)
            g["weight_ih"] += da.T @ xs[s - 1]
            g["weight_hh"] += da.T @ hs[s - 1]
            g["bias_ih"] += da.sum(0)
            g["bias_hh"] += da.sum(0)
            delta = da @ used[s]["weight_hh"]
        for s in injected:
            if s <= cut:                                  # depth 0 (k1 > k2): the readout only
                readout_loss(s)
        history.append((u, g if injected else None, deltas))
        if injected:
            w = {name: w[name] - lr * g[name] for name in w}
        previous = u
    return history


def rnn_model(I, H, seed=1):
    cell = mg.nn.RNNCell(I, H, rng=np.random.default_rng(seed), dtype=np.float64)
    readout = mg.nn.Linear(H, 1, rng=np.random.default_rng(seed + 1), dtype=np.float64)
    params = list(cell.parameters()) + list(readout.parameters())
    return cell, readout, params


def sequence(n=11, B=3, I=2, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((n, B, I))
    ys = [rng.standard_normal((B, 1)) if t % 3 != 1 else None for t in range(n)]
    return xs, ys


def squared_error(output, target):
    return mse_loss(output, target, reduction="sum")


@pytest.mark.parametrize("k1, k2, reduction", [(11, 11, "sum"), (1, 11, "sum"), (3, 5, "sum"), (4, 4, "sum"),
                                               (5, 2, "sum"), (2, 1, "sum"), (3, 5, "mean")])
def test_hw2_each_update_of_the_runner_equals_numpy_tbptt(k1, k2, reduction):
    xs, ys = sequence()
    cell, readout, params = rnn_model(2, 5)
    weights = dict(zip(NAMES, [p.data.copy() for p in params]))
    got = {}

    def step(x, h):
        h = cell(x, h)
        return readout(h), h

    optimizer = mg.optim.SGD(params, lr=0.1)
    result = mg.bptt.tbptt(step, None, xs, ys, squared_error, k1, k2, optimizer,
                           lambda u, loss: got.setdefault(u, [None if p.grad is None else p.grad.copy()
                                                              for p in params]), reduction=reduction)
    expected = numpy_tbptt(weights, xs, ys, k1, k2, lr=0.1, reduction=reduction)
    assert result.updates == [u for u, _, _ in expected]
    for u, grads, _ in expected:
        if grads is None:                      # no target in (u', u]: no backward pass, nothing stepped
            assert all(g is None for g in got[u])
            continue
        for name, g in zip(NAMES, got[u]):          # None: no loss of the update reaches it (k1 > k2)
            g = np.zeros_like(grads[name]) if g is None else g
            np.testing.assert_allclose(g, grads[name], rtol=0, atol=1e-10, err_msg=f"update {u}, {name}")


def test_hw2_hooks_on_the_states_see_each_updates_dl_dh_t():
    """A hook on every state, flushed per update in on_update: the states of (c_u, u] that a loss of the
    update reaches see dL_u/dh_t, the cut state and those behind it nothing (overlapping windows, k1 < k2)."""
    xs, ys = sequence(n=10)
    cell, readout, params = rnn_model(2, 5)
    weights = dict(zip(NAMES, [p.data.copy() for p in params]))
    pending, seen = {}, {}

    def step(x, h):
        h = cell(x, h)
        t = len(seen_steps) + 1
        seen_steps.append(t)
        h.register_hook(lambda g, t=t: pending.__setitem__(t, np.array(g.data)))
        return readout(h), h

    seen_steps = []
    mg.bptt.tbptt(step, None, xs, ys, squared_error, 2, 5,
                  on_update=lambda u, loss: (seen.__setitem__(u, dict(pending)), pending.clear()))
    for u, _, deltas in numpy_tbptt(weights, xs, ys, 2, 5):
        assert sorted(seen[u]) == sorted(deltas), f"update {u}"
        for t, delta in deltas.items():
            np.testing.assert_allclose(seen[u][t], delta, rtol=0, atol=1e-12)


def vanishing_setup(T=20, H=8, scale=0.15, seed=0):
    rng = np.random.default_rng(seed)
    cell = mg.nn.RNNCell(H, H, rng=rng, dtype=np.float64)
    cell.weight_hh.data = scale * rng.standard_normal((H, H))
    xs = rng.standard_normal((T, 1, H))
    target = [None] * (T - 1) + [np.zeros((1, H))]          # one loss, at t = T
    return cell, xs, target


def hooked_norms(cell, xs, target, k1, k2):
    norms, made = {}, []

    def step(x, h):
        h = cell(x, h)
        made.append(h)
        t = len(made)
        h.register_hook(lambda g, t=t: norms.__setitem__(t, float(g.norm())))
        return h, h

    mg.bptt.tbptt(step, None, xs, target, lambda h, y: (h - y).sum(), k1, k2)
    return norms, made


def test_hw2_full_bptt_gradient_vanishes_as_the_product_of_jacobians_says():
    """l = Σ h_T: dl/dh_T = 1, and each step back multiplies by W_hhᵀ diag(1 - h²): numpy's product of
    Jacobians, and the bound ||dl/dh_t|| <= σ_max^(T-t) ||dl/dh_T||."""
    T = 20
    cell, xs, target = vanishing_setup(T)
    norms, made = hooked_norms(cell, xs, target, T, T)
    W_hh = cell.weight_hh.data
    delta, expected = np.ones((1, 8)), {}
    for t in range(T, 0, -1):
        expected[t] = np.linalg.norm(delta)
        delta = (delta * (1 - made[t - 1].data ** 2)) @ W_hh
    assert sorted(norms) == list(range(1, T + 1))
    for t in range(1, T + 1):
        assert norms[t] == pytest.approx(expected[t], rel=1e-12)
    sigma_max = np.linalg.norm(W_hh, 2)
    assert sigma_max < 1
    assert all(norms[t] <= sigma_max ** (T - t) * norms[T] * (1 + 1e-12) for t in range(1, T + 1))
    assert norms[1] < 1e-6 * norms[T]


@pytest.mark.parametrize("k2", [3, 8])
def test_hw2_truncation_stops_the_hooks_at_the_cut(k2):
    """TBPTT(T, k2) with one loss at T: the same dl/dh_t as full BPTT for t > T - k2, and no gradient at
    all behind the cut (the states there have .grad None and their hooks never run)."""
    T = 20
    cell, xs, target = vanishing_setup(T)
    full, _ = hooked_norms(cell, xs, target, T, T)
    truncated, made = hooked_norms(cell, xs, target, T, k2)
    assert sorted(truncated) == list(range(T - k2 + 1, T + 1))
    for t in truncated:
        assert truncated[t] == pytest.approx(full[t], rel=1e-12)
    assert all(h.grad is None for h in made[:T - k2])


def test_hw2_plot_of_the_hooked_norms(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    T = 20
    cell, xs, target = vanishing_setup(T)
    figure, axes = plt.subplots()
    for k2 in (T, 8, 3):
        norms, _ = hooked_norms(cell, xs, target, T, k2)
        axes.semilogy(sorted(norms), [norms[t] for t in sorted(norms)], marker="o", label=f"TBPTT({T}, {k2})")
    axes.set_xlabel("t")
    axes.set_ylabel("||dL/dh_t||")
    axes.legend()
    figure.savefig(tmp_path / "vanishing.png")
    plt.close(figure)
    assert (tmp_path / "vanishing.png").stat().st_size > 1000


def adding_batch(rng, T, B):
    """The adding problem: values in [0, 1), two marked (one in each half); target their sum, at t = T."""
    values, markers = rng.uniform(0, 1, (T, B)), np.zeros((T, B))
    markers[rng.integers(0, T // 2, B), np.arange(B)] = 1
    markers[rng.integers(T // 2, T, B), np.arange(B)] = 1
    return np.stack([values, markers], axis=-1), [None] * (T - 1) + [(values * markers).sum(0)[:, None]]


def test_hw2_adding_task_trains_with_full_bptt_and_truncation_cuts_the_early_inputs():
    T, H = 8, 16
    rng = np.random.default_rng(0)
    cell, readout = (mg.nn.RNNCell(2, H, rng=rng, dtype=np.float64), mg.nn.Linear(H, 1, rng=rng, dtype=np.float64))
    optimizer = mg.optim.Adam(list(cell.parameters()) + list(readout.parameters()), lr=0.01)

    def step(x, h):
        h = cell(x, h)
        return readout(h), h

    for _ in range(800):
        xs, ys = adding_batch(rng, T, 32)
        mg.bptt.tbptt(step, None, xs, ys, mse_loss, T, T, optimizer)
    xs, ys = adding_batch(np.random.default_rng(99), T, 1000)
    with mg.no_grad():
        h = None
        for x in xs:
            output, h = step(x, h)
    assert ((output.data - ys[-1]) ** 2).mean() < 0.02          # predicting the mean scores 1/6

    for k2 in (3, 5):                        # the gradient of the final loss reaches the last k2 inputs only
        inputs = mg.tensor(xs[:, :4], requires_grad=True)
        mg.bptt.tbptt(step, None, inputs, [None] * (T - 1) + [ys[-1][:4]], mse_loss, T, k2)
        assert not inputs.grad[:T - k2].any() and inputs.grad[T - k2:].any()


# ---- homework 3: forward mode, and RTRL --------------------------------------------------------------

def numpy_lstm_final_h(xs, W_ih, W_hh, b_ih, b_hh):
    """PyTorch's LSTM, rows i, f, g, o; h_0 = c_0 = 0; the last step's h."""
    H = W_hh.shape[1]
    h = c = np.zeros((xs.shape[1], H))
    for x in xs:
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h


def lstm_problem(T=5, B=2, I=3, H=4):
    rng = np.random.default_rng(7)
    lstm = mg.nn.LSTM(I, H, rng=rng, dtype=np.float64)
    xs = rng.standard_normal((T, B, I))
    arrays = {name: p.data for name, p in lstm.named_parameters()}

    def h_T(W_ih):
        return numpy_lstm_final_h(xs, W_ih, arrays["weight_hh_l0"], arrays["bias_ih_l0"], arrays["bias_hh_l0"])

    def final_h(W):                           # the weight as the function's own input
        return mg.func.functional_call(lstm, {"weight_ih_l0": W}, (mg.tensor(xs),))[1][0][0]

    return lstm, xs, h_T, final_h, rng


def test_hw3_jvp_of_the_final_hidden_state_matches_numpy_central_differences():
    lstm, xs, h_T, final_h, rng = lstm_problem()
    W = lstm.weight_ih_l0
    v = rng.standard_normal(W.shape)
    expected = (h_T(W.data + EPS * v) - h_T(W.data - EPS * v)) / (2 * EPS)
    output, jv = mg.jvp(final_h, [W], [v])
    np.testing.assert_allclose(output.data, h_T(W.data), atol=1e-14)
    np.testing.assert_allclose(jv, expected, rtol=1e-7, atol=1e-10)
    _, jv_func = mg.func.jvp(final_h, (W,), (mg.tensor(v),))
    np.testing.assert_allclose(jv_func.data, expected, rtol=1e-7, atol=1e-10)
    _, jv_closure = mg.jvp(lambda _: lstm(mg.tensor(xs))[1][0][0], [W], [v])     # as docs/api.md says
    np.testing.assert_allclose(jv_closure, expected, rtol=1e-7, atol=1e-10)


def test_hw3_dual_tensors_on_the_module_as_pytorchs_tutorial_sets_them():
    lstm, xs, h_T, _, rng = lstm_problem()
    W = lstm.weight_ih_l0
    v = rng.standard_normal(W.shape)
    expected = (h_T(W.data + EPS * v) - h_T(W.data - EPS * v)) / (2 * EPS)
    params = dict(lstm.named_parameters())
    with fwAD.dual_level():                              # functional_call with dual parameters
        dual = {name: fwAD.make_dual(p, mg.tensor(v) if name == "weight_ih_l0" else mg.zeros_like(p))
                for name, p in params.items()}
        by_call = fwAD.unpack_dual(mg.func.functional_call(lstm, dual, mg.tensor(xs))[1][0]).tangent
        for name, p in params.items():                   # "Usage with Modules": delattr, then setattr
            delattr(lstm, name)
            setattr(lstm, name, dual[name])
        by_attribute = fwAD.unpack_dual(lstm(mg.tensor(xs))[1][0]).tangent
    np.testing.assert_allclose(by_call.data[0], expected, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(by_attribute.data[0], expected, rtol=1e-7, atol=1e-10)


def test_hw3_vjp_matches_numpy_and_the_two_modes_agree_on_inner_products():
    """uᵀJ from mg.vjp against the numpy gradient of u · h_T; then uᵀ(J v) = (uᵀJ) v."""
    lstm, xs, h_T, final_h, rng = lstm_problem()
    W = lstm.weight_ih_l0
    u, v = rng.standard_normal((2, 4)), rng.standard_normal(W.shape)
    _, (uJ,) = mg.vjp(final_h, [W], u)
    np.testing.assert_allclose(uJ, central_differences(lambda w: np.array((u * h_T(w)).sum()), W.data),
                               rtol=1e-7, atol=1e-10)
    _, jv = mg.jvp(final_h, [W], [v])
    assert (u * jv).sum() == pytest.approx((uJ * v).sum(), rel=1e-12)


def test_hw3_full_jacobian_both_ways_matches_numpy():
    lstm, _, h_T, final_h, _ = lstm_problem(T=3, I=2, H=3)
    W = lstm.weight_ih_l0
    expected = central_differences(h_T, W.data)                  # (B, H) + W.shape
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(mg.jacobian(final_h, W, mode=mode), expected, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("k1", [7, 1, 3])
def test_hw3_rtrl_equals_numpy_bptt_through_all_history(k1):
    """RTRL's gradient at every update is TBPTT(k1, n)'s, SGD steps between updates included; k1 = n is
    full BPTT."""
    n = 7
    xs, ys = sequence(n=n, B=2, seed=3)
    cell, readout, params = rnn_model(2, 3)
    weights = dict(zip(NAMES, [p.data.copy() for p in params]))
    got = {}

    def step(x, h):
        h = cell(x, h)
        return readout(h), h

    mg.bptt.rtrl(step, None, xs, ys, squared_error, params, k1, mg.optim.SGD(params, lr=0.1),
                 lambda u, loss: got.setdefault(u, [None if p.grad is None else p.grad.copy() for p in params]))
    for u, grads, _ in numpy_tbptt(weights, xs, ys, k1, n, lr=0.1):
        if grads is None:
            assert all(g is None for g in got[u])
            continue
        for name, g in zip(NAMES, got[u]):
            np.testing.assert_allclose(g, grads[name], rtol=0, atol=1e-10, err_msg=f"update {u}, {name}")


def test_hw3_rtrl_on_an_lstm_cell_matches_central_differences():
    """A tuple state (h, c): one sensitivity per tensor. L = Σ_t Σ h_t · y_t, one update at n."""
    n, I, H = 4, 2, 3
    rng = np.random.default_rng(11)
    cell = mg.nn.LSTMCell(I, H, rng=rng, dtype=np.float64)
    xs, ys = rng.standard_normal((n, 1, I)), rng.standard_normal((n, 1, H))
    arrays = {name: p.data for name, p in cell.named_parameters()}

    def loss(name, value):
        moved = dict(arrays, **{name: value})
        h = c = np.zeros((1, H))
        total = 0.0
        for x, y in zip(xs, ys):
            a = x @ moved["weight_ih"].T + moved["bias_ih"] + h @ moved["weight_hh"].T + moved["bias_hh"]
            i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            total += (h * y).sum()
        return np.array(total)

    def step(x, state):
        state = cell(x, state)
        return state[0], state

    mg.bptt.rtrl(step, None, xs, list(ys), lambda h, y: (h * y).sum(), cell.named_parameters(), k1=n)
    for name, p in cell.named_parameters():
        expected = central_differences(lambda value, name=name: loss(name, value), arrays[name])
        np.testing.assert_allclose(p.grad, expected, rtol=1e-7, atol=1e-9, err_msg=name)


def test_rtrl_takes_named_parameters_as_the_optimizers_do():
    xs, ys = sequence(n=4, B=1, seed=5)
    cell, readout, params = rnn_model(2, 3)
    step = lambda x, h: (readout(cell(x, h)), cell(x, h))        # noqa: E731
    with pytest.raises(ValueError, match=r"rtrl: params\[1\] has no name"):
        mg.bptt.rtrl(step, None, xs, ys, squared_error, [("weight_ih", cell.weight_ih), cell.weight_hh])
    with pytest.raises(TypeError, match=r"rtrl: weight_hh must be a Tensor, got ndarray"):
        mg.bptt.rtrl(step, None, xs, ys, squared_error, [("weight_ih", cell.weight_ih), ("weight_hh", np.eye(3))])


def test_vjp_of_a_tuple_of_outputs_says_what_to_do():
    lstm, xs, _, _, _ = lstm_problem()
    with pytest.raises(TypeError, match="vjp: fn must return a Tensor, got tuple; return one tensor of it .* "
                                        "mg.func.vjp or mg.autograd.functional.vjp"):
        mg.vjp(lambda x: lstm(x)[1], [mg.tensor(xs)], np.ones((1, 2, 4)))
    with pytest.raises(TypeError, match="jacobian: fn must return a Tensor, got tuple; .* mg.func.jacrev"):
        mg.jacobian(lambda x: lstm(x)[1], mg.tensor(xs))


def test_jvp_and_vjp_agree_when_fn_reads_its_input_through_a_closure():
    """f(_) = w ⊙ w read through a closure: either both modes see the closure (J = 2 diag w) or neither
    does (J = 0, as torch.func's). jvp gave 2 w v and vjp 0; since round 33 w, which requires no grad, is a
    constant to both."""
    w = mg.tensor([2.0, -1.0], dtype=np.float64)
    f = lambda _: w * w                                           # noqa: E731
    u, v = np.array([1.0, 3.0]), np.array([0.5, 2.0])
    results = (mg.jvp(f, [w], [v])[1], mg.vjp(f, [w], u)[1][0],
               mg.jacobian(f, w, mode="fwd"), mg.jacobian(f, w, mode="rev"))
    seen = (2 * w.data * v, 2 * w.data * u, np.diag(2 * w.data), np.diag(2 * w.data))
    constant = (0 * v, 0 * u, np.zeros((2, 2)), np.zeros((2, 2)))
    assert any(all(np.allclose(got, want) for got, want in zip(results, closed_form))
               for closed_form in (seen, constant))


def test_jvp_and_vjp_agree_when_fn_reads_a_parameter_through_a_closure():
    """The homework's first attempt: the LSTM's input weight given as the input, fn reading it through
    the module. Both modes see it (uᵀ(J v) = (uᵀJ) v), the Jacobians of both modes agree, and each
    matches central differences of the numpy LSTM; no .grad changes."""
    lstm, xs, h_T, _, rng = lstm_problem()
    W = lstm.weight_ih_l0
    f = lambda _: lstm(mg.tensor(xs))[1][0][0]                    # noqa: E731
    u, v = rng.standard_normal((2, 4)), rng.standard_normal(W.shape)
    _, (uJ,) = mg.vjp(f, [W], u)
    _, jv = mg.jvp(f, [W], [v])
    np.testing.assert_allclose(uJ, central_differences(lambda w: np.array((u * h_T(w)).sum()), W.data),
                               rtol=1e-7, atol=1e-10)
    assert (u * jv).sum() == pytest.approx((uJ * v).sum(), rel=1e-10)
    w = mg.tensor(np.array([2.0, -1.0]), requires_grad=True)
    g = lambda _: w * w                                            # noqa: E731
    np.testing.assert_allclose(mg.jacobian(g, w, mode="rev"), np.diag(2 * w.data), rtol=1e-12)
    np.testing.assert_allclose(mg.jacobian(g, w, mode="fwd"), np.diag(2 * w.data), rtol=1e-12)
    assert W.grad is None and w.grad is None
