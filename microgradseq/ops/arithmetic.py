"""PyTorch's names for arithmetic beyond the operators: the extremes `t.min()`, `t.max(dim)`, `t.amax`,
`t.amin`; `t.square()`, `t.rsqrt()`; `t.clamp` (and `t.clamp_min`, `t.clamp_max`); `t.add(u, alpha=)`,
`t.sub(u, alpha=)`, `t.div(u, rounding_mode=)`; the in-place `t.add_(u)`, `t.sub_`, `t.mul_`, `t.div_`
and `t.copy_(u)`; `t.mm` and `t.bmm` (matmul of matrices, of batches of one size); the products and
differences `t.outer(u)` (`t.ger`), `t.addmm`, `t.addcmul`, `t.addcdiv`, `t.diff`; and PyTorch's other
names for elementwise ops (`t.pow`, `t.log10`, ...).

None needs a rule of its own: each is written with the primitives of `elementwise.py` and
`reduce.py` (`min` is -max(-x), `square` and `rsqrt` are powers, `clamp` is `clip` or `where`,
alpha a `mul`, `diff` slices and a `sub`), and the in-place methods follow the rules of `t += u`
(`Tensor._in_place`): the tensor takes the result, and while recording its history too.
"""

from __future__ import annotations

import builtins
import math
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from ..checks import broadcasts_to, broadcasts_with, is_int, no_bool_kernel, public_name, user_stacklevel
from ..promotion import result_type, tensors_dtype
from ..spellings import also_by_keyword, axis_keepdims
from ..tensor import Tensor, as_tensor, owned
from . import elementwise as ew
from .assign import number_for
from . import reduce
from .reduce import ValuesIndices
from .linalg import matmul
from .methods import _axis, to
from .shape import _along, concat, getitem, reshape


def min(self: Tensor, axis: Any = None, keepdims: bool | None = None, *, dim: Any = None,
        keepdim: bool | None = None) -> Tensor | ValuesIndices:
    """The minimum, -max(-x), over `axis` (all by default); with `dim=`, PyTorch's pair (values, indices).
    (Integers and bools, which have no gradient, straight from numpy: -x would wrap an unsigned one.)"""
    if self.dtype.kind not in "fc":
        axis, keep = axis_keepdims("min", axis, keepdims, dim, keepdim)
        try:
            values = owned(np.asarray(np.min(self._data, axis=axis, keepdims=keep)))
        except ValueError:      # (numpy's "zero-size array to reduction operation minimum", named here)
            raise ValueError(f"min: no minimum over an empty axis (shape {self.shape}, axis {axis!r})") from None
        if dim is None:
            return _with_indices(values, self, axis, keep, "min") if is_int(axis) else values
        return ValuesIndices(values, owned(np.argmin(self._data, axis=axis, keepdims=keep).astype(np.int64)))
    axis, keep = axis_keepdims("min", axis, keepdims, dim, keepdim)
    if dim is not None:
        return reduce.extreme_and_index(self, axis, keep, "min")
    try:
        values = ew.neg(reduce.max(ew.neg(self), axis, keep))
    except ValueError as error:     # (max's errors, "max: no maximum over an empty axis ...", named for min)
        raise ValueError(str(error).replace("max: ", "min: ", 1).replace("maximum", "minimum")) from None
    return _with_indices(values, self, axis, keep, "min") if is_int(axis) else values


def max_of(self: Tensor, axis: Any = None, keepdims: bool | None = None, *, dim: Any = None,
           keepdim: bool | None = None) -> Tensor | ValuesIndices:
    """`reduce.max` as a method: over one axis given by position (`t.max(1)`) the values, which also
    answer to `.values` and `.indices` (`reduce.ExtremesAlong`); with `dim=`, PyTorch's pair."""
    values = reduce.max(self, axis, keepdims, dim=dim, keepdim=keepdim)
    if dim is not None or not is_int(axis):
        return values
    return _with_indices(values, self, axis, values.ndim == self.ndim, "max")


def _with_indices(values: Tensor, x: Tensor, axis: int, keepdim: bool, which: str) -> reduce.ExtremesAlong:
    """t.max(d)'s (or t.min(d)'s) values, answering also to `.values` and `.indices`."""
    indices = (np.argmax if which == "max" else np.argmin)(x._data, axis=axis, keepdims=keepdim)
    return reduce.extremes_along(values, (x, axis, keepdim, which), np.asarray(indices), which)


def amax(self: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The largest entry over `dim` (an axis, a tuple, or `()` for all), as torch.amax: the values
    only, and the gradient shared equally between ties (`max` over `axis=`)."""
    return reduce.max(self, reduce.reduced_axes("amax", dim, self.shape), keepdim)


def amin(self: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The smallest entry over `dim`, as torch.amin (see `amax`)."""
    return min(self, reduce.reduced_axes("amin", dim, self.shape), keepdim)


def square(self: Tensor) -> Tensor:
    """x^2, as torch.square: `x ** 2`;   d/dx = 2x"""
    return ew.power(self, 2)


def rsqrt(self: Tensor) -> Tensor:
    """1 / sqrt(x), as torch.rsqrt: `x ** -0.5`;   d/dx = -x^(-3/2) / 2"""
    return ew.power(self, -0.5)


def _constant_bound(value: Any) -> Any:
    """A bound given as a numpy array is a constant, as every operand is: a 0-d one its number, any other
    a tensor (broadcast against x as a tensor bound is; numpy's clip takes arrays too)."""
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else as_tensor(value)
    return value


def _check_bound(name: str, value: Any) -> None:
    """TypeError naming clamp unless a bound is a real number (not a bool), a tensor or None."""
    if value is not None and not isinstance(value, Tensor) and (
            isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))):
        raise TypeError(f"clamp: {name} must be a number, a tensor or None, got {type(value).__name__} "
                        f"{value!r:.60}")


def clamp(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """min(max(self, min), max): `clip` under PyTorch's names; with a tensor bound (broadcast),
    `clamp_max(clamp_min(self, min), max)`, so each bound gets the gradient where it is taken. At least one
    bound must be given, as PyTorch's ("At least one of 'min' or 'max' must not be None"). A bool tensor
    between bool tensor bounds is a TypeError (PyTorch's clamp has no bool kernel; one bound alone is
    its maximum or minimum, which has; number bounds promote it, as PyTorch's: int64 for ints)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given, got neither (as PyTorch's clamp)")
    min, max = _constant_bound(min), _constant_bound(max)
    _check_bound("min", min)
    _check_bound("max", max)
    if all(isinstance(t, Tensor) and t.dtype == np.bool_ for t in (self, min, max)):
        raise TypeError(f"{public_name('clamp')}: expected bounds that are not both bool for a bool tensor "
                        "(PyTorch's clamp has no bool kernel), got bool min and max; give one, or convert "
                        "first (t.long())")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        above = self if min is None else clamp_min(self, min)
        return above if max is None else clamp_max(above, max)
    return ew.clip(self, min, max)


def clamp_min(self: Tensor, min: Any) -> Tensor:
    """max(self, min), as torch.clamp_min (fast.ai's relu, `x.clamp_min(0.)`): d/dself = 1 where
    self >= min, else 0; a tensor `min` (broadcast) gets the gradient where it is taken, self < min."""
    min = _constant_bound(min)
    if isinstance(min, Tensor):
        return ew.where(self >= min, self, min)
    return ew.clip(self, min, None)


def clamp_max(self: Tensor, max: Any) -> Tensor:
    """min(self, max), as torch.clamp_max: d/dself = 1 where self <= max, else 0; a tensor `max`
    (broadcast) gets the gradient where it is taken, self > max."""
    max = _constant_bound(max)
    if isinstance(max, Tensor):
        return ew.where(self <= max, self, max)
    return ew.clip(self, None, max)


# PyTorch's deprecated overloads that put the number first (tools/autograd/deprecated.yaml), which it still
# takes with a warning: old optimizers' `exp_avg.mul_(beta1).add_(1 - beta1, grad)`, `addcmul_(1 - beta2, g, g)`
_SCALAR_FIRST = {"add": ("alpha", ("other",)), "sub": ("alpha", ("other",)),
                 "addcmul": ("value", ("tensor1", "tensor2")), "addcdiv": ("value", ("tensor1", "tensor2"))}


def _is_scalar(value: Any) -> bool:
    """Whether `_scalar` takes `value`: a number (not a bool), or a 0-d tensor that does not require grad and is not
    a bool: what PyTorch takes as a Scalar (PyTorch's takes bools too, then refuses them unless the result is bool)."""
    try:
        _scalar("", "", value)
    except TypeError:
        return False
    return True


class _One:
    """The default of alpha= and value=, 1: a mark of its own, so that PyTorch's deprecated form, which takes
    no alpha= or value=, can tell that none was given (and `t.add(u)` skip every check)."""

    def __repr__(self) -> str:
        return "1"


_ONE = _One()


_ABSENT = object()       # (a tensor argument not given by keyword)


def _scalar_first(where: str, args: tuple, keywords: dict, number: Any) -> tuple[tuple, Any]:
    """(the tensor arguments, the number) of `where` (add, sub, addcmul, addcdiv or their in-place forms), given
    its positional arguments, its tensor arguments given by keyword (`_ABSENT` when not) and its alpha= or value=
    (`_ONE` when not given). As PyTorch's parser (python_arg_parser.cpp, FunctionSignature::parse), a
    positional parameter past the positional arguments is read from the keywords, so the tensors given by
    keyword must be the last ones (`t.add(other=u)`; `t.add(0.5, other=u)`). With one argument more than the
    current form takes, the call is PyTorch's deprecated overload with the number first,
    `t.add_(alpha, other)`, `t.addcmul_(value, tensor1, tensor2)`: it is read as PyTorch reads it, with
    PyTorch's UserWarning (there shown once per process; here as Python's filters decide)."""
    keyword, names = _SCALAR_FIRST[where.rstrip("_")]
    count = len(names)
    tensors = ", ".join(f"Tensor {name}" for name in names)
    current = f"{where}({tensors}, *, Number {keyword} = 1)"
    given = [name for name in names if keywords.get(name, _ABSENT) is not _ABSENT]
    last = given == list(names[count - len(given):])       # (given by keyword: only the last ones can be)
    if given and (not last and names.index(given[0]) < len(args) or len(args) + len(given) > count + 1):
        raise TypeError(f"{where}() got multiple values for argument {given[0]!r}")
    if not last or len(args) + len(given) < count:
        missing = [name for name in names[len(args):] if name not in given]
        raise TypeError(f"{where}() missing {len(missing)} required positional argument{'s' * (len(missing) > 1)}: "
                        f"{' and '.join(repr(name) for name in missing)} (expected {current})")
    args = args + tuple(keywords[name] for name in given)
    if len(args) == count:
        return args, number
    old = f"{where}(Number {keyword}, {tensors})"
    if len(args) > count + 1 or number is not _ONE or not _is_scalar(args[0]):
        given = ", ".join(type(arg).__name__ for arg in args)
        raise TypeError(f"{where}: expected {current}, or PyTorch's deprecated {old} (a number or a 0-d tensor "
                        f"that does not require grad first){'' if number is _ONE else f' without {keyword}='}, "
                        f"got ({given})")
    warnings.warn(f"This overload of {where} is deprecated:\n\t{old}\nConsider using one of the following "
                  f"signatures instead:\n\t{current}", UserWarning, stacklevel=user_stacklevel())
    return args[1:], args[0]


def _alpha(where: str, self: Tensor, other: Any, alpha: Any) -> Any:
    """add's and sub's alpha, a number (a 0-d tensor that needs no grad: its number), checked as PyTorch's
    alpha_check (aten/src/ATen/native/BinaryOps.h) checks it against the result's dtype: not a bool, an
    integer for an integer result, real for a real one (TypeError here, RuntimeError there), and one the
    result's dtype can hold (the CPU kernel's `alpha.to<scalar_t>()`, c10's checked conversion: 1e39 is refused
    for float32 and for complex64 in either part, 1e5 for float16, 1000 for int8, 2 for bool; ValueError here,
    RuntimeError there). As there, a negative integer into an unsigned dtype wraps (-1 is 255 for uint8, so
    x.sub(y, alpha=-1) is x + y), and a bool result takes alpha as a bool."""
    if isinstance(self, Tensor) and self.dtype.kind in "fc" and (
            type(alpha) is float and self.dtype.itemsize >= 4 and -_FLOAT32_MAX <= alpha <= _FLOAT32_MAX
            or type(alpha) is int and -_FLOAT16_MAX <= alpha <= _FLOAT16_MAX):
        return alpha                # (the common cases, a learning rate say, fit every result dtype they can have)
    alpha = _scalar(where, "alpha", alpha)
    self = as_tensor(self, None, where)         # (`mg.add(array, t, alpha=...)`: the array as the tensor it adds as)
    dtype = result_type(self, as_tensor(other, self, where))
    if not is_int(alpha) and (dtype.kind in "biu" or (dtype.kind != "c" and not isinstance(alpha, numbers.Real))):
        raise TypeError(f"{where}: alpha must be {'an integer' if dtype.kind in 'biu' else 'real'} for a result of "
                        f"dtype {dtype}, got {alpha!r}, as PyTorch's")
    if dtype.kind in "iuf":
        return number_for(alpha, dtype, where)     # (an integer dtype's own number: -1 for uint8 is 255)
    if dtype.kind == "b":
        if not -1 <= alpha <= 1:                    # (c10's overflows: -1 wraps to True, as into uint8)
            raise ValueError(f"{where}: the value {alpha!r} cannot be converted to dtype bool without overflow")
        return bool(alpha)
    if dtype.kind == "c" and any(math.isfinite(part) and abs(part) > float(np.finfo(dtype).max)
                                 for part in (alpha.real, alpha.imag)):     # (each part, as c10's overflows)
        raise ValueError(f"{where}: the value {alpha!r} cannot be converted to dtype {dtype} without overflow")
    return alpha


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def add(self: Tensor, *args: Any, other: Any = _ABSENT, alpha: Any = _ONE) -> Tensor:
    """self + alpha * other; PyTorch's deprecated `t.add(alpha, other)` too (`_scalar_first`). alpha is a
    number or a 0-d tensor that does not require grad, as PyTorch's Scalar, checked as PyTorch's (`_alpha`)."""
    if len(args) == 1 and other is _ABSENT:
        other = args[0]
    else:
        (other,), alpha = _scalar_first("add", args, {"other": other}, alpha)
    if alpha is _ONE:
        return ew.add(self, other)
    alpha = _alpha("add", self, other, alpha)
    return ew.add(self, other if alpha == 1 else ew.mul(as_tensor(other, self), alpha))


def sub(self: Tensor, *args: Any, other: Any = _ABSENT, alpha: Any = _ONE) -> Tensor:
    """self - alpha * other; PyTorch's deprecated `t.sub(alpha, other)` too; alpha as `add`'s."""
    if len(args) == 1 and other is _ABSENT:
        other = args[0]
    else:
        (other,), alpha = _scalar_first("sub", args, {"other": other}, alpha)
    if alpha is _ONE:
        return ew.sub(self, other)
    alpha = _alpha("sub", self, other, alpha)
    return ew.sub(self, other if alpha == 1 else ew.mul(as_tensor(other, self), alpha))


def divide(self: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """self / other; PyTorch's `rounding_mode="floor"` is self // other and `"trunc"` rounds toward
    zero (both with a zero gradient, as PyTorch's): `torch.div(positions, vocab_size, rounding_mode="floor")`.

    "trunc" is PyTorch's trunc(self / other) of the rounded quotient for floats (1 / 0.1 rounds to 10.0
    first; inf / 2 is inf, where the floor of inf is NaN) and C's exact division for integers. It is the
    floor quotient (its node gives the zero gradient) with the entries where the two differ replaced."""
    if rounding_mode is None:
        return ew.div(self, other)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        self, other, ratio = ew.operands("div", np.divide, self, other)
    A, B = self._data, other._data
    ew.check_divisor("div", A, B)
    quotient = ew.floor_divide(self, other)
    if rounding_mode == "floor":
        return quotient
    floor = quotient._data
    if floor.dtype.kind in "fc":
        toward_zero = np.trunc(ratio).astype(floor.dtype, copy=False)
    else:                                   # integers: one more than the floor where a negative quotient is inexact
        toward_zero = np.where(((A < 0) != (B < 0)) & (np.remainder(A, B) != 0), floor + 1, floor)
    return ew.where(toward_zero != floor, toward_zero, quotient)     # (NaN != NaN: a NaN floor takes trunc's value)


def mm(self: Tensor, mat2: Any) -> Tensor:
    """The product of two matrices, as torch.mm: `matmul` of (n, m) and (m, p), and nothing else (a
    vector or a batch is a ValueError, where matmul would take it);   dL/dself = g mat2^T,   dL/dmat2 = self^T g"""
    other = mat2 if isinstance(mat2, Tensor) else as_tensor(mat2, self, "mm")
    if self.ndim != 2 or other.ndim != 2 or self.shape[1] != other.shape[0]:
        raise ValueError(f"mm: expected two 2-d tensors (n, m) and (m, p), got shapes {self.shape} and {other.shape}")
    return matmul(self, other)


def bmm(self: Tensor, mat2: Any) -> Tensor:
    """Batches of matrix products, as torch.bmm: (b, n, m) and (b, m, p) give (b, n, p), one product per
    batch entry, both batches of one size (matmul would broadcast them, and take any number of batch
    axes);   dL/dself = g mat2^T,   dL/dmat2 = self^T g, batch by batch"""
    other = mat2 if isinstance(mat2, Tensor) else as_tensor(mat2, self, "bmm")
    if not (self.ndim == other.ndim == 3 and self.shape[0] == other.shape[0] and self.shape[2] == other.shape[1]):
        raise ValueError(f"bmm: expected two 3-d tensors (b, n, m) and (b, m, p), got shapes {self.shape} and "
                         f"{other.shape}")
    return matmul(self, other)


def outer(self: Tensor, vec2: Any) -> Tensor:
    """The outer product of two vectors, as torch.outer (and its older name `ger`): out[i, j] = self_i vec2_j,
    self as a column times vec2 (a broadcast mul);   dL/dself_i = sum_j g_ij vec2_j,   dL/dvec2_j = sum_i g_ij self_i"""
    other = vec2 if isinstance(vec2, Tensor) else as_tensor(vec2, self, "outer")
    if self.ndim != 1 or other.ndim != 1:
        raise ValueError(f"outer: expected two 1-d tensors, got shapes {self.shape} and {other.shape}")
    return ew.mul(reshape(self, (-1, 1)), other)


def _not_a_scalar(where: str, name: str, value: Any) -> str:
    got = repr(value) if not isinstance(value, Tensor) else \
        f"a tensor of shape {value.shape} (dtype {value.dtype}, requires_grad={value.requires_grad})"
    return f"{where}: {name} must be a number, got {got} (or a 0-d tensor that does not require grad, as PyTorch's " \
        "Scalar)"


def _scalar_of(where: str, name: str, value: Any) -> Any:
    """A tensor given where PyTorch takes a Scalar, read as its parser reads one (python_arg_parser.cpp takes a
    tensor when `!var.requires_grad() && var.dim() == 0`): a 0-d tensor that does not require grad is its Python
    number (a learning rate that became a tensor; an int for an integer tensor), any other tensor a TypeError
    naming `where` and `name`. Anything else comes back as it is, for the caller to check."""
    if not isinstance(value, Tensor):
        return value
    if value.ndim != 0 or value.requires_grad:
        raise TypeError(_not_a_scalar(where, name, value))
    return value.item()


def _scalar(where: str, name: str, value: Any) -> Any:
    """`value` if it is a number (not a bool), as PyTorch's alpha=, beta= and value=, or the number of a 0-d
    tensor that does not require grad (`_scalar_of`); TypeError otherwise."""
    number = _scalar_of(where, name, value)
    if not isinstance(number, numbers.Number) or isinstance(number, (bool, np.bool_)):
        raise TypeError(_not_a_scalar(where, name, value))
    return number


def _scaled(x: Tensor, factor: Any) -> Tensor:
    return x if factor == 1 else ew.mul(x, factor)


def addmm(self: Tensor, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta self + alpha (mat1 @ mat2), as torch.addmm: mat1 (n, m) and mat2 (m, p) are matrices, self
    broadcasts to (n, p);   dL/dself = beta g (summed over its broadcast axes),   dL/dmat1 = alpha g mat2^T,
    dL/dmat2 = alpha mat1^T g. With beta = 0 self's values are not used, so NaN and inf in it do not reach
    the result, as PyTorch's: `where(True, product, self)` keeps self in the graph with its zero gradient."""
    beta, alpha = _scalar("addmm", "beta", beta), _scalar("addmm", "alpha", alpha)
    left = mat1 if isinstance(mat1, Tensor) else as_tensor(mat1, self, "addmm")
    right = mat2 if isinstance(mat2, Tensor) else as_tensor(mat2, self, "addmm")
    if left.ndim != 2 or right.ndim != 2 or left.shape[1] != right.shape[0]:
        raise ValueError(f"addmm: expected two 2-d tensors (n, m) and (m, p), got shapes {left.shape} and "
                         f"{right.shape}")
    product_shape = (left.shape[0], right.shape[1])
    if not broadcasts_to(self.shape, product_shape):
        raise ValueError(f"addmm: input of shape {self.shape} does not broadcast to the product's shape "
                         f"{product_shape}")
    product = _scaled(matmul(left, right), alpha)
    if beta == 0:
        return ew.where(np.ones(product_shape, dtype=bool), product, self)
    return ew.add(_scaled(self, beta), product)


def addcmul(self: Tensor, *args: Any, tensor1: Any = _ABSENT, tensor2: Any = _ABSENT, value: Any = _ONE) -> Tensor:
    """self + value tensor1 tensor2, the three broadcast together, as torch.addcmul (Adam's second moment,
    `v.mul_(b2).addcmul_(g, g, value=1 - b2)`; PyTorch's deprecated `v.addcmul_(1 - b2, g, g)` too, see
    `_scalar_first`);   dL/dtensor1 = value g tensor2, dL/dtensor2 = value g tensor1. value takes the result's
    dtype (`_value_for`): for an integer result a float is cut toward zero (2.5 -> 2), so integers stay
    integers. Bools are a TypeError, as PyTorch's addcmul has no bool kernel."""
    if len(args) == 2 and tensor1 is tensor2 is _ABSENT:
        tensor1, tensor2 = args
    else:
        (tensor1, tensor2), value = _scalar_first("addcmul", args, {"tensor1": tensor1, "tensor2": tensor2}, value)
    value = 1 if value is _ONE else _scalar("addcmul", "value", value)
    tensor1, tensor2 = (t if isinstance(t, Tensor) else as_tensor(t, self, "addcmul") for t in (tensor1, tensor2))

    def summed() -> Tensor:
        dtype, (base, first, second) = _in_common_dtype(self, tensor1, tensor2)
        product = ew.mul(first, second)
        return to(ew.add(base, _scaled(product, _value_for("addcmul", value, dtype))), dtype)
    return _broadcast_together("addcmul", (self, tensor1, tensor2), summed)


def addcdiv(self: Tensor, *args: Any, tensor1: Any = _ABSENT, tensor2: Any = _ABSENT, value: Any = _ONE) -> Tensor:
    """self + value tensor1 / tensor2, the three broadcast together, as torch.addcdiv
    (Adam's step, `p.addcdiv_(m, v.sqrt() + eps, value=-lr)`; PyTorch's deprecated `p.addcdiv_(-lr, m, denom)`
    too, see `_scalar_first`);   dL/dtensor1 = value g / tensor2,
    dL/dtensor2 = -value g tensor1 / tensor2^2. Two integer (or bool) tensors divided are a TypeError,
    as PyTorch's (its integer addcdiv was removed)."""
    if len(args) == 2 and tensor1 is tensor2 is _ABSENT:
        tensor1, tensor2 = args
    else:
        (tensor1, tensor2), value = _scalar_first("addcdiv", args, {"tensor1": tensor1, "tensor2": tensor2}, value)
    value = 1 if value is _ONE else _scalar("addcdiv", "value", value)
    tensor1, tensor2 = (t if isinstance(t, Tensor) else as_tensor(t, self, "addcdiv") for t in (tensor1, tensor2))
    if tensor1.dtype.kind in "biu" and tensor2.dtype.kind in "biu":
        raise TypeError("addcdiv: integer division is not supported (tensor1 and tensor2 are both integer or bool), "
                        "as PyTorch's; convert one of them to floating point")

    def summed() -> Tensor:
        dtype, (base, first, second) = _in_common_dtype(self, tensor1, tensor2)
        quotient = ew.div(first, second)
        return to(ew.add(base, _scaled(quotient, _value_for("addcdiv", value, dtype))), dtype)
    return _broadcast_together("addcdiv", (self, tensor1, tensor2), summed)


def _in_common_dtype(*tensors: Tensor) -> tuple[np.dtype, list[Tensor]]:
    """(the result's dtype, the tensors converted to the dtype it is computed in), as PyTorch's addcmul and
    addcdiv kernels: one result type of the three (0-d tensors count only for a higher category, c10's
    rule), computed in it, float16 in float (`opmath_t`), so tensor1 tensor2 of two float32 tensors next to a
    float64 self is a float64 product."""
    dtype = tensors_dtype(tensors)
    compute = np.dtype(np.float32) if dtype == np.float16 else dtype
    return dtype, [to(t, compute) for t in tensors]


def _value_for(where: str, value: Any, dtype: np.dtype) -> Any:
    """addcmul's or addcdiv's value as PyTorch's kernel takes it, `value.to<scalar_t>()` in the result's dtype
    (float for float16; aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp), a checked conversion (c10/util/overflows.h):
    a float cut toward zero for an integer result, and a value the dtype cannot hold (1e39 for float32, 300 for
    int8, a complex one for a real result) refused (`number_for`; PyTorch's RuntimeError "value cannot be converted
    to type float without overflow"). A bool result is a TypeError: PyTorch's has no bool kernel."""
    if dtype == np.bool_:
        raise TypeError(no_bool_kernel(where))
    return number_for(value, np.dtype(np.float32) if dtype == np.float16 else dtype, where)


def _broadcast_together(where: str, operands: tuple, compute: Callable[[], Tensor]) -> Tensor:
    """compute(), where self, tensor1 and tensor2 that do not broadcast together are a ValueError naming
    `where` (the mul, div or add inside would name itself)."""
    try:
        return compute()
    except ValueError:
        shapes = [t.shape for t in operands]
        if broadcasts_with(*shapes):
            raise
        raise ValueError(f"{where}: self, tensor1 and tensor2 must broadcast together, got shapes "
                         f"{shapes[0]}, {shapes[1]} and {shapes[2]}") from None


def diff(self: Tensor, n: Any = 1, dim: Any = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The n-th forward difference along `dim`, as torch.diff: out_i = x_(i+1) - x_i, taken n times
    (of bools: x_(i+1) != x_i, PyTorch's logical_xor), with `prepend` and `append` (tensors of x's number
    of axes and of its shape off `dim`) joined to x first. Each difference is two slices and a `sub`,
    so the gradient is the chain rule's: dL/dx_i = g_(i-1) - g_i for n = 1. n = 0 gives a copy of x
    (prepend and append unused), and n past the length an empty axis, as PyTorch's."""
    if self.ndim == 0:
        raise ValueError("diff: expected a tensor with at least one axis, got a 0-d tensor")
    if not is_int(n) or n < 0:
        raise ValueError(f"diff: n (the order) must be an integer >= 0, got {n!r}")
    axis = _axis("diff", dim, self.ndim)
    if n == 0:
        return ew.clone(self)
    extras = {name: extra if isinstance(extra, Tensor) else as_tensor(extra, self, "diff")
              for name, extra in (("prepend", prepend), ("append", append)) if extra is not None}
    for name, extra in extras.items():
        if extra.ndim != self.ndim or any(m != k for a, (m, k) in enumerate(zip(extra.shape, self.shape)) if a != axis):
            raise ValueError(f"diff: {name} of shape {extra.shape} must have the input's axes, of its shape "
                             f"{self.shape} off dim {dim}")
    parts = [part for part in (extras.get("prepend"), self, extras.get("append")) if part is not None]
    x = concat(parts, axis) if len(parts) > 1 else self
    for _ in range(builtins.min(n, x.shape[axis])):
        later, earlier = getitem(x, _along(axis, slice(1, None))), getitem(x, _along(axis, slice(None, -1)))
        x = owned(later._data != earlier._data) if x.dtype == np.bool_ else ew.sub(later, earlier)
    return x


def _in_place_method(name: str, operator: str, combine) -> Any:
    """PyTorch's `t.mul_(u)` and kin: the in-place operator's rules (`_in_place`), as a method."""
    def method(self: Tensor, other: Any, **options: Any) -> Tensor:
        return self._in_place(name, lambda t, u: combine(t, u, **options), other)
    method.__name__ = name
    method.__doc__ = f"In place, as `t {operator} u` (the tensor gets a new array); returns the tensor."
    return method


def _scalar_first_in_place(name: str, op: Callable) -> Callable:
    """`t.add_(...)`, `t.sub_(...)`, `t.addcmul_(...)`, `t.addcdiv_(...)`: `op` in place with the rules of
    `t += u`; PyTorch's deprecated form with the number first (`t.add_(alpha, u)`) read as PyTorch reads it,
    warning under this method's name (`_scalar_first`)."""
    keyword, names = _SCALAR_FIRST[name[:-1]]

    def method(self: Tensor, *args: Any, **options: Any) -> Tensor:
        if len(args) != len(names) or not options.keys().isdisjoint(names):    # (the plain call skips it all)
            given = {tensor: options.pop(tensor) for tensor in names if tensor in options}
            args, options[keyword] = _scalar_first(name, args, given, options.pop(keyword, _ONE))
        return self._in_place(name, lambda t, _: op(t, *args, **options), None)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"`t.{name[:-1]}(...)` in place, with the rules of `t += u`; returns t."
    return method


add_, sub_ = _scalar_first_in_place("add_", add), _scalar_first_in_place("sub_", sub)
mul_, div_ = _in_place_method("mul_", "*=", ew.mul), _in_place_method("div_", "/=", ew.div)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """`t.clamp(min, max)` in place (also `t.clip_`), with the rules of `t += u`: under `no_grad` the
    tensor gets a new array (a WGAN critic's weight clipping, `p.clamp_(-c, c)`); while recording it
    takes the result's history. Returns the tensor."""
    return self._in_place("clamp_", lambda t, _: clamp(t, min, max), None)


def lerp_(self: Tensor, end: Any, weight: Any) -> Tensor:
    """`t.lerp(end, weight)` in place, with the rules of `t += u` (an EMA's `ema.lerp_(current, 1 - decay)`
    under `no_grad`). Returns the tensor."""
    return self._in_place("lerp_", lambda t, _: ew.lerp(t, end, weight), None)


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """`src` (broadcast to the tensor's shape, cast to its dtype) copied into the tensor, with the rules
    of the in-place operators: under `no_grad` the tensor gets a new array (`p.copy_(w)` sets a
    parameter, as `nn.init` does); while recording it takes src's history, so the gradient goes to
    src, summed over the broadcast axes. Returns the tensor."""
    def copied(t: Tensor, u: Any) -> Tensor:
        u = to(as_tensor(u, t, "copy_"), t.dtype)
        if not broadcasts_to(u.shape, t.shape):
            raise ValueError(f"copy_: the source's shape {u.shape} does not broadcast to the tensor's "
                             f"shape {t.shape}")
        return ew.add(u, np.zeros(t.shape, dtype=t.dtype))
    return self._in_place("copy_", copied, src)


Tensor.min, Tensor.max, Tensor.amax, Tensor.amin = min, max_of, amax, amin      # (Tensor.max replaces methods.py's)
Tensor.square, Tensor.rsqrt = square, rsqrt
Tensor.clamp, Tensor.clamp_min, Tensor.clamp_max = clamp, clamp_min, clamp_max
Tensor.clip = also_by_keyword(lo="min", hi="max")(clamp)   # PyTorch's alias, t.clip(min=0); lo=, hi= too (the op's)
Tensor.clamp_ = Tensor.clip_ = clamp_
Tensor.lerp_ = lerp_
Tensor.add, Tensor.sub, Tensor.div = add, sub, divide
Tensor.add_, Tensor.sub_, Tensor.mul_, Tensor.div_, Tensor.copy_ = add_, sub_, mul_, div_, copy_
Tensor.floor_divide, Tensor.remainder = ew.floor_divide, ew.remainder
Tensor.matmul, Tensor.mm, Tensor.bmm, Tensor.pow = Tensor.__matmul__, mm, bmm, ew.power
Tensor.log10, Tensor.log2, Tensor.sign = ew.log10, ew.log2, ew.sign
Tensor.cosh, Tensor.sinh = ew.cosh, ew.sinh
Tensor.outer = Tensor.ger = outer       # (torch.ger: outer's older name, which PyTorch still has)
Tensor.addmm, Tensor.addcmul, Tensor.addcdiv, Tensor.diff = addmm, addcmul, addcdiv, diff
Tensor.addcmul_ = _scalar_first_in_place("addcmul_", addcmul)
Tensor.addcdiv_ = _scalar_first_in_place("addcdiv_", addcdiv)


# PyTorch's other names of methods (torch.multiply is torch.mul, t.not_equal is t.ne), and of their in-place forms
ALIASES = {"multiply": "mul", "subtract": "sub", "divide": "div", "greater": "gt", "greater_equal": "ge",
           "less": "lt", "less_equal": "le", "not_equal": "ne"}
for _alias, _name in ALIASES.items():
    setattr(Tensor, _alias, getattr(Tensor, _name))
    setattr(Tensor, _alias + "_", getattr(Tensor, _name + "_"))
