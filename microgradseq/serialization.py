"""`save` and `load`: state dicts and checkpoints as `.npz` files, never pickle.

The file is a zip archive of NPY members, as `numpy.savez` writes it, in one
of two layouts:

- a *state dict* (a dict of str -> numeric array, what `Module.state_dict()`
  gives) is one member per array, named `<name>.npy`, so that
  `numpy.load(f, allow_pickle=False)[name]` reads it too;
- anything else (a checkpoint: a tree of dicts, lists, tuples, numbers,
  strings, arrays and Tensors) is a member `__tree__.npy` holding a JSON
  skeleton of the tree, and one member `<i>.npy` per array, which the
  skeleton names by `i` (`checkpoints.py`).

`load` reads the members itself rather than through `numpy.load`, so that a
name is exactly the member's name less `.npy` (numpy's reader would hand
`"x.npy"` the array of `"x"`), and so that it can check each
member's header against the bytes that follow before it allocates anything.
"""

from __future__ import annotations

import errno
import io
import math
import os
import secrets
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .checkpoints import NUMERIC, TREE, rebuild, tree_members
from .checks import flag, is_int
from .spellings import check_device

try:
    from lzma import LZMAError
except ImportError:                             # (a Python built without lzma cannot read such members at all)
    LZMAError = zipfile.BadZipFile

_FMT = np.lib.format
_LONGEST_NAME = 0xFFFF - len(".npy")     # a zip member name's length is stored in 16 bits
# what a damaged or foreign archive makes zipfile, zlib, lzma, json (checkpoints.py) or numpy's header parser raise
_UNREADABLE = (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError, zlib.error, LZMAError,
               RecursionError)


# ---- what is saved --------------------------------------------------------------------------------------

def _is_state_dict(obj: Any) -> bool:
    """A dict of str -> numpy array: written one member per name, as before trees could be saved."""
    return (isinstance(obj, dict) and all(isinstance(name, str) for name in obj)
            and all(isinstance(value, (np.ndarray, np.generic)) for value in obj.values()))


def _checked_state(state: dict) -> dict[str, np.ndarray]:
    """name -> array of a state dict, refusing what `load` could not give back as it was."""
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
        array = np.asarray(value)
        if array.dtype.kind not in NUMERIC:
            raise TypeError(f"save: {name!r} is not a numeric array (dtype {array.dtype})")
        arrays[name] = array
    return arrays


def _members(obj: Any) -> dict[str, np.ndarray]:
    """Every member to write, checked before anything is: a module stands for its state_dict()."""
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    return _checked_state(state) if _is_state_dict(state) else tree_members(state)


# ---- writing --------------------------------------------------------------------------------------------

def _write_archive(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(file, "w") as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                _FMT.write_array(member, array, allow_pickle=False)


def _own_temporary(path: Path) -> tuple[Path, int]:
    """A new file beside `path` that nobody else owns (created here, O_EXCL), and its descriptor.

    Its name is short and does not grow with `path`'s, so that a target whose name is
    as long as the file system allows can still be saved."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        candidate = path.with_name(f".mgsave-{secrets.token_hex(6)}.tmp")
        try:
            return candidate, os.open(candidate, flags, 0o666)
        except FileExistsError:
            continue


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable: on POSIX a rename lives in the folder, which has to be
    fsynced too. Skipped where a folder cannot be opened (Windows) or synced."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _check_binary_file(f: Any, where: str, use: str, mode: str) -> None:
    """TypeError for a text file object, io.UnsupportedOperation for one not open for `use`
    ('reading': `f.readable()`, 'writing': `f.writable()`), each naming `where` and the `mode` to open with."""
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{where}: f is a text file; open it in binary mode ({mode!r})")
    able = getattr(f, "readable" if use == "reading" else "writable", None)
    if callable(able) and not able():
        raise io.UnsupportedOperation(f"{where}: f is not open for {use} (mode {getattr(f, 'mode', '?')!r}); "
                                      f"open it with {mode!r}")


class _WriteOnly:
    """The caller's file object as zipfile sees it: `write` and `flush`, no `tell` or `seek`, so that
    zipfile writes the archive in one pass and never seeks back to fill in a member's size, which a
    gzip file (`gzip.open(f, "wb")`, seekable only forward), a socket or a pipe cannot do."""

    def __init__(self, file: BinaryIO) -> None:
        self.write = file.write
        self.flush = getattr(file, "flush", lambda: None)


def _save_to_object(f: Any, members: dict[str, np.ndarray]) -> None:
    _check_binary_file(f, "save", "writing", "wb")
    _write_archive(_WriteOnly(f), members)


def _save_to_path(f: str | os.PathLike, members: dict[str, np.ndarray]) -> None:
    path = Path(os.path.realpath(f))           # through symbolic links, to the file they name
    if path.is_dir() or os.fspath(f).endswith(("/", os.sep)):
        raise IsADirectoryError(f"save: {f} is a folder; give a file name such as {Path(f) / 'model.npz'}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: there is no folder {path.parent} to write {path.name} into")
    try:
        if path.exists() and not path.is_file():    # a device or a pipe (os.devnull): written into,
            archive = io.BytesIO()                  # never replaced by a file (and built in memory
            _write_archive(archive, members)        # first: a device's tell() may say 0 throughout)
            with open(path, "wb") as file:
                file.write(archive.getbuffer())
            return
        _replace(path, members)
    except OSError as error:                    # (a read-only folder, a full disk: the old file is intact)
        if error.errno is None:
            raise
        raise OSError(error.errno, f"save: could not write {f}: {error.strerror}") from None


def _replace(path: Path, members: dict[str, np.ndarray]) -> None:
    """Write the archive under a temporary name beside `path`, then move it over `path` in one step."""
    if path.is_file() and not os.access(path, os.W_OK):    # (as open(f, "wb") refuses it, torch.save's too)
        raise PermissionError(errno.EACCES, "Permission denied (the file is read-only)")
    temporary, descriptor = _own_temporary(path)
    try:
        try:
            file = open(descriptor, "wb")
        except BaseException:                   # (the descriptor is not the file object's yet: closed here)
            os.close(descriptor)
            raise
        with file:
            if path.exists():                   # the old file's permissions (a private file stays private)
                os.chmod(temporary, stat.S_IMODE(path.stat().st_mode) & 0o777)
            _write_archive(file, members)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    _sync_folder(path.parent)


def save(obj: Any, f: str | os.PathLike | BinaryIO, *, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write `obj` as an .npz archive to `f`, a path or a binary file object opened for writing.

    `obj` is a state dict (`model.state_dict()`, or a dict of str -> array),
    a module (its `state_dict()` is saved), or a checkpoint as PyTorch's
    tutorials save one: a tree of dicts (str or int keys), lists, tuples,
    None, bool, int, float, str, numpy arrays of numbers and Tensors (saved
    as their data), e.g. `{'epoch': 3, 'model_state_dict': ..., 'loss': 0.25}`.
    Anything else (a function, a module inside the tree) raises TypeError
    naming where in the tree it is. Nothing is ever pickled.

    Everything is checked before anything is written. A path is written in
    full under a short temporary name of its own beside it, then moved over
    it in one step (and the folder fsynced): an old file there survives any
    failure. A symbolic link is followed (the file it names is replaced, the
    link kept), and a file that was there keeps its permissions; a read-only
    one is refused (PermissionError), as `open(f, "wb")` refuses it. A device or
    a pipe (such as `os.devnull`) is written into, as `open(f, "wb")` would.

    `pickle_protocol` (an integer) and `_use_new_zipfile_serialization` (a bool:
    PyTorch's switch to its pre-1.6 format) are PyTorch's, accepted so that
    scripts passing them port, and change nothing: nothing is pickled, and the
    file is always the archive described above.
    """
    _check_save_keywords(pickle_protocol, _use_new_zipfile_serialization)
    members = _members(obj)
    if hasattr(f, "write"):
        _save_to_object(f, members)
    elif isinstance(f, (str, os.PathLike)):
        _save_to_path(f, members)
    else:
        raise TypeError(f"save: f must be a path or a binary file object, got {type(f).__name__}")


# ---- reading --------------------------------------------------------------------------------------------

def _header(member: BinaryIO, name: str) -> tuple[tuple, bool, np.dtype]:
    magic = member.read(_FMT.MAGIC_LEN)
    if len(magic) != _FMT.MAGIC_LEN or not magic.startswith(_FMT.MAGIC_PREFIX):
        raise ValueError(f"{name!r} is not an NPY array (it does not start as one)")
    version = (magic[-2], magic[-1])
    if version == (1, 0):
        shape, fortran_order, dtype = _FMT.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran_order, dtype = _FMT.read_array_header_2_0(member)
    else:
        raise ValueError(f"{name!r} is an NPY file of version {version}, which save never writes")
    if any(type(size) is not int or size < 0 for size in shape):   # numpy lets (True,) through
        raise ValueError(f"{name!r} claims the shape {shape}")
    return shape, fortran_order, dtype


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, kinds: str = NUMERIC) -> np.ndarray:
    """One NPY member, its header checked against the member's size before any allocation."""
    if info.flag_bits & 0x1:
        raise ValueError(f"{info.filename!r} is encrypted, which save never writes")
    with archive.open(info) as member:
        shape, fortran_order, dtype = _header(member, info.filename)
        if dtype.kind not in kinds or dtype.hasobject:
            raise ValueError(f"{info.filename!r} holds dtype {dtype}, not a numeric array")
        count = math.prod(shape)
        available = info.file_size - member.tell()
        if count * dtype.itemsize != available:
            raise ValueError(f"{info.filename!r} claims shape {shape} of {dtype} "
                             f"({count * dtype.itemsize} bytes) but holds {available} bytes")
        try:
            flat = np.empty(count, dtype)
        except MemoryError:
            raise MemoryError(f"load: {info.filename!r} holds {available} bytes (shape {shape} of {dtype}), "
                              "more than this machine can allocate") from None
        _read_into(member, memoryview(flat).cast("B"), info.filename)
    return flat.reshape(shape, order="F" if fortran_order else "C")


def _read_into(member: BinaryIO, buffer: memoryview, name: str, chunk: int = 1 << 24) -> None:
    """Fill `buffer` from `member` a chunk at a time (no second copy of a large array in memory)."""
    position = 0
    while position < len(buffer):
        data = member.read(min(chunk, len(buffer) - position))
        if not data:
            raise ValueError(f"{name!r} is truncated")
        buffer[position:position + len(data)] = data
        position += len(data)


def _read_archive(file: BinaryIO) -> Any:
    with zipfile.ZipFile(file) as archive:
        members = archive.infolist()
        for info in members:
            if not info.filename.endswith(".npy") or info.filename == ".npy":
                raise ValueError(f"it holds {info.filename!r}, which is not an array (.npy)")
            if info.comment:                    # (a damaged comment length hides the members after it)
                raise ValueError(f"its directory entry of {info.filename!r} carries a comment, which save "
                                 "never writes (is the file damaged?)")
        repeated = [name for name, times in Counter(info.filename for info in members).items() if times > 1]
        if repeated:
            raise ValueError(f"it holds {repeated[0]!r} more than once")
        arrays = {info.filename[:-len(".npy")]:
                  _read_member(archive, info, NUMERIC + "U" if info.filename == TREE + ".npy" else NUMERIC)
                  for info in members}
    if TREE in arrays and arrays[TREE].dtype.kind == "U":
        return rebuild(arrays.pop(TREE), arrays)
    return arrays                               # a state dict (whose name may be __tree__ too)


def _open_path(f: str | os.PathLike) -> BinaryIO:
    """The file at `f`, opened for reading; what keeps it from being read named for `load`."""
    path = Path(f)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no file at {path}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"load: {path} is a folder; give the file save wrote, "
                                f"such as {path / 'model.npz'}") from None
    except PermissionError:
        raise PermissionError(f"load: no permission to read {path}") from None


def _seekable_source(f: Any) -> BinaryIO:
    """`f` itself when it can seek (zipfile reads the end first), else all its bytes in memory."""
    _check_binary_file(f, "load", "reading", "rb")
    seekable = getattr(f, "seekable", None)
    if callable(seekable) and seekable():
        return f
    data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load: f.read() gave {type(data).__name__}, not bytes; open the file in binary "
                        "mode ('rb')")
    return io.BytesIO(data)


def _check_save_keywords(pickle_protocol: Any, use_new_zipfile_serialization: Any) -> None:
    """PyTorch's torch.save keywords, which change nothing here: checked, so a typo is not silent."""
    if not is_int(pickle_protocol):
        raise TypeError(f"save: pickle_protocol must be an integer, got {pickle_protocol!r} (it changes nothing: "
                        "save never pickles)")
    flag(use_new_zipfile_serialization, "_use_new_zipfile_serialization", "save")


def _check_keywords(map_location: Any, weights_only: Any) -> None:
    """PyTorch's torch.load keywords: everything here is on the CPU, and nothing is unpickled. Old
    scripts' ways of saying "onto the CPU" port: a dict whose targets are all the CPU
    (`{'cuda:0': 'cpu'}`) and a function (`lambda storage, loc: storage`), which is not called, as
    there are no storages to move."""
    if isinstance(map_location, Mapping):
        for target in map_location.values():
            check_device("load", target)
    elif not callable(map_location):
        check_device("load", map_location)
    if weights_only is not None:
        flag(weights_only, "weights_only", "load")


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None, weights_only: bool | None = None, *,
         mmap: bool | None = None) -> Any:
    """Read what `save` wrote, from a path or a binary file object.

    A state dict comes back as a dict of name -> numpy array (files written
    before trees could be saved, and `numpy.savez` files of numbers, too); a
    tree as it was saved: dicts (a dict subclass such as OrderedDict as a
    dict), lists, tuples, scalars, numpy arrays (a numpy scalar as a 0-d
    array), and Tensors as Tensors without history (leaves, with the
    `requires_grad` they had), as `torch.load` gives them.

    `map_location` and `weights_only` are PyTorch's: `map_location` may be
    None or the CPU (`'cpu'`, `'cpu:0'`), as nothing here runs anywhere else;
    `weights_only` is accepted and ignored, since nothing is ever unpickled
    (every load is as safe as PyTorch's `weights_only=True`). `mmap=True` is
    PyTorch's too: as there, `f` must then be a path (ValueError for a file
    object); the arrays are read into memory, so the values are the same.

    A missing file raises FileNotFoundError, a folder IsADirectoryError and an
    unreadable file PermissionError. A truncated, damaged or foreign file, a
    member that is not an NPY array of numbers, a name held twice or a header
    whose shape does not match the bytes that follow raise ValueError.
    """
    _check_keywords(map_location, weights_only)
    if mmap is not None and flag(mmap, "mmap", "load") and not isinstance(f, (str, os.PathLike)):
        raise ValueError(f"load: f must be a file path in order to use the mmap argument, got "
                         f"{type(f).__name__}")
    if hasattr(f, "read"):
        source = _seekable_source(f)
        where = f"the file object {getattr(f, 'name', type(f).__name__)!s}"
    elif isinstance(f, (str, os.PathLike)):
        source, where = _open_path(f), str(Path(f))
    else:
        raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")
    try:
        return _read_archive(source)
    except _UNREADABLE as error:
        raise ValueError(f"load: {where} is not a readable .npz file of arrays saved by "
                         f"microgradseq.save ({error})") from None
    finally:
        if source is not f:                     # (the caller's own file object stays open)
            source.close()
