"""How a loss reads its arguments and reduces its per-element losses, for every loss here:
`reduction=` ("mean", "sum", "none"; PyTorch's deprecated `size_average=` and `reduce=` too),
targets as tensors (a target keeps its gradient, as PyTorch's), weights as constant arrays."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..checks import flag, user_stacklevel
from ..tensor import Tensor, array_of, owned

REDUCTIONS = ("mean", "sum", "none")      # what `reduction=` may be (the loss modules check it too)


def legacy_reduction(where: str, size_average: Any, reduce: Any, reduction: str,
                     allowed: tuple = REDUCTIONS) -> str:
    """`reduction`, or the one PyTorch's deprecated `size_average=` and `reduce=` stand for, with
    PyTorch's warning: both None (their default) leave `reduction` as it is; else reduce=False is
    "none", size_average=False "sum", and both True (or None) "mean". A reduction string (one of
    `allowed`) in size_average's place is the reduction; a `reduce` beside it is a TypeError (the
    library's older order put the loss's next option there: `KLDivLoss("sum", True)` meant
    log_target=True, which must not silently become reduce=True, "mean")."""
    given = size_average
    size_average, reduction = reduction_in_place_of(where, "size_average", size_average, reduction, allowed)
    if size_average is None and given is not None and reduce is not None:
        raise TypeError(f"{where}: reduce={reduce!r} given with the reduction {given!r} in size_average's place; "
                        f"PyTorch's order is (size_average, reduce, reduction): pass reduction={given!r} by keyword")
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else flag(size_average, "size_average", where)
    reduce = True if reduce is None else flag(reduce, "reduce", where)
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{legacy}' instead.",
                  UserWarning, stacklevel=user_stacklevel())
    return legacy


def reduction_in_place_of(where: str, name: str, value: Any, reduction: str,
                          allowed: tuple = REDUCTIONS) -> tuple[Any, str]:
    """(value, reduction); or (None, value) for a reduction string (one of `allowed`) given in the
    place of PyTorch's `name` (weight, size_average): this library's own order, `mse_loss(pred,
    target, "sum")`, which no value of `name` can mean. TypeError naming `where` when `reduction=`
    is given as well."""
    if not (isinstance(value, str) and value in allowed):
        return value, reduction
    if reduction != "mean":
        raise TypeError(f"{where}: a reduction given twice, {value!r} in {name}'s place and reduction={reduction!r}")
    return None, value


def checked_reduction(where: str, reduction: Any, allowed: tuple = REDUCTIONS) -> str:
    """`reduction`, or TypeError naming `where` for what is not a string and ValueError for another
    string."""
    if not isinstance(reduction, str):
        raise TypeError(f"{where}: reduction must be one of {allowed}, got {type(reduction).__name__} "
                        f"{reduction!r:.40}")
    if reduction not in allowed:
        raise ValueError(f"{where}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def reduce_losses(losses: Tensor, reduction: str, name: str) -> Tensor:
    """Per-element `losses` as `reduction` says: "mean" (NaN for none at all, as PyTorch's), "sum", "none"."""
    checked_reduction(name, reduction)
    if reduction == "mean":
        if not losses._data.size:      # the mean of nothing: NaN, as PyTorch's, without numpy's warning
            return losses.sum() + owned(np.full((), np.nan, losses.dtype))
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses                       # "none"


def as_target(target: Any, dtype: np.dtype, where: str, name: str = "target") -> Tensor:
    """A target of probabilities (or of any numbers) as a tensor of `dtype`: a tensor keeps its
    gradient, as PyTorch's targets do (a target made by the model gets dL/dtarget); an array or
    numbers are a constant. TypeError naming `where` (and the argument by `name`) for what is not
    numbers."""
    if isinstance(target, Tensor) and target.dtype.kind in "biuf":
        return target.to(dtype)
    return owned(constant(target, dtype, name, where))


def constant(value: Any, dtype: np.dtype, name: str, where: str) -> np.ndarray:
    """A tensor's values (no gradient reaches it), an array or numbers, as an array of `dtype`;
    TypeError naming `where` and `name` for what is not numbers."""
    try:
        array = array_of(value)
        if array.dtype.kind not in "biuf":
            raise TypeError
        return array.astype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected {name} as a tensor of numbers, got {type(value).__name__}") from None


def constant_weight(value: Any, dtype: np.dtype, name: str, where: str) -> np.ndarray:
    """A loss's weight (`weight`, `pos_weight`) as a constant array of `dtype`; RuntimeError naming
    `where` for a tensor that requires grad: the loss is not differentiable in it, as in PyTorch."""
    if isinstance(value, Tensor) and value.requires_grad:
        raise RuntimeError(f"{where}: not differentiable with respect to {name}, so {name} cannot require grad, "
                           f"as in PyTorch (pass {name}.detach())")
    return constant(value, dtype, name, where)
