"""The base class of the learning-rate schedules, `LRScheduler` (as PyTorch's), and how a schedule's
state dict is checked when it is loaded.

A schedule counts epochs in `last_epoch` (0 after construction, which already sets epoch 0's
rates) and keeps each group's starting rate as `base_lrs` (and in the group, as
`'initial_lr'`). `step()` goes to the next epoch and sets every group's lr, all or none; `step(epoch)`
sets the closed form of that epoch instead.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from typing import Any, Callable

from ...checks import is_finite_number, is_int, positive_int
from .. import options as check
from ..optimizer import Optimizer


def _non_negative_int(value: Any, name: str, where: str) -> int:
    if not is_int(value) or value < 0:
        raise ValueError(f"{where}: {name} must be an integer >= 0, got {value!r}")
    return int(value)


def _last_epoch(value: Any, where: str) -> int:
    if not is_int(value) or value < -1:
        raise ValueError(f"{where}: last_epoch must be an integer >= -1, got {value!r}")
    return int(value)


def _one_of(*choices: str) -> Callable[[str, str, Any], None]:
    def check_choice(where: str, name: str, value: Any) -> None:
        if value not in choices:
            raise ValueError(f"{where}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return check_choice


def _list_of(what: str) -> Callable[[str, str, Any], None]:
    """The check of a list of `what` (rates, momenta), each a finite number >= 0."""
    def check_list(where: str, name: str, value: Any) -> None:
        if not isinstance(value, list):
            raise ValueError(f"{where}: {name} must be a list of {what}, got {type(value).__name__}")
        for index, item in enumerate(value):
            check.non_negative(where, f"{name}[{index}]", item)
    return check_list


_check_rates = _list_of("learning rates")


def _milestones(where: str, name: str, value: Any) -> None:
    """A Counter of epochs, or the dict epoch -> count that `mg.save` and `mg.load` make of one."""
    if not isinstance(value, dict) or not all(is_int(m) and m >= 0 and is_int(n) and n > 0
                                              for m, n in value.items()):
        raise ValueError(f"{where}: {name} must be a Counter of epochs (integers >= 0), got {value!r}")


def _number_or_inf(where: str, name: str, value: Any) -> None:
    if not (is_finite_number(value) or (isinstance(value, float) and math.isinf(value))):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")


# How load_state_dict checks each entry a schedule keeps, before taking any of them (an entry not
# listed here, one a subclass of yours keeps, is taken as it comes).
_STATE_CHECKS: dict[str, Callable[[str, str, Any], None]] = {
    "last_epoch": lambda where, name, value: _last_epoch(value, where),
    "_step_count": lambda where, name, value: _non_negative_int(value, name, where),
    "base_lrs": _check_rates, "_last_lr": _check_rates, "min_lrs": _check_rates,
    "step_size": lambda where, name, value: positive_int(value, name, where),
    "gamma": check.non_negative, "factor": check.fraction, "threshold": check.non_negative,
    "eps": check.non_negative, "milestones": _milestones,
    "patience": lambda where, name, value: _non_negative_int(value, name, where),
    "cooldown": lambda where, name, value: _non_negative_int(value, name, where),
    "num_bad_epochs": lambda where, name, value: _non_negative_int(value, name, where),
    "cooldown_counter": lambda where, name, value: _non_negative_int(value, name, where),
    "mode": _one_of("min", "max"), "threshold_mode": _one_of("rel", "abs"), "best": _number_or_inf,
    "default_min_lr": lambda where, name, value: value is None or check.non_negative(where, name, value),
    "T_max": check.positive, "eta_min": check.non_negative,
}


# Entries of PyTorch's schedule state dicts that mean nothing here: flags its `step` sets and clears,
# ReduceLROnPlateau's `mode_worse` (which its `mode` gives) and the `verbose` of older versions.
# `load_state_dict` skips them, so a PyTorch schedule's state dict loads.
_PYTORCH_BOOKKEEPING = ("_get_lr_called_within_step", "_is_initial", "mode_worse", "verbose")


class LRScheduler:
    """The base class: subclasses define `get_lr()`, the groups' rates at epoch `last_epoch`
    (and, for `step(epoch)`, `closed_form_lr()`)."""

    _is_initial = False         # True during the constructor's step, as PyTorch's flag
    # A schedule's own checks of its state dict's entries, beside _STATE_CHECKS and taking precedence
    # over them: ConstantLR's `factor` may be 1, where ReduceLROnPlateau's (checked by _STATE_CHECKS)
    # stays below 1. A subclass that adds checks extends its parent's: {**Parent._state_checks, ...}.
    _state_checks: dict[str, Callable[[str, str, Any], None]] = {}

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self._check_start(optimizer, last_epoch)
        groups = optimizer.param_groups
        self.optimizer = optimizer
        self.base_lrs = [group.get("initial_lr", group["lr"]) for group in groups]
        self.last_epoch = last_epoch
        self._initial_step()                         # epoch last_epoch + 1's rates (raises before any change)
        for group, base in zip(groups, self.base_lrs):
            group.setdefault("initial_lr", base)

    def _check_start(self, optimizer: Any, last_epoch: Any) -> None:
        """TypeError unless `optimizer` is one; ValueError unless `last_epoch` is an integer >= -1 and,
        resuming (last_epoch != -1), every group holds `'initial_lr'`."""
        where = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: expected an optimizer (mg.optim.SGD, Adam, ...), got "
                            f"{type(optimizer).__name__}")
        _last_epoch(last_epoch, where)
        if last_epoch != -1:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(f"{where}: resuming at last_epoch={last_epoch} needs 'initial_lr' in "
                                     f"param_groups[{index}] (load the optimizer's state dict first)")

    def _initial_step(self) -> None:
        """The constructor's step, as PyTorch's: the step count starts again at 0, and `_is_initial` is True
        while it runs (SequentialLR calls it too, when its first schedule takes over)."""
        self._step_count = 0                         # steps taken, this one the first (as PyTorch's)
        self._is_initial = True
        try:
            self.step()
        finally:
            del self._is_initial                     # (the class's False again; kept out of the state dict)

    def get_lr(self) -> list[float]:
        """Each group's learning rate at epoch `self.last_epoch` (from the current ones)."""
        raise NotImplementedError

    def closed_form_lr(self) -> list[float]:
        """Each group's learning rate at epoch `self.last_epoch`, from `base_lrs` alone."""
        return self.get_lr()

    def get_last_lr(self) -> list[float]:
        """The learning rates the last `step()` set, one per group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Go to the next epoch (or to `epoch`) and set every group's lr, all or none."""
        if epoch is not None:
            epoch = _non_negative_int(epoch, "epoch", f"{type(self).__name__}.step")
        self._step_count += 1
        try:
            self._update_lr(epoch)
        except BaseException:
            self._step_count -= 1
            raise

    def _update_lr(self, epoch: int | None) -> None:
        """PyTorch's `_update_lr`: go to the next epoch, or to `epoch` by the closed form, and set the
        groups' rates, all or none, without counting a step (SequentialLR calls it with 0 when a schedule
        takes over at its milestone)."""
        where = f"{type(self).__name__}.step"
        previous = self.last_epoch
        self.last_epoch = previous + 1 if epoch is None else epoch
        try:
            rates = self.get_lr() if epoch is None else self.closed_form_lr()
            for index, rate in enumerate(rates):
                check.non_negative(where, f"the learning rate of param group {index}", rate)
        except BaseException:
            self.last_epoch = previous
            raise
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Everything the schedule keeps but the optimizer, copied."""
        return {name: copy.deepcopy(value) for name, value in self.__dict__.items() if name != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the schedule's place from `state_dict` (from `state_dict()` of the same kind of
        schedule), all or nothing: every entry is checked first (`ValueError` naming it). The
        optimizer's rates are not changed: its own state dict holds them."""
        self.__dict__.update(self._checked_state(state_dict))

    def _checked_state(self, state_dict: Any) -> dict:
        """A copy of `state_dict`, each entry checked as `_STATE_CHECKS` says."""
        where = f"{type(self).__name__}.load_state_dict"
        if isinstance(state_dict, dict):
            state_dict = {name: value for name, value in state_dict.items() if name not in _PYTORCH_BOOKKEEPING}
        expected = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{where}: expected a dict with the keys {sorted(expected)} (as "
                             f"{type(self).__name__}.state_dict() returns), got {got}")
        state = copy.deepcopy(state_dict)
        checks = {**_STATE_CHECKS, **self._state_checks}
        for name, value in state.items():
            if name in checks:                   # (numbers that went through mg.save as 0-d arrays: as numbers)
                state[name] = value = check.plain(value)
                checks[name](where, name, value)
        if "milestones" in state:
            state["milestones"] = Counter(state["milestones"])
        return state

    def _check_group_count(self, where: str, count: int, name: str = "base_lrs") -> None:
        """ValueError unless the optimizer has `count` param groups (a group added after the
        schedule was made would be left out of it)."""
        groups = len(self.optimizer.param_groups)
        if count != groups:
            raise ValueError(f"{where}: the optimizer has {groups} param groups, but this schedule has "
                             f"{count} {name}; make the schedule after add_param_group (or load a state "
                             "dict of a schedule for as many groups)")

    def _rates(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _bases(self) -> list[float]:
        """`base_lrs`, one per param group (a rate computed from them would leave a group added
        since out: an error, where a chainable schedule just scales every group's current rate)."""
        self._check_group_count(f"{type(self).__name__}.step", len(self.base_lrs))
        return self.base_lrs
