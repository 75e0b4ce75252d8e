"""PyTorch's forward hooks of a module, to watch (or change) what goes in and comes out:

    means = []
    handle = model.rnn.register_forward_hook(lambda m, args, output: means.append(output[0].mean()))
    ...
    handle.remove()

- `m.register_forward_pre_hook(hook)`: `hook(m, args)` runs before `forward`; it may return new
  args (a tuple; anything else is taken as the one argument).
- `m.register_forward_hook(hook)`: `hook(m, args, output)` runs after `forward`; it may return a
  new output.

With `with_kwargs=True` a hook also gets the keyword arguments: `hook(m, args, kwargs)`, returning
None or `(args, kwargs)`, and `hook(m, args, kwargs, output)`. `prepend=True` runs a hook before
those registered earlier; `always_call=True` runs a forward hook even when `forward` (or a hook
before it) raised. A module without hooks pays one check per call (`Module.__call__`). Backward
hooks on modules (`register_full_backward_hook`) are not here: `t.register_hook` on the module's
output or input tensors sees the same gradients (tensor_hooks.py).
"""

from __future__ import annotations

from typing import Any, Callable

from ..checks import flag
from ..utils.hooks import HookRegistry, RemovableHandle, add_hook

class ForwardHooks:
    """The hook tables and `register_forward_*_hook` of `Module`."""

    _hooks_with_kwargs: frozenset = frozenset()     # handle ids of hooks registered with_kwargs=True
    _hooks_always_called: frozenset = frozenset()   # ... and always_call=True

    def _make_hook_tables(self) -> None:
        """`_forward_pre_hooks` and `_forward_hooks`: handle id -> hook, in the order they run (PyTorch's names)."""
        object.__setattr__(self, "_forward_pre_hooks", HookRegistry())
        object.__setattr__(self, "_forward_hooks", HookRegistry())

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """`hook(module, args)` (or `hook(module, args, kwargs)`) before each `forward`; see the module."""
        return self._add_forward_hook("_forward_pre_hooks", "register_forward_pre_hook", hook, prepend,
                                      with_kwargs, False)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """`hook(module, args, output)` (or `hook(module, args, kwargs, output)`) after each `forward`."""
        return self._add_forward_hook("_forward_hooks", "register_forward_hook", hook, prepend, with_kwargs,
                                      always_call)

    def _add_forward_hook(self, table: str, where: str, hook: Callable, prepend: Any, with_kwargs: Any,
                          always_call: Any) -> RemovableHandle:
        where = f"{type(self).__name__}.{where}"
        if not callable(hook):
            raise TypeError(f"{where}: expected a function, got {type(hook).__name__}")
        prepend, with_kwargs = flag(prepend, "prepend", where), flag(with_kwargs, "with_kwargs", where)
        always_call = flag(always_call, "always_call", where)
        handle = add_hook(getattr(self, table), hook, prepend)
        if with_kwargs:
            object.__setattr__(self, "_hooks_with_kwargs", self._hooks_with_kwargs | {handle.id})
        if always_call:
            object.__setattr__(self, "_hooks_always_called", self._hooks_always_called | {handle.id})
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Not here (see the module's docstring): NotImplementedError saying what to use instead."""
        raise self._no_backward_hooks("register_full_backward_hook")

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Not here: as register_full_backward_hook."""
        raise self._no_backward_hooks("register_full_backward_pre_hook")

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Not here: as register_full_backward_hook."""
        raise self._no_backward_hooks("register_backward_hook")

    def _no_backward_hooks(self, name: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__}.{name}: module backward hooks are not supported; register a hook on the "
            "tensors instead: `output.register_hook(lambda grad: ...)` sees dL/d output, and on an input that "
            "requires grad dL/d input")

    def _call_with_hooks(self, call: Callable, args: tuple, kwargs: dict) -> Any:
        """`call(*args, **kwargs)` (the module's forward, in its scope) between its hooks. As PyTorch's: if a
        pre-hook, the forward or a forward hook raises, the always_call hooks not yet run are run (with
        the output so far, None if the forward did not return), and the first error is raised."""
        output, called = None, set()
        try:
            for key, hook in list(self._forward_pre_hooks.items()):
                if key in self._hooks_with_kwargs:
                    changed = hook(self, args, kwargs)
                    if changed is not None:
                        if not (isinstance(changed, tuple) and len(changed) == 2):
                            raise RuntimeError(f"{type(self).__name__}: a forward pre-hook with_kwargs must "
                                               f"return None or (args, kwargs), got {type(changed).__name__}")
                        args, kwargs = changed
                else:
                    changed = hook(self, args)
                    if changed is not None:
                        args = changed if isinstance(changed, tuple) else (changed,)
            output = call(*args, **kwargs)
            for key, hook in list(self._forward_hooks.items()):
                called.add(key)
                changed = (hook(self, args, kwargs, output) if key in self._hooks_with_kwargs
                           else hook(self, args, output))
                if changed is not None:
                    output = changed
            return output
        except Exception:
            for key, hook in list(self._forward_hooks.items()):
                if key in self._hooks_always_called and key not in called:
                    try:
                        changed = (hook(self, args, kwargs, output) if key in self._hooks_with_kwargs
                                   else hook(self, args, output))
                        output = output if changed is None else changed
                    except Exception:
                        pass                    # (the first error is the one to report)
            raise
