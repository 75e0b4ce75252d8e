"""The 3-d and lazy families finished as PyTorch's: nn.ConvTranspose3d (F.conv_transpose3d's values, adjoint
and gradients are in test_transposed_convolution.py), spectral_norm's dim for it, F.interpolate and
nn.Upsample of 5-d input, nn.LazyConv3d and nn.LazyConvTranspose1d / 2d / 3d, and LazyLinear's bias after
load_state_dict.

The references: the transposed convolution's numpy scatter loop (test_transposed_convolution.py); for 5-d
resizing, closed forms (trilinear interpolation with align_corners=True reproduces a trilinear function at
the sampled points; area of a factor that divides the size is the block mean) and numpy written here from
PyTorch's index formulas (aten/src/ATen/native/UpSample.h: area_pixel_compute_scale, the nearest and
nearest-exact source index, the linear source index and weights), each axis a matrix; central differences
and directional differences in float64 for gradients and tangents; for the lazy layers, the eager layer
made after the same seed (PyTorch's lazy modules draw as the eager ones once sized).
"""

import math

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import assert_gradients_match
from test_transposed_convolution import np_conv_transpose

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

F64 = np.float64


# ---- ConvTranspose3d and spectral_norm's dim ----------------------------------------------------------------

def test_conv_transpose3d_module_draws_as_pytorch_and_computes_the_scatter():
    """weight (in, out / groups, kD, kH, kW), bound 1 / sqrt(out / groups * kD kH kW) (PyTorch's fan_in of
    the transposed weight), then the scatter loop with its settings, batched and unbatched."""
    layer = nn.ConvTranspose3d(4, 6, (2, 1, 3), stride=(2, 1, 1), padding=(0, 1, 1), output_padding=(1, 0, 0),
                               groups=2, rng=np.random.default_rng(1), dtype=F64)
    assert layer.weight.shape == (4, 3, 2, 1, 3) and layer.bias.shape == (6,)
    numpy_rng, bound = np.random.default_rng(1), 1 / math.sqrt(3 * 2 * 1 * 3)
    np.testing.assert_allclose(layer.weight.data, numpy_rng.uniform(-bound, bound, (4, 3, 2, 1, 3)), rtol=1e-13)
    np.testing.assert_allclose(layer.bias.data, numpy_rng.uniform(-bound, bound, 6), rtol=1e-13)
    x = np.random.default_rng(2).standard_normal((2, 4, 2, 3, 3))
    expected = np_conv_transpose(x, layer.weight.data, layer.bias.data, (2, 1, 1), (0, 1, 1), (1, 0, 0), 2, 1)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer(mg.tensor(x[1])).data, expected[1], rtol=1e-12, atol=1e-12)


def test_conv_transpose3d_output_size_picks_the_output_padding():
    """(D - 1) s - 2p + (K - 1) + 1 = 5 for D = 3, s = 2, p = 1, K = 3; output_size 6 asks output_padding 1."""
    layer = nn.ConvTranspose3d(2, 2, 3, stride=2, padding=1, rng=np.random.default_rng(3), dtype=F64)
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 3, 3))
    out = layer(mg.tensor(x), output_size=(6, 5, 6))
    expected = np_conv_transpose(x, layer.weight.data, layer.bias.data, 2, 1, (1, 0, 1))
    assert out.shape == (1, 2, 6, 5, 6)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_spectral_norm_normalises_a_conv_transpose3d_along_its_output_axis():
    """PyTorch's dim None is 1 for every ConvTranspose: u has out / groups entries, v in * prod(K)."""
    layer = nn.utils.spectral_norm(nn.ConvTranspose3d(4, 6, (2, 1, 3), groups=2, dtype=F64))
    assert layer.weight_u.shape == (3,) and layer.weight_v.shape == (4 * 2 * 1 * 3,)
    assert nn.utils.spectral_norm(nn.Conv3d(4, 6, 2, dtype=F64)).weight_u.shape == (6,)


# ---- interpolate of 5-d input ------------------------------------------------------------------------------

def nearest_positions(length, count, scale=None, exact=False):
    """PyTorch's nearest source index: floor(s i) ("nearest") or floor(s (i + 1/2)) ("nearest-exact"), at
    most S - 1, with s = 1 / scale_factor when one is given, else S / n."""
    s = 1.0 / scale if scale else length / count
    i = np.arange(count) + (0.5 if exact else 0.0)
    return np.minimum(np.floor(s * i), length - 1).astype(int)


def linear_matrix(length, count, align_corners, scale=None):
    """(count, length) weights of PyTorch's linear resampling along one axis: s = (S - 1) / (n - 1) with
    align_corners (0 for n = 1), else 1 / scale_factor or S / n; r = s i, else max(s (i + 1/2) - 1/2, 0);
    j = min(floor(r), S - 1) gets 1 - (r - j), j + 1 (j at the end) gets r - j."""
    if align_corners:
        s = (length - 1) / (count - 1) if count > 1 else 0.0
    else:
        s = 1.0 / scale if scale else length / count
    matrix = np.zeros((count, length))
    for i in range(count):
        r = s * i if align_corners else max(s * (i + 0.5) - 0.5, 0.0)
        j = min(math.floor(r), length - 1)
        weight = r - j
        matrix[i, j] += 1 - weight
        matrix[i, min(j + 1, length - 1)] += weight
    return matrix


def np_trilinear(x, sizes, align_corners, scales=(None, None, None)):
    """Each spatial axis resampled by its `linear_matrix`."""
    d, h, w = (linear_matrix(length, n, align_corners, f) for length, n, f in zip(x.shape[2:], sizes, scales))
    return np.einsum("nkxyz,ax,by,cz->nkabc", x, d, h, w)


def np_nearest(x, sizes, exact=False, scales=(None, None, None)):
    """x at the nearest source index along each spatial axis."""
    picks = [nearest_positions(length, n, f, exact) for length, n, f in zip(x.shape[2:], sizes, scales)]
    return x[(slice(None), slice(None)) + np.ix_(*picks)]


def test_trilinear_with_aligned_corners_reproduces_a_trilinear_function():
    """f(z, y, x) = (1 + 2z)(3 - y)(0.5 + x) + z y x sampled on the integer grid; with align_corners output
    position i sits at r = i (S - 1) / (n - 1), where trilinear interpolation of a trilinear f is exact."""
    def f(z, y, x):
        return (1 + 2 * z) * (3 - y) * (0.5 + x) + z * y * x
    sizes, out = (3, 4, 2), (5, 7, 4)
    grid = np.meshgrid(*(np.arange(n, dtype=F64) for n in sizes), indexing="ij")
    x = np.stack([f(*grid), 2 * f(*grid)])[None]                        # (1, 2, 3, 4, 2)
    y = F.interpolate(mg.tensor(x), size=out, mode="trilinear", align_corners=True)
    points = np.meshgrid(*(np.linspace(0, n - 1, m) for n, m in zip(sizes, out)), indexing="ij")
    np.testing.assert_allclose(y.data, np.stack([f(*points), 2 * f(*points)])[None], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("options, sizes, scales", [
    (dict(size=(5, 2, 3)), (5, 2, 3), (None,) * 3),
    (dict(scale_factor=(2.0, 0.5, 1.5)), (6, 2, 4), (2.0, 0.5, 1.5)),
    (dict(scale_factor=1.5, recompute_scale_factor=True), (4, 6, 4), (None,) * 3),
])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_5d_reads_pytorchs_source_index_along_each_axis(mode, options, sizes, scales):
    x = np.random.default_rng(5).standard_normal((2, 3, 3, 4, 3))
    y = F.interpolate(mg.tensor(x), mode=mode, **options)
    assert y.shape == (2, 3) + sizes
    np.testing.assert_array_equal(y.data, np_nearest(x, sizes, mode == "nearest-exact", scales))


def test_area_5d_of_a_dividing_size_is_the_block_mean():
    x = np.random.default_rng(6).standard_normal((2, 3, 4, 6, 2))
    blocks = x.reshape(2, 3, 2, 2, 3, 2, 1, 2).mean(axis=(3, 5, 7))
    np.testing.assert_allclose(F.interpolate(mg.tensor(x), size=(2, 3, 1), mode="area").data, blocks, rtol=1e-12)
    np.testing.assert_allclose(F.interpolate(mg.tensor(x), scale_factor=0.5, mode="area").data,
                               x.reshape(2, 3, 2, 2, 3, 2, 1, 2).mean(axis=(3, 5, 7)), rtol=1e-12)


@pytest.mark.parametrize("align_corners", [False, True])
def test_trilinear_values_gradient_and_tangent_match_the_numpy_formulas(align_corners):
    """Values against the per-axis matrices; gradient against central differences, tangent against the
    directional difference, float64; up- and downsampling mixed across the axes."""
    x = np.random.default_rng(7).standard_normal((2, 2, 3, 4, 2))
    scales = (1.5, 0.75, 2.0)

    def fn(t):
        return F.interpolate(t, scale_factor=scales, mode="trilinear", align_corners=align_corners)

    def np_fn(a):
        return np_trilinear(a, (4, 3, 4), align_corners, (None,) * 3 if align_corners else scales)
    assert_gradients_match(fn, np_fn, x)
    direction = np.random.default_rng(8).standard_normal(x.shape)
    output, tangent = mg.jvp(fn, [mg.tensor(x)], [direction])
    np.testing.assert_allclose(output.data, np_fn(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, [x], [direction]), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area"])
def test_nearest_and_area_5d_gradients_match_central_differences(mode):
    x = np.random.default_rng(9).standard_normal((1, 2, 4, 3, 2))
    sizes = {"nearest": (2, 5, 1), "nearest-exact": (2, 5, 3), "area": (2, 3, 1)}[mode]

    def np_fn(a):
        if mode == "area":
            return a.reshape(1, 2, 2, 2, 3, 1, 1, 2).mean(axis=(3, 5, 7))
        return np_nearest(a, sizes, mode == "nearest-exact")
    assert_gradients_match(lambda t: F.interpolate(t, size=sizes, mode=mode), np_fn, x)


def test_upsample_takes_5d_input_as_interpolate():
    x = np.random.default_rng(10).standard_normal((1, 2, 2, 3, 2))
    layer = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=True)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, np_trilinear(x, (4, 6, 4), True), rtol=1e-12, atol=1e-12)
    assert repr(nn.Upsample(size=(2, 3, 4), mode="nearest")) == "Upsample(size=(2, 3, 4), mode='nearest')"


@pytest.mark.parametrize("call, message", [
    (lambda x: F.interpolate(x[0], 4, mode="trilinear"), r"interpolate: got 4-d input of shape \(2, 3, 4, 2\), but "
                                                         r"trilinear mode needs 5-d input"),
    (lambda x: F.interpolate(x, 4, mode="linear"), "interpolate: got 5-d input .* but linear mode needs 3-d input"),
    (lambda x: F.interpolate(x[None], 4), r"interpolate: expected input of 3 axes \(N, C, L\), 4 \(N, C, H, W\) or 5 "
                                          r"\(N, C, D, H, W\), got shape \(1, 1, 2, 3, 4, 2\)"),
    (lambda x: nn.Upsample(4, mode="bicubic")(x), "Upsample: got 5-d input .* but bicubic mode needs 4-d input"),
])
def test_5d_input_with_a_mode_of_another_rank_is_refused_naming_the_caller(call, message):
    x = mg.zeros(1, 2, 3, 4, 2)
    with pytest.raises(NotImplementedError, match=message):
        call(x)


# ---- the lazy convolutions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lazy, eager, shape, options", [
    (nn.LazyConv3d, nn.Conv3d, (2, 3, 3, 4, 3), dict(kernel_size=2, padding=(1, 0, 1))),
    (nn.LazyConv3d, nn.Conv3d, (4, 3, 2, 3), dict(kernel_size=(2, 1, 2), groups=2)),
    (nn.LazyConvTranspose1d, nn.ConvTranspose1d, (2, 4, 5), dict(kernel_size=3, stride=2, groups=2)),
    (nn.LazyConvTranspose1d, nn.ConvTranspose1d, (3, 5), dict(kernel_size=2, bias=False)),
    (nn.LazyConvTranspose2d, nn.ConvTranspose2d, (2, 3, 3, 4), dict(kernel_size=(2, 3), stride=2, output_padding=1)),
    (nn.LazyConvTranspose3d, nn.ConvTranspose3d, (1, 4, 2, 3, 2), dict(kernel_size=2, groups=2, dilation=(1, 2, 1))),
    (nn.LazyConvTranspose3d, nn.ConvTranspose3d, (2, 2, 3, 2), dict(kernel_size=(1, 2, 2), padding=(0, 1, 0))),
])
def test_lazy_layers_infer_in_channels_and_then_equal_the_eager_layer(lazy, eager, shape, options):
    """in_channels from input.shape[1] (shape[0] unbatched); a transposed weight's in-channel axis is 0; the
    same Parameter objects take their shapes, drawn as the eager layer's after the same seed."""
    x = mg.tensor(np.random.default_rng(11).standard_normal(shape))
    in_channels = shape[1] if len(shape) == lazy.dims + 2 else shape[0]
    mg.manual_seed(2)
    layer = lazy(6, dtype=F64, **options)
    weight = layer.weight
    assert layer.in_channels == 0 and isinstance(weight, nn.UninitializedParameter)
    assert 0 in weight.shape and weight.shape.index(0) == (0 if eager.__name__.startswith("ConvTranspose") else 1)
    out = layer(x)
    mg.manual_seed(2)
    reference = eager(in_channels, 6, dtype=F64, **options)
    assert type(layer) is eager and layer.in_channels == in_channels and layer.weight is weight
    assert type(layer.weight) is nn.Parameter and layer.weight.shape == reference.weight.shape
    np.testing.assert_array_equal(layer.weight.numpy(), reference.weight.numpy())
    if reference.bias is not None:
        np.testing.assert_array_equal(layer.bias.numpy(), reference.bias.numpy())
    np.testing.assert_allclose(out.numpy(), reference(x).numpy(), rtol=1e-14)


def test_lazy_conv_transpose_passes_output_size_through_its_first_call():
    layer = nn.LazyConvTranspose2d(2, 3, stride=2, padding=1)
    assert layer(mg.zeros(1, 4, 6, 6), output_size=(12, 11)).shape == (1, 2, 12, 11)
    assert type(layer) is nn.ConvTranspose2d and layer.weight.shape == (4, 2, 3, 3)


def test_lazy_conv_transpose_takes_its_shape_from_a_state_dict_on_axis_0():
    source = nn.ConvTranspose3d(4, 6, 2, groups=2, dtype=F64)
    layer = nn.LazyConvTranspose3d(6, 2, groups=2, dtype=F64)
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    layer.load_state_dict(source.state_dict())
    assert type(layer) is nn.ConvTranspose3d and layer.in_channels == 4
    assert type(layer.weight) is nn.Parameter and type(layer.bias) is nn.Parameter
    np.testing.assert_array_equal(layer.weight.numpy(), source.weight.numpy())
    np.testing.assert_array_equal(layer.bias.numpy(), source.bias.numpy())
    assert optimizer.param_groups[0]["params"][0] is layer.weight


def test_lazy_conv_transpose_refuses_a_weight_whose_in_channels_groups_do_not_divide():
    layer = nn.LazyConvTranspose1d(4, 2, groups=2, dtype=F64)
    with pytest.raises(ValueError, match=r"load_state_dict for LazyConvTranspose1d: weight: expected shape "
                                         r"\(0, 2, 2\), got \(3, 2, 2\) \(no parameter was changed\)"):
        layer.load_state_dict({"weight": np.ones((3, 2, 2)), "bias": np.ones(4)})
    assert type(layer) is nn.LazyConvTranspose1d and layer.weight.shape == (0, 2, 2)
    assert type(layer.bias) is nn.UninitializedParameter and not layer.bias.numpy().any()


@pytest.mark.parametrize("call, message", [
    (lambda: nn.LazyConvTranspose3d(4, 3)(mg.zeros(2, 3, 4)),
     r"LazyConvTranspose3d: expected 4D \(unbatched\) or 5D \(batched\) input, got input of shape \(2, 3, 4\)"),
    (lambda: nn.LazyConv3d(4, 1, groups=2)(mg.zeros(3, 2, 2, 2)),
     "LazyConv3d: the input's 3 channels must be a positive multiple of groups=2"),
    (lambda: nn.LazyConvTranspose2d(4, 1, groups=0), "LazyConvTranspose2d: groups must be a positive integer, got 0"),
    (lambda: nn.LazyConvTranspose2d(3, 1, groups=2),
     "LazyConvTranspose2d: out_channels must be divisible by groups, got in_channels=2, out_channels=3, groups=2"),
])
def test_lazy_errors_name_the_layer_and_what_came(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_lazy_linear_bias_loaded_from_a_state_dict_is_a_real_parameter():
    """The bias's shape (out,) was known from the start, so the state dict's values go in without a new
    shape; it must still become a Parameter, the same object (an optimizer made before trains it)."""
    layer = nn.LazyLinear(3, dtype=F64)
    bias = layer.bias
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    weight, values = np.arange(6.0).reshape(3, 2), np.array([0.5, -1.0, 2.0])
    layer.load_state_dict({"weight": weight, "bias": values})
    assert type(layer) is nn.Linear and layer.in_features == 2
    assert type(layer.bias) is nn.Parameter and layer.bias is bias and optimizer.param_groups[0]["params"][1] is bias
    np.testing.assert_array_equal(layer.bias.numpy(), values)
    x = np.array([[1.0, -2.0]])
    np.testing.assert_allclose(layer(mg.tensor(x)).numpy(), x @ weight.T + values, rtol=1e-15)
