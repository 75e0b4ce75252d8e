"""Tests written from a mutation check of the code added late in session 25: functional/ctc.py and
nn.CTCLoss, optim/swa_utils.py (AveragedModel, the averaging functions, SWALR, update_bn) with
BatchNorm1d.reset_running_stats, the 2-d paths of functional/convolution.py and functional/pooling.py
(conv2d, max_pool2d, avg_pool2d and their shared window code), nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d,
and Tensor.clamp_ / clip_ / lerp_. Each test pins a behaviour that a hand-made wrong implementation
changed without any other test noticing. Expected values come from closed forms, hand-written numpy or
PyTorch's documented behaviour, never from the library's own output."""

import itertools
import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.optim import SGD
from microgradseq.optim.swa_utils import (SWALR, AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn,
                                          get_swa_multi_avg_fn, update_bn)


def np_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_ctc_brute_force(log_probs, target, blank=0):
    """-log of the summed probability of every path over (T, C) log-probabilities that collapses (repeats
    merged, then blanks dropped) to `target`; inf when none does."""
    frames, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=frames):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == list(target):
            total += math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -math.log(total) if total > 0 else math.inf


# ---- ctc_loss: argument checks and PyTorch's rules -------------------------------------------------

def test_ctc_loss_refuses_log_probs_of_no_frames_with_a_value_error_naming_it():
    """T = 0 is refused up front with a ValueError naming ctc_loss (not an IndexError from the recursion)."""
    log_probs = np.zeros((0, 1, 3))
    with pytest.raises(ValueError, match="ctc_loss.*T = 0"):
        F.ctc_loss(log_probs, np.zeros((1, 0), np.int64), [0], [0])


def test_ctc_loss_concatenated_targets_must_hold_exactly_the_sum_of_the_target_lengths():
    """PyTorch's LossCTC.cpp checks a 1-d targets tensor with checkSize(targets, 0, sum(target_lengths)):
    one label too many is an error, as one too few is."""
    log_probs = np_log_softmax(np.random.default_rng(0).normal(size=(4, 2, 3)))
    with pytest.raises(ValueError, match="ctc_loss.*sum\\(target_lengths\\)"):
        F.ctc_loss(log_probs, np.array([1, 2, 1, 2]), [4, 4], [1, 2])
    with pytest.raises(ValueError, match="ctc_loss.*sum\\(target_lengths\\)"):
        F.ctc_loss(log_probs, np.array([1, 2]), [4, 4], [1, 2])


def test_ctc_loss_target_longer_than_the_input_is_an_infinite_loss_not_an_error():
    """PyTorch bounds input_lengths by T but not target_lengths: a target longer than its input is
    merely impossible, loss inf (0 with zero_infinity), and the other sequence is unaffected."""
    rng = np.random.default_rng(1)
    log_probs = np_log_softmax(rng.normal(size=(2, 2, 4)))
    targets = np.array([[1, 2, 3], [2, 0, 0]])
    losses = F.ctc_loss(log_probs, targets, [2, 2], [3, 1], reduction="none")
    assert losses.data[0] == np.inf
    np.testing.assert_allclose(losses.data[1], np_ctc_brute_force(log_probs[:, 1], [2]), rtol=1e-12)
    zeroed = F.ctc_loss(log_probs, targets, [2, 2], [3, 1], reduction="none", zero_infinity=True)
    assert zeroed.data[0] == 0.0


def test_ctc_loss_lengths_must_be_one_dimensional():
    """input_lengths and target_lengths are one per sequence, shape (N,), as ctc_loss's docstring and error
    message say (the library's own contract): an (N, 1) array is refused rather than flattened."""
    log_probs = np_log_softmax(np.random.default_rng(2).normal(size=(3, 2, 3)))
    targets = np.array([[1], [2]])
    with pytest.raises(ValueError, match="ctc_loss.*input_lengths"):
        F.ctc_loss(log_probs, targets, np.array([[3], [3]]), [1, 1])
    with pytest.raises(ValueError, match="ctc_loss.*target_lengths"):
        F.ctc_loss(log_probs, targets, [3, 3], np.array([[1], [1]]))


def test_ctcloss_refuses_a_non_integer_blank_when_made():
    """nn.CTCLoss(blank=1.5) is refused when the module is made (PyTorch's ctc_loss takes an int blank;
    the library must not truncate it silently to 1)."""
    with pytest.raises(ValueError, match="CTCLoss.*blank"):
        nn.CTCLoss(blank=1.5)
    with pytest.raises(ValueError, match="CTCLoss.*blank"):
        nn.CTCLoss(blank=-1)


def test_ctc_loss_padded_targets_wider_than_the_longest_target_read_each_row_from_the_left():
    """PyTorch's padded targets (N, S): sequence n's target is targets[n, :target_lengths[n]], whatever S
    (>= the longest length) is and whatever the padding holds."""
    rng = np.random.default_rng(6)
    log_probs = np_log_softmax(rng.normal(size=(4, 2, 4)))
    targets = np.array([[1, 3, 2, 2], [2, 1, 3, 3]])                 # S = 4, longest target 2
    losses = F.ctc_loss(log_probs, targets, [4, 4], [2, 1], reduction="none")
    expected = [np_ctc_brute_force(log_probs[:, 0], [1, 3]), np_ctc_brute_force(log_probs[:, 1], [2])]
    np.testing.assert_allclose(losses.data, expected, rtol=1e-12)


# ---- swa_utils: the averaging functions --------------------------------------------------------------

def test_get_ema_avg_fn_default_decay_is_0_999():
    """PyTorch's get_ema_avg_fn(decay=0.999): ema <- 0.999 ema + 0.001 current."""
    ema_update = get_ema_avg_fn()
    ema, current = np.array([1.0, -2.0, 4.0]), np.array([3.0, 5.0, -1.0])
    out = ema_update(mg.tensor(ema), mg.tensor(current), mg.tensor(1))
    np.testing.assert_allclose(np.asarray(out.data), 0.999 * ema + 0.001 * current, rtol=1e-14)


def test_get_ema_multi_avg_fn_default_decay_is_0_999():
    """PyTorch's get_ema_multi_avg_fn(decay=0.999): lerp(ema, current, 0.001), in place."""
    ema, current = np.array([1.0, -2.0, 4.0]), np.array([3.0, 5.0, -1.0])
    averaged = mg.tensor(ema.copy())
    get_ema_multi_avg_fn()([averaged], [mg.tensor(current)], mg.tensor(1))
    np.testing.assert_allclose(averaged.data, ema + 0.001 * (current - ema), rtol=1e-14)


def test_get_ema_multi_avg_fn_on_integer_tensors_weights_the_average_by_decay():
    """PyTorch's non-floating branch: p_ema.copy_(p_ema * decay + p_model * (1 - decay)), the float result
    truncated by copy_ into the integer tensor: 10 * 0.75 + 20 * 0.25 = 12.5 -> 12 (not 17.5 -> 17)."""
    ema = mg.tensor(np.array([10, 40], np.int64))
    get_ema_multi_avg_fn(0.75)([ema], [mg.tensor(np.array([20, 0], np.int64))], mg.tensor(1))
    assert ema.dtype == np.int64
    np.testing.assert_array_equal(ema.data, [12, 30])          # 12.5 -> 12, 30.0 -> 30


def test_get_swa_multi_avg_fn_on_integer_tensors_divides_by_n_plus_one():
    """The equal average for integer tensors (use_buffers' num_batches_tracked): avg + (cur - avg) / (n + 1),
    truncated: with n = 2 averaged, 10 + (20 - 10) / 3 = 13.33 -> 13."""
    averaged = mg.tensor(np.array([10, 30], np.int64))
    get_swa_multi_avg_fn()([averaged], [mg.tensor(np.array([20, 0], np.int64))], mg.tensor(2))
    assert averaged.dtype == np.int64
    np.testing.assert_array_equal(averaged.data, [13, 20])


def test_update_parameters_refuses_a_model_with_more_parameters_than_the_copy():
    """AveragedModel pairs the copy's parameters with the model's and refuses a model with another count,
    more as well as fewer (a zip would silently drop the extra ones)."""
    rng = np.random.default_rng(3)
    averaged = AveragedModel(nn.Linear(3, 2, rng=rng))
    bigger = nn.Sequential(nn.Linear(3, 2, rng=rng), nn.Linear(2, 2, rng=rng))
    with pytest.raises(ValueError, match="update_parameters.*parameters"):
        averaged.update_parameters(bigger)
    with pytest.raises(ValueError, match="update_parameters.*parameters"):
        averaged.update_parameters(nn.Linear(3, 2, bias=False, rng=rng))


def test_update_bn_runs_the_model_without_recording_gradients():
    """PyTorch's update_bn is decorated @torch.no_grad(): every forward pass of the loader runs with
    recording off (and recording is back on afterwards)."""
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.BatchNorm1d(4))
    seen = []
    model.register_forward_hook(lambda module, args, out: seen.append((mg.is_grad_enabled(), out.requires_grad)))
    update_bn([rng.normal(size=(5, 3)).astype(np.float32) for _ in range(2)], model)
    assert seen == [(False, False), (False, False)]
    assert mg.is_grad_enabled()


def test_a_second_swalr_on_the_same_optimizer_sets_its_own_swa_lr():
    """PyTorch's SWALR writes group['swa_lr'] = swa_lr for every group when made, replacing an earlier
    schedule's: with anneal_epochs=0 the rate is the new swa_lr at once."""
    parameter = mg.tensor(np.zeros(2), requires_grad=True)
    optimizer = SGD([parameter], lr=1.0)
    SWALR(optimizer, swa_lr=0.5, anneal_epochs=0)
    assert optimizer.param_groups[0]["lr"] == 0.5
    SWALR(optimizer, swa_lr=0.1, anneal_epochs=0)
    assert optimizer.param_groups[0]["swa_lr"] == 0.1
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1, rel=1e-15)


def test_update_bn_puts_the_statistics_back_when_a_keyboard_interrupt_stops_the_pass():
    """update_bn changes nothing if a batch raises (its docstring), a KeyboardInterrupt too: the running
    statistics, num_batches_tracked, the momentum and the mode are those from before the pass."""
    rng = np.random.default_rng(8)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.BatchNorm1d(4, momentum=0.3))
    model.eval()
    bn = model[1]
    bn.running_mean.data = np.full(4, 2.0, np.float32)
    bn.running_var.data = np.full(4, 3.0, np.float32)
    tracked = int(bn.num_batches_tracked)

    def loader():
        yield rng.normal(size=(5, 3)).astype(np.float32)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        update_bn(loader(), model)
    np.testing.assert_array_equal(bn.running_mean.data, np.full(4, 2.0))
    np.testing.assert_array_equal(bn.running_var.data, np.full(4, 3.0))
    assert int(bn.num_batches_tracked) == tracked and bn.momentum == 0.3 and not model.training


class _Scaled(nn.Module):
    """y = weight * x * factor, a keyword argument of forward."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.array([2.0]))

    def forward(self, x, factor=1.0):
        return self.weight * x * factor


def test_averaged_model_passes_keyword_arguments_on_to_the_copy():
    """PyTorch's AveragedModel.forward(*args, **kwargs) is self.module(*args, **kwargs)."""
    averaged = AveragedModel(_Scaled())
    out = averaged(mg.tensor(np.array([1.0, -3.0])), factor=5.0)
    np.testing.assert_array_equal(out.data, [10.0, -30.0])


def test_multi_avg_fn_and_avg_fn_are_given_n_averaged_as_a_tensor():
    """PyTorch calls multi_avg_fn(averaged_list, current_list, self.n_averaged.to(device)) and
    avg_fn(averaged, current, self.n_averaged.to(device)): the count is a 0-d integer tensor."""
    seen = []

    def multi(averaged_list, current_list, num_averaged):
        seen.append(num_averaged)

    def single(averaged, current, num_averaged):
        seen.append(num_averaged)
        return averaged

    for kwargs in ({"multi_avg_fn": multi}, {"avg_fn": single}):
        seen.clear()
        model = _Scaled()
        averaged = AveragedModel(model, **kwargs)
        averaged.update_parameters(model)                 # the first update copies
        averaged.update_parameters(model)
        averaged.update_parameters(model)
        assert [isinstance(n, mg.Tensor) for n in seen] == [True, True]
        assert [n.shape for n in seen] == [(), ()] and [int(n) for n in seen] == [1, 2]
        assert all(n.dtype.kind == "i" for n in seen)


def test_n_averaged_counts_every_update_even_of_a_model_without_parameters():
    """PyTorch's update_parameters ends with self.n_averaged += 1 whatever the model holds."""
    averaged = AveragedModel(nn.ReLU())
    for _ in range(3):
        averaged.update_parameters(nn.ReLU())
    assert int(averaged.n_averaged) == 3 and averaged.n_averaged.dtype == np.int64


# ---- conv2d, Conv2d ------------------------------------------------------------------------------------

def test_conv2d_module_refuses_a_padding_mode_pytorch_does_not_have():
    """PyTorch's _ConvNd: padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, else
    ValueError ('constant' is F.pad's name, not a convolution's padding mode)."""
    with pytest.raises(ValueError, match="Conv2d.*padding_mode"):
        nn.Conv2d(1, 1, 3, padding=1, padding_mode="constant")


def np_conv2d_direct(x, w, stride, padding):
    """y[n, o, i, j] = sum_c,a,b w[o, c, a, b] x_pad[n, c, s0 i + a, s1 j + b] (groups 1, dilation 1)."""
    (s0, s1), (p0, p1) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (p0, p0), (p1, p1)))
    kh, kw = w.shape[2:]
    rows, cols = (xp.shape[2] - kh) // s0 + 1, (xp.shape[3] - kw) // s1 + 1
    y = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            y[:, :, i, j] = np.einsum("ncab,ocab->no", xp[:, :, s0 * i:s0 * i + kh, s1 * j:s1 * j + kw], w)
    return y


def test_conv2d_takes_its_settings_as_lists_as_well_as_tuples():
    """PyTorch's conv2d takes int[2] arguments, so lists work as tuples: stride=[2, 1], padding=[1, 0]
    (and nn.Conv2d's kernel_size=[3, 2])."""
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(3, 2, 3, 2))
    out = F.conv2d(mg.tensor(x), mg.tensor(w), stride=[2, 1], padding=[1, 0], dilation=[1, 1])
    np.testing.assert_allclose(out.data, np_conv2d_direct(x, w, (2, 1), (1, 0)), rtol=1e-12, atol=1e-12)
    layer = nn.Conv2d(2, 3, kernel_size=[3, 2], stride=[2, 1], dtype=np.float64, rng=rng)
    assert layer.weight.shape == (3, 2, 3, 2) and layer.kernel_size == (3, 2) and layer.stride == (2, 1)


# ---- max_pool2d, avg_pool2d, MaxPool2d, AvgPool2d ---------------------------------------------------

def np_pool2d(x, k, s, reduce):
    """`reduce` over each kH x kW window, every (sH, sW), of an (N, C, H, W) array without padding."""
    (kh, kw), (sh, sw) = k, s
    H, W = x.shape[-2:]
    rows, cols = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.empty(x.shape[:2] + (rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[:, :, i, j] = reduce(x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw], axis=(-2, -1))
    return out


@pytest.mark.parametrize("stride", [(), []])
def test_pool2d_an_empty_stride_means_the_kernel_size(stride):
    """PyTorch's max_pool2d and avg_pool2d (aten Pooling.cpp): `stride.empty() ? kernel_size : stride`, so
    stride=() or [] pools windows side by side, as stride=None does."""
    x = np.random.default_rng(5).normal(size=(1, 2, 6, 4))
    np.testing.assert_allclose(F.max_pool2d(mg.tensor(x), (3, 2), stride).data, np_pool2d(x, (3, 2), (3, 2), np.max),
                               rtol=1e-15)
    np.testing.assert_allclose(F.avg_pool2d(mg.tensor(x), (3, 2), stride).data, np_pool2d(x, (3, 2), (3, 2), np.mean),
                               rtol=1e-14)


def test_max_pool2d_padding_never_wins_over_the_most_negative_finite_input():
    """PyTorch's max-pool kernels read only input positions (the padding is not a value, their maximum
    starts at -inf and takes `val > maxval`): in the window [pad, -inf, finfo.min] the maximum is finfo.min
    at index 1, not the -inf of the first input position (as padding with a large negative number would
    give through a tie with the padding)."""
    lowest = np.finfo(np.float64).min
    x = mg.tensor(np.array([[[[-np.inf, lowest]]]]))
    out, indices = F.max_pool2d(x, (1, 3), stride=1, padding=(0, 1), return_indices=True)
    np.testing.assert_array_equal(out.data, [[[[lowest, lowest]]]])
    np.testing.assert_array_equal(indices.data, [[[[1, 1]]]])


def test_avgpool2d_checks_its_padding_when_made():
    """The pooling layers check their settings when made (nn/pooling.py's docstring): AvgPool2d's padding
    must be at most half the kernel size, as PyTorch's avg_pool2d requires, along each axis."""
    with pytest.raises(ValueError, match="AvgPool2d.*padding should be at most half"):
        nn.AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match="AvgPool2d.*padding should be at most half"):
        nn.AvgPool2d((4, 2), padding=(1, 2))


def test_maxpool2d_takes_return_indices_before_ceil_mode_positionally():
    """PyTorch's MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False): the fifth positional argument is return_indices."""
    layer = nn.MaxPool2d(2, 2, 0, 1, True)
    assert layer.return_indices is True and layer.ceil_mode is False
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    out, indices = layer(mg.tensor(x))
    np.testing.assert_array_equal(out.data, [[[[6.0, 8.0], [16.0, 18.0]]]])          # floor: 2 x 2 windows
    np.testing.assert_array_equal(indices.data, [[[[6, 8], [16, 18]]]])


def test_avgpool2d_takes_ceil_mode_before_count_include_pad_positionally():
    """PyTorch's AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None): AvgPool2d(2, 2, 1, True, False) is ceil_mode=True, count_include_pad=False.
    On a 4 x 4 input with padding 1 that gives 3 x 3 windows, the corners 1 input entry each, divided by 1."""
    layer = nn.AvgPool2d(2, 2, 1, True, False)
    assert layer.ceil_mode is True and layer.count_include_pad is False
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = layer(mg.tensor(x)).data
    # rows/cols of each window (in the input): [0], [1, 2], [3]
    parts = [[0], [1, 2], [3]]
    expected = [[x[0, 0][np.ix_(r, c)].mean() for c in parts] for r in parts]
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-15)


# ---- clamp_, clip_, lerp_ ---------------------------------------------------------------------------

def test_lerp_in_place_on_a_leaf_that_requires_grad_names_lerp_():
    """The in-place rules name the method called: lerp_ on a leaf that requires grad while recording is a
    RuntimeError that says lerp_ (as clamp_'s says clamp_), not lerp."""
    leaf = mg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="^lerp_: a leaf tensor"):
        leaf.lerp_(np.ones(3), 0.5)
    np.testing.assert_array_equal(leaf.data, np.zeros(3))


def test_lerp_in_place_takes_a_tensor_weight_entry_by_entry():
    """torch.Tensor.lerp_(end, weight) with a tensor weight: start + weight * (end - start) entry by entry
    (PyTorch's documented formula), under no_grad a new array in place (an EMA's update)."""
    start, end, weight = np.array([1.0, 2.0, -4.0]), np.array([3.0, -6.0, 0.0]), np.array([0.25, 0.5, 1.0])
    t = mg.tensor(start.copy())
    with mg.no_grad():
        returned = t.lerp_(mg.tensor(end), mg.tensor(weight))
    assert returned is t
    np.testing.assert_allclose(t.data, start + weight * (end - start), rtol=1e-15)


def test_lerp_in_place_requires_a_weight():
    """PyTorch's Tensor.lerp_(end, weight) has no default weight: calling it without one is a TypeError."""
    with pytest.raises(TypeError):
        mg.tensor(np.zeros(2)).lerp_(np.ones(2))
