"""The library's random number generator: `manual_seed(n)` makes runs reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import generator, is_int

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reseed the generator behind initialisation and `randn` (returns None, so a notebook echoes nothing).
    `seed` is an integer >= 0 (ValueError otherwise)."""
    global _generator
    if not is_int(seed) or seed < 0:
        raise ValueError(f"manual_seed: seed must be an integer >= 0, got {seed!r}")
    _generator = np.random.default_rng(seed)


def default_generator() -> np.random.Generator:
    """The generator used when no `rng=` is given."""
    return _generator


def generator_or_default(rng: Any, where: str) -> np.random.Generator:
    """`rng`, checked to be a numpy Generator (TypeError naming `where`), or the library's generator
    when it is None."""
    return generator(rng, where) or _generator
