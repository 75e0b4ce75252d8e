"""PyTorch's switches of recording beside `no_grad` (autograd.py): `enable_grad`,
`set_grad_enabled` and `is_grad_enabled`. Each changes only this thread's recording, as
`no_grad` does.
"""

from __future__ import annotations

import contextlib

from .autograd import grad_enabled, setting
from .checks import flag


def enable_grad() -> contextlib.AbstractContextManager:
    """Record inside the block (in this thread), also within `no_grad()`; a decorator too."""
    return setting(grad_enabled, True)


def is_grad_enabled() -> bool:
    """Whether this thread records."""
    return grad_enabled.get()


class set_grad_enabled:
    """Recording on (True) or off (False) in this thread, as PyTorch's: called alone,
    `set_grad_enabled(False)` switches it from then on; `with set_grad_enabled(mode):` switches
    it inside the block and puts back what was before."""

    def __init__(self, mode: bool) -> None:
        self.previous = grad_enabled.get()
        grad_enabled.set(flag(mode, "mode", "set_grad_enabled"))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info) -> None:
        grad_enabled.set(self.previous)
