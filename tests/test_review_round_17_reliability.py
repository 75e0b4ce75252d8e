"""Review round 17, reliability: modules' attributes and state dicts, the optimizers' state and its
round trip through `mg.save`/`mg.load`, and saving over a file, checked against PyTorch's documented
behaviour and hand-written numpy references (never against the library's own earlier output).

Each test names one behaviour and says in its docstring what was wrong before.
"""

from __future__ import annotations

import collections
import io
import itertools
import os
from collections import OrderedDict

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn

F64 = np.float64


def through_a_file(obj):
    """`obj` after `mg.save` and `mg.load` (a checkpoint as a script writes and reads it)."""
    buffer = io.BytesIO()
    mg.save(obj, buffer)
    buffer.seek(0)
    return mg.load(buffer)


def linear_with_grad(x: np.ndarray) -> tuple[nn.Linear, np.ndarray]:
    """A float64 Linear(2, 1) whose weight has the gradient of sum(model(x)): the column sums of x."""
    model = nn.Linear(2, 1, dtype=F64)
    model(mg.Tensor(x)).sum().backward()
    return model, x.sum(axis=0, keepdims=True)


# ---- a module's attributes -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [mg.Tensor(np.zeros((3, 2), np.float32)), np.zeros((3, 2), np.float32), 0.5],
                         ids=["Tensor", "ndarray", "float"])
def test_assigning_what_is_not_a_parameter_to_a_parameters_name_raises_and_keeps_the_parameter(value):
    """`model.weight = <a Tensor>` (as `self.w = F.softmax(self.w)` in a forward) silently took the
    parameter out of parameters() and state_dict(), so it was neither trained nor saved; PyTorch raises
    TypeError "cannot assign ... as parameter 'weight' (torch.nn.Parameter or None expected)"."""
    model = nn.Linear(2, 3)
    weight = model.weight
    with pytest.raises(TypeError, match=r"Linear: cannot assign '\w+' as parameter 'weight' \(a Parameter or None"):
        model.weight = value
    assert model.weight is weight
    assert [name for name, _ in model.named_parameters()] == ["weight", "bias"]
    assert list(model.state_dict()) == ["weight", "bias"]


def test_assigning_what_is_not_a_module_to_a_childs_name_raises_and_keeps_the_child():
    """`model.fc = 3` silently dropped the child `fc` and its parameters from the model; PyTorch
    raises TypeError "cannot assign 'int' as child module 'fc' (torch.nn.Module or None expected)"."""
    model = nn.Module()
    model.fc = child = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Module: cannot assign 'int' as child module 'fc' "
                                        r"\(a Module or None expected\)"):
        model.fc = 3
    assert model.fc is child and list(model.state_dict()) == ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("key", ["forward", "a.b", ""])
def test_sequential_refuses_a_mapping_key_that_pytorchs_add_module_refuses(key):
    """`Sequential(OrderedDict(forward=...))` made the child an instance attribute `forward`, so calling
    the Sequential ran that child alone; "a.b" and "" made names that no state dict can tell apart.
    PyTorch's Sequential adds each entry with add_module, which raises KeyError for all three."""
    with pytest.raises(KeyError, match="Sequential"):
        nn.Sequential(OrderedDict([(key, nn.Linear(2, 2)), ("last", nn.Linear(2, 1))]))


def test_module_list_extend_with_an_entry_that_is_not_a_module_adds_nothing():
    """`ModuleList.extend([Linear, "x"])` appended the Linear, then raised on "x": a failed call
    changed the list (ModuleDict.update checks every entry first)."""
    modules = nn.ModuleList([nn.Linear(1, 1)])
    with pytest.raises(TypeError, match="ModuleList: entry 2 must be a Module, got str"):
        modules.extend([nn.Linear(1, 1), "x"])
    assert len(modules) == 1 and list(modules.state_dict()) == ["0.weight", "0.bias"]


def test_a_module_holding_itself_lists_each_name_once_and_its_state_dict_ends():
    """A module that held itself made `named_modules(remove_duplicate=False)` endless, so
    `state_dict()`, `load_state_dict()` and `mg.save(model)` never returned, growing in memory.
    (`apply` already visits such a module once.)"""
    model = nn.Sequential(nn.Linear(1, 1))
    model.add_module("again", model)
    names = [name for name, _ in itertools.islice(model.named_modules(remove_duplicate=False), 50)]
    assert names == ["", "0"]
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


def test_lazy_batch_norm_refuses_a_state_dict_whose_entries_disagree_on_the_size():
    """LazyBatchNorm1d took weight (3,), bias (4,) and running_mean (5,) from one state dict without
    a word; the next call then reset bias and running_mean to zeros and ones of the input's size,
    losing the loaded values. load_state_dict promises to check every shape first and change nothing."""
    norm = nn.LazyBatchNorm1d()
    state = {"weight": np.full(3, 2.0, np.float32), "bias": np.full(4, 5.0, np.float32),
             "running_mean": np.full(5, 7.0, np.float32), "running_var": np.ones(3, np.float32),
             "num_batches_tracked": np.array(0)}
    with pytest.raises(ValueError, match="load_state_dict"):
        norm.load_state_dict(state)
    assert type(norm) is nn.LazyBatchNorm1d and norm.weight.shape == (0,)


# ---- an optimizer's state ------------------------------------------------------------------------------

def test_assigning_a_fresh_defaultdict_to_optimizer_state_starts_it_afresh():
    """`optimizer.state = collections.defaultdict(dict)`, PyTorch's way to restart an optimizer, made
    the next step fail with IndexError "list index out of range". Now the next Adam step is a first
    one again: each entry moves by lr * g / (|g| + eps)."""
    x = np.array([[1.0, -2.0], [0.5, 4.0]])
    model, grad = linear_with_grad(x)
    optimizer = mg.optim.Adam(model.parameters(), lr=0.1)
    optimizer.step()
    optimizer.state = collections.defaultdict(dict)
    before = model.weight.data.copy()
    optimizer.step()
    np.testing.assert_allclose(model.weight.data, before - 0.1 * grad / (np.abs(grad) + 1e-8), rtol=1e-12)
    assert optimizer.state[model.weight]["step"] == 1


def test_deleting_a_parameters_state_forgets_it_and_leaves_the_others_in_place():
    """`del optimizer.state[p]` raised a TypeError about indexing with a tensor, and
    `del optimizer.state[0]` removed a list entry, shifting every later parameter's momentum onto the
    parameter before it. Now it forgets p's state alone, as deleting from PyTorch's dict does."""
    a, b = mg.Tensor([1.0, 2.0], requires_grad=True, dtype=F64), mg.Tensor([3.0, 4.0], requires_grad=True, dtype=F64)
    ga, gb = np.array([0.5, -1.0]), np.array([2.0, 1.0])
    optimizer = mg.optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = ga, gb
    optimizer.step()                                    # buffers: ga and gb
    del optimizer.state[a]
    a_before, b_before = a.data.copy(), b.data.copy()
    optimizer.step()
    np.testing.assert_allclose(a.data, a_before - 0.1 * ga)                 # a's buffer starts again: ga
    np.testing.assert_allclose(b.data, b_before - 0.1 * (0.9 * gb + gb))    # b's carries on
    assert len(optimizer.state) == 2


def test_optimizer_state_clear_starts_every_parameter_afresh():
    """`optimizer.state.clear()` emptied the list of states, so the next step failed with
    IndexError; PyTorch's clears its dict and the next step is each parameter's first."""
    p = mg.Tensor([1.0, -1.0], requires_grad=True, dtype=F64)
    g = np.array([0.25, 2.0])
    optimizer = mg.optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = g
    optimizer.step()
    optimizer.state.clear()
    before = p.data.copy()
    optimizer.step()
    np.testing.assert_allclose(p.data, before - 0.5 * g)
    np.testing.assert_array_equal(optimizer.state[p]["momentum_buffer"], g)


def test_an_optimizer_state_shifted_by_a_list_method_is_refused_at_step_and_nothing_changes():
    """`optimizer.state` is a list underneath, one entry per parameter: `state.insert(0, {})` shifted
    every parameter's state onto the next parameter, and the step then used a's momentum for b
    without a word. Now the step sees the count is wrong, raises naming SGD.step, and changes nothing."""
    a, b = mg.Tensor([1.0, 2.0], requires_grad=True, dtype=F64), mg.Tensor([3.0, 4.0], requires_grad=True, dtype=F64)
    optimizer = mg.optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.array([0.5, -1.0]), np.array([2.0, 1.0])
    optimizer.step()
    optimizer.state.insert(0, {})
    a_before, b_before = a.data.copy(), b.data.copy()
    with pytest.raises(ValueError, match="SGD.step: optimizer.state holds 3 entries for 2 parameters"):
        optimizer.step()
    np.testing.assert_array_equal(a.data, a_before)
    np.testing.assert_array_equal(b.data, b_before)


# ---- an optimizer's and a schedule's state dict through mg.save and mg.load ----------------------------

def test_optimizer_options_given_as_numpy_numbers_survive_save_and_load():
    """An optimizer made with `lr=np.float64(...)` (from `np.logspace`, say) saved its options as numpy
    numbers, which mg.load gives back as 0-d arrays, and load_state_dict then refused its own checkpoint
    ("lr must be a finite number >= 0, got array(0.01)"). Now they load as the numbers they are."""
    x = np.array([[1.0, 2.0]])
    model, grad = linear_with_grad(x)
    lr = np.logspace(-2, -1, 3)[0]
    optimizer = mg.optim.SGD(model.parameters(), lr=lr, momentum=np.float32(0.5))
    optimizer.step()                                    # buffer: grad
    fresh = mg.optim.SGD(model.parameters(), lr=1.0)
    fresh.load_state_dict(through_a_file(optimizer.state_dict()))
    before = model.weight.data.copy()
    fresh.step()
    np.testing.assert_allclose(model.weight.data, before - 0.01 * (0.5 * grad + grad), rtol=1e-12)
    assert fresh.param_groups[0]["lr"] == 0.01 and fresh.param_groups[0]["momentum"] == 0.5


def test_a_multistep_schedule_survives_save_and_load():
    """MultiStepLR keeps its milestones as a Counter, which mg.save writes as a dict; loading that
    checkpoint's state dict raised "milestones must be a Counter". Now the reloaded schedule carries on
    with the closed form base_lr * gamma ^ (milestones passed)."""
    p = mg.Tensor([1.0], requires_grad=True)
    optimizer = mg.optim.SGD([p], lr=1.0)
    schedule = mg.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)
    schedule.step()
    fresh = mg.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[100], gamma=0.5)
    fresh.load_state_dict(through_a_file(schedule.state_dict()))
    rates = []
    for _ in range(4):                                  # epochs 2, 3, 4, 5
        fresh.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == [0.5, 0.5, 0.25, 0.25]
    fresh.step(7)
    assert optimizer.param_groups[0]["lr"] == 0.25


def test_a_schedule_over_rates_given_as_numpy_numbers_survives_save_and_load():
    """A schedule over an lr given as a numpy number kept its base_lrs as numpy numbers; through
    mg.save and mg.load they became 0-d arrays and load_state_dict refused them. Now the reloaded
    StepLR carries on with base_lr * gamma ^ floor(epoch / step_size)."""
    p = mg.Tensor([1.0], requires_grad=True)
    optimizer = mg.optim.SGD([p], lr=np.float64(0.8))
    schedule = mg.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=np.float64(0.5))
    schedule.step()
    fresh = mg.optim.lr_scheduler.StepLR(optimizer, step_size=7)
    fresh.load_state_dict(through_a_file(schedule.state_dict()))
    fresh.step(5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.8 * 0.5 ** 2)


def test_lbfgs_with_a_numpy_lr_survives_save_and_load():
    """LBFGS with `lr=np.float64(...)` keeps its step t as a numpy number; its state dict came back
    from mg.load with 0-d arrays for lr and t, and load_state_dict refused both. Now it loads, and the
    numbers are the ones saved."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    model = nn.Linear(2, 1, dtype=F64)
    optimizer = mg.optim.LBFGS(model.parameters(), lr=np.float64(0.5), max_iter=3)

    def closure():
        optimizer.zero_grad()
        loss = ((model(mg.Tensor(x)) - mg.Tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    saved = optimizer.state_dict()
    optimizer.load_state_dict(through_a_file(saved))
    assert optimizer.param_groups[0]["lr"] == 0.5
    assert optimizer.state[0]["t"] == float(saved["state"][0]["t"])


# ---- saving over a file --------------------------------------------------------------------------------

def test_save_refuses_to_replace_a_read_only_file(tmp_path, monkeypatch):
    """save wrote a new file and renamed it over a read-only one (and kept it read-only), where
    `open(f, "wb")` (torch.save's, numpy.savez's) raises PermissionError: a checkpoint made read-only
    to protect it was replaced. (The tests may run as root, whom chmod does not stop: then an
    unprivileged user's answer from the system is given.)"""
    path = tmp_path / "best.npz"
    mg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda target, mode, **kw: False if (
            os.fspath(target) == os.fspath(path) and mode & os.W_OK) else real_access(target, mode, **kw))
    with pytest.raises(PermissionError, match=f"save: could not write {path}: Permission denied"):
        mg.save({"w": np.zeros(2)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["best.npz"]


def test_save_writes_into_a_gzip_file_object_as_torch_save_does(tmp_path):
    """`mg.save(state, gzip.open(path, "wb"))` failed half-way with OSError "Negative seek in write
    mode" (zipfile saw a seekable file and went back to fill in each member's size), leaving a damaged
    file. Now a file object is written in one pass, and the arrays come back as saved."""
    import gzip

    state = {"weight": np.arange(6.0).reshape(2, 3), "mask": np.array([True, False])}
    with gzip.open(tmp_path / "model.npz.gz", "wb") as handle:
        mg.save(state, handle)
    with gzip.open(tmp_path / "model.npz.gz", "rb") as handle:
        loaded = mg.load(handle)
    assert list(loaded) == ["weight", "mask"]
    np.testing.assert_array_equal(loaded["weight"], state["weight"])
    np.testing.assert_array_equal(loaded["mask"], state["mask"])
