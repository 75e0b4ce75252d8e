"""`conv1d`, `conv2d` and `conv3d`: PyTorch's 1-d, 2-d and 3-d convolutions (cross-correlation, as every deep
learning library computes it), the ones sequence models use (temporal convolutional nets, character CNNs),
the front ends of CRNN text recognisers and speech models over images and spectrograms, and video and
volume models, as one composite of primitive ops over `dims` = 1, 2 or 3 spatial axes.

For input x (N, C_in, *S) (S = (L,), (H, W) or (D, H, W)), weight w (C_out, C_in / groups, *K) and bias b (C_out,),
each output channel o of group g (the C_out / groups channels from g C_out / groups on read the
C_in / groups input channels from g C_in / groups on) at each output position t = (t_1, ..., t_dims) is

    y[n, o, t] = b[o] + sum_c sum_k w[o, c, k] x_pad[n, g C_in / groups + c, s t + d k]

with k running over the kernel's positions, s t + d k taken axis by axis (s_i t_i + d_i k_i), x_pad the
input with p_i zeros on each side of axis i, s the stride and d the dilation; along axis i the output has
floor((S_i + 2 p_i - d_i (K_i - 1) - 1) / s_i) + 1 positions. padding="same" pads d_i (K_i - 1) in total,
the extra zero on the right (bottom) when that is odd, as PyTorch's (stride 1 only); "valid" pads nothing.

Built of ops that have rules (no rule of its own): `pad`, then for each kernel position k the strided
slice x_pad[:, :, d k :: s] (one slice per axis) of the output's size, the prod(K) slices stacked into
windows (N, C_in, prod(K), *S_out), then one `matmul` per group of weight (groups, C_out / groups,
C_in / groups * prod(K)) with the windows seen as (N, groups, C_in / groups * prod(K), prod(S_out)), and
the bias added. The gradient (reverse mode) and the tangent (forward mode) come from those ops' rules: the
weight's gradient is sum_n,t g[n, o, t] times the windows, the input's is g pushed back through each slice
into the places it read, summed. The convolution layers' other padding modes ("reflect", "replicate",
"circular") pad by one gather per axis instead (`padded_by`, in padding.py).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from .. import ops
from ..checks import is_int
from ..tensor import Tensor, as_tensor
from .layer_functions import pad
from .padding import AXIS_NAMES, padded_by

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")       # the nn.Conv*d layers' padding_mode
LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}            # the spatial axes, as the messages name them
KERNEL_AXES = {1: "kernel_size", 2: "kH, kW", 3: "kD, kH, kW"}


def ints_of(where: str, name: str, value: Any, least: int, dims: int) -> tuple[int, ...]:
    """`dims` ints from an int, or a tuple or list of one int or of `dims` (PyTorch's spellings: one int
    serves every spatial axis), each at least `least` (0 or 1); else a TypeError or ValueError naming
    `where` and `name`."""
    given = tuple(value) if isinstance(value, (tuple, list)) and len(value) in (1, dims) else (value,)
    if not all(is_int(v) for v in given):
        raise TypeError(f"{where}: expected {name} to be a single integer or a tuple of {dims} "
                        f"integer{'s' if dims > 1 else ''}, got {value!r}")
    if any(v < least for v in given):
        wanted = "positive (>= 1)" if least else "non-negative (>= 0)"
        raise ValueError(f"{where}: expected {name} {wanted}, got {value!r}")
    return tuple(int(v) for v in given) * (dims if len(given) == 1 else 1)


def shown(values: tuple) -> Any:
    """A setting as a message prints it: the int itself for one spatial axis, else the tuple."""
    return values[0] if len(values) == 1 else values


def batched(x: Tensor, dims: int) -> Tensor:
    """An unbatched (C, *S) input (`dims` spatial axes) as a batch of one, (1, C, *S); a batched one as it is."""
    return x.reshape((1,) + x.shape) if x.ndim == dims + 1 else x


def as_given(x: Tensor, y: Tensor, dims: int) -> Tensor:
    """y (N, ...) computed from `batched(x, dims)`, without its batch axis again when x had none."""
    return y.reshape(y.shape[1:]) if x.ndim == dims + 1 else y


def padding_of(where: str, padding: Any, stride: tuple[int, ...], dims: int) -> tuple[int, ...] | str:
    """`padding` checked: ints >= 0 (an int or a tuple, as `ints_of`), "valid" or "same" (stride 1 only)."""
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be an integer, 'valid' or 'same', got {padding!r}")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"{where}: padding='same' is not supported for strided convolutions (stride 1 only), "
                             f"got stride={shown(stride)}")
        return padding
    return ints_of(where, "padding", padding, 0, dims)


def padding_amounts(padding: tuple[int, ...] | str, dilation: tuple[int, ...],
                    kernel: tuple[int, ...]) -> list[tuple[int, int]]:
    """(left, right) zeros along each spatial axis for a checked `padding`: p and p; none for "valid"; for
    "same" d (K - 1) in total, the odd one on the right, as PyTorch's."""
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in zip(dilation, kernel)]
    return [(p, p) for p in padding]


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """torch.nn.functional.conv1d: input (N, C_in, L) or unbatched (C_in, L), weight (C_out, C_in / groups, K),
    bias (C_out,) or None; stride, padding and dilation ints or tuples of one int, padding also "valid" or
    "same". Gives (N, C_out, L_out) (or (C_out, L_out)), L_out = floor((L + 2p - d (K - 1) - 1) / s) + 1.
    Every argument is checked before anything is computed (ValueError or TypeError naming conv1d)."""
    return convolved("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """torch.nn.functional.conv2d: input (N, C_in, H, W) or unbatched (C_in, H, W), weight
    (C_out, C_in / groups, kH, kW), bias (C_out,) or None; stride, padding and dilation ints (for both axes)
    or pairs (height, width), padding also "valid" or "same". Gives (N, C_out, H_out, W_out), H_out =
    floor((H + 2 p_0 - d_0 (kH - 1) - 1) / s_0) + 1 and W_out likewise. Every argument is checked before
    anything is computed (ValueError or TypeError naming conv2d)."""
    return convolved("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """torch.nn.functional.conv3d: input (N, C_in, D, H, W) or unbatched (C_in, D, H, W), weight
    (C_out, C_in / groups, kD, kH, kW), bias (C_out,) or None; stride, padding and dilation ints (for every
    axis) or triples (depth, height, width), padding also "valid" or "same". Gives (N, C_out, D_out, H_out,
    W_out), D_out = floor((D + 2 p_0 - d_0 (kD - 1) - 1) / s_0) + 1 and H_out, W_out likewise. Every argument
    is checked before anything is computed (ValueError or TypeError naming conv3d)."""
    return convolved("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def convolved(where: str, dims: int, input: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any,
              groups: Any, padding_mode: str = "zeros") -> Tensor:
    """`conv1d`, `conv2d` or `conv3d` (dims 1, 2, 3), its errors naming `where` (nn.Conv1d's name them
    Conv1d); the padding by `padding_mode`, one of PADDING_MODES (the modules', checked there)."""
    stride, dilation = ints_of(where, "stride", stride, 1, dims), ints_of(where, "dilation", dilation, 1, dims)
    padding = padding_of(where, padding, stride, dims)
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{where}: expected groups a positive integer, got {groups!r}")
    weight = as_tensor(weight)
    x = as_tensor(input, weight)
    bias = None if bias is None else as_tensor(bias, weight)
    letters = ", ".join(LETTERS[dims])
    if weight.ndim != dims + 2:
        raise ValueError(f"{where}: expected weight of {dims + 2} axes (out_channels, in_channels / groups, "
                         f"{KERNEL_AXES[dims]}), got shape {weight.shape}")
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{where}: expected input of {dims + 1} axes (C_in, {letters}, unbatched) or {dims + 2} "
                         f"(N, C_in, {letters}), got shape {x.shape}")
    out_channels, group_channels, *kernel = weight.shape
    for axis, size in enumerate(kernel):
        if size < 1:
            raise ValueError(f"{where}: expected weight with a kernel of at least one position (weight.shape["
                             f"{2 + axis}] >= 1), got shape {weight.shape}")
    spatial = x.shape[-dims:]
    for axis, size in enumerate(spatial):
        if size < 1:
            raise ValueError(f"{where}: expected input with at least one position (input.shape[{axis - dims}] >= 1), "
                             f"got shape {x.shape}")
    channels = x.shape[-dims - 1]
    if out_channels % groups:
        raise ValueError(f"{where}: groups={groups} must divide out_channels, weight.shape[0] = {out_channels} "
                         f"(weight of shape {weight.shape})")
    if channels != group_channels * groups:
        raise ValueError(f"{where}: weight of shape {weight.shape} with groups={groups} expects input with "
                         f"{group_channels * groups} channels (weight.shape[1] * groups), got input of shape {x.shape} "
                         f"with {channels} channels")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{where}: expected bias of shape ({out_channels},) (out_channels), got {bias.shape}")
    if weight.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point weight, got {weight.dtype}")
    for name, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:
            raise TypeError(f"{where}: expected {name} of one floating-point dtype with the weight ({weight.dtype}), "
                            f"got {t.dtype}")
    amounts = padding_amounts(padding, dilation, tuple(kernel))
    sizes = []                                      # the output's positions along each spatial axis
    for name, size, (left, right), d, k, s in zip(AXIS_NAMES[dims], spatial, amounts, dilation, kernel, stride):
        padded_size = size + left + right
        if padded_size < d * (k - 1) + 1:
            raise ValueError(f"{where}: the padded input {name} {padded_size} (input of shape {x.shape}, padding "
                             f"{left} + {right}) is shorter than the dilated kernel, {d} * ({k} - 1) + 1 = "
                             f"{d * (k - 1) + 1}: no output position")
        sizes.append((padded_size - d * (k - 1) - 1) // s + 1)
    batch = batched(x, dims)
    if padding_mode != "zeros":
        batch = padded_by(where, batch, amounts, padding_mode)
    elif any(left or right for left, right in amounts):
        batch = pad(batch, tuple(n for pair in reversed(amounts) for n in pair))     # (F.pad: the last axis first)
    # along each axis, the slice kernel position k reads: positions d k, d k + s, ..., one per output position
    reads = [[slice(d * k, d * k + s * (count - 1) + 1, s) for k in range(k_size)]
             for d, k_size, s, count in zip(dilation, kernel, stride, sizes)]
    windows = ops.stack([batch[(slice(None), slice(None)) + offsets] for offsets in itertools.product(*reads)],
                        axis=2)     # windows[n, c, k, t] = x_pad[n, c, s t + d k], k over the prod(K) kernel
                                    # positions row-major: (N, C_in, prod(K), *S_out)
    n, taps = batch.shape[0], math.prod(kernel)     # (taps: the kernel's positions, prod(K))
    windows = windows.reshape(n, groups, group_channels * taps, math.prod(sizes))
    kernels = weight.reshape(groups, out_channels // groups, group_channels * taps)
    y = ops.matmul(kernels, windows).reshape((n, out_channels) + tuple(sizes))
    if bias is not None:
        y = y + bias.reshape((out_channels,) + (1,) * dims)
    return as_given(x, y, dims)
