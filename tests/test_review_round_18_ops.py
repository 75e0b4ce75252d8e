"""Review round 18: the tensor ops against PyTorch's names, values and gradients, each expected value
worked out by hand (numpy indexing written out, closed forms, central differences), never taken from
the library's own output.

Each test names one behaviour and says in its docstring what was wrong before.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F

F64 = np.float64


def central_difference(fn, x: np.ndarray, upstream: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d sum(upstream * fn(x)) / dx by central differences, entry by entry (float64)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (np.sum(upstream * fn(x + step)) - np.sum(upstream * fn(x - step))) / (2 * eps)
    return grad


def re_shape(shape: tuple) -> str:
    """A shape as a regular expression: (2, 3) matches "(2, 3)"."""
    return re.escape(str(tuple(shape)))


# ---- indexing: integers and arrays apart, read as PyTorch reads them --------------------------------

def test_an_integer_apart_from_an_array_selects_first_as_in_pytorch():
    """x[0, :, [1, 1, 3]] is x[0][:, [1, 1, 3]] in PyTorch: the slice's axis first. numpy reads the
    integer with the array and puts the array's axis first, so the result came out transposed."""
    data = np.arange(24.0).reshape(2, 3, 4)
    picked = mg.tensor(data)[0, :, [1, 1, 3]]
    expected = np.array([[data[0, i, j] for j in (1, 1, 3)] for i in range(3)])
    assert picked.shape == (3, 3)
    assert np.array_equal(picked.numpy(), expected)


def test_the_gradient_of_an_integer_apart_from_an_array_goes_where_it_was_read():
    """The gradient of x[1, :, [0, 2, 2]] adds each (i, j) entry of g into x[1, i, [0, 2, 2][j]] (the
    repeated column twice); it went to the transposed positions before."""
    x = mg.tensor(np.zeros((2, 3, 4)), requires_grad=True)
    upstream = np.arange(9.0).reshape(3, 3) + 1
    x[1, :, [0, 2, 2]].backward(upstream)
    expected = np.zeros((2, 3, 4))
    for i in range(3):
        for j, column in enumerate((0, 2, 2)):
            expected[1, i, column] += upstream[i, j]
    assert np.array_equal(x.grad, expected)


def test_the_tangent_of_an_integer_apart_from_an_array_is_indexed_alike():
    """Forward mode reads the tangent with the same index: J v = v[0, :, [3, 1]] in PyTorch's layout."""
    x, v = np.arange(24.0).reshape(2, 3, 4), np.arange(24.0).reshape(2, 3, 4) * 0.5 - 3
    _, tangent = mg.jvp(lambda t: t[0, :, [3, 1]], (mg.tensor(x),), (v,))
    expected = np.array([[v[0, i, j] for j in (3, 1)] for i in range(3)])
    assert np.array_equal(np.asarray(tangent), expected)


def test_writing_at_an_integer_apart_from_an_array_takes_pytorchs_layout():
    """y[0, :, [1, 2]] = value takes a value of PyTorch's shape (3, 2), row i going to y[0, i, [1, 2]];
    numpy's layout (2, 3) refused it before. The value's gradient is g at those positions."""
    y = mg.tensor(np.zeros((2, 3, 4)))
    value = mg.tensor(np.arange(6.0).reshape(3, 2) + 1, requires_grad=True)
    y[0, :, [1, 2]] = value
    expected = np.zeros((2, 3, 4))
    expected[0, :, 1], expected[0, :, 2] = value.numpy()[:, 0], value.numpy()[:, 1]
    assert np.array_equal(y.numpy(), expected)
    upstream = np.arange(24.0).reshape(2, 3, 4)
    y.backward(upstream)
    assert np.array_equal(value.grad, np.stack([upstream[0, :, 1], upstream[0, :, 2]], axis=1))


def test_integers_beside_an_array_keep_numpys_layout_which_is_pytorchs_too():
    """x[:, 0, [1, 2]] and x[[1, 0], 1, [0, 3]]: integer and array side by side, where numpy and PyTorch
    agree; unchanged."""
    data = np.arange(24.0).reshape(2, 3, 4)
    assert np.array_equal(mg.tensor(data)[:, 0, [1, 2]].numpy(), np.array([[1.0, 2.0], [13.0, 14.0]]))
    assert np.array_equal(mg.tensor(data)[[1, 0], 1, [0, 3]].numpy(), np.array([16.0, 7.0]))


# ---- reductions ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.bool_])
def test_a_sum_of_integers_or_bools_is_int64_as_in_pytorch(dtype):
    """torch.sum of any integer or bool tensor is int64; numpy's sum of uint8 was uint64 here."""
    values = np.array([[1, 0, 1], [1, 1, 0]], dtype=dtype)
    total = mg.tensor(values).sum()
    assert total.dtype == np.int64 and total.item() == 4
    assert mg.tensor(values).sum(dim=0).dtype == np.int64


@pytest.mark.parametrize("dim", [0, -1, (0,), [-1]])
def test_a_0d_tensor_reduces_over_dim_0_or_minus_1_as_in_pytorch(dim):
    """PyTorch's sum, mean and norm take dim 0 or -1 of a 0-d tensor (it reduces nothing);
    they raised ValueError here. d/dx is 1 for sum and mean, sign(x) for the norm."""
    for reduce, value, slope in ((lambda t: t.sum(dim), 3.0, 1.0), (lambda t: t.mean(dim=dim), 3.0, 1.0),
                                 (lambda t: t.norm(dim=dim), 3.0, -1.0)):
        x = mg.tensor(-3.0 if slope < 0 else 3.0, dtype=F64, requires_grad=True)
        y = reduce(x)
        assert y.shape == () and y.item() == value
        y.backward()
        assert x.grad == slope


def test_a_0d_tensor_still_has_no_dim_1():
    """Only 0 and -1 name the one axis PyTorch gives a 0-d tensor; dim 1 is still a ValueError naming sum."""
    with pytest.raises(ValueError, match="sum"):
        mg.tensor(3.0).sum(1)


# ---- clamp with tensor bounds -------------------------------------------------------------------------

def test_clamp_takes_tensor_bounds_as_pytorch():
    """torch.clamp(x, min=lo, max=hi) with tensors (broadcast); clip refused them with a TypeError.
    y = min(max(x, lo), hi); d/dx = 1 where lo <= x <= hi, d/dlo = 1 where x < lo, d/dhi = 1 where the
    result is hi."""
    x = mg.tensor([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.0]], dtype=F64, requires_grad=True)
    lo = mg.tensor([-1.0, 0.0, 0.0], dtype=F64, requires_grad=True)
    hi = mg.tensor([[2.0], [0.5]], dtype=F64, requires_grad=True)
    y = mg.clamp(x, min=lo, max=hi)
    assert np.array_equal(y.numpy(), np.array([[-1.0, 0.5, 2.0], [0.5, 0.0, 0.0]]))
    upstream = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y.backward(upstream)
    assert np.array_equal(x.grad, [[0.0, 2.0, 0.0], [0.0, 0.0, 6.0]])
    assert np.array_equal(lo.grad, [1.0, 5.0, 0.0])
    assert np.array_equal(hi.grad, [[3.0], [4.0]])


def test_clamp_with_one_tensor_bound_matches_central_differences():
    """x.clamp(max=hi) with a tensor hi only, away from the kinks: the gradients of x and hi against
    central differences."""
    rng = np.random.default_rng(0)
    x0, hi0 = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4,))
    upstream = rng.standard_normal((3, 4))
    x, hi = mg.tensor(x0, requires_grad=True), mg.tensor(hi0, requires_grad=True)
    x.clamp(max=hi).backward(upstream)
    assert np.allclose(x.grad, central_difference(lambda a: np.minimum(a, hi0), x0, upstream), atol=1e-8)
    assert np.allclose(hi.grad, central_difference(lambda b: np.minimum(x0, b), hi0, upstream), atol=1e-8)


# ---- mm and bmm: matrices only, batches of one size ----------------------------------------------------

@pytest.mark.parametrize("left, right", [((3,), (3, 4)), ((2, 3), (3,)), ((2, 2, 3), (3, 4)), ((), (3, 4))])
def test_mm_takes_two_matrices_only_as_pytorchs(left, right):
    """torch.mm refuses anything but two 2-d operands; mm ran as matmul here (a vector, a batch
    broadcast). ValueError, the library's shape error, names mm and both shapes."""
    a, b = mg.tensor(np.ones(left)), mg.tensor(np.ones(right))
    for call in (lambda: mg.mm(a, b), lambda: a.mm(b), lambda: a.mm(np.ones(right))):
        with pytest.raises(ValueError, match=rf"mm: expected two 2-d tensors.*{re_shape(left)}.*{re_shape(right)}"):
            call()


def test_mm_of_matrices_is_their_product_with_its_gradients():
    """(2, 3) by (3, 2): y_ik = sum_j a_ij b_jk;   dL/da = g b^T,   dL/db = a^T g, written out by hand."""
    a0, b0 = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2) - 2
    a, b = mg.tensor(a0, requires_grad=True), mg.tensor(b0, requires_grad=True)
    y = a.mm(b)
    expected = [[sum(a0[i, j] * b0[j, k] for j in range(3)) for k in range(2)] for i in range(2)]
    assert np.array_equal(y.numpy(), expected)
    upstream = np.array([[1.0, -1.0], [2.0, 0.5]])
    y.backward(upstream)
    a_grad = [[sum(upstream[i, k] * b0[j, k] for k in range(2)) for j in range(3)] for i in range(2)]
    b_grad = [[sum(a0[i, j] * upstream[i, k] for i in range(2)) for k in range(2)] for j in range(3)]
    assert np.array_equal(a.grad, a_grad) and np.array_equal(b.grad, b_grad)


@pytest.mark.parametrize("left, right", [((2, 3, 4), (1, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                                         ((1, 2, 3, 4), (1, 2, 4, 5)), ((2, 3, 4), (2, 5, 5))])
def test_bmm_takes_two_batches_of_one_size_as_pytorchs(left, right):
    """torch.bmm takes (b, n, m) and (b, m, p) only: no broadcast batch, no 2-d or 4-d operand; bmm ran
    as matmul here and broadcast (2, 3, 4) with (1, 4, 5). ValueError names bmm and both shapes."""
    a, b = mg.tensor(np.ones(left)), mg.tensor(np.ones(right))
    for call in (lambda: mg.bmm(a, b), lambda: a.bmm(b)):
        with pytest.raises(ValueError, match=rf"bmm: expected .*{re_shape(left)}.*{re_shape(right)}"):
            call()


def test_bmm_of_batches_of_one_size_is_one_product_per_batch():
    """(2, 2, 3) by (2, 3, 1): y[n] = a[n] b[n], entry by entry by hand."""
    a0, b0 = np.arange(12.0).reshape(2, 2, 3), np.arange(6.0).reshape(2, 3, 1)
    y = mg.bmm(mg.tensor(a0), mg.tensor(b0))
    expected = [[[sum(a0[n, i, j] * b0[n, j, 0] for j in range(3))] for i in range(2)] for n in range(2)]
    assert y.shape == (2, 2, 1) and np.array_equal(y.numpy(), expected)


# ---- a 0-d tensor has dim 0 (and -1) --------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("which", ["max", "min"])
def test_max_and_min_of_a_0d_tensor_along_dim_0_give_it_at_index_0(dim, keepdim, which):
    """PyTorch's x.max(dim=0) of a 0-d x is (x, 0), shape () even with keepdim; d/dx = 1. It raised
    IndexError here (mg.max(x, 0) and x.min(dim=-1) too)."""
    x = mg.tensor(-2.5, dtype=F64, requires_grad=True)
    for pair in (getattr(x, which)(dim=dim, keepdim=keepdim), getattr(mg, which)(x, dim, keepdim)):
        values, indices = pair
        assert values.shape == () and values.item() == -2.5
        assert indices.shape == () and indices.dtype == np.int64 and indices.item() == 0
    x.grad = None
    getattr(x, which)(dim=dim).values.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("dim", [0, -1])
def test_argmax_argmin_all_and_any_of_a_0d_tensor_take_dim_0(dim):
    """argmax and argmin along dim 0 of a 0-d tensor are 0 (int64, shape ()); all and any along it are
    the entry's truth, 0.0 false and 2.5 true (a tuple of dims too). Each raised IndexError here."""
    for value in (0.0, 2.5):
        x = mg.tensor(value)
        for position in (x.argmax(dim), x.argmin(dim=dim, keepdim=True), mg.argmax(x, dim)):
            assert position.shape == () and position.dtype == np.int64 and position.item() == 0
        for truth in (x.all(dim), x.any(dim=dim, keepdim=True), x.all((dim,)), x.any([dim])):
            assert truth.shape == () and truth.dtype == np.bool_ and truth.item() == (value != 0)


@pytest.mark.parametrize("dim", [0, -1, None])
def test_softmax_and_log_softmax_of_a_0d_tensor_are_1_and_0(dim):
    """Over its one entry softmax is e^x / e^x = 1 and log_softmax 0, so both have a zero gradient and
    tangent (PyTorch's values); t.softmax(), t.log_softmax(dim) and F.log_softmax raised here. An
    infinite entry gives NaN (inf - inf), as PyTorch's."""
    x0 = 1.5
    for fn, value in ((lambda t: t.softmax(-1 if dim is None else dim), 1.0),
                      (lambda t: t.log_softmax(-1 if dim is None else dim), 0.0),
                      (lambda t: F.log_softmax(t) if dim is None else F.log_softmax(t, dim), 0.0)):
        x = mg.tensor(x0, dtype=F64, requires_grad=True)
        y = fn(x)
        assert y.shape == () and y.item() == value
        y.backward()
        assert x.grad == 0.0
        _, tangent = mg.jvp(fn, (mg.tensor(x0, dtype=F64),), (np.array(1.0),))
        assert np.asarray(tangent).shape == () and float(tangent) == 0.0
        with np.errstate(invalid="ignore"):
            assert np.isnan(fn(mg.tensor(np.inf)).item())


@pytest.mark.parametrize("dim", [0, -1, (0,)])
def test_squeeze_of_a_0d_tensor_at_dim_0_is_the_tensor(dim):
    """PyTorch's x.squeeze(0) (or -1) of a 0-d x is x; it raised IndexError here."""
    x = mg.tensor(4.0, dtype=F64, requires_grad=True)
    y = x.squeeze(dim)
    assert y.shape == () and y.item() == 4.0
    y.backward()
    assert x.grad == 1.0


def test_a_0d_tensor_has_no_dim_1_for_these_either():
    """Only 0 and -1: dim 1 of a 0-d tensor still raises, naming the function (IndexError where it did,
    ValueError for log_softmax, whose axis errors are ValueErrors)."""
    x = mg.tensor(1.0)
    for name, call in (("max", lambda: x.max(dim=1)), ("min", lambda: x.min(dim=1)), ("argmax", lambda: x.argmax(1)),
                       ("all", lambda: x.all(1)), ("any", lambda: x.any((1,))), ("softmax", lambda: x.softmax(1)),
                       ("squeeze", lambda: x.squeeze(1))):
        with pytest.raises(IndexError, match=name):
            call()
    with pytest.raises(ValueError, match=r"log_softmax: axis 1 is not an axis of shape \(\)"):
        x.log_softmax(1)


# ---- division rounded toward zero -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trunc_division_is_the_quotient_rounded_toward_zero_as_pytorchs(dtype):
    """torch.div(a, b, rounding_mode="trunc") is trunc(a / b) of the rounded quotient: inf / 2 is inf
    (NaN here before), 1 / 0.1 rounds to 10.0 before truncating (9 here before, the floor of the exact
    quotient), 5 / 0 is inf, 0 / 0 NaN. The expected values are numpy's trunc of numpy's quotient."""
    a = np.array([np.inf, -np.inf, np.inf, 1.0, -1.0, 7.0, -7.0, 5.0, 0.0, 2.5], dtype=dtype)
    b = np.array([2.0, 2.0, -2.0, 0.1, 0.1, 2.0, 2.0, 0.0, 0.0, -0.5], dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.trunc(a / b)
    assert np.array_equal(expected[:8], np.array([np.inf, -np.inf, -np.inf, 10, -10, 3, -3, np.inf], dtype=dtype))
    x, y = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):      # (numpy's floor of inf and x / 0 inside)
        quotient = mg.div(x, y, rounding_mode="trunc")
    assert quotient.dtype == dtype
    assert np.array_equal(quotient.numpy(), expected, equal_nan=True)
    quotient.backward(np.ones(len(a), dtype=dtype))
    assert np.array_equal(x.grad, np.zeros(len(a))) and np.array_equal(y.grad, np.zeros(len(a)))


def test_trunc_division_of_integers_is_cs_division():
    """Integers divide exactly, rounding toward zero: 7 / 2 = 3, -7 / 2 = -3, 7 / -2 = -3, -6 / 3 = -2."""
    quotient = mg.tensor([7, -7, 7, -6, 0]).div(mg.tensor([2, 2, -2, 3, 5]), rounding_mode="trunc")
    assert quotient.dtype == np.int64 and quotient.tolist() == [3, -3, -3, -2, 0]


# ---- integers: division by zero, negative powers ---------------------------------------------------------

@pytest.mark.parametrize("name, call", [
    ("floor_divide", lambda t: t // 0), ("floor_divide", lambda t: t.floor_divide(mg.tensor([1, 0]))),
    ("floor_divide", lambda t: 5 // t.sub(7)), ("remainder", lambda t: t % 0),
    ("remainder", lambda t: mg.remainder(t, mg.tensor([0, 3]))),
    ("div", lambda t: mg.div(t, 0, rounding_mode="floor")),
    ("div", lambda t: t.div(mg.tensor([0, 1]), rounding_mode="trunc")),
])
def test_integer_division_by_zero_raises_as_pytorchs(name, call):
    """PyTorch raises "ZeroDivisionError" for an integer // or % by zero; numpy gave 0 here with a
    warning. Python's ZeroDivisionError, naming the function."""
    with pytest.raises(ZeroDivisionError, match=name):
        call(mg.tensor([7, -7]))


def test_float_division_by_zero_stays_ieee():
    """Floats are unchanged: 7.0 // 0 = inf, -7.0 // 0 = -inf, 7.0 % 0 = NaN (numpy's and PyTorch's)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        floored, remainder = mg.tensor([7.0, -7.0]) // 0, mg.tensor([7.0]) % 0
    assert floored.tolist() == [np.inf, -np.inf] and np.isnan(remainder.item())


def test_integers_to_negative_tensor_powers_round_toward_zero_as_pytorchs():
    """An integer to a negative integer power is 1 / a^|b| rounded toward zero, as PyTorch's: 0 unless
    a is 1 or -1 (then 1 or (-1)^b), and 0 for a = 0. numpy raised here. 2 ** t of t = [-3 .. 2] is
    [0, 0, 0, 1, 2, 4]."""
    exponents = mg.tensor([-3, -2, -1, 0, 1, 2])
    assert (2 ** exponents).tolist() == [0, 0, 0, 1, 2, 4] and (2 ** exponents).dtype == np.int64
    bases, powers = [1, -1, -1, 0, 3, -2, 2], [-5, -2, -3, -1, -1, -1, 3]
    expected = [1, 1, -1, 0, 0, 0, 8]
    assert (mg.tensor(bases) ** mg.tensor(powers)).tolist() == expected
    assert mg.tensor(bases).pow(mg.tensor(-1)).tolist() == [1, -1, -1, 0, 0, 0, 0]
    assert (mg.tensor([2, -1], dtype=np.int32) ** mg.tensor([-1, -1], dtype=np.int32)).dtype == np.int32


def test_an_integer_tensor_to_a_negative_python_number_still_raises():
    """t ** -1 with a Python number: ValueError as PyTorch's RuntimeError (and numpy's): a likely slip."""
    with pytest.raises(ValueError, match="pow: Integers to negative integer powers are not allowed"):
        mg.tensor([1, 2]) ** -1


@pytest.mark.parametrize("call", [lambda m: 1 - m, lambda m: m - 1, lambda m: m - 1.5, lambda m: m - m,
                                  lambda m: mg.tensor([2.0, 3.0]) - m, lambda m: mg.sub(m, 1), lambda m: m.sub(1)])
def test_subtracting_with_a_bool_tensor_raises_as_pytorchs(call):
    """PyTorch refuses `-` with a bool tensor on either side (invert a mask with ~ or logical_not); 1 - mask
    gave integers here. TypeError naming sub and bool."""
    with pytest.raises(TypeError, match=r"sub: .*bool"):
        call(mg.tensor([True, False]))


def test_functional_softmax_of_a_0d_tensor_is_one_with_gradient_zero():
    """F.softmax over a 0-d tensor's dim 0 (or -1, the default) is 1, as PyTorch's (t.softmax already
    was); it raised 'axis -1 is not an axis of shape ()'."""
    for dim in (0, -1):
        x = mg.tensor(2.5, dtype=F64, requires_grad=True)
        y = F.softmax(x, dim=dim)
        assert y.shape == () and y.item() == 1.0
        y.backward()
        assert x.grad == 0.0


@pytest.mark.parametrize("data, dtype", [
    ([np.float64(1.5), np.float64(2.0)], np.float64),      # numpy float64 scalars keep their dtype
    ([np.float64(1.5), 2.0], np.float64),                  # promoted with a Python float's default
    ([np.float32(1.5), 2.0], np.float32),
    ([[1, 2.5], [np.int64(3), 4]], np.float32),            # Python floats: the default
    ([1.5, 2.0], np.float32),
], ids=["float64 scalars", "float64 and a float", "float32 and a float", "ints and floats", "floats"])
def test_a_list_of_numpy_float_scalars_keeps_their_dtype_as_pytorchs(data, dtype):
    """torch.tensor([np.float64(a), np.float64(b)]) is float64 (only Python floats take the default
    dtype); it was float32 here (PyTorchStepByStep's logits, tests/test_pytorch_porting_17.py)."""
    made = mg.tensor(data)
    assert made.dtype == dtype
    np.testing.assert_array_equal(made.data, np.array(data, dtype=dtype))


def test_view_as_and_reshape_as_take_the_other_tensors_shape():
    """t.view_as(u) and t.reshape_as(u), as PyTorch's (KD_Lib: pred.eq(label.view_as(pred))); they were
    missing. A size that differs raises as view does."""
    label, pred = mg.tensor([0, 2, 1]), mg.tensor([[0], [2], [2]])
    assert label.view_as(pred).tolist() == [[0], [2], [1]] and label.reshape_as(pred).shape == (3, 1)
    with pytest.raises(ValueError, match="reshape"):
        label.view_as(mg.zeros(2, 2))


def test_integers_apart_without_an_array_still_take_a_part_that_writes_through():
    """x[t0, :, 1] with a 0-d integer tensor t0 is basic indexing, as PyTorch's: a part of x, so a write
    into it lands in x (u[i][j] = v). Reading integers apart from arrays first (above) took this index
    for one with arrays, and the write was lost."""
    x = mg.tensor(np.arange(24.0).reshape(2, 3, 4))
    part = x[mg.tensor(0), :, 1]
    assert part.tolist() == [1.0, 5.0, 9.0]
    part[0] = 100.0
    assert x[0, 0, 1].item() == 100.0 and x.sum().item() == np.arange(24.0).sum() - 1.0 + 100.0


def test_floor_division_and_remainder_of_infinities_are_quiet_as_pytorchs():
    """inf // 2 and inf % 2 are NaN, 1.0 // 0 is inf, and div(inf, 2, rounding_mode="trunc") is inf, as
    PyTorch gives them, without numpy's 'invalid value encountered' warnings (an error under -W error)."""
    x = mg.tensor([np.inf, -np.inf, 1.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        floor, rest, trunc = x // 2, x % 2, mg.div(x, 2, rounding_mode="trunc")
        by_zero = mg.tensor([1.0, -1.0]) // 0
    np.testing.assert_array_equal(floor.data, [np.nan, np.nan, 0.0, np.nan])
    np.testing.assert_array_equal(rest.data, [np.nan, np.nan, 1.0, np.nan])
    np.testing.assert_array_equal(trunc.data, [np.inf, -np.inf, 0.0, np.nan])
    np.testing.assert_array_equal(by_zero.data, [np.inf, -np.inf])


def test_negating_a_bool_tensor_raises_naming_neg():
    """PyTorch refuses -mask; numpy's own message here named neither the op nor a way out."""
    with pytest.raises(TypeError, match=r"^neg: negation, the - operator, of a bool tensor is not supported.*~mask"):
        -mg.tensor([True, False])
