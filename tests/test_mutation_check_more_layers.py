"""Tests written from a mutation check of the layers added beside the first ones (functional/padding.py and
F.pad's reflect/replicate/circular modes, nn/padding.py, instance norm and _NormBase, functional/dropouts.py and
nn/dropout.py, F.bilinear and nn.Bilinear, pixel shuffle, EmbeddingBag and F.embedding_bag, Softmax2d): each
pins a behaviour that a hand-made wrong implementation changed without any other test noticing. Expected
values are written in numpy from PyTorch's documented definitions (its docstrings, torch/nn/functional.py and
aten/src/ATen/native/*.cpp) or closed forms, never taken from the library's own output."""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq import nn

ALPHA = 1.7580993408473766      # aten/src/ATen/native/Dropout.cpp's alpha


def values(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- F.pad's non-constant modes ---------------------------------------------------------------------------

def test_pad_replicate_refuses_an_empty_axis_to_repeat():
    """An axis of size 0 has no end entry to repeat (PyTorch's replication pad refuses it too)."""
    with pytest.raises(ValueError, match=r"pad: mode='replicate' needs an input length of at least 1 to repeat"):
        F.pad(mg.zeros(1, 2, 0), (1, 1), mode="replicate")


def test_pad_modes_take_a_value_of_zero():
    """PadNd.cpp: TORCH_CHECK(!value.has_value() || *value == 0): value=0 is allowed with a non-constant mode."""
    a = values(2, 3, 5)
    np.testing.assert_array_equal(F.pad(mg.tensor(a), (1, 2), mode="reflect", value=0).data,
                                  np.pad(a, [(0, 0), (0, 0), (1, 2)], "reflect"))
    np.testing.assert_array_equal(F.pad(mg.tensor(a), (2, 0), mode="circular", value=0.0).data,
                                  np.pad(a, [(0, 0), (0, 0), (2, 0)], "wrap"))


def test_pad_modes_refuse_an_input_with_more_than_two_unpadded_axes():
    """PadNd.cpp: 2 amounts pad a 2-d or 3-d input only (4: 3-d or 4-d; 6: 4-d or 5-d)."""
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' pads the last 1, 2 or 3 axes.*got 2 amounts for an "
                                         r"input of shape \(1, 1, 2, 3\)"):
        F.pad(mg.zeros(1, 1, 2, 3), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match=r"got 4 amounts for an input of shape \(1, 1, 1, 3, 3\)"):
        F.pad(mg.zeros(1, 1, 1, 3, 3), (1, 1, 1, 1), mode="replicate")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_refuse_cuts_that_leave_a_negative_size(mode):
    with pytest.raises(ValueError, match=r"pad: padding \(-2, -2\) would leave an axis of the input of shape "
                                         r"\(1, 2, 3\) a negative size"):
        F.pad(mg.zeros(1, 2, 3), (-2, -2), mode=mode)


# ---- the padding layers ----------------------------------------------------------------------------------

def test_replication_pad1d_reproduces_pytorchs_docstring_example():
    """torch/nn/modules/padding.py's ReplicationPad1d example."""
    line = mg.tensor(np.arange(8.0).reshape(1, 2, 4))
    np.testing.assert_array_equal(nn.ReplicationPad1d(2)(line).data,
                                  [[[0, 0, 0, 1, 2, 3, 3, 3], [4, 4, 4, 5, 6, 7, 7, 7]]])
    np.testing.assert_array_equal(nn.ReplicationPad1d((3, 1))(line).data,
                                  [[[0, 0, 0, 0, 1, 2, 3, 3], [4, 4, 4, 4, 5, 6, 7, 7]]])


@pytest.mark.parametrize("layer, padding", [(nn.ReflectionPad1d, (1.5, 1)), (nn.ReplicationPad2d, (1, 1, 1, "1"))])
def test_padding_layers_refuse_a_tuple_with_an_entry_that_is_not_an_int(layer, padding):
    with pytest.raises(ValueError, match=rf"{layer.__name__}: padding must be an int or a tuple of "
                                         rf"{len(padding)} ints"):
        layer(padding)


# ---- channel dropout and alpha dropout ---------------------------------------------------------------------

def test_dropout1d_drops_whole_channels_of_a_batched_input():
    """F.dropout1d of (N, C, L): one draw per (n, c) (Dropout.cpp's make_feature_noise, shape (N, C, 1)), the
    kept channels times 1 / (1 - p)."""
    p, a = 0.5, values(3, 4, 6)
    keep = np.random.default_rng(4).random((3, 4, 1)) >= p
    y = F.dropout1d(mg.tensor(a), p, rng=np.random.default_rng(4))
    np.testing.assert_allclose(y.data, np.where(keep, a / (1 - p), 0.0), rtol=1e-15)


def test_dropout2d_is_on_by_default_as_pytorchs():
    """F.dropout2d(input, p=0.5, training=True): called without `training`, it drops."""
    p, a = 0.5, values(3, 4, 2, 2)
    keep = np.random.default_rng(6).random((3, 4, 1, 1)) >= p
    y = F.dropout2d(mg.tensor(a), p, rng=np.random.default_rng(6))
    np.testing.assert_allclose(y.data, np.where(keep, a / (1 - p), 0.0), rtol=1e-15)


@pytest.mark.parametrize("call", [lambda x: F.dropout1d(x[..., 0], 0.5), lambda x: F.dropout2d(x, 0.5),
                                  lambda x: F.alpha_dropout(x, 0.5, True),
                                  lambda x: F.feature_alpha_dropout(x, 0.5, True)])
def test_the_dropouts_refuse_integer_input(call):
    with pytest.raises(TypeError, match=r"dropout\w*: expected a floating-point tensor, got dtype int64"):
        call(mg.tensor(np.ones((2, 3, 4, 4), np.int64)))


def test_feature_alpha_dropout_refuses_a_one_axis_input():
    """Dropout.cpp's make_feature_noise: 'Feature dropout requires at least 2 dimensions in the input'."""
    with pytest.raises(ValueError, match=r"feature_alpha_dropout: dropping whole channels needs an input of at least "
                                         r"2 axes \(N, C, \*\), got shape \(5,\)"):
        F.feature_alpha_dropout(mg.ones(5), 0.5, True)


@pytest.mark.parametrize("call", [lambda x: F.dropout2d(x, 0.5, rng=np.random.default_rng(0)),
                                  lambda x: F.dropout1d(x[..., 0], 0.5, rng=np.random.default_rng(0)),
                                  lambda x: F.alpha_dropout(x, 0.5, True, rng=np.random.default_rng(0)),
                                  lambda x: F.feature_alpha_dropout(x, 0.5, True, rng=np.random.default_rng(0))])
def test_the_dropouts_keep_float32(call):
    """The mask and the shift are made in the input's dtype: float32 stays float32 (PyTorch's result dtype)."""
    y = call(mg.tensor(values(2, 3, 4, 4).astype(np.float32)))
    assert y.dtype == np.float32


def test_feature_alpha_dropout_layer_drops_whole_channels():
    """nn.FeatureAlphaDropout is F.feature_alpha_dropout: one draw per (n, c), Dropout.cpp's affine map."""
    p, x = 0.4, values(3, 5, 4)
    a = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    keep = np.random.default_rng(12).random((3, 5, 1)) >= p
    y = nn.FeatureAlphaDropout(p, rng=np.random.default_rng(12)).train()(mg.tensor(x))
    np.testing.assert_allclose(y.data, np.where(keep, x * a + ALPHA * a * p, ALPHA * a * (p - 1)), rtol=1e-14)


@pytest.mark.parametrize("layer", [nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.FeatureAlphaDropout])
def test_dropout_layers_refuse_an_inplace_that_is_not_a_bool(layer):
    with pytest.raises(ValueError, match=rf"{layer.__name__}: inplace must be True or False, got 'yes'"):
        layer(0.5, inplace="yes")


@pytest.mark.parametrize("function", [F.dropout1d, F.dropout2d, F.alpha_dropout, F.feature_alpha_dropout])
def test_the_dropout_functions_refuse_a_p_outside_zero_to_one(function):
    """F.dropout*: 'dropout probability has to be between 0 and 1' (checked even when not training)."""
    with pytest.raises(ValueError, match=rf"{function.__name__}: p must be a probability in \[0, 1\], got 1\.5"):
        function(mg.tensor(values(2, 3, 4) if function is F.dropout1d else values(2, 3, 4, 4)), 1.5, True)


# ---- pixel shuffle ---------------------------------------------------------------------------------------

def test_pixel_unshuffle_checks_the_width_too():
    """PixelShuffle.cpp: both the height and the width must be divisible by downscale_factor."""
    with pytest.raises(ValueError, match=r"pixel_unshuffle: expected height and width \(input.shape\[-2:\] = "
                                         r"\(4, 3\)\) divisible by downscale_factor = 2"):
        F.pixel_unshuffle(mg.zeros(1, 1, 4, 3), 2)


@pytest.mark.parametrize("factor", [0, -1, 2.0])
def test_pixel_shuffle_functions_refuse_a_factor_that_is_not_a_positive_int(factor):
    """PixelShuffle.cpp: 'upscale_factor must be greater than 0' (an int argument)."""
    with pytest.raises(ValueError, match=rf"pixel_shuffle: upscale_factor must be a positive integer, got {factor}"):
        F.pixel_shuffle(mg.zeros(1, 4, 2, 2), factor)
    with pytest.raises(ValueError, match=rf"pixel_unshuffle: downscale_factor must be a positive integer, got "
                                         rf"{factor}"):
        F.pixel_unshuffle(mg.zeros(1, 1, 4, 4), factor)


# ---- bilinear --------------------------------------------------------------------------------------------

def test_bilinear_refuses_a_weight_that_is_not_three_axes():
    with pytest.raises(ValueError, match=r"bilinear: expected weight of 3 axes \(out_features, in1_features, "
                                         r"in2_features\), got shape \(4, 6\)"):
        F.bilinear(mg.zeros(6, 2), mg.zeros(6, 3), mg.zeros(4, 6))


def test_bilinear_checks_the_inputs_feature_sizes_against_the_weight():
    with pytest.raises(ValueError, match=r"bilinear: weight of shape \(4, 3, 3\) expects input1 \(\*, 3\) and input2 "
                                         r"\(\*, 3\), got shapes \(6, 2\) and \(6, 3\)"):
        F.bilinear(mg.zeros(6, 2), mg.zeros(6, 3), mg.zeros(4, 3, 3))


@pytest.mark.parametrize("which", [0, 1])
def test_bilinear_layer_refuses_input_of_another_dtype(which):
    layer = nn.Bilinear(2, 3, 4, dtype=np.float32)
    inputs = [np.zeros((5, 2), np.float32), np.zeros((5, 3), np.float32)]
    inputs[which] = inputs[which].astype(np.float64)
    with pytest.raises(TypeError, match=rf"Bilinear: expected input{which + 1} of dtype float32"):
        layer(mg.tensor(inputs[0]), mg.tensor(inputs[1]))


# ---- instance norm ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [("eps", -1e-5), ("momentum", -0.1)])
def test_instance_norm_refuses_a_negative_eps_or_momentum(name, value):
    with pytest.raises(ValueError, match=rf"instance_norm: {name} must be a finite number >= 0"):
        F.instance_norm(mg.tensor(values(2, 3, 4)), **{name: value})


@pytest.mark.parametrize("layer", [nn.InstanceNorm1d, nn.InstanceNorm2d, nn.BatchNorm1d])
def test_norm_layers_refuse_a_negative_momentum_and_take_none(layer):
    with pytest.raises(ValueError, match=rf"{layer.__name__}: momentum must be a finite number >= 0, got -0\.1"):
        layer(3, momentum=-0.1)
    assert layer(3, momentum=None).momentum is None


def test_instance_norm_without_input_stats_needs_both_running_statistics():
    """Normalization.cpp: 'Expected running_mean and running_var to be defined when use_input_stats is false'."""
    for given in ({"running_mean": mg.zeros(3)}, {"running_var": mg.ones(3)}):
        with pytest.raises(ValueError, match="instance_norm: Expected running_mean and running_var to be defined"):
            F.instance_norm(mg.tensor(values(2, 3, 4)), use_input_stats=False, **given)


@pytest.mark.parametrize("name", ["weight", "bias", "running_mean", "running_var"])
def test_instance_norm_refuses_per_channel_tensors_of_another_size(name):
    with pytest.raises(ValueError, match=rf"instance_norm: {name} must have shape \(C,\) = \(3,\), got \(4,\)"):
        F.instance_norm(mg.tensor(values(2, 3, 4)), **{name: mg.ones(4)})


def test_instance_norm_refuses_running_statistics_that_are_not_tensors():
    """They are updated in place, so a numpy array (which could not be) is refused."""
    with pytest.raises(TypeError, match="instance_norm: running_mean must be a tensor"):
        F.instance_norm(mg.tensor(values(2, 3, 4)), running_mean=np.zeros(3), running_var=mg.ones(3))


def test_instance_norm_of_an_empty_input_leaves_the_running_statistics_alone():
    """Normalization.cpp's batch_norm: input.numel() == 0 returns a copy, the running statistics untouched."""
    running_mean, running_var = mg.zeros(3, dtype=np.float64), mg.ones(3, dtype=np.float64)
    y = F.instance_norm(mg.zeros(2, 3, 0, dtype=np.float64), running_mean, running_var)
    assert y.shape == (2, 3, 0)
    np.testing.assert_array_equal(running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(running_var.data, np.ones(3))


def test_instance_norm_refuses_an_input_without_a_channel_axis():
    with pytest.raises(ValueError, match=r"instance_norm: expected an input of shape \(N, C, \*\), got \(5,\)"):
        F.instance_norm(mg.ones(5))


def test_instance_norm_moves_the_running_statistics_by_pytorchs_default_momentum():
    """F.instance_norm(..., momentum=0.1): running <- 0.9 running + 0.1 * (the mean over N of each instance's
    mean, or unbiased variance)."""
    a = values(3, 2, 6) * 2 + 1
    running_mean, running_var = mg.zeros(2, dtype=np.float64), mg.ones(2, dtype=np.float64)
    F.instance_norm(mg.tensor(a), running_mean, running_var)
    np.testing.assert_allclose(running_mean.data, 0.1 * a.mean(axis=2).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(running_var.data, 0.9 + 0.1 * a.var(axis=2, ddof=1).mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("settings", [{"affine": True}, {"track_running_stats": True}])
def test_instance_norm_layer_refuses_input_of_another_dtype(settings):
    """A float32 layer (its weight or running statistics) refuses float64 input, as batch norm does."""
    layer = nn.InstanceNorm1d(3, dtype=np.float32, **settings)
    with pytest.raises(TypeError, match=r"InstanceNorm1d: expected input of dtype float32 \(the module's\), got "
                                        r"float64"):
        layer(mg.tensor(values(2, 3, 4)))


# ---- embedding bag ---------------------------------------------------------------------------------------

INDICES = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 7])     # PyTorch's docstring example's indices


def test_embedding_bag_refuses_decreasing_offsets():
    """A bag input[offsets[b] : offsets[b + 1]] needs offsets[b] <= offsets[b + 1] (the docstring's check)."""
    with pytest.raises(ValueError, match=r"embedding_bag: offsets must start at 0 and not decrease, up to the "
                                         r"input's length 10, got \[0, 5, 3\]"):
        F.embedding_bag(INDICES, mg.tensor(values(10, 3)), np.array([0, 5, 3]))


def test_embedding_bag_refuses_a_last_offset_past_the_input():
    with pytest.raises(ValueError, match=r"embedding_bag: offsets must start at 0 and not decrease, up to the "
                                         r"input's length 10, got \[0, 11\]"):
        F.embedding_bag(INDICES, mg.tensor(values(10, 3)), np.array([0, 11]))


def test_embedding_bag_refuses_an_index_equal_to_num_embeddings():
    with pytest.raises(ValueError, match=r"embedding_bag: indices must lie in \[0, 10\), got values from 0 to 10"):
        F.embedding_bag(np.array([0, 10]), mg.tensor(values(10, 3)), np.array([0]))


def test_embedding_bag_refuses_float_indices():
    with pytest.raises(ValueError, match=r"embedding_bag: expected integer indices, got dtype float64"):
        F.embedding_bag(np.array([0.0, 1.0]), mg.tensor(values(10, 3)), np.array([0]))


def test_embedding_bag_negative_padding_idx_counts_from_the_end():
    """F.embedding_bag: padding_idx < 0 is weight.size(0) + padding_idx (here 9), left out of its bag."""
    weight = values(10, 3)
    out = F.embedding_bag(np.array([9, 1, 9, 2]), mg.tensor(weight), np.array([0, 2]), mode="sum", padding_idx=-1)
    np.testing.assert_allclose(out.data, [weight[1], weight[2]], rtol=1e-15)


def test_embedding_bag_max_leaves_padding_entries_out():
    """mode='max' with padding_idx: the padding row is not a candidate even where it is the largest."""
    weight = values(10, 3)
    weight[4] = 100.0
    out = F.embedding_bag(np.array([4, 1, 2, 4, 4]), mg.tensor(weight), np.array([0, 3]), mode="max", padding_idx=4)
    np.testing.assert_allclose(out.data, [np.maximum(weight[1], weight[2]), np.zeros(3)])


def test_embedding_bag_prints_a_norm_type_other_than_two_as_pytorch():
    """torch/nn/modules/sparse.py's extra_repr: ', norm_type={norm_type}' when it is not 2 (values by repr)."""
    assert repr(nn.EmbeddingBag(5, 2, norm_type=1.0)) == "EmbeddingBag(5, 2, norm_type=1.0, mode='mean')"


def test_embedding_bag_refuses_a_padding_idx_of_num_embeddings():
    """F.embedding_bag: 'Padding_idx must be within num_embeddings' (padding_idx < weight.size(0))."""
    with pytest.raises(ValueError, match=r"embedding_bag: padding_idx must be an integer in \[-10, 10\)"):
        F.embedding_bag(INDICES, mg.tensor(values(10, 3)), np.array([0, 4]), padding_idx=10)


def test_embedding_bag_layer_passes_include_last_offset_on():
    """offsets (B + 1,) with include_last_offset: the last offset closes the last bag (CSR), two bags here."""
    weight = values(10, 3)
    layer = nn.EmbeddingBag(10, 3, mode="sum", include_last_offset=True, _weight=weight)
    out = layer(INDICES, np.array([0, 4, 6]))
    np.testing.assert_allclose(out.data, [weight[INDICES[:4]].sum(axis=0), weight[INDICES[4:6]].sum(axis=0)],
                               rtol=1e-14)


def test_embedding_bag_refuses_per_sample_weights_of_another_dtype():
    with pytest.raises(TypeError, match=r"embedding_bag: expected per_sample_weights of the weight's dtype float64, "
                                        r"got float32"):
        F.embedding_bag(INDICES.reshape(2, 5), mg.tensor(values(10, 3)), mode="sum",
                        per_sample_weights=np.ones((2, 5), np.float32))


def test_embedding_bag_refuses_a_weight_of_another_shape():
    """torch/nn/modules/sparse.py: 'Shape of weight does not match num_embeddings and embedding_dim'."""
    with pytest.raises(ValueError, match=r"EmbeddingBag: expected a floating-point _weight of shape \(4, 2\), got "
                                         r"float64 of shape \(4, 3\)"):
        nn.EmbeddingBag(4, 2, _weight=np.zeros((4, 3)))


def test_embedding_bag_include_last_offset_needs_at_least_one_offset():
    with pytest.raises(ValueError, match=r"embedding_bag: offsets has to be a 1D tensor of integers \(at least one, "
                                         r"with include_last_offset\)"):
        F.embedding_bag(INDICES, mg.tensor(values(10, 3)), np.array([], np.int64), include_last_offset=True)


def test_embedding_bag_max_of_bags_that_are_all_empty_is_zeros():
    """Every bag empty or all padding: zeros (PyTorch's empty bag), shape (bags, embedding_dim)."""
    weight = mg.tensor(values(10, 3))
    out = F.embedding_bag(np.array([4, 4]), weight, np.array([0, 1, 2]), mode="max", padding_idx=4)
    np.testing.assert_array_equal(out.data, np.zeros((3, 3)))



def test_embedding_bag_layer_refuses_a_padding_idx_outside_num_embeddings():
    """torch/nn/modules/sparse.py: 'padding_idx must be within num_embeddings' (-num <= padding_idx < num)."""
    for padding_idx in (4, -5):
        with pytest.raises(ValueError, match=rf"EmbeddingBag: padding_idx must be an integer in \[-4, 4\) "
                                             rf"\(within num_embeddings\) or None, got {padding_idx}"):
            nn.EmbeddingBag(4, 2, padding_idx=padding_idx)


def test_embedding_bag_from_pretrained_checks_its_arguments():
    with pytest.raises(ValueError, match=r"EmbeddingBag.from_pretrained: expected a 2-d floating-point array "
                                         r"\(num_embeddings, embedding_dim\), got float64 of shape \(4,\)"):
        nn.EmbeddingBag.from_pretrained(np.zeros(4))
    with pytest.raises(ValueError, match=r"EmbeddingBag.from_pretrained: freeze must be True or False, got 'no'"):
        nn.EmbeddingBag.from_pretrained(np.zeros((4, 2)), freeze="no")
