"""`Parameter`: a tensor that a module owns and trains.

Its own module, below `nn`, `optim` and `bptt`: the optimizers and the online
runners skip a frozen parameter (one a module keeps with requires_grad off)
as PyTorch's optimizers do, and need to know one without importing `nn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import flag
from .tensor import Tensor


class Parameter(Tensor):
    """A tensor that a module owns and trains: it always requires grad. `Parameter()` without data is an
    empty one of the default dtype, as PyTorch's (its `data=None` is `torch.empty(0)`)."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True, dtype: Any = None) -> None:
        if data is None:
            data = []               # (Python floats, here none: the default dtype, as `torch.empty(0)`)
        if dtype is None and isinstance(data, np.ndarray):
            dtype = data.dtype      # (an array's, ints too: only `mg.Tensor`'s legacy reading makes ints float)
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]

    def _materialise(self, array: np.ndarray) -> None:
        """Take `array`, of a new shape: what a lazy module (`nn.LazyLinear`) does at its first call or
        when a state dict gives its parameters their shapes. The same object, so an optimizer made
        before trains it; the same leaf node, now of the array's shape and dtype, with no gradient
        yet. An `UninitializedParameter` becomes a `Parameter`."""
        self._replace_data(array)
        node = self._node
        if node is not None:
            node.shape, node.dtype, node.grad = array.shape, array.dtype, None
        if type(self) is UninitializedParameter:
            self.__class__ = Parameter

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


def forget_gradients(parameters: Any, set_to_none: bool, where: str) -> None:
    """PyTorch's `zero_grad(set_to_none=True)`, a module's and an optimizer's: each parameter's gradient
    becomes None, or (set_to_none=False) a new array of zeros of its shape and dtype where there was
    one. `set_to_none` must be a bool (ValueError naming `where`)."""
    set_to_none = flag(set_to_none, "set_to_none", where)
    for parameter in parameters:
        if parameter.grad is not None:
            parameter.grad = None if set_to_none else np.zeros(parameter.shape, parameter.dtype)


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet, as PyTorch's: a lazy module's (`nn.LazyLinear`)
    until its first call or a state dict gives it one. It holds no values (an array with a 0-sized
    axis); `nn.init` refuses it. `_materialise` makes it a `Parameter`."""

    __slots__ = ()


def materialise(parameter: Parameter, shape: tuple[int, ...]) -> None:
    """A lazy module's parameter made a `Parameter` of `shape` once its size is known (`nn.LazyLinear`,
    `nn.LazyConv2d`): zeros of that shape where it has another (the first call, whose `reset_parameters`
    then draws them), its own values where it has that shape already (a state dict gave them, or, as a
    bias's, the shape was known from the start)."""
    if parameter.shape != shape:
        parameter._materialise(np.zeros(shape, parameter.dtype))
    elif type(parameter) is UninitializedParameter:
        parameter._materialise(parameter._data)
