"""mg.save / mg.load: every name and array comes back exactly, from a path or a file object."""

import io
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradseq as mg


def _assert_same(loaded, saved):
    assert list(loaded) == list(saved)
    for name, array in saved.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)


def _refused(name: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in name)


@settings(max_examples=150, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4, unique=True))
def test_every_name_save_accepts_comes_back_exactly_and_the_rest_are_refused(names):
    """Any non-empty string without a control character or unpaired surrogate round-trips
    (suffixes such as '.npy', slashes and non-ASCII included); the others raise ValueError
    before anything is written."""
    state = {name: np.full(index + 1, float(index)) for index, name in enumerate(names)}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        if any(_refused(name) for name in names):
            with pytest.raises(ValueError, match="save: the name"):
                mg.save(state, path)
            assert not path.exists() and not list(Path(folder).iterdir())
        else:
            mg.save(state, path)
            _assert_same(mg.load(path), state)


def test_names_that_differ_by_an_npy_suffix_each_keep_their_own_array(tmp_path):
    state = {"x.npy": np.zeros(2), "x": np.ones(3)}
    mg.save(state, tmp_path / "model.npz")
    _assert_same(mg.load(tmp_path / "model.npz"), state)


def test_dtypes_shapes_and_memory_orders_come_back_as_saved(tmp_path):
    state = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3),
             "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
             "big_endian": np.arange(3, dtype=">f8"), "int": np.arange(4), "bool": np.array([True]),
             "complex": np.array(1 + 2j), "empty": np.zeros((0, 3)), "scalar": np.float64(2.5)}
    mg.save(state, tmp_path / "model.npz")
    _assert_same(mg.load(tmp_path / "model.npz"), {k: np.asarray(v) for k, v in state.items()})


def test_loaded_arrays_are_the_callers_to_change():
    buffer = io.BytesIO()
    mg.save({"w": np.ones(2)}, buffer)
    buffer.seek(0)
    loaded = mg.load(buffer)["w"]
    loaded[0] = 5.0
    np.testing.assert_array_equal(loaded, [5.0, 1.0])


def test_a_module_round_trips_through_a_binary_file_object_as_torch_save_does(tmp_path):
    """torch.save(model.state_dict(), f) / model.load_state_dict(torch.load(f)) with open files."""
    model = mg.nn.Linear(3, 2, rng=np.random.default_rng(0))
    with open(tmp_path / "model.pt", "wb") as f:
        mg.save(model.state_dict(), f)
    twin = mg.nn.Linear(3, 2, rng=np.random.default_rng(1))
    with open(tmp_path / "model.pt", "rb") as f:
        twin.load_state_dict(mg.load(f))
    _assert_same(twin.state_dict(), model.state_dict())


def test_load_reads_an_unseekable_stream():
    buffer = io.BytesIO()
    mg.save({"w": np.arange(3.0)}, buffer)

    class Stream(io.RawIOBase):
        def __init__(self, data):
            self.data = data

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), len(self.data))
            b[:n], self.data = self.data[:n], self.data[n:]
            return n

    _assert_same(mg.load(io.BufferedReader(Stream(buffer.getvalue()))), {"w": np.arange(3.0)})


def test_load_reads_what_numpy_savez_writes(tmp_path):
    state = {"a": np.ones(2), "b": np.arange(6.0).reshape(2, 3)}
    np.savez(tmp_path / "plain.npz", **state)
    np.savez_compressed(tmp_path / "compressed.npz", **state)
    _assert_same(mg.load(tmp_path / "plain.npz"), state)
    _assert_same(mg.load(tmp_path / "compressed.npz"), state)


def test_an_empty_state_round_trips(tmp_path):
    mg.save({}, tmp_path / "empty.npz")
    assert mg.load(tmp_path / "empty.npz") == {}


@pytest.mark.parametrize("f", [None, 3])
def test_save_and_load_name_what_they_take_when_f_is_neither_a_path_nor_a_file(f):
    with pytest.raises(TypeError, match="save: f must be a path or a binary file object, got"):
        mg.save({"w": np.ones(1)}, f)
    with pytest.raises(TypeError, match="load: f must be a path or a binary file object, got"):
        mg.load(f)


def test_saving_over_a_file_keeps_its_permissions_and_follows_a_link(tmp_path):
    """A private file stays private, and a symbolic link stays a link to the file that now holds the
    new arrays (save writes a temporary file beside the target and moves it over the target)."""
    import os
    import stat
    target, link = tmp_path / "m.npz", tmp_path / "link.npz"
    mg.save({"a": np.zeros(2)}, target)
    os.chmod(target, 0o600)
    os.symlink(target.name, link)
    mg.save({"b": np.ones(3)}, link)
    assert link.is_symlink() and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(mg.load(target)) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "m.npz"]


def test_saving_a_function_or_into_a_folder_names_save_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot store obj\['a'\] \(a function\)"):
        mg.save({"a": lambda: None}, tmp_path / "x.npz")
    with pytest.raises(IsADirectoryError, match="save: .* is a folder"):
        mg.save({"a": np.ones(2)}, tmp_path)
    assert list(tmp_path.iterdir()) == []
