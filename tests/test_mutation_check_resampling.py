"""Tests written from a mutation check of the resampling code (functional/resampling.py, functional/folding.py,
channel_shuffle in functional/pixel_shuffle.py, nn/resampling.py, nn.ChannelShuffle): each pins a behaviour
that a hand-made wrong implementation changed without any other test noticing. Expected values are written
in numpy from PyTorch's index formulas (aten/src/ATen/native/UpSample.h, UpSampleKernel.cpp) and documented
behaviour, or from closed forms, never taken from the library's own output."""

import math
import warnings

import numpy as np
import pytest
from test_resampling import np_fold, np_interpolate, np_unfold

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def np_linear_1d(x, count, s):
    """PyTorch's linear resampling of the last axis to `count` positions with scale s (align_corners=False):
    r = max(s (i + 1/2) - 1/2, 0), j0 = min(floor(r), S - 1), j1 = j0 + 1 (j0 at the end), w = r - j0."""
    length = x.shape[-1]
    out = np.zeros(x.shape[:-1] + (count,))
    for i in range(count):
        r = max(s * (i + 0.5) - 0.5, 0.0)
        j0 = min(math.floor(r), length - 1)
        j1 = j0 + 1 if j0 < length - 1 else j0
        w = r - j0
        out[..., i] = (1 - w) * x[..., j0] + w * x[..., j1]
    return out


# ---- the deprecated spellings ------------------------------------------------------------

def test_upsample_nearest_is_nearest_not_nearest_exact():
    """upsample_nearest is interpolate(mode="nearest"): 3 -> 5 reads floor(3 i / 5) = 0, 0, 1, 1, 2
    (nearest-exact would read floor(3 (i + 1/2) / 5) = 0, 0, 1, 2, 2)."""
    x = np.array([10.0, 20.0, 30.0]).reshape(1, 1, 1, 3).repeat(3, axis=2)
    with pytest.warns(UserWarning, match="upsample_nearest is deprecated"):
        out = F.upsample_nearest(mg.tensor(x), size=(3, 5))
    np.testing.assert_array_equal(out.data[0, 0, 0], [10.0, 10.0, 20.0, 20.0, 30.0])


def test_upsample_passes_align_corners_on():
    """F.upsample(..., align_corners=True) of the ramp 0, 1, 2 to 5 positions is the ramp at i (S - 1) / (n - 1)
    = 0, .5, 1, 1.5, 2 (without it, the half-pixel rule gives 0, .4, 1, 1.6, 2)."""
    x = mg.tensor(np.arange(3.0).reshape(1, 1, 3))
    with pytest.warns(UserWarning, match="nn.functional.upsample is deprecated"):
        out = F.upsample(x, size=5, mode="linear", align_corners=True)
    np.testing.assert_allclose(out.data[0, 0], [0.0, 0.5, 1.0, 1.5, 2.0], rtol=0, atol=1e-15)


# ---- argument checks ---------------------------------------------------------------------

def test_linear_mode_refuses_4d_input():
    """PyTorch: "Got 4D input, but linear mode needs 3D input" (NotImplementedError)."""
    with pytest.raises(NotImplementedError, match="linear mode needs 3-d input"):
        F.interpolate(mg.ones(1, 1, 3, 3), size=4, mode="linear")


def test_antialias_with_bicubic_is_not_implemented_rather_than_refused():
    """bicubic is one of the modes PyTorch antialiases, so it is the unsupported case, not the bad argument."""
    with pytest.raises(NotImplementedError, match="antialias=True"):
        F.interpolate(mg.ones(1, 1, 4, 4), size=2, mode="bicubic", antialias=True)


def test_nearest_exact_copies_uint8_input():
    """PyTorch's nearest kernels (nearest-exact too) take uint8: 3 -> 5 reads floor(3 (i + 1/2) / 5) = 0, 0, 1, 2, 2."""
    x = mg.tensor(np.array([7, 8, 9], dtype=np.uint8).reshape(1, 1, 3))
    out = F.interpolate(x, size=5, mode="nearest-exact")
    assert out.dtype == np.uint8
    assert out.data.reshape(-1).tolist() == [7, 7, 8, 9, 9]


def test_empty_spatial_axis_is_refused():
    """PyTorch: "Input and output sizes should be greater than 0"."""
    with pytest.raises(ValueError, match="at least one position along each spatial axis"):
        F.interpolate(mg.ones(1, 1, 0), size=3)


@pytest.mark.parametrize("factor", [0, 0.0, float("inf"), float("nan")])
def test_scale_factor_must_be_a_positive_finite_number(factor):
    x = mg.ones(1, 1, 3)
    with pytest.raises(ValueError, match="expected scale_factor a positive number"):
        F.interpolate(x, scale_factor=factor)


@pytest.mark.parametrize("options, name", [
    (dict(size=4, mode="linear", align_corners="yes"), "align_corners"),
    (dict(size=4, mode="linear", align_corners=1), "align_corners"),
    (dict(scale_factor=2, recompute_scale_factor="yes"), "recompute_scale_factor"),
    (dict(size=(2, 2), mode="bilinear", antialias="yes"), "antialias"),
])
def test_flags_must_be_bools(options, name):
    """The library's own contract (interpolated: every argument checked; checks.flag: ValueError naming it)."""
    x = mg.ones(1, 1, 3) if options.get("mode") != "bilinear" else mg.ones(1, 1, 3, 3)
    with pytest.raises(ValueError, match=f"{name} must be True or False"):
        F.interpolate(x, **options)


def test_size_may_be_a_list():
    """PyTorch's size is an int or a sequence (tuple or list) of ints."""
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 4)))
    np.testing.assert_array_equal(F.interpolate(x, size=[5, 2]).data, F.interpolate(x, size=(5, 2)).data)
    np.testing.assert_array_equal(F.interpolate(x[:, :, 0], size=[8]).data, x.data[:, :, 0].repeat(2, axis=2))


# ---- the index arithmetic ----------------------------------------------------------------

def test_nearest_positions_are_computed_in_the_input_s_precision():
    """6 -> 34 / 14 -> 46 positions: the scale S / n and s i in the input's precision (PyTorch's opmath_t:
    float for float32, double for float64). Output 23 of 14 -> 46 reads floor(23 * (14 / 46)): 6 in float32,
    7 in float64; output 17 of 6 -> 34 reads floor(17 * (6 / 34)) in double (the scale S / n, not 1 / (n / S))."""
    for length, count in ((14, 46), (6, 34)):
        for dtype in (np.float32, np.float64):
            x = np.arange(float(length), dtype=dtype).reshape(1, 1, length)
            s = dtype(length) / dtype(count)
            expected = np.minimum(np.floor(s * np.arange(count, dtype=dtype)), length - 1)
            np.testing.assert_array_equal(F.interpolate(mg.tensor(x), size=count).data[0, 0], expected)
    assert np.floor(np.float32(14) / np.float32(46) * np.float32(23)) == 6.0     # the cases are edge cases
    assert np.floor(14 / 46 * 23) == 7.0 and np.floor(17 * (6 / 34)) != np.floor(17 * (1 / (34 / 6)))


@pytest.mark.parametrize("mode, shape, factor", [("linear", (1, 2, 5), 1.1), ("bilinear", (1, 1, 5, 4), (1.1, 1.2))])
def test_linear_modes_copy_the_input_when_the_factor_keeps_the_size(mode, shape, factor):
    """floor(5 * 1.1) = 5, floor(4 * 1.2) = 4: PyTorch's compute_source_index_and_lambda copies when the
    output size is the input size, whatever the factor (weights 1 and 0)."""
    x = np.random.default_rng(1).standard_normal(shape)
    out = F.interpolate(mg.tensor(x), scale_factor=factor, mode=mode)
    np.testing.assert_array_equal(out.data, x)


def test_float16_positions_are_computed_in_float32():
    """PyTorch's opmath_t for half is float: output 11 of 2 -> 22 reads floor(11 * float(2 / 22)) = 1 (in
    half precision the product would round below 1)."""
    x = np.array([5.0, 6.0], dtype=np.float16).reshape(1, 1, 2)
    out = F.interpolate(mg.tensor(x), size=22)
    assert out.dtype == np.float16
    expected = np.minimum(np.floor(np.float32(2) / np.float32(22) * np.arange(22, dtype=np.float32)), 1)
    np.testing.assert_array_equal(out.data[0, 0], x[0, 0, expected.astype(int)])
    assert np.floor(np.float16(2) / np.float16(22) * np.float16(11)) == 0.0       # the case is an edge case


def test_float16_bilinear_stays_float16():
    """PyTorch's kernels store the weights as scalar_t: a half input gives a half output."""
    x = np.random.default_rng(6).standard_normal((1, 2, 3, 4))
    out = F.interpolate(mg.tensor(x.astype(np.float16)), size=(5, 6), mode="bilinear")
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.data.astype(np.float64), np_interpolate(x.astype(np.float16).astype(np.float64),
                                                                           (5, 6), mode="bilinear"), rtol=0, atol=2e-2)


def test_bicubic_resamples_by_a_kept_factor_even_at_the_same_size():
    """floor(5 * 1.1) = 5: unlike the linear modes, PyTorch's cubic kernel (HelperInterpCubic) has no copy for
    equal sizes, so the kept factor 1 / 1.1 moves the source positions."""
    x = np.random.default_rng(7).standard_normal((1, 1, 5, 5))
    out = F.interpolate(mg.tensor(x), scale_factor=1.1, mode="bicubic")
    expected = np_interpolate(x, scale_factor=1.1, mode="bicubic")
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


# ---- the layers --------------------------------------------------------------------------

def test_upsample_keeps_a_tuple_factor_as_floats():
    """PyTorch's Upsample: tuple(float(factor) for factor in scale_factor)."""
    layer = nn.Upsample(scale_factor=(2, 3))
    assert all(type(f) is float for f in layer.scale_factor)
    assert repr(layer) == "Upsample(scale_factor=(2.0, 3.0), mode='nearest')"


def test_upsample_prints_the_factor_when_both_are_given():
    """PyTorch's extra_repr: scale_factor if it is not None, else size."""
    assert repr(nn.Upsample(size=4, scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"


def test_upsample_keeps_a_zero_factor_as_none():
    """PyTorch's Upsample: float(scale_factor) if scale_factor else None."""
    layer = nn.Upsample(size=3, scale_factor=0)
    assert layer.scale_factor is None and repr(layer) == "Upsample(size=3, mode='nearest')"


def test_fold_and_unfold_print_each_setting_in_its_place():
    fold = nn.Fold((4, 5), 2, dilation=2, padding=1, stride=3)
    assert repr(fold) == "Fold(output_size=(4, 5), kernel_size=2, dilation=2, padding=1, stride=3)"
    unfold = nn.Unfold(2, dilation=2, padding=1, stride=3)
    assert repr(unfold) == "Unfold(kernel_size=2, dilation=2, padding=1, stride=3)"


def test_upsample_passes_recompute_scale_factor():
    """5 -> floor(5 * 1.7) = 8 positions: recomputed, the scale is 5 / 8; kept, 1 / 1.7."""
    x = np.random.default_rng(2).standard_normal((1, 2, 5))
    layer = nn.Upsample(scale_factor=1.7, mode="linear", recompute_scale_factor=True)
    assert layer.recompute_scale_factor is True
    np.testing.assert_allclose(layer(mg.tensor(x)).data, np_linear_1d(x, 8, 5 / 8), rtol=1e-12, atol=1e-12)
    kept = nn.Upsample(scale_factor=1.7, mode="linear")
    np.testing.assert_allclose(kept(mg.tensor(x)).data, np_linear_1d(x, 8, 1 / 1.7), rtol=1e-12, atol=1e-12)


def test_upsampling_nearest2d_is_nearest_not_nearest_exact():
    """3 -> 5 reads floor(3 i / 5) = 0, 0, 1, 1, 2 along each axis."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    rows = np.array([0, 0, 1, 1, 2])
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(size=5)(mg.tensor(x)).data, x[:, :, rows][:, :, :, rows])


def test_unfold_and_fold_layers_pass_dilation_and_stride():
    x = np.random.default_rng(3).standard_normal((2, 2, 6, 7))
    k, d, p, s = (2, 3), (2, 1), (1, 0), (1, 2)
    unfold = nn.Unfold(k, dilation=d, padding=p, stride=s)
    cols = unfold(mg.tensor(x))
    np.testing.assert_array_equal(cols.data, np_unfold(x, k, d, p, s))
    given = np.random.default_rng(4).standard_normal(cols.shape)
    fold = nn.Fold((6, 7), k, dilation=d, padding=p, stride=s)
    np.testing.assert_allclose(fold(mg.tensor(given)).data, np_fold(given, (6, 7), k, d, p, s), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Fold((4, 5), 0), r"Fold: expected kernel_size positive \(>= 1\), got 0"),
    (lambda: nn.Fold((4, 5), 2, stride=0), r"Fold: expected stride positive \(>= 1\), got 0"),
    (lambda: nn.Fold((4, 5), 2, padding=-1), r"Fold: expected padding non-negative \(>= 0\), got -1"),
])
def test_fold_layer_checks_its_settings_when_made(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---- fold, unfold and channel_shuffle ----------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: F.unfold(mg.ones(1, 2, 3, 4), 2, dilation=0),
    lambda: F.fold(mg.ones(1, 4, 6), (3, 4), 2, dilation=0),
    lambda: nn.Unfold(2, dilation=(1, 0)),
])
def test_dilation_must_be_positive(call):
    """PyTorch: "dilation should be greater than zero"."""
    with pytest.raises(ValueError, match=r"expected dilation positive \(>= 1\)"):
        call()


def test_fold_output_size_must_be_positive():
    with pytest.raises(ValueError, match=r"fold: expected output_size positive \(>= 1\), got \(3, 0\)"):
        F.fold(mg.ones(1, 4, 2), (3, 0), 2)


@pytest.mark.parametrize("call, message", [
    (lambda: F.unfold(mg.ones(1, 2, 0, 4), 1), r"unfold: expected input of 3 axes .* got shape \(1, 2, 0, 4\)"),
    (lambda: F.unfold(mg.ones(0, 3, 4), 1), r"unfold: expected input of 3 axes .* got shape \(0, 3, 4\)"),
    (lambda: F.fold(mg.ones(1, 0, 12), (3, 4), 1), r"fold: expected input of 2 axes .* got shape \(1, 0, 12\)"),
])
def test_empty_inputs_are_refused(call, message):
    """PyTorch's im2col and col2im: non-zero sizes expected (but for the batch)."""
    with pytest.raises(ValueError, match=message):
        call()


def test_fold_refuses_more_columns_than_blocks():
    """(3, 4) with a 2 x 2 kernel has 2 x 3 = 6 blocks: 7 columns are refused, as fewer are."""
    with pytest.raises(ValueError, match=r"has 2 x 3 = 6 blocks, got input of shape \(1, 4, 7\) with 7"):
        F.fold(mg.ones(1, 4, 7), (3, 4), 2)


def test_fold_of_float32_columns_stays_float32():
    cols = np.random.default_rng(5).standard_normal((1, 4, 6)).astype(np.float32)
    out = F.fold(mg.tensor(cols), (3, 4), 2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, np_fold(cols.astype(np.float64), (3, 4), (2, 2)), rtol=1e-6, atol=1e-6)


def test_channel_shuffle_refuses_a_float_group_count():
    """groups is an int in PyTorch's signature."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="channel_shuffle: groups must be a positive integer, got 2.0"):
            F.channel_shuffle(mg.ones(1, 4, 2), 2.0)
