"""PyTorch's `torch.utils.hooks.RemovableHandle`: what registering a hook returns, to take it off again."""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Callable

_ids = itertools.count()


class HookRegistry(OrderedDict):
    """One owner's hooks of one kind, by handle id, in the order they run."""


class RemovableHandle:
    """`handle.remove()` takes the hook off again (a second call does nothing); `with handle:` takes
    it off at the end of the block. The handle does not keep the hooks' owner alive."""

    def __init__(self, registry: HookRegistry) -> None:
        self.id = next(_ids)
        self._registry = weakref.ref(registry)

    def remove(self) -> None:
        registry = self._registry()
        if registry is not None:
            registry.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


def add_hook(registry: HookRegistry, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """Put `hook` into `registry`, to run last (or first: `prepend`), and return its handle."""
    handle = RemovableHandle(registry)
    registry[handle.id] = hook
    if prepend:
        registry.move_to_end(handle.id, last=False)
    return handle
