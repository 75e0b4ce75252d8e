"""Activations as modules, for `Sequential`, each the function of `functional/activations.py` of the same
name with its settings, which are checked when the module is made and printed as PyTorch prints them:
`Tanh`, `ReLU`, `Sigmoid`, `GELU`, `Softmax`, `Softmax2d`, `Softmin`, `LogSoftmax`, `GLU`, `LeakyReLU`,
`RReLU` (`F.rrelu`, functional/rrelu.py: random slopes while training), `ELU`, `SELU`, `CELU`, `SiLU`,
`Mish`, `Softplus`, `Softsign`, `Hardtanh`, `ReLU6`, `Hardsigmoid`, `Hardswish`,
`LogSigmoid`, `Tanhshrink`, `Softshrink`, `Hardshrink`, `Threshold`, `PReLU` (the one with a parameter, its
slopes), and the distances `CosineSimilarity` and `PairwiseDistance`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, is_int
from ..functional import gelu, log_softmax, rrelu, softmax
from ..functional.activations import (argument, celu, cosine_similarity, elu, glu, hardshrink, hardsigmoid, hardswish,
                                      hardtanh, implicit_dim, leaky_relu, logsigmoid, mish, pairwise_distance, prelu,
                                      selu, silu, softmin, softplus, softshrink, softsign, tanhshrink, threshold)
from ..ops import relu, sigmoid, tanh
from ..spellings import check_device
from ..tensor import Tensor, as_tensor
from .init import constant_
from .module import Module, empty_parameter


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
            dim = implicit_dim(self.function.__name__, x.ndim)
        return self.function(x, dim=dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_Normalised):
    """softmax along `dim`: e^(x_i - m) / sum_j e^(x_j - m), each slice summing to 1."""


class Softmax2d(Module):
    """softmax over the channels at each location, axis -3 of (N, C, H, W) or (C, H, W), as PyTorch's."""

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead (shape {x.shape})")
        return softmax(x, dim=-3)


class LogSoftmax(_Normalised):
    """log softmax along `dim`: (x_i - m) - log sum_j e^(x_j - m); feeds `NLLLoss`."""

    function = staticmethod(log_softmax)


class Softmin(_Normalised):
    """softmin along `dim`: softmax(-x), e^(-x_i) / sum_j e^(-x_j)."""

    function = staticmethod(softmin)


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


def _inplace_text(inplace: bool, first: bool = False) -> str:
    """`inplace=True` in a repr, as PyTorch prints it (after the other settings, or alone); nothing if False."""
    return "" if not inplace else "inplace=True" if first else ", inplace=True"


class _Elementwise(Module):
    """A function of one tensor (the class's `function`) with PyTorch's `inplace` flag (a bool, which
    changes nothing: see `ReLU`)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = flag(inplace, "inplace", type(self).__name__)

    def forward(self, x: Any) -> Tensor:
        return self.function(x)

    def extra_repr(self) -> str:
        return _inplace_text(self.inplace, first=True)


class SELU(_Elementwise):
    """scale x for x > 0, else scale alpha (e^x - 1), PyTorch's self-normalising constants (`F.selu`)."""

    function = staticmethod(selu)


class SiLU(_Elementwise):
    """x sigmoid(x), the swish (`F.silu`)."""

    function = staticmethod(silu)


class Mish(_Elementwise):
    """x tanh(softplus(x)) (`F.mish`)."""

    function = staticmethod(mish)


class Hardsigmoid(_Elementwise):
    """min(max(x + 3, 0), 6) / 6 (`F.hardsigmoid`); its repr leaves `inplace` out, as PyTorch's."""

    function = staticmethod(hardsigmoid)

    def extra_repr(self) -> str:
        return ""


class Hardswish(Hardsigmoid):
    """x min(max(x + 3, 0), 6) / 6 (`F.hardswish`); its repr leaves `inplace` out, as PyTorch's."""

    function = staticmethod(hardswish)


class _Plain(Module):
    """A function of one tensor (the class's `function`) without settings."""

    def forward(self, x: Any) -> Tensor:
        return self.function(x)


class Softsign(_Plain):
    """x / (1 + |x|) (`F.softsign`)."""

    function = staticmethod(softsign)


class LogSigmoid(_Plain):
    """log sigmoid(x) = min(x, 0) - log(1 + e^-|x|) (`F.logsigmoid`)."""

    function = staticmethod(logsigmoid)


class Tanhshrink(_Plain):
    """x - tanh(x) (`F.tanhshrink`)."""

    function = staticmethod(tanhshrink)


class LeakyReLU(Module):
    """x for x > 0, else negative_slope x (`F.leaky_relu`)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = argument("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = flag(inplace, "inplace", "LeakyReLU")

    def forward(self, x: Any) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_text(self.inplace)}"


class RReLU(Module):
    """x for x > 0, else a x, a ~ U(lower, upper) per entry in training mode and (lower + upper) / 2 in eval
    mode (`F.rrelu`), as PyTorch's nn.RReLU; slopes from `rng` or the library's generator."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.lower = argument("RReLU", "lower", lower, math.isfinite, "a finite number")
        self.upper = argument("RReLU", "upper", upper, math.isfinite, "a finite number")
        if lower > upper:
            raise ValueError(f"RReLU: lower bound must be less than or equal to upper bound, got lower={lower} and "
                             f"upper={upper}")
        self.inplace, self.rng = flag(inplace, "inplace", "RReLU"), rng

    def forward(self, x: Any) -> Tensor:
        return rrelu(x, self.lower, self.upper, self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_text(self.inplace)}"


class ELU(Module):
    """x for x > 0, else alpha (e^x - 1) (`F.elu`)."""

    function = staticmethod(elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = argument(type(self).__name__, "alpha", alpha)
        self.inplace = flag(inplace, "inplace", type(self).__name__)

    def forward(self, x: Any) -> Tensor:
        return self.function(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_text(self.inplace)}"


class CELU(ELU):
    """x for x > 0, else alpha (e^(x / alpha) - 1) (`F.celu`); alpha must not be 0."""

    function = staticmethod(celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(argument("CELU", "alpha", alpha, lambda v: v != 0, "non-zero (it divides x)"), inplace)


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, x itself where beta x > threshold (`F.softplus`); beta must be non-zero
    (a negative one gives a smooth min(x, 0), as PyTorch's)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = argument("Softplus", "beta", beta, lambda v: v != 0, "non-zero (it divides)")
        self.threshold = argument("Softplus", "threshold", threshold)

    def forward(self, x: Any) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """min(max(x, min_val), max_val) (`F.hardtanh`); max_val must be greater than min_val (ValueError),
    as PyTorch's module asserts."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        where = type(self).__name__
        self.min_val, self.max_val = argument(where, "min_val", min_val), argument(where, "max_val", max_val)
        if not self.max_val > self.min_val:
            raise ValueError(f"{where}: max_val ({max_val!r}) must be greater than min_val ({min_val!r})")
        self.inplace = flag(inplace, "inplace", where)

    def forward(self, x: Any) -> Tensor:
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_text(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): a `Hardtanh` from 0 to 6, as PyTorch's (`F.relu6`)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_text(self.inplace, first=True)


class Softshrink(Module):
    """x - lambd for x > lambd, x + lambd for x < -lambd, else 0 (`F.softshrink`); lambd a finite number >= 0."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = argument("Softshrink", "lambd", lambd, lambda v: math.isfinite(v) and v >= 0,
                              "a finite number >= 0")

    def forward(self, x: Any) -> Tensor:
        return softshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Module):
    """0 for -lambd <= x <= lambd, else x (`F.hardshrink`)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = argument("Hardshrink", "lambd", lambd)

    def forward(self, x: Any) -> Tensor:
        return hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Threshold(Module):
    """x for x > threshold, else value (`F.threshold`)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = argument("Threshold", "threshold", threshold)
        self.value = argument("Threshold", "value", value)
        self.inplace = flag(inplace, "inplace", "Threshold")

    def forward(self, x: Any) -> Tensor:
        return threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_text(self.inplace)}"


class GLU(Module):
    """The gated linear unit along `dim`: a sigmoid(b) for the halves a, b (`F.glu`)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"GLU: dim must be an integer, got {type(dim).__name__} {dim!r}")
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x for x > 0, else weight x, with learnt slopes `weight` (num_parameters,), each starting at `init`:
    one for every channel (dim 1 of the input; num_parameters must be 1 or the number of channels) or,
    with num_parameters=1, one for all, as PyTorch's (`F.prelu`)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device("PReLU", device)
        if not is_int(num_parameters):
            raise TypeError(f"PReLU: num_parameters must be an integer, got {type(num_parameters).__name__} "
                            f"{num_parameters!r}")
        if num_parameters < 0:
            raise ValueError(f"PReLU: num_parameters must be >= 0, got {num_parameters}")
        self.num_parameters, self.init = int(num_parameters), argument("PReLU", "init", init)
        self.weight = empty_parameter(self.num_parameters, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every slope back to `init` (the same Parameter object), as PyTorch's PReLU.reset_parameters."""
        constant_(self.weight, self.init)

    def forward(self, x: Any) -> Tensor:
        return prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class CosineSimilarity(Module):
    """The cosine similarity of two inputs along `dim` (`F.cosine_similarity`); eps must be >= 0. Its repr
    shows no settings, as PyTorch's."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"CosineSimilarity: dim must be an integer, got {type(dim).__name__} {dim!r}")
        self.dim, self.eps = dim, argument("CosineSimilarity", "eps", eps, lambda v: v >= 0, ">= 0")

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last axis (`F.pairwise_distance`); p is kept as `norm`, PyTorch's name.
    Its repr shows no settings, as PyTorch's."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = argument("PairwiseDistance", "p", p, lambda v: not math.isnan(v), "a number, not NaN")
        self.eps = argument("PairwiseDistance", "eps", eps)
        self.keepdim = flag(keepdim, "keepdim", "PairwiseDistance")

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
