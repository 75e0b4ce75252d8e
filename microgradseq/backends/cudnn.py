"""`torch.backends.cudnn`: settings a script may write and read back; no GPU library is here.

    with torch.backends.cudnn.flags(enabled=False): ...
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..checks import flag

deterministic = False       # PyTorch's defaults
benchmark = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    """False: there is no cuDNN here (CPU only)."""
    return False


def version() -> None:
    """None, as PyTorch's without cuDNN."""
    return None


@contextlib.contextmanager
def flags(enabled: bool | None = False, benchmark: bool | None = False, deterministic: bool | None = False,
          allow_tf32: bool | None = True) -> Iterator[None]:
    """The four settings set inside the block (None leaves one as it is) and restored after it, even when
    the block raises, as PyTorch's (torch/backends/cudnn/__init__.py, `flags` and `set_flags`)."""
    wanted = {"enabled": enabled, "benchmark": benchmark, "deterministic": deterministic, "allow_tf32": allow_tf32}
    wanted = {name: flag(value, name, "cudnn.flags") for name, value in wanted.items() if value is not None}
    settings = globals()      # the module's own settings above
    previous = {name: settings[name] for name in wanted}
    settings.update(wanted)
    try:
        yield
    finally:
        settings.update(previous)
