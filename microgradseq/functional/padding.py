"""Padding by copying the input's own entries, as PyTorch's F.pad modes "reflect", "replicate" and
"circular" (and nn.Conv1d's and nn.Conv2d's padding_mode): along each padded axis the output reads
x[..., index] for an integer array `index` of input positions, one gather per axis, so the gradient
of an entry read twice (a mirrored or wrapped one) is the sum of the g at both places, by the gather's
rule, and no rule of its own is needed."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

NON_CONSTANT_MODES = ("reflect", "replicate", "circular")
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}     # (as messages name them)


def padded_by(where: str, x: Tensor, amounts: list[tuple[int, int]], mode: str,
              setting: str = "padding_mode") -> Tensor:
    """x (..., *S) with amounts[i] = (left, right) entries added along the i-th of its last len(amounts) axes
    by `mode`, as PyTorch's F.pad's modes: along each axis x[..., index] for the positions j = -left ..
    S_i - 1 + right mapped into 0 .. S_i - 1 ("reflect": mirrored about both ends, each amount < S_i;
    "replicate": clipped; "circular": j mod S_i, each amount <= S_i). One gather per axis with an integer
    array, whose rule adds up the gradient where an entry is read twice. Errors name `where` and the
    argument that chose the mode (`setting`: a layer's padding_mode, F.pad's mode)."""
    dims = len(amounts)
    for name, size, (left, right) in zip(AXIS_NAMES[dims], x.shape[-dims:], amounts):
        if mode == "reflect" and max(left, right) >= size:
            raise ValueError(f"{where}: {setting}='reflect' needs the padding ({left}, {right}) smaller than the "
                             f"input {name}, got input of shape {x.shape}")
        if mode == "circular" and max(left, right) > size:
            raise ValueError(f"{where}: {setting}='circular' needs the padding ({left}, {right}) at most the input "
                             f"{name} (it wraps around once), got input of shape {x.shape}")
        if mode == "replicate" and size == 0 and (left or right):
            raise ValueError(f"{where}: {setting}='replicate' needs an input {name} of at least 1 to repeat, got "
                             f"input of shape {x.shape}")
    for axis, (left, right) in enumerate(amounts):
        if not left and not right:
            continue
        size = x.shape[axis - dims]
        positions = np.arange(-left, size + right)
        if mode == "reflect":
            index = (size - 1) - np.abs((size - 1) - np.abs(positions))
        elif mode == "replicate":
            index = np.clip(positions, 0, size - 1)
        else:
            index = positions % size
        x = x[(Ellipsis, index) + (slice(None),) * (dims - 1 - axis)]
    return x


def padded_by_mode(x: Tensor, amounts: tuple, mode: str, value: object) -> Tensor:
    """F.pad's "reflect", "replicate" and "circular", as PyTorch's _pad_enum (aten/src/ATen/native/PadNd.cpp):
    `amounts` (checked: an even number of ints) pads the last 1, 2 or 3 axes of an input with 1 or 2 more
    (a batch and a channel axis, or a channel axis alone); a value other than None or 0 is refused. A
    negative amount cuts that side off: "reflect" and "replicate" still mirror or repeat about the input's
    own ends (their positions j simply start or stop inside), "circular" wraps the cut input around, as
    PyTorch's _pad_circular copies from its cut output."""
    axes = len(amounts) // 2
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument, got value={value!r}")
    if axes not in (1, 2, 3) or x.ndim not in (axes + 1, axes + 2):
        raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 axes of an input with 1 or 2 more (2, 4 or 6 "
                         f"amounts for a 2-d or 3-d, 3-d or 4-d, 4-d or 5-d input), got {len(amounts)} amounts for "
                         f"an input of shape {x.shape}")
    widths = [(amounts[2 * k], amounts[2 * k + 1]) for k in reversed(range(axes))]    # (first padded axis first)
    kept = tuple(slice(max(-left, 0), size - max(-right, 0)) for (left, right), size in zip(widths, x.shape[-axes:]))
    if any(cut.start > cut.stop for cut in kept):
        raise ValueError(f"pad: padding {amounts!r} would leave an axis of the input of shape {x.shape} a negative "
                         "size")
    if mode != "circular":
        return padded_by("pad", x, widths, mode, "mode")
    if any(left < 0 or right < 0 for left, right in widths):
        x = x[(Ellipsis,) + kept]
    return padded_by("pad", x, [(max(left, 0), max(right, 0)) for left, right in widths], mode, "mode")
