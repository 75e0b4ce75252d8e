"""`Linear` and `Embedding`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, generator, positive_int
from ..functional import linear
from ..random import generator_or_default
from ..tensor import Tensor, as_tensor, get_default_dtype
from .module import Module, Parameter, same_dtype, uniform


class Linear(Module):
    """y = x W^T + b, with W (out, in) and b (out,), as PyTorch; init uniform(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
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


class Embedding(Module):
    """Row lookup: indices (any shape) -> weight[indices], weight (num, dim) ~ N(0, 1) as PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__()
        num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        rng = generator_or_default(rng, "Embedding")
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim))
                                .astype(dtype or get_default_dtype()))

    def forward(self, indices: Any) -> Tensor:
        index = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
        if index.dtype.kind not in "iu":
            raise ValueError(f"Embedding: expected integer indices, got dtype {index.dtype}")
        if index.size and (index.min() < 0 or index.max() >= self.num_embeddings):
            raise ValueError(f"Embedding: indices must lie in [0, {self.num_embeddings}), "
                             f"got values from {index.min()} to {index.max()}")
        return self.weight[index]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
