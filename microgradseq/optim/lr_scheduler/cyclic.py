"""The schedules stepped after every batch, which move the rate up and back down and the momentum the
other way, as PyTorch's: CyclicLR (a triangle wave between two rates) and OneCycleLR (one cycle, up to
`max_lr` and down far below where it started). With `cycle_momentum`, each group's `'momentum'` (SGD,
RMSprop) or first beta (`'betas'` of Adam, AdamW, NAdam, ...) goes from `max_momentum` at the lowest rate to
`base_momentum` at the highest.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

from ...checks import is_finite_number, positive_int
from .. import options as check
from ..optimizer import Optimizer
from .base import LRScheduler, _check_rates, _list_of, _one_of
from .lambdas import kept_attributes, restore_attributes


def _per_group(where: str, name: str, value: Any, optimizer: Optimizer,
               check_each: Callable[[str, str, Any], None]) -> list:
    """PyTorch's `_format_param`: one value for every group, or a list or tuple of one per group."""
    groups = len(optimizer.param_groups)
    values = list(value) if isinstance(value, (list, tuple)) else [value] * groups
    if len(values) != groups:
        raise ValueError(f"{where}: {name} must have the same length as optimizer.param_groups (one value per "
                         f"param group, as PyTorch's message says): {name} has {len(values)} values, param_groups "
                         f"has {groups}")
    for index, item in enumerate(values):
        check_each(where, f"{name}[{index}]" if isinstance(value, (list, tuple)) else name, item)
    return values


def _momentum_check(where: str, optimizer: Optimizer) -> Callable[[str, str, Any], None]:
    """How a momentum of `optimizer` is checked: a first beta in [0, 1), a momentum a number >= 0; a
    ValueError if it has neither (Adagrad, Adadelta), as PyTorch's."""
    if "betas" in optimizer.defaults:
        return check.fraction
    if "momentum" in optimizer.defaults:
        return check.non_negative
    raise ValueError(f"{where}: cycle_momentum=True needs an optimizer with a momentum or betas (SGD, RMSprop, "
                     f"Adam, ...), got {type(optimizer).__name__} (pass cycle_momentum=False)")


def _text(where: str, name: str, value: Any) -> None:
    """A string (CyclicLR's mode: one of its three, or any with a scale_fn of yours, which PyTorch keeps)."""
    if not isinstance(value, str):
        raise ValueError(f"{where}: {name} must be a string, got {value!r}")


class _CyclesMomentum(LRScheduler):
    """A schedule that, with `cycle_momentum`, sets each group's momentum (or first beta) after its rate:
    `_momenta()`, at the same `last_epoch`. (PyTorch's `get_lr` sets them as it goes; here `get_lr` only
    computes, so that a step that fails changes nothing.)"""

    def _momenta(self) -> list[float]:
        raise NotImplementedError

    def _start_momenta(self, optimizer: Optimizer, last_epoch: int, base_momentums: list,
                       max_momentums: list) -> None:
        """With cycle_momentum: which the groups hold (a first beta, or a momentum); made with
        last_epoch=-1, each group's starts at its max_momentum, and the group keeps both ends."""
        self.use_beta1 = "betas" in optimizer.defaults
        if last_epoch == -1:
            _set_momenta(optimizer, max_momentums, self.use_beta1)
            for group, low, high in zip(optimizer.param_groups, base_momentums, max_momentums):
                group["max_momentum"], group["base_momentum"] = high, low

    def _update_lr(self, epoch: int | None) -> None:
        super()._update_lr(epoch)
        if self.cycle_momentum:
            _set_momenta(self.optimizer, self._momenta(), self.use_beta1)


def _set_momenta(optimizer: Optimizer, momenta: list[float], use_beta1: bool) -> None:
    for group, momentum in zip(optimizer.param_groups, momenta):
        if use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum


class CyclicLR(_CyclesMomentum):
    """Cyclical learning rates (Smith 2017), as PyTorch's: the rate climbs from `base_lr` to `max_lr` in
    `step_size_up` steps and falls back in `step_size_down` (= step_size_up by default), over and over:

        cycle = floor(1 + t / (up + down)),   x = 1 + t / (up + down) - cycle
        height = x / r for x <= r, else (x - 1) / (r - 1),   r = up / (up + down)
        lr = base_lr + (max_lr - base_lr) height scale_fn(cycle, or t with scale_mode 'iterations')

    with scale_fn 1 ('triangular'), 1 / 2^(cycle - 1) ('triangular2', halved every cycle) or gamma^t
    ('exp_range'), or your own `scale_fn` (then `mode` is not used). The momentum goes the other way:
    max_momentum - (max_momentum - base_momentum) height scale_fn(...). Made with last_epoch=-1 it sets
    the groups' rates to `base_lr` (and momenta to `max_momentum`), unless an earlier schedule gave the
    groups an `initial_lr`: then, as PyTorch's, the rate stays that until the first `step()`. Its state
    dict keeps a `scale_fn` only when it is an object with attributes of its own (as LambdaLR's keeps its
    functions).
    """

    _state_checks = {"max_lrs": _check_rates, "total_size": check.positive, "step_ratio": check.closed_fraction,
                     "mode": _text, "scale_mode": _one_of("cycle", "iterations"), "cycle_momentum": check.boolean,
                     "use_beta1": check.boolean, "base_momentums": _list_of("numbers"),
                     "max_momentums": _list_of("numbers")}

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: float = 2000, step_size_down: float | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        where = "CyclicLR"
        self._check_start(optimizer, last_epoch)
        base_lrs = _per_group(where, "base_lr", base_lr, optimizer, check.non_negative)
        max_lrs = _per_group(where, "max_lr", max_lr, optimizer, check.non_negative)
        check.positive(where, "step_size_up", step_size_up)
        if step_size_down is not None:
            check.non_negative(where, "step_size_down", step_size_down)
        if scale_fn is None:
            _one_of("triangular", "triangular2", "exp_range")(where, "mode", mode)
        elif not callable(scale_fn):
            raise TypeError(f"{where}: scale_fn must be a function of the cycle or the step, got "
                            f"{type(scale_fn).__name__}")
        check.non_negative(where, "gamma", gamma)
        _one_of("cycle", "iterations")(where, "scale_mode", scale_mode)
        check.boolean(where, "cycle_momentum", cycle_momentum)
        if cycle_momentum:
            momentum_check = _momentum_check(where, optimizer)
            base_momentums = _per_group(where, "base_momentum", base_momentum, optimizer, momentum_check)
            max_momentums = _per_group(where, "max_momentum", max_momentum, optimizer, momentum_check)

        up = float(step_size_up)
        self.max_lrs = max_lrs
        self.total_size = up + (up if step_size_down is None else float(step_size_down))
        self.step_ratio = up / self.total_size
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        # the built-in modes choose what they scale by, as PyTorch's _init_scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if last_epoch == -1:
            for group, rate in zip(optimizer.param_groups, base_lrs):
                group["lr"] = rate
        if cycle_momentum:
            self.base_momentums, self.max_momentums = base_momentums, max_momentums
            self._start_momenta(optimizer, last_epoch, base_momentums, max_momentums)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at cycle (or step) x: your scale_fn, else the mode's."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / 2.0 ** (x - 1)
        return self.gamma ** x

    def _height(self) -> float:
        """How far up the cycle step `last_epoch` is, from 0 (at base_lr) to 1 (at max_lr), scaled."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        height = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        return height * self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)

    def get_lr(self) -> list[float]:
        height = self._height()
        return [base + (top - base) * height for base, top in zip(self._bases(), self.max_lrs)]

    def _momenta(self) -> list[float]:
        height = self._height()
        return [top - (top - base) * height for base, top in zip(self.base_momentums, self.max_momentums)]

    def state_dict(self) -> dict:
        state = {name: copy.deepcopy(value) for name, value in self.__dict__.items()
                 if name not in ("optimizer", "_scale_fn_custom")}
        state["_scale_fn_custom"] = None if self._scale_fn_custom is None else kept_attributes(self._scale_fn_custom)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        where = "CyclicLR.load_state_dict"
        saved = state_dict.get("_scale_fn_custom") if isinstance(state_dict, dict) else None
        if saved is not None and not (isinstance(saved, dict) and self._scale_fn_custom is not None):
            raise ValueError(f"{where}: _scale_fn_custom must be None, or the attributes (a dict) of this "
                             f"schedule's scale_fn object, got {saved!r:.80}")
        state = self._checked_state(state_dict)
        if self._scale_fn_custom is None:
            _one_of("triangular", "triangular2", "exp_range")(where, "mode", state["mode"])
        state["_scale_fn_custom"] = self._scale_fn_custom
        self.__dict__.update(state)
        restore_attributes(self._scale_fn_custom, saved)


_PHASE_ENDS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


def _phases(where: str, name: str, value: Any) -> None:
    """OneCycleLR's `_schedule_phases`: a list of dicts, each an `end_step` and the names of the group
    entries it anneals between (as PyTorch's)."""
    keys = {"end_step", "start_lr", "end_lr", "start_momentum", "end_momentum"}
    if not isinstance(value, list) or not value or not all(
            isinstance(phase, dict) and set(phase) == keys and is_finite_number(phase["end_step"])
            and all(phase[key] in _PHASE_ENDS for key in keys - {"end_step"}) for phase in value):
        raise ValueError(f"{where}: {name} must be a list of phases (dicts of {sorted(keys)}), got {value!r:.80}")


def _phase_at(phases: list[dict], step: int, where: str) -> tuple[dict, float]:
    """The phase that step `step` is in, and how far through it (0 at its start, 1 at its end): each phase
    runs from the previous one's end_step to its own, the last one past its end too (as PyTorch's)."""
    start = 0.0
    for index, phase in enumerate(phases):
        end = phase["end_step"]
        if step <= end or index == len(phases) - 1:
            if end == start:                    # (PyTorch divides 0 by 0 here)
                raise ValueError(f"{where}: phase {index} of the cycle spans no steps (it ends at step {end}, "
                                 f"where it starts): choose another pct_start")
            return phase, (step - start) / (end - start)
        start = end
    raise AssertionError("unreachable: the last phase takes every step")


class OneCycleLR(_CyclesMomentum):
    """The 1cycle policy (Smith and Topin 2018), as PyTorch's (after fastai's): over `total_steps` steps
    (or epochs * steps_per_epoch), the rate climbs from initial_lr = max_lr / div_factor to `max_lr` in
    the first pct_start of them, then falls to min_lr = initial_lr / final_div_factor; with
    `three_phase`, it falls back to initial_lr as it climbed, and then to min_lr. Within each phase

        lr = end + (start - end) (1 + cos(pi p)) / 2     ('cos'),   or   start + (end - start) p   ('linear')

    with p = (step - phase start) / (phase end - phase start), the phases ending at steps
    pct_start T - 1 (and 2 pct_start T - 2 with three phases) and T - 1. The momentum goes the other way,
    from `max_momentum` down to `base_momentum` and back. Made with last_epoch=-1 it writes `initial_lr`,
    `max_lr`, `min_lr` (and `max_momentum`, `base_momentum`) into each group, where the steps read them.
    Stepping past step total_steps raises ValueError; at step total_steps itself, one past the cycle's last, a
    'linear' rate stays at min_lr (PyTorch's goes on down its line, below 0 if min_lr is small). Not chainable.
    """

    _state_checks = {"total_steps": check.positive_integer, "_schedule_phases": _phases,
                     "_anneal_func_type": _one_of("cos", "linear"), "cycle_momentum": check.boolean,
                     "use_beta1": check.boolean}

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        where = "OneCycleLR"
        self._check_start(optimizer, last_epoch)
        if total_steps is not None:
            total = positive_int(total_steps, "total_steps", where)
        elif epochs is not None and steps_per_epoch is not None:
            total = positive_int(epochs, "epochs", where) * positive_int(steps_per_epoch, "steps_per_epoch", where)
        else:
            raise ValueError(f"{where}: expected total_steps, or epochs and steps_per_epoch, got total_steps="
                             f"{total_steps!r}, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
        check.closed_fraction(where, "pct_start", pct_start)
        _one_of("cos", "linear")(where, "anneal_strategy", anneal_strategy)
        check.boolean(where, "cycle_momentum", cycle_momentum)
        check.boolean(where, "three_phase", three_phase)
        max_lrs = _per_group(where, "max_lr", max_lr, optimizer, check.non_negative)
        check.positive(where, "div_factor", div_factor)
        check.positive(where, "final_div_factor", final_div_factor)
        if cycle_momentum:
            momentum_check = _momentum_check(where, optimizer)
            max_momentums = _per_group(where, "max_momentum", max_momentum, optimizer, momentum_check)
            base_momentums = _per_group(where, "base_momentum", base_momentum, optimizer, momentum_check)
        rise = float(pct_start * total) - 1
        if three_phase:
            phases = [(rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * total) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                      (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        schedule = [dict(zip(("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum"), phase))
                    for phase in phases]
        _phase_at(schedule, last_epoch + 1, where)       # (a cycle that cannot start is refused before any change)
        if last_epoch != -1:
            needed = _PHASE_ENDS if cycle_momentum else _PHASE_ENDS[:3]
            for index, group in enumerate(optimizer.param_groups):
                missing = [name for name in needed if name not in group]
                if missing:
                    raise ValueError(f"{where}: resuming at last_epoch={last_epoch} needs {missing} in "
                                     f"param_groups[{index}] (load the optimizer's state dict first)")

        self.total_steps, self._schedule_phases, self._anneal_func_type = total, schedule, anneal_strategy
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._start_momenta(optimizer, last_epoch, base_momentums, max_momentums)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, progress: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * progress) + 1)
        # (past the last phase's end, at step total_steps, PyTorch's straight line goes on below min_lr, and
        # below 0 when min_lr is small, which an optimizer refuses: here it stops at the end)
        return (end - start) * min(progress, 1.0) + start

    def _phase(self) -> tuple[dict, float]:
        where = "OneCycleLR.step"
        if self.last_epoch > self.total_steps:
            raise ValueError(f"{where}: tried to step {self.last_epoch} times; total_steps is {self.total_steps}")
        self._check_group_count(where, len(self.base_lrs))
        return _phase_at(self._schedule_phases, self.last_epoch, where)

    def get_lr(self) -> list[float]:
        phase, progress = self._phase()
        return [self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], progress)
                for group in self.optimizer.param_groups]

    def _momenta(self) -> list[float]:
        phase, progress = self._phase()
        return [self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], progress)
                for group in self.optimizer.param_groups]
