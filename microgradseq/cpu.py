"""PyTorch's `torch.cpu`: the device everything here runs on. `mg.cpu.amp` is PyTorch's deprecated
`torch.cpu.amp` (`autocast`, `GradScaler`)."""

import sys

from .amp import cpu as amp

sys.modules[__name__ + ".amp"] = amp        # (`import microgradseq.cpu.amp`: this is a module, not a package)


def is_available() -> bool:
    """True: microgradseq runs on the CPU."""
    return True


def device_count() -> int:
    """1, as PyTorch's."""
    return 1
