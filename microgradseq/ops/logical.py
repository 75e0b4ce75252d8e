"""PyTorch's truth tests and logic: the entrywise tests `t.isnan()`, `t.isinf()`, `t.isfinite()`; the
operators `&`, `|`, `^`, `~` of bool (or integer) tensors and their names `t.bitwise_and(u)`, `bitwise_or`,
`bitwise_xor`, `bitwise_not` (in place too); `t.logical_and(u)`, `t.logical_or(u)`,
`t.logical_xor(u)`, `t.logical_not()` of any dtype; `t.all()`, `t.any()`; `t.equal(u)`; and
`t.isclose(u, rtol, atol)`.

None needs a rule: each answers with bools (integers for `&`, `|`, `^`, `~` of integer tensors and
uint8 for `all`, `any` of uint8 ones; a Python bool for `equal`), computed by numpy from the arrays
and recorded nowhere: constants with no gradient, as PyTorch's.

    finite = loss.isfinite().all()                # skip a step whose loss overflowed
    keep = (targets != pad) & ~is_special         # a mask from two others
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, non_negative_number
from ..spellings import axis_keepdims
from ..tensor import Tensor, as_tensor, owned
from . import elementwise as ew
from .in_place import in_place
from .methods import _axis


def _test(test: np.ufunc, name: str) -> Any:
    def entrywise_test(self: Tensor) -> Tensor:
        return owned(test(self._data))
    entrywise_test.__name__ = entrywise_test.__qualname__ = name
    entrywise_test.__doc__ = f"Where the entries are {name[2:]}, as torch.{name}: a bool tensor, no gradient."
    return entrywise_test


isnan, isinf, isfinite = _test(np.isnan, "isnan"), _test(np.isinf, "isinf"), _test(np.isfinite, "isfinite")


def _bitwise(ufunc: np.ufunc, name: str) -> Any:
    """torch.bitwise_and (or, xor) of bool or integer tensors, broadcast: no gradient; `name` in its errors."""
    def bitwise(input: Any, other: Any) -> Tensor:
        input = as_tensor(input, other if isinstance(other, Tensor) else None, name)
        other = as_tensor(other, input, name)
        if input.dtype.kind not in "biu" or other.dtype.kind not in "biu":
            raise TypeError(f"{name}: expected bool or integer tensors, got dtypes {input.dtype} and {other.dtype}")
        return owned(np.asarray(ew.operands(name, ufunc, input, other)[2]))
    bitwise.__name__ = bitwise.__qualname__ = name
    bitwise.__doc__ = (f"`t.{name}(u)` (and `mg.{name}(t, u)`): the entries' bitwise {name[8:]} (of bools: the "
                       f"logical one), broadcast, as torch.{name}: bool or integer tensors, no gradient.")
    return bitwise


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def _operator(bitwise: Any) -> Any:
    """`t & u`, `t | u`, `t ^ u`: `bitwise`, or NotImplemented for an operand Python should offer the other side."""
    def operator(self: Tensor, other: Any) -> Tensor:
        if not isinstance(other, (Tensor, np.ndarray, np.generic, bool, int)):
            return NotImplemented
        return bitwise(self, other)
    return operator


def bitwise_not(input: Any) -> Tensor:
    """`t.bitwise_not()` (and `mg.bitwise_not(t)`): each entry's bits flipped (of bools: logical not), as
    torch.bitwise_not: a bool or integer tensor, no gradient."""
    return _not(input, "bitwise_not")


def invert(self: Tensor) -> Tensor:
    """`~t`: logical not of a bool tensor (bitwise of an integer one), as PyTorch's."""
    return _not(self, "bitwise_not (~)")


def _not(input: Any, name: str) -> Tensor:
    x = input if type(input) is Tensor else as_tensor(input, where=name)
    if x.dtype.kind not in "biu":
        raise TypeError(f"{name}: expected a bool or integer tensor, got dtype {x.dtype}")
    return owned(np.asarray(np.invert(x._data)))


def _logical_of(ufunc: np.ufunc, name: str) -> Any:
    """torch.logical_and (or, xor): of two tensors of any dtypes, nonzero counting as True."""
    def logical(self: Tensor, other: Any) -> Tensor:
        return owned(np.asarray(ew.operands(name, lambda a, b: ufunc(a != 0, b != 0), self, other)[2]))
    logical.__name__ = name
    logical.__doc__ = (f"`t.{name}(u)` (and `mg.{name}(t, u)`): the entries' {name[8:]} (a nonzero entry is "
                       f"True, zero is False), broadcast, as torch.{name}: a bool tensor, no gradient.")
    return logical


logical_and = _logical_of(np.logical_and, "logical_and")
logical_or = _logical_of(np.logical_or, "logical_or")
logical_xor = _logical_of(np.logical_xor, "logical_xor")


def logical_not(self: Tensor) -> Tensor:
    """`t.logical_not()` (and `mg.logical_not(t)`): True where an entry is zero, as torch.logical_not
    (for a bool tensor, `~t`): a bool tensor, no gradient."""
    return owned(np.asarray(self._data == 0))


def _truth(reduce_: Any, name: str) -> Any:
    """`t.all()` / `t.any()`, over every entry or along `dim`: a bool tensor, as PyTorch's."""
    def truth(self: Tensor, dim: Any = None, keepdim: Any = None, *, axis: Any = None, keepdims: Any = None) -> Tensor:
        axis, keep = axis_keepdims(name, axis, keepdims, dim, keepdim)
        if axis is not None:
            dims = axis if isinstance(axis, (tuple, list)) else (axis,)
            axes = tuple(_axis(name, d, self.ndim, scalar_dim=True) for d in dims)
            axis = axes if self.ndim else ()        # (a 0-d tensor's dim 0 reduces nothing, as PyTorch's)
        out = np.asarray(reduce_(self._data, axis=axis, keepdims=keep))
        return owned(out.astype(np.uint8) if self.dtype == np.uint8 else out)    # (uint8 stays uint8, as PyTorch's)
    truth.__name__ = name
    truth.__doc__ = (f"Whether {name} entries are true (nonzero), over every entry or along `dim`, as "
                     f"torch.{name}: a bool tensor (uint8 for uint8), no gradient; `dim` an axis or a tuple.")
    return truth


def equal(self: Tensor, other: Any) -> bool:
    """The same shape and the same values, as torch.equal (`t.equal(u)`)."""
    a, b = self._data, as_tensor(other, where="equal")._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isclose(self: Tensor, other: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False) -> Tensor:
    """Where |self - other| <= atol + |rtol other| (a finite error), or the two are equal (infinities of
    one sign too; NaN to NaN with `equal_nan`), broadcast, as torch.isclose (numpy's isclose): a bool
    tensor, no gradient. Two tensors of different dtypes are a TypeError, as PyTorch's (an array or a
    number is promoted with self, as by the operators). rtol and atol are numbers >= 0."""
    rtol, atol = non_negative_number(rtol, "rtol", "isclose"), non_negative_number(atol, "atol", "isclose")
    equal_nan = flag(equal_nan, "equal_nan", "isclose")
    if isinstance(other, Tensor) and other.dtype != self.dtype:
        raise TypeError(f"isclose: expected two tensors of the same dtype, got {self.dtype} and {other.dtype}")
    first, other, equal = ew.operands("isclose", np.equal, self, other)
    A, B, close = first._data, other._data, np.asarray(equal)
    if equal_nan and A.dtype.kind in "fc":
        close |= np.isnan(A) & np.isnan(B)
    if rtol or atol:                        # (both 0: equality alone, as PyTorch's)
        if A.dtype.kind not in "fc":        # (integers: the error in floats, where a - b cannot wrap)
            A, B = A.astype(np.float64), B.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            error = np.abs(A - B)
            close |= np.isfinite(error) & (error <= atol + np.abs(rtol * B))
    return owned(close)


Tensor.isnan, Tensor.isinf, Tensor.isfinite, Tensor.isclose = isnan, isinf, isfinite, isclose
Tensor.__and__ = Tensor.__rand__ = _operator(_bitwise(np.bitwise_and, "bitwise_and (&)"))
Tensor.__or__ = Tensor.__ror__ = _operator(_bitwise(np.bitwise_or, "bitwise_or (|)"))
Tensor.__xor__ = Tensor.__rxor__ = _operator(_bitwise(np.bitwise_xor, "bitwise_xor (^)"))
Tensor.__invert__ = invert
Tensor.bitwise_and, Tensor.bitwise_or, Tensor.bitwise_xor, Tensor.bitwise_not = (bitwise_and, bitwise_or, bitwise_xor,
                                                                                 bitwise_not)
for _op in (bitwise_and, bitwise_or, bitwise_xor, bitwise_not):     # (in place beside them: integers, not floats)
    setattr(Tensor, _op.__name__ + "_", in_place(_op.__name__ + "_", _op))
Tensor.logical_and, Tensor.logical_or, Tensor.logical_xor = logical_and, logical_or, logical_xor
Tensor.logical_not = logical_not
Tensor.all, Tensor.any, Tensor.equal = _truth(np.all, "all"), _truth(np.any, "any"), equal
