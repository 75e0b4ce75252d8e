"""Review of PyTorch's promotion across kinds in the binary elementwise ops (`ops/elementwise.py`,
`operands` and `promoted`): an integer or bool operand next to a floating one takes the floating
dtype. Each expected dtype below was read off PyTorch 2.13 (CPU) for the same operands; each expected
value is numpy's closed form (both operands in the result's dtype, then the op), never the library's
own output. Two floating or two integer tensors of which one is 0-d are left out: there PyTorch's
dimensioned tensor wins and the library follows numpy, as docs/pytorch.md says."""

import operator
import warnings

import numpy as np
import pytest

import microgradseq as mg

MASK = np.array([True, False, True])
LEFT = {"int": [3, 5, 2], "float": [3.5, 5.0, 2.25], "bool": [True, False, True]}
RIGHT = {"int": [2, 3, 1], "float": [2.0, 0.5, 1.5], "bool": [True, True, True]}


def _values(side: dict, dtype: str, ndim: int) -> np.ndarray:
    kind = "bool" if dtype == "bool" else "float" if dtype.startswith("float") else "int"
    values = np.array(side[kind], dtype=dtype)
    return values if ndim else values[1]


# (a, a's ndim, b, b's ndim, PyTorch's dtype of a + b, a - b, a * b, a / b, a ** b, a // b, a % b and
#  where(mask, a, b); "-" where PyTorch and the library refuse: subtraction with a bool tensor)
TABLE = """
float32 1 int64   1 | float32 float32 float32 float32 float32 float32 float32 float32
int64   1 float32 1 | float32 float32 float32 float32 float32 float32 float32 float32
float16 1 int32   1 | float16 float16 float16 float16 float16 float16 float16 float16
int16   1 float16 1 | float16 float16 float16 float16 float16 float16 float16 float16
float64 1 uint8   1 | float64 float64 float64 float64 float64 float64 float64 float64
bool    1 float32 1 | float32 -       float32 float32 float32 float32 float32 float32
float32 1 bool    1 | float32 -       float32 float32 float32 float32 float32 float32
int8    1 float64 1 | float64 float64 float64 float64 float64 float64 float64 float64
float32 1 int64   0 | float32 float32 float32 float32 float32 float32 float32 float32
int64   0 float32 1 | float32 float32 float32 float32 float32 float32 float32 float32
int64   1 float16 0 | float16 float16 float16 float16 float16 float16 float16 float16
float64 0 int32   1 | float64 float64 float64 float64 float64 float64 float64 float64
bool    1 float16 0 | float16 -       float16 float16 float16 float16 float16 float16
uint8   0 float32 0 | float32 float32 float32 float32 float32 float32 float32 float32
float16 0 int64   0 | float16 float16 float16 float16 float16 float16 float16 float16
float32 1 float64 1 | float64 float64 float64 float64 float64 float64 float64 float64
float16 1 float32 1 | float32 float32 float32 float32 float32 float32 float32 float32
float16 0 float32 0 | float32 float32 float32 float32 float32 float32 float32 float32
int8    1 uint8   1 | int16   int16   int16   float32 int16   int16   int16   int16
int32   1 int64   1 | int64   int64   int64   float32 int64   int64   int64   int64
bool    1 int8    1 | int8    -       int8    float32 int8    int8    int8    int8
"""
OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power,
       "//": np.floor_divide, "%": np.mod, "where": lambda a, b: np.where(MASK, a, b)}
APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
         "**": lambda a, b: a ** b, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
         "where": lambda a, b: mg.where(mg.tensor(MASK), a, b)}


def _table() -> list:
    cases = []
    for line in TABLE.strip().splitlines():
        operands, dtypes = line.split("|")
        a, a_ndim, b, b_ndim = operands.split()
        for op, expected in zip(OPS, dtypes.split()):
            cases.append(pytest.param(a, int(a_ndim), b, int(b_ndim), op, expected,
                                      id=f"{a}{'[]' if int(a_ndim) else ''} {op} {b}{'[]' if int(b_ndim) else ''}"))
    return cases


@pytest.mark.parametrize("a_dtype, a_ndim, b_dtype, b_ndim, op, expected", _table())
def test_two_tensors_take_pytorchs_dtype(a_dtype, a_ndim, b_dtype, b_ndim, op, expected):
    A, B = _values(LEFT, a_dtype, a_ndim), _values(RIGHT, b_dtype, b_ndim)
    a, b = mg.tensor(A, dtype=a_dtype), mg.tensor(B, dtype=b_dtype)
    if expected == "-":
        with pytest.raises(TypeError, match="bool"):
            APPLY[op](a, b)
        return
    y = APPLY[op](a, b)
    assert y.dtype == np.dtype(expected)
    with np.errstate(all="ignore"):
        want = OPS[op](A.astype(expected), B.astype(expected))
    np.testing.assert_allclose(y.numpy(), want.astype(expected), rtol=1e-3 if expected == "float16" else 1e-6)


# Scalars, numpy scalars and in-place forms: (expression, PyTorch's dtype, numpy's closed form)
T16, T32, I16, I32, I64, U8 = (np.array(v, dtype=d) for v, d in (([3.5, 5.0, 2.25], "float16"),
                              ([3.5, 5.0, 2.25], "float32"), ([3, 5, 2], "int16"), ([3, 5, 2], "int32"),
                              ([3, 5, 2], "int64"), ([3, 5, 2], "uint8")))
SCALARS = [
    ("t16 * 3", lambda t: t["t16"] * 3, "float16", T16 * np.float16(3)),
    ("i32 * 2.5", lambda t: t["i32"] * 2.5, "float32", I32.astype("float32") * np.float32(2.5)),
    ("u8 + True", lambda t: t["u8"] + True, "uint8", U8 + np.uint8(1)),
    ("2 ** t16", lambda t: 2 ** t["t16"], "float16", np.float16(2) ** T16),
    ("i64 / 2", lambda t: t["i64"] / 2, "float32", I64.astype("float32") / np.float32(2)),
    ("np.float64 * t32", lambda t: np.float64(0.5) * t["t32"], "float32", T32 * np.float32(0.5)),
    ("i16 * np.float64", lambda t: t["i16"] * np.float64(0.5), "float32", I16.astype("float32") * np.float32(0.5)),
    ("np.int64 * t16", lambda t: np.int64(3) * t["t16"], "float16", T16 * np.float16(3)),
    ("where(mask, i64, 2.5)", lambda t: mg.where(mg.tensor(MASK), t["i64"], 2.5), "float32",
     np.where(MASK, I64.astype("float32"), np.float32(2.5))),
    ("where(mask, t16, 2)", lambda t: mg.where(mg.tensor(MASK), t["t16"], 2), "float16",
     np.where(MASK, T16, np.float16(2))),
    ("t32.pow(int64 tensor)", lambda t: t["t32"].pow(mg.tensor([1, 2, 3])), "float32", T32 ** np.float32([1, 2, 3])),
]


def _tensors() -> dict:
    return {name: mg.tensor(values) for name, values in
            (("t16", T16), ("t32", T32), ("i16", I16), ("i32", I32), ("i64", I64), ("u8", U8))}


@pytest.mark.parametrize("expression, expected, want", [pytest.param(f, d, w, id=i) for i, f, d, w in SCALARS])
def test_scalars_take_pytorchs_dtype(expression, expected, want):
    y = expression(_tensors())
    assert y.dtype == np.dtype(expected)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-3)


def test_comparison_is_made_in_the_promoted_dtype():
    # PyTorch: tensor([16777217]) == tensor([16777216.]) is True (both in float32, where 2^24 + 1 rounds to 2^24)
    assert (mg.tensor([16777217]) == mg.tensor([16777216.0])).tolist() == [True]


# In place under no_grad: p keeps its dtype, or PyTorch raises (the library: TypeError)
IN_PLACE = [  # (p's dtype, operator, other's dtype, other's ndim, PyTorch's dtype of p or None: raises)
    ("float32", "+=", "int64", 1, "float32"), ("float32", "-=", "int32", 0, "float32"),
    ("float16", "*=", "int64", 1, "float16"), ("float64", "/=", "uint8", 1, "float64"),
    ("float32", "+=", "bool", 1, "float32"), ("int32", "+=", "int64", 1, "int32"),
    ("int64", "+=", "float32", 1, None), ("int64", "*=", "float16", 0, None),
    ("int32", "/=", "int32", 1, None), ("bool", "+=", "int64", 1, None),
]


IN_PLACE_OPERATORS = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv}


@pytest.mark.parametrize("p_dtype, symbol, other_dtype, other_ndim, expected", IN_PLACE)
def test_in_place_keeps_the_dtype_or_raises(p_dtype, symbol, other_dtype, other_ndim, expected):
    P, Q = _values(LEFT, p_dtype, 1), _values(RIGHT, other_dtype, other_ndim)
    p, q = mg.tensor(P), mg.tensor(Q)
    kept = p
    with mg.no_grad():
        if expected is None:
            with pytest.raises(TypeError):
                IN_PLACE_OPERATORS[symbol](p, q)
            return
        p = IN_PLACE_OPERATORS[symbol](p, q)
    assert p is kept and p.dtype == np.dtype(expected)
    np.testing.assert_allclose(p.numpy(), OPS[symbol[0]](P, Q.astype(expected)), rtol=1e-3)


# Gradients to a float x next to an integer or bool tensor n: (op, y(x, n), closed-form dy/dx)
GRADIENTS = [
    ("x + n", lambda x, n: x + n, lambda X, N: np.ones_like(X)),
    ("n - x", lambda x, n: n - x, lambda X, N: -np.ones_like(X)),
    ("x * n", lambda x, n: x * n, lambda X, N: N + 0 * X),
    ("n * x", lambda x, n: n * x, lambda X, N: N + 0 * X),
    ("x / n", lambda x, n: x / n, lambda X, N: 1 / N + 0 * X),
    ("n / x", lambda x, n: n / x, lambda X, N: -N / X ** 2),
    ("x ** n", lambda x, n: x ** n, lambda X, N: N * X ** (N - 1.0)),
    ("n ** x", lambda x, n: n ** x, lambda X, N: np.where(N > 0, N ** X * np.log(np.where(N > 0, N, 1)), 0.0)),
    ("x % n", lambda x, n: x % n, lambda X, N: np.ones_like(X)),
    ("n % x", lambda x, n: n % x, lambda X, N: -np.floor(N / X)),
    ("where(mask, n, x)", lambda x, n: mg.where(mg.tensor(MASK), n, x), lambda X, N: np.where(MASK, 0.0, 1.0)),
]


# (a bool n: PyTorch refuses n - x and x ** n, whose backward subtracts; n = False would divide by 0)
BOOL_LEFT_OUT = ("n - x", "x ** n", "x / n", "x % n", "n % x")


@pytest.mark.parametrize("float_dtype, int_dtype, n_ndim, name, f, derivative", [
    pytest.param(float_dtype, int_dtype, n_ndim, *row, id=f"{row[0]}-{float_dtype}-{int_dtype}{'[]' if n_ndim else ''}")
    for float_dtype in ("float16", "float32", "float64")
    for int_dtype, n_ndim in (("int64", 1), ("int32", 0), ("uint8", 1), ("bool", 1))
    for row in GRADIENTS if not (int_dtype == "bool" and row[0] in BOOL_LEFT_OUT)])
def test_gradient_reaches_the_float_operand_in_its_dtype(float_dtype, int_dtype, n_ndim, name, f, derivative):
    X = np.array([1.5, 2.0, 3.25], dtype=float_dtype)
    N = np.array([2, 3, 1] if int_dtype != "bool" else [True, False, True], dtype=int_dtype)
    N = N if n_ndim else N[1]
    x = mg.tensor(X, requires_grad=True)
    y = f(x, mg.tensor(N))
    assert y.dtype == np.dtype(float_dtype)             # as PyTorch's, for every row here
    y.sum().backward()
    assert x.grad.dtype == np.dtype(float_dtype)
    want = derivative(X.astype(np.float64), np.asarray(N, dtype=np.float64))
    np.testing.assert_allclose(np.asarray(x.grad, dtype=np.float64), np.broadcast_to(want, X.shape),
                               rtol=4e-3 if float_dtype == "float16" else 1e-6)


DEFAULT_FLOAT64 = [  # PyTorch's dtypes after torch.set_default_dtype(torch.float64)
    ("int64 * float32 tensor", lambda: mg.tensor([3, 5]) * mg.tensor([2.0, 0.5], dtype=np.float32), "float32",
     np.float32([6.0, 2.5])),
    ("uint8 * 0-d float16 tensor", lambda: mg.tensor([3, 5], dtype=np.uint8) * mg.tensor(2.0, dtype=np.float16),
     "float16", np.float16([6.0, 10.0])),
    ("int64 / int64", lambda: mg.tensor([3, 5]) / mg.tensor([2, 4]), "float64", np.array([1.5, 1.25])),
    ("int64 * 2.5", lambda: mg.tensor([3, 5]) * 2.5, "float64", np.array([7.5, 12.5])),
    ("float32 * 2.5", lambda: mg.tensor([3.0, 5.0], dtype=np.float32) * 2.5, "float32", np.float32([7.5, 12.5])),
    ("bool + 0.5", lambda: mg.tensor([True, False]) + 0.5, "float64", np.array([1.5, 0.5])),
    ("where(mask, int32, 1.5)", lambda: mg.where(mg.tensor([True, False]), mg.tensor([3, 5], dtype=np.int32), 1.5),
     "float64", np.array([3.0, 1.5])),
]


@pytest.mark.parametrize("name, expression, expected, want", DEFAULT_FLOAT64, ids=[c[0] for c in DEFAULT_FLOAT64])
def test_default_float64(float64_default, name, expression, expected, want):
    y = expression()
    assert y.dtype == np.dtype(expected)
    np.testing.assert_allclose(y.numpy(), want)


@pytest.mark.parametrize("op", ["+", "*", "/", "where"])
def test_integers_past_float16s_range_become_inf_quietly(op):
    """An int tensor next to a float16 one is cast to float16 first, as PyTorch's: 70000 is inf there,
    without numpy's "overflow encountered in cast" (PyTorch gives no warning; the commit before gave
    float64, with no cast and no warning). Failed on 0d1f1c3 when warnings are errors."""
    h = mg.tensor([0.5, 3.0], dtype=np.float16)
    n = mg.tensor([70000, 2049])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = APPLY[op](h, n) if op != "where" else mg.where(mg.tensor([False, True]), h, n)
    assert y.dtype == np.float16
    want = {"+": [np.inf, 2052.0], "*": [np.inf, 6144.0], "/": [0.0, 3.0 / 2048], "where": [np.inf, 3.0]}[op]
    np.testing.assert_allclose(y.numpy().astype(np.float64), want, rtol=1e-3)


@pytest.mark.parametrize("exponent", [0.5, 2.0, -1.0])
def test_a_float32_base_to_a_float64_0d_exponent_is_computed_in_float64(exponent):
    """5 ** 0.5 of a 0-d float32 base and a 0-d float64 exponent is float64, as PyTorch's, and as
    precise as float64: the powers spelled out by products and roots (2, 0.5, -1, ...) were computed in
    the base's float32 and cast after (2.2360680103 for sqrt(5) = 2.2360679775)."""
    y = mg.tensor(5.0, dtype=np.float32) ** mg.tensor(exponent, dtype=np.float64)
    assert y.dtype == np.float64
    assert abs(y.item() - 5.0 ** exponent) <= 1e-15 * 5.0 ** exponent


def test_pow_floordiv_and_mod_in_place_change_the_tensor_itself_as_pytorchs():
    """`p **= 2`, `p //= 1.0`, `p %= 3.0` under no_grad give the same tensor a new array, as `+=` does
    (they rebound the name to a new tensor: a module's parameter stayed as it was); on a leaf that
    requires grad, while recording, they are refused as `+=` is."""
    p = mg.tensor([1.5, 2.0], requires_grad=True)
    before = p
    with mg.no_grad():
        p **= 2
        p //= 1.0
        p %= 3.0
    assert p is before and p.dtype == np.float32
    np.testing.assert_array_equal(p.numpy(), np.float32([1.5, 2.0]) ** 2 // 1.0 % 3.0)
    with pytest.raises(RuntimeError, match=r"\*\*=: a leaf tensor that requires grad"):
        p **= 2


def test_a_non_leaf_raised_to_a_power_in_place_records_it():
    """y = 1 * x; y **= 3: dy/dx = 3 x^2, as for y = x ** 3."""
    x = mg.tensor([1.0, -2.0, 0.5], dtype=np.float64, requires_grad=True)
    y = x * 1
    y **= 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * np.array([1.0, -2.0, 0.5]) ** 2, rtol=1e-15)


def test_in_place_ops_keep_the_tensors_integer_dtype_and_refuse_a_float_result():
    """PyTorch's: uint8 [250, 3] += int8 [10, -5] stays uint8 and wraps ([4, 254]; numpy would make
    int16 and same_kind casting refused it); int16 **= a float16 tensor is refused (a float result
    cannot go into integers)."""
    u = mg.tensor(np.array([250, 3], np.uint8))
    u += mg.tensor(np.array([10, -5], np.int8))
    assert u.dtype == np.uint8
    np.testing.assert_array_equal(u.numpy(), [(250 + 10) % 256, (3 - 5) % 256])
    i = mg.tensor(np.array([3, 4], np.int16))
    with pytest.raises(TypeError, match="float16 cannot be cast to the tensor's dtype int16"):
        i **= mg.tensor(np.array([1.0, 2.0], np.float16))
