"""PyTorch's tangent, inverse circular and inverse hyperbolic functions and its angle conversions, each
`mg.X(...)` and `t.X(...)` (in place `t.X_()`: in_place.py's table): `tan`, `asin` (`arcsin`), `acos`
(`arccos`), `atan` (`arctan`), `asinh` (`arcsinh`), `acosh` (`arccosh`), `atanh` (`arctanh`),
`deg2rad` and `rad2deg`.

Each function is a row of the table of derivatives, as in `elementwise.py`, with PyTorch's rule
(tools/autograd/derivatives.yaml); `deg2rad` and `rad2deg` are a `mul` by a constant, as PyTorch's
(UnaryOps.cpp: `mul_out(result, self, M_PI_180)`). Integers and bools give the default float dtype,
as PyTorch's. Outside a domain the value is numpy's (asin(2) is NaN, atanh(1) is inf, acosh(1) is 0
with an infinite slope), quietly, as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor, result
from . import elementwise as ew
from .elementwise import elementwise, floats


def _input(x: Any) -> tuple[Tensor, np.ndarray]:
    """x as a tensor, and its array in floating point (integers and bools: the default float dtype)."""
    x = x if type(x) is Tensor else as_tensor(x)
    return x, floats(x)


def _quietly(fn: np.ufunc, X: np.ndarray) -> np.ndarray:
    """fn(X) without numpy's warnings outside the domain (NaN, +-inf), as PyTorch's."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return fn(X)


def tan(input: Any) -> Tensor:
    """tan x, as torch.tan;   d tan(x)/dx = 1 + tan(x)^2"""
    x, X = _input(input)
    y = np.tan(X)
    return result("tan", y, (x,), TAN, (y,))


TAN = elementwise(lambda g, y: g * (1 + y * y))


def asin(input: Any) -> Tensor:
    """arcsin x in [-pi/2, pi/2] (NaN for |x| > 1), as torch.asin;   d asin(x)/dx = 1 / sqrt(1 - x^2)"""
    x, X = _input(input)
    return result("asin", _quietly(np.arcsin, X), (x,), ASIN, (X,))


def _d_asin(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / np.sqrt(1 - x * x)


ASIN = elementwise(_d_asin)


def acos(input: Any) -> Tensor:
    """arccos x in [0, pi] (NaN for |x| > 1), as torch.acos;   d acos(x)/dx = -1 / sqrt(1 - x^2)"""
    x, X = _input(input)
    return result("acos", _quietly(np.arccos, X), (x,), ACOS, (X,))


ACOS = elementwise(lambda g, x: -_d_asin(g, x))


def atan(input: Any) -> Tensor:
    """arctan x in (-pi/2, pi/2), as torch.atan;   d atan(x)/dx = 1 / (1 + x^2)"""
    x, X = _input(input)
    return result("atan", np.arctan(X), (x,), ATAN, (X,))


ATAN = elementwise(lambda g, x: g / (1 + x * x))


def asinh(input: Any) -> Tensor:
    """arsinh x = log(x + sqrt(x^2 + 1)), as torch.asinh;   d asinh(x)/dx = 1 / sqrt(x^2 + 1)"""
    x, X = _input(input)
    return result("asinh", np.arcsinh(X), (x,), ASINH, (X,))


ASINH = elementwise(lambda g, x: g / np.sqrt(x * x + 1))


def acosh(input: Any) -> Tensor:
    """arcosh x = log(x + sqrt(x^2 - 1)) >= 0 (NaN for x < 1), as torch.acosh;
    d acosh(x)/dx = 1 / sqrt(x^2 - 1)   (PyTorch's real case: (x * x - 1).rsqrt(); inf at 1)"""
    x, X = _input(input)
    return result("acosh", _quietly(np.arccosh, X), (x,), ACOSH, (X,))


def _d_acosh(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / np.sqrt(x * x - 1)


ACOSH = elementwise(_d_acosh)


def atanh(input: Any) -> Tensor:
    """artanh x = log((1 + x) / (1 - x)) / 2 (+-inf at +-1, NaN for |x| > 1), as torch.atanh;
    d atanh(x)/dx = 1 / (1 - x^2)"""
    x, X = _input(input)
    return result("atanh", _quietly(np.arctanh, X), (x,), ATANH, (X,))


def _d_atanh(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / (1 - x * x)


ATANH = elementwise(_d_atanh)


def deg2rad(input: Any) -> Tensor:
    """input degrees in radians, input * pi / 180, as torch.deg2rad: a `mul`, so d/dinput = pi / 180"""
    return ew.mul(_angle("deg2rad", input), math.pi / 180)


def rad2deg(input: Any) -> Tensor:
    """input radians in degrees, input * 180 / pi, as torch.rad2deg: a `mul`, so d/dinput = 180 / pi"""
    return ew.mul(_angle("rad2deg", input), 180 / math.pi)


def _angle(name: str, input: Any) -> Tensor:
    """input as a real tensor (integers and bools in the default float dtype); complex input is a
    TypeError, as PyTorch's ("deg2rad is not supported for complex tensors")."""
    x, X = _input(input)
    if X.dtype.kind == "c":
        raise TypeError(f"{name}: expected a real tensor, got dtype {X.dtype} (PyTorch has no complex {name})")
    return x


Tensor.tan, Tensor.deg2rad, Tensor.rad2deg = tan, deg2rad, rad2deg
Tensor.asin = Tensor.arcsin = asin
Tensor.acos = Tensor.arccos = acos
Tensor.atan = Tensor.arctan = atan
Tensor.asinh = Tensor.arcsinh = asinh
Tensor.acosh = Tensor.arccosh = acosh
Tensor.atanh = Tensor.arctanh = atanh
