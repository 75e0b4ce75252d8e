"""F.conv3d and nn.Conv3d, the 3-d pools (max, avg, adaptive) and their modules, the 3-d padding layers,
the LP pools (F.lp_pool1d/2d/3d, nn.LPPool1d/2d/3d) and max unpooling (F.max_unpool1d/2d/3d,
nn.MaxUnpool1d/2d/3d), as PyTorch's. Values against loops written here in numpy over output positions and
windows (PyTorch's documented definitions), the padding modes against np.pad, a closed form (a conv3d of an
input constant along depth is a conv2d with the depth-summed kernel), unpool(max_pool(x)) against the
input itself; gradients against central differences and tangents against directional differences, in
float64; errors naming the function or the module, what it expected and what came. No PyTorch needed."""

import itertools
import math

import numpy as np
import pytest
from test_forward_mode import as_tensors, directional_difference
from test_op_gradients import assert_gradients_match
from test_pooling import apart, check_gradient_and_tangent, window_count

import microgradseq as mg
import microgradseq.functional as functional
import microgradseq.nn as nn
import microgradseq.nn.functional as F


# ---- the references: loops over output positions and windows ------------------------------------------

def triple(value, dims=3):
    return tuple(value) * (dims // len(value)) if isinstance(value, (tuple, list)) else (value,) * dims


def np_conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, mode="constant"):
    """y[n, o, t] = b[o] + sum_c,k w[o, c, k] x_pad[n, g Cg + c, s t + d k] (o in group g, t and k 3-d): a loop
    over output positions, each window cut out explicitly and summed against the kernel. padding ints or a
    triple, "valid" or "same" (d (K - 1) in all, the odd one at the end); `mode` np.pad's."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    unbatched = x.ndim == 4
    x = x[None] if unbatched else x
    out_channels, group_channels = w.shape[:2]
    kernel, stride, dilation = w.shape[2:], triple(stride), triple(dilation)
    if padding == "valid":
        widths = [(0, 0)] * 3
    elif padding == "same":
        widths = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in zip(dilation, kernel)]
    else:
        widths = [(p, p) for p in triple(padding)]
    x = np.pad(x, [(0, 0), (0, 0)] + widths, mode=mode)
    sizes = [(n - d * (k - 1) - 1) // s + 1 for n, d, k, s in zip(x.shape[2:], dilation, kernel, stride)]
    y = np.zeros((x.shape[0], out_channels, *sizes))
    per_group = out_channels // groups
    for o in range(out_channels):
        channels = slice(o // per_group * group_channels, (o // per_group + 1) * group_channels)
        for t in itertools.product(*map(range, sizes)):
            window = x[(slice(None), channels) + tuple(
                slice(s * i, s * i + d * (k - 1) + 1, d) for s, i, d, k in zip(stride, t, dilation, kernel))]
            y[(slice(None), o) + t] = np.einsum("ncdhw,cdhw->n", window, w[o]) + (0 if b is None else b[o])
    return y[0] if unbatched else y


def sliding_windows(shape, kernel, stride, padding, dilation, ceil_mode):
    """For each output position t (3-d), the input positions of its window, per axis (PyTorch's s t - p + d k,
    those inside the input), and the window's start and end (for the avg pools' divisors)."""
    counts = [window_count(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation)]
    for t in itertools.product(*map(range, counts)):
        starts = [s * i - p for s, i, p in zip(stride, t, padding)]
        reads = [[a + d * k for k in range(kk) if 0 <= a + d * k < n]
                 for a, d, kk, n in zip(starts, dilation, kernel, shape)]
        yield t, reads, starts, counts


def np_pool3d(x, kind, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, count_include_pad=True,
              divisor_override=None):
    """max (values, flat indices (d H + h) W + w of the first maximum) or avg of each window, by a loop."""
    x = np.asarray(x, dtype=np.float64)
    kernel = triple(kernel)
    stride, padding, dilation = triple(kernel if stride is None else stride), triple(padding), triple(dilation)
    spatial = x.shape[-3:]
    windows = list(sliding_windows(spatial, kernel, stride, padding, dilation, ceil_mode))
    counts = windows[0][3]
    values = np.zeros(x.shape[:-3] + tuple(counts))
    indices = np.zeros(x.shape[:-3] + tuple(counts), dtype=np.int64)
    for t, reads, starts, _ in windows:
        window = x[(Ellipsis,) + np.ix_(*reads)].reshape(x.shape[:-3] + (-1,))
        if kind == "max":
            flat = [(a * spatial[1] + b) * spatial[2] + c for a, b, c in itertools.product(*reads)]
            values[(Ellipsis,) + t] = window.max(-1)
            indices[(Ellipsis,) + t] = np.asarray(flat)[window.argmax(-1)]
            continue
        if divisor_override is not None:
            divisor = divisor_override
        elif count_include_pad:
            divisor = math.prod(min(a + k, n + p) - a for a, k, n, p in zip(starts, kernel, spatial, padding))
        else:
            divisor = window.shape[-1]
        values[(Ellipsis,) + t] = window.sum(-1) / divisor
    return (values, indices) if kind == "max" else values


def np_adaptive3d(x, kind, sizes):
    """Window i along an axis of L: positions floor(i L / n) .. ceil((i + 1) L / n) - 1; max or mean."""
    x = np.asarray(x, dtype=np.float64)
    sizes = [n if m is None else m for n, m in zip(x.shape[-3:], triple(sizes))]
    out = np.zeros(x.shape[:-3] + tuple(sizes))
    for t in itertools.product(*map(range, sizes)):
        reads = [range(i * n // m, -(-(i + 1) * n // m)) for i, n, m in zip(t, x.shape[-3:], sizes)]
        window = x[(Ellipsis,) + np.ix_(*reads)].reshape(x.shape[:-3] + (-1,))
        out[(Ellipsis,) + t] = window.max(-1) if kind == "max" else window.mean(-1)
    return out


def np_lp_pool(x, p, kernel, stride=None, ceil_mode=False, dims=2):
    """(sum of x^p over each window)^(1/p), no padding; a ceil_mode window that overhangs the input is its
    inside's sum times K / (its inside's size), as PyTorch's avg_pool(x^p) * K."""
    x = np.asarray(x, dtype=np.float64)
    kernel = triple(kernel, dims)
    stride = triple(kernel if stride is None else stride, dims)
    spatial = x.shape[-dims:]
    counts = [window_count(n, k, s, 0, 1, ceil_mode) for n, k, s in zip(spatial, kernel, stride)]
    out = np.zeros(x.shape[:-dims] + tuple(counts))
    for t in itertools.product(*map(range, counts)):
        reads = [range(s * i, min(s * i + k, n)) for s, i, k, n in zip(stride, t, kernel, spatial)]
        window = x[(Ellipsis,) + np.ix_(*reads)].reshape(x.shape[:-dims] + (-1,))
        out[(Ellipsis,) + t] = ((window ** p).sum(-1) * math.prod(kernel) / window.shape[-1]) ** (1 / p)
    return out


def np_unpool(x, indices, sizes):
    """out[n, c, indices[n, c, t]] = x[n, c, t], zeros elsewhere, by a loop (the last writer landing)."""
    x = np.asarray(x, dtype=np.float64)
    dims = len(sizes)
    out = np.zeros(x.shape[:-dims] + (math.prod(sizes),))
    for lead in itertools.product(*map(range, x.shape[:-dims])):
        for t in itertools.product(*map(range, x.shape[-dims:])):
            out[lead + (indices[lead + t],)] = x[lead + t]
    return out.reshape(x.shape[:-dims] + tuple(sizes))


def check_tangents(fn, np_fn, arrays, seed=3):
    """mg.jvp's J v on each operand alone and on all at once against the directional difference of np_fn."""
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(a.shape) for a in arrays]
    for position in [*range(len(arrays)), None]:
        chosen = [v if position in (None, i) else np.zeros_like(v) for i, v in enumerate(directions)]
        out, tangent = mg.jvp(fn, as_tensors(arrays), chosen)
        np.testing.assert_allclose(out.data, np_fn(*arrays), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-5, atol=1e-7)


# ---- conv3d ----------------------------------------------------------------------------------------------

# (input shape, weight shape, bias, options)
CONV_CASES = [
    ((2, 3, 4, 5, 4), (4, 3, 2, 3, 2), True, {}),
    ((1, 2, 5, 5, 6), (2, 2, 3, 2, 3), True, {"stride": (2, 1, 2), "padding": (1, 0, 2)}),
    ((1, 4, 4, 6, 5), (6, 2, 2, 2, 2), False, {"dilation": (2, 1, 2), "groups": 2, "padding": 1}),
    ((2, 4, 5, 4, 4), (4, 1, 3, 3, 2), True, {"padding": "same", "dilation": (1, 2, 1), "groups": 4}),
    ((3, 4, 4, 5), (2, 3, 1, 2, 3), True, {"padding": "valid", "stride": 2}),        # unbatched (C, D, H, W)
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv3d_values_match_the_direct_correlation(case):
    shape, weight_shape, with_bias, options = case
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal(weight_shape)
    b = rng.standard_normal(weight_shape[0]) if with_bias else None
    out = F.conv3d(mg.tensor(x), mg.tensor(w), None if b is None else mg.tensor(b), **options)
    np.testing.assert_allclose(out.data, np_conv3d(x, w, b, **options), rtol=1e-12, atol=1e-12)


GRADIENT_CASES = [      # (smaller: central differences call the loop twice per entry)
    ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2), True, {"stride": (2, 1, 2), "padding": (1, 0, 1)}),
    ((1, 4, 3, 4, 3), (4, 2, 2, 1, 2), True, {"dilation": (1, 2, 1), "groups": 2, "padding": 1}),
    ((2, 3, 3, 2), (2, 2, 2, 2, 1), True, {"padding": "same"}),                        # unbatched
]


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_conv3d_gradients_match_central_differences(case):
    shape, weight_shape, _, options = case
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(weight_shape), rng.standard_normal(weight_shape[0])
    assert_gradients_match(lambda *t: F.conv3d(*t, **options), lambda *a: np_conv3d(*a, **options), x, w, b)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[4]])
def test_conv3d_tangents_match_directional_differences(case):
    shape, weight_shape, _, options = case
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(weight_shape), rng.standard_normal(weight_shape[0])
    check_tangents(lambda *t: F.conv3d(*t, **options), lambda *a: np_conv3d(*a, **options), [x, w, b])


def test_conv3d_of_an_input_constant_along_depth_is_conv2d_with_the_depth_summed_kernel():
    """x[n, c, d, h, w] = u[n, c, h, w] for every d: each output depth sums w[o, c, k, ., .] u over k, so
    y[:, :, d] = conv2d(u, sum_k w[:, :, k]) at every output depth."""
    rng = np.random.default_rng(3)
    u, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 2, 3)), rng.standard_normal(4)
    x = np.repeat(u[:, :, None], 4, axis=2)
    out = F.conv3d(mg.tensor(x), mg.tensor(w), mg.tensor(b), padding=(0, 1, 1)).data
    expected = np_conv3d(u[:, :, None], w.sum(2, keepdims=True), b, padding=(0, 1, 1))[:, :, 0]
    assert out.shape == (2, 4, 2, 6, 6)
    for depth in range(2):
        np.testing.assert_allclose(out[:, :, depth], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[:, :, 0], F.conv2d(mg.tensor(u), mg.tensor(w.sum(2)), mg.tensor(b), padding=1).data,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode, np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_conv3d_module_padding_modes_pad_as_np_pad(mode, np_mode):
    layer = nn.Conv3d(2, 2, (2, 3, 2), padding=(1, 1, 2), padding_mode=mode, dtype=np.float64,
                      rng=np.random.default_rng(4))
    x = np.random.default_rng(5).standard_normal((1, 2, 2, 3, 3))
    expected = np_conv3d(x, layer.weight.data, layer.bias.data, padding=(1, 1, 2), mode=np_mode)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    assert_gradients_match(lambda t: layer(t), lambda a: np_conv3d(a, layer.weight.data, layer.bias.data,
                                                                   padding=(1, 1, 2), mode=np_mode), x)


def test_conv3d_module_parameters_init_and_repr_are_pytorchs():
    layer = nn.Conv3d(4, 6, (3, 2, 2), stride=2, groups=2, rng=np.random.default_rng(6))
    assert layer.weight.shape == (6, 2, 3, 2, 2) and layer.bias.shape == (6,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(2 * 3 * 2 * 2)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.kernel_size == (3, 2, 2) and layer.stride == (2, 2, 2) and layer.padding == (0, 0, 0)
    assert repr(nn.Conv3d(16, 33, 3, stride=2)) == "Conv3d(16, 33, kernel_size=(3, 3, 3), stride=(2, 2, 2))"
    assert repr(nn.Conv3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))) == (
        "Conv3d(16, 33, kernel_size=(3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))")


# ---- the 3-d pools ---------------------------------------------------------------------------------------

# (input shape, kernel, stride, padding, dilation, ceil_mode)
POOL_CASES = [
    ((2, 1, 4, 4, 6), 2, None, 0, 1, False),
    ((1, 1, 5, 4, 5), (3, 2, 3), (2, 2, 1), (1, 1, 1), 1, True),
    ((1, 1, 7, 5, 4), (2, 3, 2), 2, (1, 1, 0), (2, 1, 2), True),
    ((2, 4, 3, 5), (2, 2, 3), (1, 2, 2), 0, 1, False),                                  # unbatched
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", POOL_CASES)
def test_max_pool3d_is_each_windows_maximum_and_its_first_flat_position(shape, kernel, stride, padding, dilation,
                                                                          ceil_mode):
    x = apart(shape)
    out, indices = F.max_pool3d(mg.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    values, positions = np_pool3d(x, "max", kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(out.data, values)
    assert indices.dtype == np.int64 and indices.tolist() == positions.tolist()
    check_gradient_and_tangent(lambda t: F.max_pool3d(t, kernel, stride, padding, dilation, ceil_mode),
                               lambda a: np_pool3d(a, "max", kernel, stride, padding, dilation, ceil_mode)[0], x)


@pytest.mark.parametrize("shape, kernel, stride, padding, _, ceil_mode", POOL_CASES)
@pytest.mark.parametrize("count_include_pad, divisor_override", [(True, None), (False, None), (True, 5)])
def test_avg_pool3d_is_each_windows_sum_over_its_size(shape, kernel, stride, padding, _, ceil_mode, count_include_pad,
                                                      divisor_override):
    x = np.random.default_rng(7).standard_normal(shape)
    options = dict(ceil_mode=ceil_mode, count_include_pad=count_include_pad, divisor_override=divisor_override)
    out = F.avg_pool3d(mg.tensor(x), kernel, stride, padding, **options)
    np.testing.assert_allclose(out.data, np_pool3d(x, "avg", kernel, stride, padding, **options), rtol=1e-12)
    check_gradient_and_tangent(lambda t: F.avg_pool3d(t, kernel, stride, padding, **options),
                               lambda a: np_pool3d(a, "avg", kernel, stride, padding, **options), x)


@pytest.mark.parametrize("shape, sizes", [((1, 2, 5, 4, 6), (2, 3, 4)), ((3, 4, 5, 3), (3, None, 2)),
                                          ((1, 2, 3, 4, 5), 1)])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_adaptive_pools_3d_cover_the_input_with_pytorchs_windows(shape, sizes, kind):
    x = apart(shape, seed=8) / 10
    fn = F.adaptive_max_pool3d if kind == "max" else F.adaptive_avg_pool3d
    np.testing.assert_allclose(fn(mg.tensor(x), sizes).data, np_adaptive3d(x, kind, sizes), rtol=1e-12)
    check_gradient_and_tangent(lambda t: fn(t, sizes), lambda a: np_adaptive3d(a, kind, sizes), x)


def test_adaptive_max_pool3d_indices_are_flat_positions_of_the_maxima():
    x = apart((2, 3, 4, 5), seed=9)
    out, indices = F.adaptive_max_pool3d(mg.tensor(x), (2, 2, 3), return_indices=True)
    flat = x.reshape(2, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.data.reshape(2, -1), 1), out.data.reshape(2, -1))


def test_the_3d_pooling_modules_print_keep_their_settings_and_compute_the_functions():
    x = apart((1, 2, 4, 4, 6), seed=10)
    pool = nn.MaxPool3d((2, 2, 3), stride=(1, 2, 3), padding=1, return_indices=True)
    assert repr(pool) == "MaxPool3d(kernel_size=(2, 2, 3), stride=(1, 2, 3), padding=1, dilation=1, ceil_mode=False)"
    out, indices = pool(mg.tensor(x))
    expected = np_pool3d(x, "max", (2, 2, 3), (1, 2, 3), 1)
    np.testing.assert_array_equal(out.data, expected[0])
    assert indices.tolist() == expected[1].tolist()
    avg = nn.AvgPool3d(2, ceil_mode=True, count_include_pad=False, divisor_override=3)
    assert repr(avg) == "AvgPool3d(kernel_size=2, stride=2, padding=0)" and avg.divisor_override == 3
    np.testing.assert_allclose(avg(mg.tensor(x)).data, np_pool3d(x, "avg", 2, ceil_mode=True, divisor_override=3))
    assert repr(nn.AdaptiveAvgPool3d((5, None, 9))) == "AdaptiveAvgPool3d(output_size=(5, None, 9))"
    assert repr(nn.AdaptiveMaxPool3d(7)) == "AdaptiveMaxPool3d(output_size=7)"
    np.testing.assert_allclose(nn.AdaptiveAvgPool3d(1)(mg.tensor(x)).data, x.mean((2, 3, 4), keepdims=True))


# ---- 3-d padding -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, np_mode, extra", [
    (nn.ZeroPad3d((1, 2, 0, 1, 2, 1)), "constant", {}),
    (nn.ConstantPad3d((1, 2, 0, 1, 2, 1), 3.5), "constant", {"constant_values": 3.5}),
    (nn.ReflectionPad3d((1, 2, 0, 1, 2, 1)), "reflect", {}),
    (nn.ReplicationPad3d((1, 2, 0, 3, 2, 1)), "edge", {}),
    (nn.CircularPad3d((1, 2, 0, 1, 2, 1)), "wrap", {}),
])
@pytest.mark.parametrize("shape", [(2, 2, 3, 4, 3), (2, 3, 4, 3)])
def test_the_3d_padding_layers_pad_as_np_pad(layer, np_mode, extra, shape):
    x = np.random.default_rng(11).standard_normal(shape)
    left, right, top, bottom, front, back = layer.padding
    widths = [(0, 0)] * (len(shape) - 3) + [(front, back), (top, bottom), (left, right)]
    np_fn = lambda a: np.pad(a, widths, mode=np_mode, **extra)    # noqa: E731
    np.testing.assert_array_equal(layer(mg.tensor(x)).data, np_fn(x))
    assert_gradients_match(layer, np_fn, x)
    check_tangents(layer, np_fn, [x])


def test_the_3d_padding_layers_keep_six_amounts_and_print_as_pytorchs():
    assert repr(nn.ZeroPad3d(1)) == "ZeroPad3d((1, 1, 1, 1, 1, 1))"
    assert repr(nn.ConstantPad3d((3, 3, 6, 6, 0, 1), 3.5)) == "ConstantPad3d(padding=(3, 3, 6, 6, 0, 1), value=3.5)"
    assert repr(nn.ReflectionPad3d(2)) == "ReflectionPad3d((2, 2, 2, 2, 2, 2))"
    assert repr(nn.ReplicationPad3d((3, 3, 6, 6, 1, 1))) == "ReplicationPad3d((3, 3, 6, 6, 1, 1))"
    with pytest.raises(ValueError, match=r"ReflectionPad3d: padding must be an int or a tuple of 6 ints, got \(1, 2\)"):
        nn.ReflectionPad3d((1, 2))


# ---- LP pooling ------------------------------------------------------------------------------------------

# (dims, input shape, p, kernel, stride, ceil_mode)
LP_CASES = [
    (1, (2, 3, 7), 2.0, 3, 2, False),
    (1, (3, 8), 3, 2, None, True),                            # unbatched
    (1, (2, 2, 7), 1.5, 3, 2, True),                          # the last window overhangs: its mean times K
    (2, (2, 2, 5, 6), 2, (2, 3), (2, 1), False),
    (2, (3, 5, 5), 1.2, 2, None, True),
    (3, (1, 2, 4, 5, 4), 2, 2, (1, 2, 2), False),
]
LP_POOLS = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}


@pytest.mark.parametrize("dims, shape, p, kernel, stride, ceil_mode", LP_CASES)
def test_lp_pool_is_the_p_norm_of_each_window(dims, shape, p, kernel, stride, ceil_mode):
    rng = np.random.default_rng(12)
    x = rng.uniform(0.5, 2.0, shape)          # (x^p and its root real for every p)
    fn = lambda t: LP_POOLS[dims](t, p, kernel, stride, ceil_mode)    # noqa: E731
    np_fn = lambda a: np_lp_pool(a, p, kernel, stride, ceil_mode, dims)    # noqa: E731
    np.testing.assert_allclose(fn(mg.tensor(x)).data, np_fn(x), rtol=1e-12)
    check_gradient_and_tangent(fn, np_fn, x)


def test_lp_pool_of_p_one_is_sum_pooling_and_of_p_two_the_euclidean_norm():
    x = np.random.default_rng(13).uniform(0.1, 1.0, (2, 3, 6))
    np.testing.assert_allclose(F.lp_pool1d(mg.tensor(x), 1, 2).data, x.reshape(2, 3, 3, 2).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(F.lp_pool1d(mg.tensor(x), 2, 3).data, np.linalg.norm(x.reshape(2, 3, 2, 3), axis=-1),
                               rtol=1e-12)


def test_lp_pool_of_an_all_zero_window_has_a_zero_gradient_as_pytorch_documents():
    x = mg.tensor(np.array([[[0.0, 0.0, 3.0, 4.0]]]), requires_grad=True)
    out = F.lp_pool1d(x, 2, 2)
    out.sum().backward()
    np.testing.assert_allclose(out.data, [[[0.0, 5.0]]])
    np.testing.assert_allclose(x.grad, [[[0.0, 0.0, 0.6, 0.8]]])


def test_lp_pool_modules_keep_their_settings_as_given_and_print_as_pytorchs():
    layer = nn.LPPool2d(1.2, (3, 2), stride=(2, 1))
    assert repr(layer) == "LPPool2d(norm_type=1.2, kernel_size=(3, 2), stride=(2, 1), ceil_mode=False)"
    assert repr(nn.LPPool1d(2, 3)) == "LPPool1d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    x = np.random.default_rng(14).uniform(0.1, 1.0, (2, 3, 7, 6))
    np.testing.assert_allclose(layer(mg.tensor(x)).data, np_lp_pool(x, 1.2, (3, 2), (2, 1)), rtol=1e-12)
    v = np.random.default_rng(15).uniform(0.1, 1.0, (1, 2, 4, 4, 4))
    np.testing.assert_allclose(nn.LPPool3d(2, 2, ceil_mode=True)(mg.tensor(v)).data, np_lp_pool(v, 2, 2, dims=3),
                               rtol=1e-12)


# ---- max unpooling ---------------------------------------------------------------------------------------

def test_max_unpool1d_pytorchs_docstring_example():
    pool, unpool = nn.MaxPool1d(2, stride=2, return_indices=True), nn.MaxUnpool1d(2, stride=2)
    out, indices = pool(mg.tensor([[[1.0, 2, 3, 4, 5, 6, 7, 8]]]))
    assert unpool(out, indices).tolist() == [[[0.0, 2, 0, 4, 0, 6, 0, 8]]]
    x = mg.tensor([[[1.0, 2, 3, 4, 5, 6, 7, 8, 9]]])
    out, indices = pool(x)
    assert unpool(out, indices, output_size=x.shape).tolist() == [[[0.0, 2, 0, 4, 0, 6, 0, 8, 0]]]
    assert unpool(out, indices).tolist() == [[[0.0, 2, 0, 4, 0, 6, 0, 8]]]
    assert repr(unpool) == "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))"
    assert repr(nn.MaxUnpool3d(3, stride=2)) == (
        "MaxUnpool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(0, 0, 0))")


POOLS = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
UNPOOLS = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}
# (dims, input shape, kernel, stride, padding)
UNPOOL_CASES = [
    (1, (2, 3, 8), 2, None, 0),
    (1, (3, 9), 3, 2, 1),                               # unbatched, padded
    (2, (2, 2, 6, 4), (2, 2), None, 0),
    (2, (1, 2, 5, 7), (3, 2), (2, 2), (1, 0)),
    (3, (2, 2, 4, 4, 6), 2, None, 0),
    (3, (2, 5, 4, 5), (2, 3, 2), (2, 2, 1), (1, 1, 0)),
]


@pytest.mark.parametrize("dims, shape, kernel, stride, padding", UNPOOL_CASES)
def test_max_unpool_of_max_pool_keeps_the_maxima_in_place_and_zeros_elsewhere(dims, shape, kernel, stride, padding):
    x = apart(shape, seed=16) + 100.0          # (positive: no maximum is zero)
    out, indices = POOLS[dims](mg.tensor(x), kernel, stride, padding, return_indices=True)
    restored = UNPOOLS[dims](out, indices, kernel, stride, padding, output_size=shape[-dims:])
    assert restored.shape == shape
    planes = x.reshape(shape[:-dims] + (-1,))
    at = indices.data.reshape(shape[:-dims] + (-1,))
    expected = np.zeros_like(planes)
    np.put_along_axis(expected, at, np.take_along_axis(planes, at, -1), -1)
    np.testing.assert_array_equal(restored.data, expected.reshape(shape))
    assert (restored.data != 0).sum() == sum(len(np.unique(row)) for row in at.reshape(-1, at.shape[-1]))


@pytest.mark.parametrize("dims, shape, kernel, stride, padding", UNPOOL_CASES)
def test_max_unpool_scatters_into_pytorchs_default_size_with_its_gradient_and_tangent(dims, shape, kernel, stride,
                                                                                      padding):
    kernel, stride, padding = triple(kernel, dims), triple(kernel if stride is None else stride, dims), triple(
        padding, dims)
    sizes = tuple((n - 1) * s - 2 * p + k for n, k, s, p in zip(shape[-dims:], kernel, stride, padding))
    rng = np.random.default_rng(17)
    lead = shape[:-dims]
    indices = np.stack([rng.permutation(math.prod(sizes))[:math.prod(shape[-dims:])]
                        for _ in range(math.prod(lead))]).reshape(shape)      # (distinct positions per plane)
    x = rng.standard_normal(shape)
    fn = lambda t: UNPOOLS[dims](t, mg.tensor(indices), kernel, stride, padding)    # noqa: E731
    np.testing.assert_array_equal(fn(mg.tensor(x)).data, np_unpool(x, indices, sizes))
    check_gradient_and_tangent(fn, lambda a: np_unpool(a, indices, sizes), x)


def test_max_unpool_module_forwards_its_settings_and_output_size():
    x = apart((1, 1, 5, 5), seed=18)
    out, indices = nn.MaxPool2d(2, return_indices=True)(mg.tensor(x))
    unpool = nn.MaxUnpool2d(2)
    assert unpool.kernel_size == (2, 2) and unpool.stride == (2, 2) and unpool.padding == (0, 0)
    assert unpool(out, indices).shape == (1, 1, 4, 4)
    assert unpool(out, indices, output_size=[1, 1, 5, 5]).shape == (1, 1, 5, 5)
    assert unpool(out, indices, (5, 5)).shape == (1, 1, 5, 5)


def test_max_unpool_writes_the_last_of_repeated_positions_and_gives_it_the_gradient():
    x = mg.tensor(np.array([[[1.0, 2.0, 3.0]]]), requires_grad=True)
    out = F.max_unpool1d(x, mg.tensor(np.array([[[1, 1, 0]]])), 2, 1)
    assert out.tolist() == [[[3.0, 2.0, 0.0, 0.0]]]
    out.sum().backward()
    assert x.grad.tolist() == [[[0.0, 1.0, 1.0]]]


# ---- every new function: gradient and tangent, one row each (test_composite_gradients.py runs the table) ----

INDICES_1D = np.array([[[1, 2], [0, 3]]])
GRADIENT_TABLE = {     # name: (function of tensors, the same in numpy, operand shapes)
    "conv3d": (lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, dilation=(2, 1, 1)),
               lambda x, w, b: np_conv3d(x, w, b, stride=(1, 2, 1), padding=1, dilation=(2, 1, 1)),
               [(1, 2, 3, 3, 2), (2, 2, 2, 2, 1), (2,)]),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2, 1, 1, ceil_mode=True),
                   lambda a: np_pool3d(a, "max", 2, 1, 1, ceil_mode=True)[0], [(1, 2, 3, 3, 2)]),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, 2, 1, 1, count_include_pad=False),
                   lambda a: np_pool3d(a, "avg", 2, 1, 1, count_include_pad=False), [(2, 3, 3, 2)]),
    "adaptive_max_pool3d": (lambda x: F.adaptive_max_pool3d(x, (2, None, 2)),
                            lambda a: np_adaptive3d(a, "max", (2, None, 2)), [(1, 2, 3, 2, 3)]),
    "adaptive_avg_pool3d": (lambda x: F.adaptive_avg_pool3d(x, 2), lambda a: np_adaptive3d(a, "avg", 2),
                            [(2, 3, 2, 3)]),
    "lp_pool1d": (lambda x: F.lp_pool1d(x, 3, 2, 1), lambda a: np_lp_pool(a, 3, 2, 1, dims=1), [(2, 2, 5)]),
    "lp_pool2d": (lambda x: F.lp_pool2d(x, 2, (2, 1), ceil_mode=True),
                  lambda a: np_lp_pool(a, 2, (2, 1), ceil_mode=True, dims=2), [(2, 3, 3)]),
    "lp_pool3d": (lambda x: F.lp_pool3d(x, 1.5, 2, 1), lambda a: np_lp_pool(a, 1.5, 2, 1, dims=3), [(1, 1, 3, 2, 3)]),
    "max_unpool1d": (lambda x: F.max_unpool1d(x, mg.tensor(INDICES_1D), 2),
                     lambda a: np_unpool(a, INDICES_1D, (4,)), [(1, 2, 2)]),
    "max_unpool2d": (lambda x: F.max_unpool2d(x, mg.tensor(INDICES_1D), (1, 2), output_size=(2, 3)),
                     lambda a: np_unpool(a, INDICES_1D, (2, 3)), [(1, 2, 2)]),
    "max_unpool3d": (lambda x: F.max_unpool3d(x, mg.tensor(INDICES_1D[..., None] * 5), (1, 2, 2)),
                     lambda a: np_unpool(a, INDICES_1D[..., None] * 5, (2, 4, 2)), [(1, 2, 2, 1)]),
}


# ---- errors ----------------------------------------------------------------------------------------------

X5 = mg.tensor(np.ones((1, 2, 4, 4, 4)))
W5 = mg.tensor(np.ones((3, 2, 2, 2, 2)))
I5 = mg.tensor(np.zeros((1, 2, 2, 2, 2), dtype=np.int64))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv3d(mg.tensor(np.ones((2, 4, 4))), W5), ValueError,
     r"conv3d: expected input of 4 axes \(C_in, D, H, W, unbatched\) or 5 \(N, C_in, D, H, W\), got shape \(2, 4, 4\)"),
    (lambda: F.conv3d(X5, mg.tensor(np.ones((3, 2, 2, 2)))), ValueError,
     r"conv3d: expected weight of 5 axes \(out_channels, in_channels / groups, kD, kH, kW\), got shape"),
    (lambda: F.conv3d(X5, W5, stride=(1, 2)), TypeError, r"conv3d: expected stride to be a single integer or a tuple "
     r"of 3 integers, got \(1, 2\)"),
    (lambda: F.conv3d(X5, W5, padding="same", stride=2), ValueError, r"conv3d: padding='same' is not supported"),
    (lambda: F.conv3d(X5, mg.tensor(np.ones((3, 2, 5, 1, 1)))), ValueError,
     r"conv3d: the padded input depth 4 .* is shorter than the dilated kernel"),
    (lambda: F.max_pool3d(X5, 2, padding=(0, 0, 2)), ValueError,
     r"max_pool3d: padding should be at most half of kernel_size, got padding=\(0, 0, 2\)"),
    (lambda: F.avg_pool3d(X5, 2, divisor_override=0), ValueError,
     r"avg_pool3d: expected divisor_override None or a non-zero integer, got 0"),
    (lambda: F.adaptive_avg_pool3d(X5, (2, 2)), ValueError,
     r"adaptive_avg_pool3d: expected output_size a positive integer or a tuple of 3 positive integers or None, "
     r"got \(2, 2\)"),
    (lambda: F.adaptive_max_pool3d(mg.tensor(np.ones((4, 4, 4))), 2), ValueError,
     r"adaptive_max_pool3d: expected input of 4 axes \(C, D, H, W, unbatched\) or 5"),
    (lambda: F.lp_pool2d(mg.tensor(np.ones((1, 4, 4))), 0, 2), ValueError,
     r"lp_pool2d: expected norm_type a non-zero real number \(the p of the p-norm\), got 0"),
    (lambda: F.lp_pool1d(mg.tensor(np.ones((1, 4))), 2, 5), ValueError,
     r"lp_pool1d: the input length 4 with padding 0 on each side is shorter than the \(dilated\) kernel"),
    (lambda: F.lp_pool2d(mg.tensor(np.ones((1, 4, 4))), 2, 2, ceil_mode=1), ValueError,
     r"lp_pool2d: ceil_mode must be True or False, got 1"),
    (lambda: F.max_unpool3d(X5[:, :, :2, :2, :2], I5.float(), 2), TypeError,
     r"max_unpool3d: expected indices of dtype int64 .*, got float32"),
    (lambda: F.max_unpool3d(X5[:, :, :2, :2, :2], I5[0], 2), ValueError,
     r"max_unpool3d: expected indices of the input's shape \(1, 2, 2, 2, 2\), got \(2, 2, 2, 2\)"),
    (lambda: F.max_unpool3d(X5[:, :, :2, :2, :2], I5 + 64, 2), RuntimeError,
     r"max_unpool3d: found an invalid max index 64: an output of size 4 x 4 x 4 \(D, H, W\) holds positions 0 .. 63"),
    (lambda: F.max_unpool2d(X5[0, :, :2, :2, :2], I5[0], 2, output_size=(6, 4)), ValueError,
     r"max_unpool2d: invalid output_size \(6, 4\) \(dim 0 must be between 2 and 6, both excluded\)"),
    (lambda: F.max_unpool1d(X5[0, 0, :2, :2, 0], I5[0, 0, :, :, 0], 2, output_size=(1, 2)), ValueError,
     r"max_unpool1d: output_size should be a sequence of 1 or 3 integers, got \(1, 2\)"),
])
def test_errors_name_the_function_what_it_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv3d(3, 4, (2, 2)), r"Conv3d: expected kernel_size to be a single integer or a tuple of 3"),
    (lambda: nn.Conv3d(3, 4, 2, padding_mode="mirror"), r"Conv3d: padding_mode must be one of"),
    (lambda: nn.MaxPool3d(2, padding=2), r"MaxPool3d: padding should be at most half of kernel_size"),
    (lambda: nn.AvgPool3d(2, divisor_override=0.5), r"AvgPool3d: expected divisor_override None or a non-zero"),
    (lambda: nn.AdaptiveMaxPool3d(0), r"AdaptiveMaxPool3d: expected output_size a positive integer"),
    (lambda: nn.LPPool1d("2", 3), r"LPPool1d: expected norm_type a non-zero real number .*, got '2'"),
    (lambda: nn.LPPool2d(2, (2, 2, 2)), r"LPPool2d: expected kernel_size to be a single integer or a tuple of 2"),
    (lambda: nn.MaxUnpool2d(2, stride=0), r"MaxUnpool2d: expected stride positive \(>= 1\), got 0"),
])
def test_module_errors_name_the_module_and_come_when_it_is_made(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_module_forward_errors_name_the_module_and_change_nothing():
    x = mg.tensor(np.ones((2, 3, 3)), requires_grad=True)
    for layer, message in [(nn.Conv3d(2, 3, 2, dtype=np.float64), r"Conv3d: expected input of 4 axes"),
                           (nn.LPPool3d(2, 2), r"LPPool3d: expected input of 4 axes"),
                           (nn.AvgPool3d(2), r"AvgPool3d: expected input of 4 axes")]:
        with pytest.raises(ValueError, match=message):
            layer(x)
    with pytest.raises(ValueError, match=r"MaxUnpool1d: expected indices of the input's shape \(2, 3, 3\)"):
        nn.MaxUnpool1d(2)(x, mg.tensor(np.zeros((2, 3), dtype=np.int64)))
    assert x.grad is None and x.grad_fn is None and x.tolist() == np.ones((2, 3, 3)).tolist()


def test_the_new_names_are_torch_nn_functionals_and_torch_nns():
    for name in ["conv3d", "max_pool3d", "avg_pool3d", "adaptive_max_pool3d", "adaptive_avg_pool3d", "lp_pool1d",
                 "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d"]:
        assert getattr(F, name) is getattr(functional, name) and name in F.__all__ and name in functional.__all__
    for name in ["Conv3d", "MaxPool3d", "AvgPool3d", "AdaptiveMaxPool3d", "AdaptiveAvgPool3d", "ZeroPad3d",
                 "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d", "LPPool1d", "LPPool2d",
                 "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]:
        assert name in nn.__all__ and issubclass(getattr(nn, name), nn.Module)
