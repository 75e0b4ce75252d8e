"""Tests written from a mutation check of the third round of image and sequence layers (nn/normalization.py:
_BatchNorm, BatchNorm2d/3d, InstanceNorm3d, LocalResponseNorm, CrossMapLRN2d; functional/local_response.py;
functional/rrelu.py and nn.RReLU; functional/dropouts.py dropout3d and nn.Dropout3d; nn.NLLLoss2d;
nn.Container; RNNBase's modes in nn/layers.py; optim/swa_utils.update_bn): each pins a behaviour that a
hand-made wrong implementation changed without any other test noticing. Expected values are written in
numpy from PyTorch's documented definitions (torch/nn/modules/batchnorm.py, normalization.py, activation.py,
rnn.py, torch/nn/functional.py, torch/nn/_functions.py) or closed forms, never taken from the library's
own output."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def values(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def np_batch_norm(a, eps=1e-5):
    """(x - mean) / sqrt(var + eps) per channel, mean and biased var over every axis but 1."""
    axes = (0,) + tuple(range(2, a.ndim))
    return (a - a.mean(axis=axes, keepdims=True)) / np.sqrt(a.var(axis=axes, keepdims=True) + eps)


def np_local_response_norm(a, size, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's docstring formula: b_c = a_c (k + alpha / n * sum of a_c'^2 for c' in c - n//2 .. c + (n-1)//2
    within 0..C-1)^-beta."""
    out = np.empty_like(a)
    for c in range(a.shape[1]):
        window = a[:, max(0, c - size // 2):min(a.shape[1], c + (size - 1) // 2 + 1)]
        out[:, c] = a[:, c] / (k + alpha / size * (window ** 2).sum(axis=1)) ** beta
    return out


def np_cross_map_lrn2d(a, size, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's CrossMapLRN2d.forward (torch/nn/_functions.py), its channel loop written out."""
    channels, square = a.shape[1], a ** 2
    scale = np.zeros_like(a)
    pre_pad = int((size - 1) / 2 + 1)
    for c in range(min(pre_pad, channels)):
        scale[:, 0] += square[:, c]
    for c in range(1, channels):
        scale[:, c] = scale[:, c - 1]
        if c < channels - pre_pad + 1:
            scale[:, c] += square[:, c + pre_pad - 1]
        if c > pre_pad:
            scale[:, c] -= square[:, c - pre_pad]
    return a * (scale * alpha / size + k) ** -beta


# ---- BatchNorm2d / BatchNorm3d --------------------------------------------------------------------------

def test_batch_norm2d_refuses_a_5d_input():
    """PyTorch's BatchNorm2d._check_input_dim: `if input.dim() != 4: raise ValueError` (5-D too)."""
    norm = nn.BatchNorm2d(3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input .* got 5D input"):
        norm(mg.zeros(2, 3, 2, 2, 2, dtype=np.float64))
    assert int(norm.num_batches_tracked) == 0


def test_batch_norm3d_refuses_an_input_with_the_wrong_number_of_channels():
    """PyTorch's batch_norm refuses running statistics of C entries for an input of C' != C channels."""
    norm = nn.BatchNorm3d(3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected 5D input of shape \(N, 3, D, H, W\), got 5D input"):
        norm(mg.zeros(2, 4, 2, 2, 2, dtype=np.float64))
    assert int(norm.num_batches_tracked) == 0


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm2d, (1, 2, 2, 2)), (nn.BatchNorm3d, (1, 2, 1, 2, 2))])
def test_batch_norm_in_half_precision_computes_in_float32_before_the_affine_step(layer, shape):
    """PyTorch's half batch norm computes (x - mean) * invstd * weight + bias in float32 (opmath) and rounds
    once: in eval mode with a tiny running variance the normalised 1000 / sqrt(1e-4 + 1e-5) = 95346 is past
    half's 65504, but times weight 0.1 it is 9534.6, finite."""
    norm = layer(2, dtype=np.float16).eval()
    norm.running_var.data = np.full(2, 1e-4, np.float16)
    norm.weight.data = np.full(2, 0.1, np.float16)
    y = norm(mg.tensor(np.full(shape, 1000.0, np.float16)))
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.data.astype(np.float64), 1000 / np.sqrt(1e-4 + 1e-5) * 0.1, rtol=2e-3)


def test_batch_norm2d_on_an_empty_batch_returns_a_new_empty_tensor_and_keeps_the_statistics():
    """An empty (0, C, H, W) batch: PyTorch's batch_norm returns a new empty tensor (not the input) and leaves
    the running statistics as they were; num_batches_tracked still counts (the Python module adds 1 first)."""
    norm = nn.BatchNorm2d(3, dtype=np.float64)
    x = mg.zeros(0, 3, 2, 2, dtype=np.float64)
    y = norm(x)
    assert y is not x and y.shape == (0, 3, 2, 2)
    np.testing.assert_array_equal(norm.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(norm.running_var.data, np.ones(3))
    assert int(norm.num_batches_tracked) == 1


def test_batch_norm_counts_channels_on_axis_1_whatever_the_last_axes():
    """(N, C, H, W) and (N, C, D, H, W) with C on axis 1: trailing sizes different from C are fine."""
    a = values(2, 3, 2, 5, seed=1)
    np.testing.assert_allclose(nn.BatchNorm2d(3, dtype=np.float64)(mg.tensor(a)).data, np_batch_norm(a),
                               rtol=1e-10, atol=1e-12)
    b = values(2, 3, 2, 1, 4, seed=2)
    np.testing.assert_allclose(nn.BatchNorm3d(3, dtype=np.float64)(mg.tensor(b)).data, np_batch_norm(b),
                               rtol=1e-10, atol=1e-12)


# ---- LocalResponseNorm and CrossMapLRN2d ----------------------------------------------------------------

def test_local_response_norm_refuses_an_integer_tensor():
    """PyTorch's avg_pool of an integer tensor is not implemented; here a TypeError naming the function."""
    with pytest.raises(TypeError, match=r"local_response_norm: expected a floating-point tensor, got dtype int64"):
        F.local_response_norm(mg.tensor(np.ones((2, 3, 4), np.int64)), 2)


def test_cross_map_lrn2d_refuses_an_integer_tensor():
    with pytest.raises(TypeError, match=r"CrossMapLRN2d: expected a floating-point tensor, got dtype int64"):
        nn.CrossMapLRN2d(3)(mg.tensor(np.ones((1, 3, 2, 2), np.int64)))


@pytest.mark.parametrize("name, value", [("alpha", True), ("beta", "0.75"), ("k", None)])
def test_local_response_norm_refuses_settings_that_are_not_numbers(name, value):
    settings = {"alpha": 1e-4, "beta": 0.75, "k": 1.0, name: value}
    with pytest.raises(TypeError, match=rf"local_response_norm: {name} must be a number"):
        F.local_response_norm(mg.tensor(values(2, 3, 4)), 2, **settings)


def test_local_response_norm_defaults_are_pytorchs():
    """F.local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0): large entries so alpha matters."""
    a = values(2, 5, 3, seed=4) * 100
    np.testing.assert_allclose(F.local_response_norm(mg.tensor(a), 3).data, np_local_response_norm(a, 3),
                               rtol=1e-12)


def test_cross_map_lrn2d_module_defaults_are_pytorchs():
    """nn.CrossMapLRN2d(size, alpha=1e-4, beta=0.75, k=1): large entries so every setting matters."""
    a = values(2, 4, 2, 2, seed=5) * 100
    np.testing.assert_allclose(nn.CrossMapLRN2d(3)(mg.tensor(a)).data, np_cross_map_lrn2d(a, 3), rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 4, 3, 2), (1, 4, 2, 1, 2)])
def test_local_response_norm_uses_beta_at_every_rank(shape):
    a = values(*shape, seed=3) * 3
    np.testing.assert_allclose(F.local_response_norm(mg.tensor(a), 3, alpha=0.5, beta=0.4, k=2.0).data,
                               np_local_response_norm(a, 3, 0.5, 0.4, 2.0), rtol=1e-12)


def test_cross_map_lrn2d_refuses_a_size_that_is_not_a_positive_integer():
    with pytest.raises(ValueError, match=r"CrossMapLRN2d: size must be a positive integer, got 0"):
        nn.CrossMapLRN2d(0)


def test_local_response_norm_returns_any_empty_input_as_it_is():
    """PyTorch's F.local_response_norm: `if input.numel() == 0: return input`, whichever axis is empty."""
    for shape in [(2, 0, 3), (2, 3, 0, 2)]:
        empty = mg.zeros(*shape, dtype=np.float64)
        assert F.local_response_norm(empty, 2) is empty


def test_local_response_layers_keep_a_float32_input_float32():
    a = values(2, 4, 2, 3).astype(np.float32)
    assert nn.CrossMapLRN2d(3)(mg.tensor(a)).dtype == np.float32
    assert nn.LocalResponseNorm(3)(mg.tensor(a)).dtype == np.float32


# ---- RReLU ----------------------------------------------------------------------------------------------

def test_rrelu_accepts_equal_bounds_and_then_has_that_slope():
    """PyTorch's check is lower <= upper (equal bounds allowed): the slope is then lower, training or not."""
    a = values(4, 5)
    expected = np.where(a > 0, a, 0.2 * a)
    np.testing.assert_allclose(F.rrelu(mg.tensor(a), 0.2, 0.2, training=True).data, expected, rtol=1e-12)
    np.testing.assert_allclose(F.rrelu(mg.tensor(a), 0.2, 0.2).data, expected, rtol=1e-12)
    np.testing.assert_allclose(nn.RReLU(0.2, 0.2)(mg.tensor(a)).data, expected, rtol=1e-12)


def test_rrelu_in_training_has_the_drawn_slope_as_gradient_at_zero():
    """rrelu_with_noise draws a noise r for every input <= 0 (0 included) and its backward is grad * noise:
    at x = 0 the gradient is that entry's slope, not 1."""
    a = np.array([[0.0, 1.5, -2.0], [0.0, -0.5, 3.0]])
    x = mg.tensor(a, requires_grad=True)
    F.rrelu(x, 0.1, 0.3, training=True, rng=np.random.default_rng(6)).sum().backward()
    slopes = np.random.default_rng(6).uniform(0.1, 0.3, a.shape)
    np.testing.assert_allclose(x.grad, np.where(a > 0, 1.0, slopes), rtol=1e-12)


@pytest.mark.parametrize("name", ["training", "inplace"])
def test_rrelu_refuses_a_flag_that_is_not_a_bool(name):
    with pytest.raises(ValueError, match=rf"rrelu: {name} must be True or False"):
        F.rrelu(mg.tensor(values(3)), **{name: "yes"})


def test_rrelu_in_place_refuses_an_array():
    with pytest.raises(TypeError, match=r"rrelu_: expected a Tensor to write into, got ndarray"):
        F.rrelu_(values(3))


def test_rrelu_in_place_in_training_uses_the_given_generator():
    """F.rrelu_(x, lower, upper, training=True): random slopes, from `rng` (drawn as F.rrelu draws them)."""
    a = -np.abs(values(3, 4)) - 0.1
    h = mg.tensor(a)
    assert F.rrelu_(h, 0.1, 0.3, training=True, rng=np.random.default_rng(2)) is h
    np.testing.assert_allclose(h.data, a * np.random.default_rng(2).uniform(0.1, 0.3, a.shape), rtol=1e-12)


def test_rrelu_in_training_keeps_a_float32_input_float32():
    a = values(3, 4).astype(np.float32)
    y = F.rrelu(mg.tensor(a), training=True, rng=np.random.default_rng(0))
    assert y.dtype == np.float32


def test_rrelu_module_in_training_draws_its_slopes_from_its_generator():
    """nn.RReLU(lower, upper, rng=g): in training mode each slope is g's uniform(lower, upper) draw."""
    a = -np.abs(values(3, 4)) - 0.1
    y = nn.RReLU(0.1, 0.3, rng=np.random.default_rng(5))(mg.tensor(a)).data
    np.testing.assert_allclose(y, a * np.random.default_rng(5).uniform(0.1, 0.3, a.shape), rtol=1e-12)


def test_rrelu_module_refuses_an_inplace_that_is_not_a_bool():
    with pytest.raises(ValueError, match=r"RReLU: inplace must be True or False"):
        nn.RReLU(inplace="yes")


@pytest.mark.parametrize("settings", [{"lower": False}, {"upper": True}])
def test_rrelu_module_refuses_bounds_that_are_not_numbers(settings):
    name = next(iter(settings))
    with pytest.raises(TypeError, match=rf"RReLU: {name} must be a number"):
        nn.RReLU(**settings)


@pytest.mark.parametrize("settings", [{"lower": True}, {"upper": True}])
def test_rrelu_refuses_bounds_that_are_not_numbers(settings):
    name = next(iter(settings))
    with pytest.raises(TypeError, match=rf"rrelu: {name} must be a number"):
        F.rrelu(mg.tensor(values(3)), **settings)


# ---- dropout3d and Dropout3d ----------------------------------------------------------------------------

def test_dropout3d_does_not_warn_for_an_unbatched_4d_input():
    """PyTorch's F.dropout3d warns only for ranks other than 4 and 5: (C, D, H, W) is unbatched, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.dropout3d(mg.tensor(values(3, 2, 2, 2)), 0.5, rng=np.random.default_rng(0))
    assert y.shape == (3, 2, 2, 2)


def test_dropout3d_of_another_rank_drops_whole_entries_along_the_first_axis():
    """PyTorch's F.dropout3d reads any rank but 4 and 5 as unbatched: unsqueeze(0), feature dropout with
    noise of shape (1, A, 1, 1), squeeze: each x[i] of a 3-D (A, B, C) input kept or zeroed whole."""
    a = values(6, 2, 3) + 5
    with pytest.warns(UserWarning, match=r"dropout3d: Received a 3-D input"):
        y = F.dropout3d(mg.tensor(a), 0.5, rng=np.random.default_rng(1)).data
    keep = np.random.default_rng(1).random((1, 6, 1, 1)) >= 0.5
    np.testing.assert_allclose(y, np.where(keep, a[None] / 0.5, 0.0)[0], rtol=1e-12)


def test_dropout3d_layer_drops_whole_volumes_of_an_unbatched_input():
    """nn.Dropout3d on (C, D, H, W): a batch of one (PyTorch's dropout3d), each x[c] kept or zeroed whole
    (not each x[c, d], as a 4-D input to dropout2d would be)."""
    a = values(4, 3, 2, 2) + 5
    y = nn.Dropout3d(0.5, rng=np.random.default_rng(2))(mg.tensor(a)).data
    keep = np.random.default_rng(2).random((1, 4, 1, 1, 1)) >= 0.5
    np.testing.assert_allclose(y, np.where(keep, a[None] / 0.5, 0.0)[0], rtol=1e-12)


def test_dropout3d_default_p_is_one_half():
    """F.dropout3d(input, p=0.5, training=True, inplace=False)."""
    a = values(2, 3, 2, 1, 2) + 5
    y = F.dropout3d(mg.tensor(a), rng=np.random.default_rng(3)).data
    keep = np.random.default_rng(3).random((2, 3, 1, 1, 1)) >= 0.5
    np.testing.assert_allclose(y, np.where(keep, a * 2, 0.0), rtol=1e-12)


# ---- NLLLoss2d --------------------------------------------------------------------------------------------

def nll_case():
    logp = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 2, 2))).transpose(0, 3, 1, 2)
    target = np.array([[[0, 1], [2, 2]], [[1, 0], [0, 2]]])
    picked = np.take_along_axis(logp, target[:, None], axis=1)[:, 0]       # (N, H, W): log p of the target
    return logp, target, picked


def made_quietly(factory, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(**kwargs)


def test_nll_loss2d_takes_the_legacy_size_average_and_reduce_in_their_places():
    """NLLLoss2d(weight, size_average, ignore_index, reduce, reduction) as PyTorch's: size_average=False sums,
    reduce=False gives the per-element losses."""
    logp, target, picked = nll_case()
    summed = made_quietly(nn.NLLLoss2d, size_average=False)
    np.testing.assert_allclose(summed(mg.tensor(logp), mg.tensor(target)).data, -picked.sum(), rtol=1e-12)
    each = made_quietly(nn.NLLLoss2d, reduce=False)
    np.testing.assert_allclose(each(mg.tensor(logp), mg.tensor(target)).data, -picked, rtol=1e-12)


def test_nll_loss2d_weights_the_classes():
    """mean reduction with weights: sum of -w[t] log p_t over the sum of w[t] (PyTorch's NLLLoss)."""
    logp, target, picked = nll_case()
    weight = np.array([0.5, 2.0, 1.5])
    loss = made_quietly(nn.NLLLoss2d, weight=mg.tensor(weight))
    w = weight[target]
    np.testing.assert_allclose(loss(mg.tensor(logp), mg.tensor(target)).data, -(w * picked).sum() / w.sum(),
                               rtol=1e-12)


def test_nll_loss2d_ignores_minus_100_by_default():
    """NLLLoss2d's ignore_index defaults to -100, as NLLLoss's: those pixels leave the mean."""
    logp, target, picked = nll_case()
    target = target.copy()
    target[0, 0, 0] = -100
    loss = made_quietly(nn.NLLLoss2d)
    kept = target != -100
    np.testing.assert_allclose(loss(mg.tensor(logp), mg.tensor(target)).data, -picked[kept].mean(), rtol=1e-12)


# ---- Container ----------------------------------------------------------------------------------------------

def test_container_adds_its_children_with_add_modules_checks():
    """PyTorch's Container calls add_module for each keyword: a non-Module is a TypeError, a dotted name a
    KeyError, and None keeps an empty child slot."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match=r"add_module: expected a Module or None for 'scale', got int"):
            nn.Container(scale=3)
        with pytest.raises(KeyError, match=r"add_module: a name must be non-empty and without '\.'"):
            nn.Container(**{"a.b": nn.Linear(2, 2)})
        box = nn.Container(head=None, body=nn.Linear(2, 2))
    assert [name for name, _ in box.named_children()] == ["body"]
    assert list(box._modules) == ["head", "body"]


# ---- settings checked when made, warnings at the user's line -------------------------------------------------

@pytest.mark.parametrize("layer", [nn.LocalResponseNorm, nn.CrossMapLRN2d])
@pytest.mark.parametrize("name", ["alpha", "beta", "k"])
def test_local_response_modules_check_their_settings_when_made(layer, name):
    with pytest.raises(TypeError, match=rf"{layer.__name__}: {name} must be a number"):
        layer(2, **{name: "0.5"})


def test_rrelu_refuses_reversed_bounds_in_eval_mode_too():
    """PyTorch's at::rrelu checks lower <= upper before choosing the training or the evaluation path."""
    with pytest.raises(ValueError, match=r"rrelu: lower bound must be less than or equal to upper bound"):
        F.rrelu(mg.tensor(values(3)), 0.5, 0.2, training=False)


def warning_files(make):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make()
    assert caught
    return {warning.filename for warning in caught}


@pytest.mark.parametrize("make", [lambda: nn.Container(body=nn.Linear(2, 2)), lambda: nn.NLLLoss2d(),
                                  lambda: F.dropout3d(mg.tensor(values(2, 3, 4)), 0.5),
                                  lambda: nn.Sequential(nn.Dropout3d(0.5))(mg.tensor(values(2, 3, 4)))],
                         ids=["Container", "NLLLoss2d", "dropout3d", "Dropout3d in Sequential"])
def test_the_deprecation_warnings_point_at_the_users_line(make):
    assert warning_files(make) == {__file__}


# ---- update_bn --------------------------------------------------------------------------------------------

def test_update_bn_leaves_instance_norm_layers_to_their_own_tracking():
    """PyTorch's update_bn resets and re-averages only _BatchNorm layers: an InstanceNorm2d with running
    statistics (a _NormBase, not a _BatchNorm) keeps its momentum and just tracks as in any training pass,
    running_mean <- 0.9 running_mean + 0.1 (mean over the batch of each instance's channel mean)."""
    model = nn.Sequential(nn.InstanceNorm2d(2, track_running_stats=True, dtype=np.float64),
                          nn.BatchNorm2d(2, dtype=np.float64))
    model[0].running_mean.data = np.array([3.0, 4.0])
    a = values(3, 2, 2, 2, seed=7)
    mg.optim.swa_utils.update_bn([mg.tensor(a)], model)
    np.testing.assert_allclose(model[0].running_mean.data, 0.9 * np.array([3.0, 4.0]) + 0.1 * a.mean(axis=(0, 2, 3)),
                               rtol=1e-12)
    assert model[0].momentum == 0.1
    # the batch norm sees instance-normalised input, of mean 0 in every channel: its new running mean is 0
    np.testing.assert_allclose(model[1].running_mean.data, np.zeros(2), atol=1e-12)
