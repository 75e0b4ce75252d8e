"""Tensors made from nothing (zeros, ones, randn, ...) or from data (`as_tensor`)."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from .checks import flag, is_finite_number, is_int, not_numbers, user_stacklevel
from .dtypes import LEGACY_TENSOR_TYPES
from .random import generator_or_default
from .spellings import Size, check_device, check_memory_format, shape_of, sizes_of
from .ops.arithmetic import _scalar_of
from .ops.assign import number_for
from .tensor import Tensor, array_of, default_complex_dtype, get_default_dtype, owned, tensor


def _shape(shape: tuple, where: str, size: Any = None) -> tuple:
    """A shape given as `2, 3` or `(2, 3)`, or by PyTorch's keyword `size=(2, 3)`, checked to be integers
    >= 0 (ValueError naming `where`; both ways at once: TypeError)."""
    if size is not None:
        if shape:
            raise TypeError(f"{where}: got the sizes both as arguments {shape!r} and as size={size!r}; pass one")
        shape = (size,)
    return sizes_of(shape, where)


def zeros(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)`, `zeros((2, 3))` or `zeros(size=(2, 3))`."""
    check_device("zeros", device)
    return owned(np.zeros(_shape(shape, "zeros", size), dtype=dtype or get_default_dtype()), requires_grad)


def ones(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones: `ones(2, 3)`, `ones((2, 3))` or `ones(size=(2, 3))`."""
    check_device("ones", device)
    return owned(np.ones(_shape(shape, "ones", size), dtype=dtype or get_default_dtype()), requires_grad)


def randn(*shape: Any, size: Any = None, rng: np.random.Generator | None = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """Standard normal samples, from `rng` (PyTorch's `generator=`) or the generator `manual_seed` sets."""
    check_device("randn", device)
    rng = generator_or_default(rng, "randn", generator)
    data = rng.standard_normal(_shape(shape, "randn", size)).astype(dtype or get_default_dtype())
    return owned(data, requires_grad)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           rng: np.random.Generator | None = None, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Samples from N(mean, std^2), as torch.normal: numbers for mean and std with a `size` (in `dtype`,
    by default the default float dtype: `normal(0, 1, (2, 3))`), or tensors of means and/or stds, one
    draw per entry of their broadcast shape (in the tensor's floating dtype). From `rng` (PyTorch's
    `generator=`) or the generator `manual_seed` sets; a constant."""
    check_device("normal", device)
    rng = generator_or_default(rng, "normal", generator)
    given = [array_of(v) for v in (mean, std)]
    arrays = [a for v, a in zip((mean, std), given) if isinstance(v, (Tensor, np.ndarray, list, tuple))]
    if arrays:
        if size is not None:
            raise TypeError("normal: size= goes with numbers for mean and std; a tensor's shape is the size")
        if any(a.dtype.kind != "f" for a in arrays):
            raise TypeError(f"normal: expected floating-point tensors of means and stds, got "
                            f"{', '.join(str(a.dtype) for a in arrays)}")
        try:
            shape = np.broadcast_shapes(*(a.shape for a in given))
        except ValueError:
            raise ValueError(f"normal: mean of shape {given[0].shape} and std of shape {given[1].shape} cannot be "
                             "broadcast together") from None
        dtype = dtype or arrays[0].dtype
    else:
        if size is None:
            raise TypeError("normal: with numbers for mean and std, give the size: normal(0, 1, (2, 3))")
        shape, dtype = _shape((), "normal", size), dtype or get_default_dtype()
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"normal: expected a floating-point dtype, got {np.dtype(dtype)}")
    if any(a.dtype.kind not in "biuf" for a in given) or not np.all(np.isfinite(given[0])) or not (
            np.all(given[1] >= 0) and np.all(np.isfinite(given[1]))):
        raise ValueError(f"normal: expected a finite mean and a finite std >= 0, got mean={mean!r}, std={std!r}")
    return owned(rng.normal(given[0], given[1], shape).astype(dtype), requires_grad)


# ---- PyTorch's creation functions: arange, full, zeros_like, ones_like, rand, multinomial ----------

def _fill_dtype(value: Any) -> np.dtype:
    """The dtype PyTorch gives a tensor of `value`: bool, int64 for integers, the default float dtype (for a
    complex number the default complex dtype: complex64 beside float32, complex128 beside float64)."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, (complex, np.complexfloating)):
        return default_complex_dtype()
    return get_default_dtype()


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to but not including end (`arange(n)`: 0 .. n - 1); int64 when every
    bound is an integer, else the default float dtype, as PyTorch's. A bound may be a 0-d tensor without
    grad, read as its number (`torch.arange(start[i], start[i] + duration[i], step=0.5)`), as PyTorch's."""
    check_device("arange", device)
    if end is None:
        start, end = 0, start
    start, end, step = (_scalar_of("arange", name, bound) for name, bound in zip(("start", "end", "step"),
                                                                                 (start, end, step)))
    if not all(is_finite_number(v) for v in (start, end, step)) or step == 0:
        raise ValueError(f"arange: start, end and step must be finite numbers and step not 0, got "
                         f"start={start!r}, end={end!r}, step={step!r}")
    integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
    dtype = dtype or (np.int64 if integers else get_default_dtype())
    if np.dtype(dtype).kind == "f":     # each value start + i * step in float64, rounded once (as PyTorch;
        count = len(np.arange(start, end, step))    # numpy's arange fills start + i * (x_1 - x_0))
        return owned((start + np.arange(count, dtype=np.float64) * step).astype(dtype), requires_grad)
    return owned(np.arange(start, end, step, dtype=dtype), requires_grad)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape `size` with every element `fill_value` (its dtype as PyTorch infers it)."""
    check_device("full", device)
    if isinstance(fill_value, Tensor) and fill_value.numel() == 1:
        fill_value = fill_value.item()
    if not isinstance(fill_value, (numbers.Number, np.bool_)):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    return owned(np.full(_shape((size,), "full"), fill_value, dtype=dtype or _fill_dtype(fill_value)), requires_grad)


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor of the number `s`, as torch.scalar_tensor: in the default float dtype unless `dtype` is given
    (`scalar_tensor(True)` is 1.0), where `mg.tensor(True)` would be a bool."""
    check_device("scalar_tensor", device)
    if isinstance(s, Tensor) and s.numel() == 1:
        s = s.item()
    if not isinstance(s, (numbers.Number, np.bool_)):
        raise TypeError(f"scalar_tensor: s must be a number, got {type(s).__name__}")
    return owned(np.array(s, dtype=dtype or get_default_dtype()), requires_grad)


def _like_shape_dtype(input: Any, dtype: Any, where: str, memory_format: Any) -> tuple[tuple, np.dtype]:
    """input's shape and dtype (or `dtype`); what is not numbers (a string, None, a mixed list) is a
    TypeError naming `where`, as PyTorch's (numpy would give a tensor of strings or objects).
    `memory_format` is checked for that shape and changes no layout (`spellings.memory_format`)."""
    data = array_of(input)
    if data.dtype.kind not in "biufc":
        raise TypeError(not_numbers(where, input))
    dtype = np.dtype(dtype) if dtype is not None else data.dtype
    check_memory_format(where, memory_format, data.ndim)
    return data.shape, dtype


def zeros_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None) -> Tensor:
    """Zeros of `input`'s shape and dtype (or `dtype`). `memory_format` (PyTorch's `torch.preserve_format`, ...)
    is checked and changes no layout (`_like_shape_dtype`), here and in the other `*_like` makers."""
    check_device("zeros_like", device)
    shape, dtype = _like_shape_dtype(input, dtype, "zeros_like", memory_format)
    return owned(np.zeros(shape, dtype=dtype), requires_grad)


def ones_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None) -> Tensor:
    """Ones of `input`'s shape and dtype (or `dtype`)."""
    check_device("ones_like", device)
    shape, dtype = _like_shape_dtype(input, dtype, "ones_like", memory_format)
    return owned(np.ones(shape, dtype=dtype), requires_grad)


def full_like(input: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """`fill_value` (one number, which the dtype must hold) in `input`'s shape and dtype (or `dtype`),
    as torch.full_like."""
    check_device("full_like", device)
    shape, dtype = _like_shape_dtype(input, dtype, "full_like", memory_format)
    if not isinstance(fill_value, (numbers.Number, np.generic)) or np.ndim(fill_value):
        raise TypeError(f"full_like: fill_value must be one number, got {type(fill_value).__name__}")
    return owned(np.full(shape, number_for(fill_value, dtype, "full_like"), dtype=dtype), requires_grad)


def empty_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None) -> Tensor:
    """A tensor of `input`'s shape and dtype (or `dtype`): zeros here (PyTorch's are uninitialised), as `empty`."""
    check_device("empty_like", device)
    shape, dtype = _like_shape_dtype(input, dtype, "empty_like", memory_format)
    return owned(np.zeros(shape, dtype=dtype), requires_grad)


def rand(*shape: Any, size: Any = None, rng: np.random.Generator | None = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """Samples from uniform[0, 1), from `rng` (PyTorch's `generator=`) or the generator `manual_seed` sets."""
    check_device("rand", device)
    rng = generator_or_default(rng, "rand", generator)
    return owned(rng.random(_shape(shape, "rand", size)).astype(dtype or get_default_dtype()), requires_grad)


def multinomial(probs: Any, num_samples: int, replacement: bool = False, *,
                rng: np.random.Generator | None = None, generator: Any = None) -> Tensor:
    """`num_samples` category indices drawn with probabilities proportional to `probs` (weights (C,) or one
    row per draw (B, C): then (B, num_samples)), without replacement unless `replacement`; int64, as
    PyTorch's. Draws from `rng` (PyTorch's `generator=`) or the generator `manual_seed` sets."""
    weights = array_of(probs, np.float64)
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(f"multinomial: expected weights of shape (C,) or (B, C), got shape {weights.shape}")
    if not (isinstance(num_samples, (int, np.integer)) and not isinstance(num_samples, bool) and num_samples > 0):
        raise ValueError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.all(np.isfinite(rows)) or np.any(rows < 0) or np.any(rows.sum(axis=-1) <= 0):
        raise ValueError("multinomial: weights must be finite and non-negative, with a positive sum in every row")
    if not replacement and np.any((rows > 0).sum(axis=-1) < num_samples):
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from rows with "
                         f"fewer categories of non-zero weight ({(rows > 0).sum(axis=-1).min()})")
    rng = generator_or_default(rng, "multinomial", generator)
    draws = np.stack([rng.choice(len(row), size=num_samples, replace=bool(replacement), p=row / row.sum())
                      for row in rows]).astype(np.int64)
    return owned(draws.reshape(weights.shape[:-1] + (num_samples,)))


Tensor.multinomial = multinomial        # `probs.multinomial(1)`, PyTorch's method (SampleRNN's generator draws so)


# ---- more of PyTorch's: randint, randperm, randn_like, rand_like, randint_like, poisson, linspace, eye, empty,
# as_tensor, asarray ----

def randint(low: int = 0, high: Any = None, size: Any = None, *, rng: np.random.Generator | None = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """Integers drawn uniformly from low .. high - 1, int64, as PyTorch's: `randint(high, size)`,
    `randint(low, high, size)`, `randint(high, size=...)` or by keyword; from `rng` (`generator=`) or the generator
    `manual_seed` sets."""
    check_device("randint", device)
    if size is None and isinstance(high, (tuple, list)):      # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:                                         # randint(high, size=...)
        low, high = 0, low
    if not (is_int(low) and is_int(high) and low < high) or not isinstance(size, (tuple, list)):
        raise ValueError(f"randint: expected integers low < high and a size tuple, got low={low!r}, high={high!r}, "
                         f"size={size!r}")
    size = sizes_of((size,), "randint")
    rng = generator_or_default(rng, "randint", generator)
    return owned(rng.integers(low, high, size).astype(dtype or np.int64), requires_grad)


def randperm(n: int, *, rng: np.random.Generator | None = None, dtype: Any = None, device: Any = None,
             generator: Any = None) -> Tensor:
    """0 .. n - 1 in a random order (int64), from `rng` (PyTorch's `generator=`) or the library's generator."""
    check_device("randperm", device)
    if not (is_int(n) and n >= 0):
        raise ValueError(f"randperm: expected a non-negative integer, got {n!r}")
    return owned(generator_or_default(rng, "randperm", generator).permutation(n).astype(dtype or np.int64))


def randn_like(like: Any, *, rng: np.random.Generator | None = None, dtype: Any = None,
               device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Standard normal samples of `like`'s shape and dtype (or `dtype`)."""
    check_device("randn_like", device)
    shape, dtype = _like_shape_dtype(like, dtype, "randn_like", memory_format)
    return randn(shape, rng=rng, dtype=dtype, requires_grad=requires_grad)


def rand_like(like: Any, *, rng: np.random.Generator | None = None, dtype: Any = None,
              device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Uniform[0, 1) samples of `like`'s shape and dtype (or `dtype`)."""
    check_device("rand_like", device)
    shape, dtype = _like_shape_dtype(like, dtype, "rand_like", memory_format)
    return rand(shape, rng=rng, dtype=dtype, requires_grad=requires_grad)


def randint_like(input: Any, low: int = 0, high: Any = None, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False, generator: Any = None, memory_format: Any = None) -> Tensor:
    """Integers drawn uniformly from low .. high - 1 in `input`'s shape and dtype (or `dtype`), as
    torch.randint_like: `randint_like(x, high)` or `randint_like(x, low, high)`."""
    check_device("randint_like", device)
    if high is None:
        low, high = 0, low
    if not (is_int(low) and is_int(high) and low < high):
        raise ValueError(f"randint_like: expected integers low < high, got low={low!r}, high={high!r}")
    shape, dtype = _like_shape_dtype(input, dtype, "randint_like", memory_format)
    rng = generator_or_default(None, "randint_like", generator)
    return owned(rng.integers(low, high, shape).astype(dtype), requires_grad)


def poisson(input: Any, generator: Any = None) -> Tensor:
    """One draw from Poisson(rate) per entry of `input` (a floating tensor of rates >= 0), as
    torch.poisson: counts k with probability rate^k e^(-rate) / k!, in input's dtype; from `generator`
    or the generator `manual_seed` sets; a constant (PyTorch's gradient through it is zero)."""
    rates = input._data if isinstance(input, Tensor) else None
    if rates is None or rates.dtype.kind != "f":
        raise TypeError(f"poisson: expected a floating-point tensor of rates, got "
                        f"{rates.dtype if rates is not None else type(input).__name__}")
    if not np.all((rates >= 0) & np.isfinite(rates)):
        raise ValueError(f"poisson: expected finite rates >= 0, got values from {rates.min()} to {rates.max()}")
    rng = generator_or_default(None, "poisson", generator)
    return owned(np.asarray(rng.poisson(rates)).astype(rates.dtype))     # (a 0-d array's draw: a Python int)


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included; in the default float dtype, or the
    default complex one when start or end is complex, as PyTorch's."""
    check_device("linspace", device)
    if not (is_int(steps) and steps >= 0):
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    if not all(isinstance(v, (numbers.Number, Tensor)) and not isinstance(v, bool) for v in (start, end)):
        raise TypeError(f"linspace: start and end must be numbers, got start={start!r}, end={end!r}")
    if dtype is None:
        complex_bound = np.iscomplexobj(start) or np.iscomplexobj(end)
        dtype = default_complex_dtype() if complex_bound else get_default_dtype()
    return owned(np.linspace(start, end, steps, dtype=dtype), requires_grad)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """`steps` values base^x for x evenly spaced from start to end, both included, as torch.logspace
    (numpy's logspace): computed in float64 and given in `dtype` (the default float dtype)."""
    check_device("logspace", device)
    if not (is_int(steps) and steps >= 0):
        raise ValueError(f"logspace: steps must be a non-negative integer, got {steps!r}")
    if not all(is_finite_number(v) for v in (start, end, base)):
        raise ValueError(f"logspace: start, end and base must be finite numbers, got start={start!r}, "
                         f"end={end!r}, base={base!r}")
    values = np.power(float(base), np.linspace(start, end, steps, dtype=np.float64))
    return owned(values.astype(dtype or get_default_dtype()), requires_grad)


def _triangle_indices(name: str, lower: bool, row: int, col: int, offset: int, dtype: Any) -> Tensor:
    if not all(is_int(v) for v in (row, col, offset)) or row < 0 or col < 0:
        raise ValueError(f"{name}: expected integers row >= 0, col >= 0 and offset, got row={row!r}, col={col!r}, "
                         f"offset={offset!r}")
    rows, columns = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return owned(np.stack([rows, columns]).astype(dtype or np.int64))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Tensor:
    """The positions (2, N) of the entries on and below the `offset`-th diagonal of a row x col matrix,
    row by row, as torch.tril_indices (numpy's tril_indices, stacked); int64."""
    check_device("tril_indices", device)
    return _triangle_indices("tril_indices", True, row, col, offset, dtype)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None) -> Tensor:
    """The positions (2, N) of the entries on and above the `offset`-th diagonal of a row x col matrix,
    row by row, as torch.triu_indices; int64."""
    check_device("triu_indices", device)
    return _triangle_indices("triu_indices", False, row, col, offset, dtype)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The n x m (n x n) identity matrix."""
    check_device("eye", device)
    if not (is_int(n) and n >= 0 and (m is None or (is_int(m) and m >= 0))):
        raise ValueError(f"eye: expected non-negative integer sizes, got n={n!r}, m={m!r}")
    return owned(np.eye(n, m, dtype=dtype or get_default_dtype()), requires_grad)


def empty(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """A tensor to be filled later: zeros here (numpy's uninitialised memory would only hide bugs).
    `memory_format` is checked and changes no layout, as the `*_like` makers' (`spellings.memory_format`);
    `torch.preserve_format` is refused, as PyTorch's empty refuses it (there is no input to preserve)."""
    check_device("empty", device)
    shape = _shape(shape, "empty", size)
    check_memory_format("empty", memory_format, len(shape), preserve=False)
    return owned(np.zeros(shape, dtype=dtype or get_default_dtype()), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`data` as a tensor: a tensor of that dtype as it is, anything else made into one (a copy:
    arrays here are read-only, so unlike PyTorch's it never shares a numpy array's memory)."""
    check_device("as_tensor", device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    return tensor(data, dtype=dtype)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """`obj` as a tensor, as torch.asarray. A tensor: itself (`copy=None`, the default), or in `dtype` when
    that differs (a differentiable cast); a copy (`clone`, history kept) with `copy=True`; with
    `copy=False` another dtype is a `ValueError`, as PyTorch's "can't alias". With `requires_grad=False`
    a tensor that requires grad comes back without history (`detach()`), with `requires_grad=True` one
    that does not starts requiring it, as PyTorch's. Anything else (a list, a number, an array) is made
    into a new tensor, its dtype inferred as `mg.tensor` infers it: a copy, so `copy=False` raises
    (PyTorch's shares a numpy array's memory; arrays here are read-only, so none is ever shared)."""
    check_device("asarray", device)
    copy = None if copy is None else flag(copy, "copy", "asarray")
    requires_grad = flag(requires_grad, "requires_grad", "asarray")
    if not isinstance(obj, Tensor):
        if copy is False:
            raise ValueError(f"asarray: copy=False asks to share {type(obj).__name__}'s memory, and a tensor here "
                             "never shares memory with anything but a tensor (arrays here are read-only); use "
                             "copy=None")
        return tensor(obj, dtype=dtype, requires_grad=requires_grad)
    other_dtype = dtype is not None and np.dtype(dtype) != obj.dtype
    if copy is False and other_dtype:
        raise ValueError(f"asarray: can't alias tensor with dtype {obj.dtype} into dtype {np.dtype(dtype)} "
                         "(copy=False)")
    out = obj.to(dtype) if other_dtype else obj.clone() if copy else obj
    if not requires_grad:
        return out.detach() if out.requires_grad else out
    return out if out.requires_grad else out.requires_grad_(True)


# ---- PyTorch's legacy typed constructors: torch.LongTensor(data), torch.FloatTensor(data), ... -------

class TypedConstructor:
    """PyTorch's legacy `torch.LongTensor` and kin: a maker of tensors of one dtype, which old code also
    uses as a type: `isinstance(x, torch.LongTensor)` (a tensor of that dtype), `x.type(torch.LongTensor)`
    and `x.to(torch.LongTensor)` (its `dtype`)."""

    def __init__(self, name: str, dtype: Any) -> None:
        self.__name__, self.dtype = name, np.dtype(dtype)
        self.__doc__ = (f"PyTorch's legacy `torch.{name}(data)`: `data` (a list, an array, a tensor) as a "
                        f"{self.dtype.name} tensor, as `mg.tensor(data, dtype=...)`; `{name}()` is empty, "
                        f"shape (0,); `{name}(2, 3)`, sizes, is a tensor of that shape (uninitialised in "
                        "PyTorch, zeros here).")

    def __call__(self, *data: Any, device: Any = None) -> Tensor:
        name, dtype = self.__name__, self.dtype
        check_device(name, device)
        if not data:                        # torch.FloatTensor(): an empty tensor, as PyTorch's
            return owned(np.zeros(0, dtype=dtype))
        if len(data) == 1 and isinstance(data[0], Tensor) and data[0].dtype != dtype:
            raise TypeError(f"{name}: expected a tensor of dtype {dtype.name} (got {data[0].dtype.name}), as "
                            f"PyTorch's legacy constructor refuses another type; cast it: t.to(mg.{dtype.name})")
        if len(data) == 1 and not is_int(data[0]) and not isinstance(data[0], Size):
            try:
                return Tensor(data[0], dtype=dtype)
            except (TypeError, ValueError) as error:      # (Tensor's message names `tensor`)
                raise type(error)(f"{name}: {str(error).partition(': ')[2] or error}") from None
        sizes = shape_of(data)
        if all(is_int(size) and size >= 0 for size in sizes):    # sizes: PyTorch's memory is uninitialised,
            return owned(np.zeros(tuple(int(size) for size in sizes), dtype=dtype))  # here zeros (rows to fill)
        raise TypeError(f"{name}: expected data (a list, an array or a tensor) or sizes (integers >= 0), got "
                        f"{', '.join(map(repr, data))}")

    def __instancecheck__(self, other: Any) -> bool:
        return isinstance(other, Tensor) and other.dtype == self.dtype

    def __repr__(self) -> str:
        return f"<legacy tensor type {self.__name__}: {self.dtype.name}>"


(FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor,
 BoolTensor) = (TypedConstructor(name, dtype) for name, dtype in LEGACY_TENSOR_TYPES.items())


class _VariableType(type):
    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableType):
    """PyTorch's deprecated `torch.autograd.Variable`, kept for old scripts as PyTorch keeps it:
    `Variable(t)` is a tensor without history, `t.detach()`, requiring grad if `requires_grad=True`;
    `volatile=True` has no effect but a warning (use `no_grad`); `isinstance(t, Variable)` is true of
    any tensor. Its data must be a tensor (TypeError otherwise); `Variable()` is an empty one."""

    def __new__(cls, data: Any = None, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        requires_grad, volatile = flag(requires_grad, "requires_grad", "Variable"), flag(volatile, "volatile", "Variable")
        if volatile:
            if requires_grad:
                raise ValueError("Variable: can't be volatile and require_grad at the same time")
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          UserWarning, stacklevel=user_stacklevel())
        if data is None:
            data = owned(np.zeros(0, dtype=get_default_dtype()))
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable: data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
