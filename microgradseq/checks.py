"""Argument checks shared across the package: predicates, checks that raise a clear error
before any work starts, and where a warning about an argument points (the user's line)."""

from __future__ import annotations

import math
import numbers
import os
import sys
from typing import Any, Iterator

import numpy as np


def is_int(value: Any) -> bool:
    """Whether `value` is an integer, Python's or numpy's (a bool is not one)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """Whether `value` is a real number, not NaN or infinite (a bool is not one)."""
    if type(value) is float or type(value) is int:      # the common case, without numbers.Real's slow check
        return math.isfinite(value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def is_axis(value: Any, ndim: int) -> bool:
    """Whether `value` names an axis of an array with `ndim` axes (negative from the end)."""
    return is_int(value) and -ndim <= value < ndim


def positive_int(value: Any, name: str, where: str) -> int:
    """`value` as an int, or ValueError "<where>: <name> must be a positive integer" (a bool is not one).
    A 0-d integer tensor is the int it holds, as PyTorch's sizes take it (GEM's `nn.Linear(n_hiddens, n_outputs)`
    with `n_outputs = labels.max() + 1`)."""
    number, dtype = value, getattr(value, "dtype", None)
    if dtype is not None and dtype.kind in "iu" and getattr(value, "shape", None) == ():
        number = int(value)         # (a 0-d tensor or array of integers: the int it holds)
    if not is_int(number) or number < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(number)


def flag(value: Any, name: str, where: str) -> bool:
    """`value` if it is a bool (numpy's too), else ValueError "<where>: <name> must be True or False"."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def probability(value: Any, name: str, where: str) -> float:
    """`value` as a float if it is a probability, a number in [0, 1] (not a bool), else ValueError naming
    `where` and `name`."""
    if not is_finite_number(value) or not 0 <= value <= 1:
        raise ValueError(f"{where}: {name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def non_negative_number(value: Any, name: str, where: str) -> Any:
    """`value` if it is a finite number >= 0 (not a bool), else ValueError naming `where` and `name`."""
    if not is_finite_number(value) or value < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {value!r}")
    return value


def positive_number(value: Any, name: str, where: str) -> Any:
    """`value` if it is a finite number > 0 (not a bool), else ValueError naming `where` and `name`."""
    if not is_finite_number(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be a finite number > 0, got {value!r}")
    return value


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts to `target` without changing it."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def broadcasts_with(*shapes: tuple) -> bool:
    """Whether arrays of `shapes` broadcast against each other."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


DEVICE_TYPES = ("cpu", "cuda", "mps", "meta")


def generator(rng: Any, where: str, name: str = "rng") -> np.random.Generator | None:
    """`rng` if it is a numpy Generator or None, else TypeError naming `where` (and the argument,
    `rng`, or `generator` where PyTorch's `torch.Generator` is numpy's Generator here)."""
    if rng is not None and not isinstance(rng, np.random.Generator):
        # a device where PyTorch's signature has one (nn.Linear(3, 1, True, "cpu")): rng holds its place
        device = type(rng).__name__ == "device" or (isinstance(rng, str) and rng.split(":")[0] in DEVICE_TYPES)
        hint = ("; a device goes by keyword here (device=...): rng takes the place PyTorch's signature gives "
                "device" if device else "")
        raise TypeError(f"{where}: {name} must be a numpy.random.Generator (np.random.default_rng(seed)) "
                        f"or None, got {type(rng).__name__}{hint}")
    return rng


def user_stacklevel() -> int:
    """The `stacklevel` of `warnings.warn`, called in the function calling this, that points at the
    first caller outside microgradseq (the user's line), however deep inside the library it is."""
    return 2 + sum(1 for _ in _library_frames(sys._getframe(2)))


def public_name(default: str) -> str:
    """For an error found deep inside the library (a helper turning an argument into a tensor): the name of
    the library function the user's line called, as the error should name it (`relu`, `Linear` for a
    module called, `Tensor.add` for a method), or `default` where there is none to name. Walks the stack:
    call it only on the error path."""
    entry = None
    for entry in _library_frames(sys._getframe(1)):
        pass                                            # (the outermost: the function the user's line called)
    if entry is None:
        return default
    name, owner = entry.f_code.co_name, entry.f_locals.get("self")
    if "name" in entry.f_code.co_freevars and isinstance(entry.f_locals.get("name"), str):
        name = entry.f_locals["name"]                   # a generated one (function_forms): the name it was given
    if owner is not None and name in ("__call__", "forward", "__init__"):
        return type(owner).__name__                     # a module called (or made): Linear, as its own errors say
    if name.startswith(("<", "_")):
        return default
    if owner is not None:
        return f"{type(owner).__name__}.{name}"
    return name


def no_bool_kernel(where: str, kernel: str | None = None, convert: str = "t.long()") -> str:
    """The message for a bool tensor given to a function whose PyTorch kernel has no bool case (relu,
    topk, median, softmax, ...): `where` names the public function called, `kernel` PyTorch's (`where` if
    None), `convert` the conversion that works."""
    return (f"{where}: expected a tensor of numbers, got dtype bool (PyTorch's {kernel or where} has no bool "
            f"kernel); convert it first ({convert})")


def not_numbers(where: str, value: Any) -> str:
    """The message for `value` given where a tensor goes but holding no numbers (a string, None, a mixed
    list): `where` names the public function."""
    return f"{where}: expected a tensor, an array or numbers, got {type(value).__name__} {value!r:.60}"


def fill_number(value: Any, where: str, name: str = "value") -> Any:
    """`value` if it is what PyTorch fills with, a number or a 0-d tensor or array: TypeError for
    anything else (numpy would fill with NaN for None), ValueError for one with axes, naming `where`."""
    if isinstance(value, (numbers.Number, np.generic)):
        return value
    shape = getattr(value, "shape", None)
    if not isinstance(shape, tuple) or not hasattr(value, "dtype"):
        raise TypeError(f"{where}: {name} must be a number or a 0-d tensor, got {type(value).__name__} {value!r:.60}")
    if shape:
        raise ValueError(f"{where}: {name} must be a number or a 0-d tensor (as PyTorch's), got shape {shape}")
    return value


def _library_frames(frame: Any) -> Iterator[Any]:
    """`frame` and the frames that called it, outwards, while they run microgradseq's code."""
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY):
        yield frame
        frame = frame.f_back


_LIBRARY = os.path.dirname(os.path.abspath(__file__)) + os.sep
