"""A module's `_parameters` table, kept in step with the module's attributes.

PyTorch keeps a module's parameters only in `module._parameters` and finds `module.weight` there
(`Module.__getattr__`); a module here holds each parameter as an attribute too, which is read
faster. So that code written for PyTorch's table still works, the table is a dict whose writes
and deletions also set or remove the attribute on every module holding it.
"""

from __future__ import annotations

import copy
import threading
import weakref
from typing import Any


class ParameterTable(dict):
    """A module's `_parameters`: a dict, as PyTorch's, whose writes also set the module's attribute.

    PyTorch keeps a parameter only in `_parameters` and finds `module.weight` there, so a tensor written
    into the table is what `forward` reads: meta-learning code sets the weights of an inner step that way,
    a tensor of the graph rather than a Parameter (`module._parameters['weight'] = flat[:n].view(shape)` in
    ikostrikov's pytorch-meta-optimizer). A module here also holds each parameter as an attribute, so a
    write into the table (`table[name] = t`, `update`, `setdefault`) sets that attribute too, and a deletion
    (`del table[name]`, `pop`, `popitem`, `clear`) removes it, on each module holding this table (two after
    `copy.copy`), unchecked, as PyTorch's dict checks nothing. The modules are weak references, the dead
    ones dropped when another module takes the table (`copy.copy` in a loop keeps the list short)."""

    def __init__(self, owner: Any = None) -> None:
        super().__init__()
        self._owners = [] if owner is None else [weakref.ref(owner)]

    def _holders(self) -> list:
        """The live modules holding this table (a module whose `_parameters` was replaced holds it no more)."""
        return [owner for owner in (ref() for ref in self._owners)
                if owner is not None and owner.__dict__.get("_parameters") is self]

    def _held_by(self, owner: Any) -> None:
        with _HOLDERS_LOCK:         # (two threads copying one module: neither copy is lost)
            holders = self._holders()
            self._owners = [weakref.ref(holder) for holder in holders if holder is not owner] + [weakref.ref(owner)]

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, name, value)
        for ref in self._owners:        # (as `_holders`, inline: Module.__setattr__ of a Parameter comes here)
            owner = ref()
            if owner is not None and owner.__dict__.get("_parameters") is self:
                object.__setattr__(owner, name, value)

    def __delitem__(self, name: str) -> None:
        dict.__delitem__(self, name)
        self._forget(name)

    def _forget(self, name: str) -> None:
        for owner in self._holders():
            owner.__dict__.pop(name, None)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def __ior__(self, other: Any) -> "ParameterTable":
        self.update(other)
        return self

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return dict.__getitem__(self, name)

    def pop(self, name: str, *default: Any) -> Any:
        present = name in self
        value = dict.pop(self, name, *default)      # (the default, or dict's KeyError)
        if present:
            self._forget(name)
        return value

    def popitem(self) -> tuple:
        name, value = dict.popitem(self)
        self._forget(name)
        return name, value

    def clear(self) -> None:
        for name in list(self):
            del self[name]

    def __deepcopy__(self, memo: dict) -> "ParameterTable":
        new = type(self)()
        memo[id(self)] = new
        new._owners = [weakref.ref(memo[id(owner)]) for owner in self._holders() if id(owner) in memo]
        for name, value in self.items():    # (a module being copied: its copy, in memo already, holds the copy)
            dict.__setitem__(new, name, copy.deepcopy(value, memo))
        return new

    def __reduce__(self) -> tuple:
        """Pickled (and `copy.copy` alone) without its modules: `Module.__setstate__` names the holder."""
        return type(self), (), None, None, iter(self.items())


_HOLDERS_LOCK = threading.Lock()


def holds_its_table(module: Any) -> None:
    """After unpickling or `copy.copy`: `module`'s parameter table learns that `module` holds it."""
    table = module.__dict__.get("_parameters")
    if isinstance(table, ParameterTable):
        table._held_by(module)
