"""ReduceLROnPlateau, as PyTorch's: lower the rate when a metric has stopped improving."""

from __future__ import annotations

import math
from typing import Any

from .. import options as check
from ..optimizer import Optimizer
from .base import LRScheduler, _non_negative_int


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
