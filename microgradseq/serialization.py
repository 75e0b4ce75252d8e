"""`save` and `load`: state dicts as `.npz` files, never pickle."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a module's `state_dict()` (or a dict of arrays) to an .npz file at `path`."""
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a Module or a dict of arrays, got {type(obj).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"save: names must be non-empty strings, got {name!r}")
        array = np.asarray(getattr(value, "_data", value))
        if array.dtype.kind not in "biufc":
            raise TypeError(f"save: {name!r} is not a numeric array (dtype {array.dtype})")
        arrays[name] = array
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:                        # written in full beside the target, then moved over it: an old file
        with open(partial, "wb") as file:           # survives any failure
            with zipfile.ZipFile(file, "w") as archive:
                for name, array in arrays.items():
                    with archive.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the dict of arrays `save` wrote; a missing, truncated or foreign file raises."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no file at {path}")
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("it is not an .npz (zip) archive")
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not a dict of arrays")
        with archive:
            foreign = [name for name in archive.zip.namelist() if not name.endswith(".npy")]
            if foreign:
                raise ValueError(f"it holds {foreign[0]!r}, which is not an array")
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"load: {path} is not a readable .npz file of arrays saved by "
                         f"microgradseq.save ({error})") from None
