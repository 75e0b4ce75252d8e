"""PyTorch's `torch.nn.utils.fusion` (read from its torch/nn/utils/fusion.py): a convolution or a linear layer
followed by a batch norm in eval mode folded into one layer of the same kind, for inference. In eval mode
the batch norm is an affine map per channel c,

    bn(y)_c = (y_c - running_mean_c) * s_c + beta_c,        s_c = gamma_c / sqrt(running_var_c + eps),

so after y = W x + b it is (s W) x + ((b - running_mean) s + beta): the fused weight scales each output
channel's row (kernel) of W by s_c, and the fused bias is (b - running_mean) s + beta. The new parameters
are computed on the values (nothing is recorded), as PyTorch's are under its eval-only use.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ...parameter import Parameter
from ...tensor import Tensor
from ..module import Module


def _for_eval(where: str, layer: Module, bn: Module) -> None:
    """PyTorch's checks: both in eval mode (AssertionError, as PyTorch's), bn with running statistics."""
    if not isinstance(layer, Module) or not isinstance(bn, Module):
        raise TypeError(f"{where}: expected two Modules, got {type(layer).__name__} and {type(bn).__name__}")
    if layer.training or bn.training:
        raise AssertionError(f"{where}: fusion only for eval! (training is {layer.training} for the "
                             f"{type(layer).__name__} and {bn.training} for the {type(bn).__name__}; call .eval())")
    if getattr(bn, "running_mean", None) is None or getattr(bn, "running_var", None) is None:
        raise AssertionError(f"{where}: bn.running_mean and bn.running_var must not be None (a batch norm made "
                             "with track_running_stats=True)")


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A new convolution (a deep copy of `conv`) computing bn(conv(x)) of the two in eval mode; `transpose`
    for a transposed convolution (its weight's output channels on axis 1)."""
    _for_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w: Any, conv_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any, bn_b: Any,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """(weight, bias) of the fused convolution: W s_c per output channel (axis 0, axis 1 with `transpose`)
    and (b - running_mean) s + beta, s = gamma / sqrt(running_var + eps); a missing conv bias is zeros,
    a missing gamma ones and beta zeros. In the dtypes of W and b, each requiring grad as they do."""
    weight, mean, var = np.asarray(conv_w), np.asarray(bn_rm), np.asarray(bn_rv)
    where = "fuse_conv_bn_weights"
    if weight.ndim < 2 or weight.shape[1 if transpose else 0] != mean.shape[0] or mean.shape != var.shape:
        raise ValueError(f"{where}: the weight of shape {weight.shape} must have as many output channels (axis "
                         f"{1 if transpose else 0}) as running_mean {mean.shape} and running_var {var.shape} have "
                         "entries")
    bias_dtype = weight.dtype if conv_b is None else np.asarray(conv_b).dtype
    bias = np.zeros_like(mean) if conv_b is None else np.asarray(conv_b)
    gamma = np.ones_like(mean) if bn_w is None else np.asarray(bn_w)
    beta = np.zeros_like(mean) if bn_b is None else np.asarray(bn_b)
    inv_std = 1.0 / np.sqrt(var + bn_eps)
    shape = ((1, -1) if transpose else (-1, 1)) + (1,) * (weight.ndim - 2)
    fused_w = (weight * (gamma * inv_std).reshape(shape)).astype(weight.dtype)
    fused_b = ((bias - mean) * inv_std * gamma + beta).astype(bias_dtype)
    return (Parameter(fused_w, requires_grad=_requires_grad(conv_w)),
            Parameter(fused_b, requires_grad=_requires_grad(conv_b)))


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A new Linear (a deep copy of `linear`) computing bn(linear(x)) of the two in eval mode; the batch
    norm has out_features features, or one (broadcast over them)."""
    where = "fuse_linear_bn_eval"
    _for_eval(where, linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"{where}: to fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
                             f"got linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w: Any, linear_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any,
                           bn_b: Any) -> tuple[Parameter, Parameter]:
    """(weight, bias) of the fused Linear: W's row i times s_i and (b - running_mean) s + beta, s = gamma /
    sqrt(running_var + eps) (one feature broadcasts over all rows); a missing bias is zeros (and gamma ones,
    beta zeros: PyTorch's needs them). In the dtypes of W and b, each requiring grad as they do."""
    weight, mean = np.asarray(linear_w), np.asarray(bn_rm)
    if weight.ndim != 2 or mean.shape[0] not in (1, weight.shape[0]):
        raise ValueError(f"fuse_linear_bn_weights: the weight of shape {weight.shape} must have as many rows as "
                         f"running_mean {mean.shape} has entries (or it one)")
    bias_dtype = weight.dtype if linear_b is None else np.asarray(linear_b).dtype
    bias = np.zeros_like(mean) if linear_b is None else np.asarray(linear_b)
    gamma = np.ones_like(mean) if bn_w is None else np.asarray(bn_w)
    beta = np.zeros_like(mean) if bn_b is None else np.asarray(bn_b)
    scale = gamma / np.sqrt(np.asarray(bn_rv) + bn_eps)
    fused_w = weight * scale[:, None].astype(weight.dtype)
    fused_b = ((bias - mean) * scale + beta).astype(bias_dtype)
    return (Parameter(fused_w, requires_grad=_requires_grad(linear_w)),
            Parameter(fused_b, requires_grad=_requires_grad(linear_b)))


def _requires_grad(x: Any) -> bool:
    """PyTorch's: the fused tensor requires grad as the layer's did (a missing bias: its zeros do not)."""
    return isinstance(x, Tensor) and x.requires_grad
