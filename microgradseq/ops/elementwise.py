"""Elementwise ops: forward value and derivative side by side, a row of a table of derivatives.

Each op computes y with numpy and ends in `result(name, y, operands, RULES, saved)`.
An elementwise op's Jacobian is diagonal: y_j depends on x_j alone, with
dy_j/dx_j = d_j. So reverse mode's g J = g * d and forward mode's J v = v * d
are the same product, and one rule per operand serves both (`elementwise`).
`rule(g, kept)` reads what the op saved for that operand (`kept`: tanh saves y,
mul each operand's partner). Rules are module constants, not closures: a node
then costs no function objects, and what it keeps is in plain sight.

Broadcasting is undone in one place (`autograd.sum_to`), so no rule here
sums over broadcast axes.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from ..checks import no_bool_kernel, public_name, user_stacklevel
from ..dtypes import BOOL_DTYPE
from ..promotion import combine_categories
from ..spellings import check_memory_format
from ..tensor import Rules, Tensor, array_of, as_tensor, get_default_dtype, owned, result


def elementwise(*rules: Callable) -> Rules:
    """The row of an elementwise op: J_i is diagonal, so one rule per operand is both its
    reverse-mode rule (g J_i) and its forward-mode rule (J_i v)."""
    return Rules(vjp=rules, jvp=rules, broadcasts=True)


def operands(name: str, fn: Callable, a: Any, b: Any) -> tuple[Tensor, Tensor, np.ndarray]:
    """Both operands as tensors, and fn of their data; a shape mismatch, or a pair of dtypes numpy's ufunc
    has no loop for (complex floor division), names the op."""
    if type(a) is not Tensor or type(b) is not Tensor:
        try:
            a = as_tensor(a, b if isinstance(b, Tensor) else None, name)
            b = as_tensor(b, a, name)
        except OverflowError as error:      # (a Python integer out of an integer tensor's range)
            raise OverflowError(f"{name}: {error}") from None
    if a._data.dtype is not b._data.dtype:
        a, b = promoted(a, b)
    try:
        return a, b, fn(a._data, b._data)
    except TypeError as error:              # (numpy's "ufunc 'remainder' not supported for the input types")
        if "ufunc" not in str(error):
            raise
        raise TypeError(f"{name}: not supported for dtypes {a.dtype} and {b.dtype}, as in PyTorch") from None
    except ValueError as error:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
        raise ValueError(f"{name}: {error} (dtypes {a.dtype} and {b.dtype})") from None


def floats(x: Tensor) -> np.ndarray:
    """x's array, or for an integer or bool tensor its values in the default float dtype, as PyTorch
    gives exp, log, tanh, ... of one (numpy would give float16 for 8-bit ones: exp(uint8 12) = inf)."""
    X = x._data
    return X if X.dtype.kind in "fc" else X.astype(get_default_dtype())


def promoted(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """PyTorch's promotion across kinds: an integer or bool operand (a tensor, an array or a scalar)
    next to a floating one takes the floating dtype, as does a float scalar next to an integer tensor
    (`as_tensor`: the default float dtype); numpy would make float32 next to int64 float64
    (`x.pow(torch.tensor([1, 2, 3]))` is float32 for a float32 x, as PyTorch's). Such an operand has
    no gradient, so it becomes a constant of that dtype. Within one kind (two floating dtypes, or two
    integer ones) a 0-d tensor next to one with dimensions takes that one's dtype, as in PyTorch
    (`x * mg.tensor(0.5)` stays float32 for a float32 x under a float64 default; a 0-d operand that
    needs a gradient gets it through `astype`); otherwise numpy's promotion (float32 and float64: float64)."""
    a_kind, b_kind = a._data.dtype.kind, b._data.dtype.kind
    if a_kind in "fc" and b_kind in "biu":
        return a, owned(_cast(b._data, a._data.dtype))
    if b_kind in "fc" and a_kind in "biu":
        return owned(_cast(a._data, b._data.dtype)), b
    if (a._data.ndim == 0) != (b._data.ndim == 0):
        if _KINDS[a_kind] == _KINDS[b_kind]:
            with np.errstate(over="ignore"):    # (float32 1e10 as float16 is inf, quietly, as PyTorch's)
                return (astype(a, b._data.dtype), b) if a._data.ndim == 0 else (a, astype(b, a._data.dtype))
        if a_kind in "fc" and b_kind in "fc":
            # a float and a complex operand, one of them 0-d: the one with dimensions sets the width, as in
            # PyTorch (a float32 x times a complex128 0-d tensor is complex64; numpy's would be complex128)
            dimensioned, zero_d = (b, a) if a._data.ndim == 0 else (a, b)
            dtype = combine_categories(dimensioned._data.dtype, zero_d._data.dtype)     # (c10's rule)
            return tuple(x if x._data.dtype == dtype else astype(x, dtype) for x in (a, b))
    return a, b


_KINDS = {"b": "bool", "i": "integer", "u": "integer", "f": "floating", "c": "complex"}


def _cast(integers: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Integers (or bools) in a floating dtype. Past float16's 65504 they become inf, as PyTorch's cast,
    and as quietly (numpy would warn "overflow encountered in cast")."""
    with np.errstate(over="ignore"):
        return integers.astype(dtype)


def passthrough(g: np.ndarray, kept: None = None) -> np.ndarray:
    """An operand that moves the output one for one: d = 1."""
    return g


def negated(g: np.ndarray, kept: None = None) -> np.ndarray:
    """An operand that moves the output the other way: d = -1."""
    return -g


def scaled(g: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """d = factor (a product's other factors, e^x, ...)."""
    return g * factor


def divided(g: np.ndarray, divisor: np.ndarray) -> np.ndarray:
    """d = 1 / divisor."""
    return g / divisor


NOTHING = (None, None, None)        # `saved` of an op whose rules read nothing of the forward pass


def add(a: Any, b: Any) -> Tensor:
    """a + b;   d/da = 1,   d/db = 1"""
    a, b, y = operands("add", np.add, a, b)
    return result("add", y, (a, b), ADD, NOTHING)


ADD = elementwise(passthrough, passthrough)


def sub(a: Any, b: Any) -> Tensor:
    """a - b;   d/da = 1,   d/db = -1   (a bool tensor on either side is a TypeError, as in PyTorch)"""
    # (checked before a number promotes it)
    if getattr(a, "dtype", None) is BOOL_DTYPE or getattr(b, "dtype", None) is BOOL_DTYPE:
        raise TypeError(f"sub: subtraction with a bool tensor is not supported (dtypes {np.result_type(a)} and "
                        f"{np.result_type(b)}), as in PyTorch; invert a mask with ~mask or mask.logical_not(), or "
                        "convert it first (mask.long(), mask.float())")
    a, b, y = operands("sub", np.subtract, a, b)
    return result("sub", y, (a, b), SUB, NOTHING)


SUB = elementwise(passthrough, negated)


def mul(a: Any, b: Any) -> Tensor:
    """a * b;   d/da = b,   d/db = a"""
    a, b, y = operands("mul", np.multiply, a, b)
    return result("mul", y, (a, b), MUL, (b._data, a._data))


MUL = elementwise(scaled, scaled)       # each factor keeps the other


def lerp(start: Any, end: Any, weight: Any) -> Tensor:
    """start + weight * (end - start), as PyTorch's lerp (a GRU's h' = (1 - z) n + z h is lerp(n, h, z));
    d/dstart = 1 - weight,   d/dend = weight,   d/dweight = end - start"""
    if type(start) is not Tensor or type(end) is not Tensor or type(weight) is not Tensor:
        like = next((t for t in (start, end, weight) if isinstance(t, Tensor)), None)
        start, end, weight = as_tensor(start, like), as_tensor(end, like), as_tensor(weight, like)
    S, W = start._data, weight._data
    try:
        difference = end._data - S
        y = S + W * difference
    except ValueError:
        raise ValueError(f"lerp: shapes {start.shape}, {end.shape} and {weight.shape} cannot be broadcast "
                         "together") from None
    return result("lerp", y, (start, end, weight), LERP, (W, W, difference))


def _one_minus(g: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return g * (1 - weight)


LERP = elementwise(_one_minus, scaled, scaled)     # end keeps the weight, the weight keeps end - start


def div(a: Any, b: Any) -> Tensor:
    """a / b;   d/da = 1 / b,   d/db = -a / b^2 = -y / b"""
    a, b, y = operands("div", np.divide, a, b)
    if a._data.dtype.kind in "biu" and b._data.dtype.kind in "biu":
        y = y.astype(get_default_dtype())   # true division of integers: the default float dtype, as PyTorch's
    B = b._data
    return result("div", y, (a, b), DIV, (B, (y, B)))


def _d_divisor(g: np.ndarray, kept: tuple) -> np.ndarray:
    y, b = kept
    return -g * y / b


DIV = elementwise(divided, _d_divisor)


def floor_divide(a: Any, b: Any) -> Tensor:
    """a // b = floor(a / b), as Python's and PyTorch's (integers stay integers);
    d/da = 0,   d/db = 0: a staircase (PyTorch's div(rounding_mode="floor"); its `//` has no gradient)"""
    a, b, y = operands("floor_divide", _checked(np.floor_divide, "floor_divide"), a, b)
    return result("floor_divide", y, (a, b), FLOOR_DIVIDE, NOTHING)


def check_divisor(name: str, a: np.ndarray, b: np.ndarray) -> None:
    """ZeroDivisionError naming `name` when integers are divided by an integer 0 (PyTorch raises
    "ZeroDivisionError" where numpy gives 0 with a warning); floats divide by 0 as IEEE says. Two bools
    are a TypeError: PyTorch's floor division, remainder and fmod have no bool kernel."""
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        if a.dtype is BOOL_DTYPE and b.dtype is BOOL_DTYPE:   # (numpy's would be int8)
            raise TypeError(f"{name}: two bool tensors are not supported, as in PyTorch; convert them first "
                            "(a.long())")
        if not b.all():
            raise ZeroDivisionError(f"{name}: integer division by zero (dtypes {a.dtype} and {b.dtype}, shapes "
                                    f"{a.shape} and {b.shape}), as in PyTorch")


def _checked(divide: np.ufunc, name: str) -> Callable:
    """`divide` with `check_divisor` first, and quiet, as PyTorch's: inf // 2 is NaN and 1.0 // 0 inf
    without numpy's warnings."""
    def checked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        check_divisor(name, a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return divide(a, b)
    return checked


def _flat(g: np.ndarray, kept: None = None) -> np.ndarray:
    return np.zeros_like(g)


FLOOR_DIVIDE = elementwise(_flat, _flat)


def remainder(a: Any, b: Any) -> Tensor:
    """a % b = a - floor(a / b) b, with b's sign (Python's and PyTorch's remainder);
    d/da = 1,   d/db = -floor(a / b)"""
    a, b, y = operands("remainder", _checked(np.mod, "remainder"), a, b)
    return result("remainder", y, (a, b), REMAINDER, (None, -_checked(np.floor_divide, "remainder")(a._data, b._data)))


REMAINDER = elementwise(passthrough, scaled)


def power(a: Any, b: Any) -> Tensor:
    """a ** b;   d/da = b a^(b-1)  (0 where b = 0),   d/db = a^b log(a)  (0 where a = 0 and b >= 0)

    Integers to negative integer powers, as PyTorch's: 1 / a^|b| rounded toward zero (0 unless a is 1
    or -1) for a tensor exponent; a ValueError for a negative Python number (`t ** -1`), as numpy's."""
    if isinstance(a, Tensor) and a.dtype.kind in "biu" and isinstance(b, numbers.Integral) and b < 0:
        raise ValueError(f"pow: Integers to negative integer powers are not allowed ({a.dtype} tensor ** {b}); "
                         "use a float tensor (t.float() ** -1)")
    a, b, y = operands("pow", _power, a, b)
    A, B = a._data, b._data
    if A.dtype is BOOL_DTYPE and B.dtype is BOOL_DTYPE:
        y = y.astype(np.int64)              # bool ** bool is int64, as PyTorch's (numpy's is int8)
    return result("pow", y, (a, b), POWER, ((A, B), (A, B, y)))


def _power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.power, but for a float32 or float64 base and one of the exponents PyTorch's CPU pow spells out
    (2, 3, 0.5, -0.5, -1, -2) by products and roots: numpy's general pow is far slower (x ** 3 of a
    (64, 11, 192) float32 array: 8 ms against 0.03 ms for x * x * x)."""
    if b.ndim == 0 and a.dtype in _SPELLED_OUT_DTYPES and b.dtype.kind in "iuf":
        spelled_out = _SPELLED_OUT_POWERS.get(float(b))
        if spelled_out is not None:
            dtype = np.result_type(a, b)    # (a float32 base to a float64 0-d exponent: computed in float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                return spelled_out(a if a.dtype == dtype else a.astype(dtype))
    if a.dtype.kind in "biu" and b.dtype.kind == "i" and (b < 0).any():
        return np.where(b < 0, _below_one(a, b), np.power(a, np.maximum(b, 0)))
    return np.power(a, b)


def _below_one(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a ** b for integers b < 0, as PyTorch's: 1 / a^|b| rounded toward zero, which is 1 for a = 1,
    (-1)^b for a = -1, and 0 for every other a (0 too)."""
    odd = (b % 2).astype(bool)
    return np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0)).astype(np.result_type(a, b), copy=False)


_SPELLED_OUT_DTYPES = (np.float32, np.float64)     # (PyTorch's half keeps pow: 1 / (x * x) of 300 is 0 in half)
_SPELLED_OUT_POWERS = {2.0: lambda a: a * a, 3.0: lambda a: a * a * a, 0.5: np.sqrt,
                       -0.5: lambda a: 1 / np.sqrt(a), -1.0: lambda a: 1 / a, -2.0: lambda a: 1 / (a * a)}


def _d_base(g: np.ndarray, kept: tuple) -> np.ndarray:
    a, b = kept
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(b == 0, 0, b * _power(a, b - 1))
    return g * slope


def _d_exponent(g: np.ndarray, kept: tuple) -> np.ndarray:
    a, b, y = kept
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = np.where((a == 0) & (b >= 0), 0.0, np.log(a))
    return g * y * log_a


POWER = elementwise(_d_base, _d_exponent)


def clone(x: Any, *, memory_format: Any = None) -> Tensor:
    """A copy of x in its own memory;   d/dx = 1

    Where a node saves a slice of a larger array, saving a clone instead lets
    the rest of that array go (the GRU cell clones its h_n columns).
    `memory_format` (PyTorch's `t.clone(memory_format=...)`) is checked and
    changes no layout (`spellings.memory_format`)."""
    x = x if type(x) is Tensor else as_tensor(x)
    if memory_format is not None:
        check_memory_format("clone", memory_format, x.ndim)
    return result("clone", x._data.copy(), (x,), CLONE, NOTHING)


CLONE = elementwise(passthrough)


def neg(x: Any) -> Tensor:
    """-x;   d/dx = -1   (a bool tensor is a TypeError, as in PyTorch)"""
    x = x if type(x) is Tensor else as_tensor(x)
    if x._data.dtype is BOOL_DTYPE:
        raise TypeError("neg: negation, the - operator, of a bool tensor is not supported, as in PyTorch; invert a "
                        "mask with ~mask or mask.logical_not()")
    return result("neg", -x._data, (x,), NEG, NOTHING)


NEG = elementwise(negated)


def exp(x: Any) -> Tensor:
    """e^x;   d e^x/dx = e^x"""
    x = x if type(x) is Tensor else as_tensor(x)
    y = np.exp(floats(x))
    return result("exp", y, (x,), EXP, (y,))


EXP = elementwise(scaled)


def log(x: Any) -> Tensor:
    """log x (NaN for x < 0, as numpy);   d log x/dx = 1 / x"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("log", np.log(X), (x,), LOG, (X,))


LOG = elementwise(divided)


def log10(x: Any) -> Tensor:
    """log_10 x = ln x / ln 10, as torch.log10 (`loss.log10()` for a loss curve);   d log_10 x/dx = 1 / (x ln 10)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("log10", _in_double(np.log10, X), (x,), LOG10, (X * math.log(10),))


def log2(x: Any) -> Tensor:
    """log_2 x = ln x / ln 2, as torch.log2;   d log_2 x/dx = 1 / (x ln 2)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("log2", _in_double(np.log2, X), (x,), LOG2, (X * math.log(2),))


LOG10 = LOG2 = elementwise(divided)     # each keeps x ln b, its derivative's divisor


def _in_double(fn: Callable, X: np.ndarray) -> np.ndarray:
    """fn(X) computed in float64 and rounded to X's dtype (float16, float32): the same values on
    every numpy build, as PyTorch's (numpy 2.4's own float32 log10(100) is 2.0000002, one unit in
    the last place off; float64's rounds to 2)."""
    if X.dtype.itemsize >= 8 or X.dtype.kind != "f":
        return fn(X)
    return fn(X.astype(np.float64)).astype(X.dtype)


def log1p(x: Any) -> Tensor:
    """log(1 + x), as torch.log1p: exact for small x, where 1 + x would round x away (log1p(1e-10) is
    1e-10; log(1 + 1e-10) in float32 is 0);   d log(1 + x)/dx = 1 / (1 + x)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("log1p", np.log1p(X), (x,), LOG1P, (1 + X,))


LOG1P = elementwise(divided)            # keeps 1 + x, its derivative's divisor


def expm1(x: Any) -> Tensor:
    """e^x - 1, as torch.expm1: exact for small x, where e^x - 1 would cancel (expm1(1e-10) is 1e-10);
    d (e^x - 1)/dx = e^x

    The rule computes e^x from x, not as y + 1, which cancels for x << 0 (e^-40 would come out 0)."""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("expm1", np.expm1(X), (x,), EXPM1, (X,))


EXPM1 = elementwise(lambda g, x: g * np.exp(x))


def sin(x: Any) -> Tensor:
    """sin x;   d sin(x)/dx = cos x"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("sin", np.sin(X), (x,), SIN, (X,))


SIN = elementwise(lambda g, x: g * np.cos(x))


def cos(x: Any) -> Tensor:
    """cos x;   d cos(x)/dx = -sin x"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("cos", np.cos(X), (x,), COS, (X,))


COS = elementwise(lambda g, x: -g * np.sin(x))


def cosh(x: Any) -> Tensor:
    """cosh x = (e^x + e^-x) / 2, as torch.cosh;   d cosh(x)/dx = sinh x
    (numpy's, exact where the sum written out would overflow first)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("cosh", np.cosh(X), (x,), COSH, (X,))


COSH = elementwise(lambda g, x: g * np.sinh(x))


def sinh(x: Any) -> Tensor:
    """sinh x = (e^x - e^-x) / 2, as torch.sinh;   d sinh(x)/dx = cosh x
    (numpy's: the difference written out cancels near 0, where sinh x is about x)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    return result("sinh", np.sinh(X), (x,), SINH, (X,))


SINH = elementwise(lambda g, x: g * np.cosh(x))


def tanh(x: Any) -> Tensor:
    """tanh x;   d tanh(x)/dx = 1 - tanh(x)^2"""
    x = x if type(x) is Tensor else as_tensor(x)
    y = np.tanh(floats(x))          # (of integers or bools: in the default float dtype, as PyTorch's)
    return result("tanh", y, (x,), TANH, (y,))


TANH = elementwise(lambda g, y: g * (1 - y * y))


def sigmoid(x: Any) -> Tensor:
    """s(x) = 1 / (1 + e^-x);   ds/dx = s (1 - s)

    Accurate to the last bits everywhere (1/2 + tanh(x/2)/2 would cancel for x < 0: s(-20)
    came out 0 in float32). e^-x is capped below the largest float, so nothing overflows: for x
    below -88.7 (float32) or -709.8 (float64) s stays at 1 / (1 + that largest float)."""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    if X.dtype.kind not in "fc":
        X = floats(x)               # (-x of bools or unsigned integers would wrap or raise)
    y = 1 / (1 + np.exp(np.minimum(-X, _LARGEST_EXPONENT.get(X.dtype, 709.0))))
    return result("sigmoid", y, (x,), SIGMOID, (y,))


def _largest_exponent(dtype: type) -> float:
    """The largest x of `dtype` whose e^x is finite: e^-x capped there cannot overflow."""
    x = np.log(np.finfo(dtype).max).astype(dtype)
    while not np.isfinite(np.exp(x)):
        x = np.nextafter(x, dtype(0))
    return float(x)


with np.errstate(over="ignore"):
    _LARGEST_EXPONENT = {np.dtype(t): _largest_exponent(t) for t in (np.float16, np.float32, np.float64)}


SIGMOID = elementwise(lambda g, s: g * s * (1 - s))


def relu(x: Any) -> Tensor:
    """max(x, 0);   d/dx = 1 where x > 0, else 0. A bool tensor is a TypeError, as PyTorch's."""
    x = x if type(x) is Tensor else as_tensor(x)
    if x.dtype == np.bool_:
        raise TypeError(no_bool_kernel(public_name("relu"), "relu"))
    X = x._data
    return result("relu", np.maximum(X, 0), (x,), RELU, (X,))


RELU = elementwise(lambda g, x: g * (x > 0))


def abs(x: Any) -> Tensor:
    """|x|;   d|x|/dx = sign(x)  (0 at 0)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    return result("abs", np.abs(X), (x,), ABS, (X,))


ABS = elementwise(lambda g, x: g * np.sign(x))


def round(x: Any, decimals: int = 0) -> Tensor:
    """x rounded to `decimals` places, halves to even (as numpy's and PyTorch's round);
    d/dx = 0: a staircase is flat between its jumps (PyTorch's gradient too)"""
    x = x if type(x) is Tensor else as_tensor(x)
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an integer, got {decimals!r}")
    return result("round", np.round(x._data, decimals), (x,), FLAT, (None,))


FLAT = elementwise(_flat)


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 by each entry's sign (NaN for NaN), in x's dtype, as torch.sign;
    d/dx = 0: a step is flat between its jumps (PyTorch's gradient too)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    return result("sign", X.copy() if X.dtype == np.bool_ else np.sign(X), (x,), FLAT, (None,))   # (bools: as they are)


def sqrt(x: Any) -> Tensor:
    """sqrt x;   d sqrt(x)/dx = 1 / (2 sqrt(x))"""
    x = x if type(x) is Tensor else as_tensor(x)
    y = np.sqrt(floats(x))
    return result("sqrt", y, (x,), SQRT, (y,))


SQRT = elementwise(lambda g, y: g / (2 * y))


def erf(x: Any) -> Tensor:
    """erf x = (2 / sqrt(pi)) * integral from 0 to x of e^(-t^2) dt;   d erf(x)/dx = (2 / sqrt(pi)) e^(-x^2)

    numpy has no erf ufunc: Python's math.erf runs on each element (exact to the last bit, about
    100 ns an element; GELU over a small model's activations is the use)."""
    x = x if type(x) is Tensor else as_tensor(x)
    X = floats(x)
    if X.dtype.kind == "c":
        raise TypeError(f"erf: expected a real tensor, got {X.dtype}")
    return result("erf", np.asarray(_math_erf(X), dtype=X.dtype), (x,), ERF, (X,))


_math_erf = np.frompyfunc(math.erf, 1, 1)
ERF = elementwise(lambda g, x: g * (2 / math.sqrt(math.pi)) * np.exp(-x * x))


def _bound(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"clip: {name} must be a number or None, got {type(value).__name__} {value!r}")
    return value.item() if isinstance(value, np.generic) else value     # (a Python number: x keeps its dtype)


def clip(x: Any, lo: float | None = None, hi: float | None = None) -> Tensor:
    """min(max(x, lo), hi);   d/dx = 1 where lo <= x <= hi, else 0"""
    x = x if type(x) is Tensor else as_tensor(x)
    lo, hi = _bound(lo, "lo"), _bound(hi, "hi")
    if lo is None and hi is None:
        raise ValueError("clip: at least one of lo and hi must be given (PyTorch's clamp refuses neither too)")
    X = x._data
    if X.dtype.kind in "biu" and (isinstance(lo, float) or isinstance(hi, float)):
        X = floats(x)               # an integer tensor clipped to float bounds: the default float dtype
    inside = np.ones(X.shape, dtype=bool)
    with np.errstate(over="ignore"):        # (a bound past float16's range is +-inf, quietly, as PyTorch's)
        if lo is not None:
            inside &= X >= lo
        if hi is not None:
            inside &= X <= hi
        y = np.clip(X, lo, hi)
    return result("clip", y, (x,), CLIP, (inside,))


CLIP = elementwise(scaled)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """condition ? input : other;   d/dinput = 1 where condition, d/dother = 1 elsewhere (PyTorch's names)"""
    cond = _condition(condition)
    try:
        input, other, y = operands("where", lambda A, B: np.where(cond, A, B), input, other)
    except ValueError:
        shapes = [np.shape(v._data if isinstance(v, Tensor) else v) for v in (input, other)]
        raise ValueError(f"where: condition of shape {cond.shape} and operands of shapes {shapes[0]} and "
                         f"{shapes[1]} cannot be broadcast together") from None
    return result("where", y, (input, other), WHERE, (cond, cond))


WHERE = elementwise(lambda g, cond: np.where(cond, g, 0), lambda g, cond: np.where(cond, 0, g))


def _condition(condition: Any) -> np.ndarray:
    """`where`'s condition as a bool array: a bool tensor, array or list; a uint8 one read as bool with
    PyTorch's deprecation warning (torchcrf's default masks are uint8); anything else a TypeError."""
    given = condition._data if isinstance(condition, Tensor) else condition
    cond = array_of(given).copy() if isinstance(given, (bool, np.bool_, np.ndarray, list, tuple)) else None
    if cond is not None and cond.dtype == np.uint8:
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed "
                      "in a future version of PyTorch. Use a boolean condition instead.", UserWarning,
                      stacklevel=user_stacklevel())
        return cond != 0
    if cond is None or cond.dtype != bool:
        got = type(given).__name__ if cond is None else f"dtype {cond.dtype}"
        raise TypeError(f"where: the condition must be a boolean array or tensor, got {got}")
    return cond


def astype(x: Any, dtype: Any) -> Tensor:
    """x converted to `dtype` (float32 <-> float64, ...);   d/dx = 1, carried back in x's dtype

    Converting to an integer dtype cuts toward zero (to bool: nonzero is True), which has no gradient:
    the result has no history.
    """
    x = x if type(x) is Tensor else as_tensor(x)
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        x = x.detach()
    return result("astype", x._data.astype(dtype), (x,), ASTYPE, ((x.dtype, dtype),))


def in_dtype(where: str, x: Tensor, dtype: Any, kinds: str = "f") -> Tensor:
    """x converted to `dtype` first (None: as it is), as the reductions and the softmax family take
    PyTorch's `dtype=`; TypeError naming `where` for a dtype not of `kinds` (numpy's: "f" floating,
    "c" complex)."""
    if dtype is None:
        return x
    try:
        allowed = np.dtype(dtype).kind in kinds
    except TypeError:
        allowed = False
    if not allowed:
        expected = "a floating-point dtype" + (" or a complex one" if "c" in kinds else "")
        raise TypeError(f"{where}: dtype must be {expected} (mg.float32, mg.float64), got "
                        f"{getattr(dtype, '__name__', dtype)!r}")
    return astype(x, dtype)


#              reverse mode: g in x's dtype        forward mode: v in y's dtype
ASTYPE = Rules(vjp=(lambda g, dtypes: g.astype(dtypes[0]),), jvp=(lambda v, dtypes: v.astype(dtypes[1]),))
