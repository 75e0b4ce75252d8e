"""PyTorch's tensor functions of ops/more_elementwise.py (frexp, ldexp, nextafter, gcd, lcm), ops/combining.py
(diagflat, narrow_copy), ops/scattering.py (take, put, index_put, masked_scatter, select_scatter,
slice_scatter, diagonal_scatter), ops/reduce.py (nanmean), ops/covariance.py (cov, corrcoef) and
ops/integration.py (trapezoid, cumulative_trapezoid).

Values against numpy's own functions (np.frexp, np.ldexp, np.nextafter, np.gcd, np.lcm, np.trapezoid,
np.diagflat, np.take, np.add.at, np.cov, np.corrcoef, np.nanmean) or hand-written numpy copies of PyTorch's
documented formula; gradients against central differences and tangents against directional differences,
in float64, with broadcasting; errors name the function, what was expected and what came, and a refused
in-place call changes nothing.
"""

import numpy as np
import pytest
from test_forward_mode import as_tensors, directional_difference
from test_op_gradients import assert_gradients_match

import microgradseq as mg

RNG = np.random.default_rng(404)


def rand(*shape):
    return RNG.standard_normal(shape)


def check_both_modes(mg_fn, np_fn, *arrays):
    """The value and every operand's gradient (central differences), and the tangent along a random
    direction on all operands at once (directional difference)."""
    assert_gradients_match(mg_fn, np_fn, *arrays)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    directions = [rand(*a.shape) for a in arrays]
    _, tangent = mg.jvp(mg_fn, as_tensors(arrays), directions)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, directions), rtol=1e-6, atol=1e-7)


def assert_unchanged_on_error(t, call, error, match):
    """A refused in-place call raises `error` and leaves t's values as they were."""
    before = t.numpy().copy()
    with pytest.raises(error, match=match):
        call(t)
    np.testing.assert_array_equal(t.numpy(), before)


# ---- floating-point pieces and integer divisors ----------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_frexp_is_numpys_named_pair_with_an_int32_exponent(dtype):
    a = np.array([0.0, 1.0, 3.0, -5.5, 0.1, 1e30, -0.0, np.inf, -np.inf, np.nan], dtype=dtype)
    out = mg.frexp(mg.tensor(a))
    mantissa, exponent = np.frexp(a)
    np.testing.assert_array_equal(out.mantissa.numpy(), mantissa)
    np.testing.assert_array_equal(out.exponent.numpy(), exponent)
    assert out.mantissa.dtype == dtype and out.exponent.dtype == np.int32
    assert np.all(np.abs(mantissa[np.isfinite(a)]) < 1)
    m, e = mg.tensor(a).frexp()
    np.testing.assert_array_equal(m.numpy(), mantissa)


def test_frexp_of_a_subnormal_gives_numpys_mantissa():
    """2^-exponent of a subnormal (2^1074 at most) passes float64's range: taken in two factors."""
    a = np.array([5e-324, 1e-310])
    np.testing.assert_array_equal(mg.frexp(a).mantissa.numpy(), np.frexp(a)[0])


def test_frexp_mantissa_gradient_is_two_to_the_minus_exponent():
    """d mantissa/dx = 2^-exponent (PyTorch's derivative); the exponent has no gradient."""
    a = np.array([0.3, -3.0, 100.0, 0.75])
    x = mg.tensor(a, requires_grad=True)
    out = mg.frexp(x)
    assert out.exponent.grad_fn is None
    (out.mantissa * mg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, np.array([1.0, 2.0, 3.0, 4.0]) * 2.0 ** -np.frexp(a)[1])


def test_frexp_of_integers_is_refused():
    with pytest.raises(TypeError, match="frexp: expected a floating-point tensor .*got dtype int64"):
        mg.frexp(mg.tensor([1, 2]))


def test_ldexp_is_numpys_and_keeps_the_inputs_float_dtype():
    a, e = rand(2, 3), np.array([-2, 0, 5])
    np.testing.assert_array_equal(mg.ldexp(mg.tensor(a), mg.tensor(e)).numpy(), np.ldexp(a, e))
    assert mg.ldexp(mg.tensor(a, dtype=mg.float32), mg.tensor(e)).dtype == np.float32
    assert mg.ldexp(mg.tensor([1, 2]), mg.tensor([3, 1])).tolist() == [8.0, 4.0]


def test_ldexp_gradient_to_both_broadcast_operands():
    """input 2^other: d/dinput = 2^other, d/dother = ln 2 input 2^other (other a float tensor)."""
    check_both_modes(mg.ldexp, lambda a, b: a * 2.0 ** b, rand(2, 3), rand(3))
    check_both_modes(lambda a, b: a.ldexp(b), lambda a, b: a * 2.0 ** b, rand(3, 1), rand(1, 4))


def test_ldexp_in_place():
    t = mg.tensor([1.0, 3.0])
    assert t.ldexp_(mg.tensor([2, -1])) is t and t.tolist() == [4.0, 1.5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nextafter_is_numpys_and_a_constant(dtype):
    a, b = np.array([1.0, 1.0, 0.0, -2.0], dtype), np.array([2.0, 0.0, -1.0, -2.0], dtype)
    x = mg.tensor(a, requires_grad=True)
    out = mg.nextafter(x, mg.tensor(b))
    np.testing.assert_array_equal(out.numpy(), np.nextafter(a, b))
    assert out.dtype == dtype and out.grad_fn is None
    np.testing.assert_array_equal(mg.tensor(a).nextafter(mg.tensor(b[:1])).numpy(), np.nextafter(a, b[:1]))


def test_nextafter_of_integers_is_refused():
    with pytest.raises(TypeError, match="nextafter: expected floating-point tensors .*int64"):
        mg.nextafter(mg.tensor([1]), mg.tensor([2]))


def test_gcd_and_lcm_are_numpys_broadcast():
    a, b = np.array([[12, -18, 0, 7]]), np.array([[8], [0], [-6]])
    np.testing.assert_array_equal(mg.gcd(mg.tensor(a), mg.tensor(b)).numpy(), np.gcd(a, b))
    np.testing.assert_array_equal(mg.lcm(mg.tensor(a), mg.tensor(b)).numpy(), np.lcm(a, b))
    np.testing.assert_array_equal(mg.tensor(a).gcd(b).numpy(), np.gcd(a, b))
    assert mg.tensor([4, 6], dtype=mg.int32).lcm(mg.tensor([6, 4], dtype=mg.int32)).dtype == np.int32


def test_gcd_and_lcm_in_place_and_refusing_floats():
    t = mg.tensor([12, 9])
    assert t.gcd_(mg.tensor([8, 6])) is t and t.tolist() == [4, 3]
    assert t.lcm_(mg.tensor([6, 2])).tolist() == [12, 6]
    for name in ("gcd", "lcm"):
        with pytest.raises(TypeError, match=f"{name}: expected integer tensors .*float32 and int64"):
            getattr(mg, name)(mg.tensor([1.0]), mg.tensor([2]))
    assert_unchanged_on_error(t, lambda u: u.gcd_(mg.tensor([1.5])), TypeError, "gcd: expected integer")


# ---- trapezoidal rule ---------------------------------------------------------------------------

def np_cumulative_trapezoid(y, x=None, dx=1.0, axis=-1):
    """Hand-written: the running sum of (x_{i+1} - x_i)(y_i + y_{i+1}) / 2 along axis."""
    y = np.moveaxis(y, axis, -1)
    spacing = dx if x is None else np.diff(np.moveaxis(np.asarray(x), axis, -1) if np.ndim(x) > 1 else x)
    return np.moveaxis(np.cumsum(spacing * (y[..., 1:] + y[..., :-1]) / 2, axis=-1), -1, axis)


@pytest.mark.parametrize("shape, dim", [((5,), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1)])
def test_trapezoid_is_numpys_with_unit_spacing_dx_and_x(shape, dim):
    y = rand(*shape)
    np.testing.assert_allclose(mg.trapezoid(y, dim=dim).numpy(), np.trapezoid(y, axis=dim), rtol=1e-12)
    np.testing.assert_allclose(mg.trapezoid(y, dx=0.3, dim=dim).numpy(), np.trapezoid(y, dx=0.3, axis=dim),
                               rtol=1e-12)
    x = np.sort(rand(shape[dim]))
    np.testing.assert_allclose(mg.trapezoid(y, mg.tensor(x), dim=dim).numpy(), np.trapezoid(y, x, axis=dim),
                               rtol=1e-12)
    xs = rand(*shape)
    np.testing.assert_allclose(mg.trapezoid(y, xs, dim=dim).numpy(), np.trapezoid(y, xs, axis=dim), rtol=1e-12)


def test_trapezoid_broadcasts_the_differences_of_x_and_y():
    """An x of fewer axes gets leading ones; its differences broadcast with y's (numpy's rule)."""
    y, x = rand(2, 3, 4), rand(3, 4)
    np.testing.assert_allclose(mg.trapezoid(y, x).numpy(), np.trapezoid(y, x), rtol=1e-12)
    y, x = rand(2, 1, 4), rand(3, 4)
    expected = (np.diff(x[None]) * (y[..., 1:] + y[..., :-1])).sum(-1) / 2
    np.testing.assert_allclose(mg.trapezoid(y, x).numpy(), expected, rtol=1e-12)


def test_trapezoid_of_integers_and_of_no_samples():
    assert mg.trapezoid(mg.tensor([1, 5, 10])).item() == 10.5
    assert mg.trapezoid(mg.tensor([1, 5, 10])).dtype == mg.get_default_dtype()
    empty = mg.trapezoid(mg.zeros(3, 0))
    assert empty.shape == (3,) and empty.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("shape, dim", [((5,), -1), ((3, 4), 0), ((2, 3, 4), 1)])
def test_cumulative_trapezoid_is_the_running_trapezoid(shape, dim):
    y = rand(*shape)
    np.testing.assert_allclose(mg.cumulative_trapezoid(y, dim=dim).numpy(), np_cumulative_trapezoid(y, axis=dim),
                               rtol=1e-12)
    np.testing.assert_allclose(mg.cumulative_trapezoid(y, dx=2.5, dim=dim).numpy(),
                               np_cumulative_trapezoid(y, dx=2.5, axis=dim), rtol=1e-12)
    x = np.sort(rand(shape[dim]))
    np.testing.assert_allclose(mg.cumulative_trapezoid(y, x, dim=dim).numpy(),
                               np_cumulative_trapezoid(y, x, axis=dim), rtol=1e-12)
    assert mg.cumulative_trapezoid(mg.tensor([1, 5, 10])).tolist() == [3.0, 10.5]


def test_trapezoid_gradients_to_y_and_x():
    check_both_modes(lambda y: mg.trapezoid(y, dx=0.5, dim=0), lambda y: np.trapezoid(y, dx=0.5, axis=0), rand(4, 3))
    check_both_modes(lambda y, x: mg.trapezoid(y, x), lambda y, x: np.trapezoid(y, x), rand(2, 3, 4), rand(3, 4))
    check_both_modes(lambda y, x: mg.trapezoid(y, x, dim=1), lambda y, x: np.trapezoid(y, x, axis=1),
                     rand(2, 5), rand(5))
    check_both_modes(lambda y, x: mg.cumulative_trapezoid(y, x, dim=0),
                     lambda y, x: np_cumulative_trapezoid(y, x, axis=0), rand(4, 2), rand(4))
    check_both_modes(lambda y: mg.cumulative_trapezoid(y, dx=1.5), lambda y: np_cumulative_trapezoid(y, dx=1.5),
                     rand(3, 4))


def test_trapezoid_errors_name_the_function():
    with pytest.raises(ValueError, match=r"trapezoid: expected one x per sample point \(4 along dim -1 .*got 3"):
        mg.trapezoid(rand(2, 4), rand(3))
    with pytest.raises(TypeError, match="cumulative_trapezoid: expected x or dx, not both"):
        mg.cumulative_trapezoid(rand(4), rand(4), dx=1.0)
    with pytest.raises(TypeError, match="trapezoid: expected a real .*got dtype bool"):
        mg.trapezoid(mg.tensor([True, False]))
    with pytest.raises(TypeError, match="trapezoid: dx must be a real number, got True"):
        mg.trapezoid(rand(3), dx=True)
    with pytest.raises(IndexError, match="trapezoid: dim 2 is out of range"):
        mg.trapezoid(rand(3, 2), dim=2)


# ---- diagonals and slices --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, offset", [((3,), 0), ((2, 2), 1), ((2, 3), -2), ((4,), 3)])
def test_diagflat_is_numpys_and_its_gradient_the_diagonal(shape, offset):
    a = rand(*shape)
    np.testing.assert_array_equal(mg.diagflat(a, offset).numpy(), np.diagflat(a, offset))
    np.testing.assert_array_equal(mg.tensor(a).diagflat(offset).numpy(), np.diagflat(a, offset))
    check_both_modes(lambda t: mg.diagflat(t, offset), lambda b: np.diagflat(b, offset), a)
    with pytest.raises(TypeError, match="diagflat: offset must be an integer, got 0.5"):
        mg.diagflat(a, 0.5)


def test_narrow_copy_is_the_slice():
    a = rand(3, 5)
    np.testing.assert_array_equal(mg.narrow_copy(a, 1, -3, 2).numpy(), a[:, 2:4])
    check_both_modes(lambda t: t.narrow_copy(0, 1, 2), lambda b: b[1:3], a)
    with pytest.raises(IndexError, match="narrow_copy: start 4 and length 2 do not fit an axis of size 5"):
        mg.narrow_copy(a, 1, 4, 2)



def test_narrow_copy_is_an_array_of_its_own():
    """torch.narrow_copy copies: a write into the result leaves the input alone (narrow's would not),
    and the result holds none of the input's memory."""
    a = np.arange(12.0).reshape(3, 4)
    x = mg.tensor(a)
    y = mg.narrow_copy(x, 1, 1, 2)
    y[0, 0] = 50.0
    np.testing.assert_array_equal(x.numpy(), a)
    np.testing.assert_array_equal(y.numpy(), np.array([[50.0, 2.0], [5.0, 6.0], [9.0, 10.0]]))
    assert not np.shares_memory(y.numpy(), x.numpy())
    view = x.narrow(1, 1, 2)
    view[0, 0] = 50.0
    assert x.numpy()[0, 1] == 50.0

def np_select_scatter(a, src, dim, index):
    out = a.copy()
    out[(slice(None),) * (dim % a.ndim) + (index,)] = src
    return out


def np_slice_scatter(a, src, dim, start, end, step):
    out = a.copy()
    out[(slice(None),) * (dim % a.ndim) + (slice(start, end, step),)] = src
    return out


def np_diagonal_scatter(a, src, offset, dim1, dim2):
    """Hand-written: out.diagonal(offset, dim1, dim2) = src, through a writable view."""
    out = a.copy()
    view = np.diagonal(out, offset, dim1, dim2)
    view.setflags(write=True)
    view[...] = src
    return out


@pytest.mark.parametrize("shape, dim, index", [((3,), 0, 1), ((3, 4), 1, -1), ((2, 3, 4), 0, 1), ((2, 3, 4), -2, 2)])
def test_select_scatter_writes_a_slice_and_sends_each_its_part_of_the_gradient(shape, dim, index):
    a = rand(*shape)
    src = rand(*(n for k, n in enumerate(shape) if k != dim % len(shape)))
    np.testing.assert_array_equal(mg.select_scatter(a, src, dim, index).numpy(), np_select_scatter(a, src, dim, index))
    check_both_modes(lambda t, s: mg.select_scatter(t, s, dim, index),
                     lambda b, s: np_select_scatter(b, s, dim, index), a, src)


@pytest.mark.parametrize("shape, dim, start, end, step", [((6,), 0, 1, 5, 2), ((3, 5), 1, None, None, 1),
                                                           ((2, 5, 3), 1, -4, None, 3), ((4, 3), 0, 2, 10, 1)])
def test_slice_scatter_writes_a_slice_and_sends_each_its_part_of_the_gradient(shape, dim, start, end, step):
    a = rand(*shape)
    src = rand(*a[(slice(None),) * dim + (slice(start, end, step),)].shape)
    np.testing.assert_array_equal(mg.slice_scatter(a, src, dim, start, end, step).numpy(),
                                  np_slice_scatter(a, src, dim, start, end, step))
    check_both_modes(lambda t, s: t.slice_scatter(s, dim, start, end, step),
                     lambda b, s: np_slice_scatter(b, s, dim, start, end, step), a, src)


@pytest.mark.parametrize("shape, offset, dim1, dim2", [((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1), ((4, 3), -1, 1, 0),
                                                        ((2, 3, 4), 0, -1, 0), ((2, 3, 3), 2, 1, 2)])
def test_diagonal_scatter_writes_the_diagonal_and_sends_each_its_part_of_the_gradient(shape, offset, dim1, dim2):
    a = rand(*shape)
    src = rand(*np.diagonal(a, offset, dim1, dim2).shape)
    np.testing.assert_array_equal(mg.diagonal_scatter(a, src, offset, dim1, dim2).numpy(),
                                  np_diagonal_scatter(a, src, offset, dim1, dim2))
    check_both_modes(lambda t, s: mg.diagonal_scatter(t, s, offset, dim1, dim2),
                     lambda b, s: np_diagonal_scatter(b, s, offset, dim1, dim2), a, src)


def test_scatter_into_a_part_errors_name_the_function():
    a = mg.zeros(3, 4)
    with pytest.raises(ValueError, match=r"select_scatter: expected src of shape \(3,\) .*got shape \(4,\)"):
        mg.select_scatter(a, mg.zeros(4), 1, 0)
    with pytest.raises(IndexError, match=r"select_scatter: index 5 is out of range for dim 1 of shape \(3, 4\)"):
        mg.select_scatter(a, mg.zeros(3), 1, 5)
    with pytest.raises(ValueError, match=r"slice_scatter: expected src of shape \(3, 2\) .*got shape \(3, 3\)"):
        mg.slice_scatter(a, mg.zeros(3, 3), 1, 0, 2)
    with pytest.raises(ValueError, match="slice_scatter: .*a positive integer step, got .*step=0"):
        mg.slice_scatter(a, mg.zeros(3, 3), 1, 0, 2, 0)
    with pytest.raises(ValueError, match=r"diagonal_scatter: expected src of shape \(3,\) .*got shape \(4,\)"):
        mg.diagonal_scatter(a, mg.zeros(4))
    with pytest.raises(ValueError, match=r"diagonal_scatter: expected a tensor with at least 2 axes, got shape \(3,\)"):
        mg.diagonal_scatter(mg.zeros(3), mg.zeros(3))


# ---- flat positions: take and put -------------------------------------------------------------------

def test_take_is_numpys_with_negative_indices_in_the_index_shape():
    a = rand(3, 4)
    index = np.array([[0, -1], [5, 11], [-12, 3]])
    np.testing.assert_array_equal(mg.take(a, mg.tensor(index)).numpy(), np.take(a, index))
    np.testing.assert_array_equal(mg.tensor(a).take(index).numpy(), np.take(a, index))
    check_both_modes(lambda t: t.take(np.array([1, 1, 7, 0, -1])), lambda b: np.take(b, [1, 1, 7, 0, -1]), a)


def test_take_refuses_an_index_out_of_range_or_not_integers():
    with pytest.raises(IndexError, match=r"take: index 12 is out of range for a tensor of 12 entries \(expected -12 "):
        mg.take(mg.zeros(3, 4), mg.tensor([0, 12]))
    with pytest.raises(TypeError, match="take: expected an integer index .*got dtype float64"):
        mg.take(mg.zeros(3), np.array([0.0]))


def np_put(a, index, source, accumulate):
    out = a.copy().reshape(-1)
    if accumulate:
        np.add.at(out, np.asarray(index).reshape(-1), np.asarray(source).reshape(-1))
    else:
        out[np.asarray(index).reshape(-1)] = np.asarray(source).reshape(-1)
    return out.reshape(a.shape)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_writes_or_adds_at_flat_positions(accumulate):
    a, index = rand(3, 4), np.array([[1, -1], [4, 6]])
    source = rand(4)
    np.testing.assert_array_equal(mg.put(a, mg.tensor(index), source, accumulate).numpy(),
                                  np_put(a, index, source, accumulate))
    check_both_modes(lambda t, s: t.put(index, s, accumulate=accumulate),
                     lambda b, s: np_put(b, index, s, accumulate), a, source)


def test_put_with_accumulate_adds_a_repeated_position_twice():
    a, index, source = rand(5), np.array([2, 2, 0, 2]), rand(2, 2)
    np.testing.assert_allclose(mg.put(a, index, source, accumulate=True).numpy(), np_put(a, index, source, True),
                               rtol=1e-14)
    check_both_modes(lambda t, s: mg.put(t, index, s, accumulate=True), lambda b, s: np_put(b, index, s, True),
                     a, source)


def test_put_in_place_and_its_errors_change_nothing():
    t = mg.tensor([1.0, 2.0, 3.0])
    assert t.put_(mg.tensor([0, 2]), mg.tensor([5.0, 6.0])) is t and t.tolist() == [5.0, 2.0, 6.0]
    assert t.put_(mg.tensor([0, 0]), mg.tensor([1.0, 1.0]), accumulate=True).tolist() == [7.0, 2.0, 6.0]
    assert_unchanged_on_error(t, lambda u: u.put_(mg.tensor([0, 1]), mg.tensor([1.0])), ValueError,
                              r"put: expected a source with as many entries as index \(2\), got 1")
    assert_unchanged_on_error(t, lambda u: u.put_(mg.tensor([3]), mg.tensor([1.0])), IndexError,
                              "put: index 3 is out of range for a tensor of 3 entries")
    assert_unchanged_on_error(t, lambda u: u.put_(mg.tensor([0]), mg.tensor([1])), TypeError,
                              "put: expected the source in the tensor's dtype float32, got int64")


# ---- index_put and masked_scatter ---------------------------------------------------------------------

def np_index_put(a, indices, values, accumulate):
    out = a.copy()
    if accumulate:
        np.add.at(out, indices, np.broadcast_to(values, out[indices].shape))
    else:
        out[indices] = values
    return out


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_with_a_tuple_of_index_tensors(accumulate):
    a = rand(3, 4)
    rows, columns = np.array([0, 2, 1]), np.array([3, 0, 0])
    values = rand(3)
    out = a.copy()
    got = mg.tensor(a).index_put((mg.tensor(rows), mg.tensor(columns)), mg.tensor(values), accumulate)
    np.testing.assert_allclose(got.numpy(), np_index_put(out, (rows, columns), values, accumulate), rtol=1e-14)
    check_both_modes(lambda t, v: mg.index_put(t, (rows, columns), v, accumulate=accumulate),
                     lambda b, v: np_index_put(b, (rows, columns), v, accumulate), a, values)


def test_index_put_of_leading_axes_broadcasts_values_and_accumulates_repeats():
    """Indices for the first axis only: whole rows, values broadcast to them; a row named twice adds twice."""
    a, rows, values = rand(3, 4), np.array([1, 1, 0]), rand(4)
    np.testing.assert_allclose(mg.index_put(a, (mg.tensor(rows),), mg.tensor(values), True).numpy(),
                               np_index_put(a, (rows,), values, True), rtol=1e-14)
    check_both_modes(lambda t, v: t.index_put((rows,), v, accumulate=True),
                     lambda b, v: np_index_put(b, (rows,), v, True), a, values)


def test_index_put_with_a_bool_mask_and_in_place():
    a = rand(2, 3)
    mask = a > 0
    t = mg.tensor(a)
    assert t.index_put_((mg.tensor(mask),), mg.tensor(0.0, dtype=mg.float64)) is t
    np.testing.assert_array_equal(t.numpy(), np.where(mask, 0.0, a))
    t.index_put_((mg.tensor([0, 0]), mg.tensor([1, 1])), mg.tensor([1.0, 2.0], dtype=mg.float64), accumulate=True)
    assert t.numpy()[0, 1] == np.where(mask, 0.0, a)[0, 1] + 3.0


def test_index_put_errors_name_the_function_and_change_nothing():
    t = mg.zeros(2, 3)
    assert_unchanged_on_error(t, lambda u: u.index_put_(mg.tensor([0]), mg.tensor([1.0])), TypeError,
                              "index_put: expected a tuple of index tensors, got Tensor")
    assert_unchanged_on_error(t, lambda u: u.index_put_((mg.tensor([0]),), mg.tensor([1.0], dtype=mg.float64)),
                              TypeError, "index_put: expected values in the tensor's dtype float32, got float64")
    assert_unchanged_on_error(t, lambda u: u.index_put_((mg.tensor([2]),), mg.tensor([1.0]), accumulate=True),
                              IndexError, r"index_put: .*tensor of shape \(2, 3\)")
    assert_unchanged_on_error(t, lambda u: u.index_put_((mg.tensor([0]),), mg.ones(2), accumulate=True),
                              ValueError, r"index_put: .*values of shape \(2,\)")
    assert_unchanged_on_error(t, lambda u: u.index_put_((np.array([0.5]),), mg.ones(3)), TypeError,
                              "index_put: expected integer or bool index tensors, got dtypes")


def np_masked_scatter(a, mask, source):
    out = np.array(np.broadcast_to(a, np.broadcast_shapes(a.shape, mask.shape)))
    full = np.broadcast_to(mask, out.shape)
    out[full] = source.reshape(-1)[:full.sum()]
    return out


@pytest.mark.parametrize("shape, mask_shape", [((3, 4), (3, 4)), ((3, 4), (4,)), ((1, 4), (2, 1)), ((5,), ())])
def test_masked_scatter_writes_sources_first_entries_in_order(shape, mask_shape):
    a, source = rand(*shape), rand(3, 4)
    mask = RNG.random(mask_shape) > 0.4
    np.testing.assert_array_equal(mg.masked_scatter(a, mg.tensor(mask), source).numpy(),
                                  np_masked_scatter(a, mask, source))
    check_both_modes(lambda t, s: t.masked_scatter(mask, s), lambda b, s: np_masked_scatter(b, mask, s), a, source)


def test_masked_scatter_in_place_and_its_errors_change_nothing():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.masked_scatter_(mg.tensor([True, False]), mg.tensor([7.0, 8.0, 9.0])) is t
    assert t.tolist() == [[7.0, 2.0], [8.0, 4.0]]
    assert_unchanged_on_error(t, lambda u: u.masked_scatter_(mg.tensor([[True, True], [True, False]]),
                                                             mg.tensor([1.0, 2.0])),
                              ValueError, r"masked_scatter: expected a source of at least 3 entries .*got 2")
    assert_unchanged_on_error(t, lambda u: u.masked_scatter_(mg.tensor([1, 0]), mg.ones(4)), TypeError,
                              "masked_scatter: expected a bool mask, got dtype int64")
    assert_unchanged_on_error(t, lambda u: u.masked_scatter_(mg.tensor([True, False, True]), mg.ones(4)), ValueError,
                              r"masked_scatter: mask of shape \(3,\) does not broadcast with the tensor's shape "
                              r"\(2, 2\)")
    assert_unchanged_on_error(t, lambda u: u.masked_scatter_(mg.tensor([True, True]), mg.ones(4, dtype=mg.float64)),
                              TypeError, "masked_scatter: expected the source in the tensor's dtype float32")
    assert_unchanged_on_error(t, lambda u: u.masked_scatter_(mg.tensor([[[True]]]), mg.ones(4)), ValueError,
                              r"masked_scatter_: the result has shape \(1, 2, 2\)")


# ---- nanmean ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_nanmean_is_numpys_and_its_gradient_one_over_the_count(dim, keepdim):
    """Each slice keeps an entry that is not NaN (its first along every axis), so every mean is finite
    whatever the random mask (the lines [:, 0, 0], [0, :, 0], [0, 0, :] alone left a slice along axis 0 all
    NaN for some draws)."""
    a = rand(2, 3, 4)
    nan = RNG.random(a.shape) < 0.6
    nan[0, :, :] = nan[:, 0, :] = nan[:, :, 0] = False
    np_fn = (lambda b: np.nanmean(np.where(nan, np.nan, b), axis=dim, keepdims=keepdim))
    np.testing.assert_allclose(mg.nanmean(np.where(nan, np.nan, a), dim, keepdim).numpy(), np_fn(a), rtol=1e-12)
    check_both_modes(lambda t: mg.where(nan, np.nan, t).nanmean(dim, keepdim), np_fn, a)


def test_nanmean_of_all_nan_is_nan_and_of_integers_refused():
    out = mg.nanmean(mg.tensor([[np.nan, np.nan], [1.0, np.nan]]), dim=1)
    assert np.isnan(out.numpy()[0]) and out.numpy()[1] == 1.0
    assert mg.tensor([1.0, np.nan], dtype=mg.float32).nanmean(dtype=mg.float64).dtype == np.float64
    with pytest.raises(TypeError, match="nanmean: expected a floating-point tensor .*got dtype int64"):
        mg.nanmean(mg.tensor([1, 2]))


# ---- cov and corrcoef ----------------------------------------------------------------------------

@pytest.mark.parametrize("correction", [0, 1, 2])
def test_cov_is_numpys_with_correction_fweights_and_aweights(correction):
    a = rand(3, 6)
    f, w = np.array([1, 2, 0, 3, 1, 1]), RNG.random(6) + 0.1
    np.testing.assert_allclose(mg.cov(a, correction=correction).numpy(), np.cov(a, ddof=correction), rtol=1e-12)
    np.testing.assert_allclose(mg.cov(a, correction=correction, fweights=f).numpy(),
                               np.cov(a, ddof=correction, fweights=f), rtol=1e-12)
    np.testing.assert_allclose(mg.cov(a, correction=correction, aweights=w).numpy(),
                               np.cov(a, ddof=correction, aweights=w), rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(a).cov(correction=correction, fweights=mg.tensor(f), aweights=mg.tensor(w))
                               .numpy(), np.cov(a, ddof=correction, fweights=f, aweights=w), rtol=1e-12)


def test_cov_of_one_variable_is_its_variance_and_integers_give_floats():
    v = rand(5)
    assert mg.cov(v).shape == () and np.isclose(mg.cov(v).item(), np.var(v, ddof=1), rtol=1e-12)
    out = mg.cov(mg.tensor([[1, 2, 4], [0, 1, 1]]))
    assert out.dtype == mg.get_default_dtype()
    np.testing.assert_allclose(out.numpy(), np.cov([[1, 2, 4], [0, 1, 1]]), rtol=1e-6)


def test_cov_gradients_to_the_input_and_the_aweights():
    f = np.array([2, 1, 3, 1])
    check_both_modes(lambda t: mg.cov(t), np.cov, rand(3, 4))
    check_both_modes(lambda t: mg.cov(t, correction=0, fweights=f), lambda b: np.cov(b, ddof=0, fweights=f),
                     rand(2, 4))
    check_both_modes(lambda t, w: mg.cov(t, fweights=f, aweights=w), lambda b, w: np.cov(b, fweights=f, aweights=w),
                     rand(2, 4), RNG.random(4) + 0.5)


def test_cov_with_no_degrees_of_freedom_warns_as_pytorch():
    with pytest.warns(UserWarning, match="cov: the degrees of freedom are <= 0"):
        out = mg.cov(mg.tensor([[1.0, 2.0]]), correction=2)
    assert np.isinf(out.item())


def test_cov_errors_name_the_argument_what_was_expected_and_what_came():
    a = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"cov: expected a tensor with at most 2 axes .*got shape \(1, 2, 3\)"):
        mg.cov(mg.zeros(1, 2, 3))
    with pytest.raises(TypeError, match="cov: expected a real tensor .*got dtype bool"):
        mg.cov(mg.tensor([True, False]))
    with pytest.raises(ValueError, match=r"cov: expected fweights of an integer dtype .*\(3\), got dtype float64"):
        mg.cov(a, fweights=np.ones(3))
    with pytest.raises(ValueError, match=r"cov: expected aweights of a floating-point dtype .*got dtype float64 "
                                         r"and shape \(2,\)"):
        mg.cov(a, aweights=np.ones(2))
    with pytest.raises(ValueError, match="cov: fweights cannot be negative, got a minimum of -1"):
        mg.cov(a, fweights=np.array([1, -1, 2]))
    with pytest.raises(ValueError, match="cov: the weights sum to zero"):
        mg.cov(a, aweights=np.zeros(3))


def test_corrcoef_is_numpys_and_its_gradient_the_chain_rules():
    a = rand(3, 7)
    np.testing.assert_allclose(mg.corrcoef(a).numpy(), np.corrcoef(a), rtol=1e-12)
    np.testing.assert_allclose(mg.tensor(a).corrcoef().numpy(), np.corrcoef(a), rtol=1e-12)
    off_diagonal = 1 - np.eye(3)            # (the diagonal is clipped at 1 exactly: no gradient there, as PyTorch's)
    check_both_modes(lambda t: mg.corrcoef(t) * mg.tensor(off_diagonal), lambda b: np.corrcoef(b) * off_diagonal, a)
    assert mg.corrcoef(rand(4)).item() == 1.0 and np.isnan(mg.corrcoef(np.ones(4)).item())
    with pytest.raises(ValueError, match=r"corrcoef: expected a tensor with at most 2 axes .*\(1, 2, 3\)"):
        mg.corrcoef(mg.zeros(1, 2, 3))
