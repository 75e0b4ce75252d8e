"""`LazyConv1d` and `LazyConv2d`: PyTorch's convolutions that read in_channels from their first input, on
`LazyLinear`'s machinery (linear.py): until then in_channels is 0 and the weight (out_channels, 0, *kernel_size)
an `UninitializedParameter` holding nothing; the first call (or a state dict) gives the same Parameter
objects their shapes, so an optimizer made before trains them, and the module becomes a `Conv1d` or a
`Conv2d`, drawing them by its `reset_parameters()`, as PyTorch's (its `_LazyConvXdMixin`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import is_int
from ..parameter import UninitializedParameter
from ..tensor import Tensor, as_tensor
from .conv import Conv1d, Conv2d, _Conv


class _LazyConv(_Conv):
    """A `_Conv` without in_channels until its first input; `becomes` is the class it turns into."""

    becomes: type = _Conv

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
                 *, rng: np.random.Generator | None = None) -> None:
        if not is_int(groups) or groups < 1:
            raise ValueError(f"{type(self).__name__}: groups must be a positive integer, got {groups!r}")
        # every argument checked as a convolution's (in_channels = groups passes its checks); nothing drawn
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype, rng=rng)
        self.in_channels, dtype = 0, self.weight.dtype
        self.weight = UninitializedParameter(np.zeros((self.out_channels, 0) + self.kernel_size, dtype))
        if self.bias is not None:
            self.bias = UninitializedParameter(np.zeros(self.out_channels, dtype))

    def reset_parameters(self) -> None:
        """Nothing to draw before the first call gives the weight its shape, as PyTorch's lazy modules."""

    def _sized(self, in_channels: int) -> None:
        """in_channels known: the weight takes its shape, the bias becomes a Parameter, and from now on the
        module is a `becomes` (a Conv1d, a Conv2d)."""
        self.in_channels, dtype = in_channels, self.weight.dtype
        shape = (self.out_channels, in_channels // self.groups) + self.kernel_size
        if self.weight.shape != shape:
            self.weight._materialise(np.zeros(shape, dtype))
        for parameter in (self.weight, self.bias):
            if isinstance(parameter, UninitializedParameter):
                parameter._materialise(parameter._data)
        self.__class__ = self.becomes

    def forward(self, x: Any) -> Tensor:
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
        return self.forward(x)

    def _loads_shape(self, name: str, tensor: Tensor, shape: tuple) -> bool:
        """Before the first call, a state dict gives the weight its shape (out_channels, in, *kernel_size), in > 0."""
        if name == "weight":
            return (len(shape) == 2 + self.dims and shape[0] == self.out_channels and shape[1] > 0
                    and shape[2:] == self.kernel_size)
        return shape == tensor.shape

    def _loaded(self) -> None:
        if self.weight.shape[1]:            # (given its shape by the state dict: a convolution from now on)
            self._sized(self.weight.shape[1] * self.groups)


class LazyConv1d(_LazyConv):
    """PyTorch's nn.LazyConv1d(out_channels, kernel_size, ...): a `Conv1d` whose in_channels is the first
    input's (N, C_in, L) C_in (C_in of an unbatched (C_in, L)); then it is a Conv1d."""

    dims, becomes = 1, Conv1d


class LazyConv2d(_LazyConv):
    """PyTorch's nn.LazyConv2d(out_channels, kernel_size, ...): a `Conv2d` whose in_channels is the first
    input's (N, C_in, H, W) C_in (C_in of an unbatched (C_in, H, W)); then it is a Conv2d."""

    dims, becomes = 2, Conv2d
