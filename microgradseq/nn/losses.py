"""Losses as modules, as PyTorch spells them: `criterion = nn.NLLLoss(); criterion(output, targets)`."""

from __future__ import annotations

from typing import Any

from ..checks import flag, is_int, non_negative_number, positive_number
from ..functional.losses import checked_reduction
from ..functional import (REDUCTIONS, binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                          huber_loss, kl_div, l1_loss, legacy_reduction, mse_loss, nll_loss, smooth_l1_loss)
from ..spellings import only_defaults
from ..tensor import Tensor, as_tensor
from .module import Module


class _Loss(Module):
    """A loss function with its `reduction` ("mean", "sum" or "none"; PyTorch's deprecated
    `size_average=` and `reduce=` too, with its warning). PyTorch arguments this library does not
    support (class weights, label smoothing) may be given at their defaults."""

    defaults: dict = {}
    reductions = REDUCTIONS

    def __init__(self, reduction: str = "mean", **options: Any) -> None:
        super().__init__()
        where = type(self).__name__
        legacy = options.pop("size_average", None), options.pop("reduce", None)     # (PyTorch's deprecated pair)
        reduction = legacy_reduction(where, *legacy, reduction)
        only_defaults(where, options, self.defaults)
        self.reduction = checked_reduction(where, reduction, self.reductions,
                                           weight_position="first" if "weight" in self.defaults else "")

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


class KLDivLoss(_Loss):
    """`F.kl_div(input, target, reduction, log_target)`: the divergence of the log-probabilities `input`
    from the target distribution; `reduction="batchmean"` is the divergence per sample."""

    reductions = REDUCTIONS + ("batchmean",)

    def __init__(self, reduction: str = "mean", log_target: bool = False, **options: Any) -> None:
        super().__init__(reduction, **options)
        self.log_target = flag(log_target, "log_target", "KLDivLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MSELoss(_Loss):
    """`F.mse_loss(pred, target)`: the squared error, averaged or summed over every element."""

    def forward(self, pred: Any, target: Any) -> Tensor:
        return mse_loss(pred, target, self.reduction)


class L1Loss(_Loss):
    """`F.l1_loss(input, target)`: the absolute error, averaged or summed over every element."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """`F.smooth_l1_loss(input, target, beta=beta)`: squared error below `beta`, absolute beyond."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0, **options: Any) -> None:
        super().__init__(reduction, **options)
        self.beta = non_negative_number(beta, "beta", "SmoothL1Loss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return ", ".join(part for part in [super().extra_repr(), f"beta={self.beta}" if self.beta != 1.0 else ""]
                         if part)


class HuberLoss(_Loss):
    """`F.huber_loss(input, target, delta=delta)`: squared error below `delta`, delta times absolute beyond."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = positive_number(delta, "delta", "HuberLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber_loss(input, target, self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return ", ".join(part for part in [super().extra_repr(), f"delta={self.delta}" if self.delta != 1.0 else ""]
                         if part)


class _WeightedLoss(_Loss):
    """A loss with constant weights kept as buffers, as PyTorch keeps them: in `state_dict()` when
    given, and converted by `double()` / `to(dtype)` with the rest of a model."""

    def _weights(self, **weights: Any) -> None:
        for name, value in weights.items():
            try:
                weight = None if value is None else as_tensor(value).detach()
            except (TypeError, ValueError):
                raise TypeError(f"{type(self).__name__}: expected {name} as a tensor of numbers (or None), "
                                f"got {value!r:.60}") from None
            self.register_buffer(name, weight)


class BCEWithLogitsLoss(_WeightedLoss):
    """`F.binary_cross_entropy_with_logits(input, target, weight, pos_weight=pos_weight)`: binary
    cross-entropy from logits, stable for any logit."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None, **options: Any) -> None:
        super().__init__(reduction, **options)
        self._weights(weight=weight, pos_weight=pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, pos_weight=self.pos_weight)


class BCELoss(_WeightedLoss):
    """`F.binary_cross_entropy(input, target, weight)`: binary cross-entropy from probabilities in [0, 1]."""

    def __init__(self, weight: Any = None, reduction: str = "mean", **options: Any) -> None:
        super().__init__(reduction, **options)
        self._weights(weight=weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, self.reduction)
