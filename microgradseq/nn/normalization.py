"""`LayerNorm`: each sample's last axes normalised to mean 0 and variance 1, then scaled and shifted."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, non_negative_number
from ..functional import layer_norm, normalized_shape_of
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, get_default_dtype
from .module import Module, Parameter, same_dtype


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axes, those of `normalized_shape`
    (`F.layer_norm`, which says how), as PyTorch's: weight starts at ones and bias at zeros, both of
    shape normalized_shape; `elementwise_affine=False` has neither, `bias=False` no bias."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device("LayerNorm", device)
        self.normalized_shape = normalized_shape_of("LayerNorm", normalized_shape)
        self.eps = non_negative_number(eps, "eps", "LayerNorm")
        self.elementwise_affine = flag(elementwise_affine, "elementwise_affine", "LayerNorm")
        bias = flag(bias, "bias", "LayerNorm")
        dtype = np.dtype(dtype or get_default_dtype())
        affine = self.elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if affine and bias else None

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if self.weight is not None:
            x = same_dtype(self, x, self.weight.dtype)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
