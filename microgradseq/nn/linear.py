"""`Linear` (and `LazyLinear`), `Bilinear`, `Embedding` and its function `embedding` (F.embedding), and the
modules that only pass data on: `Identity`, `Flatten`, `Unflatten`, `PixelShuffle`, `PixelUnshuffle` and
`ChannelShuffle`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..checks import flag, generator, is_int, positive_int
from .. import ops
from ..functional import bilinear, channel_shuffle, linear, pixel_shuffle, pixel_unshuffle
from ..ops.methods import _unflattened
from ..spellings import check_device, only_defaults
from ..tensor import Tensor, array_of, as_tensor, get_default_dtype
from ..parameter import UninitializedParameter, materialise
from . import init
from .module import Module, Parameter, empty_parameter, same_dtype


class Identity(Module):
    """Returns its input itself, as PyTorch's: a placeholder where a model may have a layer
    (`model.fc = nn.Identity()`). Any constructor arguments are accepted and ignored, as there."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Merges axes start_dim..end_dim into one (`t.flatten(start_dim, end_dim)`); by default every
    axis but the batch axis, (B, C, W) -> (B, C * W), as PyTorch's."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_int(value):
                raise TypeError(f"Flatten: {name} must be an integer, got {value!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits axis `dim` into axes of the sizes `unflattened_size` (a tuple or list of ints, one of them may
    be -1: inferred), undoing a `Flatten`: (B, C * W) -> (B, C, W) for Unflatten(1, (C, W)), as PyTorch's.
    A reshape, so the gradient is reshaped back."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"Unflatten: dim must be an integer, got {type(dim).__name__} {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                            f"{type(unflattened_size).__name__}")
        for position, size in enumerate(unflattened_size):
            if not is_int(size):
                raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {position}")
        if sum(size == -1 for size in unflattened_size) > 1 or any(size < -1 for size in unflattened_size):
            raise ValueError(f"Unflatten: unflattened_size may hold one -1 and sizes >= 0, got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, x: Any) -> Tensor:
        return _unflattened("Unflatten", as_tensor(x), self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size!r}"


class PixelShuffle(Module):
    """`F.pixel_shuffle(x, upscale_factor)`: (*, C r^2, H, W) -> (*, C, H r, W r), as PyTorch's."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = positive_int(upscale_factor, "upscale_factor", "PixelShuffle")

    def forward(self, x: Any) -> Tensor:
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """`F.pixel_unshuffle(x, downscale_factor)`: (*, C, H r, W r) -> (*, C r^2, H, W), as PyTorch's."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = positive_int(downscale_factor, "downscale_factor", "PixelUnshuffle")

    def forward(self, x: Any) -> Tensor:
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """`F.channel_shuffle(x, groups)`: the channels of (N, C, *) read group by group in turn, as PyTorch's."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = positive_int(groups, "groups", "ChannelShuffle")

    def forward(self, x: Any) -> Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class Linear(Module):
    """y = x W^T + b, with W (out, in) and b (out,), as PyTorch; init uniform(-1/sqrt(in), 1/sqrt(in))
    (`reset_parameters`), from `rng` or the library's generator."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = None, *, device: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
        check_device(where, device)
        in_features, out_features = positive_int(in_features, "in_features", where), positive_int(
            out_features, "out_features", where)
        bias, rng = flag(bias, "bias", where), generator(rng, where)
        self.in_features, self.out_features, self._rng = in_features, out_features, rng
        self.weight = empty_parameter((out_features, in_features), dtype)
        self.bias = empty_parameter((out_features,), dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight and bias drawn again, into the same Parameter objects, as PyTorch's Linear.reset_parameters:
        the weight by kaiming_uniform_(a=sqrt(5)), whose bound sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in) is
        1 / sqrt(fan_in) (written so, exactly), and the bias from the same uniform(-1/sqrt(fan_in),
        1/sqrt(fan_in)), fan_in the weight's width; from the module's `rng` or the library's generator."""
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound, rng=self._rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng=self._rng)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        width = self.weight.shape[-1]       # the weight's, as PyTorch's F.linear(input, self.weight, self.bias):
        if x.ndim == 0 or x.shape[-1] != width:     # a weight tied from a module of another width decides
            raise ValueError(f"{type(self).__name__}: expected input of shape (..., {width}), got {x.shape}")
        return linear(same_dtype(self, x, self.weight.dtype), self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """A `Linear` that reads in_features from its first input (x.shape[-1]), as PyTorch's: until then
    in_features is 0 and the weight (out, 0) holds nothing (`reset_parameters()` leaves it so). The first
    call gives the same Parameter objects their shapes (so an optimizer made before the call trains them),
    and the module becomes a `Linear` and draws them by its `reset_parameters()`."""

    def __init__(self, out_features: int, bias: bool = True, rng: np.random.Generator | None = None,
                 dtype: Any = None, *, device: Any = None) -> None:
        Module.__init__(self)
        check_device("LazyLinear", device)
        self.in_features, self.out_features = 0, positive_int(out_features, "out_features", "LazyLinear")
        self._rng = generator(rng, "LazyLinear")
        dtype = np.dtype(dtype or get_default_dtype())
        self.weight = UninitializedParameter(np.zeros((self.out_features, 0), dtype))
        bias = flag(bias, "bias", "LazyLinear")
        self.bias = UninitializedParameter(np.zeros(self.out_features, dtype)) if bias else None

    def reset_parameters(self) -> None:
        """Nothing to draw before the first call gives the weight its shape, as PyTorch's LazyLinear."""

    def _loads_shape(self, name: str, tensor: Tensor, shape: tuple) -> bool:
        """Before the first call, a state dict gives the weight its shape (out, in), any in > 0, or
        leaves it uninitialised ((out, 0): the state dict of a LazyLinear not yet called, as PyTorch)."""
        if name == "weight":
            return len(shape) == 2 and shape[0] == self.out_features and shape[1] >= 0
        return shape == tensor.shape

    def _loaded(self) -> None:
        if self.weight.shape[1]:            # (given its shape by the state dict: a Linear from now on)
            self._sized(self.weight.shape[1])

    def _sized(self, in_features: int) -> None:
        """in_features known: the weight takes its shape (out, in), weight and bias become Parameters (a
        loaded bias keeps its values), and from now on the module is a Linear, as PyTorch's."""
        self.in_features = in_features
        materialise(self.weight, (self.out_features, in_features))
        if self.bias is not None:
            materialise(self.bias, (self.out_features,))
        self.__class__ = Linear

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim == 0 or x.shape[-1] == 0:
            raise ValueError(f"LazyLinear: expected input of shape (..., in_features) with in_features > 0, "
                             f"got {x.shape}")
        self._sized(x.shape[-1])
        self.reset_parameters()
        return self.forward(x)


class Bilinear(Module):
    """y = x1^T W x2 + b per output feature (`F.bilinear`), W (out, in1, in2) and b (out,), as PyTorch's:
    both drawn from uniform(-1/sqrt(in1), 1/sqrt(in1)), the weight first (`reset_parameters`). Inputs
    (*, in1) and (*, in2)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        where = "Bilinear"
        check_device(where, device)
        self.in1_features = positive_int(in1_features, "in1_features", where)
        self.in2_features = positive_int(in2_features, "in2_features", where)
        self.out_features = positive_int(out_features, "out_features", where)
        bias, self._rng = flag(bias, "bias", where), generator(rng, where)
        self.weight = empty_parameter((self.out_features, self.in1_features, self.in2_features), dtype)
        self.bias = empty_parameter((self.out_features,), dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight, then bias, drawn again from uniform(-1/sqrt(in1), 1/sqrt(in1)), as PyTorch's
        Bilinear.reset_parameters, from the module's `rng` or the library's generator."""
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound, rng=self._rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng=self._rng)

    def forward(self, input1: Any, input2: Any) -> Tensor:
        x1, x2 = as_tensor(input1), as_tensor(input2)
        for name, x, width in (("input1", x1, self.in1_features), ("input2", x2, self.in2_features)):
            if x.ndim == 0 or x.shape[-1] != width:
                raise ValueError(f"Bilinear: expected {name} of shape (*, {width}), got {x.shape}")
            same_dtype(self, x, self.weight.dtype, name)
        return bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Embedding(Module):
    """Row lookup: indices (any shape) -> weight[indices], weight (num, dim) ~ N(0, 1) as PyTorch
    (`reset_parameters`), from `rng` or the library's generator.

    `padding_idx` (negative counts from the end) names a row that stands for padding, as
    PyTorch's: it starts as zeros and never gets a gradient, so training leaves it as it is.
    PyTorch's `max_norm`, `norm_type`, `scale_grad_by_freq` and `sparse` are accepted only at their
    defaults. `_weight` and `_freeze` are PyTorch's own arguments for `from_pretrained`.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 rng: np.random.Generator | None = None, dtype: Any = None, _weight: Any = None,
                 _freeze: bool = False, **options: Any) -> None:
        super().__init__()
        only_defaults("Embedding", options, {"max_norm": None, "norm_type": 2.0, "scale_grad_by_freq": False,
                                             "sparse": False})
        num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None and not (is_int(padding_idx) and -num_embeddings <= padding_idx < num_embeddings):
            raise ValueError(f"Embedding: padding_idx must be an integer in [-{num_embeddings}, {num_embeddings}) "
                             f"or None, got {padding_idx!r}")
        freeze = flag(_freeze, "_freeze", "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        # PyTorch keeps these as attributes (awd-lstm-lm's embedded_dropout passes them on to F.embedding)
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = None, 2.0, False, False
        self.padding_idx = None if padding_idx is None else int(padding_idx) % num_embeddings
        self._rng = generator(rng, "Embedding")
        if _weight is None:
            self.weight = empty_parameter((num_embeddings, embedding_dim), dtype, requires_grad=not freeze)
            self.reset_parameters()
        else:
            weight = np.asarray(_weight)
            if weight.shape != (num_embeddings, embedding_dim) or weight.dtype.kind != "f":
                raise ValueError(f"Embedding: expected a floating-point _weight of shape "
                                 f"{(num_embeddings, embedding_dim)}, got {weight.dtype} of shape {weight.shape}")
            self.weight = Parameter(weight, requires_grad=not freeze, dtype=dtype)

    def reset_parameters(self) -> None:
        """The weight drawn again from N(0, 1), into the same Parameter, and the `padding_idx` row zeroed, as
        PyTorch's Embedding.reset_parameters; from the module's `rng` or the library's generator."""
        init.normal_(self.weight, rng=self._rng)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        """The `padding_idx` row (if any) set to zeros, as PyTorch's."""
        if self.padding_idx is not None:
            with no_grad():
                init.zeros_(self.weight[self.padding_idx])

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        **options: Any) -> "Embedding":
        """An Embedding whose weight is a copy of `embeddings` (num, dim), in its dtype, as PyTorch's:
        frozen (it gets no gradient, optimizers skip it) unless `freeze=False`. A `padding_idx` row
        keeps its given values, and never gets a gradient."""
        where = "Embedding.from_pretrained"
        freeze = flag(freeze, "freeze", where)
        weight = as_tensor(embeddings)._data        # (Python floats: the default dtype, as torch.tensor)
        if weight.ndim != 2 or weight.dtype.kind != "f":
            raise ValueError(f"{where}: expected a 2-d floating-point array (num_embeddings, embedding_dim), "
                             f"got {weight.dtype} of shape {weight.shape}")
        return cls(*weight.shape, padding_idx, _weight=weight, _freeze=freeze, **options)

    def forward(self, indices: Any) -> Tensor:
        return _rows("Embedding", indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


def _rows(where: str, indices: Any, weight: Tensor, padding_idx: int | None) -> Tensor:
    """The lookup of `Embedding` and `embedding`: weight[indices] for integer indices in [0, num_embeddings)
    (ValueError naming `where` otherwise); where an index is padding_idx (>= 0) the row comes from a constant,
    the same values without a gradient."""
    index = array_of(indices)
    if index.dtype.kind not in "iu":
        raise ValueError(f"{where}: expected integer indices, got dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= weight.shape[0]):
        raise ValueError(f"{where}: indices must lie in [0, {weight.shape[0]}), "
                         f"got values from {index.min()} to {index.max()}")
    rows = weight[index]
    if padding_idx is None:
        return rows
    return ops.where((index == padding_idx)[..., None], rows.detach(), rows)


def embedding(input: Any, weight: Any, padding_idx: int | None = None, max_norm: Any = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of `weight` (num_embeddings, embedding_dim) at integer indices of any shape, as PyTorch's
    F.embedding: weight[input], of shape input.shape + (embedding_dim,); a gather, so each row's gradient
    is the sum of g over the positions that picked it. A lookup of row `padding_idx` (negative counts from
    the end) gets no gradient; unlike `Embedding`, the function leaves that row's values as they are.
    PyTorch's max_norm, scale_grad_by_freq and sparse only at their defaults (TypeError naming the option);
    norm_type matters only with max_norm."""
    only_defaults("embedding", {"max_norm": max_norm, "scale_grad_by_freq": scale_grad_by_freq, "sparse": sparse},
                  {"max_norm": None, "scale_grad_by_freq": False, "sparse": False})
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: expected weight of 2 axes (num_embeddings, embedding_dim), got shape "
                         f"{weight.shape}")
    num = weight.shape[0]
    if padding_idx is not None and not (is_int(padding_idx) and -num <= padding_idx < num):
        raise ValueError(f"embedding: padding_idx must be an integer in [-{num}, {num}) (within num_embeddings) or "
                         f"None, got {padding_idx!r}")
    return _rows("embedding", input, weight, None if padding_idx is None else int(padding_idx) % num)
