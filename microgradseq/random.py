"""The library's random number generator: `manual_seed(n)` makes runs reproducible; `get_rng_state()`
and `set_rng_state(state)` save and restore where it is, as a checkpoint that resumes a run does."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .checks import generator, is_int
from .spellings import check_device
from .tensor import tensor


def _fresh_seed() -> int:
    """A seed from the operating system's entropy, in PyTorch's range."""
    return int(np.random.SeedSequence().entropy % 2 ** 63)


_seed = _fresh_seed()
_generator = np.random.default_rng(_seed)


def manual_seed(seed: int) -> None:
    """Reseed the generator behind initialisation and `randn` (returns None, so a notebook echoes nothing).
    `seed` is an integer in PyTorch's range, -2**63 to 2**64 - 1 (see `seed_value`)."""
    global _generator, _seed
    _seed = seed_value(seed, "manual_seed")
    _generator = np.random.default_rng(_seed)


def seed() -> int:
    """Reseed the generator with a fresh seed from the operating system's entropy; returns it, as PyTorch's."""
    manual_seed(_fresh_seed())
    return _seed


def initial_seed() -> int:
    """The seed the generator started from: the last `manual_seed`'s (or `seed`'s, or a fresh one chosen
    when the library was imported)."""
    return _seed


def get_rng_state() -> Any:
    """Where the generator is, as a uint8 tensor (PyTorch's is one too; its bytes are the generator's state
    in JSON here): `mg.save` stores it, and `set_rng_state` puts the generator back there, so the draws
    that follow are the ones that followed when it was taken."""
    state = json.dumps(_generator.bit_generator.state).encode("ascii")
    return tensor(np.frombuffer(state, dtype=np.uint8))


def set_rng_state(new_state: Any) -> None:
    """Put the generator back where `get_rng_state()` found it. TypeError for what is not uint8 values,
    ValueError for bytes that are not such a state; nothing changes then."""
    array = np.asarray(getattr(new_state, "data", new_state))
    if array.dtype != np.uint8 or array.ndim != 1:
        raise TypeError(f"set_rng_state: expected the uint8 tensor get_rng_state() gives, got "
                        f"{type(new_state).__name__} of dtype {array.dtype} and shape {array.shape}")
    try:
        state = json.loads(array.tobytes().decode("ascii"))
        restored = np.random.default_rng()
        restored.bit_generator.state = state
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"set_rng_state: these {array.size} bytes are not a state get_rng_state() gave "
                         f"({type(error).__name__}: {error})") from None
    global _generator
    _generator = restored


def seed_value(seed: Any, where: str) -> int:
    """The seed numpy is given for `seed`, as PyTorch reads it: an integer from -2**63 to 2**64 - 1
    (ValueError naming `where` otherwise), a negative one taken as 0xffff_ffff_ffff_ffff + seed."""
    if not is_int(seed) or not -2 ** 63 <= seed <= 2 ** 64 - 1:
        raise ValueError(f"{where}: seed must be an integer from -2**63 to 2**64 - 1, got {seed!r}")
    return int(seed) + (0xffff_ffff_ffff_ffff if seed < 0 else 0)


class Generator(np.random.Generator):
    """PyTorch's `torch.Generator`: a numpy Generator, so it goes wherever a `generator=` or `rng=` is
    taken (`random_split`, `DataLoader`, `multinomial`, ...), with PyTorch's `manual_seed(seed)`, which
    reseeds it in place and returns it: `mg.Generator().manual_seed(2024)`. `device` must be the CPU.
    As PyTorch's, a new one starts from a fixed seed (PyTorch's default, `initial_seed()`), and
    `seed()` sets a fresh random one. (The numbers drawn are numpy's, not PyTorch's.)"""

    def __init__(self, device: Any = None) -> None:
        check_device("Generator", device)
        super().__init__(np.random.PCG64(DEFAULT_SEED))
        self._seed = DEFAULT_SEED

    def __reduce__(self) -> tuple:
        """Copies and pickles stay `mg.Generator`s, in the same state (numpy's own would give back a
        plain numpy Generator, without `manual_seed`)."""
        return _rebuilt_generator, (self.bit_generator.state, self._seed)

    def initial_seed(self) -> int:
        """The seed it started from (the last `manual_seed`'s)."""
        return self._seed

    def seed(self) -> int:
        """Reseed with a fresh seed from the operating system's entropy; returns it."""
        return self.manual_seed(_fresh_seed()).initial_seed()

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed in place (the draws that follow are `np.random.default_rng(seed)`'s); returns self.
        `seed` is an integer from -2**63 to 2**64 - 1 (a negative one is read as PyTorch's, `seed_value`)."""
        seed = seed_value(seed, "Generator.manual_seed")
        self.bit_generator.state = np.random.PCG64(seed).state
        self._seed = seed
        return self


DEFAULT_SEED = 67280421310721       # what PyTorch's torch.Generator() starts from


def _rebuilt_generator(state: dict, seed: int) -> Generator:
    rebuilt = Generator()
    rebuilt.bit_generator.state, rebuilt._seed = state, seed
    return rebuilt


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
