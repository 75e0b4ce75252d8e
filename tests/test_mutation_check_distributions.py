"""Tests written from a mutation check of commit 66e8816's additions: mg.distributions (Distribution,
Normal, Categorical, Bernoulli, Uniform, constraints, kl_divergence), mg.promote_types / result_type /
can_cast, the random fills (mg.bernoulli, t.bernoulli_, t.exponential_, t.geometric_), mg.poisson,
mg.randint_like, mg.asarray and mg.jit. Each pins a behaviour that a hand-made wrong implementation
changed without any other test noticing. Expected values come from closed forms written in numpy, from
PyTorch's documented definitions (torch/distributions/*.py, c10's combine_categories / canCast, the
"Type promotion" notes) or from the library's own docstrings, never from the library's output."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import jit
from microgradseq.distributions import (Bernoulli, Categorical, Distribution, Normal, Uniform, constraints,
                                        kl_divergence, register_kl)
import microgradseq.distributions.categorical as categorical_module


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


# ---- Distribution: the base class's shared behaviour ------------------------------------------------

def test_set_default_validate_args_switches_the_checks_off_for_later_distributions():
    """PyTorch's Distribution.set_default_validate_args(False): a negative scale is no longer refused."""
    Distribution.set_default_validate_args(False)
    try:
        Normal(0.0, -1.0)                                  # would raise with the checks on
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="scale"):
        Normal(0.0, -1.0)


def test_base_stddev_is_the_square_root_of_the_variance():
    """Distribution.stddev = variance.sqrt() (Bernoulli has no stddev of its own): sqrt(p (1 - p))."""
    p = np.array([0.1, 0.5, 0.8])
    np.testing.assert_allclose(Bernoulli(f64(p)).stddev.data, np.sqrt(p * (1 - p)), rtol=1e-12)


def test_perplexity_is_the_exponential_of_the_entropy():
    """perplexity() = exp(entropy()); a normal's entropy is log(scale sqrt(2 pi e))."""
    scale = np.array([0.5, 2.0])
    np.testing.assert_allclose(Normal(f64([0.0, 1.0]), f64(scale)).perplexity().data,
                               scale * np.sqrt(2 * np.pi * np.e), rtol=1e-12)


def test_expand_keeps_the_validate_args_setting():
    """PyTorch's expand copies _validate_args: an expanded distribution still checks its values."""
    expanded = Bernoulli(f64(0.3)).expand((2,))
    assert expanded.batch_shape == (2,)
    with pytest.raises(ValueError, match="Boolean"):
        expanded.log_prob(f64([0.5, 0.5]))
    unchecked = Bernoulli(f64(0.3), validate_args=False).expand((2,))
    assert unchecked.log_prob(f64([0.5, 0.5])).shape == (2,)


def test_a_sample_shape_with_a_zero_size_gives_an_empty_draw():
    """torch.Size((0,)) is a valid sample_shape: an empty draw of shape (0,) + batch_shape."""
    assert Normal(f64([0.0, 1.0]), 1.0).sample((0,)).shape == (0, 2)


def test_log_prob_refuses_a_value_with_any_entry_outside_the_support():
    """_validate_sample: every entry must be in the support, not just one."""
    with pytest.raises(ValueError, match=r"Bernoulli: expected value argument .*Boolean\(\)"):
        Bernoulli(f64([0.5, 0.5])).log_prob(f64([0.0, 0.5]))


def test_a_lazy_parameter_is_computed_once_and_kept():
    """PyTorch's lazy_property replaces itself by an instance attribute on first read."""
    dist = Categorical(probs=f64([0.2, 0.8]))
    assert "logits" not in dist.__dict__
    first = dist.logits
    assert dist.logits is first and dist.__dict__["logits"] is first


def test_numbers_next_to_a_tensor_take_the_tensors_dtype():
    """broadcast_all: numbers become tensors of the first tensor's dtype (not the default dtype)."""
    dist = Normal(f64([0.0, 1.0]), 2.0)
    assert dist.scale.dtype == np.float64 and dist.batch_shape == (2,)
    np.testing.assert_array_equal(dist.scale.data, [2.0, 2.0])
    assert Uniform(mg.tensor([0.0], dtype=mg.float32), 1.0).high.dtype == np.float32


def test_a_bool_parameter_is_a_number_as_in_pytorchs_broadcast_all():
    """torch/distributions/utils.py broadcast_all accepts `isinstance(v, numbers.Number)` (True is one) and
    makes it torch.tensor(True, dtype=default float) = 1.0."""
    assert Normal(True, 1.0).loc.item() == 1.0


# ---- Normal ----------------------------------------------------------------------------------------

def test_normal_rsample_is_in_locs_dtype():
    draws = Normal(mg.tensor([0.0, 1.0]), mg.tensor([1.0, 2.0])).rsample((3,))
    assert draws.dtype == np.float32 and draws.shape == (3, 2)


def test_normal_mode_is_loc():
    np.testing.assert_array_equal(Normal(f64([0.5, -1.0]), f64([2.0, 3.0])).mode.data, [0.5, -1.0])


def test_has_rsample_is_true_for_normal_and_uniform_only():
    """PyTorch: Normal and Uniform are reparameterisable, Bernoulli and Categorical are not."""
    assert Normal.has_rsample and Uniform.has_rsample
    assert not Bernoulli.has_rsample and not Categorical.has_rsample


def test_normal_cdf_validates_its_value_as_log_prob_does():
    with pytest.raises(ValueError, match="Normal: the value argument .* must be a Tensor, got float"):
        Normal(0.0, 1.0).cdf(0.5)


def test_a_zero_scale_is_refused_as_positive_is_strict():
    """constraints.positive is GreaterThan(0): 0 is outside."""
    with pytest.raises(ValueError, match=r"GreaterThan\(lower_bound=0.0\)"):
        Normal(0.0, 0.0)


# ---- Categorical ------------------------------------------------------------------------------------

def test_categorical_refuses_a_list_naming_the_parameter():
    with pytest.raises(TypeError, match="Categorical: expected `probs` to be a tensor, got list"):
        Categorical(probs=[0.5, 0.5])


def test_categorical_mode_is_the_most_likely_class():
    dist = Categorical(probs=f64([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]))
    np.testing.assert_array_equal(dist.mode.data, [1, 0])


def test_categorical_sample_stays_in_the_support_when_the_running_sum_falls_short_of_one(monkeypatch):
    """Ten classes of 0.1: the float64 running sum ends at 0.9999999999999999, and a uniform number
    that large (the largest below 1) is not below it; the draw must still be a class, K - 1 = 9 (PyTorch's support is 0 .. K - 1)."""
    largest_below_one = np.nextafter(1.0, 0.0)

    class Fixed:
        def random(self, shape):
            return np.full(shape, largest_below_one)
    monkeypatch.setattr(categorical_module, "draw", lambda: Fixed())
    dist = Categorical(probs=f64(np.full(10, 0.1)))
    assert np.cumsum(dist.probs.data)[-1] <= largest_below_one        # (the case this test is about)
    assert dist.sample((3,)).data.tolist() == [9, 9, 9]


def test_categorical_entropy_of_a_class_with_logit_minus_infinity_adds_zero():
    """PyTorch clamps the logits to finfo.min before p log p, so a class of probability 0 adds 0: log 2."""
    dist = Categorical(logits=f64([-np.inf, 0.0, 0.0]))
    assert dist.entropy().item() == pytest.approx(math.log(2), rel=1e-12)


def test_categorical_enumerate_support_unexpanded_has_a_singleton_batch_axis():
    """PyTorch: arange(K).view((-1,) + (1,) * len(batch_shape)) when expand=False."""
    dist = Categorical(probs=f64(np.full((5, 3), 1 / 3)))
    support = dist.enumerate_support(expand=False)
    assert support.shape == (3, 1)
    np.testing.assert_array_equal(support.data[:, 0], [0, 1, 2])


def test_categorical_logits_must_be_real_vectors():
    """arg_constraints logits: IndependentConstraint(Real(), 1): a NaN logit is refused."""
    with pytest.raises(ValueError, match=r"Categorical: expected parameter logits .*IndependentConstraint"):
        Categorical(logits=f64([np.nan, 0.0]))


@pytest.mark.parametrize("value", [f64([0.5]), mg.tensor([-1])], ids=["fraction", "negative"])
def test_categorical_log_prob_refuses_a_value_that_is_not_a_class(value):
    with pytest.raises(ValueError, match=r"IntegerInterval\(lower_bound=0, upper_bound=2\)"):
        Categorical(probs=f64([0.2, 0.3, 0.5])).log_prob(value)


# ---- Bernoulli -----------------------------------------------------------------------------------------

def test_bernoulli_logits_of_probs_zero_and_one_are_clamped_by_the_dtypes_eps():
    """PyTorch's probs_to_logits(is_binary=True): p clamped to [eps, 1 - eps], eps = finfo(dtype).eps,
    then log p - log1p(-p): finite at 0 and 1."""
    eps = np.finfo(np.float64).eps
    clamped = np.array([eps, 0.5, 1 - eps])
    expected = np.log(clamped) - np.log1p(-clamped)
    np.testing.assert_allclose(Bernoulli(probs=f64([0.0, 0.5, 1.0])).logits.data, expected, rtol=1e-12)


def test_bernoulli_mean_is_p():
    np.testing.assert_allclose(Bernoulli(f64([0.2, 0.9])).mean.data, [0.2, 0.9])


def test_bernoulli_enumerate_support_is_in_the_parameters_dtype_and_unexpanded_on_request():
    """PyTorch: arange(2, dtype=param.dtype).view((-1,) + (1,) * len(batch_shape))."""
    dist = Bernoulli(f64([0.2, 0.5, 0.9]))
    support = dist.enumerate_support()
    assert support.dtype == np.float64 and support.shape == (2, 3)
    np.testing.assert_array_equal(support.data, [[0.0] * 3, [1.0] * 3])
    assert dist.enumerate_support(expand=False).shape == (2, 1)


def test_bernoulli_log_prob_broadcasts_the_value_with_the_batch():
    """value (2, 1) against batch (2,): (2, 2), log p or log(1 - p) per entry."""
    p = np.array([0.2, 0.7])
    result = Bernoulli(f64(p)).log_prob(f64([[0.0], [1.0]]))
    np.testing.assert_allclose(result.data, [np.log1p(-p), np.log(p)], rtol=1e-10)


def test_bernoulli_accepts_probabilities_zero_and_one():
    """unit_interval is the closed [0, 1]."""
    assert Bernoulli(probs=f64([0.0, 1.0])).batch_shape == (2,)


# ---- Uniform ---------------------------------------------------------------------------------------------

def test_uniform_refuses_low_equal_to_high():
    """Its docstring: with validate_args, low < high everywhere."""
    with pytest.raises(ValueError, match="Uniform: is not defined when low >= high"):
        Uniform(1.0, 1.0)


def test_uniform_skips_the_low_high_check_without_validate_args():
    assert Uniform(1.0, 0.0, validate_args=False).batch_shape == ()


def test_uniform_mode_is_nan_and_stddev_the_width_over_sqrt_12():
    dist = Uniform(f64([0.0, -1.0]), f64([2.0, 3.0]))
    assert np.isnan(dist.mode.data).all() and dist.mode.shape == (2,)
    np.testing.assert_allclose(dist.stddev.data, np.array([2.0, 4.0]) / math.sqrt(12), rtol=1e-12)


def test_uniform_rsample_is_in_lows_dtype():
    assert Uniform(mg.tensor([0.0]), mg.tensor([1.0])).rsample((4,)).dtype == np.float32


def test_uniform_cdf_validates_its_value():
    with pytest.raises(ValueError, match=r"Uniform: expected value argument .*Interval"):
        Uniform(0.0, 1.0).cdf(f64([1.5]))

def test_uniform_log_prob_at_low_is_inside():
    """[low, high): low itself has density 1 / (high - low)."""
    dist = Uniform(f64([0.0, -1.0]), f64([2.0, 3.0]))
    np.testing.assert_allclose(dist.log_prob(f64([0.0, -1.0])).data, -np.log([2.0, 4.0]), rtol=1e-12)


# ---- constraints -------------------------------------------------------------------------------------------

def test_simplex_needs_a_sum_within_1e_6_of_one_and_has_event_dim_1():
    """PyTorch's _Simplex: all(x >= 0) & |sum - 1| < 1e-6, event_dim = 1."""
    np.testing.assert_array_equal(constraints.simplex.check(np.array([[0.5, 0.49], [0.25, 0.75]])), [False, True])
    assert constraints.simplex.event_dim == 1 and constraints.real.event_dim == 0


def test_discrete_constraints_say_so():
    assert constraints.boolean.is_discrete and constraints.integer_interval(0, 3).is_discrete
    assert not constraints.real.is_discrete and not constraints.unit_interval.is_discrete


def test_interval_prints_as_pytorchs():
    assert repr(constraints.interval(0.0, 1.0)) == "Interval(lower_bound=0.0, upper_bound=1.0)"
    assert repr(Uniform(0.0, 2.0).support) == "Interval(lower_bound=0.0, upper_bound=2.0)"


# ---- kl_divergence --------------------------------------------------------------------------------------------

def test_kl_of_categoricals_skips_classes_that_p_never_draws_even_where_q_is_zero():
    """PyTorch's _kl_categorical_categorical: t[q == 0] = inf, then t[p == 0] = 0: sum over p > 0 of
    p log(p / q)."""
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.75, 0.0])
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    kl = kl_divergence(Categorical(probs=f64(p)), Categorical(probs=f64(q)))
    assert kl.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a, b, expected", [
    (0.5, 0.0, math.inf), (0.5, 1.0, math.inf), (0.0, 0.0, 0.0), (1.0, 1.0, 0.0),
], ids=["q=0", "q=1", "p=q=0", "p=q=1"])
def test_kl_of_bernoullis_at_the_ends(a, b, expected):
    """PyTorch's _kl_bernoulli_bernoulli: inf where q puts no mass where p does, 0 for the terms p never
    takes: KL(Ber(a) || Ber(b)) = a log(a / b) + (1 - a) log((1 - a) / (1 - b)) with 0 log 0 = 0."""
    kl = kl_divergence(Bernoulli(f64([a])), Bernoulli(f64([b]))).item()
    assert kl == expected if expected == math.inf else kl == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("p, q, expected", [
    ((0.0, 1.0), (0.0, 2.0), math.log(2.0)), ((0.0, 3.0), (0.0, 2.0), math.inf), ((-1.0, 2.0), (-1.0, 2.0), 0.0),
], ids=["same-low", "past-high", "equal"])
def test_kl_of_uniforms_with_shared_ends(p, q, expected):
    """log((high_q - low_q) / (high_p - low_p)) when [low_p, high_p] lies inside [low_q, high_q], else inf."""
    kl = kl_divergence(Uniform(f64([p[0]]), f64([p[1]])), Uniform(f64([q[0]]), f64([q[1]]))).item()
    assert kl == expected if expected == math.inf else kl == pytest.approx(expected, abs=1e-12)


def test_kl_of_subclasses_uses_the_registered_parent_pair():
    class MyNormal(Normal):
        pass
    kl = kl_divergence(MyNormal(f64([0.0]), f64([1.0])), Normal(f64([1.0]), f64([1.0])))
    assert kl.item() == pytest.approx(0.5, rel=1e-12)               # (mu_p - mu_q)^2 / 2 at unit scales


def test_register_kl_refuses_what_is_not_a_distribution_class():
    with pytest.raises(TypeError, match="register_kl: expected subclasses of Distribution"):
        register_kl(int, Normal)


# ---- promotion: c10's combine_categories and canCast --------------------------------------------------------

def test_result_type_complex_dimensioned_tensor_wins_over_a_wider_complex_zero_dim():
    """combine_categories: a complex higher tier is returned as it is."""
    assert mg.result_type(mg.ones(2, dtype=np.complex64), mg.tensor(1j, dtype=np.complex128)) == np.complex64


def test_result_type_float64_tensor_and_a_complex_number_is_complex128():
    """combine_categories: lower complex and higher floating: toComplexType(higher)."""
    assert mg.result_type(mg.ones(2, dtype=mg.float64), 1j) == np.complex128


def test_result_type_integer_tensor_and_a_complex_zero_dim_is_that_complex_dtype():
    """combine_categories: lower complex and higher integral: lower."""
    assert mg.result_type(mg.ones(2, dtype=mg.int32), mg.tensor(1j, dtype=np.complex128)) == np.complex128


def test_result_type_bool_tensor_and_an_integer_promotes_to_the_integer():
    """combine_categories: higher == Bool promotes (bool_tensor + 5 is int64, per canCast's comment)."""
    assert mg.result_type(mg.ones(2, dtype=mg.bool), 5) == mg.int64
    assert mg.result_type(mg.ones(2, dtype=mg.bool), mg.tensor(1, dtype=mg.int32)) == mg.int32


@pytest.mark.parametrize("source, target", [(mg.float32, mg.uint8), (np.complex64, mg.int64),
                                            (np.complex128, mg.bool)])
def test_can_cast_refuses_floating_into_unsigned_and_complex_into_integers(source, target):
    """c10 canCast: complex -> non-complex and floating -> integral are disallowed."""
    assert mg.can_cast(source, target) is False


@pytest.mark.parametrize("call", [lambda: mg.promote_types(mg.float32, np.dtype("U3")),
                                  lambda: mg.can_cast(mg.float32, np.dtype("datetime64[s]")),
                                  lambda: mg.can_cast("nonsense", mg.float32)],
                         ids=["promote-str", "can_cast-datetime", "can_cast-name"])
def test_promotion_functions_refuse_non_numeric_dtypes_with_a_type_error(call):
    with pytest.raises(TypeError, match="(promote_types|can_cast): .* must be a"):
        call()


# ---- random fills and draws --------------------------------------------------------------------------------

def test_bernoulli_refuses_negative_probabilities():
    with pytest.raises(ValueError, match=r"bernoulli: expected probabilities in \[0, 1\], got values from -0.5"):
        mg.bernoulli(f64([-0.5, 0.5]))


def test_bernoulli_refuses_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="bernoulli: expected a tensor of probabilities, got list"):
        mg.bernoulli([0.5])


def test_bernoulli_with_a_number_p_refuses_one_outside_0_1():
    with pytest.raises(ValueError, match=r"bernoulli: p must be a probability in \[0, 1\], got 1.5"):
        mg.bernoulli(mg.zeros(3), 1.5)


def test_bernoulli_in_place_refuses_a_complex_tensor():
    with pytest.raises(TypeError, match="bernoulli_: expected a real or bool tensor"):
        mg.zeros(2, dtype=np.complex64).bernoulli_(0.5)


def test_bernoulli_in_place_fills_a_bool_tensor():
    """Its docstring: a real or bool tensor, filled in its own dtype."""
    mg.manual_seed(37)
    mask = mg.zeros(4000, dtype=mg.bool).bernoulli_(0.5)
    assert mask.dtype == np.bool_ and 0.45 < mask.data.mean() < 0.55

def test_bernoulli_in_place_refuses_negative_probabilities_in_a_tensor():
    t = f64([0.25, 0.75])
    with pytest.raises(ValueError, match=r"bernoulli_: expected probabilities p in \[0, 1\], got values from -0.5"):
        t.bernoulli_(f64([-0.5, 0.5]))
    np.testing.assert_array_equal(t.data, [0.25, 0.75])


def test_bernoulli_in_place_defaults_to_one_half():
    """PyTorch's Tensor.bernoulli_(p=0.5)."""
    mg.manual_seed(29)
    mask = mg.empty(20000).bernoulli_()
    assert abs(mask.data.mean() - 0.5) < 0.015


def test_a_nan_probability_is_named_in_the_error():
    with pytest.raises(ValueError, match="got values from 0.5 to 0.5 and NaN"):
        mg.bernoulli(f64([np.nan, 0.5]))


@pytest.mark.parametrize("p", [0.0, -0.1, math.nan])
def test_geometric_refuses_p_outside_the_open_interval(p):
    """geometric_(p) needs p in (0, 1): p = 0 would never succeed."""
    with pytest.raises(ValueError, match=r"geometric_: expects p in \(0, 1\)"):
        mg.zeros(2).geometric_(p)


def test_geometric_refuses_a_bool_tensor():
    with pytest.raises(TypeError, match="geometric_: expected a real tensor, got dtype bool"):
        mg.zeros(2, dtype=mg.bool).geometric_(0.5)


def test_exponential_refuses_an_integer_tensor_and_a_non_finite_rate():
    with pytest.raises(TypeError, match="exponential_: expected a floating-point tensor, got dtype int64"):
        mg.zeros(2, dtype=mg.long).exponential_(1.0)
    with pytest.raises(ValueError, match="exponential_: lambd must be a finite number, got inf"):
        mg.zeros(2).exponential_(math.inf)


# ---- randint_like, poisson, asarray ------------------------------------------------------------------------

def test_randint_like_with_one_bound_draws_from_zero_to_it():
    """torch.randint_like(input, high): low = 0, values 0 .. high - 1."""
    mg.manual_seed(31)
    draws = mg.randint_like(mg.zeros(2000, dtype=mg.long), 4)
    assert set(np.unique(draws.data)) == {0, 1, 2, 3}


def test_randint_like_refuses_bounds_that_are_not_integers():
    with pytest.raises(ValueError, match="randint_like: expected integers low < high, got low=0.5"):
        mg.randint_like(mg.zeros(2), 0.5, 3)


def test_randint_like_requires_grad_when_asked():
    draws = mg.randint_like(mg.zeros(3), 5, requires_grad=True)
    assert draws.requires_grad and draws.is_leaf and draws.dtype == np.float32


def test_poisson_refuses_an_infinite_rate():
    with pytest.raises(ValueError, match="poisson: expected finite rates >= 0"):
        mg.poisson(f64([1.0, math.inf]))


@pytest.mark.parametrize("name, kwargs", [("copy", {"copy": "yes"}), ("requires_grad", {"requires_grad": 1})])
def test_asarray_flags_must_be_true_or_false(name, kwargs):
    with pytest.raises(ValueError, match=f"asarray: {name} must be True or False"):
        mg.asarray(f64([1.0]), **kwargs)


def test_asarray_copy_false_with_the_same_dtype_is_the_tensor_itself():
    """tensor_new.cpp asarray: wrong_dtype only when dtype differs, so copy=False aliases."""
    t = f64([1.0, 2.0])
    assert mg.asarray(t, dtype=mg.float64, copy=False) is t


def test_asarray_into_another_dtype_keeps_the_history_when_requires_grad():
    """tensor_new.cpp asarray: tensor.to(dtype), then set_requires_grad(True) (not a detach): the gradient
    of the cast reaches the source, 1 per entry."""
    w = f64([1.0, 2.0], True)
    cast = mg.asarray(w, dtype=mg.float32, requires_grad=True)
    assert cast.dtype == np.float32
    cast.sum().backward()
    np.testing.assert_allclose(w.grad, [1.0, 1.0])


@pytest.mark.parametrize("call", [lambda: mg.asarray([1.0], device="cuda"),
                                  lambda: mg.randint_like(mg.zeros(2), 5, device="cuda")],
                         ids=["asarray", "randint_like"])
def test_creation_refuses_a_device_other_than_the_cpu(call):
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        call()


# ---- jit ---------------------------------------------------------------------------------------------------

def test_jit_attribute_gives_back_the_value_itself():
    """torch.jit.Attribute with the JIT off: the value, not a conversion of it."""
    value = [1.0, 2.0]
    assert jit.Attribute(value, list) is value


def test_jit_final_is_typings_final():
    import typing
    assert jit.Final is typing.Final


def test_jit_trace_without_example_inputs_is_the_function_itself():
    """torch.jit.trace(func, example_kwarg_inputs=...) (example_inputs left None) with the JIT off: func."""
    def double(x):
        return 2 * x
    assert jit.trace(double) is double
    assert jit.trace(double, example_kwarg_inputs={"x": mg.ones(2)}) is double
