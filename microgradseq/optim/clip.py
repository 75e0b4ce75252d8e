"""Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`, and the two steps of
`clip_grad_norm_`, `get_total_norm` and `clip_grads_with_norm_` (PyTorch's `nn.utils` spellings).

Clipping never writes into a gradient array: each clipped parameter gets a new `.grad`.
"""

from __future__ import annotations

import math
import types
import warnings
from typing import Any, Iterable

import numpy as np

from ..checks import flag, is_finite_number, user_stacklevel
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


def _norm_type(value: Any, where: str) -> float:
    """p as a float: a number > 0 (below 1 (sum |x_i|^p)^(1/p) is no norm, but PyTorch computes it, and its
    test_clip_grad_norm takes 0.5), or inf (also given as the string 'inf', as float() reads it)."""
    p = math.inf if value in ("inf", "Inf") else value
    if isinstance(p, bool) or not (p == math.inf or (is_finite_number(p) and p > 0)):
        raise ValueError(f"{where}: norm_type must be a number > 0 or inf, got {value!r}")
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
        with np.errstate(over="ignore"):                     # (then from the largest, below)
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


def _gradients(tensors: Any, where: str) -> list[np.ndarray]:
    """get_total_norm's tensors: a Tensor or an array (a `.grad` is one here), or an iterable of them."""
    if isinstance(tensors, (Tensor, np.ndarray)):
        tensors = [tensors]
    try:
        items = list(iter(tensors))
    except TypeError:
        raise TypeError(f"{where}: expected a Tensor or an iterable of Tensors or gradient arrays (such as "
                        f"[p.grad for p in model.parameters()]), got {type(tensors).__name__}") from None
    for index, item in enumerate(items):
        if not isinstance(item, (Tensor, np.ndarray)):
            raise TypeError(f"{where}: expected Tensors or gradient arrays, item {index} is a {type(item).__name__}")
        if item.dtype.kind not in "fc":            # (an integer norm would be cut: [1, 1] would give 1)
            raise TypeError(f"{where}: expected floating-point Tensors or gradient arrays, item {index} has dtype "
                            f"{item.dtype}")
    return [item._data if isinstance(item, Tensor) else item for item in items]


def _dtype(grads: list[np.ndarray]) -> np.dtype:
    """The dtype of a total norm: the gradients' (promoted), or the default dtype for none."""
    return np.result_type(*(g.dtype for g in grads)) if grads else get_default_dtype()


def _total_norm(grads: list[np.ndarray], p: float, norm_type: Any, error_if_nonfinite: bool, where: str) -> float:
    """|| (||g_1||_p, ..., ||g_n||_p) ||_p in float64; RuntimeError if it is not finite and
    `error_if_nonfinite`."""
    total = vector_norm(np.array([vector_norm(g, p) for g in grads]), p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{where}: the total norm of order {norm_type} of the gradients is {total}, "
                           "so they cannot be clipped; to scale them by it anyway (NaN or zeros), pass "
                           "error_if_nonfinite=False")
    return total


def _scale(with_grad: list[Tensor], max_norm: float, total_norm: float) -> None:
    """grad <- grad * min(max_norm / (total_norm + 1e-6), 1) for each tensor (a new array each)."""
    coef = max_norm / (total_norm + 1e-6)
    if not coef >= 1.0:             # (coef is NaN when total_norm is)
        with np.errstate(invalid="ignore"):                  # (inf * 0 is NaN, as PyTorch's, silently)
            for t in with_grad:
                t.grad = t.grad * coef


def get_total_norm(tensors: Tensor | np.ndarray | Iterable, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The p-norm of all the numbers of `tensors` together, as `torch.nn.utils.get_total_norm`:

        total_norm = || (||t_1||_p, ..., ||t_n||_p) ||_p

    a 0-d Tensor in their dtype (0 in the default dtype for none). `tensors` are usually gradients:
    `get_total_norm([p.grad for p in params if p.grad is not None])` (arrays here, Tensors too).
    `error_if_nonfinite=True`: RuntimeError if the norm is NaN or inf."""
    where = "get_total_norm"
    grads = _gradients(tensors, where)
    p = _norm_type(norm_type, where)
    error_if_nonfinite = flag(error_if_nonfinite, "error_if_nonfinite", where)
    check.loop_choice(where, "foreach", foreach)
    return owned(np.array(_total_norm(grads, p, norm_type, error_if_nonfinite, where), dtype=_dtype(grads)))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor | float,
                          foreach: bool | None = None) -> None:
    """Scale every gradient by min(max_norm / (total_norm + 1e-6), 1), given the total norm (from
    `get_total_norm`), as `torch.nn.utils.clip_grads_with_norm_`: `clip_grad_norm_` in two steps."""
    where = "clip_grads_with_norm_"
    check.non_negative_or_inf(where, "max_norm", max_norm)
    if isinstance(total_norm, Tensor) and total_norm._data.size == 1:
        total_norm = float(total_norm._data)
    elif isinstance(total_norm, bool) or not isinstance(total_norm, (int, float, np.floating, np.integer)):
        raise TypeError(f"{where}: total_norm must be a one-element Tensor (get_total_norm's) or a number, got "
                        f"{total_norm!r:.60}")
    check.loop_choice(where, "foreach", foreach)
    _scale([t for t in _tensors(parameters, where) if t.grad is not None], max_norm, float(total_norm))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor] | None = None, max_norm: float | None = None,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None, *,
                    params: Tensor | Iterable[Tensor] | None = None) -> Tensor:
    """Scale all gradients together so that their joint p-norm is at most `max_norm`:

        total_norm = || (||grad_1||_p, ..., ||grad_n||_p) ||_p     (= the p-norm of all grads together)
        coef       = max_norm / (total_norm + 1e-6)
        grad       = grad * min(coef, 1)

    Returns `total_norm` (before clipping) as a 0-d Tensor in the gradients' dtype, as PyTorch:
    `f"{norm:.3f}"`, `norm.item()` and `float(norm)` give the number (0 when no parameter has a
    gradient; those without one are skipped). `norm_type` is p > 0 or inf (max |grad|).
    `max_norm=inf` only measures a finite norm (inf / inf is NaN: an infinite or NaN norm makes
    every gradient NaN, as PyTorch's). A NaN gradient makes the norm NaN and every gradient NaN; an
    infinite one makes the norm inf, the finite gradients 0 and the infinite elements NaN, unless
    `error_if_nonfinite=True`, which raises RuntimeError instead and changes nothing. An empty
    generator warns, as PyTorch's. (`params=` is accepted for `parameters=`, as the optimizers name them.)
    """
    where = "clip_grad_norm_"
    parameters = _given(where, parameters, params)
    if max_norm is None:
        raise TypeError(f"{where}: missing the argument max_norm")
    check.non_negative_or_inf(where, "max_norm", max_norm)
    p = _norm_type(norm_type, where)
    error_if_nonfinite = flag(error_if_nonfinite, "error_if_nonfinite", where)
    check.loop_choice(where, "foreach", foreach)          # (one loop here: any choice clips alike)
    tensors = _tensors(parameters, where)
    if not tensors and isinstance(parameters, types.GeneratorType):
        warnings.warn("clip_grad_norm_: `parameters` is an empty generator, no gradient clipping will occur "
                      "(a generator such as model.parameters() can be read only once)", UserWarning,
                      stacklevel=user_stacklevel())
    with_grad = [t for t in tensors if t.grad is not None]
    grads = [t.grad for t in with_grad]
    total_norm = _total_norm(grads, p, norm_type, error_if_nonfinite, where)
    _scale(with_grad, max_norm, total_norm)
    return owned(np.array(total_norm, dtype=_dtype(grads)))


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """PyTorch's deprecated spelling of `clip_grad_norm_` (a FutureWarning, as PyTorch's)."""
    warnings.warn("`clip_grad_norm` is deprecated in favor of `clip_grad_norm_`", FutureWarning,
                  stacklevel=user_stacklevel())
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


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
