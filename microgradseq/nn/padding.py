"""PyTorch's padding layers, each `F.pad` of its input with the padding it keeps: `ConstantPad1d` .. `3d` (a
value), `ZeroPad1d` .. `3d` (zeros), `ReflectionPad1d` .. `3d` (mirrored about the end entries),
`ReplicationPad1d` .. `3d` (the end entries repeated), `CircularPad1d` .. `3d` (wrapped around). The 1d
layers pad the last axis, of (N, C, W) or (C, W); the 2d layers the last two, of (N, C, H, W) or (C, H, W);
the 3d layers the last three, of (N, C, D, H, W) or (C, D, H, W). `padding` is an int (every side) or a
tuple, (left, right) for 1d, (left, right, top, bottom) for 2d, (left, right, top, bottom, front, back) for
3d, kept as a tuple and printed as PyTorch's."""

from __future__ import annotations

from typing import Any

from ..checks import is_int
from ..functional import pad
from ..tensor import Tensor, as_tensor
from .module import Module


def _sides(where: str, padding: Any, count: int) -> tuple[int, ...]:
    """`padding` as `count` ints (PyTorch's _pair, _quadruple or _ntuple(6): an int for every side); else a ValueError
    naming `where`."""
    sides = (padding,) * count if is_int(padding) else padding
    if not isinstance(sides, (tuple, list)) or len(sides) != count or not all(is_int(side) for side in sides):
        raise ValueError(f"{where}: padding must be an int or a tuple of {count} ints, got {padding!r}")
    return tuple(int(side) for side in sides)


class _PadNd(Module):
    """`F.pad(x, self.padding, mode)`: `dims` axes padded, by `mode`; printed as `(1, 2)`."""

    dims: int = 1
    mode: str = "constant"

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _sides(type(self).__name__, padding, 2 * self.dims)

    def forward(self, x: Any) -> Tensor:
        return pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """`F.pad(x, self.padding, "constant", self.value)`; printed as `padding=(1, 2), value=3.5`."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value          # (as given; F.pad checks it when it pads, as PyTorch's)

    def forward(self, x: Any) -> Tensor:
        return pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """The last axis padded with `value`: (N, C, W) -> (N, C, W + left + right)."""


class ConstantPad2d(_ConstantPadNd):
    """The last two axes padded with `value`: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """The last three axes padded with `value`: (N, C, D, H, W) -> (N, C, D + front + back, H + top + bottom,
    W + left + right)."""

    dims = 3


class ZeroPad1d(ConstantPad1d):
    """The last axis padded with zeros (a ConstantPad1d of value 0.0); printed as `ZeroPad1d((1, 2))`."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """The last two axes padded with zeros (a ConstantPad2d of value 0.0); printed as `ZeroPad2d((1, 1, 2, 0))`."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """The last three axes padded with zeros (a ConstantPad3d of value 0.0); printed as
    `ZeroPad3d((1, 1, 2, 0, 1, 1))`."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """The last axis mirrored about its end entries, x_2, x_1 | x_0 ... x_(W-1) | x_(W-2), ...: each amount
    less than W."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """The last two axes mirrored about their end entries, each amount less than that axis's size."""

    dims, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """The last three axes mirrored about their end entries, each amount less than that axis's size."""

    dims, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """The last axis padded with copies of its end entries, x_0, x_0 | x_0 ... x_(W-1) | x_(W-1), ..."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """The last two axes padded with copies of their end entries (the corners with the corner entry)."""

    dims, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """The last three axes padded with copies of their end entries."""

    dims, mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    """Padding that wraps around (each amount at most that axis's size), as PyTorch's _CircularPadNd, which
    checks the input's rank itself: `dims` + 1 or `dims` + 2 axes."""

    mode = "circular"

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{type(self).__name__}: expected {self.dims + 1}D or {self.dims + 2}D input (got "
                             f"{x.ndim}D input of shape {x.shape})")
        return super().forward(x)


class CircularPad1d(_CircularPadNd):
    """The last axis wrapped around, x_(W-2), x_(W-1) | x_0 ... x_(W-1) | x_0, x_1, ..."""


class CircularPad2d(_CircularPadNd):
    """The last two axes wrapped around (a torus)."""

    dims = 2


class CircularPad3d(_CircularPadNd):
    """The last three axes wrapped around."""

    dims = 3
