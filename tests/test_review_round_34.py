"""Review round 34: "bad input gets a clear error, and nothing is lost", probed where earlier rounds did not.

Each probe calls a public function with one bad thing in it (often in the LAST param group, after good
ones), checks that the error names the function, what was expected and what came, and compares copies of
every parameter, gradient, option and state entry (and a saved file's bytes) before and after.

Found and fixed here:
- a complex parameter was taken by every optimizer: its first step ran the real formulas on complex numbers
  (Adam's exp_avg_sq = g * g, not |g|^2; LBFGS dropped the imaginary part with a ComplexWarning) and its
  second step raised (the state check wants floating-point arrays). PyTorch steps a complex parameter as its
  real and imaginary parts (`_view_as_real` in pytorch/pytorch torch/optim/optimizer.py, commit
  bf6a61dc1d8e88941fb3b10f4a106e4d0f48d98b) and Adafactor refuses one ("Adafactor does not support complex
  parameters", torch/optim/_adafactor.py, commit 5f65158aefc31977355102011b310a7d020e5604). Here the
  constructor and add_param_group refuse it (TypeError) before anything changes.
- `load_state_dict` took any `'initial_lr'` in a saved group ('x', -1): a schedule made afterwards with
  last_epoch=k took it as its base rate. It is now checked with the other options (a finite number >= 0).
- LBFGS's `load_state_dict` printed a whole array when a saved number (`ro[i]`) was an array; cut to 80 chars.

Expected values come from hand-written numpy (SGD with momentum, Adam), never from the library.
"""

from __future__ import annotations

import copy
import os
import zipfile

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import lr_scheduler as sched

O = mg.optim
STEPPERS = [O.SGD, O.Adam, O.AdamW, O.NAdam, O.RAdam, O.Adamax, O.RMSprop, O.Adagrad, O.Adadelta, O.Rprop,
            O.ASGD, O.Adafactor]


def _kw(cls):
    return {"lr": 0.1, "momentum": 0.9} if cls is O.SGD else {"lr": 0.01}


def _leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, mg.Tensor):
        return a is b
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _snapshot(params, optimizer=None):
    taken = [(p._data.copy(), None if p.grad is None else np.array(p.grad, copy=True)) for p in params]
    if optimizer is None:
        return taken
    groups = [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    sizes = [len(g["params"]) for g in optimizer.param_groups]
    return taken, groups, sizes, copy.deepcopy(list(optimizer.state)), list(optimizer.params)


def _three_trained(cls, steps=2):
    """Two groups, (3,) then (2, 2) and (4,); `steps` steps with gradients 1 taken."""
    a, b, c = _leaf([0.5, -1.0, 2.0]), _leaf([[1.0, 2.0], [-0.5, 0.25]]), _leaf([0.1, 0.2, -0.3, 0.4])
    optimizer = cls([{"params": [a]}, {"params": [b, c]}], **_kw(cls))
    for _ in range(steps):
        for p in (a, b, c):
            p.grad = np.ones(p.shape)
        optimizer.step()
    return optimizer, [a, b, c]


# ---- load_state_dict: one bad entry in the last group ---------------------------------------------------

@pytest.mark.parametrize("cls", STEPPERS, ids=lambda c: c.__name__)
def test_a_wrong_shape_in_the_last_groups_last_state_changes_nothing(cls):
    optimizer, params = _three_trained(cls)
    saved = optimizer.state_dict()
    name = next(n for n, v in saved["state"][2].items() if isinstance(v, np.ndarray) and v.shape == (4,))
    saved["state"][2][name] = np.zeros(5)
    for p in params:
        p.grad = np.full(p.shape, 2.0)
    optimizer.step()                                  # (state differs from the saved one's)
    before = _snapshot(params, optimizer)
    with pytest.raises(ValueError) as caught:
        optimizer.load_state_dict(saved)
    text = str(caught.value)
    assert text.startswith(f"{cls.__name__}.load_state_dict:")
    assert f"parameter 2's {name}" in text and "(4,)" in text and "(5,)" in text
    assert _same(before, _snapshot(params, optimizer))


@pytest.mark.parametrize("source, target", [(O.Adam, O.SGD), (O.SGD, O.Adam), (O.RMSprop, O.Adagrad),
                                            (O.Adagrad, O.Adadelta), (O.Rprop, O.ASGD), (O.NAdam, O.Adafactor),
                                            ], ids=lambda c: c.__name__)
def test_another_optimizers_state_dict_is_refused_naming_the_options_it_lacks(source, target):
    theirs = _three_trained(source)[0].state_dict()
    a, b, c = _leaf([1.0, 2.0, 3.0]), _leaf([[1.0, 0.0], [0.0, 1.0]]), _leaf([1.0, 1.0, 1.0, 1.0])
    ours = target([{"params": [a]}, {"params": [b, c]}], lr=0.5)
    before = _snapshot([a, b, c], ours)
    with pytest.raises(ValueError, match=rf"^{target.__name__}\.load_state_dict: param group 0 of the state "
                                         rf"dict lacks the option\(s\) .* of {target.__name__}"):
        ours.load_state_dict(theirs)
    assert _same(before, _snapshot([a, b, c], ours))


def test_a_bad_initial_lr_in_the_last_saved_group_is_refused():
    optimizer, params = _three_trained(O.SGD)
    sched.StepLR(optimizer, 2)                        # (every group holds 'initial_lr' 0.1)
    for bad in ("x", -1.0, float("nan")):
        saved = optimizer.state_dict()
        saved["param_groups"][1]["initial_lr"] = bad
        before = _snapshot(params, optimizer)
        with pytest.raises(ValueError, match=r"^SGD\.load_state_dict: param_groups\[1\]\['initial_lr'\] must be "
                                             r"a finite number >= 0, got "):
            optimizer.load_state_dict(saved)
        assert _same(before, _snapshot(params, optimizer))
    saved = optimizer.state_dict()
    saved["param_groups"][1]["initial_lr"] = 0.05     # a good one loads, and a schedule resumes from it
    optimizer.load_state_dict(saved)
    assert sched.StepLR(optimizer, 2, last_epoch=3).base_lrs == [0.1, 0.05]


def test_a_bad_initial_lr_set_by_hand_stops_the_step_before_any_change():
    optimizer, params = _three_trained(O.Adam, steps=1)
    optimizer.param_groups[1]["initial_lr"] = "0.1"
    for p in params:
        p.grad = np.ones(p.shape)
    before = _snapshot(params, optimizer)
    with pytest.raises(ValueError, match=r"^Adam\.step: param_groups\[1\]\['initial_lr'\] must be a finite "
                                         r"number >= 0, got '0\.1'"):
        optimizer.step()
    assert _same(before, _snapshot(params, optimizer))


def test_lbfgs_names_a_bad_saved_number_without_printing_a_whole_array():
    a, b = _leaf([1.0, -2.0, 0.5]), _leaf([0.0, 3.0])
    optimizer = O.LBFGS([a, b], lr=0.5, history_size=3)

    def closure():
        optimizer.zero_grad()
        loss = (a * a).sum() + ((b - 1.0) * (b - 1.0)).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    saved = optimizer.state_dict()
    saved["state"][0]["ro"][-1] = np.zeros(10_000)
    before = _snapshot([a, b], optimizer)
    with pytest.raises(ValueError, match=r"^LBFGS\.load_state_dict: LBFGS's ro\[\d\] must be a number, got "
                                         r"array\(") as caught:
        optimizer.load_state_dict(saved)
    assert len(str(caught.value)) < 200
    assert _same(before, _snapshot([a, b], optimizer))


# ---- complex parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", STEPPERS + [O.LBFGS], ids=lambda c: c.__name__)
def test_a_complex_parameter_is_refused_by_the_constructor(cls):
    z = mg.tensor(np.array([1 + 2j, -1 + 0.5j]), requires_grad=True)
    real = _leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=rf"^{cls.__name__}: item 1 is a complex tensor \(complex128\); the "
                                        "optimizers here train real floating-point parameters"):
        cls([real, z], lr=0.1)
    assert np.array_equal(z._data, [1 + 2j, -1 + 0.5j]) and np.array_equal(real._data, [1.0, 2.0])


@pytest.mark.parametrize("cls", [O.SGD, O.Adam, O.Adafactor], ids=lambda c: c.__name__)
def test_add_param_group_refuses_a_complex_parameter_and_keeps_the_groups(cls):
    optimizer, params = _three_trained(cls, steps=1)
    z = mg.tensor(np.ones(3, dtype=np.complex64), requires_grad=True)
    before = _snapshot(params, optimizer)
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.add_param_group: param group 2: item 1 is a complex "
                                        r"tensor \(complex64\)"):
        optimizer.add_param_group({"params": [_leaf([1.0]), z], "lr": 0.5})
    assert _same(before, _snapshot(params, optimizer))
    assert len(optimizer.param_groups) == 2 and len(optimizer.state) == 3


def test_a_frozen_complex_parameter_is_kept_as_frozen_real_ones_are():
    frozen = mg.nn.Parameter(mg.tensor(np.array([1j, 2.0 + 0j])), requires_grad=False)
    p = _leaf([1.0, -1.0])
    optimizer = O.SGD([p, frozen], lr=0.5)
    p.grad = np.array([0.25, -0.5])
    optimizer.step()
    assert np.array_equal(p._data, np.array([1.0, -1.0]) - 0.5 * np.array([0.25, -0.5]))
    assert np.array_equal(frozen._data, [1j, 2.0 + 0j])


# ---- the step: the implementation switches, a grad None among others, float16 ---------------------------

@pytest.mark.parametrize("cls", [O.SGD, O.Adam, O.Adagrad, O.RMSprop], ids=lambda c: c.__name__)
@pytest.mark.parametrize("name, value, error", [("foreach", "yes", ValueError), ("foreach", 1, ValueError),
                                                ("maximize", None, ValueError),
                                                ("differentiable", True, TypeError)])
def test_a_bad_switch_in_the_last_group_stops_the_step_before_any_change(cls, name, value, error):
    optimizer, params = _three_trained(cls, steps=1)
    optimizer.param_groups[1][name] = value
    for p in params:
        p.grad = np.full(p.shape, 0.5)
    before = _snapshot(params, optimizer)
    with pytest.raises(error, match=rf"^{cls.__name__}\.step: param_groups\[1\]\['{name}'\]"):
        optimizer.step()
    assert _same(before, _snapshot(params, optimizer))


@pytest.mark.parametrize("cls", [O.Adam, O.RMSprop, O.Adadelta, O.Rprop, O.Adamax],
                         ids=lambda c: c.__name__)
def test_capturable_true_in_an_added_group_is_refused_and_nothing_is_added(cls):
    optimizer, params = _three_trained(cls, steps=1)
    before = _snapshot(params, optimizer)
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.add_param_group: param_groups\[2\]\['capturable'\]"
                                        r"=True is not supported \(only False or None"):
        optimizer.add_param_group({"params": [_leaf([1.0, 2.0])], "capturable": True})
    assert _same(before, _snapshot(params, optimizer))


def test_foreach_and_fused_give_sgds_momentum_update_and_a_grad_none_is_skipped():
    """buf_1 = g_1, buf_2 = 0.9 buf_1 + g_2, p -= lr buf, per parameter; a parameter whose grad is None takes no
    step and keeps no state, as PyTorch's."""
    a, b, c = _leaf([1.0, 2.0]), _leaf([3.0]), _leaf([-1.0, 0.5])
    optimizer = O.SGD([{"params": [a], "foreach": True}, {"params": [b, c], "fused": True}], lr=0.1, momentum=0.9)
    ga, gc = [np.array([0.5, -1.0]), np.array([1.0, 1.0])], [np.array([2.0, 0.0]), np.array([-1.0, 3.0])]
    expected_a, expected_c, buf_a, buf_c = np.array([1.0, 2.0]), np.array([-1.0, 0.5]), None, None
    for step in range(2):
        a.grad, b.grad, c.grad = ga[step], None, gc[step]
        optimizer.step()
        buf_a = ga[step] if buf_a is None else 0.9 * buf_a + ga[step]
        buf_c = gc[step] if buf_c is None else 0.9 * buf_c + gc[step]
        expected_a, expected_c = expected_a - 0.1 * buf_a, expected_c - 0.1 * buf_c
    np.testing.assert_allclose(a._data, expected_a, rtol=0, atol=1e-15)
    np.testing.assert_allclose(c._data, expected_c, rtol=0, atol=1e-15)
    assert np.array_equal(b._data, [3.0]) and optimizer.state[b] == {}


def test_adam_keeps_a_float16_parameter_and_its_state_in_float16():
    """One Adam step from zero moments: m = (1 - b1) g, v = (1 - b2) g^2, p -= lr m / (1 - b1) / (sqrt(v / (1 - b2))
    + eps) = lr g / (|g| + eps), in float64 by hand; float16 keeps about 3 digits."""
    start, grad = np.array([0.5, -1.0, 2.0]), np.array([0.25, -4.0, 1.0])
    p = mg.tensor(start.astype(np.float16), requires_grad=True)
    other = _leaf([1.0])
    optimizer = O.Adam([other, p], lr=0.01)
    p.grad = grad.astype(np.float16)                  # (other's grad stays None)
    optimizer.step()
    assert p.dtype == np.float16 and p._data.dtype == np.float16
    assert all(v.dtype == np.float16 for v in optimizer.state[p].values() if isinstance(v, np.ndarray))
    np.testing.assert_allclose(p._data.astype(np.float64), start - 0.01 * grad / (np.abs(grad) + 1e-8), rtol=2e-3)
    assert np.array_equal(other._data, [1.0]) and optimizer.state[other] == {}


# ---- schedules and modules ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [sched.SequentialLR, sched.ChainedScheduler], ids=lambda c: c.__name__)
def test_a_composite_whose_last_schedules_state_is_bad_changes_nothing(kind):
    p = _leaf([1.0, 2.0])
    optimizer = O.SGD([p], lr=0.1)
    parts = [sched.ConstantLR(optimizer, factor=0.5, total_iters=2), sched.ExponentialLR(optimizer, 0.9)]
    composite = (kind(optimizer, parts, milestones=[2]) if kind is sched.SequentialLR else kind(parts))
    for _ in range(3):
        composite.step()
    saved = composite.state_dict()
    saved["_schedulers"][-1]["last_epoch"] = "x"
    if kind is sched.SequentialLR:
        saved["last_epoch"] = 7
    before = (composite.state_dict(), [s.state_dict() for s in parts], optimizer.param_groups[0]["lr"])
    with pytest.raises(ValueError, match=r"^ExponentialLR\.load_state_dict: last_epoch must be an integer >= -1, "
                                         r"got 'x'"):
        composite.load_state_dict(saved)
    after = (composite.state_dict(), [s.state_dict() for s in parts], optimizer.param_groups[0]["lr"])
    assert repr(before) == repr(after)


def test_module_load_state_dict_with_a_bad_last_entry_changes_nothing():
    model = mg.nn.Sequential(mg.nn.Linear(3, 2), mg.nn.BatchNorm1d(2), mg.nn.Linear(2, 1))
    tensors = list(model.parameters()) + list(model.buffers())
    saved = {name: value + 1 for name, value in model.state_dict().items()}
    saved["2.bias"] = np.zeros(2)
    before = _snapshot(tensors)
    with pytest.raises(ValueError, match=r"^load_state_dict for Sequential: 2\.bias: expected shape \(1,\), got "
                                         r"\(2,\) \(no parameter was changed\)$"):
        model.load_state_dict(saved)
    assert _same(before, _snapshot(tensors))


# ---- saving ---------------------------------------------------------------------------------------------

@pytest.fixture
def saved_file(tmp_path):
    path = tmp_path / "model.npz"
    mg.save({"w": np.arange(6.0).reshape(2, 3), "b": np.array([1.5, -2.0])}, path)
    return path, path.read_bytes()


def _leftovers(path):
    return sorted(name for name in os.listdir(path.parent) if name != path.name)


@pytest.mark.parametrize("raised", [RuntimeError("disk on fire"), KeyboardInterrupt()], ids=type)
def test_an_exception_while_writing_the_second_member_keeps_the_old_file(saved_file, monkeypatch, raised):
    path, old = saved_file
    write, calls = np.lib.format.write_array, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise raised
        return write(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(type(raised)):
        mg.save({"w": np.zeros((2, 3)), "b": np.zeros(2), "c": np.ones(1)}, path)
    assert len(calls) == 2 and path.read_bytes() == old and _leftovers(path) == []


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failing_rename_or_fsync_keeps_the_old_file_and_names_save(saved_file, monkeypatch, failing):
    path, old = saved_file

    def fails(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fails)
    with pytest.raises(OSError, match=rf"save: could not write {path}: No space left on device"):
        mg.save({"w": np.zeros((2, 3))}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old and _leftovers(path) == []


def test_a_folder_is_refused_naming_save_and_a_file_name_to_give(saved_file):
    path, old = saved_file
    with pytest.raises(IsADirectoryError, match=rf"^save: {path.parent} is a folder; give a file name such as "):
        mg.save({"w": np.zeros(2)}, path.parent)
    assert path.read_bytes() == old and _leftovers(path) == []


def test_an_unsaveable_value_deep_in_a_checkpoint_is_refused_before_writing(saved_file):
    path, old = saved_file
    p = _leaf([1.0, 2.0])
    optimizer = O.Adam([p])
    p.grad = np.ones(2)
    optimizer.step()
    checkpoint = {"epoch": 3, "optimizer": optimizer.state_dict(), "extra": [1, {"hook": print}]}
    with pytest.raises(TypeError, match=r"^save: cannot store obj\['extra'\]\[1\]\['hook'\]"):
        mg.save(checkpoint, path)
    assert path.read_bytes() == old and _leftovers(path) == []


def test_a_refused_temporary_file_keeps_the_old_file_and_names_save(saved_file, monkeypatch):
    """What a read-only folder does, for a user that is not root: creating the temporary file is refused."""
    path, old = saved_file
    real_open = os.open

    def refusing(name, flags, *args):
        if os.fspath(name).endswith(".tmp"):
            raise PermissionError(13, "Permission denied")
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", refusing)
    with pytest.raises(PermissionError, match=rf"save: could not write {path}: Permission denied"):
        mg.save({"w": np.zeros(2)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old and _leftovers(path) == []


def test_an_optimizer_checkpoint_is_npy_members_only_and_loads_back(tmp_path):
    a, b = _leaf([1.0, 2.0]), _leaf([[0.5], [-0.5]])
    optimizer = O.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.array([1.0, -1.0]), np.array([[2.0], [0.0]])
    optimizer.step()
    path = tmp_path / "opt.npz"
    mg.save(optimizer.state_dict(), path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names and all(name.endswith(".npy") for name in names)
        for name in names:                            # no member needs pickle to be read
            with archive.open(name) as member:
                assert np.lib.format.read_array(member, allow_pickle=False).dtype != object
    fresh = O.Adam([{"params": [_leaf([1.0, 2.0])]}, {"params": [_leaf([[0.5], [-0.5]])], "lr": 0.5}], lr=0.1)
    fresh.load_state_dict(mg.load(path))
    # Adam's first step from zero moments: m = 0.1 g, v = 0.001 g^2 (b1 = 0.9, b2 = 0.999)
    np.testing.assert_allclose(fresh.state[0]["exp_avg"], 0.1 * np.array([1.0, -1.0]), rtol=1e-15)
    np.testing.assert_allclose(fresh.state[1]["exp_avg_sq"], (1 - 0.999) * np.array([[4.0], [0.0]]), rtol=1e-15)
    assert fresh.state[0]["step"] == 1 and fresh.param_groups[1]["lr"] == 0.5


@pytest.mark.xfail(strict=True, reason="Module.load_state_dict hands a module only the shapes it loads "
                                       "(_loads_shapes), not the values: AveragedModel cannot refuse a negative "
                                       "n_averaged, whose next update_parameters divides by n + 1 = 0 (NaN weights; "
                                       "PyTorch checks nothing either)")
def test_averaged_model_refuses_a_negative_n_averaged():
    model = mg.nn.Linear(2, 1)
    averaged = O.swa_utils.AveragedModel(model)
    saved = averaged.state_dict()
    saved["n_averaged"] = np.array(-1)
    before = _snapshot(list(averaged.parameters()) + list(averaged.buffers()))
    with pytest.raises(ValueError, match=r"n_averaged"):
        averaged.load_state_dict(saved)
    assert _same(before, _snapshot(list(averaged.parameters()) + list(averaged.buffers())))
