"""`LayerNorm`: each sample's last axes normalised to mean 0 and variance 1, then scaled and shifted;
`RMSNorm`: each sample's last axes divided by their root mean square, then scaled; `GroupNorm`: each
sample's groups of channels normalised, then each channel scaled and shifted; `BatchNorm1d` (and
`LazyBatchNorm1d`), `BatchNorm2d` and `BatchNorm3d`: each channel normalised over the batch, with running
statistics for evaluation (`_BatchNorm`); `InstanceNorm1d`, `InstanceNorm2d` and `InstanceNorm3d`: each
sample's channel normalised over its length, map or volume, running statistics optional (`_NormBase`
keeps the parameters and statistics of both); `LocalResponseNorm` and `CrossMapLRN2d`: each entry divided
by a power of its neighbouring channels' energy."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import ops
from ..checks import flag, is_int, non_negative_number, positive_int, user_stacklevel
from ..functional import (by_running_stats, group_norm, instance_norm, layer_norm, moved_toward, normalized_shape_of,
                          rms_norm, standardised)
from ..functional import local_response_norm
from ..functional.activations import argument
from ..functional.local_response import cross_map_lrn2d
from ..spellings import check_device
from ..parameter import UninitializedParameter
from ..tensor import Tensor, as_tensor, get_default_dtype, owned
from . import init
from .module import Module, Parameter, empty_parameter, same_dtype


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axes, those of `normalized_shape`
    (`F.layer_norm`, which says how), as PyTorch's: weight starts at ones and bias at zeros, both of
    shape normalized_shape; `elementwise_affine=False` has neither, `bias=False` no bias."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device("LayerNorm", device)
        self.normalized_shape = normalized_shape_of("LayerNorm", normalized_shape)
        self.eps = non_negative_number(eps, "eps", "LayerNorm")
        self.elementwise_affine = flag(elementwise_affine, "elementwise_affine", "LayerNorm")
        bias = flag(bias, "bias", "LayerNorm")
        dtype = np.dtype(dtype or get_default_dtype())
        affine = self.elementwise_affine
        self.weight = empty_parameter(self.normalized_shape, dtype) if affine else None
        self.bias = empty_parameter(self.normalized_shape, dtype) if affine and bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight to ones and bias to zeros again (the same Parameter objects), as PyTorch's."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if self.weight is not None:
            x = same_dtype(self, x, self.weight.dtype)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the last axes, those of `normalized_shape` (`F.rms_norm`,
    which says how), as PyTorch's: weight starts at ones, of shape normalized_shape, and there is no bias;
    `elementwise_affine=False` has no weight; eps=None is the machine epsilon of the dtype it is
    computed in (float32's for half input, as PyTorch's)."""

    def __init__(self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device("RMSNorm", device)
        self.normalized_shape = normalized_shape_of("RMSNorm", normalized_shape)
        self.eps = None if eps is None else non_negative_number(eps, "eps", "RMSNorm")
        self.elementwise_affine = flag(elementwise_affine, "elementwise_affine", "RMSNorm")
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = empty_parameter(self.normalized_shape, dtype) if self.elementwise_affine else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight to ones again (the same Parameter object), as PyTorch's."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if self.weight is not None:
            x = same_dtype(self, x, self.weight.dtype)
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """The num_channels channels of x (N, C, *) split into num_groups groups, each sample's group
    normalised to mean 0 and variance 1, then y = normalised * weight[c] + bias[c] per channel
    (`F.group_norm`, which says how), as PyTorch's: weight starts at ones and bias at zeros, both of
    shape (num_channels,); `affine=False` has neither. num_channels must be divisible by num_groups."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device("GroupNorm", device)
        self.num_groups = positive_int(num_groups, "num_groups", "GroupNorm")
        if not is_int(num_channels) or num_channels < 0:
            raise ValueError(f"GroupNorm: num_channels must be an integer >= 0, got {num_channels!r}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels must be divisible by num_groups, got num_channels="
                             f"{num_channels} and num_groups={num_groups}")
        self.num_channels = int(num_channels)
        self.eps = non_negative_number(eps, "eps", "GroupNorm")
        self.affine = flag(affine, "affine", "GroupNorm")
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = empty_parameter(self.num_channels, dtype) if self.affine else None
        self.bias = empty_parameter(self.num_channels, dtype) if self.affine else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight to ones and bias to zeros again (the same Parameter objects), as PyTorch's."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if self.weight is not None:
            if x.ndim < 2 or x.shape[1] != self.num_channels:
                raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *), got {x.shape}")
            x = same_dtype(self, x, self.weight.dtype)
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _NormBase(Module):
    """What batch and instance norm keep, as PyTorch's _NormBase: weight (ones) and bias (zeros), each
    (num_features,), with `affine` (`bias=False`: no bias); the buffers running_mean (zeros), running_var
    (ones) and num_batches_tracked (0) with `track_running_stats`, else None; errors name the layer."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        where = type(self).__name__
        check_device(where, device)
        self.eps = non_negative_number(eps, "eps", where)
        self.momentum = None if momentum is None else non_negative_number(momentum, "momentum", where)
        self.affine = flag(affine, "affine", where)
        self.track_running_stats = tracked = flag(track_running_stats, "track_running_stats", where)
        if not is_int(num_features) or num_features < 0:
            raise ValueError(f"{where}: num_features must be an integer >= 0, got {num_features!r}")
        self.num_features, dtype = int(num_features), np.dtype(dtype or get_default_dtype())
        self.weight = empty_parameter(num_features, dtype) if self.affine else None
        bias = flag(bias, "bias", where)
        self.bias = empty_parameter(num_features, dtype) if self.affine and bias else None
        self.register_buffer("running_mean", owned(np.zeros(num_features, dtype)) if tracked else None)
        self.register_buffer("running_var", owned(np.ones(num_features, dtype)) if tracked else None)
        self.register_buffer("num_batches_tracked", owned(np.array(0, np.int64)) if tracked else None)
        self.reset_parameters()

    _optional_on_load = ("num_batches_tracked",)     # (PyTorch's older state dicts have none: it stays 0)

    def reset_running_stats(self) -> None:
        """running_mean to zeros, running_var to ones and num_batches_tracked to 0, each a new array, as
        PyTorch's (`mg.optim.swa_utils.update_bn` starts from them); nothing without the buffers."""
        for buffer, fill in ((self.running_mean, 0), (self.running_var, 1), (self.num_batches_tracked, 0)):
            if buffer is not None:
                buffer._replace_data(np.full(buffer.shape, fill, buffer.dtype))

    def reset_parameters(self) -> None:
        """The running statistics reset (`reset_running_stats`), weight to ones and bias to zeros (the same
        Parameter objects), as PyTorch's _NormBase.reset_parameters."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)


class _BatchNorm(_NormBase):
    """Each channel normalised over the batch and every other axis, as PyTorch's _BatchNorm: for x
    (N, C, *), in training mode y = (x - mean) / sqrt(var + eps) * weight + bias per channel c, mean and
    var (divided by the count, not count - 1) over N and the trailing axes, written with primitives;
    the buffers running_mean (zeros) and running_var (ones) move toward the batch's mean and unbiased
    variance by `momentum` (None: their average over every batch so far), and num_batches_tracked
    counts. In eval mode the running statistics are used, as constants; without them
    (`track_running_stats=False`: the buffers are None) the batch's, in both modes. `bias=False` (with
    `affine`) scales by weight and adds no bias (`_NormBase` makes them). Each subclass says which
    input ranks it takes (`_check_input_dim`)."""

    def _check_input_dim(self, x: Tensor) -> None:
        """A ValueError naming the layer unless x has the rank PyTorch's layer takes and C channels."""
        raise NotImplementedError

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        where = type(self).__name__
        self._check_input_dim(x)
        kept = next((t for t in (self.weight, self.running_mean) if t is not None), None)
        if kept is not None:
            x = same_dtype(self, x, kept.dtype)
        elif x.dtype.kind != "f":
            raise TypeError(f"{where}: expected a floating-point input, got dtype {x.dtype}")
        if x.dtype == np.float16:       # (PyTorch sums half in float32: the squares pass 65504 from 256)
            return ops.astype(self._normalised(ops.astype(x, np.float32)), np.float16)
        return self._normalised(x)

    def _normalised(self, x: Tensor) -> Tensor:
        """As PyTorch's: the batch's statistics while training, or whenever there are no running ones
        (both None); the running ones move while training with `track_running_stats`."""
        axes, per_feature = (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
        count = x.numel() // max(self.num_features, 1)
        if self.training and count == 1:        # (before any buffer moves: a failing call changes nothing)
            raise ValueError(f"{type(self).__name__}: Expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._replace_data(np.array(int(self.num_batches_tracked) + 1, np.int64))
        if count == 0:
            return x * 1                        # (an empty batch: nothing to normalise, as PyTorch's)
        if self.training or (self.running_mean is None and self.running_var is None):
            y, mean, variance = standardised(x, axes, self.eps)
            if self.training and self.track_running_stats and self.running_mean is not None:
                self._track(mean._data.reshape(-1), variance._data.reshape(-1) / (count - 1) * count)
        else:
            y = by_running_stats(x, self.running_mean, self.running_var, self.eps, per_feature)
        if self.weight is not None:
            y = y * self.weight.reshape(per_feature).to(y.dtype)
        if self.bias is not None:
            y = y + self.bias.reshape(per_feature).to(y.dtype)
        return y

    def _track(self, batch_mean: np.ndarray, unbiased_variance: np.ndarray) -> None:
        """running <- (1 - m) running + m batch, m = momentum (None: 1 / batches so far), in place (the
        same buffer tensors, new arrays)."""
        m = 1 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        moved_toward(self.running_mean, batch_mean, m)
        moved_toward(self.running_var, unbiased_variance, m)

    def extra_repr(self) -> str:
        """PyTorch's text (its _BatchNorm has no `bias` argument); this library's `bias=False` is shown only
        when it takes effect (affine without a bias)."""
        no_bias = ", bias=False" if self.affine and self.bias is None else ""
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}{no_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """PyTorch's nn.BatchNorm1d over (N, C) or (N, C, L): each feature normalised over N (and L)
    (`_BatchNorm` says how)."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected input of shape (N, {self.num_features}) or (N, "
                             f"{self.num_features}, L), got {x.shape}")


class BatchNorm2d(_BatchNorm):
    """PyTorch's nn.BatchNorm2d over (N, C, H, W): each channel normalised over N, H and W (`_BatchNorm`
    says how)."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected 4D input of shape (N, {self.num_features}, H, W), "
                             f"got {x.ndim}D input of shape {x.shape}")


class BatchNorm3d(_BatchNorm):
    """PyTorch's nn.BatchNorm3d over (N, C, D, H, W): each channel normalised over N, D, H and W
    (`_BatchNorm` says how)."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected 5D input of shape (N, {self.num_features}, D, H, W), "
                             f"got {x.ndim}D input of shape {x.shape}")


class LazyBatchNorm1d(BatchNorm1d):
    """A `BatchNorm1d` that reads num_features from its first input (x.shape[1]) or from a state dict,
    as PyTorch's: that gives weight, bias and the running statistics their size (the same objects)
    and the module becomes a `BatchNorm1d`."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        if self.affine:
            self.weight = UninitializedParameter(self.weight._data)
        if self.bias is not None:
            self.bias = UninitializedParameter(self.bias._data)

    def reset_parameters(self) -> None:
        """Nothing to reset before the first input (or a state dict) gives the size, as PyTorch's."""

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (2, 3) or x.shape[1] == 0:
            raise ValueError(f"LazyBatchNorm1d: expected input of shape (N, C) or (N, C, L), got {x.shape}")
        self._sized(x.shape[1])
        return self.forward(x)

    def _sized(self, features: int) -> None:
        """Give every parameter and running statistic `features` entries; from now on a BatchNorm1d."""
        for tensor, fill in ((self.weight, 1), (self.bias, 0), (self.running_mean, 0), (self.running_var, 1)):
            if tensor is None or tensor.shape == (features,):
                continue
            if isinstance(tensor, Parameter):
                tensor._materialise(np.full(features, fill, tensor.dtype))
            else:
                tensor._replace_data(np.full(features, fill, tensor.dtype))
        self.num_features = features
        self.__class__ = BatchNorm1d

    def _loads_shape(self, name: str, tensor: Tensor, shape: tuple) -> bool:
        """Before the first call, a state dict gives the size: (C,) entries, any C > 0."""
        return shape == tensor.shape or (tensor.ndim == 1 and len(shape) == 1 and shape[0] > 0)

    def _loads_shapes(self, shapes: dict[str, tuple]) -> str | None:
        """The (C,) entries given together must agree on C (the next call would reset the others)."""
        sizes = {shape[0] for shape in shapes.values() if len(shape) == 1}
        return None if len(sizes) <= 1 else f"the (C,) entries of a LazyBatchNorm1d must agree on C, got {shapes}"

    def _loaded(self) -> None:
        sizes = {t.shape[0] for t in (self.weight, self.bias, self.running_mean, self.running_var) if t is not None}
        if len(sizes) == 1 and sizes != {0}:       # (every entry given one size: a BatchNorm1d of that size)
            self._sized(sizes.pop())


class _InstanceNorm(_NormBase):
    """`F.instance_norm` of x (N, C, *spatial) or unbatched (C, *spatial) (run as a batch of one), as PyTorch's
    _InstanceNorm: each sample's channel normalised over its `spatial_dims` trailing axes, by default in
    both modes, without parameters (`affine=True`: weight ones and bias zeros, (C,)) and without running
    statistics (`track_running_stats=True`: running_mean and running_var move toward each training batch's
    average statistics by `momentum`, None taken as 0, and eval mode normalises by them; num_batches_tracked
    is kept but never counts, as PyTorch's). Input whose channel axis is not num_features: a ValueError
    with `affine`, else a warning (num_features is not used then)."""

    spatial_dims: int = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        where, batched = type(self).__name__, self.spatial_dims + 2
        if x.ndim not in (batched - 1, batched):
            raise ValueError(f"{where}: expected {batched - 1}D or {batched}D input (got {x.ndim}D input of shape "
                             f"{x.shape})")
        channel_axis = x.ndim - batched + 1
        if x.shape[channel_axis] != self.num_features:
            message = (f"{where}: expected input's size at dim={channel_axis} to match num_features "
                       f"({self.num_features}), but got: {x.shape[channel_axis]} (input of shape {x.shape})")
            if self.affine:
                raise ValueError(message)
            warnings.warn(message + "; num_features is not used because affine=False", stacklevel=user_stacklevel())
        kept = next((t for t in (self.weight, self.running_mean) if t is not None), None)
        if kept is not None:
            x = same_dtype(self, x, kept.dtype)
        batch = x if channel_axis == 1 else x.reshape((1,) + x.shape)
        y = instance_norm(batch, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y if channel_axis == 1 else y.reshape(x.shape)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """PyTorch's nn.InstanceNorm1d over (N, C, L) or (C, L): each sample's channel normalised over L
    (`_InstanceNorm` says how; affine=False and track_running_stats=False by default)."""

    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """PyTorch's nn.InstanceNorm2d over (N, C, H, W) or (C, H, W): each sample's channel normalised over its
    H x W map (`_InstanceNorm` says how; affine=False and track_running_stats=False by default)."""

    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """PyTorch's nn.InstanceNorm3d over (N, C, D, H, W) or (C, D, H, W): each sample's channel normalised over
    its D x H x W volume (`_InstanceNorm` says how; affine=False and track_running_stats=False by default)."""

    spatial_dims = 3


class _LocalResponse(Module):
    """The settings of PyTorch's LocalResponseNorm and CrossMapLRN2d (siblings there too): the window's
    `size` in channels, alpha, beta and k, printed as `2, alpha=0.0001, beta=0.75, k=1.0`; no parameters."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        where = type(self).__name__
        self.size = positive_int(size, "size", where)
        self.alpha, self.beta, self.k = (argument(where, name, value)
                                         for name, value in (("alpha", alpha), ("beta", beta), ("k", k)))

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LocalResponseNorm(_LocalResponse):
    """`F.local_response_norm(x, size, alpha, beta, k)` over x (N, C, *): each entry divided by
    (k + alpha * the mean of x^2 over the `size` channels around it)^beta, as PyTorch's nn.LocalResponseNorm."""

    def forward(self, x: Any) -> Tensor:
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)


class CrossMapLRN2d(_LocalResponse):
    """PyTorch's nn.CrossMapLRN2d over x (N, C, H, W): x_c (k + alpha / size * sum of x_c'^2 over a window of
    channels)^-beta, the window as PyTorch's forward keeps it (`cross_map_windows` in
    functional/local_response.py says how: channel 0's square stays in every sum)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__(size, alpha, beta, k)      # (k=1, an int, as PyTorch's prints it)

    def forward(self, x: Any) -> Tensor:
        return cross_map_lrn2d(x, self.size, self.alpha, self.beta, self.k)
