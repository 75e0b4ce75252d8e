"""addcmul and addcdiv compute in one dtype for all three tensors, as PyTorch's kernels: the three tensors'
result type (0-d tensors count only for a higher category), and float for a float16 result. add's and sub's
alpha must fit the result's dtype, as PyTorch's CPU kernel's `alpha.to<scalar_t>()` (c10's checked
conversion)."""

import numpy as np
import pytest

import microgradseq as mg


def central_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name, numpy_op", [("addcmul", np.multiply), ("addcdiv", np.divide)])
def test_float32_tensors_next_to_a_float64_self_compute_in_float64_with_their_gradients(name, numpy_op):
    rng = np.random.default_rng(3)
    s, a, b = rng.normal(size=(2, 3)), rng.normal(size=(3,)).astype(np.float32), rng.uniform(1, 2, (2, 1)).astype(np.float32)
    base = mg.tensor(s, requires_grad=True)
    first, second = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    out = getattr(base, name)(first, second, value=0.5)
    assert out.dtype == np.float64
    want = s + 0.5 * numpy_op(a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-15)
    c = rng.normal(size=(2, 3))
    (out * mg.tensor(c)).sum().backward()
    assert first.grad.dtype == np.float32 and second.grad.dtype == np.float32 and base.grad.dtype == np.float64
    loss = lambda x, y: float((c * (s + 0.5 * numpy_op(x, y))).sum())
    np.testing.assert_allclose(base.grad, c, rtol=1e-15)
    np.testing.assert_allclose(first.grad, central_difference(lambda x: loss(x, b.astype(np.float64)), a), rtol=1e-5)
    np.testing.assert_allclose(second.grad, central_difference(lambda y: loss(a.astype(np.float64), y), b), rtol=1e-5)


def test_a_0d_float64_tensor_does_not_promote_dimensioned_float32_tensors():
    s = mg.tensor(np.ones(2, np.float32))
    out = s.addcmul(mg.tensor(np.float64(2.0)), mg.tensor(np.full(2, 3.0, np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [7.0, 7.0])


def test_an_integer_self_with_float_tensors_is_float_and_integers_stay_integers():
    ints = mg.tensor(np.array([1, 2]))
    out = ints.addcmul(mg.tensor(np.array([0.5, 0.5], np.float32)), mg.tensor(np.array([3.0, 3.0], np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [2.5, 3.5])
    same = ints.addcmul(mg.tensor(np.array([2, 3], np.int32)), mg.tensor(np.array([4, 5])), value=2)
    assert same.dtype == np.int64
    np.testing.assert_array_equal(same.numpy(), [17, 32])


def test_a_float16_result_keeps_float16_and_its_gradient_dtype():
    half = [mg.tensor(np.full(2, x, np.float16), requires_grad=True) for x in (0.0, 1e-3, 1e-2)]
    out = half[0].addcmul(half[1], half[2], value=1e5)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.numpy().astype(np.float64), [1.0, 1.0], rtol=2e-2)
    out.sum().backward()
    assert all(t.grad.dtype == np.float16 for t in half)
    np.testing.assert_allclose(half[1].grad.astype(np.float64), [1e3, 1e3], rtol=2e-3)     # value * t2


@pytest.mark.parametrize("name", ["add", "sub"])
def test_an_alpha_a_float32_result_cannot_hold_is_refused_naming_the_function(name):
    x = mg.tensor(np.ones(2, np.float32))
    with pytest.raises(ValueError, match=rf"{name}: the value 1e\+39 cannot be converted to dtype float32 without overflow"):
        getattr(x, name)(x, alpha=1e39)
    with pytest.raises(ValueError, match=rf"{name}: the value -1e\+39 cannot be converted"):
        getattr(x, name)(x, alpha=-1e39)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("name, sign", [("add", 1.0), ("sub", -1.0)])
def test_alphas_a_result_can_hold_pass_and_scale(name, sign):
    x = mg.tensor(np.ones(2, np.float32))
    np.testing.assert_array_equal(getattr(x, name)(x, alpha=3e38).numpy(), np.float32(1 + sign * 3e38))
    np.testing.assert_array_equal(getattr(x, name)(x, alpha=float("inf")).numpy(), [sign * np.inf] * 2)
    wide = mg.tensor(np.ones(2))                               # a float64 result holds 1e39
    np.testing.assert_array_equal(getattr(x, name)(wide, alpha=1e39).numpy(), [1 + sign * 1e39] * 2)
    half = mg.tensor(np.ones(2, np.float16))                   # the CPU kernel's alpha.to<at::Half>()
    np.testing.assert_array_equal(getattr(half, name)(half, alpha=6e4).numpy(), np.float16(1 + sign * 6e4))
    with pytest.raises(ValueError, match=rf"{name}: the value 100000.0 cannot be converted to dtype float16"):
        getattr(half, name)(half, alpha=1e5)


# ---- PyTorch's aliases: multiply, subtract, divide; greater, greater_equal, less, less_equal, not_equal ------

def test_the_aliases_are_their_ops_as_functions_methods_and_in_place():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 0.5])
    x, y = mg.tensor(a, requires_grad=True), mg.tensor(b)
    np.testing.assert_array_equal(mg.multiply(x, y).numpy(), a * b)
    np.testing.assert_array_equal(x.subtract(y, alpha=2).numpy(), a - 2 * b)
    np.testing.assert_array_equal(mg.subtract(1, x).numpy(), 1 - a)
    np.testing.assert_array_equal(mg.divide(x, y, rounding_mode="floor").numpy(), np.floor(a / b))
    for alias, numpy_op in [("greater", np.greater), ("greater_equal", np.greater_equal), ("less", np.less),
                            ("less_equal", np.less_equal), ("not_equal", np.not_equal)]:
        np.testing.assert_array_equal(getattr(mg, alias)(x, y).numpy(), numpy_op(a, b))
        np.testing.assert_array_equal(getattr(x, alias)(2.0).numpy(), numpy_op(a, 2.0))
    (mg.multiply(x, y).sum() + x.divide(y).sum()).backward()         # d/dx (x y + x / y) = y + 1 / y
    np.testing.assert_allclose(x.grad, b + 1 / b, rtol=1e-15)
    z = mg.tensor(np.array([1.0, 2.0]))
    z.multiply_(3).subtract_(1).divide_(2)
    np.testing.assert_array_equal(z.numpy(), (np.array([1.0, 2.0]) * 3 - 1) / 2)
    w = mg.tensor(np.array([1.0, 2.0]))
    w.greater_(1.5)
    np.testing.assert_array_equal(w.numpy(), [0.0, 1.0])
