"""PyTorch's image and sequence layers of a third round: BatchNorm2d/3d (on _BatchNorm), InstanceNorm3d, Dropout3d
and F.dropout3d, LocalResponseNorm and F.local_response_norm, CrossMapLRN2d, RReLU and F.rrelu / F.rrelu_,
NLLLoss2d, Container and RNNBase.

References are hand-written numpy of PyTorch's formulas (per-channel batch statistics, the channel loops of
local response normalisation and of CrossMapLRN2d.forward in torch/nn/_functions.py), closed forms, and
central differences in float64 for the gradients (`assert_gradients_match`, which checks the values
against the same numpy too)."""

import warnings

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq import nn


def values(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- BatchNorm2d and BatchNorm3d ---------------------------------------------------------------------------

def np_batch_norm(a, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel, mean and biased var over every axis but 1."""
    axes = (0,) + tuple(range(2, a.ndim))
    channels = (1, a.shape[1]) + (1,) * (a.ndim - 2)
    y = (a - a.mean(axis=axes, keepdims=True)) / np.sqrt(a.var(axis=axes, keepdims=True) + eps)
    return y if weight is None else y * weight.reshape(channels) + bias.reshape(channels)


BATCH_NORMS = [(nn.BatchNorm2d, (4, 3, 2, 3)), (nn.BatchNorm3d, (2, 3, 2, 2, 3))]


@pytest.mark.parametrize("layer, shape", BATCH_NORMS)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batch_norm_trains_on_batch_statistics_and_tracks_the_unbiased_variance(layer, shape, momentum):
    """Training: per-channel batch mean and biased variance; running <- (1 - m) running + m batch statistic
    with the unbiased variance (m = 1 / batches so far for momentum=None); eval: the running statistics."""
    norm = layer(3, momentum=momentum, dtype=np.float64)
    weight, bias = values(3, seed=8), values(3, seed=9)
    norm.weight.data, norm.bias.data = weight, bias
    mean, var = np.zeros(3), np.ones(3)
    axes = (0,) + tuple(range(2, len(shape)))
    for step, seed in enumerate((1, 2, 3), start=1):
        a = values(*shape, seed=seed) * 2 + 1
        np.testing.assert_allclose(norm(mg.tensor(a)).data, np_batch_norm(a, weight, bias), rtol=1e-12, atol=1e-12)
        m = 1 / step if momentum is None else momentum
        mean = (1 - m) * mean + m * a.mean(axis=axes)
        var = (1 - m) * var + m * a.var(axis=axes, ddof=1)
        np.testing.assert_allclose(norm.running_mean.data, mean, rtol=1e-12)
        np.testing.assert_allclose(norm.running_var.data, var, rtol=1e-12)
        assert int(norm.num_batches_tracked) == step
    a = values(*shape, seed=4)
    channels = (1, 3) + (1,) * (len(shape) - 2)
    expected = (a - mean.reshape(channels)) / np.sqrt(var.reshape(channels) + 1e-5) * weight.reshape(channels) \
        + bias.reshape(channels)
    np.testing.assert_allclose(norm.eval()(mg.tensor(a)).data, expected, rtol=1e-12, atol=1e-12)
    assert int(norm.num_batches_tracked) == 3


@pytest.mark.parametrize("layer, shape", BATCH_NORMS)
def test_batch_norm_gradients_match_central_differences(layer, shape):
    """d/dx against central differences of the numpy formula; d/dweight = sum of normalised * g and
    d/dbias = sum of g per channel (closed forms)."""
    plain = layer(3, affine=False, track_running_stats=False, dtype=np.float64)
    assert_gradients_match(lambda t: plain(t), np_batch_norm, values(*shape))
    norm = layer(3, track_running_stats=False, dtype=np.float64)
    a, g = values(*shape, seed=1), values(*shape, seed=2)
    (norm(mg.tensor(a)) * mg.tensor(g)).sum().backward()
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(norm.weight.grad, (np_batch_norm(a) * g).sum(axis=axes), rtol=1e-10)
    np.testing.assert_allclose(norm.bias.grad, g.sum(axis=axes), rtol=1e-10)


@pytest.mark.parametrize("layer, shape", BATCH_NORMS)
def test_batch_norm_without_running_stats_uses_the_batch_in_eval_too(layer, shape):
    norm = layer(3, affine=False, track_running_stats=False, dtype=np.float64).eval()
    a = values(*shape)
    np.testing.assert_allclose(norm(mg.tensor(a)).data, np_batch_norm(a), rtol=1e-12, atol=1e-12)
    assert norm.running_mean is None and norm.num_batches_tracked is None and list(norm.state_dict()) == []


@pytest.mark.parametrize("layer", [nn.BatchNorm2d, nn.BatchNorm3d])
def test_batch_norm_layers_have_pytorchs_parameters_buffers_and_repr(layer):
    norm = layer(5)
    name = layer.__name__
    assert repr(norm) == (f"{name}(5, eps=1e-05, momentum=0.1, affine=True, "
                          "track_running_stats=True)")
    assert [n for n, _ in norm.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in norm.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(norm.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(norm.weight.data, np.ones(5))
    np.testing.assert_array_equal(norm.bias.data, np.zeros(5))
    np.testing.assert_array_equal(norm.running_var.data, np.ones(5))
    assert norm.running_mean.shape == (5,) and norm.num_batches_tracked.dtype == np.int64
    assert norm.training and not norm.eval().training


@pytest.mark.parametrize("layer, shape", BATCH_NORMS)
def test_batch_norm_state_dict_round_trip(layer, shape):
    trained = layer(3, dtype=np.float64)
    trained.weight.data = values(3, seed=5)
    for seed in (1, 2):
        trained(mg.tensor(values(*shape, seed=seed)))
    fresh = layer(3, dtype=np.float64)
    fresh.load_state_dict(trained.state_dict())
    for key, value in trained.state_dict().items():
        np.testing.assert_array_equal(np.asarray(fresh.state_dict()[key].data), np.asarray(value.data))
    a = values(*shape, seed=7)
    np.testing.assert_array_equal(fresh.eval()(mg.tensor(a)).data, trained.eval()(mg.tensor(a)).data)
    assert int(fresh.num_batches_tracked) == 2


@pytest.mark.parametrize("layer, wrong, expected", [
    (nn.BatchNorm2d, (2, 3, 4), r"BatchNorm2d: expected 4D input of shape \(N, 3, H, W\), got 3D input of shape "
                                r"\(2, 3, 4\)"),
    (nn.BatchNorm2d, (2, 4, 2, 2), r"BatchNorm2d: expected 4D input of shape \(N, 3, H, W\), got 4D input"),
    (nn.BatchNorm3d, (2, 3, 2, 2), r"BatchNorm3d: expected 5D input of shape \(N, 3, D, H, W\), got 4D input"),
    (nn.BatchNorm1d, (2, 3, 2, 2), r"BatchNorm1d: expected input of shape \(N, 3\) or \(N, 3, L\), got"),
])
def test_batch_norm_refuses_a_wrong_rank_naming_the_layer_and_changes_nothing(layer, wrong, expected):
    norm = layer(3, dtype=np.float64)
    with pytest.raises(ValueError, match=expected):
        norm(mg.zeros(*wrong, dtype=np.float64))
    assert int(norm.num_batches_tracked) == 0
    np.testing.assert_array_equal(norm.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(norm.running_var.data, np.ones(3))


def test_batch_norm_needs_more_than_one_value_per_channel_when_training():
    with pytest.raises(ValueError, match=r"BatchNorm2d: Expected more than 1 value per channel when training"):
        nn.BatchNorm2d(3)(mg.zeros(1, 3, 1, 1))


def test_update_bn_recomputes_the_statistics_of_batch_norm2d_too():
    """swa_utils.update_bn (PyTorch's: every _BatchNorm) makes each layer's running statistics the average over
    the batches of their means and unbiased variances."""
    model = nn.Sequential(nn.BatchNorm2d(3, dtype=np.float64))
    batches = [values(4, 3, 2, 2, seed=seed) + seed for seed in (1, 2)]
    mg.optim.swa_utils.update_bn([mg.tensor(b) for b in batches], model)
    axes = (0, 2, 3)
    np.testing.assert_allclose(model[0].running_mean.data, np.mean([b.mean(axis=axes) for b in batches], 0),
                               rtol=1e-12)
    np.testing.assert_allclose(model[0].running_var.data, np.mean([b.var(axis=axes, ddof=1) for b in batches], 0),
                               rtol=1e-12)
    assert model[0].momentum == 0.1


# ---- InstanceNorm3d -------------------------------------------------------------------------------------

def np_instance_norm(a, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(2, a.ndim))
    y = (a - a.mean(axis=axes, keepdims=True)) / np.sqrt(a.var(axis=axes, keepdims=True) + eps)
    channels = (a.shape[1],) + (1,) * (a.ndim - 2)
    return y if weight is None else y * weight.reshape(channels) + bias.reshape(channels)


def test_instance_norm3d_values_gradients_and_unbatched_input():
    layer = nn.InstanceNorm3d(2, dtype=np.float64)
    assert repr(layer) == "InstanceNorm3d(2, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)"
    assert_gradients_match(lambda t: layer(t), np_instance_norm, values(2, 2, 2, 2, 3))
    a = values(2, 3, 2, 2)
    np.testing.assert_allclose(layer(mg.tensor(a)).data, np_instance_norm(a[None])[0], rtol=1e-12)
    affine = nn.InstanceNorm3d(2, affine=True, track_running_stats=True)
    assert list(affine.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_instance_norm3d_refuses_a_wrong_rank_naming_it():
    with pytest.raises(ValueError, match=r"InstanceNorm3d: expected 4D or 5D input \(got 3D input of shape"):
        nn.InstanceNorm3d(2)(mg.zeros(2, 3, 4))


# ---- Dropout3d ------------------------------------------------------------------------------------------

def test_dropout3d_zeros_whole_volumes_and_scales_the_rest():
    """Each x[n, c] zeroed when the generator's uniform draw for (n, c) is below p, else scaled by 1 / (1 - p)."""
    a = values(3, 4, 2, 2, 3) + 5
    y = F.dropout3d(mg.tensor(a), 0.5, rng=np.random.default_rng(3)).data
    keep = np.random.default_rng(3).random((3, 4, 1, 1, 1)) >= 0.5
    np.testing.assert_allclose(y, np.where(keep, a / 0.5, 0.0), rtol=1e-12)
    unbatched = F.dropout3d(mg.tensor(a[0]), 0.5, rng=np.random.default_rng(3)).data
    keep = np.random.default_rng(3).random((1, 4, 1, 1, 1)) >= 0.5
    np.testing.assert_allclose(unbatched, np.where(keep, a[:1] / 0.5, 0.0)[0], rtol=1e-12)


def test_dropout3d_layer_is_the_identity_in_eval_mode_and_warns_for_other_ranks():
    layer = nn.Dropout3d(0.3)
    assert repr(layer) == "Dropout3d(p=0.3, inplace=False)"
    x = mg.tensor(values(2, 3, 2, 2, 2))
    assert layer.eval()(x) is x
    with pytest.warns(UserWarning, match=r"dropout3d: Received a 3-D input to dropout3d"):
        F.dropout3d(mg.tensor(values(2, 3, 4)), 0.5)
    with pytest.raises(ValueError, match=r"dropout3d: p must be"):
        F.dropout3d(x, 1.5)


def test_dropout3d_gradient_is_the_mask_over_one_minus_p():
    a = values(2, 3, 2, 1, 2)
    keep = np.random.default_rng(4).random((2, 3, 1, 1, 1)) >= 0.25
    assert_gradients_match(lambda t: F.dropout3d(t, 0.25, rng=np.random.default_rng(4)),
                           lambda b: np.where(keep, b / 0.75, 0.0), a)


# ---- LocalResponseNorm and CrossMapLRN2d -----------------------------------------------------------------

def np_local_response_norm(a, size, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's docstring formula by a loop over channels: b_c = a_c (k + alpha / n * sum of a_c'^2 for c' in
    c - n//2 .. c + (n-1)//2 within 0..C-1)^-beta."""
    out = np.empty_like(a)
    for c in range(a.shape[1]):
        window = a[:, max(0, c - size // 2):min(a.shape[1], c + (size - 1) // 2 + 1)]
        out[:, c] = a[:, c] / (k + alpha / size * (window ** 2).sum(axis=1)) ** beta
    return out


@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 4, 3, 2), (1, 6, 2, 1, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm_values_and_gradients(shape, size):
    a = values(*shape) * 3
    assert_gradients_match(lambda t: F.local_response_norm(t, size, alpha=0.5, beta=0.75, k=2.0),
                           lambda b: np_local_response_norm(b, size, 0.5, 0.75, 2.0), a)
    layer = nn.LocalResponseNorm(size)
    np.testing.assert_allclose(layer(mg.tensor(a)).data, np_local_response_norm(a, size), rtol=1e-12)


def test_local_response_norm_module_repr_empty_input_and_errors():
    assert repr(nn.LocalResponseNorm(2)) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"
    assert list(nn.LocalResponseNorm(2).state_dict()) == []
    empty = mg.zeros(0, 3, 2)
    assert F.local_response_norm(empty, 2) is empty
    with pytest.raises(ValueError, match=r"local_response_norm: expected 3D or higher dimensionality input "
                                         r"\(N, C, \*\), got 2D input of shape \(2, 3\)"):
        F.local_response_norm(mg.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"LocalResponseNorm: size must be a positive integer, got 0"):
        nn.LocalResponseNorm(0)


def np_cross_map_lrn2d(a, size, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's CrossMapLRN2d.forward (torch/nn/_functions.py), line by line: scale[0] sums the first
    pre_pad squares, each next channel adds square[c + pre_pad - 1] and, for c > pre_pad, drops
    square[c - pre_pad]; then output = input * (scale * alpha / size + k)^-beta."""
    channels = a.shape[1]
    square = a ** 2
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


@pytest.mark.parametrize("channels", [1, 3, 6])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_cross_map_lrn2d_is_pytorchs_forward_value_with_its_gradient(channels, size):
    a = values(2, channels, 2, 3) * 3
    layer = nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=2.0)
    assert_gradients_match(lambda t: layer(t), lambda b: np_cross_map_lrn2d(b, size, 0.5, 0.75, 2.0), a)


def test_cross_map_lrn2d_repr_and_rank_error():
    assert repr(nn.CrossMapLRN2d(3)) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"
    assert not isinstance(nn.CrossMapLRN2d(3), nn.LocalResponseNorm)
    with pytest.raises(ValueError, match=r"CrossMapLRN2d: expected 4D input \(N, C, H, W\), got 3D input"):
        nn.CrossMapLRN2d(3)(mg.zeros(2, 3, 4))


# ---- RReLU -----------------------------------------------------------------------------------------------

def test_rrelu_in_eval_mode_is_leaky_relu_with_the_mean_slope():
    a = values(3, 4)
    slope = (1 / 8 + 1 / 3) / 2
    assert_gradients_match(lambda t: F.rrelu(t), lambda b: np.where(b > 0, b, slope * b), a)
    layer = nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_allclose(layer(mg.tensor(a)).data, np.where(a > 0, a, 0.2 * a), rtol=1e-12)


def test_rrelu_in_training_draws_slopes_in_the_range_and_its_gradient_is_the_slope():
    a = values(50, 40)
    x = mg.tensor(a, requires_grad=True)
    y = nn.RReLU(0.1, 0.3)(x)
    y.sum().backward()
    negative = a < 0
    slopes = y.data[negative] / a[negative]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    np.testing.assert_array_equal(y.data[~negative], a[~negative])
    np.testing.assert_allclose(x.grad[negative], slopes, rtol=1e-12)
    np.testing.assert_array_equal(x.grad[~negative], 1.0)


def test_rrelu_slopes_come_from_the_given_generator_or_the_librarys():
    a = -np.abs(values(3, 4))
    y = F.rrelu(mg.tensor(a), 0.1, 0.3, training=True, rng=np.random.default_rng(2)).data
    np.testing.assert_allclose(y, a * np.random.default_rng(2).uniform(0.1, 0.3, a.shape), rtol=1e-12)
    mg.manual_seed(7)
    first = nn.RReLU()(mg.tensor(a)).data
    mg.manual_seed(7)
    np.testing.assert_array_equal(nn.RReLU()(mg.tensor(a)).data, first)


def test_rrelu_in_place_writes_into_the_tensor_and_keeps_the_history():
    a = values(3, 4)
    x = mg.tensor(a, requires_grad=True)
    h = x * 1
    assert F.rrelu_(h) is h
    np.testing.assert_allclose(h.data, np.where(a > 0, a, (1 / 8 + 1 / 3) / 2 * a), rtol=1e-12)
    h.sum().backward()
    np.testing.assert_allclose(x.grad, np.where(a > 0, 1.0, (1 / 8 + 1 / 3) / 2), rtol=1e-12)


def test_rrelu_repr_and_errors():
    assert repr(nn.RReLU()) == "RReLU(lower=0.125, upper=0.3333333333333333)"
    assert repr(nn.RReLU(0.1, 0.3, inplace=True)) == "RReLU(lower=0.1, upper=0.3, inplace=True)"
    with pytest.raises(ValueError, match=r"RReLU: lower bound must be less than or equal to upper bound"):
        nn.RReLU(0.5, 0.2)
    with pytest.raises(ValueError, match=r"rrelu: lower bound must be less than or equal to upper bound, got "
                                         r"lower=0\.5 and upper=0\.2"):
        F.rrelu(mg.zeros(2), 0.5, 0.2, training=True)
    with pytest.raises(TypeError, match=r"rrelu: expected a floating-point tensor, got dtype int64"):
        F.rrelu(mg.tensor([1, -2]))


# ---- NLLLoss2d, Container, RNNBase -------------------------------------------------------------------------

def test_nll_loss2d_is_a_deprecated_nll_loss():
    with pytest.warns(UserWarning, match="NLLLoss2d has been deprecated"):
        loss = nn.NLLLoss2d(ignore_index=1)
    assert isinstance(loss, nn.NLLLoss) and repr(loss) == "NLLLoss2d()"
    logp = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 2, 2))).transpose(0, 3, 1, 2)
    target = np.array([[[0, 1], [2, 2]], [[1, 0], [0, 2]]])
    kept = target != 1
    picked = np.take_along_axis(logp, target[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(loss(mg.tensor(logp), mg.tensor(target)).data, -picked[kept].mean(), rtol=1e-12)


def test_container_is_a_deprecated_module_of_its_keyword_children():
    with pytest.warns(UserWarning, match="nn.Container is deprecated"):
        box = nn.Container(encoder=nn.Linear(2, 3), decoder=nn.Linear(3, 2))
    assert isinstance(box, nn.Module)
    assert [name for name, _ in box.named_children()] == ["encoder", "decoder"]
    assert list(box.state_dict()) == ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]


@pytest.mark.parametrize("layer, mode", [(nn.RNN, "RNN_TANH"), (nn.LSTM, "LSTM"), (nn.GRU, "GRU")])
def test_rnn_lstm_and_gru_are_rnn_bases_with_pytorchs_modes(layer, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = layer(3, 4)
    assert isinstance(module, nn.RNNBase) and module.mode == mode
    assert module.flatten_parameters() is None
    assert nn.RNN(3, 4, nonlinearity="relu").mode == "RNN_RELU"


@pytest.mark.parametrize("mode, layer, options", [("LSTM", nn.LSTM, {}), ("GRU", nn.GRU, {"num_layers": 2}),
                                                  ("RNN_TANH", nn.RNN, {"bidirectional": True})])
def test_rnn_base_made_directly_has_the_layers_parameters(mode, layer, options):
    """RNNBase(mode, input_size, hidden_size, ...): the same parameter names, shapes and (from the same
    generator) values as the layer of that mode."""
    base = nn.RNNBase(mode, 3, 4, rng=np.random.default_rng(0), dtype=np.float64, **options)
    same = layer(3, 4, rng=np.random.default_rng(0), dtype=np.float64, **options)
    assert list(base.state_dict()) == list(same.state_dict())
    for (name, got), (_, expected) in zip(base.named_parameters(), same.named_parameters()):
        assert got.shape == expected.shape, name
        np.testing.assert_array_equal(got.data, expected.data)
    assert base.mode == mode and repr(base).startswith("RNNBase(3, 4")


def test_rnn_base_refuses_an_unknown_mode_and_has_no_step_of_its_own():
    with pytest.raises(ValueError, match=r"RNNBase: Unrecognized RNN mode: expected one of 'RNN_TANH', 'RNN_RELU', "
                                         r"'LSTM', 'GRU', got 'LSTM2'"):
        nn.RNNBase("LSTM2", 3, 4)
    with pytest.raises(NotImplementedError, match=r"RNNBase: no step of its own \(mode 'GRU'\)"):
        nn.RNNBase("GRU", 3, 4)(mg.zeros(2, 3))
