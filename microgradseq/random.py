"""The library's random number generator: `manual_seed(n)` makes runs reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reseed the generator behind initialisation and `randn` (returns None, so a notebook echoes nothing)."""
    global _generator
    _generator = np.random.default_rng(seed)


def default_generator() -> np.random.Generator:
    """The generator used when no `rng=` is given."""
    return _generator
