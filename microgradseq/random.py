"""The library's random number generator: `manual_seed(n)` makes runs reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import generator

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reseed the generator behind initialisation and `randn` (returns None, so a notebook echoes nothing)."""
    global _generator
    _generator = np.random.default_rng(seed)


def default_generator() -> np.random.Generator:
    """The generator used when no `rng=` is given."""
    return _generator


def generator_or_default(rng: Any, where: str) -> np.random.Generator:
    """`rng`, checked to be a numpy Generator (TypeError naming `where`), or the library's generator
    when it is None."""
    return generator(rng, where) or _generator
