"""Review round 18: the tensor ops against PyTorch's names, values and gradients, each expected value
worked out by hand (numpy indexing written out, closed forms, central differences), never taken from
the library's own output.

Each test names one behaviour and says in its docstring what was wrong before.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradseq as mg

F64 = np.float64


def central_difference(fn, x: np.ndarray, upstream: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d sum(upstream * fn(x)) / dx by central differences, entry by entry (float64)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (np.sum(upstream * fn(x + step)) - np.sum(upstream * fn(x - step))) / (2 * eps)
    return grad


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
