"""`Sequential` and `ModuleList`: modules that hold other modules under the names "0", "1", ..."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from ..checks import is_int
from .module import Module


def _checked(where: str, name: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: entry {name} must be a Module, got {type(module).__name__}")
    return module


class _Indexed(Module):
    """Children kept in order, named by position; `len`, iteration and indexing as a list's."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def _position(self, index: Any) -> int:
        if not is_int(index) or not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__}: index {index!r} is out of range for {len(self)} modules")
        return index % len(self)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):       # a Sequential keeps its children's names, a ModuleList renumbers
            named = list(self._modules.items())[index]
            return Sequential(dict(named)) if isinstance(self, Sequential) else ModuleList(m for _, m in named)
        return list(self._modules.values())[self._position(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[self._position(index)]
        setattr(self, name, _checked(type(self).__name__, name, module))

    def append(self, module: Module) -> "_Indexed":
        """Add `module` at the end (named by its position); returns self."""
        name = str(len(self))
        setattr(self, name, _checked(type(self).__name__, name, module))
        return self


class Sequential(_Indexed):
    """Modules applied in turn: `Sequential(a, b)(x)` is `b(a(x))`. Children are named "0", "1", ...,
    or by the keys of one mapping passed instead (`Sequential(OrderedDict(fc=..., act=...))`)."""

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            named = list(modules[0].items())
        else:
            named = [(str(position), module) for position, module in enumerate(modules)]
        for name, module in named:
            setattr(self, name, _checked("Sequential", name, module))

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_Indexed):
    """A list of modules whose parameters the owner finds (a plain list hides them): index it, loop
    over it, `append` and `extend` it; it has no forward of its own."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self.extend(modules or ())

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Append each of `modules`; returns self."""
        for module in modules:
            self.append(module)
        return self
