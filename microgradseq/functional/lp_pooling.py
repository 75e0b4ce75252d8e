"""`lp_pool1d`, `lp_pool2d` and `lp_pool3d`: PyTorch's power-average pooling, the p-norm of each window,

    y[n, c, t] = (sum_k x[n, c, s t + k]^p)^(1/p)

over windows of K positions (a product of one per spatial axis, as the other pools'), every s (the stride;
None: the kernel size), no padding, `ceil_mode` as `avg_pool*d`'s. p = 1 is sum pooling, p = 2 the window's
Euclidean norm, and p -> inf tends to max pooling.

As PyTorch's torch/nn/functional.py computes it: out = avg_pool(x^p) (padding 0, count_include_pad), then
(sign(out) relu(|out|) prod(K))^(1/p). So a `ceil_mode` window that overhangs the input is its inside's
mean times the full kernel size, as PyTorch's. sign(out) relu(|out|) is out itself with a zero slope where
out = 0 (PyTorch's documented "if the sum to the power of p is zero, the gradient is set to zero"); it is
written here as where(out != 0, out, 0), whose rule picks g rather than multiplying the infinite slope of
the root at 0 by 0 (which would give NaN). A composite of `pow`, the average pool, `where` and `mul`: no
rule of its own.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import ops
from ..checks import flag
from ..tensor import Tensor
from .pooling import avg_pooled, pooled_input, window_settings


def lp_pool1d(input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """torch.nn.functional.lp_pool1d: (sum of x^p over each window of `kernel_size` positions)^(1/p), every
    `stride` (None: kernel_size), over input (N, C, L) or (C, L); p = `norm_type`. Gives (N, C, L_out),
    L_out = floor((L - K) / s) + 1 (ceil with `ceil_mode`)."""
    return lp_pooled("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """torch.nn.functional.lp_pool2d: (sum of x^p over each kH x kW window)^(1/p), every `stride` (None:
    kernel_size), over input (N, C, H, W) or (C, H, W); each setting an int for both axes or a pair
    (height, width); p = `norm_type`. Gives (N, C, H_out, W_out)."""
    return lp_pooled("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """torch.nn.functional.lp_pool3d: (sum of x^p over each kD x kH x kW window)^(1/p), every `stride` (None:
    kernel_size), over input (N, C, D, H, W) or (C, D, H, W); each setting an int for every axis or a triple
    (depth, height, width); p = `norm_type`. Gives (N, C, D_out, H_out, W_out)."""
    return lp_pooled("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def norm_type_of(where: str, norm_type: Any) -> float:
    """`norm_type` p as a float: a real number other than 0 (the root 1/p), else ValueError naming `where`."""
    if (not isinstance(norm_type, numbers.Real) or isinstance(norm_type, (bool, np.bool_)) or norm_type == 0
            or math.isnan(norm_type)):
        raise ValueError(f"{where}: expected norm_type a non-zero real number (the p of the p-norm), got "
                         f"{norm_type!r}")
    return float(norm_type)


def lp_pooled(where: str, dims: int, input: Any, norm_type: Any, kernel_size: Any, stride: Any,
              ceil_mode: Any) -> Tensor:
    """`lp_pool1d`, `lp_pool2d` or `lp_pool3d` (dims 1, 2, 3), its errors naming `where` (nn.LPPool1d's
    name LPPool1d). The settings are checked before x^p is taken."""
    x = pooled_input(where, input, dims)
    p = norm_type_of(where, norm_type)
    kernel, stride, _, _ = window_settings(where, kernel_size, stride, 0, dims=dims)
    ceil_mode = flag(ceil_mode, "ceil_mode", where)
    out = avg_pooled(where, dims, x ** p, kernel, stride, 0, ceil_mode, True)
    kept = ops.where(out._data != 0, out, np.zeros((), dtype=out.dtype))   # sign(out) relu(|out|): see above
    return (kept * np.asarray(math.prod(kernel), dtype=out.dtype)) ** (1 / p)
