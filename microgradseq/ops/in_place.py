"""PyTorch's in-place methods of the ops that have a method: `t.exp_()`, `x.neg_()`, `w.sqrt_()`,
`t.pow_(2)`, `m.tril_()`, `t.cumsum_(0)`, ... Each is `t.<op>(...)` taken in place, with the rules
of `t += u` (`Tensor._in_place`): t keeps its shape and dtype (a result of another dtype kind, a float
from an integer tensor, is a TypeError); under `no_grad()` it gets a new array and stays what it was
(a leaf stays a leaf); while recording it takes the result's history, so the gradient goes through
the op, except on a leaf that requires grad (RuntimeError: its gradient would have nowhere to go).
A comparison or a logical op in place (`t.lt_(u)`) writes its booleans in t's dtype, as PyTorch's.
"""

from __future__ import annotations

from typing import Any, Callable

from ..tensor import Tensor


def in_place(name: str, op: Callable) -> Callable:
    """The method `t.name(...)`: t takes op(t, ...), with the rules of `t += u` (see above)."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._in_place(name, lambda t, _: op(t, *args, **kwargs), None)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"`t.{name[:-1]}(...)` in place, with the rules of `t += u`; returns t."
    return method


def _method(name: str) -> Callable:
    """t.name(...), looked up at the call (some methods are given to Tensor after this module runs)."""
    return lambda t, *args, **kwargs: getattr(t, name)(*args, **kwargs)


# PyTorch's in-place methods (its Tensor docs; aten/src/ATen/native/native_functions.yaml) of the
# methods Tensor has; shape changes (`swapaxes_`) are methods.py's, the others' (`atan2_`, `clamp_`,
# `add_`, `masked_fill_`, ...) are beside their ops
IN_PLACE = ("abs", "neg", "negative", "sign", "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log2", "log10",
            "log1p", "sin", "cos", "tanh", "sinh", "cosh", "sigmoid", "relu", "erf", "round", "nan_to_num",
            "absolute", "reciprocal", "floor", "ceil", "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan",
            "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "deg2rad", "rad2deg",
            "pow", "remainder", "floor_divide", "clamp_min", "clamp_max",
            "addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr", "baddbmm",
            "cumsum", "cumprod", "tril", "triu", "renorm",
            "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not")

for _name in IN_PLACE:
    setattr(Tensor, _name + "_", in_place(_name + "_", _method(_name)))
