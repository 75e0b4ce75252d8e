"""Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.

Clipping never writes into a gradient array: each clipped parameter gets a new `.grad`.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ..checks import flag, is_finite_number
from ..spellings import either
from ..tensor import Tensor, get_default_dtype, owned
from . import options as check


def _tensors(params: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    """A single tensor, or an iterable of them (a generator is read once), as a list."""
    if isinstance(params, Tensor):
        return [params]
    try:
        tensors = list(iter(params))
    except TypeError:
        raise TypeError(f"{where}: expected a Tensor or an iterable of Tensors (such as "
                        f"model.parameters()), got {type(params).__name__}") from None
    for index, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            raise ValueError(f"{where}: expected an iterable of Tensors, item {index} is a {type(item).__name__}")
    return tensors


def _given(where: str, parameters: Any, params: Any) -> Any:
    """The parameters, given as `parameters=` (PyTorch's name), `params=` (the optimizers') or first."""
    parameters = either(where, "parameters", parameters, "params", params)
    if parameters is None:
        raise TypeError(f"{where}: missing the argument parameters (the tensors whose gradients to clip)")
    return parameters


def _norm_type(value: Any) -> float:
    """p as a float: a number >= 1, or inf (also given as the string 'inf', as float() reads it)."""
    p = math.inf if value in ("inf", "Inf") else value
    if isinstance(p, bool) or not (p == math.inf or (is_finite_number(p) and p >= 1)):
        raise ValueError(f"clip_grad_norm_: norm_type must be a number >= 1 or inf, got {value!r}")
    return float(p)


def vector_norm(values: np.ndarray, p: float) -> float:
    """The p-norm of all the numbers in `values`, in float64:

        ||x||_p   = (sum |x_i|^p)^(1/p)
        ||x||_inf = max |x_i|

    computed as m * (sum (|x_i| / m)^p)^(1/p), m = max |x_i|, so that a large p cannot overflow
    (for p = 2, the common case, straight from the squares in one pass when their sum is finite).
    A NaN anywhere gives NaN, an inf (and no NaN) inf; no numbers give 0.
    """
    if p == 2.0:
        squares = float(np.sum(np.square(values, dtype=np.float64)))
        if squares != math.inf:
            return math.sqrt(squares)
    magnitudes = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if magnitudes.size == 0:
        return 0.0
    if np.isnan(magnitudes).any():
        return math.nan
    largest = float(magnitudes.max())
    if p == math.inf or largest == 0.0 or largest == math.inf:
        return largest
    return largest * float(np.sum((magnitudes / largest) ** p)) ** (1.0 / p)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor] | None = None, max_norm: float | None = None,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None, *,
                    params: Tensor | Iterable[Tensor] | None = None) -> Tensor:
    """Scale all gradients together so that their joint p-norm is at most `max_norm`:

        total_norm = || (||grad_1||_p, ..., ||grad_n||_p) ||_p     (= the p-norm of all grads together)
        coef       = max_norm / (total_norm + 1e-6)
        grad       = grad * min(coef, 1)

    Returns `total_norm` (before clipping) as a 0-d Tensor in the gradients' dtype, as PyTorch:
    `f"{norm:.3f}"`, `norm.item()` and `float(norm)` give the number (0 when no parameter has a
    gradient; those without one are skipped). `norm_type` is p >= 1 or inf (max |grad|).
    `max_norm=inf` only measures. A NaN gradient makes the norm NaN and every gradient NaN; an
    infinite one makes the norm inf, the finite gradients 0 and the infinite elements NaN, unless
    `error_if_nonfinite=True`, which raises RuntimeError instead and changes nothing.
    (`params=` is accepted for `parameters=`, as the optimizers name them.)
    """
    where = "clip_grad_norm_"
    parameters = _given(where, parameters, params)
    if max_norm is None:
        raise TypeError(f"{where}: missing the argument max_norm")
    check.non_negative_or_inf(where, "max_norm", max_norm)
    p = _norm_type(norm_type)
    error_if_nonfinite = flag(error_if_nonfinite, "error_if_nonfinite", where)
    check.loop_choice(where, "foreach", foreach)          # (one loop here: any choice clips alike)
    with_grad = [t for t in _tensors(parameters, where) if t.grad is not None]
    dtype = np.result_type(*(t.grad.dtype for t in with_grad)) if with_grad else get_default_dtype()
    total_norm = vector_norm(np.array([vector_norm(t.grad, p) for t in with_grad]), p)
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(f"{where}: the total norm of order {norm_type} of the gradients is {total_norm}, "
                           "so they cannot be clipped; to scale them by it anyway (NaN or zeros), pass "
                           "error_if_nonfinite=False")
    coef = max_norm / (total_norm + 1e-6)
    if not coef >= 1.0:             # (coef is NaN when total_norm is)
        for t in with_grad:
            t.grad = t.grad * coef
    return owned(np.array(total_norm, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor] | None = None, clip_value: float | None = None,
                     foreach: bool | None = None, *, value: float | None = None,
                     params: Tensor | Iterable[Tensor] | None = None) -> None:
    """Clip every gradient elementwise to [-clip_value, clip_value]; parameters without one are skipped.
    (`value=` is this library's earlier name of `clip_value`, still accepted; `params=` is accepted
    for `parameters=`.)"""
    parameters = _given("clip_grad_value_", parameters, params)
    clip_value = either("clip_grad_value_", "clip_value", clip_value, "value", value)
    if clip_value is None:
        raise TypeError("clip_grad_value_: missing the argument clip_value")
    check.non_negative_or_inf("clip_grad_value_", "clip_value", clip_value)
    check.loop_choice("clip_grad_value_", "foreach", foreach)
    for t in _tensors(parameters, "clip_grad_value_"):
        if t.grad is not None:
            t.grad = np.clip(t.grad, -clip_value, clip_value)
