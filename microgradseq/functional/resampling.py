"""`interpolate`: PyTorch's resizing of (N, C, L) sequences, (N, C, H, W) images and (N, C, D, H, W) volumes,
and its deprecated spellings `upsample`, `upsample_nearest` and `upsample_bilinear`, as composites of primitive
ops.

The output size along each spatial axis is `size`, or floor(S * scale_factor). Each axis is resampled on its
own (the modes are separable), output position i reading a few input positions j_t with weights w_t:

    y[..., i, ...] = sum_t w_t(i) x[..., j_t(i), ...]

with s the scale (as PyTorch's area_pixel_compute_scale, aten/src/ATen/native/UpSample.h): (S - 1) / (n - 1)
with align_corners, else 1 / scale_factor when one was given (and not recomputed) or S / n, and 0 for n = 1.
The source position is r = s i with align_corners, else s (i + 1/2) - 1/2 (at least 0 for linear):

- nearest:        j = min(floor(s i), S - 1), w = 1 (OpenCV's rule, PyTorch's default);
- nearest-exact:  j = min(floor(s (i + 1/2)), S - 1), w = 1 (Pillow's and scipy's);
- linear, bilinear, trilinear: j_0 = min(floor(r), S - 1), j_1 = j_0 + 1 (j_0 at the last position),
  w_1 = clamp(r - j_0, 0, 1), w_0 = 1 - w_1 (the input itself when n = S);
- bicubic: j_t = clamp(floor(r) - 1 + t, 0, S - 1) for t = 0..3 (the border repeated), with t' = r - floor(r)
  the weights of Keys' cubic convolution, A = -0.75: W(t' + 1), W(t'), W(1 - t'), W(2 - t'),
  W(d) = (A + 2) d^3 - (A + 3) d^2 + 1 for d <= 1 and A d^3 - 5A d^2 + 8A d - 4A for 1 < d < 2;
- area: `adaptive_avg_pool1d`, `adaptive_avg_pool2d` or `adaptive_avg_pool3d` to the output size.

Each axis is one `getitem` of the positions (out, taps), a multiplication by the constant weights and a
`sum` over the taps, so the gradient (the weights sent back to the positions read, summed where read twice)
and the tangent come from those ops' rules. The positions and weights are computed in the input's
precision (float32 for float32, as PyTorch's opmath). `antialias=True` is refused (`NotImplementedError`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..checks import flag, is_finite_number, is_int, user_stacklevel
from ..tensor import Tensor, as_tensor
from .pooling import adaptive_avg_pooled

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
NEEDED_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}     # the modes made for one rank
ALIGNING = ("linear", "bilinear", "bicubic", "trilinear")                    # the modes align_corners concerns
CUBIC_A = -0.75                                                              # PyTorch's (and OpenCV's) A


def interpolate(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """torch.nn.functional.interpolate: x (N, C, L), (N, C, H, W) or (N, C, D, H, W) resized to `size` (an int
    for every spatial axis or one per axis) or by `scale_factor` (a number or one per axis), by `mode`:
    "nearest", "nearest-exact", "linear" (3-d), "bilinear" or "bicubic" (4-d), "trilinear" (5-d), or "area".
    align_corners (the interpolating modes only) maps the corner pixels' centres onto each other;
    recompute_scale_factor=True resamples by the output size rather than the given factor. Errors name
    interpolate."""
    return interpolated("interpolate", input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                        antialias)


def upsample(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """torch.nn.functional.upsample, deprecated there for `interpolate` (with the same warning)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=user_stacklevel())
    return interpolated("upsample", input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """torch.nn.functional.upsample_nearest, deprecated there: `interpolate(..., mode="nearest")`."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=user_stacklevel())
    return interpolated("upsample_nearest", input, size, scale_factor, "nearest")


def upsample_bilinear(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """torch.nn.functional.upsample_bilinear, deprecated there: `interpolate(..., mode="bilinear",
    align_corners=True)`."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=user_stacklevel())
    return interpolated("upsample_bilinear", input, size, scale_factor, "bilinear", True)


def interpolated(where: str, input: Any, size: Any = None, scale_factor: Any = None, mode: Any = "nearest",
                 align_corners: Any = None, recompute_scale_factor: Any = None, antialias: Any = False) -> Tensor:
    """`interpolate`, its errors naming `where` (nn.Upsample's name Upsample). Every argument is checked
    before anything is computed."""
    x = as_tensor(input)
    if mode not in MODES:
        raise NotImplementedError(f"{where}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode in ALIGNING:
        align_corners = False if align_corners is None else flag(align_corners, "align_corners", where)
    elif align_corners is not None:
        raise ValueError(f"{where}: align_corners option can only be set with the interpolating modes: linear | "
                         f"bilinear | bicubic | trilinear, got align_corners={align_corners!r} with mode={mode!r}")
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(f"{where}: expected input of 3 axes (N, C, L), 4 (N, C, H, W) or 5 (N, C, D, H, W), "
                                  f"got shape {x.shape}")
    if NEEDED_RANK.get(mode, x.ndim) != x.ndim:
        raise NotImplementedError(f"{where}: got {x.ndim}-d input of shape {x.shape}, but {mode} mode needs "
                                  f"{NEEDED_RANK[mode]}-d input")
    if flag(antialias, "antialias", where):
        if mode not in ("bilinear", "bicubic"):
            raise ValueError(f"{where}: antialias=True is only supported for bilinear and bicubic modes, got "
                             f"mode={mode!r}")
        raise NotImplementedError(f"{where}: antialias=True (Pillow's anti-aliased downsampling) is not supported")
    if recompute_scale_factor is not None:
        recompute_scale_factor = flag(recompute_scale_factor, "recompute_scale_factor", where)
    if mode not in ("nearest", "nearest-exact") and x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input for mode={mode!r}, got {x.dtype}")
    if min(x.shape[2:]) < 1:
        raise ValueError(f"{where}: expected input with at least one position along each spatial axis, got shape "
                         f"{x.shape}")
    sizes, scales = output_sizes(where, x.shape[2:], size, scale_factor, recompute_scale_factor)
    if mode == "area":          # (by the output size alone, as PyTorch's, which recomputes the factor for it)
        return adaptive_avg_pooled(where, x.ndim - 2, x, sizes)
    precision = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else np.dtype(np.float32)
    y = x
    for axis, (length, count, scale) in enumerate(zip(x.shape[2:], sizes, scales), start=2):
        if mode in ("linear", "bilinear", "trilinear"):
            if count == length:
                continue            # (PyTorch's linear kernels copy the input when the sizes agree)
            positions, weights = linear_reads(length, count, scale, align_corners, precision)
        elif mode == "bicubic":
            positions, weights = cubic_reads(length, count, scale, align_corners, precision)
        else:
            positions, weights = nearest_reads(length, count, scale, mode == "nearest-exact", precision), None
        y = resampled(y, axis, positions, weights)
    return y


def output_sizes(where: str, spatial: tuple[int, ...], size: Any, scale_factor: Any,
                 recompute: bool | None) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    """(the output size, the scale factor the kernels use or None) along each spatial axis, from `size` or
    `scale_factor` (exactly one given), as PyTorch's: floor(S * scale_factor), the factor kept unless
    `recompute`."""
    dims = len(spatial)
    if size is not None and scale_factor is not None:
        raise ValueError(f"{where}: only one of size or scale_factor should be defined, got size={size!r} and "
                         f"scale_factor={scale_factor!r}")
    if size is None and scale_factor is None:
        raise ValueError(f"{where}: either size or scale_factor should be defined, got neither")
    given = size if size is not None else scale_factor
    name = "size" if size is not None else "scale_factor"
    values = tuple(given) if isinstance(given, (tuple, list)) else (given,) * dims
    if len(values) != dims:
        raise ValueError(f"{where}: expected {name} of {dims} entries, one per spatial axis of the input "
                         f"{spatial}, got {given!r}")
    if size is not None:
        if recompute:
            raise ValueError(f"{where}: recompute_scale_factor is not meaningful with an explicit size, got "
                             f"size={size!r}")
        if not all(is_int(n) for n in values):
            raise TypeError(f"{where}: expected size an int or a tuple of {dims} ints, got {size!r}")
        if min(values) < 1:
            raise ValueError(f"{where}: expected output sizes greater than 0, got size={size!r}")
        return tuple(int(n) for n in values), (None,) * dims
    if not all(is_finite_number(f) and f > 0 for f in values):
        raise ValueError(f"{where}: expected scale_factor a positive number or a tuple of {dims}, got "
                         f"{scale_factor!r}")
    sizes = tuple(math.floor(length * float(f)) for length, f in zip(spatial, values))
    if min(sizes) < 1:
        raise ValueError(f"{where}: scale_factor={scale_factor!r} gives output size {sizes} for input size "
                         f"{spatial}: expected output sizes greater than 0")
    return sizes, (None,) * dims if recompute else tuple(float(f) for f in values)


def area_scale(length: int, count: int, scale: float | None, align_corners: bool, precision: np.dtype) -> Any:
    """PyTorch's area_pixel_compute_scale: (S - 1) / (n - 1) with align_corners (0 for one output
    position), else 1 / scale_factor if given or S / n (PyTorch before 2.0 gave 0 for one position here too)."""
    if align_corners:
        return precision.type(length - 1) / precision.type(count - 1) if count > 1 else precision.type(0)
    return precision.type(1.0 / scale) if scale else precision.type(length) / precision.type(count)


def source_positions(length: int, count: int, scale: float | None, align_corners: bool,
                     precision: np.dtype) -> np.ndarray:
    """PyTorch's area_pixel_compute_source_index for output positions 0..n-1: s i with align_corners, else
    s (i + 1/2) - 1/2 (the centres of the pixels as areas)."""
    s, i = area_scale(length, count, scale, align_corners, precision), np.arange(count, dtype=precision)
    return s * i if align_corners else s * (i + precision.type(0.5)) - precision.type(0.5)


def nearest_reads(length: int, count: int, scale: float | None, exact: bool, precision: np.dtype) -> np.ndarray:
    """The input position each output position copies: floor(s i) ("nearest") or floor(s (i + 1/2))
    ("nearest-exact"), at most S - 1."""
    s, i = area_scale(length, count, scale, False, precision), np.arange(count, dtype=precision)
    return np.minimum(np.floor(s * (i + precision.type(0.5)) if exact else s * i), length - 1).astype(np.int64)


def linear_reads(length: int, count: int, scale: float | None, align_corners: bool,
                 precision: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The two positions (n, 2) each output position reads and their weights (1 - w, w), as PyTorch's
    compute_source_index_and_lambda: the source position at least 0, the weight clamped to [0, 1]."""
    real = np.maximum(source_positions(length, count, scale, align_corners, precision), 0)
    first = np.minimum(np.floor(real), length - 1)
    weight = np.clip(real - first, 0, 1)
    first = first.astype(np.int64)
    return np.stack([first, first + (first < length - 1)], axis=1), np.stack([1 - weight, weight], axis=1)


def cubic_reads(length: int, count: int, scale: float | None, align_corners: bool,
                precision: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The four positions (n, 4) each output position reads, floor(r) - 1 .. floor(r) + 2 clamped into the
    input, and their weights, Keys' cubic convolution at the distances t + 1, t, 1 - t, 2 - t (A = -0.75),
    as PyTorch's get_cubic_upsample_coefficients."""
    real = source_positions(length, count, scale, align_corners, precision)
    first = np.minimum(np.floor(real), length - 1)
    t = np.clip(real - first, 0, 1)
    positions = np.clip(first.astype(np.int64)[:, None] + np.arange(-1, 3), 0, length - 1)
    return positions, np.stack([far_cubic(t + 1), near_cubic(t), near_cubic(1 - t), far_cubic(2 - t)], axis=1)


def near_cubic(d: np.ndarray) -> np.ndarray:
    """Keys' kernel for distances d <= 1: (A + 2) d^3 - (A + 3) d^2 + 1."""
    return ((CUBIC_A + 2) * d - (CUBIC_A + 3)) * d * d + 1


def far_cubic(d: np.ndarray) -> np.ndarray:
    """Keys' kernel for distances 1 < d < 2: A d^3 - 5A d^2 + 8A d - 4A."""
    return ((CUBIC_A * d - 5 * CUBIC_A) * d + 8 * CUBIC_A) * d - 4 * CUBIC_A


def resampled(x: Tensor, axis: int, positions: np.ndarray, weights: np.ndarray | None) -> Tensor:
    """x resampled along `axis`: x at `positions` (n,) along it, or sum_t weights[:, t] x[positions[:, t]]
    for positions and weights (n, taps): one getitem, a product by constants and a sum."""
    trailing = x.ndim - 1 - axis
    picked = x[(slice(None),) * axis + (positions,)]
    if weights is None:
        return picked
    weights = weights.astype(x.dtype).reshape(weights.shape + (1,) * trailing)
    return (picked * weights).sum(axis=axis + 1)
