"""Schedules made of schedules, as PyTorch's: SequentialLR (one after another, each taking over at its
milestone: a warm-up, then a decay) and ChainedScheduler (every one of them at each step, so their
factors multiply). Their state dicts hold their schedules' state dicts, in `_schedulers`.
"""

from __future__ import annotations

import contextlib
import copy
from bisect import bisect_right
from typing import Any, Iterator, Sequence

from ...checks import is_int
from ..optimizer import Optimizer
from .base import LRScheduler
from .plateau import ReduceLROnPlateau


def _checked_schedules(where: str, schedulers: Any, optimizer: Any) -> list[LRScheduler]:
    """`schedulers` as a list, each a schedule (not ReduceLROnPlateau, whose step needs the metric) of
    `optimizer`; ValueError or TypeError naming the first that is not."""
    if not isinstance(schedulers, (list, tuple)) or not schedulers:
        got = f"{len(schedulers)} schedules" if isinstance(schedulers, (list, tuple)) else type(schedulers).__name__
        raise ValueError(f"{where}: expected a list of at least one schedule, got {got}")
    for index, scheduler in enumerate(schedulers):
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{where}: schedulers[{index}] is a ReduceLROnPlateau, whose step needs the metric; "
                             "it cannot be stepped with the others (as in PyTorch)")
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"{where}: schedulers[{index}] must be a schedule (an LRScheduler), got "
                            f"{type(scheduler).__name__}")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{where}: schedulers[{index}] ({type(scheduler).__name__}) schedules another "
                             f"optimizer than the {type(optimizer).__name__} given; all must schedule the same one")
    return list(schedulers)


@contextlib.contextmanager
def _all_or_nothing(composite: _Composite) -> Iterator[None]:
    """Put the composite's schedules and the optimizer's group options back as they were if the body
    raises (a schedule that fails after another has stepped leaves nothing half done)."""
    states = [scheduler.state_dict() for scheduler in composite._schedulers]
    options = [{name: value for name, value in group.items() if name != "params"}
               for group in composite.optimizer.param_groups]
    try:
        yield
    except BaseException:
        for scheduler, state in zip(composite._schedulers, states):
            scheduler.load_state_dict(state)
        for group, kept in zip(composite.optimizer.param_groups, options):
            group.update(kept)
        raise


class _Composite(LRScheduler):
    """What SequentialLR and ChainedScheduler share: `_schedulers`, and a state dict that holds theirs."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict:
        """Everything the schedule keeps but the optimizer, copied, with `_schedulers` the list of its
        schedules' state dicts."""
        state = {name: copy.deepcopy(value) for name, value in self.__dict__.items()
                 if name not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the place of `state_dict` (from `state_dict()` of a like composite, or PyTorch's), its
        schedules each from theirs, all or nothing."""
        where = f"{type(self).__name__}.load_state_dict"
        saved = state_dict.get("_schedulers") if isinstance(state_dict, dict) else None
        if not isinstance(saved, list) or len(saved) != len(self._schedulers) or not all(
                isinstance(state, dict) for state in saved):
            raise ValueError(f"{where}: expected _schedulers, a list of {len(self._schedulers)} state dicts (one "
                             f"per schedule), got {saved!r:.80}")
        state = self._checked_state(state_dict)
        self._check_loaded(where, state)
        del state["_schedulers"]
        with _all_or_nothing(self):
            for scheduler, its_state in zip(self._schedulers, saved):
                scheduler.load_state_dict(its_state)
        self.__dict__.update(state)

    def _check_loaded(self, where: str, state: dict) -> None:
        """Checks of a loaded state's entries that depend on this composite (none by default)."""


def _increasing_epochs(where: str, name: str, value: Any) -> None:
    """A list of epochs (integers >= 0) in increasing order."""
    if not isinstance(value, list) or not all(is_int(epoch) and epoch >= 0 for epoch in value) or any(
            later <= earlier for earlier, later in zip(value, value[1:])):
        raise ValueError(f"{where}: {name} must be a list of epochs (integers >= 0) in increasing order, got {value!r}")


def _check_milestone_count(where: str, name: str, milestones: list, schedules: int) -> None:
    if len(milestones) != schedules - 1:
        raise ValueError(f"{where}: expected {schedules - 1} {name} (one fewer than the {schedules} schedules), "
                         f"got {len(milestones)}")


class SequentialLR(_Composite):
    """Several schedules one after another, as PyTorch's: `schedulers[i]` runs from milestone i - 1 up to
    milestone i, and when it takes over it starts at its own epoch 0 (its closed form there: its starting
    rate, for most). For a warm-up then a decay:

        warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)
        decay = CosineAnnealingLR(optimizer, T_max=95)
        scheduler = SequentialLR(optimizer, schedulers=[warmup, decay], milestones=[5])

    Made, it puts every group's rate back to its `'initial_lr'`, takes back the constructor's step of each
    schedule (last_epoch - 1, `recursive_undo`) and takes the first schedule's again.
    """

    _state_checks = {"_milestones": _increasing_epochs}

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        where = "SequentialLR"
        self._check_start(optimizer, last_epoch)
        schedulers = _checked_schedules(where, schedulers, optimizer)
        for index, scheduler in enumerate(schedulers[1:], start=1):
            if isinstance(scheduler, _Composite):   # (it would have to start at its epoch 0: it has none)
                raise ValueError(f"{where}: schedulers[{index}] is a {type(scheduler).__name__}, which cannot take "
                                 "over at a milestone (it has no epoch 0 to start at; PyTorch's fails at the "
                                 "milestone); a composite may only come first")
        milestones = list(milestones) if isinstance(milestones, (list, tuple)) else milestones
        _increasing_epochs(where, "milestones", milestones)
        _check_milestone_count(where, "milestones", milestones, len(schedulers))
        for index, group in enumerate(optimizer.param_groups):
            if "initial_lr" not in group:
                raise ValueError(f"{where}: param_groups[{index}] has no 'initial_lr' (a group added after the "
                                 "schedules were made)")
        self._schedulers, self._milestones = schedulers, [int(epoch) for epoch in milestones]
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        self._schedulers[0]._initial_step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def recursive_undo(self, sched: LRScheduler | None = None) -> None:
        """Take back the constructor's step of `sched` (all of this one's schedules by default), and of
        the schedules within it: last_epoch - 1, as PyTorch's."""
        stack = [self if sched is None else sched]
        while stack:
            scheduler = stack.pop()
            if hasattr(scheduler, "_schedulers"):
                stack.extend(scheduler._schedulers)
            elif hasattr(scheduler, "last_epoch"):
                scheduler.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Go to the next epoch: the schedule whose turn it is steps, or, at its milestone, starts at its
        epoch 0 (all or nothing)."""
        epoch = self.last_epoch + 1
        index = bisect_right(self._milestones, epoch)
        scheduler = self._schedulers[index]
        with _all_or_nothing(self):
            if index > 0 and self._milestones[index - 1] == epoch:
                scheduler._update_lr(0)
            else:
                scheduler.step()
        self.last_epoch = epoch
        self._last_lr = scheduler.get_last_lr()

    def _check_loaded(self, where: str, state: dict) -> None:
        _check_milestone_count(where, "_milestones", state["_milestones"], len(self._schedulers))


class ChainedScheduler(_Composite):
    """Several schedules stepped together, as PyTorch's: each `step()` steps every one of them in turn,
    so that chainable schedules multiply their factors (ConstantLR's warm-up times ExponentialLR's decay:
    base * factor * gamma^e during the warm-up, base * gamma^e after it). The optimizer is the first
    schedule's unless given.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        where = "ChainedScheduler"
        if optimizer is None and isinstance(schedulers, (list, tuple)) and schedulers:
            optimizer = getattr(schedulers[0], "optimizer", None)
        if optimizer is not None:
            self._check_start(optimizer, -1)
        self._schedulers = _checked_schedules(where, schedulers, optimizer)
        self.optimizer = optimizer
        self._last_lr = self._rates()

    def step(self) -> None:  # type: ignore[override]
        """Step every schedule, in order (all or nothing)."""
        with _all_or_nothing(self):
            for scheduler in self._schedulers:
                scheduler.step()
        self._last_lr = self._rates()
