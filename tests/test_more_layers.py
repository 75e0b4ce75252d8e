"""PyTorch's layers beside the first ones: InstanceNorm1d/2d and F.instance_norm, the padding layers and
F.pad's reflect, replicate and circular modes, Dropout1d/2d, AlphaDropout and FeatureAlphaDropout (and their
functions), Bilinear and F.bilinear, PixelShuffle/PixelUnshuffle, EmbeddingBag and F.embedding_bag, Softmax2d.

References are hand-written numpy of PyTorch's documented formulas (np.pad's modes, einsum, loops over
bags), PyTorch's own docstring examples, closed forms, and central differences in float64 for the gradients
(`assert_gradients_match`, which checks the values against the same numpy too)."""

import math
import warnings

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq import nn

ALPHA = 1.7580993408473766      # PyTorch's Dropout.cpp


def values(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- F.pad's modes and the padding layers ------------------------------------------------------------

NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("mode", list(NUMPY_MODES))
@pytest.mark.parametrize("shape, amounts", [((2, 5), (2, 1)), ((2, 3, 5), (1, 3)), ((3, 4, 5), (1, 2, 3, 0)),
                                            ((2, 3, 4, 5), (0, 2, 1, 1)), ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2))])
def test_pad_modes_are_numpys_modes_with_gradients(mode, shape, amounts):
    """F.pad(x, amounts, mode) is np.pad with reflect, edge or wrap over the last len(amounts) / 2 axes (the last
    axis first in `amounts`); its gradient (an entry read twice gets both g's) against central differences."""
    widths = [(0, 0)] * len(shape)
    for k in range(len(amounts) // 2):
        widths[len(shape) - 1 - k] = (amounts[2 * k], amounts[2 * k + 1])
    assert_gradients_match(lambda t: F.pad(t, amounts, mode=mode), lambda a: np.pad(a, widths, NUMPY_MODES[mode]),
                           values(*shape))


def test_pad_modes_cut_a_negative_amount_off():
    """A negative amount cuts that side; circular padding wraps the cut input (PyTorch's _pad_circular copies
    from its cut output), reflect and replicate mirror or repeat about the input's own ends."""
    a = values(2, 3, 5)
    np.testing.assert_array_equal(F.pad(mg.tensor(a), (-1, 2), mode="circular").data,
                                  np.pad(a[..., 1:], [(0, 0), (0, 0), (0, 2)], "wrap"))
    np.testing.assert_array_equal(F.pad(mg.tensor(a), (2, -3), mode="reflect").data,
                                  np.pad(a, [(0, 0), (0, 0), (2, 0)], "reflect")[..., :4])
    np.testing.assert_array_equal(F.pad(mg.tensor(a), (-2, 1), mode="replicate").data,
                                  np.pad(a, [(0, 0), (0, 0), (0, 1)], "edge")[..., 2:])


def test_pad_modes_refuse_what_pytorch_refuses_naming_pad():
    x = mg.tensor(values(2, 3, 4))
    cases = [(lambda: F.pad(x, (1, 1), mode="reflect", value=2.0), r"pad: padding mode 'reflect' doesn't take in "
              r"value argument, got value=2\.0"),
             (lambda: F.pad(mg.zeros(4), (1, 1), mode="replicate"), r"pad: mode 'replicate' pads the last 1, 2 or 3 "
              r"axes.*got 2 amounts for an input of shape \(4,\)"),
             (lambda: F.pad(x, (1, 1, 1, 1, 1, 1), mode="circular"),
              r"got 6 amounts for an input of shape \(2, 3, 4\)"),
             (lambda: F.pad(x, (4, 0), mode="reflect"), r"pad: mode='reflect' needs the padding \(4, 0\) smaller than "
              r"the input length, got input of shape \(2, 3, 4\)"),
             (lambda: F.pad(x, (0, 5), mode="circular"), r"pad: mode='circular' needs the padding \(0, 5\) at most"),
             (lambda: F.pad(x, (1, 1), mode="wrap"), r"pad: mode must be one of 'constant', 'reflect', 'replicate' "
              r"or 'circular', got 'wrap'")]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_padding_layers_reproduce_pytorchs_docstring_examples():
    """The examples of torch/nn/modules/padding.py."""
    line = mg.tensor(np.arange(8.0).reshape(1, 2, 4))
    np.testing.assert_array_equal(nn.ReflectionPad1d(2)(line).data,
                                  [[[2, 1, 0, 1, 2, 3, 2, 1], [6, 5, 4, 5, 6, 7, 6, 5]]])
    np.testing.assert_array_equal(nn.ReflectionPad1d((3, 1))(line).data,
                                  [[[3, 2, 1, 0, 1, 2, 3, 2], [7, 6, 5, 4, 5, 6, 7, 6]]])
    np.testing.assert_array_equal(nn.CircularPad1d((3, 1))(line).data,
                                  [[[1, 2, 3, 0, 1, 2, 3, 0], [5, 6, 7, 4, 5, 6, 7, 4]]])
    image = mg.tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    np.testing.assert_array_equal(nn.ReflectionPad2d((1, 1, 2, 0))(image).data[0, 0],
                                  [[7, 6, 7, 8, 7], [4, 3, 4, 5, 4], [1, 0, 1, 2, 1], [4, 3, 4, 5, 4], [7, 6, 7, 8, 7]])
    np.testing.assert_array_equal(nn.CircularPad2d((1, 1, 2, 0))(image).data[0, 0],
                                  [[5, 3, 4, 5, 3], [8, 6, 7, 8, 6], [2, 0, 1, 2, 0], [5, 3, 4, 5, 3], [8, 6, 7, 8, 6]])
    np.testing.assert_array_equal(nn.ReplicationPad2d((1, 0, 0, 1))(image).data[0, 0],
                                  [[0, 0, 1, 2], [3, 3, 4, 5], [6, 6, 7, 8], [6, 6, 7, 8]])


@pytest.mark.parametrize("layer, given, value", [(nn.ConstantPad1d, (1, 2), 3.5), (nn.ZeroPad1d, (1, 2), 0.0),
                                                 (nn.ConstantPad2d, (1, 0, 2, 1), -1.0),
                                                 (nn.ZeroPad2d, (1, 0, 2, 1), 0.0)])
def test_constant_and_zero_padding_layers_fill_with_their_value(layer, given, value):
    module = layer(given, value) if layer in (nn.ConstantPad1d, nn.ConstantPad2d) else layer(given)
    a = values(2, 3, 4)
    widths = [(0, 0)] * 3
    for k in range(len(given) // 2):
        widths[2 - k] = (given[2 * k], given[2 * k + 1])
    np.testing.assert_array_equal(module(mg.tensor(a)).data, np.pad(a, widths, constant_values=value))
    assert module.padding == given and module.value == value and module.state_dict() == {}


def test_padding_layers_keep_and_print_their_padding_as_pytorch():
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ZeroPad1d((1, 2))) == "ZeroPad1d((1, 2))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.ConstantPad2d((3, 0, 2, 1), 3.5)) == "ConstantPad2d(padding=(3, 0, 2, 1), value=3.5)"
    assert repr(nn.ReflectionPad1d(3)) == "ReflectionPad1d((3, 3))"
    assert repr(nn.ReplicationPad2d((1, 2, 3, 4))) == "ReplicationPad2d((1, 2, 3, 4))"
    assert repr(nn.CircularPad2d(2)) == "CircularPad2d((2, 2, 2, 2))"


def test_padding_layers_refuse_bad_padding_and_circular_checks_the_rank():
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or a tuple of 4 ints, got \(1, 2\)"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match=r"ConstantPad1d: padding must be an int or a tuple of 2 ints, got 1\.5"):
        nn.ConstantPad1d(1.5, 0.0)
    with pytest.raises(ValueError, match=r"CircularPad1d: expected 2D or 3D input \(got 4D input of shape "
                                         r"\(1, 1, 2, 3\)\)"):
        nn.CircularPad1d(1)(mg.zeros(1, 1, 2, 3))
    with pytest.raises(ValueError, match=r"pad: mode='reflect' needs the padding \(3, 3\) smaller than the input "
                                         r"height, got input of shape \(1, 3, 3\)"):
        nn.ReflectionPad2d(3)(mg.zeros(1, 3, 3))


# ---- channel dropout and alpha dropout ------------------------------------------------------------------

DROPOUT_LAYERS = [nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.FeatureAlphaDropout]


@pytest.mark.parametrize("layer", DROPOUT_LAYERS)
def test_dropout_layers_are_the_identity_in_eval_mode_and_print_as_pytorch(layer):
    module = layer(0.3).eval()
    x = mg.tensor(values(2, 3, 4) if layer is nn.Dropout1d else values(2, 3, 4, 5))
    assert module(x) is x
    assert repr(module) == f"{layer.__name__}(p=0.3, inplace=False)" and module.state_dict() == {}
    with pytest.raises(ValueError, match=rf"{layer.__name__}: p must be a probability in \[0, 1\], got 1\.5"):
        layer(1.5)


def test_the_alpha_dropout_functions_are_off_by_default_as_pytorchs():
    x = mg.tensor(values(2, 3, 4))
    assert F.alpha_dropout(x, 0.5) is x and F.feature_alpha_dropout(x, 0.5) is x
    maps = mg.tensor(values(2, 3, 4, 1))
    assert F.dropout1d(x, 0.0) is x and F.dropout2d(maps, 0.5, training=False) is maps


def test_dropout2d_zeros_whole_channels_and_scales_the_rest():
    """Each map x[n, c] is zeroed where a fresh generator of the same seed draws u < p for (n, c), the rest
    times 1 / (1 - p); the gradient is that constant factor."""
    p, a = 0.4, values(3, 5, 2, 2)
    keep = np.random.default_rng(7).random((3, 5, 1, 1)) >= p
    x = mg.tensor(a, requires_grad=True)
    y = nn.Dropout2d(p, rng=np.random.default_rng(7))(x)
    np.testing.assert_allclose(y.data, np.where(keep, a / (1 - p), 0.0), rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to(keep / (1 - p), a.shape), rtol=1e-15)


def test_dropout1d_takes_an_unbatched_input_and_refuses_four_axes():
    p, a = 0.5, values(6, 4)
    keep = np.random.default_rng(3).random((1, 6, 1)) >= p
    y = F.dropout1d(mg.tensor(a), p, rng=np.random.default_rng(3))
    np.testing.assert_allclose(y.data, np.where(keep[0], a * 2, 0.0))
    with pytest.raises(ValueError, match=r"dropout1d: expected an input of 2 axes \(C, L\) or 3 \(N, C, L\), got "
                                         r"shape \(1, 2, 3, 4\)"):
        nn.Dropout1d()(mg.zeros(1, 2, 3, 4))


def test_dropout2d_warns_as_pytorch_for_inputs_of_other_ranks():
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input"):
        F.dropout2d(mg.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(mg.ones(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout2d(mg.ones(2, 3, 4, 4))


def test_channel_dropout_follows_the_library_generator():
    mg.manual_seed(11)
    first = nn.Dropout2d(0.5)(mg.ones(4, 8, 2, 2))
    mg.manual_seed(11)
    np.testing.assert_array_equal(nn.Dropout2d(0.5)(mg.ones(4, 8, 2, 2)).data, first.data)


def test_alpha_dropout_is_pytorchs_affine_map_of_a_bernoulli_mask():
    """y = x keep a + (keep - 1) alpha a + alpha a p, a = 1 / sqrt((alpha^2 p + 1)(1 - p)) (Dropout.cpp); the
    gradient is keep a."""
    p, a_ = 0.3, values(4, 5)
    a = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    keep = np.random.default_rng(5).random(a_.shape) >= p
    x = mg.tensor(a_, requires_grad=True)
    y = F.alpha_dropout(x, p, training=True, rng=np.random.default_rng(5))
    np.testing.assert_allclose(y.data, np.where(keep, a_ * a + ALPHA * a * p, ALPHA * a * (p - 1)), rtol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, keep * a, rtol=1e-15)


@pytest.mark.parametrize("layer, shape", [(nn.AlphaDropout, (200_000,)), (nn.FeatureAlphaDropout, (20_000, 10, 1))])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_a_standard_normal_input_standard_normal(layer, shape, p):
    x = mg.tensor(np.random.default_rng(1).standard_normal(shape))
    y = layer(p, rng=np.random.default_rng(2)).train()(x).data
    assert abs(y.mean()) < 0.02 and abs(y.var() - 1) < 0.03


def test_feature_alpha_dropout_drops_whole_channels_to_one_value():
    p, a_ = 0.5, values(3, 4, 6)
    a = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    keep = np.random.default_rng(9).random((3, 4, 1)) >= p
    y = F.feature_alpha_dropout(mg.tensor(a_), p, True, rng=np.random.default_rng(9))
    np.testing.assert_allclose(y.data, np.where(keep, a_ * a + ALPHA * a * p, ALPHA * a * (p - 1)), rtol=1e-14)
    np.testing.assert_array_equal(F.alpha_dropout(mg.tensor(a_), 1.0, True).data, np.zeros_like(a_))


# ---- instance norm -------------------------------------------------------------------------------------

def np_instance_norm(a, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(2, a.ndim))
    centred = a - a.mean(axis=axes, keepdims=True)
    y = centred / np.sqrt((centred ** 2).mean(axis=axes, keepdims=True) + eps)
    channels = (a.shape[1],) + (1,) * (a.ndim - 2)
    return y if weight is None else y * weight.reshape(channels) + bias.reshape(channels)


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 2, 3, 3), (3, 1, 2)])
def test_instance_norm_values_and_gradients(shape):
    assert_gradients_match(lambda t: F.instance_norm(t), np_instance_norm, values(*shape))
    assert_gradients_match(lambda t, w, b: F.instance_norm(t, weight=w, bias=b, eps=0.1),
                           lambda a, w, b: np_instance_norm(a, w, b, eps=0.1),
                           values(*shape), values(shape[1], seed=1), values(shape[1], seed=2))


def test_instance_norm_layers_have_pytorchs_defaults_parameters_and_buffers():
    plain = nn.InstanceNorm1d(3)
    assert repr(plain) == "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"
    assert plain.weight is None and plain.running_mean is None and list(plain.state_dict()) == []
    full = nn.InstanceNorm2d(4, affine=True, track_running_stats=True, dtype=np.float64)
    assert list(full.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert [name for name, _ in full.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(full.weight.data, np.ones(4))
    np.testing.assert_array_equal(full.bias.data, np.zeros(4))
    np.testing.assert_array_equal(full.running_var.data, np.ones(4))
    assert int(full.num_batches_tracked) == 0 and full.running_mean.shape == (4,)


def test_instance_norm_tracks_the_average_of_the_instances_statistics_and_uses_them_in_eval():
    """Normalization.cpp: running <- 0.9 running + 0.1 * mean over N of each instance's mean (unbiased
    variance); num_batches_tracked stays 0. In eval mode y = (x - running_mean) / sqrt(running_var + eps)."""
    layer = nn.InstanceNorm1d(3, track_running_stats=True, dtype=np.float64)
    mean, var = np.zeros(3), np.ones(3)
    for seed in (1, 2):
        a = values(4, 3, 5, seed=seed) * 2 + 1
        np.testing.assert_allclose(layer(mg.tensor(a)).data, np_instance_norm(a), rtol=1e-12)
        mean = 0.9 * mean + 0.1 * a.mean(axis=2).mean(axis=0)
        var = 0.9 * var + 0.1 * a.var(axis=2, ddof=1).mean(axis=0)
    np.testing.assert_allclose(layer.running_mean.data, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.data, var, rtol=1e-12)
    assert int(layer.num_batches_tracked) == 0
    a = values(2, 3, 5, seed=3)
    expected = (a - mean[:, None]) / np.sqrt(var[:, None] + 1e-5)
    np.testing.assert_allclose(layer.eval()(mg.tensor(a)).data, expected, rtol=1e-12)


def test_instance_norm_without_running_stats_uses_the_instances_in_eval_and_reads_unbatched_input():
    layer = nn.InstanceNorm2d(2, affine=True, dtype=np.float64).eval()
    a = values(2, 3, 4)
    np.testing.assert_allclose(layer(mg.tensor(a)).data, np_instance_norm(a[None])[0], rtol=1e-12)
    frozen = nn.InstanceNorm1d(2, momentum=None, track_running_stats=True, dtype=np.float64)
    frozen(mg.tensor(values(3, 2, 4)))
    np.testing.assert_array_equal(frozen.running_mean.data, np.zeros(2))


def test_instance_norm_refuses_wrong_input_naming_the_layer():
    with pytest.raises(ValueError, match=r"InstanceNorm1d: expected 2D or 3D input \(got 4D input"):
        nn.InstanceNorm1d(3)(mg.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected input's size at dim=1 to match num_features \(3\), "
                                         r"but got: 2"):
        nn.InstanceNorm2d(3, affine=True)(mg.zeros(1, 2, 2, 2))
    with pytest.warns(UserWarning, match=r"InstanceNorm1d: expected input's size at dim=0 to match num_features"):
        nn.InstanceNorm1d(3)(mg.tensor(values(2, 4)))
    with pytest.raises(ValueError, match=r"instance_norm: Expected more than 1 spatial element when training, got "
                                         r"input size \[2, 3, 1\]"):
        nn.InstanceNorm1d(3)(mg.zeros(2, 3, 1))
    with pytest.raises(ValueError, match="instance_norm: Expected running_mean and running_var to be defined"):
        F.instance_norm(mg.zeros(2, 3, 4), use_input_stats=False)


# ---- bilinear ------------------------------------------------------------------------------------------

def np_bilinear(x1, x2, w, b=None):
    y = np.einsum("...i,oij,...j->...o", x1, w, x2)
    return y if b is None else y + b


@pytest.mark.parametrize("lead", [(), (4,), (2, 3)])
def test_bilinear_values_and_gradients(lead):
    assert_gradients_match(F.bilinear, np_bilinear, values(*lead, 3), values(*lead, 2, seed=1),
                           values(5, 3, 2, seed=2), values(5, seed=3))
    assert_gradients_match(F.bilinear, np_bilinear, values(*lead, 3), values(*lead, 2, seed=1),
                           values(5, 3, 2, seed=2))


def test_bilinear_layer_parameters_init_and_repr():
    mg.manual_seed(0)
    layer = nn.Bilinear(20, 3, 4)
    assert [(name, p.shape) for name, p in layer.named_parameters()] == [("weight", (4, 20, 3)), ("bias", (4,))]
    bound = 1 / math.sqrt(20)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.5 * bound
    assert repr(layer) == "Bilinear(in1_features=20, in2_features=3, out_features=4, bias=True)"
    assert list(nn.Bilinear(2, 3, 4, bias=False).state_dict()) == ["weight"]
    x1, x2 = values(6, 20).astype(np.float32), values(6, 3).astype(np.float32)
    np.testing.assert_allclose(layer(x1, x2).data, np_bilinear(x1, x2, layer.weight.data, layer.bias.data), rtol=1e-5)


def test_bilinear_refuses_shapes_that_do_not_line_up():
    with pytest.raises(ValueError, match=r"Bilinear: expected input2 of shape \(\*, 3\), got \(6, 4\)"):
        nn.Bilinear(2, 3, 4)(mg.zeros(6, 2), mg.zeros(6, 4))
    with pytest.raises(ValueError, match=r"bilinear: expected input1 \(\*, in1\) and input2 \(\*, in2\) with the same "
                                         r"leading axes, got shapes \(6, 2\) and \(5, 3\)"):
        F.bilinear(mg.zeros(6, 2), mg.zeros(5, 3), mg.zeros(4, 2, 3))
    with pytest.raises(ValueError, match=r"bilinear: expected bias of shape \(4,\)"):
        F.bilinear(mg.zeros(6, 2), mg.zeros(6, 3), mg.zeros(4, 2, 3), mg.zeros(3))


# ---- pixel shuffle -------------------------------------------------------------------------------------

def np_pixel_shuffle(a, r):
    *lead, channels, height, width = a.shape
    out = np.empty((*lead, channels // r ** 2, height * r, width * r))
    for c in range(channels // r ** 2):
        for i in range(r):
            for j in range(r):
                out[..., c, i::r, j::r] = a[..., c * r * r + i * r + j, :, :]
    return out


def np_pixel_unshuffle(a, r):
    *lead, channels, height, width = a.shape
    out = np.empty((*lead, channels * r ** 2, height // r, width // r))
    for c in range(channels):
        for i in range(r):
            for j in range(r):
                out[..., c * r * r + i * r + j, :, :] = a[..., c, i::r, j::r]
    return out


@pytest.mark.parametrize("shape, r", [((8, 2, 3), 2), ((2, 9, 1, 2), 3), ((2, 1, 4, 2, 2), 2)])
def test_pixel_shuffle_and_unshuffle_values_and_gradients(shape, r):
    a = values(*shape)
    assert_gradients_match(lambda t: F.pixel_shuffle(t, r), lambda x: np_pixel_shuffle(x, r), a)
    assert_gradients_match(lambda t: F.pixel_unshuffle(t, r), lambda x: np_pixel_unshuffle(x, r),
                           np_pixel_shuffle(a, r))
    layer = nn.PixelShuffle(r)
    np.testing.assert_array_equal(nn.PixelUnshuffle(r)(layer(mg.tensor(a))).data, a)
    assert repr(layer) == f"PixelShuffle(upscale_factor={r})"
    assert repr(nn.PixelUnshuffle(r)) == f"PixelUnshuffle(downscale_factor={r})"


def test_pixel_shuffle_refuses_sizes_that_do_not_divide():
    with pytest.raises(ValueError, match=r"pixel_shuffle: expected the channel axis \(input.shape\[-3\] = 6\) "
                                         r"divisible by upscale_factor\^2 = 4"):
        nn.PixelShuffle(2)(mg.zeros(1, 6, 2, 2))
    with pytest.raises(ValueError, match=r"pixel_unshuffle: expected height and width \(input.shape\[-2:\] = "
                                         r"\(3, 4\)\) divisible by downscale_factor = 2"):
        F.pixel_unshuffle(mg.zeros(1, 1, 3, 4), 2)
    with pytest.raises(ValueError, match="PixelShuffle: upscale_factor must be a positive integer, got 0"):
        nn.PixelShuffle(0)
    with pytest.raises(ValueError, match=r"pixel_shuffle: expected an input of at least 3 axes"):
        F.pixel_shuffle(mg.zeros(4, 4), 2)


# ---- embedding bag -------------------------------------------------------------------------------------

def np_embedding_bag(indices, weight, bags, mode, per_sample_weights=None, padding_idx=None):
    """One row per bag (a list of positions into indices): the sum, mean or max of the rows of weight there,
    padding_idx entries left out, zeros for an empty bag."""
    out = np.zeros((len(bags), weight.shape[1]))
    for b, positions in enumerate(bags):
        kept = [k for k in positions if indices[k] != padding_idx]
        if not kept:
            continue
        rows = weight[[indices[k] for k in kept]]
        if per_sample_weights is not None:
            rows = rows * per_sample_weights[kept][:, None]
        out[b] = {"sum": rows.sum, "mean": rows.mean, "max": rows.max}[mode](axis=0)
    return out


INDICES = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 7])
OFFSETS = np.array([0, 4, 4, 7])
BAGS = [[0, 1, 2, 3], [], [4, 5, 6], [7, 8, 9]]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_with_offsets_values_and_weight_gradient(mode, padding_idx):
    """Bags between offsets (one empty), PyTorch's docstring example's indices; gradient against central
    differences (weights distinct, so the max is unique)."""
    weight = values(10, 3)
    assert_gradients_match(lambda w: F.embedding_bag(mg.tensor(INDICES), w, mg.tensor(OFFSETS), mode=mode,
                                                     padding_idx=padding_idx),
                           lambda w: np_embedding_bag(INDICES, w, BAGS, mode, padding_idx=padding_idx), weight)


def test_embedding_bag_of_a_2d_input_include_last_offset_and_per_sample_weights():
    weight, psw = values(10, 3), values(10, seed=4)
    rows = INDICES.reshape(2, 5)
    assert_gradients_match(lambda w, s: F.embedding_bag(rows, w, mode="sum", per_sample_weights=s.reshape(2, 5)),
                           lambda w, s: np_embedding_bag(INDICES, w, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], "sum", s),
                           weight, psw)
    last = F.embedding_bag(INDICES, mg.tensor(weight), np.array([0, 4, 6]), mode="mean", include_last_offset=True)
    np.testing.assert_allclose(last.data, np_embedding_bag(INDICES, weight, [[0, 1, 2, 3], [4, 5]], "mean"))


def test_pytorchs_docstring_example_with_padding_idx():
    """F.embedding_bag(input, weight, offsets, padding_idx=2, mode='sum'): the first bag, all padding, is zeros."""
    weight = values(10, 3)
    out = F.embedding_bag(np.array([2, 2, 2, 2, 4, 3, 2, 9]), weight, np.array([0, 4]), padding_idx=2, mode="sum")
    np.testing.assert_allclose(out.data, [np.zeros(3), weight[4] + weight[3] + weight[9]])


def test_embedding_bag_layer_init_names_and_repr():
    mg.manual_seed(0)
    layer = nn.EmbeddingBag(1000, 8, mode="sum", padding_idx=-1)
    assert list(layer.state_dict()) == ["weight"] and layer.weight.shape == (1000, 8)
    np.testing.assert_array_equal(layer.weight.data[999], np.zeros(8))
    assert abs(layer.weight.data.std() - 1) < 0.05 and abs(layer.weight.data.mean()) < 0.05
    assert layer.padding_idx == 999 and layer.mode == "sum" and not layer.include_last_offset
    assert repr(layer) == "EmbeddingBag(1000, 8, mode='sum', padding_idx=999)"
    assert repr(nn.EmbeddingBag(5, 2)) == "EmbeddingBag(5, 2, mode='mean')"
    frozen = nn.EmbeddingBag.from_pretrained(mg.tensor(values(4, 2)), mode="max")
    assert not frozen.weight.requires_grad and frozen.mode == "max"
    np.testing.assert_allclose(frozen(np.array([[0, 1]])).data, values(4, 2)[:2].max(axis=0, keepdims=True))


def test_embedding_bag_refuses_what_pytorch_refuses():
    weight = mg.tensor(values(10, 3))
    with pytest.raises(NotImplementedError, match=r"embedding_bag: per_sample_weights is only supported for "
                                                  r"mode='sum', got mode='mean'"):
        F.embedding_bag(INDICES, weight, OFFSETS, per_sample_weights=np.ones(10))
    with pytest.raises(ValueError, match=r"embedding_bag: if input is 2D \(here \(2, 5\)\), then offsets has to be "
                                         r"None"):
        F.embedding_bag(INDICES.reshape(2, 5), weight, OFFSETS)
    with pytest.raises(ValueError, match=r"embedding_bag: offsets must start at 0 and not decrease, up to the "
                                         r"input's length 10, got \[1, 4\]"):
        F.embedding_bag(INDICES, weight, np.array([1, 4]))
    with pytest.raises(ValueError, match=r"embedding_bag: indices must lie in \[0, 10\), got values from 0 to 12"):
        F.embedding_bag(np.array([0, 12]), weight, np.array([0]))
    with pytest.raises(ValueError, match=r"EmbeddingBag: mode has to be one of 'sum', 'mean' or 'max', got 'min'"):
        nn.EmbeddingBag(4, 2, mode="min")
    with pytest.raises(TypeError, match=r"EmbeddingBag: max_norm=1\.0 is not supported"):
        nn.EmbeddingBag(4, 2, 1.0)


# ---- Softmax2d -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 2, 2), (2, 3, 2, 4)])
def test_softmax2d_is_softmax_over_the_channels(shape):
    def np_softmax(a):
        e = np.exp(a - a.max(axis=-3, keepdims=True))
        return e / e.sum(axis=-3, keepdims=True)
    assert_gradients_match(nn.Softmax2d(), np_softmax, values(*shape))
    with pytest.raises(ValueError, match=r"Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(mg.zeros(3, 4))
