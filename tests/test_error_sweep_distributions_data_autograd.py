"""Error sweep C: distributions, utils.data, nn.init, testing, autograd hooks and transforms.

The contract: bad input gets a clear error naming the public function, what was expected and what came,
before any state changes. Each test here is one behaviour a sweep found wrong (a raw Python or numpy
error, or a wrapped distribution's inner class named)."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import distributions as D
from microgradseq.utils import data as U


# ---------------------------------------------------------------- distributions: icdf of what is not a value


@pytest.mark.parametrize("make", [lambda: D.Normal(0.0, 1.0), lambda: D.Laplace(0.0, 1.0), lambda: D.Cauchy(0.0, 1.0),
                                  lambda: D.Exponential(1.0), lambda: D.Uniform(0.0, 1.0), lambda: D.Gumbel(0.0, 1.0),
                                  lambda: D.LogNormal(0.0, 1.0), lambda: D.HalfNormal(1.0),
                                  lambda: D.HalfCauchy(1.0), lambda: D.Pareto(1.0, 2.0), lambda: D.Weibull(1.0, 2.0),
                                  lambda: D.ContinuousBernoulli(probs=mg.tensor(0.3))])
@pytest.mark.parametrize("value", ["a", None, [0.5, 0.5]])
def test_icdf_of_a_non_tensor_names_the_distribution_and_what_came(make, value):
    dist = make()
    name = type(dist).__name__
    with pytest.raises(TypeError, match=rf"{name}\.icdf: expected value a tensor .* got {type(value).__name__}"):
        dist.icdf(value)


def test_icdf_of_a_value_of_the_wrong_shape_names_the_distribution_and_both_shapes():
    with pytest.raises(ValueError, match=r"Normal\.icdf: value of shape \(3, 5\) is not broadcastable .*\(2,\)"):
        D.Normal(mg.zeros(2), mg.ones(2)).icdf(mg.full((3, 5), 0.5))
    with pytest.raises(ValueError, match=r"HalfNormal\.icdf: value of shape \(3,\) .*\(2,\)"):
        D.HalfNormal(mg.ones(2)).icdf(mg.full((3,), 0.5))


def test_icdf_still_takes_tensors_and_numbers():
    # the standard normal's quantile at 0.975 is 1.959964 (tables); Uniform(0, 2) at 0.25 is 0.5
    assert float(D.Normal(0.0, 1.0).icdf(mg.tensor(0.975, dtype=mg.float64))) == pytest.approx(1.959964, abs=1e-6)
    assert float(D.Uniform(0.0, 2.0).icdf(0.25)) == pytest.approx(0.5)
    assert D.Normal(mg.zeros(2), mg.ones(2)).icdf(mg.full((4, 2), 0.5)).shape == (4, 2)


# ---------------------------------------------------------------- distributions: the one the user made is named


@pytest.mark.parametrize("make, name", [
    (lambda: D.HalfNormal(1.0), "HalfNormal"), (lambda: D.LogNormal(0.0, 1.0), "LogNormal"),
    (lambda: D.Gumbel(0.0, 1.0), "Gumbel"), (lambda: D.Pareto(1.0, 2.0), "Pareto"),
    (lambda: D.Beta(2.0, 2.0), "Beta"), (lambda: D.FisherSnedecor(2.0, 3.0), "FisherSnedecor"),
    (lambda: D.OneHotCategorical(probs=mg.tensor([0.5, 0.5])), "OneHotCategorical")])
def test_a_bad_sample_shape_names_the_distribution_made_not_the_one_it_wraps(make, name):
    with pytest.raises(TypeError, match=rf"^{name}: sample_shape must be a tuple of sizes .* got 'a'"):
        make().sample("a")


def test_a_missing_probs_names_the_distribution_made():
    with pytest.raises(ValueError, match=r"^Multinomial: either `probs` or `logits` must be specified"):
        D.Multinomial(3)
    with pytest.raises(ValueError, match=r"^RelaxedOneHotCategorical: either `probs` or `logits`"):
        D.RelaxedOneHotCategorical(0.5)
    with pytest.raises(ValueError, match=r"^RelaxedBernoulli: either `probs` or `logits`"):
        D.RelaxedBernoulli(0.5)
    with pytest.raises(ValueError, match=r"^Categorical: either `probs` or `logits`"):
        D.Categorical()


def test_a_bad_parameter_of_a_wrapping_distribution_names_it():
    with pytest.raises(ValueError, match=r"^LogisticNormal: expected parameter scale .* GreaterThan"):
        D.LogisticNormal(0.0, -1.0)


@pytest.mark.parametrize("make", [lambda: D.Normal(0.0, 1.0), lambda: D.Bernoulli(probs=mg.tensor(0.5)),
                                  lambda: D.MultivariateNormal(mg.zeros(2), mg.eye(2)),
                                  lambda: D.LowRankMultivariateNormal(mg.zeros(2), mg.ones(2, 1), mg.ones(2))])
def test_expand_to_what_is_not_a_shape_names_the_method_and_what_came(make):
    dist = make()
    with pytest.raises(TypeError,
                       match=rf"{type(dist).__name__}\.expand: expected a shape, a tuple of integer sizes.* got 'a'"):
        dist.expand("a")
    assert tuple(dist.expand((3,)).batch_shape) == (3,)


def test_size_of_what_is_not_sizes_names_size():
    with pytest.raises(TypeError, match=r"Size: expected a shape, a tuple of integer sizes .* got \[2.5\]"):
        mg.Size([2.5])
    assert mg.Size([2, 3]) == (2, 3)


# ---------------------------------------------------------------- DataLoader: an index the dataset does not have


def _dataset():
    return U.TensorDataset(mg.arange(10).float(), mg.arange(10))


@pytest.mark.parametrize("options, given, bad", [
    (dict(sampler=[0, 99]), "sampler", 99), (dict(sampler=U.SubsetRandomSampler([3, 12]), batch_size=4), "sampler", 12),
    (dict(batch_sampler=[[0, 1], [10]]), "batch_sampler", 10)])
def test_dataloader_names_the_index_out_of_range_and_the_dataset_length(options, given, bad):
    with pytest.raises(IndexError,
                       match=rf"DataLoader: the {given} gave index {bad}, out of range for a dataset of 10 items"):
        list(U.DataLoader(_dataset(), **options))


def test_dataloader_out_of_range_in_a_subset_counts_the_subset():
    with pytest.raises(IndexError,
                       match=r"DataLoader: the sampler gave index 5, out of range for a dataset of 3 items"):
        list(U.DataLoader(U.Subset(_dataset(), [0, 1, 2]), sampler=[0, 5]))


def test_dataloader_negative_indices_in_range_still_count_from_the_end():
    batches = [b[1].tolist() for b in U.DataLoader(_dataset(), sampler=[0, -1], batch_size=2)]
    assert batches == [[0, 9]]


# ---------------------------------------------------------------- nn.init: a negative gain


@pytest.mark.parametrize("init", ["xavier_uniform_", "xavier_normal_"])
def test_xavier_with_a_negative_gain_names_it_and_leaves_the_tensor(init):
    w = mg.zeros(3, 4)
    with pytest.raises(ValueError, match=rf"{init}: gain must be a finite number >= 0, got -1.0"):
        getattr(mg.nn.init, init)(w, gain=-1.0)
    assert np.array_equal(w.numpy(), np.zeros((3, 4), np.float32))


def test_xavier_uniform_bound_with_gain_zero_and_two():
    w = mg.zeros(3, 4)
    mg.nn.init.xavier_uniform_(w, gain=0.0)
    assert np.array_equal(w.numpy(), np.zeros((3, 4), np.float32))
    mg.nn.init.xavier_uniform_(w, gain=2.0)         # bound 2 sqrt(6 / 7) = 1.8516
    assert np.abs(w.numpy()).max() <= 2 * np.sqrt(6 / 7)


# ---------------------------------------------------------------- testing


def test_assert_close_with_a_tolerance_that_is_not_a_number():
    a = mg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"assert_close: rtol must be a number, got str 'a'"):
        mg.testing.assert_close(a, a, rtol="a", atol=0.0)
    with pytest.raises(TypeError, match=r"assert_close: atol must be a number, got list"):
        mg.testing.assert_close(a, a, rtol=0.0, atol=[1e-3])
    with pytest.raises(ValueError, match=r"both 'rtol' and 'atol' must be either specified or omitted"):
        mg.testing.assert_close(a, a, rtol=0.0, atol=None)


def test_make_tensor_with_a_negative_size():
    with pytest.raises(ValueError, match=r"make_tensor: expected a shape of integer sizes >= 0, got \(-2,\)"):
        mg.testing.make_tensor(-2, dtype=mg.float32)
    assert mg.testing.make_tensor(2, 0, dtype=mg.float32).shape == (2, 0)


# ---------------------------------------------------------------- mg.jvp / mg.vjp: directions that are not numbers


def test_jvp_with_a_string_tangent_names_jvp():
    x = mg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"jvp: expected the tangents as tensors, arrays or numbers .*float32.*got str"):
        mg.jvp(lambda t: t * 2, x, "a")


def test_vjp_with_a_string_cotangent_names_vjp():
    x = mg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError,
                       match=r"vjp: expected the cotangent as a tensor, an array or numbers .*float32, got str"):
        mg.vjp(lambda t: t * 2, x, "a")
    _, (g,) = mg.vjp(lambda t: t * 2, x, mg.ones(3))
    assert np.array_equal(g, [2.0, 2.0, 2.0])


# ---------------------------------------------------------------- hooks that succeed


def _leaves():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    a.grad = np.array([10.0, 10.0], np.float32)
    return a, b


def test_hooks_that_succeed_still_accumulate_as_before():
    # L = sum(a * b): dL/da = b = [3, 4], dL/db = a = [1, 2]; b's hook doubles its gradient
    a, b = _leaves()
    b.register_hook(lambda g: g * 2)
    seen = []
    a.register_post_accumulate_grad_hook(lambda p: seen.append(np.array(p.grad)))
    (a * b).sum().backward()
    assert np.array_equal(a.grad, [13.0, 14.0]) and np.array_equal(b.grad, [2.0, 4.0])
    assert np.array_equal(seen[0], [13.0, 14.0])
    (a * b).sum().backward()                         # a second pass adds again
    assert np.array_equal(a.grad, [16.0, 18.0]) and np.array_equal(b.grad, [4.0, 8.0])


# ---------------------------------------------------------------- transforms: a tuple of rows as one tangent


def test_a_tangent_or_cotangent_as_a_tuple_of_tensors_is_a_type_error_not_stacked_rows():
    """Before: mg.vjp(f, x, (row0, row1)), autograd.functional.vjp/jvp(f, (x,), ((row0, row1),)) and
    fwAD.make_dual(x, (row0, row1)) stacked the rows into x's shape and computed with them; PyTorch refuses
    a tuple where its one tensor goes. The one-tensor calls beside them, against numpy."""
    from microgradseq import autograd_functional as AF
    from microgradseq import forward_ad as fwAD
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    rows = (mg.tensor([1.0, 0.0, 2.0]), mg.tensor([0.0, 3.0, 1.0]))
    u = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0]])

    def f(t):
        return t * t

    with pytest.raises(TypeError, match=r"^vjp: expected the cotangent as a tensor"):
        mg.vjp(f, x, rows)
    with pytest.raises(TypeError, match=r"^jvp: expected the tangents as tensors"):
        mg.jvp(f, (x,), (rows,))
    for call, name in ((lambda: AF.vjp(f, (x,), (rows,)), "vjp"), (lambda: AF.jvp(f, (x,), (rows,)), "jvp")):
        with pytest.raises(TypeError, match=rf"^{name}: expected a tensor or numbers, got a tuple of tensors"):
            call()
    with fwAD.dual_level():
        with pytest.raises(TypeError, match=r"^make_dual: expected a tensor or numbers, got a tuple of tensors"):
            fwAD.make_dual(x, rows)
        np.testing.assert_allclose(fwAD.unpack_dual(f(fwAD.make_dual(x, mg.tensor(u)))).tangent.data,
                                   2 * x.data * u)
    np.testing.assert_allclose(mg.vjp(f, x, mg.tensor(u))[1][0], 2 * x.data * u)
    np.testing.assert_allclose(np.asarray(mg.jvp(f, (x,), (mg.tensor(u),))[1]), 2 * x.data * u)
    np.testing.assert_allclose(AF.vjp(f, (x,), (mg.tensor(u),))[1][0].data, 2 * x.data * u)
