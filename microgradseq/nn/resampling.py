"""PyTorch's resampling layers: `Upsample` (`F.interpolate`) with its fixed-mode spellings
`UpsamplingNearest2d` and `UpsamplingBilinear2d`, and `Unfold` and `Fold` (`F.unfold`, `F.fold`: an image's
sliding blocks as columns and back). None has parameters; each computes the function of
functional/resampling.py or functional/folding.py (which say how), its errors naming the layer, and keeps
and prints its settings as PyTorch's."""

from __future__ import annotations

from typing import Any

from ..functional.convolution import ints_of
from ..functional.folding import block_settings, folded, unfolded
from ..functional.resampling import interpolated
from ..tensor import Tensor
from .module import Module


class Upsample(Module):
    """`F.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor)` of (N, C, L),
    (N, C, H, W) or (N, C, D, H, W). Keeps `size` as given and `scale_factor` as a float (or a tuple of them),
    as PyTorch's, and prints as PyTorch's: `Upsample(scale_factor=2.0, mode='nearest')`, `Upsample(size=(4, 6),
    mode='bilinear')`. The settings are checked at the call, as there (errors naming the layer)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__         # (PyTorch's Upsample keeps it; nothing here reads it)
        self.size = size
        try:
            if isinstance(scale_factor, tuple):
                self.scale_factor = tuple(float(factor) for factor in scale_factor)
            else:
                self.scale_factor = float(scale_factor) if scale_factor else None
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: expected scale_factor a number or a tuple of them, "
                             f"got {type(scale_factor).__name__} {scale_factor!r}") from None
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, x: Any) -> Tensor:
        return interpolated(type(self).__name__, x, self.size, self.scale_factor, self.mode, self.align_corners,
                            self.recompute_scale_factor)

    def extra_repr(self) -> str:
        shown = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{shown}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """`Upsample(size, scale_factor, mode="nearest")` of (N, C, H, W), as PyTorch's."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """`Upsample(size, scale_factor, mode="bilinear", align_corners=True)` of (N, C, H, W), as PyTorch's."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Unfold(Module):
    """`F.unfold(x, kernel_size, dilation, padding, stride)`: (N, C, H, W) or (C, H, W) -> (N, C kH kW, L).
    The settings are checked when the layer is made (errors naming Unfold) and kept as given; prints as
    PyTorch's: `Unfold(kernel_size=(2, 3), dilation=1, padding=0, stride=1)`."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        block_settings(type(self).__name__, kernel_size, dilation, padding, stride)
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x: Any) -> Tensor:
        return unfolded(type(self).__name__, x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """`F.fold(x, output_size, kernel_size, dilation, padding, stride)`: (N, C kH kW, L) or (C kH kW, L) ->
    (N, C, H, W) of `output_size`, overlapping blocks summed. The settings are checked when the layer is made
    (errors naming Fold) and kept as given; prints as PyTorch's: `Fold(output_size=(4, 5), kernel_size=2,
    dilation=1, padding=0, stride=1)`."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__()
        ints_of(type(self).__name__, "output_size", output_size, 1, 2)
        block_settings(type(self).__name__, kernel_size, dilation, padding, stride)
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x: Any) -> Tensor:
        return folded(type(self).__name__, x, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
