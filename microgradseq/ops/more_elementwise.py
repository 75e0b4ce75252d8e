"""More of PyTorch's elementwise functions, each `mg.X(...)` and `t.X(...)` (and `t.X_(...)` in place
where PyTorch has it): the angle `atan2` (`arctan2`), `hypot`, `copysign`, `logit`, `xlogy` (and
torch.special's `xlog1py`), the staircases `trunc` (`fix`), `floor` and `ceil`, what trunc leaves,
`frac`, C's remainder `fmod`, `reciprocal`, `sinc`, `exp2`, `erfc`, torch.special's `entr`; the
NaN-ignoring `fmax` and `fmin`; the constants `heaviside` and `signbit`; `sgn`, `float_power` (in
float64), `true_divide` (`div`) and `positive` (`+t`, its input itself); the floating-point pieces
`frexp` (mantissa and exponent), `ldexp` (input 2^other) and `nextafter`, and the integers' `gcd` and `lcm`.

The primitives are rows of the table of derivatives, as in `elementwise.py` (one rule per operand
serves both modes); `frac`, `fmax`, `fmin`, `float_power` and `true_divide` are composites of primitives.
Integers and bools promote as PyTorch's: the functions of floats (atan2, copysign, xlogy, logit, sinc,
exp2, erfc, entr, reciprocal) give the default float dtype, `fmod`, `trunc`, `floor`, `ceil`, `fmax`
and `fmin` keep integers, and `hypot` and `frac`, which PyTorch has for floating point only, refuse them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, NamedTuple

import numpy as np

from ..checks import not_numbers
from ..tensor import Tensor, array_of, as_tensor, owned, result
from . import elementwise as ew
from .elementwise import FLAT, check_divisor, elementwise, floats, operands, passthrough, scaled
from .in_place import in_place


def _real_operands(name: str, a: Any, b: Any) -> tuple[Tensor, Tensor, np.ndarray, np.ndarray]:
    """Both operands as tensors (promoted, a shape mismatch naming `name`), and their arrays in floating
    point, as PyTorch's binary float ops: two integer or bool operands give the default float dtype.
    A complex operand is a TypeError, as for PyTorch's kernels of these functions."""
    a, b, _ = operands(name, lambda A, B: np.broadcast_shapes(A.shape, B.shape), a, b)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        raise TypeError(f"{name}: expected real tensors, got dtypes {a.dtype} and {b.dtype}")
    return a, b, floats(a), floats(b)


def _real(name: str, x: Any) -> tuple[Tensor, np.ndarray]:
    """x as a tensor and its array in floating point (integers and bools: the default float dtype)."""
    x = x if type(x) is Tensor else as_tensor(x)
    if x.dtype.kind == "c":
        raise TypeError(f"{name}: expected a real tensor, got dtype {x.dtype}")
    return x, floats(x)


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input) in (-pi, pi], as torch.atan2 (input is y, other is x);
    d/dinput = other / (input^2 + other^2),   d/dother = -input / (input^2 + other^2)   (both 0 where
    input = other = 0, as PyTorch's atan2_backward)"""
    input, other, Y, X = _real_operands("atan2", input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        radius_squared = Y * Y + X * X
        inverse = np.where(radius_squared == 0, 0, 1 / radius_squared)
    return result("atan2", np.arctan2(Y, X), (input, other), ATAN2, (X * inverse, -Y * inverse))


ATAN2 = elementwise(scaled, scaled)     # each keeps its slope: other / r^2 and -input / r^2


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(input^2 + other^2) without overflow (numpy's hypot), as torch.hypot, floating point only;
    d/dinput = input / y,   d/dother = other / y   (NaN at (0, 0), as PyTorch's)"""
    input, other, A, B = _real_operands("hypot", input, other)
    if input.dtype.kind != "f":
        raise TypeError(f"hypot: expected floating-point tensors, got dtypes {input.dtype} and {other.dtype} "
                        "(PyTorch has no integer hypot)")
    y = np.hypot(A, B)
    with np.errstate(divide="ignore", invalid="ignore"):
        return result("hypot", y, (input, other), HYPOT, (A / y, B / y))


HYPOT = elementwise(scaled, scaled)


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with other's sign (of -0.0 and NaN too), as torch.copysign;
    d/dinput = y / input = sign(input) sign(other)  (0 where input = 0),   d/dother = 0
    (PyTorch's copysign_tensor_self_backward)"""
    input, other, A, B = _real_operands("copysign", input, other)
    y = np.copysign(A, B)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(A == 0, 0, y / A)
    return result("copysign", y, (input, other), COPYSIGN, (slope, None))


def _no_slope(g: np.ndarray, kept: None) -> np.ndarray:
    """d = 0: other gives only its sign."""
    return np.zeros_like(g)


COPYSIGN = elementwise(scaled, _no_slope)


def logit(input: Any, eps: float | None = None) -> Tensor:
    """log(z / (1 - z)), z = input clamped to [eps, 1 - eps] (z = input when eps is None or negative), as
    torch.logit: NaN outside [0, 1] without eps;   d/dinput = 1 / (input (1 - input)) where
    eps <= input <= 1 - eps, else 0 with eps and NaN without (PyTorch's logit_backward)"""
    x, X = _real("logit", input)
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, numbers.Real)):
        raise TypeError(f"logit: eps must be a number or None, got {type(eps).__name__} {eps!r}")
    clamped = eps is not None and eps >= 0
    Z = np.clip(X, eps, 1 - eps) if clamped else X
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(Z / (1 - Z))
    outside = (X < eps) | (X > 1 - eps) if clamped else (X < 0) | (X > 1)
    return result("logit", y, (x,), LOGIT, ((X, outside, 0.0 if clamped else np.nan),))


def _d_logit(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, outside, fill = kept
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(outside, fill, g / (x * (1 - x)))


LOGIT = elementwise(_d_logit)


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input = 0 (unless other is NaN: NaN), as torch.xlogy (the entropy term
    p log p stays 0 at p = 0);   d/dinput = log(other) (0 where input = 0 and other <= 0),
    d/dother = input / other"""
    input, other, y, saved = _x_log("xlogy", np.log, 0.0, input, other)
    return result("xlogy", y, (input, other), X_LOG, saved)


def xlog1py(input: Any, other: Any) -> Tensor:
    """input * log(1 + other) (log1p: exact for small other), 0 where input = 0 (unless other is NaN), as
    torch.special.xlog1py;   d/dinput = log(1 + other) (0 where input = 0 and other <= -1),
    d/dother = input / (1 + other)"""
    input, other, y, saved = _x_log("xlog1py", np.log1p, 1.0, input, other)
    return result("xlog1py", y, (input, other), X_LOG, saved)


def _x_log(name: str, log: np.ufunc, shift: float, input: Any, other: Any) -> tuple:
    """xlogy (log, shift 0) or xlog1py (log1p, shift 1) as PyTorch's kernels: the operands, the value and
    what the rules keep (for input: log(shift + other), other and where to give 0; for other: its slope)."""
    input, other, X, Y = _real_operands(name, input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_y = log(Y)
        y = np.where(np.isnan(Y), np.nan, np.where(X == 0, 0, X * log_y)).astype(np.result_type(X, Y), copy=False)
        slope = X / (shift + Y)
    blocked = (X == 0) & (Y <= -shift)          # (PyTorch's choice there: the derivative along x = 0)
    return input, other, y, ((log_y, Y, blocked), slope)


def _d_multiplier(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g log(other), as PyTorch's xlogy(g, other): 0 where g = 0 (unless other is NaN), and 0 where
    input = 0 and other <= 0 (-1 for xlog1py), where the function is not differentiable."""
    log_y, y, blocked = kept
    with np.errstate(invalid="ignore"):
        slope = np.where((g == 0) & ~np.isnan(y), 0, g * log_y)
    return np.where(blocked, 0, slope)


X_LOG = elementwise(_d_multiplier, scaled)      # d/dother = input / other (input / (1 + other))


def trunc(input: Any) -> Tensor:
    """input rounded toward zero, as torch.trunc (also `fix`); integers as they are (a copy), as PyTorch's;
    d/dinput = 0: a staircase is flat between its jumps (PyTorch's gradient too)"""
    x, X = _staircase_input("trunc", input)
    return result("trunc", np.trunc(X) if X.dtype.kind == "f" else X.copy(), (x,), FLAT, (None,))


def floor(input: Any) -> Tensor:
    """The largest integer <= input, as torch.floor; integers as they are (a copy), as PyTorch's;
    d/dinput = 0 (PyTorch's derivatives.yaml: zeros_like)"""
    x, X = _staircase_input("floor", input)
    return result("floor", np.floor(X) if X.dtype.kind == "f" else X.copy(), (x,), FLAT, (None,))


def ceil(input: Any) -> Tensor:
    """The smallest integer >= input, as torch.ceil; integers as they are (a copy), as PyTorch's;
    d/dinput = 0 (PyTorch's derivatives.yaml: zeros_like)"""
    x, X = _staircase_input("ceil", input)
    return result("ceil", np.ceil(X) if X.dtype.kind == "f" else X.copy(), (x,), FLAT, (None,))


def _staircase_input(name: str, input: Any) -> tuple[Tensor, np.ndarray]:
    """input as a tensor and its array: real numbers or integers (PyTorch has no bool or complex kernels)."""
    x = input if type(input) is Tensor else as_tensor(input)
    if x.dtype.kind in "bc":
        raise TypeError(f"{name}: expected a real number or integer tensor, got dtype {x.dtype}")
    return x, x._data


def reciprocal(input: Any) -> Tensor:
    """1 / input (inf at 0, quietly), as torch.reciprocal: integers and bools give the default float dtype;
    d(1/x)/dx = -1/x^2 = -y^2 (PyTorch's derivatives.yaml: -grad * result * result)"""
    x = input if type(input) is Tensor else as_tensor(input)
    with np.errstate(divide="ignore"):
        y = 1 / floats(x)
    return result("reciprocal", y, (x,), RECIPROCAL, (y,))


RECIPROCAL = elementwise(lambda g, y: -g * y * y)


def positive(input: Any) -> Tensor:
    """input itself (`+t`), as torch.positive, which returns its input; a bool tensor is a TypeError, as
    PyTorch's (UnaryOps.cpp: "The `+` operator, on a bool tensor is not supported.")."""
    x = input if type(input) is Tensor else as_tensor(input)
    if x.dtype.kind == "b":
        raise TypeError("positive: the + operator of a bool tensor is not supported, as in PyTorch")
    return x


def frac(input: Any) -> Tensor:
    """input - trunc(input), the fractional part with input's sign, as torch.frac (NaN for +-inf), floating
    point only: a `sub` and a `trunc`, so d/dinput = 1"""
    x = input if type(input) is Tensor else as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"frac: expected a floating-point tensor, got dtype {x.dtype} (PyTorch has no integer frac)")
    with np.errstate(invalid="ignore"):         # (inf - inf: NaN, quietly, as PyTorch's)
        return ew.sub(x, trunc(x))


def fmod(input: Any, other: Any) -> Tensor:
    """C's remainder input - trunc(input / other) other, with input's sign, as torch.fmod (integers stay
    integers; an integer 0 divisor is a ZeroDivisionError, as PyTorch's);
    d/dinput = 1,   d/dother = -trunc(input / other)"""
    a, b, y = operands("fmod", _fmod, input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        return result("fmod", y, (a, b), FMOD, (None, -np.trunc(np.true_divide(a._data, b._data))))


def _fmod(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    check_divisor("fmod", A, B)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(A, B)


FMOD = elementwise(passthrough, scaled)


def sinc(input: Any) -> Tensor:
    """sin(pi x) / (pi x), 1 at x = 0, as torch.sinc;   d/dx = (pi x cos(pi x) - sin(pi x)) / (pi x^2),
    0 where pi x^2 is 0 (PyTorch's sinc_backward)"""
    x = input if type(input) is Tensor else as_tensor(input)
    X = floats(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        product = np.pi * X
        y = np.where(X == 0, 1, np.sin(product) / product).astype(X.dtype, copy=False)
    return result("sinc", y, (x,), SINC, (X,))


def _d_sinc(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        product, squared = np.pi * x, x * x * np.pi
        return np.where(squared == 0, 0, g * (product * np.cos(product) - np.sin(product)) / squared)


SINC = elementwise(_d_sinc)


def exp2(input: Any) -> Tensor:
    """2^x, as torch.exp2;   d 2^x/dx = 2^x ln 2"""
    x = input if type(input) is Tensor else as_tensor(input)
    y = np.exp2(floats(x))
    return result("exp2", y, (x,), EXP2, (y,))


EXP2 = elementwise(lambda g, y: g * y * math.log(2))


def erfc(input: Any) -> Tensor:
    """erfc x = 1 - erf x, without the cancellation for large x (Python's math.erfc on each element), as
    torch.erfc;   d erfc(x)/dx = -(2 / sqrt(pi)) e^(-x^2)"""
    x, X = _real("erfc", input)
    return result("erfc", np.asarray(_math_erfc(X), dtype=X.dtype), (x,), ERFC, (X,))


_math_erfc = np.frompyfunc(math.erfc, 1, 1)
ERFC = elementwise(lambda g, x: g * (-2 / math.sqrt(math.pi)) * np.exp(-x * x))


def entr(input: Any) -> Tensor:
    """-x ln x for x > 0, 0 at 0, -inf for x < 0 (NaN stays NaN), as torch.special.entr;
    d/dx = -(1 + ln x)  (+inf at 0, NaN for x < 0, as PyTorch's)"""
    x, X = _real("entr", input)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(X > 0, -X * np.log(X), np.where(X == 0, 0, np.where(np.isnan(X), X, -np.inf)))
    return result("entr", y.astype(X.dtype, copy=False), (x,), ENTR, (X,))


def _d_entr(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -g * (1 + np.log(x))


ENTR = elementwise(_d_entr)


def _nan_ignoring(name: str, first_wins: Callable) -> Callable:
    def extreme(input: Any, other: Any) -> Tensor:
        input, other, _ = operands(name, lambda A, B: np.broadcast_shapes(A.shape, B.shape), input, other)
        if input.dtype.kind == "c" or other.dtype.kind == "c":
            raise TypeError(f"{name}: expected real tensors, got dtypes {input.dtype} and {other.dtype}")
        A, B = input._data, other._data
        return ew.where(first_wins(A, B) | np.isnan(B), input, other)
    extreme.__name__ = extreme.__qualname__ = name
    return extreme


fmax = _nan_ignoring("fmax", np.greater_equal)
fmax.__doc__ = """The elementwise maximum ignoring NaN (NaN only where both are), as torch.fmax (numpy's fmax):
    `where(input >= other or other is NaN, input, other)`, so the gradient goes to the one taken, to
    input at a tie (PyTorch's derivative); integers keep their dtype"""
fmin = _nan_ignoring("fmin", np.less_equal)
fmin.__doc__ = """The elementwise minimum ignoring NaN, as torch.fmin: `where(input <= other or other is NaN,
    input, other)`, the gradient to the one taken (input at a tie)"""


def heaviside(input: Any, values: Any) -> Tensor:
    """0 where input < 0, values where input == 0, 1 where input > 0 (0 for NaN), as torch.heaviside:
    input and values of one dtype (a number takes input's), broadcast; a constant, with no gradient."""
    x = input if type(input) is Tensor else as_tensor(input)
    values = values if type(values) is Tensor else as_tensor(values, x, "heaviside")
    if x.dtype != values.dtype or x.dtype.kind == "c":
        raise TypeError(f"heaviside: expected input and values of one real dtype (as PyTorch's), got {x.dtype} "
                        f"and {values.dtype}")
    step = operands("heaviside", lambda X, V: np.where(X == 0, V, (X > 0).astype(X.dtype)), x, values)[2]
    return owned(np.asarray(step))


def signbit(input: Any) -> Tensor:
    """Where the sign bit is set (-0.0 and -NaN too), as torch.signbit: a bool tensor, no gradient."""
    x = input if type(input) is Tensor else as_tensor(input)
    if x.dtype.kind == "c":
        raise TypeError(f"signbit: expected a real tensor, got dtype {x.dtype}")
    return owned(np.asarray(np.signbit(x._data)))


def sgn(input: Any) -> Tensor:
    """sign(x) for a real tensor (`sign`, gradient 0), as torch.sgn; z / |z| (0 at 0) for a complex one,
    a constant here (the library's gradients are real)."""
    x = input if type(input) is Tensor else as_tensor(input)
    if x.dtype.kind != "c":
        return ew.sign(x)
    Z = x._data
    with np.errstate(divide="ignore", invalid="ignore"):
        return owned(np.where(Z == 0, 0, Z / np.abs(Z)).astype(Z.dtype, copy=False))


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent computed in float64 (complex128 if either is complex), as torch.float_power: each
    operand converted first (`astype`, whose gradient goes back in the operand's dtype), then `pow`."""
    kinds = {array_of(v).dtype.kind for v in (input, exponent)}
    if not kinds <= set("biufc"):       # (numpy would make None NaN, and "2" 2.0)
        bad = next(v for v in (input, exponent) if np.asarray(v).dtype.kind not in "biufc")
        raise TypeError(not_numbers("float_power", bad))
    dtype = np.dtype(np.complex128 if "c" in kinds else np.float64)
    return ew.power(_in_dtype(input, dtype), _in_dtype(exponent, dtype))


def _in_dtype(value: Any, dtype: np.dtype) -> Tensor:
    """A tensor converted (`astype`, recorded); anything else made in `dtype` directly (2.1 stays 2.1)."""
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else ew.astype(value, dtype)
    return as_tensor(np.asarray(value, dtype=dtype))


def true_divide(input: Any, other: Any) -> Tensor:
    """input / other, as torch.true_divide, PyTorch's alias of div: `div` (integers give floats)."""
    return ew.div(input, other)


def float_power_(self: Tensor, exponent: Any) -> Tensor:
    """`t.float_power(exponent)` in place, for a float64 (or complex128) tensor only, as PyTorch's (whose
    result needs that dtype); returns t."""
    if self.dtype not in (np.float64, np.complex128):
        raise TypeError(f"float_power_: the base has dtype {self.dtype}, but the result has dtype float64 (or "
                        "complex128), as PyTorch's; convert it first (t = t.double())")
    return self._in_place("float_power_", lambda t, _: float_power(t, exponent), None)


class Frexp(NamedTuple):
    """What PyTorch's `torch.frexp` returns: the mantissa and the (int32) exponent."""

    mantissa: Tensor
    exponent: Tensor


def frexp(input: Any) -> Frexp:
    """input = mantissa 2^exponent, the mantissa in (-1, 1) (0.5 <= |mantissa| < 1, 0 at 0), the exponent
    int32, as torch.frexp (numpy's frexp); floating point only. The mantissa is input times the constant
    2^-exponent, so d mantissa/dx = 2^-exponent (PyTorch's derivative); the exponent has no gradient."""
    x = input if type(input) is Tensor else as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"frexp: expected a floating-point tensor (as PyTorch's), got dtype {x.dtype}")
    _, exponent = np.frexp(x._data)
    half = -exponent // 2           # 2^-exponent in two factors: 2^1074 (a subnormal's) would overflow alone
    scale = ew.mul(x, np.ldexp(np.ones((), x.dtype), half).astype(x.dtype))
    mantissa = ew.mul(scale, np.ldexp(np.ones((), x.dtype), -exponent - half).astype(x.dtype))
    return Frexp(mantissa, owned(exponent.astype(np.int32)))


def ldexp(input: Any, other: Any) -> Tensor:
    """input 2^other, as torch.ldexp (PyTorch's composite `input * pow(2.0, other)`): `mul` of `exp2`, whose
    2^other of an integer tensor is in the default float dtype, as PyTorch's; so d/dinput = 2^other and
    d/dother = ln 2 input 2^other."""
    return ew.mul(as_tensor(input, where="ldexp"), exp2(other))


def nextafter(input: Any, other: Any) -> Tensor:
    """The next floating-point number after input towards other, as torch.nextafter (numpy's): floating
    point only, broadcast; a constant, with no gradient (PyTorch's has none)."""
    input, other, y = operands("nextafter", np.nextafter, input, other)
    if input.dtype.kind != "f":
        raise TypeError(f"nextafter: expected floating-point tensors (as PyTorch's), got dtypes {input.dtype} "
                        f"and {other.dtype}")
    return owned(np.asarray(y))


def _integer_only(name: str, numpy_fn: np.ufunc, what: str) -> Callable:
    def function(input: Any, other: Any) -> Tensor:
        input = input if type(input) is Tensor else as_tensor(input)
        other = other if type(other) is Tensor else as_tensor(other, input, name)
        if input.dtype.kind not in "iu" or other.dtype.kind not in "iu":
            raise TypeError(f"{name}: expected integer tensors (as PyTorch's), got dtypes {input.dtype} and "
                            f"{other.dtype}")
        return owned(np.asarray(operands(name, numpy_fn, input, other)[2]))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"The {what} of input and other, elementwise and broadcast, as torch.{name} (numpy's; "
                        "never negative, and 0 where both are 0): integers only, no gradient.")
    return function


gcd = _integer_only("gcd", np.gcd, "greatest common divisor")
lcm = _integer_only("lcm", np.lcm, "least common multiple")


Tensor.atan2 = Tensor.arctan2 = atan2
Tensor.hypot, Tensor.copysign, Tensor.logit, Tensor.xlogy = hypot, copysign, logit, xlogy
Tensor.trunc = Tensor.fix = trunc
Tensor.frac, Tensor.fmod, Tensor.sinc, Tensor.exp2, Tensor.erfc = frac, fmod, sinc, exp2, erfc
Tensor.fmax, Tensor.fmin, Tensor.heaviside, Tensor.signbit, Tensor.sgn = fmax, fmin, heaviside, signbit, sgn
Tensor.float_power, Tensor.true_divide = float_power, true_divide
Tensor.atan2_ = Tensor.arctan2_ = in_place("atan2_", atan2)
Tensor.trunc_ = Tensor.fix_ = in_place("trunc_", trunc)
Tensor.floor, Tensor.ceil, Tensor.reciprocal = floor, ceil, reciprocal      # (in place: in_place.py's table)
Tensor.positive = Tensor.__pos__ = positive
for _op in (hypot, copysign, logit, xlogy, frac, fmod, sinc, exp2, erfc, heaviside, sgn, true_divide):
    setattr(Tensor, _op.__name__ + "_", in_place(_op.__name__ + "_", _op))
Tensor.float_power_ = float_power_
Tensor.frexp, Tensor.ldexp, Tensor.nextafter, Tensor.gcd, Tensor.lcm = frexp, ldexp, nextafter, gcd, lcm
for _op in (ldexp, nextafter, gcd, lcm):
    setattr(Tensor, _op.__name__ + "_", in_place(_op.__name__ + "_", _op))
