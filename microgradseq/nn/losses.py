"""Losses as modules, as PyTorch spells them: `criterion = nn.NLLLoss(); criterion(output, targets)`."""

from __future__ import annotations

from typing import Any

from ..checks import is_int
from ..functional import REDUCTIONS, cross_entropy, mse_loss, nll_loss
from ..spellings import only_defaults
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    """A loss function with its `reduction` ("mean", "sum" or "none"). PyTorch arguments this library
    does not support (class weights, label smoothing) may be given at their defaults."""

    defaults: dict = {}

    def __init__(self, reduction: str = "mean", **options: Any) -> None:
        super().__init__()
        where = type(self).__name__
        only_defaults(where, options, self.defaults)
        if reduction not in REDUCTIONS:
            raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _ClassLoss(_Loss):
    """A loss over class targets: targets equal to `ignore_index` (padding, say) add nothing."""

    def __init__(self, reduction: str = "mean", *, ignore_index: int = -100, **options: Any) -> None:
        super().__init__(reduction, **options)
        if not is_int(ignore_index):
            raise TypeError(f"{type(self).__name__}: ignore_index must be an integer, got {ignore_index!r}")
        self.ignore_index = ignore_index

    def extra_repr(self) -> str:
        shown = [super().extra_repr()] + ([f"ignore_index={self.ignore_index}"] if self.ignore_index != -100 else [])
        return ", ".join(part for part in shown if part)


class CrossEntropyLoss(_ClassLoss):
    """`F.cross_entropy(logits, target)`: logits (B, C), target classes (B,) or probabilities (B, C)."""

    defaults = {"weight": None, "label_smoothing": 0.0}

    def forward(self, logits: Any, target: Any) -> Tensor:
        return cross_entropy(logits, target, self.reduction, ignore_index=self.ignore_index)


class NLLLoss(_ClassLoss):
    """`F.nll_loss(log_probs, target)`: log-probabilities (B, C), target classes (B,)."""

    defaults = {"weight": None}

    def forward(self, log_probs: Any, target: Any) -> Tensor:
        return nll_loss(log_probs, target, self.reduction, ignore_index=self.ignore_index)


class MSELoss(_Loss):
    """`F.mse_loss(pred, target)`: the squared error, averaged or summed over every element."""

    def forward(self, pred: Any, target: Any) -> Tensor:
        return mse_loss(pred, target, self.reduction)
