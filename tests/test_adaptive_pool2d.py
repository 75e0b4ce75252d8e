"""F.adaptive_max_pool2d, F.adaptive_avg_pool2d, nn.AdaptiveMaxPool2d and nn.AdaptiveAvgPool2d: PyTorch's
adaptive pools over (N, C, H, W) or (C, H, W) images, the 1-d adaptive pools' code over two spatial axes.
Values and indices against loops over PyTorch's windows written here in numpy (rows floor(i H / H_out) ..
ceil((i + 1) H / H_out) - 1, columns likewise, index h W + w); gradients against central differences and
tangents against directional differences of those loops, in float64; the reprs PyTorch prints, written down
as literals; errors naming the function or the module, what it expected and what came. No PyTorch needed."""

import math

import numpy as np
import pytest
from test_pooling import apart, check_gradient_and_tangent

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def np_adaptive2d(x, output_size, reduce):
    """reduce (np.max or np.mean) over each window, and each maximum's first position h W + w (row-major),
    by a loop over output positions; output_size an int or a pair, None keeping that axis's size."""
    height, width = x.shape[-2:]
    pair = output_size if isinstance(output_size, tuple) else (output_size, output_size)
    rows, columns = (size if n is None else n for n, size in zip(pair, (height, width)))
    values = np.zeros(x.shape[:-2] + (rows, columns))
    indices = np.zeros(x.shape[:-2] + (rows, columns), dtype=np.int64)
    for i in range(rows):
        top, bottom = math.floor(i * height / rows), math.ceil((i + 1) * height / rows)
        for j in range(columns):
            left, right = math.floor(j * width / columns), math.ceil((j + 1) * width / columns)
            window = x[..., top:bottom, left:right]
            values[..., i, j] = reduce(window, axis=(-2, -1))
            flat = window.reshape(window.shape[:-2] + (-1,)).argmax(axis=-1)
            indices[..., i, j] = (top + flat // (right - left)) * width + left + flat % (right - left)
    return values, indices


# (input shape, output_size)
CASES = [
    ((2, 3, 6, 8), (3, 4)),               # divisible: the windows tile the image
    ((1, 2, 7, 5), (3, 2)),               # not divisible: windows of different sizes that overlap
    ((2, 1, 5, 9), 4),                    # one int for both axes
    ((1, 2, 6, 7), (None, 3)),            # None keeps the height
    ((1, 1, 5, 4), (2, None)),            # None keeps the width
    ((3, 5, 6), (4, 4)),                  # unbatched (C, H, W)
    ((1, 2, 3, 2), (5, 4)),               # more outputs than positions: windows repeat positions
    ((2, 2, 4, 5), (1, 1)),               # global pooling
]
IDS = [f"{shape}-{size}" for shape, size in CASES]


@pytest.mark.parametrize("shape, output_size", CASES, ids=IDS)
def test_adaptive_max_pool2d_is_each_windows_maximum_and_its_first_position(shape, output_size):
    x = apart(shape)
    values, indices = F.adaptive_max_pool2d(mg.tensor(x), output_size, return_indices=True)
    expected, expected_indices = np_adaptive2d(x, output_size, np.max)
    np.testing.assert_array_equal(values.data, expected)
    np.testing.assert_array_equal(indices.data, expected_indices)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(F.adaptive_max_pool2d(mg.tensor(x), output_size).data, expected)


@pytest.mark.parametrize("shape, output_size", CASES, ids=IDS)
def test_adaptive_avg_pool2d_is_each_windows_mean(shape, output_size):
    x = apart(shape)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(mg.tensor(x), output_size).data,
                               np_adaptive2d(x, output_size, np.mean)[0], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape, output_size", CASES, ids=IDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_adaptive_pool2d_gradients_and_tangents_match_finite_differences(shape, output_size, kind):
    fn = F.adaptive_max_pool2d if kind == "max" else F.adaptive_avg_pool2d
    reduce = np.max if kind == "max" else np.mean
    check_gradient_and_tangent(lambda t: fn(t, output_size), lambda a: np_adaptive2d(a, output_size, reduce)[0],
                               apart(shape, seed=3))


def test_adaptive_max_pool2d_gives_a_tie_whole_to_its_first_position_row_by_row():
    x = mg.tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    values, indices = F.adaptive_max_pool2d(x, (2, 2), return_indices=True)
    np.testing.assert_array_equal(indices.data, [[[[0, 2], [8, 10]]]])
    values.sum().backward()
    expected = np.zeros((4, 4))
    expected[[0, 0, 2, 2], [0, 2, 0, 2]] = 1.0
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_global_adaptive_pools_are_the_max_and_the_mean_over_each_image():
    x = mg.tensor(apart((2, 3, 5, 7)))
    np.testing.assert_array_equal(F.adaptive_max_pool2d(x, 1).data[..., 0, 0], x.data.max(axis=(2, 3)))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, (1, 1)).data[..., 0, 0], x.data.mean(axis=(2, 3)),
                               rtol=1e-13)


def test_the_1d_adaptive_pools_are_the_2d_ones_over_an_image_of_height_one():
    x = mg.tensor(apart((2, 3, 7)))
    image = x.reshape(2, 3, 1, 7)
    values, indices = F.adaptive_max_pool1d(x, 3, return_indices=True)
    values2d, indices2d = F.adaptive_max_pool2d(image, (1, 3), return_indices=True)
    np.testing.assert_array_equal(values2d.data[:, :, 0], values.data)
    np.testing.assert_array_equal(indices2d.data[:, :, 0], indices.data)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(image, (None, 3)).data[:, :, 0],
                               F.adaptive_avg_pool1d(x, 3).data, rtol=1e-14)


def test_float32_stays_float32():
    x = mg.tensor(apart((1, 2, 5, 5)).astype(np.float32))
    assert F.adaptive_max_pool2d(x, 2).dtype == np.float32
    assert F.adaptive_avg_pool2d(x, (3, None)).dtype == np.float32


@pytest.mark.parametrize("module, text", [
    (nn.AdaptiveAvgPool2d((2, 3)), "AdaptiveAvgPool2d(output_size=(2, 3))"),
    (nn.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d(output_size=1)"),
    (nn.AdaptiveMaxPool2d((None, 7)), "AdaptiveMaxPool2d(output_size=(None, 7))"),
    (nn.AdaptiveMaxPool2d(5, return_indices=True), "AdaptiveMaxPool2d(output_size=5)"),
])
def test_the_modules_print_as_pytorchs(module, text):
    assert repr(module) == text


def test_the_modules_keep_their_settings_and_compute_the_functions():
    x = mg.tensor(apart((1, 64, 8, 9)))
    average, maximum = nn.AdaptiveAvgPool2d((5, 7)), nn.AdaptiveMaxPool2d((None, 7), return_indices=True)
    assert average.output_size == (5, 7) and maximum.output_size == (None, 7) and maximum.return_indices
    np.testing.assert_array_equal(average(x).data, F.adaptive_avg_pool2d(x, (5, 7)).data)
    values, indices = maximum(x)
    assert values.shape == indices.shape == (1, 64, 8, 7)                  # PyTorch's docstring example
    np.testing.assert_array_equal(indices.data, np_adaptive2d(x.data, (None, 7), np.max)[1])
    assert nn.AdaptiveAvgPool2d(7)(mg.randn(1, 64, 10, 9)).shape == (1, 64, 7, 7)


@pytest.mark.parametrize("call, kind, words", [
    (lambda: F.adaptive_avg_pool2d(mg.zeros(1, 1, 4, 4), 0), ValueError, ["adaptive_avg_pool2d", "output_size", "0"]),
    (lambda: F.adaptive_max_pool2d(mg.zeros(1, 1, 4, 4), (2, 0)), ValueError, ["adaptive_max_pool2d", "(2, 0)"]),
    (lambda: F.adaptive_max_pool2d(mg.zeros(1, 1, 4, 4), (2, 2, 2)), ValueError, ["adaptive_max_pool2d",
                                                                                   "2 positive integers or None",
                                                                                   "(2, 2, 2)"]),
    (lambda: F.adaptive_avg_pool2d(mg.zeros(1, 1, 4, 4), None), ValueError, ["adaptive_avg_pool2d", "None"]),
    (lambda: F.adaptive_avg_pool2d(mg.zeros(1, 1, 4, 4), (1.5, 2)), ValueError, ["adaptive_avg_pool2d", "1.5"]),
    (lambda: F.adaptive_max_pool2d(mg.zeros(1, 4), 2), ValueError, ["adaptive_max_pool2d", "3 axes (C, H, W",
                                                                    "(1, 4)"]),
    (lambda: F.adaptive_avg_pool2d(mg.zeros(1, 1, 0, 4), 2), ValueError, ["adaptive_avg_pool2d", "(1, 1, 0, 4)"]),
    (lambda: F.adaptive_avg_pool2d(mg.zeros(1, 1, 4, 4, dtype=mg.long), 2), TypeError, ["adaptive_avg_pool2d",
                                                                                         "floating", "int64"]),
    (lambda: F.adaptive_max_pool2d(mg.zeros(1, 1, 4, 4), 2, return_indices=1), ValueError, ["adaptive_max_pool2d",
                                                                                             "return_indices"]),
    (lambda: nn.AdaptiveMaxPool2d((3, -1)), ValueError, ["AdaptiveMaxPool2d", "output_size", "(3, -1)"]),
    (lambda: nn.AdaptiveAvgPool2d(None), ValueError, ["AdaptiveAvgPool2d", "output_size", "None"]),
    (lambda: nn.AdaptiveMaxPool2d(2, return_indices=None), ValueError, ["AdaptiveMaxPool2d", "return_indices"]),
    (lambda: nn.AdaptiveAvgPool2d(2)(mg.zeros(4, 4)), ValueError, ["AdaptiveAvgPool2d", "(4, 4)"]),
])
def test_errors_name_the_function_or_module_what_it_expected_and_what_came(call, kind, words):
    with pytest.raises(kind) as error:
        call()
    assert all(word in str(error.value) for word in words), str(error.value)


def test_the_1d_adaptive_pools_still_refuse_none():
    with pytest.raises(ValueError, match=r"adaptive_max_pool1d: .*tuple of 1 positive integer, got \(None,\)"):
        F.adaptive_max_pool1d(mg.zeros(1, 1, 4), (None,))


def test_an_error_changes_nothing():
    x = mg.tensor(apart((1, 2, 4, 4)), requires_grad=True)
    before = x.data.copy()
    module = nn.AdaptiveMaxPool2d((2, 2))
    with pytest.raises(ValueError, match="AdaptiveMaxPool2d"):
        module(mg.zeros(2, 4))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d"):
        F.adaptive_avg_pool2d(x, (2, 0))
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None and module.output_size == (2, 2) and not module.return_indices
