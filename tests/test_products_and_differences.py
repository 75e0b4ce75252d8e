"""prod, cumprod, diff, outer (ger), addmm, addcmul, addcdiv, logaddexp, count_nonzero, nansum, isclose and
take_along_dim, as PyTorch's.

The references are independent of the library: numpy's own functions (np.prod, np.cumprod, np.diff,
np.outer, np.logaddexp, np.isclose, np.take_along_axis, ...) or PyTorch's documented formula written in
numpy for values; central differences in float64 for gradients (`assert_gradients_match`) and tangents
(`directional_difference`); products written out by hand for the gradients where entries are 0.
The composites' gradients and tangents on drawn shapes are rows of test_composite_gradients.py; prod's
and cumprod's tangents are rows of test_forward_mode.py.
"""

import numpy as np
import pytest
from test_forward_mode import as_tensors, directional_difference
from test_op_gradients import assert_gradients_match

import microgradseq as mg

RNG = np.random.default_rng(7)
SHAPES_AND_DIMS = [((5,), None), ((5,), 0), ((5,), -1), ((3, 4), None), ((3, 4), 0), ((3, 4), 1),
                   ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), None)]
ZEROS = ["none", "one", "two", "all"]


def with_zeros(shape, dim, zeros):
    """Values in [0.5, 1.5] with signs drawn, and along `dim` (every entry for None) of each slice: no
    zero, one, two, or only zeros."""
    a = RNG.uniform(0.5, 1.5, shape) * RNG.choice([-1.0, 1.0], shape)
    lines = np.moveaxis(a.reshape(-1) if dim is None else a, -1 if dim is None else dim, -1)
    count = {"none": 0, "one": 1, "two": 2, "all": lines.shape[-1]}[zeros]
    for line in lines.reshape(-1, lines.shape[-1]):
        line[RNG.permutation(line.size)[:count]] = 0.0
    return a


def others_by_hand(line):
    """d prod(line)/d line_i: the product of every other entry, one at a time."""
    return np.array([np.prod(np.delete(line, i)) for i in range(line.size)])


# ---- prod -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, dim", SHAPES_AND_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod_values_match_numpy(shape, dim, keepdim):
    a = with_zeros(shape, dim, "one") + 0.25
    got = mg.tensor(a).prod(dim, keepdim) if dim is not None else mg.prod(mg.tensor(a), keepdim=keepdim)
    np.testing.assert_allclose(got.numpy(), np.prod(a, axis=dim, keepdims=keepdim), rtol=1e-12)


@pytest.mark.parametrize("zeros", ZEROS)
@pytest.mark.parametrize("shape, dim", SHAPES_AND_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod_gradient_matches_central_differences(shape, dim, zeros, keepdim):
    """prod is linear in each entry, so central differences are exact there, zeros or not: no zero, one
    zero (the others' product at it, 0 elsewhere), two zeros and only zeros (0 everywhere)."""
    a = with_zeros(shape, dim, zeros)
    assert_gradients_match(lambda t: t.prod(dim, keepdim=keepdim), lambda x: np.prod(x, axis=dim, keepdims=keepdim), a)


@pytest.mark.parametrize("zeros", ZEROS)
@pytest.mark.parametrize("shape, dim", SHAPES_AND_DIMS)
def test_prod_tangent_matches_central_differences(shape, dim, zeros):
    a, v = with_zeros(shape, dim, zeros), RNG.standard_normal(shape)
    _, tangent = mg.jvp(lambda t: mg.prod(t, dim), as_tensors([a]), [v])
    np.testing.assert_allclose(tangent, directional_difference(lambda x: np.prod(x, axis=dim), [a], [v]),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("line, expected", [([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]), ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),
                                            ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]), ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
                                            ([5.0], [1.0])])
def test_prod_gradient_is_the_product_of_the_other_entries(line, expected):
    """Written out: d(x0 x1 x2)/dx = (x1 x2, x0 x2, x0 x1), exact at zeros (no 0 / 0)."""
    x = mg.tensor(line, requires_grad=True, dtype=mg.float64)
    x.prod().backward()
    assert x.grad.tolist() == expected == others_by_hand(np.array(line)).tolist()


def test_prod_of_integers_and_bools_is_int64_and_dtype_converts_first():
    assert mg.tensor([3, 4], dtype=mg.int32).prod().dtype == np.int64
    assert mg.tensor([[True, False], [True, True]]).prod(1).tolist() == [0, 1]
    assert mg.tensor([[True, False], [True, True]]).prod(1).dtype == np.int64
    assert mg.tensor([200, 2], dtype=mg.uint8).prod().item() == 400
    assert mg.tensor([1, 2]).prod(dtype=mg.float32).dtype == np.float32
    assert mg.tensor([1.5, 2.0], dtype=mg.float32).prod().dtype == np.float32


def test_prod_of_a_0_d_tensor_and_of_an_empty_one():
    """A 0-d tensor's product is its entry (dim 0 or -1 too); an empty slice's product is 1, with an empty
    gradient of x's shape."""
    x = mg.tensor(2.5, requires_grad=True, dtype=mg.float64)
    y = x.prod(0)
    y.backward()
    assert y.shape == () and y.item() == 2.5 and x.grad == 1.0
    empty = mg.zeros((0, 3), requires_grad=True, dtype=mg.float64)
    z = empty.prod(0)
    assert z.tolist() == [1.0, 1.0, 1.0]
    z.sum().backward()
    assert empty.grad.shape == (0, 3)


def test_prod_refuses_what_is_not_one_axis_naming_prod():
    x = mg.ones(2, 3)
    for dim in [2, -3, (0, 1), 0.5]:
        with pytest.raises(ValueError, match=r"prod: dim .* is not an axis of shape \(2, 3\)"):
            x.prod(dim)
    with pytest.raises(TypeError, match="prod: dtype must be a dtype .* got 'bogus'"):
        mg.prod(x, dtype="bogus")
    assert x.tolist() == [[1.0] * 3] * 2


# ---- cumprod ----------------------------------------------------------------------------------------

CUMULATIVE = [((6,), 0), ((6,), -1), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), 2), ((2, 3, 4), -2)]


def cumprod_gradient_by_hand(x, g):
    """dL/dx_k = sum over j >= k of g_j times the product of x_0 .. x_j without x_k, for a 1-d line."""
    return np.array([sum(g[j] * np.prod(np.delete(x[:j + 1], k)) for j in range(k, x.size)) for k in range(x.size)])


@pytest.mark.parametrize("shape, dim", CUMULATIVE)
def test_cumprod_values_match_numpy(shape, dim):
    a = with_zeros(shape, dim, "one")
    np.testing.assert_allclose(mg.cumprod(mg.tensor(a), dim).numpy(), np.cumprod(a, axis=dim), rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(a).cumprod(dim=dim).numpy(), np.cumprod(a, axis=dim), rtol=1e-12)


@pytest.mark.parametrize("zeros", ZEROS)
@pytest.mark.parametrize("shape, dim", CUMULATIVE)
def test_cumprod_gradient_matches_central_differences(shape, dim, zeros):
    """Each running product is linear in each entry: central differences are exact, zeros or not."""
    a = with_zeros(shape, dim, zeros)
    assert_gradients_match(lambda t: t.cumprod(dim), lambda x: np.cumprod(x, axis=dim), a)


@pytest.mark.parametrize("zeros", ZEROS)
@pytest.mark.parametrize("shape, dim", CUMULATIVE)
def test_cumprod_tangent_matches_central_differences(shape, dim, zeros):
    a, v = with_zeros(shape, dim, zeros), RNG.standard_normal((2,) + shape)
    _, tangents = mg.jvp(lambda t: mg.cumprod(t, dim), as_tensors([a]), [v])
    for tangent, direction in zip(tangents, v):
        np.testing.assert_allclose(tangent, directional_difference(lambda x: np.cumprod(x, axis=dim), [a], [direction]),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("line", [[2.0, 0.0, 3.0, 0.5, -1.5], [0.0, 2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0, 0.0],
                                  [1.5, -2.0, 0.5, 3.0, 0.0]])
def test_cumprod_gradient_with_zeros_is_the_hand_written_sum(line):
    g = np.array([1.0, -2.0, 0.5, 3.0, 1.25])
    x = mg.tensor(line, requires_grad=True, dtype=mg.float64)
    (x.cumprod(0) * mg.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad, cumprod_gradient_by_hand(np.array(line), g), rtol=1e-14, atol=1e-14)


def test_cumprod_dtypes_0_d_and_errors_as_pytorch():
    assert mg.tensor([True, True, False]).cumprod(0).tolist() == [1, 1, 0]
    assert mg.tensor([True, True, False]).cumprod(0).dtype == np.int64
    assert mg.tensor([200, 2], dtype=mg.uint8).cumprod(0).tolist() == [200, 400]
    assert mg.tensor([2, 3]).cumprod(0, dtype=mg.float64).dtype == np.float64
    x = mg.tensor(-1.5, requires_grad=True)
    y = mg.cumprod(x, -1)
    y.backward()
    assert y.shape == () and y.item() == -1.5 and x.grad == 1.0
    with pytest.raises(ValueError, match=r"cumprod: dim None is not an axis of shape \(2,\) \(dim is required\)"):
        mg.tensor([1.0, 2.0]).cumprod()
    with pytest.raises(ValueError, match=r"cumprod: dim 1 is not an axis of shape \(2,\)"):
        mg.cumprod(mg.tensor([1.0, 2.0]), 1)
    with pytest.raises(TypeError, match="cumprod: dtype must be a dtype"):
        mg.tensor([1.0, 2.0]).cumprod(0, dtype="bogus")


# ---- diff -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 5, 9])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_diff_matches_numpy_with_and_without_prepend_and_append(n, dim):
    """np.diff (which PyTorch's diff follows), n past the length giving an empty axis; n = 0 a copy of x
    alone (PyTorch ignores prepend and append then, where numpy joins them)."""
    a = RNG.standard_normal((3, 4))
    before, after = RNG.standard_normal((3, 4)[:dim % 2] + (2,) + (3, 4)[dim % 2 + 1:]), RNG.standard_normal(
        (3, 4)[:dim % 2] + (1,) + (3, 4)[dim % 2 + 1:])
    np.testing.assert_array_equal(mg.diff(mg.tensor(a), n, dim).numpy(), np.diff(a, n, axis=dim))
    joined = mg.tensor(a).diff(n, dim, prepend=mg.tensor(before), append=after)
    np.testing.assert_allclose(joined.numpy(), np.diff(a, n, axis=dim, prepend=before, append=after) if n else a,
                               rtol=1e-12, atol=1e-12)


def test_diff_of_bools_is_xor_and_of_integers_stays_integer():
    flags = np.array([True, True, False, True])
    assert mg.tensor(flags).diff().tolist() == [False, True, True]
    assert mg.tensor(flags).diff(2).tolist() == [True, False]
    steps = mg.tensor([1, 4, 9, 16])
    assert steps.diff().dtype == np.int64 and steps.diff(2).tolist() == [2, 2]


def test_diff_gradient_is_g_shifted_minus_g():
    """dL/dx_i = g_(i-1) - g_i for n = 1 (g_(-1) = g_n = 0), written out."""
    x = mg.tensor([1.0, 5.0, 2.0, 7.0], requires_grad=True)
    (x.diff() * mg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [-1.0, -9.0, -90.0, 100.0]


def test_diff_refuses_bad_input_naming_diff():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="diff: expected a tensor with at least one axis, got a 0-d tensor"):
        mg.tensor(1.0).diff()
    with pytest.raises(ValueError, match="diff: n .* must be an integer >= 0, got -1"):
        x.diff(-1)
    with pytest.raises(ValueError, match=r"diff: prepend of shape \(2,\) must have the input's axes"):
        x.diff(prepend=mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"diff: append of shape \(3, 1\) must have the input's axes"):
        mg.diff(x, append=np.zeros((3, 1)))
    with pytest.raises(IndexError, match="diff: dim 2 is out of range"):
        x.diff(dim=2)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]


# ---- outer, addmm, addcmul, addcdiv ------------------------------------------------------------------

def test_outer_and_ger_are_numpys_outer_and_refuse_what_is_not_a_vector():
    a, b = RNG.standard_normal(3), RNG.standard_normal(4)
    np.testing.assert_array_equal(mg.outer(mg.tensor(a), mg.tensor(b)).numpy(), np.outer(a, b))
    np.testing.assert_array_equal(mg.tensor(a).ger(b).numpy(), np.outer(a, b))
    np.testing.assert_array_equal(mg.ger(a, mg.tensor(b)).numpy(), np.outer(a, b))
    with pytest.raises(ValueError, match=r"outer: expected two 1-d tensors, got shapes \(3,\) and \(2, 2\)"):
        mg.tensor(a).outer(mg.ones(2, 2))


def test_addmm_is_beta_input_plus_alpha_product():
    c, m1, m2 = RNG.standard_normal((1, 4)), RNG.standard_normal((3, 2)), RNG.standard_normal((2, 4))
    got = mg.addmm(mg.tensor(c), mg.tensor(m1), mg.tensor(m2), beta=0.5, alpha=-2.0)
    np.testing.assert_allclose(got.numpy(), 0.5 * c + -2.0 * (m1 @ m2), rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(c).addmm(m1, m2).numpy(), c + m1 @ m2, rtol=1e-12)


def test_addmm_with_beta_0_ignores_nan_in_input_and_gives_it_a_zero_gradient():
    """PyTorch's documented beta = 0: input is ignored, nan and inf in it are not propagated; its gradient
    is beta g = 0 (derivatives.yaml)."""
    c = mg.tensor([[np.nan, np.inf]], requires_grad=True, dtype=mg.float64)
    m1, m2 = mg.tensor(np.eye(2), requires_grad=True), mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = c.addmm(m1, m2, beta=0, alpha=2)
    assert y.tolist() == [[2.0, 4.0], [6.0, 8.0]]
    y.sum().backward()
    assert c.grad.tolist() == [[0.0, 0.0]] and np.isfinite(m1.grad).all()


def test_addmm_refuses_bad_shapes_and_scalars_naming_addmm():
    c = mg.zeros(2, 2)
    with pytest.raises(ValueError, match=r"addmm: expected two 2-d tensors .* got shapes \(2, 3\) and \(2, 2\)"):
        c.addmm(mg.ones(2, 3), mg.ones(2, 2))
    with pytest.raises(ValueError, match=r"addmm: expected two 2-d tensors .* got shapes \(2,\) and \(2, 2\)"):
        mg.addmm(c, mg.ones(2), mg.ones(2, 2))
    with pytest.raises(ValueError, match=r"addmm: input of shape \(3,\) does not broadcast to the product's shape"):
        mg.addmm(mg.zeros(3), mg.ones(2, 2), mg.ones(2, 2))
    with pytest.raises(TypeError, match="addmm: alpha must be a number, got 'x'"):
        c.addmm(mg.ones(2, 2), mg.ones(2, 2), alpha="x")
    assert c.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_addcmul_and_addcdiv_broadcast_the_three_operands():
    c, a, b = RNG.standard_normal((2, 1, 3)), RNG.standard_normal((4, 1)), RNG.uniform(0.5, 2.0, (3,))
    np.testing.assert_allclose(mg.addcmul(mg.tensor(c), mg.tensor(a), mg.tensor(b), value=-0.5).numpy(),
                               c + -0.5 * a * b, rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(c).addcdiv(a, mg.tensor(b), value=2).numpy(), c + 2 * a / b, rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(c).addcmul(mg.tensor(a), b).numpy(), c + a * b, rtol=1e-12)


def test_addcdiv_of_two_integer_tensors_and_non_number_values_are_refused():
    c = mg.zeros(2)
    with pytest.raises(TypeError, match="addcdiv: integer division is not supported"):
        c.addcdiv(mg.tensor([1, 2]), mg.tensor([3, 4]))
    with pytest.raises(TypeError, match="addcmul: value must be a number, got None"):
        mg.addcmul(c, c, c, value=None)
    assert mg.addcdiv(c, mg.tensor([1, 2]), mg.tensor([2.0, 4.0])).tolist() == [0.5, 0.5]


# ---- logaddexp --------------------------------------------------------------------------------------

def test_logaddexp_matches_numpy_far_apart_at_infinities_and_nan():
    a = np.array([0.0, 1000.0, -1000.0, 3.0, np.inf, -np.inf, np.inf, -np.inf, np.nan, 1e308])
    b = np.array([0.0, 0.0, -999.0, -2.0, np.inf, -np.inf, -np.inf, 5.0, 1.0, 1e308])
    got = mg.logaddexp(mg.tensor(a), mg.tensor(b)).numpy()
    with np.errstate(invalid="ignore"):
        expected = np.logaddexp(a, b)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))


def test_logaddexp_gradient_is_the_sigmoid_of_the_difference():
    """dL/da = g / (1 + e^(b - a)) (PyTorch's derivatives.yaml), 1/2 at a tie, and b's is the rest;
    a broadcasts against b's rows."""
    a = np.array([0.5, -2.0, 40.0])
    b = np.array([[0.5, 1.0, -40.0], [3.0, -2.0, 40.0]])
    ta, tb = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    ta.logaddexp(tb).sum().backward()
    share = 1 / (1 + np.exp(b - a))
    np.testing.assert_allclose(ta.grad, share.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(tb.grad, 1 / (1 + np.exp(a - b)), rtol=1e-14)


def test_logaddexp_of_one_infinity_twice_has_a_finite_gradient_and_integers_are_refused():
    a = mg.tensor([np.inf, -np.inf], requires_grad=True)
    b = mg.tensor([np.inf, -np.inf], requires_grad=True)
    y = mg.logaddexp(a, b)
    assert y.tolist() == [np.inf, -np.inf]
    y.backward(np.ones(2))
    assert a.grad.tolist() == [0.5, 0.5] and b.grad.tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="logaddexp: expected floating-point tensors, got dtypes int64 and int64"):
        mg.logaddexp(mg.tensor([1, 2]), mg.tensor([3, 4]))
    with pytest.raises(ValueError, match=r"logaddexp: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        mg.logaddexp(a, mg.zeros(3))


# ---- count_nonzero, nansum --------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2), (0, 1, 2)])
def test_count_nonzero_matches_numpy(dim):
    a = RNG.integers(-1, 2, (3, 4, 2)).astype(np.float32)
    got = mg.count_nonzero(mg.tensor(a), dim)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), np.count_nonzero(a, axis=dim))
    np.testing.assert_array_equal(mg.tensor(a > 0).count_nonzero(dim).numpy(), np.count_nonzero(a > 0, axis=dim))
    with pytest.raises(ValueError, match=r"count_nonzero: axis 3 is not an axis"):
        mg.count_nonzero(mg.tensor(a), 3)


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_nansum_matches_numpy_and_passes_no_gradient_to_a_nan(dim, keepdim):
    a = RNG.standard_normal((3, 4))
    a[0, 1] = a[2, 3] = a[2, 0] = np.nan
    x = mg.tensor(a, requires_grad=True)
    y = x.nansum(dim, keepdim)
    np.testing.assert_allclose(y.numpy(), np.nansum(a, axis=dim, keepdims=keepdim), rtol=1e-12)
    y.sum().backward()
    assert x.grad.tolist() == np.where(np.isnan(a), 0.0, 1.0).tolist()


def test_nansum_of_integers_is_int64_dtype_converts_and_complex_is_refused():
    assert mg.nansum(mg.tensor([1, 2], dtype=mg.int32)).dtype == np.int64
    assert mg.tensor([1, 2]).nansum(dtype=mg.float32).dtype == np.float32
    assert mg.tensor([np.nan, 1.5], dtype=mg.float32).nansum().item() == 1.5
    with pytest.raises(TypeError, match="nansum: expected a real tensor, got dtype complex128"):
        mg.nansum(mg.tensor(np.array([1 + 1j])))
    with pytest.raises(ValueError, match="nansum: axis 2 is not an axis"):
        mg.ones(2, 2).nansum(2)


@pytest.mark.parametrize("dtype", [np.complex64, mg.int64, mg.bool])
def test_nansum_of_a_floating_tensor_given_a_dtype_that_is_not_floating_raises_as_pytorch(dtype):
    """aten/src/ATen/native/cpu/SumKernel.cpp: nansum_kernel_impl dispatches floating types only (after
    ReduceOps.cpp's nansum_out converts the input to dtype); an integer or bool input goes to sum, which takes
    any dtype."""
    a = np.array([1.5, np.nan, 2.0])
    with pytest.raises(TypeError, match=r"^nansum: dtype must be a floating-point dtype \(mg.float32, mg.float64\)"):
        mg.nansum(mg.tensor(a), dtype=dtype)
    with pytest.raises(TypeError, match=r"^nansum: dtype must be a floating-point dtype"):
        mg.tensor(a).nansum(0, dtype=dtype)
    y = mg.tensor(a, dtype=mg.float32).nansum(dtype=mg.float64)
    assert y.dtype == np.float64 and y.item() == 3.5
    z = mg.nansum(mg.tensor([1, 2, 4]), dtype=np.complex64)
    assert z.dtype == np.complex64 and z.item() == 7 + 0j


# ---- isclose ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("rtol, atol, equal_nan", [(1e-5, 1e-8, False), (1e-5, 1e-8, True), (0.1, 0.0, False),
                                                   (0.0, 0.5, True), (0.0, 0.0, False)])
def test_isclose_matches_numpy(rtol, atol, equal_nan):
    """numpy's isclose is PyTorch's formula: |a - b| <= atol + rtol |b|, or a == b (infinities), NaN == NaN
    with equal_nan; b broadcast against a's rows."""
    a = np.array([[1.0, 1.00001, np.inf, -np.inf, np.nan, 0.0], [2.0, 2.3, np.inf, 1.0, np.nan, 1e-9]])
    b = np.array([1.0, 1.0, np.inf, np.inf, np.nan, 0.4])
    got = mg.isclose(mg.tensor(a), mg.tensor(b), rtol, atol, equal_nan)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got.numpy(), np.isclose(a, b, rtol, atol, equal_nan))
    np.testing.assert_array_equal(mg.tensor(a).isclose(b, rtol=rtol, atol=atol, equal_nan=equal_nan).numpy(),
                                  np.isclose(a, b, rtol, atol, equal_nan))


def test_isclose_of_integers_and_its_errors():
    """Integers: the error in floats (no wrap-around of unsigned ones). Two dtypes, negative tolerances and
    shapes that do not broadcast are refused, naming isclose."""
    a, b = np.array([0, 10, 200], dtype=np.uint8), np.array([1, 10, 190], dtype=np.uint8)
    np.testing.assert_array_equal(mg.tensor(a).isclose(mg.tensor(b), atol=1).numpy(),
                                  np.isclose(a.astype(float), b.astype(float), atol=1))
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="isclose: expected two tensors of the same dtype, got float32 and float64"):
        x.isclose(mg.tensor([1.0, 2.0], dtype=mg.float64))
    with pytest.raises(ValueError, match="isclose: rtol must be a finite number >= 0, got -1"):
        x.isclose(x, rtol=-1)
    with pytest.raises(ValueError, match=r"isclose: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        mg.isclose(x, mg.zeros(3))


# ---- take_along_dim ---------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, index_shape, dim", [((3, 4), (3, 2), 1), ((3, 4), (1, 5), 1), ((1, 4), (3, 2), 1),
                                                       ((3, 4), (2, 4), 0), ((2, 3, 4), (2, 1, 4), -2),
                                                       ((2, 3, 1), (1, 3, 5), 0)])
def test_take_along_dim_matches_numpys_take_along_axis(x_shape, index_shape, dim):
    a = RNG.standard_normal(x_shape)
    indices = RNG.integers(0, x_shape[dim], index_shape)
    expected = np.take_along_axis(a, indices, axis=dim)
    np.testing.assert_array_equal(mg.take_along_dim(mg.tensor(a), mg.tensor(indices), dim).numpy(), expected)
    np.testing.assert_array_equal(mg.tensor(a).take_along_dim(indices, dim=dim).numpy(), expected)


def test_take_along_dim_without_dim_reads_the_flattened_tensor_and_sums_repeated_gradients():
    a = np.arange(6.0).reshape(2, 3)
    x = mg.tensor(a, requires_grad=True)
    y = x.take_along_dim(np.array([[5, 0], [5, 2]]))
    assert y.tolist() == [5.0, 0.0, 5.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]]


def test_take_along_dim_refuses_bad_indices_naming_take_along_dim():
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match="take_along_dim: indices from 0 to 3 are out of range for a dim of size 3"):
        x.take_along_dim(np.array([[0, 3]]), 1)
    with pytest.raises(ValueError, match=r"take_along_dim: expected indices with 2 axes .* got shape \(2,\)"):
        x.take_along_dim(np.array([0, 1]), 1)
    with pytest.raises(ValueError, match=r"take_along_dim: expected indices .* off dim 1, got shape \(3, 1\)"):
        mg.take_along_dim(x, np.zeros((3, 1), dtype=np.int64), 1)
    with pytest.raises(ValueError, match="take_along_dim: expected integer indices, got dtype float64"):
        x.take_along_dim(np.zeros((2, 1)), 1)
    assert x.tolist() == [[1.0] * 3] * 2


# ---- the names ----------------------------------------------------------------------------------------

def test_every_name_is_a_function_and_a_method_as_in_pytorch():
    for name in ["prod", "cumprod", "diff", "outer", "ger", "addmm", "addcmul", "addcdiv", "logaddexp",
                 "count_nonzero", "nansum", "isclose", "take_along_dim"]:
        assert callable(getattr(mg, name)) and callable(getattr(mg.Tensor, name)), name
    assert mg.ops.prod(mg.arange(1, 5)).item() == 24 and mg.ops.cumprod(mg.arange(1, 5), 0).tolist() == [1, 2, 6, 24]


# ---- maximum and minimum -----------------------------------------------------------------------------------

def test_maximum_and_minimum_are_elementwise_with_the_gradient_split_at_a_tie():
    """torch.maximum's derivative: g to the larger, g / 2 to each at a tie (PyTorch's max/min backward);
    NaN where either is NaN, as np.maximum (not np.fmax)."""
    a = mg.tensor([1.0, 5.0, 2.0, np.nan], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([3.0, 4.0, 2.0, 0.0], dtype=mg.float64, requires_grad=True)
    y = mg.maximum(a, b)
    np.testing.assert_array_equal(y.numpy(), [3.0, 5.0, 2.0, np.nan])
    y.backward(np.array([1.0, 10.0, 100.0, 0.0]))
    np.testing.assert_array_equal(a.grad, [0.0, 10.0, 50.0, 0.0])
    np.testing.assert_array_equal(b.grad, [1.0, 0.0, 50.0, 0.0])
    low = a.detach().minimum(mg.tensor([[0.0], [9.0]], dtype=mg.float64))      # broadcast (4,) with (2, 1)
    np.testing.assert_array_equal(low.numpy(), [[0.0, 0.0, 0.0, np.nan], [1.0, 5.0, 2.0, np.nan]])


# ---- clamp_ and clip_ ---------------------------------------------------------------------------------------

def test_clamp_in_place_under_no_grad_gives_a_parameter_a_new_clipped_array():
    """A WGAN critic's weight clipping, `for p in critic.parameters(): p.data.clamp_(-c, c)`, written on the tensor:
    min(max(p, -c), c) entrywise; the parameter stays a leaf, and an array recorded before keeps its values."""
    p = mg.nn.Parameter(mg.tensor([-2.0, 0.5, 3.0], dtype=mg.float64))
    before = p.data
    with mg.no_grad():
        assert p.clamp_(-1.0, 1.0) is p
        p.clip_(min=-0.75)
    np.testing.assert_array_equal(p.data, [-0.75, 0.5, 1.0])
    np.testing.assert_array_equal(before, [-2.0, 0.5, 3.0])
    assert p.requires_grad and p.is_leaf
    with pytest.raises(RuntimeError, match="clamp_: a leaf tensor that requires grad cannot be changed in place"):
        p.clamp_(0.0, 1.0)
    np.testing.assert_array_equal(p.data, [-0.75, 0.5, 1.0])


def test_clamp_in_place_while_recording_passes_the_gradient_where_the_value_was_kept():
    """x = a * 1; x.clamp_(lo, hi) is clamp(a): d/da = 1 strictly inside [lo, hi], 0 where clipped; on a part
    (x[0]) it writes into x, as on a PyTorch view."""
    a = mg.tensor([[-2.0, 0.5, 3.0], [0.2, -0.4, 9.0]], dtype=mg.float64, requires_grad=True)
    x = a * 1
    x.clamp_(-1.0, 1.0)
    x.sum().backward()
    np.testing.assert_array_equal(x.numpy(), [[-1.0, 0.5, 1.0], [0.2, -0.4, 1.0]])
    np.testing.assert_array_equal(a.grad, [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    a.grad = None
    y = a * 1
    y[0].clamp_(min=0.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [[0.0, 0.5, 3.0], [0.2, -0.4, 9.0]])
    np.testing.assert_array_equal(a.grad, [[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])


def test_lerp_in_place_is_an_ema_step_under_no_grad_and_records_while_recording():
    """PyTorch's multi-tensor EMA, `ema.lerp_(current, 1 - decay)`: ema + (1 - decay)(current - ema); while
    recording, d/d(ema) = decay and d/d(current) = 1 - decay (lerp's rule)."""
    ema, current = mg.tensor([1.0, -2.0], dtype=mg.float64), mg.tensor([3.0, 2.0], dtype=mg.float64)
    with mg.no_grad():
        assert ema.lerp_(current, 0.25) is ema
    np.testing.assert_allclose(ema.numpy(), [1.5, -1.0], rtol=1e-15)
    a = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([3.0, 2.0], dtype=mg.float64, requires_grad=True)
    x = a * 1
    x.lerp_(b, 0.25)
    x.sum().backward()
    np.testing.assert_allclose(a.grad, [0.75, 0.75], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [0.25, 0.25], rtol=1e-15)


def test_clamp_and_clip_refuse_neither_bound_as_pytorchs_clamp():
    """PyTorch: "torch.clamp: At least one of 'min' or 'max' must not be None" (torch.clip is its alias), before
    anything changes; here a ValueError naming the method."""
    t = mg.tensor([1.0, -2.0])
    for call, name in ((lambda: t.clamp(), "clamp"), (lambda: mg.clamp(t), "clamp"), (lambda: t.clamp_(), "clamp"),
                       (lambda: t.clip(), "clamp"), (lambda: t.clip(None, None), "clamp")):
        with pytest.raises(ValueError, match=rf"^{name}: at least one of"):
            call()
    np.testing.assert_array_equal(t.numpy(), [1.0, -2.0])
