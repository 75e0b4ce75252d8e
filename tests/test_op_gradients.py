"""Every primitive op's gradient, checked against central finite differences written here.

The recipe is the same for each op f: wrap float64 arrays as tensors that
require grad, weight the output by a fixed random array R of its shape, run
backward on sum(f(x) * R), and compare each input's .grad with the central
difference (g(x + eps e_i) - g(x - eps e_i)) / (2 eps) of g(x) = sum(f_numpy(x) * R).
Hypothesis draws the shapes (broadcasting pairs, size-1 axes, 0-d arrays) and
values; values are kept away from kinks (relu/abs at 0, clip bounds, max ties).
Where finite differences are not defined (max at ties, 0 ** b) the reference is
the closed form the op's docstring states, written out in the test.
"""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradseq as mg

EPS = 1e-6
FAST = settings(max_examples=25, deadline=None)


# ---- the independent reference ---------------------------------------------------

def central_differences(g, x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """dg/dx by central differences, one element at a time (g maps an array to a float)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        plus = g(x)
        x[i] = original - eps
        minus = g(x)
        x[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def assert_gradients_match(mg_fn, np_fn, *arrays: np.ndarray) -> None:
    """Autodiff grads of sum(mg_fn(*tensors) * R) equal central differences of sum(np_fn(*arrays) * R)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [mg.tensor(a.copy(), requires_grad=True, dtype=np.float64) for a in arrays]
    out = mg_fn(*tensors)
    expected = np.asarray(np_fn(*arrays), dtype=np.float64)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)

    weights = np.random.default_rng(0).standard_normal(expected.shape)
    (out * weights).sum().backward()

    for position, (t, a) in enumerate(zip(tensors, arrays)):
        def weighted_output(x, position=position):
            args = list(arrays)
            args[position] = x
            return float(np.sum(np_fn(*args) * weights))

        numeric = central_differences(weighted_output, a)
        assert t.grad is not None, f"input {position} got no gradient"
        assert t.grad.shape == a.shape
        assert t.grad.dtype == a.dtype
        np.testing.assert_allclose(t.grad, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"gradient of input {position}")


# ---- strategies ------------------------------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
NONEMPTY_DIMS = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
BROADCAST_PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    min_side=1, max_side=3)


def values(shape) -> st.SearchStrategy:
    """Float64 arrays of `shape` with entries in [-2, 2]."""
    return hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, allow_nan=False, width=64))


def away_from(a: np.ndarray, kinks, margin: float = 0.1) -> np.ndarray:
    """Push every entry closer than `margin` to a kink out to at least `margin` from it."""
    a = np.array(a, dtype=np.float64)
    for kink in kinks:
        offset = a - kink
        near = np.abs(offset) < margin
        a[near] = kink + np.where(offset[near] >= 0, 1.0, -1.0) * (margin + np.abs(offset[near]))
    return a


def positive(a: np.ndarray) -> np.ndarray:
    """Map [-2, 2] onto [0.5, 2.5]: safe for log, sqrt and fractional powers."""
    return np.abs(a) + 0.5


def nonzero(a: np.ndarray) -> np.ndarray:
    """At least 0.5 away from zero: safe as a divisor or a negative power's base."""
    return away_from(a, [0.0], margin=0.5)


@st.composite
def distinct_values(draw, shape) -> np.ndarray:
    """Entries at least 0.04 apart (a shuffled grid plus small noise), so max has no ties."""
    size = int(np.prod(shape, dtype=int))
    grid = np.array(draw(st.permutations(range(size))), dtype=np.float64).reshape(shape) * 0.1
    noise = draw(hnp.arrays(np.float64, shape, elements=st.floats(-0.03, 0.03, width=64)))
    return grid + noise - 0.05 * size


@st.composite
def reduction_axes(draw, ndim: int):
    """axis=None, a single (possibly negative) int, or a tuple of distinct axes."""
    choices = [st.none()]
    if ndim > 0:
        choices.append(st.integers(-ndim, ndim - 1))
        choices.append(hnp.valid_tuple_axes(ndim, min_size=1))
    return draw(st.one_of(*choices))


# ---- binary operators --------------------------------------------------------------

# name: (mg op, numpy op, how to make the left operand safe, how to make the right one safe)
BINARY = {
    "add": (lambda a, b: a + b, np.add, None, None),
    "sub": (lambda a, b: a - b, np.subtract, None, None),
    "mul": (lambda a, b: a * b, np.multiply, None, None),
    "div": (lambda a, b: a / b, np.divide, None, nonzero),
    "pow": (lambda a, b: a ** b, np.power, positive, None),
}


def _safe(transform, a):
    return a if transform is None else transform(a)


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_binary_op_gradient_with_two_broadcast_tensors(name, data, shapes):
    """Both operands get the finite-difference gradient, summed back to their own (broadcast) shape."""
    mg_op, np_op, left_safe, right_safe = BINARY[name]
    left_shape, right_shape = shapes.input_shapes
    left = _safe(left_safe, data.draw(values(left_shape)))
    right = _safe(right_safe, data.draw(values(right_shape)))
    assert_gradients_match(mg_op, np_op, left, right)


SCALAR = 1.7


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(data=st.data(), shape=SHAPES)
def test_binary_op_gradient_with_python_scalar_on_the_right(name, data, shape):
    """tensor OP scalar: the tensor gets the finite-difference gradient."""
    mg_op, np_op, left_safe, _ = BINARY[name]
    x = _safe(left_safe, data.draw(values(shape)))
    assert_gradients_match(lambda t: mg_op(t, SCALAR), lambda a: np_op(a, SCALAR), x)


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(data=st.data(), shape=SHAPES)
def test_binary_op_gradient_with_python_scalar_on_the_left(name, data, shape):
    """scalar OP tensor (the reflected operators): the tensor gets the finite-difference gradient."""
    mg_op, np_op, _, right_safe = BINARY[name]
    x = _safe(right_safe, data.draw(values(shape)))
    assert_gradients_match(lambda t: mg_op(SCALAR, t), lambda a: np_op(SCALAR, a), x)


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_binary_op_gradient_with_numpy_constant_on_the_right(name, data, shapes):
    """tensor OP ndarray broadcasts, the array is a constant, and the tensor's grad keeps its shape."""
    mg_op, np_op, left_safe, right_safe = BINARY[name]
    left_shape, right_shape = shapes.input_shapes
    left = _safe(left_safe, data.draw(values(left_shape)))
    constant = _safe(right_safe, data.draw(values(right_shape)))
    assert_gradients_match(lambda t: mg_op(t, constant), lambda a: np_op(a, constant), left)


@pytest.mark.parametrize("name", list(BINARY))
@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_binary_op_gradient_with_numpy_constant_on_the_left(name, data, shapes):
    """ndarray OP tensor (numpy defers to the tensor's reflected operator) broadcasts, the array is a
    constant, and the tensor gets the finite-difference gradient summed back to its own shape."""
    mg_op, np_op, left_safe, right_safe = BINARY[name]
    left_shape, right_shape = shapes.input_shapes
    constant = np.asarray(_safe(left_safe, data.draw(values(left_shape))))
    right = _safe(right_safe, data.draw(values(right_shape)))
    assert isinstance(mg_op(constant, mg.tensor(right)), mg.Tensor)
    assert_gradients_match(lambda t: mg_op(constant, t), lambda a: np_op(constant, a), right)


def test_power_at_base_zero_gives_the_documented_gradients():
    """0 ** b against closed forms: d/db = 0 for every b >= 0 (the documented special case, where
    0^b log 0 would be nan), d/da = b 0^(b-1) = 0, inf, 1, 0, 0 for b = 0 (special case), 0.5, 1, 2, 3;
    and against finite differences where 0 ** b is differentiable: in b for b > 0 (0^b = 0 nearby),
    in a for integer b ((+-eps)^b is defined)."""
    b = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    weights = np.array([1.5, 2.0, -0.5, 3.0, 0.7])
    base = mg.tensor(np.zeros(5), requires_grad=True, dtype=np.float64)
    exponent = mg.tensor(b, requires_grad=True, dtype=np.float64)
    y = base ** exponent
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 0.0, 0.0, 0.0])
    (y * weights).sum().backward()
    np.testing.assert_array_equal(exponent.grad, np.zeros(5))
    np.testing.assert_array_equal(base.grad, weights * np.array([0.0, np.inf, 1.0, 0.0, 0.0]))

    positive_b, integer_b = b > 0, b == np.round(b)
    in_b = central_differences(lambda e: np.sum(np.power(0.0, e) * weights[positive_b]), b[positive_b])
    in_a = central_differences(lambda a: np.sum(np.power(a, b[integer_b]) * weights[integer_b]), np.zeros(4))
    np.testing.assert_allclose(exponent.grad[positive_b], in_b, atol=1e-6)
    np.testing.assert_allclose(base.grad[integer_b], in_a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("exponent", [2, 3, 3.0, -1, -2, 0.5, -0.5, 2.5, -1.5])
@FAST
@given(data=st.data(), shape=SHAPES)
def test_power_by_python_scalar_exponent(exponent, data, shape):
    """x ** c matches finite differences for integer, negative and fractional c (2, 3, 0.5, -0.5, -1
    and -2 are computed by products and roots, as PyTorch's CPU pow does: numpy's pow is slow)."""
    x = data.draw(values(shape))
    if isinstance(exponent, float):
        x = positive(x)
    elif exponent < 0:
        x = nonzero(x)
    assert_gradients_match(lambda t: t ** exponent, lambda a: a ** exponent, x)


@pytest.mark.parametrize("exponent", [2, 3.0, 0.5, -0.5, -1, -2])
def test_spelled_out_powers_keep_float32_and_agree_with_numpys_pow(exponent):
    x = np.random.default_rng(0).uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    y = mg.tensor(x) ** exponent
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), np.power(x, np.float32(exponent)), rtol=2e-7)


def test_half_precision_powers_keep_numpys_pow():
    """1 / (x * x) of 300 underflows half to 0 where pow gives 1.1e-5: PyTorch's CPU kernel leaves half
    out of its spelled-out powers, and so does this one (the gradient uses the same powers)."""
    x = mg.tensor([256.0, 300.0], dtype=mg.float16, requires_grad=True)
    y = x ** -2
    np.testing.assert_array_equal(y.numpy(), np.power(x.numpy(), np.float16(-2)))
    assert np.all(y.numpy() > 0)
    (x ** -1).sum().backward()
    assert np.all(x.grad < 0)


@pytest.mark.parametrize("base", [2.0, 0.5])
@FAST
@given(data=st.data(), shape=SHAPES)
def test_scalar_base_to_tensor_exponent(base, data, shape):
    """c ** x (gradient c^x log c) matches finite differences."""
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: base ** t, lambda a: base ** a, x)


# ---- remainder and floor division: a % b and a // b, smooth between their steps -------------------

def assert_tangents_match_differences(mg_fn, np_fn, arrays, directions) -> None:
    """mg.jvp's J v, with the tangent on each operand alone and then on all, equals the central
    difference (f(x + eps v) - f(x - eps v)) / (2 eps) of the numpy function along the same directions."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    chosen_sets = [[v if j == i else np.zeros_like(v) for j, v in enumerate(directions)] for i in range(len(arrays))]
    for chosen in chosen_sets + [list(directions)]:
        _, tangent = mg.jvp(mg_fn, [mg.tensor(a, dtype=np.float64) for a in arrays], chosen)
        plus = np.asarray(np_fn(*[a + EPS * v for a, v in zip(arrays, chosen)]), dtype=np.float64)
        minus = np.asarray(np_fn(*[a - EPS * v for a, v in zip(arrays, chosen)]), dtype=np.float64)
        assert np.shape(tangent) == plus.shape
        np.testing.assert_allclose(tangent, (plus - minus) / (2 * EPS), rtol=1e-5, atol=1e-6)


@st.composite
def off_the_steps(draw, shapes):
    """(a, b) of the two shapes for a % b and a // b, every a_i / b_j at least 0.03 from an integer (so
    the steps of floor(a / b) are far outside the finite differences' reach): a = k + f with k in
    -3 .. 2 and f in [0.1, 0.9], b = +-1 or +-2 times (1 + u), |u| <= 0.01."""
    left_shape, right_shape = shapes
    k = draw(hnp.arrays(np.float64, left_shape, elements=st.integers(-3, 2).map(float)))
    f = draw(hnp.arrays(np.float64, left_shape, elements=st.floats(0.1, 0.9, width=64)))
    sign = draw(hnp.arrays(np.float64, right_shape, elements=st.sampled_from([-1.0, 1.0])))
    size = draw(hnp.arrays(np.float64, right_shape, elements=st.sampled_from([1.0, 2.0])))
    u = draw(hnp.arrays(np.float64, right_shape, elements=st.floats(-0.01, 0.01, width=64)))
    a, b = k + f, sign * size * (1 + u)
    assert np.abs(np.round(a / b) - a / b).min(initial=1.0) >= 0.03
    return a, b


# name: (numpy's op, the op as Python's operator, the spellings of the op on two tensors)
STEPPED = {
    "remainder": (np.mod, lambda a, b: a % b,
                  [lambda a, b: a % b, lambda a, b: mg.remainder(a, b), lambda a, b: a.remainder(b)]),
    "floor_divide": (np.floor_divide, lambda a, b: a // b,
                     [lambda a, b: a // b, lambda a, b: mg.floor_divide(a, b), lambda a, b: a.floor_divide(b)]),
}


@pytest.mark.parametrize("name", list(STEPPED))
@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_remainder_and_floor_division_of_two_broadcast_tensors_in_both_modes(name, data, shapes):
    """a % b = a - floor(a / b) b: d/da = 1, d/db = -floor(a / b); a // b is a staircase, flat between its
    steps. Each operand's gradient (summed back to its own shape) and J v, for each operand alone and
    both, against central differences of numpy's mod and floor_divide."""
    np_op, _, forms = STEPPED[name]
    form = data.draw(st.sampled_from(forms), label="spelling")
    a, b = data.draw(off_the_steps(shapes.input_shapes))
    assert_gradients_match(form, np_op, a, b)
    assert_tangents_match_differences(form, np_op, [a, b], [data.draw(values(np.shape(a))),
                                                            data.draw(values(np.shape(b)))])


@pytest.mark.parametrize("side", ["number on the right", "array on the right", "number on the left",
                                  "array on the left"])
@pytest.mark.parametrize("name", list(STEPPED))
@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_remainder_and_floor_division_with_a_constant_in_both_modes(name, side, data, shapes):
    """t % c, t // c, c % t and c // t for c a Python number or a numpy array (broadcast; numpy defers to
    the reflected operator): c is a constant, t gets the finite-difference gradient and tangent."""
    np_op, operator_form, _ = STEPPED[name]
    a, b = data.draw(off_the_steps(shapes.input_shapes))
    if side.endswith("right"):
        c = float(b.flat[0]) if side.startswith("number") else b
        mg_fn, np_fn, x = (lambda t: operator_form(t, c)), (lambda x: np_op(x, c)), a
    else:
        c = float(a.flat[0]) if side.startswith("number") else a
        mg_fn, np_fn, x = (lambda t: operator_form(c, t)), (lambda x: np_op(c, x)), b
    assert isinstance(mg_fn(mg.tensor(x, dtype=np.float64)), mg.Tensor)
    assert_gradients_match(mg_fn, np_fn, x)
    assert_tangents_match_differences(mg_fn, np_fn, [x], [data.draw(values(np.shape(x)))])


def test_remainder_gradient_is_one_and_minus_the_quotient_by_hand():
    """7.5 % 2 = 1.5 (quotient 3), -7.5 % 2 = 0.5 (quotient -4), 7.5 % -2 = -0.5 (quotient -4):
    d/da = 1, d/db = -quotient; a // b has gradient 0 for both."""
    a = mg.tensor([7.5, -7.5, 7.5], dtype=np.float64, requires_grad=True)
    b = mg.tensor([2.0, 2.0, -2.0], dtype=np.float64, requires_grad=True)
    y = a % b
    assert y.tolist() == [1.5, 0.5, -0.5]
    y.backward(np.array([1.0, 10.0, 100.0]))
    assert a.grad.tolist() == [1.0, 10.0, 100.0] and b.grad.tolist() == [-3.0, 40.0, 400.0]
    a.grad = b.grad = None
    q = a // b
    assert q.tolist() == [3.0, -4.0, -4.0]
    q.backward(np.ones(3))
    assert a.grad.tolist() == [0.0] * 3 and b.grad.tolist() == [0.0] * 3


@st.composite
def matmul_shapes(draw):
    """Operand shapes numpy's matmul accepts: vectors, matrices and broadcast batches."""
    m, n, p = (draw(st.integers(1, 3)) for _ in range(3))
    left_vector, right_vector = draw(st.booleans()), draw(st.booleans())
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                   min_side=1, max_side=2))
    left_batch, right_batch = batch.input_shapes
    left = (n,) if left_vector else left_batch + (m, n)
    right = (n,) if right_vector else right_batch + (n, p)
    return left, right


@FAST
@given(data=st.data(), shapes=matmul_shapes())
def test_matmul_gradient_for_vectors_matrices_and_batches(data, shapes):
    """a @ b: both operands get the finite-difference gradient, batch broadcasting summed back."""
    left_shape, right_shape = shapes
    left, right = data.draw(values(left_shape)), data.draw(values(right_shape))
    assert_gradients_match(lambda a, b: a @ b, np.matmul, left, right)


@FAST
@given(data=st.data(), shapes=matmul_shapes())
def test_matmul_with_numpy_constant_on_the_right(data, shapes):
    """tensor @ ndarray: the tensor gets the finite-difference gradient."""
    left_shape, right_shape = shapes
    left, constant = data.draw(values(left_shape)), data.draw(values(right_shape))
    assert_gradients_match(lambda a: a @ constant, lambda a: a @ constant, left)


@FAST
@given(data=st.data(), shapes=matmul_shapes())
def test_matmul_with_numpy_constant_on_the_left(data, shapes):
    """ndarray @ tensor (the reflected operator): the tensor gets the finite-difference gradient,
    batch broadcasting summed back."""
    left_shape, right_shape = shapes
    constant, right = data.draw(values(left_shape)), data.draw(values(right_shape))
    assert_gradients_match(lambda b: constant @ b, lambda b: constant @ b, right)


@FAST
@given(data=st.data(), leading=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)))
def test_linear_gradient_with_and_without_bias(data, leading, sizes):
    """linear(x, W, b) = x W^T + b for x (..., in): x, W and b get the finite-difference gradient,
    the weight's and bias's summed over every leading axis (and as a stacked product for W)."""
    inputs, outputs = sizes
    x = data.draw(values(leading + (inputs,)))
    weight, bias = data.draw(values((outputs, inputs))), data.draw(values((outputs,)))
    assert_gradients_match(mg.ops.linear, lambda a, w: a @ w.T, x, weight)
    assert_gradients_match(mg.ops.linear, lambda a, w, b: a @ w.T + b, x, weight, bias)


@FAST
@given(data=st.data(), leading=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)))
def test_linear_gradient_with_an_addend_as_bias(data, leading, sizes):
    """linear(x, W, a) = a + x W^T for an addend a of the output's shape, or one that broadcasts to it
    (size-1 axes, fewer axes): a gets g summed over its broadcast axes."""
    inputs, outputs = sizes
    output_shape = leading + (outputs,)
    kept_axes = data.draw(st.integers(2, len(output_shape))) if len(output_shape) > 2 else len(output_shape)
    squeezed = data.draw(st.lists(st.booleans(), min_size=kept_axes, max_size=kept_axes))
    addend_shape = tuple(1 if squeeze else n for n, squeeze in zip(output_shape[-kept_axes:], squeezed))
    x, weight = data.draw(values(leading + (inputs,))), data.draw(values((outputs, inputs)))
    addend = data.draw(values(addend_shape))
    assert_gradients_match(mg.ops.linear, lambda a, w, b: a @ w.T + b, x, weight, addend)


def test_linear_with_a_float64_bias_on_float32_weights_gives_float64():
    """The bias is added into the product only when their dtypes agree; otherwise numpy's promotion
    applies, as for x @ W^T + b: a float64 bias makes a float64 output with the exact values."""
    x, weight = np.ones((2, 3), dtype=np.float32), np.full((4, 3), 0.5, dtype=np.float32)
    bias = mg.tensor(np.full(4, 1e-9), dtype=np.float64)
    y = mg.ops.linear(mg.tensor(x), mg.tensor(weight), bias)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, x @ weight.T + bias.data)


@pytest.mark.parametrize("outputs", [3, 0])
def test_linear_with_no_input_features_gives_the_bias_and_an_empty_weight_gradient(outputs):
    """x (2, 0) W^T with W (outputs, 0): the output is the bias alone, W's gradient is empty,
    and the bias's is the batch size."""
    weight = mg.tensor(np.zeros((outputs, 0)), requires_grad=True, dtype=np.float64)
    bias = mg.tensor(np.arange(float(outputs)), requires_grad=True, dtype=np.float64)
    y = mg.ops.linear(mg.tensor(np.zeros((2, 0))), weight, bias)
    np.testing.assert_array_equal(y.data, np.tile(np.arange(float(outputs)), (2, 1)))
    y.sum().backward()
    assert weight.grad.shape == (outputs, 0)
    np.testing.assert_array_equal(bias.grad, np.full(outputs, 2.0))


@pytest.mark.parametrize("inputs, outputs", [(0, 3), (3, 0)])
def test_linear_of_a_sequence_with_an_empty_axis_gives_empty_or_bias_only_results(inputs, outputs):
    """x (2, 4, in) W^T + b with in or out zero: the output is b (or empty), and the gradients
    have their operands' shapes: b's is the number of rows, 2 * 4."""
    x = mg.tensor(np.ones((2, 4, inputs)), requires_grad=True, dtype=np.float64)
    weight = mg.tensor(np.ones((outputs, inputs)), requires_grad=True, dtype=np.float64)
    bias = mg.tensor(np.arange(float(outputs)), requires_grad=True, dtype=np.float64)
    y = mg.ops.linear(x, weight, bias)
    np.testing.assert_array_equal(y.data, np.broadcast_to(np.arange(float(outputs)), (2, 4, outputs)))
    y.sum().backward()
    assert x.grad.shape == (2, 4, inputs) and weight.grad.shape == (outputs, inputs)
    np.testing.assert_array_equal(bias.grad, np.full(outputs, 8.0))


def test_linear_multiplies_by_a_row_ordered_copy_of_w_transposed_from_its_first_product():
    """A weight multiplied by more than one row gets a C-ordered copy of W^T at its first such product, kept
    while its array lives; the products equal x W^T; a new array (an update) gets a copy of its own, and the
    copy goes when the weight's array does."""
    from microgradseq.ops.linalg import transposed_copies
    rng = np.random.default_rng(5)
    weight = mg.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    x = rng.normal(size=(3, 4))
    first = mg.ops.linear(x, weight)
    copy = transposed_copies.entries[id(weight._data)][1]
    assert copy.flags.c_contiguous and np.array_equal(copy, weight.data.T)
    second = mg.ops.linear(x, weight)
    assert transposed_copies.entries[id(weight._data)][1] is copy          # made once
    for y in (first, second):
        np.testing.assert_allclose(y.data, x @ weight.data.T, rtol=1e-14)
    (first + second).sum().backward()
    np.testing.assert_allclose(weight.grad, 2 * np.ones((3, 6)).T @ x)
    old = id(weight._data)
    with mg.no_grad():
        weight -= 0.5
    assert old not in transposed_copies.entries                          # the old array is gone
    np.testing.assert_allclose(mg.ops.linear(x, weight).data, x @ weight.data.T, rtol=1e-14)
    assert transposed_copies.entries[id(weight._data)][1] is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_model_called_twice_on_the_same_input_gives_the_same_bits(dtype):
    """Every product of a weight's array takes one route (the row-ordered copy of W^T from the first product
    with more than one row), so a second call cannot sum in another order than the first, as PyTorch's
    CPU kernels (the first call's first products took the transposed view, and differed in the last bits)."""
    mg.manual_seed(3)
    layer = mg.nn.LSTM(7, 33, num_layers=2, dtype=dtype)
    cell = mg.nn.GRUCell(7, 33, dtype=dtype)
    x = mg.tensor(np.random.default_rng(4).normal(size=(6, 5, 7)).astype(dtype))
    calls = [(layer(x)[0].numpy(), cell(x[0]).numpy()) for _ in range(3)]
    for again in calls[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(calls[0], again))


def test_a_weight_s_copies_are_per_thread_and_leave_with_its_array():
    """The copies are per thread (no lock around the table): a thread's products with a shared weight put
    its copy in that thread's table only, and give the same values as alone; a weight's copy made in one
    thread is dropped from that thread's table when the array goes."""
    import threading
    from microgradseq.ops.linalg import transposed_copies
    rng = np.random.default_rng(6)
    weight = mg.tensor(rng.normal(size=(5, 4)))
    x = rng.normal(size=(3, 4))
    seen = {}

    def evaluate():
        seen["B"] = mg.ops.linear(x, weight).numpy()
        seen["B table"] = transposed_copies.entries[id(weight._data)][1] is not None
    thread = threading.Thread(target=evaluate)
    thread.start()
    thread.join()                                   # (all of B's products before A's: the order is certain)
    assert seen["B table"] and id(weight._data) not in transposed_copies.entries
    alone = mg.ops.linear(x, weight).numpy()
    assert np.array_equal(alone, seen["B"])
    kept = []
    thread = threading.Thread(target=lambda: (mg.ops.linear(x, weight), kept.append(transposed_copies.entries)))
    thread.start()
    thread.join()
    key = id(weight._data)
    assert key in kept[0]
    with mg.no_grad():
        weight -= 0.5                               # the array goes: gone from both threads' tables
    assert key not in kept[0] and key not in transposed_copies.entries


def test_a_finished_threads_transposed_copies_go_with_it_without_the_garbage_collector():
    """A thread's table is held weakly by its arrays' callbacks: held strongly, it made a cycle, and the
    copies of every weight a finished thread multiplied stayed until a full collection."""
    import gc
    import threading
    import weakref
    from microgradseq.ops.linalg import transposed_copies
    weight = mg.tensor(np.random.default_rng(7).normal(size=(5, 4)))
    copies = []

    def evaluate():
        mg.ops.linear(np.ones((3, 4)), weight)                    # the first product with rows: the copy
        copies.append(weakref.ref(transposed_copies.entries[id(weight._data)][1]))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        thread = threading.Thread(target=evaluate)
        thread.start()
        thread.join()
        del thread
        assert copies[0]() is None                              # gone with the thread, weight still alive
    finally:
        if was_enabled:
            gc.enable()


def test_linear_names_the_shapes_that_do_not_line_up():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) and weight of shape \(4, 5\)"):
        mg.ops.linear(mg.zeros(2, 3), mg.zeros(4, 5))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\) does not fit weight of shape \(4, 5\)"):
        mg.ops.linear(mg.zeros(2, 5), mg.zeros(4, 5), mg.zeros(3))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3, 4\) .* broadcasts to \(2, 4\)"):
        mg.ops.linear(mg.zeros(2, 5), mg.zeros(4, 5), mg.zeros(3, 4))


# ---- unary elementwise ops ---------------------------------------------------------

# name: (mg op, numpy op, how to make the input safe)
UNARY = {
    "neg": (lambda t: -t, np.negative, None),
    "clone": (lambda t: t.clone(), np.copy, None),
    "exp": (lambda t: t.exp(), np.exp, None),
    "log": (lambda t: t.log(), np.log, positive),
    "log10": (lambda t: t.log10(), np.log10, positive),
    "log2": (lambda t: t.log2(), np.log2, positive),
    "log1p": (lambda t: t.log1p(), np.log1p, lambda a: a * 0.45),  # [-0.9, 0.9]: both sides of 0, off the pole at -1
    "expm1": (lambda t: t.expm1(), np.expm1, lambda a: a * 2),
    "sin": (lambda t: t.sin(), np.sin, lambda a: a * 2),        # [-4, 4]: every sign of sin and cos
    "cos": (lambda t: t.cos(), np.cos, lambda a: a * 2),
    "cosh": (lambda t: t.cosh(), np.cosh, lambda a: a * 2),
    "sinh": (lambda t: mg.sinh(t), np.sinh, lambda a: a * 2),
    "erf": (lambda t: t.erf(), np.vectorize(math.erf), None),      # (numpy has no erf: Python's, entry by entry)
    "tanh": (lambda t: t.tanh(), np.tanh, None),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0), lambda a: away_from(a, [0.0])),
    "abs": (lambda t: t.abs(), np.abs, lambda a: away_from(a, [0.0])),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, positive),
    "round": (lambda t: t.round(), np.round, lambda a: away_from(a, [-1.5, -0.5, 0.5, 1.5])),
    "sign": (lambda t: t.sign(), np.sign, lambda a: away_from(a, [0.0])),
    "round_decimals": (lambda t: t.round(decimals=1), lambda a: np.round(a, 1),
                       lambda a: away_from(a, np.arange(-2.05, 2.1, 0.1), margin=0.01)),
    "clip": (lambda t: t.clip(-0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8),
             lambda a: away_from(a, [-0.5, 0.8])),
    "clip_lo_only": (lambda t: t.clip(-0.5, None), lambda a: np.clip(a, -0.5, None),
                     lambda a: away_from(a, [-0.5])),
    "clip_hi_only": (lambda t: mg.ops.clip(t, hi=0.8), lambda a: np.clip(a, None, 0.8),
                     lambda a: away_from(a, [0.8])),
}


@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(data=st.data(), shape=SHAPES)
def test_unary_op_gradient(name, data, shape):
    """Elementwise op: the gradient matches finite differences (inputs kept off kinks and poles)."""
    mg_op, np_op, make_safe = UNARY[name]
    x = _safe(make_safe, data.draw(values(shape)))
    assert_gradients_match(mg_op, np_op, x)


@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_sin_and_cos_gradients_through_broadcasting(data, shapes):
    """sin(a) * cos(b) for a and b broadcast together: each gets cos a * cos b and -sin a * sin b
    summed back to its own shape, as finite differences say."""
    left, right = (data.draw(values(shape)) * 2 for shape in shapes.input_shapes)
    assert_gradients_match(lambda a, b: a.sin() * mg.cos(b), lambda a, b: np.sin(a) * np.cos(b), left, right)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, values_at, slopes_at", [
    ("sin", [0.0, 1.0, 0.0], [1.0, 0.0, -1.0]),         # d sin/dx = cos x
    ("cos", [1.0, 0.0, -1.0], [0.0, -1.0, 0.0]),        # d cos/dx = -sin x
])
def test_sin_and_cos_at_0_half_pi_and_pi(name, values_at, slopes_at, dtype):
    """Closed forms at x = 0, pi/2, pi (x rounded to the dtype, so within a few ulps of them): the value,
    the gradient and the tangent, each in x's dtype; the method, the function form and mg.ops agree."""
    x = np.array([0.0, math.pi / 2, math.pi], dtype=dtype)
    tolerance = dict(rtol=0, atol=4 * np.finfo(dtype).eps)
    t = mg.tensor(x, requires_grad=True)
    y = getattr(t, name)()
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, values_at, **tolerance)
    np.testing.assert_array_equal(getattr(mg, name)(x).data, y.data)
    y.sum().backward()
    assert t.grad.dtype == dtype
    np.testing.assert_allclose(t.grad, slopes_at, **tolerance)
    _, tangent = mg.jvp(getattr(mg.ops, name), [mg.tensor(x)], [np.full(3, 2.0, dtype=dtype)])
    assert tangent.dtype == dtype
    np.testing.assert_allclose(tangent, 2 * np.array(slopes_at), **tolerance)


@pytest.mark.parametrize("dtype, xs", [
    (np.float32, [-88.0, -60.0, -35.0, -20.0, -15.0, -10.0, -1.0, 0.0, 1.0, 10.0, 20.0, 88.0]),
    (np.float64, [-700.0, -100.0, -35.0, -20.0, -1.0, 0.0, 1.0, 35.0, 700.0]),
])
def test_sigmoid_keeps_its_relative_accuracy_far_out_on_both_sides(dtype, xs):
    """s(x) = 1 / (1 + e^-x) against Python's own exp (double precision, x exact in both dtypes):
    within a few units in the last place, tiny values included (1/2 + tanh(x/2)/2 gave 0 for
    s(-20) in float32), so log(s(x)) and its gradient 1 - s(x) stay finite."""
    x = mg.tensor(np.array(xs, dtype=dtype), requires_grad=True)
    s = x.sigmoid()
    expected = np.array([1 / (1 + math.exp(-v)) for v in xs])
    assert s.dtype == dtype
    np.testing.assert_allclose(s.data, expected, rtol=4 * np.finfo(dtype).eps, atol=0)
    s.log().sum().backward()            # d log s / dx = 1 - s: as accurate as 1 - s can be in the dtype
    np.testing.assert_allclose(x.grad, 1 - expected, rtol=4 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)


def test_clip_with_numpy_float64_bounds_keeps_float32_as_a_python_number_would():
    """A scalar does not promote (docs/api.md): np.float64 bounds leave a float32 tensor float32."""
    x = mg.tensor(np.array([-1.0, 0.5, 3.0], np.float32), requires_grad=True)
    y = x.clip(np.float64(0.0), np.float64(2.0))
    assert y.dtype == np.float32 and x.clamp(min=np.float64(0.0)).dtype == np.float32
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_sigmoid_far_below_the_overflow_of_e_to_the_minus_x_is_tiny_not_zero_or_nan():
    """e^-x is capped at the largest float: no overflow warning, s stays positive, its gradient finite."""
    import warnings

    x = mg.tensor(np.array([-1e4, -1000.0, 1000.0], dtype=np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = x.sigmoid()
        s.sum().backward()
    assert (s.data[:2] > 0).all() and s.data[:2].max() < 1e-38 and s.data[2] == 1.0
    assert np.isfinite(x.grad).all()


# ---- indexing ------------------------------------------------------------------------

@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_getitem_basic_slicing_gradient(data, shape):
    """x[basic index] (ints, slices with steps, Ellipsis) scatters the gradient back into x's shape."""
    index = data.draw(hnp.basic_indices(shape))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t[index], lambda a: a[index], x)


@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_getitem_integer_array_gradient(data, shape):
    """x[integer arrays] (repeats possible) adds up the gradient of every pick."""
    index = data.draw(hnp.integer_array_indices(shape))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t[index], lambda a: a[index], x)


@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_getitem_with_newaxis_gradient(data, shape):
    """x[basic index with None in it]: the new size-1 axes are dropped again on the way back."""
    parts = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    parts = parts if isinstance(parts, tuple) else (parts,)
    at = data.draw(st.integers(0, len(parts)))
    index = parts[:at] + (None,) + parts[at:]
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t[index], lambda a: a[index], x)


@st.composite
def boolean_mask_indices(draw, shape):
    """A boolean mask over some consecutive axes of `shape` (after 0 or more full slices), maybe
    followed by an int on the next axis: numpy's x[..., mask, i] forms."""
    start = draw(st.integers(0, len(shape) - 1))
    stop = draw(st.integers(start + 1, len(shape)))
    mask = draw(hnp.arrays(np.bool_, shape[start:stop]))
    index = (slice(None),) * start + (mask,)
    if stop < len(shape) and draw(st.booleans()):
        index += (draw(st.integers(-shape[stop], shape[stop] - 1)),)
    return index


@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_getitem_boolean_mask_gradient(data, shape):
    """x[boolean mask] puts the gradient back on the selected entries (none, some or all) and 0 elsewhere."""
    index = data.draw(boolean_mask_indices(shape))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t[index], lambda a: a[index], x)


def test_getitem_repeated_integer_index_counts_every_pick():
    """x[[0, 0, 2]].sum() has gradient (2, 0, 1): a row picked twice gets two contributions."""
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


@st.composite
def index_put_inputs(draw):
    """(index, x, value) for x[index] = value: a basic index, a boolean mask, or rows without repeats;
    value of the indexed region's shape, broadcast to it (fewer axes, size-1 axes, a scalar) or, for a
    basic index, with an extra leading axis of size 1 (numpy drops it)."""
    shape = draw(NONEMPTY_DIMS)
    kind = draw(st.sampled_from(["basic", "mask", "rows"]))
    if kind == "basic":
        index = draw(hnp.basic_indices(shape))
    elif kind == "mask":
        index = draw(boolean_mask_indices(shape))
    else:
        index = np.array(draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=shape[0], unique=True)))
    region = np.empty(shape)[index].shape
    if 0 in region:
        value_shape = region
    else:
        kept_axes = draw(st.integers(0, len(region)))          # the trailing axes value keeps, each whole or 1
        value_shape = tuple(n if draw(st.booleans()) else 1 for n in region[len(region) - kept_axes:])
        if kind == "basic" and region and draw(st.booleans()):     # (numpy takes it for a basic index only)
            value_shape = (1,) + region
    return index, draw(values(shape)), draw(values(value_shape))


def np_index_put(index):
    def put(a, v):
        out = np.array(a, dtype=np.float64)
        out[index] = v
        return out
    return put


@FAST
@given(case=index_put_inputs())
def test_index_put_gradient(case):
    """x[index] = value as an op: x's gradient is g with zeros where value went, value's is g there,
    summed over what was broadcast."""
    index, x, value = case
    assert_gradients_match(lambda t, v: mg.ops.index_put(t, index, v), np_index_put(index), x, value)


def test_index_put_refuses_a_position_named_twice_and_names_bad_indices():
    x = mg.zeros(3, 2)
    with pytest.raises(ValueError, match=r"index_put: the index names a position twice, for values that may differ.*\(tensor of shape \(3, 2\), value of shape \(3, 2\)\)"):
        mg.ops.index_put(x, np.array([0, 2, 0]), mg.ones(3, 2))
    with pytest.raises(IndexError, match=r"index_put: .*\(tensor of shape \(3, 2\), value of shape \(\)\)"):
        mg.ops.index_put(x, 5, 1.0)
    with pytest.raises(ValueError, match=r"index_put: could not broadcast .*value of shape \(3,\)"):
        mg.ops.index_put(x, 0, mg.ones(3))


@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_gather_gradient(data, shape):
    """x.gather(index) picks one entry of the last axis per row; the gradient lands on the picked entries."""
    index = data.draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: mg.ops.gather(t, index),
                           lambda a: np.take_along_axis(a, index[..., None], axis=-1)[..., 0], x)


def test_gather_names_bad_indices():
    x = mg.tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"gather: expected integer indices of shape \(2,\)"):
        mg.ops.gather(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="gather: .*float64"):
        mg.ops.gather(x, np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match="gather: indices from 0 to 3 are out of range"):
        mg.ops.gather(x, np.array([0, 3]))


# ---- cumsum ----------------------------------------------------------------------------

@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_cumsum_gradient(data, shape):
    """The running sum along each axis (negative too): dL/dx_j = sum over i >= j of g_i."""
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    assert_gradients_match(lambda t: t.cumsum(axis), lambda a: np.cumsum(a, axis), data.draw(values(shape)))


def test_cumsum_gradient_is_the_running_sum_of_g_from_the_far_end():
    """Written out: y = (x0, x0 + x1, x0 + x1 + x2), so dL/dx = (g0 + g1 + g2, g1 + g2, g2)."""
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x.cumsum(0) * mg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [111.0, 110.0, 100.0]


def test_cumsum_of_a_0_d_tensor_is_itself_and_dim_is_required():
    x = mg.tensor(2.5, requires_grad=True)
    y = mg.cumsum(x, 0)
    y.backward()
    assert y.shape == () and y.item() == 2.5 and x.grad == 1.0
    with pytest.raises(ValueError, match=r"cumsum: dim None is not an axis of shape \(2,\) \(dim is required\)"):
        mg.tensor([1.0, 2.0]).cumsum()
    with pytest.raises(ValueError, match=r"cumsum: dim 1 is not an axis of shape \(2,\)"):
        mg.tensor([1.0, 2.0]).cumsum(1)


def test_cumsum_of_integers_and_bools_sums_as_int64_and_dtype_is_the_result_dtype():
    """As PyTorch's: a running count of a bool mask is int64, as is any integer's (unsigned too); a
    given dtype is the result's (x converted first)."""
    assert mg.cumsum(mg.tensor([True, False, True]), 0).tolist() == [1, 1, 2]
    assert mg.cumsum(mg.tensor([True, False, True]), 0).dtype == np.int64
    assert mg.tensor([1, 2], dtype=mg.int32).cumsum(0).dtype == np.int64
    assert mg.tensor([200, 100], dtype=mg.uint8).cumsum(0).tolist() == [200, 300]
    assert mg.tensor([200, 100], dtype=mg.uint8).cumsum(0).dtype == np.int64
    assert mg.tensor([1, 2]).cumsum(0, dtype=mg.int32).dtype == np.int32
    y = mg.tensor([1, 2, 3]).cumsum(0, dtype=mg.float32)
    assert y.dtype == np.float32 and y.tolist() == [1.0, 3.0, 6.0]
    with pytest.raises(TypeError, match="cumsum: dtype must be a dtype .* got 'bogus'"):
        mg.ones(2).cumsum(0, dtype="bogus")


def test_erf_is_pythons_math_erf_and_refuses_complex_tensors():
    x = np.array([-3.0, -0.5, 0.0, 0.25, 2.0])
    np.testing.assert_array_equal(mg.erf(x).numpy(), [math.erf(v) for v in x])
    assert mg.tensor([0.5], dtype=mg.float32).erf().dtype == np.float32
    with pytest.raises(TypeError, match="erf: expected a real tensor, got complex128"):
        mg.tensor(np.array([1 + 1j])).erf()


# ---- log_softmax ---------------------------------------------------------------------

def np_log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_log_softmax_gradient(data, shape):
    """log_softmax is one op with a closed-form rule; finite differences check it along every axis."""
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(values(shape)) * 5
    assert_gradients_match(lambda t: mg.ops.log_softmax(t, axis), lambda a: np_log_softmax(a, axis), x)


def test_log_softmax_rejects_bad_axes():
    with pytest.raises(ValueError, match=r"log_softmax: axis 2 is not an axis of shape \(2, 3\)"):
        mg.ops.log_softmax(mg.tensor(np.zeros((2, 3))), axis=2)
    with pytest.raises(ValueError, match=r"log_softmax: axis \(0,\) is not an axis of shape \(2, 3\)"):
        mg.ops.log_softmax(mg.tensor(np.zeros((2, 3))), axis=(0,))
    with pytest.raises(ValueError, match=r"log_softmax: axis 1 is not an axis of shape \(\)"):
        mg.ops.log_softmax(mg.tensor(1.0), axis=1)       # (a 0-d tensor has axis 0 or -1 only, as PyTorch's)


# ---- reductions ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("keepdims", [False, True])
@FAST
@given(data=st.data(), shape=SHAPES)
def test_sum_and_mean_gradient(name, keepdims, data, shape):
    """sum/mean over axis None, an int or a tuple, with or without keepdims, match finite differences."""
    axis = data.draw(reduction_axes(len(shape)))
    x = data.draw(values(shape))
    np_op = getattr(np, name)
    assert_gradients_match(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
                           lambda a: np_op(a, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("keepdims", [False, True])
@FAST
@given(data=st.data(), shape=SHAPES)
def test_max_gradient(keepdims, data, shape):
    """max over axis None, an int or a tuple routes the gradient to the (unique) maximum."""
    axis = data.draw(reduction_axes(len(shape)))
    x = data.draw(distinct_values(shape))
    assert_gradients_match(lambda t: t.max(axis=axis, keepdims=keepdims),
                           lambda a: np.max(a, axis=axis, keepdims=keepdims), x)


def documented_max_jacobian(x: np.ndarray, axis, keepdims: bool) -> np.ndarray:
    """d max(x)/dx as max's docstring states it, written out entry by entry (shape out.shape + x.shape):
    1/k on each of the k entries tied for the maximum of an output's group, 0 elsewhere."""
    axes = set(range(x.ndim)) if axis is None else {a % x.ndim for a in np.atleast_1d(axis)}
    groups = {}
    for i in np.ndindex(x.shape):
        out = tuple(0 if d in axes else i[d] for d in range(x.ndim)) if keepdims else \
            tuple(i[d] for d in range(x.ndim) if d not in axes)
        groups.setdefault(out, []).append(i)
    jacobian = np.zeros(np.max(x, axis=axis, keepdims=keepdims).shape + x.shape)
    for out, members in groups.items():
        tied = [i for i in members if x[i] == max(x[m] for m in members)]
        for i in tied:
            jacobian[out + i] = 1 / len(tied)
    return jacobian


TIES = np.array([[3.0, 1.0, 3.0],      # a row with two tied maxima, a row where all three tie,
                 [2.0, 2.0, 2.0],      # a row with one maximum; columns: a tie of two, then
                 [3.0, 0.0, 1.0]])     # single maxima; over all: three entries tie at 3


@pytest.mark.parametrize("axis, g, expected", [
    (1, [6.0, 12.0, 3.0], [[3, 0, 3], [4, 4, 4], [3, 0, 0]]),
    (0, [6.0, 12.0, 3.0], [[3, 0, 3], [0, 12, 0], [3, 0, 0]]),
    (None, 6.0, [[2, 0, 2], [0, 0, 0], [2, 0, 0]]),
    ((0, 1), 6.0, [[2, 0, 2], [0, 0, 0], [2, 0, 0]]),
])
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_gradient_is_shared_equally_between_ties(axis, g, expected, keepdims):
    """Closed form: g / k on each of the k tied maxima (written out by hand), with and without keepdims."""
    x = mg.tensor(TIES, requires_grad=True, dtype=np.float64)
    y = x.max(axis=axis, keepdims=keepdims)
    assert y.shape == np.max(TIES, axis=axis, keepdims=keepdims).shape
    y.backward(np.reshape(g, y.shape))
    np.testing.assert_array_equal(x.grad, np.array(expected, dtype=np.float64))


@pytest.mark.parametrize("keepdims", [False, True])
@FAST
@given(data=st.data(), shape=SHAPES)
def test_max_gradient_with_many_ties_matches_the_documented_shares(keepdims, data, shape):
    """Entries from {0, 1, 2} (ties everywhere, an all-equal group now and then), any axis: x.grad is
    g J with J written out entry by entry from the docstring's rule (1/k on each of k tied maxima)."""
    axis = data.draw(reduction_axes(len(shape)))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 2.0])))
    g = data.draw(values(np.max(x, axis=axis, keepdims=keepdims).shape))
    t = mg.tensor(x, requires_grad=True, dtype=np.float64)
    t.max(axis=axis, keepdims=keepdims).backward(g)
    expected = np.tensordot(g, documented_max_jacobian(x, axis, keepdims), axes=g.ndim)
    np.testing.assert_allclose(t.grad, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method, picks", [("max", np.argmax), ("min", np.argmin)])
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, False), (1, True), (-1, True)])
def test_max_and_min_with_dim_send_the_whole_gradient_to_the_returned_index(method, picks, dim, keepdim):
    """PyTorch's pair (values, indices): the values are the entries at the indices, so g goes to each
    index alone, ties or not (numpy's argmax/argmin pick the first of a tie)."""
    x = mg.tensor(TIES, requires_grad=True, dtype=np.float64)
    values, indices = getattr(x, method)(dim=dim, keepdim=keepdim)
    expected_indices = picks(TIES, axis=dim, keepdims=keepdim)
    np.testing.assert_array_equal(indices.data, expected_indices)
    g = np.arange(1.0, values.data.size + 1).reshape(values.shape)
    values.backward(g)
    expected = np.zeros_like(TIES, dtype=np.float64)
    np.put_along_axis(expected, expected_indices if keepdim else np.expand_dims(expected_indices, dim),
                      g if keepdim else np.expand_dims(g, dim), axis=dim)
    np.testing.assert_array_equal(x.grad, expected)
    np.testing.assert_array_equal(values.data, np.take_along_axis(
        TIES, expected_indices if keepdim else np.expand_dims(expected_indices, dim), axis=dim).reshape(values.shape))


def test_a_nan_maximum_takes_the_gradient_where_the_nan_is_as_pytorchs():
    """max over all (shared between the NaNs) and max(dim=) (at the index) send g to the NaN, not NaN everywhere."""
    import warnings

    data = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = mg.tensor(data, requires_grad=True)
        whole.max().backward()
        along = mg.tensor(data, requires_grad=True)
        along.max(dim=1).values.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(whole.grad, [[0, 1 / 3, 0], [1 / 3, 0, 1 / 3]])
    np.testing.assert_array_equal(along.grad, [[0, 1, 0], [2, 0, 0]])


def test_max_of_float32_keeps_float32_in_both_modes():
    x = np.array([1.0, 2.0, 2.0], dtype=np.float32)
    t = mg.tensor(x, requires_grad=True)
    t.max().backward()
    _, tangent = mg.jvp(lambda a: a.max(), [mg.tensor(x)], [np.ones(3, np.float32)])
    assert t.grad.dtype == np.float32 and tangent.dtype == np.float32
    np.testing.assert_array_equal(t.grad, [0.0, 0.5, 0.5])
    assert tangent == 1.0


# ---- norm: one op with its own rule (PyTorch's subgradient 0 at x = 0) ------------------------

NORM_ORDERS = [2, 1, math.inf, "inf"]


def np_norm(a: np.ndarray, p, axis, keepdims: bool) -> np.ndarray:
    """The p-norm written with numpy's reductions (p = 2, 1, inf or "inf")."""
    if p == 2:
        return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
    if p == 1:
        return np.sum(np.abs(a), axis=axis, keepdims=keepdims)
    return np.max(np.abs(a), axis=axis, keepdims=keepdims)


@st.composite
def norm_inputs(draw, p):
    """(x, dim, keepdim) with x off the norm's kinks: every entry at least 0.1 from 0 (for p = 2 the norm
    too; for p = 1 sign x is constant nearby) and, for p = inf, |x| at least 0.2 and 0.04 apart (no ties)."""
    shape = draw(SHAPES)
    dim, keepdim = draw(reduction_axes(len(shape))), draw(st.booleans())
    if p in (2, 1):
        return away_from(draw(values(shape)), [0.0]), dim, keepdim
    magnitudes = draw(distinct_values(shape))
    signs = np.where(draw(hnp.arrays(np.bool_, shape)), 1.0, -1.0)
    return (magnitudes - magnitudes.min() + 0.2) * signs, dim, keepdim


def test_norm_fro_is_pytorchs_default_the_2_norm_of_the_entries():
    x = mg.tensor(np.array([[3.0, 0.0], [0.0, 4.0]]), requires_grad=True)
    y = x.norm(p="fro")
    y.backward()
    assert y.item() == 5.0
    np.testing.assert_allclose(x.grad, [[0.6, 0.0], [0.0, 0.8]], rtol=1e-15)


@pytest.mark.parametrize("p", NORM_ORDERS)
@pytest.mark.parametrize("spelling", ["t.norm(p, dim=, keepdim=)", "mg.ops.norm(t, p=, axis=, keepdims=)"])
@FAST
@given(data=st.data())
def test_norm_gradient(p, spelling, data):
    """||x||_p over all entries, an axis or a tuple of axes, keepdim either way, in PyTorch's and numpy's
    spellings: the value and the gradient match finite differences of the numpy norm."""
    x, dim, keepdim = data.draw(norm_inputs(p))
    if spelling.startswith("t."):
        mg_fn = lambda t: t.norm(p, dim=dim, keepdim=keepdim)                   # noqa: E731
    else:
        mg_fn = lambda t: mg.ops.norm(t, p=p, axis=dim, keepdims=keepdim)       # noqa: E731
    assert_gradients_match(mg_fn, lambda a: np_norm(a, p, dim, keepdim), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_of_3_4_5_in_both_modes(dtype):
    """||(3, 4)|| = 5, d/dx = x / 5 = (0.6, 0.8), and along v = (1, 2) the tangent (3 + 8) / 5 = 2.2:
    each in x's dtype; the method, the function form and mg.ops agree (p = 2 is the default)."""
    x = np.array([3.0, 4.0], dtype=dtype)
    t = mg.tensor(x, requires_grad=True)
    y = t.norm()
    assert y.shape == () and y.dtype == dtype and y.item() == 5.0
    assert mg.norm(x).item() == mg.ops.norm(x, 2).item() == t.norm(p=2, dim=0).item() == 5.0
    y.backward()
    assert t.grad.dtype == dtype
    np.testing.assert_allclose(t.grad, [0.6, 0.8], rtol=2 * np.finfo(dtype).eps)
    _, tangent = mg.jvp(mg.norm, [mg.tensor(x)], [np.array([1.0, 2.0], dtype=dtype)])
    assert tangent.dtype == dtype
    np.testing.assert_allclose(tangent, 2.2, rtol=2 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", NORM_ORDERS)
def test_norm_of_zeros_has_gradient_and_tangent_zero_without_a_warning(p, dtype):
    """At x = 0 the norm is 0 and its (sub)gradient and tangent are 0, as PyTorch's, not the NaN of
    sqrt(sum(x * x)); over dim=1 a zero row gets 0 while the other row gets its own slopes."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = mg.tensor(np.zeros(3, dtype=dtype), requires_grad=True)
        y = t.norm(p)
        y.backward()
        _, tangent = mg.jvp(lambda a: a.norm(p), [mg.tensor(np.zeros(3, dtype=dtype))],
                            [np.array([1.0, -2.0, 3.0], dtype=dtype)])
        rows = mg.tensor(np.array([[0.0, 0.0], [-3.0, 4.0]], dtype=dtype), requires_grad=True)
        rows.norm(p, dim=1).backward(np.ones(2, dtype=dtype))
    assert y.item() == 0.0 and y.dtype == dtype
    assert t.grad.dtype == dtype and tangent.dtype == dtype and rows.grad.dtype == dtype
    np.testing.assert_array_equal(t.grad, np.zeros(3))
    assert tangent == 0.0
    slopes = {2: [-0.6, 0.8], 1: [-1.0, 1.0]}.get(p, [0.0, 1.0])           # inf: at the largest |x| only
    np.testing.assert_allclose(rows.grad, [[0.0, 0.0], slopes], rtol=2 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p, norm, slopes, along_v", [
    (1, 7.5, [1.0, -1.0, 1.0, 1.0], 1 - 2 + 4 + 8),            # sum |x|; sign x
    (math.inf, 3.0, [0.0, -0.5, 0.5, 0.0], (-2 + 4) / 2),     # max |x|: the tie -3, 3 shares sign x
    ("inf", 3.0, [0.0, -0.5, 0.5, 0.0], (-2 + 4) / 2),
])
def test_norm_p1_and_inf_on_a_small_vector(p, norm, slopes, along_v, dtype):
    """x = (1, -3, 3, 0.5), v = (1, 2, 4, 8): closed forms for the value, the gradient and J v, in x's dtype."""
    x = np.array([1.0, -3.0, 3.0, 0.5], dtype=dtype)
    t = mg.tensor(x, requires_grad=True)
    y = mg.norm(t, p)
    assert y.dtype == dtype and y.item() == norm
    y.backward()
    assert t.grad.dtype == dtype
    np.testing.assert_array_equal(t.grad, slopes)
    _, tangent = mg.jvp(lambda a: a.norm(p=p), [mg.tensor(x)], [np.array([1.0, 2.0, 4.0, 8.0], dtype=dtype)])
    assert tangent.dtype == dtype and tangent == along_v


def test_norm_of_integers_is_float64_as_mean():
    y = mg.norm(mg.tensor([3, 4]))
    assert y.dtype == np.float64 and y.item() == 5.0


@pytest.mark.parametrize("p", [3, 0, -1, 0.5, -math.inf, "nuc", "Inf", True, None])
def test_norm_refuses_other_orders_naming_the_p(p):
    with pytest.raises(ValueError, match=rf"norm: p={re.escape(repr(p))} is not supported"):
        mg.tensor([3.0, 4.0]).norm(p)


def test_norm_names_bad_dims():
    x = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"norm: axis 2 is not an axis .* of shape \(2, 3\)"):
        x.norm(dim=2)
    with pytest.raises(ValueError, match=r"norm: axis \(1, -1\) is not an axis \(or distinct axes\)"):
        x.norm(2, (1, -1))
    with pytest.raises(ValueError, match=r"norm: axis 1.5 is not an axis"):
        mg.norm(x, axis=1.5)
    with pytest.raises(TypeError, match="norm: got both axis= and dim="):
        x.norm(dim=0, axis=0)
    with pytest.raises(ValueError, match=r"norm: no largest \|x\| over an empty axis"):
        mg.zeros(0, 3).norm("inf", dim=0)


# ---- empty axes --------------------------------------------------------------------------

EMPTY_CASES = {     # name: (mg function, numpy function, operand shapes)
    "sum_over_the_empty_axis": (lambda t: t.sum(axis=0), lambda a: np.sum(a, axis=0), [(0, 3)]),
    "sum_over_the_other_axis": (lambda t: t.sum(axis=1), lambda a: np.sum(a, axis=1), [(0, 3)]),
    "sum_over_all": (lambda t: t.sum(), np.sum, [(0, 3)]),
    "mean_over_the_other_axis": (lambda t: t.mean(axis=1), lambda a: np.mean(a, axis=1), [(0, 3)]),
    "mul_broadcast": (lambda a, b: a * b, np.multiply, [(0, 3), (3,)]),
    "matmul_no_rows": (lambda a, b: a @ b, np.matmul, [(0, 3), (3, 2)]),
    "matmul_empty_inner_axis": (lambda a, b: a @ b, np.matmul, [(2, 0), (0, 3)]),
    "matmul_batch_empty_inner_axis": (lambda a, b: a @ b, np.matmul, [(4, 2, 0), (0, 3)]),
    "matvec_empty_inner_axis": (lambda a, b: a @ b, np.matmul, [(2, 0), (0,)]),
}


@pytest.mark.parametrize("name", list(EMPTY_CASES))
def test_gradient_over_a_zero_size_axis_has_the_operand_shape(name):
    """An empty operand gets an empty gradient of its own shape (not None); a non-empty one multiplied
    by an empty one gets zeros, as the finite differences (empty sums) say."""
    mg_fn, np_fn, shapes = EMPTY_CASES[name]
    rng = np.random.default_rng(0)
    assert_gradients_match(mg_fn, np_fn, *[rng.standard_normal(shape) for shape in shapes])


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning",
                            "ignore:divide by zero encountered:RuntimeWarning")
@pytest.mark.parametrize("axis", [0, None, (0, 1)])
def test_mean_over_an_empty_axis_is_nan_as_numpy_with_an_empty_gradient(axis):
    """mean over N = 0 elements is numpy's nan (0 / 0); d/dx = 1/N has no entry to land on, so the
    gradient is an empty array of x's shape."""
    x = mg.tensor(np.zeros((0, 3)), requires_grad=True, dtype=np.float64)
    y = x.mean(axis=axis)
    expected = np.mean(np.zeros((0, 3)), axis=axis)
    assert y.shape == np.shape(expected) and np.isnan(y.data).all() and np.isnan(expected).all()
    y.sum().backward()
    assert x.grad.shape == (0, 3) and x.grad.dtype == np.float64


# ---- shape ops -----------------------------------------------------------------------

@st.composite
def reshape_targets(draw):
    """A shape and another shape with the same number of elements (sometimes with a -1)."""
    shape = draw(SHAPES)
    size = int(np.prod(shape, dtype=int))
    target = draw(st.sampled_from([(size,), (-1,), (1, size), (size, 1), (1, -1),
                                   tuple(reversed(shape)) or (1,), (1,) + shape]))
    return shape, target


@FAST
@given(data=st.data(), shapes=reshape_targets())
def test_reshape_gradient(data, shapes):
    """x.reshape(*shape) passes the gradient back in x's shape."""
    shape, target = shapes
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t.reshape(*target), lambda a: a.reshape(target), x)


@FAST
@given(data=st.data(), shape=SHAPES)
def test_transpose_with_axes_gradient(data, shape):
    """x.transpose(axes) with any permutation (numpy's tuple form) un-permutes the gradient."""
    axes = tuple(data.draw(st.permutations(range(len(shape)))))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t.transpose(axes), lambda a: np.transpose(a, axes), x)


@FAST
@given(data=st.data(), shape=SHAPES)
def test_transpose_without_axes_reverses_them(data, shape):
    """x.transpose() reverses the axes, gradient included."""
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t.transpose(), np.transpose, x)


@FAST
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
def test_T_gradient(data, shape):
    """x.T (0-d, vector or matrix) matches numpy's .T, gradient included."""
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: t.T, lambda a: a.T, x)


@st.composite
def concat_shapes(draw):
    """2-3 shapes that agree everywhere but along `axis`, and that axis (maybe negative)."""
    base = draw(NONEMPTY_DIMS)
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(2, 3))
    shapes = []
    for _ in range(count):
        shape = list(base)
        shape[axis] = draw(st.integers(1, 3))
        shapes.append(tuple(shape))
    return shapes, axis


@FAST
@given(data=st.data(), spec=concat_shapes())
def test_concat_gradient(data, spec):
    """mg.concat splits the gradient back to each piece."""
    shapes, axis = spec
    pieces = [data.draw(values(s)) for s in shapes]
    assert_gradients_match(lambda *ts: mg.concat(list(ts), axis=axis),
                           lambda *arrays: np.concatenate(arrays, axis=axis), *pieces)


@FAST
@given(data=st.data(), shape=SHAPES, count=st.integers(1, 3))
def test_stack_gradient(data, shape, count):
    """mg.stack along any new axis (negative included) hands each input its slice of the gradient."""
    axis = data.draw(st.integers(-(len(shape) + 1), len(shape)))
    pieces = [data.draw(values(shape)) for _ in range(count)]
    assert_gradients_match(lambda *ts: mg.stack(list(ts), axis=axis),
                           lambda *arrays: np.stack(arrays, axis=axis), *pieces)


@FAST
@given(data=st.data(),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                min_side=1, max_side=3),
       condition_as_tensor=st.booleans())
def test_where_gradient(data, shapes, condition_as_tensor):
    """mg.where(cond, a, b) sends the gradient to a where cond holds and to b elsewhere, broadcasting
    summed back; a boolean Tensor as cond routes it as the array does."""
    cond_shape, a_shape, b_shape = shapes.input_shapes
    cond = data.draw(hnp.arrays(np.bool_, cond_shape))
    a, b = data.draw(values(a_shape)), data.draw(values(b_shape))
    condition = mg.tensor(cond) if condition_as_tensor else cond
    assert_gradients_match(lambda ta, tb: mg.where(condition, ta, tb),
                           lambda xa, xb: np.where(cond, xa, xb), a, b)


@FAST
@given(data=st.data(), shape=SHAPES)
def test_where_with_python_scalar_branch(data, shape):
    """mg.where(cond, x, 0.0): the scalar branch is a constant, x gets the gradient where cond holds."""
    cond = data.draw(hnp.arrays(np.bool_, shape))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: mg.where(cond, t, 0.0), lambda a: np.where(cond, a, 0.0), x)


@FAST
@given(data=st.data(), shape=SHAPES)
def test_where_with_python_scalar_as_the_first_branch(data, shape):
    """mg.where(cond, 0.5, x): the scalar is a constant, x gets the gradient where cond does not hold."""
    cond = data.draw(hnp.arrays(np.bool_, shape))
    x = data.draw(values(shape))
    assert_gradients_match(lambda t: mg.where(cond, 0.5, t), lambda a: np.where(cond, 0.5, a), x)


@FAST
@given(data=st.data(),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                min_side=1, max_side=3))
def test_lerp_gradient_with_three_broadcast_tensors(data, shapes):
    """lerp(start, end, weight) = start + weight (end - start): each operand gets the
    finite-difference gradient, summed back to its own (broadcast) shape."""
    start, end, weight = (data.draw(values(shape)) for shape in shapes.input_shapes)
    assert_gradients_match(mg.ops.lerp, lambda s, e, w: s + w * (e - s), start, end, weight)


@FAST
@given(data=st.data(), shape=NONEMPTY_DIMS)
def test_lerp_with_a_python_scalar_weight(data, shape):
    """lerp(a, b, 0.25): a and b get 0.75 and 0.25 of the gradient."""
    a, b = data.draw(values(shape)), data.draw(values(shape))
    assert_gradients_match(lambda ta, tb: mg.ops.lerp(ta, tb, 0.25), lambda x, y: 0.75 * x + 0.25 * y, a, b)


def test_lerp_names_the_shapes_that_do_not_broadcast():
    a, b = mg.tensor(np.zeros((2, 3))), mg.tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"lerp: shapes \(2, 3\), \(4, 3\) and \(\) cannot be broadcast"):
        mg.ops.lerp(a, b, 0.5)


# ---- a composite, so rules compose ---------------------------------------------------

@FAST
@given(data=st.data(), shapes=BROADCAST_PAIRS)
def test_composite_expression_gradient(data, shapes):
    """A chain of several ops sharing inputs (x used three times) matches finite differences."""
    x_shape, y_shape = shapes.input_shapes
    x, y = data.draw(values(x_shape)), data.draw(values(y_shape))
    assert_gradients_match(
        lambda a, b: (a * b + a).tanh() * a.sigmoid() - (b * b + 1).log(),
        lambda a, b: np.tanh(a * b + a) / (1 + np.exp(-a)) - np.log(b * b + 1),
        x, y)


def test_astype_carries_the_gradient_back_in_the_input_dtype():
    """d astype(x)/dx = 1: the gradient of sum(2 * x.float()) is 2, in x's dtype (float64)."""
    x = mg.tensor([1.5, -2.0], requires_grad=True, dtype=np.float64)
    y = mg.ops.astype(x, np.float32)
    assert y.dtype == np.float32
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert mg.gradcheck(lambda t: (mg.ops.astype(t, np.float64) ** 2).sum(), [x])


@pytest.mark.parametrize("source, target", [(np.float64, np.float32), (np.float32, np.float64),
                                            (np.float32, np.float32), (np.float64, np.float64)])
def test_astype_across_dtypes_gives_the_gradient_in_the_input_dtype(source, target):
    """d/dx sum(R * astype(x)^2) = 2 x R (closed form, float64): the output has the target dtype, the
    gradient x's dtype, and the closed form's values (to float32 precision where float32 took part)."""
    rng = np.random.default_rng(3)
    data, weights = rng.standard_normal((2, 3)).astype(source), rng.standard_normal((2, 3))
    x = mg.tensor(data, requires_grad=True, dtype=source)
    y = mg.ops.astype(x, target)
    assert y.dtype == target
    (y ** 2 * weights.astype(target)).sum().backward()
    assert x.grad.dtype == source and x.grad.shape == (2, 3)
    exact = source == target == np.float64
    np.testing.assert_allclose(x.grad, 2 * data.astype(np.float64) * weights,
                               rtol=1e-12 if exact else 1e-5, atol=1e-12 if exact else 1e-6)


# ---- which ops this file covers ----------------------------------------------------------------------

def recorded_ops() -> set:
    """The name of every op ops/*.py records with a rule of its own (`result("name", ...)`)."""
    import pathlib

    folder = pathlib.Path(mg.ops.__file__).parent
    return {name for path in folder.glob("*.py") for name in re.findall(r'result\(\s*"(\w+)"', path.read_text())}


# each op recorded in ops/*.py: the test checking its gradient against central differences (in this file,
# or "module.test" in another), and the table row of this file it runs through
OP_CHECKS = {
    **{name: ("test_binary_op_gradient_with_two_broadcast_tensors", BINARY)
       for name in ("add", "sub", "mul", "div", "pow")},
    **{name: ("test_unary_op_gradient", UNARY)
       for name in ("clone", "neg", "exp", "log", "sin", "cos", "erf", "tanh", "sigmoid", "relu", "abs", "sqrt",
                    "round", "sign", "clip", "log10", "log2", "cosh", "sinh", "log1p", "expm1")},
    **{name: ("test_remainder_and_floor_division_of_two_broadcast_tensors_in_both_modes", STEPPED)
       for name in ("remainder", "floor_divide")},
    "lerp": ("test_lerp_gradient_with_three_broadcast_tensors", None),
    "where": ("test_where_gradient", None),
    "astype": ("test_astype_across_dtypes_gives_the_gradient_in_the_input_dtype", None),
    "matmul": ("test_matmul_gradient_for_vectors_matrices_and_batches", None),
    "linear": ("test_linear_gradient_with_and_without_bias", None),
    "sum": ("test_sum_and_mean_gradient", None),
    "mean": ("test_sum_and_mean_gradient", None),
    "max": ("test_max_gradient", None),
    "norm": ("test_norm_gradient", None),
    "cumsum": ("test_cumsum_gradient", None),
    "prod": ("test_products_and_differences.test_prod_gradient_matches_central_differences", None),
    "cumprod": ("test_products_and_differences.test_cumprod_gradient_matches_central_differences", None),
    "reshape": ("test_reshape_gradient", None),
    "transpose": ("test_transpose_with_axes_gradient", None),
    "getitem": ("test_getitem_basic_slicing_gradient", None),
    "gather": ("test_gather_gradient", None),
    "concat": ("test_concat_gradient", None),
    "stack": ("test_stack_gradient", None),
    "index_put": ("test_index_put_gradient", None),
    "log_softmax": ("test_log_softmax_gradient", None),
    "cross_entropy": ("test_losses_op.test_value_and_gradient_match_central_differences", None),
    "binary_cross_entropy_with_logits": ("test_losses_binary.test_with_logits_matches_the_closed_form", None),
    "binary_cross_entropy": ("test_losses_binary.test_from_probabilities_matches_the_closed_form", None),
    "einsum": ("test_pytorch_porting_16.test_gap_G3_einsum_gradients_match_central_differences", None),
    # (the input's side: test_composite_gradients' F.kl_div row; the losses' targets: test_loss_targets)
    "kl_div": ("test_loss_targets.test_kl_div_targets_get_pytorchs_gradient", None),
    **{name: ("test_more_elementwise_functions.test_binary_gradient_and_tangent_with_broadcast_operands", None)
       for name in ("atan2", "hypot", "copysign", "xlogy", "xlog1py", "fmod")},
    **{name: ("test_more_elementwise_functions.test_unary_gradient_and_tangent", None)
       for name in ("logit", "trunc", "sinc", "exp2", "erfc", "entr")},
    **{name: ("test_inverse_trig_and_rounding.test_gradient_and_tangent_match_central_differences", None)
       for name in ("floor", "ceil", "reciprocal", "tan", "asin", "acos", "atan", "asinh", "acosh", "atanh")},
    **{name: ("test_special_functions.test_gradient_and_tangent_match_central_differences", None)
       for name in ("lgamma", "digamma", "polygamma", "erfinv", "ndtri", "log_ndtr", "erfcx", "i0", "i0e", "i1",
                    "i1e")},
    # torch.linalg's primitives (ops/matrix_functions.py, ops/decompositions.py): gradient and tangent there
    "inv": ("test_linalg.test_inv_gradient_and_tangent", None),
    "solve": ("test_linalg.test_solve_gradient_and_tangent_with_broadcast_batches", None),
    "det": ("test_linalg.test_det_gradient_and_tangent_on_a_batch", None),
    "slogdet": ("test_linalg.test_slogdet_is_a_named_pair_whose_sign_is_a_constant", None),
    "matrix_exp": ("test_linalg.test_matrix_exp_gradient_and_tangent", None),
    "cholesky": ("test_linalg.test_cholesky_gradient_and_tangent_of_a_symmetric_input", None),
    **{name: ("test_linalg.test_eigh_gradients_and_tangents_of_sign_free_functions", None)
       for name in ("eigvalsh", "eigh_vectors")},
    **{name: ("test_linalg.test_svd_gradients_and_tangents_of_sign_free_functions", None)
       for name in ("svdvals", "svd_u", "svd_vh")},
    **{name: ("test_linalg.test_qr_gradient_and_tangent_of_each_factor", None) for name in ("qr_q", "qr_r")},
    # ops/solvers.py: test_linalg_solvers.py
    "solve_triangular": ("test_linalg_solvers.test_solve_triangular_solves_and_has_pytorchs_gradient_and_tangent",
                         None),
    **{name: ("test_linalg_solvers.test_lu_gradient_and_tangent_of_each_factor", None) for name in ("lu_l", "lu_u")},
    "pinv": ("test_linalg_solvers.test_pinv_gradient_and_tangent", None),
    # ops/gamma_sampling.py (a random draw: its implicit gradient against a central difference of the inverse
    # cdf at a fixed uniform, in test_gamma_distributions.py)
    "standard_gamma": ("test_gamma_distributions.test_gamma_draws_carry_the_implicit_gradient_of_the_inverse_cdf",
                       None),
}


def test_every_recorded_op_has_a_finite_difference_check():
    """Every op with a rule of its own, whether or not mg.ops.__all__ lists it (a % b and a // b are
    Tensor's operators only), names a test that checks its gradient against central differences (its
    tangent: test_forward_mode.py's table of mg.ops.__all__, or the same test here): a new op cannot go
    without one."""
    import importlib

    assert sorted(recorded_ops()) == sorted(OP_CHECKS)
    for name, (check, table) in OP_CHECKS.items():
        module, _, function = check.rpartition(".")
        where = importlib.import_module(module) if module else globals()
        found = getattr(where, function, None) if module else where.get(function)
        assert callable(found), f"{name}: no test named {check!r}"
        assert table is None or name in table, f"{name}: no row in the table {check} runs through"


def test_relu_slope_at_zero_is_zero_in_both_modes():
    """relu's derivative is 1 where x > 0, else 0, as PyTorch's (0 at x = 0 exactly), in reverse and forward
    mode (hand-written numpy: g * (x > 0)). From a mutation check: a slope of 1 at 0 passed every test."""
    X = np.array([[-1.5, 0.0, 0.7], [0.0, 2.0, -0.3]])
    G = np.array([[0.3, -1.1, 0.9], [1.7, -0.4, 0.2]])
    x = mg.tensor(X, requires_grad=True)
    (mg.relu(x) * mg.tensor(G)).sum().backward()
    np.testing.assert_array_equal(x.grad, G * (X > 0))
    V = np.array([[1.0, 2.0, -3.0], [4.0, 0.5, 1.0]])
    _, tangent = mg.jvp(mg.relu, (mg.tensor(X),), (V,))
    np.testing.assert_array_equal(np.asarray(tangent), V * (X > 0))


def test_einsum_gradient_sums_over_an_operands_broadcast_size_1_axis():
    """einsum('ij,ij->i', a, b) with a of shape (3, 1) and b (3, 4): numpy stretches a's j axis, so
    dL/da[i, 0] = sum_j g_i b_ij. Against central differences, both operands. From a mutation check."""
    rng = np.random.default_rng(3)
    A, B, G = rng.normal(size=(3, 1)), rng.normal(size=(3, 4)), rng.normal(size=3)
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    (mg.einsum("ij,ij->i", a, b) * mg.tensor(G)).sum().backward()
    loss = lambda A_, B_: float((np.einsum("ij,ij->i", A_, B_) * G).sum())
    np.testing.assert_allclose(a.grad, central_differences(lambda t: loss(t, B), A), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(b.grad, central_differences(lambda t: loss(A, t), B), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_log10_and_log2_of_exact_powers_are_exact_in_low_precision(dtype):
    """log10(10^k) = k and log2(2^k) = k exactly in float16 and float32, as PyTorch gives, whatever
    numpy's build: numpy 2.4's own float32 log10(100) is 2.0000002 (one unit in the last place off),
    so the library computes these two in float64 and rounds. 10^k is exact in float16 up to 10^4."""
    top = 4 if dtype is np.float16 else 10
    tens = np.array([10.0 ** k for k in range(top + 1)], dtype=dtype)
    twos = np.array([2.0 ** k for k in range(-14, 15)], dtype=dtype)
    assert mg.tensor(tens).log10().dtype == dtype
    np.testing.assert_array_equal(mg.tensor(tens).log10().numpy(), np.arange(top + 1, dtype=dtype))
    np.testing.assert_array_equal(mg.log2(mg.tensor(twos)).numpy(), np.arange(-14, 15, dtype=dtype))
