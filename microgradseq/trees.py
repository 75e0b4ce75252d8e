"""Nested containers of tensors: a recurrent state such as an LSTM's `(h, c)`, or an argument of
`mg.func`'s transforms (PyTorch's pytrees: tuples, lists and dicts). Walked without recursion, so a
state or an argument nested 100,000 deep is read too."""

from __future__ import annotations

from typing import Any, Callable


def items(container: tuple | list | dict) -> list:
    """What a container holds, in order: a dict's values."""
    return list(container.values() if isinstance(container, dict) else container)


def same_kind(container: Any, parts: list) -> Any:
    """A container of `container`'s type (and keys) holding `parts`: a namedtuple stays one."""
    if isinstance(container, dict):
        return type(container)(zip(container.keys(), parts))
    return type(container)(*parts) if hasattr(container, "_fields") else type(container)(parts)


def fold(tree: Any, leaf: Callable[[Any], Any], container: Callable[[Any, list], Any],
         kinds: tuple = (tuple, list, dict)) -> Any:
    """The tree folded bottom up: `leaf(x)` for each item that is not one of the container `kinds`,
    and `container(c, parts)` for each one that is, `parts` what its items folded to, in order.
    `leaf` sees the leaves in order, depth first.

    A stack of what is left to visit (a container is pushed again after its items) and a stack of
    what they folded to, from which a container, met the second time, takes its own: the last
    len(c) of them.
    """
    to_visit, folded = [(tree, False)], []
    while to_visit:
        item, items_done = to_visit.pop()
        if items_done:
            start = len(folded) - len(item)
            parts = folded[start:]
            del folded[start:]
            folded.append(container(item, parts))
        elif isinstance(item, kinds):
            to_visit.append((item, True))
            to_visit.extend((part, False) for part in reversed(items(item)))
        else:
            folded.append(leaf(item))
    return folded[0]
