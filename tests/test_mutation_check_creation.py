"""Mutation check of tensor creation, randomness, dtypes and printing: tests that kill mutants the
rest of the suite let through. Expected values come from PyTorch's documented definitions, worked
out by hand or with plain numpy."""

import numpy as np
import pytest

import microgradseq as mg


def test_manual_seed_refuses_two_to_the_64():
    """Pins the upper end of the seed range: PyTorch takes seeds up to 2**64 - 1, so 2**64 is a
    ValueError while 2**64 - 1 is accepted."""
    mg.manual_seed(2 ** 64 - 1)
    with pytest.raises(ValueError):
        mg.manual_seed(2 ** 64)
    mg.manual_seed(0)


def test_a_list_mixing_a_float16_scalar_and_python_floats_is_the_default_dtype():
    """Pins that Python floats in a list count as the default dtype when promoted with numpy float
    scalars, as PyTorch infers them: [np.float16(1.5), 2.0] promotes float16 with float32 to float32;
    [np.float16(1.5)] alone stays float16."""
    assert mg.tensor([np.float16(1.5), 2.0]).dtype == np.float32
    assert mg.tensor([np.float16(1.5)]).dtype == np.float16



def test_factories_honour_requires_grad():
    """Pins that every creation function passes requires_grad=True on (a leaf that requires grad), as
    torch's factories do, and leaves it off by default."""
    x = mg.zeros(2, 3)
    made = [mg.eye(2, requires_grad=True), mg.linspace(0.0, 1.0, 3, requires_grad=True),
            mg.arange(0.0, 1.0, 0.5, requires_grad=True), mg.full_like(x, 2.0, requires_grad=True),
            mg.zeros_like(x, requires_grad=True), mg.ones_like(x, requires_grad=True),
            mg.rand_like(x, requires_grad=True), mg.randn_like(x, requires_grad=True),
            mg.rand(2, requires_grad=True), mg.full((2,), 1.5, requires_grad=True)]
    assert all(t.requires_grad for t in made)
    assert not any(t.requires_grad for t in (mg.eye(2), mg.linspace(0.0, 1.0, 3), mg.zeros_like(x)))


def test_linspace_includes_both_ends():
    """Pins torch.linspace's definition: steps values start + i * (end - start) / (steps - 1), both
    ends included: linspace(0, 1, 5) is 0, .25, .5, .75, 1 (float32)."""
    t = mg.linspace(0, 1, 5)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array([0.0, 0.25, 0.5, 0.75, 1.0], dtype=np.float32))


def test_eye_with_two_sizes_is_rectangular():
    """Pins eye(n, m): an n x m matrix with ones on the main diagonal."""
    np.testing.assert_array_equal(mg.eye(2, 3).data, [[1, 0, 0], [0, 1, 0]])


def test_randint_stays_within_low_and_high_exclusive():
    """Pins randint(low, high, size): integers low .. high - 1 (high excluded, low included), int64;
    with 400 draws from {5, 6} both values appear and nothing else does."""
    mg.manual_seed(0)
    values = mg.randint(5, 7, (400,))
    assert values.dtype == np.int64
    assert set(np.unique(values.data).tolist()) == {5, 6}


def test_randint_and_randperm_honour_their_dtype():
    """Pins the dtype= of randint and randperm (int64 by default, as PyTorch's)."""
    assert mg.randint(0, 5, (3,), dtype=mg.int32).dtype == np.int32
    assert mg.randperm(4).dtype == np.int64
    assert mg.randperm(4, dtype=mg.int32).dtype == np.int32


def test_randperm_is_a_permutation_of_all_n_values():
    """Pins randperm(n): each of 0 .. n - 1 exactly once."""
    np.testing.assert_array_equal(np.sort(mg.randperm(6).data), np.arange(6))


def test_randperm_draws_from_the_generator_given():
    """Pins randperm's generator=: mg.Generator().manual_seed(s) draws as numpy's default_rng(s)
    (the Generator's documented contract), so the permutation is that generator's."""
    got = mg.randperm(10, generator=mg.Generator().manual_seed(123))
    np.testing.assert_array_equal(got.data, np.random.default_rng(123).permutation(10))


def test_like_makers_and_empty_honour_an_explicit_dtype():
    """Pins dtype= of zeros_like, randn_like, empty and as_tensor: the dtype given wins over the
    input's (int64 input, float64 asked -> float64; float32 tensor as_tensor float64 -> float64)."""
    ints = mg.tensor([1, 2, 3])
    assert mg.zeros_like(ints, dtype=mg.float64).dtype == np.float64
    assert mg.randn_like(mg.zeros(2, dtype=mg.float64)).dtype == np.float64
    assert mg.empty(2, dtype=mg.float64).dtype == np.float64
    assert mg.as_tensor(mg.zeros(2), dtype=mg.float64).dtype == np.float64


def test_multinomial_without_replacement_never_repeats():
    """Pins multinomial(..., replacement=False): drawing all 3 categories gives each exactly once."""
    mg.manual_seed(0)
    for _ in range(20):
        np.testing.assert_array_equal(np.sort(mg.multinomial([1.0, 1.0, 1.0], 3).data), [0, 1, 2])


def test_repr_says_the_dtype_only_when_it_is_not_pytorch_s_default():
    """Pins the dtype shown in a print as PyTorch's: float32, int64 and bool go unsaid; float64 and
    int32 are said; an empty int64 tensor says its dtype (PyTorch: `tensor([], dtype=torch.int64)`)."""
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mg.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=" in repr(mg.tensor([1.0, 2.0], dtype=mg.float64)) and "float64" in repr(
        mg.tensor([1.0, 2.0], dtype=mg.float64))
    assert "int32" in repr(mg.tensor([1, 2], dtype=mg.int32))
    assert "int64" in repr(mg.zeros(0, dtype=mg.int64))


def test_repr_shows_requires_grad_on_a_leaf():
    """Pins `tensor([1., 2.], requires_grad=True)` for a leaf that requires grad."""
    assert repr(mg.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"


def test_repr_pads_floats_and_bools_as_pytorch():
    """Pins PyTorch's float and bool layout: 4 decimals padded to the widest entry, whole numbers as
    `1.`, scientific notation past a 1000x span, bools padded to the widest word present."""
    assert repr(mg.tensor([1.5, 10.25])) == "tensor([ 1.5000, 10.2500])"
    assert repr(mg.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert repr(mg.tensor([1.0, 1000.0])) == "tensor([   1., 1000.])"     # a span of exactly 1000: not sci
    assert repr(mg.tensor([True, True])) == "tensor([True, True])"
    assert repr(mg.tensor([True, False])) == "tensor([ True, False])"


def test_full_honours_an_explicit_dtype():
    """Pins full's dtype=: an integer fill with dtype=float64 is a float64 tensor of that value."""
    t = mg.full((2,), 1, dtype=mg.float64)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, [1.0, 1.0])


def test_integer_arange_refuses_requires_grad():
    """Pins that requires_grad is passed on by integer arange too: PyTorch refuses
    torch.arange(3, requires_grad=True) (only floating-point tensors can require gradients), so it
    must raise rather than silently drop the flag."""
    with pytest.raises((TypeError, RuntimeError)):
        mg.arange(3, requires_grad=True)
