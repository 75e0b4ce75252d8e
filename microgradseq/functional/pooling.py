"""PyTorch's 1-d pooling over (N, C, L) sequences, as composites of primitive ops (no rule of their own):
`max_pool1d` and `avg_pool1d` over sliding windows, and `adaptive_max_pool1d` and `adaptive_avg_pool1d`
over `output_size` windows that cover the sequence. A text CNN's max over time is
`F.max_pool1d(conved, conved.shape[2]).squeeze(2)`; a sequence classifier's `nn.AdaptiveAvgPool1d(1)` is the
mean over time.

Window t of a sliding pool reads the input positions s t - p + d k, k = 0 .. K - 1 (s the stride, p the
padding, d the dilation, K the kernel size); there are L_out = floor((L + 2p - d (K - 1) - 1) / s) + 1 of
them (ceil instead of floor with `ceil_mode=True`, less one if the last window would start past the
input and its left padding, as PyTorch's). Adaptive window i reads positions floor(i L / n) up to
ceil((i + 1) L / n) (n = output_size), so windows may differ in length and overlap.

- max: the positions of each window's maximum are found in numpy (the first of ties, the first NaN; the
  padding holds -inf, and a window whose input is all -inf names its first position >= 0, as PyTorch's),
  and the values are picked from the input with one `getitem`. So the whole gradient goes to that one
  position, as PyTorch's (ties are not shared), and adds up where windows overlap. `return_indices=True`
  also gives those positions (int64, along the input's last axis). A window that dilation makes step over
  a short input, reading only padding, is -inf (a constant), as PyTorch's.
- avg: the windows gathered with one `getitem` from the input padded with zeros (`pad`), summed, divided
  by the window's size (with `count_include_pad=True` the padding counts, but not the part of a
  `ceil_mode` window past the right padding; with False only input positions count), as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import flag, is_int
from ..tensor import Tensor, as_tensor, owned
from .convolution import as_given, batched, one_int
from .layer_functions import pad


def sliding_output_length(where: str, length: int, kernel: int, stride: int, padding: int, dilation: int,
                          ceil_mode: bool) -> int:
    """The number of windows of a sliding pool (PyTorch's rule), or ValueError naming `where` if none."""
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    count = (-(-span // stride) if ceil_mode else span // stride) + 1     # (with ceil_mode, a window may overhang)
    if ceil_mode and (count - 1) * stride >= length + padding:
        count -= 1          # (the last window would start in the right padding)
    if count < 1:
        raise ValueError(f"{where}: the input length {length} with padding {padding} on each side is shorter than "
                         f"the (dilated) kernel, {dilation} * ({kernel} - 1) + 1 = {dilation * (kernel - 1) + 1}: "
                         "no output position")
    return count


def pooled_input(where: str, input: Any) -> Tensor:
    """`input` as a tensor of 2 axes (C, L) or 3 (N, C, L), floating point, C and L at least 1."""
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"{where}: expected input of 2 axes (C, L, unbatched) or 3 (N, C, L), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input, got {x.dtype}")
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(f"{where}: expected input with at least one channel and one position, got shape {x.shape}")
    return x


def window_settings(where: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> tuple:
    """(kernel, stride, padding, dilation) checked as PyTorch checks them: ints or 1-tuples, stride None (or
    an empty tuple) meaning the kernel size, padding at most half the kernel size."""
    kernel = one_int(where, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else one_int(
        where, "stride", stride, 1)
    padding, dilation = one_int(where, "padding", padding, 0), one_int(where, "dilation", dilation, 1)
    if 2 * padding > kernel:
        raise ValueError(f"{where}: padding should be at most half of kernel_size, got padding={padding} and "
                         f"kernel_size={kernel}")
    return kernel, stride, padding, dilation


def picked(x: Tensor, positions: np.ndarray, valid: np.ndarray) -> tuple[Tensor, np.ndarray]:
    """For each window, a row of `positions` (input positions along the last axis, `valid` where they are
    in the input): the window's maximum, picked from x (N, C, L) with one getitem, and its position. A
    window whose maximum is -inf from the padding (its input all -inf) names its first position >= 0, as
    PyTorch's index does; a window with no input position at all is -inf, a constant, as PyTorch's."""
    rows = np.arange(len(positions))
    clipped = np.clip(positions, 0, x.shape[-1] - 1)
    values = np.where(valid, x._data[..., clipped], -np.inf)           # (N, C, L_out, K)
    best = np.argmax(values, axis=-1)                                  # (the first of ties, or the first NaN)
    chosen, in_input = positions[rows, best], valid[rows, best]        # (N, C, L_out)
    if not in_input.all():
        chosen = np.where(in_input, chosen, positions[rows, np.argmax(positions >= 0, axis=1)])
    n, c, _ = x.shape
    out = x[np.arange(n)[:, None, None], np.arange(c)[None, :, None], np.minimum(chosen, x.shape[-1] - 1)]
    empty = ~valid.any(axis=1)
    if empty.any():                   # (only the padding: dilation can step over a short input)
        out = ops.where(empty, np.array(-np.inf, dtype=x.dtype), out)
    return out, chosen.astype(np.int64)


def with_indices(x: Tensor, out: Tensor, indices: np.ndarray, return_indices: bool) -> Any:
    out, indices = as_given(x, out), (indices[0] if x.ndim == 2 else indices)
    return (out, owned(indices)) if return_indices else out


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch.nn.functional.max_pool1d: the maximum of each window of `kernel_size` positions, every `stride`
    (None: kernel_size), over input (N, C, L) or (C, L) with `padding` -inf's on each side (at most
    kernel_size / 2) and `dilation` between a window's positions; gives (N, C, L_out), and with
    `return_indices=True` also the int64 positions of the maxima. The gradient goes whole to each window's
    maximum (the first of ties), as PyTorch's."""
    return max_pooled("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pooled(where: str, input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any,
               return_indices: Any) -> Any:
    """`max_pool1d`, its errors naming `where` (nn.MaxPool1d's name MaxPool1d)."""
    x = pooled_input(where, input)
    kernel, stride, padding, dilation = window_settings(where, kernel_size, stride, padding, dilation)
    ceil_mode, return_indices = flag(ceil_mode, "ceil_mode", where), flag(return_indices, "return_indices", where)
    count = sliding_output_length(where, x.shape[-1], kernel, stride, padding, dilation, ceil_mode)
    positions = stride * np.arange(count)[:, None] + dilation * np.arange(kernel)[None, :] - padding
    out, indices = picked(batched(x), positions, (positions >= 0) & (positions < x.shape[-1]))
    return with_indices(x, out, indices, return_indices)


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """torch.nn.functional.avg_pool1d: the mean of each window of `kernel_size` positions, every `stride`
    (None: kernel_size), over input (N, C, L) or (C, L) with `padding` zeros on each side (at most
    kernel_size / 2); the zeros count towards the mean unless `count_include_pad=False`. Gives (N, C, L_out)."""
    return avg_pooled("avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pooled(where: str, input: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: Any,
               count_include_pad: Any) -> Tensor:
    """`avg_pool1d`, its errors naming `where`."""
    x = pooled_input(where, input)
    kernel, stride, padding, _ = window_settings(where, kernel_size, stride, padding)
    ceil_mode, count_include_pad = flag(ceil_mode, "ceil_mode", where), flag(count_include_pad, "count_include_pad",
                                                                             where)
    length = x.shape[-1]
    count = sliding_output_length(where, length, kernel, stride, padding, 1, ceil_mode)
    starts = stride * np.arange(count) - padding
    ends = np.minimum(starts + kernel, length + padding)              # (a ceil_mode window stops at the padding)
    sizes = ends - starts if count_include_pad else np.minimum(ends, length) - np.maximum(starts, 0)
    right = max(0, int(starts[-1]) + kernel - length)                 # zeros enough for the last window
    padded = pad(batched(x), (padding, right))
    windows = padded[..., starts[:, None] + padding + np.arange(kernel)[None, :]]     # (N, C, L_out, K)
    out = windows.sum(axis=-1) / sizes.astype(x.dtype)
    return as_given(x, out)


def adaptive_size(where: str, output_size: Any) -> int:
    """`output_size` of an adaptive pool: an int >= 1 or a 1-tuple (or list) of one, else ValueError."""
    single = output_size[0] if isinstance(output_size, (tuple, list)) and len(output_size) == 1 else output_size
    if not is_int(single) or single < 1:
        raise ValueError(f"{where}: expected output_size a positive integer or a tuple of 1 positive integer, "
                         f"got {output_size!r}")
    return int(single)


def adaptive_windows(where: str, length: int, output_size: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows: (positions (n, longest), valid (n, longest), sizes (n,)), window i the
    positions floor(i L / n) .. ceil((i + 1) L / n) - 1 (n = output_size)."""
    n = adaptive_size(where, output_size)
    starts = np.array([i * length // n for i in range(n)])
    ends = np.array([-(-(i + 1) * length // n) for i in range(n)])
    longest = int((ends - starts).max())
    positions = starts[:, None] + np.arange(longest)[None, :]
    return positions, positions < ends[:, None], ends - starts


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch.nn.functional.adaptive_max_pool1d: the maximum over each of `output_size` windows covering the
    input (N, C, L) or (C, L) (see the module); with `return_indices=True` also their int64 positions.
    The gradient goes whole to each window's maximum (the first of ties)."""
    return adaptive_max_pooled("adaptive_max_pool1d", input, output_size, return_indices)


def adaptive_max_pooled(where: str, input: Any, output_size: Any, return_indices: Any) -> Any:
    """`adaptive_max_pool1d`, its errors naming `where`."""
    x = pooled_input(where, input)
    return_indices = flag(return_indices, "return_indices", where)
    positions, valid, _ = adaptive_windows(where, x.shape[-1], output_size)
    out, indices = picked(batched(x), positions, valid)
    return with_indices(x, out, indices, return_indices)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool1d: the mean over each of `output_size` windows covering the input
    (N, C, L) or (C, L) (see the module); `adaptive_avg_pool1d(x, 1)` is the mean over the last axis."""
    return adaptive_avg_pooled("adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pooled(where: str, input: Any, output_size: Any) -> Tensor:
    """`adaptive_avg_pool1d`, its errors naming `where`."""
    x = pooled_input(where, input)
    positions, valid, sizes = adaptive_windows(where, x.shape[-1], output_size)
    windows = batched(x)[..., np.where(valid, positions, 0)]                   # (N, C, n, longest)
    out = (windows * valid.astype(x.dtype)).sum(axis=-1) / sizes.astype(x.dtype)
    return as_given(x, out)

