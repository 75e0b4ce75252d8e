"""Tests written from a mutation check of the transposed convolutions (functional/transposed_convolution.py:
F.conv_transpose1d / F.conv_transpose2d; nn/conv_transpose.py: nn.ConvTranspose1d / nn.ConvTranspose2d, their
output_size rule, init and repr): each pins a behaviour that a hand-made wrong implementation changed without
any other test noticing. Expected values come from closed forms or from the scatter definition written here
in numpy (PyTorch's docstrings), never from the library's own output; expected errors are the library's own
documented checks (PyTorch's rules, each naming the function or the module)."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn.utils import parametrizations

F64 = np.float64


def np_conv_transpose1d(x, w, stride, padding, output_padding, dilation):
    """PyTorch's definition, one group: y[n, o, s t + d k - p] += x[n, c, t] w[c, o, k] (what lands outside
    the output dropped); L_out = (L - 1) s - 2p + d (K - 1) + output_padding + 1."""
    N, C, L = x.shape
    _, O, K = w.shape
    size = (L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1
    y = np.zeros((N, O, size))
    for t in range(L):
        for k in range(K):
            place = stride * t + dilation * k - padding
            if 0 <= place < size:
                y[:, :, place] += x[:, :, t] @ w[:, :, k]
    return y


# ---- the functional checks ------------------------------------------------------------------------------

@pytest.mark.parametrize("groups", [0, -1, 1.0, 2.5])
def test_groups_must_be_a_positive_integer(groups):
    """PyTorch refuses non-positive groups; the library names the function and the value (a float 1.0 is
    no integer either)."""
    with pytest.raises(ValueError, match=r"conv_transpose1d: expected groups a positive integer, got "):
        F.conv_transpose1d(mg.ones(1, 2, 3), mg.ones(2, 1, 2), groups=groups)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv_transpose1d(mg.ones(1, 2, 3), mg.ones(2, 1, 2, 1)),
     r"conv_transpose1d: expected weight of 3 axes \(in_channels, out_channels / groups, kernel_size\), "
     r"got shape \(2, 1, 2, 1\)"),
    (lambda: F.conv_transpose2d(mg.ones(1, 2, 3, 3), mg.ones(2, 1, 2, 2, 2)),
     r"conv_transpose2d: expected weight of 4 axes \(in_channels, out_channels / groups, kH, kW\), "
     r"got shape \(2, 1, 2, 2, 2\)"),
    (lambda: F.conv_transpose1d(mg.ones(1, 1, 2, 3), mg.ones(2, 1, 2)),
     r"conv_transpose1d: expected input of 2 axes \(unbatched\) or 3 \(batched\), got shape \(1, 1, 2, 3\)"),
])
def test_weight_and_input_with_too_many_axes_are_refused(call, message):
    """The weight must have exactly dims + 2 axes and the input dims + 1 or dims + 2, not at least that many."""
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("input_shape, weight_shape", [((1, 2, 3), (2, 1, 0)), ((1, 2, 0), (2, 1, 2)),
                                                        ((2, 0), (2, 1, 2))])
def test_an_empty_kernel_or_an_empty_input_length_is_refused(input_shape, weight_shape):
    with pytest.raises(ValueError, match=r"conv_transpose1d: expected a kernel and an input of at least one "
                                         r"position along each spatial axis"):
        F.conv_transpose1d(mg.ones(*input_shape), mg.ones(*weight_shape))


def test_an_input_with_fewer_channels_than_the_weight_is_refused():
    """weight.shape[0] is the input's channel count: fewer channels is as wrong as more."""
    with pytest.raises(ValueError, match=r"conv_transpose1d: weight of shape \(2, 1, 2\) expects input with 2 "
                                         r"channels \(weight.shape\[0\]\), got input of shape \(1, 1, 3\) with 1"):
        F.conv_transpose1d(mg.ones(1, 1, 3), mg.ones(2, 1, 2))


@pytest.mark.parametrize("bias_shape", [(1, 1), (1, 2)])
def test_a_bias_must_be_exactly_out_channels_long_and_one_axis(bias_shape):
    with pytest.raises(ValueError, match=r"conv_transpose1d: expected bias of shape \(2,\) \(weight.shape\[1\] "
                                         r"\* groups\), got \(1, "):
        F.conv_transpose1d(mg.ones(1, 2, 3), mg.ones(2, 2, 2), mg.ones(*bias_shape))


@pytest.mark.parametrize("input_dtype", [np.int64, np.float32])
def test_an_integer_weight_is_a_type_error(input_dtype):
    """PyTorch's transposed convolution has no integer kernel: the weight's dtype is the error, also next to a
    floating input (not a dtype mismatch of the input)."""
    with pytest.raises(TypeError, match=r"conv_transpose1d: expected a floating-point weight, got int64"):
        F.conv_transpose1d(mg.ones(1, 2, 3, dtype=input_dtype), mg.ones(2, 1, 2, dtype=mg.int64))


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv_transpose1d(mg.ones(1, 2, 3), mg.ones(2, 1, 2), mg.ones(1, dtype=F64)),
     r"conv_transpose1d: expected bias of one floating-point dtype with the weight \(float32\), got float64"),
    (lambda: F.conv_transpose1d(mg.ones(1, 2, 3, dtype=mg.float16), mg.ones(2, 1, 2)),
     r"conv_transpose1d: expected input of one floating-point dtype with the weight \(float32\), got float16"),
    (lambda: F.conv_transpose2d(mg.ones(1, 2, 3, 3, dtype=F64), mg.ones(2, 1, 2, 2)),
     r"conv_transpose2d: expected input of one floating-point dtype with the weight \(float32\), got float64"),
])
def test_input_and_bias_must_have_the_weights_dtype_exactly(call, message):
    """PyTorch: "expected input and weight (and bias) to have the same dtype"; float16 against float32 is a
    different floating dtype too."""
    with pytest.raises(TypeError, match=message):
        call()


def test_an_output_of_zero_positions_is_refused():
    """(1 - 1) 1 - 2 * 1 + 1 * (2 - 1) + 0 + 1 = 0 positions: an error, not an empty output."""
    with pytest.raises(ValueError, match=r"conv_transpose1d: the output would have 0 positions"):
        F.conv_transpose1d(mg.ones(1, 1, 1), mg.ones(1, 1, 2), padding=1)
    with pytest.raises(ValueError, match=r"conv_transpose2d: the output would have \(2, 0\) positions"):
        F.conv_transpose2d(mg.ones(1, 1, 1, 1), mg.ones(1, 1, 2, 2), padding=(0, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_a_low_precision_call_keeps_its_dtype_and_values(dtype):
    """Closed form: stride = kernel = 2 does not overlap, y[2t + k] = x[t] w[k] + b; the output keeps the
    operands' dtype (no float64 on the way)."""
    x = mg.tensor(np.array([[[1.0, 2.0, 3.0]]], dtype=dtype))
    w = mg.tensor(np.array([[[10.0, 1.0]]], dtype=dtype))
    y = F.conv_transpose1d(x, w, mg.tensor(np.array([0.5], dtype=dtype)), stride=2)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, np.array([[[10.5, 1.5, 20.5, 2.5, 30.5, 3.5]]], dtype=dtype))
    unbatched = F.conv_transpose2d(mg.ones(1, 2, 2, dtype=dtype), mg.ones(1, 1, 1, 1, dtype=dtype), stride=2)
    assert unbatched.dtype == dtype and unbatched.shape == (1, 3, 3)


@pytest.mark.parametrize("stride", [1, 2])
def test_an_input_that_lands_wholly_outside_the_output_gives_the_bias_alone(stride):
    """One input position, kernel 1, padding 2: it lands at s * 0 + d * 0 - 2 = -2, outside an output of
    (1 - 1) s - 4 + 0 + 5 + 1 = 2 positions (output_padding 5 is below dilation 6, PyTorch's rule), so every
    output is the bias; the gradients of input and weight are zero and the bias' one counts the positions."""
    x = mg.tensor(np.array([[[3.0]]]), requires_grad=True)
    w = mg.tensor(np.array([[[2.0], [5.0]]]), requires_grad=True)
    b = mg.tensor(np.array([0.25, -1.5]), requires_grad=True)
    y = F.conv_transpose1d(x, w, b, stride=stride, padding=2, output_padding=5, dilation=6)
    np.testing.assert_array_equal(y.data, [[[0.25, 0.25], [-1.5, -1.5]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((1, 1, 1)))
    np.testing.assert_array_equal(w.grad, np.zeros((1, 2, 1)))
    np.testing.assert_array_equal(b.grad, [2.0, 2.0])
    flat = F.conv_transpose2d(mg.ones(1, 1, 1, dtype=F64), mg.ones(1, 1, 1, 1, dtype=F64), mg.tensor(np.array([7.0])),
                              stride=(stride, 1), padding=(2, 0), output_padding=(5, 0), dilation=(6, 1))
    np.testing.assert_array_equal(flat.data, np.full((1, 2, 1), 7.0))


@pytest.mark.parametrize("name, value, message", [
    ("output_padding", -1, r"expected output_padding non-negative \(>= 0\), got -1"),
    ("dilation", 0, r"expected dilation positive \(>= 1\), got 0"),
    ("padding", (0, -1), r"expected padding non-negative \(>= 0\), got \(0, -1\)"),
    ("stride", (1, 0), r"expected stride positive \(>= 1\), got \(1, 0\)"),
])
def test_functional_settings_out_of_range_are_refused(name, value, message):
    """PyTorch: negative output_padding and padding, non-positive stride and dilation are errors."""
    with pytest.raises(ValueError, match=r"conv_transpose2d: " + message):
        F.conv_transpose2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), **{"stride": 2, name: value})


def test_conv_transpose2d_names_itself_in_its_errors():
    with pytest.raises(ValueError, match=r"^conv_transpose2d: output_padding must be smaller than either stride "
                                         r"or dilation, got output_padding=\(2, 0\)"):
        F.conv_transpose2d(mg.ones(1, 1, 3, 3), mg.ones(1, 1, 2, 2), stride=2, output_padding=(2, 0))


# ---- the modules' settings ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, args, kwargs", [
    ("in_channels", (0, 2, 2), {}), ("out_channels", (2, 0, 2), {}), ("groups", (2, 2, 2), {"groups": 0}),
    ("in_channels", (2.5, 2, 2), {}), ("out_channels", (2, 2.0, 2), {}), ("groups", (2, 2, 2), {"groups": 1.0}),
])
def test_module_channels_and_groups_must_be_positive_integers(name, args, kwargs):
    with pytest.raises(ValueError, match=rf"ConvTranspose1d: {name} must be a positive integer, got "):
        nn.ConvTranspose1d(*args, **kwargs)


def test_module_out_channels_must_be_divisible_by_groups():
    """PyTorch's _ConvNd: "out_channels must be divisible by groups"."""
    with pytest.raises(ValueError, match=r"ConvTranspose2d: out_channels must be divisible by groups, got "
                                         r"in_channels=4, out_channels=3, groups=2"):
        nn.ConvTranspose2d(4, 3, 2, groups=2)


def test_module_names_in_channels_first_when_neither_is_divisible_by_groups():
    """PyTorch's _ConvNd checks in_channels % groups before out_channels % groups."""
    with pytest.raises(ValueError, match=r"ConvTranspose1d: in_channels must be divisible by groups, got "
                                         r"in_channels=3, out_channels=5, groups=2"):
        nn.ConvTranspose1d(3, 5, 2, groups=2)


@pytest.mark.parametrize("kwargs, message", [
    ({"dilation": 0}, r"expected dilation positive \(>= 1\), got 0"),
    ({"stride": (1, 0)}, r"expected stride positive \(>= 1\), got \(1, 0\)"),
    ({"padding": -1}, r"expected padding non-negative \(>= 0\), got -1"),
    ({"kernel_size": (2, 2, 2)}, r"expected kernel_size to be a single integer or a tuple of 2 integers"),
    ({"output_padding": (1, 1, 1)}, r"expected output_padding to be a single integer or a tuple of 2 integers"),
])
def test_module_settings_out_of_range_are_refused(kwargs, message):
    settings = {"kernel_size": 2, **kwargs}
    with pytest.raises((ValueError, TypeError), match=r"ConvTranspose2d: " + message):
        nn.ConvTranspose2d(2, 2, **settings)


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_module_padding_mode_other_than_zeros_is_refused(mode):
    """PyTorch: 'Only "zeros" padding mode is supported for ConvTranspose1d'."""
    with pytest.raises(ValueError, match=r"ConvTranspose1d: only 'zeros' padding mode is supported"):
        nn.ConvTranspose1d(2, 2, 2, padding_mode=mode)


def test_module_bias_dtype_and_device_are_checked():
    with pytest.raises(ValueError, match=r"ConvTranspose1d: bias must be True or False, got 1"):
        nn.ConvTranspose1d(2, 2, 2, bias=1)
    with pytest.raises(TypeError, match=r"ConvTranspose1d: expected a floating-point dtype, got int64"):
        nn.ConvTranspose1d(2, 2, 2, dtype=np.int64)
    with pytest.raises(RuntimeError, match=r"ConvTranspose2d: device 'cuda' is not available"):
        nn.ConvTranspose2d(2, 2, 2, device="cuda")
    layer = nn.ConvTranspose2d(2, 2, 2, device="cpu", dtype=F64, bias=np.bool_(False))
    assert layer.weight.dtype == F64 and layer.bias is None


# ---- forward(x, output_size): PyTorch's _ConvTransposeNd._output_padding ----------------------------------

def test_output_size_counts_the_dilation_in_the_least_size():
    """PyTorch's _output_padding: min size (L - 1) s - 2p + d (K - 1) + 1 = 3 * 2 - 0 + 2 * 2 + 1 = 11 for L = 4,
    s = 2, d = 2, K = 3; output_size 12 is output_padding 1. Values against the scatter definition."""
    layer = nn.ConvTranspose1d(2, 3, 3, stride=2, dilation=2, bias=False, rng=np.random.default_rng(0), dtype=F64)
    x = np.random.default_rng(1).standard_normal((2, 2, 4))
    for size, extra in [(11, 0), (12, 1)]:
        y = layer(mg.tensor(x), output_size=[size])
        np.testing.assert_allclose(y.data, np_conv_transpose1d(x, layer.weight.data, 2, 0, extra, 2),
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"ConvTranspose1d: requested an output size of \[13\], but valid sizes "
                                         r"range from \[11\] to \[12\]"):
        layer(mg.tensor(x), output_size=[13])


def test_output_size_one_past_the_largest_is_refused():
    """The valid sizes are least .. least + stride - 1 (PyTorch's max_sizes): with least 9 and stride 2, 10 is
    the last one and 11 an error, also along one axis of two."""
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, rng=np.random.default_rng(2))
    x = mg.ones(1, 2, 4, 4)
    assert layer(x, output_size=(10, 9)).shape == (1, 3, 10, 9)
    for size in [(11, 9), (9, 11), (8, 9)]:
        with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[.*\], but valid "
                                             r"sizes range from \[9, 9\] to \[10, 10\]"):
            layer(x, output_size=size)


def test_output_size_range_is_set_by_the_stride_not_the_dilation():
    """PyTorch's max_sizes are min_sizes + stride - 1: with stride 1 the only size is the least, even where
    dilation 3 would allow output_padding 1 or 2 (F.conv_transpose1d's own rule)."""
    layer = nn.ConvTranspose1d(1, 1, 2, dilation=3, rng=np.random.default_rng(3))
    x = mg.ones(1, 1, 4)                                # least: 3 + 3 + 1 = 7
    assert layer(x, output_size=[7]).shape == (1, 1, 7)
    with pytest.raises(ValueError, match=r"ConvTranspose1d: requested an output size of \[8\], but valid sizes "
                                         r"range from \[7\] to \[7\]"):
        layer(x, output_size=[8])


@pytest.mark.parametrize("output_size", [(10.0, 10.0), [9.5, 9], (1, 3, 9.0, 9), (), []])
def test_output_size_must_be_two_or_four_integers(output_size):
    """PyTorch's _output_padding: an output_size (even an empty one: only None means "not given") must have
    2 or 4 entries, here integers."""
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, rng=np.random.default_rng(4))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: for a 4-d input, output_size must be 2 or 4 integers"):
        layer(mg.ones(1, 2, 4, 4), output_size=output_size)


@pytest.mark.parametrize("shape, output_size", [((1, 1, 2, 4, 4), (10, 10)), ((4, 4), (100, 100)), ((4,), (10,))])
def test_output_size_for_an_input_of_the_wrong_rank_names_the_input(shape, output_size):
    """With an input of neither 3 nor 4 axes, the error is the input's rank (the functional check), not the
    output_size's length or range read off the wrong axes."""
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, rng=np.random.default_rng(5))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: expected input of 3 axes \(unbatched\) or 4 "
                                         r"\(batched\), got shape "):
        layer(mg.ones(*shape), output_size=output_size)


# ---- spectral_norm on a transposed convolution ---------------------------------------------------------------

@pytest.mark.parametrize("apply", ["parametrizations", "hook"])
def test_spectral_norm_dim_none_is_axis_1_for_a_transposed_convolution(apply):
    """PyTorch's spectral_norm (both torch.nn.utils.spectral_norm and parametrizations.spectral_norm): dim None
    is 1 for ConvTranspose1d/2d/3d (their weight is (in, out / groups, *K): the output axis is 1), else 0; the
    u vector has weight.shape[dim] entries."""
    layer = nn.ConvTranspose1d(3, 2, 4, rng=np.random.default_rng(6))
    if apply == "parametrizations":
        u = parametrizations.spectral_norm(layer).parametrizations.weight[0]._u
    else:
        u = nn.utils.spectral_norm(layer).weight_u
    assert u.shape == (2,)


def test_spectral_norm_of_a_transposed_convolution_divides_by_sigma_of_the_output_axis_first_matrix():
    """PyTorch: with dim 1 the matrix is W with axis 1 moved first, (out / groups, in * K); many power steps
    reach its largest singular value (numpy's SVD), and the weight read is W / sigma."""
    mg.manual_seed(0)
    layer = parametrizations.spectral_norm(nn.ConvTranspose2d(4, 3, 2, dtype=F64), n_power_iterations=300)
    W = layer.parametrizations.weight.original.numpy()
    sigma = np.linalg.svd(np.moveaxis(W, 1, 0).reshape(3, -1), compute_uv=False)[0]
    np.testing.assert_allclose(layer.weight.numpy(), W / sigma, rtol=1e-9)
