"""Optimizer state_dict / load_state_dict in torch.optim's layout: copies, all-or-nothing loading,
state cast to the parameter's dtype; continued training checked against a numpy Adam loop."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adam

LR, BETA1, BETA2, EPS = 0.05, 0.9, 0.99, 1e-8


def parameter(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def grads(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(2) for _ in range(count)]


def numpy_adam(start, gradients):
    """torch.optim.Adam's documented update, the parameter after each step."""
    theta, m, v, out = np.array(start, dtype=np.float64), 0.0, 0.0, []
    for t, g in enumerate(gradients, start=1):
        m = BETA1 * m + (1 - BETA1) * g
        v = BETA2 * v + (1 - BETA2) * g * g
        theta = theta - LR * (m / (1 - BETA1 ** t)) / (np.sqrt(v / (1 - BETA2 ** t)) + EPS)
        out.append(theta)
    return out


def trained_adam(steps=2):
    """(a, b, optimizer): Adam over two groups after `steps` steps of a's gradients; b never had one."""
    a, b = parameter([1.0, -1.0]), parameter([0.5, 0.5])
    optimizer = Adam([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=LR, betas=(BETA1, BETA2), eps=EPS)
    for g in grads(steps):
        a.grad = g
        optimizer.step()
    return a, b, optimizer


def test_state_dict_has_pytorchs_layout():
    """{'state': {number: {...}}, 'param_groups': [{options..., 'params': [numbers]}]}: parameters
    numbered in order over the groups, only those with state under 'state'."""
    _, _, optimizer = trained_adam()
    saved = optimizer.state_dict()
    assert set(saved) == {"state", "param_groups"}
    assert list(saved["state"]) == [0] and set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert saved["state"][0]["step"] == 2
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert saved["param_groups"][1] == {"lr": 0.2, "betas": (BETA1, BETA2), "eps": EPS, "weight_decay": 0.0,
                                        "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                                        "differentiable": False, "fused": None, "decoupled_weight_decay": False,
                                        "params": [1]}


def test_state_dict_arrays_are_copies():
    """Writing into the dict's arrays (they are writeable) leaves the optimizer's state alone."""
    _, _, optimizer = trained_adam()
    saved = optimizer.state_dict()
    before = optimizer.state[0]["exp_avg"].copy()
    saved["state"][0]["exp_avg"][...] = 99.0
    saved["param_groups"][0]["lr"] = 1.0
    np.testing.assert_array_equal(optimizer.state[0]["exp_avg"], before)
    assert optimizer.param_groups[0]["lr"] == LR


def test_a_fresh_optimizer_loaded_from_a_state_dict_carries_on_the_numpy_loop():
    """Two steps, save; a new Adam on new parameters with those values, loaded, takes steps 3..5 as
    one uninterrupted run of the formula would."""
    gradients = grads(5)
    a, _, optimizer = trained_adam(steps=2)
    saved = optimizer.state_dict()
    a2, b2 = parameter(a.data), parameter([0.5, 0.5])
    fresh = Adam([{"params": [a2]}, {"params": [b2]}], lr=1.0)        # options come from the dict
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == LR and fresh.param_groups[1]["lr"] == 0.2
    expected = numpy_adam([1.0, -1.0], gradients)
    for t in range(2, 5):
        a2.grad = gradients[t]
        fresh.step()
        np.testing.assert_allclose(a2.data, expected[t], rtol=1e-12, err_msg=f"step {t + 1}")


def test_load_state_dict_copies_the_arrays():
    """Writing into the loaded dict afterwards does not reach the optimizer."""
    _, _, optimizer = trained_adam()
    saved = optimizer.state_dict()
    other = trained_adam(steps=0)[2]
    other.load_state_dict(saved)
    kept = saved["state"][0]["exp_avg"].copy()
    saved["state"][0]["exp_avg"][...] = 99.0
    np.testing.assert_array_equal(other.state[0]["exp_avg"], kept)


def test_load_state_dict_casts_state_to_the_parameters_dtype():
    """float64 moments loaded into an optimizer of float32 parameters become float32, as PyTorch casts
    a loaded state to its parameter's dtype."""
    _, _, optimizer = trained_adam()
    saved = optimizer.state_dict()
    a, b = parameter([1.0, -1.0], np.float32), parameter([0.5, 0.5], np.float32)
    single = Adam([{"params": [a]}, {"params": [b]}])
    single.load_state_dict(saved)
    assert single.state[0]["exp_avg"].dtype == np.float32
    np.testing.assert_allclose(single.state[0]["exp_avg"], saved["state"][0]["exp_avg"], rtol=1e-7)


def unchanged(optimizer, before):
    """Whether the optimizer's options and state are those of `before` (a state_dict)."""
    now = optimizer.state_dict()
    assert now["param_groups"] == before["param_groups"]
    assert now["state"].keys() == before["state"].keys()
    for number, entry in before["state"].items():
        assert now["state"][number].keys() == entry.keys()
        for name, value in entry.items():
            np.testing.assert_array_equal(now["state"][number][name], value)
    return True


def corrupt(change):
    def make():
        saved = trained_adam(steps=3)[2].state_dict()
        change(saved)
        return saved
    return make


@pytest.mark.parametrize("make, message", [
    (lambda: [1, 2], r"expected a dict with the keys 'state' and 'param_groups'.*got list"),
    (corrupt(lambda s: s["param_groups"].pop()),
     "expected 2 param groups \\(this optimizer's\\), the state dict has 1"),
    (corrupt(lambda s: s["param_groups"][1]["params"].append(7)),
     "param group 1 has 1 parameters here, 2 in the state dict"),
    (corrupt(lambda s: s["state"][0].update(exp_avg=np.zeros(3))),
     r"parameter 0's exp_avg must be a floating-point array of shape \(2,\).*got float64 of shape \(3,\)"),
    (corrupt(lambda s: s["state"][0].update(exp_avg=np.zeros(2, dtype=np.int64))),
     r"parameter 0's exp_avg must be a floating-point array.*got int64"),
    (corrupt(lambda s: s["state"][0].update(momentum_buffer=np.zeros(2))),
     "parameter 0 has state 'momentum_buffer', which Adam does not keep"),
    (corrupt(lambda s: s["state"].update({5: {}})),
     "the state dict has state for parameter 5, which none of its param_groups lists"),
    (corrupt(lambda s: s["state"][0].update(step=-1)), "parameter 0's step must be an integer >= 0, got -1"),
    (corrupt(lambda s: s["param_groups"][1].update(lr=float("nan"))),
     r"param_groups\[1\]\['lr'\] must be a finite number >= 0, got nan"),
    (corrupt(lambda s: s["state"][0].pop("exp_avg_sq")),
     "the state of parameter 0 lacks exp_avg_sq, which Adam keeps with these options"),
    (corrupt(lambda s: s["state"][0].pop("step")), "the state of parameter 0 lacks step"),
    (corrupt(lambda s: s["param_groups"][0].update(amsgrad=True)),
     "the state of parameter 0 lacks max_exp_avg_sq, which Adam keeps with these options"),
    (lambda: SGD([{"params": [parameter([0.0, 0.0])]}, {"params": [parameter([0.0, 0.0])]}], lr=0.5).state_dict(),
     r"param group 0 of the state dict lacks the option\(s\) betas, eps, amsgrad of Adam \(is it another "
     r"optimizer's state dict\?\)"),
], ids=["not a dict", "group count", "group size", "shape", "dtype", "unknown state", "unknown parameter",
        "negative step", "bad lr", "no exp_avg_sq", "no step", "amsgrad without its maximum", "SGD's"])
def test_a_bad_state_dict_is_refused_naming_load_state_dict_and_nothing_changes(make, message):
    """Every check runs before anything is replaced: the optimizer keeps its options and state."""
    _, _, optimizer = trained_adam(steps=1)
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=f"Adam.load_state_dict: {message}"):
        optimizer.load_state_dict(make())
    assert unchanged(optimizer, before)


def test_sgd_round_trip_keeps_the_momentum_buffer():
    """SGD's state (momentum_buffer) comes back: the next step is momentum * buf + g from it."""
    p = parameter([0.0, 0.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([1.0, 2.0])
    optimizer.step()
    q = parameter(p.data)
    loaded = SGD([q])
    loaded.load_state_dict(optimizer.state_dict())
    q.grad = np.array([1.0, 1.0])
    loaded.step()
    buffer = 0.9 * np.array([1.0, 2.0]) + np.array([1.0, 1.0])
    np.testing.assert_allclose(q.data, -0.1 * np.array([1.0, 2.0]) - 0.1 * buffer, rtol=1e-15)


@pytest.mark.parametrize("name", ["grad_avg", "momentum_buffer"])
def test_rmsprop_refuses_state_without_what_its_options_keep(name):
    """Centered RMSprop keeps a mean gradient, with momentum a buffer: a saved step without them is
    refused (taken as zeros, the next update would be silently wrong)."""
    p = parameter([1.0, 2.0])
    optimizer = mg.optim.RMSprop([p], lr=0.1, centered=True, momentum=0.5)
    p.grad = np.array([1.0, -1.0])
    optimizer.step()
    saved = optimizer.state_dict()
    del saved["state"][0][name]
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=f"RMSprop.load_state_dict: the state of parameter 0 lacks {name}"):
        optimizer.load_state_dict(saved)
    assert unchanged(optimizer, before)


def test_a_parameter_that_never_stepped_loads_with_no_state():
    """Empty state is a parameter before its first step, not a damaged entry."""
    a, b, optimizer = trained_adam(steps=2)
    saved = optimizer.state_dict()
    assert 1 not in saved["state"]
    saved["state"][1] = {}
    optimizer.load_state_dict(saved)
    assert optimizer.state[1] == {}
