"""`Module` and `Parameter`: modules own parameters and find them by walking attributes."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from ..checks import flag
from ..metadata import in_scope
from ..spellings import target_dtype
from ..tensor import Tensor, get_default_dtype


class Parameter(Tensor):
    """A tensor that a module owns and trains: it always requires grad."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]

    def _convert(self, dtype: np.dtype) -> None:
        """Take `dtype`: a new array, the same leaf node (graphs recorded before still send their
        gradients here, added in the new dtype), its gradient converted."""
        if dtype.kind != "f":
            raise TypeError(f"Parameter: only a floating dtype keeps a parameter trainable, got {dtype}")
        if dtype == self.dtype:
            return
        self._replace_data(self._data.astype(dtype))
        node = self._node
        if node is not None:
            node.dtype = dtype
            node.grad = None if node.grad is None else node.grad.astype(dtype)


class Module:
    """Base class: assign `Parameter`s and sub-`Module`s as attributes; write `forward`.

    Names come out dotted, as PyTorch makes them: a `Linear` stored as
    `self.readout` owns `readout.weight` and `readout.bias`.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_name", "")
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value.named(name)
        elif isinstance(value, Module):
            self._modules[name] = value
            if not value._name:
                object.__setattr__(value, "_name", name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with in_scope(self._name or type(self).__name__):      # nodes made inside carry the module path
            return self.forward(*args, **kwargs)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module and every module below it, depth first."""
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [(f"{name}.{child}" if name else child, m) for child, m in module._modules.items()]
            stack.extend(reversed(children))

    def named_parameters(self, remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each once, in definition order; a parameter
        shared under several names (tied weights) once more per name with `remove_duplicate=False`."""
        seen = set()
        for module_name, module in self.named_modules():
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen or not remove_duplicate:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, each once."""
        for _, parameter in self.named_parameters():
            yield parameter

    def zero_grad(self) -> None:
        """Forget accumulated gradients (grad = None)."""
        for parameter in self.parameters():
            parameter.grad = None

    def train(self, mode: bool = True) -> "Module":
        """Set `training` on this module and every module below it; returns self."""
        mode = flag(mode, "mode", f"{type(self).__name__}.train")
        for _, module in self.named_modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """name -> a copy of the parameter's array; a tied parameter under each of its names, as PyTorch."""
        return {name: p._data.copy() for name, p in self.named_parameters(remove_duplicate=False)}

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays into the parameters, cast to each parameter's dtype.

        Everything is checked first — missing and unexpected names (when
        `strict`), shapes, values that are not numeric arrays — and on any
        problem a ValueError lists them all and no parameter changes.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of name -> array, got {type(state).__name__}")
        strict = flag(strict, "strict", "load_state_dict")
        own = dict(self.named_parameters(remove_duplicate=False))
        problems = []
        if strict:
            missing = [name for name in own if name not in state]
            unexpected = [name for name in state if name not in own]
            if missing:
                problems.append(f"missing: {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected: {', '.join(map(str, unexpected))}")
        staged = {}
        for name, value in state.items():
            if name not in own:
                continue
            try:
                array = np.asarray(value._data if isinstance(value, Tensor) else value)
            except ValueError:              # numpy refuses a ragged nested list
                problems.append(f"{name}: expected a numeric array, got a ragged {type(value).__name__}")
                continue
            if array.dtype.kind not in "biuf":
                problems.append(f"{name}: expected a numeric array, got dtype {array.dtype}")
            elif array.shape != own[name].shape:
                problems.append(f"{name}: expected shape {own[name].shape}, got {array.shape}")
            else:
                staged[name] = np.array(array, dtype=own[name].dtype, copy=True)
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems)
                             + " (no parameter was changed)")
        for name, array in staged.items():
            own[name]._replace_data(array)

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """`model.to(device)`, `model.to(dtype)`: a device must be the CPU (nothing moves); a dtype
        converts every parameter (and its gradient), as PyTorch's does. Returns self."""
        dtype = target_dtype(f"{type(self).__name__}.to", args, kwargs)
        if dtype is not None:
            for parameter in self.parameters():
                parameter._convert(dtype)
        return self

    def cpu(self) -> "Module":
        """Self: everything is on the CPU already."""
        return self

    def float(self) -> "Module":
        """Every parameter as float32."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """Every parameter as float64."""
        return self.to(np.float64)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        return ""


def same_dtype(module: Module, x: Tensor, dtype: np.dtype, name: str = "input") -> Tensor:
    """x itself when its dtype is the module's `dtype`; else the TypeError PyTorch raises (numpy would
    promote silently: a float32 model given float64 or integer data would run in float64)."""
    found = x._data.dtype
    if found is not dtype and found != dtype:       # (numpy's dtypes are one object each: `is` first)
        advice = f"cast it or make the module with dtype={found}" if found.kind == "f" else f"cast it to {dtype}"
        raise TypeError(f"{type(module).__name__}: expected {name} of dtype {dtype} (the module's), got "
                        f"{found}: {advice}")
    return x


def uniform(shape: tuple, bound: float, rng: np.random.Generator | None, dtype: Any) -> Parameter:
    """A parameter drawn from uniform(-bound, bound)."""
    from ..random import default_generator
    rng = rng or default_generator()
    return Parameter(rng.uniform(-bound, bound, shape).astype(dtype or get_default_dtype()))
