"""`max_unpool1d`, `max_unpool2d` and `max_unpool3d`: PyTorch's partial inverse of max pooling. Given the
maxima y (N, C, *S_in) and their positions from `max_pool*d(..., return_indices=True)` (int64, each into the
flattened spatial axes of the pooled input), the output (N, C, *S_out) is zero except

    out[n, c, indices[n, c, t]] = y[n, c, t]

(positions (d H + h) W + w into the output's (D, H, W), h W + w into (H, W)). S_out is PyTorch's default,
(S_in - 1) s - 2 p + K along each axis (s the stride, None: the kernel size K; p the padding), or
`output_size` (the spatial sizes, or those with N and C in front), which must lie strictly between that
default minus s and plus s, as torch/nn/functional.py's `_unpool_output_size` checks. An index outside the
output is a RuntimeError, as PyTorch's kernel's.

Built as a gather rather than a scatter: for each output position the input position t that writes it (in
numpy: the last t naming it, as PyTorch's serial CPU loop leaves it) is found, and the output is
where(written, y[..., writer], 0), one `getitem` and one `where`; so the gradient of y[t] is g at
indices[t], from those ops' rules. When two positions name the same output entry only the one that lands
there gets its gradient (PyTorch's rule hands g to both).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..checks import is_int
from ..tensor import Tensor, as_tensor
from .convolution import LETTERS, as_given, batched, ints_of
from .pooling import pooled_input


def max_unpool1d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """torch.nn.functional.max_unpool1d: input (N, C, L) or (C, L), the maxima of `max_pool1d`, written at
    their `indices` (int64, of input's shape) into zeros of (N, C, L_out), L_out = (L - 1) s - 2 p + K or
    `output_size`."""
    return max_unpooled("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """torch.nn.functional.max_unpool2d: input (N, C, H, W) or (C, H, W), the maxima of `max_pool2d`, written
    at their `indices` h W_out + w into zeros of (N, C, H_out, W_out), H_out = (H - 1) s_0 - 2 p_0 + kH
    (W_out likewise) or `output_size`; each setting an int for both axes or a pair."""
    return max_unpooled("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """torch.nn.functional.max_unpool3d: input (N, C, D, H, W) or (C, D, H, W), the maxima of `max_pool3d`,
    written at their `indices` (d H_out + h) W_out + w into zeros of (N, C, D_out, H_out, W_out), D_out =
    (D - 1) s_0 - 2 p_0 + kD (H_out, W_out likewise) or `output_size`; each setting an int or a triple."""
    return max_unpooled("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def unpooled_size(where: str, spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                  padding: tuple[int, ...], output_size: Any) -> tuple[int, ...]:
    """The output's spatial sizes, as PyTorch's `_unpool_output_size`: (S - 1) s - 2 p + K along each axis, or
    `output_size` (dims ints, or dims + 2 with N and C in front), each strictly between that minus s and
    plus s; else ValueError naming `where`."""
    default = tuple((size - 1) * s - 2 * p + k for size, k, s, p in zip(spatial, kernel, stride, padding))
    if output_size is None:
        sizes = default
    else:
        dims = len(kernel)
        sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
        sizes = sizes[2:] if len(sizes) == dims + 2 else sizes
        if len(sizes) != dims or not all(is_int(n) for n in sizes):
            raise ValueError(f"{where}: output_size should be a sequence of {dims} or {dims + 2} integers, got "
                             f"{output_size!r}")
        for axis, (n, d, s) in enumerate(zip(sizes, default, stride)):
            if not d - s < n < d + s:
                raise ValueError(f"{where}: invalid output_size {output_size!r} (dim {axis} must be between "
                                 f"{d - s} and {d + s}, both excluded)")
    if min(sizes) < 1:
        raise ValueError(f"{where}: the output would have no position, sizes {sizes} (input of spatial shape "
                         f"{spatial}, kernel_size {kernel}, stride {stride}, padding {padding})")
    return tuple(int(n) for n in sizes)


def max_unpooled(where: str, dims: int, input: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any,
                 output_size: Any) -> Tensor:
    """`max_unpool1d`, `max_unpool2d` or `max_unpool3d` (dims 1, 2, 3), its errors naming `where`
    (nn.MaxUnpool1d's name MaxUnpool1d); every argument checked before anything is computed."""
    x = pooled_input(where, input, dims)
    positions = as_tensor(indices)._data
    if positions.dtype != np.int64:
        raise TypeError(f"{where}: expected indices of dtype int64 (from max_pool{dims}d(..., "
                        f"return_indices=True)), got {positions.dtype}")
    if positions.shape != x.shape:
        raise ValueError(f"{where}: expected indices of the input's shape {x.shape}, got {positions.shape}")
    kernel = ints_of(where, "kernel_size", kernel_size, 1, dims)
    stride = kernel if stride is None else ints_of(where, "stride", stride, 1, dims)
    padding = ints_of(where, "padding", padding, 0, dims)
    sizes = unpooled_size(where, x.shape[-dims:], kernel, stride, padding, output_size)
    plane = math.prod(sizes)
    batch = batched(x, dims)
    n, c = batch.shape[:2]
    flat = positions.reshape(n, c, -1)
    outside = (flat < 0) | (flat >= plane)
    if outside.any():
        raise RuntimeError(f"{where}: found an invalid max index {int(flat[outside][0])}: an output of size "
                           f"{' x '.join(map(str, sizes))} ({', '.join(LETTERS[dims])}) holds positions 0 .. "
                           f"{plane - 1} (the pooled input's size may be given as output_size)")
    rows, channels = np.arange(n)[:, None, None], np.arange(c)[None, :, None]
    writer = np.full((n, c, plane), -1)     # writer[n, c, j]: the last input position t naming output entry j
    np.maximum.at(writer, (rows, channels, flat), np.arange(flat.shape[2])[None, None, :])
    picked = batch.reshape(n, c, flat.shape[2])[rows, channels, np.maximum(writer, 0)]
    out = ops.where(writer >= 0, picked, np.zeros((), dtype=x.dtype))
    return as_given(x, out.reshape((n, c) + sizes), dims)
