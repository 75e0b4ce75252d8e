"""Tests written from a mutation check of the nn modules other than the recurrent ones (nn/normalization.py,
nn/conv.py, nn/pooling.py, nn/dropout.py, nn/containers.py, nn/linear.py, nn/activations.py, nn/init.py,
functional/convolution.py, functional/pooling.py, functional/layer_functions.py, Module.train/eval): each
pins a behaviour that a hand-made wrong implementation changed without any other test noticing. Expected
values come from closed forms, hand-written numpy or PyTorch's documented definitions, never from the
library's own output."""


import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


# ---- BatchNorm1d ------------------------------------------------------------------------------------------

def test_batch_norm_in_eval_mode_scales_by_weight_and_adds_bias_with_the_running_statistics():
    """PyTorch's BatchNorm1d in eval: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, the
    affine part applied in eval mode as in training. The running statistics are those after one training
    batch with momentum 0.1 (running_mean = 0.1 mean, running_var = 0.9 + 0.1 unbiased var), by hand."""
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((6, 3))
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    nn.init.constant_(bn.weight, 2.0)
    nn.init.constant_(bn.bias, 0.75)
    bn(mg.tensor(batch))
    bn.eval()
    x = rng.standard_normal((4, 3))
    running_mean = 0.1 * batch.mean(axis=0)
    running_var = 0.9 + 0.1 * batch.var(axis=0, ddof=1)
    expected = (x - running_mean) / np.sqrt(running_var + 1e-5) * 2.0 + 0.75
    np.testing.assert_allclose(bn(mg.tensor(x)).data, expected, rtol=1e-10, atol=1e-12)



def test_batch_norm_with_momentum_zero_never_moves_its_running_statistics():
    """PyTorch's update is running = (1 - momentum) running + momentum batch, and only momentum=None means
    the cumulative average: momentum=0.0 keeps running_mean at zeros and running_var at ones, however many
    batches pass (num_batches_tracked still counts them)."""
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(3, momentum=0.0, dtype=np.float64)
    for _ in range(3):
        bn(mg.tensor(rng.standard_normal((5, 3)) * 4 + 2))
    np.testing.assert_array_equal(bn.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(3))
    assert int(bn.num_batches_tracked) == 3

# ---- Conv1d -----------------------------------------------------------------------------------------------

def test_conv1d_bias_bound_uses_the_fan_in_of_one_group():
    """PyTorch's Conv1d draws the bias from uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in =
    in_channels / groups * kernel_size: a depthwise Conv1d(400, 400, 1, groups=400) has fan_in 1, so its
    biases spread over (-1, 1), not (-1/20, 1/20) (fan_in counted without groups)."""
    conv = nn.Conv1d(400, 400, 1, groups=400, rng=np.random.default_rng(3))
    bias = conv.bias.data
    assert np.abs(bias).max() <= 1.0
    assert np.abs(bias).max() > 0.9


def test_conv1d_circular_padding_may_equal_the_input_length():
    """PyTorch's circular padding needs each amount at most the input length (it wraps around once):
    padding == L is allowed, and gives the input wrapped (numpy's np.pad mode="wrap") before the
    cross-correlation."""
    conv = nn.Conv1d(1, 1, 3, padding=2, padding_mode="circular", bias=False, dtype=np.float64,
                     rng=np.random.default_rng(1))
    x = np.array([[[1.0, -2.0]]])
    padded = np.pad(x[0, 0], 2, mode="wrap")                    # [1, -2, 1, -2, 1, -2]
    w = conv.weight.data[0, 0]
    expected = np.array([sum(w[k] * padded[t + k] for k in range(3)) for t in range(4)])
    np.testing.assert_allclose(conv(mg.tensor(x)).data[0, 0], expected, rtol=1e-12)


# ---- pooling ----------------------------------------------------------------------------------------------

def test_max_pool1d_padding_never_wins_over_a_negative_input():
    """PyTorch pads max pooling with -inf: a window [pad, -3, -1] is -1 (position 1), even though the
    padding position comes first and every input value is negative (a zero padding would pick the
    window's first input position instead)."""
    x = mg.tensor(np.array([[[-3.0, -1.0, -2.0, -5.0]]]))
    out, indices = F.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(out.data[0, 0], [-1.0, -1.0, -1.0, -2.0])
    np.testing.assert_array_equal(indices.data[0, 0], [1, 1, 1, 2])


def test_avg_pool1d_module_counts_the_padding_by_default():
    """nn.AvgPool1d's count_include_pad defaults to True, as PyTorch's: AvgPool1d(2, padding=1) over
    [1, 2, 3] averages [0, 1] and [2, 3], giving [0.5, 2.5]."""
    pool = nn.AvgPool1d(2, padding=1)
    assert pool.count_include_pad is True
    out = pool(mg.tensor(np.array([[[1.0, 2.0, 3.0]]])))
    np.testing.assert_allclose(out.data[0, 0], [0.5, 2.5])



def np_max_pool(x, kernel, stride, padding, dilation):
    """PyTorch's max_pool1d over the last axis of x, by the definition: window t reads positions
    s t - p + d k (k < kernel), the padding -inf; L_out = floor((L + 2p - d (K - 1) - 1) / s) + 1."""
    length = x.shape[-1]
    count = (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    out = np.full(x.shape[:-1] + (count,), -np.inf)
    for t in range(count):
        for k in range(kernel):
            j = stride * t - padding + dilation * k
            if 0 <= j < length:
                out[..., t] = np.maximum(out[..., t], x[..., j])
    return out


@pytest.mark.parametrize("kernel, stride, padding, dilation", [(3, 1, 1, 1), (3, 2, 1, 2), (2, 1, 0, 3)])
def test_max_pool1d_module_passes_its_padding_and_dilation_on(kernel, stride, padding, dilation):
    """nn.MaxPool1d(kernel, stride, padding, dilation) computes F.max_pool1d with those settings: each
    window's maximum as written out in numpy (padding with -inf, dilation between a window's positions)."""
    x = np.random.default_rng(5).standard_normal((2, 3, 7))
    pool = nn.MaxPool1d(kernel, stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_array_equal(pool(mg.tensor(x)).data, np_max_pool(x, kernel, stride, padding, dilation))

# ---- containers -------------------------------------------------------------------------------------------

def test_sequential_slice_keeps_its_childrens_names():
    """PyTorch's Sequential[1:] is a Sequential of an OrderedDict of those (name, module) items: the names
    stay "1", "2" (so state_dict keys are "1.weight", ...), not renumbered from "0"."""
    seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 3))
    part = seq[1:]
    assert isinstance(part, nn.Sequential)
    assert [name for name, _ in part.named_children()] == ["1", "2"]
    assert list(part.state_dict()) == ["2.weight", "2.bias"]
    assert part[1] is seq[2]


@pytest.mark.parametrize("kind", [nn.Sequential, nn.ModuleList])
def test_indexed_containers_accept_minus_len_as_the_first_module(kind):
    """As a Python list's: index -len(container) is the first module, for reading, writing and deleting."""
    a, b, c = nn.Tanh(), nn.ReLU(), nn.Sigmoid()
    container = kind([a, b, c]) if kind is nn.ModuleList else kind(a, b, c)
    assert container[-3] is a
    d = nn.Identity()
    container[-3] = d
    assert container[0] is d
    del container[-3]
    assert list(container) == [b, c]


def test_module_dict_del_of_a_missing_key_is_a_key_error():
    """As a dict's (and PyTorch's ModuleDict's): `del d[key]` of a key it lacks raises KeyError."""
    d = nn.ModuleDict({"a": nn.Tanh()})
    with pytest.raises(KeyError):
        del d["missing"]
    assert "a" in d


# ---- activations ------------------------------------------------------------------------------------------

def test_softmin_module_is_the_softmax_of_minus_x():
    """nn.Softmin(dim) is PyTorch's exp(-x_i) / sum_j exp(-x_j) along dim: the smallest entry gets the
    largest weight (softmax of x would give it the smallest)."""
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]])
    expected = np.exp(-x) / np.exp(-x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(nn.Softmin(dim=1)(mg.tensor(x)).data, expected, rtol=1e-12)



def test_prelu_slope_starts_at_a_quarter():
    """nn.PReLU() has one slope, starting at PyTorch's default init=0.25: PReLU()(-2) = -0.5, PReLU()(3) = 3."""
    prelu = nn.PReLU()
    np.testing.assert_array_equal(prelu.weight.data, [0.25])
    np.testing.assert_allclose(prelu(mg.tensor(np.array([-2.0, 3.0], dtype=np.float32))).data, [-0.5, 3.0])


def test_cosine_similarity_module_works_along_dim_one_by_default():
    """nn.CosineSimilarity() is PyTorch's with dim=1 (not the last axis): for (N, D, M) inputs one cosine
    per (n, m), x1 . x2 / (|x1| |x2|) over axis 1, of shape (N, M)."""
    rng = np.random.default_rng(7)
    x1, x2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    expected = (x1 * x2).sum(1) / (np.linalg.norm(x1, axis=1) * np.linalg.norm(x2, axis=1))
    out = nn.CosineSimilarity()(mg.tensor(x1), mg.tensor(x2))
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


# ---- Dropout and nn.init defaults -------------------------------------------------------------------------

def test_dropout_module_defaults_to_p_one_half():
    """nn.Dropout() is PyTorch's p=0.5: in training about half the entries are zeroed and the rest doubled
    (scaled by 1 / (1 - 0.5))."""
    drop = nn.Dropout(rng=np.random.default_rng(0))
    assert drop.p == 0.5
    out = drop(mg.tensor(np.ones((200, 100)))).data
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert abs((out == 0).mean() - 0.5) < 0.02          # 20000 draws: the standard error is 0.0035


def test_init_uniform_defaults_to_zero_one():
    """nn.init.uniform_(w) draws from PyTorch's default uniform(0, 1): no value below 0 or above 1, mean
    about 1/2 (20000 draws: standard error 0.002)."""
    w = nn.Parameter(np.zeros((200, 100)))
    nn.init.uniform_(w, rng=np.random.default_rng(0))
    values = w.data
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert abs(values.mean() - 0.5) < 0.01


def test_pairwise_distance_module_adds_its_eps_to_the_difference():
    """nn.PairwiseDistance(p, eps) is PyTorch's ||x1 - x2 + eps||_p over the last axis: for x1 == x2 with
    D = 4 entries and the default eps 1e-6 that is 1e-6 * sqrt(4) = 2e-6, not 0; with eps=0.5, p=1 it is
    sum |x1 - x2 + 0.5|."""
    x1 = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, 2.0, -1.0]])
    x2 = np.array([[0.0, -2.5, 1.5, 3.0], [0.25, 1.0, 2.0, -4.0]])
    same = nn.PairwiseDistance()(mg.tensor(x1), mg.tensor(x1)).data
    np.testing.assert_allclose(same, [2e-6, 2e-6], rtol=1e-9)
    l1 = nn.PairwiseDistance(p=1.0, eps=0.5)(mg.tensor(x1), mg.tensor(x2)).data
    np.testing.assert_allclose(l1, np.abs(x1 - x2 + 0.5).sum(axis=1), rtol=1e-12)
