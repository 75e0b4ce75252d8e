"""PyTorch's `torch.cuda`, for scripts that ask: there is no GPU here (microgradseq runs on numpy).

    device = mg.device("cuda" if mg.cuda.is_available() else "cpu")     # "cpu"

`mg.cuda.amp` is PyTorch's deprecated `torch.cuda.amp` (`from torch.cuda.amp import GradScaler` ports).
"""

import sys

from .amp import cuda as amp

sys.modules[__name__ + ".amp"] = amp        # (`import microgradseq.cuda.amp`: this is a module, not a package)


def is_available() -> bool:
    """False: nothing here runs on a GPU."""
    return False


def device_count() -> int:
    """0 GPUs."""
    return 0


def manual_seed(seed: int) -> None:
    """Seeds no GPU generator (there are none); as PyTorch's on a machine without CUDA, nothing happens.
    `mg.manual_seed` seeds the generator microgradseq draws from."""


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Frees no GPU memory (there is none held); as PyTorch's on a machine without CUDA, nothing happens."""
