"""PyTorch's in-place methods of the ops that have a method: `t.exp_()`, `x.neg_()`, `w.sqrt_()`,
`t.pow_(2)`, `m.tril_()`, `t.cumsum_(0)`, ... Each is `t.<op>(...)` taken in place, with the rules
of `t += u` (`Tensor._in_place`): t keeps its shape and dtype (a result of another dtype kind, a float
from an integer tensor, is a TypeError); under `no_grad()` it gets a new array and stays what it was
(a leaf stays a leaf); while recording it takes the result's history, so the gradient goes through
the op, except on a leaf that requires grad (RuntimeError: its gradient would have nowhere to go).
A comparison or a logical op in place (`t.lt_(u)`) writes its booleans in t's dtype, as PyTorch's.
`t.apply_(fn)` and `t.map_(u, fn)` take a Python function of the entries, in place with the same rules.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor, as_tensor, owned


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

# addcmul_ and addcdiv_ are arithmetic.py's, which also read PyTorch's deprecated form with the number first
_OWN_METHOD = {"addcdiv", "addcmul"}

for _name in IN_PLACE:
    if _name not in _OWN_METHOD:
        setattr(Tensor, _name + "_", in_place(_name + "_", _method(_name)))


def _entrywise(name: str, self: Tensor, function: Any, values: Callable) -> Tensor:
    """self taking function(*entries) at each position (`values(t)` gives the arrays of entries, t as self
    holds it now), with the rules of `t += u`. Refused (RuntimeError) on a tensor that requires grad, as
    PyTorch's: a Python function has no derivative to record."""
    if not callable(function):
        raise TypeError(f"{name}: expected a callable, got {type(function).__name__}")
    if self.requires_grad:
        raise RuntimeError(f"{name}: cannot call {name}() on a tensor that requires grad (a Python function "
                           f"has no gradient); use t.detach().{name}(...)")

    def combine(t: Tensor, _: None) -> Tensor:
        results = [function(*entries) for entries in zip(*(array.ravel().tolist() for array in values(t)))]
        array = np.array(results) if results else np.zeros(0, t.dtype)
        if array.dtype.kind not in "biufc" or array.shape != (t._data.size,):
            raise TypeError(f"{name}: expected the callable to return a number for each entry, got "
                            f"{type(results[0]).__name__} {results[0]!r:.40}")
        return owned(array.reshape(t.shape))
    return self._in_place(name, combine, None)


def apply_(self: Tensor, callable: Any) -> Tensor:
    """PyTorch's `t.apply_(fn)`: each entry x becomes fn(x) (a Python number in, a number out), in place
    with the rules of `t += u`; a loop in Python, for small tensors, as PyTorch's (CPU only there)."""
    return _entrywise("apply_", self, callable, lambda t: (t._data,))


def map_(self: Tensor, tensor: Any, callable: Any) -> Tensor:
    """PyTorch's `t.map_(u, fn)`: each entry x of t becomes fn(x, y), y the entry of u (broadcast to t's
    shape) at its position, in place with the rules of `t += u`; refused when either requires grad."""
    other = as_tensor(tensor)
    if other.requires_grad:
        raise RuntimeError("map_: cannot call map_() on a tensor that requires grad (a Python function has no "
                           "gradient); use u.detach()")
    try:
        fits = np.broadcast_shapes(other.shape, self.shape) == self.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"map_: the tensor of shape {other.shape} does not broadcast to t's shape {self.shape}")
    return _entrywise("map_", self, callable, lambda t: (t._data, np.broadcast_to(other._data, t.shape)))


Tensor.apply_, Tensor.map_ = apply_, map_
