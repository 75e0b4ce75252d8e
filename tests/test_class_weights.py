"""Class weights and label smoothing in cross_entropy and nll_loss, as PyTorch defines them, against a
numpy closed form written here: per row -w[t] log q[t] (nothing for an ignored target), with
smoothing e mixed in as (1 - e) that + e / C (-sum_c w_c log q_c); "mean" divides by the weight of
the kept rows' classes. Probability targets: -sum_c w_c p'_c log q_c per row with p' = (1 - e) p + e / C,
"mean" over the rows. Values, gradients (central differences) and tangents in float64, on PyTorch's
three layouts and every reduction."""

import numpy as np
import pytest

from test_losses_binary import assert_value_gradient_and_tangent

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

C = 4


def np_log_softmax(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_cross_entropy(z, target, weight=None, ignore_index=-100, smoothing=0.0, reduction="mean", log_probs=False):
    """PyTorch's cross-entropy (or, with log_probs=True and no smoothing, nll_loss of z), written out."""
    axis = 0 if z.ndim == 1 else 1
    lp = np.moveaxis(z if log_probs else np_log_softmax(z, axis), axis, -1)         # classes last
    w = np.ones(C) if weight is None else weight
    if target.dtype.kind in "iu" or target.dtype.kind == "i":
        kept = target != ignore_index
        safe = np.where(kept, target, 0)
        picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
        per_row = np.where(kept, (1 - smoothing) * -w[safe] * picked - smoothing / C * (lp * w).sum(axis=-1), 0.0)
        divisor = np.where(kept, w[safe], 0.0).sum()
    else:
        p = (1 - smoothing) * np.moveaxis(target, axis, -1) + smoothing / C
        per_row = -(lp * w * p).sum(axis=-1)
        divisor = per_row.size
    return {"none": per_row, "sum": per_row.sum(), "mean": per_row.sum() / divisor}[reduction]


LAYOUTS = [(C,), (5, C), (3, C, 2)]


def class_targets(shape, seed, ignored=True):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, C, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if ignored and targets.ndim:
        targets.flat[0] = -100
    return targets


@pytest.mark.parametrize("shape", LAYOUTS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_class_targets_weights_and_smoothing(shape, reduction, smoothing, weighted):
    rng = np.random.default_rng(len(shape))
    z, targets = rng.standard_normal(shape), class_targets(shape, seed=1)
    weight = rng.uniform(0.2, 2.0, C) if weighted else None
    assert_value_gradient_and_tangent(
        lambda t, r: F.cross_entropy(t, targets, weight, reduction=r, label_smoothing=smoothing),
        lambda a: np_cross_entropy(a, targets, weight, smoothing=smoothing, reduction=reduction), z, reduction)


@pytest.mark.parametrize("shape", LAYOUTS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_probability_targets_weights_and_smoothing(shape, reduction, smoothing):
    """The logits' gradient, then the target's (-(1 - e) w log q per row)."""
    rng = np.random.default_rng(7)
    z, p, weight = rng.standard_normal(shape), rng.uniform(0, 1, shape), rng.uniform(0.2, 2.0, C)
    assert_value_gradient_and_tangent(
        lambda t, r: F.cross_entropy(t, p, weight, reduction=r, label_smoothing=smoothing),
        lambda a: np_cross_entropy(a, p, weight, smoothing=smoothing, reduction=reduction), z, reduction)
    assert_value_gradient_and_tangent(
        lambda t, r: F.cross_entropy(mg.tensor(z), t, weight, reduction=r, label_smoothing=smoothing),
        lambda a: np_cross_entropy(z, a, weight, smoothing=smoothing, reduction=reduction), p, reduction)


@pytest.mark.parametrize("shape", LAYOUTS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_nll_loss_with_class_weights(shape, reduction):
    rng = np.random.default_rng(9)
    log_probs, targets, weight = rng.standard_normal(shape), class_targets(shape, seed=2), rng.uniform(0.2, 2.0, C)
    assert_value_gradient_and_tangent(
        lambda t, r: F.nll_loss(t, targets, weight, reduction=r),
        lambda a: np_cross_entropy(a, targets, weight, reduction=reduction, log_probs=True), log_probs, reduction)


def test_the_weighted_mean_divides_by_the_weight_of_the_targets_classes():
    """Two rows of classes 0 and 1 with weights 1 and 3: (1 l_0 + 3 l_1) / 4, not / 2."""
    z = np.array([[2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    loss = F.cross_entropy(mg.tensor(z), np.array([0, 1]), np.array([1.0, 3.0, 5.0, 7.0]))
    l0, l1 = np.log(np.exp(2) + 3) - 2, np.log(4)
    np.testing.assert_allclose(loss.item(), (l0 + 3 * l1) / 4, rtol=1e-14)


def test_a_weighted_mean_over_no_weight_is_nan_as_pytorchs():
    """0/0 is NaN, as PyTorch's, and so are its gradients: 0 where nothing was kept (every target
    ignored), NaN along a row kept with weight 0."""
    weight = np.array([1.0, 0.0, 1.0, 1.0])
    for targets, row_grad in [(np.array([-100, -100]), np.zeros(C)), (np.array([-100, 1]), np.full(C, np.nan))]:
        z = mg.tensor(np.zeros((2, C)), requires_grad=True)
        loss = F.cross_entropy(z, targets, weight, label_smoothing=0.2)
        assert np.isnan(loss.item())
        loss.backward()
        np.testing.assert_array_equal(z.grad, np.stack([np.zeros(C), row_grad]))


def test_the_modules_take_weights_by_position_as_pytorchs_and_keep_them_as_buffers():
    rng = np.random.default_rng(3)
    z, targets, weight = rng.standard_normal((5, C)), class_targets((5, C), seed=4), rng.uniform(0.2, 2.0, C)
    criterion = nn.CrossEntropyLoss(mg.tensor(weight), label_smoothing=0.1)
    np.testing.assert_allclose(criterion(z, targets).item(),
                               np_cross_entropy(z, targets, weight, smoothing=0.1), rtol=1e-12)
    assert set(criterion.state_dict()) == {"weight"} and repr(criterion) == "CrossEntropyLoss()"    # (PyTorch's)
    log_probs = np_log_softmax(z, 1)
    np.testing.assert_allclose(nn.NLLLoss(mg.tensor(weight), reduction="sum")(log_probs, targets).item(),
                               np_cross_entropy(log_probs, targets, weight, reduction="sum", log_probs=True),
                               rtol=1e-12)


@pytest.mark.parametrize("call, error, words", [
    (lambda: F.cross_entropy(mg.zeros(2, C), np.array([0, 1]), np.ones(3)), ValueError,
     r"cross_entropy: expected one weight per class, shape \(4,\), got weight of shape \(3,\)"),
    (lambda: F.nll_loss(mg.zeros(2, C), np.array([0, 1]), mg.ones(C, requires_grad=True)), RuntimeError,
     r"nll_loss: not differentiable with respect to weight, so weight cannot require grad"),
    (lambda: F.cross_entropy(mg.zeros(2, C), np.array([0, 1]), label_smoothing=1.5), ValueError,
     r"cross_entropy: label_smoothing must be a probability in \[0, 1\], got 1.5"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=-0.1), ValueError,
     r"CrossEntropyLoss: label_smoothing must be a probability in \[0, 1\], got -0.1"),
    (lambda: nn.NLLLoss(np.ones((2, 2)))(mg.zeros(2, C), np.array([0, 1])), ValueError,
     r"nll_loss: expected one weight per class, shape \(4,\), got weight of shape \(2, 2\)"),
])
def test_bad_weights_and_smoothing_raise_naming_the_loss(call, error, words):
    with pytest.raises(error, match=words):
        call()
