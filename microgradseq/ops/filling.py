"""PyTorch's methods that fill a tensor, whole or at chosen positions: `t.masked_fill(mask, v)`,
`t.index_fill(dim, index, v)`, `t.scatter(dim, index, src)`, each also in place (`masked_fill_`,
`index_fill_`, `scatter_`, with the rules of `t += u`); `t.fill_(v)`, `t.zero_()`, `t.uniform_(a, b)`,
`t.normal_(mean, std)`, `t.random_(from, to)`, `t.bernoulli_(p)`, `t.exponential_(lambd)`,
`t.geometric_(p)` (and `t.bernoulli()`, a new tensor of draws); `t.nan_to_num()`, NaN and infinities replaced by
numbers; and `t.nonzero()` (`t.argwhere()`), the positions of the non-zero entries.

None needs a rule of its own: masked_fill, index_fill and nan_to_num are `where` (the gradient
passes where the entries are kept), scatter is `index_put` (the written positions send their
gradient to the source, the others to the tensor), and scatter with `reduce="add"` or `"multiply"` is
`scatter_reduce`'s "sum" or "prod" with self's entries included.

    scores.masked_fill_(mask == 0, -float("inf"))            # attention: no weight on padding
    smoothed.scatter_(1, target.unsqueeze(1), confidence)     # label smoothing's target distribution
    smoothed.index_fill_(0, torch.nonzero(target == pad).squeeze(), 0.0)
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from ..checks import broadcasts_to, fill_number, is_finite_number, is_int, probability, user_stacklevel
from ..random import generator_or_default
from ..tensor import Tensor, array_of, as_tensor, owned
from . import elementwise as ew
from .assign import index_put, number_for
from .methods import _axis, to
from .scattering import scatter_reduce
from .selecting import _along_index
from .shape import getitem


def masked_fill(self: Tensor, mask: Any, value: Any) -> Tensor:
    """`value` where `mask` is True, self elsewhere (mask broadcasts): where(mask, value, self), in
    self's dtype."""
    fill_number(value, "masked_fill")
    picks = array_of(mask)
    if picks.dtype != np.bool_:
        raise TypeError(f"masked_fill: expected a bool mask (as PyTorch's), got dtype {picks.dtype}")
    try:
        np.broadcast_shapes(picks.shape, self.shape)
    except ValueError:
        raise ValueError(f"masked_fill: a mask of shape {picks.shape} does not broadcast with the tensor's shape "
                         f"{self.shape}") from None
    filled = ew.where(mask, value, self)
    return filled if filled.dtype == self.dtype else to(filled, self.dtype)


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """In place, as `masked_fill` (the tensor gets a new array, with the rules of `t += u`): attention
    scores masked before a softmax, `scores.masked_fill_(mask == 0, -float('inf'))`. Returns the tensor."""
    return self._in_place("masked_fill_", lambda t, m: masked_fill(t, m, value), mask)


def index_fill(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """`value` (a number or a 0-d tensor) at every entry whose position along `dim` is in `index`
    (0-d or 1-d integers, negative ones counted from the end), self elsewhere, as PyTorch's: a
    `where` over those slices, in self's dtype."""
    fill_number(value, "index_fill")
    axis = _axis("index_fill", dim, max(self.ndim, 1))
    extent = self.shape[axis] if self.ndim else 1
    picks = array_of(index)
    if picks.dtype.kind not in "iu" or picks.ndim > 1:
        raise IndexError(f"index_fill: expected a 0-d or 1-d integer index, got {picks.dtype} of shape {picks.shape}")
    if picks.size and (picks.min() < -extent or picks.max() >= extent):
        raise IndexError(f"index_fill: indices from {picks.min()} to {picks.max()} are out of range for a dim "
                         f"of size {extent}")
    value = number_for(value, self.dtype, "index_fill")
    chosen = np.zeros(extent, dtype=bool)
    chosen[picks % extent] = True
    along = chosen.reshape((-1,) + (1,) * (self.ndim - axis - 1)) if self.ndim else chosen.reshape(())
    return masked_fill(self, along, value)


def index_fill_(self: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """In place, as `index_fill`; returns the tensor."""
    return self._in_place("index_fill_", lambda t, _: index_fill(t, dim, index, value), None)


_SCATTER_REDUCTIONS = {"add": "sum", "multiply": "prod"}


def scatter(self: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> Tensor:
    """self with src's entries written where `index` says along `dim`, as PyTorch's: for dim 1,
    out[i][index[i][j]] = src[i][j] (src a tensor of at least index's size, or one number). `index`
    is int64 with self's number of axes, no longer than self along the others (an empty one writes
    nothing; a 0-d tensor counts as one axis). An `index_put`: the gradient of the written entries
    goes to src, the others' to self.

    With `reduce="add"` (or `"multiply"`) the entries sent to a position are added to (multiplied
    into) self's entry there, an index named twice counting twice: out[i][index[i][j]] += src[i][j],
    as PyTorch's, which warns that `reduce` with a tensor src is deprecated for `scatter_reduce`. It is
    `scatter_reduce(dim, index, src, "sum" or "prod", include_self=True)`, and so is its gradient,
    where PyTorch's backward through it is not implemented (pytorch/pytorch#88097)."""
    if (src is None) == (value is None):
        raise TypeError("scatter: pass the values to write once: a tensor `src` or a number `value`")
    if reduce is not None:
        return _scatter_reduced(self, dim, index, value if src is None else src, reduce)
    picks = array_of(index)
    if picks.dtype != np.int64:
        raise TypeError(f"scatter: expected an int64 index (as PyTorch's), got dtype {picks.dtype}")
    if self.ndim == 0:                  # (one axis of one entry, as PyTorch's)
        given = as_tensor(src).reshape(-1) if isinstance(src, (Tensor, np.ndarray, list)) else src
        return scatter(self.reshape(1), dim, picks.reshape(-1), given, value=value).reshape(())
    _axis("scatter", dim, self.ndim)
    if picks.size == 0:
        return ew.clone(self)        # a new tensor, as PyTorch's out-of-place scatter
    positions = _along_index("scatter", self, dim, picks)
    given = value if src is None else src
    if isinstance(given, (Tensor, np.ndarray, list)):
        source = as_tensor(given)
        if source.ndim != picks.ndim or any(n > m for n, m in zip(picks.shape, source.shape)):
            raise ValueError(f"scatter: src of shape {source.shape} does not cover index of shape {picks.shape}")
        given = getitem(source, tuple(slice(0, n) for n in picks.shape))
    try:
        return index_put(self, positions, given)
    except (TypeError, ValueError, IndexError) as error:
        raise type(error)(f"scatter: {str(error).partition('index_put: ')[2] or error}") from None


def _scatter_reduced(self: Tensor, dim: int, index: Any, given: Any, reduce: Any) -> Tensor:
    """scatter's `reduce=` form: given (a tensor, or one number sent to every position `index` names)
    added or multiplied into self, by `scatter_reduce` with self's entries included."""
    if reduce not in _SCATTER_REDUCTIONS:
        raise ValueError(f"scatter: reduce must be 'add' or 'multiply' (as PyTorch's), got {reduce!r}")
    if isinstance(given, (Tensor, np.ndarray, list)):
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in "
                      "a future PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                      UserWarning, stacklevel=user_stacklevel())
        source = given
    else:
        number = number_for(fill_number(given, "scatter"), self.dtype, "scatter")
        source = owned(np.full(array_of(index).shape, number, dtype=self.dtype))
    try:
        return scatter_reduce(self, dim, index, source, _SCATTER_REDUCTIONS[reduce], include_self=True)
    except (TypeError, ValueError, IndexError) as error:
        raise type(error)(f"scatter: {str(error).partition('scatter_reduce: ')[2] or error}") from None


def scatter_(self: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None,
             reduce: Any = None) -> Tensor:
    """In place, as `scatter`; returns the tensor."""
    return self._in_place("scatter_", lambda t, _: scatter(t, dim, index, src, value=value, reduce=reduce), None)


def fill_(self: Tensor, value: Any) -> Tensor:
    """Every entry set to `value`, as an in-place operator does: the tensor gets a new array."""
    return self._in_place("fill_", lambda t, v: owned(np.full(t.shape, v, dtype=t.dtype)), fill_number(value, "fill_"))


def zero_(self: Tensor) -> Tensor:
    """Every entry set to 0, as `fill_(0)`; errors name `zero_`, the function called."""
    return self._in_place("zero_", lambda t, _: owned(np.zeros(t.shape, dtype=t.dtype)), None)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    """Every entry drawn from uniform(a, b), as an in-place operator sets them (a new array; old code's
    `torch.FloatTensor(n, m).uniform_(-0.1, 0.1)`), from `generator` or the generator `manual_seed`
    sets; a floating-point tensor only."""
    _random_fill_checks("uniform_", self, a=a, b=b)
    if not a <= b:
        raise ValueError(f"uniform_: expected a <= b, got a={a!r}, b={b!r}")
    draw = generator_or_default(None, "uniform_", generator)
    return self._in_place("uniform_", lambda t, _: owned(draw.uniform(a, b, t.shape).astype(t.dtype)), None)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Every entry drawn from N(mean, std^2), as `uniform_` draws; std >= 0."""
    _random_fill_checks("normal_", self, mean=mean, std=std)
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std!r}")
    draw = generator_or_default(None, "normal_", generator)
    return self._in_place("normal_", lambda t, _: owned(draw.normal(mean, std, t.shape).astype(t.dtype)), None)


def random_(self: Tensor, *bounds: int, to: int | None = None, generator: Any = None) -> Tensor:
    """Every entry an integer drawn uniformly from from..to-1, as PyTorch's `random_(from, to)` and
    `random_(to)` (from 0), from the generator `uniform_` draws from; in the tensor's dtype, real or bool,
    which must hold from and to - 1 (`torch.empty(3, dtype=torch.long).random_(5)`: class targets in
    PyTorch's loss examples). With no bound, PyTorch's: 0..2^m for a float dtype of m mantissa bits
    (2^24 for float32), 0..max for an integer one, 0..1 for bool."""
    if self.dtype.kind == "c":
        raise TypeError(f"random_: expected a real or bool tensor, got dtype {self.dtype} (as PyTorch's)")
    if to is not None:
        bounds = bounds + (to,)
    if len(bounds) > 2 or not all(is_int(bound) for bound in bounds):
        raise TypeError(f"random_: expected random_(), random_(to) or random_(from, to) with integers, got "
                        f"{bounds!r}")
    least, most = _range_of(self.dtype)
    if len(bounds) == 2:
        low, high = bounds[0], bounds[1] - 1
    elif bounds:
        low, high = 0, bounds[0] - 1
    else:
        low, high = 0, 2 ** (np.finfo(self.dtype).nmant + 1) if self.dtype.kind == "f" else most
    if low > high:
        raise ValueError(f"random_: expected from < to, got from={low}, to={high + 1}")
    for name, bound in (("from", low), ("to - 1", high)):   # (uint8's -1 would wrap to 255, bool's 4 be True)
        if not least <= bound <= most:
            raise ValueError(f"random_: {name} = {bound} is out of bounds for {self.dtype} ({least}..{most})")
    draw = generator_or_default(None, "random_", generator)
    return self._in_place("random_", lambda t, _: owned(
        draw.integers(low, high, t.shape, endpoint=True).astype(t.dtype)), None)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:
    """1 with probability input_i, else 0, entry by entry, in input's dtype, as `torch.bernoulli(input)`
    (a floating tensor of probabilities in [0, 1]); with a number `p`, each entry 1 with probability p,
    in input's shape and dtype (`torch.bernoulli(input, p)`). From `generator` or the generator
    `mg.manual_seed` sets; a constant (PyTorch's gradient through it is zero)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: expected a tensor of probabilities, got {type(input).__name__}")
    if p is None:
        if input.dtype.kind != "f":
            raise TypeError(f"bernoulli: expected a floating-point tensor of probabilities, got dtype {input.dtype}")
        chances = input._data
        if not np.all((chances >= 0) & (chances <= 1)):
            raise ValueError(f"bernoulli: expected probabilities in [0, 1], got {_spread(chances)}")
    else:
        chances = probability(p, "p", "bernoulli")
    draw = generator_or_default(None, "bernoulli", generator)
    return owned((draw.random(input.shape) < chances).astype(input.dtype))


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Every entry 1 with probability p (a number in [0, 1], or a floating tensor of them that broadcasts
    to the tensor's shape), else 0, in the tensor's dtype, as an in-place operator sets them: `mask =
    torch.empty(n).bernoulli_(keep)`, a dropout mask."""
    if self.dtype.kind not in "biuf":
        raise TypeError(f"bernoulli_: expected a real or bool tensor, got dtype {self.dtype}")
    if isinstance(p, (Tensor, np.ndarray)):
        chances = array_of(p)
        if chances.dtype.kind != "f":
            raise TypeError(f"bernoulli_: expected p to be a floating tensor of probabilities, got dtype "
                            f"{chances.dtype}")
        if not np.all((chances >= 0) & (chances <= 1)):
            raise ValueError(f"bernoulli_: expected probabilities p in [0, 1], got {_spread(chances)}")
        if not broadcasts_to(chances.shape, self.shape):
            raise ValueError(f"bernoulli_: p of shape {chances.shape} does not broadcast to the tensor's shape "
                             f"{self.shape}")
    else:
        chances = probability(p, "p", "bernoulli_")
    draw = generator_or_default(None, "bernoulli_", generator)
    return self._in_place("bernoulli_", lambda t, _: owned((draw.random(t.shape) < chances).astype(t.dtype)), None)


def _spread(values: np.ndarray) -> str:
    """The range of `values` for an error: "values from -0.5 to 1.2" (and NaN)."""
    numbers = values[~np.isnan(values)]
    spread = f"values from {numbers.min()} to {numbers.max()}" if numbers.size else "no numbers"
    return spread + (" and NaN" if numbers.size < values.size else "")


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Every entry drawn from the exponential distribution of rate `lambd` > 0 (density lambd e^(-lambd x),
    mean 1 / lambd), as `uniform_` draws; a floating-point tensor."""
    _random_fill_checks("exponential_", self, lambd=lambd)
    if lambd <= 0:
        raise ValueError(f"exponential_: expects lambd > 0, got lambd={lambd!r}")
    draw = generator_or_default(None, "exponential_", generator)
    return self._in_place("exponential_", lambda t, _: owned(draw.exponential(1 / lambd, t.shape).astype(t.dtype)),
                          None)


def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Every entry the number of trials up to the first success, each a success with probability p in
    (0, 1): k = 1, 2, ... with probability (1 - p)^(k - 1) p, in the tensor's dtype (real numbers)."""
    if self.dtype.kind not in "iuf":
        raise TypeError(f"geometric_: expected a real tensor, got dtype {self.dtype}")
    if not is_finite_number(p) or not 0 < p < 1:
        raise ValueError(f"geometric_: expects p in (0, 1), got p={p!r}")
    draw = generator_or_default(None, "geometric_", generator)
    return self._in_place("geometric_", lambda t, _: owned(draw.geometric(p, t.shape).astype(t.dtype)), None)


def _range_of(dtype: np.dtype) -> tuple:
    """The least and the most numbers `dtype` holds, as Python numbers (bool: 0 and 1)."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "iu":
        return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    largest = float(np.finfo(dtype).max)
    return -largest, largest


def _random_fill_checks(where: str, self: Tensor, **numbers: Any) -> None:
    if self.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {self.dtype}")
    for name, value in numbers.items():
        if not is_finite_number(value):
            raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")


def nan_to_num(self: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN -> `nan`, +inf -> `posinf`, -inf -> `neginf` (by default the dtype's largest and smallest
    finite numbers), as torch.nan_to_num: where(isfinite(x), x, replacement), so the gradient passes
    where an entry was finite and is 0 where it was replaced, as PyTorch's. An integer or bool tensor
    has nothing to replace: a copy."""
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if value is not None and not (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))):
            raise TypeError(f"nan_to_num: {name} must be a number (or None), got {value!r}")
    if self.dtype.kind not in "fc":
        return ew.clone(self)
    nan = 0.0 if nan is None else nan          # (PyTorch's nan=None: zero, its default)
    least, most = _range_of(self.dtype)
    with np.errstate(over="ignore"):        # (a replacement past float16's range is +-inf, quietly, as PyTorch's)
        replaced = np.nan_to_num(self._data, nan=nan, posinf=most if posinf is None else posinf,
                                 neginf=least if neginf is None else neginf)
    return ew.where(np.isfinite(self._data), self, replaced.astype(self.dtype, copy=False))


def nonzero(self: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """Where the entries are not zero, in row-major order, as PyTorch's: int64 of shape (count,
    self.dim()), one row per entry; with `as_tuple`, one 1-d tensor per axis (numpy's nonzero).
    Integers out: no gradient."""
    data = self._data
    if as_tuple:
        return tuple(owned(axis.astype(np.int64)) for axis in np.nonzero(np.atleast_1d(data)))
    return owned(np.argwhere(data).astype(np.int64))


def argwhere(self: Tensor) -> Tensor:
    """The positions of the entries that are not zero, as torch.argwhere: `nonzero()`, int64 of shape
    (count, self.dim()), one row per entry in row-major order. No gradient."""
    return nonzero(self)


Tensor.masked_fill, Tensor.masked_fill_ = masked_fill, masked_fill_
Tensor.index_fill, Tensor.index_fill_, Tensor.scatter, Tensor.scatter_ = index_fill, index_fill_, scatter, scatter_
Tensor.nonzero, Tensor.argwhere, Tensor.nan_to_num = nonzero, argwhere, nan_to_num
Tensor.fill_, Tensor.zero_ = fill_, zero_
Tensor.uniform_, Tensor.normal_, Tensor.random_ = uniform_, normal_, random_
Tensor.bernoulli, Tensor.bernoulli_ = bernoulli, bernoulli_
Tensor.exponential_, Tensor.geometric_ = exponential_, geometric_
