"""`LazyConv1d`, `LazyConv2d`, `LazyConv3d` and `LazyConvTranspose1d`, `2d`, `3d`: PyTorch's convolutions that
read in_channels from their first input, on `LazyLinear`'s machinery (linear.py): until then in_channels is 0
and the weight an `UninitializedParameter` holding nothing, (out_channels, 0, *kernel_size) for a convolution
and (0, out_channels / groups, *kernel_size) for a transposed one (its in-channel axis is 0); the first call
(or a state dict) gives the same Parameter objects their shapes, so an optimizer made before trains them, and
the module becomes the eager layer (a `Conv2d`, a `ConvTranspose2d`, ...), drawing them by its
`reset_parameters()`, as PyTorch's (torch/nn/modules/conv.py, _LazyConvXdMixin)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import is_int
from ..parameter import UninitializedParameter, materialise
from ..tensor import Tensor, as_tensor
from .conv import Conv1d, Conv2d, Conv3d, _Conv
from .conv_transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, _ConvTranspose


class _LazyChannels:
    """What every lazy convolution shares, PyTorch's _LazyConvXdMixin: in_channels from the first input's
    shape[1] (shape[0] if unbatched), then the weight's shape (`_ConvNd._weight_shape`), and the class it
    turns into, `becomes`; mixed in before a `_Conv` or a `_ConvTranspose`, whose settings it reads."""

    becomes: type

    def _uninitialised(self) -> None:
        """in_channels 0, the weight and bias `UninitializedParameter`s (what __init__ ends with)."""
        self.in_channels, dtype = 0, self.weight.dtype
        self.weight = UninitializedParameter(np.zeros(self._weight_shape(0), dtype))
        if self.bias is not None:
            self.bias = UninitializedParameter(np.zeros(self.out_channels, dtype))

    def reset_parameters(self) -> None:
        """Nothing to draw before the first call gives the weight its shape, as PyTorch's lazy modules."""

    def _sized(self, in_channels: int) -> None:
        """in_channels known: the weight takes its shape, weight and bias become Parameters, and from now on
        the module is a `becomes` (a Conv1d, a ConvTranspose2d, ...)."""
        self.in_channels = in_channels
        materialise(self.weight, self._weight_shape(in_channels))
        if self.bias is not None:
            materialise(self.bias, (self.out_channels,))
        self.__class__ = self.becomes

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Tensor:
        """The first call: in_channels from x, the parameters drawn, then the eager layer's forward (with a
        transposed one's `output_size`)."""
        x = as_tensor(x)
        where = type(self).__name__
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{where}: expected {self.dims + 1}D (unbatched) or {self.dims + 2}D (batched) input, got "
                             f"input of shape {x.shape}")
        in_channels = x.shape[1] if x.ndim == self.dims + 2 else x.shape[0]
        if in_channels == 0 or in_channels % self.groups:
            raise ValueError(f"{where}: the input's {in_channels} channels must be a positive multiple of groups="
                             f"{self.groups} (input of shape {x.shape})")
        self._sized(in_channels)
        self.reset_parameters()
        return self.forward(x, *args, **kwargs)

    def _loads_shape(self, name: str, tensor: Tensor, shape: tuple) -> bool:
        """Before the first call, a state dict gives the weight its shape (`_weight_shape` of some in_channels
        > 0, a multiple of groups), or leaves it uninitialised (its own shape: the state dict of a lazy
        layer not yet called, as PyTorch)."""
        if name != "weight" or shape == tensor.shape:
            return shape == tensor.shape
        axis = 0 if self.transposed else 1                  # (the weight's in-channel axis)
        in_channels = shape[axis] * (1 if self.transposed else self.groups) if len(shape) == 2 + self.dims else 0
        return in_channels > 0 and in_channels % self.groups == 0 and shape == self._weight_shape(in_channels)

    def _loaded(self) -> None:
        if self.weight.shape != self._weight_shape(0):  # (given its shape by the state dict: the eager layer now)
            in_channels = self.weight.shape[0] if self.transposed else self.weight.shape[1] * self.groups
            self._sized(in_channels)


class _LazyConv(_LazyChannels, _Conv):
    """A `_Conv` without in_channels until its first input."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
                 *, rng: np.random.Generator | None = None) -> None:
        if not is_int(groups) or groups < 1:
            raise ValueError(f"{type(self).__name__}: groups must be a positive integer, got {groups!r}")
        # every argument checked as a convolution's (in_channels = groups passes its checks); nothing drawn
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype, rng=rng)
        self._uninitialised()


class _LazyConvTranspose(_LazyChannels, _ConvTranspose):
    """A `_ConvTranspose` without in_channels until its first input."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None, *,
                 rng: np.random.Generator | None = None) -> None:
        if not is_int(groups) or groups < 1:
            raise ValueError(f"{type(self).__name__}: groups must be a positive integer, got {groups!r}")
        # every argument checked as a transposed convolution's (in_channels = groups passes); nothing drawn
        super().__init__(groups, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device, dtype, rng=rng)
        self._uninitialised()


class LazyConv1d(_LazyConv):
    """PyTorch's nn.LazyConv1d(out_channels, kernel_size, ...): a `Conv1d` whose in_channels is the first
    input's (N, C_in, L) C_in (C_in of an unbatched (C_in, L)); then it is a Conv1d."""

    dims, becomes = 1, Conv1d


class LazyConv2d(_LazyConv):
    """PyTorch's nn.LazyConv2d(out_channels, kernel_size, ...): a `Conv2d` whose in_channels is the first
    input's (N, C_in, H, W) C_in (C_in of an unbatched (C_in, H, W)); then it is a Conv2d."""

    dims, becomes = 2, Conv2d


class LazyConv3d(_LazyConv):
    """PyTorch's nn.LazyConv3d(out_channels, kernel_size, ...): a `Conv3d` whose in_channels is the first
    input's (N, C_in, D, H, W) C_in (C_in of an unbatched (C_in, D, H, W)); then it is a Conv3d."""

    dims, becomes = 3, Conv3d


class LazyConvTranspose1d(_LazyConvTranspose):
    """PyTorch's nn.LazyConvTranspose1d(out_channels, kernel_size, ...): a `ConvTranspose1d` whose in_channels
    is the first input's (N, C_in, L) C_in (C_in of an unbatched (C_in, L)); then it is a ConvTranspose1d."""

    dims, becomes = 1, ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose):
    """PyTorch's nn.LazyConvTranspose2d(out_channels, kernel_size, ...): a `ConvTranspose2d` whose in_channels
    is the first input's (N, C_in, H, W) C_in (C_in of an unbatched (C_in, H, W)); then it is a
    ConvTranspose2d."""

    dims, becomes = 2, ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose):
    """PyTorch's nn.LazyConvTranspose3d(out_channels, kernel_size, ...): a `ConvTranspose3d` whose in_channels
    is the first input's (N, C_in, D, H, W) C_in (C_in of an unbatched (C_in, D, H, W)); then it is a
    ConvTranspose3d."""

    dims, becomes = 3, ConvTranspose3d
