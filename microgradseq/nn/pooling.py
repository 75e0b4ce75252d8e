"""PyTorch's pooling layers: `MaxPool1d`, `AvgPool1d`, `AdaptiveMaxPool1d`, `AdaptiveAvgPool1d`, `LPPool1d`,
`MaxUnpool1d` over (N, C, L) or (C, L) sequences, the same with 2d over (N, C, H, W) or (C, H, W) images,
and with 3d over (N, C, D, H, W) or (C, D, H, W) volumes. Each computes the function of
functional/pooling.py, lp_pooling.py or unpooling.py (which say how); the settings are checked when the
layer is made, and kept and printed as PyTorch keeps and prints them. `_MaxPool`, `_AvgPool`,
`_AdaptiveMaxPool`, `_AdaptiveAvgPool`, `_LPPool` and `_MaxUnpool` do the work for every number of spatial
axes; each layer names its own."""

from __future__ import annotations

from typing import Any

from ..checks import flag
from ..functional.convolution import ints_of
from ..functional.lp_pooling import lp_pooled, norm_type_of
from ..functional.pooling import (adaptive_avg_pooled, adaptive_max_pooled, adaptive_size, avg_pooled, divisor_of,
                                  max_pooled, window_settings)
from ..functional.unpooling import max_unpooled
from ..tensor import Tensor
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


class MaxPool3d(_MaxPool):
    """`F.max_pool3d(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)` over
    (N, C, D, H, W) or (C, D, H, W), each setting an int or a triple (depth, height, width). Prints as
    PyTorch's: `MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)`."""

    dims = 3


class _AvgPool(Module):
    """`F.avg_pool1d`, `F.avg_pool2d` or `F.avg_pool3d` over `dims` spatial axes, the flags and
    `divisor_override` checked here; the sizes kept as given, stride None meaning kernel_size, as PyTorch's
    AvgPool2d and AvgPool3d keep them (AvgPool1d makes them 1-tuples). Prints as PyTorch's _AvgPoolNd:
    `kernel_size=..., stride=..., padding=...`."""

    dims: int = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
        window_settings(where, kernel_size, stride, padding, dims=self.dims)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride   # (as given)
        self.padding = padding
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


class AvgPool3d(_AvgPool):
    """`F.avg_pool3d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)`;
    `stride` None means kernel_size. Keeps its settings as given (an int or a triple) and prints as
    PyTorch's: `AvgPool3d(kernel_size=2, stride=2, padding=0)`."""

    dims = 3


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


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """`F.adaptive_max_pool3d(x, output_size, return_indices)`: the maximum over each of D_out x H_out x W_out
    windows covering the volume, `output_size` an int or a triple (None keeping that axis's size). Prints as
    PyTorch's: `AdaptiveMaxPool3d(output_size=(5, 7, 9))`."""

    dims = 3


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


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """`F.adaptive_avg_pool3d(x, output_size)`: the mean over each of D_out x H_out x W_out windows covering
    the volume, `output_size` an int or a triple (None keeping that axis's size); `AdaptiveAvgPool3d(1)` is
    global average pooling. Prints as PyTorch's: `AdaptiveAvgPool3d(output_size=(5, 7, 9))`."""

    dims = 3


class _LPPool(Module):
    """`F.lp_pool1d`, `F.lp_pool2d` or `F.lp_pool3d(x, norm_type, kernel_size, stride, ceil_mode)` over `dims`
    spatial axes, as PyTorch's _LPPoolNd: the settings kept as given (stride None stays None, meaning
    kernel_size) and printed as `norm_type=2, kernel_size=3, stride=2, ceil_mode=False`."""

    dims: int = 1

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        super().__init__()
        where = type(self).__name__
        norm_type_of(where, norm_type)
        window_settings(where, kernel_size, stride, 0, dims=self.dims)
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride     # (as given)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", where)

    def forward(self, x: Any) -> Tensor:
        return lp_pooled(type(self).__name__, self.dims, x, self.norm_type, self.kernel_size, self.stride,
                         self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """`F.lp_pool1d(x, norm_type, kernel_size, stride, ceil_mode)`: (sum of x^p over each window)^(1/p) over
    (N, C, L) or (C, L); `LPPool1d(2, 3, stride=2)` is the Euclidean norm of each window of 3."""

    dims = 1


class LPPool2d(_LPPool):
    """`F.lp_pool2d(x, norm_type, kernel_size, stride, ceil_mode)` over (N, C, H, W) or (C, H, W), each
    setting an int or a pair (height, width)."""

    dims = 2


class LPPool3d(_LPPool):
    """`F.lp_pool3d(x, norm_type, kernel_size, stride, ceil_mode)` over (N, C, D, H, W) or (C, D, H, W),
    each setting an int or a triple (depth, height, width)."""

    dims = 3


class _MaxUnpool(Module):
    """`F.max_unpool1d`, `F.max_unpool2d` or `F.max_unpool3d(x, indices, kernel_size, stride, padding,
    output_size)` over `dims` spatial axes, as PyTorch's _MaxUnpoolNd: the sizes kept as `dims`-tuples
    (PyTorch's _single, _pair, _triple; stride None meaning kernel_size) and printed as
    `kernel_size=(2, 2), stride=(2, 2), padding=(0, 0)`. `forward(x, indices, output_size=None)`."""

    dims: int = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        where, dims = type(self).__name__, self.dims
        self.kernel_size = ints_of(where, "kernel_size", kernel_size, 1, dims)
        self.stride = self.kernel_size if stride is None else ints_of(where, "stride", stride, 1, dims)
        self.padding = ints_of(where, "padding", padding, 0, dims)

    def forward(self, x: Any, indices: Any, output_size: Any = None) -> Tensor:
        return max_unpooled(type(self).__name__, self.dims, x, indices, self.kernel_size, self.stride,
                            self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """`F.max_unpool1d(x, indices, ...)`: the maxima of a `MaxPool1d(..., return_indices=True)` put back
    at their positions, zeros elsewhere, over (N, C, L) or (C, L)."""

    dims = 1


class MaxUnpool2d(_MaxUnpool):
    """`F.max_unpool2d(x, indices, ...)`: the maxima of a `MaxPool2d(..., return_indices=True)` put back
    at their positions, zeros elsewhere, over (N, C, H, W) or (C, H, W)."""

    dims = 2


class MaxUnpool3d(_MaxUnpool):
    """`F.max_unpool3d(x, indices, ...)`: the maxima of a `MaxPool3d(..., return_indices=True)` put back
    at their positions, zeros elsewhere, over (N, C, D, H, W) or (C, D, H, W)."""

    dims = 3
