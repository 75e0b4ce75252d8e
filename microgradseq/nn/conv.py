"""`Conv1d`, `Conv2d` and `Conv3d`: PyTorch's convolution layers over (N, C_in, L) sequences, (N, C_in, H, W)
images or spectrograms and (N, C_in, D, H, W) volumes or clips, computing `F.conv1d`, `F.conv2d` and
`F.conv3d` (functional/convolution.py says how, and why they need no gradient rule of their own). As
PyTorch's, `_ConvNd` checks and keeps the settings and draws the parameters of every convolution, these and
the transposed ones (conv_transpose.py); `_Conv` adds the padding rules and the forward, and each layer names
its number of spatial axes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, generator, is_int
from ..functional.convolution import PADDING_MODES, convolved, ints_of, padding_of
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, get_default_dtype
from . import init
from .module import Module, empty_parameter, same_dtype


class _ConvNd(Module):
    """What every convolution shares, as PyTorch's _ConvNd: the checks, the settings (kernel_size, stride,
    padding, dilation, output_padding as `dims`-tuples; groups, padding_mode, transposed), weight
    (out_channels, in_channels / groups, *kernel_size), or (in_channels, out_channels / groups, *kernel_size)
    when `transposed`, and bias (out_channels,), drawn by `reset_parameters`. Every argument is checked before
    anything is drawn; a subclass checks its own padding, output_padding and padding_mode (`_checked_padding`)
    and has the forward."""

    dims: int = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, transposed: bool, output_padding: Any, groups: int, bias: bool, padding_mode: str,
                 device: Any, dtype: Any, *, rng: np.random.Generator | None) -> None:
        where, dims = type(self).__name__, self.dims
        check_device(where, device)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
        if in_channels % groups or out_channels % groups:
            which = "in_channels" if in_channels % groups else "out_channels"
            raise ValueError(f"{where}: {which} must be divisible by groups, got in_channels={in_channels}, "
                             f"out_channels={out_channels}, groups={groups}")
        kernel_size = ints_of(where, "kernel_size", kernel_size, 1, dims)
        stride, dilation = ints_of(where, "stride", stride, 1, dims), ints_of(where, "dilation", dilation, 1, dims)
        padding, output_padding = self._checked_padding(where, padding, output_padding, padding_mode, stride)
        bias, rng = flag(bias, "bias", where), generator(rng, where)
        dtype = np.dtype(dtype or get_default_dtype())
        if dtype.kind != "f":
            raise TypeError(f"{where}: expected a floating-point dtype, got {dtype}")
        super().__init__()
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size, self.stride, self.dilation, self.padding = kernel_size, stride, dilation, padding
        self.padding_mode, self.output_padding, self.transposed = padding_mode, output_padding, transposed
        self._rng = rng
        self.weight = empty_parameter(self._weight_shape(self.in_channels), dtype)
        self.bias = empty_parameter((out_channels,), dtype) if bias else None
        self.reset_parameters()

    def _checked_padding(self, where: str, padding: Any, output_padding: Any, padding_mode: str,
                         stride: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
        """padding and output_padding as kept, once they and padding_mode are checked (each subclass's rules)."""
        raise NotImplementedError

    def _weight_shape(self, in_channels: int) -> tuple[int, ...]:
        """(out_channels, in_channels / groups, *kernel_size), or (in_channels, out_channels / groups,
        *kernel_size) for a transposed convolution."""
        if self.transposed:
            return (in_channels, self.out_channels // self.groups) + self.kernel_size
        return (self.out_channels, in_channels // self.groups) + self.kernel_size

    def reset_parameters(self) -> None:
        """Weight and bias drawn again, into the same Parameter objects, as PyTorch's _ConvNd.reset_parameters:
        kaiming_uniform_(a=sqrt(5)) for the weight, uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias,
        fan_in = weight.shape[1] * prod(kernel_size) (in_channels / groups * prod(kernel_size), or
        out_channels / groups * prod(kernel_size) when transposed, as PyTorch's fan computation reads the
        weight); from the module's `rng` or the library's generator."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=self._rng)
        if self.bias is not None:
            bound = 1 / math.sqrt(math.prod(self.weight.shape[1:]))
            init.uniform_(self.bias, -bound, bound, rng=self._rng)

    def extra_repr(self) -> str:
        """PyTorch's: `16, 33, kernel_size=(3,), stride=(2,)`, then only the settings that differ from
        their defaults (output_padding only a transposed convolution's, padding_mode only a convolution's)."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    """y = conv(x, weight, bias, stride, padding, dilation, groups) over `dims` spatial axes, with the init
    of `_ConvNd`: weight (out_channels, in_channels / groups, *kernel_size) drawn by kaiming_uniform_(a=sqrt(5)),
    that is uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * prod(kernel_size),
    and bias (out_channels,) from the same uniform. padding an int, a tuple, "valid" or "same" (stride 1
    only). padding_mode "zeros" pads with zeros, "reflect" mirrors the input about its end entries
    (x_2, x_1 | x_0, ..., x_(L-1) | x_(L-2), x_(L-3)), "replicate" repeats them and "circular" wraps around,
    along each spatial axis (`padded_by` in functional/padding.py)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, *, rng: np.random.Generator | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups, bias,
                         padding_mode, device, dtype, rng=rng)

    def _checked_padding(self, where: str, padding: Any, output_padding: Any, padding_mode: str,
                         stride: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
        """`padding_of`'s padding, a padding_mode among PADDING_MODES; no output_padding, (0, ...)."""
        padding = padding_of(where, padding, stride, self.dims)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{where}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        return padding, (0,) * self.dims

    def forward(self, x: Any) -> Tensor:
        x = same_dtype(self, as_tensor(x), self.weight.dtype)
        return convolved(type(self).__name__, self.dims, x, self.weight, self.bias, self.stride, self.padding,
                         self.dilation, self.groups, self.padding_mode)


class Conv1d(_Conv):
    """PyTorch's nn.Conv1d over (N, C_in, L) or (C_in, L): `F.conv1d` with weight (out_channels,
    in_channels / groups, kernel_size); its sizes kept as 1-tuples, `Conv1d(16, 33, kernel_size=(3,),
    stride=(2,))` (see `_Conv` for the init and the padding modes)."""

    dims = 1


class Conv2d(_Conv):
    """PyTorch's nn.Conv2d over (N, C_in, H, W) or (C_in, H, W): `F.conv2d` with weight (out_channels,
    in_channels / groups, kH, kW); kernel_size, stride, padding and dilation an int for both axes or a
    pair (height, width), kept as pairs, `Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))` (see `_Conv`
    for the init and the padding modes)."""

    dims = 2


class Conv3d(_Conv):
    """PyTorch's nn.Conv3d over (N, C_in, D, H, W) or (C_in, D, H, W): `F.conv3d` with weight (out_channels,
    in_channels / groups, kD, kH, kW); kernel_size, stride, padding and dilation an int for every axis or a
    triple (depth, height, width), kept as triples, `Conv3d(16, 33, kernel_size=(3, 3, 3), stride=(2, 2, 2))`
    (see `_Conv` for the init and the padding modes)."""

    dims = 3
