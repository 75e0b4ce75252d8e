"""PyTorch's `torch.nn.utils.parametrize` (read from its torch/nn/utils/parametrize.py): a module's weight
written as a function of unconstrained tensors, so that it stays orthogonal, normalised or symmetric while
an optimizer updates the tensors freely.

    register_parametrization(rnn, "weight_hh_l0", Skew())   # rnn.weight_hh_l0 is now Skew()(original)

The parameter leaves the module and goes to `module.parametrizations.<name>`, a `ParametrizationList`, as
`original` (or `original0`, `original1`, ... when the first parametrization's `right_inverse` returns
several tensors); `module.<name>` becomes a property of a subclass made for the module
(`ParametrizedLinear`), which computes f_k(...f_1(original)) on every read. So the state dict holds
`parametrizations.weight.original`, parameters() the originals, and the gradient reaches them by the chain
rule through each f_i. Assigning `module.<name> = X` stores right_inverse(X) in the originals (each
parametrization's, last first). Inside `with cached():` each parametrized tensor is computed once.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from ...checks import flag
from ...grad_mode import no_grad
from ...parameter import Parameter
from ...tensor import Tensor
from ..containers import ModuleDict, ModuleList
from ..module import Module

# The values computed inside the outermost `cached()` block of this thread (None outside one): per
# thread, as the library's recording state is, so one thread's block does not serve another's reads.
_cache: ContextVar[dict | None] = ContextVar("parametrization_cache", default=None)


@contextmanager
def cached() -> Iterator[None]:
    """PyTorch's `parametrize.cached()`: inside it each parametrized tensor is computed the first time it is
    read and that tensor is returned after (an RNN reading its parametrized weight_hh at every step computes
    it once); the values are forgotten when the outermost `cached()` ends."""
    if _cache.get() is not None:            # nested: the outer block keeps the values
        yield
        return
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _register_parameter_or_buffer(module: Module, name: str, tensor: Tensor) -> None:
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


def _checked_tensor(where: str, what: str, value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise ValueError(f"{where}: {what} must be a Tensor, got {type(value).__name__}")
    return value


class ParametrizationList(ModuleList):
    """`module.parametrizations.<name>`: the parametrizations f_1, f_2, ... of one tensor, in the order they
    were registered, and the unconstrained tensor(s) they start from, `original` (a Parameter or a buffer,
    as the tensor was), or `original0`, `original1`, ... when f_1's `right_inverse` returns a sequence.
    Calling it computes f_k(...f_1(original)). Made by `register_parametrization`, not by hand."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        where = "register_parametrization"
        if len(modules) == 0:
            raise ValueError("ParametrizationList: requires one or more modules")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with no_grad():
            new = original
            for module in reversed(self):                   # a missing right_inverse is the identity
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(f"{where}: right_inverse must return a Tensor or a sequence of tensors, got "
                             f"{type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        parts = (new,) if self.is_tensor else tuple(new)
        self.ntensors = len(parts)
        for i, part in enumerate(parts):
            _checked_tensor(where, "what right_inverse returns" if self.is_tensor else f"element {i} of what "
                            "right_inverse returns", part)
        if self.is_tensor and new.dtype != dtype:
            raise ValueError(f"{where}: when right_inverse returns one tensor it may not change the dtype "
                             f"({dtype}), got {new.dtype}")
        if not unsafe:                      # checked before the tensor changes, so a refusal changes nothing
            with no_grad():
                value = _checked_tensor(where, "what a parametrization returns", self[0](*parts))
            _check_same(where, "unparametrized", shape, dtype, "parametrized", value)
        if self.is_tensor:
            if new is not original:         # the same object, so an optimizer holding it still does
                original._replace_data(new._data)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, part in enumerate(parts):
                part = (Parameter(part._data, requires_grad=original.requires_grad) if isinstance(original, Parameter)
                        else part.detach().requires_grad_(original.requires_grad))
                _register_parameter_or_buffer(self, f"original{i}", part)

    def right_inverse(self, value: Tensor) -> None:
        """Store right_inverse(value) in the originals: each parametrization's right_inverse, the last
        registered first, without recording (PyTorch's, called when `module.<name> = value` is assigned).
        The originals keep their objects (their values change), so an optimizer holding them still does."""
        where = "ParametrizationList.right_inverse"
        with no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"{where}: parametrization {type(module).__name__} does not implement "
                                       "right_inverse, so the tensor cannot be assigned")
                value = module.right_inverse(value)
            parts = [value] if self.is_tensor else value
            if not self.is_tensor and (not isinstance(value, Sequence) or len(value) != self.ntensors):
                got = f"a sequence of length {len(value)}" if isinstance(value, Sequence) else type(value).__name__
                raise ValueError(f"{where}: expected right_inverse to return a sequence of {self.ntensors} tensors, "
                                 f"got {got}")
            names = ["original"] if self.is_tensor else [f"original{i}" for i in range(self.ntensors)]
            for name, part in zip(names, parts):
                original = getattr(self, name)
                part = _checked_tensor(where, f"what right_inverse returns for {name}", part)
                if part.dtype != original.dtype:
                    raise ValueError(f"{where}: right_inverse returned dtype {part.dtype} for {name}, whose dtype "
                                     f"is {original.dtype}")
                original._replace_data(part._data.copy())

    def forward(self) -> Tensor:
        """f_k(...f_1(original)): f_1 takes original0, original1, ... as its arguments when there are several."""
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _check_same(where: str, before: str, shape: tuple, dtype: Any, after: str, value: Tensor) -> None:
    """ValueError unless `value` has `shape` and `dtype` (what unsafe=False checks, as PyTorch's)."""
    if value.dtype != dtype:
        raise ValueError(f"{where}: a parametrization may not change the dtype of the tensor unless unsafe=True "
                         f"({before} dtype {dtype}, {after} dtype {value.dtype})")
    if value.shape != shape:
        raise ValueError(f"{where}: a parametrization may not change the shape of the tensor unless unsafe=True "
                         f"({before} shape {shape}, {after} shape {value.shape})")


class _Parametrized:
    """What the subclass made for a parametrized module adds to its class (PyTorch's `_inject_new_class`)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__.get("_modules", {}).get("parametrizations", ()):
            if isinstance(value, (Parameter, Module)):      # (PyTorch's register_parameter refuses it too)
                raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists: it is parametrized; "
                               "assign a Tensor (stored through right_inverse) or call remove_parametrizations")
            object.__setattr__(self, name, value)           # the property: right_inverse
            return
        super().__setattr__(name, value)

    def __getstate__(self) -> Any:
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict()")

    def __deepcopy__(self, memo: dict) -> Any:
        if id(self) in memo:
            return memo[id(self)]
        replica = self.__class__.__new__(self.__class__)
        memo[id(self)] = replica
        object.__setattr__(replica, "__dict__", copy.deepcopy(self.__dict__, memo))
        return replica


def _inject_new_class(module: Module) -> None:
    """Give `module` a class of its own, `Parametrized<Class>`, a subclass of its class, to hold the
    properties (so other modules of its class are untouched)."""
    cls = module.__class__
    object.__setattr__(module, "__class__", type(f"Parametrized{cls.__name__}", (_Parametrized, cls), {}))


def _inject_property(module: Module, tensor_name: str) -> None:
    """`module.<tensor_name>`: the parametrization's value on reading (once per `cached()` block), and
    right_inverse on assigning."""

    def get_parametrized(self: Module) -> Tensor:
        parametrization, cache = self.parametrizations[tensor_name], _cache.get()
        if cache is None:
            return parametrization()
        key = (id(self), tensor_name)
        if key not in cache:
            cache[key] = parametrization()
        return cache[key]

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """PyTorch's `register_parametrization`: `module.<tensor_name>` (a parameter or a buffer) becomes
    `parametrization(original)`, the tensor moved to `module.parametrizations.<tensor_name>.original`
    (`original0`, `original1`, ... when `parametrization.right_inverse` returns several, its output on the
    tensor being their first values); registered again on the same name, the new one is applied after the
    others. Unless `unsafe`, f(right_inverse(X)) must keep X's shape and dtype (ValueError). The
    parametrization takes the module's training mode. A name that is neither a parameter, a buffer nor
    parametrized is a ValueError. Returns the module."""
    where = "register_parametrization"
    if not isinstance(module, Module) or not isinstance(parametrization, Module):
        raise TypeError(f"{where}: expected a Module and a parametrization that is a Module, got "
                        f"{type(module).__name__} and {type(parametrization).__name__}")
    if not isinstance(tensor_name, str):
        raise TypeError(f"{where}: expected the tensor's name as a str, got {type(tensor_name).__name__}")
    unsafe = flag(unsafe, "unsafe", where)
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            Y = getattr(module, tensor_name)
            X = _checked_tensor(where, "what a parametrization returns", parametrization(Y))
            _check_same(where, f"module.{tensor_name}", Y.shape, Y.dtype, "parametrization(it)", X)
            if hasattr(parametrization, "right_inverse"):
                try:
                    Z = parametrization.right_inverse(X)
                except NotImplementedError:
                    pass
                else:
                    Z = _checked_tensor(where, "what right_inverse returns", Z)
                    _check_same(where, f"module.{tensor_name}", Y.shape, Y.dtype, "right_inverse(it)", Z)
        parametrizations = module.parametrizations[tensor_name]
        parametrizations.append(parametrization)
        parametrizations.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"{where}: {type(module).__name__}.{tensor_name} is None; there is nothing to "
                             "parametrize")
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)   # (checks first)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"{where}: {type(module).__name__} does not have a parameter, a buffer, or a "
                         f"parametrized element with name {tensor_name!r}")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` has a parametrization on `tensor_name` (on anything, for None), as PyTorch's."""
    parametrizations = module.__dict__.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """PyTorch's `remove_parametrizations`: `tensor_name` a plain parameter (or buffer) again, holding its
    current parametrized value (`leave_parametrized=True`: the same `original` object, so an optimizer
    still holds it; a new Parameter when there were several originals) or the unparametrized `original`
    (False; a ValueError when there were several). The module gets its class back when nothing else is
    parametrized. ValueError if `tensor_name` is not parametrized."""
    where = "remove_parametrizations"
    leave_parametrized = flag(leave_parametrized, "leave_parametrized", where)
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"{where}: {type(module).__name__} does not have a parametrization on {tensor_name!r}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            if value.dtype != original.dtype:
                raise ValueError(f"{where}: the parametrization changes the dtype from {original.dtype} to "
                                 f"{value.dtype}; leave_parametrized=True is not possible then")
            original._replace_data(value._data.copy())
    elif leave_parametrized:
        value = getattr(module, tensor_name)
        original = Parameter(value._data.copy()) if value.requires_grad else value.detach()
    else:
        raise ValueError(f"{where}: cannot leave unparametrized (leave_parametrized=False) a tensor that is "
                         "parametrized in terms of a sequence of tensors")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", module.__class__.__bases__[1])
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class before any parametrization (`Linear` for a `ParametrizedLinear`), or its class."""
    return module.__class__.__bases__[1] if is_parametrized(module) else type(module)
