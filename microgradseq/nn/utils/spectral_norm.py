"""PyTorch's older `torch.nn.utils.spectral_norm` (Miyato et al., 2018; read from its
torch/nn/utils/spectral_norm.py): a module's weight W divided by its largest singular value,

    W_SN = W / sigma(W),        sigma(W) = u^T W v,

u and v the first left and right singular vectors of W (W with axis `dim` first and the rest flattened),
as the power method estimates them on the values, without recording:

    v <- W^T u / ||W^T u||,     u <- W v / ||W v||          (norms raised to eps when smaller)

As PyTorch's, it is a forward pre-hook (module_hooks.py), as `weight_norm` is: `weight` leaves the
module's parameters for `weight_orig`, the estimates are the buffers `weight_u` and `weight_v`, and
before every forward `module.weight` becomes W / sigma, after `n_power_iterations` steps in training mode
(none in eval mode). u and v are constants of the graph, so the gradient is that of W / (u^T W v) with
them fixed. `parametrizations.spectral_norm` is the newer form, on this file's math.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...checks import is_int
from ...ops import matmul
from ...parameter import Parameter
from ...random import default_generator
from ...tensor import Tensor, owned
from ..conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..module import Module
from .weight_norm import hook_removed, parameter_to_hook


def normalized(x: np.ndarray, eps: float) -> np.ndarray:
    """x / max(||x||, eps), as F.normalize(x, dim=0, eps=eps) on values."""
    return x / max(float(np.linalg.norm(x)), eps)


def random_unit_vector(size: int, eps: float, dtype: Any) -> Tensor:
    """A starting estimate: a standard normal vector, normalised (PyTorch's normal_(0, 1) then normalize)."""
    return owned(normalized(default_generator().standard_normal(size), eps).astype(dtype))


def power_iteration(weight_mat: np.ndarray, u: Tensor, v: Tensor, steps: int, eps: float,
                    right_first: bool) -> None:
    """`steps` steps of the power method on the values of `weight_mat`; u and v take new arrays, so graphs
    that used the old ones keep them (PyTorch clones them). PyTorch's hook updates v first
    (`right_first`), its parametrization u first."""
    left, right = u._data, v._data
    for _ in range(steps):
        if right_first:
            right = normalized(weight_mat.T @ left, eps).astype(weight_mat.dtype)
        left = normalized(weight_mat @ right, eps).astype(weight_mat.dtype)
        if not right_first:
            right = normalized(weight_mat.T @ left, eps).astype(weight_mat.dtype)
    u._replace_data(left)
    v._replace_data(right)


def matrix_view(weight: Tensor, dim: int) -> Tensor:
    """The weight as a matrix: axis `dim` first, the other axes flattened."""
    if dim != 0:
        weight = weight.permute(dim, *(axis for axis in range(weight.ndim) if axis != dim))
    return weight.reshape(weight.shape[0], -1)


def spectrally_normed(weight: Tensor, dim: int, u: Tensor, v: Tensor) -> Tensor:
    """W / (u^T W v), u and v as constants."""
    return weight / matmul(u.detach(), matmul(matrix_view(weight, dim), v.detach()))


def checked_settings(where: str, weight: Tensor, n_power_iterations: Any, dim: Any) -> tuple[int, int]:
    """(n_power_iterations, dim as an axis of the weight); ValueError for n_power_iterations <= 0 and
    IndexError for a dim out of range, as PyTorch's."""
    if not is_int(n_power_iterations) or n_power_iterations <= 0:
        raise ValueError(f"{where}: expected n_power_iterations to be positive, got {n_power_iterations!r}")
    if not is_int(dim) or not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"{where}: dimension out of range (expected to be in range of [{-weight.ndim}, "
                         f"{weight.ndim - 1}] but got {dim!r})")
    return int(n_power_iterations), int(dim) % weight.ndim


class SpectralNorm:
    """The forward pre-hook `spectral_norm` registers: `module.<name> = W / sigma(W)` before each forward."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        if do_power_iteration:
            power_iteration(matrix_view(weight, self.dim)._data, u, v, self.n_power_iterations, self.eps, True)
        return spectrally_normed(weight, self.dim, u, v)

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: Any, dim: Any, eps: float) -> "SpectralNorm":
        where = "spectral_norm"
        if not isinstance(module, Module) or not isinstance(name, str):
            raise TypeError(f"{where}: expected a Module and the parameter's name as a str, got "
                            f"{type(module).__name__} and {type(name).__name__}")
        weight = parameter_to_hook(where, module, name, SpectralNorm)
        n_power_iterations, dim = checked_settings(where, weight, n_power_iterations, dim)
        hook = SpectralNorm(name, n_power_iterations, dim, float(eps))
        height, width = matrix_view(weight, dim).shape
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())          # a plain attribute until the first forward, as PyTorch
        module.register_buffer(name + "_u", random_unit_vector(height, hook.eps, weight.dtype))
        module.register_buffer(name + "_v", random_unit_vector(width, hook.eps, weight.dtype))
        module.register_forward_pre_hook(hook)
        return hook

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module, do_power_iteration=False)
        for attribute in (self.name, self.name + "_u", self.name + "_v", self.name + "_orig"):
            delattr(module, attribute)
        module.register_parameter(self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def __repr__(self) -> str:
        return f"SpectralNorm(name={self.name!r}, n_power_iterations={self.n_power_iterations}, dim={self.dim})"


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """PyTorch's `torch.nn.utils.spectral_norm`: the parameter `name` becomes `name_orig`, the buffers
    `name_u` and `name_v` (random unit vectors) the singular vectors' estimates, and before every forward
    `module.<name>` = W / sigma(W) after `n_power_iterations` power steps (in training mode). dim None is 0,
    1 for ConvTranspose1d / 2d / 3d (their output axis), as PyTorch's. A second one on the same
    parameter is a RuntimeError; a name that is no initialized parameter or n_power_iterations <= 0 a ValueError, a
    dim out of range an IndexError, before the module changes. Returns the module."""
    SpectralNorm.apply(module, name, n_power_iterations, default_dim(module) if dim is None else dim, eps)
    return module


def default_dim(module: Module) -> int:
    """PyTorch's dim for spectral_norm's dim=None: 1 for a transposed convolution (weight (in, out / groups,
    *K)), else 0."""
    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """PyTorch's `torch.nn.utils.remove_spectral_norm`: `name` a plain parameter again, of the values
    W / sigma had (no further power step); ValueError if `module` has no spectral_norm on `name`."""
    return hook_removed("spectral_norm", module, name, SpectralNorm)
