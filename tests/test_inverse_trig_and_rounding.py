"""PyTorch's tan, inverse circular and hyperbolic functions (asin, acos, atan, asinh, acosh, atanh and their
arc- aliases), deg2rad, rad2deg, reciprocal, floor, ceil, the aliases absolute, neg, negative and positive,
and bitwise_and, bitwise_or, bitwise_xor, bitwise_not (ops/trigonometry.py, ops/more_elementwise.py,
ops/logical.py).

The references are independent of the library: numpy's functions of the same names (tan, arcsin, ...,
deg2rad, floor, reciprocal, bitwise_and, ...) and closed forms at the ends of the domains (asin(1) = pi/2,
acosh(1) = 0, atanh(1) = inf, the slopes 1 / sqrt(1 - x^2), ... there); gradients and tangents against
central differences of numpy's functions in float64, inside the domains.
"""

import warnings

import numpy as np
import pytest
from test_more_elementwise_functions import check_both_modes, gradients, uniform

import microgradseq as mg

SHAPES = [(), (4,), (2, 3), (2, 1, 3)]


def away_from_integers(shape):
    """Entries in [-3, 3] at least 0.1 from an integer, where floor and ceil jump."""
    return np.round(uniform(shape, -3, 3)) + uniform(shape, 0.1, 0.9)


# name: (mg function, numpy function, inputs inside its domain and off its poles and jumps)
UNARY = {
    "tan": (mg.tan, np.tan, lambda s: uniform(s, -1.3, 1.3)),
    "asin": (mg.asin, np.arcsin, lambda s: uniform(s, -0.95, 0.95)),
    "arcsin (method)": (lambda t: t.arcsin(), np.arcsin, lambda s: uniform(s, -0.95, 0.95)),
    "acos": (mg.acos, np.arccos, lambda s: uniform(s, -0.95, 0.95)),
    "arccos (method)": (lambda t: t.arccos(), np.arccos, lambda s: uniform(s, -0.95, 0.95)),
    "atan": (mg.atan, np.arctan, lambda s: uniform(s, -4, 4)),
    "arctan": (mg.arctan, np.arctan, lambda s: uniform(s, -4, 4)),
    "asinh": (mg.asinh, np.arcsinh, lambda s: uniform(s, -4, 4)),
    "arcsinh (method)": (lambda t: t.arcsinh(), np.arcsinh, lambda s: uniform(s, -4, 4)),
    "acosh": (mg.acosh, np.arccosh, lambda s: uniform(s, 1.1, 4)),
    "arccosh": (mg.arccosh, np.arccosh, lambda s: uniform(s, 1.1, 4)),
    "atanh": (mg.atanh, np.arctanh, lambda s: uniform(s, -0.95, 0.95)),
    "arctanh (method)": (lambda t: t.arctanh(), np.arctanh, lambda s: uniform(s, -0.95, 0.95)),
    "deg2rad": (mg.deg2rad, np.deg2rad, lambda s: uniform(s, -360, 360)),
    "rad2deg (method)": (lambda t: t.rad2deg(), np.rad2deg, lambda s: uniform(s, -4, 4)),
    "reciprocal": (mg.reciprocal, np.reciprocal, lambda s: uniform(s, 0.3, 2) * np.where(uniform(s) < 0, -1, 1)),
    "floor": (mg.floor, np.floor, away_from_integers),
    "ceil (method)": (lambda t: t.ceil(), np.ceil, away_from_integers),
    "absolute": (mg.absolute, np.abs, lambda s: uniform(s, 0.2, 2) * np.where(uniform(s) < 0, -1, 1)),
    "neg": (mg.neg, np.negative, uniform),
    "negative": (mg.negative, np.negative, uniform),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gradient_and_tangent_match_central_differences(name, shape):
    mg_fn, np_fn, draw = UNARY[name]
    check_both_modes(mg_fn, np_fn, draw(shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_match_numpy_in_each_dtype(dtype):
    x = uniform((3, 4), -0.9, 0.9).astype(dtype)
    for mg_fn, np_fn in [(mg.tan, np.tan), (mg.asin, np.arcsin), (mg.acos, np.arccos), (mg.atan, np.arctan),
                         (mg.asinh, np.arcsinh), (mg.atanh, np.arctanh), (mg.deg2rad, np.deg2rad),
                         (mg.rad2deg, np.rad2deg), (mg.reciprocal, np.reciprocal), (mg.floor, np.floor),
                         (mg.ceil, np.ceil)]:
        out = mg_fn(mg.tensor(x))
        assert out.dtype == dtype, mg_fn.__name__
        np.testing.assert_allclose(out.numpy(), np_fn(x), rtol=1e-6 if dtype == np.float32 else 1e-15,
                                   err_msg=mg_fn.__name__)
    ones_and_more = (1 + uniform((5,), 0.0, 3)).astype(dtype)
    np.testing.assert_allclose(mg.acosh(mg.tensor(ones_and_more)).numpy(), np.arccosh(ones_and_more),
                               rtol=1e-6 if dtype == np.float32 else 1e-15)


def test_the_ends_of_the_domains_give_numpys_values_quietly():
    """asin(+-1) = +-pi/2, acos(-1) = pi, acosh(1) = 0, atanh(+-1) = +-inf, 1 / +-0 = +-inf; outside the
    domain NaN; no warning (PyTorch is silent)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edges = mg.tensor([-1.0, 1.0, 1.5], dtype=mg.float64)
        np.testing.assert_array_equal(mg.asin(edges).numpy(), [-np.pi / 2, np.pi / 2, np.nan])
        np.testing.assert_array_equal(mg.acos(edges).numpy(), [np.pi, 0.0, np.nan])
        np.testing.assert_array_equal(mg.atanh(edges).numpy(), [-np.inf, np.inf, np.nan])
        np.testing.assert_array_equal(mg.acosh(np.array([1.0, 0.5, np.inf])).numpy(), [0.0, np.nan, np.inf])
        np.testing.assert_array_equal(mg.reciprocal(np.array([0.0, -0.0, np.inf])).numpy(), [np.inf, -np.inf, 0.0])
        np.testing.assert_array_equal(mg.atan(np.array([-np.inf, np.inf])).numpy(), [-np.pi / 2, np.pi / 2])


def slopes(fn, values):
    """fn's slope at each value: the gradient of fn(x) with a cotangent of ones (not of a sum, which would
    add inf to -inf)."""
    x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    fn(x).backward(mg.ones_like(x))
    return x.grad


def test_slopes_at_the_ends_of_the_domains_are_pytorchs_formulas():
    """1 / sqrt(1 - x^2) at x = +-1 and 1 / sqrt(x^2 - 1) at x = 1 are inf, 1 / (1 - x^2) at +-1 inf
    (PyTorch's derivatives.yaml, evaluated there); quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d_asin, d_acos = slopes(mg.asin, [1.0, -1.0, 0.0]), slopes(mg.acos, [1.0, 0.0])
        d_acosh, d_atanh = slopes(mg.acosh, [1.0]), slopes(mg.atanh, [1.0, -1.0])
    np.testing.assert_array_equal(d_asin, [np.inf, np.inf, 1.0])
    np.testing.assert_array_equal(d_acos, [-np.inf, -1.0])
    np.testing.assert_array_equal(d_acosh, [np.inf])
    np.testing.assert_array_equal(d_atanh, [np.inf, np.inf])


def test_closed_forms_of_the_slopes():
    """tan'(pi/4) = 2, atan'(1) = 1/2, asinh'(0) = 1, reciprocal'(2) = -1/4, deg2rad' = pi / 180,
    floor' = ceil' = 0 (PyTorch's zeros_like)."""
    for fn, x, slope in [(mg.tan, np.pi / 4, 2.0), (mg.atan, 1.0, 0.5), (mg.asinh, 0.0, 1.0),
                         (mg.reciprocal, 2.0, -0.25), (mg.deg2rad, 30.0, np.pi / 180), (mg.rad2deg, 1.0, 180 / np.pi),
                         (mg.floor, 1.5, 0.0), (mg.ceil, -1.5, 0.0), (mg.asin, 0.6, 1.25), (mg.acosh, 1.25, 1 / 0.75)]:
        (grad,) = gradients(fn, [x])
        np.testing.assert_allclose(grad, [slope], rtol=1e-14, err_msg=fn.__name__)


def test_floor_and_ceil_round_down_and_up_and_keep_integers():
    x = np.array([-1.5, -0.5, -0.0, 0.5, 1.0, 2.7])
    np.testing.assert_array_equal(mg.floor(mg.tensor(x)).numpy(), [-2.0, -1.0, -0.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(mg.ceil(mg.tensor(x)).numpy(), [-1.0, -0.0, -0.0, 1.0, 1.0, 3.0])
    assert np.signbit(mg.ceil(mg.tensor(x)).numpy()[1])
    ints = mg.tensor([-3, 0, 7], dtype=mg.int32)
    for fn in (mg.floor, mg.ceil, mg.Tensor.floor, mg.Tensor.ceil):
        out = fn(ints)
        assert out.dtype == np.int32 and out.tolist() == [-3, 0, 7] and out is not ints


def test_integer_and_bool_inputs_give_the_default_float_dtype():
    """As PyTorch's: the float functions (and deg2rad, rad2deg, which PyTorch promotes itself) of integers
    and bools are in the default float dtype; float16 stays float16."""
    ints, bools = mg.tensor([0, 1]), mg.tensor([False, True])
    for fn, np_fn in [(mg.tan, np.tan), (mg.asin, np.arcsin), (mg.acos, np.arccos), (mg.atan, np.arctan),
                      (mg.asinh, np.arcsinh), (mg.atanh, np.arctanh), (mg.deg2rad, np.deg2rad),
                      (mg.rad2deg, np.rad2deg), (mg.reciprocal, np.reciprocal)]:
        for source in (ints, bools):
            out = fn(source)
            assert out.dtype == mg.get_default_dtype(), fn.__name__
            with np.errstate(divide="ignore"):
                expected = np_fn(np.array([0.0, 1.0], dtype=mg.get_default_dtype()))
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, err_msg=fn.__name__)
    assert mg.acosh(mg.tensor([1, 2])).dtype == mg.get_default_dtype()
    half = mg.tensor([0.5], dtype=mg.float16)
    assert {fn(half).dtype for fn in (mg.tan, mg.asin, mg.deg2rad, mg.reciprocal, mg.floor)} == {np.dtype(np.float16)}


def test_aliases_are_the_same_functions():
    assert mg.arcsin is mg.asin and mg.arccos is mg.acos and mg.arctan is mg.atan
    assert mg.arcsinh is mg.asinh and mg.arccosh is mg.acosh and mg.arctanh is mg.atanh
    assert mg.Tensor.arcsin is mg.Tensor.asin and mg.Tensor.arctanh is mg.Tensor.atanh
    assert mg.Tensor.absolute is mg.Tensor.abs and mg.Tensor.negative is mg.Tensor.neg
    x = np.array([-1.5, 0.0, 2.0])
    np.testing.assert_array_equal(mg.absolute(x).numpy(), np.abs(x))
    np.testing.assert_array_equal(mg.neg(x).numpy(), -x)
    np.testing.assert_array_equal(mg.negative(mg.tensor(x)).numpy(), -x)


def test_positive_returns_its_input_and_refuses_bools():
    """torch.positive returns its input itself (`+t` too); a bool tensor is refused, as PyTorch's."""
    t = mg.tensor([1.0, -2.0], requires_grad=True)
    assert mg.positive(t) is t and t.positive() is t and +t is t
    ints = mg.tensor([3, -1])
    assert mg.positive(ints) is ints
    for attempt in (lambda b: mg.positive(b), lambda b: +b):
        with pytest.raises(TypeError, match="positive: the \\+ operator of a bool tensor is not supported"):
            attempt(mg.tensor([True, False]))


def test_bitwise_functions_match_numpy_and_have_no_gradient():
    x, y = np.array([[12, -3, 0], [5, 6, 255]]), np.array([10, 7, -1])
    X, Y = mg.tensor(x), mg.tensor(y)
    for got, expected in [(mg.bitwise_and(X, Y), np.bitwise_and(x, y)), (mg.bitwise_or(X, y), np.bitwise_or(x, y)),
                          (Y.bitwise_xor(X), np.bitwise_xor(y, x)), (X.bitwise_not(), np.invert(x)),
                          (mg.bitwise_and(X, 3), x & 3)]:
        assert got.dtype == expected.dtype and got.grad_fn is None
        np.testing.assert_array_equal(got.numpy(), expected)
    p, q = np.array([True, True, False]), np.array([True, False, False])
    out = mg.bitwise_xor(mg.tensor(p), mg.tensor(q))
    assert out.dtype == np.bool_ and out.tolist() == [False, True, False]
    assert mg.bitwise_not(mg.tensor(p)).tolist() == [False, False, True]
    small = mg.tensor([1, 2], dtype=mg.uint8)
    assert mg.bitwise_not(small).tolist() == [254, 253] and mg.bitwise_not(small).dtype == np.uint8


# ---- in place -----------------------------------------------------------------------

def test_in_place_forms_change_the_same_tensor():
    for name, x, expected in [("tan_", 0.5, np.tan(0.5)), ("asin_", 0.5, np.arcsin(0.5)),
                              ("arcsin_", 0.5, np.arcsin(0.5)), ("acos_", 0.5, np.arccos(0.5)),
                              ("arccos_", 0.5, np.arccos(0.5)), ("atan_", 2.0, np.arctan(2.0)),
                              ("arctan_", 2.0, np.arctan(2.0)), ("asinh_", 2.0, np.arcsinh(2.0)),
                              ("arcsinh_", 2.0, np.arcsinh(2.0)), ("acosh_", 2.0, np.arccosh(2.0)),
                              ("arccosh_", 2.0, np.arccosh(2.0)), ("atanh_", 0.5, np.arctanh(0.5)),
                              ("arctanh_", 0.5, np.arctanh(0.5)), ("deg2rad_", 90.0, np.pi / 2),
                              ("rad2deg_", np.pi, 180.0), ("reciprocal_", 4.0, 0.25), ("floor_", -1.5, -2.0),
                              ("ceil_", -1.5, -1.0), ("absolute_", -1.5, 1.5), ("negative_", 1.5, -1.5)]:
        t = mg.tensor([x], dtype=mg.float64)
        assert getattr(t, name)() is t, name
        np.testing.assert_allclose(t.numpy(), [expected], rtol=1e-15, err_msg=name)
    ints = mg.tensor([-2, 5])
    assert ints.floor_() is ints and ints.ceil_() is ints and ints.tolist() == [-2, 5]
    for name, other, expected in [("bitwise_and_", 6, [4, 4]), ("bitwise_or_", 1, [5, 5]), ("bitwise_xor_", 1, [5, 4])]:
        t = mg.tensor([4, 5])
        assert getattr(t, name)(other) is t and t.tolist() == expected, name
    flags = mg.tensor([True, False])
    assert flags.bitwise_not_() is flags and flags.tolist() == [False, True]


def test_the_gradient_goes_through_an_in_place_form_while_recording():
    """h = a * 1; h.atanh_(): a's gradient is 1 / (1 - a^2), as through atanh(a)."""
    a = mg.tensor([0.5, -0.25], dtype=mg.float64, requires_grad=True)
    h = a * 1
    h.atanh_()
    h.sum().backward()
    np.testing.assert_allclose(a.grad, 1 / (1 - np.array([0.5, -0.25]) ** 2), rtol=1e-15)


def test_in_place_refusals_are_those_of_plus_equals_and_leave_the_tensor_unchanged():
    ints = mg.tensor([1, 2])
    for name in ("tan_", "asin_", "reciprocal_", "deg2rad_", "arctanh_"):
        with pytest.raises(TypeError, match=f"^{name}: the result's dtype float32 cannot be cast to the tensor's "
                                            "dtype int64"):
            getattr(ints, name)()
    leaf = mg.tensor([0.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="^asin_: a leaf tensor that requires grad cannot be changed in place"):
        leaf.asin_()
    floats = mg.tensor([1.5, 2.5])
    with pytest.raises(TypeError, match="bitwise_and: expected bool or integer tensors, got dtypes float32"):
        floats.bitwise_and_(1)
    with pytest.raises(TypeError, match="bitwise_not: expected a bool or integer tensor, got dtype float32"):
        floats.bitwise_not_()
    assert ints.tolist() == [1, 2] and leaf.tolist() == [0.5] and floats.tolist() == [1.5, 2.5]


# ---- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [mg.floor, mg.ceil], ids=lambda f: f.__name__)
def test_floor_and_ceil_refuse_bools_and_complex_numbers_by_name(fn):
    for dtype in ("bool", "complex64"):
        with pytest.raises(TypeError, match=f"{fn.__name__}: expected a real number or integer tensor, got dtype "
                                            f"{dtype}"):
            fn(mg.tensor(np.zeros(2, dtype=dtype)))


@pytest.mark.parametrize("fn", [mg.deg2rad, mg.rad2deg], ids=lambda f: f.__name__)
def test_angle_conversions_refuse_complex_numbers_by_name(fn):
    with pytest.raises(TypeError, match=f"{fn.__name__}: expected a real tensor, got dtype complex"):
        fn(mg.tensor([1j]))


@pytest.mark.parametrize("fn", [mg.bitwise_and, mg.bitwise_or, mg.bitwise_xor], ids=lambda f: f.__name__)
def test_bitwise_functions_refuse_floats_and_mismatched_shapes_by_name(fn):
    with pytest.raises(TypeError, match=f"{fn.__name__}: expected bool or integer tensors, got dtypes int64 and "
                                        "float32"):
        fn(mg.tensor([1, 2]), mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=rf"{fn.__name__}: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        fn(mg.tensor([1, 2]), mg.tensor([1, 2, 3]))
