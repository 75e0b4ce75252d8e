"""`Sequential` and `ModuleList`, modules that hold other modules under the names "0", "1", ...,
and `ModuleDict`, which holds them under keys of your choosing; `ParameterList` and `ParameterDict`, the
same for parameters; `Container`, PyTorch's deprecated Module of named children."""

from __future__ import annotations

import operator
import warnings
from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from ..checks import is_int, user_stacklevel
from ..tensor import Tensor
from .module import Module, Parameter, checked_name


class Container(Module):
    """PyTorch's deprecated nn.Container: a Module holding each keyword argument as the child of that name
    (`add_module`), made with PyTorch's warning; subclass Module instead."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of it's functionality is now implemented in nn.Module. "
                      "Subclass that instead.", UserWarning, stacklevel=user_stacklevel())
        for name, module in kwargs.items():
            self.add_module(name, module)


def _listed(where: str, modules: Any) -> list:
    """`modules` as a list, or a TypeError naming `where` if it is not iterable."""
    try:
        return list(modules)
    except TypeError:
        raise TypeError(f"{where}: expected an iterable of modules, got {type(modules).__name__}") from None


def _index(where: str, index: Any, size: int, what: str) -> int:
    """`index` as a position in 0 .. size - 1, read as PyTorch reads it, through `operator.index` (so an
    integer, or a 0-d integer tensor, `seq[torch.tensor(1)]`); counted from the end if negative. Not an
    integer: TypeError; out of range: IndexError."""
    try:
        position = operator.index(index)
    except TypeError:
        raise TypeError(f"{where}: an index must be an integer, got {type(index).__name__}") from None
    if not -size <= position < size:
        raise IndexError(f"{where}: index {position} is out of range for {size} {what}")
    return position % size


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
        return _index(type(self).__name__, index, len(self), "modules")

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

    def extend(self, modules: Iterable[Module]) -> "_Indexed":
        """Append each of `modules` (each checked first: a bad one appends none); returns self."""
        modules = _listed(f"{type(self).__name__}.extend", modules)
        for offset, module in enumerate(modules):
            _checked(type(self).__name__, str(len(self) + offset), module)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> "_Indexed":
        """Put `module` before position `index` (-len <= index <= len); the modules from there on move
        up one and all are named "0", "1", ... again, as PyTorch's. Returns self."""
        where = f"{type(self).__name__}.insert"
        if not is_int(index) or not -len(self) <= index <= len(self):
            raise IndexError(f"{where}: index {index!r} is out of range for {len(self)} modules")
        modules = list(self._modules.values())
        modules.insert(index, _checked(where, str(index), module))
        self._renumber(modules)
        return self

    def __delitem__(self, index: int | slice) -> None:
        """Remove the module at `index` (or those of a slice); the rest are named "0", "1", ... again,
        as PyTorch's."""
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._renumber(modules)

    def pop(self, index: int | slice) -> Any:
        """Remove and return the module at `index` (a slice: a container of those modules)."""
        taken = self[index]
        del self[index]
        return taken

    def _renumber(self, modules: list) -> None:
        """Hold exactly `modules`, named by their positions."""
        for name in list(self._modules):
            delattr(self, name)
        for position, module in enumerate(modules):
            setattr(self, str(position), module)

    def __dir__(self) -> list[str]:
        """As PyTorch's: the children's names "0", "1", ... are left out."""
        return [name for name in super().__dir__() if not name.isdigit()]


class Sequential(_Indexed):
    """Modules applied in turn: `Sequential(a, b)(x)` is `b(a(x))`. Children are named "0", "1", ...,
    or by the keys of one mapping passed instead (`Sequential(OrderedDict(fc=..., act=...))`).
    As PyTorch's, `+` and `+=` join two Sequentials and `*` repeats one (the same module objects)."""

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            named = list(modules[0].items())
        else:
            named = [(str(position), module) for position, module in enumerate(modules)]
        for name, module in named:
            self.add_module(name, _checked("Sequential", name, module))      # (add_module checks the name)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __add__(self, other: "Sequential") -> "Sequential":
        """A new Sequential of this one's modules, then `other`'s (the same objects), named "0", "1", ..."""
        return Sequential(*self, *_sequential("Sequential +", other))

    def __iadd__(self, other: "Sequential") -> "Sequential":
        """Append `other`'s modules, named by position after this one's, as PyTorch's."""
        return self.extend(_sequential("Sequential +=", other))

    def __mul__(self, times: int) -> "Sequential":
        """A new Sequential of this one's modules `times` times over (the same objects, so the copies
        share their parameters), named "0", "1", ..., as PyTorch's."""
        return Sequential(*list(self) * _times("Sequential *", times))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> "Sequential":
        """This one's modules `times` times over, in place (the same objects), as PyTorch's."""
        return self.extend(list(self) * (_times("Sequential *=", times) - 1))


def _sequential(where: str, other: Any) -> Sequential:
    """`other` if it is a Sequential, else PyTorch's ValueError (before anything changes)."""
    if not isinstance(other, Sequential):
        raise ValueError(f"{where}: expected a Sequential, got {type(other).__name__}")
    return other


def _times(where: str, times: Any) -> int:
    """A repeat count: TypeError unless an integer, ValueError unless >= 1, as PyTorch's."""
    if not is_int(times):
        raise TypeError(f"{where}: expected an integer number of repeats, got {type(times).__name__}")
    if times <= 0:
        raise ValueError(f"{where}: expected a number of repeats >= 1, got {times}")
    return int(times)


class ModuleList(_Indexed):
    """A list of modules whose parameters the owner finds (a plain list hides them): index it, loop
    over it, `append`, `extend`, `insert`, `pop`, `del`, `+` and `+=` as a list's (no `*`, as
    PyTorch's); it has no forward of its own."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self.extend(modules or ())

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        """A new ModuleList of this one's modules, then those of `other` (any iterable of modules)."""
        return ModuleList([*self, *_listed("ModuleList +", other)])

    def __iadd__(self, other: Iterable[Module]) -> "ModuleList":
        """`extend(other)`: returns self."""
        return self.extend(_listed("ModuleList +=", other))

    def _child_lines(self) -> list[str]:
        """PyTorch's: a run of equal consecutive modules is one entry, `(0-2): 3 x Linear(...)`."""
        runs: list[list] = []                   # [first position, last position, repr]
        for position, module in enumerate(self):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1][1] = position
            else:
                runs.append([position, position, text])
        return [f"({first}): {text}" if first == last else f"({first}-{last}): {last - first + 1} x {text}"
                for first, last, text in runs]


class ModuleDict(Module):
    """A dict of modules whose parameters the owner finds (a plain dict hides them), as PyTorch's:
    `d[key]`, `d[key] = module`, `del d[key]`, `key in d`, `len`, iteration over the keys, `keys()`,
    `items()`, `values()`, `update`, `pop`, `clear`. Entries keep their order; a child's names come
    out as `<attribute>.<key>.weight`. It has no forward of its own."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _entry(self, key: Any, module: Any) -> tuple[str, Module]:
        """(key, module) checked, as PyTorch's add_module checks a name (not `keys`, `training`, ...)."""
        return checked_name("ModuleDict", self, key, self._modules), _checked("ModuleDict", repr(key), module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        setattr(self, *self._entry(key, module))

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: Any) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def pop(self, key: str) -> Module:
        """Remove the entry `key` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every entry."""
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace entries from a mapping (a dict, an OrderedDict, a ModuleDict) or from
        (key, module) pairs, in their order. Every entry is checked before any is added."""
        pairs = _update_pairs("ModuleDict.update", modules, "module", Module, ModuleDict)
        entries = [self._entry(key, module) for key, module in pairs]
        for key, module in entries:
            setattr(self, key, module)


def _update_pairs(where: str, given: Any, value_name: str, single: type, container: type,
                  sort_plain_dicts: bool = False) -> list:
    """The (key, value) pairs a dict container's `update` takes: the items of a mapping or of a
    `container` (a mapping's other than an OrderedDict sorted by key when `sort_plain_dicts`, as
    PyTorch's ParameterDict sorts them; the others in their order) or an iterable of pairs; TypeError
    for anything else (a str, a `single` value), and, as PyTorch's, for an element that is not
    iterable (`update([nn.ReLU()])`); ValueError naming an element that is iterable but not a pair
    (`update([[nn.ReLU()]])`), and for a tensor with axes, whose rows PyTorch's reads as elements; all
    before any is added."""
    if isinstance(given, (Mapping, container)):
        pairs = list(given.items())
        if sort_plain_dicts and not isinstance(given, (OrderedDict, container)):
            pairs.sort()
    elif isinstance(given, Iterable) and not isinstance(given, (str, single)):
        pairs = list(given)
    elif isinstance(given, Tensor) and given.ndim > 0:
        raise ValueError(f"{where}: expected a mapping or an iterable of (key, {value_name}) pairs, got a "
                         f"Tensor of shape {tuple(given.shape)} (its rows are not pairs)")
    else:
        raise TypeError(f"{where}: expected a mapping or an iterable of (key, {value_name}) pairs, got "
                        f"{type(given).__name__}")
    for j, pair in enumerate(pairs):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{where}: element #{j} must be a (key, {value_name}) pair, got "
                            f"{type(pair).__name__}")
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{where}: element #{j} must be a (key, {value_name}) pair, got {pair!r}")
    return pairs


# ---- parameters -------------------------------------------------------------------------------------------

def _as_parameter(value: Any) -> Any:
    """A Tensor that is not a Parameter becomes one, of a copy of its values, as PyTorch's ParameterList and
    ParameterDict make one; a Parameter, a Module or any other object is kept as it is."""
    return Parameter(value.data) if isinstance(value, Tensor) and not isinstance(value, Parameter) else value


def _entry_line(key: Any, value: Any) -> str:
    """An entry of a ParameterList's or ParameterDict's repr as PyTorch prints it, the dtype by this library's
    name: `  (0): Parameter containing: [float32 of size 2x3]`, or `  (k): Object of type: int`."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{value.dtype} of size {'x'.join(map(str, value.shape))}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters whose owner finds them (a plain list hides them from `parameters()`,
    `state_dict()` and the optimizer), as PyTorch's: named "0", "1", ... (`weights.0`), indexed (a slice
    gives a new ParameterList of the same parameters), iterated, `append`, `extend`, `+=`, `l[i] = p`.
    A Tensor put in becomes a Parameter of its values; other objects are kept as they are. It has no
    forward: calling one is a RuntimeError, as PyTorch's."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return self._size

    def _position(self, index: Any) -> int:
        return _index("ParameterList", index, len(self), "entries")

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return ParameterList([self[i] for i in range(len(self))[index]])
        return getattr(self, str(self._position(index)))

    def __setitem__(self, index: int, value: Any) -> None:
        setattr(self, str(self._position(index)), _as_parameter(value))

    def __iter__(self) -> Iterator[Any]:
        return iter([self[i] for i in range(len(self))])

    def __iadd__(self, values: Iterable[Any]) -> "ParameterList":
        return self.extend(values)

    def append(self, value: Any) -> "ParameterList":
        """Add `value` at the end, named by its position; returns self."""
        setattr(self, str(len(self)), _as_parameter(value))
        object.__setattr__(self, "_size", self._size + 1)
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        """Append each of `values` (an iterable, not a tensor: TypeError before anything changes); returns self."""
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend: expected an iterable of parameters, got {type(values).__name__}")
        for value in [_as_parameter(value) for value in values]:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_line(k, p) for k, p in enumerate(self))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterList should not be called.")

    def __dir__(self) -> list[str]:
        """As PyTorch's: the entries' names "0", "1", ... are left out."""
        return [name for name in super().__dir__() if not name.isdigit()]


class ParameterDict(Module):
    """A dict of parameters whose owner finds them, as PyTorch's: keys are strings (a non-empty str without
    '.' that is not another attribute: KeyError, as ModuleDict's); `d[key]`, `d[key] = value`, `del d[key]`,
    `in`, `len`, iteration over the keys, `keys`, `items`, `values`, `get`, `pop`, `popitem`, `setdefault`,
    `update`, `clear`, `copy`, `fromkeys`, `|`. Names come out as `<attribute>.<key>`. A Tensor put in
    becomes a Parameter of its values. Entries keep the order they came in, except that a plain dict given
    to the constructor or `update` goes in sorted by key, as PyTorch's (an OrderedDict, a ParameterDict or
    (key, value) pairs keep their order). Calling one is a RuntimeError."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def _entry(self, key: Any, value: Any) -> tuple[str, Any]:
        """(key, value) checked and the value made a Parameter if it is a Tensor, before anything changes."""
        key, value = checked_name("ParameterDict", self, key, self._keys), _as_parameter(value)
        self._check_parameter_slot(key, value)
        return key, value

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        key, value = self._entry(key, value)
        setattr(self, key, value)
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        if key not in self._keys:
            raise KeyError(key)
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: Any) -> bool:
        return key in self._keys

    def keys(self) -> Iterable[str]:
        return self._keys.keys()

    def items(self) -> Iterator[tuple[str, Any]]:
        return ((key, self[key]) for key in list(self._keys))

    def values(self) -> Iterator[Any]:
        return (self[key] for key in list(self._keys))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        """Remove the entry `key` and return its value."""
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        """Remove the last entry and return (key, value); KeyError if there is none."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = list(self._keys)[-1]
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The value at `key`, after putting `default` there if there was none."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        """Remove every entry."""
        for key in list(self._keys):
            del self[key]

    def copy(self) -> "ParameterDict":
        """A new ParameterDict of the same parameters, in this order."""
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> "ParameterDict":
        """A new ParameterDict with `default` at each of `keys`."""
        return ParameterDict((key, default) for key in keys)

    def update(self, parameters: Any) -> None:
        """Add or replace entries from a mapping or from (key, value) pairs (every entry is checked before
        any is added). A plain dict goes in sorted by key, an OrderedDict, a ParameterDict or pairs in
        their order, as PyTorch's."""
        pairs = _update_pairs("ParameterDict.update", parameters, "value", Tensor, ParameterDict, sort_plain_dicts=True)
        entries = [self._entry(key, value) for key, value in pairs]
        for key, value in entries:
            setattr(self, key, value)
            self._keys[key] = None

    def __or__(self, other: "ParameterDict") -> "ParameterDict":
        joined = self.copy()
        joined.update(other)
        return joined

    def __ror__(self, other: "ParameterDict") -> "ParameterDict":
        joined = other.copy()
        joined.update(self)
        return joined

    def __ior__(self, other: "ParameterDict") -> "ParameterDict":
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_line(k, p) for k, p in self.items())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterDict should not be called.")
