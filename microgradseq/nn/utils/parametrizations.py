"""PyTorch's `torch.nn.utils.parametrizations` (read from its torch/nn/utils/parametrizations.py): three
constraints on a weight, each a parametrization registered with `parametrize.register_parametrization`, so
the weight's unconstrained tensors live in `module.parametrizations.weight` and the weight is computed
from them on every read:

    orthogonal(module)      Q^T Q = I                   (orthogonal.py)
    weight_norm(module)     w = g v / ||v||             original0 = g, original1 = v
    spectral_norm(module)   W / sigma(W)                sigma by power iteration, buffers _u and _v

spectral_norm's sigma = u^T W v is the older hook's (spectral_norm.py), its power steps taken in the other
order (u <- W v / ||W v||, then v <- W^T u / ||W^T u||), 15 when registered, then n at each read in
training mode, none in eval mode.
"""

from __future__ import annotations

from typing import Any

from ...functional import normalize
from ...tensor import Tensor
from ..module import Module
from .orthogonal import orthogonal
from .parametrize import register_parametrization
from .spectral_norm import (checked_settings, default_dim, matrix_view, power_iteration, random_unit_vector,
                            spectrally_normed)
from .weight_norm import norm_except_dim, weight_norm_dim, weight_normed

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _tensor_named(where: str, module: Module, name: Any) -> Tensor:
    weight = getattr(module, name, None) if isinstance(name, str) else None
    if not isinstance(weight, Tensor):
        raise ValueError(f"{where}: {type(module).__name__} has no parameter or buffer with name {name!r}")
    return weight


class _WeightNorm(Module):
    """The parametrization `weight_norm` registers: (g, v) -> g v / ||v|| (weight_norm.py's math)."""

    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_normed(weight_g, weight_v, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        """(g, v) = (||w|| over every axis but dim, w): the weight unchanged."""
        return norm_except_dim(weight.detach(), self.dim), weight.detach()


def weight_norm(module: Module, name: str = "weight", dim: Any = 0) -> Module:
    """PyTorch's `parametrizations.weight_norm`: `module.<name>` = g v / ||v||, ||v|| over every axis but
    `dim` (over all of it for None), g and v the parameters `parametrizations.<name>.original0` (the norms,
    kept as axes of size 1) and `original1` (the direction), first set so that the weight is unchanged.
    A name that is no tensor of the module, or a dim that is no axis of it, is a ValueError. Returns the
    module."""
    weight = _tensor_named("weight_norm", module, name)
    return register_parametrization(module, name, _WeightNorm(weight_norm_dim("weight_norm", weight, dim)),
                                    unsafe=True)


class _SpectralNorm(Module):
    """The parametrization `spectral_norm` registers: W -> W / (u^T W v), u and v its buffers `_u`, `_v`
    (spectral_norm.py's math)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        n_power_iterations, self.dim = checked_settings("spectral_norm", weight, n_power_iterations, dim)
        self.eps = float(eps)
        if weight.ndim > 1:            # (a vector is only normalised: nothing to estimate)
            self.n_power_iterations = n_power_iterations
            weight_mat = matrix_view(weight, self.dim)._data
            self.register_buffer("_u", random_unit_vector(weight_mat.shape[0], self.eps, weight.dtype))
            self.register_buffer("_v", random_unit_vector(weight_mat.shape[1], self.eps, weight.dtype))
            power_iteration(weight_mat, self._u, self._v, 15, self.eps, right_first=False)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        if self.training:
            power_iteration(matrix_view(weight, self.dim)._data, self._u, self._v, self.n_power_iterations,
                            self.eps, right_first=False)
        return spectrally_normed(weight, self.dim, self._u, self._v)

    def right_inverse(self, value: Tensor) -> Tensor:
        """The weight itself (assumed to satisfy the constraint already, as PyTorch's)."""
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """PyTorch's `parametrizations.spectral_norm`: `module.<name>` = W / sigma(W), sigma its largest singular
    value (of W with axis `dim` first and the rest flattened; dim None is 0, 1 for ConvTranspose1d /
    ConvTranspose2d, as PyTorch's), estimated by `n_power_iterations` steps of the
    power method at each read in training mode; a 1-d W is W / ||W||. The buffers
    `parametrizations.<name>.0._u` and `._v` hold the singular vectors' estimates. A name that is no tensor
    of the module is a ValueError, a dim out of range an IndexError, n_power_iterations <= 0 a ValueError.
    Returns the module."""
    weight = _tensor_named("spectral_norm", module, name)
    parametrization = _SpectralNorm(weight, n_power_iterations, default_dim(module) if dim is None else dim, eps)
    return register_parametrization(module, name, parametrization)
