"""optim.Adagrad against its update written as a numpy loop, and lr_scheduler.CosineAnnealingLR against
the closed form eta_min + (base - eta_min) (1 + cos(pi e / T_max)) / 2 and a few values worked by hand."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adagrad
from microgradseq.optim.lr_scheduler import CosineAnnealingLR


def parameter(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def gradients(count, shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(count)]


# ---- Adagrad ---------------------------------------------------------------------------------------

def numpy_adagrad(start, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                  eps=1e-10, maximize=False):
    """torch.optim.Adagrad's documented update, the parameter after each step."""
    theta, total, out = np.array(start, dtype=np.float64), np.full(np.shape(start), initial_accumulator_value), []
    for t, grad in enumerate(grads, start=1):
        g = (-grad if maximize else grad) + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        total = total + g * g
        theta = theta - clr * g / (np.sqrt(total) + eps)
        out.append(theta)
    return out


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1},
    {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.01, "initial_accumulator_value": 0.2, "eps": 1e-6},
    {"lr": 0.05, "maximize": True, "weight_decay": 0.1},
])
def test_adagrad_matches_the_numpy_loop(options):
    start = np.array([0.5, -1.0, 2.0])
    p = parameter(start)
    optimizer = Adagrad([p], **options)
    grads = gradients(5)
    for grad, expected in zip(grads, numpy_adagrad(start, grads, **options)):
        p.grad = grad
        optimizer.step()
        np.testing.assert_allclose(p.data, expected, rtol=1e-13, atol=1e-15)
    assert optimizer.state[p]["step"] == 5


def test_adagrad_first_step_with_no_accumulator_is_lr_times_the_sign():
    """sum = g^2 after one step, so p moves by -lr g / (|g| + eps): lr against the gradient's sign."""
    p = parameter([1.0, -2.0])
    optimizer = Adagrad([p], lr=0.3, eps=0.0)
    p.grad = np.array([4.0, -0.5])
    optimizer.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.3, -2.0 + 0.3], rtol=1e-15)


def test_adagrad_state_dict_round_trip_continues_identically():
    start = np.array([0.5, -1.0, 2.0])
    p, twin = parameter(start), parameter(start)
    optimizer = Adagrad([p], lr=0.1, lr_decay=0.2)
    grads = gradients(4, seed=1)
    for grad in grads[:2]:
        p.grad = grad
        optimizer.step()
    saved = optimizer.state_dict()
    assert set(saved["state"][0]) == {"step", "sum"} and saved["state"][0]["step"] == 2
    twin.data = p.data.copy()
    twin_optimizer = Adagrad([twin])
    twin_optimizer.load_state_dict(saved)
    for grad in grads[2:]:
        p.grad, twin.grad = grad, grad
        optimizer.step()
        twin_optimizer.step()
    np.testing.assert_array_equal(twin.data, p.data)
    np.testing.assert_allclose(p.data, numpy_adagrad(start, grads, lr=0.1, lr_decay=0.2)[-1], rtol=1e-13)


@pytest.mark.parametrize("options, words", [
    ({"lr": -0.1}, "lr must be a finite number >= 0"),
    ({"lr_decay": -1.0}, "lr_decay must be a finite number >= 0"),
    ({"initial_accumulator_value": -0.5}, "initial_accumulator_value must be a finite number >= 0"),
    ({"eps": float("nan")}, "eps must be a finite number >= 0"),
    ({"maximize": 1}, "maximize must be True or False"),
])
def test_adagrad_bad_options_raise_naming_adagrad(options, words):
    with pytest.raises(ValueError, match="Adagrad: " + words):
        Adagrad([parameter([1.0])], **options)


def test_adagrad_refuses_pytorchs_switches_its_cpu_build_cannot_step_with():
    with pytest.raises(TypeError, match="Adagrad: differentiable=True is not supported"):
        Adagrad([parameter([1.0])], differentiable=True)
    Adagrad([parameter([1.0])], foreach=True, fused=None)


# ---- CosineAnnealingLR ---------------------------------------------------------------------------

def closed_form(base, eta_min, T_max, epoch):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def test_cosine_values_worked_by_hand():
    """T_max = 2 from lr 1 to 0: 1, (1 + cos(pi/2))/2 = 1/2, 0, then back up 1/2, 1, 1/2, ..."""
    optimizer = SGD([parameter([1.0])], lr=1.0)
    scheduler = CosineAnnealingLR(optimizer, T_max=2)
    rates = [scheduler.get_last_lr()[0]]
    for _ in range(6):
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    np.testing.assert_allclose(rates, [1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("T_max, eta_min", [(4, 0.01), (5, 0.0), (3, 0.05)])
def test_cosine_step_by_step_follows_the_closed_form_through_the_restart(T_max, eta_min):
    """The chainable step (ratio of consecutive cosine values, and at e - 1 = T_max, 3 T_max the
    difference) gives the closed form at every epoch, over two periods and more."""
    base = [0.1, 0.3]
    a, b = parameter([1.0]), parameter([2.0])
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": base[1]}], lr=base[0])
    scheduler = CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
    for epoch in range(1, 4 * T_max + 3):
        scheduler.step()
        expected = [closed_form(rate, eta_min, T_max, epoch) for rate in base]
        np.testing.assert_allclose(scheduler.get_last_lr(), expected, rtol=1e-10, atol=1e-15)
        assert scheduler.last_epoch == epoch


def test_cosine_step_with_an_epoch_sets_the_closed_form():
    optimizer = SGD([parameter([1.0])], lr=0.2)
    scheduler = CosineAnnealingLR(optimizer, T_max=10, eta_min=0.02)
    scheduler.step(7)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(closed_form(0.2, 0.02, 10, 7), rel=1e-14)


def test_cosine_carries_on_from_a_rate_changed_by_hand():
    """lr(e) = eta_min + (lr(e - 1) - eta_min) (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T))."""
    optimizer = SGD([parameter([1.0])], lr=0.2)
    scheduler = CosineAnnealingLR(optimizer, T_max=6, eta_min=0.01)
    scheduler.step()
    optimizer.param_groups[0]["lr"] = 0.5
    scheduler.step()
    ratio = (1 + math.cos(math.pi * 2 / 6)) / (1 + math.cos(math.pi * 1 / 6))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 + (0.5 - 0.01) * ratio, rel=1e-14)


def test_cosine_resumed_at_an_epoch_keeps_the_current_rate():
    """A schedule made with last_epoch=k (the optimizer's groups holding 'initial_lr', as after
    loading its state dict) is at epoch k + 1 with the current lr left as it is (PyTorch >= 2.8);
    the next step scales it by the closed form's ratio of consecutive epochs."""
    optimizer = SGD([parameter([1.0])], lr=0.7)
    optimizer.param_groups[0]["initial_lr"] = 0.2
    scheduler = CosineAnnealingLR(optimizer, T_max=8, eta_min=0.0, last_epoch=2)
    assert scheduler.last_epoch == 3
    assert optimizer.param_groups[0]["lr"] == 0.7
    scheduler.step()
    ratio = closed_form(0.2, 0.0, 8, 4) / closed_form(0.2, 0.0, 8, 3)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.7 * ratio, rel=1e-12)


def test_cosine_state_dict_round_trip():
    optimizer = SGD([parameter([1.0])], lr=0.2)
    scheduler = CosineAnnealingLR(optimizer, T_max=5, eta_min=0.01)
    for _ in range(3):
        scheduler.step()
    saved = scheduler.state_dict()
    assert saved["T_max"] == 5 and saved["eta_min"] == 0.01 and saved["last_epoch"] == 3
    other = CosineAnnealingLR(SGD([parameter([1.0])], lr=0.2), T_max=9)
    other.load_state_dict(saved)
    other.optimizer.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"]
    other.step()
    scheduler.step()
    assert other.get_last_lr() == scheduler.get_last_lr()
    bad = dict(saved, T_max=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR.load_state_dict: T_max must be a finite number > 0"):
        other.load_state_dict(bad)


@pytest.mark.parametrize("options, words", [
    ({"T_max": 0}, "T_max must be a finite number > 0, got 0"),
    ({"T_max": float("inf")}, "T_max must be a finite number > 0, got inf"),
    ({"T_max": "4"}, "T_max must be a finite number > 0, got '4'"),
    ({"T_max": 3, "eta_min": -0.1}, "eta_min must be a finite number >= 0, got -0.1"),
])
def test_cosine_bad_arguments_raise_naming_the_schedule(options, words):
    optimizer = SGD([parameter([1.0])], lr=0.2)
    with pytest.raises(ValueError, match="CosineAnnealingLR: " + words):
        CosineAnnealingLR(optimizer, **options)
    assert optimizer.param_groups[0]["lr"] == 0.2


def test_cosine_takes_a_float_t_max_as_pytorch_does():
    """A script may compute T_max = epochs * steps / accumulation, a float: 4.0 gives the rates of 4,
    and 2.5 follows the closed form step by step."""
    rates = {}
    for T_max in (4, 4.0, 2.5):
        optimizer = SGD([parameter([1.0])], lr=0.2)
        scheduler = CosineAnnealingLR(optimizer, T_max=T_max, eta_min=0.01)
        rates[T_max] = []
        for _ in range(6):
            scheduler.step()
            rates[T_max].append(optimizer.param_groups[0]["lr"])
    assert rates[4.0] == pytest.approx(rates[4], abs=1e-15)
    assert rates[2.5] == pytest.approx([closed_form(0.2, 0.01, 2.5, e) for e in range(1, 7)], abs=1e-12)
