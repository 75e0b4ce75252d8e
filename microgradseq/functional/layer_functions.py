"""What the layer modules compute, as functions: `linear` (nn.Linear), `bilinear` (nn.Bilinear), `dropout`
(nn.Dropout), `layer_norm` (nn.LayerNorm), `rms_norm` (nn.RMSNorm), `group_norm` (nn.GroupNorm),
`instance_norm` (nn.InstanceNorm1d, nn.InstanceNorm2d); and two for inputs, `pad` and `one_hot`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import flag, is_int, non_negative_number, positive_int, probability
from ..ops.assign import number_for
from ..random import generator_or_default
from ..tensor import Tensor, as_tensor, owned
from .activations import with_inplace
from .padding import NON_CONSTANT_MODES, padded_by_mode


def linear(input: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b, x the input, as PyTorch's F.linear (W of shape (out, in)); one node."""
    return ops.linear(input, weight, bias)


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o], as PyTorch's F.bilinear: x1 (*, in1) and
    x2 (*, in2) with the same leading axes, W (out, in1, in2), b (out,) or None. Written as x2 against W seen
    as (out * in1, in2) (one `linear`), then times x1 and summed over i: the chain rule gives its gradient,
    d y[o] / d x1[i] = (W x2)[o, i], d y[o] / d x2[j] = (x1 W)[o, j], d y[o] / d W[o, i, j] = x1[i] x2[j]."""
    x1, x2, weight = as_tensor(input1), as_tensor(input2), as_tensor(weight)
    if weight.ndim != 3:
        raise ValueError(f"bilinear: expected weight of 3 axes (out_features, in1_features, in2_features), got "
                         f"shape {weight.shape}")
    if x1.ndim == 0 or x1.ndim != x2.ndim or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: expected input1 (*, in1) and input2 (*, in2) with the same leading axes, got "
                         f"shapes {x1.shape} and {x2.shape}")
    out_features, in1, in2 = weight.shape
    if (x1.shape[-1], x2.shape[-1]) != (in1, in2):
        raise ValueError(f"bilinear: weight of shape {weight.shape} expects input1 (*, {in1}) and input2 (*, {in2}), "
                         f"got shapes {x1.shape} and {x2.shape}")
    if bias is not None and as_tensor(bias).shape != (out_features,):
        raise ValueError(f"bilinear: expected bias of shape ({out_features},) (out_features), got "
                         f"{as_tensor(bias).shape}")
    projected = ops.linear(x2, weight.reshape(out_features * in1, in2)).reshape(x1.shape[:-1] + (out_features, in1))
    y = (projected * x1.reshape(x1.shape[:-1] + (1, in1))).sum(-1)
    return y if bias is None else y + bias


@with_inplace
def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            rng: np.random.Generator | None = None) -> Tensor:
    """x with each element zeroed with probability p and the rest scaled by 1 / (1 - p) (so the mean is
    kept), while `training`; x itself otherwise. The mask comes from `rng` or the library's generator
    (`mg.manual_seed`), and enters as a constant factor: d/dx = mask / (1 - p). `inplace` as the activations'
    (`with_inplace`): a tensor keeps its value (arrays are read-only), a numpy array is written into, as PyTorch's
    `F.dropout(x, inplace=True)` writes into x."""
    p = probability(p, "p", "dropout")
    training = flag(training, "training", "dropout")
    x = as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating-point tensor, got dtype {x.dtype}")
    if not training or p == 0:
        return x
    keep = generator_or_default(rng, "dropout").random(x.shape) >= p
    scale = np.zeros(x.shape, dtype=x.dtype) if p == 1 else keep / np.asarray(1 - p, dtype=x.dtype)
    return (x * owned(scale.astype(x.dtype, copy=False))).named("dropout")


def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, the mean and variance (divided by N, not N - 1)
    taken over the last len(normalized_shape) axes, as PyTorch's F.layer_norm; weight and bias
    (optional) have shape normalized_shape. Written with mean, sub, mul, sqrt and div: the chain rule
    gives its gradient."""
    shape = normalized_shape_of("layer_norm", normalized_shape)
    eps = non_negative_number(eps, "eps", "layer_norm")
    x = as_tensor(input)
    axes = trailing_axes("layer_norm", x, shape, weight=weight, bias=bias)
    if x.dtype == np.float16:       # computed in float32, weight and bias too, and rounded once, as PyTorch's kernel
        wide = [None if p is None else ops.astype(as_tensor(p), np.float32) for p in (weight, bias)]
        return ops.astype(layer_norm(ops.astype(x, np.float32), shape, *wide, eps), np.float16)
    y = standardised(x, axes, eps)[0]
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def rms_norm(input: Any, normalized_shape: Any, weight: Any = None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight, the mean taken over the last len(normalized_shape) axes, as
    PyTorch's F.rms_norm; weight (optional) has shape normalized_shape. As PyTorch's rms_norm_composite
    (aten/src/ATen/native/layer_norm.cpp): half is computed in float32, eps=None is the machine epsilon of
    the dtype it is computed in (numeric_limits<opmath_t>::epsilon()), the weight multiplies before the one
    rounding, and the result has the input's dtype whatever the weight's (type_as(input)). Written with
    mul, mean, add and rsqrt: the chain rule gives its gradient."""
    shape = normalized_shape_of("rms_norm", normalized_shape)
    eps = None if eps is None else non_negative_number(eps, "eps", "rms_norm")
    x = as_tensor(input)
    axes = trailing_axes("rms_norm", x, shape, weight=weight)
    wide = ops.astype(x, np.float32) if x.dtype == np.float16 else x     # (squares overflow half from 256)
    eps = np.finfo(wide.dtype).eps if eps is None else eps
    y = wide * ((wide * wide).mean(axes, keepdims=True) + eps).rsqrt()
    if weight is not None:
        y = y * weight
    return y if y.dtype == x.dtype else ops.astype(y, x.dtype)


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """x (N, C, *) with its C channels split into num_groups groups of C / num_groups, each sample's
    group normalised, (x - mean) / sqrt(var + eps) (var divided by the group's size, its channels
    times the trailing axes), then * weight[c] + bias[c] per channel (optional, each of shape (C,)),
    as PyTorch's F.group_norm. `standardised` over a (N, num_groups, rest) view: the chain rule gives
    its gradient."""
    x = as_tensor(input)
    groups = positive_int(num_groups, "num_groups", "group_norm")
    eps = non_negative_number(eps, "eps", "group_norm")
    if x.dtype.kind != "f":
        raise TypeError(f"group_norm: expected a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[1] % groups:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *) with C divisible by num_groups = "
                         f"{groups}, got {x.shape}")
    channels = x.shape[1]
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and as_tensor(value).shape != (channels,):
            raise ValueError(f"group_norm: {name} must have shape (C,) = ({channels},), got {as_tensor(value).shape}")
    # PyTorch's F.group_norm refuses what batch norm would on this view (_verify_batch_size): N C / G
    # times the trailing sizes must not be 1
    view = [x.shape[0] * channels // groups, groups, *x.shape[2:]]
    if view[0] * int(np.prod(view[2:])) == 1:
        raise ValueError(f"group_norm: Expected more than 1 value per channel when training, got input size {view}")
    if x.dtype == np.float16:       # computed in float32, scale and shift too, and rounded once, as PyTorch's kernel
        wide = [None if p is None else ops.astype(as_tensor(p), np.float32) for p in (weight, bias)]
        return ops.astype(group_norm(ops.astype(x, np.float32), groups, *wide, eps), np.float16)
    if x.numel() == 0:
        y = x * 1                               # (nothing to normalise: an empty output, as PyTorch's)
    else:
        grouped = x.reshape(x.shape[0], groups, x.numel() // (x.shape[0] * groups))
        y = standardised(grouped, (2,), eps)[0].reshape(x.shape)
    per_channel = (channels,) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * as_tensor(weight).reshape(per_channel)
    return y if bias is None else y + as_tensor(bias).reshape(per_channel)


def instance_norm(input: Any, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Any = None, bias: Any = None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """x (N, C, *) with each sample's channel normalised over its trailing axes, (x - mean) / sqrt(var + eps)
    (var divided by their size), then * weight[c] + bias[c] (optional, each (C,)), as PyTorch's
    F.instance_norm: `standardised` over the trailing axes, so the chain rule gives its gradient. Given
    running_mean and running_var ((C,) tensors, either may be None), each moves toward the batch's average
    over N of the samples' statistics (the variance unbiased) by `momentum`, in place, as PyTorch's
    instance_norm (aten/src/ATen/native/Normalization.cpp: batch norm of the (1, N C, *) view, its running
    statistics averaged back over N). `use_input_stats=False` normalises by the running statistics instead,
    as constants (nn.InstanceNorm1d in eval mode with track_running_stats)."""
    x = as_tensor(input)
    eps = non_negative_number(eps, "eps", "instance_norm")
    momentum = non_negative_number(momentum, "momentum", "instance_norm")
    if x.dtype.kind != "f":
        raise TypeError(f"instance_norm: expected a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, *), got {x.shape}")
    channels, per_channel = x.shape[1], (x.shape[1],) + (1,) * (x.ndim - 2)
    for name, value in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                        ("running_var", running_var)):
        if value is not None and as_tensor(value).shape != (channels,):
            raise ValueError(f"instance_norm: {name} must have shape (C,) = ({channels},), got "
                             f"{as_tensor(value).shape}")
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"instance_norm: {name} must be a tensor (it is updated in place) or None, got "
                            f"{type(value).__name__}")
    spatial = x.numel() // max(x.shape[0] * channels, 1)
    if use_input_stats and int(np.prod(x.shape[2:])) == 1:
        raise ValueError(f"instance_norm: Expected more than 1 spatial element when training, got input size "
                         f"{list(x.shape)}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise ValueError("instance_norm: Expected running_mean and running_var to be defined when use_input_stats "
                         "is false")
    wide = ops.astype(x, np.float32) if x.dtype == np.float16 else x      # (half: in float32, as batch norm's)
    if not use_input_stats:
        y = by_running_stats(wide, running_mean, running_var, eps, per_channel)
    elif x.numel() == 0:
        y = wide * 1                            # (nothing to normalise: an empty output, as PyTorch's)
    else:
        y, mean, variance = standardised(wide, tuple(range(2, x.ndim)), eps)
        for running, statistic in ((running_mean, mean._data), (running_var, variance._data * spatial / (spatial - 1))):
            if running is not None:
                moved_toward(running, statistic.reshape(x.shape[0], channels).mean(axis=0), momentum)
    if weight is not None:
        y = y * as_tensor(weight).reshape(per_channel).to(y.dtype)
    if bias is not None:
        y = y + as_tensor(bias).reshape(per_channel).to(y.dtype)
    return y if y.dtype == x.dtype else ops.astype(y, x.dtype)


def moved_toward(running: Tensor, statistic: np.ndarray, momentum: float) -> None:
    """A running statistic of batch or instance norm, running <- (1 - m) running + m statistic, in place (the
    same buffer tensor, a new array)."""
    running._replace_data(((1 - momentum) * running._data + momentum * statistic).astype(running.dtype))


def by_running_stats(x: Tensor, running_mean: Tensor, running_var: Tensor, eps: float, per_channel: tuple) -> Tensor:
    """(x - running_mean[c]) / sqrt(running_var[c] + eps) per channel, the statistics as constants (batch and
    instance norm in eval mode)."""
    mean, variance = running_mean._data.reshape(per_channel), running_var._data.reshape(per_channel)
    return (x - mean.astype(x.dtype)) / np.sqrt(variance + eps).astype(x.dtype)


def trailing_axes(where: str, x: Tensor, shape: tuple, **parameters: Any) -> tuple:
    """The last len(shape) axes of x, once x is floating-point and ends in `shape` and each parameter given
    (weight, bias) has that shape; else an error naming `where`: the checks of layer_norm and rms_norm."""
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"{where}: normalized_shape {shape} expects an input of shape (*, "
                         f"{', '.join(map(str, shape))}), got {x.shape}")
    for name, value in parameters.items():
        if value is not None and as_tensor(value).shape != shape:
            raise ValueError(f"{where}: {name} must have shape normalized_shape {shape}, got "
                             f"{as_tensor(value).shape}")
    return tuple(range(x.ndim - len(shape), x.ndim))


def standardised(x: Tensor, axes: tuple, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """((x - mean) / sqrt(var + eps), mean, var) over `axes`, var divided by N: layer_norm's step, and
    batch norm's over the batch. Half precision is computed in float32, as PyTorch's (the squares
    would overflow half from 256): y comes back in half, mean and var in float32."""
    if x.dtype == np.float16:
        y, mean, variance = standardised(ops.astype(x, np.float32), axes, eps)
        return ops.astype(y, np.float16), mean, variance
    mean = x.mean(axes, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axes, keepdims=True)
    return centred / (variance + eps).sqrt(), mean, variance


def index_of(amount: Any) -> Any:
    """A tensor of one integer as the Python int it holds; anything else as it is."""
    if isinstance(amount, Tensor) and amount.numel() == 1 and np.dtype(amount.dtype).kind in "iu":
        return amount.__index__()
    return amount


def pad(input: Any, pad: Any, mode: str = "constant", value: Any = None) -> Tensor:
    """input with `value` (0 if None) around it, as PyTorch's F.pad: `pad` gives (before, after) for
    the last axis, then for the one before, and so on (an even number of ints, at most two per axis);
    a negative amount cuts entries off that side. The (cut) input is written into a new tensor of the
    padded shape (`index_put`), so its gradient is the slice it occupies. mode="reflect", "replicate"
    and "circular" copy the input's own entries instead (`padded_by_mode`, padding.py, says how)."""
    x = as_tensor(input)
    if mode != "constant" and mode not in NON_CONSTANT_MODES:
        raise ValueError(f"pad: mode must be one of 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    amounts = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if amounts is not None:         # a tensor of one integer counts as that int (its __index__), as in PyTorch's
        amounts = tuple(index_of(amount) for amount in amounts)     # parser for an int list (U-Net's Up pads so)
    if (amounts is None or len(amounts) % 2 or len(amounts) > 2 * x.ndim
            or not all(is_int(amount) for amount in amounts)):
        raise ValueError(f"pad: expected an even number of integers, at most two per axis of shape {x.shape}, "
                         f"got {pad!r}")
    if mode != "constant":
        return padded_by_mode(x, amounts, mode, value)
    kept, placed, shape = [slice(None)] * x.ndim, [slice(None)] * x.ndim, list(x.shape)
    for k in range(len(amounts) // 2):
        axis, before, after = x.ndim - 1 - k, amounts[2 * k], amounts[2 * k + 1]
        start, stop = max(-before, 0), x.shape[axis] - max(-after, 0)
        if stop < start:
            raise ValueError(f"pad: padding {pad!r} would leave axis {axis} of shape {x.shape} a negative size")
        kept[axis] = slice(start, stop)
        placed[axis] = slice(max(before, 0), max(before, 0) + stop - start)
        shape[axis] = stop - start + max(before, 0) + max(after, 0)
    try:
        value = number_for(0 if value is None else value, x.dtype, "pad")
        filled = owned(np.full(shape, value, dtype=x.dtype))
    except (TypeError, ValueError) as error:        # (a value numpy cannot write: a string, ...)
        message = str(error) if str(error).startswith("pad:") else f"pad: cannot fill with {value!r}: {error}"
        raise type(error)(message) from None
    return ops.index_put(filled, tuple(placed), x[tuple(kept)])


def normalized_shape_of(where: str, normalized_shape: Any) -> tuple:
    """`normalized_shape` (an int or a sequence of positive ints) as a tuple; else an error naming `where`."""
    shape = (normalized_shape,) if is_int(normalized_shape) else normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if not shape or not all(is_int(n) and n > 0 for n in shape):
        raise ValueError(f"{where}: normalized_shape must be a positive int or a non-empty sequence of them, "
                         f"got {normalized_shape!r}")
    return tuple(int(n) for n in shape)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """out[..., c] = 1 if tensor[...] == c else 0, for c in 0 .. num_classes - 1, as PyTorch's:
    int64 of shape tensor.shape + (num_classes,); num_classes=-1 takes max(tensor) + 1. A
    constant (integers have no gradient): `.float()` it to feed a layer."""
    classes = as_tensor(tensor)._data
    if classes.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got dtype {classes.dtype}")
    if not (is_int(num_classes) and num_classes >= -1):
        raise ValueError(f"one_hot: expected num_classes a non-negative integer (or -1), got {num_classes!r}")
    if num_classes == -1:
        if classes.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(classes.max()) + 1
    if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
        raise ValueError(f"one_hot: expected class indices in [0, {num_classes}), got values from "
                         f"{classes.min()} to {classes.max()}")
    return owned(np.equal(classes[..., None], np.arange(num_classes)).astype(np.int64))
