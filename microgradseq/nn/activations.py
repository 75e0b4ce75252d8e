"""Activations as modules, for `Sequential`: `Tanh`, `ReLU`, `Sigmoid` (no parameters)."""

from __future__ import annotations

from typing import Any

from ..checks import flag
from ..ops import relu, sigmoid, tanh
from ..tensor import Tensor
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
