"""`pixel_shuffle` and `pixel_unshuffle`: PyTorch's rearrangements between channels and space (the
sub-pixel convolution of super-resolution models, and its inverse), and `channel_shuffle` among the channels
(ShuffleNet's), each a reshape, a permute and a reshape, so the gradient is the same rearrangement run
backward. As PyTorch's (aten/src/ATen/native/PixelShuffle.cpp, ChannelShuffle.cpp), with r the factor and
g the groups:

    pixel_shuffle:    y[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w],  (*, C r^2, H, W) -> (*, C, H r, W r)
    pixel_unshuffle:  the inverse,                                               (*, C, H r, W r) -> (*, C r^2, H, W)
    channel_shuffle:  y[n, k g + i, ...] = x[n, i C / g + k, ...],                (N, C, *) -> (N, C, *)
"""

from __future__ import annotations

from typing import Any

from ..checks import is_int
from ..tensor import Tensor, as_tensor


def pixel_shuffle(input: Any, upscale_factor: int) -> Tensor:
    """x (*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor, as PyTorch's F.pixel_shuffle."""
    x, r = _checked("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *batch, channels, height, width = x.shape
    if channels % (r * r):
        raise ValueError(f"pixel_shuffle: expected the channel axis (input.shape[-3] = {channels}) divisible by "
                         f"upscale_factor^2 = {r * r}, got input of shape {x.shape}")
    lead = len(batch)
    split = x.reshape(*batch, channels // (r * r), r, r, height, width)
    order = tuple(range(lead)) + tuple(lead + k for k in (0, 3, 1, 4, 2))     # (*, C, H, r, W, r)
    return split.permute(*order).reshape(*batch, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Tensor:
    """x (*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor, as PyTorch's F.pixel_unshuffle (the
    inverse of `pixel_shuffle`)."""
    x, r = _checked("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *batch, channels, height, width = x.shape
    if height % r or width % r:
        raise ValueError(f"pixel_unshuffle: expected height and width (input.shape[-2:] = ({height}, {width})) "
                         f"divisible by downscale_factor = {r}, got input of shape {x.shape}")
    lead = len(batch)
    split = x.reshape(*batch, channels, height // r, r, width // r, r)
    order = tuple(range(lead)) + tuple(lead + k for k in (0, 2, 4, 1, 3))     # (*, C, r, r, H, W)
    return split.permute(*order).reshape(*batch, channels * r * r, height // r, width // r)


def _checked(where: str, input: Any, factor: Any, name: str) -> tuple[Tensor, int]:
    """The input, of at least 3 axes (*, C, H, W), and the factor, a positive int; else an error naming `where`."""
    x = as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"{where}: expected an input of at least 3 axes (*, C, H, W), got shape {x.shape}")
    if not is_int(factor) or factor < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {factor!r}")
    return x, int(factor)


def channel_shuffle(input: Any, groups: int) -> Tensor:
    """x (N, C, *) with its C channels, seen as g groups of C / g, read group by group in turn:
    y[n, k g + i] = x[n, i C / g + k], as PyTorch's F.channel_shuffle (g = groups, dividing C)."""
    x = as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"channel_shuffle: expected an input of at least 3 axes (N, C, *), got shape {x.shape}")
    if not is_int(groups) or groups < 1:
        raise ValueError(f"channel_shuffle: groups must be a positive integer, got {groups!r}")
    batch, channels, *rest = x.shape
    if channels % groups:
        raise ValueError(f"channel_shuffle: expected the channels (input.shape[1] = {channels}) divisible by "
                         f"groups = {groups}, got input of shape {x.shape}")
    split = x.reshape(batch, int(groups), channels // groups, *rest)
    return split.transpose(1, 2).reshape(x.shape)
