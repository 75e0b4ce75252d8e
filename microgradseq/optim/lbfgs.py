"""L-BFGS, as `torch.optim.LBFGS`: a quasi-Newton method that estimates the loss's curvature from
its last few steps and gradients, for full-batch training.

    optimizer = mg.optim.LBFGS(model.parameters(), lr=0.8)

    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss

    optimizer.step(closure)            # up to max_iter iterations, calling closure as needed

L-BFGS sees every parameter as one flat vector x (the parameters' entries in order) with flat
gradient g. Iteration k moves x_{k+1} = x_k + t_k d_k along the direction d_k = -H_k g_k, where H_k
approximates the inverse Hessian from the last `history_size` pairs

    s_i = x_{i+1} - x_i = t_i d_i,        y_i = g_{i+1} - g_i,

a pair being kept only when y_i . s_i > 1e-10 (the loss curves upward along s_i, so H stays
positive definite). `two_loop` computes H g without forming H. The step t is `lr` (the first
iteration ever: min(1, 1 / |g|_1) lr, since H_0 = I knows nothing of the loss's scale), or a
strong-Wolfe line search's (`line_search.py`).

Like PyTorch's, an LBFGS keeps one parameter group, and its state (the direction, step and pairs,
the previous gradient and loss, counters) is one dict, `optimizer.state[0]` (the first parameter's
entry): a second `step(closure)` continues the first's iterations.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd import grad_enabled, setting
from ..checks import is_int
from ..tensor import Tensor
from . import options as check
from .line_search import Trial, strong_wolfe
from .optimizer import Optimizer

CURVATURE = 1e-10        # a pair (s, y) is kept only when y . s exceeds this


def _line_search_name(where: str, name: str, value: Any) -> None:
    if value is not None and value != "strong_wolfe":
        raise ValueError(f"{where}: {name} must be None or 'strong_wolfe', got {value!r}")


def two_loop(grad: np.ndarray, old_dirs: list[np.ndarray], old_stps: list[np.ndarray], ro: list[float],
             H_diag: float) -> np.ndarray:
    """d = -H g, the L-BFGS direction, from the kept pairs oldest first (y_i = old_dirs[i],
    s_i = old_stps[i], rho_i = ro[i] = 1 / (y_i . s_i)) and H_0 = H_diag I:

        q = -g
        for i = newest .. oldest:   a_i = rho_i s_i . q,     q = q - a_i y_i
        r = H_diag q
        for i = oldest .. newest:   b_i = rho_i y_i . r,     r = r + (a_i - b_i) s_i
        d = r
    """
    q = -grad
    alphas = [0.0] * len(old_dirs)
    for i in reversed(range(len(old_dirs))):
        alphas[i] = float(old_stps[i] @ q) * ro[i]
        q = q - alphas[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        beta = float(old_dirs[i] @ r) * ro[i]
        r = r + (alphas[i] - beta) * old_stps[i]
    return r


def _max_abs(vector: np.ndarray) -> float:
    return float(np.abs(vector).max()) if vector.size else 0.0


class _Objective:
    """The loss as a function of the flat parameter vector, which is what L-BFGS sees of a model:
    `evaluate()` calls the closure (recording on, as PyTorch's LBFGS has it) and gathers the flat
    gradient (zeros for a parameter without one), `move(t, d)` gives each parameter its slice of
    x + t d (a new array: arrays are read-only). It counts the closure's calls."""

    def __init__(self, params: list[Tensor], closure: Callable[[], Any], where: str) -> None:
        self.params, self.closure, self.where = params, closure, where
        self.dtype = np.result_type(*[p.dtype for p in params])
        self.evaluations = 0

    def evaluate(self) -> tuple[Any, float, np.ndarray]:
        """The closure's result, the loss as a float, and the flat gradient."""
        with setting(grad_enabled, True):
            result = self.closure()
        self.evaluations += 1
        try:
            loss = float(result)
        except (TypeError, ValueError):
            raise TypeError(f"{self.where}: the closure must return the loss (a one-element tensor or a "
                            f"number), got {type(result).__name__}") from None
        grads = [np.zeros(p.numel(), self.dtype) if p.grad is None else p.grad.ravel() for p in self.params]
        return result, loss, np.concatenate(grads).astype(self.dtype, copy=False)

    def move(self, t: float, d: np.ndarray) -> None:
        """x <- x + t d."""
        offset = 0
        for p in self.params:
            step = d[offset:offset + p.numel()].reshape(p.shape)
            p._replace_data((p._data + t * step).astype(p.dtype, copy=False))
            offset += p.numel()

    def evaluate_at(self, t: float, d: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss and flat gradient at x + t d, the parameters left at x (for the line search)."""
        x = [p._data for p in self.params]
        self.move(t, d)
        try:
            _, loss, grad = self.evaluate()
        finally:
            for p, data in zip(self.params, x):
                p._replace_data(data)
        return loss, grad


class LBFGS(Optimizer):
    """L-BFGS with PyTorch's algorithm and defaults (after minFunc). One `step(closure)`:

        evaluate f, g; stop if max |g| <= tolerance_grad
        repeat up to max_iter times:
            keep (s, y) from the last iteration if y . s > 1e-10 (the newest history_size pairs),
                H_diag = y . s / y . y
            d = two_loop(g, pairs, H_diag)          (d = -g at the very first iteration)
            t = lr                                  (the very first: min(1, 1 / |g|_1) lr)
            stop if g . d > -tolerance_change       (d no longer goes downhill)
            x = x + t d, then f, g at x             (with strong_wolfe: t from the line search;
                                                     without: not after the last iteration)
            stop if the evaluations reach max_eval, max |g| <= tolerance_grad,
                 max |t d| <= tolerance_change or |f - f_prev| < tolerance_change

    and returns the closure's first result. Options (one group only): lr, max_iter, max_eval
    (default max_iter * 5 // 4), tolerance_grad, tolerance_change, history_size, line_search_fn
    (None or "strong_wolfe"). State (in `state[0]`, kept across steps): func_evals, n_iter (both
    totals over all steps), d, t, old_dirs (the y_i), old_stps (the s_i), ro (1 / (y_i . s_i)),
    H_diag, prev_flat_grad, prev_loss.
    """

    option_checks = {"lr": check.non_negative, "max_iter": check.positive_integer,
                     "max_eval": check.positive_integer, "tolerance_grad": check.non_negative,
                     "tolerance_change": check.non_negative, "history_size": check.positive_integer,
                     "line_search_fn": _line_search_name}
    state_names = ("func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                   "prev_flat_grad", "prev_loss")

    def __init__(self, params: Iterable[Any], lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if max_eval is None and is_int(max_iter):
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: expected one parameter group (L-BFGS treats all parameters as one "
                             f"vector, and PyTorch's LBFGS takes no per-group options), got "
                             f"{len(self.param_groups)}")

    def add_param_group(self, param_group: dict) -> None:
        """Refused: L-BFGS keeps one parameter group, as PyTorch's."""
        raise ValueError("LBFGS.add_param_group: LBFGS keeps one parameter group (its history is of all "
                         "parameters together); make a new LBFGS over every parameter instead")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run up to `max_iter` iterations (see the class), calling `closure` for the loss and the
        gradients; return its first result. All or nothing: if anything raises (the closure
        too), every parameter, gradient and the state are left as they were."""
        where = "LBFGS.step"
        if not callable(closure):
            raise TypeError(f"{where}: expected a closure that zeroes the gradients, computes the loss, "
                            "calls loss.backward() and returns the loss (optimizer.step(closure)): L-BFGS "
                            f"evaluates the loss several times per step; got {type(closure).__name__}")
        self._check_groups(where)
        params = self.param_groups[0]["params"]
        objective = _Objective(params, closure, where)
        state = self._working_state(where, objective)
        before = [(p._data, p.grad) for p in params]
        try:
            loss = self._iterate(objective, state, self.param_groups[0])
        except BaseException:
            for p, (data, grad) in zip(params, before):
                p._replace_data(data)
                p.grad = grad
            raise
        self.state[0] = state
        return loss

    def _working_state(self, where: str, objective: _Objective) -> dict:
        """A copy of the kept state for this step to change (lists copied, arrays in the flat dtype),
        checked against the parameters' total size first."""
        return _checked_state(where, self.state[0], sum(p.numel() for p in objective.params), objective.dtype,
                              copy_arrays=False)

    def _iterate(self, objective: _Objective, state: dict, group: dict) -> Any:
        """The iterations of one step (the class docstring), changing the parameters and `state`."""
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first_result, loss, flat_grad = objective.evaluate()
        if _max_abs(flat_grad) <= tolerance_grad:
            state["func_evals"] += objective.evaluations
            return first_result
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
        H_diag, prev_flat_grad, prev_loss = (state.get("H_diag", 1.0), state.get("prev_flat_grad"),
                                             state.get("prev_loss"))
        for n_iter in range(1, max_iter + 1):
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, H_diag = -flat_grad, [], [], [], 1.0
            else:
                H_diag = _remember(flat_grad - prev_flat_grad, d * t, old_dirs, old_stps, ro, H_diag,
                                   group["history_size"])
                d = two_loop(flat_grad, old_dirs, old_stps, ro, H_diag)
            prev_flat_grad, prev_loss = flat_grad, loss
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:
                break
            t, loss, flat_grad = _take_step(objective, group, d, Trial(t, loss, flat_grad, gtd),
                                            last=n_iter == max_iter)
            if n_iter == max_iter or objective.evaluations >= max_eval:
                break
            if (_max_abs(flat_grad) <= tolerance_grad or _max_abs(d * t) <= tolerance_change
                    or abs(loss - prev_loss) < tolerance_change):
                break
        state["func_evals"] += objective.evaluations
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return first_result

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """LBFGS's state is one dict for all parameters, under parameter 0 (as PyTorch keeps it);
        its vectors have the parameters' total size."""
        if index != 0 and entry:
            raise ValueError(f"{where}: LBFGS keeps its state under parameter 0, the state dict has state "
                             f"for parameter {index}")
        params = self.param_groups[0]["params"]
        return _checked_state(where, entry, sum(p.numel() for p in params),
                              np.result_type(*[p.dtype for p in params]))


def _take_step(objective: _Objective, group: dict, d: np.ndarray, proposal: Trial, last: bool) -> tuple:
    """x <- x + t d, and (t, f, g) there: t the proposal's, or with strong_wolfe the line search's,
    starting from the proposal (which holds f, g and g . d at x). Without a line search the last
    iteration does not evaluate f and g again (as PyTorch's): they stay the proposal's. The line search
    keeps its own tolerance on t, 1e-9, whatever the optimizer's `tolerance_change` (PyTorch's does
    not pass it on either)."""
    if group["line_search_fn"] == "strong_wolfe":
        start = Trial(0.0, proposal.f, proposal.g, proposal.gtd)
        best, _ = strong_wolfe(lambda step: objective.evaluate_at(step, d), d, start, proposal.t)
        objective.move(best.t, d)
        return best.t, best.f, best.g
    objective.move(proposal.t, d)
    if last:
        return proposal.t, proposal.f, proposal.g
    _, loss, grad = objective.evaluate()
    return proposal.t, loss, grad


def _remember(y: np.ndarray, s: np.ndarray, old_dirs: list, old_stps: list, ro: list, H_diag: float,
              history_size: int) -> float:
    """Keep the pair (s, y) if y . s > 1e-10, dropping the oldest beyond `history_size`; return the
    scale of H_0, y . s / y . y of the newest kept pair (H_diag as it was when the pair is refused)."""
    ys = float(y @ s)
    if ys <= CURVATURE:
        return H_diag
    while len(old_dirs) >= history_size:
        del old_dirs[0], old_stps[0], ro[0]
    old_dirs.append(y)
    old_stps.append(s)
    ro.append(1.0 / ys)
    return ys / float(y @ y)


def _checked_state(where: str, state: Any, size: int, dtype: np.dtype, copy_arrays: bool = True) -> dict:
    """A copy of an LBFGS state dict (lists copied, arrays cast to `dtype`, copied too unless
    `copy_arrays` is False), or a ValueError naming `where` and the entry: vectors of `size`
    floats, counts >= 0, numbers."""
    if not isinstance(state, dict):
        raise ValueError(f"{where}: the LBFGS state must be a dict, got {type(state).__name__}")
    # PyTorch's state also holds `al`, the two-loop's scratch list, refilled at every iteration: skipped
    unknown = [name for name in state if name not in LBFGS.state_names and name != "al"]
    if unknown:
        raise ValueError(f"{where}: LBFGS does not keep the state {unknown[0]!r} (it keeps "
                         f"{', '.join(LBFGS.state_names)})")

    def vector(name: str, value: Any) -> np.ndarray:
        if not isinstance(value, np.ndarray) or value.shape != (size,) or value.dtype.kind != "f":
            got = (f"{value.dtype} of shape {value.shape}" if isinstance(value, np.ndarray)
                   else type(value).__name__)
            raise ValueError(f"{where}: LBFGS's {name} must be a floating-point vector of shape ({size},) "
                             f"(the parameters' total size), got {got}; no parameter was changed")
        return value.astype(dtype, copy=copy_arrays)

    def number(name: str, value: Any) -> float:
        # NaN or inf too: a step whose closure returned NaN keeps it, as PyTorch's does (its state must load);
        # a numpy number (t from an lr of np.float64) comes back from mg.load as a 0-d array
        value = check.plain(value)
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise ValueError(f"{where}: LBFGS's {name} must be a number, got {value!r:.80}")
        return float(value)

    copy = {}
    for name in ("func_evals", "n_iter"):
        if name in state:
            count = check.plain(state[name])
            if not is_int(count) or count < 0:
                raise ValueError(f"{where}: LBFGS's {name} must be an integer >= 0, got {state[name]!r}")
            copy[name] = int(count)
    for name in ("d", "prev_flat_grad"):
        if state.get(name) is not None:
            copy[name] = vector(name, state[name])
    for name in ("t", "H_diag", "prev_loss"):
        if state.get(name) is not None:
            copy[name] = number(name, state[name])
    pairs = [state.get(name, []) for name in ("old_dirs", "old_stps", "ro")]
    if not all(isinstance(kept, list) for kept in pairs) or len({len(kept) for kept in pairs}) != 1:
        got = ", ".join(f"{len(kept)} entries" if isinstance(kept, list) else f"a {type(kept).__name__}"
                        for kept in pairs)
        raise ValueError(f"{where}: LBFGS's old_dirs, old_stps and ro must be lists of the same length, "
                         f"got {got}")
    if "old_dirs" in state or "old_stps" in state or "ro" in state:
        copy["old_dirs"] = [vector(f"old_dirs[{i}]", y) for i, y in enumerate(pairs[0])]
        copy["old_stps"] = [vector(f"old_stps[{i}]", s) for i, s in enumerate(pairs[1])]
        copy["ro"] = [number(f"ro[{i}]", rho) for i, rho in enumerate(pairs[2])]
    lacking = [name for name in LBFGS.state_names if name not in copy]
    if copy.get("n_iter", 0) > 0 and lacking:
        raise ValueError(f"{where}: LBFGS's state has n_iter = {copy['n_iter']} but lacks {', '.join(lacking)}, "
                         "which it keeps once an iteration has run; no parameter was changed")
    return copy
