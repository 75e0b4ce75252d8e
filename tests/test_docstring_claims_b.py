"""Tests written from a line-by-line audit of the docstrings and comments of microgradseq/ops/ (every
file), tensor.py, creation.py, printing.py, dtypes.py, random.py, spellings.py, function_forms.py,
linalg.py, serialization.py and checkpoints.py against the code: each pins a claim (a formula, a dtype,
a default, an error, a behaviour "as PyTorch's") that no other test pinned. Expected values come from
closed forms, numpy written here, central finite differences in float64 or PyTorch's documentation,
never from the library's own output. Each docstring names the file and the claim. Two were false claims
where the code changed: the complex dtype of `mg.tensor` and `mg.full` (complex128 before), and an
einsum error that did not name its equation."""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F


def central_differences(f, x, eps=1e-6):
    """df/dx of a scalar function of a float64 array, entry by entry."""
    x = np.array(x, dtype=np.float64)
    slopes = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        slopes[i] = (f(up) - f(down)) / (2 * eps)
    return slopes


# ---- tensor.py, spellings.py, methods.py ----------------------------------------------------------------

def test_the_legacy_constructor_keeps_a_float_arrays_dtype_and_makes_python_numbers_the_default_float():
    """tensor.py, `tensor`: "`Tensor(data)`, PyTorch's legacy constructor, makes Python numbers and numpy arrays
    of ints or bools the default float dtype; a float numpy array keeps its dtype in both here"."""
    assert mg.Tensor(np.array([1, 2], dtype=np.int64)).dtype == mg.get_default_dtype()
    assert mg.Tensor(np.array([True, False])).dtype == mg.get_default_dtype()
    assert mg.tensor(np.array([1, 2], dtype=np.int64)).dtype == np.int64
    assert mg.Tensor(np.array([1.0], dtype=np.float64)).dtype == np.float64
    assert mg.Tensor([1, 2]).dtype == mg.get_default_dtype()
    assert mg.tensor([1, 2]).dtype == np.int64                    # torch.tensor infers int64


def test_a_device_equals_and_hashes_as_its_name_and_any_name_can_be_made():
    """spellings.py, `device`: "Any name can be made, as in PyTorch ... Equal to its name
    (`mg.device("cpu") == "cpu"`)"; a name with an index reads as type and index."""
    assert mg.device("cpu") == "cpu" and mg.device("cuda", 1) == "cuda:1"
    cuda = mg.device("cuda:1")
    assert (cuda.type, cuda.index) == ("cuda", 1)
    assert "cpu" in {mg.device("cpu")} and hash(mg.device("cpu:0")) == hash("cpu:0")


def test_a_0d_tensor_takes_dim_0_and_minus_1_in_argmax_softmax_squeeze_and_all():
    """ops/methods.py, `_axis`: "a 0-d tensor has dim 0 (or -1) too, as PyTorch gives the ops that take one
    (squeeze, argmax, all, softmax, ...): they act on its one entry"; any other dim is an IndexError."""
    x = mg.tensor(3.0)
    for dim in (0, -1):
        assert x.argmax(dim).item() == 0 and x.argmax(dim).dtype == np.int64
        assert x.softmax(dim).item() == 1.0                       # e^3 / e^3
        assert x.squeeze(dim).shape == () and bool(x.all(dim))
    with pytest.raises(IndexError, match="argmax: dim 1 is out of range"):
        x.argmax(1)


# ---- ops/einsum.py --------------------------------------------------------------------------------------

def test_einsum_implicit_output_is_alphabetical_with_capitals_before_small_letters():
    """ops/einsum.py: "Without '->' the output is the letters used once, in alphabetical order (A-Z before
    a-z)": "bA" names x's axes b, A and its output is "Ab", the transpose."""
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(mg.einsum("bA", mg.tensor(x)).numpy(), x.T)
    np.testing.assert_array_equal(mg.einsum("Ab", mg.tensor(x)).numpy(), x)


def test_einsum_implicit_output_puts_the_ellipsis_axes_in_front():
    """ops/einsum.py: "'...' stands for the axes a subscript does not name ... in front of the output
    without '->'": "i..." of a (2, 3) x is x^T; "...i,i" is x @ v."""
    x, v = np.arange(6.0).reshape(2, 3), np.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(mg.einsum("i...", mg.tensor(x)).numpy(), x.T)
    np.testing.assert_allclose(mg.einsum("...i,i", mg.tensor(x), mg.tensor(v)).numpy(), x @ v)


def test_einsum_takes_its_operands_as_one_list_and_ignores_spaces():
    """ops/einsum.py: "Spaces are ignored. The operands come one after another or as one list, as PyTorch
    takes them"."""
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    out = mg.einsum(" ij , jk -> ik ", [mg.tensor(a), mg.tensor(b)])
    np.testing.assert_allclose(out.numpy(), a @ b)


def test_einsum_gradient_of_a_repeated_letter_is_g_on_the_diagonal_and_of_a_lone_letter_g_repeated():
    """ops/einsum.py: "a letter twice in s_k (a diagonal) gets the gradient on the diagonal and 0 off it";
    "A letter of s_k found nowhere else was summed over on its own, so its gradient is g's value
    repeated along it"."""
    x = mg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    mg.einsum("ii->i", x).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, np.diag([1.0, 2.0, 3.0]))
    y = mg.tensor(np.ones((2, 3)), requires_grad=True)
    mg.einsum("ij->i", y).backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(y.grad, [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])


def test_einsum_error_for_a_subscript_that_does_not_fit_its_operand_names_the_equation():
    """ops/einsum.py, `einsum`: "A ValueError names einsum, the equation and the shapes when they do not
    fit it"."""
    with pytest.raises(ValueError, match=r"einsum: .*\(2, 3\).*'ijk,jk->ik'"):
        mg.einsum("ijk,jk->ik", mg.ones(2, 3), mg.ones(3, 4))


# ---- ops/filling.py, ops/sorting.py, ops/elementwise.py ---------------------------------------------------

def test_scatter_sends_the_written_entries_gradient_to_src_and_the_others_to_self():
    """ops/filling.py, `scatter`: "for dim 1, out[i][index[i][j]] = src[i][j] ... the gradient of the
    written entries goes to src, the others' to self". With weights w on the output: out[0][2] = src[0][0],
    out[0][0] = src[0][1], so d/dsrc = [w2, w0] and d/dself = [0, w1, 0]."""
    x = mg.tensor([[10.0, 20.0, 30.0]], requires_grad=True)
    src = mg.tensor([[1.0, 2.0]], requires_grad=True)
    out = x.scatter(1, mg.tensor([[2, 0]]), src)
    np.testing.assert_array_equal(out.numpy(), [[2.0, 20.0, 1.0]])
    (out * mg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(src.grad, [[3.0, 1.0]])
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 0.0]])


def test_sorted_values_are_a_tensor_of_their_own_not_a_part_of_the_input():
    """ops/sorting.py, `sort`: the values are "a tensor of its own, as PyTorch's: not a part of self", so
    a write into them leaves the input as it was (where a write into t[0:2] would reach t)."""
    t = mg.tensor([3.0, 1.0, 2.0])
    values = t.sort().values
    values[0] = 9.0
    np.testing.assert_array_equal(t.numpy(), [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(values.numpy(), [9.0, 2.0, 3.0])


def test_exp_of_uint8_is_in_the_default_float_dtype_where_numpy_gives_float16_inf():
    """ops/elementwise.py, `floats`: integers and bools are taken "in the default float dtype, as PyTorch
    gives exp, log, tanh, ... of one (numpy would give float16 for 8-bit ones: exp(uint8 12) = inf)"."""
    out = mg.tensor(np.array([12], dtype=np.uint8)).exp()
    assert out.dtype == mg.get_default_dtype()
    np.testing.assert_allclose(out.numpy(), [math.exp(12)], rtol=1e-6)


def test_astype_to_an_integer_dtype_cuts_toward_zero_and_has_no_history():
    """ops/elementwise.py, `astype`: converting to an integer dtype "has no gradient: the result has no
    history"; the values are cut toward zero, as PyTorch's `.long()` (1.7 -> 1, -1.7 -> -1)."""
    x = mg.tensor([1.7, -1.7, 2.5], requires_grad=True)
    out = mg.ops.astype(x, np.int64)
    assert out.tolist() == [1, -1, 2] and not out.requires_grad and out.grad_fn is None


# ---- ops/reduce.py, ops/losses.py ------------------------------------------------------------------------

@pytest.mark.parametrize("correction", [0, 2])
def test_var_and_std_gradients_with_a_correction_are_their_closed_forms(correction):
    """ops/reduce.py, `var`: "dvar/dx_i = 2 (x_i - mean) / (N - correction)"; `std`: "dstd/dx_i = (x_i -
    mean) / ((N - correction) std)", for a correction other than Bessel's."""
    data = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    centred, n = data - data.mean(), data.size
    x = mg.tensor(data, requires_grad=True)
    x.var(correction=correction).backward()
    np.testing.assert_allclose(x.grad, 2 * centred / (n - correction), rtol=1e-12)
    x = mg.tensor(data, requires_grad=True)
    std = x.std(correction=correction)
    std.backward()
    np.testing.assert_allclose(std.item(), np.sqrt((centred ** 2).sum() / (n - correction)), rtol=1e-12)
    np.testing.assert_allclose(x.grad, centred / ((n - correction) * std.item()), rtol=1e-12)


def test_kl_div_target_slope_with_log_target_is_e_to_the_t_times_t_minus_input_plus_1():
    """ops/losses.py, `kl_div`: with log_target, l = e^t (t - log q) and dl/dt = e^t (t - log q + 1),
    checked against the closed form and central differences of the loss written here."""
    log_q = np.log(np.array([0.2, 0.5, 0.3]))
    t = np.log(np.array([0.1, 0.4, 0.5]))
    target = mg.tensor(t, requires_grad=True)
    F.kl_div(mg.tensor(log_q), target, reduction="sum", log_target=True).backward()
    np.testing.assert_allclose(target.grad, np.exp(t) * (t - log_q + 1), rtol=1e-12)
    by_differences = central_differences(lambda u: (np.exp(u) * (u - log_q)).sum(), t)
    np.testing.assert_allclose(target.grad, by_differences, rtol=1e-7)


# ---- creation.py, random.py, printing.py -----------------------------------------------------------------

def test_normal_of_tensors_draws_one_per_entry_of_their_broadcast_shape_in_the_tensors_dtype():
    """creation.py, `normal`: "tensors of means and/or stds, one draw per entry of their broadcast shape
    (in the tensor's floating dtype)". With std 0 each draw is its mean."""
    means = mg.tensor(np.array([[1.0], [2.0]], dtype=np.float32))
    draws = mg.normal(means, mg.tensor(np.zeros(3, dtype=np.float32)))
    assert draws.shape == (2, 3) and draws.dtype == np.float32
    np.testing.assert_array_equal(draws.numpy(), [[1.0] * 3, [2.0] * 3])


def test_arange_with_a_float_step_computes_each_value_as_start_plus_i_step(float64_default):
    """creation.py, `arange`: "each value start + i * step in float64, rounded once (as PyTorch; numpy's
    arange fills start + i * (x_1 - x_0))", the default float dtype when a bound is not an integer.
    From -1 by 0.1, x_1 - x_0 is 0.09999999999999998, so numpy's values drift from -1 + i 0.1."""
    values = mg.arange(-1.0, 1.0, 0.1)
    assert values.dtype == np.float64 and values.shape == (20,)
    np.testing.assert_array_equal(values.numpy(), -1.0 + np.arange(20) * 0.1)
    assert mg.arange(0, 3, 1).dtype == np.int64 and mg.arange(0, 3, 0.5).dtype == np.float64


@pytest.mark.parametrize("seed", [2 ** 64 - 1, -5])
def test_generator_manual_seed_draws_as_default_rng_of_the_seed_pytorch_reads(seed):
    """random.py, `Generator.manual_seed`: "the draws that follow are `np.random.default_rng(seed)`'s";
    "a negative one is read as PyTorch's": PyTorch's documented 0xffff_ffff_ffff_ffff + seed."""
    expected_seed = seed if seed >= 0 else 0xffff_ffff_ffff_ffff + seed
    g = mg.Generator().manual_seed(seed)
    assert g.initial_seed() == expected_seed
    np.testing.assert_array_equal(g.random(3), np.random.default_rng(expected_seed).random(3))


def test_set_printoptions_checks_every_argument_before_any_option_changes():
    """printing.py, `set_printoptions`: "Every argument is checked before any option changes"."""
    mg.set_printoptions(profile="default")
    try:
        assert repr(mg.tensor([0.5, 0.25])) == "tensor([0.5000, 0.2500])"      # PyTorch's 4 digits
        with pytest.raises(ValueError, match="threshold must be a number >= 0"):
            mg.set_printoptions(precision=1, threshold=-1)
        assert repr(mg.tensor([0.5, 0.25])) == "tensor([0.5000, 0.2500])"
    finally:
        mg.set_printoptions(profile="default")


def test_python_complex_numbers_take_the_default_complex_dtype_as_pytorchs():
    """tensor.py, `tensor`: "its dtype inferred from the data as PyTorch's `torch.tensor` infers it";
    creation.py, `full`: "its dtype as PyTorch infers it". PyTorch's docs (torch.set_default_dtype): "When
    the default floating point type is float32 the default complex dtype is complex64", and
    `torch.tensor([1.2, 3j]).dtype` is complex64."""
    assert mg.get_default_dtype() == np.float32
    assert mg.tensor([1.2, 3j]).dtype == np.complex64
    assert mg.full((2,), 1j).dtype == np.complex64
