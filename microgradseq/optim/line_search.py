"""The strong-Wolfe line search that `LBFGS(line_search_fn="strong_wolfe")` uses, as PyTorch's
(itself a port of Torch7's `lswolfe.lua` and `polyinterp.lua`, after Nocedal & Wright, Algorithms 3.5
and 3.6).

Along a direction d from x the loss is a function of one number, phi(t) = f(x + t d), with slope
phi'(t) = grad f(x + t d) . d (negative at t = 0: d goes downhill). The search looks for a step t
with

    phi(t) <= phi(0) + c1 t phi'(0)          (sufficient decrease, Armijo; c1 = 1e-4)
    |phi'(t)| <= c2 |phi'(0)|                (the slope has flattened out; c2 = 0.9)

in two phases: first it grows t until an interval [lo, hi] is known to hold such a step (a bracket),
then it shrinks that interval, each new trial at the minimum of the cubic through both ends' values
and slopes.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np


class Trial(NamedTuple):
    """One evaluation of the loss along d: the step t, phi(t), the gradient there and phi'(t)."""

    t: float
    f: float
    g: np.ndarray
    gtd: float


def cubic_minimum(a: Trial, b: Trial, bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic with a's and b's values and slopes, kept within `bounds` (by
    default the interval between a.t and b.t); the middle of the bounds when the cubic has none:

        d1 = phi'(a) + phi'(b) - 3 (phi(a) - phi(b)) / (a - b)
        d2 = sqrt(d1^2 - phi'(a) phi'(b))
        t  = b - (b - a) (phi'(b) + d2 - d1) / (phi'(b) - phi'(a) + 2 d2)      (for a <= b)
    """
    low, high = bounds if bounds is not None else (min(a.t, b.t), max(a.t, b.t))
    if b.t < a.t:
        a, b = b, a                      # the formula above, with a the left end
    with np.errstate(all="ignore"):      # (coinciding ends: inf or NaN, then the middle, as PyTorch's)
        d1 = a.gtd + b.gtd - 3 * (np.float64(a.f) - b.f) / (np.float64(a.t) - b.t)
        d2_square = d1 * d1 - a.gtd * b.gtd
        if not d2_square >= 0:
            return (low + high) / 2.0
        d2 = math.sqrt(d2_square)
        t = b.t - (b.t - a.t) * ((b.gtd + d2 - d1) / (np.float64(b.gtd) - a.gtd + 2 * d2))
    return float(min(max(t, low), high))


def strong_wolfe(evaluate: Callable[[float], tuple[float, np.ndarray]], d: np.ndarray, start: Trial, t: float,
                 c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                 max_ls: int = 25) -> tuple[Trial, int]:
    """A step t along d meeting the strong Wolfe conditions (or the best found in `max_ls` more
    evaluations), and the number of evaluations made. `evaluate(t)` returns the loss and the flat
    gradient at x + t d; `start` is the trial at t = 0 and `t` the first step to try."""

    def trial(step: float) -> Trial:
        f, g = evaluate(step)
        return Trial(step, f, g, float(g @ d))

    def armijo_fails(new: Trial) -> bool:
        return new.f > start.f + c1 * new.t * start.gtd

    def curvature_holds(new: Trial) -> bool:
        return abs(new.gtd) <= -c2 * start.gtd

    bracket, done, searches = _bracket(trial, start, t, armijo_fails, curvature_holds, max_ls)
    best, searches = _zoom(trial, bracket, done, searches, armijo_fails, curvature_holds, max_ls,
                           tolerance_change, float(np.abs(d).max()))
    return best, 1 + searches


def _bracket(trial, start: Trial, t: float, armijo_fails, curvature_holds,
             max_ls: int) -> tuple[list[Trial], bool, int]:
    """Phase one: try t, then larger steps (up to 10 t each time, from the cubic through the last two),
    until a trial meets both conditions (done) or an interval between two trials must hold one: the
    newest fails sufficient decrease, or is no lower than the one before, or slopes upward. Also
    returns the number of evaluations after the first."""
    previous, new = start, trial(t)
    searches = 0
    while searches < max_ls:
        if armijo_fails(new) or (searches > 1 and new.f >= previous.f):
            return [previous, new], False, searches
        if curvature_holds(new):
            return [new], True, searches
        if new.gtd >= 0:
            return [previous, new], False, searches
        step = cubic_minimum(previous, new, bounds=(new.t + 0.01 * (new.t - previous.t), new.t * 10))
        previous, new = new, trial(step)
        searches += 1
    return [start, new], False, searches        # out of evaluations: the better of t = 0 and the last


def _zoom(trial, bracket: list[Trial], done: bool, searches: int, armijo_fails, curvature_holds, max_ls: int,
          tolerance_change: float, d_norm: float) -> tuple[Trial, int]:
    """Phase two: shrink the bracket [lo, hi] (lo the lower end) around a step meeting both
    conditions, each trial at the cubic's minimum (moved a tenth of the interval in from an end it
    hugs), until one does, the interval moves x by less than `tolerance_change` (its length times
    max |d|), or the evaluations reach `max_ls`. Returns lo and the count of evaluations."""
    # (one trial, done: it is lo, even when its loss is NaN, where PyTorch's _strong_wolfe fails with IndexError)
    low, high = (0, 1) if len(bracket) == 1 or bracket[0].f <= bracket[-1].f else (1, 0)
    insufficient_progress = False
    while not done and searches < max_ls:
        if abs(bracket[1].t - bracket[0].t) * d_norm < tolerance_change:
            break
        t = cubic_minimum(bracket[0], bracket[1])
        t, insufficient_progress = _away_from_the_ends(t, bracket[0].t, bracket[1].t, insufficient_progress)
        new = trial(t)
        searches += 1
        if armijo_fails(new) or new.f >= bracket[low].f:
            bracket[high] = new                 # too high: the new upper end
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
            continue
        if curvature_holds(new):
            done = True
        elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
            bracket[high] = bracket[low]        # the minimum lies on low's other side
        bracket[low] = new
    return bracket[low], searches


def _away_from_the_ends(t: float, a: float, b: float, insufficient_progress: bool) -> tuple[float, bool]:
    """A trial within a tenth of the interval [a, b] of an end is moved to that tenth, when it lies
    on or outside an end or the previous trial was also that close (else only remembered)."""
    low, high = min(a, b), max(a, b)
    margin = 0.1 * (high - low)
    if not min(high - t, t - low) < margin:
        return t, False
    if insufficient_progress or t >= high or t <= low:
        return (high - margin if abs(t - high) < abs(t - low) else low + margin), False
    return t, True
