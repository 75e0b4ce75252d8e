"""Checkpoints as PyTorch's tutorials save them, without pickle: a tree of dicts, lists, tuples,
numbers, strings, arrays and Tensors, written as a JSON skeleton plus the arrays it names.

`tree_members(obj)` gives the members of an `.npz` file (`serialization.py`
writes them): `__tree__`, a 0-d numpy unicode array holding the skeleton, and
one array `<i>` per array or Tensor of the tree, which the skeleton names by
`i`. JSON keeps what pickle would otherwise be needed for: int keys apart from
str keys (an optimizer's state is keyed by int), tuples apart from lists, and
which leaves were Tensors. `rebuild(text, arrays)` reads it back, checking
that every array named is there and used once.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .tensor import Tensor

NUMERIC = "biufc"
TREE = "__tree__"                       # the skeleton's member (less .npy); a state dict's arrays are numeric
FORMAT = "microgradseq.tree"
CAN_STORE = "dicts, lists, tuples, None, bool, int, float, str, numpy arrays of numbers and Tensors"


# ---- writing a tree ---------------------------------------------------------------------------------------

def _numeric(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype.kind not in NUMERIC:
        raise TypeError(f"save: cannot store {where} (an array of dtype {array.dtype}): expected an array "
                        "of numbers or bools")
    return array


def _refuse(value: Any, where: str) -> None:
    """TypeError naming the leaf; a module or optimizer is told to save its state_dict()."""
    kind = type(value).__name__
    if hasattr(value, "state_dict"):
        raise TypeError(f"save: cannot store {where} (a {kind}): store {where}.state_dict() instead "
                        "(torch.save would pickle the whole object; save never pickles)")
    raise TypeError(f"save: cannot store {where} (a {kind}): expected {CAN_STORE}")


def _container(value: Any, where: str, arrays: list, inside: set) -> dict:
    """A dict, list or tuple as a tagged JSON object, its items encoded in turn."""
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: cannot store {where}: its key {key!r} is a {type(key).__name__}; "
                                "keys must be str or int")
            key = str(key) if isinstance(key, str) else int(key)
            pairs.append([key, _encode(item, f"{where}[{key!r}]", arrays, inside)])
        return {"dict": pairs}
    kind = "tuple" if isinstance(value, tuple) else "list"
    return {kind: [_encode(item, f"{where}[{i}]", arrays, inside) for i, item in enumerate(value)]}


def _encode(value: Any, where: str, arrays: list, inside: set) -> Any:
    """`value` as JSON, its arrays appended to `arrays` and named by their index there."""
    if isinstance(value, Tensor):
        arrays.append(value._data)
        return {"tensor": len(arrays) - 1, "requires_grad": value.requires_grad}
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, str):
        arrays.append(_numeric(np.asarray(value), where))      # (a numpy scalar comes back as a 0-d array)
        return {"array": len(arrays) - 1}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):                  # (a subclass, such as an IntEnum, as its base type)
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if not isinstance(value, (dict, list, tuple)):
        _refuse(value, where)
    if id(value) in inside:
        raise ValueError(f"save: {where} holds itself (a {type(value).__name__}), which no file can")
    inside.add(id(value))
    try:
        return _container(value, where, arrays, inside)
    finally:
        inside.discard(id(value))


def tree_members(obj: Any) -> dict[str, np.ndarray]:
    """Member name -> array for a tree: the JSON skeleton, then its arrays by index."""
    arrays: list[np.ndarray] = []
    try:
        text = _as_json(_encode(obj, "obj", arrays, set()))
    except RecursionError:
        raise ValueError("save: the tree is nested too deeply for Python to walk; nothing was written") from None
    return {TREE: np.array(text), **{str(i): array for i, array in enumerate(arrays)}}


def _as_json(root: Any) -> str:
    """The skeleton's text: ASCII (a lone surrogate escaped), NaN and infinities as Python's json spells them."""
    try:
        return json.dumps({"format": FORMAT, "version": 1, "root": root})
    except ValueError as error:                 # (an int of more digits than Python converts to text)
        raise ValueError(f"save: the tree cannot be written as JSON ({error}); nothing was written") from None


# ---- reading it back ------------------------------------------------------------------------------------

def rebuild(text: np.ndarray, arrays: dict[str, np.ndarray]) -> Any:
    """The tree a skeleton describes, every array it names used once and none left over."""
    if text.shape != ():
        raise ValueError(f"its {TREE!r} member has the shape {text.shape}, not a single string")
    skeleton = json.loads(text.item())
    if not isinstance(skeleton, dict) or skeleton.get("format") != FORMAT or skeleton.get("version") != 1:
        raise ValueError(f"its {TREE!r} member is not a skeleton save writes")
    used: set[str] = set()
    tree = _decode(skeleton.get("root"), arrays, used)
    if used != set(arrays):
        raise ValueError(f"it holds arrays its tree does not name: {sorted(set(arrays) - used)[:5]}")
    return tree


def _take(index: Any, arrays: dict[str, np.ndarray], used: set) -> np.ndarray:
    name = str(index)
    if type(index) is not int or name not in arrays or name in used:
        raise ValueError(f"its tree names the array {index!r}, which it does not hold (or names twice)")
    used.add(name)
    return arrays[name]


def _decode(node: Any, arrays: dict[str, np.ndarray], used: set) -> Any:
    """The value a skeleton node stands for (see `_encode`)."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    kind = next(iter(node), None) if isinstance(node, dict) else None
    keys = set(node) if isinstance(node, dict) else None
    if kind in ("list", "tuple") and keys == {kind} and isinstance(node[kind], list):
        items = [_decode(item, arrays, used) for item in node[kind]]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and keys == {"dict"} and isinstance(node["dict"], list):
        return dict(_pair(pair, arrays, used) for pair in node["dict"])
    if kind == "array" and keys == {"array"}:
        return _take(node["array"], arrays, used)
    if kind == "tensor" and keys == {"tensor", "requires_grad"} and isinstance(node["requires_grad"], bool):
        array = _take(node["tensor"], arrays, used)
        try:
            return Tensor(array, requires_grad=node["requires_grad"], dtype=array.dtype)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"its tensor {node['tensor']} cannot be made again ({error})") from None
    raise ValueError(f"its tree holds {str(node)[:60]}, which save never writes")


def _pair(pair: Any, arrays: dict[str, np.ndarray], used: set) -> tuple:
    if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (str, int)):
        raise ValueError(f"its tree holds the dict item {str(pair)[:60]}, which save never writes")
    return pair[0], _decode(pair[1], arrays, used)
