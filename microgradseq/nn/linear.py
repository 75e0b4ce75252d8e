"""`Linear` (and `LazyLinear`), `Embedding`, and the two modules that only pass data on: `Identity` and
`Flatten`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, generator, is_int, positive_int
from .. import ops
from ..functional import linear
from ..random import generator_or_default
from ..spellings import check_device, only_defaults
from ..tensor import Tensor, as_tensor, get_default_dtype
from ..parameter import UninitializedParameter
from .module import Module, Parameter, same_dtype, uniform


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


class Linear(Module):
    """y = x W^T + b, with W (out, in) and b (out,), as PyTorch; init uniform(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = None, *, device: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
        check_device(where, device)
        in_features, out_features = positive_int(in_features, "in_features", where), positive_int(
            out_features, "out_features", where)
        bias, rng = flag(bias, "bias", where), generator(rng, where)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = uniform((out_features, in_features), bound, rng, dtype)
        self.bias = uniform((out_features,), bound, rng, dtype) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}: expected input of shape (..., {self.in_features}), "
                             f"got {x.shape}")
        return linear(same_dtype(self, x, self.weight.dtype), self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(Linear):
    """A `Linear` that reads in_features from its first input (x.shape[-1]), as PyTorch's: until then
    in_features is 0 and the weight (out, 0) holds nothing. The first call draws weight and bias as
    Linear does, uniform(-1/sqrt(in), 1/sqrt(in)), into the same Parameter objects (so an optimizer
    made before the call trains them), and the module becomes a `Linear`."""

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

    def _loads_shape(self, name: str, tensor: Tensor, shape: tuple) -> bool:
        """Before the first call, a state dict gives the weight its shape (out, in), any in > 0."""
        if name == "weight":
            return len(shape) == 2 and shape[0] == self.out_features and shape[1] > 0
        return shape == tensor.shape

    def _loaded(self) -> None:
        if self.weight.shape[1]:            # (given its shape by the state dict: a Linear from now on)
            self.in_features = self.weight.shape[1]
            self.__class__ = Linear

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim == 0 or x.shape[-1] == 0:
            raise ValueError(f"LazyLinear: expected input of shape (..., in_features) with in_features > 0, "
                             f"got {x.shape}")
        in_features = x.shape[-1]
        rng, bound, dtype = generator_or_default(self._rng, "LazyLinear"), 1 / math.sqrt(in_features), self.weight.dtype
        self.weight._materialise(rng.uniform(-bound, bound, (self.out_features, in_features)).astype(dtype))
        if self.bias is not None:
            self.bias._materialise(rng.uniform(-bound, bound, self.out_features).astype(dtype))
        self.in_features = in_features
        self.__class__ = Linear             # (as PyTorch's: from now on it is a Linear)
        return self.forward(x)


class Embedding(Module):
    """Row lookup: indices (any shape) -> weight[indices], weight (num, dim) ~ N(0, 1) as PyTorch.

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
        self.padding_idx = None if padding_idx is None else int(padding_idx) % num_embeddings
        if _weight is None:
            rng = generator_or_default(rng, "Embedding")
            weight = rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype or get_default_dtype())
            if self.padding_idx is not None:
                weight[self.padding_idx] = 0
        else:
            weight = np.asarray(_weight)
            if weight.shape != (num_embeddings, embedding_dim) or weight.dtype.kind != "f":
                raise ValueError(f"Embedding: expected a floating-point _weight of shape "
                                 f"{(num_embeddings, embedding_dim)}, got {weight.dtype} of shape {weight.shape}")
        self.weight = Parameter(weight, requires_grad=not freeze, dtype=dtype)

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
        index = np.asarray(indices)
        if index.dtype.kind not in "iu":
            raise ValueError(f"Embedding: expected integer indices, got dtype {index.dtype}")
        if index.size and (index.min() < 0 or index.max() >= self.num_embeddings):
            raise ValueError(f"Embedding: indices must lie in [0, {self.num_embeddings}), "
                             f"got values from {index.min()} to {index.max()}")
        rows = self.weight[index]
        if self.padding_idx is None:
            return rows
        # the same values, but where an index is padding_idx the row comes from a constant: no gradient
        return ops.where((index == self.padding_idx)[..., None], rows.detach(), rows)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
