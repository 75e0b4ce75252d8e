"""PyTorch's `torch.backends`, for the lines scripts write to seed or tune a GPU run:
`torch.backends.cudnn.deterministic = True`, `torch.backends.cudnn.benchmark = False` and
`torch.backends.cuda.matmul.allow_tf32 = True` are plain settings here (nothing runs on a GPU: they
change nothing), and `is_available()` is False.
Likewise `torch.use_deterministic_algorithms(True)` (fast.ai's `set_seed`): every computation here
is numpy's on the CPU, deterministic already, so the setting is only kept and read back."""

from typing import Any

from ..checks import flag
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]

_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: Any, *, warn_only: Any = False) -> None:
    """torch.use_deterministic_algorithms: kept for `are_deterministic_algorithms_enabled()` (see above)."""
    _deterministic.update(mode=flag(mode, "mode", "use_deterministic_algorithms"),
                          warn_only=flag(warn_only, "warn_only", "use_deterministic_algorithms"))


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]
