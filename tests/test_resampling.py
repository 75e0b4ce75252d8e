"""F.interpolate (and F.upsample, upsample_nearest, upsample_bilinear, nn.Upsample and its 2-d spellings),
F.unfold / F.fold (nn.Unfold / nn.Fold) and F.channel_shuffle (nn.ChannelShuffle), as PyTorch's.

The references are numpy loops written here from PyTorch's index formulas (aten/src/ATen/native/UpSample.h:
area_pixel_compute_scale and area_pixel_compute_source_index, the nearest and nearest-exact source index,
the linear guard of index and weight, Keys' cubic kernel with A = -0.75 and the border repeated; im2col's
and col2im's loops), closed forms (a ramp, repeated pixels, overlap counts), central differences in float64
for the gradients and the tangents.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st
from test_forward_mode import directional_difference
from test_op_gradients import assert_gradients_match, values

import microgradseq as mg
import microgradseq.nn.functional as F

A = -0.75


# ---- numpy references ----------------------------------------------------------------

def keys(d):
    """Keys' cubic convolution kernel W(d), A = -0.75."""
    d = abs(d)
    if d <= 1:
        return (A + 2) * d ** 3 - (A + 3) * d ** 2 + 1
    if d < 2:
        return A * d ** 3 - 5 * A * d ** 2 + 8 * A * d - 4 * A
    return 0.0


def taps(mode, length, count, scale, align_corners, i):
    """[(input position, weight), ...] that output position i reads along one axis, by PyTorch's formulas."""
    if align_corners:
        s = (length - 1) / (count - 1) if count > 1 else 0.0
    else:
        s = 1.0 / scale if scale else length / count
    if mode == "nearest":
        return [(min(math.floor(s * i), length - 1), 1.0)]
    if mode == "nearest-exact":
        return [(min(math.floor(s * (i + 0.5)), length - 1), 1.0)]
    real = s * i if align_corners else s * (i + 0.5) - 0.5
    if mode in ("linear", "bilinear", "trilinear"):
        if count == length:
            return [(i, 1.0)]
        real = max(real, 0.0)
        j = min(math.floor(real), length - 1)
        weight = min(max(real - j, 0.0), 1.0)
        return [(j, 1 - weight), (j + 1 if j < length - 1 else j, weight)]
    j = min(math.floor(real), length - 1)
    t = min(max(real - j, 0.0), 1.0)
    return [(min(max(j - 1 + k, 0), length - 1), keys(t + 1 - k)) for k in range(4)]


def np_area(x, sizes):
    """Adaptive average pooling: window i the positions floor(i L / n) .. ceil((i + 1) L / n) - 1."""
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for index in np.ndindex(*sizes):
        window = tuple(slice(math.floor(i * length / n), math.ceil((i + 1) * length / n))
                       for i, length, n in zip(index, x.shape[2:], sizes))
        out[(Ellipsis,) + index] = x[(Ellipsis,) + window].mean(axis=tuple(range(2, x.ndim)))
    return out


def np_interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=False, recompute=False):
    """interpolate of (N, C, L), (N, C, H, W) or (N, C, D, H, W), one output position at a time."""
    spatial = x.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, tuple) else (size,) * len(spatial)
        scales = (None,) * len(spatial)
    else:
        factors = scale_factor if isinstance(scale_factor, tuple) else (scale_factor,) * len(spatial)
        sizes = tuple(math.floor(length * f) for length, f in zip(spatial, factors))
        scales = (None,) * len(spatial) if recompute else factors
    if mode == "area":
        return np_area(x, sizes)
    out = np.zeros(x.shape[:2] + sizes)
    for index in np.ndindex(*sizes):
        per_axis = [taps(mode, length, n, scale, align_corners, i)
                    for i, length, n, scale in zip(index, spatial, sizes, scales)]
        for combination in np.ndindex(*[len(t) for t in per_axis]):
            chosen = [per_axis[axis][k] for axis, k in enumerate(combination)]
            out[(Ellipsis,) + index] += math.prod(w for _, w in chosen) * x[(Ellipsis,) + tuple(j for j, _ in chosen)]
    return out


def block_count(length, k, d, p, s):
    return (length + 2 * p - d * (k - 1) - 1) // s + 1


def np_unfold(x, k, d=(1, 1), p=(0, 0), s=(1, 1)):
    """im2col: cols[n, c kH kW + i kW + j, a W_out + b] = x_pad[n, c, s0 a + d0 i, s1 b + d1 j]."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    rows, columns = block_count(h, k[0], d[0], p[0], s[0]), block_count(w, k[1], d[1], p[1], s[1])
    cols = np.zeros((n, c * k[0] * k[1], rows * columns))
    for ch in range(c):
        for i in range(k[0]):
            for j in range(k[1]):
                for a in range(rows):
                    for b in range(columns):
                        cols[:, ch * k[0] * k[1] + i * k[1] + j, a * columns + b] = \
                            padded[:, ch, s[0] * a + d[0] * i, s[1] * b + d[1] * j]
    return cols


def np_fold(cols, size, k, d=(1, 1), p=(0, 0), s=(1, 1)):
    """col2im: each column entry added at the padded position it came from, then the padding cut off."""
    n, c = cols.shape[0], cols.shape[1] // (k[0] * k[1])
    padded = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    rows, columns = block_count(size[0], k[0], d[0], p[0], s[0]), block_count(size[1], k[1], d[1], p[1], s[1])
    for ch in range(c):
        for i in range(k[0]):
            for j in range(k[1]):
                for a in range(rows):
                    for b in range(columns):
                        padded[:, ch, s[0] * a + d[0] * i, s[1] * b + d[1] * j] += \
                            cols[:, ch * k[0] * k[1] + i * k[1] + j, a * columns + b]
    return padded[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def np_channel_shuffle(x, groups):
    """y[n, k g + i] = x[n, i C / g + k]."""
    channels = x.shape[1]
    out = np.empty_like(x)
    for i in range(groups):
        for k in range(channels // groups):
            out[:, k * groups + i] = x[:, i * (channels // groups) + k]
    return out


# ---- values against the loops ---------------------------------------------------------

ONE_D = [dict(size=8), dict(size=3), dict(size=1), dict(size=5), dict(scale_factor=2), dict(scale_factor=1.7),
         dict(scale_factor=1.7, recompute=True), dict(scale_factor=0.6), dict(scale_factor=2.5, recompute=True)]
TWO_D = [dict(size=(7, 3)), dict(size=(1, 1)), dict(size=(4, 5)), dict(size=4), dict(scale_factor=(1.5, 0.8)),
         dict(scale_factor=2), dict(scale_factor=2.3, recompute=True), dict(scale_factor=(0.5, 3))]
MODES_1D = [("nearest", None), ("nearest-exact", None), ("linear", False), ("linear", True), ("area", None)]
MODES_2D = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
            ("bicubic", False), ("bicubic", True), ("area", None)]


def called(x, mode, align_corners, setting):
    options = dict(setting)
    recompute = options.pop("recompute", None)
    return F.interpolate(x, mode=mode, align_corners=align_corners, recompute_scale_factor=recompute, **options)


@pytest.mark.parametrize("mode, align_corners", MODES_1D)
@pytest.mark.parametrize("setting", ONE_D, ids=str)
def test_interpolate_1d_matches_pytorch_s_index_formulas(mode, align_corners, setting):
    x = np.random.default_rng(0).standard_normal((2, 3, 5))
    out = called(mg.tensor(x), mode, align_corners, setting)
    np.testing.assert_allclose(out.data, np_interpolate(x, mode=mode, align_corners=bool(align_corners), **setting),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode, align_corners", MODES_2D)
@pytest.mark.parametrize("setting", TWO_D, ids=str)
def test_interpolate_2d_matches_pytorch_s_index_formulas(mode, align_corners, setting):
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 5))
    out = called(mg.tensor(x), mode, align_corners, setting)
    np.testing.assert_allclose(out.data, np_interpolate(x, mode=mode, align_corners=bool(align_corners), **setting),
                               rtol=1e-12, atol=1e-12)


def test_bilinear_upsampling_of_a_ramp_with_align_corners_is_the_ramp():
    """f(h, w) = 3h - 2w + 1 on a 4 x 5 grid, resized to 7 x 9 with the corners aligned: the same plane at
    h = 3a / 6, w = 4b / 8."""
    h, w = np.meshgrid(np.arange(4.0), np.arange(5.0), indexing="ij")
    out = F.interpolate(mg.tensor((3 * h - 2 * w + 1)[None, None]), size=(7, 9), mode="bilinear", align_corners=True)
    a, b = np.meshgrid(np.arange(7) * 3 / 6, np.arange(9) * 4 / 8, indexing="ij")
    np.testing.assert_allclose(out.data[0, 0], 3 * a - 2 * b + 1, rtol=0, atol=1e-12)


def test_nearest_by_two_repeats_each_pixel_and_area_by_half_averages_blocks():
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4))
    doubled = F.interpolate(mg.tensor(x), scale_factor=2)
    np.testing.assert_array_equal(doubled.data, x.repeat(2, axis=2).repeat(2, axis=3))
    np.testing.assert_array_equal(F.interpolate(mg.tensor(x), scale_factor=2, mode="nearest-exact").data,
                                  doubled.data)
    halved = F.interpolate(doubled, scale_factor=0.5, mode="area")
    np.testing.assert_allclose(halved.data, x, rtol=0, atol=1e-15)


def test_float32_input_stays_float32():
    x = np.random.default_rng(3).standard_normal((1, 1, 3, 4)).astype(np.float32)
    out = F.interpolate(mg.tensor(x), scale_factor=1.5, mode="bicubic")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, np_interpolate(x.astype(np.float64), scale_factor=1.5, mode="bicubic"),
                               rtol=1e-5, atol=1e-5)


def test_deprecated_spellings_warn_and_are_interpolate():
    x = mg.tensor(np.random.default_rng(4).standard_normal((1, 2, 3, 3)))
    with pytest.warns(UserWarning, match="nn.functional.upsample_bilinear is deprecated"):
        out = F.upsample_bilinear(x, size=(5, 4))
    np.testing.assert_array_equal(out.data, F.interpolate(x, (5, 4), mode="bilinear", align_corners=True).data)
    with pytest.warns(UserWarning, match="nn.functional.upsample_nearest is deprecated"):
        out = F.upsample_nearest(x, scale_factor=3)
    np.testing.assert_array_equal(out.data, F.interpolate(x, scale_factor=3).data)
    with pytest.warns(UserWarning, match="nn.functional.upsample is deprecated"):
        out = F.upsample(x, size=4, mode="bicubic")
    np.testing.assert_array_equal(out.data, F.interpolate(x, 4, mode="bicubic").data)


def test_upsample_modules_are_interpolate_and_print_as_pytorch_s():
    x = mg.tensor(np.random.default_rng(5).standard_normal((1, 2, 3, 4)))
    layer = mg.nn.Upsample(scale_factor=2, mode="bilinear")
    assert repr(layer) == "Upsample(scale_factor=2.0, mode='bilinear')" and layer.scale_factor == 2.0
    np.testing.assert_array_equal(layer(x).data, F.interpolate(x, scale_factor=2.0, mode="bilinear").data)
    assert repr(mg.nn.Upsample(size=(4, 6))) == "Upsample(size=(4, 6), mode='nearest')"
    assert mg.nn.Upsample(scale_factor=(2, 3)).scale_factor == (2.0, 3.0)
    nearest, bilinear = mg.nn.UpsamplingNearest2d(scale_factor=2), mg.nn.UpsamplingBilinear2d(size=(5, 7))
    assert repr(bilinear) == "UpsamplingBilinear2d(size=(5, 7), mode='bilinear')"
    np.testing.assert_array_equal(nearest(x).data, x.data.repeat(2, axis=2).repeat(2, axis=3))
    np.testing.assert_allclose(bilinear(x).data, np_interpolate(x.data, (5, 7), mode="bilinear", align_corners=True),
                               rtol=1e-12, atol=1e-12)


# ---- unfold, fold, channel_shuffle ------------------------------------------------------

BLOCKS = [dict(k=(2, 2)), dict(k=(3, 2), d=(1, 2), p=(1, 0), s=(2, 1)), dict(k=(1, 3), p=(0, 2), s=(1, 3)),
          dict(k=(2, 3), d=(2, 1), p=(1, 1), s=(1, 2))]


def keywords(block):
    return dict(kernel_size=block["k"], dilation=block.get("d", 1), padding=block.get("p", 0),
                stride=block.get("s", 1))


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_unfold_matches_an_im2col_loop_and_fold_a_col2im_loop(block):
    x = np.random.default_rng(6).standard_normal((2, 3, 5, 6))
    cols = F.unfold(mg.tensor(x), **keywords(block))
    np.testing.assert_array_equal(cols.data, np_unfold(x, **block))
    np.testing.assert_array_equal(F.unfold(mg.tensor(x[0]), **keywords(block)).data, np_unfold(x, **block)[0])
    given = np.random.default_rng(7).standard_normal(cols.shape)
    folded = F.fold(mg.tensor(given), (5, 6), **keywords(block))
    np.testing.assert_allclose(folded.data, np_fold(given, (5, 6), **block), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.fold(mg.tensor(given[1]), (5, 6), **keywords(block)).data,
                               np_fold(given, (5, 6), **block)[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_fold_of_unfold_is_the_input_times_its_overlap_count(block):
    x = np.random.default_rng(8).standard_normal((1, 2, 5, 6))
    counts = np_fold(np.ones(np_unfold(x, **block).shape), (5, 6), **block)
    again = F.fold(F.unfold(mg.tensor(x), **keywords(block)), (5, 6), **keywords(block))
    np.testing.assert_allclose(again.data, x * counts, rtol=1e-12, atol=1e-12)


def test_fold_and_unfold_modules_print_as_pytorch_s():
    x = mg.tensor(np.random.default_rng(9).standard_normal((1, 2, 4, 5)))
    unfold, fold = mg.nn.Unfold((2, 3), padding=1), mg.nn.Fold((4, 5), (2, 3), padding=1)
    assert repr(unfold) == "Unfold(kernel_size=(2, 3), dilation=1, padding=1, stride=1)"
    assert repr(fold) == "Fold(output_size=(4, 5), kernel_size=(2, 3), dilation=1, padding=1, stride=1)"
    np.testing.assert_allclose(fold(unfold(x)).data, F.fold(F.unfold(x, (2, 3), padding=1), (4, 5), (2, 3),
                                                             padding=1).data)


def test_channel_shuffle_reads_the_groups_in_turn():
    x = np.random.default_rng(10).standard_normal((2, 6, 3))
    np.testing.assert_array_equal(F.channel_shuffle(mg.tensor(x), 3).data, np_channel_shuffle(x, 3))
    assert F.channel_shuffle(mg.arange(6.0).reshape(1, 6, 1), 2).reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]
    layer = mg.nn.ChannelShuffle(2)
    assert repr(layer) == "ChannelShuffle(groups=2)"
    np.testing.assert_array_equal(layer(mg.tensor(x)).data, np_channel_shuffle(x, 2))


# ---- gradients and tangents (float64, central differences) -------------------------------

DIFFERENTIATED = [
    ("interpolate nearest 1-d", lambda t: F.interpolate(t, scale_factor=1.7), (2, 2, 4),
     lambda a: np_interpolate(a, scale_factor=1.7)),
    ("interpolate linear", lambda t: F.interpolate(t, size=7, mode="linear"), (1, 2, 4),
     lambda a: np_interpolate(a, 7, mode="linear")),
    ("interpolate bilinear aligned", lambda t: F.interpolate(t, (3, 5), mode="bilinear", align_corners=True),
     (1, 2, 4, 3), lambda a: np_interpolate(a, (3, 5), mode="bilinear", align_corners=True)),
    ("interpolate bicubic", lambda t: F.interpolate(t, scale_factor=(1.5, 0.75), mode="bicubic"), (2, 1, 3, 4),
     lambda a: np_interpolate(a, scale_factor=(1.5, 0.75), mode="bicubic")),
    ("interpolate nearest-exact", lambda t: F.interpolate(t, (5, 2), mode="nearest-exact"), (1, 2, 3, 4),
     lambda a: np_interpolate(a, (5, 2), mode="nearest-exact")),
    ("interpolate area", lambda t: F.interpolate(t, (2, 3), mode="area"), (1, 2, 3, 4),
     lambda a: np_interpolate(a, (2, 3), mode="area")),
    ("unfold", lambda t: F.unfold(t, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (2, 2, 4, 5),
     lambda a: np_unfold(a, (2, 3), (1, 2), (1, 1), (2, 1))),
    ("fold", lambda t: F.fold(t, (4, 5), 2, padding=(1, 0)), (1, 8, 20),
     lambda a: np_fold(a, (4, 5), (2, 2), p=(1, 0))),
    ("channel_shuffle", lambda t: F.channel_shuffle(t, 2), (2, 4, 3), lambda a: np_channel_shuffle(a, 2)),
]


@pytest.mark.parametrize("name, mg_fn, shape, np_fn", DIFFERENTIATED, ids=[case[0] for case in DIFFERENTIATED])
def test_gradient_and_tangent_match_central_differences(name, mg_fn, shape, np_fn):
    x = np.random.default_rng(11).standard_normal(shape)
    assert_gradients_match(mg_fn, np_fn, x)
    direction = np.random.default_rng(12).standard_normal(shape)
    output, tangent = mg.jvp(mg_fn, [mg.tensor(x)], [direction])
    np.testing.assert_allclose(output.data, np_fn(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, [x], [direction]), rtol=1e-6, atol=1e-7)


# ---- errors: the function, what it expected and what came; nothing changed ----------------

@pytest.mark.parametrize("call, kind, message", [
    (lambda x: F.interpolate(x, size=4, scale_factor=2), ValueError,
     "interpolate: only one of size or scale_factor should be defined, got size=4 and scale_factor=2"),
    (lambda x: F.interpolate(x), ValueError, "interpolate: either size or scale_factor should be defined, got neither"),
    (lambda x: F.interpolate(x, 4, mode="bilinear"), NotImplementedError,
     r"interpolate: got 3-d input of shape \(1, 2, 3\), but bilinear mode needs 4-d input"),
    (lambda x: F.interpolate(x, 4, mode="bicubic"), NotImplementedError, "bicubic mode needs 4-d input"),
    (lambda x: F.interpolate(x, 4, align_corners=True), ValueError,
     "interpolate: align_corners option can only be set with the interpolating modes: linear .* got "
     "align_corners=True with mode='nearest'"),
    (lambda x: F.interpolate(x, 4, mode="area", align_corners=False), ValueError, "mode='area'"),
    (lambda x: F.interpolate(x, 4, mode="cubic"), NotImplementedError,
     "interpolate: mode must be one of nearest, .* got 'cubic'"),
    (lambda x: F.interpolate(x, 4, mode="linear", antialias=True), ValueError,
     "interpolate: antialias=True is only supported for bilinear and bicubic modes, got mode='linear'"),
    (lambda x: F.interpolate(x, 4, recompute_scale_factor=True), ValueError,
     "interpolate: recompute_scale_factor is not meaningful with an explicit size, got size=4"),
    (lambda x: F.interpolate(x, (4, 4)), ValueError,
     r"interpolate: expected size of 1 entries, one per spatial axis of the input \(3,\), got \(4, 4\)"),
    (lambda x: F.interpolate(x, 2.5), TypeError, "interpolate: expected size an int or a tuple of 1 ints, got 2.5"),
    (lambda x: F.interpolate(x, 0), ValueError, "interpolate: expected output sizes greater than 0, got size=0"),
    (lambda x: F.interpolate(x, scale_factor=-1.0), ValueError,
     "interpolate: expected scale_factor a positive number or a tuple of 1, got -1.0"),
    (lambda x: F.interpolate(x, scale_factor=0.2), ValueError,
     r"interpolate: scale_factor=0.2 gives output size \(0,\) for input size \(3,\)"),
    (lambda x: F.interpolate(x[0], 4), NotImplementedError,
     r"interpolate: expected input of 3 axes \(N, C, L\), 4 \(N, C, H, W\) or 5 \(N, C, D, H, W\), got shape \(2, 3\)"),
    (lambda x: F.interpolate(x.reshape(1, 1, 1, 1, 2, 3), 4), NotImplementedError,
     r"interpolate: expected input of 3 axes .* got shape \(1, 1, 1, 1, 2, 3\)"),
    (lambda x: F.interpolate(x.reshape(1, 1, 1, 2, 3), 4, mode="bilinear"), NotImplementedError,
     "interpolate: got 5-d input of shape .*, but bilinear mode needs 4-d input"),
    (lambda x: F.interpolate(x.long(), 4, mode="linear"), TypeError,
     "interpolate: expected a floating-point input for mode='linear', got int64"),
    (lambda x: mg.nn.Upsample(4, 2)(x), ValueError, "Upsample: only one of size or scale_factor"),
    (lambda x: F.upsample(x, 4, mode="bilinear"), NotImplementedError, "upsample: got 3-d input"),
])
def test_interpolate_refuses_bad_arguments_naming_itself(call, kind, message):
    x = mg.tensor(np.arange(6.0).reshape(1, 2, 3), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(kind, match=message):
            call(x)
    assert x.tolist() == np.arange(6.0).reshape(1, 2, 3).tolist() and x.grad is None


def test_antialias_is_refused_where_pytorch_has_it():
    x = mg.ones(1, 1, 4, 4)
    with pytest.raises(NotImplementedError, match=r"interpolate: antialias=True \(Pillow's anti-aliased"):
        F.interpolate(x, 2, mode="bilinear", antialias=True)


@pytest.mark.parametrize("call, message", [
    (lambda x: F.unfold(x, 0), r"unfold: expected kernel_size positive \(>= 1\), got 0"),
    (lambda x: F.unfold(x, 2, padding=-1), r"unfold: expected padding non-negative \(>= 0\), got -1"),
    (lambda x: F.unfold(x[0, 0], 2), r"unfold: expected input of 3 axes .* got shape \(3, 4\)"),
    (lambda x: F.unfold(x, (4, 2)), r"unfold: given input with spatial size \(3, 4\), kernel_size=\(4, 2\), .* "
                                    r"the calculated shape of the array of sliding blocks is \(0, 3\)"),
    (lambda x: F.fold(x.reshape(1, 3, 8), (3, 4), 2),
     r"fold: expected the size of input's dimension 1 divisible by the product of kernel_size \(2, 2\), 4, got "
     r"input of shape \(1, 3, 8\)"),
    (lambda x: F.fold(x.reshape(1, 4, 6), (3, 5), 2),
     r"fold: output_size=\(3, 5\) with kernel_size=\(2, 2\), dilation=\(1, 1\), padding=\(0, 0\), stride=\(1, 1\) "
     r"has 2 x 4 = 8 blocks, got input of shape \(1, 4, 6\) with 6"),
    (lambda x: F.fold(x, (3, 4), 2), r"fold: expected input of 2 axes .* got shape \(1, 2, 3, 4\)"),
    (lambda x: F.channel_shuffle(x, 3), r"channel_shuffle: expected the channels \(input.shape\[1\] = 2\) divisible "
                                        r"by groups = 3, got input of shape \(1, 2, 3, 4\)"),
    (lambda x: F.channel_shuffle(x[0, 0], 1), r"channel_shuffle: expected an input of at least 3 axes"),
    (lambda x: F.channel_shuffle(x, 0), "channel_shuffle: groups must be a positive integer, got 0"),
    (lambda x: mg.nn.Unfold(2, stride=0), r"Unfold: expected stride positive \(>= 1\), got 0"),
    (lambda x: mg.nn.Fold((3, 0), 2), r"Fold: expected output_size positive \(>= 1\), got \(3, 0\)"),
    (lambda x: mg.nn.Fold((3, 5), 2)(x.reshape(1, 4, 6)), r"Fold: output_size=\(3, 5\)"),
    (lambda x: mg.nn.ChannelShuffle(0), "ChannelShuffle: groups must be a positive integer, got 0"),
])
def test_fold_unfold_and_channel_shuffle_refuse_bad_arguments_naming_themselves(call, message):
    x = mg.tensor(np.arange(24.0).reshape(1, 2, 3, 4), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        call(x)
    assert x.tolist() == np.arange(24.0).reshape(1, 2, 3, 4).tolist() and x.grad is None


# ---- cases for tests/test_composite_gradients.py (its table of every public composite) ----

@st.composite
def interpolate_case(draw, ndim):
    """F.interpolate of (N, C, L) (ndim 3), (N, C, H, W) (ndim 4) or (N, C, D, H, W) (ndim 5, smaller: the
    numpy loop is slow), a mode of that rank, by a drawn size or scale factor, align_corners drawn where it
    applies; numpy: `np_interpolate`."""
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "area"] + {3: ["linear"], 4: ["bilinear", "bicubic"],
                                                                        5: ["trilinear"]}[ndim]))
    align_corners = draw(st.booleans()) if mode in ("linear", "bilinear", "bicubic", "trilinear") else None
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 4 if ndim < 5 else 3))
                                                                     for _ in range(ndim - 2))
    if draw(st.booleans()):
        options = dict(size=tuple(draw(st.integers(1, 5 if ndim < 5 else 3)) for _ in range(ndim - 2)))
    else:
        options = dict(scale_factor=tuple(draw(st.sampled_from([1.0, 1.5, 2.0, 2.5])) for _ in range(ndim - 2)))
        options["recompute"] = draw(st.booleans())
    recompute = options.pop("recompute", None)

    def mg_fn(t):
        return F.interpolate(t, mode=mode, align_corners=align_corners, recompute_scale_factor=recompute, **options)
    return mg_fn, lambda a: np_interpolate(a, mode=mode, align_corners=bool(align_corners), recompute=bool(recompute),
                                           **options), [draw(values(shape))]


@st.composite
def im2col_case(draw, ndim, inverse=False):
    """F.unfold of (N, C, H, W) (ndim 4) or (C, H, W) (ndim 3), or F.fold of its columns back (inverse),
    kernel, dilation, padding and stride drawn; numpy: `np_unfold`, `np_fold`."""
    k = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    d, p, s = ((draw(st.integers(1, 2)), draw(st.integers(1, 2))), (draw(st.integers(0, 1)), draw(st.integers(0, 1))),
               (draw(st.integers(1, 2)), draw(st.integers(1, 2))))
    size, channels = (draw(st.integers(3, 4)), draw(st.integers(3, 4))), draw(st.integers(1, 2))
    options = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    blocks = block_count(size[0], k[0], d[0], p[0], s[0]) * block_count(size[1], k[1], d[1], p[1], s[1])
    batch = (1,) if ndim == 4 - inverse else ()
    if inverse:
        return (lambda t: F.fold(t, size, **options), lambda a: np_fold(a.reshape((1,) + a.shape[-2:]), size, k, d, p,
                                                                        s).reshape(batch + (channels,) + size),
                [draw(values(batch + (channels * k[0] * k[1], blocks)))])
    return (lambda t: F.unfold(t, **options), lambda a: np_unfold(a.reshape((1, channels) + size), k, d, p, s).reshape(
        batch + (channels * k[0] * k[1], blocks)), [draw(values(batch + (channels,) + size))])


@st.composite
def channel_shuffle_case(draw, ndim):
    """F.channel_shuffle of (N, C, *) with ndim - 2 trailing axes, groups dividing C; numpy:
    `np_channel_shuffle`."""
    groups, per_group = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 2)), groups * per_group) + tuple(draw(st.integers(1, 2)) for _ in range(ndim - 2))
    return lambda t: F.channel_shuffle(t, groups), lambda a: np_channel_shuffle(a, groups), [draw(values(shape))]


@pytest.mark.parametrize("mode, expected", [("nearest", 0.0), ("nearest-exact", 2.0), ("linear", 2.0)])
def test_one_output_position_reads_the_centre_without_align_corners(mode, expected):
    # PyTorch's area_pixel_compute_scale (2.x): the scale is S / n = 5 even for n = 1 when align_corners is
    # False, so linear reads 5 (0 + 0.5) - 0.5 = 2 and nearest-exact floor(5 * 0.5) = 2; nearest floor(5 * 0) = 0.
    x = mg.tensor(np.arange(5.0).reshape(1, 1, 5))
    assert F.interpolate(x, size=1, mode=mode).numpy().ravel().tolist() == [expected]
    if mode == "linear":
        assert F.interpolate(x, size=1, mode=mode, align_corners=True).numpy().ravel().tolist() == [0.0]
