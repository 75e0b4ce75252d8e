"""The library's random number generator: `manual_seed(n)` makes runs reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import generator, is_int
from .spellings import check_device

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reseed the generator behind initialisation and `randn` (returns None, so a notebook echoes nothing).
    `seed` is an integer >= 0 (ValueError otherwise)."""
    global _generator
    if not is_int(seed) or seed < 0:
        raise ValueError(f"manual_seed: seed must be an integer >= 0, got {seed!r}")
    _generator = np.random.default_rng(seed)


class Generator(np.random.Generator):
    """PyTorch's `torch.Generator`: a numpy Generator, so it goes wherever a `generator=` or `rng=` is
    taken (`random_split`, `DataLoader`, `multinomial`, ...), with PyTorch's `manual_seed(seed)`, which
    reseeds it in place and returns it: `mg.Generator().manual_seed(2024)`. `device` must be the CPU."""

    def __init__(self, device: Any = None) -> None:
        check_device("Generator", device)
        super().__init__(np.random.PCG64())

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed in place (the draws that follow are `np.random.default_rng(seed)`'s); returns self.
        `seed` is an integer >= 0 (ValueError otherwise)."""
        if not is_int(seed) or seed < 0:
            raise ValueError(f"Generator.manual_seed: seed must be an integer >= 0, got {seed!r}")
        self.bit_generator.state = np.random.PCG64(int(seed)).state
        return self


def default_generator() -> np.random.Generator:
    """The generator used when no `rng=` is given."""
    return _generator


def generator_or_default(rng: Any, where: str, torch_generator: Any = None) -> np.random.Generator:
    """`rng`, or PyTorch's spelling of it, `generator=` (`torch_generator`; a numpy Generator here, such
    as `mg.Generator().manual_seed(0)`), checked (TypeError naming `where`), or the library's
    generator when neither is given."""
    if torch_generator is not None:
        if rng is not None:
            raise TypeError(f"{where}: give rng or generator (PyTorch's name for it), not both")
        return generator(torch_generator, where, "generator")
    return generator(rng, where) or _generator
