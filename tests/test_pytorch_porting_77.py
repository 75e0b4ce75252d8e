"""Porting, round 77: PYTORCH'S OWN TESTS OF ITS LOSS FUNCTIONS -- the CPU loss tests of pytorch/pytorch's
test/test_nn.py (commit 74f2fa66feec00335f72813782f4802e80bff4cb), written as PyTorch wrote them with only the
imports changed (`# differs:` marks each other change and why):

1. TestNN: test_cosine_embedding_loss_with_diff_type, _error_on_diff_shapes, _error_on_nonexpandable_shapes,
   _no_reduce, _margin_no_reduce, _invalid_shape; test_kl_div_with_diff_type, _with_diff_type_log_target,
   test_kl_div_log_softmax_target; test_margin_ranking_loss_no_reduce, _margin_no_reduce;
   test_triplet_margin_loss, _swap, _no_reduce, _swap_no_reduce; test_pointwise_loss_target_grad_none_reduction,
   test_pointwise_loss_broadcast; test_l1_loss_correct; test_smoothl1loss_intergral_target,
   test_smoothl1loss_negative_beta_not_supported; test_huber_loss_invalid_delta.
2. TestNNDeviceType (run on the CPU, so `device` is dropped throughout): test_CTCLoss_empty_target, test_ctc_loss,
   test_ctc_loss_error; test_nll_loss_mismatched_batch, _out_of_bounds_ignore_index, _invalid_target_dim,
   _invalid_weights, _empty_tensor_reduction_none / _mean / _sum, _total_weight_is_zero, _all_ignored,
   _byte_target_matches_long; test_cross_entropy_loss_prob_target_all_reductions, _prob_target_unit_weights,
   _prob_target_no_batch_dim, _index_target_unit_weights, _one_hot_target; test_cross_entropy_label_smoothing_errors,
   _consistent_index_target_and_probs, _with_probs, _weight_ignore_indices; test_smoothl1loss_backward_zero_beta.
3. torch/testing/_internal/common_nn.py (commit 30e90f72de16fbda00895d2cd9906f2798ce1bd8): its reference loss
   functions (cosineembeddingloss_reference, marginrankingloss_reference, tripletmarginloss_reference,
   kldivloss_reference, cross_entropy_loss_prob_target_reference), rewritten in numpy below, and the no-reduce
   criterion tests BCELoss_no_reduce, BCELoss_weights_no_reduce, BCEWithLogitsLoss_no_reduce, KLDivLoss_no_reduce,
   KLDivLoss_with_log_target_no_reduce and PoissonNLLLoss_no_reduce (their reference_fn).
Every test was read in the index at the commit named; none was written from memory.

Throughout: `self.assertEqual` of tensors becomes numpy's `assert_allclose` against numpy written from the inputs'
values; where PyTorch compares two PyTorch calls (one-hot against index targets, unit weights against none, a
smoothed target against label_smoothing), each call is compared with the numpy reference instead; `gradcheck` is the
library's (central differences in float64); PyTorch's RuntimeError for a bad argument is this library's ValueError
naming the function (docs/pytorch.md), so only the type and the message's words change.

What broke (one gap, fixed in microgradseq/functional/margin_losses.py):
  G1. `cosine_embedding_loss` of integer embeddings raised TypeError; PyTorch's promotes them (its EPSILON makes the
      norms floating: the default dtype, or input2's floating dtype), and test_cosine_embedding_loss_with_diff_type
      loops over every integer dtype. Integer input1 is now read in input2's floating dtype, else the default.
Met and as documented: mismatched shapes of the pointwise losses are refused, not broadcast (docs/pytorch.md), so
test_pointwise_loss_broadcast checks that refusal; complex tensors are not here (test_l1_loss_correct runs float);
`.grad` is a numpy array. Documented this round (docs/pytorch.md): a loss module checks its arguments when made, so
`nn.HuberLoss(delta=0)` and `nn.CrossEntropyLoss(label_smoothing=1.2)` raise there, PyTorch's at the first call
(test_huber_loss_invalid_delta, test_cross_entropy_label_smoothing_errors).
"""

from itertools import product

import numpy as np
import pytest
from porting_references import arr, np_log_softmax, np_softmax

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.autograd import gradcheck


# ---- common_nn's reference loss functions, in numpy -------------------------------------------------------------

def _reduce(output, reduction):
    if reduction == 'mean':
        return output.mean()
    elif reduction == 'sum':
        return output.sum()
    return output


def cosineembeddingloss_reference(input1, input2, target, margin=0, reduction='mean'):
    def _cos(a, b):
        # differs: the row loop of `a.new(a.size(0))` as one numpy expression
        return (a * b).sum(-1) / (((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12)) ** 0.5

    output = np.where(target == 1, 1 - _cos(input1, input2), np.clip(_cos(input1, input2) - margin, 0, None))
    return _reduce(output, reduction)


def marginrankingloss_reference(input1, input2, target, margin=0, reduction='mean'):
    output = np.clip(-target * (input1 - input2) + margin, 0, None)
    return _reduce(output, reduction)


def _pairwise_distance(x1, x2, p=2, eps=1e-6):
    # differs: torch.pairwise_distance written out, ||x1 - x2 + eps||_p over the last axis
    return (np.abs(x1 - x2 + eps) ** p).sum(-1) ** (1 / p)


def tripletmarginloss_reference(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                                reduction='mean'):
    d_p = _pairwise_distance(anchor, positive, p, eps)
    d_n = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_s = _pairwise_distance(positive, negative, p, eps)
        d_n = np.minimum(d_n, d_s)
    output = np.clip(margin + d_p - d_n, 0.0, None)
    return _reduce(output, reduction)


def kldivloss_reference(input, target, reduction='mean', log_target=False):
    if log_target:
        result = np.exp(target) * (target - input)
    else:
        result = target * (np.log(target) - input)
    if reduction == 'batchmean' and result.ndim != 0:
        return result.sum() / result.shape[0]
    return _reduce(result, reduction)


def cross_entropy_loss_prob_target_reference(input, target, weight=None, reduction='mean', label_smoothing=0.0):
    assert input.ndim >= 2
    input = np_log_softmax(input, 1)
    C = input.shape[1]
    if weight is None:
        weight = np.ones(C)
    weight = np.reshape(weight, (1, C) + tuple(1 for _ in input.shape[2:]))
    if label_smoothing > 0.0:
        assert label_smoothing <= 1.0
        target = (target * (1 - label_smoothing) + label_smoothing / C)
    output = -(input * target * weight).sum(1)
    return _reduce(output, reduction)


def nll_index_reference(logp, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):
    """differs: not in common_nn (PyTorch compares against its own kernel): class-index cross-entropy on
    log-probabilities (N, C, d...), PyTorch's nll_loss, with its label smoothing (torch/nn/functional.py and
    LossNLL.cpp's cross_entropy: (1 - e) nll + e / C times -sum_c w_c logp_c, both divided by the weight of the
    kept targets for 'mean')."""
    C = logp.shape[1]
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    wt = np.where(keep, w[safe], 0.0)
    nll = -wt * picked
    smooth = np.where(keep, -(logp * w.reshape((1, C) + (1,) * (logp.ndim - 2))).sum(1), 0.0)
    if reduction == 'none':
        return (1 - label_smoothing) * nll + label_smoothing / C * smooth
    if reduction == 'sum':
        return (1 - label_smoothing) * nll.sum() + label_smoothing / C * smooth.sum()
    with np.errstate(invalid='ignore', divide='ignore'):
        return ((1 - label_smoothing) * nll.sum() + label_smoothing / C * smooth.sum()) / wt.sum()


# ---- TestNN: cosine_embedding_loss --------------------------------------------------------------------------------

def test_cosine_embedding_loss_with_diff_type():
    # differs: the loop over device_() dropped (CPU); get_all_math_dtypes(device) is the library's real dtypes
    # (no bfloat16 or complex here)
    math_dtypes = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16, torch.float32,
                   torch.float64]
    input1 = torch.tensor([[2, 3, 4], [6, 2, 4]], dtype=torch.double)
    input2 = torch.tensor([[2, 3, 5], [3, 2, 1]], dtype=torch.double)
    target = torch.tensor([1, -1], dtype=torch.int)
    # differs: expected from common_nn's reference in numpy, not from the function under test
    expected = cosineembeddingloss_reference(arr(input1), arr(input2), arr(target))
    for dt1 in math_dtypes:
        for dt2 in math_dtypes:
            for dt3 in math_dtypes:
                # dt3 is used as dtype for target = [1, -1], so let's skip unsigned type
                if dt3 == torch.uint8:
                    continue
                input1 = input1.to(dt1)
                input2 = input2.to(dt2)
                target = target.to(dt3)
                result = torch.nn.functional.cosine_embedding_loss(input1, input2, target)
                # differs: assertEqual(..., atol=0.001, rtol=0) as assert_allclose
                np.testing.assert_allclose(result.item(), expected, atol=0.001, rtol=0)


def test_cosine_embedding_loss_error_on_diff_shapes():
    input1 = torch.empty((0, 0), dtype=torch.double)
    input2 = torch.empty((0,), dtype=torch.double)
    target = torch.empty((0,), dtype=torch.int)
    # differs: ValueError "... a 1-d target expects 2-d inputs ..." for RuntimeError ".*expects 2D.*"
    with pytest.raises(ValueError, match=".*expects 2-d.*"):
        torch.nn.functional.cosine_embedding_loss(input1, input2, target)


def test_cosine_embedding_loss_error_on_nonexpandable_shapes():
    input1 = torch.empty((1, 5), dtype=torch.double)
    input2 = torch.empty((1, 6), dtype=torch.double)
    target = torch.ones((1,), dtype=torch.int)
    # differs: ValueError naming both shapes for RuntimeError ".*must match the size.*"
    with pytest.raises(ValueError, match=r"\(1, 5\).*\(1, 6\)"):
        torch.nn.functional.cosine_embedding_loss(input1, input2, target)


@pytest.mark.parametrize("margin", [None, 0.5], ids=["no_reduce", "margin_no_reduce"])
def test_cosine_embedding_loss_no_reduce(margin):
    # test_cosine_embedding_loss_no_reduce and test_cosine_embedding_loss_margin_no_reduce (margin=0.5)
    kwargs = {} if margin is None else {'margin': margin}     # differs: the two tests as one parametrized test
    input1 = torch.randn(15, 10, requires_grad=True, dtype=torch.double)
    input2 = torch.randn(15, 10, requires_grad=True, dtype=torch.double)
    target = torch.randn(15, dtype=torch.double).sign()
    assert gradcheck(lambda x, y, z: F.cosine_embedding_loss(
        x, y, z, reduction='none', **kwargs), (input1, input2, target))
    np.testing.assert_allclose(arr(F.cosine_embedding_loss(input1, input2, target, reduction='none', **kwargs)),
                               cosineembeddingloss_reference(arr(input1), arr(input2), arr(target),
                                                             reduction='none', **kwargs), rtol=1e-10)


def test_cosine_embedding_loss_invalid_shape():
    input1 = torch.randn(15, 10)
    input2 = torch.randn(15, 10)
    target = torch.randn(15, 1).sign()

    # differs: ValueError with the library's words for each of PyTorch's three RuntimeErrors
    with pytest.raises(ValueError, match="0-d or 1-d target"):          # "1D target tensor expected"
        F.cosine_embedding_loss(input1, input2, target)

    with pytest.raises(ValueError, match="1-d target expects 2-d inputs"):
        F.cosine_embedding_loss(torch.randn(10), torch.randn(10), torch.randn(10))

    with pytest.raises(ValueError, match="0-d target expects 1-d inputs"):
        F.cosine_embedding_loss(torch.randn(2, 5), torch.randn(2, 5), torch.randn(()))


# ---- TestNN: kl_div ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("log_target", [False, True], ids=["with_diff_type", "with_diff_type_log_target"])
def test_kl_div_with_diff_type(log_target):
    # test_kl_div_with_diff_type and test_kl_div_with_diff_type_log_target (target .log(), log_target=True)
    input = torch.tensor([[2, 3, 5], [3, 2, 1]], dtype=torch.double)
    target = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.double)
    if log_target:
        target = target.log()
    # differs: expected from common_nn's kldivloss_reference in numpy
    expected = kldivloss_reference(arr(input), arr(target), log_target=log_target)
    real_dtypes = (torch.float32, torch.float64, torch.float16)
    for input_dtype, target_dtype in product(real_dtypes, repeat=2):
        if target_dtype == torch.float16:    # differs: PyTorch skips it on the CPU (device 'cpu' here)
            continue
        input = input.to(input_dtype)
        target = target.to(target_dtype)
        result = torch.nn.functional.kl_div(input, target, log_target=log_target)
        np.testing.assert_allclose(result.item(), expected, atol=0.001, rtol=0)


def test_kl_div_log_softmax_target():
    a = torch.tensor([[1.0, 2, 3], [5.0, 5, 5]])
    b = torch.tensor([[1.0, 2, 3], [5.0, 5, 5]])
    np.testing.assert_allclose(
        arr(F.kl_div(F.log_softmax(a, 1), F.log_softmax(b, 1), reduction='none', log_target=True)),
        np.zeros((2, 3)), atol=0
    )


# ---- TestNN: margin_ranking_loss, triplet_margin_loss -----------------------------------------------------------

@pytest.mark.parametrize("margin", [None, 0.5], ids=["no_reduce", "margin_no_reduce"])
def test_margin_ranking_loss_no_reduce(margin):
    kwargs = {} if margin is None else {'margin': margin}     # differs: the two tests as one parametrized test
    input1 = torch.randn(15, dtype=torch.double).mul_(10).requires_grad_()
    input2 = torch.randn(15, dtype=torch.double).mul_(10).requires_grad_()
    target = torch.randn(15, dtype=torch.double).sign()
    assert gradcheck(lambda x, y, z: F.margin_ranking_loss(
        x, y, z, reduction='none', **kwargs), (input1, input2, target))
    np.testing.assert_allclose(arr(F.margin_ranking_loss(input1, input2, target, reduction='none', **kwargs)),
                               marginrankingloss_reference(arr(input1), arr(input2), arr(target),
                                                           reduction='none', **kwargs), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {'swap': True}, {'reduction': 'none'}, {'swap': True, 'reduction': 'none'}],
                         ids=["triplet_margin_loss", "swap", "no_reduce", "swap_no_reduce"])
def test_triplet_margin_loss(kwargs):
    # test_triplet_margin_loss, _swap, _no_reduce and _swap_no_reduce (differs: four tests as one parametrized)
    input1 = torch.randn(5, 10, requires_grad=True, dtype=torch.double)
    input2 = torch.randn(5, 10, requires_grad=True, dtype=torch.double)
    input3 = torch.randn(5, 10, requires_grad=True, dtype=torch.double)
    assert gradcheck(lambda x1, x2, x3: F.triplet_margin_loss(
        x1, x2, x3, **kwargs), (input1, input2, input3))
    np.testing.assert_allclose(arr(F.triplet_margin_loss(input1, input2, input3, **kwargs)),
                               tripletmarginloss_reference(arr(input1), arr(input2), arr(input3), **kwargs),
                               rtol=1e-10)


# ---- TestNN: pointwise losses ----------------------------------------------------------------------------------

def test_pointwise_loss_target_grad_none_reduction():
    i = torch.randn(5, 10)
    t = torch.randn(5, 10, requires_grad=True)
    assert F.mse_loss(i, t, reduction='none').size() == t.size()
    assert F.l1_loss(i, t, reduction='none').size() == t.size()


def test_pointwise_loss_broadcast():
    losses = {
        'mse_loss': lambda x, y, r: F.mse_loss(x, y, reduction=r),
        'l1_loss': lambda x, y, r: F.l1_loss(x, y, reduction=r),
        'smooth_l1_loss': lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r),
        'huber_loss': lambda x, y, r: F.huber_loss(x, y, reduction=r),
    }

    input = torch.randn(2, 1, requires_grad=True, dtype=torch.double)
    for name, fn in losses.items():
        for requires_grad in [True, False]:
            target = torch.randn(2, 10, requires_grad=requires_grad, dtype=torch.double)
            for reduction in ['none', 'mean', 'sum']:
                # differs: PyTorch broadcasts (2, 1) against (2, 10) with a warning; this library refuses
                # mismatched shapes, as docs/pytorch.md says, so the size and gradcheck become that refusal
                with pytest.raises(ValueError, match=name):
                    fn(input, target, reduction)
                # differs: what PyTorch's gradcheck covers, at matching shapes: the expanded input
                wide = input.detach().expand(2, 10).clone().requires_grad_()
                assert gradcheck(fn, (wide, target, reduction))


def test_l1_loss_correct():
    # https://github.com/pytorch/pytorch/issues/27692 reports that l1_loss get a wrong result for big batch size
    for dtype in [torch.float]:     # differs: torch.cfloat left out (no complex tensors here)
        for N in range(1, 50, 10):
            input = torch.rand(N, 3, 64, 64, dtype=dtype)     # differs: 64 x 64 for 1024 x 1024 (time)
            np.testing.assert_allclose(
                torch.nn.L1Loss()(input, torch.zeros_like(input)).item(),
                np.abs(arr(input)).mean(), rtol=1e-5)     # differs: numpy's mean for input.abs().mean()


def test_smoothl1loss_intergral_target():
    def _input_grad(input, target, reduction):
        output = F.smooth_l1_loss(input, target, reduction=reduction, beta=0.5)
        output.sum().backward()
        return input.grad

    integral_types = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
    for dtype, reduction in product(integral_types, ('none', 'sum', 'mean')):
        input = torch.randn(2, 2, requires_grad=True)
        target = torch.randint(0, 9, (2, 2), dtype=dtype)

        input_grad_with_float_target = _input_grad(input, target.float(), reduction)

        input_grad = _input_grad(input.detach().clone().requires_grad_(True),
                                 target,
                                 reduction)
        np.testing.assert_allclose(arr(input_grad), arr(input_grad_with_float_target), rtol=1e-6)
        # differs: both against the closed form, d/dx of smooth L1 (beta 0.5) = clip(d / 0.5, -1, 1)
        d = arr(input) - arr(target)
        scale = 1 / 4 if reduction == 'mean' else 1
        np.testing.assert_allclose(arr(input_grad), np.clip(d / 0.5, -1, 1) * scale, rtol=1e-5)


def test_smoothl1loss_negative_beta_not_supported():
    with pytest.raises(ValueError):     # differs: ValueError for RuntimeError
        F.smooth_l1_loss(torch.randn(2, 2), torch.randn(2, 2), beta=-1.0)


def test_huber_loss_invalid_delta():
    def _test_huber_loss_delta_error_helper(delta):
        input, target = torch.randn(2, 2), torch.randn(2, 2)
        # differs: ValueError for RuntimeError, raised when the module is made (PyTorch's at the call), as
        # docs/pytorch.md says; and F.huber_loss refuses it too
        with pytest.raises(ValueError, match="HuberLoss: delta must be a finite number > 0"):
            loss = torch.nn.HuberLoss(delta=delta)
            loss(input, target)
        with pytest.raises(ValueError, match="huber_loss: delta"):
            F.huber_loss(input, target, delta=delta)

    def test_huber_loss_negative_delta():
        _test_huber_loss_delta_error_helper(delta=-0.5)

    def test_huber_loss_zero_delta():
        _test_huber_loss_delta_error_helper(delta=0.0)

    test_huber_loss_negative_delta()
    test_huber_loss_zero_delta()


def test_smoothl1loss_backward_zero_beta():
    input = torch.randn(300, 256, requires_grad=True)
    target = input.detach()

    loss = F.smooth_l1_loss(input, target, beta=0.0, reduction='sum')
    loss.backward()

    grad_max_abs = np.abs(input.grad).max().item()     # differs: .grad is a numpy array (docs/pytorch.md)
    assert grad_max_abs <= 1.0
    # differs: and the gradient at d = 0 with beta 0 (l1_loss's sign(0)) is 0, PyTorch's
    np.testing.assert_array_equal(input.grad, np.zeros((300, 256)))


# ---- TestNNDeviceType: ctc_loss --------------------------------------------------------------------------------

def test_CTCLoss_empty_target():
    target_lengths = [0, 0, 0]
    input_lengths = [50, 50, 50]
    targets = torch.randint(1, 15, (0,), dtype=torch.long)
    log_probs = torch.randn(50, 3, 15, dtype=torch.double).log_softmax(2)
    loss = torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction='none')
    assert (loss >= 0).all().item()
    np.testing.assert_allclose(-arr(log_probs).sum(0)[:, 0], arr(loss), rtol=1e-12)

    target_lengths = [0, 9, 0]
    input_lengths = [50, 50, 50]
    targets = torch.randint(1, 15, (9,), dtype=torch.long)
    log_probs = torch.randn(50, 3, 15, dtype=torch.double).log_softmax(2)
    loss = torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction='none')
    assert (loss >= 0).all().item()
    np.testing.assert_allclose(-arr(log_probs).sum(0)[[0, 2], 0], arr(loss)[[0, 2]], rtol=1e-12)


def test_ctc_loss():
    # differs: sizes cut (batch 64, 101 labels, targets of 15 and inputs of 150 frames) so that the library's
    # ctc_loss, written with primitive ops, runs in seconds; the four cases and the tiling are PyTorch's
    batch_size = 4
    num_labels = 7
    target_length = 3
    gradcheck_input_size = 10

    ZERO_NONE = 0
    ZERO_SOME = 1
    ZERO_ALL = 2

    # input_length, vary_lengths, zero_lengths
    tests = [(12, False, ZERO_NONE),
             (12, True, ZERO_NONE),
             (8, True, ZERO_SOME),
             (8, True, ZERO_ALL)]

    for input_length, vary_lengths, zero_mode in tests:
        targets = torch.randint(1, num_labels, (batch_size, target_length), dtype=torch.long)
        x = torch.randn(gradcheck_input_size, dtype=torch.double, requires_grad=True)
        tile_factors = torch.randn(input_length * batch_size * num_labels // gradcheck_input_size + 1)
        input_lengths = [(torch.randint(input_length // 2, input_length + 1, ()).item()
                          if vary_lengths or i == 0 else input_length) for i in range(batch_size)]
        if zero_mode == ZERO_ALL:
            target_lengths = [0 for _ in range(batch_size)]
        else:
            target_lengths = [(torch.randint(target_length // 2, target_length + 1, ()).item()
                               if vary_lengths else target_length) for _ in range(batch_size)]
            if zero_mode == ZERO_SOME:
                idxes = torch.randint(0, batch_size, (2,))     # differs: 2 of 4 rows for 10 of 64
                for i in idxes:
                    target_lengths[int(i)] = 0     # differs: int(i) (a 0-d tensor is not a list index here)

        def ctc_after_softmax(x):
            x_full = ((x[:, None] * tile_factors[None, :]).view(-1)[:input_length * batch_size * num_labels]
                      .view(input_length, batch_size, num_labels))
            log_probs = torch.log_softmax(x_full, 2)
            return torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths)

        assert gradcheck(ctc_after_softmax, [x])     # differs: assert (the library's gradcheck returns True)


def test_ctc_loss_error():
    log_probs = torch.rand(0, 0, 4)
    targets = torch.tensor([], dtype=torch.long)
    input_lengths = torch.tensor([], dtype=torch.long)
    target_lengths = torch.tensor([], dtype=torch.long)
    # differs: ValueError "expected log_probs with at least one time step" for "log_probs tensor must not be empty"
    with pytest.raises(ValueError, match="log_probs with at least one time step"):
        F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction='none')


# ---- TestNNDeviceType: nll_loss --------------------------------------------------------------------------------

def test_nll_loss_mismatched_batch():
    x = torch.randn((10, 3), requires_grad=True)
    # t should have size (10,)
    t = torch.zeros((3,), dtype=torch.int64)
    # differs: the library's words for 'Expected.*batch_size'
    with pytest.raises(ValueError, match=r'expected.*\(10,\)'):
        F.nll_loss(x, t)


def test_nll_loss_out_of_bounds_ignore_index():
    x = torch.randn(6, 3, requires_grad=True)
    t = torch.tensor([0, 1, 255, 0, 1, 2], dtype=torch.int64)
    for reduction in ['mean', 'none']:
        F.nll_loss(x, t, ignore_index=255, reduction=reduction).sum().backward()
    # differs: what PyTorch only runs, checked: the ignored row's gradient is 0, the others' -1 (+ -1/5 for mean)
    g = np.zeros((6, 3))
    g[[0, 1, 3, 4, 5], [0, 1, 0, 1, 2]] = -(1 + 1 / 5)
    np.testing.assert_allclose(arr(x.grad), g, rtol=1e-6)


def test_nll_loss_invalid_target_dim():
    x = torch.randn((10, 3))
    t = torch.zeros((10, 2), dtype=torch.int64)
    # differs: ValueError naming the shapes for RuntimeError "1D target tensor expected"
    with pytest.raises(ValueError, match="targets of shape"):
        F.nll_loss(x, t)


def test_nll_loss_invalid_weights():
    x = torch.randn((10, 3))
    t = torch.empty(10, dtype=torch.int64).random_(0, 3)
    invalid_weights = [
        torch.randn(4),
        torch.randn(1, 3),
    ]
    # differs: ValueError and the library's words for RuntimeError
    # "weight tensor should be defined either for all 3 classes or no classes"
    msg = r"one weight per class, shape \(3,\)"
    for weight in invalid_weights:
        with pytest.raises(ValueError, match=msg):
            F.nll_loss(x, t, weight=weight)


def _nll_loss_helper(input_size, reduction, expected, dtype=torch.float):
    input = torch.rand(input_size, requires_grad=True, dtype=dtype)
    num_channels = input_size[1]
    target_size = (input_size[0], ) + tuple(input_size[2:])
    target = torch.randint(num_channels, target_size)

    output = F.nll_loss(input, target, reduction=reduction)
    np.testing.assert_array_equal(arr(output), arr(expected))     # differs: exact_dtype=False, NaN equal to NaN
    assert output.shape == expected.shape

    output.sum().backward()
    assert input.grad.shape == input.size()     # differs: .grad is a numpy array (docs/pytorch.md)


def test_nll_loss_empty_tensor_reduction_none():
    _nll_loss_helper([0, 3], "none", torch.empty([0]))
    _nll_loss_helper([0, 3, 5, 7], "none", torch.empty([0, 5, 7]))
    _nll_loss_helper([2, 3, 0, 7], "none", torch.empty([2, 0, 7]))
    _nll_loss_helper([2, 3, 5, 0], "none", torch.empty([2, 5, 0]))
    _nll_loss_helper([2, 3, 5, 7, 0], "none", torch.empty([2, 5, 7, 0]))


def test_nll_loss_empty_tensor_reduction_mean():
    nan = torch.tensor(float('nan'))
    _nll_loss_helper([0, 3], "mean", nan)
    _nll_loss_helper([0, 3, 5, 7], "mean", nan)
    _nll_loss_helper([2, 3, 0, 7], "mean", nan)
    _nll_loss_helper([2, 3, 5, 0], "mean", nan)
    _nll_loss_helper([2, 3, 5, 7, 0], "mean", nan)


def test_nll_loss_empty_tensor_reduction_sum():
    zero = torch.tensor(0)
    _nll_loss_helper([0, 3], "sum", zero)
    _nll_loss_helper([0, 3, 5, 7], "sum", zero)
    _nll_loss_helper([2, 3, 0, 7], "sum", zero)
    _nll_loss_helper([2, 3, 5, 0], "sum", zero)
    _nll_loss_helper([2, 3, 5, 7, 0], "sum", zero)


def test_nll_loss_total_weight_is_zero():

    def helper(input_size):
        input = torch.ones(input_size, requires_grad=True)
        num_channels = input_size[1]
        target_size = (input_size[0], ) + tuple(input_size[2:])
        target = torch.zeros(target_size, dtype=torch.long)
        weight = torch.zeros([num_channels])
        assert F.nll_loss(input, target, weight, reduction="sum").item() == 0.
        assert np.isnan(F.nll_loss(input, target, weight, reduction="mean").item())     # differs: NaN by isnan
        np.testing.assert_array_equal(arr(F.nll_loss(input, target, weight, reduction="none")),
                                      np.zeros(target.shape))

    helper([2, 3])
    helper([2, 3, 5, 7])
    helper([2, 3, 5, 7, 9])


def test_nll_loss_all_ignored():

    def helper(input_size):
        input = torch.ones(input_size)
        num_channels = input_size[1]
        target_size = (input_size[0], ) + tuple(input_size[2:])
        target = torch.zeros(target_size, dtype=torch.long)
        assert F.nll_loss(input, target, ignore_index=0, reduction="sum").item() == 0
        assert np.isnan(F.nll_loss(input, target, ignore_index=0, reduction="mean").item())     # differs: isnan
        np.testing.assert_array_equal(arr(F.nll_loss(input, target, ignore_index=0, reduction="none")),
                                      np.zeros(target.shape))

    helper([2, 3])
    helper([2, 3, 5, 7])
    helper([2, 3, 5, 7, 9])


def test_nll_loss_byte_target_matches_long():
    N, C = 10, 4
    input = torch.randn(N, C, requires_grad=True)
    target = torch.empty(N, dtype=torch.long).random_(0, C)

    def compute_result_and_gradient(reduction, target_dtype):
        input_ = input.detach()
        input_.requires_grad_()

        prob = F.log_softmax(input_, dim=-1)
        loss = nn.NLLLoss(reduction=reduction)
        result = loss(prob, target.to(target_dtype))
        result.sum().backward()

        return result, input_.grad

    x, t = arr(input), arr(target).astype(np.int64)
    for reduction in ["none", "mean", "sum"]:
        result_long, grad_long = compute_result_and_gradient(reduction, torch.long)
        result_byte, grad_byte = compute_result_and_gradient(reduction, torch.uint8)
        # differs: each against numpy (the loss, and its gradient softmax - onehot, scaled) besides each other
        expected = nll_index_reference(np_log_softmax(x, 1), t, reduction=reduction)
        grad = (np_softmax(x, 1) - np.eye(C)[t]) / (N if reduction == "mean" else 1)
        for result, g in ((result_long, grad_long), (result_byte, grad_byte)):
            np.testing.assert_allclose(arr(result), expected, rtol=1e-5)
            np.testing.assert_allclose(arr(g), grad, rtol=1e-4, atol=1e-7)


# ---- TestNNDeviceType: cross_entropy ---------------------------------------------------------------------------

def test_cross_entropy_loss_prob_target_all_reductions():
    # Test with k-dimensional loss.
    for k in range(5):
        N, C = 5, 4
        other_dims = [torch.randint(2, 5, size=(1,)).item() for _ in range(k)]
        input = torch.randn(N, C, *other_dims, requires_grad=True)
        target = torch.randn(N, C, *other_dims, requires_grad=True)
        weight = torch.randn(C).abs()

        for reduction, w in product(['none', 'mean', 'sum'], [None, weight]):
            m = torch.nn.CrossEntropyLoss(weight=w, reduction=reduction)
            output = m(input, target)
            output_ref = cross_entropy_loss_prob_target_reference(
                arr(input), arr(target), reduction=reduction, weight=None if w is None else arr(w))
            np.testing.assert_allclose(arr(output), output_ref, rtol=1e-4, atol=1e-5)


def test_cross_entropy_loss_prob_target_unit_weights():
    # Test with k-dimensional loss.
    for k in range(5):
        N, C = 5, 4
        other_dims = [torch.randint(2, 5, size=(1,)).item() for _ in range(k)]
        input = torch.randn(N, C, *other_dims, requires_grad=True)
        target = torch.randn(N, C, *other_dims, requires_grad=True)

        for reduction in ['none', 'mean', 'sum']:
            # Ensure result with unit weights is equivalent to result without weights.
            m = torch.nn.CrossEntropyLoss(reduction=reduction)
            unit_weight = torch.ones(C, dtype=target.dtype)
            m_unit = torch.nn.CrossEntropyLoss(weight=unit_weight, reduction=reduction)
            output = m(input, target)
            output_unit = m_unit(input, target)
            np.testing.assert_allclose(arr(output), arr(output_unit), rtol=1e-6)
            # differs: and both against common_nn's reference
            np.testing.assert_allclose(arr(output), cross_entropy_loss_prob_target_reference(
                arr(input), arr(target), reduction=reduction), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
@pytest.mark.parametrize('weighted', [False, True])
def test_cross_entropy_loss_prob_target_no_batch_dim(reduction, weighted):
    C = 5
    input = torch.randn(C).log_softmax(dim=-1)
    target = torch.randn(C).softmax(dim=-1)
    weight = torch.randn(C) if weighted else None
    m = nn.CrossEntropyLoss(reduction=reduction, weight=weight)
    loss_no_batch = m(input, target)
    loss_batch = m(input.unsqueeze(0), target.unsqueeze(0))
    if reduction == 'none':
        loss_batch = loss_batch.squeeze(0)
    np.testing.assert_allclose(arr(loss_no_batch), arr(loss_batch), rtol=1e-6)
    # differs: and against common_nn's reference on the batch of one
    ref = cross_entropy_loss_prob_target_reference(arr(input)[None], arr(target)[None], reduction=reduction,
                                                   weight=None if weight is None else arr(weight))
    np.testing.assert_allclose(arr(loss_no_batch), np.squeeze(ref), rtol=1e-5, atol=1e-6)


def test_cross_entropy_loss_index_target_unit_weights():
    # Test with k-dimensional loss.
    for k in range(5):
        N, C = 5, 4
        other_dims = [torch.randint(2, 5, size=(1,)).item() for _ in range(k)]
        input = torch.randn(N, C, *other_dims, requires_grad=True)
        target = torch.empty(N, *other_dims, dtype=torch.long).random_(0, C)

        for reduction in ['none', 'mean', 'sum']:
            # Ensure result with unit weights is equivalent to result without weights.
            m = torch.nn.CrossEntropyLoss(reduction=reduction)
            unit_weight = torch.ones(C, dtype=input.dtype)
            m_unit = torch.nn.CrossEntropyLoss(weight=unit_weight, reduction=reduction)
            output = m(input, target)
            output_unit = m_unit(input, target)
            np.testing.assert_allclose(arr(output), arr(output_unit), rtol=1e-6)
            # differs: and against numpy's nll of log_softmax
            expected = nll_index_reference(np_log_softmax(arr(input), 1), arr(target).astype(np.int64),
                                           reduction=reduction)
            np.testing.assert_allclose(arr(output), expected, rtol=1e-4, atol=1e-6)


def test_cross_entropy_loss_one_hot_target():
    # Test with k-dimensional loss.
    for k in range(5):
        N, C = 5, 4
        other_dims = [torch.randint(2, 5, size=(1,)).item() for _ in range(k)]
        input = torch.randn(N, C, *other_dims, requires_grad=True)
        target = torch.empty(N, *other_dims, dtype=torch.long).random_(0, C)
        weight = torch.randn(C).abs()

        # Get one-hot representation of the target.
        target_one_hot = F.one_hot(target, num_classes=C).to(input.dtype)
        # Need to put the C dim at index 1.
        target_one_hot = target_one_hot.permute(0, -1, *range(1, target_one_hot.dim() - 1))

        for reduction, w in product(['none', 'mean', 'sum'], [None, weight]):
            # Skip this case for now because soft and hard label CE are not consistent
            # in the way they apply class weights (see issue #61309).
            if reduction == 'mean' and weight is not None:
                continue

            # Ensure loss computed with class indices matches loss
            # computed with one-hot class probs.
            m = torch.nn.CrossEntropyLoss(weight=w, reduction=reduction)
            output = m(input, target)
            output_one_hot = m(input, target_one_hot)
            # differs: each against numpy, the index form by nll of log_softmax, the one-hot by common_nn's
            wn = None if w is None else arr(w)
            expected = nll_index_reference(np_log_softmax(arr(input), 1), arr(target).astype(np.int64), weight=wn,
                                           reduction=reduction)
            np.testing.assert_allclose(arr(output), expected, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(arr(output_one_hot), cross_entropy_loss_prob_target_reference(
                arr(input), arr(target_one_hot), weight=wn, reduction=reduction), rtol=1e-4, atol=1e-6)


def test_cross_entropy_label_smoothing_errors():
    N, C = 3, 4
    input_args = [
        (torch.randn((N, C)), torch.arange(0, C)),
        (torch.randn((N, C)), torch.randn(N, C))
    ]
    for input_arg in input_args:
        # differs: ValueError "label_smoothing must be a probability in [0, 1]" for RuntimeError
        # "label_smoothing must be between 0.0", raised when the module is made (PyTorch's at the call), as
        # docs/pytorch.md says; F.cross_entropy refuses it too
        with pytest.raises(ValueError, match=r"label_smoothing must be a probability in \[0, 1\]"):
            loss = nn.CrossEntropyLoss(label_smoothing=1.2)
            loss(*input_arg)
        with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be a probability"):
            F.cross_entropy(*input_arg, label_smoothing=1.2)


@pytest.mark.usefixtures("float64_default")     # differs: @set_default_dtype(torch.double) as the fixture
def test_cross_entropy_label_smoothing_consistent_index_target_and_probs():
    N, C = 10, 4
    ks = range(5)
    reductions = ['none', 'mean', 'sum']
    label_smoothings = [0.05, 0.15]

    for k, reduction, label_smoothing in product(ks, reductions, label_smoothings):
        other_dims = [torch.randint(2, 5, size=(1,)).item() for _ in range(k)]
        input = torch.randn(N, C, *other_dims, requires_grad=True)
        target = torch.empty(N, *other_dims, dtype=torch.long).random_(0, C)

        # construct target probability that should have the same result as label_smoothing
        target_proba = F.one_hot(target, num_classes=C)
        # Need to put the C dim at index 1.
        target_proba = target_proba.permute(0, -1, *range(1, target_proba.dim() - 1))
        target_mask = (target_proba == 1)
        target_proba = target_proba.to(dtype=input.dtype)

        # y_k^ls = y_k * (1 - label_smoothing) + label_smoothing / n_classes
        # Get one-hot representation of the target.
        target_proba.masked_fill_(target_mask, 1 - label_smoothing + label_smoothing / C)
        target_proba.masked_fill_(~target_mask, label_smoothing / C)

        loss = nn.CrossEntropyLoss(reduction=reduction)
        output_with_prob = loss(input, target_proba)

        loss = nn.CrossEntropyLoss(
            reduction=reduction, label_smoothing=label_smoothing)
        output_with_index = loss(input, target)

        np.testing.assert_allclose(arr(output_with_prob), arr(output_with_index), rtol=1e-07, atol=1e-05)
        # differs: and the index form against numpy's smoothed nll
        expected = nll_index_reference(np_log_softmax(arr(input), 1), arr(target).astype(np.int64),
                                       reduction=reduction, label_smoothing=label_smoothing)
        np.testing.assert_allclose(arr(output_with_index), expected, rtol=1e-10, atol=1e-12)


def test_cross_entropy_label_smoothing_with_probs():
    N, C = 10, 4
    ks = range(5)
    reductions = ['none', 'mean', 'sum']
    label_smoothings = [0.05, 0.15]

    # Test with k-dimensional loss.
    for k, label_smoothing in product(ks, label_smoothings):
        other_dims = [torch.randint(2, 5, size=(1,)).item() for _ in range(k)]
        input = torch.randn(N, C, *other_dims, requires_grad=True)
        target = F.log_softmax(torch.randn(N, C, *other_dims), dim=1)

        for reduction in reductions:
            # use with label_smoothing
            loss = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=label_smoothing)
            output_with_smoothing = loss(input, target)

            # manually smoothing target
            # class_proba^ls = class_proba * (1 - label_smoothing) +
            #                  label_smoothing / n_classes
            target_with_smoothing = target * (1 - label_smoothing) + label_smoothing / C
            loss = nn.CrossEntropyLoss(reduction=reduction)
            output_with_manual_smoothing = loss(input, target_with_smoothing)

            np.testing.assert_allclose(arr(output_with_smoothing), arr(output_with_manual_smoothing),
                                       rtol=1e-5, atol=1e-5)
            # differs: and against common_nn's reference with its label_smoothing
            np.testing.assert_allclose(arr(output_with_smoothing), cross_entropy_loss_prob_target_reference(
                arr(input), arr(target), reduction=reduction, label_smoothing=label_smoothing), rtol=1e-4, atol=1e-5)


def test_cross_entropy_label_smoothing_weight_ignore_indices():
    reductions = ['none', 'sum', 'mean']
    label_smoothings = [0.05, 0.15]

    wgt = torch.tensor([0.3, 0.6])
    inp1 = torch.tensor([[0.3, 0.4], [1, 2]])
    inp2 = torch.tensor([[0.3, 0.6], [1, 2]])

    targ_default_ignore_index = torch.tensor([-100, 1])
    targ_negative_ignore_index = torch.tensor([-2, 1])
    targ_positive_ignore_index = torch.tensor([2, 1])

    for reduction, label_smoothing, weight in product(reductions, label_smoothings, (None, wgt)):
        def check_equal(loss, inp_targ_1, inp_targ_2, ignore_index):
            inp1, targ1 = inp_targ_1
            inp2, targ2 = inp_targ_2
            l1 = loss(inp1, targ1)
            l2 = loss(inp2, targ2)
            np.testing.assert_allclose(arr(l1), arr(l2), rtol=1e-6)
            # differs: and l2 against numpy's smoothed, weighted nll with the ignored row left out
            expected = nll_index_reference(np_log_softmax(arr(inp2), 1), arr(targ2).astype(np.int64),
                                           weight=None if weight is None else arr(weight), ignore_index=ignore_index,
                                           reduction=reduction, label_smoothing=label_smoothing)
            np.testing.assert_allclose(arr(l2), expected, rtol=1e-5)

        # differs: check_equal takes the ignore_index too (for the numpy reference)
        # Default ignore_index
        loss = nn.CrossEntropyLoss(reduction=reduction,
                                   label_smoothing=label_smoothing,
                                   weight=weight)
        check_equal(loss, (inp1, targ_default_ignore_index), (inp2, targ_default_ignore_index), -100)
        if reduction != 'none':
            # Check that we correctly tally the denominator for `mean`
            # i.e. we don't count the ignored_idx at all.
            check_equal(loss, (inp1, targ_default_ignore_index), (inp2[1:], targ_default_ignore_index[1:]), -100)

        # negative ignore_index
        loss = nn.CrossEntropyLoss(reduction=reduction,
                                   label_smoothing=label_smoothing,
                                   ignore_index=-2,
                                   weight=weight)
        check_equal(loss, (inp1, targ_negative_ignore_index), (inp2, targ_negative_ignore_index), -2)
        if reduction != 'none':
            check_equal(loss, (inp1, targ_negative_ignore_index), (inp2[1:], targ_negative_ignore_index[1:]), -2)

        # positive ignore_index
        loss = nn.CrossEntropyLoss(reduction=reduction,
                                   label_smoothing=label_smoothing,
                                   ignore_index=2,
                                   weight=weight)
        check_equal(loss, (inp1, targ_positive_ignore_index), (inp2, targ_positive_ignore_index), 2)
        if reduction != 'none':
            check_equal(loss, (inp1, targ_positive_ignore_index), (inp2[1:], targ_positive_ignore_index[1:]), 2)


# ---- common_nn.py: the no-reduce criterion tests (constructor, input_fn, reference_fn) -----------------------------

def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _no_reduce_cases():
    # differs: each dict's constructor and reference_fn as a pair of callables on the input, in float64;
    # `t` and `weights` drawn as common_nn draws them (torch.randn(15, 10).gt(0), torch.rand(10))
    t_bce = torch.randn(15, 10).gt(0).to(torch.double)
    weights = torch.rand(10, dtype=torch.double)
    t_kl = torch.rand(10, 10, dtype=torch.double)
    t_kl_log = torch.rand(10, 10, dtype=torch.double).log()
    t_pois = torch.randn(10, 10, dtype=torch.double)
    tb, w, tk, tkl, tp = arr(t_bce), arr(weights), arr(t_kl), arr(t_kl_log), arr(t_pois)
    return {
        'BCELoss_no_reduce': (
            lambda i: F.binary_cross_entropy(i, t_bce.type_as(i), reduction='none'),
            lambda: torch.rand(15, 10, dtype=torch.double).clamp_(2.8e-2, 1 - 2.8e-2),
            lambda i: -(tb * np.log(i) + (1 - tb) * np.log(1 - i))),
        'BCELoss_weights_no_reduce': (
            lambda i: F.binary_cross_entropy(i, t_bce.type_as(i), weight=weights.type_as(i), reduction='none'),
            lambda: torch.rand(15, 10, dtype=torch.double).clamp_(2.8e-2, 1 - 2.8e-2),
            lambda i: -(tb * np.log(i) + (1 - tb) * np.log(1 - i)) * w),
        'BCEWithLogitsLoss_no_reduce': (
            lambda i: F.binary_cross_entropy_with_logits(i, t_bce.type_as(i), reduction='none'),
            lambda: torch.rand(15, 10, dtype=torch.double).clamp_(2.8e-2, 1 - 2.8e-2),
            lambda i: -(tb * np.log(_sigmoid(i)) + (1 - tb) * np.log(1 - _sigmoid(i)))),
        'KLDivLoss_no_reduce': (
            lambda i: F.kl_div(i, t_kl.type_as(i), reduction='none'),
            lambda: torch.rand(10, 10, dtype=torch.double).log(),
            lambda i: kldivloss_reference(i, tk, reduction='none')),
        'KLDivLoss_with_log_target_no_reduce': (
            lambda i: F.kl_div(i, t_kl_log.type_as(i), reduction='none', log_target=True),
            lambda: torch.rand(10, 10, dtype=torch.double).log(),
            lambda i: kldivloss_reference(i, tkl, reduction='none', log_target=True)),
        'PoissonNLLLoss_no_reduce': (
            lambda i: F.poisson_nll_loss(i, t_pois.type_as(i), reduction='none'),
            lambda: torch.rand(10, 10, dtype=torch.double),
            lambda i: np.exp(i) - tp * i),
    }


@pytest.mark.parametrize("name", ['BCELoss_no_reduce', 'BCELoss_weights_no_reduce', 'BCEWithLogitsLoss_no_reduce',
                                  'KLDivLoss_no_reduce', 'KLDivLoss_with_log_target_no_reduce',
                                  'PoissonNLLLoss_no_reduce'])
def test_no_reduce_criterion_against_reference_fn(name):
    # differs: NewModuleTest's forward check (output against reference_fn) and its jacobian check (gradcheck)
    constructor, input_fn, reference_fn = _no_reduce_cases()[name]
    i = input_fn().requires_grad_()
    np.testing.assert_allclose(arr(constructor(i)), reference_fn(arr(i)), rtol=1e-10, atol=1e-12)
    assert gradcheck(constructor, (i,))
