"""1-d pooling, PyTorch's: F.max_pool1d, F.avg_pool1d, F.adaptive_max_pool1d, F.adaptive_avg_pool1d and the
modules nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d (composites of pad, getitem,
sum and division: functional/pooling.py). Values against loops over the windows written here in numpy,
gradients against central differences of those loops and tangents against directional differences, in
float64; the first-of-ties rule on hand-made inputs; the modules' settings and reprs (PyTorch's, written down
as literals); every error, naming the function or the module. No PyTorch needed."""

import math

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


# ---- the references: loops over the windows ---------------------------------------------------------------

def window_count(length, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's number of windows: floor (or ceil) of (L + 2p - d (K - 1) - 1) / s, plus 1; with ceil_mode one
    fewer when the last window would start in the right padding."""
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    count = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= length + padding:
        count -= 1
    return count


def np_max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(values, indices): window t is positions s t - p + d k inside the input; its max and the first position
    holding it."""
    x = np.asarray(x, dtype=np.float64)
    stride = kernel if stride is None else stride
    length = x.shape[-1]
    count = window_count(length, kernel, stride, padding, dilation, ceil_mode)
    values, indices = np.empty(x.shape[:-1] + (count,)), np.empty(x.shape[:-1] + (count,), dtype=np.int64)
    for t in range(count):
        inside = [stride * t - padding + dilation * k for k in range(kernel)]
        inside = [j for j in inside if 0 <= j < length]
        window = x[..., inside]
        values[..., t] = window.max(axis=-1)
        indices[..., t] = np.array(inside)[window.argmax(axis=-1)]
    return values, indices


def np_avg_pool(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Window t's sum of the input positions in [s t - p, s t - p + K) over its size: the positions up to the
    end of the right padding (count_include_pad), or only the input's."""
    x = np.asarray(x, dtype=np.float64)
    stride = kernel if stride is None else stride
    length = x.shape[-1]
    count = window_count(length, kernel, stride, padding, 1, ceil_mode)
    out = np.empty(x.shape[:-1] + (count,))
    for t in range(count):
        start = stride * t - padding
        end = min(start + kernel, length + padding)
        inside = list(range(max(start, 0), min(end, length)))
        out[..., t] = x[..., inside].sum(axis=-1) / (end - start if count_include_pad else len(inside))
    return out


def np_adaptive(x, size, reduce):
    """Window i is positions floor(i L / n) .. ceil((i + 1) L / n) - 1."""
    x = np.asarray(x, dtype=np.float64)
    length = x.shape[-1]
    return np.stack([reduce(x[..., math.floor(i * length / size):math.ceil((i + 1) * length / size)], axis=-1)
                     for i in range(size)], axis=-1)


def apart(shape, seed=0):
    """Entries at least 0.05 apart (a shuffled grid), so no window has a tie at its maximum."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) - size / 2) * 0.1 + rng.uniform(-0.02, 0.02, shape)


def check_gradient_and_tangent(fn, np_fn, x):
    """fn's gradient of sum(R * fn(x)) against central differences, and its J v against the directional
    difference of np_fn, in float64."""
    t = mg.tensor(x, requires_grad=True)
    out = fn(t)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * weights).sum().backward()
    np.testing.assert_allclose(t.grad, central_differences(lambda a: (np_fn(a) * weights).sum(), x),
                               rtol=1e-6, atol=1e-9)
    direction = np.random.default_rng(2).standard_normal(x.shape)
    _, tangent = mg.jvp(fn, [mg.tensor(x)], [direction])
    np.testing.assert_allclose(tangent, directional_difference(np_fn, [x], [direction]), rtol=1e-5, atol=1e-7)


# ---- max_pool1d -----------------------------------------------------------------------------------------

# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 10), 2, None, 0, 1, False),                     # the common MaxPool1d(2)
    ((1, 2, 9), 3, 1, 1, 1, False),                         # overlapping windows: the gradient adds up
    ((2, 1, 11), 3, 2, 1, 2, True),                         # dilation, padding and ceil_mode together
    ((3, 8), 2, 2, 1, 1, True),                             # unbatched (C, L); the last window half padding
    ((2, 4, 7), 7, None, 0, 1, False),                      # the whole sequence: max over time
    ((1, 1, 5), (2,), (1,), (1,), (1,), False),             # PyTorch's 1-tuples
    ((0, 2, 6), 2, None, 0, 1, False),                      # an empty batch
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", MAX_CASES)
def test_max_pool1d_is_each_windows_maximum_and_its_first_position(shape, kernel, stride, padding, dilation,
                                                                     ceil_mode):
    plain = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
    x = apart(shape)
    values, indices = F.max_pool1d(mg.tensor(x), kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    expected, where = np_max_pool(x, plain(kernel), plain(stride), plain(padding), plain(dilation), ceil_mode)
    assert values.shape == expected.shape and values.dtype == np.float64
    np.testing.assert_array_equal(values.data, expected)
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.data, where)
    np.testing.assert_array_equal(F.max_pool1d(mg.tensor(x), kernel, stride, padding, dilation, ceil_mode).data,
                                  expected)
    if x.size:
        check_gradient_and_tangent(
            lambda t: F.max_pool1d(t, kernel, stride, padding, dilation, ceil_mode),
            lambda a: np_max_pool(a, plain(kernel), plain(stride), plain(padding), plain(dilation), ceil_mode)[0], x)


def test_max_pool1d_gives_a_tie_whole_to_its_first_position_as_pytorch_does():
    """After a ReLU many windows are all zeros: PyTorch's max pooling picks the first of the tied positions
    (not a share each, as `max` over an axis does); where windows overlap the picks add up. Values are
    PyTorch 2.13's, written down by hand."""
    x = mg.tensor([[[1., 3., 3., 0., 2., 5., 5.]]], requires_grad=True)
    y, i = F.max_pool1d(x, 3, 2, 1, 1, True, True)
    assert y.tolist() == [[[3., 3., 5., 5.]]] and i.tolist() == [[[1, 1, 5, 5]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[0., 2., 0., 0., 0., 2., 0.]]]
    zeros = mg.tensor(np.zeros((1, 1, 4)), requires_grad=True)
    F.max_pool1d(zeros, 2).sum().backward()
    assert zeros.grad.tolist() == [[[1., 0., 1., 0.]]]


def test_max_pool1d_passes_nan_on_and_a_window_of_minus_infinity_names_an_input_position():
    y = F.max_pool1d(mg.tensor([[[1., float("nan"), 0.]]]), 2, 1)
    assert np.isnan(y.data).all()
    x = mg.tensor([[[-np.inf, -np.inf, 1.0]]], requires_grad=True)
    y, i = F.max_pool1d(x, 2, 2, 1, return_indices=True)      # window 0 is padding and -inf: it picks position 0
    assert y.tolist() == [[[-np.inf, 1.0]]] and i.tolist() == [[[0, 2]]]
    y[..., 1].sum().backward()
    assert x.grad.tolist() == [[[0.0, 0.0, 1.0]]]


def test_a_window_of_padding_alone_is_minus_infinity_and_ceil_mode_lets_a_window_overhang_the_input():
    """PyTorch 2.13's values, written down by hand: dilation 3 steps over an input of 2 from the left padding
    (the window reads positions -1 and 2: -inf, no gradient, and PyTorch's index, the first position >= 0);
    with ceil_mode a kernel longer than the input still gives one window."""
    x = mg.tensor([[[5., 7.]]], requires_grad=True)
    y, i = F.max_pool1d(x, 2, 1, 1, 3, False, True)
    assert y.tolist() == [[[-np.inf]]] and i.tolist() == [[[2]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[0.0, 0.0]]]
    assert F.max_pool1d(mg.arange(2.).view(1, 1, 2), 3, 2, 0, 1, True).tolist() == [[[1.0]]]
    assert F.avg_pool1d(mg.arange(3.).view(1, 1, 3), 4, 2, 0, True, False).tolist() == [[[1.0]]]
    np.testing.assert_allclose(F.avg_pool1d(mg.arange(3.).view(1, 1, 3), 4, 2, 0, True, True).data, [[[1.0]]])


# ---- avg_pool1d -----------------------------------------------------------------------------------------

# (input shape, kernel, stride, padding, ceil_mode, count_include_pad)
AVG_CASES = [
    ((2, 3, 10), 2, None, 0, False, True),
    ((1, 2, 7), 3, 2, 1, True, True),                       # the ceil_mode window's overhang is not counted
    ((1, 2, 7), 3, 2, 1, True, False),                      # nor the padding
    ((2, 1, 7), 4, 3, 2, True, False),
    ((3, 9), 3, 1, 1, False, True),                         # unbatched, overlapping windows
    ((1, 1, 5), (5,), None, (0,), False, True),             # the mean over time
]


@pytest.mark.parametrize("shape, kernel, stride, padding, ceil_mode, count_include_pad", AVG_CASES)
def test_avg_pool1d_is_each_windows_sum_over_its_size(shape, kernel, stride, padding, ceil_mode, count_include_pad):
    plain = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
    x = np.random.default_rng(0).standard_normal(shape)
    y = F.avg_pool1d(mg.tensor(x), kernel, stride, padding, ceil_mode, count_include_pad)
    expected = np_avg_pool(x, plain(kernel), plain(stride), plain(padding), ceil_mode, count_include_pad)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-14, atol=1e-15)
    check_gradient_and_tangent(
        lambda t: F.avg_pool1d(t, kernel, stride, padding, ceil_mode, count_include_pad),
        lambda a: np_avg_pool(a, plain(kernel), plain(stride), plain(padding), ceil_mode, count_include_pad), x)


def test_avg_pool1d_divisors_are_pytorchs():
    """Values PyTorch 2.13 gives for 0, 1, ..., 6 (written down by hand), padding counted or not."""
    x = mg.arange(7.).view(1, 1, 7)
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, True, True).data, [[[1 / 3, 2, 4, 11 / 3]]], rtol=1e-6)
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, True, False).data, [[[0.5, 2, 4, 5.5]]], rtol=1e-6)
    np.testing.assert_allclose(F.avg_pool1d(x, 4, 3, 2, True, True).data, [[[0.25, 2.5, 3.75]]], rtol=1e-6)
    assert F.avg_pool1d(x, 2).dtype == np.float32


# ---- the adaptive pools ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, size", [((2, 3, 10), 1), ((2, 3, 10), 4), ((1, 2, 5), 5), ((1, 2, 5), 8),
                                         ((3, 7), (3,)), ((2, 1, 1), 3)])
def test_adaptive_pools_cover_the_sequence_with_output_size_windows(shape, size):
    n = size[0] if isinstance(size, tuple) else size
    x = apart(shape)
    values, indices = F.adaptive_max_pool1d(mg.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(values.data, np_adaptive(x, n, np.max))
    np.testing.assert_array_equal(np.take_along_axis(x, indices.data, axis=-1), values.data)
    means = F.adaptive_avg_pool1d(mg.tensor(x), size)
    np.testing.assert_allclose(means.data, np_adaptive(x, n, np.mean), rtol=1e-14, atol=1e-15)
    check_gradient_and_tangent(lambda t: F.adaptive_max_pool1d(t, size), lambda a: np_adaptive(a, n, np.max), x)
    check_gradient_and_tangent(lambda t: F.adaptive_avg_pool1d(t, size), lambda a: np_adaptive(a, n, np.mean), x)


def test_adaptive_pools_of_size_one_are_the_max_and_the_mean_over_time():
    x = mg.tensor(np.random.default_rng(5).standard_normal((4, 3, 9)))     # (float64, its own generator)
    np.testing.assert_array_equal(F.adaptive_max_pool1d(x, 1).data[..., 0], x.data.max(axis=-1))
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x, 1).data[..., 0], x.data.mean(axis=-1), rtol=1e-13)


# ---- the modules ----------------------------------------------------------------------------------------

def test_the_modules_print_keep_their_settings_and_compute_the_functions_as_pytorch_s():
    """Reprs and attributes as PyTorch 2.13's (written down by hand): MaxPool1d keeps its settings as given,
    stride None meaning kernel_size; AvgPool1d keeps 1-tuples; none has parameters."""
    modules = [nn.MaxPool1d(2), nn.MaxPool1d(3, 2, 1, 2, True, True), nn.AvgPool1d(3),
               nn.AvgPool1d(3, 2, 1, True, False), nn.AdaptiveAvgPool1d(1), nn.AdaptiveMaxPool1d(3, True)]
    assert [repr(m) for m in modules] == [
        "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)",
        "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))",
        "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))",
        "AdaptiveAvgPool1d(output_size=1)",
        "AdaptiveMaxPool1d(output_size=3)"]
    assert modules[1].return_indices and modules[3].ceil_mode and not modules[3].count_include_pad
    assert all(not list(m.parameters()) and m.state_dict() == {} for m in modules)
    x = mg.tensor(apart((2, 3, 11)))
    np.testing.assert_array_equal(modules[1](x)[0].data, F.max_pool1d(x, 3, 2, 1, 2, True).data)
    np.testing.assert_array_equal(modules[3](x).data, F.avg_pool1d(x, 3, 2, 1, True, False).data)
    np.testing.assert_array_equal(modules[5](x)[1].data, F.adaptive_max_pool1d(x, 3, True)[1].data)
    np.testing.assert_array_equal(modules[4](x).data, F.adaptive_avg_pool1d(x, 1).data)


def test_pytorch_docstring_examples():
    """torch/nn/modules/pooling.py's examples (PyTorch 2.13), and a conv-pool stack in a Sequential."""
    # pool of size=3, stride=2
    m = nn.MaxPool1d(3, stride=2)
    input = mg.randn(20, 16, 50)
    output = m(input)
    assert output.shape == (20, 16, 24)
    # pool with window of size=3, stride=2
    m = nn.AvgPool1d(3, stride=2)
    assert m(mg.tensor([[[1., 2, 3, 4, 5, 6, 7]]])).tolist() == [[[2., 4., 6.]]]
    # target output size of 5
    assert nn.AdaptiveMaxPool1d(5)(mg.randn(1, 64, 8)).shape == (1, 64, 5)
    assert nn.AdaptiveAvgPool1d(5)(mg.randn(1, 64, 8)).shape == (1, 64, 5)
    model = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(4, 8, 3),
                          nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 2))
    out = model(mg.randn(5, 1, 16))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_a_pooled_layers_output_can_be_watched_with_a_forward_hook():
    seen = []
    pool = nn.MaxPool1d(2)
    handle = pool.register_forward_hook(lambda m, args, out: seen.append((args[0].shape, out.shape)))
    pool(mg.randn(2, 3, 8))
    handle.remove()
    pool(mg.randn(2, 3, 8))
    assert seen == [((2, 3, 8), (2, 3, 4))]


# ---- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, kind, words", [
    (lambda: F.max_pool1d(mg.zeros(2, 2, 2, 2), 2), ValueError, ["max_pool1d", "2 axes", "(2, 2, 2, 2)"]),
    (lambda: F.max_pool1d(mg.zeros(4), 2), ValueError, ["max_pool1d", "3 (N, C, L)", "(4,)"]),
    (lambda: F.avg_pool1d(mg.zeros(1, 1, 4, dtype=mg.long), 2), TypeError, ["avg_pool1d", "floating", "int64"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 0), 1), ValueError, ["max_pool1d", "one position", "(1, 1, 0)"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 4), 0), ValueError, ["max_pool1d", "kernel_size", "0"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 4), 2.5), TypeError, ["max_pool1d", "kernel_size", "2.5"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 4), 2, stride=0), ValueError, ["max_pool1d", "stride", "0"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 4), 2, padding=2), ValueError, ["max_pool1d", "half of kernel_size",
                                                                          "padding=2"]),
    (lambda: F.avg_pool1d(mg.zeros(1, 1, 4), 3, padding=-1), ValueError, ["avg_pool1d", "padding", "-1"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 4), 2, dilation=0), ValueError, ["max_pool1d", "dilation", "0"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 3), 5), ValueError, ["max_pool1d", "length 3", "no output position"]),
    (lambda: F.max_pool1d(mg.zeros(1, 1, 4), 2, ceil_mode=1), ValueError, ["max_pool1d", "ceil_mode", "True or False"]),
    (lambda: F.avg_pool1d(mg.zeros(1, 1, 4), 2, count_include_pad="no"), ValueError, ["avg_pool1d",
                                                                                        "count_include_pad"]),
    (lambda: F.adaptive_avg_pool1d(mg.zeros(1, 1, 4), 0), ValueError, ["adaptive_avg_pool1d", "output_size", "0"]),
    (lambda: F.adaptive_max_pool1d(mg.zeros(1, 1, 4), (2, 2)), ValueError, ["adaptive_max_pool1d", "(2, 2)"]),
    (lambda: F.adaptive_max_pool1d(mg.zeros(1, 0, 4), 2), ValueError, ["adaptive_max_pool1d", "(1, 0, 4)"]),
    (lambda: nn.MaxPool1d(2, padding=2), ValueError, ["MaxPool1d", "half of kernel_size"]),
    (lambda: nn.AvgPool1d(0), ValueError, ["AvgPool1d", "kernel_size", "0"]),
    (lambda: nn.AdaptiveMaxPool1d(-1), ValueError, ["AdaptiveMaxPool1d", "output_size", "-1"]),
    (lambda: nn.AdaptiveAvgPool1d(None), ValueError, ["AdaptiveAvgPool1d", "output_size", "None"]),
    (lambda: nn.MaxPool1d(2, return_indices=None), ValueError, ["MaxPool1d", "return_indices"]),
    (lambda: nn.MaxPool1d(2)(mg.zeros(3)), ValueError, ["MaxPool1d", "(3,)"]),
    (lambda: nn.AvgPool1d(4)(mg.zeros(1, 1, 2)), ValueError, ["AvgPool1d", "length 2", "no output position"]),
])
def test_errors_name_the_function_or_module_what_it_expected_and_what_came(call, kind, words):
    with pytest.raises(kind) as error:
        call()
    assert all(word in str(error.value) for word in words), str(error.value)
