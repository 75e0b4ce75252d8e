"""What nodes carry for people: the time step and the module path stamped on every node made inside.

Nodes read `autograd.current_step` and `autograd.current_scope` when they are made,
so drawings can put each node in its step's box and errors can say
"t = 37, in lstm.cell". Both are per thread, like grad mode.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Iterator

from .autograd import current_scope, current_step
from .checks import is_int

# The blocks open in this thread or asyncio task (a context variable, as the state they set): (the object
# entered, what its block found: a context-variable token or a value), innermost last. One object (a
# `no_grad()` or a step made once) may be entered in several threads or tasks at once, and each entry
# is left with what it found in its own thread or task.
_open_blocks: ContextVar[tuple] = ContextVar("open_blocks", default=())


def enter_block(owner: Any, found: Any) -> None:
    """Keep what `owner`'s block found on entering, in this thread or task, for `leave_block`."""
    _open_blocks.set(_open_blocks.get() + ((owner, found),))


def leave_block(owner: Any) -> Any:
    """What `owner`'s innermost block open in this thread or task found (forgotten here)."""
    blocks = _open_blocks.get()
    for index in range(len(blocks) - 1, -1, -1):
        if blocks[index][0] is owner:
            _open_blocks.set(blocks[:index] + blocks[index + 1:])
            return blocks[index][1]
    raise RuntimeError(f"{type(owner).__name__}: left a block that was not entered in this thread or task")


class at_step:  # noqa: N801  (used like a function: `with at_step(t):`)
    """Stamp every node made inside the block with time step `t` (numbered from 1; 0 for the work
    before the first step, h_0's; a negative t is a ValueError).

    A class rather than a generator-based context manager: a layer enters one
    per time step, and this costs a third as much. The same object may be
    entered again while inside (each entry restores what it found).
    """

    __slots__ = ("step",)

    def __init__(self, t: int | None) -> None:
        if type(t) is not int and t is not None and not is_int(t):  # (a layer's int: one test, once a step)
            raise TypeError(f"step: a time step is an integer (or None), got {t!r}")
        if t is not None and t < 0:
            raise ValueError(f"step: time steps are numbered from 1 (0 for what comes before the first, "
                             f"h_0), got {t}")
        self.step = t

    def __enter__(self) -> None:
        enter_block(self, current_step.set(self.step))

    def __exit__(self, *exc_info) -> None:
        current_step.reset(leave_block(self))


def step_offset() -> int:
    """What a sequence's step numbers are shifted by: a sequence run inside `at_step(s)` (a layer
    called on one step of `tbptt`'s, say) numbers its steps from s, s + 1, ...; outside, from 1."""
    enclosing = current_step.get()
    return 0 if enclosing is None else enclosing - 1


def time_steps(count: int, reverse: bool = False) -> Iterator[int]:
    """`for t in time_steps(T):` runs t = 1, ..., T and stamps every node made in iteration t with
    step t, as `with at_step(t):` around the loop's body would, for a loop over a sequence (a
    layer's) at a fraction of the cost: one setting a step. Inside `at_step(s)` the stamps are
    s - 1 + t (`step_offset`). The step outside the loop is back when the loop ends, by `break`
    or an error too. `reverse=True` runs t = T, ..., 1 (a bidirectional layer's reverse
    direction: its step t reads input position t). A loop begun in one thread and ended in
    another is a RuntimeError (each thread's step is its own)."""
    offset = step_offset()
    outside = current_step.set(None)
    try:
        for t in (range(count, 0, -1) if reverse else range(1, count + 1)):
            current_step.set(offset + t)
            yield t
    finally:
        try:
            current_step.reset(outside)
        except ValueError:          # (a token of another thread's or task's context)
            raise RuntimeError("time_steps: the loop ended in another thread or asyncio task than the one it "
                               "began in; run a sequence's steps in one thread") from None


class in_scope:  # noqa: N801  (used like a function: `with in_scope(name):`)
    """Nodes made inside carry the module path `outer.name`. A class, as `at_step` is: every
    module call enters one. The same object may be entered again while inside, and in several
    threads or asyncio tasks at once: each entry is left with what it found in its own."""

    __slots__ = ("name", "entries")

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries = []           # the context-variable tokens of its open entries, in any thread or task

    def __enter__(self) -> None:
        outer, name = current_scope.get(), self.name
        self.entries.append(current_scope.set(f"{outer}.{name}" if outer and name else (name or outer)))

    def __exit__(self, *exc_info) -> None:
        token = self.entries[-1]        # (a module call's object is its own: the last entry is this one)
        try:
            current_scope.reset(token)
        except ValueError:              # another thread's or task's entry: this one's is further back
            token = self._reset_own()
        self.entries.remove(token)

    def _reset_own(self) -> Any:
        """Reset the innermost entry of this thread or task, the last token whose context is this one
        (another's refuses it: ValueError), and return it."""
        for token in self.entries[::-1]:
            try:
                current_scope.reset(token)
                return token
            except ValueError:
                continue
        raise RuntimeError("in_scope: left a block that was not entered in this thread or task")
