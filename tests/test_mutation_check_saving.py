"""Tests written by a mutation check of saving, loading and state dicts (serialization.py,
checkpoints.py, nn/module.py state_dict/load_state_dict, optim/state_dict.py): each one kills a
hand-made mutant that the rest of the suite let through. Expected values come from the documented
contract and hand-written numpy, never from the library's own output."""

import io
import zipfile

import numpy as np
import pytest

import microgradseq as mg


def _npz(members, extra=b""):
    """An .npz (zip of NPY members) built by hand: name -> array, `extra` appended to the last member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        items = list(members.items())
        for i, (name, array) in enumerate(items):
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(array), allow_pickle=False)
            data = npy.getvalue() + (extra if i == len(items) - 1 else b"")
            archive.writestr(name + ".npy", data)
    buffer.seek(0)
    return buffer


# ---- load: what a file may hold ---------------------------------------------------------------------

def test_load_refuses_a_state_dict_member_of_text():
    """load's contract: a member that is not an NPY array of numbers raises ValueError naming load
    (a unicode array in a plain state-dict file must not come back as an array of str)."""
    f = _npz({"w": np.arange(3.0), "label": np.array(["a", "bc"])})
    with pytest.raises(ValueError, match="load: .*label"):
        mg.load(f)


def test_load_refuses_a_member_with_bytes_after_its_array():
    """load's contract: a header whose shape does not match the bytes that follow raises ValueError,
    also when the member holds more bytes than the shape says (3 float64 = 24 bytes, 8 more follow)."""
    f = _npz({"w": np.arange(3.0)}, extra=b"\x00" * 8)
    with pytest.raises(ValueError, match="load: .*24 bytes.*32 bytes"):
        mg.load(f)


def test_load_refuses_a_member_named_only_npy():
    """A member named '.npy' would stand for the empty name, which save never writes (it refuses
    empty names): load raises ValueError naming load, rather than giving {'': array}."""
    f = _npz({"": np.arange(2.0)})
    with pytest.raises(ValueError, match="load: .*'.npy'"):
        mg.load(f)


def test_load_of_a_missing_file_names_load_and_the_path(tmp_path):
    """Errors name the public function: a missing file is FileNotFoundError saying 'load:' and the path."""
    missing = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match=f"^load: .*{missing.name}"):
        mg.load(missing)


def test_a_state_dict_holding_a_numpy_scalar_is_written_one_member_per_name(tmp_path):
    """save's layout: a dict of str -> numpy array *or numpy scalar* is a state dict, one member
    '<name>.npy' per entry, which numpy.load(allow_pickle=False) reads by name (not a JSON tree)."""
    target = tmp_path / "s.npz"
    mg.save({"w": np.arange(2.0), "scale": np.float32(2.5)}, target)
    with np.load(target, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["scale", "w"]
        assert archive["scale"].shape == () and archive["scale"].dtype == np.float32
        assert archive["scale"] == np.float32(2.5)
        np.testing.assert_array_equal(archive["w"], [0.0, 1.0])


# ---- optimizer load_state_dict ----------------------------------------------------------------------

def _param(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_optimizer_maps_saved_parameter_numbers_by_position_not_by_value():
    """As torch.optim: the saved groups' parameter numbers, in order, stand for this optimizer's
    parameters in the same places, whatever the numbers are. A hand-made dict numbering them 10 and 20
    puts the state of 20 on the second parameter (one SGD momentum step then checks it by hand)."""
    a, b = _param([1.0, 2.0]), _param([3.0, 4.0])
    optimizer = mg.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.5)
    saved = {"state": {20: {"momentum_buffer": np.array([1.0, -1.0])}},
             "param_groups": [{**{k: v for k, v in g.items() if k != "params"}, "params": [n]}
                              for g, n in zip(optimizer.param_groups, (10, 20))]}
    optimizer.load_state_dict(saved)
    a.grad, b.grad = np.array([1.0, 1.0]), np.array([1.0, 1.0])
    optimizer.step()
    # a had no buffer: buf = g = 1 -> a - 0.1; b: buf = 0.5 * [1, -1] + 1 = [1.5, 0.5] -> b - 0.1 * buf
    np.testing.assert_allclose(a.data, [0.9, 1.9])
    np.testing.assert_allclose(b.data, [3.0 - 0.15, 4.0 - 0.05])


def test_optimizer_checks_each_parameters_state_against_its_own_groups_options():
    """Adam keeps max_exp_avg_sq only under amsgrad=True: state for the parameter of an amsgrad group
    (group 1) that lacks it is refused (ValueError naming load_state_dict), even though group 0 does not
    use amsgrad; and nothing changes."""
    a, b = _param([1.0]), _param([2.0])
    optimizer = mg.optim.Adam([{"params": [a], "amsgrad": False}, {"params": [b], "amsgrad": True}], lr=0.1)
    saved = optimizer.state_dict()
    saved["state"] = {1: {"step": 1, "exp_avg": np.array([0.1]), "exp_avg_sq": np.array([0.01])}}
    with pytest.raises(ValueError, match="Adam.load_state_dict: .*max_exp_avg_sq"):
        optimizer.load_state_dict(saved)
    assert list(optimizer.state[b]) == [] and list(optimizer.state[a]) == []


# ---- Module state_dict / load_state_dict --------------------------------------------------------------

class _Buffers(mg.nn.Module):
    """A persistent buffer `count` and a non-persistent one `mask`, plus a child with a buffer of its own."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", mg.tensor(np.array([3.0])))
        self.register_buffer("mask", mg.tensor(np.array([1.0, 0.0])), persistent=False)
        self.inner = mg.nn.Module()
        self.inner.register_buffer("scratch", mg.tensor(np.array([7.0])), persistent=False)


def test_named_buffers_lists_non_persistent_buffers_too_but_state_dict_does_not():
    """named_buffers: 'every buffer that is not None, persistent or not' (as PyTorch); state_dict holds
    only the persistent one."""
    net = _Buffers()
    assert [name for name, _ in net.named_buffers()] == ["count", "mask", "inner.scratch"]
    np.testing.assert_array_equal(dict(net.named_buffers())["mask"].data, [1.0, 0.0])
    assert list(net.state_dict()) == ["count"]


class _Counting(mg.optim.Optimizer):
    """An optimizer of one's own (state_names None: any state): plain SGD that keeps a list of the
    gradient norms it has seen in its state."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    def update(self, data, grad, state, group):
        state["norms"] = state.get("norms", []) + [float(np.linalg.norm(grad))]
        return data - group["lr"] * grad


def test_a_custom_optimizers_state_is_copied_both_ways():
    """optim/state_dict.py: 'Arrays are copied both ways, so the dict and the optimizer never share
    one' -- also a list kept by an optimizer of one's own: changing the dict after load_state_dict, or
    the optimizer's state after state_dict, leaves the other as it was."""
    p = _param([3.0, 4.0])
    optimizer = _Counting([p])
    saved = {"state": {0: {"norms": [5.0]}}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    optimizer.load_state_dict(saved)
    saved["state"][0]["norms"].append(99.0)
    assert optimizer.state[p]["norms"] == [5.0]
    out = optimizer.state_dict()
    optimizer.state[p]["norms"].append(7.0)
    assert out["state"][0]["norms"] == [5.0]


def test_registering_a_non_persistent_buffer_again_as_persistent_saves_it():
    """register_buffer(name, t) (persistent=True, the default) on a name registered with persistent=False
    makes it persistent, as PyTorch's discard from _non_persistent_buffers_set: it is then in state_dict."""
    net = _Buffers()
    net.register_buffer("mask", mg.tensor(np.array([0.0, 1.0])))
    assert list(net.state_dict()) == ["count", "mask"]
    np.testing.assert_array_equal(net.state_dict()["mask"], [0.0, 1.0])


def test_assigning_to_a_non_persistent_buffer_keeps_it_out_of_state_dict():
    """`self.mask = t` on a non-persistent buffer replaces its tensor and keeps it non-persistent (as
    PyTorch's __setattr__, which only swaps the entry in _buffers): state_dict still lacks it, and a
    strict load without it works."""
    net = _Buffers()
    net.mask = mg.tensor(np.array([5.0, 5.0]))
    np.testing.assert_array_equal(dict(net.named_buffers())["mask"].data, [5.0, 5.0])
    assert list(net.state_dict()) == ["count"]
    net.load_state_dict({"count": np.array([4.0])})
    np.testing.assert_array_equal(net.count.data, [4.0])


def test_optimizer_refuses_a_parameter_number_listed_twice_and_changes_nothing():
    """Two groups both listing parameter 0: ValueError naming load_state_dict (a number stands for one
    parameter), and the optimizer's options and state stay as they were."""
    a, b = _param([1.0]), _param([2.0])
    optimizer = mg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.1, momentum=0.9)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["lr"] = 5.0
    saved["param_groups"][1]["params"] = [0]
    saved["state"] = {0: {"momentum_buffer": np.array([1.0])}}
    with pytest.raises(ValueError, match="SGD.load_state_dict: .*twice"):
        optimizer.load_state_dict(saved)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.3]
    assert dict(optimizer.state[a]) == {} and dict(optimizer.state[b]) == {}


def test_optimizer_refuses_a_dict_with_keys_besides_state_and_param_groups():
    """The library's documented check ('expected a dict with the keys 'state' and 'param_groups''): a
    checkpoint-like dict with an extra key is refused naming load_state_dict, not half read."""
    a = _param([1.0])
    optimizer = mg.optim.SGD([a], lr=0.1)
    saved = {**optimizer.state_dict(), "epoch": 3}
    with pytest.raises(ValueError, match="SGD.load_state_dict: expected a dict with the keys 'state' and "
                                         "'param_groups'.*epoch"):
        optimizer.load_state_dict(saved)
