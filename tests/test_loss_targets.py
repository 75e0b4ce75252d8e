"""A loss's target gets a gradient, as in PyTorch: a target the model made (a Siamese pair, a
distillation target, a reconstruction) pulls on the weights that made it. Every loss whose target
is numbers (not class indices) is checked in float64 against central differences of its numpy
closed form with the target as the variable, value, gradient and tangent, on several shapes and
reductions; then the edges PyTorch defines and the weights PyTorch refuses to differentiate."""

import warnings

import numpy as np
import pytest

from test_losses_binary import SHAPES, assert_value_gradient_and_tangent, np_bce, np_bce_with_logits
from test_losses_regression import np_huber, np_smooth_l1

import microgradseq as mg
import microgradseq.nn.functional as F


def inputs_and_targets(shape, seed, low=-1.0, high=1.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, shape), rng.uniform(low, high, shape)


def away_from_kinks(x, y, scale):
    """Targets moved so that no error x - y lies within 0.05 of 0 or of +-scale (where l1, smooth L1
    and Huber change formula and central differences straddle two pieces)."""
    d = x - y
    for kink in (0.0, scale, -scale):
        close = np.abs(d - kink) < 0.05
        d = np.where(close, kink + 0.1 * np.where(d >= kink, 1, -1), d)
    return x - d


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("name, loss, np_loss, scale", [
    ("mse_loss", lambda x, t, r: F.mse_loss(x, t, reduction=r), lambda x, y: (x - y) ** 2, 1.0),
    ("l1_loss", lambda x, t, r: F.l1_loss(x, t, reduction=r), lambda x, y: np.abs(x - y), 1.0),
    ("smooth_l1_loss", lambda x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.5),
     lambda x, y: np_smooth_l1(x - y, 0.5), 0.5),
    ("huber_loss", lambda x, t, r: F.huber_loss(x, t, reduction=r, delta=0.7),
     lambda x, y: np_huber(x - y, 0.7), 0.7),
])
def test_regression_targets_get_pytorchs_gradient(shape, reduction, name, loss, np_loss, scale):
    x, y = inputs_and_targets(shape, seed=len(shape))
    y = away_from_kinks(x, y, scale)
    assert_value_gradient_and_tangent(lambda t, r: loss(mg.tensor(x), t, r), lambda a: np_loss(x, a), y, reduction)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_with_logits_targets_get_pytorchs_gradient(shape, reduction, weighted):
    """dl/dy = (p - 1) softplus(-x) - x, times w: -x alone without weights."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 3, shape), rng.uniform(0, 1, shape)
    weight = rng.uniform(0.5, 2, shape[-1:]) if weighted else None
    pos_weight = rng.uniform(0.5, 3, shape[-1:]) if weighted else None
    assert_value_gradient_and_tangent(
        lambda t, r: F.binary_cross_entropy_with_logits(mg.tensor(x), t, weight, reduction=r, pos_weight=pos_weight),
        lambda a: np_bce_with_logits(x, a, weight, pos_weight), y, reduction)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_binary_cross_entropy_targets_get_pytorchs_gradient(shape, reduction):
    """dl/dy = w (log(1 - x) - log x)."""
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    weight = rng.uniform(0.5, 2, shape[-1:])
    assert_value_gradient_and_tangent(lambda t, r: F.binary_cross_entropy(mg.tensor(x), t, weight, reduction=r),
                                      lambda a: np_bce(x, a, weight), y, reduction)


def np_log_softmax(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 4, 3)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_probability_targets_get_pytorchs_gradient(shape, reduction):
    """-sum_c p_c log softmax(z)_c per row, the classes on axis 1 (axis 0 for one row (C,)): the
    target's gradient is -log softmax(z), a row's share of the reduction."""
    rng = np.random.default_rng(5)
    z, p = rng.standard_normal(shape), rng.uniform(0, 1, shape)
    axis = 0 if len(shape) == 1 else 1
    assert_value_gradient_and_tangent(lambda t, r: F.cross_entropy(mg.tensor(z), t, reduction=r),
                                      lambda a: -(np_log_softmax(z, axis) * a).sum(axis=axis), p, reduction)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_targets_get_pytorchs_gradient(shape, reduction, log_target):
    """p (log p - q), d/dp = log p + 1 - q; with log_target e^t (t - q), d/dt = e^t (t - q + 1)."""
    rng = np.random.default_rng(6)
    q = np.log(rng.uniform(0.1, 1, shape))
    target = np.log(rng.uniform(0.1, 1, shape)) if log_target else rng.uniform(0.1, 1, shape)
    closed = (lambda t: np.exp(t) * (t - q)) if log_target else (lambda p: p * (np.log(p) - q))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "reduction: 'mean' divides")
        assert_value_gradient_and_tangent(
            lambda t, r: F.kl_div(mg.tensor(q), t, reduction=r, log_target=log_target), closed, target, reduction)


# ---- PyTorch's edges ------------------------------------------------------------------------------

def gradients(loss, x, y):
    """The gradients of loss(x, y) in both operands (x, y arrays, both requiring grad)."""
    a, b = mg.tensor(x, requires_grad=True), mg.tensor(y, requires_grad=True)
    loss(a, b).backward()
    return a.grad, b.grad


def test_binary_cross_entropy_target_slope_is_infinite_at_the_ends_as_pytorchs():
    """log(1 - x) - log x, not clamped (the loss's logs are): +inf at x = 0, -inf at x = 1, and
    log(1 - 1e-60) - log(1e-60) = 60 log 10 beyond the clamp (each divided by the 3 of the mean)."""
    x = np.array([0.0, 1.0, 1e-60])
    with np.errstate(divide="ignore", invalid="ignore"):
        _, target_grad = gradients(F.binary_cross_entropy, x, np.full(3, 0.5))
    np.testing.assert_allclose(target_grad, [np.inf, -np.inf, 60 * np.log(10) / 3], rtol=1e-14)


def test_binary_cross_entropy_with_logits_target_slope_stays_finite_for_huge_logits():
    _, target_grad = gradients(F.binary_cross_entropy_with_logits, np.array([1e4, -1e4, 0.0]), np.full(3, 0.5))
    np.testing.assert_allclose(target_grad, [-1e4 / 3, 1e4 / 3, 0.0], rtol=1e-14)


def test_kl_div_target_slope_is_nan_where_the_target_is_zero_as_pytorchs():
    """PyTorch's xlogy(p, p) has the slope p / p = 0/0 at p = 0; the input's slope -p is 0 there."""
    q = np.log(np.array([0.2, 0.5, 0.3]))
    input_grad, target_grad = gradients(lambda a, b: F.kl_div(a, b, reduction="sum"), q, np.array([0.0, 0.6, 0.4]))
    np.testing.assert_array_equal(input_grad, [-0.0, -0.6, -0.4])
    assert np.isnan(target_grad[0])
    np.testing.assert_allclose(target_grad[1:], np.log([0.6, 0.4]) + 1 - q[1:], rtol=1e-14)


def test_a_target_of_another_dtype_gets_its_gradient_in_its_dtype():
    x = mg.tensor(np.array([0.5, -2.0]), requires_grad=True)
    y = mg.tensor(np.array([0.25, 1.0], dtype=np.float32), requires_grad=True)
    loss = F.mse_loss(x, y, reduction="sum")
    loss.backward()
    assert loss.dtype == np.float64 and y.grad.dtype == np.float32
    np.testing.assert_allclose(y.grad, [-0.5, 6.0], rtol=1e-7)


def test_a_target_the_model_made_pulls_on_the_weights_that_made_it():
    """A Siamese pair: L = mean((w a - w b)^2), so dL/dw = 2 w mean((a - b)^2); a target held
    constant would give 2 w mean((a - b) a) instead."""
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    w = mg.tensor(1.7, dtype=mg.float64, requires_grad=True)
    F.mse_loss(w * mg.tensor(a), w * mg.tensor(b)).backward()
    np.testing.assert_allclose(w.grad, 2 * 1.7 * np.mean((a - b) ** 2), rtol=1e-12)


@pytest.mark.parametrize("loss, argument", [
    (lambda x, y, w: F.binary_cross_entropy(x, y, weight=w), "weight"),
    (lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, weight=w), "weight"),
    (lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, pos_weight=w), "pos_weight"),
])
def test_a_weight_that_requires_grad_raises_as_pytorchs(loss, argument):
    """PyTorch: "not differentiable with respect to argument 'weight'"; here too, naming the loss."""
    x = mg.tensor(np.full(3, 0.5), requires_grad=True)
    weight = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=rf"binary_cross_entropy\w*: not differentiable with respect to "
                                           rf"{argument}, so {argument} cannot require grad"):
        loss(x, np.ones(3), weight)
    loss(x, np.ones(3), weight.detach()).backward()         # a constant weight is fine
    assert x.grad is not None and weight.grad is None


# ---- PyTorch's signatures: the deprecated pair where PyTorch puts it -------------------------------

@pytest.mark.parametrize("loss, closed", [
    (F.mse_loss, lambda x, y: (x - y) ** 2),
    (F.l1_loss, lambda x, y: np.abs(x - y)),
    (F.smooth_l1_loss, lambda x, y: np_smooth_l1(x - y, 1.0)),
    (F.binary_cross_entropy, lambda x, y: np_bce(x, y)),
    (F.binary_cross_entropy_with_logits, lambda x, y: np_bce_with_logits(x, y)),
])
def test_the_regression_and_binary_losses_take_pytorchs_deprecated_size_average_and_reduce(loss, closed):
    """Old scripts write `F.binary_cross_entropy(recon, x, size_average=False)` (PyTorch's VAE example
    before 0.4.1): the sum, with PyTorch's warning; reduce=False: each element. A reduction string
    where PyTorch puts size_average, this library's own order (F.mse_loss(pred, target, "sum")), is
    the reduction; given twice, it raises."""
    x, y = np.array([0.2, 0.7, 0.4]), np.array([0.0, 1.0, 0.5])
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        summed = loss(mg.tensor(x), y, size_average=False)
    np.testing.assert_allclose(summed.item(), closed(x, y).sum(), rtol=1e-14)
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        each = loss(mg.tensor(x), y, reduce=False)
    np.testing.assert_allclose(each.data, closed(x, y), rtol=1e-14)
    positional = (None,) if loss in (F.binary_cross_entropy, F.binary_cross_entropy_with_logits) else ()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(loss(mg.tensor(x), y, *positional, "sum").item(), closed(x, y).sum(), rtol=1e-14)
    with pytest.raises(TypeError, match=rf"^{loss.__name__}: a reduction given twice, 'sum' in size_average's "
                                        r"place and reduction='none'"):
        loss(mg.tensor(x), y, *positional, "sum", reduction="none")


# --- a list or tuple of multi-element tensors as a target (or as a loss's second input): before, numpy
# stacked it (np.asarray through Tensor.__array__) and the loss failed a shape check naming the stacked
# shape, or computed where that shape fit; PyTorch raises TypeError. ---

_P = np.array([[0.2, 0.7, 0.4], [0.9, 0.1, 0.5]])
_Y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
_C = np.array([2, 0])


def _np_log_softmax(z):
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


_TARGETS = [    # (name, the loss given its target, the valid target, numpy's value)
    ("binary_cross_entropy", lambda y: F.binary_cross_entropy(mg.tensor(_P), y), mg.tensor(_Y),
     np.mean(-(_Y * np.log(_P) + (1 - _Y) * np.log(1 - _P)))),
    ("binary_cross_entropy_with_logits", lambda y: F.binary_cross_entropy_with_logits(mg.tensor(_P), y),
     mg.tensor(_Y), np.mean(np.log1p(np.exp(_P)) - _Y * _P)),
    ("kl_div", lambda y: F.kl_div(mg.tensor(np.log(_P)), y, reduction="sum"), mg.tensor(_P), 0.0),
    ("poisson_nll_loss", lambda y: F.poisson_nll_loss(mg.tensor(_P), y), mg.tensor(_Y), np.mean(np.exp(_P) - _Y * _P)),
    ("soft_margin_loss", lambda y: F.soft_margin_loss(mg.tensor(_P), y), mg.tensor(2 * _Y - 1),
     np.mean(np.log1p(np.exp(-(2 * _Y - 1) * _P)))),
    ("hinge_embedding_loss", lambda y: F.hinge_embedding_loss(mg.tensor(_P), y), mg.tensor(2 * _Y - 1),
     np.mean(np.where(_Y == 1, _P, np.maximum(0, 1 - _P)))),
    ("margin_ranking_loss", lambda y: F.margin_ranking_loss(mg.tensor(_P), mg.tensor(_Y), y),
     mg.tensor(np.ones((2, 3))), np.mean(np.maximum(0, _Y - _P))),
    ("margin_ranking_loss", lambda x2: F.margin_ranking_loss(mg.tensor(_P), x2, mg.tensor(np.ones((2, 3)))),
     mg.tensor(_Y), np.mean(np.maximum(0, _Y - _P))),
    ("gaussian_nll_loss", lambda v: F.gaussian_nll_loss(mg.tensor(_P), mg.tensor(_Y), v), mg.tensor(np.ones((2, 3))),
     np.mean(0.5 * (_P - _Y) ** 2)),
    ("nll_loss", lambda c: F.nll_loss(mg.tensor(_P), c), mg.tensor(_C), -np.mean(_P[[0, 1], _C])),
    ("cross_entropy", lambda y: F.cross_entropy(mg.tensor(_P), y), mg.tensor(_Y / _Y.sum(1, keepdims=True)),
     -np.mean((_Y / _Y.sum(1, keepdims=True) * _np_log_softmax(_P)).sum(1))),
    ("multi_margin_loss", lambda c: F.multi_margin_loss(mg.tensor(_P), c), mg.tensor(_C),
     np.mean([(np.maximum(0, 1 - _P[i, c] + _P[i]).sum() - 1) / 3 for i, c in enumerate(_C)])),
    ("multilabel_margin_loss", lambda c: F.multilabel_margin_loss(mg.tensor(_P), c),
     mg.tensor(np.array([[2, -1, 0], [0, -1, 0]])),
     np.mean([np.maximum(0, 1 - _P[0, 2] + _P[0, [0, 1]]).sum() / 3,
              np.maximum(0, 1 - _P[1, 0] + _P[1, [1, 2]]).sum() / 3])),
    ("multilabel_soft_margin_loss", lambda y: F.multilabel_soft_margin_loss(mg.tensor(_P), y), mg.tensor(_Y),
     np.mean(-(_Y * np.log(1 / (1 + np.exp(-_P))) + (1 - _Y) * np.log(1 / (1 + np.exp(_P)))).mean(1))),
]


@pytest.mark.parametrize("name, loss, valid, expected", _TARGETS, ids=[f"{t[0]}-{i}" for i, t in enumerate(_TARGETS)])
@pytest.mark.parametrize("sequence", [tuple, list])
def test_a_tuple_or_list_of_tensors_as_a_target_is_a_type_error_naming_the_loss(name, loss, valid, expected,
                                                                               sequence):
    pair = sequence((valid, valid + 1))
    with pytest.raises(TypeError, match=rf"^{name}: expected"):
        loss(pair)
    np.testing.assert_allclose(loss(valid).item(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("module, name", [(mg.nn.BCELoss(), "BCELoss"), (mg.nn.NLLLoss(), "NLLLoss"),
                                          (mg.nn.CrossEntropyLoss(), "CrossEntropyLoss"),
                                          (mg.nn.KLDivLoss(reduction="sum"), "KLDivLoss")])
def test_a_loss_modules_target_as_a_tuple_of_tensors_is_a_type_error(module, name):
    target = (mg.tensor(_C), mg.tensor(_C)) if name in ("NLLLoss",) else (mg.tensor(_Y), mg.tensor(_Y))
    with pytest.raises(TypeError, match=r"^\w+: expected"):
        module(mg.tensor(_P), target)
