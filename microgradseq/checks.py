"""Argument checks shared across the package: a clear ValueError before any work starts."""

from __future__ import annotations

from typing import Any

import numpy as np


def positive_int(value: Any, name: str, where: str) -> int:
    """`value` as an int, or ValueError "<where>: <name> must be a positive integer" (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def flag(value: Any, name: str, where: str) -> bool:
    """`value` if it is a bool (numpy's too), else ValueError "<where>: <name> must be True or False"."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)
