"""PyTorch's switches of recording beside `no_grad` (autograd.py): `enable_grad`,
`set_grad_enabled`, `inference_mode` and `is_grad_enabled`. Each changes or reads only this thread's recording,
as `no_grad` does; all but `is_grad_enabled` are decorators too.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from .autograd import grad_enabled, setting
from .checks import flag


def enable_grad(func: Callable | None = None) -> Any:
    """Record inside the block (in this thread), also within `no_grad()`; a decorator too, with or
    without parentheses."""
    block = setting(grad_enabled, True)
    return block if func is None else block(func)


class inference_mode:
    """PyTorch's `inference_mode`: here `no_grad` (nothing recorded in this thread; arrays are
    read-only anyway). As PyTorch's, `inference_mode(False)` turns recording on, also inside
    `no_grad` or `inference_mode()` (it leaves inference mode, which is grad mode off). A block that
    can be entered again (the same object, nested too), and a decorator, with or without
    parentheses."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):                  # @inference_mode
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: Any = True) -> None:
        self.mode = flag(mode, "mode", "inference_mode")
        self.previous = []                  # what each open block found, innermost last

    def __enter__(self) -> None:
        self.previous.append(grad_enabled.get())
        grad_enabled.set(not self.mode)

    def __exit__(self, *exc_info) -> None:
        grad_enabled.set(self.previous.pop())

    def __call__(self, func: Callable) -> Callable:
        """`@inference_mode()`: the mode inside each call of `func` only."""
        recording = not self.mode

        @functools.wraps(func)
        def switched(*args: Any, **kwargs: Any) -> Any:
            with setting(grad_enabled, recording):
                return func(*args, **kwargs)
        return switched


def is_grad_enabled() -> bool:
    """Whether this thread records."""
    return grad_enabled.get()


class set_grad_enabled:
    """Recording on (True) or off (False) in this thread, as PyTorch's: called alone,
    `set_grad_enabled(False)` switches it from then on; `with set_grad_enabled(mode):` switches
    it inside the block and puts back what was before."""

    def __init__(self, mode: bool) -> None:
        self.previous, self.mode = grad_enabled.get(), flag(mode, "mode", "set_grad_enabled")
        grad_enabled.set(self.mode)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info) -> None:
        grad_enabled.set(self.previous)

    def __call__(self, func: Callable) -> Callable:
        """`@set_grad_enabled(False)`: the mode inside each call of `func` only (the mode set when
        the decorator was made is put back at once)."""
        grad_enabled.set(self.previous)
        mode = self.mode

        @functools.wraps(func)
        def switched(*args: Any, **kwargs: Any) -> Any:
            with setting(grad_enabled, mode):
                return func(*args, **kwargs)
        return switched
