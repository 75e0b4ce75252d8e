"""Tests written from a mutation check of the loss code (functional/losses.py, functional/classification.py,
ops/losses.py, nn/losses.py): each pins a behaviour that a hand-made wrong implementation changed
without any other test noticing. Expected values are written in numpy from PyTorch's documented
definitions, never taken from the library's own output."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def np_log_softmax(z, axis):
    """log softmax along `axis`, shifted by the max."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_nll_nd(log_probs, target, weight=None, ignore_index=-100):
    """PyTorch's nll_loss for (N, C, d1, ..., dk) log-probabilities and (N, d1, ..., dk) targets,
    element by element: l = -w[t] log_probs[n, t, d...] (0 where t == ignore_index); returns the
    per-element losses and the per-element weights w[t] (0 where ignored)."""
    C = log_probs.shape[1]
    w = np.ones(C) if weight is None else weight
    losses, weights = np.zeros(target.shape), np.zeros(target.shape)
    for index in np.ndindex(*target.shape):
        t = int(target[index])
        if t == ignore_index:
            continue
        n, rest = index[0], index[1:]
        losses[index] = -w[t] * log_probs[(n, t) + rest]
        weights[index] = w[t]
    return losses, weights


# ---- the (N, C, d1, d2) layout: classes on axis 1, every spatial axis kept in order ----------------

@pytest.mark.parametrize("spatial", [(3, 4), (3, 3)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_and_nll_loss_on_4d_inputs_keep_the_spatial_axes_in_order(spatial, reduction):
    """Pins PyTorch's (N, C, d1, d2) layout for class targets (N, d1, d2): the loss at [n, i, j] is
    -w[t] log softmax(x[n, :, i, j])[t] with t = target[n, i, j], and "mean" is
    sum(w_t l) / sum(w_t) over the non-ignored entries. Catches the spatial axes being moved in
    another order (d2, d1) -- with d1 = d2 it gives wrong values instead of a shape error. Also
    checks the gradient of the summed loss, (softmax - onehot) * w_t per entry, in float64."""
    rng = np.random.default_rng(11)
    N, C = 2, 5
    x = rng.normal(0, 2, (N, C) + spatial)
    target = rng.integers(0, C, (N,) + spatial)
    target[0, 1, 2] = -100                                 # one ignored entry
    weight = rng.uniform(0.5, 2.0, C)
    log_probs = np_log_softmax(x, axis=1)
    losses, weights = np_nll_nd(log_probs, target, weight)
    expected = {"none": losses, "sum": losses.sum(), "mean": losses.sum() / weights.sum()}[reduction]

    for loss_fn, inputs in ((F.cross_entropy, x), (F.nll_loss, log_probs)):
        tensor = mg.tensor(inputs.copy(), requires_grad=True)
        out = loss_fn(tensor, target, weight, reduction=reduction)
        assert out.shape == np.shape(expected) and out.dtype == np.float64
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)

    # without weights and ignore_index: the one-op fast path of cross_entropy
    plain = target.copy()
    plain[0, 1, 2] = 1
    losses, _ = np_nll_nd(log_probs, plain)
    expected = {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]
    tensor = mg.tensor(x.copy(), requires_grad=True)
    out = F.cross_entropy(tensor, plain, reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    out.sum().backward()
    softmax = np.exp(log_probs)
    onehot = np.moveaxis(np.eye(C)[plain], -1, 1)          # (N, d1, d2, C) -> (N, C, d1, d2)
    scale = 1.0 / plain.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(tensor.grad, (softmax - onehot) * scale, rtol=1e-10, atol=1e-14)


# ---- argument checks of the class losses ---------------------------------------------------------

@pytest.mark.parametrize("loss_fn", [F.cross_entropy, F.nll_loss])
def test_a_negative_class_target_that_is_not_ignore_index_raises(loss_fn):
    """Pins PyTorch's range check of class targets at the low end: a target of -1 (with the default
    ignore_index=-100) is out of range [0, C) and raises (PyTorch: "Target -1 is out of bounds"),
    instead of indexing the last class from the end."""
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        loss_fn(logits, np.array([0, -1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        loss_fn(logits, np.array([0, -1, 2]), reduction="none")
    # -1 is fine once it is the ignore_index: it adds nothing, and the mean is over the two others
    x = np.log(np.full((3, 4), 0.25))
    np.testing.assert_allclose(F.nll_loss(x, np.array([0, -1, 2]), ignore_index=-1).data, np.log(4.0), rtol=1e-14)


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("ignore_index", [1.5, "1", None])
def test_an_ignore_index_that_is_not_an_integer_raises_type_error(loss_fn, ignore_index):
    """Pins that ignore_index must be an integer (PyTorch's signature: `ignore_index: int`), in the
    functional losses as in the modules: a float, a string or None raises TypeError naming it."""
    with pytest.raises(TypeError, match="ignore_index"):
        loss_fn(np.zeros((2, 3)), np.array([0, 1]), ignore_index=ignore_index)


@pytest.mark.parametrize("target_shape", [(8,), (4, 2), (2, 1, 4)])
def test_nll_loss_rejects_targets_of_the_same_size_but_another_shape(target_shape):
    """Pins nll_loss's shape check: log-probabilities (N, C, d) = (2, 3, 4) need targets of shape
    (N, d) = (2, 4) exactly, as in PyTorch; targets with as many entries in another shape raise
    ValueError instead of being read in some order."""
    log_probs = np_log_softmax(np.random.default_rng(0).normal(size=(2, 3, 4)), axis=1)
    with pytest.raises(ValueError, match="nll_loss"):
        F.nll_loss(log_probs, np.zeros(target_shape, dtype=np.int64))


# ---- binary cross-entropy ---------------------------------------------------------------------------

def test_binary_cross_entropy_rejects_nan_probabilities():
    """Pins the input check of F.binary_cross_entropy: PyTorch requires every input element to
    satisfy 0 <= x <= 1 ("all elements of input should be between 0 and 1"), which NaN does not,
    so a NaN input raises (ValueError here) rather than giving a NaN loss."""
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        F.binary_cross_entropy(np.array([0.2, np.nan, 0.7]), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        nn.BCELoss()(mg.tensor([np.nan]), mg.tensor([1.0]))


def test_binary_cross_entropy_of_a_tiny_probability_keeps_its_relative_precision():
    """Pins -(1 - y) log(1 - x) = x + x^2/2 + ... for tiny x (y = 0), in float64: with x = 1e-18 the
    loss is 1e-18 to 1e-18 relative, and with x = 1e-10 it is 1e-10 + 5e-21. A log(1 - x) computed
    as written rounds 1 - x to 1 and gives 0 (or a wrong 1e-10 + 8e-17) instead of log1p(-x)."""
    x = np.array([1e-18, 1e-10, 3e-9])
    y = np.zeros(3)
    expected = x + x * x / 2 + x ** 3 / 3                   # -log(1 - x), its series
    out = F.binary_cross_entropy(mg.tensor(x), mg.tensor(y), reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-14, atol=0)


# ---- the loss modules pass their options on --------------------------------------------------------

def test_mse_loss_module_applies_its_reduction():
    """Pins nn.MSELoss(reduction=...): "sum" is sum(d^2), "none" each d^2, "mean" their mean,
    d = input - target (PyTorch's MSELoss)."""
    x, y = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]]), np.array([[0.0, 1.0, 0.5], [1.0, 2.0, 1.0]])
    d2 = (x - y) ** 2
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(mg.tensor(x), mg.tensor(y)).data, d2.sum(), rtol=1e-15)
    out = nn.MSELoss(reduction="none")(mg.tensor(x), mg.tensor(y))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.data, d2, rtol=1e-15)
    np.testing.assert_allclose(nn.MSELoss()(mg.tensor(x), mg.tensor(y)).data, d2.mean(), rtol=1e-15)


def test_l1_loss_module_applies_its_reduction():
    """Pins nn.L1Loss(reduction=...): "sum" is sum|d|, "none" each |d| (PyTorch's L1Loss)."""
    x, y = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 1.5])
    np.testing.assert_allclose(nn.L1Loss(reduction="sum")(mg.tensor(x), mg.tensor(y)).data, 5.0, rtol=1e-15)
    np.testing.assert_allclose(nn.L1Loss(reduction="none")(mg.tensor(x), mg.tensor(y)).data, [1.0, 3.0, 1.0])


@pytest.mark.parametrize("reduction", ["sum", "batchmean", "none"])
def test_kl_div_loss_module_passes_log_target_on(reduction):
    """Pins nn.KLDivLoss(log_target=True): the target t is log p, and each term is e^t (t - input)
    (PyTorch's KLDivLoss), not t (log t - input); the gradient in the input is -e^t (reduced)."""
    rng = np.random.default_rng(5)
    q = np_log_softmax(rng.normal(size=(3, 4)), axis=1)
    t = np_log_softmax(rng.normal(size=(3, 4)), axis=1)
    terms = np.exp(t) * (t - q)
    expected = {"sum": terms.sum(), "batchmean": terms.sum() / 3, "none": terms}[reduction]
    tensor = mg.tensor(q.copy(), requires_grad=True)
    out = nn.KLDivLoss(reduction=reduction, log_target=True)(tensor, mg.tensor(t))
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(tensor.grad, -np.exp(t) / (3 if reduction == "batchmean" else 1), rtol=1e-13)


def test_kl_div_mean_reduction_warns_as_pytorch_does():
    """Pins PyTorch's UserWarning for F.kl_div(reduction="mean") (and nn.KLDivLoss's default): it
    divides by every entry, not by the batch, so it is not the divergence; "batchmean" is. The value
    is still sum / numel."""
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    q = np.log(np.array([[0.5, 0.5], [0.1, 0.9]]))
    terms = p * (np.log(p) - q)
    with pytest.warns(UserWarning, match="batchmean"):
        out = F.kl_div(mg.tensor(q), mg.tensor(p), reduction="mean")
    np.testing.assert_allclose(out.data, terms.mean(), rtol=1e-14)
    with pytest.warns(UserWarning, match="batchmean"):
        nn.KLDivLoss()(mg.tensor(q), mg.tensor(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(mg.tensor(q), mg.tensor(p), reduction="batchmean")
