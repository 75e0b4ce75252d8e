"""`Dropout`: zero each element with probability p while training, scale the rest by 1 / (1 - p)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, probability
from ..functional import dropout
from ..tensor import Tensor
from .module import Module


class Dropout(Module):
    """`F.dropout(x, p, training=self.training)`: active after `train()`, the identity after `eval()`.
    Masks come from `rng` or the library's generator (`mg.manual_seed`). `inplace=True` is accepted
    and changes nothing (arrays are read-only: the result is a new tensor)."""

    def __init__(self, p: float = 0.5, inplace: bool = False, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        probability(p, "p", "Dropout")
        self.p = p                  # as given (PyTorch's repr shows Dropout(p=0, ...) for an int)
        self.inplace, self.rng = flag(inplace, "inplace", "Dropout"), rng

    def forward(self, x: Any) -> Tensor:
        return dropout(x, self.p, self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
