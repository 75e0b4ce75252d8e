"""Forward mode: every primitive op's JVP rule, `mg.jvp`, `mg.vjp` and `mg.jacobian`.

The references are independent of the rules under test:

- J v against the central difference (f(x + eps v) - f(x - eps v)) / (2 eps)
  of the numpy function, along a random direction v (float64);
- the two modes against each other: <u, J v> = <J^T u, v> for random u, v,
  where J^T u comes from the reverse-mode rules (themselves checked against
  finite differences in test_op_gradients.py);
- k directions in one pass against k passes of one direction each;
- closed forms where finite differences are not defined (max at ties, 0 ** b)
  or not the point (astype's dtypes).

Hypothesis draws the shapes (broadcasting, size-1 axes, 0-d arrays, vector and
batched matmul operands) as test_op_gradients.py does.
"""

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_op_gradients import (BROADCAST_PAIRS, EMPTY_CASES, NONEMPTY_DIMS, NORM_ORDERS, SHAPES, TIES, away_from,
                               boolean_mask_indices, concat_shapes, distinct_values, documented_max_jacobian,
                               index_put_inputs, matmul_shapes, norm_inputs, np_index_put, np_log_softmax, np_norm,
                               nonzero, positive, reduction_axes, reshape_targets, values)
from test_special_functions import (np_digamma, np_erfcx, np_erfinv, np_i0, np_i0e, np_i1, np_i1e, np_log_ndtr,
                                    np_ndtri, np_polygamma)

import microgradseq as mg
import microgradseq.functional as F

EPS = 1e-6
FAST = settings(max_examples=20, deadline=None)


# ---- the independent reference ---------------------------------------------------

def directional_difference(np_fn, arrays, directions, eps: float = EPS) -> np.ndarray:
    """(f(x + eps v) - f(x - eps v)) / (2 eps): the derivative of f along v, by central differences."""
    plus = np_fn(*[a + eps * v for a, v in zip(arrays, directions)])
    minus = np_fn(*[a - eps * v for a, v in zip(arrays, directions)])
    return (np.asarray(plus, dtype=np.float64) - np.asarray(minus, dtype=np.float64)) / (2 * eps)


def as_tensors(arrays):
    return [mg.tensor(a, dtype=np.float64) for a in arrays]


# ---- one row per primitive op: a strategy for (mg function, numpy function, operands) -------------

def binary(mg_op, np_op, left_safe=None, right_safe=None):
    @st.composite
    def case(draw):
        shapes = draw(BROADCAST_PAIRS).input_shapes
        left, right = (draw(values(shape)) for shape in shapes)
        left = left if left_safe is None else left_safe(left)
        right = right if right_safe is None else right_safe(right)
        return mg_op, np_op, [left, right]
    return case()


def unary(mg_op, np_op, safe=None, shapes=SHAPES):
    @st.composite
    def case(draw):
        x = draw(values(draw(shapes)))
        return mg_op, np_op, [x if safe is None else safe(x)]
    return case()


@st.composite
def reduction_case(draw, name):
    shape = draw(SHAPES)
    axis, keepdims = draw(reduction_axes(len(shape))), draw(st.booleans())
    x = draw(distinct_values(shape)) if name == "max" else draw(values(shape))
    np_op = getattr(np, name)
    return (lambda t: getattr(mg.ops, name)(t, axis=axis, keepdims=keepdims),
            lambda a: np_op(a, axis=axis, keepdims=keepdims), [x])


@st.composite
def norm_case(draw):
    """p = 2, 1, inf or "inf" over all entries, an axis or a tuple of axes, keepdim either way, x off the kinks."""
    p = draw(st.sampled_from(NORM_ORDERS))
    x, dim, keepdim = draw(norm_inputs(p))
    return lambda t: mg.ops.norm(t, p, dim, keepdim), lambda a: np_norm(a, p, dim, keepdim), [x]


@st.composite
def concat_case(draw):
    shapes, axis = draw(concat_shapes())
    return (lambda *ts: mg.concat(list(ts), axis=axis), lambda *arrays: np.concatenate(arrays, axis=axis),
            [draw(values(s)) for s in shapes])


@st.composite
def stack_case(draw):
    shape, count = draw(SHAPES), draw(st.integers(1, 3))
    axis = draw(st.integers(-(len(shape) + 1), len(shape)))
    return (lambda *ts: mg.stack(list(ts), axis=axis), lambda *arrays: np.stack(arrays, axis=axis),
            [draw(values(shape)) for _ in range(count)])


@st.composite
def cumsum_case(draw):
    shape = draw(NONEMPTY_DIMS)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return lambda t: mg.ops.cumsum(t, axis), lambda a: np.cumsum(a, axis), [draw(values(shape))]


@st.composite
def with_zeros(draw, shape):
    """Values of `shape` with some entries (maybe none, maybe all) set to 0: the products' hard cases."""
    zeros = draw(hnp.arrays(np.bool_, shape))
    return np.where(zeros, 0.0, draw(values(shape)))


@st.composite
def prod_case(draw):
    """prod over every entry or along one axis (0-d: dim 0 or -1 too), keepdim either way, zeros drawn in."""
    shape = draw(SHAPES)
    dim = draw(st.one_of(st.none(), st.integers(-max(len(shape), 1), max(len(shape), 1) - 1)))
    keepdim = draw(st.booleans())
    axis = None if dim is None or not shape else dim
    return (lambda t: mg.ops.prod(t, dim, keepdim), lambda a: np.prod(a, axis=axis, keepdims=keepdim),
            [draw(with_zeros(shape))])


@st.composite
def cumprod_case(draw):
    shape = draw(NONEMPTY_DIMS)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return lambda t: mg.ops.cumprod(t, axis), lambda a: np.cumprod(a, axis), [draw(with_zeros(shape))]


@st.composite
def gather_case(draw):
    shape = draw(NONEMPTY_DIMS)
    index = draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    return (lambda t: mg.ops.gather(t, index),
            lambda a: np.take_along_axis(a, index[..., None], axis=-1)[..., 0], [draw(values(shape))])


@st.composite
def getitem_case(draw):
    """Basic indices (ints, slices with steps, Ellipsis, None) or integer arrays (repeats possible)."""
    shape = draw(NONEMPTY_DIMS)
    index = draw(st.one_of(hnp.basic_indices(shape, allow_newaxis=True), hnp.integer_array_indices(shape)))
    return lambda t: t[index], lambda a: a[index], [draw(values(shape))]


@st.composite
def index_put_case(draw):
    index, x, value = draw(index_put_inputs())
    return lambda t, v: mg.ops.index_put(t, index, v), np_index_put(index), [x, value]


@st.composite
def lerp_case(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1,
                                                    max_side=3)).input_shapes
    return mg.ops.lerp, lambda s, e, w: s + w * (e - s), [draw(values(shape)) for shape in shapes]


@st.composite
def linear_case(draw):
    """x of 1, 2 or 3 axes, with no bias, a vector bias, or an addend of the output's (broadcast) shape."""
    leading = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    inputs, outputs = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x, weight = draw(values(leading + (inputs,))), draw(values((outputs, inputs)))
    bias = draw(st.sampled_from(["none", "vector", "addend"]))
    if bias == "none":
        return mg.ops.linear, lambda a, w: a @ w.T, [x, weight]
    output_shape = leading + (outputs,)
    if bias == "vector":
        bias_shape = (outputs,)
    else:
        kept = draw(st.integers(1, len(output_shape)))
        squeezed = draw(st.lists(st.booleans(), min_size=kept, max_size=kept))
        bias_shape = tuple(1 if squeeze else n for n, squeeze in zip(output_shape[-kept:], squeezed))
    return mg.ops.linear, lambda a, w, b: a @ w.T + b, [x, weight, draw(values(bias_shape))]


@st.composite
def log_softmax_case(draw):
    shape = draw(NONEMPTY_DIMS)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return (lambda t: mg.ops.log_softmax(t, axis), lambda a: np_log_softmax(a, axis),
            [draw(values(shape)) * 5])


@st.composite
def matmul_case(draw):
    left_shape, right_shape = draw(matmul_shapes())
    return mg.ops.matmul, np.matmul, [draw(values(left_shape)), draw(values(right_shape))]


@st.composite
def reshape_case(draw):
    shape, target = draw(reshape_targets())
    return lambda t: t.reshape(*target), lambda a: a.reshape(target), [draw(values(shape))]


@st.composite
def transpose_case(draw):
    shape = draw(SHAPES)
    axes = tuple(draw(st.permutations(range(len(shape)))))
    return lambda t: t.transpose(axes), lambda a: np.transpose(a, axes), [draw(values(shape))]


@st.composite
def where_case(draw):
    cond_shape, a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)).input_shapes
    cond = draw(hnp.arrays(np.bool_, cond_shape))
    return (lambda a, b: mg.where(cond, a, b), lambda a, b: np.where(cond, a, b),
            [draw(values(a_shape)), draw(values(b_shape))])


@st.composite
def einsum_case(draw):
    """torch.einsum (ops/einsum.py): a matmul, a batch of outer products summed
    (fast.ai's weight gradient), a diagonal, or a broadcast batch matmul, with shapes drawn."""
    i, j, k, b = (draw(st.integers(1, 3)) for _ in range(4))
    equation, shapes = draw(st.sampled_from([("ij,jk->ik", [(i, j), (j, k)]), ("bi,bj->ij", [(b, i), (b, j)]),
                                             ("ii->i", [(i, i)]), ("...ij,jk->...ik", [(b, i, j), (j, k)])]))
    return (lambda *ts: mg.einsum(equation, *ts), lambda *arrays: np.einsum(equation, *arrays),
            [draw(values(shape)) for shape in shapes])


CASES = {
    "abs": unary(mg.ops.abs, np.abs, lambda a: away_from(a, [0.0])),
    "add": binary(mg.ops.add, np.add),
    "astype": unary(lambda t: mg.ops.astype(t, np.float64), lambda a: a.astype(np.float64)),
    "clip": unary(lambda t: mg.ops.clip(t, -0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8),
                  lambda a: away_from(a, [-0.5, 0.8])),
    "clone": unary(mg.ops.clone, np.copy),
    "round": unary(mg.ops.round, np.round, lambda a: away_from(a, [-1.5, -0.5, 0.5, 1.5])),
    "sign": unary(mg.ops.sign, np.sign, lambda a: away_from(a, [0.0])),
    "cosh": unary(mg.ops.cosh, np.cosh, lambda a: a * 2),
    "sinh": unary(mg.ops.sinh, np.sinh, lambda a: a * 2),
    "log10": unary(mg.ops.log10, np.log10, positive),
    "log2": unary(mg.ops.log2, np.log2, positive),
    "log1p": unary(mg.ops.log1p, np.log1p, lambda a: a * 0.45),
    "expm1": unary(mg.ops.expm1, np.expm1, lambda a: a * 2),
    "einsum": einsum_case(),
    "concat": concat_case(),
    "cos": unary(mg.ops.cos, np.cos, lambda a: a * 2),
    "cumprod": cumprod_case(),
    "cumsum": cumsum_case(),
    "div": binary(mg.ops.div, np.divide, right_safe=nonzero),
    "erf": unary(mg.ops.erf, np.vectorize(math.erf)),
    "exp": unary(mg.ops.exp, np.exp),
    "gather": gather_case(),
    "getitem": getitem_case(),
    "index_put": index_put_case(),
    "lerp": lerp_case(),
    "linear": linear_case(),
    "log": unary(mg.ops.log, np.log, positive),
    "log_softmax": log_softmax_case(),
    "matmul": matmul_case(),
    "max": reduction_case("max"),
    "mean": reduction_case("mean"),
    "mul": binary(mg.ops.mul, np.multiply),
    "neg": unary(mg.ops.neg, np.negative),
    "norm": norm_case(),
    "power": binary(mg.ops.power, np.power, left_safe=positive),
    "prod": prod_case(),
    "relu": unary(mg.ops.relu, lambda a: np.maximum(a, 0), lambda a: away_from(a, [0.0])),
    "reshape": reshape_case(),
    "sigmoid": unary(mg.ops.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "sin": unary(mg.ops.sin, np.sin, lambda a: a * 2),
    "sqrt": unary(mg.ops.sqrt, np.sqrt, positive),
    "stack": stack_case(),
    "sub": binary(mg.ops.sub, np.subtract),
    "sum": reduction_case("sum"),
    "tanh": unary(mg.ops.tanh, np.tanh),
    "transpose": transpose_case(),
    "where": where_case(),
    "atan2": binary(mg.ops.atan2, np.arctan2, left_safe=nonzero, right_safe=nonzero),   # (off the cut y = 0, x < 0)
    "copysign": binary(mg.ops.copysign, np.copysign, left_safe=nonzero, right_safe=nonzero),
    "entr": unary(mg.ops.entr, lambda a: -a * np.log(a), positive),
    "erfc": unary(mg.ops.erfc, np.vectorize(math.erfc)),
    "exp2": unary(mg.ops.exp2, np.exp2),
    "fmod": binary(mg.ops.fmod, np.fmod,        # |b| in [1, 1.1], |a| in k + [0.3, 0.45]: a / b far from integers
                   left_safe=lambda a: np.sign(a) * (np.floor(np.abs(a)) + 0.3 + 0.15 * (np.abs(a) % 1)),
                   right_safe=lambda b: np.where(b < 0, -1.0, 1.0) * (1 + 0.05 * np.abs(b))),
    "hypot": binary(mg.ops.hypot, np.hypot, left_safe=nonzero),
    "logit": unary(mg.ops.logit, lambda a: np.log(a / (1 - a)), lambda a: 0.5 + 0.15 * a),
    "sinc": unary(mg.ops.sinc, np.sinc),
    "trunc": unary(mg.ops.trunc, np.trunc, lambda a: away_from(a, [-2.0, -1.0, 0.0, 1.0, 2.0])),
    "xlogy": binary(mg.ops.xlogy, lambda a, b: a * np.log(b), right_safe=positive),
    "xlog1py": binary(mg.ops.xlog1py, lambda a, b: a * np.log1p(b), right_safe=positive),
    "floor": unary(mg.ops.floor, np.floor, lambda a: away_from(a, [-2.0, -1.0, 0.0, 1.0, 2.0])),
    "ceil": unary(mg.ops.ceil, np.ceil, lambda a: away_from(a, [-2.0, -1.0, 0.0, 1.0, 2.0])),
    "reciprocal": unary(mg.ops.reciprocal, lambda a: 1 / a, nonzero),
    "tan": unary(mg.ops.tan, np.tan, lambda a: a * 0.6),             # [-1.2, 1.2]: off the poles at +-pi/2
    "asin": unary(mg.ops.asin, np.arcsin, lambda a: a * 0.45),       # [-0.9, 0.9]: inside (-1, 1)
    "acos": unary(mg.ops.acos, np.arccos, lambda a: a * 0.45),
    "atan": unary(mg.ops.atan, np.arctan, lambda a: a * 2),
    "asinh": unary(mg.ops.asinh, np.arcsinh, lambda a: a * 2),
    "acosh": unary(mg.ops.acosh, np.arccosh, lambda a: positive(a) + 0.7),     # [1.2, 3.2]: off the edge at 1
    "atanh": unary(mg.ops.atanh, np.arctanh, lambda a: a * 0.45),
    "lgamma": unary(mg.ops.lgamma, np.vectorize(math.lgamma), positive),
    "digamma": unary(mg.ops.digamma, np_digamma, positive),
    "polygamma": unary(lambda t: mg.ops.polygamma(2, t), lambda a: np_polygamma(2, a), positive),
    "erfinv": unary(mg.ops.erfinv, np_erfinv, lambda a: a * 0.45),
    "ndtri": unary(mg.ops.ndtri, np_ndtri, lambda a: 0.5 + 0.2 * a),
    "log_ndtr": unary(mg.ops.log_ndtr, np_log_ndtr, lambda a: a * 3),
    "erfcx": unary(mg.ops.erfcx, np_erfcx),
    "i0": unary(mg.ops.i0, np_i0, lambda a: a * 3),
    "i0e": unary(mg.ops.i0e, np_i0e, nonzero),          # (off the kink of e^-|x| at 0)
    "i1": unary(mg.ops.i1, np_i1, lambda a: a * 3),
    "i1e": unary(mg.ops.i1e, np_i1e, nonzero),
}


def test_every_primitive_op_has_a_row_here():
    """The table above covers mg.ops.__all__ exactly: a new op cannot go without a JVP test."""
    assert sorted(CASES) == sorted(mg.ops.__all__)


# ---- more rows: the same ops with constants, one-sided bounds, tensor conditions, masks -------------

@st.composite
def constant_operand_case(draw, op, tensor_safe, constant_safe, kind, side):
    """x OP c (side "right") or c OP x (side "left", numpy deferring to the reflected operator) for c
    a Python scalar or an ndarray broadcast against x: c is a constant, x carries the tangent."""
    x_shape, c_shape = draw(BROADCAST_PAIRS).input_shapes
    x = draw(values(x_shape))
    x = x if tensor_safe is None else tensor_safe(x)
    if kind == "scalar":
        c = 1.7
    else:
        c = draw(values(c_shape))
        c = np.asarray(c if constant_safe is None else constant_safe(c))
    if side == "right":
        return lambda t: op(t, c), lambda a: op(a, c), [x]
    return lambda t: op(c, t), lambda a: op(c, a), [x]


# name: (operator, how to make a left operand safe, how to make a right operand safe)
CONSTANT_OPERATORS = {
    "add": (operator.add, None, None),
    "sub": (operator.sub, None, None),
    "mul": (operator.mul, None, None),
    "div": (operator.truediv, None, nonzero),
    "pow": (operator.pow, positive, None),
}


def constant_cases():
    cases = {}
    for name, (op, left_safe, right_safe) in CONSTANT_OPERATORS.items():
        for kind in ("scalar", "ndarray"):
            cases[f"{name}(x, {kind})"] = constant_operand_case(op, left_safe, right_safe, kind, "right")
            cases[f"{name}({kind}, x)"] = constant_operand_case(op, right_safe, left_safe, kind, "left")
    return cases


@st.composite
def where_variant_case(draw, variant):
    """mg.where with a boolean Tensor as the condition, or a Python scalar as either branch."""
    cond_shape, a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)).input_shapes
    cond = draw(hnp.arrays(np.bool_, cond_shape))
    a, b = draw(values(a_shape)), draw(values(b_shape))
    if variant == "tensor condition":
        return (lambda ta, tb: mg.where(mg.tensor(cond), ta, tb), lambda xa, xb: np.where(cond, xa, xb), [a, b])
    if variant == "scalar first":
        return lambda tb: mg.where(cond, 0.5, tb), lambda xb: np.where(cond, 0.5, xb), [b]
    return lambda ta: mg.where(cond, ta, 0.0), lambda xa: np.where(cond, xa, 0.0), [a]


@st.composite
def sin_cos_broadcast_case(draw):
    """sin(a) * cos(b) with a and b broadcast together (the methods and the function form)."""
    shapes = draw(BROADCAST_PAIRS).input_shapes
    return (lambda a, b: a.sin() * mg.cos(b), lambda a, b: np.sin(a) * np.cos(b),
            [draw(values(shape)) * 2 for shape in shapes])


@st.composite
def boolean_mask_case(draw):
    shape = draw(NONEMPTY_DIMS)
    index = draw(boolean_mask_indices(shape))
    return lambda t: t[index], lambda a: a[index], [draw(values(shape))]


@st.composite
def lerp_scalar_weight_case(draw):
    start_shape, end_shape = draw(BROADCAST_PAIRS).input_shapes
    return (lambda s, e: mg.ops.lerp(s, e, 0.25), lambda s, e: s + 0.25 * (e - s),
            [draw(values(start_shape)), draw(values(end_shape))])


VARIANTS = {
    **constant_cases(),
    "clip(lo only)": unary(lambda t: mg.ops.clip(t, -0.5, None), lambda a: np.clip(a, -0.5, None),
                           lambda a: away_from(a, [-0.5])),
    "clip(hi only)": unary(lambda t: mg.ops.clip(t, hi=0.8), lambda a: np.clip(a, None, 0.8),
                           lambda a: away_from(a, [0.8])),
    "where(tensor condition)": where_variant_case("tensor condition"),
    "where(scalar first branch)": where_variant_case("scalar first"),
    "where(scalar second branch)": where_variant_case("scalar second"),
    "getitem(boolean mask)": boolean_mask_case(),
    "lerp(scalar weight)": lerp_scalar_weight_case(),
    "sin(a) * cos(b) (broadcast)": sin_cos_broadcast_case(),
}
ALL_CASES = {**CASES, **VARIANTS}


def directions_for(data, arrays):
    return [data.draw(values(a.shape), label="v") for a in arrays]


@pytest.mark.parametrize("name", sorted(CASES) + sorted(VARIANTS))
@FAST
@given(data=st.data())
def test_jvp_of_each_operand_matches_central_differences(name, data):
    """J_i v_i for each operand alone (the others' tangents zero), then for all at once, equals the
    central difference of the numpy function along the same direction."""
    mg_fn, np_fn, arrays = data.draw(ALL_CASES[name], label="case")
    directions = directions_for(data, arrays)
    for position in [*range(len(arrays)), None]:
        chosen = [v if position in (None, i) else np.zeros_like(v) for i, v in enumerate(directions)]
        output, tangent = mg.jvp(mg_fn, as_tensors(arrays), chosen)
        np.testing.assert_allclose(output.data, np_fn(*arrays), rtol=1e-12, atol=1e-12)
        assert tangent.shape == output.shape and tangent.dtype == np.float64
        where = "every operand" if position is None else f"operand {position}"
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-5, atol=1e-6,
                                   err_msg=f"J v with the tangent on {where}")


@pytest.mark.parametrize("name", sorted(CASES) + sorted(VARIANTS))
@FAST
@given(data=st.data())
def test_jvp_and_vjp_are_transposes(name, data):
    """<u, J v> = <J^T u, v>: forward mode and reverse mode compute the same Jacobian."""
    mg_fn, np_fn, arrays = data.draw(ALL_CASES[name], label="case")
    directions = directions_for(data, arrays)
    output, tangent = mg.jvp(mg_fn, as_tensors(arrays), directions)
    u = data.draw(values(output.shape), label="u")
    _, cotangents = mg.vjp(mg_fn, as_tensors(arrays), u)
    forward = np.sum(u * tangent)
    reverse = sum(np.sum(g * v) for g, v in zip(cotangents, directions))
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES) + sorted(VARIANTS))
@FAST
@given(data=st.data(), k=st.integers(1, 3))
def test_k_directions_in_one_pass_equal_k_single_jvps(name, data, k):
    """Tangents with a leading axis of k directions give, in one pass, the k JVPs of single runs."""
    mg_fn, np_fn, arrays = data.draw(ALL_CASES[name], label="case")
    batches = [np.stack([data.draw(values(a.shape)) for _ in range(k)]) for a in arrays]
    _, tangents = mg.jvp(mg_fn, as_tensors(arrays), batches)
    assert tangents.shape[0] == k
    for d in range(k):
        _, single = mg.jvp(mg_fn, as_tensors(arrays), [b[d] for b in batches])
        np.testing.assert_allclose(tangents[d], single, rtol=1e-12, atol=1e-12)


def test_getitem_with_an_integer_and_an_array_apart_keeps_the_directions_in_front():
    """x[0, :, [1, 2]]: PyTorch reads the int first (x[0][:, [1, 2]]); the tangent of each of k
    directions is still v[d][0][:, [1, 2]], the directions in front. (It was (2, k, 3) before.)"""
    index = (0, slice(None), np.array([1, 2]))
    x = np.arange(24.0).reshape(2, 3, 4)
    directions = np.random.default_rng(0).standard_normal((5, 2, 3, 4))
    _, tangents = mg.jvp(lambda t: t[index], [mg.tensor(x)], [directions])
    np.testing.assert_array_equal(tangents, np.stack([v[0][:, [1, 2]] for v in directions]))


# ---- points where finite differences are not the reference -----------------------------------

@pytest.mark.parametrize("axis, v, expected", [
    (1, [[1.0, 7.0, 3.0], [3.0, 6.0, 9.0], [5.0, 2.0, 2.0]], [2.0, 6.0, 5.0]),
    (0, [[1.0, 7.0, 3.0], [3.0, 6.0, 9.0], [5.0, 2.0, 2.0]], [3.0, 6.0, 3.0]),
    (None, [[1.0, 7.0, 3.0], [3.0, 6.0, 9.0], [5.0, 2.0, 2.0]], 3.0),
])
@pytest.mark.parametrize("keepdims", [False, True])
def test_jvp_of_max_with_ties_averages_the_tangents_of_the_tied_entries(axis, v, expected, keepdims):
    """max's rule shares d/dx equally between ties (its docstring), so J v is the mean of v over the
    k tied maxima: closed forms written out by hand for TIES (two, three and one tied per row)."""
    _, tangent = mg.jvp(lambda t: mg.ops.max(t, axis=axis, keepdims=keepdims), [mg.tensor(TIES)],
                        [np.array(v)])
    np.testing.assert_allclose(tangent, np.reshape(expected, np.max(TIES, axis=axis, keepdims=keepdims).shape),
                               rtol=1e-15)


@FAST
@given(data=st.data(), shape=SHAPES, keepdims=st.booleans())
def test_jvp_of_max_with_many_ties_matches_the_documented_shares(data, shape, keepdims):
    """Entries from {0, 1, 2}, any axis: J v (k directions at once) equals J written out entry by entry
    from the docstring (1/k on each of k tied maxima) times v, and <u, J v> = <J^T u, v> with reverse mode."""
    axis = data.draw(reduction_axes(len(shape)))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 2.0])))
    directions = np.stack([data.draw(values(shape)) for _ in range(2)])
    fn = lambda t: mg.ops.max(t, axis=axis, keepdims=keepdims)      # noqa: E731
    output, tangents = mg.jvp(fn, [mg.tensor(x)], [directions])
    jacobian = documented_max_jacobian(x, axis, keepdims)
    for v, tangent in zip(directions, tangents):
        np.testing.assert_allclose(tangent, np.tensordot(jacobian, v, axes=x.ndim), rtol=1e-12, atol=1e-15)
    u = data.draw(values(output.shape))
    _, (cotangent,) = mg.vjp(fn, [mg.tensor(x)], u)
    np.testing.assert_allclose(np.sum(u * tangents[0]), np.sum(cotangent * directions[0]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("p, expected", [
    (2, [[0.0, 0.0], [-0.6 * 1 + 0.8 * 2, -0.6 * 5 + 0.8 * -1]]),     # x / y . v, 0 for the zero row
    (1, [[0.0, 0.0], [-1 + 2, -5 - 1]]),                               # sign x . v
    ("inf", [[0.0, 0.0], [2.0, -1.0]]),                                # v at the largest |x| (times its sign)
])
def test_jvp_of_norm_along_dim_with_a_zero_row_and_two_directions(p, expected):
    """J v for rows (0, 0) and (-3, 4) along dim=1, two directions at once (v = (1, 2) and (5, -1) on the
    second row, anything on the first): closed forms, 0 for the zero row, float32 kept."""
    x = np.array([[0.0, 0.0], [-3.0, 4.0]], dtype=np.float32)
    directions = np.array([[[7.0, -7.0], [1.0, 2.0]], [[3.0, 9.0], [5.0, -1.0]]], dtype=np.float32)
    output, tangents = mg.jvp(lambda t: t.norm(p, dim=1), [mg.tensor(x)], [directions])
    np.testing.assert_array_equal(output.data, [0.0, {2: 5.0, 1: 7.0}.get(p, 4.0)])
    assert tangents.dtype == np.float32 and tangents.shape == (2, 2)
    np.testing.assert_allclose(tangents, np.transpose(expected), rtol=1e-6)

def test_jvp_of_power_at_base_zero():
    """0 ** b along v: in the exponent (the base a constant) J v = 0 for every b >= 0, the documented
    special case (0^b log 0 would be nan); in the base (the exponent a constant) J v = b 0^(b-1) v =
    (0, inf, v, 0, 0) for b = (0, 0.5, 1, 2, 3). Finite differences agree where they are defined."""
    b = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    v = np.array([0.5, 2.0, -1.5, 3.0, 1.25])
    _, in_b = mg.jvp(lambda e: np.zeros(5) ** e, [mg.tensor(b)], [v])
    _, in_a = mg.jvp(lambda a: a ** b, [mg.tensor(np.zeros(5))], [v])
    np.testing.assert_array_equal(in_b, np.zeros(5))
    np.testing.assert_array_equal(in_a, [0.0, np.inf, -1.5, 0.0, 0.0])

    positive_b, integer_b = b > 0, b == np.round(b)
    np.testing.assert_allclose(in_b[positive_b], directional_difference(
        lambda e: np.power(0.0, e), [b[positive_b]], [v[positive_b]]), atol=1e-6)
    np.testing.assert_allclose(in_a[integer_b], directional_difference(
        lambda a: np.power(a, b[integer_b]), [np.zeros(4)], [v[integer_b]]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("source, target", [(np.float64, np.float32), (np.float32, np.float64),
                                            (np.float32, np.float32), (np.float64, np.float64)])
def test_jvp_of_astype_across_dtypes(source, target):
    """J v = v, converted as the value is: the tangent has the output's dtype and v's values (exact from
    float32 up to float64; rounded as the value is from float64 down to float32), for 1 and k directions."""
    rng = np.random.default_rng(7)
    x, v = rng.standard_normal((2, 3)).astype(source), rng.standard_normal((4, 2, 3)).astype(source)
    fn = lambda t: mg.ops.astype(t, target)      # noqa: E731
    output, tangent = mg.jvp(fn, [mg.tensor(x, dtype=source)], [v[0]])
    assert output.dtype == target and tangent.dtype == target and tangent.shape == (2, 3)
    np.testing.assert_array_equal(tangent, v[0].astype(target))
    _, tangents = mg.jvp(fn, [mg.tensor(x, dtype=source)], [v])
    assert tangents.dtype == target
    np.testing.assert_array_equal(tangents, v.astype(target))


@pytest.mark.parametrize("name", list(EMPTY_CASES))
def test_jvp_over_a_zero_size_axis_matches_central_differences(name):
    """Operands with an axis of size 0: the tangent has the output's shape, empty or zeros (a sum of
    nothing), as the central differences say."""
    mg_fn, np_fn, shapes = EMPTY_CASES[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    directions = [rng.standard_normal(shape) for shape in shapes]
    output, tangent = mg.jvp(mg_fn, as_tensors(arrays), directions)
    expected = directional_difference(np_fn, arrays, directions)
    assert tangent.shape == output.shape == expected.shape and tangent.dtype == np.float64
    np.testing.assert_array_equal(tangent, expected)


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("axis", [0, None])
def test_jvp_of_mean_over_an_empty_axis_is_nan_as_its_value(axis):
    """mean over N = 0 elements is numpy's nan, and its tangent (a sum of nothing over N = 0) is nan too,
    as numpy's own central differences (nan - nan) are; the shape is the output's."""
    x = np.zeros((0, 3))
    output, tangent = mg.jvp(lambda t: t.mean(axis=axis), [mg.tensor(x)], [np.ones((0, 3))])
    expected = directional_difference(lambda a: np.mean(a, axis=axis), [x], [np.ones((0, 3))])
    assert tangent.shape == output.shape == expected.shape
    assert np.isnan(tangent).all() and np.isnan(expected).all()


# ---- jacobian: both modes, and finite differences -------------------------------------------

def wide(x):      # R^12 -> R^2: few outputs, many inputs (a loss is the extreme case)
    return (x.reshape(2, 6).tanh() * x.reshape(2, 6)).sum(axis=1)


def tall(x):      # R^2 -> R^12: many outputs, few inputs
    return (mg.ops.linear(x, mg.tensor(np.linspace(-1, 1, 24).reshape(12, 2)))).sigmoid()


@pytest.mark.parametrize("fn, size", [(wide, 12), (tall, 2)], ids=["wide", "tall"])
def test_jacobian_forward_and_reverse_agree_with_finite_differences(fn, size):
    """mg.jacobian column by column (jvp) and row by row (vjp) give the same matrix, and it is the
    finite-difference Jacobian (one column per input entry)."""
    x0 = np.random.default_rng(1).standard_normal(size)
    rev = mg.jacobian(fn, mg.tensor(x0), mode="rev")
    fwd = mg.jacobian(fn, mg.tensor(x0), mode="fwd")
    with mg.no_grad():
        numeric = np.stack([directional_difference(lambda a: fn(mg.tensor(a)).data, [x0], [e])
                            for e in np.eye(size)], axis=-1)
    np.testing.assert_allclose(rev, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)


def test_jacobian_of_a_matrix_function_has_shape_out_by_in():
    """For y = W x with x (3, 2) and y (4, 2), J has shape (4, 2, 3, 2) and J[i, a, j, b] = W[i, j] [a = b]."""
    weight = np.arange(12.0).reshape(4, 3)
    for mode in ("rev", "fwd"):
        jac = mg.jacobian(lambda x: mg.tensor(weight) @ x, mg.tensor(np.ones((3, 2))), mode=mode)
        np.testing.assert_array_equal(jac, np.einsum("ij,ab->iajb", weight, np.eye(2)))


def test_jacobian_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="jacobian: mode must be 'rev' or 'fwd', got 'forward'"):
        mg.jacobian(wide, mg.tensor(np.ones(12)), mode="forward")


# ---- bad tangents ------------------------------------------------------------------------------

def test_a_tangent_of_the_wrong_shape_names_the_input_and_both_shapes():
    a, b = mg.tensor(np.ones((2, 3))), mg.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"jvp: the tangent of input 1 has shape \(4,\); expected the "
                                         r"input's shape \(3,\)"):
        mg.jvp(lambda x, y: x * y, [a, b], [np.ones((2, 3)), np.ones(4)])


def test_tangents_with_different_numbers_of_directions_are_refused():
    a, b = mg.tensor(np.ones(3)), mg.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"jvp: every tangent needs the same leading axis of k directions"):
        mg.jvp(lambda x, y: x * y, [a, b], [np.ones((2, 3)), np.ones((5, 3))])


def test_one_tangent_per_input():
    with pytest.raises(ValueError, match="jvp: expected 2 tangents \\(one per input\\), got 1"):
        mg.jvp(lambda x, y: x * y, [mg.tensor(np.ones(3)), mg.tensor(np.ones(3))], [np.ones(3)])


def test_a_cotangent_of_the_wrong_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"vjp: the cotangent has shape \(2,\), the output \(3,\)"):
        mg.vjp(lambda x: x * 2, [mg.tensor(np.ones(3))], np.ones(2))


# ---- what jvp leaves behind ------------------------------------------------------------------

def test_jvp_records_no_tape_and_leaves_no_tangent(float64_default):
    """Under jvp nothing is recorded (the output has no history, even from a parameter), and once
    it returns the inputs carry no tangent: a later op is an ordinary op."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    output, tangent = mg.jvp(lambda t: (t * t).sum(), [w], [np.array([1.0, 0.0])])
    assert not output.requires_grad and output.op is None
    assert tangent == pytest.approx(2.0)        # d(w0^2 + w1^2) along e_0 = 2 w0
    assert mg.forward.current_run.get() is None
    assert (w * 3).sum().requires_grad          # still recorded normally afterwards


def test_a_second_thread_sees_its_own_tangents_only(float64_default):
    """A tangent belongs to one run in one thread: another thread using the same tensor meanwhile
    gets its own J v (here 0: for it the tensor is a constant)."""
    import threading
    w = mg.tensor(np.array([3.0]))
    inside, other = threading.Event(), {}

    def elsewhere():
        inside.wait()
        other["result"] = mg.jvp(lambda c: w * w + c, [mg.tensor(np.array([0.0]))], [np.array([1.0])])[1]

    thread = threading.Thread(target=elsewhere)
    thread.start()

    def fn(t):
        inside.set()
        thread.join()
        return t * t

    _, tangent = mg.jvp(fn, [w], [np.array([1.0])])
    np.testing.assert_array_equal(tangent, [6.0])
    np.testing.assert_array_equal(other["result"], [1.0])


# ---- composites: no rules of their own -------------------------------------------------------

def jvp_against_differences(fn, tensors, directions, rtol=1e-6, atol=1e-8):
    """J v of fn(*tensors) (a tensor or a tuple) against central differences of fn's own forward
    values, found by moving each tensor's data along its direction."""
    outputs, tangents = mg.jvp(fn, tensors, directions)
    originals = [t.data for t in tensors]

    def evaluated(sign):
        for t, x, v in zip(tensors, originals, directions):
            t.data = x + sign * EPS * v
        with mg.no_grad():
            out = fn(*tensors)
        for t, x in zip(tensors, originals):
            t.data = x
        return [o.data for o in ((out,) if isinstance(out, mg.Tensor) else out)]

    plus, minus = evaluated(+1), evaluated(-1)
    tangents = (tangents,) if isinstance(outputs, mg.Tensor) else tangents
    for tangent, p, m in zip(tangents, plus, minus):
        np.testing.assert_allclose(tangent, (p - m) / (2 * EPS), rtol=rtol, atol=atol)
    return tangents


def random_directions(tensors, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(t.shape) for t in tensors]


def test_softmax_and_cross_entropy_under_jvp(float64_default):
    rng = np.random.default_rng(2)
    logits = mg.tensor(rng.standard_normal((4, 5)) * 3)
    probabilities = rng.dirichlet(np.ones(5), size=4)
    v = random_directions([logits])
    jvp_against_differences(lambda x: F.softmax(x, axis=-1), [logits], v)
    jvp_against_differences(lambda x: F.cross_entropy(x, np.array([0, 4, 2, 2])), [logits], v)
    jvp_against_differences(lambda x: F.cross_entropy(x, probabilities, reduction="sum"), [logits], v)
    jvp_against_differences(lambda x: F.mse_loss(x, probabilities), [logits], v)


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
@pytest.mark.parametrize("kind", ["RNNCell", "RNNCell-relu", "LSTMCell", "GRUCell"])
def test_cells_under_jvp_match_central_differences(kind, fused, float64_default):
    """A cell's output moves as the finite differences say when x, the state and every weight move
    together (fused cells run their op-level step under jvp)."""
    rng = np.random.default_rng(3)
    name, _, nonlinearity = kind.partition("-")
    extra = {"nonlinearity": nonlinearity} if nonlinearity else {}
    cell = getattr(mg.nn, name)(3, 4, rng=rng, fused=fused, **extra)
    x, h, c = (mg.tensor(rng.standard_normal((2, n))) for n in (3, 4, 4))
    params = list(cell.parameters())
    tensors = [x, h, c] + params
    if name == "LSTMCell":
        def fn(x, h, c, *weights):
            return cell(x, (h, c))
    else:
        def fn(x, h, c, *weights):
            return cell(x, h)
    jvp_against_differences(fn, tensors, random_directions(tensors))


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layers_under_jvp_match_central_differences(name, fused, float64_default):
    """Two-layer sequence layers: outputs and final states, along a direction in x, h_0 and weights."""
    rng = np.random.default_rng(4)
    layer = getattr(mg.nn, name)(3, 4, num_layers=2, rng=rng, fused=fused)
    x, h0 = mg.tensor(rng.standard_normal((5, 2, 3))), mg.tensor(rng.standard_normal((2, 2, 4)))
    c0 = mg.tensor(rng.standard_normal((2, 2, 4)))
    tensors = [x, h0, c0] + list(layer.parameters())

    def fn(x, h0, c0, *weights):
        output, state = layer(x, (h0, c0) if name == "LSTM" else h0)
        return (output,) + (tuple(state) if name == "LSTM" else (state,))

    jvp_against_differences(fn, tensors, random_directions(tensors))


def test_fused_and_op_level_layers_give_the_same_jvp(float64_default):
    """The fused layer brings no JVP rule of its own: under jvp it runs the op-level steps, so both give
    the same tangent to the last bits."""
    rng = np.random.default_rng(5)
    layers = [mg.nn.LSTM(3, 4, rng=np.random.default_rng(6), fused=fused) for fused in (False, True)]
    x = mg.tensor(rng.standard_normal((6, 2, 3)))
    v = rng.standard_normal(x.shape)
    (_, a), (_, b) = (mg.jvp(lambda t, layer=layer: layer(t)[0], [x], [v]) for layer in layers)
    np.testing.assert_array_equal(a, b)


def test_vjp_and_jacobian_leave_every_grad_as_it_was():
    """Like torch.autograd.functional: taking a VJP or a Jacobian adds nothing into the .grad of the
    inputs or of the parameters fn uses (a parameter's earlier gradient stays; None stays None)."""
    layer = mg.nn.Linear(3, 2, dtype=np.float64)
    earlier = np.full((2, 3), 7.0)
    layer.weight.grad = earlier
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    out, (dx,) = mg.vjp(lambda v: layer(v), [x], np.ones((4, 2)))
    np.testing.assert_allclose(dx, np.ones((4, 2)) @ layer.weight.data)       # u W
    J = mg.jacobian(lambda v: layer(v), x)
    np.testing.assert_allclose(J[1, 0, 1], layer.weight.data[0])             # d out[1, 0] / d x[1]
    np.testing.assert_array_equal(layer.weight.grad, earlier)
    assert layer.bias.grad is None and x.grad is None


def test_vjp_of_the_identity_is_the_cotangent():
    x = mg.tensor(np.arange(3.0))
    _, (dx,) = mg.vjp(lambda v: v, [x], np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(dx, [1.0, 2.0, 3.0])


def test_fill_of_a_seeded_input_makes_it_a_constant_in_the_run():
    """y = 3 x after x.fill_(0): x no longer depends on the input, so dy = 0 (not 3 v)."""
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    _, tangent = mg.jvp(lambda a: (a.fill_(0.0), a * 3.0)[1], [x], [np.ones(2)])
    np.testing.assert_array_equal(tangent, [0.0, 0.0])


def test_forward_mode_never_changes_the_callers_tensor_when_fn_updates_its_argument_in_place():
    """f(x) = (x + 1)^2 written with x += 1: J = diag(2 (x + 1)) at x = (1, 2), call after call."""
    x = mg.tensor([1.0, 2.0], dtype=np.float64)

    def f(a):
        a += 1.0
        return a * a

    for _ in range(2):
        np.testing.assert_allclose(mg.jacobian(f, x, mode="fwd"), np.diag([4.0, 6.0]))
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_jvp_of_fn_returning_its_input_after_an_in_place_operator():
    """f(x) = 2 x written x *= 2; return x: (2 x, 2 v), and the caller's x left as it was."""
    x = mg.tensor([1.0, 2.0], dtype=np.float64)

    def double(a):
        a *= 2.0
        return a

    value, tangent = mg.jvp(double, [x], [np.ones(2)])
    np.testing.assert_array_equal(value.data, [2.0, 4.0])
    np.testing.assert_array_equal(tangent, [2.0, 2.0])
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


# ---- gradcheck(check_forward_ad=True): the forward-mode Jacobian against central differences --

def _exp_function(jvp_factor: float = 1.0, backward_factor: float = 1.0):
    """exp as an autograd.Function whose forward-mode and reverse-mode rules can be made wrong by a factor."""
    class Exp(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.result = mg.exp(x)
            ctx.save_for_backward(ctx.result)
            return ctx.result

        @staticmethod
        def backward(ctx, g):
            (result,) = ctx.saved_tensors
            return g * result * backward_factor

        @staticmethod
        def jvp(ctx, v):
            return v * ctx.result * jvp_factor
    return Exp.apply


def test_gradcheck_checks_forward_mode_of_ops_with_broadcasting():
    """tanh(x * w + b) with w (3,) and b (2, 1) broadcast against x (2, 3): forward mode alone, and both modes."""
    rng = np.random.default_rng(0)
    x, w, b = (mg.tensor(rng.standard_normal(shape), dtype=np.float64, requires_grad=True)
               for shape in ((2, 3), (3,), (2, 1)))
    fn = lambda x, w, b: (x * w + b).tanh()         # noqa: E731
    assert mg.gradcheck(fn, (x, w, b), check_forward_ad=True, check_backward_ad=False) is True
    assert mg.gradcheck(fn, (x, w, b), check_forward_ad=True) is True


def test_gradcheck_with_check_forward_ad_fails_a_wrong_jvp_and_names_forward_mode():
    """A Function with the right backward and a jvp off by 2x: reverse mode passes, forward mode fails, worst
    where e^x is largest, x = 0.3: 2 e^0.3 = 2.6997 against e^0.3 = 1.3499."""
    x = mg.tensor([[0.1, -0.4], [0.3, 0.2]], dtype=np.float64, requires_grad=True)
    wrong_jvp = _exp_function(jvp_factor=2.0)
    assert mg.gradcheck(wrong_jvp, x) is True               # reverse mode only, as PyTorch's default
    with pytest.raises(mg.GradcheckError, match=r"index \(1, 0\).*forward-mode autodiff gives 2\.699.*finite differences give 1\.349"):
        mg.gradcheck(wrong_jvp, x, check_forward_ad=True)
    assert mg.gradcheck(wrong_jvp, x, check_forward_ad=True, raise_exception=False) is False


def test_gradcheck_with_check_backward_ad_false_checks_only_forward_mode():
    """A Function with a backward off by 3x and the right jvp: forward mode alone passes, the default fails."""
    x = mg.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    wrong_backward = _exp_function(backward_factor=3.0)
    assert mg.gradcheck(wrong_backward, x, check_forward_ad=True, check_backward_ad=False) is True
    with pytest.raises(mg.GradcheckError, match="input 0 .* autodiff gives"):
        mg.gradcheck(wrong_backward, x)
    assert mg.gradcheck(wrong_backward, x, raise_exception=False) is False


def test_gradcheck_with_neither_mode_says_there_is_nothing_to_check():
    x = mg.tensor([1.0], dtype=np.float64, requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck: check_backward_ad and check_forward_ad are both False"):
        mg.gradcheck(mg.exp, x, check_backward_ad=False)


def test_a_functions_jvp_is_called_once_per_direction_with_every_arguments_tangent():
    """f(x, y) = x * y as a Function whose jvp frees what it kept (`del ctx.x`, as PyTorch's tutorial does):
    J v = v_x y + x v_y, from one jvp call per direction, for one direction and for a basis of four."""
    calls = []

    class Mul(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.x, ctx.y = x, y
            return x * y

        @staticmethod
        def jvp(ctx, vx, vy):
            calls.append(1)
            out = vx * ctx.y + ctx.x * vy
            del ctx.x, ctx.y
            return out

    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    y = mg.tensor([3.0, -1.0], dtype=np.float64)
    _, tangent = mg.jvp(Mul.apply, [x, y], [np.array([1.0, 0.5]), np.array([2.0, 4.0])])
    np.testing.assert_allclose(tangent, [1.0 * 3.0 + 1.0 * 2.0, 0.5 * -1.0 + 2.0 * 4.0])
    assert len(calls) == 1
    columns = mg.jacobian(lambda a: Mul.apply(a, y), x, mode="fwd")
    np.testing.assert_allclose(columns, np.diag([3.0, -1.0]))
    assert len(calls) == 1 + 2                      # one call per direction (x has two entries)


def test_an_op_of_ones_own_whose_tangent_has_the_wrong_shape_is_named():
    """A user's broadcasting op without `broadcasts=True`: its JVP rule gives (k, 2) where (k, 2, 2) is
    due, or cannot broadcast at all; either way a ValueError naming the op, not a silently wrong
    Jacobian. With the flag, forward mode agrees with reverse mode (the product's closed form)."""
    from microgradseq.tensor import Rules, result

    def op_with(rules):
        return lambda a, b: result("mymul", a.data * b.data, (a, b), rules, (b.data, a.data))

    vjp = (lambda g, b: g * b, lambda g, a: g * a)
    jvp = (lambda v, b: v * b, lambda v, a: v * a)
    unflagged, flagged = op_with(Rules(vjp=vjp, jvp=jvp)), op_with(Rules(vjp=vjp, jvp=jvp, broadcasts=True))
    rng = np.random.default_rng(0)
    for a_shape, b_shape in [((2,), (2, 2)), ((3, 1), (2, 3, 4))]:
        a, b = mg.tensor(rng.standard_normal(a_shape)), mg.tensor(rng.standard_normal(b_shape))
        with pytest.raises(ValueError, match=r"^mymul: its forward-mode \(JVP\) rules must give a tangent of shape"):
            mg.jacobian(lambda a: unflagged(a, b), a, mode="fwd")
        jacobian = mg.jacobian(lambda a: flagged(a, b), a, mode="fwd")
        expected = np.zeros(b_shape + a_shape)        # d(a b)[i...]/da[j...] = b[i...] where a broadcasts
        out_index = np.indices(b_shape).reshape(len(b_shape), -1).T
        for index in out_index:
            index = tuple(index)
            a_index = tuple(0 if n == 1 else i for i, n in zip(index[len(b_shape) - len(a_shape):], a_shape))
            expected[index + a_index] = b.data[index]
        np.testing.assert_allclose(jacobian, expected)


def test_a_tangent_short_of_the_output_s_shape_is_named_not_stretched():
    """autodiff.md §7: "A forward-mode rule that gives another shape than (k, *output shape) raises
    ValueError naming the op." A rule that gives (k, 1) or (k, 2) for an output of (k, 3) (summed over
    the wrong axis, sliced) is such a shape: it was stretched to (k, 3), a wrong tangent with no error,
    or failed in numpy's words. A broadcasting op's tangent stays short only where its operand was."""
    from microgradseq.tensor import Rules, result

    x = mg.tensor(np.arange(3.0))
    for rule in (lambda v, x: (2 * v * x).sum(axis=-1, keepdims=True), lambda v, x: (2 * v * x)[..., :2]):
        rules = Rules(vjp=(lambda g, x: 2 * g * x,), jvp=(rule,))
        with pytest.raises(ValueError, match=r"^square: its forward-mode \(JVP\) rules must give a tangent of shape"):
            mg.jvp(lambda x: result("square", x.data * x.data, (x,), rules, (x.data,)), [x], [np.ones(3)])
    a, b = mg.tensor(np.ones((3, 1))), mg.tensor(np.ones((2, 3, 4)))
    _, tangent = mg.jvp(lambda a: a + b, [a], [np.arange(3.0).reshape(3, 1)])
    np.testing.assert_array_equal(tangent, np.broadcast_to(np.arange(3.0).reshape(3, 1), (2, 3, 4)))


def test_a_tensor_seeded_twice_in_one_run_carries_the_sum_of_its_tangents():
    """forward.Seed: the same tensor seeded twice gets the sum of its tangents (mg.jvp makes repeated inputs
    distinct; this is the contract RTRL and other callers of Seed rely on). y = x * x has J v = 2 x v; seeded
    with u and w, the tangent is 2 x (u + w)."""
    from microgradseq.forward import Seed
    rng = np.random.default_rng(1)
    X, u, w = rng.normal(size=(3, 4)), rng.normal(size=(1, 3, 4)), rng.normal(size=(1, 3, 4))
    x = mg.tensor(X)
    with mg.no_grad(), Seed([x, x], [u, w]) as run:
        y = x * x
        tangent = np.array(run.tangent(y))
    np.testing.assert_allclose(tangent, 2 * X * (u + w), rtol=1e-12)


@pytest.mark.parametrize("index, picked", [
    ((np.array([0, 1]), slice(None), np.array([1, 3])), lambda v: v[np.array([0, 1]), :, np.array([1, 3])]),
    ((1, slice(None), np.array([2, 0])), lambda v: v[1][:, np.array([2, 0])]),     # PyTorch's reading
], ids=["two arrays apart", "an int and an array apart"])
def test_jvp_of_indexing_with_index_arrays_apart_keeps_the_directions_in_front(index, picked):
    """x[a, :, b] with the index arrays apart: numpy puts their axes first, so v[:, a, :, b] would put them
    before the directions. J v = v[a, :, b] per direction (hand-written numpy; x[1, :, b] is read as PyTorch's
    x[1][:, b]), for one direction and for two (two matches the index length: a wrong order keeps the shape)."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2, 3, 4))
    V = rng.normal(size=(2,) + X.shape)
    _, single = mg.jvp(lambda t: t[index], (mg.tensor(X),), (V[0],))
    np.testing.assert_allclose(np.asarray(single), picked(V[0]), rtol=1e-12)
    _, batch = mg.jvp(lambda t: t[index], (mg.tensor(X),), (V,))
    np.testing.assert_allclose(np.asarray(batch), np.stack([picked(v) for v in V]), rtol=1e-12)
