"""Review round 18, nn and optim against PyTorch: state dicts as PyTorch writes them (an optimizer's
float `step`, a schedule's bookkeeping entries) and the list methods of `Sequential` and
`ModuleList`. Expected values come from hand-written numpy updates, closed forms
and list semantics, never from the library's own earlier output.

Each test names one behaviour and says in its docstring what was wrong before.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.optim import SGD, Adam
from microgradseq.optim.lr_scheduler import ReduceLROnPlateau, StepLR

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
