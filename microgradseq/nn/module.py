"""`Module`: modules own parameters (`Parameter`, parameter.py) and find them by walking attributes."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections import namedtuple
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from ..checks import flag, is_int, user_stacklevel
from ..metadata import in_scope
from ..parameter import Parameter, forget_gradients
from ..spellings import check_device, target_dtype
from ..tensor import Tensor, array_of, get_default_dtype, numbers_in
from .module_hooks import ForwardHooks
from .parameter_table import ParameterTable, holds_its_table


# The module whose overriding `train` Module.train is calling and its holders (ids): the walk its own
# `super().train(mode)` makes, or its children's `train` (an override that walks them itself), does not enter
# them again, so a module that holds itself switches once.
_TRAINING_PATH: ContextVar[frozenset] = ContextVar("_TRAINING_PATH", default=frozenset())


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns, as PyTorch's: the module's names the dict lacked, and the
    dict's names the module lacks (both empty after a strict load, which raises otherwise)."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def checked_name(where: str, owner: Any, name: Any, own: dict) -> str:
    """`name` for a buffer or a module `owner` keeps in `own`, checked as PyTorch's add_module
    checks one: a non-empty str without '.' that is not already another attribute of `owner`."""
    if not isinstance(name, str):
        raise TypeError(f"{where}: expected the name as a str, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{where}: a name must be non-empty and without '.', got {name!r}")
    if hasattr(owner, name) and name not in own:
        raise KeyError(f"{where}: attribute {name!r} already exists")
    return name


_TAKES_INPUT: dict = {}


def _forward_takes_input(cls: type) -> bool:
    """Whether `cls.forward` names an argument `input` (or takes **kwargs): PyTorch's layers call their first
    argument `input`, so `module(input=x)` is passed on by position to a forward that calls it `x`."""
    takes = _TAKES_INPUT.get(cls)
    if takes is None:
        try:
            params = inspect.signature(cls.forward).parameters.values()
            takes = any(p.name == "input" or p.kind is p.VAR_KEYWORD for p in params)
        except (TypeError, ValueError):
            takes = True
        _TAKES_INPUT[cls] = takes
    return takes


class Module(ForwardHooks):
    """Base class: assign `Parameter`s and sub-`Module`s as attributes; write `forward`.

    Names come out dotted, as PyTorch makes them: a `Linear` stored as
    `self.readout` owns `readout.weight` and `readout.bias`. Buffers
    (`register_buffer`) are tensors the module keeps but does not train.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", ParameterTable(self))
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_name", "")
        object.__setattr__(self, "training", True)
        self._make_hook_tables()

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:         # before Module.__init__: plain values only, as PyTorch
            if isinstance(value, (Parameter, Module)):
                what = "a parameter" if isinstance(value, Parameter) else "a child module"
                self._check_initialised(type(self).__name__, f"assigning {what} ({name!r})")     # (raises)
            object.__setattr__(self, name, value)
            return
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self.register_buffer(name, value, name not in self._non_persistent_buffers_set)
            return
        # as PyTorch: a parameter's name takes a Parameter or None, a child's a Module (or a Parameter) or None;
        # anything else would silently drop it from parameters(), state_dict() and the optimizer's reach
        self._check_parameter_slot(name, value)
        if name in self._modules and not isinstance(value, (Module, Parameter, type(None))):
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__!r} as child module "
                            f"{name!r} (a Module or None expected)")
        # forget `name` everywhere but in the table it goes to: replacing keeps its place, as PyTorch; None
        # in a parameter's or a child's place empties the slot and keeps it (`self.bias = None`, as PyTorch)
        if value is None:
            kept = self._parameters if name in self._parameters else self._modules if name in self._modules else None
        else:
            kept = (self._parameters if isinstance(value, Parameter) else self._modules if isinstance(value, Module)
                    else None)
        for table in (self._parameters, self._modules, self._buffers):
            if table is not kept:
                table.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        if isinstance(value, Parameter):
            self._parameters[name] = value.named(name)
        elif isinstance(value, Module):
            self._modules[name] = value
            if not value._name:
                object.__setattr__(value, "_name", name)
        elif kept is not None:
            kept[name] = None
        object.__setattr__(self, name, value)

    def __setstate__(self, state: dict) -> None:
        """Unpickling and `copy.copy` give the module its attributes back; its parameter table learns
        that this module holds it (see `ParameterTable`)."""
        self.__dict__.update(state)
        holds_its_table(self)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own `__setstate__` (or a mixin's before Module's) is wrapped so that the parameter
        table learns its holder after it, whether or not it calls `super().__setstate__(state)` (PyTorch's
        Module.__setstate__ only fills in missing hook tables, so old code often does not)."""
        super().__init_subclass__(**kwargs)
        setstate = cls.__setstate__
        if setstate is not Module.__setstate__ and not getattr(setstate, "_holds_its_table", False):
            @functools.wraps(setstate)
            def __setstate__(self: Module, state: Any) -> None:
                setstate(self, state)
                holds_its_table(self)
            __setstate__._holds_its_table = True
            cls.__setstate__ = __setstate__

    def _check_initialised(self, where: str, doing: str) -> None:
        """AttributeError, as PyTorch's, when Module.__init__ has not run yet (it makes the tables)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{where}: call super().__init__() before {doing}")

    def _check_parameter_slot(self, name: str, value: Any) -> None:
        """TypeError, as PyTorch's, when `name` is a parameter's and `value` is neither a Parameter nor None
        (containers check each entry with it before they add any)."""
        if name in self._parameters and not isinstance(value, (Parameter, type(None))):
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__!r} as parameter {name!r} "
                            "(a Parameter or None expected); to change its values assign its .data or load a "
                            "state dict")

    def __delattr__(self, name: str) -> None:
        parameter = name in self._parameters
        self._parameters.pop(name, None)        # (which takes the attribute too: ParameterTable)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        if not parameter or name in self.__dict__:
            object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Keep `tensor` as `self.<name>`, a buffer: state that is not trained (a running mean, a
        mask). A persistent buffer is saved in `state_dict()` and loaded back; `to(dtype)` converts
        floating ones. Assigning `self.<name> = t` later replaces it (a Tensor or None)."""
        where = f"{type(self).__name__}.register_buffer"
        self._check_initialised(where, "registering buffers")
        checked_name(where, self, name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{where}: expected a Tensor or None for buffer {name!r}, got {type(tensor).__name__}")
        persistent = flag(persistent, "persistent", where)
        self._buffers[name] = tensor
        (self._non_persistent_buffers_set.discard if persistent else self._non_persistent_buffers_set.add)(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Keep `param` as the parameter `name`, as `self.<name> = param` does, with PyTorch's checks: a
        non-empty str without '.' that is not another attribute (KeyError), a Parameter or None
        (TypeError). None keeps an empty slot, as `Linear(bias=False)`'s bias: no entry in
        parameters() or state_dict() until a Parameter is assigned there."""
        where = f"{type(self).__name__}.register_parameter"
        self._check_initialised(where, "registering parameters")
        checked_name(where, self, name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{where}: cannot assign {type(param).__name__!r} as parameter {name!r} (a Parameter "
                            "or None expected)")
        if param is None:
            self._parameters[name] = None   # a slot: None assigned to it keeps it (`__setattr__`)
        setattr(self, name, param)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Keep `module` as the child `name`, as `self.<name> = module` does, with PyTorch's checks: a
        non-empty str without '.' that is not another attribute (KeyError), a Module or None (TypeError).
        `Sequential().add_module("block0", ...)` appends in order. (Also `register_module`.)"""
        where = f"{type(self).__name__}.add_module"
        self._check_initialised(where, "adding child modules")
        checked_name(where, self, name, self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{where}: expected a Module or None for {name!r}, got {type(module).__name__}")
        if module is None:
            self._modules[name] = None      # a slot for a child: None assigned to it keeps it (`__setattr__`)
        setattr(self, name, module)

    register_module = add_module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and "input" in kwargs and not _forward_takes_input(type(self)):
            args = (kwargs.pop("input"),)       # PyTorch's name for forward's first argument: `lin(input=x)`
        with in_scope(self._name or type(self).__name__):      # nodes made inside carry the module path
            if self._forward_pre_hooks or self._forward_hooks:
                return self._call_with_hooks(self.forward, args, kwargs)       # (module_hooks.py)
            return self.forward(*args, **kwargs)

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module and every module below it, depth first; a module
        held in several places once (under its first name), unless `remove_duplicate=False`. A module
        that holds itself or one of its holders is not entered again along that path (its names would
        never end; PyTorch's recursion fails there)."""
        stack, seen = [(prefix, self, frozenset())], set()      # (name, module, ids of the modules holding it)
        while stack:
            name, module, holders = stack.pop()
            if (remove_duplicate and id(module) in seen) or id(module) in holders:
                continue                    # (a module holding itself, or its holder: its names never end)
            seen.add(id(module))
            yield name, module
            holders |= {id(module)}
            stack.extend(reversed([(f"{name}.{child}" if name else child, m, holders)
                                   for child, m in module._modules.items() if m is not None]))

    def modules(self) -> Iterator["Module"]:
        """This module and every module below it, each once, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """(name, module) for each direct child, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        """Each direct child, once."""
        for _, module in self.named_children():
            yield module

    def get_submodule(self, target: str) -> "Module":
        """The module at the dotted path `target` (`"encoder.rnn"`; `""` is this one), as PyTorch's:
        AttributeError names the module without such an attribute, or the attribute that is no Module."""
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path `target` (`"encoder.rnn.weight_hh_l0"`), as PyTorch's."""
        module, name = self._owner_of(target)
        if module._parameters.get(name) is None:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor | None:
        """The buffer at the dotted path `target` (`"norm.running_mean"`), as PyTorch's."""
        module, name = self._owner_of(target)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def _owner_of(self, target: str) -> tuple["Module", str]:
        """(the module, the attribute's name) for a dotted path to one of its attributes."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        return module, name

    def _named_members(self, table: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) from each module's `table` (_parameters or _buffers), skipping None."""
        seen = set()
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, member in getattr(module, table).items():
                if member is not None and (id(member) not in seen or not remove_duplicate):
                    seen.add(id(member))
                    yield (f"{module_name}.{name}" if module_name else name), member

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each once, in definition order; a parameter
        shared under several names (tied weights) once more per name with `remove_duplicate=False`;
        this module's own only with `recurse=False`. Names start with `prefix.` when one is given."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each once."""
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer that is not None, persistent or not; as
        `named_parameters`."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer that is not None, each once."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call `fn` on every module below this one (children before their parent), then on this
        one, as PyTorch's `model.apply(init_weights)`, each module once; returns self."""
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: expected a function of a module, got {type(fn).__name__}")
        stack, seen = [(self, False)], {id(self)}   # (a module, whether its children are done): no recursion,
        while stack:                                # and each module once (a module may hold itself)
            module, children_done = stack.pop()
            if children_done:
                fn(module)
                continue
            stack.append((module, True))
            children = [child for child in module.children() if id(child) not in seen]
            seen.update(id(child) for child in children)
            stack.extend((child, False) for child in reversed(children))
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter, as PyTorch's fine-tuning idiom; returns self.
        Frozen parameters get no gradient; optimizers skip them."""
        requires_grad = flag(requires_grad, "requires_grad", f"{type(self).__name__}.requires_grad_")
        for module in self.modules():
            for name, parameter in module._parameters.items():
                if parameter is not None:
                    parameter.requires_grad_(requires_grad).named(name)     # (a new leaf node has no label yet)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: grad = None, or (set_to_none=False) a new array of zeros of
        the parameter's shape and dtype where there was a gradient (as PyTorch)."""
        forget_gradients(self.parameters(), set_to_none, f"{type(self).__name__}.zero_grad")

    def train(self, mode: bool = True) -> "Module":
        """Set `training` on this module and every module below it, calling a module's own `train(mode)`
        where its class overrides it or it holds one of its own (`bn.train = lambda mode: bn`), as PyTorch's
        `train` calls each child's (so an override, one keeping its BatchNorm frozen or leaving a mode of its
        own, runs when a module holding it switches); returns self. A walk, not a recursion (a deep tree
        switches too), in PyTorch's order (depth first, a module before its children); a module that holds
        itself or one of its holders is not entered again along that path (PyTorch's recursion fails there)."""
        mode = flag(mode, "mode", f"{type(self).__name__}.train")
        object.__setattr__(self, "training", mode)
        below = _TRAINING_PATH.get() | {id(self)}
        stack = [(child, below) for child in reversed(list(self.children()))]   # (a module, ids of its holders)
        while stack:
            module, holders = stack.pop()
            if id(module) in holders:
                continue
            if type(module).train is not Module.train or "train" in module.__dict__:
                # its own train (its class's, or one set on the module) switches it and the modules below;
                # the path it is given includes it, so a holder of its own below it does not call it again
                token = _TRAINING_PATH.set(holders | {id(module)})
                try:
                    module.train(mode)
                finally:
                    _TRAINING_PATH.reset(token)
                continue
            object.__setattr__(module, "training", mode)
            below = holders | {id(module)}
            stack.extend((child, below) for child in reversed(list(module.children())))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def _saved(self) -> dict[str, Tensor]:
        """What `state_dict` saves, by dotted name, in PyTorch's order: each module's parameters,
        then its persistent buffers, then its children's; anything shared under each of its names."""
        return {name: tensor for name, (_, _, tensor) in self._saved_by_owner().items()}

    def _saved_by_owner(self) -> dict[str, tuple["Module", str, Tensor]]:
        """As `_saved`, each with the module that holds it and its name there."""
        saved = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            own = [(name, p) for name, p in module._parameters.items() if p is not None] + [
                (name, b) for name, b in module._buffers.items()
                if b is not None and name not in module._non_persistent_buffers_set]
            for name, tensor in own:
                saved[f"{module_name}.{name}" if module_name else name] = (module, name, tensor)
        return saved

    # How a module takes a state dict (load_state_dict): the shape each entry must have (a lazy module
    # takes its size from one), what is wrong with the shapes given together (a lazy module's entries
    # must agree on its size), the entries it may go without, and what it does once loaded.
    _optional_on_load: tuple = ()

    def _loads_shape(self, name: str, tensor: Tensor, shape: tuple) -> bool:
        return shape == tensor.shape

    def _loads_shapes(self, shapes: dict[str, tuple]) -> str | None:
        return None

    def _loaded(self) -> None:
        return None

    def state_dict(self, *args: Any, destination: MutableMapping | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict:
        """name -> a copy of the array of each parameter and persistent buffer; a tied parameter under
        each of its names, as PyTorch. PyTorch's keywords: `prefix` starts every name (`"encoder."`),
        `keep_vars=True` gives the Parameter and buffer tensors themselves (not copies), and the
        entries go into `destination` (a dict), which is returned. Given positionally (destination,
        prefix, keep_vars) they work too, with PyTorch's deprecation warning."""
        where = f"{type(self).__name__}.state_dict"
        if args:
            if len(args) > 3:
                raise TypeError(f"{where}: expected at most 3 positional arguments (destination, prefix, "
                                f"keep_vars), got {len(args)}")
            warnings.warn("Positional args are being deprecated, use kwargs instead.", FutureWarning,
                          stacklevel=user_stacklevel())
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if not isinstance(prefix, str):
            raise TypeError(f"{where}: expected prefix as a str (such as 'encoder.'), got {type(prefix).__name__}")
        keep_vars = flag(keep_vars, "keep_vars", where)
        if destination is None:
            destination = {}
        elif not isinstance(destination, MutableMapping):
            raise TypeError(f"{where}: expected destination as a dict, got {type(destination).__name__}")
        for name, tensor in self._saved().items():
            destination[prefix + name] = tensor if keep_vars else tensor._data.copy()
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy arrays into the parameters and persistent buffers, cast to each one's dtype; returns
        PyTorch's `_IncompatibleKeys(missing_keys, unexpected_keys)`. PyTorch's `assign=True` (keep the
        state dict's tensors themselves, for modules made on the meta device) is not supported here.

        Everything is checked first — missing and unexpected names (when
        `strict`), shapes, values that are not numeric arrays, casts that
        would change the numbers (floats into an integer buffer, a float64
        beyond float32's range) — and on any
        problem a ValueError lists them all and nothing changes. With
        `strict=False` the names both sides have are loaded, and the rest
        is only reported in the result.
        """
        state = state_dict
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of name -> array, got {type(state).__name__}")
        strict = flag(strict, "strict", "load_state_dict")
        if flag(assign, "assign", "load_state_dict"):
            raise TypeError("load_state_dict: assign=True is not supported (only False: the values are copied "
                            "into the module's own parameters and buffers)")
        owners = self._saved_by_owner()
        own = {name: tensor for name, (_, _, tensor) in owners.items()}
        missing = [name for name, (module, local, _) in owners.items()
                   if name not in state and local not in module._optional_on_load]
        unexpected = [name for name in state if name not in own]
        problems = []
        if strict:
            if missing:
                problems.append(f"missing: {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected: {', '.join(map(str, unexpected))}")
        staged = {}
        for name, value in state.items():
            if name not in own:
                continue
            try:
                array = array_of(value)
            except ValueError:              # numpy refuses a ragged nested list
                problems.append(f"{name}: expected a numeric array, got a ragged {type(value).__name__}")
                continue
            except TypeError:               # a list of multi-element tensors, which numpy would stack
                problems.append(f"{name}: expected a numeric array, got a {type(value).__name__} of tensors (only "
                                "one-element tensors are numbers, as in PyTorch)")
                continue
            dtype = own[name].dtype
            if array.dtype.kind not in "biuf":
                problems.append(f"{name}: expected a numeric array, got dtype {array.dtype}")
            elif not owners[name][0]._loads_shape(owners[name][1], own[name], array.shape):
                problems.append(f"{name}: expected shape {own[name].shape}, got {array.shape}")
            elif (cast := numbers_in(array, dtype)) is None:          # (floats into ints, inf, wrapping)
                problems.append(f"{name}: values beyond the range of {dtype}"
                                if np.can_cast(array.dtype, dtype, "same_kind") else
                                f"{name}: expected {dtype} or numbers of a kind that casts to it, got {array.dtype}")
            else:
                staged[name] = cast
        given = {}                                  # id(module) -> (module, {its own name: shape given})
        for name, array in staged.items():
            module, local, _ = owners[name]
            given.setdefault(id(module), (module, {}))[1][local] = array.shape
        problems += [problem for module, shapes in given.values() if (problem := module._loads_shapes(shapes))]
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems)
                             + " (no parameter was changed)")
        for name, array in staged.items():
            tensor = own[name]
            if array.shape == tensor.shape:
                tensor._replace_data(array)
            elif isinstance(tensor, Parameter):         # (a lazy module's parameter takes its shape)
                tensor._materialise(array)
            else:
                tensor._replace_data(array)
        for module in {id(module): module for module, _, _ in owners.values()}.values():
            module._loaded()
        return _IncompatibleKeys(missing, unexpected)

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """`model.to(device)`, `model.to(dtype)`: a device must be the CPU (nothing moves); a dtype
        must be a floating one and converts every parameter (and its gradient) and every floating
        buffer, as PyTorch's does (integer buffers stay). Returns self."""
        where = f"{type(self).__name__}.to"
        dtype = target_dtype(where, args, kwargs)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"{where}: expected a floating-point dtype, got {dtype}")
        for parameter in self.parameters():
            parameter._convert(dtype)
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if buffer is not None and buffer.dtype.kind == "f" and buffer.dtype != dtype:
                    module.register_buffer(name, Tensor(buffer, requires_grad=buffer.requires_grad, dtype=dtype),
                                           name not in module._non_persistent_buffers_set)
        return self

    def cpu(self) -> "Module":
        """Self: everything is on the CPU already."""
        return self

    def share_memory(self) -> "Module":
        """Self, as PyTorch's returns self after `share_memory_()` on every parameter and buffer: shared memory
        is for handing tensors to other processes (`torch.multiprocessing`), which does not happen here, so
        each tensor's `share_memory_()` is itself and nothing changes."""
        for tensor in [*self.parameters(), *self.buffers()]:
            tensor.share_memory_()
        return self

    def cuda(self, device: Any = None) -> "Module":
        """Refused: microgradseq runs on the CPU only (RuntimeError naming the module)."""
        check_device(f"{type(self).__name__}.cuda", f"cuda:{device}" if is_int(device) else device or "cuda")
        return self

    def half(self) -> "Module":
        """Every parameter and floating buffer as float16."""
        return self.to(np.float16)

    def float(self) -> "Module":
        """Every parameter and floating buffer as float32."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """Every parameter and floating buffer as float64."""
        return self.to(np.float64)

    def __repr__(self) -> str:
        """PyTorch's layout: `Name(extra)` alone; with children (or an extra_repr of several
        lines), the extra lines and then `(name): child` each on a line of its own, indented."""
        extra = self.extra_repr().split("\n") if self.extra_repr() else []
        children = [line.replace("\n", "\n  ") for line in self._child_lines()]
        if not children and len(extra) <= 1:
            return f"{type(self).__name__}({''.join(extra)})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra + children) + "\n)"

    def _child_lines(self) -> list[str]:
        """The repr's `(name): child` entries, one per child (`ModuleList` groups equal ones)."""
        return [f"({name}): {module!r}" for name, module in self._modules.items()]

    def extra_repr(self) -> str:
        """The module's settings for its repr (`in_features=3, ...`); override it, as in PyTorch."""
        return ""


def same_dtype(module: Module, x: Tensor, dtype: np.dtype, name: str = "input") -> Tensor:
    """x itself when its dtype is the module's `dtype`; else a TypeError naming the module and both dtypes
    (PyTorch refuses it too, with a RuntimeError from its kernels, or a ValueError in its RNN layers;
    numpy would promote silently: a float32 model given float64 or integer data would run in float64)."""
    found = x._data.dtype
    if found is not dtype and found != dtype:       # (numpy's dtypes are one object each: `is` first)
        advice = f"cast it or make the module with dtype={found}" if found.kind == "f" else f"cast it to {dtype}"
        raise TypeError(f"{type(module).__name__}: expected {name} of dtype {dtype} (the module's), got "
                        f"{found}: {advice}")
    return x


def state_or_hx(module: Module, state: Any, hx: Any) -> Any:
    """The state a cell or layer was given: as its second argument, or by PyTorch's name `hx=`
    (`lstm(x, hx=(h0, c0))`); both at once is a TypeError naming the module."""
    if state is not None and hx is not None:
        raise TypeError(f"{type(module).__name__}: got the state twice, as the second argument and as hx=; "
                        "pass one")
    return hx if state is None else state


def empty_parameter(shape: tuple, dtype: Any, requires_grad: bool = True) -> Parameter:
    """A parameter of `shape` and `dtype` (None: the default dtype) holding zeros until the module's
    `reset_parameters()` gives it its values: PyTorch's `Parameter(torch.empty(shape))`, which its
    constructors fill the same way."""
    return Parameter(np.zeros(shape, dtype or get_default_dtype()), requires_grad=requires_grad)
