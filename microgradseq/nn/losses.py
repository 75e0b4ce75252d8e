"""Losses as modules, as PyTorch spells them: `criterion = nn.NLLLoss(); criterion(output, targets)`."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

from ..checks import flag, is_int, non_negative_number, positive_number, probability, user_stacklevel
from ..functional.reduction import checked_reduction
from ..functional import (REDUCTIONS, binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                          ctc_loss, huber_loss, kl_div, l1_loss, legacy_reduction, mse_loss, nll_loss, smooth_l1_loss)
from ..functional import (cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss, margin_ranking_loss,
                          multi_margin_loss, multilabel_margin_loss, multilabel_soft_margin_loss, poisson_nll_loss,
                          soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss)
from ..functional.activations import argument
from ..functional.margin_losses import finite_number, positive_margin
from ..spellings import only_defaults
from ..tensor import Tensor, as_tensor
from .activations import PairwiseDistance
from .module import Module


class _Loss(Module):
    """A loss function with its `reduction` ("mean", "sum" or "none"), its arguments in PyTorch's
    order: first PyTorch's deprecated `size_average` and `reduce` (with its warning), so
    `nn.MSELoss(None, None, "sum")` is PyTorch's; a reduction string in their place,
    `nn.MSELoss("sum")`, is the reduction (this library's own order, which no value of them can
    mean; a second positional argument beside it, that order's next option, is a TypeError, not
    PyTorch's `reduce`). Another keyword raises TypeError naming the loss. It prints as PyTorch's do, its name
    alone: `CrossEntropyLoss()`."""

    reductions = REDUCTIONS

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 **options: Any) -> None:
        super().__init__()
        where = type(self).__name__
        reduction = legacy_reduction(where, size_average, reduce, reduction, self.reductions)
        only_defaults(where, options, {})
        self.reduction = checked_reduction(where, reduction, self.reductions)


class KLDivLoss(_Loss):
    """`F.kl_div(input, target, reduction, log_target)`: the divergence of the log-probabilities `input`
    from the target distribution; `reduction="batchmean"` is the divergence per sample."""

    reductions = REDUCTIONS + ("batchmean",)

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False, **options: Any) -> None:
        super().__init__(size_average, reduce, reduction, **options)
        self.log_target = flag(log_target, "log_target", "KLDivLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MSELoss(_Loss):
    """`F.mse_loss(input, target)`: the squared error, averaged or summed over every element."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """`F.l1_loss(input, target)`: the absolute error, averaged or summed over every element."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """`F.smooth_l1_loss(input, target, beta=beta)`: squared error below `beta`, absolute beyond."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean", beta: float = 1.0,
                 **options: Any) -> None:
        super().__init__(size_average, reduce, reduction, **options)
        self.beta = non_negative_number(beta, "beta", "SmoothL1Loss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """`F.huber_loss(input, target, delta=delta)`: squared error below `delta`, delta times absolute beyond."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:   # (PyTorch's has no legacy pair)
        super().__init__(reduction=reduction)
        self.delta = positive_number(delta, "delta", "HuberLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber_loss(input, target, self.reduction, delta=self.delta)


class CTCLoss(_Loss):
    """`F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)`:
    the connectionist temporal classification loss of log-probabilities (T, N, C) against targets of
    other lengths, summed over every alignment (`functional/ctc.py` gives the recursion)."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)        # (PyTorch's has no legacy pair)
        if not is_int(blank) or blank < 0:
            raise ValueError(f"CTCLoss: blank must be an integer >= 0, got {blank!r}")
        self.blank = int(blank)
        self.zero_infinity = flag(zero_infinity, "zero_infinity", "CTCLoss")

    def forward(self, log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)


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


class _ClassLoss(_WeightedLoss):
    """A loss over class targets, with PyTorch's arguments in PyTorch's order: class weights `weight`
    (one per class, a buffer), and `ignore_index`: targets equal to it (padding, say) add nothing."""

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if not is_int(ignore_index):
            raise TypeError(f"{type(self).__name__}: ignore_index must be an integer, got {ignore_index!r}")
        self.ignore_index = ignore_index
        self._weights(weight=weight)


class CrossEntropyLoss(_ClassLoss):
    """`F.cross_entropy(input, target, weight, ...)`: logits (B, C), target classes (B,) or probabilities
    (B, C); `label_smoothing` mixes each target with the uniform one."""

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction)
        self.label_smoothing = probability(label_smoothing, "label_smoothing", "CrossEntropyLoss")

    def forward(self, input: Any, target: Any) -> Tensor:
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                             label_smoothing=self.label_smoothing)


class NLLLoss(_ClassLoss):
    """`F.nll_loss(input, target, weight, ...)`: log-probabilities (B, C), target classes (B,)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class NLLLoss2d(NLLLoss):
    """PyTorch's deprecated nn.NLLLoss2d: an `NLLLoss` (which takes (N, C, H, W) log-probabilities and (N, H, W)
    targets too), made with PyTorch's deprecation warning."""

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean") -> None:
        warnings.warn("NLLLoss2d has been deprecated. Please use NLLLoss instead as a drop-in replacement",
                      UserWarning, stacklevel=user_stacklevel())
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """`F.binary_cross_entropy_with_logits(input, target, weight, pos_weight=pos_weight)`: binary
    cross-entropy from logits, stable for any logit."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 pos_weight: Any = None, **options: Any) -> None:
        super().__init__(size_average, reduce, reduction, **options)
        self._weights(weight=weight, pos_weight=pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class BCELoss(_WeightedLoss):
    """`F.binary_cross_entropy(input, target, weight)`: binary cross-entropy from probabilities in [0, 1]."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 **options: Any) -> None:
        super().__init__(size_average, reduce, reduction, **options)
        self._weights(weight=weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


# ---- the margin losses (`functional/margin_losses.py`) and the likelihoods of a count and a sample ----

class MarginRankingLoss(_Loss):
    """`F.margin_ranking_loss(input1, input2, target, margin)`: max(0, -y (x1 - x2) + margin)."""

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = finite_number("MarginRankingLoss", "margin", margin)

    def forward(self, input1: Any, input2: Any, target: Any) -> Tensor:
        return margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """`F.hinge_embedding_loss(input, target, margin)`: x where y = 1, max(0, margin - x) where y = -1."""

    def __init__(self, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = finite_number("HingeEmbeddingLoss", "margin", margin)

    def forward(self, input: Any, target: Any) -> Tensor:
        return hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """`F.soft_margin_loss(input, target)`: log(1 + e^(-y x)), a smooth hinge."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """`F.cosine_embedding_loss(input1, input2, target, margin)`: 1 - cos where y = 1, max(0, cos - margin)
    where y = -1."""

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = finite_number("CosineEmbeddingLoss", "margin", margin)

    def forward(self, input1: Any, input2: Any, target: Any) -> Tensor:
        return cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """`F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap)`: max(0, margin + d(a, p)
    - d(a, n)) with the p-norm distance; margin > 0 (ValueError when made, as PyTorch's)."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        where = "TripletMarginLoss"
        self.margin = positive_margin(where, margin)
        self.p = argument(where, "p", p, lambda v: not math.isnan(v), "a number, not NaN")
        self.eps = finite_number(where, "eps", eps)
        self.swap = flag(swap, "swap", where)

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Tensor:
        return triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                   swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """`F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=...)`, its
    arguments keyword-only as PyTorch's; without a distance, `nn.PairwiseDistance()` (a child module,
    as in PyTorch)."""

    def __init__(self, *, distance_function: Callable | None = None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        where = "TripletMarginWithDistanceLoss"
        if distance_function is not None and not callable(distance_function):
            raise TypeError(f"{where}: distance_function must be callable (or None), got "
                            f"{type(distance_function).__name__}")
        self.margin = positive_margin(where, margin)
        self.swap = flag(swap, "swap", where)
        self.distance_function = PairwiseDistance() if distance_function is None else distance_function

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Tensor:
        return triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                 margin=self.margin, swap=self.swap, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """`F.multi_margin_loss(input, target, p, margin, weight)`: the multi-class hinge; p 1 or 2 and a 1-d
    `weight` (a buffer), else ValueError when made, as PyTorch's."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got p={p!r}")
        self.p = p
        self.margin = finite_number("MultiMarginLoss", "margin", margin)
        self._weights(weight=weight)
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: expected a 1-d weight, one per class, got shape {self.weight.shape}")

    def forward(self, input: Any, target: Any) -> Tensor:
        return multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                 reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """`F.multilabel_margin_loss(input, target)`: each label's score beats every other class's by 1
    (target: the label indices, ended by -1)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """`F.multilabel_soft_margin_loss(input, target, weight)`: a binary cross-entropy from logits per class,
    averaged over the classes; `weight` a buffer."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self._weights(weight=weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """`F.poisson_nll_loss(log_input, target, log_input, full, eps)`: the negative log-likelihood of counts
    under a Poisson rate, its arguments in PyTorch's order (`size_average` between `full` and `eps`)."""

    def __init__(self, log_input: bool = True, full: bool = False, size_average: Any = None, eps: float = 1e-8,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = flag(log_input, "log_input", "PoissonNLLLoss")
        self.full = flag(full, "full", "PoissonNLLLoss")
        self.eps = non_negative_number(eps, "eps", "PoissonNLLLoss")

    def forward(self, log_input: Any, target: Any) -> Tensor:
        return poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """`F.gaussian_nll_loss(input, target, var, full, eps)`: the negative log-likelihood of a sample under a
    Gaussian of the given mean and variance; keyword-only arguments, as PyTorch's (no legacy pair)."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full = flag(full, "full", "GaussianNLLLoss")
        self.eps = non_negative_number(eps, "eps", "GaussianNLLLoss")

    def forward(self, input: Any, target: Any, var: Any) -> Tensor:
        return gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)
