"""Regression losses (F.l1_loss, F.smooth_l1_loss, F.huber_loss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss),
as PyTorch's: values against the piecewise closed forms in numpy, gradients against central differences
and tangents against directional differences of those, in float64 on several shapes with every
reduction (errors kept away from the kinks at 0 and at beta or delta); and PyTorch 2.13's elementwise
weight= of mse_loss, l1_loss and huber_loss, with the gradients of input, target and weight."""

import numpy as np
import pytest

from test_losses_binary import SHAPES, assert_value_gradient_and_tangent
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def np_l1(d):
    return np.abs(d)


def np_smooth_l1(d, beta):
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)


def np_huber(d, delta):
    return np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))


def errors_away_from_kinks(shape, scale, seed=0):
    """(input, target) whose differences lie in (0.1, 0.8) scale or (1.2, 3) scale in size, either sign:
    on both sides of a threshold at `scale`, away from it and from 0."""
    rng = np.random.default_rng(seed)
    size = np.where(rng.random(shape) < 0.5, rng.uniform(0.1, 0.8, shape), rng.uniform(1.2, 3.0, shape)) * scale
    target = rng.standard_normal(shape)
    return target + np.where(rng.random(shape) < 0.5, -size, size), target


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", SHAPES)
def test_l1_loss_matches_the_closed_form(shape, reduction):
    x, y = errors_away_from_kinks(shape, 1.0)
    assert_value_gradient_and_tangent(lambda t, r: F.l1_loss(t, y, reduction=r), lambda a: np_l1(a - y), x, reduction)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("beta", [1.0, 0.25, 2.0])
def test_smooth_l1_loss_matches_the_closed_form(shape, reduction, beta):
    x, y = errors_away_from_kinks(shape, beta, seed=1)
    assert_value_gradient_and_tangent(lambda t, r: F.smooth_l1_loss(t, y, reduction=r, beta=beta),
                                      lambda a: np_smooth_l1(a - y, beta), x, reduction)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("delta", [1.0, 0.5, 3.0])
def test_huber_loss_matches_the_closed_form(shape, reduction, delta):
    x, y = errors_away_from_kinks(shape, delta, seed=2)
    assert_value_gradient_and_tangent(lambda t, r: F.huber_loss(t, y, reduction=r, delta=delta),
                                      lambda a: np_huber(a - y, delta), x, reduction)


def test_smooth_l1_with_beta_zero_is_l1():
    x, y = errors_away_from_kinks((3, 4), 1.0, seed=3)
    a, b = mg.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    smooth, l1 = F.smooth_l1_loss(a, y, beta=0.0), F.l1_loss(b, y)
    smooth.backward()
    l1.backward()
    assert smooth.item() == l1.item()
    np.testing.assert_array_equal(a.grad, b.grad)


def test_huber_is_delta_times_smooth_l1_with_beta_delta():
    x, y = errors_away_from_kinks((4, 2), 0.7, seed=4)
    np.testing.assert_allclose(F.huber_loss(x, y, delta=0.7, reduction="none").data,
                               0.7 * F.smooth_l1_loss(x, y, beta=0.7, reduction="none").data, rtol=1e-14)


def test_gradients_at_the_kinks_are_pytorchs():
    """At d = 0: l1's slope is sign(0) = 0; smooth L1 and Huber are quadratic there (slope 0). At
    |d| = beta the linear branch holds (|d| < beta is the quadratic one), and both slopes agree there:
    sign(d) for smooth L1, delta sign(d) for Huber."""
    d = np.array([0.0, 1.0, -1.0, 0.5])
    for loss, expected in [(lambda t: F.l1_loss(t, np.zeros(4), reduction="sum"), [0.0, 1.0, -1.0, 1.0]),
                           (lambda t: F.smooth_l1_loss(t, np.zeros(4), reduction="sum"), [0.0, 1.0, -1.0, 0.5]),
                           (lambda t: F.huber_loss(t, np.zeros(4), reduction="sum", delta=1.0), [0.0, 1.0, -1.0, 0.5])]:
        x = mg.tensor(d, requires_grad=True)
        loss(x).backward()
        np.testing.assert_array_equal(x.grad, expected)
    np.testing.assert_allclose(F.smooth_l1_loss(d, np.zeros(4), reduction="none").data, [0.0, 0.5, 0.5, 0.125])


def test_float32_stays_float32_and_the_target_gets_the_negated_gradient():
    x = mg.tensor(np.array([0.5, -2.0], dtype=np.float32), requires_grad=True)
    target = mg.tensor(np.array([0.0, 0.0], dtype=np.float32), requires_grad=True)
    loss = F.huber_loss(x, target)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32 and target.grad.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.mean(np_huber(np.array([0.5, -2.0]), 1.0)), rtol=1e-6)
    np.testing.assert_allclose(x.grad, [0.25, -0.5], rtol=1e-6)          # d / N inside, delta sign(d) / N beyond
    np.testing.assert_array_equal(target.grad, -x.grad)


@pytest.mark.parametrize("module, function", [
    (nn.L1Loss(), lambda a, b: F.l1_loss(a, b)),
    (nn.L1Loss(reduction="sum"), lambda a, b: F.l1_loss(a, b, reduction="sum")),
    (nn.SmoothL1Loss(beta=0.5), lambda a, b: F.smooth_l1_loss(a, b, beta=0.5)),
    (nn.SmoothL1Loss(reduction="none"), lambda a, b: F.smooth_l1_loss(a, b, reduction="none")),
    (nn.HuberLoss(delta=2.0), lambda a, b: F.huber_loss(a, b, delta=2.0)),
    (nn.HuberLoss("sum", 0.5), lambda a, b: F.huber_loss(a, b, "sum", 0.5)),
])
def test_the_modules_are_the_functions(module, function):
    x, y = errors_away_from_kinks((3, 2), 1.0, seed=5)
    np.testing.assert_array_equal(module(mg.tensor(x), y).data, function(mg.tensor(x), y).data)


def test_module_reprs_are_pytorchs_the_name_alone():
    assert repr(nn.SmoothL1Loss(beta=0.5)) == "SmoothL1Loss()"
    assert repr(nn.HuberLoss(reduction="sum", delta=2.0)) == "HuberLoss()"
    assert repr(nn.L1Loss()) == "L1Loss()"


def test_a_forecaster_trains_with_smooth_l1():
    """An LSTM predicting the next value of a noisy sine with a few outliers."""
    mg.manual_seed(1)
    rng = np.random.default_rng(1)
    series = np.sin(np.arange(40) / 3.0) + 0.05 * rng.standard_normal(40)
    series[[7, 23]] += 3.0                                           # outliers: a linear pull, not a squared one
    x, y = series[:-1].reshape(-1, 1, 1), series[1:].reshape(-1, 1, 1)
    lstm, readout = nn.LSTM(1, 8, dtype=np.float64), nn.Linear(8, 1, dtype=np.float64)
    criterion = nn.SmoothL1Loss(beta=0.5)
    optimizer = mg.optim.Adam(list(lstm.parameters()) + list(readout.parameters()), lr=0.03)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        output, _ = lstm(x)
        loss = criterion(readout(output), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("call, words", [
    (lambda: F.l1_loss(np.zeros(3), np.zeros((3, 1))),
     r"l1_loss: input of shape \(3,\) and target of shape \(3, 1\) differ"),
    (lambda: F.smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1.0),
     "smooth_l1_loss: beta must be a finite number >= 0, got -1.0"),
    (lambda: F.huber_loss(np.zeros(2), np.zeros(2), delta=0.0),
     "huber_loss: delta must be a finite number > 0, got 0.0"),
    (lambda: F.huber_loss(np.zeros(2), np.zeros(2), reduction="avg"), "huber_loss: reduction must be one of"),
    (lambda: nn.SmoothL1Loss(beta=float("nan")), "SmoothL1Loss: beta must be a finite number >= 0, got nan"),
    (lambda: nn.HuberLoss(delta=-2.0), "HuberLoss: delta must be a finite number > 0, got -2.0"),
    (lambda: nn.L1Loss(reduction="avg"), "L1Loss: reduction must be one of"),
])
def test_errors_name_the_loss_and_what_came(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# ---- PyTorch 2.13's elementwise weight= of mse_loss, l1_loss and huber_loss -------------------------

WEIGHTED = {   # per-element loss of d, and whether "mean" divides by the weights' sum (PyTorch 2.13's choice)
    "mse_loss": (lambda d: d * d, True),
    "l1_loss": (np_l1, True),
    "huber_loss": (lambda d: np_huber(d, 1.0), False),
}


def np_weighted(name, x, y, w, reduction):
    """The closed form: w l(x - y), summed, or divided by sum(w) or by the count for "mean"."""
    per_element, over_weights = WEIGHTED[name]
    losses = w * per_element(x - y)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum() if over_weights else losses.mean()


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_an_elementwise_weight_matches_the_closed_form_and_every_operand_gets_its_gradient(name, shape, reduction):
    x, y = errors_away_from_kinks(shape, 1.0, seed=3)
    w = np.random.default_rng(4).uniform(0.2, 2.0, shape)
    tensors = [mg.tensor(a.copy(), requires_grad=True) for a in (x, y, w)]
    out = getattr(F, name)(tensors[0], tensors[1], reduction=reduction, weight=tensors[2])
    expected = np_weighted(name, x, y, w, reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-13)
    upstream = np.random.default_rng(5).standard_normal(np.shape(expected))
    (out * upstream).sum().backward()
    arrays = [x, y, w]
    for k, tensor in enumerate(tensors):
        def loss_of(a, k=k):
            operands = arrays[:k] + [a] + arrays[k + 1:]
            return float(np.sum(np_weighted(name, *operands, reduction) * upstream))
        np.testing.assert_allclose(tensor.grad, central_differences(loss_of, arrays[k]), rtol=1e-6, atol=1e-8)


def test_a_weight_in_pytorchs_positional_places():
    x, y = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    w = np.array([1.0, 2.0, 3.0])
    # mse_loss(input, target, size_average, reduce, reduction, weight); huber_loss(input, target, reduction, delta, weight)
    assert float(F.mse_loss(x, y, None, None, "sum", w)) == pytest.approx(1.0 + 8.0 + 0.75)
    assert float(F.l1_loss(x, y, None, None, "mean", w)) == pytest.approx((1.0 + 4.0 + 1.5) / 6.0)
    assert float(F.huber_loss(x, y, "mean", 1.0, w)) == pytest.approx((0.5 + 2 * 1.5 + 3 * 0.125) / 3)


def test_weights_summing_to_zero_give_nan_quietly_as_pytorchs(recwarn):
    out = F.mse_loss(np.array([1.0, 2.0]), np.zeros(2), weight=np.zeros(2))
    assert np.isnan(out.data) and not recwarn.list


@pytest.mark.parametrize("name", sorted(WEIGHTED))
def test_a_weight_of_another_shape_or_not_numbers_is_refused_naming_the_loss(name):
    with pytest.raises(ValueError, match=rf"{name}: weight of shape \(3,\) and input of shape \(2, 3\) differ"):
        getattr(F, name)(np.zeros((2, 3)), np.zeros((2, 3)), weight=np.ones(3))
    with pytest.raises(TypeError, match=rf"{name}: expected weight as a tensor of numbers, got str"):
        getattr(F, name)(np.zeros(2), np.zeros(2), weight="ones")
