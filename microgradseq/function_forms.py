"""PyTorch's function forms of the tensor methods: `mg.tanh(x)` is `x.tanh()`, `mg.split(x, 2)` is
`x.split(2)`, and so on; `x` may also be a numpy array or a number (a constant).

Two differ from the methods as PyTorch's do: `mg.max(x, 1)` and `mg.min(x, 1)`
return the pair (values, indices), as `x.max(dim=1)` does (the method's
positional argument is numpy's axis: `x.max(1)` returns the values), and
`mg.max(x, y)` with a tensor `y` is the elementwise maximum.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import ops
from .promotion import result_type
from .tensor import Tensor, as_tensor


# methods whose op takes a number on either side
_SCALAR_FIRST = {"add", "sub", "mul", "div", "pow", "floor_divide", "remainder", "subtract", "multiply", "divide"}


# PyTorch's name of the 2nd argument, where a call may give it by keyword (`torch.tile(x, dims=(2,))`)
_FIRST_KEYWORD = {"pow": "exponent", "mul": "other", "multiply": "other", "matmul": "other", "floor_divide": "other",
                  "remainder": "other", "reshape": "shape", "permute": "dims", "tile": "dims"}


_INPUT_KEYWORD = {"split": "tensor"}


def _form(name: str) -> Callable:
    method = getattr(Tensor, name)

    def function(*args: Any, **kwargs: Any) -> Any:
        first = _INPUT_KEYWORD.get(name, "input")   # torch.split(tensor=...): PyTorch's name for the input
        if args:
            input, args = args[0], args[1:]
        elif first in kwargs:
            input = kwargs.pop(first)
        else:
            raise TypeError(f"{name}() missing 1 required positional argument: {first!r}")
        if not args and _FIRST_KEYWORD.get(name) in kwargs:       # torch.pow(x, exponent=2): passed on by position
            args = (kwargs.pop(_FIRST_KEYWORD[name]),)
        if name in _SCALAR_FIRST and args and isinstance(args[0], Tensor) and not isinstance(input, Tensor):
            return method(input, *args, **kwargs)       # mg.sub(1, t) is 1 - t: the scalar takes t's dtype
        return method(as_tensor(input, where=name), *args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`mg.{name}(x, ...)` is `x.{name}(...)`. " + (method.__doc__ or "")
    return function


def _pairwise(name: str, a: Tensor, b: Tensor) -> Tensor:
    """max(a, b) (or min) elementwise, as PyTorch's: the gradient to the larger (smaller) one, split
    half and half at a tie; NaN where either is NaN, with the gradient to both. Integers and bools
    keep their dtype (they have no gradient); operands of two dtypes are first promoted as PyTorch's (a float16
    tensor and an int64 one: float16). A complex operand is a TypeError, as PyTorch's."""
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        got = f"dtype {a.dtype}" if a.dtype is b.dtype else f"dtypes {a.dtype} and {b.dtype}"
        raise TypeError(f"{name}imum: not implemented for complex tensors, as in PyTorch (got {got})")
    if a.dtype is not b.dtype:
        dtype = result_type(a, b)
        a, b = (x if x.dtype == dtype else ops.astype(x, dtype) for x in (a, b))
    try:
        first_wins, second_wins = (a > b, a < b) if name == "max" else (a < b, a > b)
    except ValueError:          # (named here: the comparison would name gt or lt)
        raise ValueError(f"{name}imum: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    if a.dtype.kind not in "fc" and b.dtype.kind not in "fc":
        return ops.where(second_wins._data, b, a)
    tie = ops.add(ops.mul(a, 0.5), ops.mul(b, 0.5))
    neither = ops.where((a == b)._data, tie, ops.add(a, b))         # a tie, or a NaN (then a + b is NaN)
    return ops.where(first_wins._data, a, ops.where(second_wins._data, b, neither))


def _extreme(name: str) -> Callable:
    def function(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
        x = as_tensor(input, where=name)
        if other is not None:                   # torch.max(input, other=y), PyTorch's keyword
            dim = as_tensor(other, where=name)
        if isinstance(dim, Tensor):             # mg.max(x, y): elementwise
            return _pairwise(name, x, dim)
        return getattr(x, name)() if dim is None else getattr(x, name)(dim=dim, keepdim=keepdim)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"The {name}imum of all entries; with `dim`, the pair (values, indices) along it; with a "
                        f"tensor second, the elementwise {name}imum (NaN where either is; a tie's gradient "
                        "split between the two).")
    return function


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def from_numpy(array: Any) -> Tensor:
    """A tensor of the array's values and dtype (a copy: arrays here are read-only)."""
    return Tensor(array, dtype=getattr(array, "dtype", None))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """|input - other| <= atol + rtol |other| at every entry (broadcasting), as torch.allclose."""
    a, b = as_tensor(input, where="allclose")._data, as_tensor(other, where="allclose")._data
    try:
        return bool(np.allclose(a, b, rtol, atol, equal_nan))
    except ValueError:
        raise ValueError(f"allclose: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each entry of `elements` is one of `test_elements` (a bool tensor of elements' shape), as
    torch.isin; either may be a number; `invert=True` gives the opposite; no gradient (numpy's isin)."""
    a = as_tensor(elements, where="isin")._data
    b = as_tensor(test_elements, where="isin")._data
    return as_tensor(np.isin(a, b, assume_unique=bool(assume_unique), invert=bool(invert)))


def msort(input: Any) -> Tensor:
    """input sorted along its first axis, as torch.msort: `mg.sort(input, dim=0).values` (its gradient)."""
    return as_tensor(input, where="msort").sort(dim=0)[0]


abs, exp, log, sqrt, tanh, sigmoid, relu, clamp, clip, pow, sin, cos, round = map(
    _form, ("abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "clamp", "clip", "pow", "sin", "cos", "round"))
add, sub, mul, div, matmul, mm, bmm = map(_form, ("add", "sub", "mul", "div", "matmul", "mm", "bmm"))
eq, ne, lt, le, gt, ge = map(_form, ("eq", "ne", "lt", "le", "gt", "ge"))
multiply, subtract, divide = map(_form, ("multiply", "subtract", "divide"))     # PyTorch's aliases of mul, sub, div
greater, greater_equal, less, less_equal, not_equal = map(                         # and of gt, ge, lt, le, ne
    _form, ("greater", "greater_equal", "less", "less_equal", "not_equal"))
clone = _form("clone")      # torch.clone(input, *, memory_format=...)
tile = _form("tile")        # torch.tile(input, dims): repeat with dims padded by leading ones
sum, mean, norm, argmax, argmin, softmax, log_softmax, topk, numel = map(
    _form, ("sum", "mean", "norm", "argmax", "argmin", "softmax", "log_softmax", "topk", "numel"))
max, min = _extreme("max"), _extreme("min")


def maximum(input: Any, other: Any) -> Tensor:
    """The elementwise maximum of input and other (broadcast), as torch.maximum, `mg.max(input, other)`:
    dL/dinput = g where input > other, g / 2 at a tie, 0 where input < other (other's likewise); where
    either is NaN the value is NaN and each gets g, as PyTorch's derivative (no comparison holds there)."""
    return _pairwise("max", as_tensor(input, where="maximum"), as_tensor(other, where="maximum"))


def minimum(input: Any, other: Any) -> Tensor:
    """The elementwise minimum of input and other (broadcast), as torch.minimum, `mg.min(input, other)`."""
    return _pairwise("min", as_tensor(input, where="minimum"), as_tensor(other, where="minimum"))


Tensor.maximum, Tensor.minimum = maximum, minimum       # t.maximum(u), as PyTorch's methods
equal = _form("equal")
all_of, any_of = _form("all"), _form("any")     # torch.all and torch.any (`mg.all`: not Python's all here)
reshape, transpose, permute, movedim, squeeze, unsqueeze, flatten, t = map(
    _form, ("reshape", "transpose", "permute", "movedim", "squeeze", "unsqueeze", "flatten", "t"))
swapaxes, swapdims = map(_form, ("swapaxes", "swapdims"))        # torch.swapaxes (d2l's RNNLM)
unflatten = _form("unflatten")                  # torch.unflatten(input, dim, sizes)
narrow, split, chunk, unbind, index_select, gather, masked_fill, flip = map(
    _form, ("narrow", "split", "chunk", "unbind", "index_select", "gather", "masked_fill", "flip"))
masked_select, floor_divide, remainder = map(_form, ("masked_select", "floor_divide", "remainder"))
sort, argsort, repeat_interleave = map(_form, ("sort", "argsort", "repeat_interleave"))
var, std, cumsum, logsumexp, erf, tril, triu, roll = map(
    _form, ("var", "std", "cumsum", "logsumexp", "erf", "tril", "triu", "roll"))
scatter, index_fill, nonzero, unique = map(_form, ("scatter", "index_fill", "nonzero", "unique"))
diag = _form("diag")                            # torch.diag (the Jacobians of torch.func's examples)
amax, amin, square, rsqrt, isnan, isinf, isfinite, is_floating_point = map(
    _form, ("amax", "amin", "square", "rsqrt", "isnan", "isinf", "isfinite", "is_floating_point"))
dot, bincount = map(_form, ("dot", "bincount"))
logical_and, logical_or, logical_xor, logical_not = map(
    _form, ("logical_and", "logical_or", "logical_xor", "logical_not"))
cosh, sinh, sign, clamp_min, clamp_max = map(_form, ("cosh", "sinh", "sign", "clamp_min", "clamp_max"))
neg, negative, absolute = map(_form, ("neg", "negative", "absolute"))     # torch.neg, its alias, abs's alias
nan_to_num = _form("nan_to_num")                # torch.nan_to_num (an RTRL's sensitivities kept finite)
prod, cumprod, nansum, count_nonzero, diff, take_along_dim = map(
    _form, ("prod", "cumprod", "nansum", "count_nonzero", "diff", "take_along_dim"))
outer, ger, addmm, addcmul, addcdiv, logaddexp, isclose = map(
    _form, ("outer", "ger", "addmm", "addcmul", "addcdiv", "logaddexp", "isclose"))
index_add, index_copy, scatter_add, scatter_reduce = map(
    _form, ("index_add", "index_copy", "scatter_add", "scatter_reduce"))     # (ops/scattering.py)
moveaxis = _form("moveaxis")                    # torch.moveaxis, movedim's alias
cummax, cummin, median, nanmedian, kthvalue, mode, quantile, nanquantile, aminmax = map(
    _form, ("cummax", "cummin", "median", "nanmedian", "kthvalue", "mode", "quantile", "nanquantile", "aminmax"))
argwhere, unique_consecutive = map(_form, ("argwhere", "unique_consecutive"))
take, put, index_put, masked_scatter, nanmean = map(
    _form, ("take", "put", "index_put", "masked_scatter", "nanmean"))     # (ops/scattering.py, ops/reduce.py)


def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """torch.lerp(input, end, weight) (minGRU's sequential step): `ops.lerp` under PyTorch's names,
    input + weight * (end - input), so that a number or numpy array in any place takes the dtype of
    the tensors beside it, as in the op."""
    return ops.lerp(input, end, weight)
