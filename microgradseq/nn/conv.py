"""`Conv1d`: PyTorch's 1-d convolution layer over (N, C_in, L) sequences, computing `F.conv1d`
(functional/convolution.py says how, and why it needs no gradient rule of its own)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, generator, is_int
from ..functional.convolution import PADDING_MODES, convolved, one_int, padding_of
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, get_default_dtype
from . import init
from .module import Module, Parameter, same_dtype, uniform


class Conv1d(Module):
    """y = conv1d(x, weight, bias, stride, padding, dilation, groups), as PyTorch's nn.Conv1d: weight
    (out_channels, in_channels / groups, kernel_size) drawn by kaiming_uniform_(a=sqrt(5)), that is
    uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels / groups * kernel_size, and bias
    (out_channels,) from the same uniform. padding_mode "zeros" pads with zeros, "reflect" mirrors the
    input about its end entries (x_2, x_1 | x_0, ..., x_(L-1) | x_(L-2), x_(L-3)), "replicate" repeats
    them and "circular" wraps around (`padded_by` in functional/convolution.py). Every argument is
    checked before anything is drawn."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, *, rng: np.random.Generator | None = None) -> None:
        where = "Conv1d"
        check_device(where, device)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not is_int(value) or value < 1:
                raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
        if in_channels % groups or out_channels % groups:
            which = "in_channels" if in_channels % groups else "out_channels"
            raise ValueError(f"{where}: {which} must be divisible by groups, got in_channels={in_channels}, "
                             f"out_channels={out_channels}, groups={groups}")
        kernel_size = one_int(where, "kernel_size", kernel_size, 1)
        stride, dilation = one_int(where, "stride", stride, 1), one_int(where, "dilation", dilation, 1)
        padding = padding_of(where, padding, stride)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{where}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        bias, rng = flag(bias, "bias", where), generator(rng, where)
        dtype = np.dtype(dtype or get_default_dtype())
        if dtype.kind != "f":
            raise TypeError(f"{where}: expected a floating-point dtype, got {dtype}")
        super().__init__()
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size, self.stride, self.dilation = (kernel_size,), (stride,), (dilation,)
        self.padding = padding if isinstance(padding, str) else (padding,)
        self.padding_mode, self.output_padding, self.transposed = padding_mode, (0,), False
        fan_in = in_channels // groups * kernel_size
        self.weight = Parameter(np.zeros((out_channels, in_channels // groups, kernel_size), dtype))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        self.bias = uniform((out_channels,), 1 / math.sqrt(fan_in), rng, dtype) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = same_dtype(self, as_tensor(x), self.weight.dtype)
        return convolved("Conv1d", x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                         self.padding_mode)

    def extra_repr(self) -> str:
        """PyTorch's: `16, 33, kernel_size=(3,), stride=(2,)`, then only the settings that differ from
        their defaults."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

