"""`save` and `load`: state dicts as `.npz` files, never pickle.

The file is a zip archive with one NPY member per array, named `<name>.npy`,
as `numpy.savez` writes it. `load` reads the members itself rather than
through `numpy.load`, so that a name is exactly the member's name less
`.npy` (numpy's reader would hand `"x.npy"` and `"x"` each the other's
array), and so that it can check each member's header against the bytes
that follow before it allocates anything.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import stat
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_FMT = np.lib.format
_NUMERIC = "biufc"
_LONGEST_NAME = 0xFFFF - len(".npy")     # a zip member name's length is stored in 16 bits


def _checked_state(obj: Any) -> dict[str, np.ndarray]:
    """name -> array from a module or a dict, refusing what `load` could not give back as it was."""
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a Module or a dict of arrays, got {type(obj).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"save: names must be non-empty strings, got {name!r}")
        # a zip member name stops at NUL, and control characters or unpaired surrogates
        # (which UTF-8 cannot encode) would not come back as they went in
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
            raise ValueError(f"save: the name {name!r} holds a control character or an unpaired "
                             "surrogate, which an .npz member name cannot keep; nothing was written")
        if len(name.encode()) > _LONGEST_NAME:
            raise ValueError(f"save: the name {name[:20]!r}... is {len(name.encode())} bytes long in "
                             f"UTF-8; a member name holds at most {_LONGEST_NAME}; nothing was written")
        try:
            array = np.asarray(getattr(value, "_data", value))
        except ValueError as error:             # (a ragged list)
            raise ValueError(f"save: {name!r} is not an array of numbers ({error}); nothing was written") from None
        if array.dtype.kind not in _NUMERIC:
            raise TypeError(f"save: {name!r} is not a numeric array (dtype {array.dtype})")
        arrays[name] = array
    return arrays


def _write_archive(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(file, "w") as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                _FMT.write_array(member, array, allow_pickle=False)


def _own_temporary(path: Path) -> tuple[Path, int]:
    """A new file beside `path` that nobody else owns (created here, O_EXCL), and its descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
        try:
            return candidate, os.open(candidate, flags, 0o666)
        except FileExistsError:
            continue


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Write a module's `state_dict()` (or a dict of arrays) as an .npz archive to `f`, a path
    or a binary file object opened for writing.

    Every name and array is checked before anything is written. A path is
    written in full under a temporary name of its own beside it, then moved
    over it in one step: an old file there survives any failure. A symbolic link
    is followed (the file it names is replaced, the link kept), and a file that
    was there keeps its permissions.
    """
    arrays = _checked_state(obj)
    if hasattr(f, "write"):
        if isinstance(f, io.TextIOBase):
            raise TypeError("save: f is a text file; open it in binary mode ('wb')")
        _write_archive(f, arrays)
        return
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"save: f must be a path or a binary file object, got {type(f).__name__}")
    path = Path(os.path.realpath(f))           # through symbolic links, to the file they name
    if path.is_dir():
        raise IsADirectoryError(f"save: {f} is a folder; give a file name such as {Path(f) / 'model.npz'}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: there is no folder {path.parent} to write {path.name} into")
    temporary, descriptor = _own_temporary(path)
    try:
        with open(descriptor, "wb") as file:
            if path.exists():                   # the old file's permissions (a private file stays private)
                os.chmod(temporary, stat.S_IMODE(path.stat().st_mode) & 0o777)
            _write_archive(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One NPY member, its header checked against the member's size before any allocation."""
    with archive.open(info) as member:
        magic = member.read(_FMT.MAGIC_LEN)
        if len(magic) != _FMT.MAGIC_LEN or not magic.startswith(_FMT.MAGIC_PREFIX):
            raise ValueError(f"{info.filename!r} is not an NPY array (it does not start as one)")
        version = (magic[-2], magic[-1])
        if version == (1, 0):
            shape, fortran_order, dtype = _FMT.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = _FMT.read_array_header_2_0(member)
        else:
            raise ValueError(f"{info.filename!r} is an NPY file of version {version}, "
                             "which save never writes")
        if dtype.kind not in _NUMERIC or dtype.hasobject:
            raise ValueError(f"{info.filename!r} holds dtype {dtype}, not a numeric array")
        if any(size < 0 for size in shape):
            raise ValueError(f"{info.filename!r} claims the shape {shape}")
        count = math.prod(shape)
        available = info.file_size - member.tell()
        if count * dtype.itemsize != available:
            raise ValueError(f"{info.filename!r} claims shape {shape} of {dtype} "
                             f"({count * dtype.itemsize} bytes) but holds {available} bytes")
        data = bytearray(member.read(available))
    if len(data) != available:
        raise ValueError(f"{info.filename!r} is truncated")
    flat = np.frombuffer(data, dtype=dtype, count=count) if count else np.empty(0, dtype)
    return flat.reshape(shape, order="F" if fortran_order else "C")


def _read_archive(file: str | os.PathLike | BinaryIO) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(file) as archive:
        members = archive.infolist()
        for info in members:
            if not info.filename.endswith(".npy") or info.filename == ".npy":
                raise ValueError(f"it holds {info.filename!r}, which is not an array (.npy)")
        repeated = [name for name, times in Counter(info.filename for info in members).items() if times > 1]
        if repeated:
            raise ValueError(f"it holds {repeated[0]!r} more than once")
        return {info.filename[:-len(".npy")]: _read_member(archive, info) for info in members}


def load(f: str | os.PathLike | BinaryIO) -> dict[str, np.ndarray]:
    """Read the dict of arrays `save` wrote, from a path or a binary file object.

    Never unpickles. A missing file raises FileNotFoundError; a truncated or
    foreign one, a member that is not an NPY array, a name held twice or a
    header whose shape does not match the bytes that follow raise ValueError.
    """
    if hasattr(f, "read"):
        if isinstance(f, io.TextIOBase):
            raise TypeError("load: f is a text file; open it in binary mode ('rb')")
        source = f if f.seekable() else io.BytesIO(f.read())
        where = f"the file object {getattr(f, 'name', type(f).__name__)!s}"
    elif isinstance(f, (str, os.PathLike)):
        source = Path(f)
        if not source.exists():
            raise FileNotFoundError(f"load: no file at {source}")
        where = str(source)
    else:
        raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")
    try:
        return _read_archive(source)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as error:
        raise ValueError(f"load: {where} is not a readable .npz file of arrays saved by "
                         f"microgradseq.save ({error})") from None
