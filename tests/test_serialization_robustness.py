"""mg.save / mg.load on damaged files, odd file objects and paths: found by an audit, each case raises
the documented error naming the function (never zlib's, lzma's or zipfile's own), or just works."""

import builtins
import io
import os
import stat
import struct
import zipfile

import numpy as np
import pytest

import microgradseq as mg

STATE = {"a": np.arange(40.0), "b": np.ones((3, 4), np.float32)}


def _zip_of(method):
    """STATE as an .npz whose members are compressed with `method`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, array in STATE.items():
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return bytearray(buffer.getvalue())


def _data_offset(data, index=0):
    """Where member `index`'s (compressed) bytes start: after its local header, name and extra field."""
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[index]
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + name_length + extra_length


def _assert_load_refuses(data, reason):
    with pytest.raises(ValueError, match=f"load: .* is not a readable .npz file .*{reason}"):
        mg.load(io.BytesIO(bytes(data)))


# ---- damaged archives --------------------------------------------------------------------------------

def test_load_turns_a_corrupted_deflate_member_into_a_value_error():
    """np.savez_compressed's members are deflated; damaged ones made zlib.error escape."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **STATE)
    data = bytearray(buffer.getvalue())
    start = _data_offset(data)
    data[start:start + 3] = b"\xff\xff\xff"             # a block of the reserved type 3
    _assert_load_refuses(data, "invalid block type")


def test_load_turns_a_corrupted_lzma_member_into_a_value_error():
    data = _zip_of(zipfile.ZIP_LZMA)
    data[_data_offset(data) + 4] = 0xFF                # the LZMA properties byte (lc, lp, pb) out of range
    _assert_load_refuses(data, "")


def test_load_turns_a_member_flagged_as_encrypted_into_a_value_error():
    """zipfile asks for a password (RuntimeError); save never encrypts, so the file is foreign."""
    data = _zip_of(zipfile.ZIP_STORED)
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    data[info.header_offset + 6] |= 0x1                # the local header's general purpose flags
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1                           # and the central directory's
    _assert_load_refuses(data, "'a.npy' is encrypted")


def test_load_refuses_an_npy_header_whose_shape_holds_a_bool():
    """numpy's header parser lets (True,) through as a shape; it made a TypeError escape."""
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (True,)})
    member.write(bytes(8))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("w.npy", member.getvalue())
    _assert_load_refuses(buffer.getvalue(), r"'w.npy' claims the shape \(True,\)")


# ---- file objects ------------------------------------------------------------------------------------

class _ReadOnly:
    """A file-like object with read() and nothing else (no seekable, seek or tell)."""

    def __init__(self, data):
        self.data = data

    def read(self, size=-1):
        data, self.data = self.data, b""
        return data


def test_load_reads_a_file_object_that_has_read_and_nothing_else():
    buffer = io.BytesIO()
    mg.save(STATE, buffer)
    loaded = mg.load(_ReadOnly(buffer.getvalue()))
    assert list(loaded) == list(STATE)
    for name, array in STATE.items():
        np.testing.assert_array_equal(loaded[name], array)


def test_load_of_a_file_object_whose_read_gives_text_names_load():
    with pytest.raises(TypeError, match=r"load: f.read\(\) gave str, not bytes; open the file in binary mode"):
        mg.load(_ReadOnly("PK text"))


def test_load_leaves_the_callers_file_object_open(tmp_path):
    mg.save(STATE, tmp_path / "m.npz")
    with open(tmp_path / "m.npz", "rb") as f:
        mg.load(f)
        assert not f.closed


def test_save_to_a_file_opened_for_reading_names_save_and_the_mode(tmp_path):
    path = tmp_path / "m.npz"
    mg.save(STATE, path)
    before = path.read_bytes()
    with open(path, "rb") as f, pytest.raises(io.UnsupportedOperation,
                                              match=r"save: f is not open for writing \(mode 'rb'\); open it with 'wb'"):
        mg.save({"w": np.ones(1)}, f)
    assert path.read_bytes() == before


# ---- paths -------------------------------------------------------------------------------------------

def test_save_writes_a_file_whose_name_is_as_long_as_the_file_system_allows(tmp_path):
    """The temporary file's name does not grow with the target's (it made 'File name too long')."""
    longest = min(os.pathconf(tmp_path, "PC_NAME_MAX"), 255)
    path = tmp_path / ("m" * (longest - len(".npz")) + ".npz")
    mg.save(STATE, path)
    np.testing.assert_array_equal(mg.load(path)["a"], STATE["a"])
    assert os.listdir(tmp_path) == [path.name]


def test_load_of_a_folder_raises_is_a_directory_error_naming_load(tmp_path):
    with pytest.raises(IsADirectoryError, match="load: .* is a folder; give the file save wrote"):
        mg.load(tmp_path)


def test_load_of_a_file_it_may_not_read_raises_permission_error_naming_load(tmp_path, monkeypatch):
    """(The tests may run as root, whom chmod does not stop: the refusal is the system's open's.)"""
    path = tmp_path / "private.npz"
    mg.save(STATE, path)
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    monkeypatch.setattr(io, "open", refusing_open)
    with pytest.raises(PermissionError, match="load: no permission to read .*private.npz"):
        mg.load(path)


def test_save_fsyncs_the_folder_after_moving_the_file_into_place(tmp_path, monkeypatch):
    """A rename is durable only once the folder holding it is synced (POSIX)."""
    if not hasattr(os, "O_DIRECTORY"):
        pytest.skip("folders cannot be opened and synced on this system")
    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        info = os.fstat(descriptor)
        synced.append((stat.S_ISDIR(info.st_mode), info.st_ino))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    mg.save(STATE, tmp_path / "m.npz")
    assert synced[-1] == (True, tmp_path.stat().st_ino)
    assert (False, (tmp_path / "m.npz").stat().st_ino) in synced


def test_save_to_a_pipe_writes_the_archive_through_it(tmp_path):
    """A path that is not a regular file (a pipe here; os.devnull, a device, takes the same path) is
    written into as open(f, "wb") would, never replaced by a file. (Not tried on the real os.devnull:
    a regression would replace the machine's /dev/null.)"""
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    # (A daemon: if save replaced the pipe, the reader would wait forever for a writer, and the
    # test should fail, not hang the run at exit.)
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    mg.save(STATE, pipe)
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and not reader.is_alive()
    loaded = mg.load(io.BytesIO(received[0]))
    assert loaded.keys() == STATE.keys() and all(np.array_equal(loaded[k], STATE[k]) for k in STATE)


def test_save_to_a_path_ending_in_a_slash_names_a_folder_and_writes_nothing(tmp_path):
    with pytest.raises(IsADirectoryError, match="save: .*newdir/ is a folder"):
        mg.save(STATE, f"{tmp_path}/newdir/")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_names_save_and_the_path_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    target = tmp_path / "model.npz"
    mg.save({"old": np.arange(3.0)}, target)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mg.serialization.os, "fsync", full_disk)
    with pytest.raises(OSError, match=f"save: could not write {target}: No space left on device") as caught:
        mg.save(STATE, target)
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    np.testing.assert_array_equal(mg.load(target)["old"], np.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_load_of_an_array_too_large_to_allocate_names_load_and_the_size(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    buffer = io.BytesIO()
    mg.save(STATE, buffer)
    monkeypatch.setattr(mg.serialization.np, "empty", no_memory)
    with pytest.raises(MemoryError, match="load: 'a.npy' holds 320 bytes .* more than this machine can allocate"):
        mg.load(io.BytesIO(buffer.getvalue()))


def test_load_reads_a_large_member_a_chunk_at_a_time():
    """The array is filled from the archive in chunks: no second copy of the whole payload in memory."""
    from microgradseq.serialization import _read_into

    payload = np.arange(1000, dtype=np.float64)
    target = np.empty_like(payload)
    _read_into(io.BytesIO(payload.tobytes()), memoryview(target).cast("B"), "x.npy", chunk=300)
    np.testing.assert_array_equal(target, payload)
    with pytest.raises(ValueError, match="'x.npy' is truncated"):
        _read_into(io.BytesIO(payload.tobytes()[:-8]), memoryview(target).cast("B"), "x.npy", chunk=300)


def test_load_from_a_file_opened_for_writing_names_load_and_the_mode(tmp_path):
    with open(tmp_path / "x.npz", "wb") as handle:
        with pytest.raises(io.UnsupportedOperation, match="load: f is not open for reading .*'wb'.* 'rb'"):
            mg.load(handle)
