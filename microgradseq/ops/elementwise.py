"""Elementwise ops: forward value and gradient rule side by side.

Each op ends in `record(name, y, inputs, rules, saved)`, and its rules follow
it, one per operand: `rule(g, kept)` turns g = dL/dy into dL/d operand, where
`kept` is what the op saved for that operand (`saved[i]`, e.g. tanh saves y).
Rules are module constants, not closures: a node then costs no function
objects, and what it keeps is in plain sight as `node.saved`.

`add`, `mul`, `lerp`, `tanh` and `relu` take numpy's `out=` (the last op of a cell
step writes into a layer's output array). The caller holds that array, so it
is watched for in-place changes as `.data` is (`tensor.written_into`).
Broadcasting is undone centrally by `autograd.sum_to`, so no rule here sums
over broadcast axes.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import NOTHING_KEPT, Tensor, as_tensor, caller_holds, record, written_into


def _operands(name: str, fn: Callable, a: Any, b: Any) -> tuple[Tensor, Tensor, np.ndarray]:
    """Both operands as tensors, and fn of their data; a shape mismatch names the op."""
    if type(a) is not Tensor or type(b) is not Tensor:
        a = as_tensor(a, b if isinstance(b, Tensor) else None)
        b = as_tensor(b, a)
    try:
        return a, b, fn(a._data, b._data)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def passthrough(g: np.ndarray, kept: None = None) -> np.ndarray:
    """The rule of an op whose output moves one for one with its input: dL/dx = g."""
    return g


def negated(g: np.ndarray, kept: None = None) -> np.ndarray:
    """The rule of an operand that moves the output the other way: dL/dx = -g."""
    return -g


def scaled(g: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """The rule of a factor: dL/da = g * factor, where `factor` is the product of the other factors."""
    return g * factor


def divided(g: np.ndarray, divisor: np.ndarray) -> np.ndarray:
    """The rule of an operand whose output moves 1 / divisor as fast: dL/da = g / divisor."""
    return g / divisor


def _fitting(name: str, out: np.ndarray, shape: tuple, dtype) -> np.ndarray:
    """`out`, if the result (shape, dtype) fits it exactly (numpy's out= would cast silently)."""
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{name}: out of shape {out.shape} and dtype {out.dtype} does not fit the result "
                         f"(shape {shape}, dtype {dtype})")
    return out


def _placed(name: str, y: np.ndarray, out: np.ndarray | None, kept: tuple = ()) -> np.ndarray:
    """y, copied into `out` when one is given. A layer passes the slice of its output array
    for step t, so collecting the steps needs no copy of the whole sequence. `kept`: the
    operands' arrays the gradient rules read, which `out` must not overwrite."""
    if out is None:
        return y
    _fitting(name, out, y.shape, y.dtype)
    if kept and caller_holds(out) and any(np.may_share_memory(out, array) for array in kept):
        raise ValueError(f"{name}: out shares memory with an operand that the gradient needs; "
                         "write into another array")
    out[...] = y
    return out


def add(a: Any, b: Any, out: np.ndarray | None = None) -> Tensor:
    """a + b;   d/da = 1,   d/db = 1"""
    a, b, y = _operands("add", np.add, a, b)
    if out is None:
        return record("add", y, (a, b), _ADD_RULES, NOTHING_KEPT[2])
    return written_into(record("add", _placed("add", y, out), (a, b), _ADD_RULES, NOTHING_KEPT[2]), out)


_ADD_RULES = (passthrough, passthrough)


def sub(a: Any, b: Any) -> Tensor:
    """a - b;   d/da = 1,   d/db = -1"""
    a, b, y = _operands("sub", np.subtract, a, b)
    return record("sub", y, (a, b), _SUB_RULES, NOTHING_KEPT[2])


_SUB_RULES = (passthrough, negated)


def mul(a: Any, b: Any, out: np.ndarray | None = None) -> Tensor:
    """a * b;   d/da = b,   d/db = a"""
    a, b, y = _operands("mul", np.multiply, a, b)
    kept = (b._data, a._data)
    if out is None:
        return record("mul", y, (a, b), _MUL_RULES, kept)
    return written_into(record("mul", _placed("mul", y, out, kept), (a, b), _MUL_RULES, kept), out)


_MUL_RULES = (scaled, scaled)       # each factor keeps the other


def lerp(start: Any, end: Any, weight: Any, out: np.ndarray | None = None) -> Tensor:
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
    kept = (W, W, difference)
    if out is None:
        return record("lerp", y, (start, end, weight), _LERP_RULES, kept)
    return written_into(record("lerp", _placed("lerp", y, out, (W,)), (start, end, weight), _LERP_RULES, kept), out)


def _d_start(g: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return g * (1 - weight)


_LERP_RULES = (_d_start, scaled, scaled)    # end keeps the weight, the weight keeps end - start


def div(a: Any, b: Any) -> Tensor:
    """a / b;   d/da = 1 / b,   d/db = -a / b^2 = -y / b"""
    a, b, y = _operands("div", np.divide, a, b)
    B = b._data
    return record("div", y, (a, b), _DIV_RULES, (B, (y, B)))


def _d_divisor(g: np.ndarray, kept: tuple) -> np.ndarray:
    y, b = kept
    return -g * y / b


_DIV_RULES = (divided, _d_divisor)


def power(a: Any, b: Any) -> Tensor:
    """a ** b;   d/da = b * a^(b-1),   d/db = a^b * log(a)  (0 where a = 0 and b >= 0)"""
    a, b, y = _operands("pow", np.power, a, b)
    A, B = a._data, b._data
    return record("pow", y, (a, b), _POWER_RULES, ((A, B), (A, B, y)))


def _d_base(g: np.ndarray, kept: tuple) -> np.ndarray:
    a, b = kept
    return g * b * a ** (b - 1)


def _d_exponent(g: np.ndarray, kept: tuple) -> np.ndarray:
    a, b, y = kept
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = np.where((a == 0) & (b >= 0), 0.0, np.log(a))
    return g * y * log_a


_POWER_RULES = (_d_base, _d_exponent)


def clone(x: Any) -> Tensor:
    """A copy of x in its own memory;   d/dx = 1

    Where a node saves a slice of a larger array, saving a clone instead lets
    the rest of that array go (the GRU cell clones its h_n columns)."""
    x = x if type(x) is Tensor else as_tensor(x)
    return record("clone", x._data.copy(), (x,), _CLONE_RULES, NOTHING_KEPT[1])


_CLONE_RULES = (passthrough,)


def neg(x: Any) -> Tensor:
    """-x;   d/dx = -1"""
    x = x if type(x) is Tensor else as_tensor(x)
    return record("neg", -x._data, (x,), (negated,), NOTHING_KEPT[1])


def exp(x: Any) -> Tensor:
    """e^x;   d e^x/dx = e^x"""
    x = x if type(x) is Tensor else as_tensor(x)
    y = np.exp(x._data)
    return record("exp", y, (x,), (scaled,), (y,))


def log(x: Any) -> Tensor:
    """log x (NaN for x < 0, as numpy);   d log x/dx = 1 / x"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    return record("log", np.log(X), (x,), (divided,), (X,))


def tanh(x: Any, out: np.ndarray | None = None) -> Tensor:
    """tanh x;   d tanh(x)/dx = 1 - tanh(x)^2"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    if out is None:
        y = np.tanh(X)
        return record("tanh", y, (x,), _TANH_RULES, (y,))
    y = np.tanh(X, out=_fitting("tanh", out, X.shape, X.dtype))    # (tanh keeps y: out may be x's array)
    return written_into(record("tanh", y, (x,), _TANH_RULES, (y,)), out)


_TANH_RULES = (lambda g, y: g * (1 - y * y),)


def sigmoid(x: Any) -> Tensor:
    """s(x) = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2 (no overflow);   ds/dx = s (1 - s)"""
    x = x if type(x) is Tensor else as_tensor(x)
    y = np.tanh(0.5 * x._data)
    y *= 0.5
    y += 0.5
    return record("sigmoid", y, (x,), _SIGMOID_RULES, (y,))


_SIGMOID_RULES = (lambda g, s: g * s * (1 - s),)


def relu(x: Any, out: np.ndarray | None = None) -> Tensor:
    """max(x, 0);   d/dx = 1 where x > 0, else 0"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    if out is None:
        return record("relu", np.maximum(X, 0), (x,), _RELU_RULES, (X,))
    y = _placed("relu", np.maximum(X, 0), out, (X,))
    return written_into(record("relu", y, (x,), _RELU_RULES, (X,)), out)


_RELU_RULES = (lambda g, x: g * (x > 0),)


def abs(x: Any) -> Tensor:
    """|x|;   d|x|/dx = sign(x)  (0 at 0)"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    return record("abs", np.abs(X), (x,), _ABS_RULES, (X,))


_ABS_RULES = (lambda g, x: g * np.sign(x),)


def sqrt(x: Any) -> Tensor:
    """sqrt x;   d sqrt(x)/dx = 1 / (2 sqrt(x))"""
    x = x if type(x) is Tensor else as_tensor(x)
    y = np.sqrt(x._data)
    return record("sqrt", y, (x,), _SQRT_RULES, (y,))


_SQRT_RULES = (lambda g, y: g / (2 * y),)


def clip(x: Any, lo: float | None = None, hi: float | None = None) -> Tensor:
    """min(max(x, lo), hi);   d/dx = 1 where lo <= x <= hi, else 0"""
    x = x if type(x) is Tensor else as_tensor(x)
    X = x._data
    inside = np.ones(X.shape, dtype=bool)
    if lo is not None:
        inside &= X >= lo
    if hi is not None:
        inside &= X <= hi
    return record("clip", np.clip(X, lo, hi), (x,), (scaled,), (inside,))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """condition ? a : b;   d/da = 1 where condition, d/db = 1 elsewhere"""
    cond = np.array(condition._data if isinstance(condition, Tensor) else condition, dtype=bool)  # (a copy: kept)
    try:
        a, b, y = _operands("where", lambda A, B: np.where(cond, A, B), a, b)
    except ValueError:
        shapes = [np.shape(v._data if isinstance(v, Tensor) else v) for v in (a, b)]
        raise ValueError(f"where: condition of shape {cond.shape} and operands of shapes {shapes[0]} and "
                         f"{shapes[1]} cannot be broadcast together") from None
    return record("where", y, (a, b), _WHERE_RULES, (cond, cond))


_WHERE_RULES = (lambda g, cond: np.where(cond, g, 0), lambda g, cond: np.where(cond, 0, g))
