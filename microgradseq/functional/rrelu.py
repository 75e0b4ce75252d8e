"""The randomized leaky ReLU, as PyTorch's F.rrelu (aten/src/ATen/native/Activation.cpp, rrelu_with_noise):

    training:      y = x for x > 0, else a x,   a ~ U(lower, upper) drawn for each entry x <= 0
    not training:  y = leaky_relu(x, (lower + upper) / 2)

The slopes enter as a constant: dy/dx = 1 for x > 0, else the slope a drawn for that entry. Slopes come
from `rng` or the library's generator (`mg.manual_seed`), as the dropouts' masks do."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..checks import flag
from ..random import generator_or_default
from ..tensor import Tensor, owned
from .activations import _floating, argument, leaky_relu, with_inplace


@with_inplace
def rrelu(input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, *, rng: np.random.Generator | None = None) -> Tensor:
    """x for x > 0, else a x, with a random slope a ~ U(lower, upper) for each entry while `training` and
    a = (lower + upper) / 2 otherwise, as PyTorch's F.rrelu (training False by default, as there);
    `inplace` as the activations' (`with_inplace`): a tensor keeps its value, a numpy array is written into, as
    PyTorch's `F.rrelu(..., inplace=True)` writes into its input (`rrelu_` gives a tensor the result)."""
    x = _floating("rrelu", input)
    lower = argument("rrelu", "lower", lower, math.isfinite, "a finite number")
    upper = argument("rrelu", "upper", upper, math.isfinite, "a finite number")
    if lower > upper:
        raise ValueError(f"rrelu: lower bound must be less than or equal to upper bound, got lower={lower} and "
                         f"upper={upper}")
    flag(training, "training", "rrelu")
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slopes = generator_or_default(rng, "rrelu").uniform(lower, upper, x.shape)
    return ops.where(x._data > 0, x, x * owned(slopes.astype(x.dtype))).named("rrelu")


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, *,
           rng: np.random.Generator | None = None) -> Tensor:
    """`rrelu` written into `input` with the rules of `t += u` (`Tensor._in_place`), as PyTorch's F.rrelu_;
    returns input."""
    if not isinstance(input, Tensor):
        raise TypeError(f"rrelu_: expected a Tensor to write into, got {type(input).__name__}")
    return input._in_place("rrelu_", lambda t, _: rrelu(t, lower, upper, training, rng=rng), None)
