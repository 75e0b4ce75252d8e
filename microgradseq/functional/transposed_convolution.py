"""`conv_transpose1d`, `conv_transpose2d` and `conv_transpose3d`: PyTorch's transposed convolutions ("fractionally
strided", or "deconvolutions"), the upsampling layers of autoencoders, U-Nets and GAN generators: the gradient
of `conv1d` / `conv2d` / `conv3d` with respect to their input, computed forward.

For input x (N, C_in, *S) (S = (L,), (H, W) or (D, H, W)), weight w (C_in, C_out / groups, *K) and bias b (C_out,),
each input channel c of group g (the C_in / groups channels from g C_in / groups on) scatters into the
C_out / groups output channels from g C_out / groups on: at each input position t, for each kernel
position k,

    y[n, g C_out / groups + o, s t + d k - p] += x[n, c, t] w[c, o, k]

(s t + d k - p taken axis by axis; what lands outside the output is dropped), then b[o] is added. Along
axis i the output has

    L_out = (L_in - 1) s_i - 2 p_i + d_i (K_i - 1) + output_padding_i + 1

positions: output_padding only makes the output longer at the end (the positions a strided `conv1d` of
that length would ignore), and must be below the stride or the dilation, as PyTorch's.

Built as the convolution it is the gradient of, no rule of its own: the input is spread out by the stride
into zeros (x[t] at position d (K - 1) - p + s t of a zero tensor of L_out + d (K - 1) positions, one
`index_put`; a negative d (K - 1) - p cuts positions off instead), then `conv1d` / `2d` / `3d` (stride 1, no
padding, dilation d) with the kernel flipped along its spatial axes and its two channel axes swapped
within each group, (C_out, C_in / groups, *K). The gradient and the tangent come from those ops' rules:
the input's gradient is the strided `conv` of g with w (the slice of the spread zeros that held x), the
weight's is the correlation of g with the spread input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import is_int
from ..tensor import Tensor, as_tensor, owned
from .convolution import KERNEL_AXES, as_given, batched, convolved, ints_of, shown


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch.nn.functional.conv_transpose1d: input (N, C_in, L) or unbatched (C_in, L), weight
    (C_in, C_out / groups, K), bias (C_out,) or None; stride, padding, output_padding and dilation ints or
    1-tuples. Gives (N, C_out, L_out) (or (C_out, L_out)), L_out = (L - 1) s - 2p + d (K - 1) +
    output_padding + 1. Every argument is checked before anything is computed (ValueError or TypeError
    naming conv_transpose1d)."""
    return transposed("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch.nn.functional.conv_transpose2d: input (N, C_in, H, W) or unbatched (C_in, H, W), weight
    (C_in, C_out / groups, kH, kW), bias (C_out,) or None; stride, padding, output_padding and dilation ints
    (for both axes) or pairs (height, width). Gives (N, C_out, H_out, W_out), H_out = (H - 1) s_0 - 2 p_0 +
    d_0 (kH - 1) + output_padding_0 + 1 and W_out likewise. Every argument is checked before anything is
    computed (ValueError or TypeError naming conv_transpose2d)."""
    return transposed("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch.nn.functional.conv_transpose3d: input (N, C_in, D, H, W) or unbatched (C_in, D, H, W), weight
    (C_in, C_out / groups, kD, kH, kW), bias (C_out,) or None; stride, padding, output_padding and dilation
    ints (for every axis) or triples (depth, height, width). Gives (N, C_out, D_out, H_out, W_out), D_out =
    (D - 1) s_0 - 2 p_0 + d_0 (kD - 1) + output_padding_0 + 1 and H_out, W_out likewise. Every argument is
    checked before anything is computed (ValueError or TypeError naming conv_transpose3d)."""
    return transposed("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation)


def transposed(where: str, dims: int, input: Any, weight: Any, bias: Any, stride: Any, padding: Any,
               output_padding: Any, groups: Any, dilation: Any) -> Tensor:
    """`conv_transpose1d`, `conv_transpose2d` or `conv_transpose3d` (dims 1, 2, 3), its errors naming `where`
    (the modules' name them ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)."""
    stride, dilation = ints_of(where, "stride", stride, 1, dims), ints_of(where, "dilation", dilation, 1, dims)
    padding = ints_of(where, "padding", padding, 0, dims)
    output_padding = ints_of(where, "output_padding", output_padding, 0, dims)
    if any(extra >= s and extra >= d for extra, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{where}: output_padding must be smaller than either stride or dilation, got "
                         f"output_padding={shown(output_padding)}, stride={shown(stride)}, "
                         f"dilation={shown(dilation)}")
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{where}: expected groups a positive integer, got {groups!r}")
    weight = as_tensor(weight)
    x = as_tensor(input, weight)
    bias = None if bias is None else as_tensor(bias, weight)
    if weight.ndim != dims + 2:
        raise ValueError(f"{where}: expected weight of {dims + 2} axes (in_channels, out_channels / groups, "
                         f"{KERNEL_AXES[dims]}), got shape {weight.shape}")
    if x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{where}: expected input of {dims + 1} axes (unbatched) or {dims + 2} (batched), "
                         f"got shape {x.shape}")
    in_channels, group_out, *kernel = weight.shape
    if 0 in weight.shape[2:] or 0 in x.shape[-dims:]:
        raise ValueError(f"{where}: expected a kernel and an input of at least one position along each spatial "
                         f"axis, got weight of shape {weight.shape} and input of shape {x.shape}")
    channels = x.shape[-dims - 1]
    if in_channels % groups:
        raise ValueError(f"{where}: groups={groups} must divide in_channels, weight.shape[0] = {in_channels} "
                         f"(weight of shape {weight.shape})")
    if channels != in_channels:
        raise ValueError(f"{where}: weight of shape {weight.shape} expects input with {in_channels} channels "
                         f"(weight.shape[0]), got input of shape {x.shape} with {channels} channels")
    out_channels = group_out * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{where}: expected bias of shape ({out_channels},) (weight.shape[1] * groups), "
                         f"got {bias.shape}")
    if weight.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point weight, got {weight.dtype}")
    for name, t in (("input", x), ("bias", bias)):
        if t is not None and t.dtype != weight.dtype:
            raise TypeError(f"{where}: expected {name} of one floating-point dtype with the weight ({weight.dtype}), "
                            f"got {t.dtype}")
    sizes = [(n - 1) * s - 2 * p + d * (k - 1) + extra + 1
             for n, s, p, d, k, extra in zip(x.shape[-dims:], stride, padding, dilation, kernel, output_padding)]
    if any(size < 1 for size in sizes):
        raise ValueError(f"{where}: the output would have {shown(tuple(sizes))} positions, (input - 1) * stride "
                         f"- 2 * padding + dilation * (kernel - 1) + output_padding + 1 (input of shape {x.shape}, "
                         f"weight of shape {weight.shape}, padding={shown(padding)}): expected at least one")
    spread = spread_input(batched(x, dims), stride, padding, dilation, kernel, sizes)
    return as_given(x, convolved(where, dims, spread, flipped_kernels(weight, groups), bias, 1, 0, dilation, groups),
                    dims)


def spread_input(batch: Tensor, stride: tuple, padding: tuple, dilation: tuple, kernel: list,
                 sizes: list) -> Tensor:
    """The batch (N, C_in, *S) spread into zeros of L_out + d (K - 1) positions along each spatial axis, x[t]
    at position d (K - 1) - p + s t (one `index_put`; what falls outside is cut off)."""
    kept, placed, spans = [slice(None)] * 2, [slice(None)] * 2, list(batch.shape[:2])
    for n, s, p, d, k, size in zip(batch.shape[2:], stride, padding, dilation, kernel, sizes):
        inputs, positions = spread_along(n, s, d * (k - 1) - p, size + d * (k - 1))
        kept.append(inputs)
        placed.append(positions)
        spans.append(size + d * (k - 1))
    return ops.index_put(owned(np.zeros(spans, dtype=batch.dtype)), tuple(placed), batch[tuple(kept)])


def flipped_kernels(weight: Tensor, groups: int) -> Tensor:
    """The transposed convolution's weight (C_in, C_out / groups, *K) as the kernel of the convolution it
    runs, (C_out, C_in / groups, *K): the two channel axes swapped within each group, the spatial axes
    flipped."""
    in_channels, group_out, *kernel = weight.shape
    kernels = weight.reshape((groups, in_channels // groups, group_out) + tuple(kernel))
    kernels = ops.transpose(kernels, 1, 2).reshape((group_out * groups, in_channels // groups) + tuple(kernel))
    return kernels[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)]


def spread_along(length: int, stride: int, first: int, span: int) -> tuple[slice, slice]:
    """(kept, placed) along one axis: the input positions t whose place first + stride t falls inside
    [0, span), and those places, each a slice."""
    start = max(0, -(first // stride))                      # (the least t with first + stride t >= 0)
    count = max(0, min(length - 1, (span - 1 - first) // stride) - start + 1)
    place = first + stride * start
    return slice(start, start + count), slice(place, place + stride * (count - 1) + 1 if count else place, stride)
