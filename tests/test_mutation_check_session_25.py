"""Tests written from a mutation check of session 25's tensor functions, optimisers and norms (ops/products.py's
prod and cumprod, ops/reduce.py's nansum and the dtype helpers, ops/arithmetic.py's addmm, addcmul, addcdiv and
diff, ops/logical.py's isclose, optim/rprop.py, asgd.py, nadam.py and state_dict.py's numbers of state,
nn/linear.py's Embedding attributes): each pins a behaviour that a hand-made wrong implementation changed
without any other test noticing. Expected values are closed forms, numpy written here, or PyTorch's documented
behaviour (its sources, named in each test), never the library's own output. One test pins a bug the check
found and the session fixed: nansum (and sum) given an integer dtype answered in int64, where PyTorch answers in
that dtype."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
from microgradseq.optim import ASGD, NAdam, Rprop


def parameter(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ---- prod, cumprod and nansum: dtypes and values ---------------------------------------------------------

def test_prod_and_cumprod_of_complex_entries_stay_complex():
    """torch.prod and torch.cumprod of a complex tensor multiply in its complex dtype (get_dtype_from_self
    promotes integers only): (1 + i)(2i) = -2 + 2i, by hand."""
    x = mg.tensor(np.array([1 + 1j, 2j]))
    y = mg.prod(x)
    assert y.dtype == np.complex128
    assert y.item() == -2 + 2j
    running = mg.cumprod(x, 0)
    assert running.dtype == np.complex128
    np.testing.assert_array_equal(running.numpy(), [1 + 1j, -2 + 2j])


def test_prod_and_cumprod_given_an_integer_dtype_answer_in_that_dtype_not_int64():
    """PyTorch's get_dtype_from_self(self, opt_dtype, true) returns opt_dtype when it is given: only
    integers without a dtype are promoted to int64. 2 * 3 * 4 = 24; its running products 2, 6, 24."""
    x = mg.tensor(np.array([2, 3, 4], dtype=np.int64))
    y = mg.prod(x, dtype=mg.int32)
    assert y.dtype == np.int32 and y.item() == 24
    assert mg.prod(mg.tensor(np.array([2, 3], dtype=np.int16)), 0, dtype=mg.int16).dtype == np.int16
    running = mg.cumprod(x, 0, dtype=mg.int32)
    assert running.dtype == np.int32
    assert running.tolist() == [2, 6, 24]


def test_nansum_counts_nan_as_zero_but_keeps_infinities_and_their_gradient():
    """torch.nansum treats NaN alone as 0 (an infinity is summed as it is); its backward,
    nansum_backward = grad * self.isnan().logical_not(), gives 1 at an infinity and 0 at a NaN."""
    x = mg.tensor(np.array([np.inf, np.nan, 1.0]), requires_grad=True)
    y = mg.nansum(x)
    assert y.item() == np.inf
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])
    assert mg.nansum(mg.tensor(np.array([-np.inf, 2.0, np.nan]))).item() == -np.inf


def test_nansum_and_sum_given_an_integer_dtype_answer_in_that_dtype():
    """ReduceOps.cpp: nansum's result dtype is get_dtype_from_self(self, opt_dtype, true), which is opt_dtype
    when given; integers are promoted to int64 only without one. 1 + 2 + 3 = 6."""
    x = mg.tensor(np.array([1, 2, 3], dtype=np.int16))
    y = mg.nansum(x, dtype=mg.int16)
    assert y.dtype == np.int16 and y.item() == 6
    assert mg.sum(x, dtype=mg.int32).dtype == np.int32 and x.sum(dtype=mg.int16).item() == 6


# ---- addmm, addcmul, addcdiv: their scalars; diff of order 0 ---------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c, a, b: mg.addmm(c, a, b, beta=True),
    lambda c, a, b: mg.addmm(c, a, b, alpha=False),
    lambda c, a, b: mg.addcmul(c, a, b, value=True),
    lambda c, a, b: mg.addcdiv(c, a, b, value=np.True_),
], ids=["addmm beta", "addmm alpha", "addcmul value", "addcdiv value"])
def test_addmm_addcmul_addcdiv_refuse_a_bool_as_their_scalar(call):
    """arithmetic.py's _scalar: beta=, alpha= and value= are numbers, "not a bool": a bool (Python's or
    numpy's) is a TypeError naming the function, though a bool is an int to isinstance."""
    c, a, b = mg.ones(2, 2), mg.ones(2, 2), mg.ones(2, 2)
    with pytest.raises(TypeError, match=r"^add(mm|cmul|cdiv): (beta|alpha|value) must be a number, got "):
        call(c, a, b)


def test_diff_of_order_0_is_a_copy_not_the_input_itself():
    """diff's docstring: "n = 0 gives a copy of x", as PyTorch's torch.diff (a new tensor): changing the
    result in place leaves x as it was."""
    x = mg.tensor([1.0, 4.0, 9.0])
    y = x.diff(0)
    assert y is not x
    np.testing.assert_array_equal(y.numpy(), [1.0, 4.0, 9.0])
    y.add_(1.0)
    np.testing.assert_array_equal(x.numpy(), [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(y.numpy(), [2.0, 5.0, 10.0])


# ---- isclose ---------------------------------------------------------------------------------------------

def test_isclose_is_relative_to_other_and_its_bound_is_inclusive():
    """torch.isclose: |input - other| <= atol + rtol * |other| (TensorCompare.cpp: allowed_error = atol +
    (rtol * other).abs(), close where actual_error <= allowed_error). With rtol 0.5 and atol 0, 1 against 2
    is exactly on the bound (1 <= 0.5 * 2, close), but 2 against 1 is not (1 > 0.5 * 1): the relation is not
    symmetric. Every number here is exact in binary."""
    one, two = mg.tensor([1.0]), mg.tensor([2.0])
    assert mg.isclose(one, two, rtol=0.5, atol=0.0).tolist() == [True]
    assert mg.isclose(two, one, rtol=0.5, atol=0.0).tolist() == [False]
    assert one.isclose(mg.tensor([1.5]), rtol=0.0, atol=0.5).tolist() == [True]        # atol's bound too
    assert one.isclose(mg.tensor([1.75]), rtol=0.0, atol=0.5).tolist() == [False]


# ---- Rprop's step sizes in the parameter's dtype ---------------------------------------------------------

def test_rprop_first_step_of_a_float32_parameter_is_taken_in_float32():
    """torch.optim.Rprop: state step_size = torch.full_like(grad, lr), in the parameter's dtype, and
    param.addcmul_(grad.sign(), step_size, value=-1) in float32: p - float32(lr) rounded once in float32.
    For p = (0.5, 0.25) and lr = 0.3 that is (0.19999999, -0.050000012), not the (0.2, -0.05) of p - lr
    computed in float64 and rounded (numpy float32 arithmetic written here)."""
    p = parameter([0.5, 0.25], dtype=np.float32)
    optimizer = Rprop([p], lr=0.3)
    p.grad = np.array([1.0, 1.0], dtype=np.float32)
    optimizer.step()
    f32 = np.float32
    expected = np.array([f32(0.5) - f32(0.3), f32(0.25) - f32(0.3)], dtype=np.float32)
    assert expected[0] != f32(0.2)                  # (the float64 route would differ)
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p.data, expected)


def test_rprop_step_sizes_of_a_float32_parameter_grow_by_a_float32_etaplus():
    """torch.optim.Rprop fills its sign tensor (the parameter's dtype) with etaplus where the sign holds and
    step_size.mul_(sign) in float32: after two steps of one sign, float32(lr) * float32(etaplus), whatever
    the type of the etas given (numpy float64s here, as read from an array). For lr = 0.03 and etaplus 1.2
    that is 0.036000002, where float32(0.03) * 1.2 in float64, rounded, is 0.036."""
    p = parameter([1.0, -1.0], dtype=np.float32)
    optimizer = Rprop([p], lr=0.03, etas=tuple(np.array([0.5, 1.2])))
    for _ in range(2):
        p.grad = np.array([0.5, -0.25], dtype=np.float32)
        optimizer.step()
    f32 = np.float32
    expected = f32(0.03) * f32(1.2)
    assert expected != f32(np.float64(f32(0.03)) * 1.2)  # (the float64 route would differ)
    step_size = optimizer.state[0]["step_size"]
    assert step_size.dtype == np.float32
    np.testing.assert_array_equal(step_size, np.full(2, expected, dtype=np.float32))
    np.testing.assert_array_equal(p.data, np.array([1.0, -1.0], dtype=np.float32) - np.array([1, -1], np.float32)
                                  * (f32(0.03) + expected))


# ---- ASGD's average, numbers of state, zero entries of state ---------------------------------------------

def test_asgd_average_is_its_own_array_not_the_parameters():
    """torch.optim.ASGD keeps ax as its own tensor (ax.copy_(param) while mu = 1): writing into the saved
    average changes the average alone, never the parameter. One step from p = (1, 2), grad 2p, lr 0.1,
    lambd 0: p = p - 0.1 * 2p = (0.8, 1.6)."""
    p = parameter([1.0, 2.0])
    optimizer = ASGD([p], lr=0.1, lambd=0.0)
    p.grad = 2 * p.data
    optimizer.step()
    average = optimizer.state[0]["ax"]
    np.testing.assert_allclose(average, [0.8, 1.6], rtol=1e-15)
    average[0] = 7.0
    np.testing.assert_allclose(p.data, [0.8, 1.6], rtol=1e-15)


def test_a_saved_integer_number_of_state_loads_as_a_float():
    """state_dict.py's _state_number: a saved number of state (ASGD's mu, NAdam's mu_product) loads "as a
    float", as PyTorch keeps it in a 0-d float tensor: an int 1 becomes 1.0."""
    p = parameter([1.0, -1.0])
    optimizer = ASGD([p], lr=0.1)
    p.grad = np.array([0.5, 0.25])
    optimizer.step()
    saved = optimizer.state_dict()
    saved["state"][0]["mu"] = 1
    optimizer.load_state_dict(saved)
    mu = optimizer.state[0]["mu"]
    assert type(mu) is float and mu == 1.0


def test_nadam_with_beta1_0_saves_and_loads_its_mu_product_of_0():
    """With beta1 = 0 every mu_t = beta1 (1 - 0.5 * 0.96^(t psi)) is 0, so mu_product is 0: NAdam's check
    takes mu_product in [0, 1] (closed at 0), so the state dict loads and the twin continues identically."""
    p, twin = parameter([1.0, -2.0]), parameter([1.0, -2.0])
    optimizer = NAdam([p], lr=0.1, betas=(0.0, 0.999))
    p.grad = np.array([0.5, 0.25])
    optimizer.step()
    saved = optimizer.state_dict()
    assert saved["state"][0]["mu_product"] == 0.0
    twin.data = p.data.copy()
    twin_optimizer = NAdam([twin], lr=0.1, betas=(0.0, 0.999))
    twin_optimizer.load_state_dict(saved)
    p.grad, twin.grad = np.array([-0.5, 1.0]), np.array([-0.5, 1.0])
    optimizer.step()
    twin_optimizer.step()
    np.testing.assert_array_equal(twin.data, p.data)


def test_a_state_of_zero_squares_loads_zero_is_not_negative():
    """non_negative_entries refuses a negative entry only: a zero gradient leaves exp_avg_sq at 0 (NAdam:
    v = 0.001 * 0^2), and that state dict loads, as PyTorch's does."""
    p = parameter([1.0, -2.0])
    optimizer = NAdam([p], lr=0.1)
    p.grad = np.zeros(2)
    optimizer.step()
    saved = optimizer.state_dict()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg_sq"], [0.0, 0.0])
    NAdam([parameter([1.0, -2.0])], lr=0.1).load_state_dict(saved)


# ---- Embedding's kept attributes -------------------------------------------------------------------------

def test_embedding_keeps_pytorchs_norm_type_default_as_a_float():
    """torch.nn.Embedding(..., max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False): the
    default norm_type is the float 2.0 (F.embedding's norm_type: float)."""
    embedding = nn.Embedding(4, 3)
    assert type(embedding.norm_type) is float and embedding.norm_type == 2.0
    assert embedding.max_norm is None and embedding.scale_grad_by_freq is False and embedding.sparse is False
