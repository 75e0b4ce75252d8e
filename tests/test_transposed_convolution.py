"""F.conv_transpose1d, 2d and 3d, nn.ConvTranspose1d, 2d and 3d: PyTorch's transposed convolutions. Values
against the definition written here in numpy (a loop in which each input position
scatters input * weight into the output: y[n, o, s t + d k - p] += x[n, c, t] w[c, o, k]); the adjoint
identity <conv(x, w), y> = <x, conv_transpose(y, w)> against the library's own conv1d / 2d / 3d (the
transposed convolution is the adjoint of the convolution, an identity neither side is written from);
gradients of input, weight and bias against central differences and tangents against directional
differences of the numpy loop, in float64; the modules' output_size rule, init bounds and reprs (PyTorch's,
written down as literals); every error, naming the function or the module, before anything changes."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_forward_mode import directional_difference
from test_op_gradients import assert_gradients_match, values

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

F64 = np.float64


# ---- the reference: each input position scatters into the output ----------------------------------------

def np_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """y[n, g Og + o, s t + d k - p] += x[n, g Cg + c, t] w[g Cg + c, o, k] for every input position t and
    kernel position k (axis by axis), what lands outside the output dropped, then b[o] added; the output has
    (L - 1) s - 2p + d (K - 1) + output_padding + 1 positions along each axis (PyTorch's docstring)."""
    x, w = np.asarray(x, dtype=F64), np.asarray(w, dtype=F64)
    dims = w.ndim - 2
    unbatched = x.ndim == dims + 1
    x = x[None] if unbatched else x
    s, p, e, d = (tuple(v) * (dims // len(v)) if isinstance(v, tuple) else (v,) * dims
                  for v in (stride, padding, output_padding, dilation))
    in_channels, per_group, *kernel = w.shape
    sizes = [(n - 1) * s[i] - 2 * p[i] + d[i] * (kernel[i] - 1) + e[i] + 1 for i, n in enumerate(x.shape[2:])]
    y = np.zeros((x.shape[0], per_group * groups, *sizes))
    for c in range(in_channels):
        group = c // (in_channels // groups)
        outputs = slice(group * per_group, (group + 1) * per_group)
        for t in itertools.product(*(range(n) for n in x.shape[2:])):
            for k in itertools.product(*(range(n) for n in kernel)):
                place = tuple(s[i] * t[i] + d[i] * k[i] - p[i] for i in range(dims))
                if all(0 <= place[i] < sizes[i] for i in range(dims)):
                    y[(slice(None), outputs) + place] += x[(slice(None), c) + t][:, None] * w[(c, slice(None)) + k]
    if b is not None:
        y += np.asarray(b, dtype=F64).reshape((-1,) + (1,) * dims)
    return y[0] if unbatched else y


def conv_output_sizes(x_shape, w_shape, stride, padding, dilation):
    """The plain convolution's output sizes, floor((L + 2p - d (K - 1) - 1) / s) + 1 per axis (PyTorch's
    Conv1d docstring), for the adjoint identity's y."""
    dims = len(w_shape) - 2
    return [(n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, s, p, d, k in zip(x_shape[-dims:], stride, padding, dilation, w_shape[2:])]


# ---- values ---------------------------------------------------------------------------------------------

# (input shape, weight shape, stride, padding, output_padding, groups, dilation, bias)
CASES = [
    ((2, 3, 4), (3, 2, 3), 1, 0, 0, 1, 1, True),                    # the plain full correlation
    ((1, 2, 5), (2, 3, 2), 2, 0, 0, 1, 1, False),                   # stride 2: every other position
    ((2, 2, 4), (2, 1, 3), 2, 1, 1, 1, 1, True),                    # padding cut off and output_padding added
    ((1, 4, 3), (4, 2, 3), 3, 2, 2, 2, 1, True),                    # groups, and a padding beyond the kernel
    ((2, 1, 4), (1, 2, 2), 1, 1, 1, 1, 2, True),                    # dilation 2, output_padding 1 < dilation
    ((3, 5), (3, 2, 3), (2,), (1,), (1,), 1, (1,), True),            # unbatched (C, L); PyTorch's 1-tuples
    ((1, 2, 2), (2, 1, 1), 3, 1, 0, 1, 1, False),                   # kernel 1, stride 3: positions between
    ((2, 2, 3, 4), (2, 3, 2, 3), (2, 3), (1, 0), (1, 2), 1, (1, 2), True),      # 2-d, each axis its own
    ((1, 4, 3, 3), (4, 1, 3, 3), 2, 1, 1, 4, 1, False),             # 2-d depthwise (groups = channels)
    ((2, 3, 2), (2, 2, 1, 2), 1, 0, 0, 1, 1, True),                 # 2-d unbatched (C, H, W)
    ((0, 2, 3), (2, 2, 2), 2, 0, 1, 1, 1, True),                    # an empty batch
    ((2, 2, 2, 3, 2), (2, 3, 2, 1, 2), (2, 1, 3), (1, 0, 1), (1, 0, 2), 1, (1, 2, 1), True),   # 3-d, per axis
    ((4, 2, 2, 2), (4, 1, 2, 2, 1), 2, 1, 1, 2, 1, False),          # 3-d unbatched (C, D, H, W), groups
]


@pytest.mark.parametrize("shape, weight_shape, stride, padding, output_padding, groups, dilation, with_bias", CASES)
def test_each_input_position_scatters_input_times_weight_into_the_output(shape, weight_shape, stride, padding,
                                                                        output_padding, groups, dilation, with_bias):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal(weight_shape)
    b = rng.standard_normal(weight_shape[1] * groups) if with_bias else None
    function = getattr(F, f"conv_transpose{len(weight_shape) - 2}d")
    y = function(mg.tensor(x), mg.tensor(w), None if b is None else mg.tensor(b), stride, padding, output_padding,
                 groups, dilation)
    expected = np_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation)
    assert y.shape == expected.shape and y.dtype == F64
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


def test_the_output_length_is_pytorchs_formula():
    """L_out = (L - 1) s - 2p + d (K - 1) + output_padding + 1: L = 5, s = 3, p = 2, d = 2, K = 4,
    output_padding 1 give 12 - 4 + 6 + 1 + 1 = 16; H and W each by their own settings."""
    assert F.conv_transpose1d(mg.ones(1, 1, 5), mg.ones(1, 1, 4), stride=3, padding=2, output_padding=1,
                              dilation=2).shape == (1, 1, 16)
    assert F.conv_transpose2d(mg.ones(2, 3, 3), mg.ones(2, 4, 1, 2), stride=(2, 1), padding=(0, 1)).shape == (4, 5, 2)


def test_a_stride_2_kernel_2_transpose_copies_each_entry_times_the_kernel_into_its_own_pair():
    """Closed form: no overlap when stride = kernel, y[2t + k] = x[t] w[k]."""
    y = F.conv_transpose1d(mg.tensor([[[1.0, 2.0, 3.0]]]), mg.tensor([[[10.0, 1.0]]]), stride=2)
    assert y.tolist() == [[[10.0, 1.0, 20.0, 2.0, 30.0, 3.0]]]


# ---- the adjoint identity against the library's convolution ---------------------------------------------

@pytest.mark.parametrize("dims, stride, padding, dilation, groups", [
    (1, 1, 0, 1, 1), (1, 2, 1, 1, 2), (1, 3, 2, 2, 1), (1, 2, 0, 3, 1),
    (2, (2, 1), (1, 0), (1, 2), 1), (2, 2, 1, 1, 2), (2, (3, 2), (0, 2), (2, 1), 1),
    (3, (2, 1, 3), (1, 0, 1), (1, 2, 1), 1), (3, 2, 1, 1, 2),
])
def test_conv_transpose_is_the_adjoint_of_conv(dims, stride, padding, dilation, groups):
    """<conv(x, w), y> = <x, conv_transpose(y, w)> for any x and y, with output_padding the remainder
    (L + 2p - d (K - 1) - 1) mod s that gives conv_transpose's output x's length: the transposed convolution
    is the convolution's transpose as a linear map."""
    rng = np.random.default_rng(3)
    as_tuple = [(v,) * dims if isinstance(v, int) else v for v in (stride, padding, dilation)]
    kernel = (3, 2, 2)[:dims]
    weight = rng.standard_normal((4, 6 // groups) + kernel)       # conv's (C_out, C_in / groups, *K)
    x = rng.standard_normal((2, 6) + (7, 6, 5)[:dims])
    conv_sizes = conv_output_sizes(x.shape, weight.shape, *as_tuple)
    y = rng.standard_normal((2, 4, *conv_sizes))
    extra = tuple((n + 2 * p - d * (k - 1) - 1) % s for n, s, p, d, k in
                  zip(x.shape[2:], *as_tuple, kernel))
    conv, transpose = getattr(F, f"conv{dims}d"), getattr(F, f"conv_transpose{dims}d")
    forward = conv(mg.tensor(x), mg.tensor(weight), None, stride, padding, dilation, groups)
    back = transpose(mg.tensor(y), mg.tensor(weight), None, stride, padding, extra, groups, dilation)
    assert forward.shape == y.shape and back.shape == x.shape
    np.testing.assert_allclose(np.sum(forward.data * y), np.sum(x * back.data), rtol=1e-12)


def test_conv_transpose_is_the_gradient_of_conv_with_respect_to_its_input():
    """PyTorch's docstring: "the gradient of Conv1d with respect to its input": x.grad of sum(conv(x, w) * g)
    is conv_transpose(g, w)."""
    rng = np.random.default_rng(4)
    x = mg.tensor(rng.standard_normal((2, 4, 9)), requires_grad=True)
    weight, g = mg.tensor(rng.standard_normal((6, 2, 3))), rng.standard_normal((2, 6, 4))
    (F.conv1d(x, weight, stride=2, padding=1, dilation=2, groups=2) * g).sum().backward()
    back = F.conv_transpose1d(mg.tensor(g), weight, stride=2, padding=1, output_padding=0, groups=2, dilation=2)
    np.testing.assert_allclose(back.data, x.grad, rtol=1e-12, atol=1e-12)


# ---- gradients and tangents -----------------------------------------------------------------------------

@st.composite
def conv_transpose_case(draw, ndim, dims):
    """F.conv_transpose1d, 2d or 3d (dims 1, 2, 3) of x with ndim axes (batched or not), a weight (C_in,
    C_out / groups, *K) and maybe a bias, stride, padding, output_padding (below the stride or the
    dilation), dilation and groups drawn per axis (smaller in 3-d, where the numpy loop is slow); the numpy
    reference `np_conv_transpose`."""
    groups = draw(st.integers(1, 2))
    in_channels, per_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3 if dims < 3 else 2)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    sizes = []
    for s, p, d, k, e in zip(stride, padding, dilation, kernel, extra):
        least = next(n for n in range(1, 8) if (n - 1) * s - 2 * p + d * (k - 1) + e + 1 >= 1)
        sizes.append(draw(st.integers(least, least + {1: 2, 2: 1, 3: 0}[dims])))
    x_shape = (draw(st.integers(1, 2)),) * (ndim == dims + 2) + (in_channels, *sizes)
    arrays = [draw(values(x_shape)), draw(values((in_channels, per_group) + kernel))]
    if draw(st.booleans()):
        arrays.append(draw(values((per_group * groups,))))
    options = dict(stride=stride, padding=padding, output_padding=extra, groups=groups, dilation=dilation)
    function = getattr(F, f"conv_transpose{dims}d")
    return (lambda *t: function(*t, **options), lambda *a: np_conv_transpose(*a, **options), arrays)


@pytest.mark.parametrize("dims, ndim", [(1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (3, 5)])
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_gradients_of_input_weight_and_bias_match_central_differences(dims, ndim, data):
    mg_fn, np_fn, arrays = data.draw(conv_transpose_case(ndim, dims), label="case")
    assert_gradients_match(mg_fn, np_fn, *arrays)


@pytest.mark.parametrize("dims, ndim", [(1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (3, 5)])
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_tangents_match_directional_differences(dims, ndim, data):
    """J v with the tangent on each operand alone and on all at once equals the central difference of the
    numpy loop along v."""
    mg_fn, np_fn, arrays = data.draw(conv_transpose_case(ndim, dims), label="case")
    rng = np.random.default_rng(5)
    directions = [rng.standard_normal(a.shape) for a in arrays]
    for position in [*range(len(arrays)), None]:
        chosen = [v if position in (None, i) else np.zeros_like(v) for i, v in enumerate(directions)]
        output, tangent = mg.jvp(mg_fn, [mg.tensor(a) for a in arrays], chosen)
        np.testing.assert_allclose(output.data, np_fn(*arrays), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-5, atol=1e-7)


# ---- the modules ----------------------------------------------------------------------------------------

def test_module_weight_shape_init_bounds_and_draws_are_pytorchs():
    """weight (in_channels, out_channels / groups, *K) by kaiming_uniform_(a=sqrt(5)), whose fan_in is
    weight.size(1) * prod(K) (out_channels / groups * prod(K), not in_channels'), so the bound is
    sqrt(3) * sqrt(2 / 6) / sqrt(fan_in) = 1 / sqrt(fan_in); the bias uniform over the same bound; drawn in
    that order from the module's generator."""
    layer = nn.ConvTranspose2d(4, 6, (2, 3), groups=2, rng=np.random.default_rng(7), dtype=F64)
    assert layer.weight.shape == (4, 3, 2, 3) and layer.bias.shape == (6,)
    numpy_rng, bound = np.random.default_rng(7), 1 / math.sqrt(3 * 2 * 3)
    for _ in range(2):                                  # construction, then a reset
        np.testing.assert_allclose(layer.weight.data, numpy_rng.uniform(-bound, bound, (4, 3, 2, 3)), rtol=1e-13)
        np.testing.assert_allclose(layer.bias.data, numpy_rng.uniform(-bound, bound, 6), rtol=1e-13)
        layer.reset_parameters()
    assert list(dict(layer.state_dict())) == ["weight", "bias"] and layer.transposed is True


def test_module_forward_is_the_function_with_its_settings():
    layer = nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2,
                               rng=np.random.default_rng(8), dtype=F64)
    x = np.random.default_rng(9).standard_normal((2, 4, 5))
    expected = np_conv_transpose(x, layer.weight.data, layer.bias.data, 2, 1, 1, 2, 2)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer(mg.tensor(x[0])).data, expected[0], rtol=1e-12, atol=1e-12)   # unbatched


def test_output_size_picks_the_output_padding_as_pytorchs_example():
    """PyTorch's docstring: a Conv2d(16, 16, 3, stride=2, padding=1) takes 12 x 12 to 6 x 6, and
    ConvTranspose2d(16, 16, 3, stride=2, padding=1) with output_size=input.size() brings it back to 12 x 12
    (output_padding 1; 11 x 11 without). output_size may be the whole shape or the spatial sizes only."""
    upsample = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1, rng=np.random.default_rng(10), dtype=F64)
    h = np.random.default_rng(11).standard_normal((1, 16, 6, 6))
    assert upsample(mg.tensor(h)).shape == (1, 16, 11, 11)
    expected = np_conv_transpose(h, upsample.weight.data, upsample.bias.data, 2, 1, 1)
    for size in [(1, 16, 12, 12), [12, 12], mg.zeros(1, 16, 12, 12).shape]:
        np.testing.assert_allclose(upsample(mg.tensor(h), output_size=size).data, expected, rtol=1e-12, atol=1e-12)
    mixed = upsample(mg.tensor(h), output_size=(11, 12))
    assert mixed.shape == (1, 16, 11, 12)
    np.testing.assert_allclose(mixed.data, np_conv_transpose(h, upsample.weight.data, upsample.bias.data, 2, 1,
                                                             (0, 1)), rtol=1e-12, atol=1e-12)
    unbatched = nn.ConvTranspose1d(2, 1, 2, stride=3, rng=np.random.default_rng(12))
    assert unbatched(mg.ones(2, 4), output_size=[13]).shape == (1, 13)
    assert unbatched(mg.ones(2, 4), output_size=(1, 12)).shape == (1, 12)     # (C, L): the channel in front


def test_reprs_are_pytorchs():
    assert repr(nn.ConvTranspose1d(16, 33, 3, stride=2)) == "ConvTranspose1d(16, 33, kernel_size=(3,), stride=(2,))"
    assert (repr(nn.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), output_padding=(1, 0),
                                    groups=1, bias=False, dilation=(1, 2)))
            == "ConvTranspose2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(1, 2), "
               "output_padding=(1, 0), bias=False)")
    assert (repr(nn.ConvTranspose1d(4, 4, 2, groups=2))
            == "ConvTranspose1d(4, 4, kernel_size=(2,), stride=(1,), groups=2)")
    assert (repr(nn.ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2)))      # PyTorch's example
            == "ConvTranspose3d(16, 33, kernel_size=(3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2))")


# ---- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv_transpose1d(mg.ones(1, 2, 4), mg.ones(2, 1, 3), stride=2, output_padding=2), ValueError,
     r"conv_transpose1d: output_padding must be smaller than either stride or dilation, got output_padding=2, "
     r"stride=2, dilation=1"),
    (lambda: F.conv_transpose2d(mg.ones(1, 2, 4, 4), mg.ones(2, 1, 3, 3), stride=(2, 1), output_padding=(0, 1),
                                dilation=1), ValueError, r"conv_transpose2d: output_padding .* got output_padding="
     r"\(0, 1\), stride=\(2, 1\), dilation=\(1, 1\)"),
    (lambda: F.conv_transpose1d(mg.ones(1, 3, 4), mg.ones(2, 1, 3)), ValueError,
     r"conv_transpose1d: weight of shape \(2, 1, 3\) expects input with 2 channels \(weight.shape\[0\]\), got "
     r"input of shape \(1, 3, 4\) with 3 channels"),
    (lambda: F.conv_transpose1d(mg.ones(1, 3, 4), mg.ones(3, 1, 3), groups=2), ValueError,
     r"conv_transpose1d: groups=2 must divide in_channels, weight.shape\[0\] = 3"),
    (lambda: F.conv_transpose1d(mg.ones(1, 2, 4), mg.ones(2, 1, 3), mg.ones(2)), ValueError,
     r"conv_transpose1d: expected bias of shape \(1,\) \(weight.shape\[1\] \* groups\), got \(2,\)"),
    (lambda: F.conv_transpose2d(mg.ones(2, 4), mg.ones(2, 1, 3, 3)), ValueError,
     r"conv_transpose2d: expected input of 3 axes \(unbatched\) or 4 \(batched\), got shape \(2, 4\)"),
    (lambda: F.conv_transpose3d(mg.ones(1, 2, 3, 3, 3), mg.ones(2, 1, 3, 3)), ValueError,
     r"conv_transpose3d: expected weight of 5 axes \(in_channels, out_channels / groups, kD, kH, kW\), got shape"),
    (lambda: nn.ConvTranspose3d(2, 2, 3)(mg.ones(2, 2, 3)), ValueError,
     r"ConvTranspose3d: expected input of 4 axes \(unbatched\) or 5 \(batched\), got shape \(2, 2, 3\)"),
    (lambda: F.conv_transpose1d(mg.ones(1, 2, 4), mg.ones(2, 1)), ValueError,
     r"conv_transpose1d: expected weight of 3 axes \(in_channels, out_channels / groups, kernel_size\), "
     r"got shape \(2, 1\)"),
    (lambda: F.conv_transpose1d(mg.ones(1, 1, 1), mg.ones(1, 1, 1), padding=1), ValueError,
     r"conv_transpose1d: the output would have -1 positions"),
    (lambda: F.conv_transpose1d(mg.ones(1, 1, 3), mg.ones(1, 1, 2), stride=0), ValueError,
     r"conv_transpose1d: expected stride positive \(>= 1\), got 0"),
    (lambda: F.conv_transpose1d(mg.ones(1, 1, 3), mg.ones(1, 1, 2), padding=-1), ValueError,
     r"conv_transpose1d: expected padding non-negative \(>= 0\), got -1"),
    (lambda: F.conv_transpose1d(mg.ones(1, 1, 3), mg.ones(1, 1, 2), padding="same"), TypeError,
     r"conv_transpose1d: expected padding to be a single integer or a tuple of 1 integer, got 'same'"),
    (lambda: F.conv_transpose1d(mg.ones(1, 1, 3), mg.ones(1, 1, 2, dtype=F64)), TypeError,
     r"conv_transpose1d: expected input of one floating-point dtype with the weight \(float64\), got float32"),
])
def test_functional_errors_name_the_function_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_output_padding_below_the_dilation_is_allowed_though_not_below_the_stride():
    """PyTorch's rule: output_padding < stride or output_padding < dilation."""
    assert F.conv_transpose1d(mg.ones(1, 1, 3), mg.ones(1, 1, 2), output_padding=1, dilation=2).shape == (1, 1, 6)


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.ConvTranspose1d(3, 4, 2, groups=2), ValueError,
     r"ConvTranspose1d: in_channels must be divisible by groups, got in_channels=3, out_channels=4, groups=2"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), ValueError,
     r"ConvTranspose2d: only 'zeros' padding mode is supported, got padding_mode='reflect'"),
    (lambda: nn.ConvTranspose1d(2, 2, 0), ValueError, r"ConvTranspose1d: expected kernel_size positive"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, output_padding=-1), ValueError,
     r"ConvTranspose2d: expected output_padding non-negative \(>= 0\), got -1"),
])
def test_module_settings_are_checked_when_the_layer_is_made(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_module_errors_name_the_module_and_leave_its_parameters_as_they_were():
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, rng=np.random.default_rng(13))
    before = [np.array(p.data) for p in layer.parameters()]
    x = mg.ones(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[10, 8\], but valid "
                                         r"sizes range from \[7, 7\] to \[8, 8\] \(for an input of shape "
                                         r"\(1, 2, 4, 4\)\)"):
        layer(x, output_size=(10, 8))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: for a 4-d input, output_size must be 2 or 4 "
                                         r"integers, got \(1, 8, 8\)"):
        layer(x, output_size=(1, 8, 8))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: weight of shape \(2, 3, 3, 3\) expects input with 2 "
                                         r"channels"):
        layer(mg.ones(1, 3, 4, 4))
    with pytest.raises(TypeError, match=r"ConvTranspose2d: expected input of dtype float32 \(the module's\), "
                                        r"got float64"):
        layer(mg.ones(1, 2, 4, 4, dtype=F64))
    stretched = nn.ConvTranspose1d(1, 1, 2, output_padding=1, rng=np.random.default_rng(14))
    with pytest.raises(ValueError, match=r"ConvTranspose1d: output_padding must be smaller than either stride or "
                                         r"dilation, got output_padding=1, stride=1, dilation=1"):
        stretched(mg.ones(1, 1, 3))
    assert stretched(mg.ones(1, 1, 3), output_size=[4]).shape == (1, 1, 4)     # output_size takes its place
    for parameter, value in zip(layer.parameters(), before):
        np.testing.assert_array_equal(parameter.data, value)
        assert parameter.grad is None
