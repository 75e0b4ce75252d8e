"""PyTorch's `torch.autograd.functional` (`mg.autograd.functional`): `jacobian`, `vjp` and `jvp` with
PyTorch's calls and return types, over `transforms.py`'s `mg.jacobian`, `mg.vjp` and `mg.jvp`.

    J = torch.autograd.functional.jacobian(f, x)               # out.shape + x.shape
    y, vJ = torch.autograd.functional.vjp(f, x, v)             # v shaped like f(x)
    y, Jv = torch.autograd.functional.jvp(f, x, v)             # v shaped like x

`inputs` is a tensor (then one result) or a tuple of tensors (a result per
input); results are tensors without history. Second derivatives (`hessian`,
`hvp`, `vhp`, `create_graph=True`) are not supported: gradients here are not
recorded.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import transforms
from .autograd import no_grad
from .tensor import Tensor, owned

_STRATEGIES = {"reverse-mode": "rev", "forward-mode": "fwd"}


def _inputs(where: str, inputs: Any, create_graph: bool) -> tuple[bool, tuple]:
    """(whether one tensor was given, the inputs as a tuple)."""
    if create_graph:
        raise NotImplementedError(f"{where}: create_graph=True (derivatives of derivatives) is not supported; "
                                  "gradients here are not recorded")
    if isinstance(inputs, Tensor):
        return True, (inputs,)
    if not isinstance(inputs, (tuple, list)) or not all(isinstance(x, Tensor) for x in inputs):
        raise TypeError(f"{where}: inputs must be a Tensor or a tuple of Tensors, got {type(inputs).__name__}")
    return False, tuple(inputs)


def _shaped(single: bool, arrays: Any) -> Any:
    tensors = tuple(owned(a) for a in arrays)
    return tensors[0] if single else tensors


def jacobian(func: Callable[..., Tensor], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func / d x for each input x: a tensor of shape out.shape + x.shape (a tuple of them for a
    tuple of inputs), row by row in reverse mode or, with `strategy="forward-mode"`, column by
    column in forward mode. func returns one tensor."""
    single, xs = _inputs("jacobian", inputs, create_graph)
    if strategy not in _STRATEGIES:
        raise ValueError(f"jacobian: strategy must be one of {sorted(_STRATEGIES)}, got {strategy!r}")

    def of_input(i: int) -> Callable[[Tensor], Tensor]:
        return lambda x: func(*(x if j == i else other for j, other in enumerate(xs)))
    return _shaped(single, [transforms.jacobian(of_input(i), [x], _STRATEGIES[strategy]) for i, x in enumerate(xs)])


def vjp(func: Callable[..., Tensor], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, Any]:
    """(func(inputs), v^T J): v shaped like func's output (it may be left out for a one-element
    output), v^T J shaped like the input (a tuple for a tuple of inputs)."""
    single, xs = _inputs("vjp", inputs, create_graph)
    if v is None:
        with no_grad():
            probe = func(*xs)
        if not isinstance(probe, Tensor) or probe.numel() != 1:
            raise ValueError("vjp: v may be left out only when func returns a one-element tensor")
        v = np.ones(probe.shape, probe.dtype)
    output, grads = transforms.vjp(func, xs, v)
    return output, _shaped(single, grads)


def jvp(func: Callable[..., Tensor], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J v): v shaped like the input (a tuple for a tuple of inputs; it may be left
    out for a one-element input), J v shaped like func's output."""
    single, xs = _inputs("jvp", inputs, create_graph)
    if v is None:
        if any(x.numel() != 1 for x in xs):
            raise ValueError("jvp: v may be left out only when every input has one element")
        v = tuple(np.ones(x.shape, x.dtype) for x in xs)
    tangents = [v] if single and not isinstance(v, (tuple, list)) else list(v)
    output, tangent = transforms.jvp(func, list(xs), tangents)
    return output, (tuple(owned(t) for t in tangent) if isinstance(tangent, tuple) else owned(tangent))


def _second_order(name: str) -> Callable:
    def refused(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{name}: second derivatives are not supported (gradients here are not "
                                  "recorded); jacobian of a gradient written out by hand, or finite differences")
    refused.__name__ = name
    return refused


hessian, hvp, vhp = _second_order("hessian"), _second_order("hvp"), _second_order("vhp")
