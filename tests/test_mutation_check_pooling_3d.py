"""Tests written from a mutation check of the 3-d convolution and pooling code and the pools added with it
(functional/lp_pooling.py, functional/unpooling.py, the 3-d wrappers in functional/convolution.py and
functional/pooling.py, nn/pooling.py, nn/padding.py, nn.Conv3d): each pins a behaviour that a hand-made
wrong implementation changed without any other test noticing. Expected values come from closed forms,
numpy written here, or PyTorch's documented definitions (torch/nn/functional.py's lp_pool*d, max_unpool*d
and _unpool_output_size; the max_pool3d CPU kernel's index rule), never from the library's own output."""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


# ---- LP pooling ------------------------------------------------------------------------------------------

def test_lp_pool_of_p_one_keeps_negative_window_sums():
    """PyTorch: (sign(out) * relu(|out|)) * K, out = avg_pool(x^1): for p = 1 that is the window's sum, negative
    ones included (sign * relu(|.|) is the identity, not a relu)."""
    x = np.array([[[-1.0, -2.0, 3.0, -5.0, 0.5, 0.25]]])
    np.testing.assert_allclose(F.lp_pool1d(mg.tensor(x), 1, 2).data, [[[-3.0, -2.0, 0.75]]], rtol=1e-12)


def test_lp_pool_rejects_a_nan_norm_type():
    """norm_type must be a non-zero real number (the docstring); NaN is not one."""
    with pytest.raises(ValueError, match=r"lp_pool1d: expected norm_type a non-zero real number"):
        F.lp_pool1d(mg.tensor(np.ones((1, 4))), float("nan"), 2)


def test_lp_pool3d_errors_name_lp_pool3d():
    with pytest.raises(ValueError, match=r"^lp_pool3d: expected input of 4 axes"):
        F.lp_pool3d(mg.tensor(np.ones((2, 3, 3))), 2, 2)


def test_lp_pool_module_forwards_ceil_mode():
    """LPPool1d(2, 2, ceil_mode=True) over 5 positions: windows [0, 1], [2, 3] and the overhanging [4], which
    PyTorch's avg_pool(x^2) * K makes K * mean(x_4^2) = 2 x_4^2."""
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    expected = [[[math.sqrt(5.0), 5.0, math.sqrt(50.0)]]]
    np.testing.assert_allclose(nn.LPPool1d(2, 2, ceil_mode=True)(mg.tensor(x)).data, expected, rtol=1e-12)
    np.testing.assert_allclose(nn.LPPool1d(2, 2)(mg.tensor(x)).data, [[[math.sqrt(5.0), 5.0]]], rtol=1e-12)



def test_lp_pool3d_stride_defaults_to_the_kernel_size():
    """stride None is the kernel size: 2 x 2 x 2 blocks, each block's Euclidean norm."""
    x = np.random.default_rng(1).uniform(0.5, 2.0, (1, 1, 4, 4, 4))
    blocks = x.reshape(1, 1, 2, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 6, 3, 5, 7).reshape(1, 1, 2, 2, 2, 8)
    np.testing.assert_allclose(F.lp_pool3d(mg.tensor(x), 2, 2).data, np.linalg.norm(blocks, axis=-1), rtol=1e-12)


def test_lp_pool2d_ceil_mode_defaults_to_false():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(F.lp_pool2d(mg.tensor(x), 2, 2).data, [[[[math.sqrt(1 + 4 + 16 + 25)]]]], rtol=1e-12)

# ---- max unpooling: output_size and indices, as PyTorch's _unpool_output_size and kernel check them --------

def unpool_input():
    """Three maxima at positions 0, 3, 5; kernel 2, stride 3: the default output size (3 - 1) 3 + 2 = 8."""
    return mg.tensor(np.array([[[1.0, 2.0, 3.0]]])), mg.tensor(np.array([[[0, 3, 5]]]))


def test_max_unpool_output_size_must_be_above_the_default_minus_stride():
    """PyTorch: default - stride < output_size < default + stride, both excluded: 5 < n < 11 here."""
    x, indices = unpool_input()
    with pytest.raises(ValueError, match=r"max_unpool1d: invalid output_size .*between 5 and 11"):
        F.max_unpool1d(x, indices, 2, 3, output_size=(5,))
    with pytest.raises(ValueError, match=r"max_unpool1d: invalid output_size"):
        F.max_unpool1d(x, indices, 2, 3, output_size=(2,))


def test_max_unpool_output_size_bounds_come_from_the_stride_not_the_kernel():
    """With kernel 2 and stride 3, 6 and 10 lie inside PyTorch's (5, 11) (a kernel-based bound would refuse
    them)."""
    x, indices = unpool_input()
    for size in (6, 10):
        out = F.max_unpool1d(x, indices, 2, 3, output_size=(size,))
        expected = np.zeros(size)
        expected[[0, 3, 5]] = [1.0, 2.0, 3.0]
        np.testing.assert_array_equal(out.data, expected[None, None])


def test_max_unpool_output_size_must_be_integers():
    x, indices = unpool_input()
    with pytest.raises(ValueError, match=r"max_unpool1d: output_size should be a sequence of 1 or 3 integers"):
        F.max_unpool1d(x, indices, 2, 3, output_size=(8.5,))


def test_max_unpool2d_output_size_one_int_is_not_both_sizes():
    """PyTorch's _unpool_output_size takes len(output_size): an int is not a sequence of 2 (or 4)."""
    x = mg.tensor(np.ones((1, 1, 2, 2)))
    indices = mg.tensor(np.array([[[[0, 2], [8, 10]]]]))
    with pytest.raises(ValueError, match=r"max_unpool2d: output_size should be a sequence of 2 or 4 integers"):
        F.max_unpool2d(x, indices, 2, output_size=4)


def test_max_unpool_rejects_negative_indices():
    """PyTorch's kernel: an index < 0 or >= the output's size is "an invalid max index" (numpy would wrap it)."""
    x, _ = unpool_input()
    with pytest.raises(RuntimeError, match=r"max_unpool1d: found an invalid max index -1"):
        F.max_unpool1d(x, mg.tensor(np.array([[[0, 3, -1]]])), 2, 3)


def test_max_unpool_refuses_an_output_with_no_position():
    """One position, kernel 2, padding 1: the default size (1 - 1) 2 - 2 + 2 = 0."""
    with pytest.raises(ValueError, match=r"max_unpool1d: the output would have no position"):
        F.max_unpool1d(mg.tensor(np.ones((1, 1, 1))), mg.tensor(np.zeros((1, 1, 1), dtype=np.int64)), 2, padding=1)


def test_max_unpool_checks_kernel_size_is_positive():
    """Every argument checked before anything is computed (the module's docstring); kernel sizes are >= 1,
    as MaxUnpool*d checks them when made."""
    x, indices = unpool_input()
    with pytest.raises(ValueError, match=r"max_unpool1d: expected kernel_size positive \(>= 1\), got 0"):
        F.max_unpool1d(x, indices, 0, 3)


# ---- the 3-d pools ---------------------------------------------------------------------------------------

def test_avg_pool3d_counts_the_padding_by_default():
    """PyTorch's default count_include_pad=True: a 2-wide window at padding 1 over ones holds one input entry
    per axis, so its mean is 1 / 8 (1 with count_include_pad=False)."""
    x = mg.tensor(np.ones((1, 1, 2, 2, 2)))
    np.testing.assert_allclose(F.avg_pool3d(x, 2, padding=1).data, np.full((1, 1, 2, 2, 2), 1 / 8), rtol=1e-12)
    np.testing.assert_allclose(F.avg_pool3d(x, 2, padding=1, count_include_pad=False).data,
                               np.ones((1, 1, 2, 2, 2)), rtol=1e-12)


def test_max_pool3d_all_minus_inf_windows_name_their_first_position_flat_over_d_h_w():
    """PyTorch's max_pool3d CPU kernel starts each window's index at its first in-input position
    (t H + h) W + w and keeps it when nothing beats -inf; H = 3 != W = 4 here."""
    x = mg.tensor(np.full((1, 1, 2, 3, 4), -np.inf))
    _, indices = F.max_pool3d(x, 2, 2, 1, return_indices=True)
    firsts = [[0, 1], [0, 1], [0, 1, 3]]          # along D, H, W: max(s t - p, 0)
    expected = np.array([[[[[(d * 3 + h) * 4 + w for w in firsts[2]] for h in firsts[1]] for d in firsts[0]]]])
    assert indices.dtype == np.int64 and indices.tolist() == expected.tolist()


def window_means_3d(x, k):
    """Means of the k x k x k blocks from every k-th position, numpy's slicing clipping the last ones (a
    ceil_mode window with no padding, whose divisor PyTorch's kernel clips to the input too)."""
    counts = [-(-n // k) for n in x.shape[-3:]]
    out = np.zeros(x.shape[:-3] + tuple(counts))
    for d, h, w in np.ndindex(*counts):
        out[..., d, h, w] = x[..., k * d:k * d + k, k * h:k * h + k, k * w:k * w + k].mean(axis=(-3, -2, -1))
    return out


def test_avg_pool3d_module_forwards_ceil_mode():
    x = np.arange(27.0).reshape(1, 1, 3, 3, 3) ** 1.5
    out = nn.AvgPool3d(2, ceil_mode=True)(mg.tensor(x))
    assert out.shape == (1, 1, 2, 2, 2)
    np.testing.assert_allclose(out.data, window_means_3d(x, 2), rtol=1e-12)
    np.testing.assert_allclose(out.data[0, 0, 1, 1, 1], x[0, 0, 2, 2, 2], rtol=1e-12)


def test_avg_pool3d_ceil_mode_defaults_to_false():
    """PyTorch's default ceil_mode=False: floor((3 - 2) / 2) + 1 = 1 window per axis."""
    x = np.arange(27.0).reshape(1, 1, 3, 3, 3)
    np.testing.assert_allclose(F.avg_pool3d(mg.tensor(x), 2).data, x[..., :2, :2, :2].mean(axis=(-3, -2, -1),
                                                                                          keepdims=True), rtol=1e-12)


def test_max_pool3d_ceil_mode_defaults_to_false():
    x = np.arange(27.0).reshape(1, 1, 3, 3, 3)
    assert F.max_pool3d(mg.tensor(x), 2).tolist() == [[[[[13.0]]]]]       # x[1, 1, 1], the block's last entry


def test_adaptive_max_pool3d_module_pools_three_axes():
    """Along D (2 -> 1) and W (3 -> 1) one window each, along H (4 -> 2) windows [0, 2) and [2, 4)."""
    x = np.random.default_rng(0).permutation(24).astype(np.float64).reshape(1, 1, 2, 4, 3)
    out = nn.AdaptiveMaxPool3d((1, 2, 1))(mg.tensor(x))
    expected = np.array([x[0, 0, :, :2].max(), x[0, 0, :, 2:].max()]).reshape(1, 1, 1, 2, 1)
    np.testing.assert_array_equal(out.data, expected)
