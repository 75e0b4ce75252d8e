"""Learning-rate schedules, as `torch.optim.lr_scheduler`: each changes the `'lr'` of the
optimizer's param groups when you call `scheduler.step()` (once an epoch, after `optimizer.step()`).

    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    scheduler = mg.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)                    # optimizer.step() inside
        scheduler.step()

A schedule counts epochs in `last_epoch` (0 after construction, which already sets epoch 0's
rates) and keeps each group's starting rate as `base_lrs` (and in the group, as
`'initial_lr'`). Made with `last_epoch=k` to resume (the groups must hold `'initial_lr'`), it starts
at epoch k + 1; as PyTorch's since 2.8, ExponentialLR, LinearLR and CosineAnnealingLR then keep
the groups' current rates (the ones the checkpoint had), where StepLR, MultiStepLR, ConstantLR and
LambdaLR take that epoch's step. Like PyTorch's, `step()` is chainable: StepLR, MultiStepLR,
ExponentialLR, ConstantLR, LinearLR and CosineAnnealingLR compute the next rate from the group's
current lr, so a rate you change by hand carries on from where you put it; `step(epoch)` computes
the closed form for that epoch instead.
"""

from __future__ import annotations

import copy
import math
import types
from bisect import bisect_right
from collections import Counter
from typing import Any, Callable, Iterable

from ..checks import is_finite_number, is_int, positive_int
from . import options as check
from .optimizer import Optimizer


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


def _check_rates(where: str, name: str, value: Any) -> None:
    """A list of rates, each a finite number >= 0."""
    if not isinstance(value, list):
        raise ValueError(f"{where}: {name} must be a list of learning rates, got {type(value).__name__}")
    for index, rate in enumerate(value):
        check.non_negative(where, f"{name}[{index}]", rate)


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
        where = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: expected an optimizer (mg.optim.SGD, Adam, ...), got "
                            f"{type(optimizer).__name__}")
        _last_epoch(last_epoch, where)
        groups = optimizer.param_groups
        if last_epoch != -1:
            for index, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise ValueError(f"{where}: resuming at last_epoch={last_epoch} needs 'initial_lr' in "
                                     f"param_groups[{index}] (load the optimizer's state dict first)")
        self.optimizer = optimizer
        self.base_lrs = [group.get("initial_lr", group["lr"]) for group in groups]
        self.last_epoch = last_epoch
        self._step_count = 0                         # steps taken, the constructor's first (as PyTorch's)
        self._is_initial = True
        try:
            self.step()                              # epoch last_epoch + 1's rates (raises before any change)
        finally:
            del self._is_initial                     # (the class's False again; kept out of the state dict)
        for group, base in zip(groups, self.base_lrs):
            group.setdefault("initial_lr", base)

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
        where = f"{type(self).__name__}.step"
        previous = self.last_epoch
        self.last_epoch = previous + 1 if epoch is None else _non_negative_int(epoch, "epoch", where)
        self._step_count += 1
        try:
            rates = self.get_lr() if epoch is None else self.closed_form_lr()
            for index, rate in enumerate(rates):
                check.non_negative(where, f"the learning rate of param group {index}", rate)
        except BaseException:
            self.last_epoch, self._step_count = previous, self._step_count - 1
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


_LRScheduler = LRScheduler          # PyTorch's older name


class StepLR(LRScheduler):
    """Multiply the rate by `gamma` every `step_size` epochs:

        lr(epoch) = base_lr * gamma ^ floor(epoch / step_size)
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        check.non_negative("StepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._rates()
        return [rate * self.gamma for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self._bases()]


class MultiStepLR(LRScheduler):
    """Multiply the rate by `gamma` at each epoch in `milestones`:

        lr(epoch) = base_lr * gamma ^ (number of milestones <= epoch)
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        try:
            given = list(milestones)
        except TypeError:
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, got "
                            f"{type(milestones).__name__}") from None
        self.milestones = Counter(_non_negative_int(m, "each milestone", "MultiStepLR") for m in given)
        check.non_negative("MultiStepLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._rates()
        return [rate * self.gamma ** self.milestones[self.last_epoch] for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma ** passed for base in self._bases()]


class ExponentialLR(LRScheduler):
    """Multiply the rate by `gamma` every epoch:

        lr(epoch) = base_lr * gamma ^ epoch
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check.non_negative("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:                    # (resuming at last_epoch=k: the rates stay as they are)
            return self._rates()
        return [rate * self.gamma for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self._bases()]


def _factor_of_warmup(where: str, name: str, value: Any) -> None:
    """A factor of the rate in (0, 1] (ConstantLR's `factor`, LinearLR's `start_factor`: 0 would leave
    the schedule nothing to divide by when it restores the rate)."""
    if not is_finite_number(value) or not 0 < value <= 1:
        raise ValueError(f"{where}: {name} must be in (0, 1], got {value!r}")


class ConstantLR(LRScheduler):
    """Multiply the rate by `factor` for the first `total_iters` epochs, then give it back, as PyTorch's
    (a warm-up):

        lr(epoch) = base_lr * factor   for epoch < total_iters,   base_lr after
    """

    _state_checks = {"factor": _factor_of_warmup, "total_iters": check.positive_integer}

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        _factor_of_warmup("ConstantLR", "factor", factor)
        self.factor, self.total_iters = factor, positive_int(total_iters, "total_iters", "ConstantLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:                        # the warm-up starts: scale the rate down
            return [rate * self.factor for rate in self._rates()]
        if self.last_epoch != self.total_iters:         # (resuming at last_epoch=k too: epoch k + 1's rate)
            return self._rates()
        return [rate / self.factor for rate in self._rates()]   # the warm-up ends: give the rate back

    def closed_form_lr(self) -> list[float]:
        factor = 1.0 if self.last_epoch >= self.total_iters else self.factor
        return [base * factor for base in self._bases()]


class LinearLR(LRScheduler):
    """Multiply the rate by a factor going in a straight line from `start_factor` to `end_factor` over
    `total_iters` epochs, then by `end_factor`, as PyTorch's (a warm-up, or a linear decay):

        lr(epoch) = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)

    `step()` takes each epoch's ratio of consecutive factors from the group's current rate (chainable).
    """

    _state_checks = {"start_factor": _factor_of_warmup, "end_factor": check.closed_fraction,
                     "total_iters": check.positive_integer}

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        _factor_of_warmup("LinearLR", "start_factor", start_factor)
        check.closed_fraction("LinearLR", "end_factor", end_factor)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = positive_int(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer, last_epoch)

    def _factor(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * progress

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [rate * self.start_factor for rate in self._rates()]
        if self._is_initial or self.last_epoch > self.total_iters:  # (resuming, as PyTorch's: rates kept)
            return self._rates()
        ratio = self._factor(self.last_epoch) / self._factor(self.last_epoch - 1)
        return [rate * ratio for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [base * self._factor(self.last_epoch) for base in self._bases()]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the starting rate down to `eta_min` over `T_max` epochs (then back
    up over the next T_max, and so on), as PyTorch's:

        lr(epoch) = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2

    `step()` computes it, as PyTorch does, from the current rate (so a rate changed by hand
    carries on), by the ratio of consecutive epochs' values:

        lr(e) = eta_min + (lr(e - 1) - eta_min) (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max))

    and where that ratio is 0 / 0 (e - 1 = T_max, 3 T_max, ...: the bottom of the cosine) by the
    difference, lr(e) = lr(e - 1) + (base_lr - eta_min) (1 - cos(pi / T_max)) / 2.
    """

    def __init__(self, optimizer: Optimizer, T_max: float, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check.positive("CosineAnnealingLR", "T_max", T_max)   # epochs (a float too, as PyTorch takes it)
        self.T_max = T_max
        check.non_negative("CosineAnnealingLR", "eta_min", eta_min)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:                    # (resuming at last_epoch=k: the rates stay as they are)
            return self._rates()
        if self._step_count == 1 and epoch > 0:  # (get_lr() called after the constructor, as PyTorch's)
            return self.closed_form_lr()
        if _at_the_bottom(epoch - 1, period):
            return [rate + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for rate, base in zip(self._rates(), self._bases())]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (rate - low) + low for rate in self._rates()]

    def closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self._bases()]


def _at_the_bottom(epoch: int, period: float) -> bool:
    """Whether epoch / period is an odd integer, where 1 + cos(pi epoch / period) is 0: PyTorch's test
    (epoch - period) % (2 period) == 0, but within rounding, which a T_max such as 0.4 or 2 / 3 needs (2 /
    0.4 is 5 to within rounding, and the modulo misses it, then the ratio divides by 0)."""
    turns = epoch / period
    return abs(turns - round(turns)) < 1e-9 and round(turns) % 2 == 1


class LambdaLR(LRScheduler):
    """The starting rate times a function of the epoch, one function for all groups or one each:

        lr(epoch) = base_lr * lr_lambda(epoch)

    Its state dict keeps the functions only when they are objects with attributes of their
    own (their `__dict__`); a plain function or lambda is kept as None, as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        groups = len(getattr(optimizer, "param_groups", ()))
        functions = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(functions) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas (one per param group), got {len(functions)}")
        for function in functions:
            if not callable(function):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, got "
                                f"{type(function).__name__}")
        self.lr_lambdas = functions
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        rates = []
        for base, function in zip(self._bases(), self.lr_lambdas):
            factor = function(self.last_epoch)
            if not is_finite_number(factor):
                raise ValueError(f"LambdaLR.step: lr_lambda({self.last_epoch}) must be a finite number, "
                                 f"got {factor!r}")
            rates.append(base * factor)
        return rates

    def state_dict(self) -> dict:
        state = {name: copy.deepcopy(value) for name, value in self.__dict__.items()
                 if name not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else copy.deepcopy(f.__dict__)
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        functions = self.lr_lambdas
        saved = state_dict.get("lr_lambdas") if isinstance(state_dict, dict) else None
        if not isinstance(saved, list) or len(saved) != len(functions) or not all(
                attributes is None or isinstance(attributes, dict) for attributes in saved):
            raise ValueError(f"LambdaLR.load_state_dict: expected lr_lambdas, a list of {len(functions)} "
                             f"entries (None, or a dict of a function object's attributes), got {saved!r:.80}")
        state = self._checked_state(state_dict)
        state["lr_lambdas"] = functions
        self.__dict__.update(state)
        for function, attributes in zip(functions, saved):
            if attributes is not None:
                function.__dict__.update(copy.deepcopy(attributes))


class ReduceLROnPlateau(LRScheduler):
    """Lower the rate when a metric has stopped improving: `step(metric)` after each evaluation.

    With mode 'min' the metric improves when it falls below best * (1 - threshold)
    ('rel') or best - threshold ('abs'); with 'max', above best * (1 + threshold) or
    best + threshold. After more than `patience` epochs without improvement, each group's

        lr = max(lr * factor, min_lr)        (only if that lowers it by more than eps)

    and then `cooldown` epochs pass before bad epochs count again.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        where = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: expected an optimizer (mg.optim.SGD, Adam, ...), got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{where}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{where}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        check.fraction(where, "factor", factor)
        check.non_negative(where, "threshold", threshold)
        check.non_negative(where, "eps", eps)
        groups = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        if len(min_lrs) != groups:
            raise ValueError(f"{where}: expected {groups} min_lrs (one per param group), got {len(min_lrs)}")
        for value in min_lrs:
            check.non_negative(where, "min_lr", value)
        # a single min_lr also serves groups added later, as in PyTorch; a list is for these groups only
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.patience = _non_negative_int(patience, "patience", where)
        self.cooldown = _non_negative_int(cooldown, "cooldown", where)
        self.optimizer = optimizer
        self.mode, self.factor, self.threshold, self.threshold_mode = mode, factor, threshold, threshold_mode
        self.min_lrs, self.eps = min_lrs, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = self._rates()

    def is_better(self, metric: float, best: float) -> bool:
        """Whether `metric` improves on `best` by more than the threshold."""
        if self.mode == "min":
            bound = best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return metric < bound
        bound = best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return metric > bound

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Count an epoch with this value of the metric (a number, or a one-element tensor)."""
        where = "ReduceLROnPlateau.step"
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"{where}: expected the metric as a number, got {type(metrics).__name__}") from None
        if self.default_min_lr is not None:      # groups added since: the single min_lr serves them too
            self.min_lrs += [self.default_min_lr] * (len(self.optimizer.param_groups) - len(self.min_lrs))
        self._check_group_count(where, len(self.min_lrs), "min_lrs")
        self.last_epoch = self.last_epoch + 1 if epoch is None else _non_negative_int(epoch, "epoch", where)
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0                  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._rates()
