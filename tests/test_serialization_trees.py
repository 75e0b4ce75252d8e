"""mg.save / mg.load of checkpoints as PyTorch's tutorials write them: trees of dicts, lists,
tuples, scalars, strings, arrays and Tensors come back as they went in, without pickle."""

import io
import json
import math
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradseq as mg
from microgradseq.tensor import Tensor


def assert_same_tree(loaded, saved, where="obj"):
    """Equal in type, value, key order and key type all the way down; arrays in dtype and shape too."""
    if isinstance(saved, Tensor):
        assert isinstance(loaded, Tensor), where
        assert loaded.requires_grad == saved.requires_grad, where
        assert_same_tree(np.asarray(loaded._data), np.asarray(saved._data), where)
    elif isinstance(saved, (np.ndarray, np.generic)):
        assert type(loaded) is np.ndarray, where
        assert (loaded.dtype, loaded.shape) == (saved.dtype, np.shape(saved)), where
        np.testing.assert_array_equal(loaded, saved, err_msg=where)
    elif isinstance(saved, dict):
        assert type(loaded) is dict, where
        assert [(type(k), k) for k in loaded] == [(type(k), k) for k in saved], where
        for key in saved:
            assert_same_tree(loaded[key], saved[key], f"{where}[{key!r}]")
    elif isinstance(saved, (list, tuple)):
        assert type(loaded) is type(saved) and len(loaded) == len(saved), where
        for index, (got, want) in enumerate(zip(loaded, saved)):
            assert_same_tree(got, want, f"{where}[{index}]")
    elif isinstance(saved, float):
        assert type(loaded) is float, where
        assert (math.isnan(loaded) and math.isnan(saved)) or (
            loaded == saved and math.copysign(1, loaded) == math.copysign(1, saved)), where
    else:
        assert type(loaded) is type(saved) and loaded == saved, where


def round_trip(obj):
    buffer = io.BytesIO()
    mg.save(obj, buffer)
    buffer.seek(0)
    return mg.load(buffer)


def trained_lstm_and_adam():
    """A model and an optimizer after one step, so that the optimizer has state to save."""
    model = mg.nn.LSTM(3, 4, rng=np.random.default_rng(0))
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    output, _ = model(mg.tensor(np.random.default_rng(1).normal(size=(2, 1, 3)).astype(np.float32)))
    output.sum().backward()
    optimizer.step()
    return model, optimizer


# ---- checkpoints -------------------------------------------------------------------------------------

def test_a_checkpoint_as_pytorchs_tutorial_saves_it_comes_back_as_saved(tmp_path):
    model, optimizer = trained_lstm_and_adam()
    checkpoint = {"epoch": 3, "model_state_dict": model.state_dict(),
                  "optimizer_state_dict": optimizer.state_dict(), "loss": 0.25, "note": "best"}
    mg.save(checkpoint, tmp_path / "checkpoint.pt")
    assert_same_tree(mg.load(tmp_path / "checkpoint.pt"), checkpoint)


def test_a_loaded_checkpoint_restores_a_fresh_model_and_optimizer(tmp_path):
    """PyTorch's 'saving and loading a general checkpoint' recipe, its imports changed."""
    model, optimizer = trained_lstm_and_adam()
    mg.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict()},
            tmp_path / "checkpoint.pt")
    twin = mg.nn.LSTM(3, 4, rng=np.random.default_rng(5))
    twin_optimizer = mg.optim.Adam(twin.parameters(), lr=0.5)
    checkpoint = mg.load(tmp_path / "checkpoint.pt")
    twin.load_state_dict(checkpoint["model_state_dict"])
    twin_optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    assert_same_tree(twin.state_dict(), model.state_dict())
    assert_same_tree(twin_optimizer.state_dict(), optimizer.state_dict())


def test_int_and_str_keys_stay_apart():
    """An optimizer's state is keyed by int: 1 and '1' are two keys, each keeping its type."""
    tree = {1: "int", "1": "str", 0: {2: [3]}, -5: None}
    assert_same_tree(round_trip(tree), tree)


def test_tuples_stay_tuples_and_lists_stay_lists():
    tree = {"betas": (0.9, 0.999), "params": [0, 1], "nested": ([(), []], ([1],))}
    assert_same_tree(round_trip(tree), tree)


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 2 ** 100, 0.1, -0.0, 1e-310, math.inf,
                                   -math.inf, math.nan, "", "ünïcødé ✓", "\ud800", "line\nbreak\x00"])
def test_scalars_and_strings_come_back_with_their_type_and_value(value):
    assert_same_tree(round_trip({"v": value, "in a list": [value]}), {"v": value, "in a list": [value]})


@pytest.mark.parametrize("dtype", ["?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", ">f8",
                                   "c8", "c16"])
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (2, 3)])
def test_arrays_of_every_numeric_dtype_come_back_in_a_tree(dtype, shape):
    array = (np.arange(math.prod(shape)) % 3).astype(dtype).reshape(shape)
    tree = {"state": {0: {"exp_avg": array}}, "fortran": [np.asfortranarray(array)]}
    assert_same_tree(round_trip(tree), tree)


def test_a_numpy_scalar_in_a_tree_comes_back_as_a_0d_array_of_its_dtype():
    loaded = round_trip({"losses": [np.float32(0.25)]})["losses"][0]
    assert type(loaded) is np.ndarray and loaded.shape == () and loaded.dtype == np.float32
    assert loaded == np.float32(0.25)


def test_an_ordered_dict_comes_back_as_a_dict_with_its_order():
    from collections import OrderedDict
    tree = {"model": OrderedDict([("b", 1), ("a", 2)])}
    assert_same_tree(round_trip(tree), {"model": {"b": 1, "a": 2}})


def test_a_state_dict_holding_the_name___tree___is_still_a_state_dict():
    """A state dict's arrays are numbers, so an array named like the tree's member does not make it a tree."""
    state = {"__tree__": np.arange(3.0), "w": np.ones(2)}
    assert_same_tree(round_trip(state), state)


# ---- Tensors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: mg.tensor([1.0, 2.0]), lambda: mg.tensor([1.0, 2.0], requires_grad=True),
                                  lambda: mg.tensor(np.arange(3, dtype=np.int32)), lambda: mg.tensor(2.5)],
                         ids=["plain", "requires_grad", "int32", "0-d"])
def test_tensors_come_back_as_tensors_with_their_dtype_and_requires_grad(make):
    tensor = make()
    assert_same_tree(round_trip({"t": tensor}), {"t": tensor})


def test_a_tensor_with_history_comes_back_without_it():
    """A result of ops loads as a leaf: a backward pass through it stops there."""
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    loaded = round_trip({"y": leaf * 3.0})["y"]
    (loaded * 1.0).sum().backward()
    np.testing.assert_array_equal(loaded.grad, [1.0, 1.0])
    np.testing.assert_array_equal(loaded.detach().numpy(), [3.0, 6.0])
    assert leaf.grad is None


@pytest.mark.parametrize("obj", [np.arange(6.0).reshape(2, 3), np.array(7, dtype=np.int16),
                                 mg.tensor([[1.0], [2.0]]), 0.5, "text", None, [1, (2,)]],
                         ids=["array", "0-d array", "tensor", "float", "str", "None", "list"])
def test_save_takes_a_bare_tensor_array_or_value(tmp_path, obj):
    """mg.save(tensor, f) as torch.save(tensor, f)."""
    mg.save(obj, tmp_path / "x.pt")
    assert_same_tree(mg.load(tmp_path / "x.pt"), obj)


def test_the_file_is_an_npz_that_numpy_reads_without_pickle(tmp_path):
    """Every member is an NPY array numpy opens with allow_pickle=False; the skeleton is JSON text."""
    mg.save({"epoch": 3, "w": mg.tensor([1.0, 2.0])}, tmp_path / "checkpoint.npz")
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as archive:
        skeleton = json.loads(archive["__tree__"].item())
        np.testing.assert_array_equal(archive["0"], [1.0, 2.0])
    assert skeleton["root"]["dict"][0] == ["epoch", 3]


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.builds(np.array, st.lists(st.floats(width=32), max_size=3))
    | st.builds(mg.tensor, st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=3)),
    lambda children: st.lists(children, max_size=3) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=4) | st.integers(), children, max_size=3),
    max_leaves=12))
def test_any_tree_of_supported_values_comes_back_as_saved(tree):
    """(Inside a list: a dict of str -> array at the top is a state dict, whose names keep
    test_serialization.py's rules; keys inside a tree may be any str.)"""
    assert_same_tree(round_trip([tree]), [tree])


# ---- what save refuses -------------------------------------------------------------------------------

def test_save_refuses_a_module_inside_a_tree_and_says_to_save_its_state_dict(tmp_path):
    """torch.save({'model': model}) pickles the module; here the error says what to save instead."""
    with pytest.raises(TypeError, match=r"save: cannot store obj\['model'\] \(a LSTM\): store "
                                        r"obj\['model'\]\.state_dict\(\) instead"):
        mg.save({"epoch": 1, "model": mg.nn.LSTM(2, 3)}, tmp_path / "checkpoint.pt")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_function_naming_where_in_the_tree_it_is(tmp_path):
    path = tmp_path / "checkpoint.pt"
    mg.save({"epoch": 1}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"save: cannot store obj\['a'\]\[1\]\['f'\] \(a function\): expected dicts"):
        mg.save({"a": [0, {"f": lambda: None}]}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.parametrize("key", [1.5, (1, 2), True, None], ids=["float", "tuple", "bool", "None"])
def test_save_refuses_dict_keys_other_than_str_or_int(key):
    with pytest.raises(TypeError, match=r"save: cannot store obj\['state'\]: its key .* keys must be str or int"):
        mg.save({"state": {key: 1}}, io.BytesIO())


@pytest.mark.parametrize("array", [np.array(["a"]), np.array([{}], dtype=object), np.array(["2020-01-01"],
                                                                                          dtype="datetime64[D]")],
                         ids=["str", "object", "datetime"])
def test_save_refuses_an_array_that_is_not_numbers_inside_a_tree(array):
    with pytest.raises(TypeError, match=r"save: cannot store obj\['x'\]\[0\] \(an array of dtype"):
        mg.save({"x": [array]}, io.BytesIO())


def test_save_refuses_a_tree_that_holds_itself():
    looped = [1]
    looped.append(looped)
    with pytest.raises(ValueError, match=r"save: obj\['l'\]\[1\] holds itself \(a list\)"):
        mg.save({"l": looped}, io.BytesIO())


def test_save_refuses_a_tree_nested_too_deeply_naming_save():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValueError, match="save: the tree is nested too deeply"):
        mg.save(deep, io.BytesIO())


def test_save_refuses_an_int_too_long_for_json_naming_save():
    """Python converts ints of at most 4,300 digits to text (sys.set_int_max_str_digits)."""
    with pytest.raises(ValueError, match="save: the tree cannot be written as JSON"):
        mg.save({"n": 10 ** 5000}, io.BytesIO())


# ---- what load refuses -------------------------------------------------------------------------------

def _with_skeleton(skeleton_text, arrays=()):
    """An archive laid out as save lays out a tree, its skeleton text and arrays given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in [("__tree__", np.array(skeleton_text)), *arrays]:
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    buffer.seek(0)
    return buffer


def _skeleton(root):
    return json.dumps({"format": "microgradseq.tree", "version": 1, "root": root})


@pytest.mark.parametrize("text, arrays", [
    ("not json", ()),
    ("[" * 100_000, ()),
    (json.dumps({"format": "other", "version": 1, "root": 1}), ()),
    (json.dumps({"format": "microgradseq.tree", "version": 2, "root": 1}), ()),
    (_skeleton([1, 2]), ()),
    (_skeleton({"array": 5}), [("0", np.ones(1))]),
    (_skeleton({"array": True}), [("1", np.ones(1))]),
    (_skeleton({"list": [{"array": 0}, {"array": 0}]}), [("0", np.ones(1))]),
    (_skeleton(1), [("0", np.ones(1))]),
    (_skeleton({"dict": [[1.5, 1]]}), ()),
    (_skeleton({"tensor": 0}), [("0", np.ones(1))]),
    (_skeleton({"tensor": 0, "requires_grad": True}), [("0", np.ones(1, dtype=np.int64))]),
    (_skeleton({"set": []}), ()),
], ids=["not JSON", "deep JSON", "another format", "another version", "untagged list", "missing array",
        "bool index", "array named twice", "array not named", "float key", "tensor without flag",
        "int tensor requiring grad", "unknown tag"])
def test_load_refuses_a_damaged_or_foreign_skeleton_with_a_value_error_naming_load(text, arrays):
    with pytest.raises(ValueError, match="load: .* is not a readable .npz file"):
        mg.load(_with_skeleton(text, arrays))


def test_load_refuses_a_skeleton_that_is_not_one_string():
    buffer = _with_skeleton("")
    with zipfile.ZipFile(buffer, "w") as archive, archive.open("__tree__.npy", "w") as member:
        np.lib.format.write_array(member, np.array([_skeleton(1), _skeleton(2)]), allow_pickle=False)
    buffer.seek(0)
    with pytest.raises(ValueError, match=r"load: .*'__tree__' member has the shape \(2,\)"):
        mg.load(buffer)


# ---- torch.load's keywords ---------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["cpu", "cpu:0", None])
def test_load_accepts_map_location_of_the_cpu(tmp_path, device):
    """torch.load(path, map_location='cpu') ports unchanged."""
    mg.save({"w": np.ones(2)}, tmp_path / "m.pt")
    assert_same_tree(mg.load(tmp_path / "m.pt", map_location=device), {"w": np.ones(2)})


def test_load_refuses_map_location_of_another_device_naming_load(tmp_path):
    mg.save({"w": np.ones(2)}, tmp_path / "m.pt")
    with pytest.raises(RuntimeError, match="load: device 'cuda:0' is not available"):
        mg.load(tmp_path / "m.pt", map_location="cuda:0")


@pytest.mark.parametrize("where", [{"cuda:0": "cpu"}, lambda storage, location: storage], ids=["dict", "function"])
def test_load_takes_old_scripts_ways_of_mapping_onto_the_cpu(tmp_path, where):
    mg.save({"w": np.ones(2)}, tmp_path / "m.pt")
    np.testing.assert_array_equal(mg.load(tmp_path / "m.pt", map_location=where)["w"], np.ones(2))


def test_load_refuses_a_map_location_dict_onto_another_device(tmp_path):
    mg.save({"w": np.ones(2)}, tmp_path / "m.pt")
    with pytest.raises(RuntimeError, match="load: device 'cuda:1' is not available"):
        mg.load(tmp_path / "m.pt", map_location={"cuda:0": "cuda:1"})


@pytest.mark.parametrize("weights_only", [True, False, None])
def test_load_accepts_weights_only_and_reads_the_same_either_way(tmp_path, weights_only):
    """Nothing is ever unpickled, so weights_only changes nothing."""
    tree = {"epoch": 2, "w": mg.tensor([1.0])}
    mg.save(tree, tmp_path / "m.pt")
    assert_same_tree(mg.load(tmp_path / "m.pt", weights_only=weights_only), tree)


def test_load_refuses_weights_only_that_is_not_a_bool(tmp_path):
    mg.save({"w": np.ones(2)}, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="load: weights_only must be True or False, got 'yes'"):
        mg.load(tmp_path / "m.pt", weights_only="yes")
