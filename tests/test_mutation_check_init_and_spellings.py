"""Mutation check of the latest additions: nn.init's trunc_normal_ (both of PyTorch's samplers), eye_,
dirac_ and sparse_ (with the deprecated spellings), `element in t` (Tensor.__contains__), `reversed(t)`
(Tensor.__reversed__) and `where`'s uint8 condition. Each test kills a hand-made wrong implementation the
rest of the suite let through; expected values come from closed forms (the truncated normal's moments),
hand-written numpy, or PyTorch's documented behaviour (torch/nn/init.py, torch/_tensor.py, aten's
TensorCompare.cpp), never from running the library itself."""
import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn


def _phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _Phi(z):
    return (1 + math.erf(z / math.sqrt(2))) / 2


def _truncated_moments(mean, std, a, b):
    """Mean and variance of N(mean, std^2) truncated to [a, b] (closed forms)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = _Phi(beta) - _Phi(alpha)
    m = (_phi(alpha) - _phi(beta)) / z
    v = 1 + (alpha * _phi(alpha) - beta * _phi(beta)) / z - m ** 2
    return mean + std * m, std ** 2 * v


# ---- trunc_normal_ ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mean, std, a, b", [
    (3.0, 1.0, 0.0, 1.0),        # mass 0.021, mean above b: the uniform sampler's peak is b, not a
    (0.0, 0.5, 1.0, 1.5),        # mass 0.021, std != 1: acceptance e^(-(x - mean)^2 / 2 std^2)
    (0.0, 0.5, -1.0, 1.0),       # mass 0.954, std != 1: normal draws with std (not its square)
])
def test_trunc_normal_matches_the_truncated_normals_mean_and_variance(mean, std, a, b):
    values = nn.init.trunc_normal_(mg.empty(100_000, dtype=np.float64), mean=mean, std=std, a=a, b=b,
                                   rng=np.random.default_rng(10)).data
    expected_mean, expected_var = _truncated_moments(mean, std, a, b)
    assert a <= values.min() and values.max() <= b
    assert abs(values.mean() - expected_mean) < 5 * math.sqrt(expected_var / values.size)
    assert abs(values.var() - expected_var) < 0.02 * expected_var


def test_trunc_normal_defaults_to_the_interval_minus_two_to_two():
    """PyTorch's defaults: mean 0, std 1, a = -2, b = 2."""
    values = nn.init.trunc_normal_(mg.empty(100_000, dtype=np.float64), rng=np.random.default_rng(11)).data
    assert -2.0 <= values.min() < -1.95 and 1.95 < values.max() <= 2.0


def test_trunc_normal_redraws_every_value_outside_the_interval_including_the_first():
    """[0, 1] under N(0, 1) holds 0.34 of the mass (the normal sampler): two draws in three are redrawn. A
    value exactly at a bound has probability 0, so one there is a draw left outside and clipped."""
    for seed in range(20):
        values = nn.init.trunc_normal_(mg.empty(3, dtype=np.float64), a=0.0, b=1.0,
                                       rng=np.random.default_rng(seed)).data
        assert ((0.0 < values) & (values < 1.0)).all()


def test_trunc_normal_with_a_equal_to_b_gives_that_value():
    """PyTorch: mass 0, uniform draws on [a, a], all kept."""
    values = nn.init.trunc_normal_(mg.empty(5, dtype=np.float64), a=0.5, b=0.5, rng=np.random.default_rng(0)).data
    np.testing.assert_array_equal(values, np.full(5, 0.5))


@pytest.mark.parametrize("std", [0.0, -1.0])
def test_trunc_normal_refuses_a_std_that_is_not_positive(std):
    with pytest.raises(ValueError, match="trunc_normal_: expected std > 0 and a <= b"):
        nn.init.trunc_normal_(mg.empty(3), std=std)


def test_trunc_normal_warns_only_beyond_two_std_from_the_interval():
    """PyTorch warns when mean < a - 2 std or mean > b + 2 std; 1.5 std away it does not."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.init.trunc_normal_(mg.empty(3), mean=3.5, std=1.0, a=-2.0, b=2.0, rng=np.random.default_rng(0))
        nn.init.trunc_normal_(mg.empty(3), mean=-3.5, std=1.0, a=-2.0, b=2.0, rng=np.random.default_rng(0))
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        nn.init.trunc_normal_(mg.empty(3), mean=-4.5, std=1.0, a=-2.0, b=2.0, rng=np.random.default_rng(0))


@pytest.mark.parametrize("init, args", [("trunc_normal_", {}), ("sparse_", {"sparsity": 0.5})])
def test_random_inits_draw_from_the_given_generator(init, args):
    """Same seed, same values; different seeds, different values."""
    def draw(seed):
        return getattr(nn.init, init)(mg.empty(6, 4, dtype=np.float64), rng=np.random.default_rng(seed), **args).data
    np.testing.assert_array_equal(draw(5), draw(5))
    assert not np.array_equal(draw(5), draw(6))


# ---- eye_ -------------------------------------------------------------------------------------------------

def test_eye_refuses_a_vector():
    with pytest.raises(ValueError, match="eye_: expected a tensor of 2 axes"):
        nn.init.eye_(mg.empty(3))


def test_eye_fills_an_integer_tensor_too():
    """PyTorch's torch.eye(..., out=tensor) takes any dtype; no random values, so no floating check."""
    w = mg.tensor(np.zeros((2, 3), dtype=np.int64))
    np.testing.assert_array_equal(nn.init.eye_(w).data, [[1, 0, 0], [0, 1, 0]])


# ---- dirac_ -----------------------------------------------------------------------------------------------

def test_dirac_puts_the_one_at_size_floor_half_for_an_even_kernel():
    """PyTorch: index tensor.size(k) // 2 along each kernel axis: 2 for a kernel of 4."""
    expected = np.zeros((2, 2, 4, 4))
    expected[0, 0, 2, 2] = expected[1, 1, 2, 2] = 1.0
    np.testing.assert_array_equal(nn.init.dirac_(mg.empty(2, 2, 4, 4, dtype=np.float64)).data, expected)


def test_dirac_with_groups_stops_at_the_groups_output_channels():
    """out 4, in 3, groups 2: per group min(4 / 2, 3) = 2 channels: (0, 0), (1, 1), (2, 0), (3, 1)."""
    expected = np.zeros((4, 3, 3))
    for o, i in [(0, 0), (1, 1), (2, 0), (3, 1)]:
        expected[o, i, 1] = 1.0
    np.testing.assert_array_equal(nn.init.dirac_(mg.empty(4, 3, 3, dtype=np.float64), groups=2).data, expected)


@pytest.mark.parametrize("groups", [0, -2, 2.0, True])
def test_dirac_refuses_groups_that_are_not_positive_integers(groups):
    with pytest.raises(ValueError, match="dirac_: groups must be a positive integer"):
        nn.init.dirac_(mg.empty(4, 2, 3), groups=groups)


# ---- sparse_ ----------------------------------------------------------------------------------------------

def test_sparse_zeros_ceil_not_floor_of_sparsity_times_rows():
    """PyTorch: num_zeros = ceil(sparsity * rows): ceil(0.25 * 10) = 3 per column."""
    values = nn.init.sparse_(mg.empty(10, 6, dtype=np.float64), 0.25, rng=np.random.default_rng(0)).data
    np.testing.assert_array_equal((values == 0).sum(axis=0), np.full(6, 3))


def test_sparse_draws_each_columns_zero_rows_at_random():
    """torch.randperm(rows) per column: the columns' zero rows are not all the same rows."""
    values = nn.init.sparse_(mg.empty(20, 30, dtype=np.float64), 0.2, rng=np.random.default_rng(1)).data
    zero_rows = {tuple(np.flatnonzero(values[:, c] == 0)) for c in range(30)}
    assert len(zero_rows) > 1


def test_sparse_takes_sparsity_zero_and_one():
    none = nn.init.sparse_(mg.empty(5, 4, dtype=np.float64), 0.0, rng=np.random.default_rng(2)).data
    assert (none != 0).all()
    np.testing.assert_array_equal(nn.init.sparse_(mg.empty(5, 4), 1.0, rng=np.random.default_rng(2)).data,
                                  np.zeros((5, 4)))


def test_sparse_std_defaults_to_one_hundredth():
    """PyTorch's default std = 0.01."""
    values = nn.init.sparse_(mg.empty(200, 100, dtype=np.float64), 0.1, rng=np.random.default_rng(3)).data
    assert abs(values[values != 0].std() - 0.01) < 0.0005


def test_sparse_refuses_a_negative_std_and_other_ranks():
    with pytest.raises(ValueError, match="sparse_: expected 0 <= sparsity <= 1 and std >= 0"):
        nn.init.sparse_(mg.empty(3, 3), 0.5, std=-0.1)
    with pytest.raises(ValueError, match="sparse_: expected a tensor of 2 axes"):
        nn.init.sparse_(mg.empty(3, 3, 3), 0.5)


@pytest.mark.parametrize("name, args", [("eye", ()), ("dirac", ())])
def test_eye_and_dirac_spellings_without_underscore_warn_as_deprecated(name, args):
    shape = (2, 2) if name == "eye" else (2, 2, 3)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`"):
        getattr(nn.init, name)(mg.empty(*shape), *args)


def test_the_new_inits_are_in_all():
    assert {"dirac_", "eye_", "sparse_", "trunc_normal_"} <= set(nn.init.__all__)


# ---- element in t (Tensor.__contains__) -------------------------------------------------------------------

@pytest.mark.parametrize("element", [[1.0], (1.0,), np.array(1.0)])
def test_in_refuses_a_list_tuple_or_array_as_pytorch(element):
    """PyTorch: isinstance(element, (Tensor, Number)) or RuntimeError."""
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        element in mg.tensor([1.0, 2.0])


def test_in_takes_any_number_including_numpy_scalars_and_bool():
    """numbers.Number covers np.int64, np.float32 and bool (PyTorch's check is against numbers.Number)."""
    t = mg.tensor([0.0, 1.0, 2.0])
    assert np.int64(2) in t and np.float32(1.0) in t and True in t and np.int64(7) not in t


def test_in_compares_exactly_not_approximately():
    assert 2.0 + 1e-12 not in mg.tensor([1.0, 2.0], dtype=np.float64)


def test_contains_returns_a_python_bool():
    """PyTorch: (element == self).any().item()."""
    t = mg.tensor([1.0, 2.0])
    assert type(t.__contains__(2.0)) is bool and type(t.__contains__(5.0)) is bool


# ---- where's condition ------------------------------------------------------------------------------------

def test_where_refuses_an_int8_condition():
    """TensorCompare.cpp: only Byte (uint8) is accepted besides Bool; int8 is refused."""
    with pytest.raises(TypeError, match="where: the condition must be a boolean array or tensor, got dtype int8"):
        mg.where(mg.tensor(np.array([1, 0], dtype=np.int8)), mg.tensor([1.0, 2.0]), 0.0)


def test_where_names_a_plain_int_condition_by_its_type():
    with pytest.raises(TypeError, match="got int$"):
        mg.where(1, mg.tensor([1.0, 2.0]), 0.0)


def test_where_reads_a_uint8_array_as_bool_with_pytorchs_full_warning():
    x = mg.tensor([1.0, 2.0, 3.0], dtype=np.float64)
    with pytest.warns(UserWarning, match="where received a uint8 condition tensor. This behavior is deprecated and "
                                         "will be removed in a future version of PyTorch. Use a boolean condition "
                                         "instead."):
        y = mg.where(np.array([2, 0, 1], dtype=np.uint8), x, 0.0)
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 3.0])


def test_where_uint8_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mg.where(mg.tensor(np.array([1, 0], dtype=np.uint8)), mg.tensor([1.0, 2.0]), 0.0)
    assert [w.filename for w in caught] == [__file__]
