"""PyTorch's pooling layers: `MaxPool1d`, `AvgPool1d`, `AdaptiveMaxPool1d`, `AdaptiveAvgPool1d` over
(N, C, L) or (C, L) sequences, and `MaxPool2d`, `AvgPool2d`, `AdaptiveMaxPool2d`, `AdaptiveAvgPool2d` over
(N, C, H, W) or (C, H, W) images. Each
computes the function of functional/pooling.py (which says how); the settings are checked when the layer
is made, and kept and printed as PyTorch keeps and prints them. `_MaxPool`, `_AvgPool`, `_AdaptiveMaxPool`
and `_AdaptiveAvgPool` do the work for both numbers of spatial axes; each layer names its own."""

from __future__ import annotations

from typing import Any

from ..checks import flag
from ..functional.pooling import (adaptive_avg_pooled, adaptive_max_pooled, adaptive_size, avg_pooled, divisor_of,
                                  max_pooled, window_settings)
from .module import Module


class _MaxPool(Module):
    """`F.max_pool1d` or `F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)`
    over `dims` spatial axes; `stride` None means kernel_size. Keeps its settings as given and prints as
    PyTorch's _MaxPoolNd: `MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)`."""

    dims: int = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        where = type(self).__name__
        window_settings(where, kernel_size, stride, padding, dilation, self.dims)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride   # (as given)
        self.padding, self.dilation = padding, dilation
        self.return_indices = flag(return_indices, "return_indices", where)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", where)

    def forward(self, x: Any) -> Any:
        return max_pooled(type(self).__name__, self.dims, x, self.kernel_size, self.stride, self.padding,
                          self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPool):
    """`F.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)` over (N, C, L)
    or (C, L). Prints as PyTorch's: `MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1,
    ceil_mode=False)`."""

    dims = 1


class MaxPool2d(_MaxPool):
    """`F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)` over
    (N, C, H, W) or (C, H, W), each setting an int or a pair (height, width). Prints as PyTorch's:
    `MaxPool2d(kernel_size=(2, 1), stride=(2, 1), padding=0, dilation=1, ceil_mode=False)`."""

    dims = 2


class _AvgPool(Module):
    """`F.avg_pool1d` or `F.avg_pool2d` over `dims` spatial axes, the flags and `divisor_override` checked
    here; each layer keeps its sizes as PyTorch's does. Prints as PyTorch's _AvgPoolNd: `kernel_size=...,
    stride=..., padding=...`."""

    dims: int = 1

    def __init__(self, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool,
                 divisor_override: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
        window_settings(where, kernel_size, stride, padding, dims=self.dims)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", where)
        self.count_include_pad = flag(count_include_pad, "count_include_pad", where)
        self.divisor_override = divisor_of(where, divisor_override)

    def forward(self, x: Any) -> Any:
        return avg_pooled(type(self).__name__, self.dims, x, self.kernel_size, self.stride, self.padding,
                          self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _single(value: Any) -> tuple:
    """PyTorch's `_single`: a 1-tuple of an int, a tuple kept."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class AvgPool1d(_AvgPool):
    """`F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)`; `stride` None means
    kernel_size. Keeps its sizes as 1-tuples and prints as PyTorch's: `AvgPool1d(kernel_size=(3,),
    stride=(3,), padding=(0,))`."""

    dims = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.kernel_size = _single(kernel_size)
        self.stride = _single(kernel_size if stride is None or stride == () or stride == [] else stride)
        self.padding = _single(padding)


class AvgPool2d(_AvgPool):
    """`F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)`;
    `stride` None means kernel_size. Keeps its settings as given (an int or a pair) and prints as
    PyTorch's: `AvgPool2d(kernel_size=2, stride=2, padding=0)`."""

    dims = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Any = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride   # (as given)
        self.padding = padding


class _AdaptiveMaxPool(Module):
    """`F.adaptive_max_pool1d` or `F.adaptive_max_pool2d(x, output_size, return_indices)` over `dims` spatial
    axes. Keeps `output_size` as given and prints as PyTorch's _AdaptiveMaxPoolNd: `output_size=...`."""

    dims: int = 1

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        where = type(self).__name__
        adaptive_size(where, output_size, self.dims)
        self.output_size = output_size
        self.return_indices = flag(return_indices, "return_indices", where)

    def forward(self, x: Any) -> Any:
        return adaptive_max_pooled(type(self).__name__, self.dims, x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """`F.adaptive_max_pool1d(x, output_size, return_indices)`: the maximum over each of `output_size`
    windows covering the sequence; `AdaptiveMaxPool1d(1)` is the max over time."""

    dims = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """`F.adaptive_max_pool2d(x, output_size, return_indices)`: the maximum over each of H_out x W_out
    windows covering the image, `output_size` an int or a pair (None keeping that axis's size). Prints as
    PyTorch's: `AdaptiveMaxPool2d(output_size=(2, 3))`."""

    dims = 2


class _AdaptiveAvgPool(Module):
    """`F.adaptive_avg_pool1d` or `F.adaptive_avg_pool2d(x, output_size)` over `dims` spatial axes. Keeps
    `output_size` as given and prints as PyTorch's _AdaptiveAvgPoolNd: `output_size=...`."""

    dims: int = 1

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        adaptive_size(type(self).__name__, output_size, self.dims)
        self.output_size = output_size

    def forward(self, x: Any) -> Any:
        return adaptive_avg_pooled(type(self).__name__, self.dims, x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """`F.adaptive_avg_pool1d(x, output_size)`: the mean over each of `output_size` windows covering the
    sequence; `AdaptiveAvgPool1d(1)` is the mean over time."""

    dims = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """`F.adaptive_avg_pool2d(x, output_size)`: the mean over each of H_out x W_out windows covering the
    image, `output_size` an int or a pair (None keeping that axis's size); `AdaptiveAvgPool2d((1, 1))` is
    global average pooling. Prints as PyTorch's: `AdaptiveAvgPool2d(output_size=(2, 3))`."""

    dims = 2
