"""PyTorch's switches of recording beside `no_grad` (autograd.py): `enable_grad`,
`set_grad_enabled`, `inference_mode` and `is_grad_enabled`. Each changes or reads only this thread's recording,
as `no_grad` does; the first two are decorators too.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator

from .autograd import grad_enabled, setting
from .checks import flag


def enable_grad(func: Callable | None = None) -> Any:
    """Record inside the block (in this thread), also within `no_grad()`; a decorator too, with or
    without parentheses."""
    block = setting(grad_enabled, True)
    return block if func is None else block(func)


def inference_mode(mode: Any = True) -> Any:
    """PyTorch's `inference_mode`: here `no_grad` (nothing recorded in this thread; arrays are
    read-only anyway); with `mode=False` recording stays as it is. A decorator too, with or
    without parentheses."""
    if callable(mode):                      # @inference_mode
        return setting(grad_enabled, False)(mode)
    return setting(grad_enabled, False) if flag(mode, "mode", "inference_mode") else _as_it_is()


@contextlib.contextmanager
def _as_it_is() -> Iterator[None]:
    yield


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
