"""Schedules given as functions of the epoch, as PyTorch's: LambdaLR (the starting rate times the
function's value) and MultiplicativeLR (the current rate times it, every epoch).
"""

from __future__ import annotations

import copy
import types
from typing import Callable

from ...checks import is_finite_number
from ..optimizer import Optimizer
from .base import LRScheduler


def kept_attributes(function: Callable) -> dict | None:
    """What a state dict keeps of a function, as PyTorch's: a callable object's attributes (its
    `__dict__`, copied), or None for a plain function or lambda."""
    return None if isinstance(function, types.FunctionType) else copy.deepcopy(function.__dict__)


def restore_attributes(function: Callable, attributes: dict | None) -> None:
    """Give back to a callable object the attributes `kept_attributes` kept of it (None: nothing kept)."""
    if attributes is not None:
        function.__dict__.update(copy.deepcopy(attributes))


class _FunctionsOfTheEpoch(LRScheduler):
    """LambdaLR's and MultiplicativeLR's common part: `lr_lambdas`, one function of the epoch per
    group, and a state dict that keeps what `kept_attributes` keeps of each."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list, last_epoch: int) -> None:
        where = type(self).__name__
        groups = len(getattr(optimizer, "param_groups", ()))
        functions = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(functions) != groups:
            raise ValueError(f"{where}: expected {groups} lr_lambdas (one per param group), got {len(functions)}")
        for function in functions:
            if not callable(function):
                raise TypeError(f"{where}: lr_lambda must be a function of the epoch, got "
                                f"{type(function).__name__}")
        self.lr_lambdas = functions
        super().__init__(optimizer, last_epoch)

    def _factors(self) -> list[float]:
        """Each group's lr_lambda(last_epoch), a finite number (else ValueError)."""
        factors = []
        for function in self.lr_lambdas:
            factor = function(self.last_epoch)
            if not is_finite_number(factor):
                raise ValueError(f"{type(self).__name__}.step: lr_lambda({self.last_epoch}) must be a finite "
                                 f"number, got {factor!r}")
            factors.append(factor)
        return factors

    def state_dict(self) -> dict:
        state = {name: copy.deepcopy(value) for name, value in self.__dict__.items()
                 if name not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [kept_attributes(function) for function in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        functions = self.lr_lambdas
        saved = state_dict.get("lr_lambdas") if isinstance(state_dict, dict) else None
        if not isinstance(saved, list) or len(saved) != len(functions) or not all(
                attributes is None or isinstance(attributes, dict) for attributes in saved):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected lr_lambdas, a list of "
                             f"{len(functions)} entries (None, or a dict of a function object's attributes), "
                             f"got {saved!r:.80}")
        state = self._checked_state(state_dict)
        state["lr_lambdas"] = functions
        self.__dict__.update(state)
        for function, attributes in zip(functions, saved):
            restore_attributes(function, attributes)


class LambdaLR(_FunctionsOfTheEpoch):
    """The starting rate times a function of the epoch, one function for all groups or one each:

        lr(epoch) = base_lr * lr_lambda(epoch)

    Its state dict keeps the functions only when they are objects with attributes of their
    own (their `__dict__`); a plain function or lambda is kept as None, as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        super().__init__(optimizer, lr_lambda, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * factor for base, factor in zip(self._bases(), self._factors())]


class MultiplicativeLR(_FunctionsOfTheEpoch):
    """Multiply the rate by a function of the epoch, every epoch from epoch 1, as PyTorch's (one function
    for all groups or one each):

        lr(epoch) = lr(epoch - 1) * lr_lambda(epoch),   lr(0) = base_lr

    so lr(e) = base_lr * lr_lambda(1) * ... * lr_lambda(e). Chainable: a rate changed by hand carries on.
    Its state dict keeps the functions as LambdaLR's does.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        super().__init__(optimizer, lr_lambda, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:                    # (epoch 0, or resuming at last_epoch=k: the rates stay)
            return self._rates()
        self._check_group_count(f"{type(self).__name__}.step", len(self.lr_lambdas), "lr_lambdas")
        return [rate * factor for rate, factor in zip(self._rates(), self._factors())]
