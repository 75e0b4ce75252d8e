"""Tests written from a docstring-accuracy audit (part C) of microgradseq/bptt/, viz/, optim/, utils/, func.py,
forward_ad.py, forward.py, transforms.py, autograd_functional.py, function.py, gradcheck.py, anomaly.py,
grad_mode.py, tensor_hooks.py, autograd.py, gradients.py, charlm.py, __main__.py and examples/*.py: each pins a
claim of a docstring or a comment (a formula, an error and its type, a rule "as PyTorch's") that no other test
pinned. Expected values come from closed forms, numpy written here, quadrature or PyTorch's documented
behaviour, never from the library's own output. Each docstring names the file and the claim. (The audit's false
claims were stale docstrings, the code right: forward_ad.py said a dual level inside `func.jacfwd` is a
RuntimeError, and it is a NotImplementedError, as inside every torch.func transform; bptt/blocks.py said the
demo's blocks are always the k1 new steps of an update, and a tail update's cut splits one; optim/clip.py said
`max_norm=inf` only measures, and an infinite norm makes every gradient NaN, as PyTorch's. The tests below
marked "corrected" pin what the fixed text says.)"""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.autograd.forward_ad as fwAD
import microgradseq.func as func
from microgradseq.autograd import sum_to
from microgradseq.bptt.blocks import block_ends
from microgradseq.bptt.rtrl import recorded_jacobian
from microgradseq.bptt.runner import cut_of_update_at_or_after, update_steps
from microgradseq.gradients import Scatter, StackedProducts
from microgradseq.optim.clip import clip_grad_norm_, vector_norm
from microgradseq.optim.lbfgs import _remember, two_loop
from microgradseq.optim.lr_scheduler import ReduceLROnPlateau
from microgradseq.optim.options import plain
from microgradseq.viz import style

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """Import examples/<name>.py by path (examples/ is not a package); its main() is not run."""
    spec = importlib.util.spec_from_file_location(f"claims_c_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def doubled_in_a_dual_level(x):
    """2 x, after opening (and closing) a dual level: what the transforms below call."""
    with fwAD.dual_level():
        pass
    return x * 2


# ---- forward_ad.py ----------------------------------------------------------------------------------------

def test_a_dual_level_inside_mg_jvp_is_a_runtime_error():
    """forward_ad.py module docstring: "one level at a time (... entering one inside `mg.jvp` ... is a
    RuntimeError" (PyTorch: nested forward-mode levels are not supported, a RuntimeError)."""
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="^enter_dual_level: nested forward-mode levels are not supported"):
        mg.jvp(doubled_in_a_dual_level, (x,), (mg.ones(2),))


@pytest.mark.parametrize("transform", [
    lambda f, x: func.grad(lambda a: f(a).sum())(x),
    lambda f, x: func.jacrev(f)(x),
    lambda f, x: func.vjp(f, x),
])
def test_a_dual_level_inside_a_reverse_mode_func_transform_is_a_not_implemented_error(transform):
    """forward_ad.py module docstring: "inside the function of a reverse-mode `torch.func` transform, a
    NotImplementedError" (a transform of a transform is a second derivative, not recorded here)."""
    with pytest.raises(NotImplementedError, match="^enter_dual_level: called inside func"):
        transform(doubled_in_a_dual_level, mg.tensor([1.0, 2.0]))


@pytest.mark.parametrize("transform", [
    lambda f, x: func.jacfwd(f)(x),
    lambda f, x: func.jvp(f, (x,), (mg.ones(2),)),
])
def test_corrected_a_dual_level_inside_func_jacfwd_or_func_jvp_is_a_not_implemented_error(transform):
    """forward_ad.py module docstring (corrected): it said "entering one inside `mg.jvp` or `func.jacfwd`, is a
    RuntimeError"; inside func.jacfwd (and func.jvp) it is the NotImplementedError of every torch.func
    transform, which the audit's fix says."""
    with pytest.raises(NotImplementedError, match="^enter_dual_level: called inside func"):
        transform(doubled_in_a_dual_level, mg.tensor([1.0, 2.0]))


def test_make_dual_casts_the_tangent_to_the_primals_dtype():
    """forward_ad.py module docstring: "a tangent is given per dual tensor, of the primal's shape; here it is
    cast to the primal's dtype": a float64 tangent on a float32 primal, and what it pushes, are float32."""
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32))
    with fwAD.dual_level():
        y = fwAD.make_dual(x, np.array([0.5, 0.25])) * 3
        tangent = fwAD.unpack_dual(y).tangent
    assert tangent.dtype == np.float32
    np.testing.assert_array_equal(tangent.numpy(), np.array([1.5, 0.75], dtype=np.float32))


# ---- optim/lbfgs.py ---------------------------------------------------------------------------------------

def test_two_loop_is_minus_the_bfgs_inverse_hessian_times_g():
    """optim/lbfgs.py, `two_loop`: d = -H g with H the inverse-Hessian estimate from the pairs oldest first
    and H_0 = H_diag I, without forming H. Here H is formed by the BFGS update written out, pair by pair:
    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T, rho = 1 / (y . s)."""
    rng = np.random.default_rng(0)
    g = rng.standard_normal(4)
    pairs = []
    for _ in range(3):
        s = rng.standard_normal(4)
        y = s + 0.3 * rng.standard_normal(4)          # y . s > 0: a pair L-BFGS keeps
        assert y @ s > 0
        pairs.append((s, y))
    gamma = 0.7
    H = gamma * np.eye(4)
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        V = np.eye(4) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    d = two_loop(g, [y for _, y in pairs], [s for s, _ in pairs], [1.0 / (y @ s) for s, y in pairs], gamma)
    np.testing.assert_allclose(d, -H @ g, rtol=1e-12, atol=1e-14)


def test_remember_drops_the_oldest_pair_beyond_history_size_and_scales_h0_by_the_newest():
    """optim/lbfgs.py, `_remember`: "Keep the pair (s, y) if y . s > 1e-10, dropping the oldest beyond
    `history_size`; return the scale of H_0, y . s / y . y of the newest kept pair"."""
    dirs, stps, ro = [], [], []
    pairs = [(np.array([1.0, 0.0]), np.array([2.0, 0.0])),
             (np.array([0.0, 1.0]), np.array([0.0, 4.0])),
             (np.array([1.0, 1.0]), np.array([1.0, 3.0]))]
    for s, y in pairs:
        H_diag = _remember(y, s, dirs, stps, ro, 1.0, history_size=2)
    assert H_diag == pytest.approx(4.0 / 10.0)               # y . s = 1 + 3, y . y = 1 + 9
    assert [list(s) for s in stps] == [[0.0, 1.0], [1.0, 1.0]]
    assert ro == [pytest.approx(1 / 4.0), pytest.approx(1 / 4.0)]


# ---- optim/clip.py ----------------------------------------------------------------------------------------

def test_vector_norm_of_squares_that_overflow_is_computed_from_the_largest():
    """optim/clip.py, `vector_norm`: "computed as m * (sum (|x_i| / m)^p)^(1/p), m = max |x_i|, so that a large
    p cannot overflow (for p = 2 ... straight from the squares ... when their sum is finite)": entries of 1e200
    (whose squares are inf) give sqrt(2) 1e200 and 2^(1/3) 1e200."""
    values = np.array([1e200, -1e200])
    assert vector_norm(values, 2.0) == pytest.approx(math.sqrt(2.0) * 1e200, rel=1e-15)
    assert vector_norm(values, 3.0) == pytest.approx(2.0 ** (1 / 3) * 1e200, rel=1e-15)
    assert vector_norm(np.array([3.0, 4.0]), 2.0) == 5.0


@pytest.mark.parametrize("p", [2.0, 3.0, math.inf])
def test_vector_norm_nan_inf_and_empty(p):
    """optim/clip.py, `vector_norm`: "A NaN anywhere gives NaN, an inf (and no NaN) inf; no numbers give 0"."""
    assert math.isnan(vector_norm(np.array([np.inf, np.nan, 1.0]), p))
    assert vector_norm(np.array([np.inf, 1.0]), p) == math.inf
    assert vector_norm(np.array([]), p) == 0.0


def test_corrected_clip_grad_norm_with_max_norm_inf_and_an_infinite_gradient_makes_every_gradient_nan():
    """optim/clip.py, `clip_grad_norm_` (corrected): it said "`max_norm=inf` only measures"; with an infinite
    gradient the norm is inf and coef = inf / (inf + 1e-6) is NaN, which scales every gradient to NaN, as
    PyTorch's clamp(max_norm / (total_norm + 1e-6), max=1.0) does."""
    a, b = mg.nn.Parameter(mg.zeros(2)), mg.nn.Parameter(mg.zeros(1))
    a.grad, b.grad = np.array([1.0, np.inf]), np.array([2.0])
    assert clip_grad_norm_([a, b], max_norm=math.inf).item() == math.inf
    assert np.isnan(a.grad).all() and np.isnan(b.grad).all()


# ---- optim/lr_scheduler/ -----------------------------------------------------------------------------------

def test_reduce_lr_on_plateau_skips_a_reduction_smaller_than_eps():
    """optim/lr_scheduler/plateau.py, `ReduceLROnPlateau`: "lr = max(lr * factor, min_lr) (only if that lowers
    it by more than eps)", as PyTorch's `if old_lr - new_lr > self.eps`: from 1e-8 halving would lower it by 5e-9 < eps =
    1e-8, so it stays; from 1.0 it is halved."""
    p = mg.nn.Parameter(mg.ones(1))
    optimizer = mg.optim.SGD([p], lr=1e-8)
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=0, eps=1e-8)
    scheduler.step(1.0)
    scheduler.step(2.0)                              # a bad epoch, more than patience 0: a reduction is due
    assert optimizer.param_groups[0]["lr"] == 1e-8
    optimizer.param_groups[0]["lr"] = 1.0
    scheduler.step(3.0)
    assert optimizer.param_groups[0]["lr"] == 0.5


# ---- grad_mode.py ----------------------------------------------------------------------------------------

def test_set_grad_enabled_as_a_decorator_sets_the_mode_inside_each_call_only():
    """grad_mode.py, `set_grad_enabled.__call__`: "`@set_grad_enabled(False)`: the mode inside each call of
    `func` only; the mode set when the decorator was made is put back at once" (PyTorch's set_grad_enabled is
    a decorator too)."""
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def recording():
        return mg.is_grad_enabled()

    assert mg.is_grad_enabled()                      # put back at once
    assert recording() is False
    assert mg.is_grad_enabled()


# ---- autograd.py and gradients.py ------------------------------------------------------------------------

def test_sum_to_undoes_broadcasting_as_its_docstring_example():
    """autograd.py, `sum_to`: "If y = f(x) broadcast x of shape (3, 1) to (2, 3, 4), then dL/dx[i, 0] = sum over
    a, k of dL/dy[a, i, k]"."""
    g = np.arange(24.0).reshape(2, 3, 4)
    expected = np.array([[sum(g[a, i, k] for a in range(2) for k in range(4))] for i in range(3)])
    np.testing.assert_array_equal(sum_to(g, (3, 1)), expected)


def test_scatter_adds_a_gradient_for_each_time_a_position_is_named():
    """gradients.py, `Scatter`: "dL/dx for y = x[index]: `grad` at the indexed positions and zero elsewhere";
    `add_into`: "integer arrays may name one position twice: add each"."""
    index = (np.array([0, 2, 0]),)
    written = Scatter(index, np.array([1.0, 2.0, 4.0]), repeats=True).materialise((4,))
    np.testing.assert_array_equal(written, [5.0, 0.0, 2.0, 0.0])
    once = Scatter(slice(1, 3), np.array([7.0, 8.0]), repeats=False).materialise((4,))
    np.testing.assert_array_equal(once, [0.0, 7.0, 8.0, 0.0])


def test_stacked_products_are_the_sum_of_their_products_over_several_blocks():
    """gradients.py, `StackedProducts`: "A weight gradient sum_k left_k^T right_k, kept as its factors ...
    With no right factors (`right=None`) the sum is of the rows of the left ones, sum_k 1^T g_k: a bias's
    gradient", summed "a block of rows at a time" (4,000 rows here: more than one block)."""
    rng = np.random.default_rng(1)
    lefts = [rng.standard_normal((40, 8)) for _ in range(100)]
    rights = [rng.standard_normal((40, 6)) for _ in range(100)]
    weight, bias = StackedProducts(lefts[0], rights[0]), StackedProducts(lefts[0])
    for left, right in zip(lefts[1:], rights[1:]):
        weight.extend(StackedProducts(left, right))
        bias.extend(StackedProducts(left))
    expected = np.zeros((8, 6))
    for left, right in zip(lefts, rights):
        expected += left.T @ right
    np.testing.assert_allclose(weight.materialise(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bias.materialise(), sum(left.sum(axis=0) for left in lefts), rtol=1e-12,
                               atol=1e-12)


# ---- bptt/ ------------------------------------------------------------------------------------------------

def test_recorded_jacobian_of_h0_computed_from_a_parameter():
    """bptt/rtrl.py, `recorded_jacobian`: "d tensor/d theta for a tensor computed before the run (h0 =
    tanh(W0)), shaped like a sensitivity, (|theta|, *tensor.shape) ... The graph is kept and every leaf's
    `.grad` left as it was": for h0 = tanh(W0) (1, 3), row d is (1 - tanh^2 W0_d) at entry d, zero elsewhere."""
    W0 = mg.tensor([[0.1, -0.4, 0.7]], dtype=np.float64, requires_grad=True)
    W0.grad = np.full((1, 3), 9.0)
    h0 = mg.tanh(W0)
    P0 = recorded_jacobian(h0, [W0])
    expected = np.zeros((3, 1, 3))
    for d, w in enumerate([0.1, -0.4, 0.7]):
        expected[d, 0, d] = 1.0 - math.tanh(w) ** 2
    np.testing.assert_allclose(P0, expected, rtol=1e-14, atol=1e-16)
    np.testing.assert_array_equal(W0.grad, np.full((1, 3), 9.0))
    h0.sum().backward()                               # the graph was kept: it can still be walked
    np.testing.assert_allclose(W0.grad, 9.0 + expected.sum(axis=(0, 1))[None], rtol=1e-14)


def test_cut_of_update_at_or_after_is_max_0_u_minus_k2():
    """bptt/runner.py, `cut_of_update_at_or_after`: "c = max(0, u - k2) for u the first update at or after step
    t", the updates being u = k1, 2 k1, ... and n (`update_steps`)."""
    for n, k1, k2 in [(10, 3, 2), (10, 4, 7), (7, 7, 1), (9, 2, 5)]:
        updates = update_steps(n, k1)
        for t in range(1, n + 1):
            u = min(u for u in updates if u >= t)
            assert cut_of_update_at_or_after(t, n, k1, k2) == max(0, u - k2), (n, k1, k2, t)


def test_corrected_a_tail_update_splits_a_block_at_its_cut():
    """bptt/blocks.py module docstring: "blocks end at every update u and at every cut c_u = u - k2"; and
    (corrected) with k2 a multiple of k1 the blocks are the k1 new steps of each update except near a tail
    update: n = 50, TBPTT(20, 40) has updates 20, 40, 50 and cuts 0, 0, 10, so blocks end at 10, 20, 40, 50."""
    updates = update_steps(50, 20)
    cuts = {u - 40 for u in updates if u - 40 > 0}
    assert updates == [20, 40, 50] and cuts == {10}
    assert block_ends(50, 20, 40) == sorted(set(updates) | cuts) == [10, 20, 40, 50]


# ---- viz/style.py -----------------------------------------------------------------------------------------

def test_grad_scale_spans_at_least_four_decades_down_from_the_largest_norms_decade():
    """viz/style.py, `grad_scale`: "(low, high) of the colour scale in log10: `grad_range` when given, else from
    the largest norm's decade down at least DECADES decades" (DECADES = 4)."""
    assert style.DECADES == 4
    assert style.grad_scale({1: 0.5, 2: 0.03}, None) == (-4, 0)            # ceil(log10 0.5) = 0
    assert style.grad_scale({1: 20.0, 2: 1e-7}, None) == (-7, 2)           # the smallest norm reaches further
    assert style.grad_scale({1: 20.0}, (1e-3, 1e2)) == pytest.approx((-3.0, 2.0))


def test_colour_ends_and_nan():
    """viz/style.py, `colour`: "the palest at or below `low` (a zero norm too), the hottest at or above `high`
    (+inf too ...), NAN_COLOUR for NaN"; `log_norm`: "-inf for 0, +inf for +inf, NaN for NaN"."""
    low, high = -4.0, 0.0
    assert style.colour(style.log_norm(0.0), low, high) == style.PALETTE[0]
    assert style.colour(style.log_norm(math.inf), low, high) == style.PALETTE[-1]
    assert style.colour(style.log_norm(math.nan), low, high) == style.NAN_COLOUR
    assert style.colour(-2.0, low, high) == style.PALETTE[3]                # the middle of 7 colours


def test_numbers_gives_four_significant_digits_and_zero_for_minus_zero():
    """viz/style.py, `numbers`: "The values, 4 significant digits each; a zero is `0` whatever its sign"."""
    assert style.numbers(np.array([-0.0, 3.14159265, 12345.6])) == "[0, 3.142, 1.235e+04]"
    assert style.numbers(np.array(-0.0)) == "0"


# ---- optim/options.py -------------------------------------------------------------------------------------

def test_plain_turns_numpy_numbers_into_pythons_own():
    """optim/options.py, `plain`: "a numpy number ... or a 0-d numeric array ... becomes the int, float or bool
    it holds; tuples and lists item by item; anything else as it is"."""
    converted = plain((np.float32(0.5), np.array(3), [np.bool_(True), "x"]))
    assert converted == (0.5, 3, [True, "x"])
    assert type(converted[0]) is float and type(converted[1]) is int and type(converted[2][0]) is bool
    array = np.ones(2)
    assert plain(array) is array


# ---- __main__.py and charlm.py ----------------------------------------------------------------------------

def test_the_drawn_window_fits_whenever_k1_plus_k2_is_below_the_text():
    """__main__.py, `check_demo`: the drawn update is "u = (the first multiple of k1 above k2) ... k1 + k2 below
    n always fits" (charlm.record_window: "u = the smallest multiple of k1 above k2"): u > k2 and u <= k1 + k2."""
    for k1 in range(1, 30):
        for k2 in range(1, 30):
            u = k1 * (k2 // k1 + 1)                  # what check_demo and record_window compute
            assert u == min(m for m in range(k1, 3 * 30, k1) if m > k2)
            assert k2 < u <= k1 + k2


# ---- examples ---------------------------------------------------------------------------------------------

def test_sine_regression_last_value_baseline_is_its_closed_form():
    """examples/sine_regression.py module docstring: "repeating the last input costs E[(x_t - y_t)^2] = 1 -
    E[cos(w H)] + sigma^2" (w uniform on FREQUENCIES, phi uniform): checked by quadrature over w and phi."""
    example = load_example("sine_regression")
    low, high = example.FREQUENCIES
    w = low + (high - low) * (np.arange(400) + 0.5) / 400                   # midpoint rule
    phi = 2 * np.pi * (np.arange(400) + 0.5) / 400
    W, PHI = np.meshgrid(w, phi)
    gap = np.sin(PHI) - np.sin(W * example.HORIZON + PHI)                   # x_t - y_t without noise, t = 0
    expected = float(np.mean(gap ** 2)) + example.NOISE ** 2
    assert example.last_value_mse() == pytest.approx(expected, rel=1e-5)


def test_vanishing_gradients_cells_are_set_as_their_comments_say():
    """examples/vanishing_gradients.py, `make_cell`: "0.5 * orthogonal  # every singular value is 0.5"; the LSTM's
    "forget-gate rows (order i, f, g, o): f near sigmoid(2) = 0.88" (PyTorch's gate order)."""
    example = load_example("vanishing_gradients")
    rng = np.random.default_rng(0)
    small = example.make_cell("tanh, small W_hh", 4, 6, rng)
    np.testing.assert_allclose(np.linalg.svd(small.weight_hh.data, compute_uv=False), np.full(6, 0.5), rtol=1e-12)
    lstm = example.make_cell("LSTM", 4, 6, rng)
    np.testing.assert_array_equal(lstm.bias_ih.data[6:12], np.full(6, 2.0))
    assert 1 / (1 + math.exp(-2.0)) == pytest.approx(0.88, abs=0.005)
