"""PyTorch's `torch.jit`, run eagerly: nothing is compiled here, so every name does what PyTorch's do
with the JIT switched off (`PYTORCH_JIT=0`, torch/jit/_script.py's `if not _enabled` branches):
`script` and `trace` give back what they were given, `ScriptModule` is `nn.Module`, the decorators
return the function itself. A script that decorates its cells ports unchanged:

    class LSTMCell(jit.ScriptModule):             # PyTorch's benchmarks/fastrnns/custom_lstms.py
        @jit.script_method
        def forward(self, input, state): ...
    outputs = jit.annotate(List[Tensor], [])      # the list itself

`save` and `load` raise: there is no TorchScript program to store (`mg.save(model.state_dict(), f)`).
"""

from __future__ import annotations

import typing
from typing import Any, Callable

from .nn.module import Module

Final = typing.Final        # `x: jit.Final[int]`: typing's, as PyTorch's


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """`obj` itself (a function, a module, a class): it runs as Python, as PyTorch's with the JIT off."""
    return obj


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True, _force_outplace: bool = False,
          _module_class: Any = None, _compilation_unit: Any = None, example_kwarg_inputs: Any = None,
          _store_inputs: bool = True) -> Any:
    """`func` itself (a function or a module), not run on `example_inputs`: every call runs it afresh,
    so its control flow follows each input, where PyTorch's trace would replay the one path recorded."""
    return func


def trace_module(mod: Any, inputs: Any, optimize: Any = None, check_trace: bool = True, check_inputs: Any = None,
                 check_tolerance: float = 1e-5, strict: bool = True, _force_outplace: bool = False,
                 _module_class: Any = None, _compilation_unit: Any = None, example_inputs_is_kwarg: bool = False,
                 _store_inputs: bool = True) -> Any:
    """`mod` itself, as `trace`."""
    return mod


def script_method(fn: Callable) -> Callable:
    """`fn` itself: a `ScriptModule`'s method runs as Python."""
    return fn


class ScriptModule(Module):
    """`nn.Module` (PyTorch's with the JIT off): subclass it as any module; `arg` is ignored."""

    def __init__(self, arg: Any = None) -> None:
        super().__init__()


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """`@jit.ignore` and `@jit.ignore(drop=False)`: the function itself, as PyTorch's (which marks it
    for the compiler); anything but a bool or a function raises, as PyTorch's does."""
    if callable(drop):
        return drop
    if not isinstance(drop, bool):
        raise RuntimeError(f"jit.ignore: argument to @torch.jit.ignore must be a bool or a function but got {drop}")
    return _itself


def unused(fn: Callable) -> Callable:
    """`@jit.unused`: the function (or property) itself."""
    return fn


def export(fn: Callable) -> Callable:
    """`@jit.export`: the method itself."""
    return fn


def _itself(fn: Callable) -> Callable:
    return fn


def annotate(the_type: Any, the_value: Any) -> Any:
    """`the_value`: `jit.annotate(List[Tensor], [])` is the empty list."""
    return the_value


def Attribute(value: Any, type: Any) -> Any:  # noqa: A002  (PyTorch's argument name)
    """`value`, as PyTorch's with the JIT off (`self.foo = jit.Attribute(0.1, float)`)."""
    return value


def is_scripting() -> bool:
    """False: code never runs as TorchScript here."""
    return False


def is_tracing() -> bool:
    """False: no trace is ever being recorded."""
    return False


class Future:
    """What `fork` returns: the call's value, already computed; `wait()` (or `jit.wait(future)`) gives it."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        """The value the forked call returned."""
        return self._value

    def value(self) -> Any:
        """The same, as PyTorch's `Future.value()`."""
        return self._value

    def done(self) -> bool:
        """True: the call ran when it was forked."""
        return True


def fork(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """`func(*args, **kwargs)`, run now (PyTorch's may run it in parallel under TorchScript); a `Future`
    holding what it returned."""
    return Future(func(*args, **kwargs))


def wait(future: Future) -> Any:
    """The value of a `fork`'s future."""
    if not isinstance(future, Future):
        raise TypeError(f"jit.wait: expected the Future jit.fork returns, got {type(future).__name__}")
    return future.wait()


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: Any = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False) -> Any:
    """`torch.compile` (`mg.compile`), run eagerly: `model` itself, a module or a function (as PyTorch's
    with `disable=True`); without `model`, a decorator giving back what it decorates. The options are
    accepted and change nothing. (The module is not wrapped: its state dict has no `_orig_mod.` prefix.)"""
    if model is None:
        return lambda fn: compile(fn)
    if not callable(model):
        raise TypeError(f"compile: expected a module or a function, got {type(model).__name__}")
    return model


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """Not available: nothing is compiled, so there is no TorchScript program to save."""
    raise NotImplementedError("jit.save: nothing is compiled here, so there is no TorchScript program to save; "
                              "save the weights with mg.save(model.state_dict(), f) and rebuild the model in Python")


def load(f: Any, map_location: Any = None, _extra_files: Any = None) -> Any:
    """Not available: there are no TorchScript programs to load."""
    raise NotImplementedError("jit.load: there are no TorchScript programs here; build the model in Python and "
                              "model.load_state_dict(mg.load(f)) the weights mg.save stored")
