"""Review round 17, the losses: each test failed before its fix. References are numpy formulas
written out here (PyTorch's), never the library's own output."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def np_log_softmax(a):
    shifted = a - a.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_takes_uint64_class_targets_with_mean_and_sum(reduction):
    """uint64 class targets (other integer dtypes worked) made the one-op path's flat indices
    int64 + uint64 = float64, and mean/sum raised numpy's "arrays used as indices must be of
    integer (or boolean) type" (reduction="none" and nll_loss worked)."""
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((5, 4)), np.array([0, 3, 1, 2, 3])
    per_row = -np_log_softmax(z)[np.arange(5), y]
    expected = per_row.mean() if reduction == "mean" else per_row.sum()
    logits = mg.tensor(z, requires_grad=True)
    loss = F.cross_entropy(logits, y.astype(np.uint64), reduction=reduction)
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    softmax = np.exp(np_log_softmax(z))
    softmax[np.arange(5), y] -= 1
    np.testing.assert_allclose(logits.grad, softmax / (5 if reduction == "mean" else 1), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("loss_fn", [
    lambda: F.cross_entropy(mg.tensor(np.zeros((0, 3))), np.zeros(0, dtype=np.int64)),
    lambda: F.cross_entropy(mg.tensor(np.zeros((2, 3, 0))), np.zeros((2, 0), dtype=np.int64)),
    lambda: F.nll_loss(mg.tensor(np.zeros((0, 3))), np.zeros(0, dtype=np.int64)),
    lambda: F.mse_loss(mg.tensor(np.zeros(0)), np.zeros(0)),
    lambda: F.binary_cross_entropy_with_logits(mg.tensor(np.zeros(0)), np.zeros(0)),
    lambda: F.kl_div(mg.tensor(np.zeros((0, 3))), np.zeros((0, 3)), reduction="batchmean"),
], ids=["cross_entropy", "cross_entropy_kdim", "nll_loss", "mse_loss", "bce_with_logits", "kl_div_batchmean"])
def test_the_mean_loss_of_an_empty_batch_is_nan_without_numpy_warnings(loss_fn):
    """PyTorch's mean over an empty batch is NaN, silently; here numpy warned ("invalid value
    encountered in scalar divide", "Mean of empty slice"), an error under np.errstate(all="raise")
    or -W error, unlike the all-targets-ignored mean, which was already NaN without a warning."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss = loss_fn()
    assert loss.shape == () and np.isnan(loss.item())


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_a_reduction_given_where_pytorch_puts_class_weights_is_the_reduction(loss):
    """The third argument is PyTorch's class `weight=` (tests/test_class_weights.py); a reduction string
    there, this library's own order (`cross_entropy(logits, target, "sum")`), is the reduction: -log q
    at the targets, summed (q = 1/3 for zero scores). Given twice, it raises naming the loss."""
    scores, targets = mg.tensor(np.zeros((2, 3))), np.array([0, 2])
    np.testing.assert_allclose(loss(scores, targets, "sum").item(), 2 * np.log(3) if loss is F.cross_entropy
                               else 0.0, rtol=1e-14)
    with pytest.raises(TypeError, match=rf"^{loss.__name__}: a reduction given twice, 'sum' in weight's place "
                                        r"and reduction='none'"):
        loss(scores, targets, "sum", reduction="none")


def test_kl_div_with_a_reduction_that_is_not_a_string_names_the_loss():
    """kl_div(input, target, reduction=array) raised numpy's ambiguous-truth-value error."""
    with pytest.raises(TypeError, match=r"^kl_div: reduction must be one of .*'batchmean'\), got ndarray"):
        F.kl_div(mg.tensor(np.zeros((2, 3))), np.zeros((2, 3)), reduction=np.ones(2))
