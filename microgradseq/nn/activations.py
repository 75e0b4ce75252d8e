"""Activations as modules, for `Sequential`: `Tanh`, `ReLU`, `Sigmoid`, `GELU`, `Softmax`, `LogSoftmax`
(no parameters)."""

from __future__ import annotations

import warnings
from typing import Any

from ..checks import flag, is_int
from ..functional import gelu, log_softmax, softmax
from ..ops import relu, sigmoid, tanh
from ..tensor import Tensor, as_tensor
from .module import Module


class Tanh(Module):
    """tanh, elementwise."""

    def forward(self, x: Any) -> Tensor:
        return tanh(x)


class Sigmoid(Module):
    """The logistic sigmoid 1 / (1 + e^-x), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return sigmoid(x)


class ReLU(Module):
    """max(x, 0), elementwise. `inplace=True` is accepted for PyTorch code and changes nothing:
    arrays here are read-only, so the result is always a new tensor (of the same values)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(inplace, "inplace", "ReLU")

    def forward(self, x: Any) -> Tensor:
        return relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _Normalised(Module):
    """Softmax and LogSoftmax: `function` along `dim`. Without a dim, PyTorch's old implicit choice,
    with its deprecation warning, so a ported script computes what it did: axis 0 of a 0-, 1- or
    3-d input, axis 1 otherwise (not always the last axis, which the functions' default is)."""

    function = staticmethod(softmax)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None and not is_int(dim):
            raise TypeError(f"{type(self).__name__}: dim must be an integer or None, got {dim!r}")
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        dim = self.dim
        if dim is None:
            x = as_tensor(x)
            dim = 0 if x.ndim in (0, 1, 3) else 1
            warnings.warn(f"Implicit dimension choice for {self.function.__name__} has been deprecated. "
                          "Change the call to include dim=X as an argument.", UserWarning, stacklevel=3)
        return self.function(x, dim=dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_Normalised):
    """softmax along `dim`: e^(x_i - m) / sum_j e^(x_j - m), each slice summing to 1."""


class LogSoftmax(_Normalised):
    """log softmax along `dim`: (x_i - m) - log sum_j e^(x_j - m); feeds `NLLLoss`."""

    function = staticmethod(log_softmax)


class GELU(Module):
    """x Phi(x), Phi the standard normal's distribution function, elementwise (`F.gelu`, which says
    how); `approximate="tanh"` for the tanh form, as PyTorch's."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
