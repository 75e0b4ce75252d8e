"""`ConvTranspose1d`, `ConvTranspose2d` and `ConvTranspose3d`: PyTorch's transposed convolution layers, the
learned upsampling of autoencoders, U-Nets and GAN generators, computing `F.conv_transpose1d`, `2d` and `3d`
(functional/transposed_convolution.py says how). `_ConvNd` (conv.py) checks and keeps their settings and draws
their parameters, as for a convolution; `_ConvTranspose` adds output_padding and the forward, and each layer
names its number of spatial axes. As PyTorch's (torch/nn/modules/conv.py, _ConvTransposeNd),
`forward(input, output_size)` picks the output_padding that gives the requested size."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import is_int
from ..functional.convolution import ints_of
from ..functional.transposed_convolution import transposed
from ..tensor import Tensor, as_tensor
from .conv import _ConvNd
from .module import same_dtype


class _ConvTranspose(_ConvNd):
    """y = conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation) over `dims`
    spatial axes, as PyTorch's _ConvTransposeNd, with the init of `_ConvNd`: weight (in_channels,
    out_channels / groups, *kernel_size) drawn by kaiming_uniform_(a=sqrt(5)), whose fan_in is
    weight.shape[1] * prod(kernel_size) = out_channels / groups * prod(kernel_size), that is
    uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias (out_channels,) from the same uniform. padding_mode
    "zeros" only, as PyTorch's. output_padding is checked against stride and dilation when it is used, in
    `forward`, as PyTorch's: an `output_size` takes its place."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                         groups, bias, padding_mode, device, dtype, rng=rng)

    def _checked_padding(self, where: str, padding: Any, output_padding: Any, padding_mode: str,
                         stride: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
        """padding and output_padding ints >= 0 (`ints_of`), padding_mode "zeros"."""
        padding = ints_of(where, "padding", padding, 0, self.dims)
        output_padding = ints_of(where, "output_padding", output_padding, 0, self.dims)
        if padding_mode != "zeros":
            raise ValueError(f"{where}: only 'zeros' padding mode is supported, got padding_mode={padding_mode!r}")
        return padding, output_padding

    def forward(self, x: Any, output_size: Any = None) -> Tensor:
        """The transposed convolution of x; with `output_size` (the spatial sizes, or the whole shape) the
        output_padding that gives it, as PyTorch's `_output_padding`."""
        x = same_dtype(self, as_tensor(x), self.weight.dtype)
        output_padding = self.output_padding if output_size is None else self.padding_for(x, output_size)
        return transposed(type(self).__name__, self.dims, x, self.weight, self.bias, self.stride, self.padding,
                          output_padding, self.groups, self.dilation)

    def padding_for(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """PyTorch's _ConvTransposeNd._output_padding: `output_size` (dims spatial sizes, or with the batch
        and channel axes in front) less the least output, (L - 1) s - 2p + d (K - 1) + 1 per axis; each
        size must lie between that least output and it plus stride - 1."""
        where, dims = type(self).__name__, self.dims
        if x.ndim not in (dims + 1, dims + 2):
            return self.output_padding          # (the functional call names the input's wrong rank)
        sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        leading = x.ndim - dims
        if sizes is not None and len(sizes) == leading + dims:
            sizes = sizes[leading:]
        if sizes is None or len(sizes) != dims or not all(is_int(n) for n in sizes):
            raise ValueError(f"{where}: for a {x.ndim}-d input, output_size must be {dims} or {leading + dims} "
                             f"integers, got {output_size!r}")
        least = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                 zip(x.shape[leading:], self.stride, self.padding, self.dilation, self.kernel_size)]
        most = [low + s - 1 for low, s in zip(least, self.stride)]
        if any(not low <= n <= high for n, low, high in zip(sizes, least, most)):
            raise ValueError(f"{where}: requested an output size of {list(sizes)}, but valid sizes range from "
                             f"{least} to {most} (for an input of shape {x.shape})")
        return tuple(int(n) - low for n, low in zip(sizes, least))


class ConvTranspose1d(_ConvTranspose):
    """PyTorch's nn.ConvTranspose1d over (N, C_in, L) or (C_in, L): `F.conv_transpose1d` with weight
    (in_channels, out_channels / groups, kernel_size); its sizes kept as 1-tuples,
    `ConvTranspose1d(16, 33, kernel_size=(3,), stride=(2,))` (see `_ConvTranspose` for the init)."""

    dims = 1


class ConvTranspose2d(_ConvTranspose):
    """PyTorch's nn.ConvTranspose2d over (N, C_in, H, W) or (C_in, H, W): `F.conv_transpose2d` with weight
    (in_channels, out_channels / groups, kH, kW); kernel_size, stride, padding, output_padding and dilation
    an int for both axes or a pair (height, width), kept as pairs (see `_ConvTranspose` for the init)."""

    dims = 2


class ConvTranspose3d(_ConvTranspose):
    """PyTorch's nn.ConvTranspose3d over (N, C_in, D, H, W) or (C_in, D, H, W): `F.conv_transpose3d` with
    weight (in_channels, out_channels / groups, kD, kH, kW); kernel_size, stride, padding, output_padding and
    dilation an int for every axis or a triple (depth, height, width), kept as triples (see `_ConvTranspose`
    for the init)."""

    dims = 3
