"""F.conv2d and nn.Conv2d, F.max_pool2d and nn.MaxPool2d, F.avg_pool2d and nn.AvgPool2d: PyTorch's 2-d
convolution and pooling, the same composites as the 1-d ones over two spatial axes. Values against a direct
convolution written here in numpy (a loop over output positions, an einsum over each explicit window) and
against loops over the pooling windows; gradients of input, weight and bias against central differences and
tangents against directional differences of those loops, in float64; the padding modes against numpy's own
np.pad; the modules' parameters, state dict, init bounds and reprs (PyTorch's, written down as literals);
every error, naming the function or the module, before anything changes. No PyTorch needed."""

import math

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import central_differences
from test_pooling import apart, check_gradient_and_tangent, window_count

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq import random as library_random


# ---- the references: loops over output positions and windows ----------------------------------------

def pair(value):
    return tuple(value) * (2 // len(value)) if isinstance(value, tuple) else (value, value)


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, i, j] = b[o] + sum_c,u,v w[o, c, u, v] x_pad[n, g Cg + c, s0 i + d0 u, s1 j + d1 v], o in
    group g: a loop over output positions, each window cut out explicitly and summed against the kernel
    with einsum. padding ints or a pair, "valid" or "same" (d (K - 1) zeros in all, the odd one at the end)."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    out_channels, group_channels, kh, kw = w.shape
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    if padding == "valid":
        widths = [(0, 0), (0, 0)]
    elif padding == "same":
        widths = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in ((dh, kh), (dw, kw))]
    else:
        widths = [(p, p) for p in pair(padding)]
    padded = np.pad(x, [(0, 0), (0, 0)] + widths)
    height = (padded.shape[2] - dh * (kh - 1) - 1) // sh + 1
    width = (padded.shape[3] - dw * (kw - 1) - 1) // sw + 1
    per_group = out_channels // groups
    y = np.zeros((x.shape[0], out_channels, height, width))
    for o in range(out_channels):
        first = (o // per_group) * group_channels
        for i in range(height):
            for j in range(width):
                rows, columns = sh * i + dh * np.arange(kh), sw * j + dw * np.arange(kw)
                window = padded[:, first:first + group_channels][:, :, rows][:, :, :, columns]   # (N, Cg, kH, kW)
                y[:, o, i, j] = np.einsum("cuv,ncuv->n", w[o], window) + (0.0 if b is None else b[o])
    return y[0] if unbatched else y


# (input shape, weight shape, stride, padding, dilation, groups, bias)
CASES = [
    ((2, 3, 6, 7), (4, 3, 3, 3), 1, 0, 1, 1, True),
    ((1, 2, 4, 5), (3, 2, 1, 1), 1, 0, 1, 1, True),                    # a 1x1 kernel: a per-pixel linear map
    ((2, 4, 7, 8), (6, 2, 3, 2), (2, 1), (1, 2), (2, 1), 2, True),     # pairs, groups, dilation together
    ((2, 4, 6, 5), (4, 1, 3, 3), 1, "same", (1, 2), 4, False),         # depthwise with "same", no bias
    ((1, 3, 6, 6), (2, 3, 2, 4), 1, "same", 1, 1, True),               # even kernels: the odd zero at the end
    ((2, 3, 7, 6), (3, 3, 3, 2), (3, 2), "valid", 1, 1, False),
    ((3, 6, 5), (4, 3, 3, 3), 2, 1, 1, 1, True),                       # unbatched (C_in, H, W)
    ((1, 1, 4, 5), (1, 1, 4, 5), 1, 0, 1, 1, True),                    # the kernel as large as the image
    ((1, 2, 5, 6), (2, 2, 3, 3), (2,), (1,), (1,), 1, True),           # 1-tuples serve both axes, as PyTorch's
    ((2, 4, 3, 9), (4, 2, 3, 1), (1, 2), (0, 1), 1, 2, True),          # a CRNN's tall kernel over a wide input
]
IDS = [f"x{x}-w{w}-s{s}-p{p}-d{d}-g{g}-{'b' if b else 'nob'}" for x, w, s, p, d, g, b in CASES]
# small shapes for the central differences (each entry of each operand perturbed twice)
GRADIENT_CASES = [
    ((1, 2, 4, 5), (2, 2, 3, 2), 1, 1, 1, 1, True),
    ((2, 4, 5, 5), (4, 2, 2, 3), (2, 1), (1, 0), (1, 2), 2, True),
    ((1, 2, 4, 4), (2, 1, 3, 3), 1, "same", 1, 2, False),              # depthwise, "same"
    ((2, 4, 5), (3, 2, 2, 2), 2, "valid", 1, 1, True),                 # unbatched
]
GRADIENT_IDS = [f"x{x}-w{w}-s{s}-p{p}-d{d}-g{g}" for x, w, s, p, d, g, _ in GRADIENT_CASES]


def arrays_of(case, seed=0):
    x_shape, w_shape, stride, padding, dilation, groups, with_bias = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if with_bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    return arrays, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_values_match_the_direct_convolution(case):
    arrays, options = arrays_of(case)
    y = F.conv2d(*[mg.tensor(a, dtype=np.float64) for a in arrays], **options)
    expected = np_conv2d(*arrays, **options)
    assert y.shape == expected.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


def test_conv2d_output_sizes_are_pytorchs_formula():
    """H_out = floor((H + 2 p0 - d0 (kH - 1) - 1) / s0) + 1, W_out likewise; "same" keeps (H, W)."""
    for (h, w), (kh, kw), stride, padding, dilation in [((10, 7), (3, 2), (1, 2), (0, 1), (1, 2)),
                                                        ((11, 12), (4, 4), (3, 3), (2, 2), (2, 1)),
                                                        ((5, 9), (5, 1), (1, 4), (0, 0), (1, 1))]:
        y = F.conv2d(mg.zeros((1, 2, h, w), dtype=np.float64), mg.zeros((3, 2, kh, kw), dtype=np.float64), None,
                     stride, padding, dilation)
        expected = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                         for n, k, s, p, d in zip((h, w), (kh, kw), stride, padding, dilation))
        assert y.shape == (1, 3) + expected
    for kh, kw in [(1, 2), (3, 4), (5, 5)]:
        for dilation in (1, (2, 3)):
            y = F.conv2d(mg.zeros((2, 2, 9, 8)), mg.zeros((1, 2, kh, kw)), padding="same", dilation=dilation)
            assert y.shape == (2, 1, 9, 8)


def test_conv2d_a_small_case_by_hand():
    """A 3x3 image 1..9, the kernel [[1, 0], [0, -1]] (the diagonal difference), bias 0.5: y[i, j] =
    x[i, j] - x[i + 1, j + 1] + 0.5 = -4 + 0.5 everywhere."""
    x = mg.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y = F.conv2d(x, mg.tensor([[[[1.0, 0.0], [0.0, -1.0]]]]), mg.tensor([0.5]))
    np.testing.assert_array_equal(y.data, np.full((1, 1, 2, 2), -3.5))
    assert y.dtype == np.float32


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=GRADIENT_IDS)
def test_conv2d_gradients_match_central_differences(case):
    arrays, options = arrays_of(case, seed=1)
    tensors = [mg.tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    y = F.conv2d(*tensors, **options)
    weights = np.random.default_rng(2).standard_normal(y.shape)
    (y * weights).sum().backward()
    for k, (t, a) in enumerate(zip(tensors, arrays)):
        def weighted(v, k=k):
            return float(np.sum(np_conv2d(*arrays[:k], v, *arrays[k + 1:], **options) * weights))
        assert t.grad is not None and t.grad.shape == a.shape and t.grad.dtype == np.float64
        np.testing.assert_allclose(t.grad, central_differences(weighted, a), rtol=1e-6, atol=1e-8,
                                   err_msg=f"gradient of operand {k}")


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=GRADIENT_IDS)
def test_conv2d_tangents_match_directional_differences(case):
    """mg.jvp along one direction on every operand, then on each alone, then k = 2 directions in one pass."""
    arrays, options = arrays_of(case, seed=3)
    rng = np.random.default_rng(4)
    fn = lambda x, w, b=None: F.conv2d(x, w, b, **options)  # noqa: E731
    np_fn = lambda x, w, b=None: np_conv2d(x, w, b, **options)  # noqa: E731
    directions = [rng.standard_normal((2,) + a.shape) for a in arrays]
    for alone in [None, *range(len(arrays))]:
        chosen = [v[0] if alone in (None, k) else np.zeros_like(v[0]) for k, v in enumerate(directions)]
        output, tangent = mg.jvp(fn, [mg.tensor(a, dtype=np.float64) for a in arrays], chosen)
        np.testing.assert_allclose(output.data, np_fn(*arrays), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-6, atol=1e-8)
    _, tangents = mg.jvp(fn, [mg.tensor(a, dtype=np.float64) for a in arrays], directions)
    for d in range(2):
        np.testing.assert_allclose(tangents[d], directional_difference(np_fn, arrays, [v[d] for v in directions]),
                                   rtol=1e-6, atol=1e-8)


def test_conv2d_gradcheck_passes():
    rng = np.random.default_rng(5)
    x, w, b = (mg.tensor(rng.standard_normal(s), requires_grad=True, dtype=np.float64)
               for s in [(1, 4, 5, 4), (4, 2, 2, 2), (4,)])
    assert mg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
                        [x, w, b])


def test_conv2d_float32_stays_float32():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    tensors = [mg.tensor(a, requires_grad=True, dtype=np.float32) for a in (x, w, b)]
    y = F.conv2d(*tensors, stride=2, padding=(1, 0), dilation=(2, 1), groups=2)
    assert y.dtype == np.float32
    expected = np_conv2d(*(a.astype(np.float32) for a in (x, w, b)), stride=2, padding=(1, 0), dilation=(2, 1),
                         groups=2)
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert all(t.grad.dtype == np.float32 for t in tensors)
    # d sum(y) / d b[o] = the number of output positions over the batch
    np.testing.assert_allclose(tensors[2].grad, np.full(6, y.shape[0] * y.shape[2] * y.shape[3]))


def test_conv2d_input_gradient_with_a_constant_weight_by_hand():
    """d sum(y) / d x[c, i, j] = the sum of the weights w[c, u, v] whose window covers (i, j)."""
    rng = np.random.default_rng(8)
    x = mg.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True, dtype=np.float64)
    w = rng.standard_normal((1, 2, 2, 3))
    F.conv2d(x, mg.tensor(w, dtype=np.float64)).sum().backward()
    expected = np.zeros((2, 4, 5))
    for i in range(3):
        for j in range(3):
            expected[:, i:i + 2, j:j + 3] += w[0]
    np.testing.assert_allclose(x.grad[0], expected, rtol=1e-12)


def test_conv1d_is_conv2d_over_an_image_of_height_one():
    """One function serves both: conv1d of (N, C, L) equals conv2d of (N, C, 1, L) by a (C_out, C_in / g, 1, K)
    kernel, value and gradient."""
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    one, two = (mg.tensor(x, requires_grad=True, dtype=np.float64) for _ in range(2))
    y1 = F.conv1d(one, mg.tensor(w, dtype=np.float64), mg.tensor(b, dtype=np.float64), 2, 1, 2, 2)
    y2 = F.conv2d(two.reshape(2, 4, 1, 9), mg.tensor(w[:, :, None], dtype=np.float64), mg.tensor(b, dtype=np.float64),
                  (1, 2), (0, 1), (1, 2), 2)
    np.testing.assert_allclose(y2.data[:, :, 0], y1.data, rtol=1e-12, atol=1e-12)
    y1.sum().backward()
    y2.sum().backward()
    np.testing.assert_allclose(two.grad, one.grad, rtol=1e-12)


def test_nn_functional_and_functional_are_one_function():
    assert F.conv2d is mg.functional.conv2d
    assert F.max_pool2d is mg.functional.max_pool2d and F.avg_pool2d is mg.functional.avg_pool2d


# ---- conv2d's errors -----------------------------------------------------------------------------------

X, W = mg.zeros((2, 4, 6, 6)), mg.zeros((6, 4, 3, 3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(mg.zeros((4, 6)), W), ValueError,
     r"conv2d: expected input of 3 axes \(C_in, H, W, unbatched\) or 4 \(N, C_in, H, W\), got shape \(4, 6\)"),
    (lambda: F.conv2d(mg.zeros((1, 2, 4, 6, 6)), W), ValueError, r"conv2d: expected input .* \(1, 2, 4, 6, 6\)"),
    (lambda: F.conv2d(X, mg.zeros((6, 4, 3))), ValueError,
     r"conv2d: expected weight of 4 axes \(out_channels, in_channels / groups, kH, kW\), got shape \(6, 4, 3\)"),
    (lambda: F.conv2d(mg.zeros((2, 5, 6, 6)), W), ValueError,
     r"conv2d: weight of shape \(6, 4, 3, 3\) with groups=1 expects input with 4 channels .* got .* 5 channels"),
    (lambda: F.conv2d(X, mg.zeros((5, 2, 3, 3)), groups=2), ValueError, r"conv2d: groups=2 must divide out_chan"),
    (lambda: F.conv2d(X, W, groups=0), ValueError, r"conv2d: expected groups a positive integer, got 0"),
    (lambda: F.conv2d(X, W, stride=(1, 0)), ValueError, r"conv2d: expected stride positive \(>= 1\), got \(1, 0\)"),
    (lambda: F.conv2d(X, W, dilation=0), ValueError, r"conv2d: expected dilation positive \(>= 1\), got 0"),
    (lambda: F.conv2d(X, W, padding=(1, -1)), ValueError, r"conv2d: expected padding non-negative .* \(1, -1\)"),
    (lambda: F.conv2d(X, W, stride=(1, 2), padding="same"), ValueError,
     r"conv2d: padding='same' is not supported for strided convolutions .* stride=\(1, 2\)"),
    (lambda: F.conv2d(X, W, padding="full"), ValueError, r"conv2d: padding must be an integer, 'valid' or 'same'"),
    (lambda: F.conv2d(X, W, stride=(1, 1, 1)), TypeError,
     r"conv2d: expected stride to be a single integer or a tuple of 2 integers, got \(1, 1, 1\)"),
    (lambda: F.conv2d(X, W, padding=(1.5, 1)), TypeError, r"conv2d: expected padding to be a single integer"),
    (lambda: F.conv2d(mg.zeros((2, 4, 2, 6)), W), ValueError,
     r"conv2d: the padded input height 2 .* shorter than the dilated kernel, 1 \* \(3 - 1\) \+ 1 = 3"),
    (lambda: F.conv2d(X, W, dilation=(1, 3)), ValueError, r"conv2d: the padded input width 6 .* = 7"),
    (lambda: F.conv2d(X, mg.zeros((6, 4, 3, 0))), ValueError,
     r"conv2d: expected weight with a kernel of at least one position \(weight.shape\[3\] >= 1\)"),
    (lambda: F.conv2d(mg.zeros((2, 4, 0, 6)), W, padding=1), ValueError,
     r"conv2d: expected input with at least one position \(input.shape\[-2\] >= 1\)"),
    (lambda: F.conv2d(X, W, mg.zeros(4)), ValueError, r"conv2d: expected bias of shape \(6,\) .* got \(4,\)"),
    (lambda: F.conv2d(X, mg.zeros((6, 4, 3, 3), dtype=np.float64)), TypeError,
     r"conv2d: expected input of one floating-point dtype with the weight \(float64\), got float32"),
    (lambda: F.conv2d(X, mg.zeros((6, 4, 3, 3), dtype=np.int64)), TypeError, r"conv2d: expected a floating-point w"),
])
def test_conv2d_errors_name_conv2d_what_was_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()


def generator_state():
    return library_random.default_generator().bit_generator.state


@pytest.mark.parametrize("arguments, error, message", [
    (dict(in_channels=5, out_channels=6, kernel_size=3, groups=2), ValueError,
     r"Conv2d: in_channels must be divisible by groups, got in_channels=5"),
    (dict(in_channels=4, out_channels=5, kernel_size=3, groups=2), ValueError,
     r"Conv2d: out_channels must be divisible by groups"),
    (dict(in_channels=0, out_channels=6, kernel_size=3), ValueError, r"Conv2d: in_channels must be a positive"),
    (dict(in_channels=4, out_channels=6, kernel_size=(3, 0)), ValueError,
     r"Conv2d: expected kernel_size positive \(>= 1\), got \(3, 0\)"),
    (dict(in_channels=4, out_channels=6, kernel_size=(3, 3, 3)), TypeError,
     r"Conv2d: expected kernel_size to be a single integer or a tuple of 2 integers, got \(3, 3, 3\)"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, stride=(2, 1), padding="same"), ValueError,
     r"Conv2d: padding='same' is not supported for strided convolutions"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, padding_mode="mirror"), ValueError,
     r"Conv2d: padding_mode must be one of \('zeros', 'reflect', 'replicate', 'circular'\), got 'mirror'"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, bias=1), ValueError, r"Conv2d: bias must be True or False"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, dtype=np.int64), TypeError,
     r"Conv2d: expected a floating-point dtype, got int64"),
])
def test_conv2d_module_errors_come_before_anything_is_drawn(arguments, error, message):
    """Each bad setting is refused, naming Conv2d, and the library's generator has drawn nothing."""
    before = generator_state()
    with pytest.raises(error, match=message):
        nn.Conv2d(**arguments)
    assert generator_state() == before


def test_conv2d_module_forward_errors_name_conv2d_and_change_nothing():
    layer = nn.Conv2d(4, 6, 3, padding=(2, 1), padding_mode="reflect", rng=np.random.default_rng(0))
    weight = layer.weight.data.copy()
    with pytest.raises(ValueError, match=r"Conv2d: .*expects input with 4 channels.* got input of shape "
                                         r"\(2, 3, 5, 5\)"):
        layer(mg.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"Conv2d: expected input of 3 axes .* got shape \(4, 9\)"):
        layer(mg.zeros((4, 9)))
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode='reflect' needs the padding \(2, 2\) smaller than "
                                         r"the input height, got input of shape \(1, 4, 2, 5\)"):
        layer(mg.zeros((1, 4, 2, 5)))
    circular = nn.Conv2d(4, 6, 3, padding=(0, 3), padding_mode="circular", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode='circular' needs the padding \(3, 3\) at most the "
                                         r"input width"):
        circular(mg.zeros((1, 4, 5, 2)))
    with pytest.raises(TypeError, match=r"Conv2d: expected input of dtype float32 \(the module's\), got float64"):
        layer(mg.zeros((1, 4, 5, 5), dtype=np.float64))
    np.testing.assert_array_equal(layer.weight.data, weight)
    assert layer.weight.grad is None


# ---- nn.Conv2d -----------------------------------------------------------------------------------------

def test_conv2d_module_parameters_and_state_dict_are_pytorchs():
    layer = nn.Conv2d(6, 8, (3, 5), groups=2, rng=np.random.default_rng(0))
    assert [(name, p.shape) for name, p in layer.named_parameters()] == [("weight", (8, 3, 3, 5)), ("bias", (8,))]
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert (layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
            layer.groups, layer.padding_mode, layer.output_padding) == (6, 8, (3, 5), (1, 1), (0, 0), (1, 1), 2,
                                                                        "zeros", (0, 0))
    without = nn.Conv2d(6, 8, 3, bias=False, padding="same", dtype=np.float64)
    assert without.bias is None and list(without.state_dict()) == ["weight"] and without.padding == "same"
    assert without.weight.dtype == np.float64 and without.weight.shape == (8, 6, 3, 3)


def test_conv2d_state_dict_of_pytorchs_layout_loads_and_computes_the_direct_convolution():
    rng = np.random.default_rng(10)
    state = {"weight": rng.standard_normal((4, 3, 3, 2)), "bias": rng.standard_normal(4)}
    layer = nn.Conv2d(3, 4, (3, 2), padding=(1, 0), dtype=np.float64)
    layer.load_state_dict(state)
    x = rng.standard_normal((2, 3, 5, 6))
    np.testing.assert_allclose(layer(mg.tensor(x, dtype=np.float64)).data,
                               np_conv2d(x, state["weight"], state["bias"], padding=(1, 0)), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3).load_state_dict(state)


def test_conv2d_init_is_uniform_within_one_over_the_root_of_fan_in():
    """kaiming_uniform_(a=sqrt(5)): the bound 1 / sqrt(fan_in), fan_in = in_channels / groups * kH * kW; the
    bias from the same bound. Uniform(-B, B) has variance B^2 / 3; 110,592 draws reach within 0.1% of B."""
    layer = nn.Conv2d(32, 128, (3, 9), rng=np.random.default_rng(11))
    bound = 1 / math.sqrt(32 * 3 * 9)
    w = layer.weight.data.astype(np.float64)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    assert abs(w.mean()) < 0.01 * bound and w.var() == pytest.approx(bound ** 2 / 3, rel=0.02)
    b = layer.bias.data.astype(np.float64)
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    depthwise = nn.Conv2d(256, 256, 3, groups=256, rng=np.random.default_rng(12))
    small = 1 / math.sqrt(9)
    assert np.abs(depthwise.weight.data).max() <= small and np.abs(depthwise.weight.data).max() > 0.99 * small
    assert np.abs(depthwise.bias.data).max() <= small and np.abs(depthwise.bias.data).max() > 0.9 * small


@pytest.mark.parametrize("arguments, text", [
    (dict(in_channels=1, out_channels=8, kernel_size=3), "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))"),
    (dict(in_channels=16, out_channels=33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
     "Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))"),
    (dict(in_channels=4, out_channels=4, kernel_size=3, padding="same", groups=4, bias=False, padding_mode="reflect"),
     "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=same, groups=4, bias=False, padding_mode=reflect)"),
    (dict(in_channels=2, out_channels=2, kernel_size=2, padding=1, padding_mode="circular"),
     "Conv2d(2, 2, kernel_size=(2, 2), stride=(1, 1), padding=(1, 1), padding_mode=circular)"),
])
def test_conv2d_repr_is_pytorchs(arguments, text):
    assert repr(nn.Conv2d(**arguments, rng=np.random.default_rng(0))) == text


def test_conv2d_module_on_unbatched_input():
    layer = nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64, rng=np.random.default_rng(13))
    x = np.random.default_rng(14).standard_normal((3, 7, 5))
    t = mg.tensor(x, requires_grad=True, dtype=np.float64)
    y = layer(t)
    assert y.shape == (4, 4, 3)
    np.testing.assert_allclose(y.data, np_conv2d(x, layer.weight.data, layer.bias.data, 2, 1), rtol=1e-12,
                               atol=1e-12)
    y.sum().backward()
    assert t.grad.shape == (3, 7, 5)
    np.testing.assert_allclose(layer.bias.grad, np.full(4, 12.0))


NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, kernel, dilation, batched", [((1, 2), (3, 3), 1, True), ("same", (2, 3), 1, True),
                                                                ("same", (3, 2), (1, 2), False)])
def test_conv2d_padding_modes_value_gradient_and_tangent(mode, padding, kernel, dilation, batched):
    """Conv2d(padding_mode=mode) is np.pad(x, mode) (reflect, edge, wrap) on both axes, then the direct
    convolution without padding: its value, the gradients of input and weight (central differences), the
    bias's (the sum of the output's weights) and the input's tangent."""
    rng = np.random.default_rng(15)
    layer = nn.Conv2d(2, 2, kernel, padding=padding, dilation=dilation, padding_mode=mode, dtype=np.float64, rng=rng)
    w, b = layer.weight.data.copy(), layer.bias.data.copy()
    if padding == "same":
        widths = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in zip(pair(dilation), kernel)]
    else:
        widths = [(p, p) for p in padding]

    def np_fn(x, w=w, b=b):
        return np_conv2d(np.pad(x, [(0, 0)] * (x.ndim - 2) + widths, mode=NUMPY_MODES[mode]), w, b,
                         dilation=dilation)
    x = rng.standard_normal((1, 2, 4, 4) if batched else (2, 4, 4))
    t = mg.tensor(x, requires_grad=True, dtype=np.float64)
    y = layer(t)
    np.testing.assert_allclose(y.data, np_fn(x), rtol=1e-12, atol=1e-12)
    weights = rng.standard_normal(y.shape)
    (y * weights).sum().backward()
    np.testing.assert_allclose(t.grad, central_differences(lambda v: float(np.sum(np_fn(v) * weights)), x),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.weight.grad,
                               central_differences(lambda v: float(np.sum(np_fn(x, w=v) * weights)), w),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.bias.grad, weights.sum(axis=(0, 2, 3) if batched else (1, 2)), rtol=1e-12)
    v = rng.standard_normal(x.shape)
    _, tangent = mg.jvp(layer, [mg.tensor(x, dtype=np.float64)], [v])
    np.testing.assert_allclose(tangent, directional_difference(np_fn, [x], [v]), rtol=1e-6, atol=1e-8)


def test_conv2d_circular_padding_wraps_up_to_the_whole_input_once_and_reflect_up_to_one_less():
    """PyTorch's F.pad allows a circular padding as large as the input (it wraps around once) and a
    reflect padding one less, along each axis; one more is an error naming the mode."""
    x = np.arange(6.0).reshape(1, 1, 3, 2)
    for mode, widths, np_mode in (("circular", (3, 2), "wrap"), ("reflect", (2, 1), "reflect")):
        layer = nn.Conv2d(1, 1, 1, padding=widths, padding_mode=mode, bias=False, dtype=np.float64)
        expected = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in widths], mode=np_mode) * layer.weight.item()
        np.testing.assert_array_equal(layer(mg.tensor(x)).data, expected)
        too_far = nn.Conv2d(1, 1, 1, padding=(widths[0] + 1, widths[1]), padding_mode=mode, dtype=np.float64)
        with pytest.raises(ValueError, match=mode):
            too_far(mg.tensor(x))


def test_a_small_crnn_front_end_trains():
    """Conv2d, ReLU and MaxPool2d((2, 1)) over a 4 x 8 "spectrogram", then a Linear per column: it learns to
    read each column's row of largest value (a toy recogniser's per-frame classes); the loss falls by 10x
    in 150 Adam steps."""
    rng = np.random.default_rng(16)
    mg.manual_seed(16)
    conv = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d((2, 1)),
                         nn.Conv2d(8, 8, (2, 1)), nn.ReLU())
    head = nn.Linear(8, 4)
    optimizer = mg.optim.Adam(list(conv.parameters()) + list(head.parameters()), lr=0.02)
    images = rng.standard_normal((16, 1, 4, 8)).astype(np.float32)
    targets = images[:, 0].argmax(axis=1)                                       # (16, 8): the row per column
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        features = conv(mg.tensor(images))                                      # (16, 8, 1, 8)
        logits = head(features.squeeze(2).permute(0, 2, 1))                     # (16, 8 columns, 4 rows)
        loss = F.cross_entropy(logits.reshape(-1, 4), mg.tensor(targets.reshape(-1)))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10


# ---- max_pool2d and avg_pool2d: loops over the windows -------------------------------------------------

def axis_windows(length, kernel, stride, padding, dilation, ceil_mode):
    """Along one axis: for each window, the input positions it reads (s t - p + d k inside the input)."""
    count = window_count(length, kernel, stride, padding, dilation, ceil_mode)
    return [[stride * t - padding + dilation * k for k in range(kernel)] for t in range(count)]


def np_max_pool2d(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(values, indices): window (i, j) is the rows and columns s t - p + d k inside the image; its max and
    the position h W + w of the first (row by row) holding it."""
    x = np.asarray(x, dtype=np.float64)
    kernel, padding, dilation = pair(kernel), pair(padding), pair(dilation)
    stride = kernel if stride is None else pair(stride)
    height, width = x.shape[-2:]
    rows = axis_windows(height, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    columns = axis_windows(width, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    values = np.empty(x.shape[:-2] + (len(rows), len(columns)))
    indices = np.empty(values.shape, dtype=np.int64)
    for i, window_rows in enumerate(rows):
        for j, window_columns in enumerate(columns):
            inside = [(h, w) for h in window_rows for w in window_columns if 0 <= h < height and 0 <= w < width]
            window = np.stack([x[..., h, w] for h, w in inside], axis=-1)
            values[..., i, j] = window.max(axis=-1)
            flat = np.array([h * width + w for h, w in inside])
            indices[..., i, j] = flat[window.argmax(axis=-1)]
    return values, indices


def np_avg_pool2d(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                  divisor_override=None):
    """Window (i, j)'s sum of the input in [s0 i - p0, s0 i - p0 + kH) x [s1 j - p1, s1 j - p1 + kW) over its
    size: its area up to the end of the bottom and right padding (count_include_pad), or the number of input
    positions in it; or over divisor_override."""
    x = np.asarray(x, dtype=np.float64)
    kernel, padding = pair(kernel), pair(padding)
    stride = kernel if stride is None else pair(stride)
    height, width = x.shape[-2:]
    counts = [window_count(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip((height, width), kernel, stride, padding)]
    out = np.empty(x.shape[:-2] + tuple(counts))
    for i in range(counts[0]):
        for j in range(counts[1]):
            top, left = stride[0] * i - padding[0], stride[1] * j - padding[1]
            bottom, right = min(top + kernel[0], height + padding[0]), min(left + kernel[1], width + padding[1])
            inside = x[..., max(top, 0):min(bottom, height), max(left, 0):min(right, width)]
            size = (bottom - top) * (right - left) if count_include_pad else inside.shape[-2] * inside.shape[-1]
            out[..., i, j] = inside.sum(axis=(-2, -1)) / (size if divisor_override is None else divisor_override)
    return out


# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 6, 8), 2, None, 0, 1, False),                   # the common MaxPool2d(2)
    ((1, 2, 6, 5), (2, 1), (2, 1), 0, 1, False),            # a CRNN's (2, 1): the height halves, the width stays
    ((1, 2, 5, 6), 3, 1, 1, 1, False),                      # overlapping windows: the gradient adds up
    ((2, 1, 7, 6), (3, 2), (2, 3), (1, 1), (2, 1), True),   # pairs, dilation, padding and ceil_mode together
    ((3, 5, 4), 2, 2, 1, 1, True),                          # unbatched (C, H, W); the last windows half padding
    ((1, 2, 3, 4), (3, 4), None, 0, 1, False),              # the whole image: a global max
    ((0, 2, 4, 4), 2, None, 0, 1, False),                   # an empty batch
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", MAX_CASES)
def test_max_pool2d_is_each_windows_maximum_and_its_first_position(shape, kernel, stride, padding, dilation,
                                                                     ceil_mode):
    x = apart(shape)
    values, indices = F.max_pool2d(mg.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    expected, where = np_max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    assert values.shape == expected.shape and values.dtype == np.float64
    np.testing.assert_array_equal(values.data, expected)
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.data, where)
    np.testing.assert_array_equal(F.max_pool2d(mg.tensor(x), kernel, stride, padding, dilation, ceil_mode).data,
                                  expected)
    if x.size:
        check_gradient_and_tangent(lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode),
                                   lambda a: np_max_pool2d(a, kernel, stride, padding, dilation, ceil_mode)[0], x)


def test_max_pool2d_gives_a_tie_whole_to_its_first_position_row_by_row():
    """A window of ReLU zeros sends its whole gradient to its top-left entry, as PyTorch's kernel (which
    scans rows, then columns, and keeps the first of equal values); overlapping windows add up."""
    zeros = mg.tensor(np.zeros((1, 1, 2, 4)), requires_grad=True)
    y, i = F.max_pool2d(zeros, 2, return_indices=True)
    assert i.tolist() == [[[[0, 2]]]]
    y.sum().backward()
    assert zeros.grad.tolist() == [[[[1., 0., 1., 0.], [0., 0., 0., 0.]]]]
    x = mg.tensor([[[[1., 3.], [3., 0.]]]], requires_grad=True)         # 3 twice: the first row's wins
    y, i = F.max_pool2d(x, 2, 1, 1, return_indices=True)
    assert i.tolist() == [[[[0, 1, 1], [2, 1, 1], [2, 2, 3]]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[[1., 4.], [3., 1.]]]]


def test_max_pool2d_windows_of_minus_infinity_and_of_padding_alone_name_positions_as_pytorch():
    """PyTorch's CPU kernel (aten/src/ATen/native/cpu/MaxPoolKernel.cpp) starts each window's index at its
    first row >= 0 times W plus its first column >= 0: a window whose input is all -inf names that position
    (and its value is -inf), and a window that dilation makes read only padding is -inf with that index,
    outside the image, and sends no gradient."""
    x = mg.tensor([[[[-np.inf, -np.inf], [-np.inf, 1.0]]]], requires_grad=True)
    y, i = F.max_pool2d(x, 2, 2, 1, return_indices=True)                 # 2 x 2 windows, each one entry
    assert y.tolist() == [[[[-np.inf, -np.inf], [-np.inf, 1.0]]]] and i.tolist() == [[[[0, 1], [2, 3]]]]
    y[..., 1, 1].sum().backward()
    assert x.grad.tolist() == [[[[0.0, 0.0], [0.0, 1.0]]]]
    x = mg.tensor([[[[5., 7.], [6., 8.]]]], requires_grad=True)
    y, i = F.max_pool2d(x, 2, 1, 1, 3, False, True)                     # rows and columns -1 and 2: padding
    assert y.tolist() == [[[[-np.inf]]]] and i.tolist() == [[[[6]]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 0.0], [0.0, 0.0]]]]


def test_max_pool2d_names_the_last_nan_of_a_window_as_pytorch():
    """PyTorch's kernel keeps each value with `val > maxval || isnan(val)`: a window's last NaN (row by
    row) is its maximum's position, and the gradient goes there."""
    x = mg.tensor([[[[np.nan, 1.0], [np.nan, 2.0]]]], requires_grad=True)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(y.item()) and i.tolist() == [[[[2]]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[[0.0, 0.0], [1.0, 0.0]]]]
    assert F.max_pool1d(mg.tensor([[[np.nan, 3.0, np.nan, 1.0]]]), 4, return_indices=True)[1].tolist() == [[[2]]]


def test_max_pool1d_is_max_pool2d_over_an_image_of_height_one():
    x = apart((2, 3, 11))
    values, indices = F.max_pool1d(mg.tensor(x), 3, 2, 1, 2, True, True)
    image_values, image_indices = F.max_pool2d(mg.tensor(x[:, :, None]), (1, 3), (1, 2), (0, 1), (1, 2), True, True)
    np.testing.assert_array_equal(image_values.data[:, :, 0], values.data)
    np.testing.assert_array_equal(image_indices.data[:, :, 0], indices.data)


# (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((2, 3, 6, 8), 2, None, 0, False, True, None),
    ((1, 2, 6, 5), 3, 2, 1, True, True, None),              # the last row of windows overhangs the bottom
                                                            # padding by 1: the overhang is not counted
    ((1, 2, 6, 5), 3, 2, 1, True, False, None),             # nor, here, the padding
    ((2, 1, 7, 6), (4, 2), (3, 1), (2, 1), True, False, None),
    ((3, 5, 6), (3, 2), 1, (1, 0), False, True, None),      # unbatched, overlapping windows
    ((1, 2, 5, 6), (2, 3), (2, 2), 1, True, True, 4),       # divisor_override divides every window's sum
    ((1, 1, 4, 5), (4, 5), None, 0, False, True, None),     # the whole image: a global mean
]


@pytest.mark.parametrize("shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor", AVG_CASES)
def test_avg_pool2d_is_each_windows_sum_over_its_size(shape, kernel, stride, padding, ceil_mode, count_include_pad,
                                                        divisor):
    x = np.random.default_rng(0).standard_normal(shape)
    options = (kernel, stride, padding, ceil_mode, count_include_pad, divisor)
    y = F.avg_pool2d(mg.tensor(x), *options)
    expected = np_avg_pool2d(x, *options)
    assert y.shape == expected.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.data, expected, rtol=1e-14, atol=1e-15)
    check_gradient_and_tangent(lambda t: F.avg_pool2d(t, *options), lambda a: np_avg_pool2d(a, *options), x)


def test_avg_pool2d_divisors_by_hand():
    """A 3 x 3 image of ones, kernel 2, stride 2, padding 1: each window holds one input pixel, or two, or
    four; with the padding counted each divides by 4; without, each mean is 1; divisor_override=2 gives
    the sums over 2."""
    x = mg.ones(1, 1, 3, 3)
    assert F.avg_pool2d(x, 2, 2, 1).tolist() == [[[[0.25, 0.5], [0.5, 1.0]]]]
    assert F.avg_pool2d(x, 2, 2, 1, count_include_pad=False).tolist() == [[[[1.0, 1.0], [1.0, 1.0]]]]
    assert F.avg_pool2d(x, 2, 2, 1, divisor_override=2).tolist() == [[[[0.5, 1.0], [1.0, 2.0]]]]
    assert F.avg_pool2d(x, 2).dtype == np.float32


# ---- the pooling modules -------------------------------------------------------------------------------

def test_the_2d_pooling_modules_print_keep_their_settings_and_compute_the_functions_as_pytorchs():
    """Reprs and attributes as PyTorch's torch/nn/modules/pooling.py writes them: MaxPool2d (_MaxPoolNd)
    and AvgPool2d keep their settings as given, stride None meaning kernel_size; none has parameters."""
    modules = [nn.MaxPool2d(2), nn.MaxPool2d((2, 1), (2, 1), 0, 1, True, True), nn.MaxPool2d(3, 2, 1, 2),
               nn.AvgPool2d(2), nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True,
                                             count_include_pad=False, divisor_override=3)]
    assert [repr(m) for m in modules] == [
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "MaxPool2d(kernel_size=(2, 1), stride=(2, 1), padding=0, dilation=1, ceil_mode=True)",
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=False)",
        "AvgPool2d(kernel_size=2, stride=2, padding=0)",
        "AvgPool2d(kernel_size=(3, 2), stride=(2, 1), padding=1)"]
    assert modules[1].return_indices and not modules[4].count_include_pad and modules[4].divisor_override == 3
    assert modules[3].divisor_override is None and modules[3].count_include_pad and not modules[3].ceil_mode
    assert all(not list(m.parameters()) and m.state_dict() == {} for m in modules)
    x = mg.tensor(apart((2, 3, 9, 8)))
    values, indices = modules[1](x)
    np.testing.assert_array_equal(values.data, F.max_pool2d(x, (2, 1), (2, 1), 0, 1, True).data)
    np.testing.assert_array_equal(indices.data, F.max_pool2d(x, (2, 1), (2, 1), 0, 1, True, True)[1].data)
    np.testing.assert_array_equal(modules[2](x).data, F.max_pool2d(x, 3, 2, 1, 2).data)
    np.testing.assert_allclose(modules[4](x).data, np_avg_pool2d(x.data, (3, 2), (2, 1), 1, True, False, 3),
                               rtol=1e-14)


def test_pytorch_docstring_examples():
    """torch/nn/modules/conv.py's and pooling.py's examples, with their shapes (made smaller)."""
    m = nn.Conv2d(16, 33, 3, stride=2)
    m = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))
    m = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
    output = m(mg.randn(2, 16, 10, 20))
    assert output.shape == (2, 33, 6, 20)
    assert nn.MaxPool2d(3, stride=2)(mg.randn(2, 4, 50, 32)).shape == (2, 4, 24, 15)
    assert nn.MaxPool2d((3, 2), stride=(2, 1))(mg.randn(2, 4, 50, 32)).shape == (2, 4, 24, 31)
    assert nn.AvgPool2d(3, stride=2)(mg.randn(2, 4, 50, 32)).shape == (2, 4, 24, 15)
    assert nn.AvgPool2d((3, 2), stride=(2, 1))(mg.randn(2, 4, 50, 32)).shape == (2, 4, 24, 31)


# ---- pooling errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, kind, words", [
    (lambda: F.max_pool2d(mg.zeros(2, 4), 2), ValueError, ["max_pool2d", "3 axes (C, H, W, unbatched)",
                                                           "4 (N, C, H, W)", "(2, 4)"]),
    (lambda: F.avg_pool2d(mg.zeros(1, 1, 1, 4, 4), 2), ValueError, ["avg_pool2d", "(1, 1, 1, 4, 4)"]),
    (lambda: F.avg_pool2d(mg.zeros(1, 1, 4, 4, dtype=mg.long), 2), TypeError, ["avg_pool2d", "floating", "int64"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 0, 4), 1), ValueError, ["max_pool2d", "one position", "(1, 1, 0, 4)"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 4, 4), (2, 0)), ValueError, ["max_pool2d", "kernel_size", "(2, 0)"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 4, 4), (2, 2, 2)), TypeError, ["max_pool2d", "tuple of 2 integers"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 4, 4), 2, stride=(1, 0)), ValueError, ["max_pool2d", "stride", "(1, 0)"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 4, 4), (2, 4), padding=(1, 3)), ValueError,
     ["max_pool2d", "half of kernel_size", "padding=(1, 3)", "kernel_size=(2, 4)"]),
    (lambda: F.avg_pool2d(mg.zeros(1, 1, 4, 4), 3, padding=(0, -1)), ValueError, ["avg_pool2d", "padding", "-1"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 4, 4), 2, dilation=(0, 1)), ValueError, ["max_pool2d", "dilation"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 3, 6), 4), ValueError, ["max_pool2d", "height 3", "no output position"]),
    (lambda: F.avg_pool2d(mg.zeros(1, 1, 6, 3), 4), ValueError, ["avg_pool2d", "width 3", "no output position"]),
    (lambda: F.max_pool2d(mg.zeros(1, 1, 4, 4), 2, ceil_mode=1), ValueError, ["max_pool2d", "ceil_mode"]),
    (lambda: F.avg_pool2d(mg.zeros(1, 1, 4, 4), 2, divisor_override=0), ValueError,
     ["avg_pool2d", "divisor_override", "non-zero", "0"]),
    (lambda: F.avg_pool2d(mg.zeros(1, 1, 4, 4), 2, divisor_override=2.5), ValueError, ["avg_pool2d", "2.5"]),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, ["MaxPool2d", "half of kernel_size"]),
    (lambda: nn.AvgPool2d((0, 2)), ValueError, ["AvgPool2d", "kernel_size", "(0, 2)"]),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError, ["AvgPool2d", "divisor_override"]),
    (lambda: nn.MaxPool2d(2, return_indices=None), ValueError, ["MaxPool2d", "return_indices"]),
    (lambda: nn.MaxPool2d(2)(mg.zeros(3, 4)), ValueError, ["MaxPool2d", "(3, 4)"]),
    (lambda: nn.AvgPool2d(4)(mg.zeros(1, 1, 2, 8)), ValueError, ["AvgPool2d", "height 2", "no output position"]),
])
def test_pooling_errors_name_the_function_or_module_what_it_expected_and_what_came(call, kind, words):
    with pytest.raises(kind) as error:
        call()
    assert all(word in str(error.value) for word in words), str(error.value)
