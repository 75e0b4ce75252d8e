"""`unfold` and `fold`: PyTorch's im2col and col2im, the sliding blocks of an image as columns and back.

For x (N, C, H, W) with p zeros on each side, kernel (kH, kW), dilation d and stride s, block l = (a, b) of
the L = H_out W_out blocks (H_out = floor((H + 2 p_0 - d_0 (kH - 1) - 1) / s_0) + 1, W_out likewise) and
kernel position k = (i, j):

    unfold:  cols[n, c kH kW + i kW + j, a W_out + b] = x_pad[n, c, s_0 a + d_0 i, s_1 b + d_1 j]
    fold:    y_pad[n, c, h, w] = sum of cols[n, c kH kW + i kW + j, a W_out + b] over every (i, j, a, b)
             with s_0 a + d_0 i = h and s_1 b + d_1 j = w, then the padding cut off

so fold is unfold's adjoint, and fold(unfold(x)) is x times the number of blocks covering each position.
Both read the padded image with its two spatial axes seen as one, at the positions (s_0 a + d_0 i) W_pad +
s_1 b + d_1 j: unfold is one `getitem` of them, fold one `index_add` into zeros (sums where blocks
overlap). Their gradients and tangents come from those ops' rules (each the other's adjoint).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops.scattering import index_add
from ..tensor import Tensor, as_tensor
from .convolution import as_given, batched, ints_of, shown
from .layer_functions import pad


def unfold(input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """torch.nn.functional.unfold (im2col): x (N, C, H, W) or unbatched (C, H, W) -> the sliding blocks as
    columns, (N, C kH kW, L) (or (C kH kW, L)); each setting an int for both axes or a pair."""
    return unfolded("unfold", input, kernel_size, dilation, padding, stride)


def unfolded(where: str, input: Any, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> Tensor:
    """`unfold`, its errors naming `where` (nn.Unfold's name Unfold)."""
    x = as_tensor(input)
    if x.ndim not in (3, 4) or min(x.shape[-3:]) < 1:
        raise ValueError(f"{where}: expected input of 3 axes (C, H, W, unbatched) or 4 (N, C, H, W) with C, H and W "
                         f"at least 1, got shape {x.shape}")
    kernel, dilation, padding, stride = block_settings(where, kernel_size, dilation, padding, stride)
    counts = block_counts(where, x.shape[-2:], kernel, dilation, padding, stride, "input with spatial size")
    image = batched(x, 2)
    if any(padding):
        image = pad(image, (padding[1], padding[1], padding[0], padding[0]))
    n, channels, height, width = image.shape
    cols = image.reshape(n, channels, height * width)[:, :, block_positions(width, kernel, dilation, stride, counts)]
    return as_given(x, cols.reshape(n, channels * math.prod(kernel), math.prod(counts)), 2)


def fold(input: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """torch.nn.functional.fold (col2im): columns (N, C kH kW, L) or unbatched (C kH kW, L) summed into an
    image (N, C, H, W) (or (C, H, W)) of `output_size` (H, W), overlapping blocks adding up; L must be the
    number of blocks an image of that size has. Each setting an int for both axes or a pair."""
    return folded("fold", input, output_size, kernel_size, dilation, padding, stride)


def folded(where: str, input: Any, output_size: Any, kernel_size: Any, dilation: Any, padding: Any,
           stride: Any) -> Tensor:
    """`fold`, its errors naming `where` (nn.Fold's name Fold)."""
    cols = as_tensor(input)
    if cols.ndim not in (2, 3) or min(cols.shape[-2:]) < 1:
        raise ValueError(f"{where}: expected input of 2 axes (C * kH * kW, L, unbatched) or 3 (N, C * kH * kW, L) "
                         f"with non-zero sizes, got shape {cols.shape}")
    size = ints_of(where, "output_size", output_size, 1, 2)
    kernel, dilation, padding, stride = block_settings(where, kernel_size, dilation, padding, stride)
    taps = math.prod(kernel)
    if cols.shape[-2] % taps:
        raise ValueError(f"{where}: expected the size of input's dimension {cols.ndim - 2} divisible by the product of "
                         f"kernel_size {shown(kernel)}, {taps}, got input of shape {cols.shape}")
    counts = block_counts(where, size, kernel, dilation, padding, stride, "output_size")
    if cols.shape[-1] != math.prod(counts):
        raise ValueError(f"{where}: output_size={shown(size)} with kernel_size={shown(kernel)}, dilation="
                         f"{shown(dilation)}, padding={shown(padding)}, stride={shown(stride)} has {counts[0]} x "
                         f"{counts[1]} = {math.prod(counts)} blocks, got input of shape {cols.shape} with "
                         f"{cols.shape[-1]}")
    batch = cols.reshape((1,) + cols.shape) if cols.ndim == 2 else cols
    n, channels = batch.shape[0], batch.shape[1] // taps
    height, width = size[0] + 2 * padding[0], size[1] + 2 * padding[1]
    positions = block_positions(width, kernel, dilation, stride, counts).reshape(-1)
    zeros = as_tensor(np.zeros((n, channels, height * width), dtype=cols.dtype))
    image = index_add(zeros, 2, positions, batch.reshape(n, channels, taps * math.prod(counts)))
    image = image.reshape(n, channels, height, width)[:, :, padding[0]:padding[0] + size[0],
                                                      padding[1]:padding[1] + size[1]]
    return image.reshape(image.shape[1:]) if cols.ndim == 2 else image


def block_settings(where: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    """(kernel, dilation, padding, stride), each a pair of ints (`ints_of`): kernel, dilation and stride at
    least 1, padding at least 0."""
    return (ints_of(where, "kernel_size", kernel_size, 1, 2), ints_of(where, "dilation", dilation, 1, 2),
            ints_of(where, "padding", padding, 0, 2), ints_of(where, "stride", stride, 1, 2))


def block_counts(where: str, size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple,
                 what: str) -> tuple[int, int]:
    """(H_out, W_out): the blocks along each axis of an image of `size`, or ValueError if there are none."""
    counts = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in zip(size, kernel, dilation, padding,
                                                                                      stride))
    if min(counts) < 1:
        raise ValueError(f"{where}: given {what} {tuple(size)}, kernel_size={shown(kernel)}, dilation="
                         f"{shown(dilation)}, padding={shown(padding)}, stride={shown(stride)}, the calculated shape "
                         f"of the array of sliding blocks is {counts}, but its components must be at least one")
    return counts


def block_positions(width: int, kernel: tuple, dilation: tuple, stride: tuple, counts: tuple) -> np.ndarray:
    """(kH kW, L): the position (s_0 a + d_0 i) W + s_1 b + d_1 j in a padded image of `width` columns seen
    as one axis, kernel position (i, j) row-major down, block (a, b) row-major across."""
    rows = stride[0] * np.arange(counts[0])[None, :] + dilation[0] * np.arange(kernel[0])[:, None]
    columns = stride[1] * np.arange(counts[1])[None, :] + dilation[1] * np.arange(kernel[1])[:, None]
    positions = rows[:, None, :, None] * width + columns[None, :, None, :]          # (kH, kW, H_out, W_out)
    return positions.reshape(math.prod(kernel), math.prod(counts))
