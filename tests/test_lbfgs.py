"""optim.LBFGS, as torch.optim.LBFGS: checked against closed-form minimisers (a quadratic's A^-1 b,
Rosenbrock's (1, 1)), hand-computed first steps and BFGS directions written as matrices in numpy,
counts of closure calls for each stopping rule, and its own continuation (two steps against one of
twice the iterations). Ends with a port of PyTorch's examples/time_sequence_prediction."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq as torch          # (the port of time_sequence_prediction at the end spells it so)
import microgradseq.nn as nn
import microgradseq.optim as optim
from microgradseq.optim import LBFGS


def leaf(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def spd_problem(size, seed=0, condition=None):
    """A symmetric positive definite A and a b (eigenvalues from 1 to `condition` when given)."""
    rng = np.random.default_rng(seed)
    if condition is None:
        M = rng.standard_normal((size, size))
        A = M @ M.T + size * np.eye(size)
    else:
        Q, _ = np.linalg.qr(rng.standard_normal((size, size)))
        A = Q @ np.diag(np.geomspace(1.0, condition, size)) @ Q.T
    return A, rng.standard_normal(size)


class Quadratic:
    """f(x) = 0.5 x^T A x - b^T x over the parameters' entries joined in order (the flat vector
    LBFGS sees), with a closure that counts its calls and records each x, f and max |grad f|."""

    def __init__(self, A, b, params):
        self.A, self.b, self.params = A, b, params
        self.calls, self.xs, self.losses, self.max_grads = 0, [], [], []

    def flat(self):
        return np.concatenate([p.data.ravel() for p in self.params])

    def loss(self):
        x = mg.cat([p.reshape(-1) for p in self.params])
        return 0.5 * (x @ (mg.tensor(self.A) @ x)) - (mg.tensor(self.b) * x).sum()

    def closure_for(self, optimizer):
        def closure():
            self.calls += 1
            x = self.flat()
            self.xs.append(x)
            self.losses.append(0.5 * x @ self.A @ x - self.b @ x)
            self.max_grads.append(np.abs(self.A @ x - self.b).max())
            optimizer.zero_grad()
            loss = self.loss()
            loss.backward()
            return loss
        return closure


# ---- reaching the minimum ----------------------------------------------------------------------

def test_a_convex_quadratic_reaches_the_closed_form_minimiser():
    """0.5 x^T A x - b^T x is least at x = A^-1 b; the parameters are a (2, 2) matrix and a vector of 2,
    which LBFGS treats as one vector of 6 entries."""
    A, b = spd_problem(6)
    W, v = leaf(np.zeros((2, 2))), leaf(np.zeros(2))
    problem = Quadratic(A, b, [W, v])
    optimizer = LBFGS([W, v], max_iter=50, tolerance_grad=1e-12, tolerance_change=1e-20)
    optimizer.step(problem.closure_for(optimizer))
    np.testing.assert_allclose(problem.flat(), np.linalg.solve(A, b), rtol=0, atol=1e-8)
    assert problem.calls <= 50 and W.shape == (2, 2) and W.dtype == np.float64


def test_rosenbrock_from_minus_one_and_a_half_two_reaches_one_one_with_strong_wolfe():
    """(1 - a)^2 + 100 (b - a^2)^2 has its minimum 0 at (1, 1), down a long curved valley."""
    ab = leaf([-1.5, 2.0])
    optimizer = LBFGS([ab], max_iter=200, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                      tolerance_change=1e-20)

    def closure():
        optimizer.zero_grad()
        loss = (1 - ab[0]) ** 2 + 100 * (ab[1] - ab[0] * ab[0]) ** 2
        loss.backward()
        return loss

    optimizer.step(closure)
    np.testing.assert_allclose(ab.data, [1.0, 1.0], rtol=0, atol=1e-6)


def test_strong_wolfe_minimises_a_quadratic_exactly_enough_in_a_few_iterations():
    """With the line search the step meets the Wolfe conditions, so every pair is kept and the
    quadratic of 6 entries is solved in far fewer than 50 iterations."""
    A, b = spd_problem(6, seed=3)
    x = leaf(np.zeros(6))
    problem = Quadratic(A, b, [x])
    optimizer = LBFGS([x], max_iter=50, line_search_fn="strong_wolfe", tolerance_grad=1e-10, tolerance_change=1e-20)
    optimizer.step(problem.closure_for(optimizer))
    np.testing.assert_allclose(x.data, np.linalg.solve(A, b), rtol=0, atol=1e-8)
    assert optimizer.state[0]["n_iter"] < 20


# ---- the first step and the two-loop direction ----------------------------------------------------

@pytest.mark.parametrize("scale, lr", [(3.0, 1.0), (3.0, 0.8), (0.05, 0.5)])
def test_the_first_iteration_moves_by_minus_lr_times_min_one_over_the_l1_norm_times_the_gradient(scale, lr):
    """x1 = x0 - lr * min(1, 1 / |g|_1) * g, exactly: with |g|_1 above 1 (scaled) and below (not)."""
    c = scale * np.array([0.5, -1.0, 0.25, 2.0])
    start = np.array([0.3, -0.2, 0.1, 0.7])
    x = leaf(start)
    optimizer = LBFGS([x], lr=lr, max_iter=1)

    def closure():
        optimizer.zero_grad()
        loss = (mg.tensor(c) * x).sum() + 0.5 * (x * x).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    g = c + start
    np.testing.assert_array_equal(x.data, start - lr * min(1.0, 1.0 / np.abs(g).sum()) * g)


@pytest.mark.parametrize("lr", [1.0, 0.5])
def test_the_second_direction_with_history_one_is_the_bfgs_update_of_a_scaled_identity(lr):
    """With history_size=1 the second direction is -H g1 for the BFGS update of H0 = gamma I by the
    one pair s = x1 - x0, y = g1 - g0 (rho = 1 / y.s, gamma = y.s / y.y), written here as matrices:

        H = (I - rho s y^T) H0 (I - rho y s^T) + rho s s^T
    """
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -2.0])
    x0 = np.array([0.4, 0.9])
    x = leaf(x0)
    problem = Quadratic(A, b, [x])
    optimizer = LBFGS([x], lr=lr, max_iter=2, max_eval=10, history_size=1)
    optimizer.step(problem.closure_for(optimizer))

    g0 = A @ x0 - b
    x1 = x0 - lr * min(1.0, 1.0 / np.abs(g0).sum()) * g0
    g1 = A @ x1 - b
    s, y = x1 - x0, g1 - g0
    rho, gamma = 1.0 / (y @ s), (y @ s) / (y @ y)
    I = np.eye(2)
    H = (I - rho * np.outer(s, y)) @ (gamma * I) @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)
    direction = -H @ g1
    np.testing.assert_allclose(optimizer.state[0]["d"], direction, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.data, x1 + lr * direction, rtol=1e-12, atol=1e-15)
    assert problem.calls == 2                  # f at x0 and x1; none after the last iteration


def numpy_lbfgs(A, b, x0, lr, history_size, iterations):
    """L-BFGS without a line search on 0.5 x^T A x - b^T x, written with matrices: the first step
    lr min(1, 1 / |g|_1) along -g, then steps of lr along -H g, H the BFGS update of gamma I by the
    newest `history_size` pairs (s, y), oldest first, gamma = y.s / y.y of the newest:
    H <- V^T H V + rho s s^T with V = I - rho y s^T, rho = 1 / y.s. The iterates and directions."""
    x, g, pairs, xs, ds = x0.copy(), A @ x0 - b, [], [x0.copy()], []
    for k in range(iterations):
        if k == 0:
            d, t = -g, lr * min(1.0, 1.0 / np.abs(g).sum())
        else:
            s, y = xs[-1] - xs[-2], g - previous_g
            assert y @ s > 1e-10                      # (a quadratic keeps every pair)
            pairs = (pairs + [(s, y)])[-history_size:]
            newest_s, newest_y = pairs[-1]
            H = (newest_y @ newest_s) / (newest_y @ newest_y) * np.eye(len(x))
            for s_i, y_i in pairs:
                rho = 1.0 / (y_i @ s_i)
                V = np.eye(len(x)) - rho * np.outer(y_i, s_i)
                H = V.T @ H @ V + rho * np.outer(s_i, s_i)
            d, t = -H @ g, lr
        previous_g = g
        x = x + t * d
        g = A @ x - b
        xs.append(x.copy())
        ds.append(d)
    return xs, ds


@pytest.mark.parametrize("history_size", [2, 3])
@pytest.mark.parametrize("lr", [1.0, 0.6])
def test_directions_with_several_pairs_are_the_bfgs_update_written_as_matrices(history_size, lr):
    """Six iterations on a quadratic of 5 entries: with 2 or 3 pairs kept (and older ones dropped), each
    iterate and the last direction are those of the matrix form of L-BFGS, H_0 scaled by the newest
    pair, to rounding."""
    A, b = spd_problem(5, seed=4, condition=30.0)
    x0 = np.array([0.5, -1.0, 2.0, 0.25, -0.75])
    x = leaf(x0)
    problem = Quadratic(A, b, [x])
    optimizer = LBFGS([x], lr=lr, max_iter=6, max_eval=100, history_size=history_size, tolerance_grad=0.0,
                      tolerance_change=0.0)
    optimizer.step(problem.closure_for(optimizer))
    xs, ds = numpy_lbfgs(A, b, x0, lr, history_size, 6)
    np.testing.assert_allclose(problem.xs, xs[:6], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.data, xs[6], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(optimizer.state[0]["d"], ds[-1], rtol=1e-10, atol=1e-12)
    assert len(optimizer.state[0]["old_dirs"]) == history_size


def test_with_history_one_only_the_newest_pair_is_kept():
    """history_size bounds the pairs; each kept pair is (y, s) with y . s > 0 and rho = 1 / y . s."""
    A, b = spd_problem(4, seed=1, condition=50.0)
    x = leaf(np.ones(4))
    problem = Quadratic(A, b, [x])
    optimizer = LBFGS([x], max_iter=4, history_size=1, tolerance_change=0.0, tolerance_grad=0.0)
    optimizer.step(problem.closure_for(optimizer))
    state = optimizer.state[0]
    assert len(state["old_dirs"]) == len(state["old_stps"]) == len(state["ro"]) == 1
    x2, x3 = problem.xs[2], problem.xs[3]                   # the iterates before and after the newest pair
    np.testing.assert_allclose(state["old_stps"][0], x3 - x2, rtol=1e-12)
    np.testing.assert_allclose(state["old_dirs"][0], A @ (x3 - x2), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(state["ro"][0], 1.0 / ((x3 - x2) @ A @ (x3 - x2)), rtol=1e-10)


# ---- stopping rules, by the closure's calls ---------------------------------------------------

def ill_conditioned(size=8):
    A, b = spd_problem(size, seed=2, condition=1e3)
    x = leaf(np.full(size, 3.0))
    return Quadratic(A, b, [x]), x


def test_max_iter_bounds_the_iterations_and_the_last_one_calls_no_closure():
    """Without a line search: one call to start, one after each iteration but the last."""
    problem, x = ill_conditioned()
    optimizer = LBFGS([x], max_iter=5, max_eval=100)
    optimizer.step(problem.closure_for(optimizer))
    assert problem.calls == 5
    assert optimizer.state[0]["n_iter"] == 5 and optimizer.state[0]["func_evals"] == 5


def test_max_eval_stops_once_that_many_calls_were_made():
    problem, x = ill_conditioned()
    optimizer = LBFGS([x], max_iter=20, max_eval=4)
    optimizer.step(problem.closure_for(optimizer))
    assert problem.calls == 4 and optimizer.state[0]["n_iter"] == 3


def test_max_eval_defaults_to_five_quarters_of_max_iter():
    x = leaf([1.0])
    assert LBFGS([x]).param_groups[0]["max_eval"] == 25
    assert LBFGS([x], max_iter=7).param_groups[0]["max_eval"] == 8
    assert LBFGS([x], max_iter=7, max_eval=3).param_groups[0]["max_eval"] == 3


def test_a_gradient_already_below_tolerance_grad_changes_nothing():
    """max |g| <= tolerance_grad at the start: one call, no iteration, the closure's loss returned."""
    A, b = spd_problem(3)
    x = leaf(np.linalg.solve(A, b))
    problem = Quadratic(A, b, [x])
    optimizer = LBFGS([x], tolerance_grad=1e-6)
    loss = optimizer.step(problem.closure_for(optimizer))
    assert problem.calls == 1 and problem.max_grads[0] <= 1e-6
    np.testing.assert_array_equal(x.data, problem.xs[0])
    assert isinstance(loss, mg.Tensor) and loss.item() == pytest.approx(problem.losses[0], abs=1e-14)
    assert optimizer.state[0] == {"func_evals": 1, "n_iter": 0}


def test_tolerance_grad_stops_at_the_first_iterate_whose_gradient_is_small_enough():
    problem, x = ill_conditioned(4)
    optimizer = LBFGS([x], max_iter=100, tolerance_grad=1e-3, tolerance_change=0.0)
    optimizer.step(problem.closure_for(optimizer))
    assert 2 < problem.calls < 100
    assert problem.max_grads[-1] <= 1e-3 and all(g > 1e-3 for g in problem.max_grads[:-1])


def test_a_small_change_of_the_loss_stops_it():
    """f = c x with c = 5e-5 and lr = 0.1: g = c is above tolerance_grad, g . d = -c^2 = -2.5e-9 goes
    down by more than tolerance_change, and the step moves x by lr c = 5e-6, more than it; but f
    changes by lr c^2 = 2.5e-10 < 1e-9: stop after one iteration."""
    c = 5e-5
    x = leaf([1.0])
    calls, losses = [], []
    optimizer = LBFGS([x], lr=0.1, max_iter=20)

    def closure():
        calls.append(1)
        losses.append(c * float(x.data[0]))
        optimizer.zero_grad()
        loss = c * x.sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert len(calls) == 2
    assert abs(losses[1] - losses[0]) < 1e-9 and abs(x.data[0] - 1.0) > 1e-9
    assert c > 1e-7 and c * c > 1e-9


def test_a_small_step_stops_it():
    """f = 500 x^2 at x = 1 with lr = 1e-10: the first step t d = -lr g / |g|_1 moves x by 1e-10 <=
    tolerance_change, while f changes by about 1e-7, more than it: stop after one iteration."""
    x = leaf([1.0])
    calls = []
    optimizer = LBFGS([x], lr=1e-10, max_iter=20)

    def closure():
        calls.append(float(x.data[0]))
        optimizer.zero_grad()
        loss = 500 * (x * x).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert len(calls) == 2
    assert abs(calls[1] - calls[0]) <= 1e-9 and 500 * abs(calls[1] ** 2 - calls[0] ** 2) > 1e-9


def test_a_direction_that_does_not_go_down_by_more_than_tolerance_change_stops_it_before_moving():
    """g . d = -|g|^2 > -tolerance_change at the first iteration: no step, one call."""
    x = leaf([0.5, -0.25])
    calls = []
    optimizer = LBFGS([x], tolerance_change=2.0)

    def closure():
        calls.append(1)
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert len(calls) == 1 and (2 * 0.5) ** 2 + (2 * 0.25) ** 2 < 2.0
    np.testing.assert_array_equal(x.data, [0.5, -0.25])
    assert optimizer.state[0]["n_iter"] == 1


# ---- state kept across steps ---------------------------------------------------------------------

@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_a_second_step_continues_the_first_exactly_as_one_step_of_twice_the_iterations(line_search_fn):
    """Two step(closure) calls of 3 iterations each end where one call of 6 does: the second
    continues from the kept d, t, pairs and previous gradient. (With strong_wolfe the second call's
    first closure call re-evaluates the point the line search already evaluated: one call more.)"""
    results = []
    for steps, max_iter in [(2, 3), (1, 6)]:
        problem, x = ill_conditioned(10)
        optimizer = LBFGS([x], max_iter=max_iter, max_eval=100, tolerance_grad=0.0, tolerance_change=0.0,
                          line_search_fn=line_search_fn)
        for _ in range(steps):
            optimizer.step(problem.closure_for(optimizer))
        results.append((x.data.copy(), optimizer.state[0]["n_iter"], problem.calls))
    (twice, n_twice, calls_twice), (once, n_once, calls_once) = results
    np.testing.assert_array_equal(twice, once)
    assert n_twice == n_once == 6
    assert calls_twice == calls_once + (line_search_fn is not None)
    assert np.abs(once - problem.xs[0]).max() > 0.1                    # it moved


def test_state_dict_round_trip_continues_training_identically(tmp_path):
    """A fresh LBFGS over the same values, given state_dict() (also through mg.save / mg.load),
    takes the same next step as the one that saved it."""
    problem, x = ill_conditioned(5)
    optimizer = LBFGS([x], max_iter=3, history_size=2)
    optimizer.step(problem.closure_for(optimizer))
    saved = optimizer.state_dict()
    assert list(saved["state"]) == [0]
    assert set(saved["state"][0]) == {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                                      "prev_flat_grad", "prev_loss"}
    assert saved["param_groups"][0]["history_size"] == 2 and saved["param_groups"][0]["params"] == [0]
    mg.save({"optimizer": saved}, tmp_path / "checkpoint.npz")
    reloaded = mg.load(tmp_path / "checkpoint.npz")["optimizer"]

    twins = []
    for state in (saved, reloaded):
        twin = leaf(x.data)
        twin_problem = Quadratic(problem.A, problem.b, [twin])
        twin_optimizer = LBFGS([twin], max_iter=1)
        twin_optimizer.load_state_dict(state)
        assert twin_optimizer.param_groups[0]["max_iter"] == 3
        twin_optimizer.step(twin_problem.closure_for(twin_optimizer))
        twins.append(twin.data.copy())
    optimizer.step(problem.closure_for(optimizer))
    np.testing.assert_array_equal(twins[0], x.data)
    np.testing.assert_array_equal(twins[1], x.data)


def test_state_dict_arrays_are_copies():
    problem, x = ill_conditioned(3)
    optimizer = LBFGS([x], max_iter=3)
    optimizer.step(problem.closure_for(optimizer))
    saved = optimizer.state_dict()
    saved["state"][0]["d"][:] = 0.0
    saved["state"][0]["old_dirs"].clear()
    assert np.abs(optimizer.state[0]["d"]).max() > 0 and len(optimizer.state[0]["old_dirs"]) > 0


def test_loading_a_state_of_another_size_raises_and_changes_nothing():
    problem, x = ill_conditioned(3)
    optimizer = LBFGS([x], max_iter=3)
    optimizer.step(problem.closure_for(optimizer))
    saved = optimizer.state_dict()
    other = LBFGS([leaf(np.zeros(4))])
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: LBFGS's d must be a floating-point vector "
                                         r"of shape \(4,\).*got float64 of shape \(3,\)"):
        other.load_state_dict(saved)
    assert other.state[0] == {} and other.param_groups[0]["max_iter"] == 20
    bad = optimizer.state_dict()
    kept = len(bad["state"][0]["ro"])
    assert kept >= 1
    bad["state"][0]["ro"] = bad["state"][0]["ro"][:-1]
    with pytest.raises(ValueError, match="old_dirs, old_stps and ro must be lists of the same length, got "
                                         f"{kept} entries, {kept} entries, {kept - 1} entries"):
        optimizer.load_state_dict(bad)
    bad = optimizer.state_dict()
    del bad["state"][0]["prev_flat_grad"]
    with pytest.raises(ValueError, match=f"LBFGS's state has n_iter = {bad['state'][0]['n_iter']} but lacks "
                                         "prev_flat_grad"):
        optimizer.load_state_dict(bad)
    bad = optimizer.state_dict()
    bad["state"][0]["alpha"] = []
    with pytest.raises(ValueError, match="LBFGS does not keep the state 'alpha'"):
        optimizer.load_state_dict(bad)


def test_float32_parameters_stay_float32_and_state_is_float32():
    x = leaf([2.0, -1.0], dtype=np.float32)
    optimizer = LBFGS([x], max_iter=3)

    def closure():
        optimizer.zero_grad()
        loss = ((x - 1.0) ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert x.dtype == np.float32 and optimizer.state[0]["d"].dtype == np.float32
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-5)


def test_the_closure_records_gradients_inside_no_grad():
    x = leaf([2.0])
    optimizer = LBFGS([x], max_iter=2)

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        optimizer.step(closure)
    assert abs(x.data[0]) < 2.0


# ---- errors ---------------------------------------------------------------------------------------

def test_step_without_a_closure_raises_naming_lbfgs_step():
    x = leaf([1.0])
    x.grad = np.array([1.0])
    with pytest.raises(TypeError, match=r"LBFGS.step: expected a closure.*got NoneType"):
        LBFGS([x]).step()
    with pytest.raises(TypeError, match=r"LBFGS.step: expected a closure.*got float"):
        LBFGS([x]).step(1.0)
    assert x.data[0] == 1.0


def test_more_than_one_parameter_group_is_refused():
    a, b = leaf([1.0]), leaf([2.0])
    with pytest.raises(ValueError, match="LBFGS: expected one parameter group.*got 2"):
        LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
    optimizer = LBFGS([a])
    with pytest.raises(ValueError, match="LBFGS.add_param_group: LBFGS keeps one parameter group"):
        optimizer.add_param_group({"params": [b]})
    assert len(optimizer.param_groups) == 1


@pytest.mark.parametrize("options, words", [
    ({"line_search_fn": "backtracking"}, "line_search_fn must be None or 'strong_wolfe', got 'backtracking'"),
    ({"max_iter": 0}, "max_iter must be a positive integer, got 0"),
    ({"max_iter": 2.5}, "max_iter must be a positive integer, got 2.5"),
    ({"max_eval": 0}, "max_eval must be a positive integer, got 0"),
    ({"history_size": 0}, "history_size must be a positive integer, got 0"),
    ({"lr": -1.0}, "lr must be a finite number >= 0, got -1.0"),
    ({"tolerance_grad": float("nan")}, "tolerance_grad must be a finite number >= 0, got nan"),
])
def test_bad_options_raise_naming_lbfgs_and_the_option(options, words):
    with pytest.raises(ValueError, match="LBFGS: " + words.replace("(", r"\(").replace(")", r"\)")):
        LBFGS([leaf([1.0])], **options)


def test_an_option_spoiled_after_construction_is_caught_at_the_step_before_any_call():
    x = leaf([1.0])
    optimizer = LBFGS([x])
    optimizer.param_groups[0]["line_search_fn"] = "wolfe"
    calls = []
    with pytest.raises(ValueError, match=r"LBFGS.step: param_groups\[0\]\['line_search_fn'\] must be None"):
        optimizer.step(lambda: calls.append(1))
    assert calls == []


def test_a_closure_that_returns_no_loss_raises_and_changes_nothing():
    x = leaf([1.0, 2.0])
    optimizer = LBFGS([x])

    def closure():
        optimizer.zero_grad()
        (x * x).sum().backward()

    with pytest.raises(TypeError, match=r"LBFGS.step: the closure must return the loss.*got NoneType"):
        optimizer.step(closure)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    assert optimizer.state[0] == {}


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_a_closure_that_fails_part_way_leaves_parameters_gradients_and_state_as_they_were(line_search_fn):
    """All or nothing: the closure raises at its 4th call, after the parameters moved; the step
    puts back every parameter, gradient and the state of before the step."""
    problem, x = ill_conditioned(4)
    optimizer = LBFGS([x], max_iter=5, max_eval=100, line_search_fn=line_search_fn)
    optimizer.step(problem.closure_for(optimizer))
    before_x, before_grad = x.data.copy(), x.grad.copy()
    before_state = {name: (list(value) if isinstance(value, list) else value)
                    for name, value in optimizer.state[0].items()}
    good = problem.closure_for(optimizer)
    calls = []

    def failing():
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("out of data")
        return good()

    with pytest.raises(RuntimeError, match="out of data"):
        optimizer.step(failing)
    assert len(calls) == 4
    np.testing.assert_array_equal(x.data, before_x)
    np.testing.assert_array_equal(x.grad, before_grad)
    assert set(optimizer.state[0]) == set(before_state)
    for name, value in before_state.items():
        kept = optimizer.state[0][name]
        if isinstance(value, list):
            assert len(kept) == len(value) and all(a is b for a, b in zip(kept, value))
        else:
            assert kept is value or kept == value


# ---- PyTorch's examples/time_sequence_prediction, ported ------------------------------------------

HIDDEN = 8


class Sequence(nn.Module):
    """PyTorch's model (two LSTMCells and a Linear, float64), with 8 hidden units instead of 51; the
    rest as its train.py spells it, `torch` being microgradseq (the device lines too)."""

    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)
        self.dummy_param = nn.Parameter(torch.empty(0))

    def forward(self, input, future = 0):
        outputs = []
        device = self.dummy_param.device
        h_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        c_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        h_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        c_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)

        for i, input_t in enumerate(input.chunk(input.size(1), dim=1)):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):# if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def sine_waves(T=20, L=31, N=6):
    """generate_sine_wave.py's data, shorter: N phase-shifted sine waves of length L."""
    rng = np.random.RandomState(2)
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + rng.randint(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype("float64")


def test_time_sequence_prediction_trains_with_lbfgs_and_predicts_the_future():
    """train.py's loop with its spellings: LBFGS(lr=0.8), step(closure) with MSELoss, then a
    prediction of `future` more steps under no_grad read with .detach().numpy(). The loss falls."""
    device = torch.device("cpu")
    np.random.seed(0)
    torch.manual_seed(0)
    data = torch.from_numpy(sine_waves()).to(device)
    input = data[3:, :-1]
    target = data[3:, 1:]
    test_input = data[:3, :-1]
    test_target = data[:3, 1:]
    seq = Sequence().to(device).double()
    criterion = nn.MSELoss().to(device)
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses = []
    for i in range(2):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            future = 10
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            y = pred.cpu().detach().numpy()

    assert len(losses) > 2 and min(losses[1:]) < losses[0] / 2 and losses[-1] < losses[0] / 2
    assert y.shape == (3, 30 + future) and y.dtype == np.float64
    expected_test_loss = np.mean((y[:, :-future] - test_target.numpy()) ** 2)
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(expected_test_loss)


def test_the_line_search_keeps_its_own_tolerance_whatever_tolerance_change_is():
    """PyTorch's LBFGS does not hand tolerance_change to the strong-Wolfe search, which stops
    narrowing its bracket only below 1e-9. On f = 1000 (x - 0.004)^2 from 0 with lr 0.01, a
    tolerance_change of 0.02 (larger than the whole bracket) must not stop the search at t = 0:
    the step reaches the minimiser x = 0.004."""
    x = mg.tensor([0.0], dtype=np.float64, requires_grad=True)
    optimizer = LBFGS([x], lr=0.01, tolerance_change=0.02, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (1000 * (x - 0.004) ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert abs(x.item() - 0.004) < 1e-9
