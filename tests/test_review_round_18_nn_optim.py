"""Review round 18, nn and optim against PyTorch: state dicts as PyTorch writes them (an optimizer's
float `step`, a schedule's bookkeeping entries) and the list methods of `Sequential` and
`ModuleList`. Expected values come from hand-written numpy updates, closed forms
and list semantics, never from the library's own earlier output.

Each test names one behaviour and says in its docstring what was wrong before.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.optim import SGD, Adam
from microgradseq.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR

F64 = np.float64


def parameter(values) -> nn.Parameter:
    return nn.Parameter(np.array(values, dtype=F64))


# ---- optimizer state dicts in PyTorch's layout ----------------------------------------------------------


def adam_step(p, g, m, v, t, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
    """Adam's t-th update written out in numpy: (new p, new m, new v)."""
    m = betas[0] * m + (1 - betas[0]) * g
    v = betas[1] * v + (1 - betas[1]) * g * g
    m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@pytest.mark.parametrize("saved_step", [2.0, np.array(2.0, dtype=np.float32)], ids=["float", "0-d float32 array"])
def test_adam_loads_pytorchs_float_step_and_continues_from_it(saved_step):
    """PyTorch keeps Adam's `step` as a float32 tensor, so its state dict converted to numpy holds 2.0
    (or a 0-d float32 array); it was refused ('step must be an integer >= 0, got 2.0')."""
    p0, m0, v0 = np.array([0.5, -1.0]), np.array([0.1, -0.2]), np.array([0.01, 0.03])
    p = parameter(p0)
    optimizer = Adam([p], lr=0.01)
    saved = {"state": {0: {"step": saved_step, "exp_avg": m0.copy(), "exp_avg_sq": v0.copy()}},
             "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                               "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                               "differentiable": False, "fused": None, "decoupled_weight_decay": False,
                               "params": [0]}]}
    optimizer.load_state_dict(saved)
    assert optimizer.state[0]["step"] == 2 and isinstance(optimizer.state[0]["step"], int)
    g = np.array([0.3, 0.7])
    p.grad = g.copy()
    optimizer.step()
    expected, _, _ = adam_step(p0, g, m0, v0, t=3)
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)


def test_a_fractional_step_is_still_refused_naming_load_state_dict():
    """Only a whole number counts as a step count: 2.5 is refused before anything changes."""
    p = parameter([0.0, 0.0])
    optimizer = Adam([p])
    saved = {"state": {0: {"step": 2.5, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}},
             "param_groups": [dict(optimizer.param_groups[0], params=[0])]}
    with pytest.raises(ValueError, match="Adam.load_state_dict: parameter 0's step must be an integer >= 0, got 2.5"):
        optimizer.load_state_dict(saved)
    assert optimizer.state[0] == {}


def test_rmsprop_counts_its_steps_under_pytorchs_key_and_loads_pytorchs_state():
    """PyTorch's RMSprop keeps `step` in each parameter's state; ours did not, so our state dict
    failed to load in PyTorch (KeyError 'step') and PyTorch's was refused here. The update, written
    out: v = alpha v + (1 - alpha) g^2, p = p - lr g / (sqrt(v) + eps)."""
    p = parameter([1.0, -2.0])
    optimizer = mg.optim.RMSprop([p], lr=0.01, alpha=0.9)
    for _ in range(3):
        p.grad = np.array([0.5, 0.25])
        optimizer.step()
    assert optimizer.state[0]["step"] == 3
    saved = {"state": {0: {"step": np.array(3.0, dtype=np.float32), "square_avg": np.array([0.2, 0.1])}},
             "param_groups": [dict(optimizer.param_groups[0], params=[0])]}
    fresh = parameter([1.0, -2.0])
    resumed = mg.optim.RMSprop([fresh], lr=0.01, alpha=0.9)
    resumed.load_state_dict(saved)
    fresh.grad = np.array([0.5, 0.25])
    resumed.step()
    v = 0.9 * np.array([0.2, 0.1]) + 0.1 * np.array([0.5, 0.25]) ** 2
    np.testing.assert_allclose(fresh.data, np.array([1.0, -2.0]) - 0.01 * np.array([0.5, 0.25]) / (np.sqrt(v) + 1e-8),
                               rtol=1e-14)
    assert resumed.state[0]["step"] == 4


def test_lbfgs_loads_a_state_holding_pytorchs_scratch_list_al():
    """PyTorch's LBFGS state holds `al`, its two-loop's scratch list (refilled every iteration); it was
    refused ('LBFGS does not keep the state 'al''), so no PyTorch LBFGS checkpoint loaded."""
    p = parameter([1.0, 2.0])
    optimizer = mg.optim.LBFGS([p], lr=0.5, max_iter=3)

    def closure():
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    saved = optimizer.state_dict()
    saved["state"][0]["al"] = [np.float64(0.5), np.float64(0.25)]
    again = mg.optim.LBFGS([parameter([1.0, 2.0])], lr=0.5, max_iter=3)
    again.load_state_dict(saved)
    assert "al" not in again.state_dict()["state"][0]
    assert again.state_dict()["state"][0]["n_iter"] == saved["state"][0]["n_iter"]


# ---- schedules: a PyTorch schedule's state dict ---------------------------------------------------------


def test_steplr_loads_pytorchs_state_dict_with_its_bookkeeping_flags():
    """PyTorch's schedules save `_get_lr_called_within_step` and `_is_initial` too; their state dicts were
    refused ('expected a dict with the keys ...'). Loaded at epoch 4, the rates go on as
    base * gamma^floor(e / step_size)."""
    optimizer = SGD([parameter([0.0])], lr=0.1)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    saved = {"step_size": 3, "gamma": 0.5, "base_lrs": [0.1], "last_epoch": 4, "_step_count": 5,
             "_get_lr_called_within_step": False, "_is_initial": False, "_last_lr": [0.05]}
    scheduler.load_state_dict(saved)
    optimizer.param_groups[0]["lr"] = 0.05          # (the optimizer's own state dict holds the rate)
    rates = []
    for _ in range(4):
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    assert scheduler.last_epoch == 8
    assert rates == pytest.approx([0.1 * 0.5 ** (e // 3) for e in range(5, 9)], rel=1e-15)


def test_plateau_loads_pytorchs_state_dict_with_mode_worse():
    """PyTorch's ReduceLROnPlateau also saves `mode_worse` (inf for mode 'min'); it was refused. After
    loading two bad epochs with patience 2, one more bad epoch multiplies the rate by the factor."""
    optimizer = SGD([parameter([0.0])], lr=0.1)
    scheduler = ReduceLROnPlateau(optimizer, patience=2, factor=0.5)
    saved = {"factor": 0.5, "min_lrs": [0.0], "patience": 2, "cooldown": 0, "cooldown_counter": 0,
             "mode": "min", "threshold": 1e-4, "threshold_mode": "rel", "best": 1.0, "num_bad_epochs": 2,
             "mode_worse": math.inf, "eps": 1e-8, "last_epoch": 5, "_last_lr": [0.1], "default_min_lr": 0.0}
    scheduler.load_state_dict(saved)
    scheduler.step(1.5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-15)
    assert scheduler.last_epoch == 6 and scheduler.num_bad_epochs == 0


# ---- Sequential and ModuleList as lists ------------------------------------------------------------------


def widths(container) -> list[tuple[str, int]]:
    """(name, in_features) of each Linear child, to see which module sits under which name."""
    return [(name, module.in_features) for name, module in container.named_children()]


def linears(count: int) -> list[nn.Linear]:
    return [nn.Linear(i + 1, 1) for i in range(count)]


@pytest.mark.parametrize("container", [nn.Sequential, lambda *m: nn.ModuleList(m)], ids=["Sequential", "ModuleList"])
def test_del_removes_a_module_and_renumbers_the_rest(container):
    """`del seq[i]` (and a slice) as PyTorch's: the rest named "0", "1", ... again, state dict keys too.
    Before, `del` raised TypeError (no __delitem__)."""
    held = container(*linears(5))
    del held[1]
    assert widths(held) == [("0", 1), ("1", 3), ("2", 4), ("3", 5)]
    del held[::2]
    assert widths(held) == [("0", 3), ("1", 5)]
    assert list(held.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert not hasattr(held, "2") and not hasattr(held, "3")


@pytest.mark.parametrize("container", [nn.Sequential, lambda *m: nn.ModuleList(m)], ids=["Sequential", "ModuleList"])
def test_insert_puts_a_module_before_an_index_as_list_insert(container):
    """`insert(index, module)` as `list.insert` (a negative index from the end), names renumbered, as
    PyTorch's; out of range [-len, len] is an IndexError. Before, there was no insert."""
    held = container(*linears(3))
    held.insert(0, nn.Linear(10, 1))
    held.insert(-1, nn.Linear(20, 1))
    held.insert(len(held), nn.Linear(30, 1))
    assert widths(held) == [("0", 10), ("1", 1), ("2", 2), ("3", 20), ("4", 3), ("5", 30)]
    with pytest.raises(IndexError, match="insert: index 7 is out of range for 6 modules"):
        held.insert(7, nn.Linear(1, 1))
    with pytest.raises(TypeError, match="must be a Module, got str"):
        held.insert(0, "relu")
    assert len(held) == 6


def test_pop_returns_the_module_and_sequential_extends(float64_default):
    """`pop(i)` returns the module at i and renumbers; `Sequential.extend` appends each module, as
    PyTorch's. Before, Sequential had neither and ModuleList no pop."""
    first, second, third = nn.Linear(1, 2), nn.Linear(2, 2), nn.Linear(2, 1)
    model = nn.Sequential(first, second)
    model.extend([third, nn.Tanh()])
    assert [type(m).__name__ for m in model] == ["Linear", "Linear", "Linear", "Tanh"]
    assert model.pop(1) is second
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert model[0] is first and model[1] is third
    x = mg.tensor(np.ones((2, 1)))
    np.testing.assert_allclose(model(x).data, np.tanh(third(first(x)).data), rtol=1e-15)
    modules = nn.ModuleList(linears(4))
    taken = modules.pop(slice(1, 3))
    assert isinstance(taken, nn.ModuleList) and [m.in_features for m in taken] == [2, 3]
    assert widths(modules) == [("0", 1), ("1", 4)]


# ---- schedules resumed with last_epoch=k (PyTorch >= 2.8) -----------------------------------------------


def resumed_sgd(lr: float, initial_lr: float) -> SGD:
    """An optimizer as after loading a checkpoint: its group holds 'initial_lr' and its current lr."""
    optimizer = SGD([parameter([0.0])], lr=lr)
    optimizer.param_groups[0]["initial_lr"] = initial_lr
    return optimizer


@pytest.mark.parametrize("k", [0, 1, 4, 9])
def test_exponential_lr_resumed_at_an_epoch_keeps_the_current_rate(k):
    """PyTorch's constructor step leaves the rate as it is when resuming (PR #149312); ours multiplied
    it by gamma once more (0.1 -> 0.09). Then each step multiplies by gamma: lr_j = lr gamma^j."""
    optimizer = resumed_sgd(lr=0.1, initial_lr=0.1)
    scheduler = ExponentialLR(optimizer, gamma=0.9, last_epoch=k)
    assert scheduler.last_epoch == k + 1
    assert optimizer.param_groups[0]["lr"] == 0.1 and scheduler.get_last_lr() == [0.1]
    for j in range(1, 21):
        scheduler.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9 ** j, rel=1e-13)


@pytest.mark.parametrize("k", [0, 3, 10])
def test_cosine_resumed_at_an_epoch_keeps_the_rate_then_scales_it_by_the_cosine_ratio(k):
    """PyTorch keeps the current rate at the constructor's step (epoch k + 1); ours jumped to the closed
    form of epoch k + 1 from 'initial_lr'. Each step e then scales the distance to eta_min by
    (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T)) (T = 50: no step reaches the bottom)."""
    T, eta_min, rate = 50, 0.01, 0.05
    optimizer = resumed_sgd(lr=rate, initial_lr=0.1)
    scheduler = CosineAnnealingLR(optimizer, T_max=T, eta_min=eta_min, last_epoch=k)
    assert scheduler.last_epoch == k + 1 and optimizer.param_groups[0]["lr"] == rate
    for epoch in range(k + 2, k + 22):
        ratio = (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T))
        rate = eta_min + (rate - eta_min) * ratio
        scheduler.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(rate, rel=1e-12)


# ---- PyTorch's implementation switches: foreach, fused, capturable, differentiable ---------------------


@pytest.mark.parametrize("switches", [{"foreach": True}, {"foreach": False}, {"fused": True}, {"foreach": None}],
                         ids=["foreach", "foreach=False", "fused", "foreach=None"])
def test_sgd_takes_foreach_and_fused_and_updates_as_the_plain_loop(switches):
    """PyTorch's CPU build takes foreach=True and fused=True (they choose how its step loops); ours raised
    TypeError. They are kept in the group as given, and the update is p - lr (g + wd p) all the same."""
    p = parameter([1.0, -2.0])
    optimizer = SGD([p], lr=0.1, weight_decay=0.5, **switches)
    group = optimizer.param_groups[0]
    expected = {"foreach": None, "differentiable": False, "fused": None, **switches}
    assert {name: group[name] for name in expected} == expected
    p.grad = np.array([0.3, 0.4])
    optimizer.step()
    p0, g = np.array([1.0, -2.0]), np.array([0.3, 0.4])
    np.testing.assert_allclose(p.data, p0 - 0.1 * (g + 0.5 * p0), rtol=1e-15)


def test_adam_with_foreach_steps_as_written_out():
    """Adam(foreach=True) was a TypeError; its steps are Adam's, written out in numpy."""
    p0 = np.array([0.5, -1.0])
    p = parameter(p0)
    optimizer = Adam([p], lr=0.01, foreach=True)
    expected, m, v = p0, np.zeros(2), np.zeros(2)
    for t, g in enumerate([np.array([0.3, 0.7]), np.array([-0.2, 0.1])], start=1):
        p.grad = g.copy()
        optimizer.step()
        expected, m, v = adam_step(expected, g, m, v, t)
        np.testing.assert_allclose(p.data, expected, rtol=1e-14)


@pytest.mark.parametrize("kind, keys", [
    (SGD, ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach", "differentiable",
           "fused"]),
    (Adam, ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable",
            "fused", "decoupled_weight_decay"]),
    (mg.optim.AdamW, ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable",
                      "differentiable", "fused", "decoupled_weight_decay"]),
    (mg.optim.RMSprop, ["lr", "momentum", "alpha", "eps", "centered", "weight_decay", "capturable", "foreach",
                        "maximize", "differentiable"]),
    (mg.optim.Adagrad, ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "foreach", "maximize",
                        "differentiable", "fused"]),
    (mg.optim.Adadelta, ["lr", "rho", "eps", "weight_decay", "maximize", "capturable", "foreach", "differentiable"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_param_groups_hold_pytorchs_options_in_its_order(kind, keys):
    """A group holds what PyTorch 2.13's holds, in its order, so the state dict's param_groups match
    (before, the switches were missing)."""
    optimizer = kind([parameter([1.0])], foreach=True)
    assert list(optimizer.state_dict()["param_groups"][0]) == keys + ["params"]
    assert optimizer.param_groups[0]["foreach"] is True


def test_foreach_and_fused_together_raise_pytorchs_runtime_error():
    """As PyTorch's: both True is a RuntimeError, at construction and for a group added later."""
    with pytest.raises(RuntimeError, match="Adam: `fused` and `foreach` cannot be `True` together"):
        Adam([parameter([1.0])], foreach=True, fused=True)
    optimizer = SGD([parameter([1.0])], lr=0.1, foreach=True)
    with pytest.raises(RuntimeError, match="SGD.add_param_group: `fused` and `foreach` cannot be `True` together"):
        optimizer.add_param_group({"params": [parameter([2.0])], "fused": True})
    assert len(optimizer.param_groups) == 1


def test_rmsprop_takes_its_switches_positionally_as_pytorchs():
    """torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered, capturable, foreach,
    maximize, differentiable): all positional; ours made them keyword-only (TypeError)."""
    optimizer = mg.optim.RMSprop([parameter([1.0])], 0.01, 0.99, 1e-8, 0, 0, False, False, True, True)
    assert optimizer.param_groups[0]["foreach"] is True and optimizer.param_groups[0]["maximize"] is True


def test_adam_decoupled_weight_decay_is_adamws_update():
    """PyTorch's Adam takes decoupled_weight_decay=True (AdamW's update); ours raised TypeError. The
    step: p (1 - lr wd), then Adam's step from the plain gradient."""
    p0, g = np.array([0.5, -1.0]), np.array([0.3, 0.7])
    p = parameter(p0)
    optimizer = Adam([p], lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    p.grad = g.copy()
    optimizer.step()
    expected, _, _ = adam_step(p0 * (1 - 0.01 * 0.1), g, np.zeros(2), np.zeros(2), t=1)
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)


def test_a_state_dict_without_the_switches_loads_with_pytorchs_values_and_adamw_stays_decoupled():
    """A state dict saved before the switches were kept (ours, or an older PyTorch's) lacks them: it loads
    with foreach=None, fused=None, capturable=False, differentiable=False, decoupled_weight_decay=False,
    as PyTorch's __setstate__ fills them in; AdamW keeps decoupled_weight_decay=True whatever it loads."""
    old_group = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                 "maximize": False, "params": [0]}
    adam = Adam([parameter([1.0])], foreach=True)
    adam.load_state_dict({"state": {}, "param_groups": [dict(old_group)]})
    group = adam.param_groups[0]
    assert (group["foreach"], group["fused"], group["capturable"], group["differentiable"],
            group["decoupled_weight_decay"]) == (None, None, False, False, False)
    adamw = mg.optim.AdamW([parameter([1.0])])
    adamw.load_state_dict({"state": {}, "param_groups": [dict(old_group, decoupled_weight_decay=False)]})
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


def test_optimizer_repr_is_pytorchs_text():
    """PyTorch prints each group's options sorted, the groups parted by an empty line, and SGD's
    defaults as the ints 0; ours had no empty line and printed 0.0."""
    optimizer = SGD([parameter([1.0])], lr=0.1)
    optimizer.add_param_group({"params": [parameter([2.0])], "lr": 0.2})
    group = ("    dampening: 0\n    differentiable: False\n    foreach: None\n    fused: None\n    lr: {}\n"
             "    maximize: False\n    momentum: 0\n    nesterov: False\n    weight_decay: 0\n")
    assert repr(optimizer) == ("SGD (\nParameter Group 0\n" + group.format(0.1) + "\nParameter Group 1\n"
                               + group.format(0.2) + ")")


# ---- reprs as PyTorch prints them ------------------------------------------------------------------------


@pytest.mark.parametrize("module, text", [
    (lambda: nn.LayerNorm(4), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"),
    (lambda: nn.LayerNorm(4, bias=False), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=False)"),
    (lambda: nn.LayerNorm([2, 3], elementwise_affine=False), "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, "
                                                             "bias=False)"),
    (lambda: nn.BatchNorm1d(4, affine=False), "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=False, "
                                              "track_running_stats=True)"),
    (lambda: nn.Dropout(0), "Dropout(p=0, inplace=False)"),
], ids=["LayerNorm", "LayerNorm-bias=False", "LayerNorm-no-affine", "BatchNorm1d-no-affine", "Dropout-int-p"])
def test_norm_and_dropout_reprs_are_pytorchs_text(module, text):
    """PyTorch 2.13 prints `bias=` for LayerNorm and BatchNorm1d (whether there is a bias) and Dropout's p
    as given; ours left `bias=` out and printed p=0.0."""
    assert repr(module()) == text


def test_module_list_prints_a_run_of_equal_modules_on_one_line():
    """PyTorch's ModuleList repr folds consecutive equal reprs: `(0-2): 3 x Linear(...)`; ours printed each."""
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.Tanh(), nn.Linear(2, 2)])
    line = "Linear(in_features=2, out_features=2, bias=True)"
    assert repr(layers) == f"ModuleList(\n  (0-2): 3 x {line}\n  (3): Tanh()\n  (4): {line}\n)"
    assert repr(nn.ModuleList([nn.ModuleList([nn.Tanh()])] * 2)) == (
        "ModuleList(\n  (0-1): 2 x ModuleList(\n    (0): Tanh()\n  )\n)")


def test_batch_norm_without_bias_scales_and_adds_nothing(float64_default):
    """PyTorch's BatchNorm1d(..., bias=False) has a weight and no bias (ours had no bias argument):
    y = (x - mean) / sqrt(var + eps) * weight, the batch's biased variance."""
    norm = nn.BatchNorm1d(2, bias=False)
    assert norm.bias is None and list(norm.state_dict()) == ["weight", "running_mean", "running_var",
                                                             "num_batches_tracked"]
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    norm.load_state_dict(dict(norm.state_dict(), weight=np.array([2.0, -1.0])))
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5) * np.array([2.0, -1.0])
    np.testing.assert_allclose(norm(mg.tensor(x)).data, expected, rtol=1e-12)


# ---- Sequential and ModuleList: + += * --------------------------------------------------------------------


def test_sequential_plus_joins_two_into_a_new_one_numbered_afresh():
    """PyTorch's `Sequential + Sequential`: a new Sequential of the same module objects, named "0", "1", ...
    (ours raised TypeError); anything but a Sequential is a ValueError."""
    first, second = nn.Sequential(*linears(2)), nn.Sequential(nn.Linear(7, 1))
    named = nn.Sequential(OrderedDict(fc=nn.Linear(9, 1)))
    joined = named + first + second
    assert widths(joined) == [("0", 9), ("1", 1), ("2", 2), ("3", 7)]
    assert joined[1] is first[0] and len(first) == 2 and widths(named) == [("fc", 9)]
    with pytest.raises(ValueError, match="Sequential \\+: expected a Sequential, got list"):
        first + [nn.Tanh()]


def test_sequential_plus_equals_appends_after_its_own_names():
    """PyTorch's `seq += other`: other's modules named len(seq), len(seq) + 1, ... in place."""
    model = nn.Sequential(OrderedDict(fc=nn.Linear(1, 1), act=nn.Tanh()))
    held = model
    model += nn.Sequential(nn.Linear(5, 1), nn.Linear(6, 1))
    assert model is held and [name for name, _ in model.named_children()] == ["fc", "act", "2", "3"]
    assert [m.in_features for m in list(model)[2:]] == [5, 6]


def test_sequential_times_repeats_the_same_modules():
    """PyTorch's `seq * n` and `n * seq`: a new Sequential of the modules n times over, the same objects
    (so the copies share their parameters), and `seq *= n` in place; n must be an integer >= 1."""
    layer, act = nn.Linear(2, 2), nn.Tanh()
    model = nn.Sequential(layer, act)
    for repeated in (model * 3, 3 * model):
        assert list(repeated) == [layer, act] * 3
        assert list(repeated.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
        assert len(list(repeated.parameters())) == 2
    model *= 2
    assert list(model) == [layer, act, layer, act]
    with pytest.raises(ValueError, match="Sequential \\*: expected a number of repeats >= 1, got 0"):
        model * 0
    with pytest.raises(TypeError, match="Sequential \\*: expected an integer number of repeats, got float"):
        model * 2.0


def test_module_list_plus_takes_any_iterable_of_modules():
    """PyTorch's `ModuleList + iterable` is a new ModuleList numbered afresh and `+=` extends in place; a
    ModuleList has no `*` (TypeError), as PyTorch's. Ours had neither + nor +=."""
    modules = nn.ModuleList(linears(2))
    extra = nn.Linear(9, 1)
    joined = modules + [extra] + nn.Sequential(nn.Linear(8, 1))
    assert isinstance(joined, nn.ModuleList) and widths(joined) == [("0", 1), ("1", 2), ("2", 9), ("3", 8)]
    assert len(modules) == 2 and joined[2] is extra
    held = modules
    modules += (nn.Linear(5, 1) for _ in range(2))
    assert modules is held and widths(modules) == [("0", 1), ("1", 2), ("2", 5), ("3", 5)]
    with pytest.raises(TypeError, match="ModuleList \\+: expected an iterable of modules, got int"):
        modules + 5
    with pytest.raises(TypeError):
        modules * 2


# ---- Module.state_dict(destination=, prefix=, keep_vars=) --------------------------------------------------


def test_state_dict_takes_pytorchs_prefix_and_destination():
    """PyTorch's `state_dict(destination=d, prefix='enc.')` puts 'enc.' + name into d and returns d; ours
    took no arguments (TypeError)."""
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    destination = {"step": 7}
    result = model.state_dict(destination=destination, prefix="encoder.")
    assert result is destination
    assert list(result) == ["step", "encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias"]
    np.testing.assert_array_equal(result["encoder.1.bias"], model[1].bias.data)
    with pytest.raises(TypeError, match="Sequential.state_dict: expected prefix as a str"):
        model.state_dict(prefix=1)


def test_state_dict_keep_vars_gives_the_tensors_themselves():
    """`keep_vars=True`: the Parameter and buffer objects (ours only gave array copies); the default
    still gives copies, so changing them changes nothing."""
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    kept = model.state_dict(keep_vars=True)
    assert kept["0.weight"] is model[0].weight and kept["1.running_mean"] is model[1].running_mean
    copies = model.state_dict()
    assert copies["0.weight"] is not model[0].weight.data
    np.testing.assert_array_equal(copies["0.weight"], model[0].weight.data)


def test_state_dict_positional_arguments_warn_as_pytorchs():
    """PyTorch still takes (destination, prefix, keep_vars) positionally, with a FutureWarning."""
    model = nn.Linear(2, 1)
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        result = model.state_dict({}, "head.", True)
    assert list(result) == ["head.weight", "head.bias"] and result["head.weight"] is model.weight


def test_load_state_dict_takes_assign_false_and_refuses_true():
    """PyTorch's load_state_dict(state_dict, strict=True, assign=False): assign=False copies as before (it
    was a TypeError); assign=True, which keeps the dict's own tensors, raises TypeError saying so."""
    model = nn.Linear(2, 1)
    model.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([3.0])}, assign=False)
    np.testing.assert_array_equal(model.bias.data, [3.0])
    with pytest.raises(TypeError, match="load_state_dict: assign=True is not supported"):
        model.load_state_dict(model.state_dict(), assign=True)
