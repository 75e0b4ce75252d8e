"""PyTorch's switches of recording: `no_grad` (`mg.no_grad`; the core's three-line one is
autograd.py's), `enable_grad`, `set_grad_enabled`, `inference_mode` and `is_grad_enabled`. Each
changes or reads only this thread's recording; all but `is_grad_enabled` are decorators too. As a
decorator of a generator
function a switch holds inside each step of the generator (between `next()` calls the caller's
mode holds), as PyTorch's does; a switch object can be entered again, nested too.

This module is also `mg.autograd.grad_mode` (PyTorch's `torch.autograd.grad_mode`), and the switches
are in `mg.autograd` too (`torch.autograd.enable_grad`, ...).
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, Callable, Generator

from . import autograd
from .autograd import grad_enabled, setting
from .checks import flag
from .metadata import enter_block, leave_block


def _switched(func: Callable, recording: bool) -> Callable:
    """func with this thread's recording set to `recording` inside each call; for a generator
    function, inside each step of the generator it makes."""
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def steps(*args: Any, **kwargs: Any) -> Generator:
            return (yield from _stepped(func(*args, **kwargs), recording))
        return steps

    @functools.wraps(func)
    def switched(*args: Any, **kwargs: Any) -> Any:
        with setting(grad_enabled, recording):
            return func(*args, **kwargs)
    return switched


def _stepped(generator: Generator, recording: bool) -> Generator:
    """The generator's steps, each run with recording set to `recording` (what the caller sends or
    throws in passed on), the caller's mode between them; its return value at the end."""
    step, argument = generator.send, None
    while True:
        try:
            with setting(grad_enabled, recording):
                response = step(argument)
        except StopIteration as stop:
            return stop.value
        try:
            argument, step = (yield response), generator.send
        except GeneratorExit:
            with setting(grad_enabled, recording):
                generator.close()
            raise
        except BaseException as error:          # (thrown in by the caller: the generator gets it)
            argument, step = error, generator.throw


class _Switch:
    """A block (`with`) that sets this thread's recording to `recording` and puts back what it found,
    re-entrant, also from several threads or asyncio tasks at once (what each one's open blocks found
    is kept in its own context, as `metadata.at_step` keeps it); called on a function, a decorator."""

    recording = True

    def __enter__(self) -> None:
        enter_block(self, grad_enabled.set(self.recording))

    def __exit__(self, *exc_info: Any) -> None:
        grad_enabled.reset(leave_block(self))

    def __call__(self, func: Callable) -> Callable:
        """`@switch()`: the mode inside each call of `func` (each step, for a generator function)."""
        return _switched(func, self.recording)


class enable_grad(_Switch):
    """Record inside the block (in this thread), also within `no_grad()`; a decorator too, with or
    without parentheses."""

    def __new__(cls, func: Callable | None = None) -> Any:
        return super().__new__(cls) if func is None else cls()(func)      # (`@enable_grad`)

    def __init__(self, func: Callable | None = None) -> None:
        super().__init__()


class no_grad(_Switch):
    """`mg.no_grad`, PyTorch's: record nothing inside the block (in this thread); a decorator too,
    with or without parentheses; also `mg.autograd.no_grad`, as PyTorch's `torch.autograd.no_grad` is
    `torch.no_grad`. (The core's no_grad in autograd.py, which the engine uses, is the same inside a
    call in three lines; this one can be entered again, and holds inside each step of a decorated
    generator function.)"""

    recording = False

    def __new__(cls, func: Callable | None = None) -> Any:
        return super().__new__(cls) if func is None else cls()(func)      # (`@no_grad`)

    def __init__(self, func: Callable | None = None) -> None:
        super().__init__()


class inference_mode(_Switch):
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
        super().__init__()
        self.mode = flag(mode, "mode", "inference_mode")
        self.recording = not self.mode


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
        """`@set_grad_enabled(False)`: the mode inside each call of `func` only (each step, for a
        generator function); the mode set when the decorator was made is put back at once."""
        grad_enabled.set(self.previous)
        return _switched(func, self.mode)


# torch.autograd.no_grad, enable_grad, ... and `from torch.autograd.grad_mode import no_grad` port: mg.autograd
# is the core's module, so they are named there from here. (The core's own three-line no_grad, which a course
# reads, stays what the modules imported before this one use: the same switch, one use per object.)
autograd.no_grad, autograd.enable_grad, autograd.set_grad_enabled = no_grad, enable_grad, set_grad_enabled
autograd.inference_mode = inference_mode
autograd.grad_mode = sys.modules[autograd.__name__ + ".grad_mode"] = sys.modules[__name__]
