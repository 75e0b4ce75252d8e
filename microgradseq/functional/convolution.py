"""`conv1d`: PyTorch's 1-d convolution (cross-correlation, as every deep learning library computes it), the
one sequence models use (temporal convolutional nets, character CNNs), as a composite of primitive ops.

For input x (N, C_in, L), weight w (C_out, C_in / groups, K) and bias b (C_out,), each output channel o
of group g (the C_out / groups channels from g C_out / groups on read the C_in / groups input channels
from g C_in / groups on) at each output position t is

    y[n, o, t] = b[o] + sum_c sum_k w[o, c, k] x_pad[n, g C_in / groups + c, s t + d k]

with x_pad the input with p zeros on each side, s the stride and d the dilation; the output length is
floor((L + 2p - d (K - 1) - 1) / s) + 1. padding="same" pads d (K - 1) in total, the extra zero on the
right when that is odd, as PyTorch's (stride 1 only); "valid" pads nothing.

Built of ops that have rules (no rule of its own): `pad`, then for each k the strided slice
x_pad[:, :, d k :: s] of the output's length, the K slices stacked into windows (N, C_in, K, L_out),
then one `matmul` per group of weight (groups, C_out / groups, C_in / groups * K) with the windows seen
as (N, groups, C_in / groups * K, L_out), and the bias added. The gradient (reverse mode) and the
tangent (forward mode) come from those ops' rules: the weight's gradient is sum_n,t g[n, o, t] times the
windows, the input's is g pushed back through each slice into the places it read, summed. nn.Conv1d's
other padding modes ("reflect", "replicate", "circular") pad by one gather instead (`padded_by`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import is_int
from ..tensor import Tensor, as_tensor
from .layer_functions import pad

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")       # nn.Conv1d's padding_mode


def one_int(where: str, name: str, value: Any, least: int) -> int:
    """An int, or a tuple or list of one int (PyTorch's 1-d spelling), that is at least `least` (0 or 1);
    else a TypeError or ValueError naming `where` and `name`."""
    single = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not is_int(single):
        raise TypeError(f"{where}: expected {name} to be a single integer or a tuple of 1 integer, got {value!r}")
    if single < least:
        wanted = "positive (>= 1)" if least else "non-negative (>= 0)"
        raise ValueError(f"{where}: expected {name} {wanted}, got {value!r}")
    return int(single)


def batched(x: Tensor) -> Tensor:
    """An unbatched (C, L) input as a batch of one, (1, C, L); a batched (N, C, L) one as it is."""
    return x.reshape((1,) + x.shape) if x.ndim == 2 else x


def as_given(x: Tensor, y: Tensor) -> Tensor:
    """y (N, ...) computed from `batched(x)`, without its batch axis again when x had none."""
    return y.reshape(y.shape[1:]) if x.ndim == 2 else y


def padding_of(where: str, padding: Any, stride: int) -> int | str:
    """`padding` checked: an int >= 0 (or a 1-tuple of one), "valid" or "same" (stride 1 only)."""
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be an integer, 'valid' or 'same', got {padding!r}")
        if padding == "same" and stride != 1:
            raise ValueError(f"{where}: padding='same' is not supported for strided convolutions (stride 1 only), "
                             f"got stride={stride}")
        return padding
    return one_int(where, "padding", padding, 0)


def padding_amounts(padding: int | str, dilation: int, kernel: int) -> tuple[int, int]:
    """(left, right) zeros for a checked `padding`: p and p; none for "valid"; for "same" d (K - 1) in total,
    the odd one on the right, as PyTorch's."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = dilation * (kernel - 1)
        return total // 2, total - total // 2
    return padding, padding


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """torch.nn.functional.conv1d: input (N, C_in, L) or unbatched (C_in, L), weight (C_out, C_in / groups, K),
    bias (C_out,) or None; stride, padding and dilation ints or tuples of one int, padding also "valid" or
    "same". Gives (N, C_out, L_out) (or (C_out, L_out)), L_out = floor((L + 2p - d (K - 1) - 1) / s) + 1.
    Every argument is checked before anything is computed (ValueError or TypeError naming conv1d)."""
    return convolved("conv1d", input, weight, bias, stride, padding, dilation, groups)


def convolved(where: str, input: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any,
              groups: Any, padding_mode: str = "zeros") -> Tensor:
    """`conv1d`, its errors naming `where` (nn.Conv1d's name them Conv1d); the padding by `padding_mode`,
    one of PADDING_MODES (nn.Conv1d's, checked there)."""
    stride, dilation = one_int(where, "stride", stride, 1), one_int(where, "dilation", dilation, 1)
    padding = padding_of(where, padding, stride)
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{where}: expected groups a positive integer, got {groups!r}")
    weight = as_tensor(weight)
    x = as_tensor(input, weight)
    bias = None if bias is None else as_tensor(bias, weight)
    if weight.ndim != 3:
        raise ValueError(f"{where}: expected weight of 3 axes (out_channels, in_channels / groups, kernel_size), "
                         f"got shape {weight.shape}")
    if x.ndim not in (2, 3):
        raise ValueError(f"{where}: expected input of 2 axes (C_in, L, unbatched) or 3 (N, C_in, L), got shape "
                         f"{x.shape}")
    out_channels, group_channels, kernel = weight.shape
    if kernel < 1:
        raise ValueError(f"{where}: expected weight with a kernel of at least one position (weight.shape[2] >= 1), "
                         f"got shape {weight.shape}")
    if x.shape[-1] < 1:
        raise ValueError(f"{where}: expected input with at least one position (input.shape[-1] >= 1), got shape "
                         f"{x.shape}")
    if out_channels % groups:
        raise ValueError(f"{where}: groups={groups} must divide out_channels, weight.shape[0] = {out_channels} "
                         f"(weight of shape {weight.shape})")
    if x.shape[-2] != group_channels * groups:
        raise ValueError(f"{where}: weight of shape {weight.shape} with groups={groups} expects input with "
                         f"{group_channels * groups} channels (weight.shape[1] * groups), got input of shape {x.shape} "
                         f"with {x.shape[-2]} channels")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{where}: expected bias of shape ({out_channels},) (out_channels), got {bias.shape}")
    if weight.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point weight, got {weight.dtype}")
    for name, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:
            raise TypeError(f"{where}: expected {name} of one floating-point dtype with the weight ({weight.dtype}), "
                            f"got {t.dtype}")
    left, right = padding_amounts(padding, dilation, kernel)
    padded_length = x.shape[-1] + left + right
    length = (padded_length - dilation * (kernel - 1) - 1) // stride + 1
    if length < 1:
        raise ValueError(f"{where}: the padded input length {padded_length} (input of shape {x.shape}, padding "
                         f"{left} + {right}) is shorter than the dilated kernel, {dilation} * ({kernel} - 1) + 1 = "
                         f"{dilation * (kernel - 1) + 1}: no output position")
    batch = batched(x)
    if padding_mode != "zeros":
        batch = padded_by(where, batch, left, right, padding_mode)
    elif left or right:
        batch = pad(batch, (left, right))
    span = stride * (length - 1) + 1                # the positions one shifted window reads
    columns = [batch[:, :, dilation * k: dilation * k + span: stride] for k in range(kernel)]
    windows = ops.stack(columns, axis=2)            # (N, C_in, K, L_out): windows[n, c, k, t] = x_pad[n, c, s t + d k]
    n = batch.shape[0]
    windows = windows.reshape(n, groups, group_channels * kernel, length)
    kernels = weight.reshape(groups, out_channels // groups, group_channels * kernel)
    y = ops.matmul(kernels, windows).reshape(n, out_channels, length)
    if bias is not None:
        y = y + bias.reshape(out_channels, 1)
    return as_given(x, y)


def padded_by(where: str, x: Tensor, left: int, right: int, mode: str) -> Tensor:
    """x (..., L) with `left` and `right` entries added along its last axis by `mode`, as PyTorch's F.pad's
    modes: x[..., index] for the positions j = -left .. L - 1 + right mapped into 0 .. L - 1 ("reflect":
    mirrored about both ends, each amount < L; "replicate": clipped; "circular": j mod L, each amount <= L).
    One gather with an integer array, whose rule adds up the gradient where an entry is read twice."""
    length = x.shape[-1]
    if mode == "reflect" and max(left, right) >= length:
        raise ValueError(f"{where}: padding_mode='reflect' needs the padding ({left}, {right}) smaller than the "
                         f"input length, got input of shape {x.shape}")
    if mode == "circular" and max(left, right) > length:
        raise ValueError(f"{where}: padding_mode='circular' needs the padding ({left}, {right}) at most the input "
                         f"length (it wraps around once), got input of shape {x.shape}")
    if not left and not right:
        return x
    positions = np.arange(-left, length + right)
    if mode == "reflect":
        index = (length - 1) - np.abs((length - 1) - np.abs(positions))
    elif mode == "replicate":
        index = np.clip(positions, 0, length - 1)
    else:
        index = positions % length
    return x[..., index]
