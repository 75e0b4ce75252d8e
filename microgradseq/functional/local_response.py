"""Local response normalisation, each entry divided by a power of the energy of its neighbouring channels,
as PyTorch's (AlexNet's normalisation):

    local_response_norm:  y_c = x_c / (k + alpha / n * sum_{c' = c - n//2}^{c + (n-1)//2} x_c'^2)^beta

(channels outside 0..C-1 count as zeros), written as PyTorch's F.local_response_norm writes it
(torch/nn/functional.py): the squares padded by zeros along the channel axis and averaged over windows
of n channels with `avg_pool2d`; and `cross_map_lrn2d`, the value of PyTorch's nn.CrossMapLRN2d
(torch/nn/_functions.py, CrossMapLRN2d.forward), whose channel sums `cross_map_windows` records.
Both are composites of primitives: their gradients need no rule of their own."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import positive_int
from ..tensor import Tensor, as_tensor, owned
from .activations import argument
from .layer_functions import pad
from .pooling import avg_pool2d


def local_response_norm(input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """y = x / (k + alpha * mean of x^2 over the `size` channels around each one)^beta over x (N, C, *)
    with at least one trailing axis, as PyTorch's F.local_response_norm (the module docstring's formula:
    the window is c - size//2 .. c + (size-1)//2, the mean divides by `size` whatever the edge);
    an empty input comes back as it is."""
    x = as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensionality input (N, C, *), got "
                         f"{x.ndim}D input of shape {x.shape}")
    size = positive_int(size, "size", "local_response_norm")
    alpha, beta, k = (argument("local_response_norm", name, value)
                      for name, value in (("alpha", alpha), ("beta", beta), ("k", k)))
    if x.dtype.kind != "f":
        raise TypeError(f"local_response_norm: expected a floating-point tensor, got dtype {x.dtype}")
    if x.numel() == 0:
        return x
    squares = (x * x).reshape(x.shape[0], 1, x.shape[1], -1)          # (N, 1, C, rest): channels as rows
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    energy = avg_pool2d(squares, (size, 1), stride=1).reshape(x.shape)
    return x / (energy * alpha + k) ** beta


def cross_map_windows(channels: int, size: int) -> np.ndarray:
    """The (C, C) 0/1 matrix w with scale_c = sum_c' w[c, c'] x_c'^2 in PyTorch's CrossMapLRN2d.forward,
    found by running its bookkeeping: channel 0's sum covers 0 .. pre_pad - 1 (pre_pad = (size-1)//2 + 1);
    each next channel's adds x_(c + pre_pad - 1)^2 and, for c > pre_pad, drops x_(c - pre_pad)^2. That test
    is PyTorch's (Lua's SpatialCrossMapLRN dropped from c >= pre_pad), so x_0^2 is never dropped: it
    stays in every channel's sum, as it does in PyTorch's forward value."""
    pre_pad = int((size - 1) / 2 + 1)
    windows = np.zeros((channels, channels))
    windows[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        windows[c] = windows[c - 1]
        if c < channels - pre_pad + 1:
            windows[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            windows[c, c - pre_pad] -= 1
    return windows


def cross_map_lrn2d(input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """y_c = x_c (k + alpha / size * sum_c' w[c, c'] x_c'^2)^-beta over x (N, C, H, W), w =
    `cross_map_windows(C, size)`: the forward value of PyTorch's nn.CrossMapLRN2d; its errors name it."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: expected 4D input (N, C, H, W), got {x.ndim}D input of shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"CrossMapLRN2d: expected a floating-point tensor, got dtype {x.dtype}")
    windows = owned(cross_map_windows(x.shape[1], size).T.astype(x.dtype))
    sums = ((x * x).transpose(0, 2, 3, 1) @ windows).transpose(0, 3, 1, 2)    # (channels last for the product)
    return x * (sums * (alpha / size) + k) ** -beta
