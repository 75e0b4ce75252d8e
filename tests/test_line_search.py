"""The strong-Wolfe line search of `LBFGS(line_search_fn="strong_wolfe")` (optim/line_search.py), on
functions of one step t along a direction d, phi(t) = f(x + t d).

The quadratic cases are worked by hand below. The others pin the step and the number of evaluations
that PyTorch's `_strong_wolfe` (torch/optim/lbfgs.py) gives on the same functions: they were
computed with a line-by-line numpy transcription of that function, kept outside this repository.
Every case also checks the strong Wolfe conditions at the step found, from the definition.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradseq.optim.line_search import Trial, cubic_minimum, strong_wolfe


def quadratic(m):
    """(x - m)^2: from x = 0 the direction -grad is d = 2m, and phi(t) = m^2 (1 - 2t)^2, minimal at t = 1/2."""
    return lambda x: (float((x[0] - m) ** 2), np.array([2 * (x[0] - m)]))


def quartic(x):
    return float(x[0] ** 4 - 3 * x[0] ** 2 + x[0]), np.array([4 * x[0] ** 3 - 6 * x[0] + 1])


def quartic_of(a, b, c, x):
    return float(a * x[0] ** 4 + b * x[0] ** 2 + c * x[0]), np.array([4 * a * x[0] ** 3 + 2 * b * x[0] + c])


def rosenbrock(x):
    f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    return f, np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])


def wall(x):
    return float(np.exp(5 * x[0]) - 10 * x[0]), np.array([5 * np.exp(5 * x[0]) - 10])


def steep_wall(x):
    return float(np.exp(8.9 * x[0]) - 5.94 * x[0]), np.array([8.9 * np.exp(8.9 * x[0]) - 5.94])


def bump(x):
    """A slope of about -1 with a bump at x = 1 (height 0.68, width 0.43)."""
    e = np.exp(-((x[0] - 1) / 0.43) ** 2)
    return float(0.05 * x[0] ** 2 - x[0] + 0.68 * e), np.array([0.1 * x[0] - 1 - 0.68 * 2 * (x[0] - 1) / 0.43 ** 2 * e])


def slow(x):
    return float(np.log1p(np.exp(-x[0])) + 0.001 * x[0] ** 2), np.array([-1 / (1 + np.exp(x[0])) + 0.002 * x[0]])


def search(f, x0, t, c1=1e-4, c2=0.9):
    """strong_wolfe along d = -grad f(x0) from x0, first trying t: (step found, evaluations, phi)."""
    x0 = np.array(x0, dtype=np.float64)
    f0, g0 = f(x0)
    d = -g0
    best, evaluations = strong_wolfe(lambda s: f(x0 + s * d), d, Trial(0.0, f0, g0, float(g0 @ d)), t, c1=c1, c2=c2)
    phi = lambda s: (f(x0 + s * d)[0], float(f(x0 + s * d)[1] @ d))       # noqa: E731
    return best, evaluations, phi


def assert_strong_wolfe(best, phi, c1, c2):
    """phi(t) <= phi(0) + c1 t phi'(0) and |phi'(t)| <= c2 |phi'(0)|, at the step found, recomputed."""
    (f0, slope0), (f, slope) = phi(0.0), phi(best.t)
    assert best.f == f and best.gtd == pytest.approx(slope, rel=1e-12, abs=1e-300)
    assert f <= f0 + c1 * best.t * slope0
    assert abs(slope) <= c2 * abs(slope0)


def test_a_first_step_too_long_is_cut_to_the_quadratic_s_minimum_in_one_more_evaluation():
    """phi(t) = (1 - 2t)^2 from t = 5: phi(5) = 81 fails sufficient decrease, so [0, 5] brackets a
    step; the cubic through both ends' values and slopes is the quadratic itself, minimal at t = 1/2,
    where phi' = 0: two evaluations."""
    best, evaluations, phi = search(quadratic(1.0), [0.0], 5.0)
    assert (best.t, evaluations) == (0.5, 2)
    assert_strong_wolfe(best, phi, 1e-4, 0.9)


def test_a_first_step_too_short_grows_at_most_tenfold():
    """phi(t) = 100 (1 - 2t)^2 from t = 0.025: phi' = -380 there, steeper than 0.9 |phi'(0)| = 360, and
    still going down, so the step grows; the cubic's minimum t = 1/2 lies beyond 10 t = 0.25, which is
    taken: phi'(0.25) = -200 meets both conditions. Two evaluations."""
    best, evaluations, phi = search(quadratic(10.0), [0.0], 0.025)
    assert (best.t, evaluations) == (0.25, 2)
    assert_strong_wolfe(best, phi, 1e-4, 0.9)


def test_a_step_that_lowers_the_loss_too_little_is_not_taken_even_where_the_slope_has_flattened():
    """c1 = 0.5: phi(0.75) = 0.25 is below phi(0) = 1 and its slope |phi'| = 2 <= 0.9 * 4, but it is
    above 1 - 0.5 * 0.75 * 4 = -0.5: not sufficient decrease. The search goes on to t = 1/2."""
    best, evaluations, phi = search(quadratic(1.0), [0.0], 0.75, c1=0.5)
    assert (best.t, evaluations) == (0.5, 2)
    assert_strong_wolfe(best, phi, 0.5, 0.9)


@pytest.mark.parametrize("f, x0, t, c2, expected_t, expected_evaluations", [
    (quartic, [0.0], 1.0, 0.9, 1.2998960161364006, 3),
    (quartic, [2.0], 1.0, 0.1, 0.09669762325369043, 4),
    (rosenbrock, [-1.2, 1.0], 1.0, 0.9, 0.0007892073839786148, 8),
    (rosenbrock, [-1.2, 1.0], 0.001, 0.1, 0.0007872677280245294, 2),
    (wall, [0.0], 1.0, 0.9, 0.03971140456566055, 6),
    (slow, [0.0], 0.01, 0.1, 11.59973803761698, 6),
    (lambda x: quartic_of(2.57, -1.25, -1.39, x), [-1.8], 0.05, 0.1, 0.04163697213185427, 3),
    (lambda x: quartic_of(1.31, 0.25, -2.32, x), [-0.37], 0.001, 0.1, 0.38878952378592324, 7),
    (steep_wall, [-0.02], 10.0, 0.9, 0.017011519586614912, 4),      # a trial kept away from the bracket's end
    (bump, [-0.83], 1.0, 0.5, 1.5311596247233958, 2),               # past the bump, higher but going down
])
def test_steps_and_evaluations_are_pytorch_s(f, x0, t, c2, expected_t, expected_evaluations):
    best, evaluations, phi = search(f, x0, t, c2=c2)
    assert best.t == pytest.approx(expected_t, rel=1e-12)
    assert evaluations == expected_evaluations
    assert_strong_wolfe(best, phi, 1e-4, c2)


def test_a_bracket_shorter_than_tolerance_change_ends_the_search_at_its_lower_end():
    """phi(t) = (1 - 2t)^2 from t = 5: the bracket [0, 5] moves x by 5 * max |d| = 10, less than
    tolerance_change = 20, so the search stops there and returns its lower end, t = 0 (phi = 1
    against 81), after the one evaluation; with tolerance_change = 1 it goes on to t = 1/2."""
    x0, f = np.array([0.0]), quadratic(1.0)
    f0, g0 = f(x0)
    d = -g0
    start = Trial(0.0, f0, g0, float(g0 @ d))
    for tolerance, expected in ((20.0, (0.0, 1)), (1.0, (0.5, 2))):
        best, evaluations = strong_wolfe(lambda s: f(x0 + s * d), d, start, 5.0, tolerance_change=tolerance)
        assert (best.t, evaluations) == expected


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.1, 3), b=st.floats(-3, 3), c=st.floats(-3, 3), x0=st.floats(-2, 2),
       t=st.sampled_from([1e-3, 0.05, 1.0, 20.0]), c1=st.sampled_from([1e-4, 0.01]),
       c2=st.sampled_from([0.1, 0.5, 0.9]))
def test_the_step_found_meets_the_strong_wolfe_conditions(a, b, c, x0, t, c1, c2):
    """On quartics a x^4 + b x^2 + c x (bounded below), from any start with a nonzero slope and any
    first trial, the step found meets both conditions, unless the search ran out of its 25 further
    evaluations (as PyTorch's can, where the steps meeting both are a narrow interval): then it is
    the lowest step found, no higher than the start."""
    def f(x):
        return float(a * x[0] ** 4 + b * x[0] ** 2 + c * x[0]), np.array([4 * a * x[0] ** 3 + 2 * b * x[0] + c])
    if abs(f(np.array([x0]))[1][0]) < 1e-3:
        return
    best, evaluations, phi = search(f, [x0], t, c1=c1, c2=c2)
    assert evaluations <= 26 and best.f <= phi(0.0)[0]
    if evaluations < 26:
        assert_strong_wolfe(best, phi, c1, c2)


def test_cubic_minimum_is_the_minimiser_of_the_cubic_through_two_points():
    """p(t) = t^3 - 3t (minimum at t = 1), known at t = 0 and t = 2: exactly 1; within bounds (0, 0.5)
    it is clipped to 0.5; the ends may come in either order."""
    p = lambda t: Trial(t, t ** 3 - 3 * t, None, 3 * t ** 2 - 3)       # noqa: E731
    assert cubic_minimum(p(0.0), p(2.0)) == pytest.approx(1.0, abs=1e-15)
    assert cubic_minimum(p(2.0), p(0.0)) == pytest.approx(1.0, abs=1e-15)
    assert cubic_minimum(p(0.0), p(2.0), bounds=(0.0, 0.5)) == 0.5


def test_cubic_minimum_without_a_minimum_is_the_middle_of_the_bounds():
    """Values and slopes of p(t) = t^3 + t at t = -1 and t = 1: the cubic through them is p, which
    only rises (d1^2 < phi'(a) phi'(b)): the middle of the interval, or of the bounds given."""
    p = lambda t: Trial(t, t ** 3 + t, None, 3 * t ** 2 + 1)       # noqa: E731
    assert cubic_minimum(p(-1.0), p(1.0)) == 0.0
    assert cubic_minimum(p(-1.0), p(1.0), bounds=(2.0, 6.0)) == 4.0
