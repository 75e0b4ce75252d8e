"""A student's three homework problems, solved with the docs only and checked against hand-written numpy.

1. Vanishing and exploding gradients (docs/vanishing_gradients.md): ||dL_T/dh_t|| read with hooks for a tanh RNN
   whose W_hh has spectral radius 0.5, 1.0 and 1.5, against the product of Jacobians written out in numpy and
   the bound derived by hand; `mg.nn.utils.clip_grad_norm_` on the exploding case against PyTorch's formula.
2. Online learning (docs/forward_mode.md, docs/tbptt.md): a delayed copy learned by `mg.bptt.rtrl`,
   `mg.bptt.uoro` and TBPTT(k1, k2); every update's gradient against a numpy BPTT with the cut at
   max(0, u - k2) (so RTRL = TBPTT(k1, n) is checked against numpy, not against the library), `on_step`'s P_t
   against RTRL's recursion in numpy and central differences, and UORO's P_t estimate shown unbiased exactly
   (the mean over every pattern of signs) and by sampling (the mean over seeds within standard errors).
3. Draw it (docs/drawing.md): a 5-step LSTM update of TBPTT(5, 3) drawn with `mg.viz.draw_update`; its DOT text
   checked for what the page promises, its printed norms against central differences in numpy, rendered to SVG.

References read for the expected values (not ported; the formulas are written out below):
- PyTorch's clip_grad_norm_: pytorch/pytorch, torch/nn/utils/clip_grad.py, commit
  20592e4db96fcad1c113bfd4fc1832258767ba26 (total = ||(||g_1||, ..., ||g_n||)||, coef = max_norm / (total + 1e-6),
  clamped to 1, returns the total before clipping).
- PyTorch's RNNCell and LSTMCell equations and the gate order i, f, g, o: pytorch/pytorch,
  torch/nn/modules/rnn.py, commit e6f551aa3e44ae79694352a686f9cf503768ead6.
- The bound sigma_max(W_hh)^(t-k) (Pascanu, Mikolov & Bengio, 2013); RTRL (Williams & Zipser, 1989); UORO's
  update (Tallec & Ollivier, 2018), as docs/forward_mode.md section 7 writes them.

Where the docs were not enough, the source was read once: how `uoro` draws its signs (microgradseq/bptt/rtrl.py,
`RankOne.advance`: `rng.choice([-1.0, 1.0], size=h.shape)` per state tensor per step), needed to enumerate every
pattern of signs; this trial adds the sentence to uoro's docstring and forward_mode.md section 7.
"""

import itertools
import math
import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.functional import cross_entropy


# ---- 1. vanishing and exploding gradients --------------------------------------------------------------------

H1, T1 = 6, 15


def orthogonal(n, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q


def tanh_rnn(rho):
    """A tanh RNNCell with W_hh = rho Q (Q orthogonal: spectral radius = largest singular value = rho), no bias,
    and small inputs, so the state stays away from saturation and the bound is nearly reached."""
    cell = mg.nn.RNNCell(H1, H1, rng=np.random.default_rng(1), dtype=np.float64)
    cell.weight_hh.data = rho * orthogonal(H1)
    cell.bias_ih.data, cell.bias_hh.data = np.zeros(H1), np.zeros(H1)
    xs = 1e-3 * np.random.default_rng(2).standard_normal((T1, 1, H1))
    return cell, xs


def numpy_forward(W_ih, W_hh, xs):
    hs = [np.zeros((1, H1))]
    for x in xs:
        hs.append(np.tanh(x @ W_ih.T + hs[-1] @ W_hh.T))
    return hs                                                  # hs[t] = h_t, t = 0..T


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.5])
def test_hook_norms_are_the_product_of_jacobians_and_obey_the_bound(rho):
    """L = sum(h_T). By hand: dL/dh_T = 1 (all ones), and one step back is dL/dh_(t-1) = W_hh^T diag(1 - h_t^2)
    dL/dh_t (rows: (g * (1 - h_t^2)) @ W_hh). With W_hh = rho Q, Q orthogonal, ||W_hh^T v|| = rho ||v||, so

        rho^(T-t) prod_(j>t) min(1 - h_j^2) ||dL/dh_T||  <=  ||dL/dh_t||  <=  rho^(T-t) ||dL/dh_T||,

    the page's bound sigma_max^(T-t) (sigma_max = rho for this normal matrix) with a matching lower bound.
    rho = 0.5 vanishes (below 2^-14 of the last norm 14 steps back), 1.0 keeps it, 1.5 explodes."""
    cell, xs = tanh_rnn(rho)
    norms, order = {}, []
    hs, h = [], None
    for t in range(1, T1 + 1):
        h = cell(xs[t - 1], h)

        def hook(g, t=t):
            norms[t] = float(g.norm())
            order.append(t)
        h.register_hook(hook)
        hs.append(h)
    hs[-1].sum().backward()
    assert order == list(range(T1, 0, -1))          # hooks fire during backward: the last step first

    ref = numpy_forward(cell.weight_ih.data, rho * orthogonal(H1), xs)
    g = np.ones((1, H1))
    exact = {T1: g}
    for t in range(T1, 1, -1):                       # the product of Jacobians, one factor at a time
        g = (g * (1 - ref[t] ** 2)) @ (rho * orthogonal(H1))
        exact[t - 1] = g
    last = np.sqrt(H1)
    for t in range(1, T1 + 1):
        assert abs(norms[t] - np.linalg.norm(exact[t])) <= 1e-12 * np.linalg.norm(exact[t])
        assert np.allclose(hs[t - 1].grad, exact[t], rtol=1e-12, atol=0)
        upper = rho ** (T1 - t) * last
        lower = upper * np.prod([(1 - ref[j] ** 2).min() for j in range(t + 1, T1 + 1)])
        assert lower * (1 - 1e-12) <= norms[t] <= upper * (1 + 1e-12)
    if rho == 0.5:
        assert norms[1] < 2.0 ** -13 * norms[T1]
    elif rho == 1.0:
        assert abs(norms[1] / norms[T1] - 1) < 1e-3
    else:
        assert norms[1] > 0.9 * 1.5 ** 14 * norms[T1]                     # 290x: exploding


def test_the_bound_needs_sigma_max_not_the_spectral_radius():
    """For a W_hh that is not normal the spectral radius rho is below sigma_max, and rho^(T-t) is no bound: here
    rho = 0.5 and sigma_max = 2.12 (a Jordan-like block), and the gradient one step back is 2.06 times as long as
    the last, where rho^1 would allow 0.5 (sigma_max's bound holds). docs/vanishing_gradients.md states the bound
    with sigma_max; the brief said "spectral radius": this is where the two differ (the page now says so)."""
    W = np.array([[0.5, 2.0], [0.0, 0.5]])
    assert abs(max(abs(np.linalg.eigvals(W))) - 0.5) < 1e-12 and np.linalg.norm(W, 2) > 2
    cell = mg.nn.RNNCell(2, 2, rng=np.random.default_rng(0), dtype=np.float64)
    cell.weight_hh.data, cell.bias_ih.data, cell.bias_hh.data = W, np.zeros(2), np.zeros(2)
    cell.weight_ih.data = np.zeros((2, 2))
    h0 = mg.tensor(np.zeros((1, 2)), requires_grad=True)
    h1 = cell(np.zeros((1, 2)), h0)
    (h1 * mg.tensor([[1.0, 0.0]])).sum().backward()
    # h stays 0, so tanh' = 1 and dL/dh_0 = W^T e_1 = (0.5, 2): norm sqrt(4.25) > 0.5 * ||e_1||
    assert np.allclose(h0.grad, [[0.5, 2.0]], rtol=0, atol=1e-15)
    assert 0.5 * 1.0 < np.linalg.norm(h0.grad) <= np.linalg.norm(W, 2) * 1.0


def numpy_bptt_weight_grads(W_ih, W_hh, xs):
    """dL/dW for L = sum(h_T), no bias in the model but both biases' gradients: the delta recursion by hand."""
    hs = numpy_forward(W_ih, W_hh, xs)
    g = np.ones((1, H1))
    grads = {"weight_ih": 0.0, "weight_hh": 0.0, "bias_ih": 0.0}
    for t in range(T1, 0, -1):
        delta = g * (1 - hs[t] ** 2)                            # dL/da_t
        grads["weight_ih"] = grads["weight_ih"] + delta.T @ xs[t - 1]
        grads["weight_hh"] = grads["weight_hh"] + delta.T @ hs[t - 1]
        grads["bias_ih"] = grads["bias_ih"] + delta.sum(0)
        g = delta @ W_hh
    grads["bias_hh"] = grads["bias_ih"]
    return grads


def test_clip_grad_norm_on_the_exploding_case_is_pytorchs_formula():
    """rho = 1.5: the weights' gradients, by the delta recursion in numpy (one entry also by central differences),
    have a total norm in the hundreds. `mg.nn.utils.clip_grad_norm_(params, 1.0)` (PyTorch's spelling; the page
    writes `mg.optim.clip_grad_norm_`, the same function) returns that total and scales every gradient by
    1 / (total + 1e-6): same direction, length 1. On the vanishing case (rho = 0.5, total about 5) with
    max_norm = 10 nothing changes: clipping leaves a small gradient alone."""
    assert mg.nn.utils.clip_grad_norm_ is mg.optim.clip_grad_norm_
    for rho, max_norm, should_clip in [(1.5, 1.0, True), (0.5, 10.0, False)]:
        cell, xs = tanh_rnn(rho)
        h = None
        for x in xs:
            h = cell(x, h)
        h.sum().backward()
        W_ih, W_hh = cell.weight_ih.data.copy(), cell.weight_hh.data.copy()
        expected = numpy_bptt_weight_grads(W_ih, W_hh, xs)
        eps = 1e-6                                               # one entry of dL/dW_hh by central differences
        bump = np.zeros_like(W_hh)
        bump[2, 3] = eps
        central = (numpy_forward(W_ih, W_hh + bump, xs)[-1].sum()
                   - numpy_forward(W_ih, W_hh - bump, xs)[-1].sum()) / (2 * eps)
        assert abs(central - expected["weight_hh"][2, 3]) < 1e-6 * max(1.0, abs(central))

        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        params = [getattr(cell, name) for name in names]
        for name, p in zip(names, params):
            assert np.allclose(p.grad, expected[name], rtol=1e-10, atol=1e-14)
        total = math.sqrt(sum((expected[name] ** 2).sum() for name in names))
        returned = mg.nn.utils.clip_grad_norm_(params, max_norm=max_norm)
        assert abs(returned.item() - total) <= 1e-12 * total
        coef = min(1.0, max_norm / (total + 1e-6))
        assert (coef < 1) == should_clip
        for name, p in zip(names, params):
            assert np.allclose(p.grad, expected[name] * coef, rtol=1e-12, atol=0)
        if should_clip:
            assert total > 100
            assert abs(math.sqrt(sum((p.grad ** 2).sum() for p in params)) - 1.0) < 1e-5


# ---- 2. online learning: RTRL, UORO and TBPTT on a delayed copy ----------------------------------------------

H2, D2 = 3, 2
NAMES = ["cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh", "head.weight", "head.bias"]


def delayed_copy(seed, n, batch, delay=D2):
    """Bits b_t (input 2 b_t - 1); the target at step t is b_(t-delay), none for the first `delay` steps."""
    bits = np.random.default_rng(seed).integers(0, 2, (n, batch))
    return (2.0 * bits - 1.0)[:, :, None], [None] * delay + [bits[t - delay] for t in range(delay, n)], bits


def copier(seed=0, hidden=H2):
    rng = np.random.default_rng(seed)
    cell = mg.nn.RNNCell(1, hidden, rng=rng, dtype=np.float64)
    head = mg.nn.Linear(hidden, 2, rng=rng, dtype=np.float64)
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}

    def step(x, h):
        h = cell(x, h)
        return head(h), h
    return step, params


def numpy_tbptt(p, xs, ys, k1, k2, lr=None):
    """TBPTT(k1, k2) by hand (docs/tbptt.md's definition): updates at k1, 2 k1, ..., n; the update at u injects the
    losses of (u', u] (cross-entropy, mean over the batch, summed over steps) and backpropagates them to the cut
    c_u = max(0, u - k2), with each step's own weights (an SGD step of `lr` after each update, if given)."""
    p = {k: v.copy() for k, v in p.items()}
    n, batch = len(xs), xs.shape[1]
    hidden = p["cell.weight_hh"].shape[0]
    updates = list(range(k1, n + 1, k1)) + ([n] if n % k1 else [])
    hs, used, out, previous = [np.zeros((batch, hidden))], [None], [], 0
    for t in range(1, n + 1):
        used.append(p)
        hs.append(np.tanh(xs[t - 1] @ p["cell.weight_ih"].T + p["cell.bias_ih"]
                          + hs[-1] @ p["cell.weight_hh"].T + p["cell.bias_hh"]))
        if t not in updates:
            continue
        u, c = t, max(0, t - k2)
        g = {k: np.zeros_like(v) for k, v in p.items()}
        g_h = {s: np.zeros((batch, hidden)) for s in range(c + 1, u + 1)}
        for s in range(previous + 1, u + 1):
            if ys[s - 1] is None:
                continue
            q = used[s]
            z = hs[s] @ q["head.weight"].T + q["head.bias"]
            e = np.exp(z - z.max(1, keepdims=True))
            e /= e.sum(1, keepdims=True)
            e[np.arange(batch), ys[s - 1]] -= 1
            e /= batch                                           # d(mean cross-entropy)/dz
            g["head.weight"] += e.T @ hs[s]
            g["head.bias"] += e.sum(0)
            if s > c:
                g_h[s] += e @ q["head.weight"]
        for s in range(u, c, -1):
            q = used[s]
            delta = g_h[s] * (1 - hs[s] ** 2)
            g["cell.weight_ih"] += delta.T @ xs[s - 1]
            g["cell.weight_hh"] += delta.T @ hs[s - 1]
            g["cell.bias_ih"] += delta.sum(0)
            g["cell.bias_hh"] += delta.sum(0)
            if s - 1 > c:
                g_h[s - 1] += delta @ q["cell.weight_hh"]
        out.append((u, g, any(ys[s - 1] is not None for s in range(previous + 1, u + 1))))
        previous = u
        if lr:
            p = {k: v - lr * g[k] for k, v in p.items()}
    return out


def library_updates(runner, xs, ys, k1, k2=None, lr=None, **options):
    step, params = copier()
    optimizer = mg.optim.SGD(list(params.values()), lr=lr) if lr else None
    seen = []

    def on_update(u, loss):
        seen.append((u, {k: None if p.grad is None else p.grad.copy() for k, p in params.items()}))
        if optimizer is None:
            for p in params.values():
                p.grad = None
    if runner == "tbptt":
        mg.bptt.tbptt(step, None, xs, ys, cross_entropy, k1, k2, optimizer, on_update)
    else:
        getattr(mg.bptt, runner)(step, None, xs, ys, cross_entropy, params, k1, optimizer, on_update, **options)
    return seen


def assert_same_updates(library, hand):
    assert [u for u, _ in library] == [u for u, _, _ in hand]
    for (u, got), (_, want, has_loss) in zip(library, hand):
        for name in NAMES:
            if not has_loss:                                      # no target in (u', u]: no backward pass
                assert got[name] is None, (u, name)
            else:
                assert got[name] is not None and np.allclose(got[name], want[name], rtol=1e-10, atol=1e-14), (u, name)


N2 = 8
XS2, YS2, _ = delayed_copy(0, N2, 2)
P0 = {k: v.data.copy() for k, v in copier()[1].items()}


@pytest.mark.parametrize("lr", [None, 0.5])
@pytest.mark.parametrize("k1", [1, 3, 8])
def test_rtrl_gives_tbptt_k1_n_at_every_update_checked_by_hand(k1, lr):
    """docs/forward_mode.md section 4: `rtrl(..., k1)` is TBPTT(k1, n)'s gradient at every update, also with an
    optimizer changing the weights in between (both use each step's own weights). Both runners against the
    numpy BPTT over all of history; k1 = 1 includes updates 1 and 2, which have no target (no .grad at all)."""
    hand = numpy_tbptt(P0, XS2, YS2, k1, N2, lr)
    assert_same_updates(library_updates("rtrl", XS2, YS2, k1, lr=lr), hand)
    assert_same_updates(library_updates("tbptt", XS2, YS2, k1, N2, lr=lr), hand)


@pytest.mark.parametrize("k1, k2", [(1, 2), (2, 4), (3, 2), (4, 4), (2, 1), (3, 5)])
def test_tbptt_settings_match_the_definition_by_hand(k1, k2):
    """The runner's per-update gradients for several TBPTT(k1, k2), with and without SGD between updates."""
    for lr in (None, 0.5):
        assert_same_updates(library_updates("tbptt", XS2, YS2, k1, k2, lr=lr), numpy_tbptt(P0, XS2, YS2, k1, k2, lr))


def numpy_influence(p, xs):
    """RTRL's P_t = D_t (W_hh P_(t-1) + da_t/dtheta), P_0 = 0, per sequence of the batch, as blocks of shape
    (B, H) + p.shape (on_step's layout); the readout's blocks stay zero (h does not depend on it)."""
    batch, hidden = xs.shape[1], p["cell.weight_hh"].shape[0]
    W = p["cell.weight_hh"]
    P = {k: np.zeros((batch, hidden) + v.shape) for k, v in p.items()}
    h, out = np.zeros((batch, hidden)), []
    for x in xs:
        h_new = np.tanh(x @ p["cell.weight_ih"].T + p["cell.bias_ih"] + h @ W.T + p["cell.bias_hh"])
        new = {}
        for name, block in P.items():
            direct = np.zeros_like(block)
            if name.startswith("cell."):
                source = {"cell.weight_ih": x, "cell.weight_hh": h}.get(name)
                for i in range(hidden):
                    direct[:, i, i] = 1.0 if source is None else source
            new[name] = (1 - h_new ** 2)[(...,) + (None,) * (block.ndim - 2)] * (
                np.einsum("im,bm...->bi...", W, block) + direct)
        P, h = new, h_new
        out.append(P)
    return out


def test_rtrl_on_step_shows_the_influence_matrix_of_the_recursion():
    """`on_step(t, P)`: P_t as name -> dh_t/dp of shape h.shape + p.shape, against the recursion in numpy at
    every step, and P_n's weight_hh block against central differences of the numpy forward."""
    step, params = copier()
    seen = {}
    mg.bptt.rtrl(step, None, XS2, YS2, cross_entropy, params, on_step=lambda t, P: seen.__setitem__(t, P))
    hand = numpy_influence(P0, XS2)
    assert sorted(seen) == list(range(1, N2 + 1))
    for t in range(1, N2 + 1):
        assert list(seen[t]) == NAMES
        for name in NAMES:
            assert seen[t][name].shape == (2, H2) + P0[name].shape
            assert np.allclose(seen[t][name], hand[t - 1][name], rtol=1e-10, atol=1e-14), (t, name)
    assert not seen[1]["cell.weight_hh"].any()            # h_0 = 0: step 1 reads no W_hh

    def h_n(W_hh):
        q = dict(P0, **{"cell.weight_hh": W_hh})
        h = np.zeros((2, H2))
        for x in XS2:
            h = np.tanh(x @ q["cell.weight_ih"].T + q["cell.bias_ih"] + h @ W_hh.T + q["cell.bias_hh"])
        return h
    eps = 1e-6
    for i, j in [(0, 1), (2, 2)]:
        bump = np.zeros((H2, H2))
        bump[i, j] = eps
        central = (h_n(P0["cell.weight_hh"] + bump) - h_n(P0["cell.weight_hh"] - bump)) / (2 * eps)
        assert np.allclose(seen[N2]["cell.weight_hh"][:, :, i, j], central, atol=1e-8)


class ChosenSigns(np.random.Generator):
    """A Generator whose `choice` hands out the signs given, in order (uoro draws, after each step and for each
    state tensor, rng.choice([-1.0, 1.0], size=h.shape): its docstring says so since this trial)."""

    def __init__(self, signs):
        super().__init__(np.random.PCG64(0))
        self.signs = list(signs)

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        assert sorted(np.asarray(a).tolist()) == [-1.0, 1.0]
        return np.asarray(self.signs.pop(0), float).reshape(size)


XS3, YS3, _ = delayed_copy(5, 3, 1)
P3 = {k: v.data.copy() for k, v in copier(1, 2)[1].items()}


def uoro_influence(rng):
    step, params = copier(1, 2)
    seen = {}
    mg.bptt.uoro(step, None, XS3, YS3, cross_entropy, params, rng=rng, on_step=lambda t, P: seen.__setitem__(t, P))
    return seen


def test_uoro_estimate_of_p_t_averaged_over_every_pattern_of_signs_is_rtrls():
    """E[s~ theta~^T] = P_t exactly: H = 2, one sequence, 3 steps, two signs a step, so the mean over all 2^6
    equally likely patterns is the expectation. It equals the numpy P_t of RTRL's recursion at every step, while
    a single pattern's estimate is off by order 1."""
    exact = numpy_influence(P3, XS3)
    estimates = []
    for pattern in itertools.product([-1.0, 1.0], repeat=6):
        rng = ChosenSigns([pattern[0:2], pattern[2:4], pattern[4:6]])
        estimates.append(uoro_influence(rng))
        assert rng.signs == []
    for t in (1, 2, 3):
        for name in NAMES:
            mean = np.mean([e[t][name] for e in estimates], axis=0)
            assert np.allclose(mean, exact[t - 1][name], rtol=1e-10, atol=1e-13), (t, name)
        assert np.abs(estimates[0][t]["cell.weight_ih"] - exact[t - 1]["cell.weight_ih"]).max() > 0.1


def test_uoro_estimate_of_p_t_averaged_over_seeds_is_within_standard_errors():
    """The sampled version (docs/forward_mode.md "Seeing P_t": the average over `rng` seeds approaches rtrl's P_t):
    400 seeds, every entry of P_3's recurrent blocks within 4.5 standard errors of the numpy P_3."""
    exact = numpy_influence(P3, XS3)[-1]
    runs = [uoro_influence(seed)[3] for seed in range(400)]
    for name in NAMES[:4]:
        draws = np.array([r[name] for r in runs])
        error = np.abs(draws.mean(0) - exact[name])
        standard_error = draws.std(0, ddof=1) / np.sqrt(len(runs))
        assert np.all(error <= 4.5 * standard_error + 1e-12), name


def numpy_accuracy(params, delay=D2):
    p = {k: v.data for k, v in params.items()}
    xs, _, bits = delayed_copy(7, 200, 64, delay)
    h, hits = np.zeros((64, p["cell.weight_hh"].shape[0])), []
    for t, x in enumerate(xs):
        h = np.tanh(x @ p["cell.weight_ih"].T + p["cell.bias_ih"] + h @ p["cell.weight_hh"].T + p["cell.bias_hh"])
        if t >= delay:
            hits.append(((h @ p["head.weight"].T + p["head.bias"]).argmax(1) == bits[t - delay]).mean())
    return float(np.mean(hits))


@pytest.mark.parametrize("method, k2, learns", [("rtrl", None, True), ("tbptt", 1, False), ("tbptt", 2, False),
                                                 ("tbptt", 3, True)])
def test_online_delayed_copy_is_learned_only_when_the_gradient_reaches_the_bit(method, k2, learns):
    """Online (an Adam update every step), D = 2, H = 4, 16 streams, 500 steps: RTRL (all of history) and
    TBPTT(1, 3) (k2 = D + 1 reaches the bit's cell) copy perfectly; TBPTT(1, 1) and TBPTT(1, 2) (k2 <= D) stay at
    chance. Accuracy measured by a numpy forward pass of the trained weights on a fresh stream."""
    xs, ys, _ = delayed_copy(0, 500, 16)
    step, params = copier(1, 4)
    optimizer = mg.optim.Adam(list(params.values()), lr=0.05)
    if method == "rtrl":
        mg.bptt.rtrl(step, None, xs, ys, cross_entropy, params, 1, optimizer)
    else:
        mg.bptt.tbptt(step, None, xs, ys, cross_entropy, 1, k2, optimizer)
    accuracy = numpy_accuracy(params)
    assert accuracy > 0.99 if learns else accuracy < 0.6


# ---- 3. draw it: a 5-step LSTM update with its cut -----------------------------------------------------------

HL = 2
NAMES_LSTM = ["lstm.weight_ih", "lstm.weight_hh", "lstm.bias_ih", "lstm.bias_hh", "head.weight", "head.bias"]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(p, x, h, c, gate=False):
    """PyTorch's LSTMCell, gates i, f, g, o (torch/nn/modules/rnn.py); with `gate`, also the output gate o."""
    z = x @ p["lstm.weight_ih"].T + p["lstm.bias_ih"] + h @ p["lstm.weight_hh"].T + p["lstm.bias_hh"]
    i, f, g, o = np.split(z, 4, axis=1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return (sigmoid(o) * np.tanh(c), c) + ((sigmoid(o),) if gate else ())


def step_loss(p, h, y):
    return float((((h @ p["head.weight"].T + p["head.bias"]) - y) ** 2).sum())


def lstm_update_drawing():
    """TBPTT(5, 3) over n = 5: one update at u = 5, losses of steps 1..5 injected, the cut at c_u = 5 - 3 = 2."""
    lstm = mg.nn.LSTMCell(1, HL, rng=np.random.default_rng(0), dtype=np.float64)
    head = mg.nn.Linear(HL, 1, rng=np.random.default_rng(1), dtype=np.float64)
    params = {**{f"lstm.{k}": v for k, v in lstm.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}
    xs = np.random.default_rng(2).standard_normal((5, 1, 1))
    ys = list(np.random.default_rng(3).standard_normal((5, 1, 1)))

    def step(x, state):
        state = lstm(x, state)
        return head(state[0]), state
    graphs = {}

    def on_backward(u, loss):
        graphs[u] = (mg.viz.draw_update(loss, params), mg.viz.draw_update(loss, params, view="ops"))
    mg.bptt.tbptt(step, None, xs, ys, lambda out, y: ((out - y) ** 2).sum(), k1=5, k2=3, on_backward=on_backward)
    return graphs, {k: v.data.copy() for k, v in params.items()}, xs, ys


def hand_gradients(p, xs, ys):
    """Central differences in numpy: ||dL/dh_t|| and ||dL/dc_t|| for t = 3..5 (L from step t on; c_t's gradient, as
    the tensor's .grad, includes its path through h_t = o_t tanh(c_t), so h_t moves with c_t), and ||dL/dp|| with
    (h_2, c_2) held constant (the cut), L summed over all five steps."""
    states, gates = [(np.zeros((1, HL)), np.zeros((1, HL)))], [None]
    for x in xs:
        h, c, o = lstm_step(p, x, *states[-1], gate=True)
        states.append((h, c))
        gates.append(o)

    def from_step(t, h, c, q=p):
        total = step_loss(q, h, ys[t - 1])
        for s in range(t + 1, 6):
            h, c = lstm_step(q, xs[s - 1], h, c)
            total += step_loss(q, h, ys[s - 1])
        return total

    def truncated(q):
        h2, c2 = states[2]
        h3, c3 = lstm_step(q, xs[2], h2, c2)
        return step_loss(q, states[1][0], ys[0]) + step_loss(q, h2, ys[1]) + from_step(3, h3, c3, q)

    eps = 1e-6
    norms = {}
    for t in (3, 4, 5):
        h, c = states[t]
        dh, dc = np.zeros(HL), np.zeros(HL)
        for k in range(HL):
            e = np.zeros((1, HL))
            e[0, k] = eps
            dh[k] = (from_step(t, h + e, c) - from_step(t, h - e, c)) / (2 * eps)
            dc[k] = (from_step(t, gates[t] * np.tanh(c + e), c + e)
                     - from_step(t, gates[t] * np.tanh(c - e), c - e)) / (2 * eps)
        norms[t] = (np.linalg.norm(dh), np.linalg.norm(dc))
    grads = {}
    for name, value in p.items():
        g = np.zeros(value.size)
        for k in range(value.size):
            e = np.zeros(value.size)
            e[k] = eps
            plus, minus = dict(p), dict(p)
            plus[name], minus[name] = value + e.reshape(value.shape), value - e.reshape(value.shape)
            g[k] = (truncated(plus) - truncated(minus)) / (2 * eps)
        grads[name] = np.linalg.norm(g)
    return states, norms, grads


def close_to_printed(printed, exact, digits=3):
    """A number the drawing printed with `digits` significant digits, against the exact value."""
    return abs(float(printed) - exact) <= 0.51 * 10 ** (math.floor(math.log10(abs(exact))) - digits + 1)


def test_a_five_step_lstm_update_drawn_with_its_cut(tmp_path):
    """What the cells view of `draw_update` shows, for the update at u = 5 of TBPTT(5, 3) on an LSTMCell loop:

    - Clusters: one box `cluster_step_t` labelled `t = <t>` per step, t = 1..5. Steps 3, 4, 5 (after the cut)
      each hold an `input` box (x_t W_ih^T + b_ih, b_hh added), a `cell` box (c_t and h_t with their values and
      |dL/dc|, |dL/dh|) and an `output / loss` box; steps 1 and 2, at or behind the cut, hold only their output
      and loss and the grey `cut` nodes of their state (h_1; h_2 and c_2), as the runner cut them in place.
    - Edges: thick edges chain cell_3 -> cell_4 -> cell_5 (the recurrence); dashed grey edges labelled
      `cut (k2 = 3)` run from the cut states to what read them (cell_3, and the losses of steps 1 and 2); dashed
      blue `+ loss` edges are the running total of the steps' losses, not the recurrence.
    - Colours: each step after the cut is framed (and its cell box filled) with the colour of log10 ||dL/dh_t||
      on the legend's yellow-to-red scale (from the largest norm's decade down four decades): pale is a small
      gradient, red a large one. Steps 1 and 2 stay grey: no gradient reaches them through the cut.
    - The parameter table lists each weight once, with |grad|, however many steps read it; the ops view stands
      each in a `parameters` box once.
    The printed norms are checked against central differences in numpy, the values against a numpy forward."""
    graphs, p, xs, ys = lstm_update_drawing()
    assert list(graphs) == [5]
    cells, ops = (graph.source for graph in graphs[5])
    states, norms, grads = hand_gradients(p, xs, ys)

    for source in (cells, ops):
        assert re.findall(r"subgraph (cluster_step_\d+)", source) == [f"cluster_step_{t}" for t in range(1, 6)]
        for name in NAMES_LSTM:
            assert source.count(f"<B>{name}</B>") == 1, name               # shared weights once
        assert "u = 5" in source and "cut at c = 2" in source                 # c_u = max(0, 5 - 3)
        assert "cut (k2 = 3)" in source and "style=dashed" in source

    clusters = dict(re.findall(r"subgraph cluster_step_(\d+) \{(.*?)\n\t\}", cells, re.S))
    assert "<B>cut</B> h" in clusters["1"] and "<B>cut</B> c" in clusters["2"] and "<B>cut</B> h" in clusters["2"]
    for t in ("1", "2"):
        assert "cell_" not in clusters[t] and "BGCOLOR" not in clusters[t]      # grey: no gradient behind the cut
    cut_edges = re.findall(r"(n\d+) -> (\w+) \[[^\]]*cut \(k2 = 3\)", cells)
    assert {target for _, target in cut_edges} == {"out_1", "out_2", "cell_3"}
    assert re.search(r"cell_3 -> cell_4 \[penwidth", cells) and re.search(r"cell_4 -> cell_5 \[penwidth", cells)

    legend = re.findall(r'BGCOLOR="(#[0-9a-f]{6})" WIDTH', cells)              # pale to red, in order
    shown = {}
    for t in ("3", "4", "5"):
        colour, printed = re.search(r'<TD BGCOLOR="(#[0-9a-f]{6})"><B>t = \d+</B>\s+\|\|dL/dh_t\|\| = ([0-9.e+-]+)',
                                    clusters[t]).groups()
        assert close_to_printed(printed, norms[int(t)][0])
        shown[int(t)] = legend.index(colour)
        cell_box = re.search(r"cell_\d+ \[label=<(.*?)> fillcolor=\"(#[0-9a-f]{6})\"", clusters[t])
        assert cell_box.group(2) == colour
        dc, dh = re.search(r"\|dL/dc\| = ([0-9.e+-]+).*\|dL/dh\| = ([0-9.e+-]+)", cell_box.group(1)).groups()
        assert close_to_printed(dc, norms[int(t)][1]) and close_to_printed(dh, norms[int(t)][0])
        values = re.search(r"h \(1, 2\) = \[([-0-9.e]+), ([-0-9.e]+)\]", cell_box.group(1)).groups()
        assert np.allclose([float(v) for v in values], states[int(t)][0][0], rtol=1e-3)
    by_norm = sorted(shown, key=lambda t: norms[t][0])
    assert [shown[t] for t in by_norm] == sorted(shown.values())              # a larger norm is never paler
    assert legend.index(clusters["3"].split('color="')[1][:7]) == max(shown.values())

    table = dict(re.findall(r"<B>([\w.]+)</B></TD><TD>\([\d, ]*\)</TD><TD>\|grad\| = ([0-9.e+-]+)", cells))
    assert set(table) == set(NAMES_LSTM)
    for name, printed in table.items():
        assert close_to_printed(printed, grads[name]), name

    path = tmp_path / "lstm_update.svg"
    mg.viz.render(graphs[5][0], str(path))
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert all(f"<title>cluster_step_{t}</title>" in svg for t in range(1, 6)) and "cut (k2 = 3)" in svg


def test_an_update_drawn_after_the_run_is_refused_with_advice():
    """A TBPTT update's loss kept from on_backward and drawn after the run would show the cuts later updates made
    under its own 'no cut (c = 0)' title; draw_update refuses it (ValueError naming on_backward), and the same
    loss drawn inside on_backward has its title and no cut node."""
    cell = mg.nn.RNNCell(1, 2, rng=np.random.default_rng(0), dtype=np.float64)
    kept, inside = {}, {}

    def on_backward(u, loss):
        kept[u] = loss
        inside[u] = mg.viz.draw_update(loss).source
    mg.bptt.tbptt(lambda x, h: (cell(x, h),) * 2, None, np.ones((4, 1, 1)), [np.zeros((1, 2))] * 4,
                  lambda y, t: ((y - t) ** 2).sum(), 2, 2, on_backward=on_backward)
    assert "no cut (c = 0)" in inside[2] and "<B>cut</B>" not in inside[2]
    assert "gradients stop at the cut at c = 2" in inside[4]
    with pytest.raises(ValueError, match=r"^draw_update: this is the loss of the update at u = 2, .*on_backward"):
        mg.viz.draw_update(kept[2])