"""Softmax and the activations, written with primitives, as PyTorch's `torch.nn.functional` has them, and the
distances between vectors:

- along an axis: `softmax`, `softmin`, `log_softmax` (one op, `ops.softmax`), `glu`;
- smooth: `gelu`, `elu`, `selu`, `celu`, `silu`, `mish`, `softplus`, `logsigmoid`, `softsign`, `tanhshrink`;
- piecewise linear: `leaky_relu`, `prelu`, `hardtanh`, `relu6`, `hardsigmoid`, `hardswish`, `softshrink`,
  `hardshrink`, `threshold`;
- `normalize`, `cosine_similarity`, `pairwise_distance`.

(`relu`, `sigmoid` and `tanh` call the ops themselves, under PyTorch's argument names.) Each other is a
composite of primitive ops (where, clip, exp, expm1, log1p, sigmoid, tanh, abs, norm, ...), so the chain rule
gives its gradient and its tangent: nothing here has a rule of its own. Two habits keep the composites as exact
as PyTorch's kernels:

- at a kink the slope is PyTorch's: `where(condition, a, b)` sends the gradient to the branch the condition
  picks, so the condition is written as PyTorch's kernel writes it (x > 0 for leaky_relu and prelu, x <= 0
  for elu: the slope at 0 is the left one; 0 at hardtanh's bounds);
- a branch that is not taken is still computed, and its zero gradient is multiplied by its slopes: an e^x
  that overflows there would make 0 * inf = NaN. So such a branch sees 0 where it is not taken (elu's
  exponential sees `where(x > 0, 0, x)`).

`inplace=True` is accepted, as `nn.ReLU` accepts it, and leaves a tensor as it was: arrays here are read-only,
so the result is always a new tensor (of the same values). A numpy array given with `inplace=True` (a
parameter's `.grad` is one here) gets the result written into it, as PyTorch's writes into its tensor: SampleRNN
clips its gradients with `hardtanh(p.grad, -1, 1, inplace=True)` and keeps nothing it returns.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from .. import ops
from ..checks import flag, is_axis, is_int, no_bool_kernel, public_name, user_stacklevel
from ..ops import exp, sum
from ..ops.assign import number_for
from ..ops.elementwise import in_dtype
from ..spellings import also_by_keyword, either
from ..tensor import Tensor, as_tensor, get_default_dtype


def _shifted(x: Tensor, axis: int) -> Tensor:
    """x - max(x) along axis; the max is held constant (it cancels in softmax)."""
    return x - x._data.max(axis=axis, keepdims=True)


@also_by_keyword(x="input")
def softmax(input: Any, axis: int | None = None, _stacklevel: int = 3, dtype: Any = None, *,
            dim: int | None = None) -> Tensor:
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m), x the input, along `axis` (or `dim`; the last by
    default); `dtype` converts the input first, as PyTorch's F.softmax (`_stacklevel` is taken for its
    signature)."""
    x = in_dtype("softmax", input if type(input) is Tensor else as_tensor(input, where="softmax"), dtype)
    if x._data.dtype.kind in "iu":          # integers in the default float dtype first (uint8's x - max would wrap)
        x = ops.astype(x, get_default_dtype())
    if axis is None and dim is None:
        _last_axis_by_default("softmax", x.ndim)
    axis = either("softmax", "axis", axis, "dim", dim, -1)
    if x.ndim == 0 and is_axis(axis, 1):    # a 0-d tensor's dim 0 (or -1), as PyTorch's: its one entry, 1
        return x.softmax(axis)
    if not is_axis(axis, x.ndim):
        raise ValueError(f"softmax: axis {axis!r} is not an axis of shape {x.shape}")
    if x.shape[axis] == 0:
        return exp(x)                       # nothing to normalise: an empty result, as PyTorch's
    try:
        e = exp(_shifted(x, axis))
    except TypeError:           # (bools: their subtraction is refused; named here, at no cost otherwise)
        if x.dtype.kind != "b":
            raise
        raise TypeError(no_bool_kernel("softmax", convert="t.float()")) from None
    return e / sum(e, axis=axis, keepdims=True)


@also_by_keyword(x="input")
def log_softmax(input: Any, axis: int | None = None, _stacklevel: int = 3, dtype: Any = None, *,
                dim: int | None = None) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m), x the input;   one op (`ops.log_softmax`);
    `dtype` as `softmax`'s."""
    x = in_dtype("log_softmax", input if type(input) is Tensor else as_tensor(input, where="log_softmax"), dtype)
    if axis is None and dim is None:
        _last_axis_by_default("log_softmax", x.ndim)
    return ops.log_softmax(x, either("log_softmax", "axis", axis, "dim", dim, -1))


def _last_axis_by_default(name: str, ndim: int) -> None:
    """Without an axis, softmax and log_softmax take the last one. PyTorch's deprecated implicit choice
    (`implicit_dim`) agrees for 0-, 1- and 2-d inputs; for more axes, a script ported from PyTorch meant
    another one, so say so (as PyTorch warns, at the caller's line)."""
    if ndim >= 3:
        warnings.warn(f"{name}: no dim given, so the last axis ({ndim - 1}) of this {ndim}-d input is used; "
                      f"PyTorch's deprecated implicit choice would be dim {0 if ndim == 3 else 1}. Pass dim=X to "
                      "say which.", UserWarning, stacklevel=user_stacklevel())


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal's distribution function, as PyTorch's F.gelu:

        approximate="none":  x (1 + erf(x / sqrt 2)) / 2
        approximate="tanh":  x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2

    Written with primitives (erf or tanh, mul, add): the chain rule gives its derivative,
    Phi(x) + x phi(x) for the exact form."""
    x = as_tensor(input, where="gelu")
    if x.dtype.kind != "f":
        raise TypeError(f"gelu: expected a floating-point tensor, got dtype {x.dtype}")
    if x.dtype == np.float16 and approximate in ("none", "tanh"):      # (x^3 would overflow half from 41)
        return ops.astype(gelu(ops.astype(x, np.float32), approximate), np.float16)
    if approximate == "none":
        return x * (ops.erf(x * (1 / math.sqrt(2))) + 1) * 0.5
    if approximate == "tanh":
        return x * (ops.tanh((x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)) + 1) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# ---- argument checks ---------------------------------------------------------------------------------

def argument(where: str, name: str, value: Any, ok: Callable[[Any], bool] = lambda v: True,
             expected: str = "a number") -> Any:
    """`value` if it is a real number (not a bool) for which `ok` holds; else a TypeError (not a number)
    or a ValueError (`ok` fails: NaN fails every comparison) naming `where`, `name`, what was expected
    and what came. The modules check their settings with it too, when they are made."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not ok(value):
        raise ValueError(f"{where}: {name} must be {expected}, got {value!r}")
    return value


def _floating(where: str, input: Any) -> Tensor:
    """`input` as a tensor, which must be floating-point, as PyTorch's kernels for these functions require
    (TypeError naming `where` otherwise)."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where=where)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


def _as_float(input: Any) -> Tensor:
    """`input` as a tensor; an integer or bool one in the default float dtype (PyTorch's tanhshrink of
    integers is float32)."""
    x = input if isinstance(input, Tensor) else as_tensor(input)
    return x if x.dtype.kind in "fc" else ops.astype(x, get_default_dtype())


def _half_in_float32(function: Callable) -> Callable:
    """`function` computed in float32 for a float16 input, and its result given back in float16, as PyTorch's
    CPU kernels compute half precision (in float32, rounding once): op by op in float16, e^x would
    overflow from x = 11.1 (softplus(12.0) would be inf) and every op would round. `astype` carries the
    gradient back."""
    @functools.wraps(function)
    def in_float32(input: Any, *args: Any, **kwargs: Any) -> Tensor:
        if getattr(input, "dtype", None) != np.float16:
            return function(input, *args, **kwargs)
        return ops.astype(function(ops.astype(as_tensor(input), np.float32), *args, **kwargs), np.float16)
    return in_float32


def with_inplace(function: Callable) -> Callable:
    """`function` of an input (its first parameter) with PyTorch's `inplace` (another of its parameters, which
    it need not read): a bool (ValueError otherwise), checked first. A tensor keeps its value (its array is
    read-only) and the result is a new tensor; a numpy array given with inplace=True (a parameter's `.grad`)
    gets the result written into it too, as PyTorch's in-place form writes into its input. A read-only array
    (a tensor's `.data`) is a ValueError: pass the tensor and use the result."""
    name = function.__name__                  # (a closure's `name`: what `checks.public_name` reports)
    position = list(inspect.signature(function).parameters).index("inplace")

    @functools.wraps(function)
    def writing(*args: Any, **kwargs: Any) -> Tensor:
        inplace = flag(kwargs["inplace"] if "inplace" in kwargs else len(args) > position and args[position],
                       "inplace", name)
        input = args[0] if args else kwargs.get("input")
        written = inplace and isinstance(input, np.ndarray)
        if written and not input.flags.writeable:
            raise ValueError(f"{name}: inplace=True cannot write into a read-only array (a tensor's .data is one): "
                             "pass the tensor itself and use the result")
        result = function(*args, **kwargs)
        if written:
            np.copyto(input, result._data)
        return result
    return writing


def implicit_dim(name: str, ndim: int) -> int:
    """PyTorch's implicit axis for softmax, softmin and log_softmax called without one, with its
    deprecation warning at the user's line: axis 0 of a 0-, 1- or 3-d input, axis 1 otherwise."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=user_stacklevel())
    return 0 if ndim in (0, 1, 3) else 1


def _axis(where: str, dim: Any, ndim: int) -> int:
    """`dim` as an axis of a tensor with `ndim` axes (a 0-d tensor has dim 0 and -1, as in PyTorch):
    TypeError if it is not an integer, IndexError if it is out of range."""
    if not is_int(dim):
        raise TypeError(f"{where}: dim must be an integer, got {type(dim).__name__} {dim!r}")
    if not is_axis(dim, ndim or 1):
        raise IndexError(f"{where}: dim {dim} is out of range for a tensor with {ndim} axes (expected an integer "
                         f"in [{-(ndim or 1)}, {(ndim or 1) - 1}])")
    return int(dim)


# ---- along an axis ---------------------------------------------------------------------------------------

def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along `dim`: e^(-x_i) / sum_j e^(-x_j), as PyTorch's F.softmin; `dtype` converts the
    input first. Without a dim, PyTorch's deprecated implicit axis, with its warning (`implicit_dim`),
    which points at the user's line whatever `_stacklevel` says (taken for PyTorch's signature)."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="softmin")
    if dtype is not None:
        x = ops.astype(x, dtype)
    x = _floating("softmin", x)
    dim = implicit_dim("softmin", x.ndim) if dim is None else _axis("softmin", dim, x.ndim)
    if x.dtype == np.float16:                   # (in float32, as PyTorch's: `_half_in_float32`)
        return ops.astype(softmax(-ops.astype(x, np.float32), dim=dim), np.float16)
    return softmax(-x, dim=dim)


@_half_in_float32
def glu(input: Any, dim: int = -1) -> Tensor:
    """The gated linear unit, as PyTorch's F.glu: the input split in halves a, b along `dim`, a sigmoid(b);
    d/da = sigmoid(b), d/db = a sigmoid(b) (1 - sigmoid(b)). `dim` must have an even size."""
    x = _floating("glu", input)
    if x.ndim == 0:
        raise ValueError("glu: expected a tensor with at least one axis to halve, got a 0-d tensor")
    axis = _axis("glu", dim, x.ndim) % x.ndim
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: the halved dim must have an even size, but dim {dim} has size {size} (shape {x.shape})")
    before = (slice(None),) * axis
    return x[before + (slice(0, size // 2),)] * ops.sigmoid(x[before + (slice(size // 2, None),)])


# ---- smooth ----------------------------------------------------------------------------------------------

@_half_in_float32
def _elu(x: Tensor, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    """PyTorch's one kernel for elu, selu and celu, in x's dtype:

        alpha scale (e^(input_scale x) - 1)      for x <= 0,   slope alpha scale input_scale e^(input_scale x)
        scale x                                  else,         slope scale (NaN goes here, as in PyTorch)

    expm1 keeps small |x| exact; the exponential sees 0 where x > 0, so a large x cannot overflow it."""
    negative, number = x._data <= 0, x.dtype.type
    inner = ops.where(negative, x, 0.0)
    if input_scale != 1:
        inner = inner * number(input_scale)
    below = ops.expm1(inner) * (number(alpha) * number(scale))
    return ops.where(negative, below, x if scale == 1 else x * number(scale))


@with_inplace
def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^x - 1), as PyTorch's F.elu;   slope 1 for x > 0, else alpha e^x
    (alpha at 0)."""
    x = _floating("elu", input)
    alpha = argument("elu", "alpha", alpha)
    return _elu(x, alpha)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


@with_inplace
def selu(input: Any, inplace: bool = False) -> Tensor:
    """scale x for x > 0, else scale alpha (e^x - 1), with PyTorch's self-normalising constants
    alpha = 1.6732632..., scale = 1.0507009... (`SELU_ALPHA`, `SELU_SCALE`), as F.selu;
    slope scale for x > 0, else scale alpha e^x."""
    x = _floating("selu", input)
    return _elu(x, SELU_ALPHA, SELU_SCALE)


@with_inplace
def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^(x / alpha) - 1), as PyTorch's F.celu: an elu whose slope is 1 on both
    sides of 0 (e^(x / alpha) for x <= 0). alpha = 0 is a ValueError (PyTorch's: it divides by alpha)."""
    x = _floating("celu", input)
    alpha = argument("celu", "alpha", alpha, lambda v: v != 0, "non-zero (it divides x)")
    return _elu(x, alpha, input_scale=1.0 / alpha)


@with_inplace
@_half_in_float32
def silu(input: Any, inplace: bool = False) -> Tensor:
    """x sigmoid(x), the swish, as PyTorch's F.silu;   slope sigmoid(x) (1 + x (1 - sigmoid(x)))."""
    x = _floating("silu", input)
    return x * ops.sigmoid(x)


def _softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold, as PyTorch's kernel; the
    exponential sees 0 there, so it cannot overflow."""
    bx = x if beta == 1 else x * beta
    linear = bx._data > threshold
    smooth = ops.log1p(exp(ops.where(linear, 0.0, bx)))
    return ops.where(linear, x, smooth if beta == 1 else smooth / beta)


@_half_in_float32
def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, a smooth max(x, 0), as PyTorch's F.softplus; x itself where
    beta x > threshold (the two differ there by less than e^-threshold / beta);
    slope sigmoid(beta x) = e^(beta x) / (1 + e^(beta x)), 1 past the threshold. beta must be non-zero
    (a negative one gives a smooth min(x, 0), as PyTorch's)."""
    x = _floating("softplus", input)
    beta = argument("softplus", "beta", beta, lambda v: v != 0, "non-zero (it divides)")
    threshold = argument("softplus", "threshold", threshold)
    return _softplus(x, beta, threshold)


@with_inplace
@_half_in_float32
def mish(input: Any, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)), as PyTorch's F.mish;   slope tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2),
    sp = softplus(x)."""
    x = _floating("mish", input)
    return x * ops.tanh(_softplus(x))


@_half_in_float32
def logsigmoid(input: Any) -> Tensor:
    """log sigmoid(x) = min(x, 0) - log(1 + e^-|x|), as PyTorch's F.logsigmoid (no overflow, and exact
    where sigmoid(x) rounds to 1);   slope 1 - sigmoid(x), 1/2 at 0.

    -|x| is written where(x < 0, x, -x), whose slope at 0 is -1: with abs (slope 0 at 0) the slope at 0
    would come out 0, not 1/2."""
    x = _floating("logsigmoid", input)
    negative = x._data < 0
    return ops.where(negative, x, 0.0) - ops.log1p(exp(ops.where(negative, x, -x)))


def softsign(input: Any) -> Tensor:
    """x / (1 + |x|), as PyTorch's F.softsign (integers give the default float dtype);
    slope 1 / (1 + |x|)^2."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="softsign")
    return x / (ops.abs(x) + 1)


def tanhshrink(input: Any) -> Tensor:
    """x - tanh(x), as PyTorch's F.tanhshrink;   slope tanh(x)^2."""
    x = _as_float(input)
    return x - ops.tanh(x)


# ---- piecewise linear ------------------------------------------------------------------------------------

@with_inplace
def relu(input: Any, inplace: bool = False) -> Tensor:
    """max(x, 0), as PyTorch's F.relu: the op `ops.relu` (slope 1 for x > 0, else 0), with PyTorch's
    argument names; `inplace` a bool that leaves a tensor as it was (a new tensor all the same; `with_inplace`)."""
    return ops.relu(input)


def sigmoid(input: Any) -> Tensor:
    """1 / (1 + e^-x), as PyTorch's F.sigmoid: the op `ops.sigmoid`, with PyTorch's argument name."""
    return ops.sigmoid(input)


def tanh(input: Any) -> Tensor:
    """tanh(x), as PyTorch's F.tanh: the op `ops.tanh`, with PyTorch's argument name."""
    return ops.tanh(input)


@with_inplace
def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, else negative_slope x, as PyTorch's F.leaky_relu;   slope 1 for x > 0, else
    negative_slope (negative_slope at 0)."""
    x = _floating("leaky_relu", input)
    negative_slope = argument("leaky_relu", "negative_slope", negative_slope)
    return ops.where(x._data > 0, x, x * negative_slope)


def prelu(input: Any, weight: Any) -> Tensor:
    """x for x > 0, else weight x, as PyTorch's F.prelu: `weight` one slope (a scalar or one element), or
    one per channel, the input's dim 1 (a 0- or 1-d input has one channel);
    d/dx = 1 for x > 0, else weight (weight at 0);   d/dweight = 0 for x > 0, else x (summed per channel)."""
    x, w = _floating("prelu", input), as_tensor(weight, where="prelu")
    if w.dtype != x.dtype:
        raise TypeError(f"prelu: expected the weight in the input's dtype {x.dtype}, got {w.dtype}")
    if w.ndim > 1:
        raise ValueError(f"prelu: expected the weight to be a scalar or 1-d tensor, got shape {w.shape}")
    channels, count = x.shape[1] if x.ndim >= 2 else 1, w._data.size
    if count not in (1, channels):
        which = f"dim 1 of shape {x.shape}" if x.ndim >= 2 else f"a {x.ndim}-d input has one"
        raise ValueError(f"prelu: the weight has {count} parameters but the input has {channels} channels ({which}): "
                         f"expected {'1' if channels == 1 else f'1 or {channels}'}")
    slopes = w.reshape(()) if count == 1 else w.reshape((channels,) + (1,) * (x.ndim - 2))
    return ops.where(x._data > 0, x, slopes * x)


def _clamped(x: Tensor, lo: float, hi: float) -> Tensor:
    """min(max(x, lo), hi) in x's dtype, with PyTorch's hardtanh slope: 0 at the bounds and beyond, else 1
    (`clip`'s is 1 at the bounds too). NaN stays NaN, with slope 1, as PyTorch's. A bool x is a TypeError,
    as PyTorch's hardtanh ("Bool inputs not supported for hardtanh")."""
    if x.dtype == np.bool_:
        raise TypeError(no_bool_kernel(public_name("hardtanh"), "hardtanh"))
    X = x._data
    return ops.where(~((X <= lo) | (X >= hi)), x, np.clip(X, lo, hi).astype(X.dtype, copy=False))


@with_inplace
def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """min(max(x, min_val), max_val), as PyTorch's F.hardtanh (integers stay integers);   slope 1
    strictly between the bounds, 0 at them and beyond. min_val > max_val is a ValueError."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="hardtanh")
    min_val, max_val = argument("hardtanh", "min_val", min_val), argument("hardtanh", "max_val", max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val!r} and "
                         f"max_val={max_val!r}")
    return _clamped(x, min_val, max_val)


@with_inplace
def relu6(input: Any, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), hardtanh between 0 and 6, as PyTorch's F.relu6;   slope 1 for 0 < x < 6, else 0."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="relu6")
    return _clamped(x, 0.0, 6.0)


@with_inplace
@_half_in_float32
def hardsigmoid(input: Any, inplace: bool = False) -> Tensor:
    """min(max(x + 3, 0), 6) / 6, a piecewise linear sigmoid, as PyTorch's F.hardsigmoid;   slope 1/6 for
    -3 < x < 3, else 0."""
    x = _floating("hardsigmoid", input)
    return _clamped(x + 3, 0.0, 6.0) / 6


@with_inplace
@_half_in_float32
def hardswish(input: Any, inplace: bool = False) -> Tensor:
    """x min(max(x + 3, 0), 6) / 6, as PyTorch's F.hardswish;   slope 0 for x <= -3, x / 3 + 1/2 for
    -3 < x < 3, 1 for x >= 3 (PyTorch's at the kinks)."""
    x = _floating("hardswish", input)
    return x * _clamped(x + 3, 0.0, 6.0) / 6


def softshrink(input: Any, lambd: float = 0.5) -> Tensor:
    """x - lambd for x > lambd, x + lambd for x < -lambd, else 0, as PyTorch's F.softshrink: x minus x
    clipped to [-lambd, lambd];   slope 1 for |x| > lambd, else 0 (0 at the kinks, as PyTorch's).
    lambd must be a finite number >= 0."""
    x = _floating("softshrink", input)
    lambd = argument("softshrink", "lambd", lambd, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
    return x - ops.clip(x, -lambd, lambd)


def hardshrink(input: Any, lambd: float = 0.5) -> Tensor:
    """0 for -lambd <= x <= lambd, else x, as PyTorch's F.hardshrink;   slope 0 there, else 1."""
    x = _floating("hardshrink", input)
    lambd = argument("hardshrink", "lambd", lambd)
    X = x._data
    return ops.where((X >= -lambd) & (X <= lambd), 0.0, x)


@with_inplace
def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x for x > threshold, else value, as PyTorch's F.threshold (integers stay integers, value cast to
    their dtype; a value the dtype cannot hold, 300 for int8 or 1e300 for float32, is a ValueError, as
    PyTorch's error);   slope 1 for x > threshold, else 0."""
    x = input if isinstance(input, Tensor) else as_tensor(input, where="threshold")
    threshold, value = argument("threshold", "threshold", threshold), argument("threshold", "value", value)
    X = x._data
    value = number_for(value, X.dtype, "threshold")
    if X.dtype.kind not in "fc":
        value = np.asarray(value).astype(X.dtype)
    return ops.where(X <= threshold, value, x)


# ---- normalisation and distances -------------------------------------------------------------------------

def _vector_norm(where: str, x: Tensor, p: Any, dim: Any, keepdim: bool) -> Tensor:
    """||x||_p over `dim` (an int or a tuple), as torch.linalg.vector_norm:

        p = 1, 2, inf:   `ops.norm`, one op (its slope at x = 0 is PyTorch's, 0)
        p = -inf:        min |x|
        p = 0:           the number of non-zero entries (slope 0)
        other p:         (sum |x|^p)^(1/p), and 0 where the sum is 0, with slope 0 there (PyTorch's)"""
    p = argument(where, "p", p, lambda v: not math.isnan(v), "a number, not NaN")
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    for d in dims:
        _axis(where, d, x.ndim)
    if p in (1, 2, math.inf):
        return ops.norm(x, p, dim, keepdim)
    magnitudes = ops.abs(x)
    if p == -math.inf:
        return -ops.max(-magnitudes, axis=dim, keepdims=keepdim)
    if p == 0:      # 1 per non-zero entry (NaN too), else sign(0) = 0: sign's slope 0 gives the count a zero gradient
        return sum(ops.where(x._data != 0, 1.0, ops.sign(x)), axis=dim, keepdims=keepdim)
    # |0|^p as a constant, 0 (p > 0) or inf (p < 0): its slope p |0|^(p-1) would be inf, and 0 * inf = NaN
    zero = x._data == 0
    powers = ops.where(zero, 0.0 if p > 0 else math.inf, ops.where(zero, 1.0, magnitudes) ** p)
    total = sum(powers, axis=dim, keepdims=keepdim)
    positive = total._data > 0
    return ops.where(positive, ops.where(positive, total, 1.0) ** (1 / p), 0.0)


@_half_in_float32
def normalize(input: Any, p: float = 2.0, dim: Any = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """x / max(||x||_p, eps) along `dim` (an int or a tuple), as PyTorch's F.normalize: each slice a unit
    vector, a slice of norm below eps divided by eps. The chain rule gives the gradient (clip's slope is
    0 below eps, as PyTorch's clamp_min). `out=` is not supported (TypeError)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported (tensors here are read-only); use the returned tensor")
    x = _floating("normalize", input)
    eps = argument("normalize", "eps", eps)
    return x / ops.clip(_vector_norm("normalize", x, p, dim, True), eps, None)


def _common(where: str, x1: Any, x2: Any) -> tuple[Tensor, Tensor]:
    """x1 and x2 as tensors of one floating dtype and one shape, as PyTorch's cosine_similarity takes them: an
    integer one in the other's float dtype, both broadcast (`expand`: the gradient is summed back)."""
    x1, x2 = (x if isinstance(x, Tensor) else as_tensor(x, where=where) for x in (x1, x2))
    if x1.dtype.kind != "f" and x2.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtypes {x1.dtype} and {x2.dtype}")
    dtype = (x1.dtype if x2.dtype.kind != "f" else x2.dtype if x1.dtype.kind != "f"
             else np.result_type(x1.dtype, x2.dtype))
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{where}: shapes {x1.shape} and {x2.shape} cannot be broadcast together") from None
    x1, x2 = (x if x.dtype == dtype else ops.astype(x, dtype) for x in (x1, x2))
    return tuple(x if x.shape == shape else x.expand(*shape) for x in (x1, x2))


def _norm_at_least(x: Tensor, dim: int, eps: float) -> Tensor:
    """||x|| over `dim` (kept), raised to eps where it is smaller, the raise not differentiated: PyTorch
    clamps in place without recording, so its gradient is the unclamped norm's."""
    n = ops.norm(x, 2, dim, True)
    N = n._data
    return n + np.where(N < eps, eps - N, 0).astype(N.dtype)


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum over `dim` of (x1 / max(||x1||, eps)) (x2 / max(||x2||, eps)), the cosine of the angle between
    them, as PyTorch's F.cosine_similarity (which normalises each first, rather than dividing <x1, x2> by
    ||x1|| ||x2||). x1 and x2 broadcast together; integers take the other's float dtype. As PyTorch's,
    the gradient is that of the unclamped norms. eps must be >= 0."""
    x1, x2 = _common("cosine_similarity", x1, x2)
    dim = _axis("cosine_similarity", dim, x1.ndim)
    eps = argument("cosine_similarity", "eps", eps, lambda v: v >= 0, ">= 0")
    if x1.dtype == np.float16:                  # (in float32, as PyTorch's: `_half_in_float32`)
        return ops.astype(cosine_similarity(ops.astype(x1, np.float32), ops.astype(x2, np.float32), dim, eps),
                          np.float16)
    return sum((x1 / _norm_at_least(x1, dim, eps)) * (x2 / _norm_at_least(x2, dim, eps)), axis=dim)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last axis, as PyTorch's F.pairwise_distance (x1 and x2 broadcast
    together; integers give the default float dtype). p as `torch.norm`'s: 1, 2, inf, -inf, 0 or any
    other number."""
    x1, x2 = (x if isinstance(x, Tensor) else as_tensor(x, where="pairwise_distance") for x in (x1, x2))
    eps = argument("pairwise_distance", "eps", eps)
    keepdim = flag(keepdim, "keepdim", "pairwise_distance")
    try:
        np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: shapes {x1.shape} and {x2.shape} cannot be broadcast together") from None
    difference = x1 - x2 + eps
    if difference.dtype == np.float16:          # (the norm in float32, as PyTorch's: |x|^2 overflows half from 256)
        return ops.astype(_vector_norm("pairwise_distance", ops.astype(difference, np.float32), p, -1, keepdim),
                          np.float16)
    return _vector_norm("pairwise_distance", difference, p, -1, keepdim)
