"""Tensor's operators and methods: `t * u` is `ops.mul(t, u)`, `t.tanh()` is `ops.tanh(t)`.

The ops are written on top of `Tensor`, so `Tensor` cannot import them; this
module, imported with the ops, gives `Tensor` its operators and methods.
The reflected operators (`2 * t`) swap their operands. PyTorch's spellings
(`view`, `unsqueeze`, `size()`, `argmax`, `to`, ...) follow, each a thin name over the ops.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Callable, Iterator

import numpy as np

from ..autograd import CUT, LEAF, grad_enabled
from ..checks import fill_number, is_axis, is_int, no_bool_kernel
from ..spellings import Size, axis_keepdims, check_device, check_memory_format, either, sizes_of, target_dtype
from ..tensor import Tensor, as_tensor, owned, tensor
from . import elementwise as ew
from .linalg import matmul
from .products import cumprod, prod
from .reduce import count_nonzero, cumsum, max, mean, nanmean, nansum, norm, std, sum, var
from .assign import parts_in_step, setitem, write_through
from .shape import InTurn, getitem, is_permutation, reshape, transpose
from .softmax import log_softmax, logaddexp, logaddexp2, logcumsumexp, logsumexp

Tensor.__add__, Tensor.__radd__ = ew.add, lambda self, other: ew.add(other, self)
Tensor.__sub__, Tensor.__rsub__ = ew.sub, lambda self, other: ew.sub(other, self)
Tensor.__mul__, Tensor.__rmul__ = ew.mul, lambda self, other: ew.mul(other, self)
Tensor.__truediv__, Tensor.__rtruediv__ = ew.div, lambda self, other: ew.div(other, self)
Tensor.__pow__, Tensor.__rpow__ = ew.power, lambda self, other: ew.power(other, self)
Tensor.__floordiv__, Tensor.__rfloordiv__ = ew.floor_divide, lambda self, other: ew.floor_divide(other, self)
Tensor.__mod__, Tensor.__rmod__ = ew.remainder, lambda self, other: ew.remainder(other, self)
Tensor.__matmul__, Tensor.__rmatmul__ = matmul, lambda self, other: matmul(other, self)
Tensor.__neg__, Tensor.__abs__, Tensor.__getitem__ = ew.neg, ew.abs, getitem     # (+t: more_elementwise's positive)
Tensor.__setitem__, Tensor._parts_in_step, Tensor._write_through = setitem, parts_in_step, staticmethod(write_through)
Tensor.sum, Tensor.mean, Tensor.max, Tensor.norm = sum, mean, max, norm
Tensor.var, Tensor.std, Tensor.cumsum, Tensor.logsumexp = var, std, cumsum, logsumexp
Tensor.reshape, Tensor.transpose, Tensor.T = reshape, transpose, property(transpose)
Tensor.exp, Tensor.log, Tensor.tanh, Tensor.sigmoid, Tensor.relu = ew.exp, ew.log, ew.tanh, ew.sigmoid, ew.relu
Tensor.abs, Tensor.sqrt, Tensor.clone = ew.abs, ew.sqrt, ew.clone    # (t.clone(memory_format=...): the op's)
Tensor.sin, Tensor.cos, Tensor.round, Tensor.erf = ew.sin, ew.cos, ew.round, ew.erf
Tensor.log1p, Tensor.expm1 = ew.log1p, ew.expm1
Tensor.neg = Tensor.negative = ew.neg      # t.neg(), -t
Tensor.absolute = ew.abs                   # PyTorch's alias
Tensor.logcumsumexp, Tensor.lerp = logcumsumexp, ew.lerp       # t.logcumsumexp(dim), t.lerp(end, weight)
Tensor.prod, Tensor.cumprod, Tensor.nansum, Tensor.count_nonzero = prod, cumprod, nansum, count_nonzero
Tensor.logaddexp = logaddexp
Tensor.logaddexp2 = logaddexp2
Tensor.nanmean = nanmean


# ---- PyTorch's spellings: thin names over the ops above (docs/api.md, "PyTorch spellings") ----------

def _axis(where: str, dim: int, ndim: int, *, scalar_dim: bool = False) -> int:
    """`dim` as a non-negative axis of a tensor with `ndim` axes; IndexError (as PyTorch's) if it is not one.
    With `scalar_dim`, a 0-d tensor has dim 0 (or -1) too, as PyTorch gives the ops that take one
    (squeeze, argmax, all, softmax, ...): they act on its one entry."""
    extent = (ndim or 1) if scalar_dim else ndim
    if not is_axis(dim, extent):
        raise IndexError(f"{where}: dim {dim!r} is out of range for a tensor with {ndim} axes "
                         f"(expected an integer in [{-extent}, {extent - 1}])")
    return dim % extent


def squeeze(self: Tensor, dim: int | tuple | None = None) -> Tensor:
    """The tensor without its axes of size 1 (of those in `dim`, if given; others stay, as in PyTorch)."""
    dims = range(self.ndim) if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = {_axis("squeeze", d, self.ndim, scalar_dim=True) for d in dims}
    return reshape(self, tuple(n for a, n in enumerate(self.shape) if not (a in axes and n == 1)))


def unsqueeze(self: Tensor, dim: int) -> Tensor:
    """A new axis of size 1 at position `dim` (of the result: -1 appends one)."""
    axis = _axis("unsqueeze", dim, self.ndim + 1)
    return reshape(self, self.shape[:axis] + (1,) + self.shape[axis:])


def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes start_dim..end_dim merged into one (all of them by default: a 1-d tensor). One axis
    (start_dim == end_dim) merges nothing: the tensor itself, as PyTorch's returns it."""
    if self.ndim == 0:
        return reshape(self, (1,))
    start, end = _axis("flatten", start_dim, self.ndim), _axis("flatten", end_dim, self.ndim)
    if start > end:
        raise IndexError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
    return self if start == end else reshape(self, self.shape[:start] + (-1,) + self.shape[end + 1:])


def unflatten(self: Tensor, dim: int, sizes: Any) -> Tensor:
    """Axis `dim` split into axes of `sizes` (a tuple or list of ints; one may be -1, inferred), as
    PyTorch's `t.unflatten(1, (C, W))`: (B, C * W) -> (B, C, W). A reshape, so the gradient is reshaped back."""
    if not isinstance(sizes, (tuple, list)) or not all(is_int(size) for size in sizes):
        raise TypeError(f"unflatten: expected sizes as a tuple or list of ints, got {type(sizes).__name__} {sizes!r}")
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty")
    if list(sizes).count(-1) > 1 or any(size < -1 for size in sizes):
        raise ValueError(f"unflatten: sizes may hold one -1 and sizes >= 0, got {list(sizes)}")
    return _unflattened("unflatten", self, dim, sizes)


def _unflattened(where: str, x: Tensor, dim: int, sizes: Any) -> Tensor:
    """x with axis `dim` reshaped into `sizes` (checked ints, at most one -1, which is inferred);
    ValueError naming `where` when they do not multiply up to the axis's size (`unflatten`, `nn.Unflatten`)."""
    axis = _axis(where, dim, x.ndim)
    shape, extent = list(sizes), x.shape[axis]
    known = math.prod(size for size in shape if size != -1)
    if -1 in shape and known and extent % known == 0:
        shape[shape.index(-1)] = extent // known
    if -1 in shape or math.prod(shape) != extent:
        raise ValueError(f"{where}: sizes {list(sizes)} don't multiply up to the size of dim {dim} ({extent}) "
                         f"of the input of shape {x.shape}")
    return reshape(x, x.shape[:axis] + tuple(shape) + x.shape[axis + 1:])


def t(self: Tensor) -> Tensor:
    """The transpose of a matrix (a vector or a scalar as it is), as PyTorch's t()."""
    if self.ndim > 2:
        raise ValueError(f"t: expected a tensor with at most 2 axes, got shape {self.shape}; use transpose")
    return transpose(self)


def _matrix_transpose(name: str) -> Callable:
    """PyTorch's `t.mT` and `t.mH`: the last two axes swapped (a batch of matrices, each transposed), a
    transpose, so its rule swaps g back; a 0-d tensor is itself (PyTorch's deprecated identity), a 1-d one
    a RuntimeError, as PyTorch's. `mH` conjugates too, which changes nothing in a real tensor."""
    def matrix_transpose(self: Tensor) -> Tensor:
        if self.ndim == 1:
            raise RuntimeError(f"Tensor.{name}: expected a matrix or a batch of matrices (at least 2 axes), "
                               f"got a 1-d tensor of shape {self.shape}")
        if self.dtype.kind == "c" and name != "mT":
            raise NotImplementedError(f"Tensor.{name}: the conjugate of a complex tensor is not supported here; "
                                      "use t.mT for its transpose")
        return self if self.ndim == 0 else transpose(self, -2, -1)
    matrix_transpose.__name__ = matrix_transpose.__qualname__ = name
    return matrix_transpose


def _adjoint(self: Tensor) -> Tensor:
    """PyTorch's `t.H`: the conjugate transpose of a matrix (2 axes; a 0-d tensor is itself); for a real
    tensor `t.T`. Other ranks are a RuntimeError, as PyTorch's (a batch of matrices: `t.mH`)."""
    if self.ndim not in (0, 2):
        batch = "; for a batch of matrices use t.mH" if self.ndim > 2 else ""
        raise RuntimeError(f"Tensor.H: expected a matrix (2 axes) or a 0-d tensor, got shape {self.shape}{batch}")
    return _matrix_transpose("H")(self)


def permute(self: Tensor, *dims: Any, **kwargs: Any) -> Tensor:
    """The axes in the order `dims` (every axis once), as PyTorch's permute: numpy's transpose; `dims=` by
    keyword too, as PyTorch's (`x.permute(dims=[1, 2, 0])`)."""
    if kwargs:
        if dims or set(kwargs) != {"dims"}:
            raise TypeError(f"permute: expected the axes by position or as dims=, got keyword(s) {sorted(kwargs)}"
                            f"{' with axes by position' if dims else ''}")
        dims = (kwargs["dims"],)
    order = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if not is_permutation(order, self.ndim):
        raise ValueError(f"permute: dims {order} are not an order of the {self.ndim} axes of shape {self.shape}")
    return transpose(self, order)


def movedim(self: Tensor, source: Any, destination: Any) -> Tensor:
    """The axes `source` moved to the positions `destination` (an axis each, or sequences of one
    length), the other axes kept in their order, as PyTorch's movedim: numpy's moveaxis, a transpose."""
    sources = tuple(source) if isinstance(source, (tuple, list)) else (source,)
    destinations = tuple(destination) if isinstance(destination, (tuple, list)) else (destination,)
    ndim = self.ndim
    wrap = ndim or 1                                # (a 0-d tensor takes dim 0 or -1, and nothing moves)
    if len(sources) != len(destinations) or not all(is_axis(d, wrap) for d in sources + destinations):
        raise ValueError(f"movedim: source {source!r} and destination {destination!r} must be axes of shape "
                         f"{self.shape} (from {-wrap} to {wrap - 1}), as many of each")
    sources, destinations = [d % wrap for d in sources], [d % wrap for d in destinations]
    if len(set(sources)) != len(sources) or len(set(destinations)) != len(destinations):
        raise ValueError(f"movedim: repeated axis in source {source!r} or destination {destination!r}")
    if not ndim:
        return transpose(self, ())
    order = [axis for axis in range(ndim) if axis not in sources]
    for position, axis in sorted(zip(destinations, sources)):
        order.insert(position, axis)
    return transpose(self, tuple(order))


def _swap(name: str, self: Tensor, first: Any, second: Any) -> Tensor:
    """Axes `first` and `second` swapped, the others in place: a transpose (its rule swaps them back)."""
    wrap = self.ndim or 1                           # (a 0-d tensor takes dim 0 or -1, as PyTorch's)
    if not (is_axis(first, wrap) and is_axis(second, wrap)):
        raise ValueError(f"{name}: expected two axes of shape {self.shape} (from {-wrap} to {wrap - 1}), "
                         f"got {first!r} and {second!r}")
    return transpose(self, first, second) if self.ndim else transpose(self, ())


def _swapaxes(self: Tensor, axis0: Any, axis1: Any) -> Tensor:
    """x with axes axis0 and axis1 swapped (d2l's `self.linear(hiddens).swapaxes(0, 1)`), as PyTorch's
    swapaxes, its alias of transpose(dim0, dim1); numpy's swapaxes."""
    return _swap("swapaxes", self, axis0, axis1)


def _swapdims(self: Tensor, dim0: Any, dim1: Any) -> Tensor:
    """x with axes dim0 and dim1 swapped, as PyTorch's swapdims, its other alias of transpose(dim0, dim1)."""
    return _swap("swapdims", self, dim0, dim1)


def _shaped_in_place(name: str, change: Callable) -> Callable:
    """PyTorch's in-place shape changes, `h.squeeze_(0)`, `x.unsqueeze_(0)`, `t_()`, `transpose_(0, 1)`: the
    tensor takes `change`'s result, its array and, while recording, its history, as after `t += u`. A part
    of another tensor (t = u[i], u.view(...)) stays one, as a PyTorch view changes its own shape: its place
    in u is its old place, then the change (`InTurn`), so a loop of them holds no chain. Refused
    (RuntimeError) where that would leave a node of the old shape: a leaf that requires grad (its gradient
    has its shape), a tensor with history under `no_grad()`."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        node = self._node
        if node is not None and node.kind is LEAF:
            refused = "a leaf that requires grad"
        elif node is not None and node.kind is not CUT and not grad_enabled.get():
            refused = "a tensor with history under no_grad()"
        else:
            refused = None
        if refused:
            raise RuntimeError(f"{name}: cannot change the shape of {refused} in place; write t = t.{name[:-1]}(...)")
        if self._part_of is None:
            self._take(change(self, *args, **kwargs), recording=True)  # (a cut state becomes a constant, as after +=)
            return self
        base, index, seen, depth = self._part_of
        new = change(copy.copy(self), *args, **kwargs)      # a reshape or transpose of the part as it was
        self._data, self._node, self._tangent = new._data, new._node, new._tangent
        if new._part_of is None:                # (an empty tensor's reshape: numpy shares no memory, nothing to write)
            self._part_of = None
            return self
        steps = (index.steps if type(index) is InTurn else (index,)) + (new._part_of[1],)
        self._part_of = (base, InTurn(steps), seen, depth)     # (one level below base still: no chain grows)
        return self
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In place: t takes t.{name[:-1]}(...) and its history, as after `t += u`; returns t."
    return method


def iterate(self: Tensor) -> Iterator[Tensor]:
    """The sub-tensors along the first axis, as PyTorch's; a 0-d tensor has none to iterate over."""
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (getitem(self, i) for i in range(len(self)))


def contains(self: Tensor, element: Any) -> bool:
    """`element in t`: whether any entry equals `element` (a number, or a tensor compared with
    broadcasting), as PyTorch's `Tensor.__contains__`; anything else a RuntimeError, as PyTorch's.
    (Without it Python would compare `element` with each row: an error for a matrix.)"""
    if not isinstance(element, (Tensor, numbers.Number)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                           f"{type(element).__name__}")
    other = element._data if isinstance(element, Tensor) else element
    return bool((self._data == other).any())


def reversed_along_first_axis(self: Tensor) -> Tensor:
    """`reversed(t)`: t.flip(0), and a 0-d tensor itself, as PyTorch's `Tensor.__reversed__` (without it
    Python's `reversed` would give an iterator, not a tensor)."""
    return self if self.ndim == 0 else self.flip(0)


def size(self: Tensor, dim: int | None = None) -> tuple | int:
    """The shape (a `Size`, as PyTorch's `torch.Size`), or its length along `dim`."""
    if dim is None:
        return Size(self.shape)
    return self.shape[_axis("size", dim, self.ndim)]


def narrow(self: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements start .. start + length - 1 along `dim` (a negative start counts from the end): a slice."""
    return getitem(self, _narrowed("narrow", self, dim, start, length))


def _narrowed(where: str, t: Tensor, dim: int, start: int, length: int) -> tuple:
    """The basic index of `narrow(t, dim, start, length)`; an error naming `where` if it does not fit."""
    axis = _axis(where, dim, t.ndim)
    extent = t.shape[axis]
    begin = start + extent if is_int(start) and start < 0 else start
    if not (is_int(begin) and is_int(length) and begin >= 0 and length >= 0 and begin + length <= extent):
        raise IndexError(f"{where}: start {start!r} and length {length!r} do not fit an axis of size {extent} "
                         f"(shape {t.shape})")
    return (slice(None),) * axis + (slice(begin, begin + length),)


def _position_of(find: Callable, extreme: str) -> Callable:
    name = find.__name__

    def position(self: Tensor, dim: int | None = None, keepdim: bool | None = None, *, axis: int | None = None,
                 keepdims: bool | None = None) -> Tensor:
        axis, keepdims = axis_keepdims(name, axis, keepdims, dim, keepdim)
        axis = None if axis is None else _axis(name, axis, self.ndim, scalar_dim=True)
        return owned(np.asarray(find(self._data, axis=axis, keepdims=keepdims), dtype=np.int64))
    position.__name__ = name
    position.__doc__ = (f"The position of the {extreme} (of the flattened tensor unless `dim` is given): "
                        "integers, no gradient.")
    return position


argmax, argmin = _position_of(np.argmax, "maximum"), _position_of(np.argmin, "minimum")


def _comparison(compare: np.ufunc, name: str) -> tuple[Callable, Callable]:
    """The method `t.lt(u)` and the operator `t < u` of one comparison."""
    def comparison(self: Tensor, other: Any) -> Tensor:
        if not isinstance(other, (Tensor, np.ndarray, np.generic, numbers.Number)):
            raise TypeError(f"{name}: expected a tensor, an array or a number to compare with, got "
                            f"{type(other).__name__}")
        return owned(np.asarray(ew.operands(name, compare, self, other)[2]))

    def operator(self: Tensor, other: Any) -> Tensor:
        if not isinstance(other, (Tensor, np.ndarray, np.generic, numbers.Number)):
            return NotImplemented           # (t == None is False, t < "a" a TypeError, as in PyTorch)
        return comparison(self, other)
    comparison.__name__ = name
    comparison.__doc__ = (f"Elementwise `{name}` with broadcasting, as PyTorch's: a bool tensor, no gradient "
                          "(a step function's derivative is zero wherever it has one).")
    return comparison, operator


(eq, eq_operator), (ne, ne_operator), (lt, lt_operator), (le, le_operator), (gt, gt_operator), (ge, ge_operator) = (
    _comparison(np.equal, "eq"), _comparison(np.not_equal, "ne"), _comparison(np.less, "lt"),
    _comparison(np.less_equal, "le"), _comparison(np.greater, "gt"), _comparison(np.greater_equal, "ge"))


def softmax(self: Tensor, dim: int | None = None, dtype: Any = None, *, axis: int | None = None) -> Tensor:
    """e^(log softmax) along `dim` (the last axis by default): two primitives, so the chain rule
    gives its gradient; `dtype` converts the input first, as PyTorch's."""
    dim = either("softmax", "axis", axis, "dim", dim, -1)
    self = ew.in_dtype("softmax", self, dtype)
    try:
        return ew.exp(log_softmax(self, _axis("softmax", dim, self.ndim, scalar_dim=True)))
    except TypeError:
        if self.dtype.kind != "b":
            raise
        raise TypeError(no_bool_kernel("softmax", convert="t.float()")) from None


def log_softmax_method(self: Tensor, dim: int | None = None, dtype: Any = None, *, axis: int | None = None) -> Tensor:
    """`t.log_softmax(dim, dtype=None)`: the op (`ops.softmax.log_softmax`), `dtype` converting the input
    first, as PyTorch's."""
    return log_softmax(ew.in_dtype("log_softmax", self, dtype), axis, dim=dim)


log_softmax_method.__name__ = log_softmax_method.__qualname__ = "log_softmax"


def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """`to(dtype)`, `to("cpu")`, `to("cpu", dtype)`, `to(other)`: the tensor in that dtype (itself when
    it already is); a device other than the CPU raises."""
    dtype = target_dtype("to", args, kwargs)
    return self if dtype is None or dtype == self.dtype else ew.astype(self, dtype)


def index(self: Tensor) -> int:
    """A one-element integer tensor as a Python index (`words[t.argmax()]`), as in PyTorch."""
    if self._data.dtype.kind not in "iu" or self._data.size != 1:
        raise TypeError(f"index: only a one-element integer tensor can be used as an index, got dtype "
                        f"{self.dtype} and shape {self.shape}")
    return int(self._data.item())


def _size_argument(where: str, sizes: tuple, size: Any) -> tuple:
    """The shape given to `new_zeros` and kin positionally (`t.new_zeros(2, 3)`, `t.new_zeros((2, 3))`) or by
    PyTorch's keyword `size=` (`x.new_zeros(size=(batch, d))`, as sru's pure-Python recurrence writes it), not
    both (TypeError, as PyTorch's "invalid combination of arguments")."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError(f"{where}: the size was given twice, as {sizes!r} and as size={size!r}")
    return (size,)


def _new(fill: Callable) -> Callable:
    def new(self: Tensor, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
        where = f"new_{fill.__name__}"
        check_device(where, device)
        shape = sizes_of(_size_argument(where, sizes, size), where)
        return owned(fill(shape, dtype=dtype or self.dtype), requires_grad)
    new.__doc__ = (f"A new tensor of {fill.__name__} in this tensor's dtype: `t.new_{fill.__name__}(2, 3)`, or "
                   f"`t.new_{fill.__name__}(size=(2, 3))`.")
    return new


def new(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """PyTorch's legacy `t.new(*sizes)`: a new tensor of that shape in this tensor's dtype, of zeros
    (PyTorch's is uninitialised, as `empty`'s, which gives zeros here too), so the char-RNN idiom
    `weight.new(n_layers, batch, hidden).zero_()` ports. `t.new()` is empty, shape (0,). Given one list,
    tuple, array or tensor, `t.new([1, 2])` is that data in this tensor's dtype, as PyTorch's; but one
    `Size` (`t.new(t.size())`) is a shape, as there."""
    check_device("new", device)
    dtype = dtype or self.dtype
    if len(size) == 1 and isinstance(size[0], (list, tuple, np.ndarray, Tensor)) and not isinstance(size[0], Size):
        return owned(np.array(size[0], dtype=dtype), requires_grad)
    return owned(np.zeros(sizes_of(size, "new") if size else (0,), dtype=dtype), requires_grad)


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """PyTorch's `t.new_tensor(data)`: a new tensor of `data` (a copy, without history) in this
    tensor's dtype unless `dtype` is given."""
    check_device("new_tensor", device)
    return tensor(data, requires_grad, dtype=dtype or self.dtype)


def new_empty(self: Tensor, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """PyTorch's `t.new_empty(2, 3)` (or `size=(2, 3)`): a new tensor of that shape in this tensor's dtype, of
    zeros (PyTorch's is uninitialised, as `mg.empty`'s, which gives zeros here too)."""
    check_device("new_empty", device)
    shape = sizes_of(_size_argument("new_empty", sizes, size), "new_empty")
    return owned(np.zeros(shape, dtype=dtype or self.dtype), requires_grad)


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """The tensor itself when its array is in C order (`t.is_contiguous()`), else a C-ordered copy
    (`clone`, so the gradient passes through), as PyTorch's: `x.t().contiguous().stride()` is (2, 1).
    `memory_format` is checked and changes no layout (`spellings.memory_format`); `torch.preserve_format` is
    refused for a tensor that is not contiguous, as PyTorch's ("unsupported by the contiguous operator")."""
    check_memory_format("contiguous", memory_format, self.ndim, preserve=self._data.flags.c_contiguous)
    return self if self._data.flags.c_contiguous else ew.clone(self)


def dot(self: Tensor, other: Any) -> Tensor:
    """The inner product of two 1-d tensors of one length and dtype, as torch.dot: `matmul` of two
    vectors, a 0-d tensor (d/dself = other, d/dother = self)."""
    other = other if isinstance(other, Tensor) else as_tensor(other, where="dot")
    if self.ndim != 1 or other.ndim != 1 or self.shape != other.shape:
        raise ValueError(f"dot: expected two 1-d tensors of the same length, got shapes {self.shape} and {other.shape}")
    if self.dtype != other.dtype:
        raise TypeError(f"dot: expected two tensors of the same dtype, got {self.dtype} and {other.dtype}")
    return matmul(self, other)


def view_as(self: Tensor, other: Any) -> Tensor:
    """This tensor reshaped to `other`'s shape (`label.view_as(pred)`), as PyTorch's `view_as` and
    `reshape_as`; `other` is anything with a `shape`. ValueError when the sizes differ, as `view`'s."""
    if not hasattr(other, "shape"):
        raise TypeError(f"view_as: expected a tensor (or an array) to take the shape of, got {type(other).__name__}")
    return reshape(self, tuple(other.shape))


def new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """A new tensor of shape `size` filled with `fill_value`, in this tensor's dtype."""
    check_device("new_full", device)
    value = fill_number(fill_value, "new_full", "fill_value")
    return owned(np.full(sizes_of((size,), "new_full"), value, dtype=dtype or self.dtype), requires_grad)


Tensor.view, Tensor.squeeze, Tensor.unsqueeze, Tensor.flatten, Tensor.t = reshape, squeeze, unsqueeze, flatten, t
Tensor.mT, Tensor.mH, Tensor.H = property(_matrix_transpose("mT")), property(_matrix_transpose("mH")), property(
    _adjoint)
Tensor.unflatten = unflatten


def _split_with_sizes(self: Tensor, split_sizes: Any, dim: int = 0) -> tuple:
    """PyTorch's `t.split_with_sizes(split_sizes, dim=0)`: `t.split(split_sizes, dim)` with a list of lengths."""
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"split_with_sizes: expected split_sizes as a list or tuple of ints, got "
                        f"{type(split_sizes).__name__} {split_sizes!r}")
    return self.split(list(split_sizes), dim)


# PyTorch's unsafe_ forms are its split and chunk whose pieces autograd does not track as views (so that an
# in-place op on one is not refused while recording); the pieces here are parts of t either way, as there they
# share its memory
Tensor.split_with_sizes = _split_with_sizes
Tensor.unsafe_split = lambda self, split_size, dim=0: self.split(split_size, dim)
Tensor.unsafe_split_with_sizes = lambda self, split_sizes, dim=0: _split_with_sizes(self, split_sizes, dim)
Tensor.unsafe_chunk = lambda self, chunks, dim=0: self.chunk(chunks, dim)
Tensor.view_as = Tensor.reshape_as = view_as
Tensor.squeeze_, Tensor.unsqueeze_ = _shaped_in_place("squeeze_", squeeze), _shaped_in_place("unsqueeze_", unsqueeze)
Tensor.t_, Tensor.transpose_ = _shaped_in_place("t_", t), _shaped_in_place("transpose_", transpose)
Tensor.size, Tensor.numel, Tensor.dim = size, lambda self: int(self._data.size), lambda self: self._data.ndim
Tensor.ndimension = Tensor.dim                  # PyTorch's older name of dim()
Tensor.nelement = Tensor.numel
Tensor.narrow, Tensor.contiguous, Tensor.permute, Tensor.__iter__ = narrow, contiguous, permute, iterate
Tensor.__reversed__, Tensor.__contains__ = reversed_along_first_axis, contains
Tensor.movedim = Tensor.moveaxis = movedim
Tensor.swapaxes, Tensor.swapdims = _swapaxes, _swapdims
Tensor.swapaxes_, Tensor.swapdims_ = _shaped_in_place("swapaxes_", _swapaxes), _shaped_in_place("swapdims_", _swapdims)
Tensor.argmax, Tensor.argmin, Tensor.softmax, Tensor.log_softmax = argmax, argmin, softmax, log_softmax_method
Tensor.mul, Tensor.dot = ew.mul, dot      # (t.div, with PyTorch's rounding_mode=, is in arithmetic.py)
Tensor.to, Tensor.cpu = to, lambda self: self
Tensor.float, Tensor.double, Tensor.long = (lambda self: to(self, np.float32), lambda self: to(self, np.float64),
                                            lambda self: to(self, np.int64))
Tensor.new_zeros, Tensor.new_ones, Tensor.new_full, Tensor.new = _new(np.zeros), _new(np.ones), new_full, new
Tensor.new_tensor, Tensor.new_empty = new_tensor, new_empty
Tensor.tolist, Tensor.__index__ = lambda self: self._data.tolist(), index
Tensor.__eq__, Tensor.__ne__, Tensor.__lt__ = eq_operator, ne_operator, lt_operator
Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = le_operator, gt_operator, ge_operator
Tensor.eq, Tensor.ne, Tensor.lt, Tensor.le, Tensor.gt, Tensor.ge = eq, ne, lt, le, gt, ge
