"""PyTorch's pooling over (N, C, L) sequences, (N, C, H, W) images and (N, C, D, H, W) volumes or clips, as
composites of primitive ops (no rule of their own): `max_pool1d`, `max_pool2d`, `max_pool3d`, `avg_pool1d`,
`avg_pool2d` and `avg_pool3d` over sliding windows, and `adaptive_max_pool1d` .. `adaptive_max_pool3d` and
`adaptive_avg_pool1d` .. `adaptive_avg_pool3d` over `output_size` windows that cover the input. A text
CNN's max over time is `F.max_pool1d(conved, conved.shape[2]).squeeze(2)`; a sequence classifier's
`nn.AdaptiveAvgPool1d(1)` is the mean over time; a CRNN's `nn.MaxPool2d((2, 1))` halves the height only;
an image classifier's `nn.AdaptiveAvgPool2d((1, 1))` is the mean over each feature map.

A sliding window is the product of one window per spatial axis (`dims` of them, 1, 2 or 3): along an axis,
window t reads the input positions s t - p + d k, k = 0 .. K - 1 (s the stride, p the padding, d the
dilation, K the kernel size); there are floor((S + 2p - d (K - 1) - 1) / s) + 1 of them (ceil instead of
floor with `ceil_mode=True`, less one if the last window would start past the input and its left
padding, as PyTorch's). An adaptive window is likewise the product of one window per axis: along an axis
of L positions, window i reads positions floor(i L / n) up to ceil((i + 1) L / n) (n = output_size along
it), so windows may differ in length and overlap.

- max: the spatial axes are seen as one (position h W + w of an image), the positions of each window's
  maximum are found in numpy (the first of ties in row-major order, the last NaN; the padding holds -inf,
  and a window whose input is all -inf names its first position >= 0 along each axis, as PyTorch's), and
  the values are picked from the input with one `getitem`. So the whole gradient goes to that one position,
  as PyTorch's (ties are not shared), and adds up where windows overlap. `return_indices=True` also gives
  those positions (int64, into the flattened spatial axes, as PyTorch's). A window that dilation makes
  step over a short input, reading only padding, is -inf (a constant), as PyTorch's.
- avg: the windows gathered with one `getitem` from the input padded with zeros (`pad`), summed, divided
  by the window's size, the product of its sizes along the axes (with `count_include_pad=True` the padding
  counts, but not the part of a `ceil_mode` window past the right padding; with False only input
  positions count), or by `divisor_override` (2-d and 3-d), as PyTorch's.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import ops
from ..checks import flag, is_int
from ..tensor import Tensor, as_tensor, owned
from .convolution import AXIS_NAMES, LETTERS, as_given, batched, ints_of, shown
from .layer_functions import pad


def sliding_output_length(where: str, length: int, kernel: int, stride: int, padding: int, dilation: int,
                          ceil_mode: bool, axis: str = "length") -> int:
    """The number of windows of a sliding pool along one axis (PyTorch's rule), or ValueError naming `where`
    and the `axis` if none."""
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    count = (-(-span // stride) if ceil_mode else span // stride) + 1     # (with ceil_mode, a window may overhang)
    if ceil_mode and (count - 1) * stride >= length + padding:
        count -= 1          # (the last window would start in the right padding)
    if count < 1:
        raise ValueError(f"{where}: the input {axis} {length} with padding {padding} on each side is shorter than "
                         f"the (dilated) kernel, {dilation} * ({kernel} - 1) + 1 = {dilation * (kernel - 1) + 1}: "
                         "no output position")
    return count


def pooled_input(where: str, input: Any, dims: int) -> Tensor:
    """`input` as a tensor of dims + 1 axes (C, *S) or dims + 2 (N, C, *S), floating point, C and each of S
    at least 1."""
    x = as_tensor(input)
    letters = ", ".join(LETTERS[dims])
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{where}: expected input of {dims + 1} axes (C, {letters}, unbatched) or {dims + 2} "
                         f"(N, C, {letters}), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input, got {x.dtype}")
    if min(x.shape[-dims - 1:]) < 1:
        raise ValueError(f"{where}: expected input with at least one channel and one position, got shape {x.shape}")
    return x


def window_settings(where: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1,
                    dims: int = 1) -> tuple:
    """(kernel, stride, padding, dilation), each `dims` ints, checked as PyTorch checks them: ints or tuples
    (`ints_of`), stride None (or an empty tuple) meaning the kernel size, padding at most half the kernel
    size."""
    kernel = ints_of(where, "kernel_size", kernel_size, 1, dims)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else ints_of(
        where, "stride", stride, 1, dims)
    padding, dilation = ints_of(where, "padding", padding, 0, dims), ints_of(where, "dilation", dilation, 1, dims)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{where}: padding should be at most half of kernel_size, got padding={shown(padding)} and "
                         f"kernel_size={shown(kernel)}")
    return kernel, stride, padding, dilation


def picked(x: Tensor, positions: np.ndarray, valid: np.ndarray, first: np.ndarray) -> tuple[Tensor, np.ndarray]:
    """For each window, a row of `positions` (input positions along the last axis, `valid` where they are
    in the input): the window's maximum, picked from x (N, C, L) with one getitem, and its position. A
    window whose maximum is -inf from the padding (its input all -inf) names `first`, the window's first
    position >= 0 along each axis, as PyTorch's index does; a window with no input position at all is -inf,
    a constant, as PyTorch's."""
    rows = np.arange(len(positions))
    clipped = np.clip(positions, 0, x.shape[-1] - 1)
    values = np.where(valid, x._data[..., clipped], -np.inf)           # (N, C, L_out, K)
    best = np.argmax(values, axis=-1)                                  # (the first of ties)
    nan = np.isnan(values)
    if nan.any():       # (PyTorch's kernel takes every NaN it meets, `val > maxval || isnan(val)`: the last)
        best = np.where(nan.any(axis=-1), values.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1), best)
    chosen, in_input = positions[rows, best], valid[rows, best]        # (N, C, L_out)
    if not in_input.all():
        chosen = np.where(in_input, chosen, first)
    n, c, _ = x.shape
    out = x[np.arange(n)[:, None, None], np.arange(c)[None, :, None], np.minimum(chosen, x.shape[-1] - 1)]
    empty = ~valid.any(axis=1)
    if empty.any():                   # (only the padding: dilation can step over a short input)
        out = ops.where(empty, np.array(-np.inf, dtype=x.dtype), out)
    return out, chosen.astype(np.int64)


def with_indices(x: Tensor, out: Tensor, indices: np.ndarray, return_indices: bool, dims: int) -> Any:
    out, indices = as_given(x, out, dims), (indices[0] if x.ndim == dims + 1 else indices)
    return (out, owned(indices)) if return_indices else out


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch.nn.functional.max_pool1d: the maximum of each window of `kernel_size` positions, every `stride`
    (None: kernel_size), over input (N, C, L) or (C, L) with `padding` -inf's on each side (at most
    kernel_size / 2) and `dilation` between a window's positions; gives (N, C, L_out), and with
    `return_indices=True` also the int64 positions of the maxima. The gradient goes whole to each window's
    maximum (the first of ties), as PyTorch's."""
    return max_pooled("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch.nn.functional.max_pool2d: the maximum of each kH x kW window, every `stride` (None:
    kernel_size), over input (N, C, H, W) or (C, H, W) with `padding` -inf's on each side (at most half the
    kernel) and `dilation` between a window's positions; each setting an int for both axes or a pair
    (height, width). Gives (N, C, H_out, W_out), and with `return_indices=True` also the int64 positions
    h W + w of the maxima. The gradient goes whole to each window's maximum (the first of ties, row by
    row), as PyTorch's."""
    return max_pooled("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch.nn.functional.max_pool3d: the maximum of each kD x kH x kW window, every `stride` (None:
    kernel_size), over input (N, C, D, H, W) or (C, D, H, W) with `padding` -inf's on each side (at most half
    the kernel) and `dilation` between a window's positions; each setting an int for every axis or a triple
    (depth, height, width). Gives (N, C, D_out, H_out, W_out), and with `return_indices=True` also the int64
    positions (d H + h) W + w of the maxima. The gradient goes whole to each window's maximum (the first of
    ties in row-major order), as PyTorch's."""
    return max_pooled("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def axis_windows(positions: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, valid, first) of windows along one axis of `size` positions: positions (count, K),
    valid where they are in the input, first the window's first position >= 0."""
    first = positions[np.arange(len(positions)), np.argmax(positions >= 0, axis=1)]
    return positions, (positions >= 0) & (positions < size), first


def flattened(windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
              sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows of several axes (`axis_windows` each) as windows over the axes seen as one, position
    h W + w for two: their product, row-major in both the windows and the positions inside one."""
    positions, valid, first = windows[0]
    for (more, more_valid, more_first), size in zip(windows[1:], sizes[1:]):
        count, taps = len(positions) * len(more), positions.shape[1] * more.shape[1]
        positions = (positions[:, None, :, None] * size + more[None, :, None, :]).reshape(count, taps)
        valid = (valid[:, None, :, None] & more_valid[None, :, None, :]).reshape(count, taps)
        first = (first[:, None] * size + more_first[None, :]).reshape(count)
    return positions, valid, first


def max_pooled(where: str, dims: int, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: Any, return_indices: Any) -> Any:
    """`max_pool1d`, `max_pool2d` or `max_pool3d` (dims 1, 2, 3), its errors naming `where` (nn.MaxPool1d's name
    MaxPool1d)."""
    x = pooled_input(where, input, dims)
    kernel, stride, padding, dilation = window_settings(where, kernel_size, stride, padding, dilation, dims)
    ceil_mode, return_indices = flag(ceil_mode, "ceil_mode", where), flag(return_indices, "return_indices", where)
    windows = []
    for name, size, k, s, p, d in zip(AXIS_NAMES[dims], x.shape[-dims:], kernel, stride, padding, dilation):
        count = sliding_output_length(where, size, k, s, p, d, ceil_mode, name)
        windows.append(axis_windows(s * np.arange(count)[:, None] + d * np.arange(k)[None, :] - p, size))
    return maxima(x, windows, return_indices, dims)


def maxima(x: Tensor, windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], return_indices: bool,
           dims: int) -> Any:
    """The maximum of x over the product of `windows` (one (positions, valid, first) per spatial axis), with
    its positions h W + w when `return_indices`: the spatial axes seen as one (`flattened`), then `picked`."""
    spatial, batch = x.shape[-dims:], batched(x, dims)
    out, indices = picked(batch.reshape(batch.shape[:2] + (math.prod(spatial),)), *flattened(windows, spatial))
    counts = tuple(len(positions) for positions, _, _ in windows)
    out, indices = out.reshape(out.shape[:2] + counts), indices.reshape(indices.shape[:2] + counts)
    return with_indices(x, out, indices, return_indices, dims)


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """torch.nn.functional.avg_pool1d: the mean of each window of `kernel_size` positions, every `stride`
    (None: kernel_size), over input (N, C, L) or (C, L) with `padding` zeros on each side (at most
    kernel_size / 2); the zeros count towards the mean unless `count_include_pad=False`. Gives (N, C, L_out)."""
    return avg_pooled("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    """torch.nn.functional.avg_pool2d: the mean of each kH x kW window, every `stride` (None: kernel_size),
    over input (N, C, H, W) or (C, H, W) with `padding` zeros on each side (at most half the kernel); each
    setting an int for both axes or a pair (height, width). The zeros count towards the mean unless
    `count_include_pad=False`; `divisor_override` (a non-zero int) divides every window's sum instead.
    Gives (N, C, H_out, W_out)."""
    return avg_pooled("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)


def avg_pool3d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    """torch.nn.functional.avg_pool3d: the mean of each kD x kH x kW window, every `stride` (None:
    kernel_size), over input (N, C, D, H, W) or (C, D, H, W) with `padding` zeros on each side (at most half
    the kernel); each setting an int for every axis or a triple (depth, height, width). The zeros count
    towards the mean unless `count_include_pad=False`; `divisor_override` (a non-zero int) divides every
    window's sum instead. Gives (N, C, D_out, H_out, W_out)."""
    return avg_pooled("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)


def avg_pooled(where: str, dims: int, input: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: Any,
               count_include_pad: Any, divisor_override: Any = None) -> Tensor:
    """`avg_pool1d`, `avg_pool2d` or `avg_pool3d` (dims 1, 2, 3), its errors naming `where`."""
    x = pooled_input(where, input, dims)
    kernel, stride, padding, _ = window_settings(where, kernel_size, stride, padding, dims=dims)
    ceil_mode, count_include_pad = flag(ceil_mode, "ceil_mode", where), flag(count_include_pad, "count_include_pad",
                                                                             where)
    divisor_override = divisor_of(where, divisor_override)
    reads, sizes, amounts = [], [], []          # per axis: the positions read, the windows' sizes, the zeros
    for axis, (name, length, k, s, p) in enumerate(zip(AXIS_NAMES[dims], x.shape[-dims:], kernel, stride, padding)):
        count = sliding_output_length(where, length, k, s, p, 1, ceil_mode, name)
        starts = s * np.arange(count) - p
        ends = np.minimum(starts + k, length + p)                      # (a ceil_mode window stops at the padding)
        sizes.append(ends - starts if count_include_pad else np.minimum(ends, length) - np.maximum(starts, 0))
        amounts.append((p, max(0, int(starts[-1]) + k - length)))      # (zeros enough for the last window)
        at = starts[:, None] + p + np.arange(k)[None, :]               # (count, K), in the padded input
        reads.append(at.reshape((1,) * axis + (count,) + (1,) * (dims - 1) + (k,) + (1,) * (dims - 1 - axis)))
    padded = pad(batched(x, dims), tuple(n for pair in reversed(amounts) for n in pair))   # (the last axis first)
    windows = padded[(Ellipsis,) + tuple(reads)]                       # (N, C, *S_out, *K)
    divisor = functools.reduce(np.multiply.outer, sizes) if divisor_override is None else divisor_override
    out = windows.sum(axis=tuple(range(-dims, 0))) / np.asarray(divisor, dtype=x.dtype)
    return as_given(x, out, dims)


def divisor_of(where: str, divisor_override: Any) -> int | None:
    """avg_pool2d's and avg_pool3d's `divisor_override`: None, or a non-zero int (PyTorch: "divisor must be
    not zero")."""
    if divisor_override is not None and (not is_int(divisor_override) or divisor_override == 0):
        raise ValueError(f"{where}: expected divisor_override None or a non-zero integer, got {divisor_override!r}")
    return None if divisor_override is None else int(divisor_override)


def adaptive_size(where: str, output_size: Any, dims: int = 1) -> tuple[int | None, ...]:
    """`output_size` of an adaptive pool over `dims` axes: an int >= 1 for every axis or a tuple (or list) of
    `dims`, each an int >= 1 or, over 2 or 3 axes, None (the input's size along that axis, as PyTorch's
    `_list_with_default` in torch/nn/modules/utils.py reads it); else ValueError."""
    given = isinstance(output_size, (tuple, list)) and len(output_size) == dims
    sizes = tuple(output_size) if given else (output_size,) * dims
    if not all((is_int(n) and n >= 1) or (n is None and given and dims > 1) for n in sizes):
        wanted = "1 positive integer" if dims == 1 else f"{dims} positive integers or None"
        raise ValueError(f"{where}: expected output_size a positive integer or a tuple of {wanted}, "
                         f"got {output_size!r}")
    return tuple(None if n is None else int(n) for n in sizes)


def adaptive_windows(length: int, n: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one axis of `length` positions: (positions (n, longest), valid
    (n, longest), sizes (n,)), window i the positions floor(i L / n) .. ceil((i + 1) L / n) - 1 (n None: L)."""
    n = length if n is None else n
    starts = np.array([i * length // n for i in range(n)])
    ends = np.array([-(-(i + 1) * length // n) for i in range(n)])
    longest = int((ends - starts).max())
    positions = starts[:, None] + np.arange(longest)[None, :]
    return positions, positions < ends[:, None], ends - starts


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch.nn.functional.adaptive_max_pool1d: the maximum over each of `output_size` windows covering the
    input (N, C, L) or (C, L) (see the module); with `return_indices=True` also their int64 positions.
    The gradient goes whole to each window's maximum (the first of ties)."""
    return adaptive_max_pooled("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch.nn.functional.adaptive_max_pool2d: the maximum over each of H_out x W_out windows covering the
    input (N, C, H, W) or (C, H, W) (see the module); `output_size` an int for both axes or a pair, None
    keeping that axis's size. With `return_indices=True` also the int64 positions h W + w of the maxima. The
    gradient goes whole to each window's maximum (the first of ties, row by row)."""
    return adaptive_max_pooled("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch.nn.functional.adaptive_max_pool3d: the maximum over each of D_out x H_out x W_out windows covering
    the input (N, C, D, H, W) or (C, D, H, W); `output_size` an int for every axis or a triple, None keeping
    that axis's size. With `return_indices=True` also the int64 positions (d H + h) W + w of the maxima. The
    gradient goes whole to each window's maximum (the first of ties in row-major order)."""
    return adaptive_max_pooled("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pooled(where: str, dims: int, input: Any, output_size: Any, return_indices: Any) -> Any:
    """`adaptive_max_pool1d`, `adaptive_max_pool2d` or `adaptive_max_pool3d` (dims 1, 2, 3), its errors naming
    `where`."""
    x = pooled_input(where, input, dims)
    return_indices = flag(return_indices, "return_indices", where)
    sizes = adaptive_size(where, output_size, dims)
    windows = [adaptive_windows(length, n) for length, n in zip(x.shape[-dims:], sizes)]
    return maxima(x, [(positions, valid, positions[:, 0]) for positions, valid, _ in windows], return_indices, dims)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool1d: the mean over each of `output_size` windows covering the input
    (N, C, L) or (C, L) (see the module); `adaptive_avg_pool1d(x, 1)` is the mean over the last axis."""
    return adaptive_avg_pooled("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool2d: the mean over each of H_out x W_out windows covering the
    input (N, C, H, W) or (C, H, W) (see the module); `output_size` an int for both axes or a pair, None
    keeping that axis's size. `adaptive_avg_pool2d(x, 1)` is the mean over each image (global average
    pooling)."""
    return adaptive_avg_pooled("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Any, output_size: Any) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool3d: the mean over each of D_out x H_out x W_out windows covering
    the input (N, C, D, H, W) or (C, D, H, W); `output_size` an int for every axis or a triple, None keeping
    that axis's size. `adaptive_avg_pool3d(x, 1)` is the mean over each volume."""
    return adaptive_avg_pooled("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_avg_pooled(where: str, dims: int, input: Any, output_size: Any) -> Tensor:
    """`adaptive_avg_pool1d`, `adaptive_avg_pool2d` or `adaptive_avg_pool3d` (dims 1, 2, 3), its errors naming
    `where`: each
    window gathered with one getitem, its positions past the window's end masked out, summed and divided by
    its size, the product of its sizes along the axes."""
    x = pooled_input(where, input, dims)
    reads, masks, sizes = [], [], []            # per axis, shaped (*S_out, *K) for broadcasting
    for axis, (length, n) in enumerate(zip(x.shape[-dims:], adaptive_size(where, output_size, dims))):
        positions, valid, size = adaptive_windows(length, n)
        shape = (1,) * axis + (len(positions),) + (1,) * (dims - 1) + (positions.shape[1],) + (1,) * (dims - 1 - axis)
        reads.append(np.where(valid, positions, 0).reshape(shape))
        masks.append(valid.reshape(shape))
        sizes.append(size)
    windows = batched(x, dims)[(Ellipsis,) + tuple(reads)]                      # (N, C, *S_out, *K)
    inside = functools.reduce(np.logical_and, masks).astype(x.dtype)
    out = (windows * inside).sum(axis=tuple(range(-dims, 0))) / functools.reduce(np.multiply.outer, sizes).astype(
        x.dtype)
    return as_given(x, out, dims)
