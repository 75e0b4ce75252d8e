"""`LayerNorm`: each sample's last axes normalised to mean 0 and variance 1, then scaled and shifted;
`BatchNorm1d` (and `LazyBatchNorm1d`): each feature normalised over the batch, with running statistics
for evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, is_int, non_negative_number
from ..functional import layer_norm, normalized_shape_of
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, get_default_dtype, owned
from .module import Module, Parameter, same_dtype


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
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if affine and bias else None

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if self.weight is not None:
            x = same_dtype(self, x, self.weight.dtype)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm1d(Module):
    """Each feature normalised over the batch, as PyTorch's: for x (N, C) or (N, C, L), in training mode
    y = (x - mean) / sqrt(var + eps) * weight + bias per feature c, mean and var (divided by N, not
    N - 1) over N (and L), written with primitives; the buffers running_mean (zeros) and running_var
    (ones) move toward the batch's mean and unbiased variance by `momentum` (None: their average over
    every batch so far), and num_batches_tracked counts. In eval mode (or without
    `track_running_stats`) the running statistics are used, as constants."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
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
        self.weight = Parameter(np.ones(num_features, dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if self.affine else None
        self.register_buffer("running_mean", owned(np.zeros(num_features, dtype)) if tracked else None)
        self.register_buffer("running_var", owned(np.ones(num_features, dtype)) if tracked else None)
        self.register_buffer("num_batches_tracked", owned(np.array(0, np.int64)) if tracked else None)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        where = type(self).__name__
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"{where}: expected input of shape (N, {self.num_features}) or (N, "
                             f"{self.num_features}, L), got {x.shape}")
        if self.weight is not None:
            x = same_dtype(self, x, self.weight.dtype)
        axes, per_feature = ((0,), (1, -1)) if x.ndim == 2 else ((0, 2), (1, -1, 1))
        if self.training or not self.track_running_stats:
            count = x.numel() // self.num_features
            if count <= 1:
                raise ValueError(f"{where}: Expected more than 1 value per channel when training, got input "
                                 f"of shape {x.shape}")
            mean = x.mean(axes, keepdims=True)
            centred = x - mean
            variance = (centred * centred).mean(axes, keepdims=True)
            if self.training and self.track_running_stats:
                self._track(mean._data.reshape(-1), variance._data.reshape(-1) * count / (count - 1))
            y = centred / (variance + self.eps).sqrt()
        else:
            mean, variance = self.running_mean._data.reshape(per_feature), self.running_var._data.reshape(per_feature)
            y = (x - mean) / np.sqrt(variance + self.eps)
        if self.weight is not None:
            y = y * self.weight.reshape(per_feature) + self.bias.reshape(per_feature)
        return y

    def _track(self, batch_mean: np.ndarray, unbiased_variance: np.ndarray) -> None:
        """running <- (1 - m) running + m batch, m = momentum (None: 1 / batches so far)."""
        batches = int(self.num_batches_tracked) + 1
        m = 1 / batches if self.momentum is None else self.momentum
        dtype = self.running_mean.dtype
        self.num_batches_tracked = owned(np.array(batches, np.int64))
        self.running_mean = owned(((1 - m) * self.running_mean._data + m * batch_mean).astype(dtype))
        self.running_var = owned(((1 - m) * self.running_var._data + m * unbiased_variance).astype(dtype))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LazyBatchNorm1d(BatchNorm1d):
    """A `BatchNorm1d` that reads num_features from its first input (x.shape[1]), as PyTorch's: the
    first call gives weight, bias and the running statistics their size (the same Parameter objects)
    and the module becomes a `BatchNorm1d`."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (2, 3) or x.shape[1] == 0:
            raise ValueError(f"LazyBatchNorm1d: expected input of shape (N, C) or (N, C, L), got {x.shape}")
        features = x.shape[1]
        dtype = next((t.dtype for t in (self.weight, self.running_mean) if t is not None), x.dtype)
        if self.weight is not None:
            self.weight._materialise(np.ones(features, dtype))
            self.bias._materialise(np.zeros(features, dtype))
        if self.track_running_stats:
            self.running_mean, self.running_var = owned(np.zeros(features, dtype)), owned(np.ones(features, dtype))
        self.num_features = features
        self.__class__ = BatchNorm1d
        return self.forward(x)
