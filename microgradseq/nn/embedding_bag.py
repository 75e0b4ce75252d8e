"""`EmbeddingBag` and its function `embedding_bag` (F.embedding_bag): the sum, mean or max of each bag of
embedding rows, as PyTorch's, without a (bags, longest bag, dim) tensor of every lookup for sum and mean.

A bag is a row of a 2-d input (B, N), or for a 1-d input a run input[offsets[b] : offsets[b + 1]] (the last
bag to the end, or to offsets[-1] with `include_last_offset`). Entries equal to `padding_idx` are left out
of their bag (and of the mean's count); an empty bag gives zeros. With g the rows weight[input] (L, dim):

    sum, mean:  out = M g, M (B, L) a constant, M[b, k] = 1 (times per_sample_weights[k] for sum),
                or 1 / (entries of bag b) for mean, where entry k is in bag b, else 0
    max:        out[b] = max over the entries k of bag b of g[k], per column

written with a gather, `matmul` and (for max) `where` and `max`, so the chain rule gives the gradients:
row input[k] of the weight gets M[b, k] times the bag's gradient (max: the row that was the maximum), and
per_sample_weights[k] gets g[k] . grad_out[b]."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import flag, generator, is_int, positive_int
from ..spellings import check_device, only_defaults
from ..tensor import Tensor, as_tensor, owned
from .linear import Embedding
from .module import Module, Parameter, empty_parameter

MODES = ("sum", "mean", "max")


def embedding_bag(input: Any, weight: Any, offsets: Any = None, max_norm: Any = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Any = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """The sum, mean or max of each bag of rows of `weight` (num_embeddings, embedding_dim), (B, embedding_dim),
    as PyTorch's F.embedding_bag (the module docstring says how): input (B, N) without offsets, or (L,) with
    offsets (B,) (B + 1 with `include_last_offset`) starting at 0; per_sample_weights (input's shape) only for
    mode="sum"; entries equal to padding_idx (negative counts from the end) left out. PyTorch's max_norm,
    scale_grad_by_freq and sparse only at their defaults (TypeError naming the option)."""
    only_defaults("embedding_bag", {"max_norm": max_norm, "scale_grad_by_freq": scale_grad_by_freq,
                                    "sparse": sparse}, {"max_norm": None, "scale_grad_by_freq": False, "sparse": False})
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding_bag: expected weight of 2 axes (num_embeddings, embedding_dim), got shape "
                         f"{weight.shape}")
    if weight.dtype.kind != "f":
        raise TypeError(f"embedding_bag: expected a floating-point weight, got dtype {weight.dtype}")
    if mode not in MODES:
        raise ValueError(f"embedding_bag: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
    include_last_offset = flag(include_last_offset, "include_last_offset", "embedding_bag")
    index = as_tensor(input)._data
    if index.dtype.kind not in "iu":
        raise ValueError(f"embedding_bag: expected integer indices, got dtype {index.dtype}")
    num = weight.shape[0]
    if index.size and (index.min() < 0 or index.max() >= num):
        raise ValueError(f"embedding_bag: indices must lie in [0, {num}), got values from {index.min()} to "
                         f"{index.max()}")
    if padding_idx is not None and not (is_int(padding_idx) and -num <= padding_idx < num):
        raise ValueError(f"embedding_bag: padding_idx must be an integer in [-{num}, {num}) (within num_embeddings) "
                         f"or None, got {padding_idx!r}")
    if per_sample_weights is not None:
        per_sample_weights = as_tensor(per_sample_weights)
        if per_sample_weights.shape != index.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then "
                             f"it must have the same shape as the input ({index.shape})")
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights is only supported for mode='sum', got "
                                      f"mode={mode!r}")
        if per_sample_weights.dtype != weight.dtype:
            raise TypeError(f"embedding_bag: expected per_sample_weights of the weight's dtype {weight.dtype}, got "
                            f"{per_sample_weights.dtype}")
        per_sample_weights = per_sample_weights.reshape(-1)
    starts, ends = _bags(index, offsets, include_last_offset)
    flat = index.reshape(-1)
    bag_of = np.full(flat.size, -1)                 # each entry's bag; -1 past the last offset (in no bag)
    for b, (start, end) in enumerate(zip(starts, ends)):
        bag_of[start:end] = b
    counted = bag_of >= 0
    if padding_idx is not None:
        counted &= flat != int(padding_idx) % num
    rows = weight[flat]
    if mode == "max":
        return _bag_maxima(rows, bag_of, counted, len(starts))
    share = np.zeros((len(starts), flat.size), weight.dtype)
    share[bag_of[counted], np.flatnonzero(counted)] = 1
    if mode == "mean":
        share /= np.maximum(share.sum(axis=1, keepdims=True), 1)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    return ops.matmul(owned(share), rows)


def _bags(index: np.ndarray, offsets: Any, include_last_offset: bool) -> tuple[np.ndarray, np.ndarray]:
    """Where each bag starts and ends in the flattened input: the rows of a 2-d input, the runs between
    offsets of a 1-d one (checked: integers, from 0, not decreasing, within the input)."""
    if index.ndim == 2:
        if offsets is not None:
            raise ValueError(f"embedding_bag: if input is 2D (here {index.shape}), then offsets has to be None, as "
                             f"input is treated is a mini-batch of fixed length sequences; got offsets")
        starts = np.arange(index.shape[0]) * index.shape[1]
        return starts, starts + index.shape[1]
    if index.ndim != 1:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D, got shape {index.shape}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D tensor for a 1D input, got None")
    marks = as_tensor(offsets)._data
    if marks.ndim != 1 or marks.dtype.kind not in "iu" or (include_last_offset and marks.size == 0):
        wanted = " (at least one, with include_last_offset)" if include_last_offset else ""
        raise ValueError(f"embedding_bag: offsets has to be a 1D tensor of integers{wanted}, got {marks.dtype} of "
                         f"shape {marks.shape}")
    if marks.size and (marks[0] != 0 or np.any(np.diff(marks) < 0) or marks[-1] > index.size):
        raise ValueError(f"embedding_bag: offsets must start at 0 and not decrease, up to the input's length "
                         f"{index.size}, got {marks.tolist()}")
    if include_last_offset:
        return marks[:-1], marks[1:]
    return marks, np.append(marks[1:], index.size).astype(marks.dtype)


def _bag_maxima(rows: Tensor, bag_of: np.ndarray, counted: np.ndarray, bags: int) -> Tensor:
    """out[b] = the columnwise max of the rows counted in bag b (zeros for a bag with none): the rows laid out
    (bags, longest bag, dim), the places of no entry -inf, `max` over the middle axis, empty bags zeroed."""
    sizes = np.bincount(bag_of[counted], minlength=bags)
    longest = int(sizes.max()) if bags else 0
    if longest == 0:                        # (every bag empty: zeros, still a function of the rows)
        return ops.matmul(owned(np.zeros((bags, rows.shape[0]), rows.dtype)), rows)
    places = np.zeros((bags, longest), np.int64)
    filled = np.arange(longest) < sizes[:, None]
    places[filled] = np.flatnonzero(counted)[np.argsort(bag_of[counted], kind="stable")]
    laid_out = ops.where(owned(filled[..., None]), rows[places], owned(np.array(-np.inf, rows.dtype)))
    return ops.where(owned((sizes > 0)[:, None]), laid_out.max(1), owned(np.array(0, rows.dtype)))


class EmbeddingBag(Module):
    """`F.embedding_bag` of the module's weight (num_embeddings, embedding_dim) ~ N(0, 1) (`reset_parameters`,
    from `rng` or the library's generator), as PyTorch's: the `mode` ('mean' by default, 'sum' or 'max') of
    each bag of rows, called as `bag(input, offsets=None, per_sample_weights=None)`. A `padding_idx` row starts
    as zeros, is left out of every bag and never gets a gradient. max_norm, norm_type, scale_grad_by_freq and
    sparse are accepted only at their defaults (kept as attributes, as PyTorch's); `_weight` is PyTorch's own
    argument for `from_pretrained`."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Any = None, include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None, *, rng: np.random.Generator | None = None,
                 _freeze: bool = False) -> None:
        super().__init__()
        where = "EmbeddingBag"
        check_device(where, device)
        only_defaults(where, {"max_norm": max_norm, "scale_grad_by_freq": scale_grad_by_freq, "sparse": sparse},
                      {"max_norm": None, "scale_grad_by_freq": False, "sparse": False})
        num_embeddings = positive_int(num_embeddings, "num_embeddings", where)
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", where)
        if mode not in MODES:
            raise ValueError(f"{where}: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
        if padding_idx is not None and not (is_int(padding_idx) and -num_embeddings <= padding_idx < num_embeddings):
            raise ValueError(f"{where}: padding_idx must be an integer in [-{num_embeddings}, {num_embeddings}) "
                             f"(within num_embeddings) or None, got {padding_idx!r}")
        self.num_embeddings, self.mode = num_embeddings, mode
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = None, norm_type, False, False
        self.include_last_offset = flag(include_last_offset, "include_last_offset", where)
        self.padding_idx = None if padding_idx is None else int(padding_idx) % num_embeddings
        freeze, self._rng = flag(_freeze, "_freeze", where), generator(rng, where)
        if _weight is None:
            self.weight = empty_parameter((num_embeddings, self.embedding_dim), dtype, requires_grad=not freeze)
            self.reset_parameters()
        else:
            weight = as_tensor(_weight)._data
            if weight.shape != (num_embeddings, self.embedding_dim) or weight.dtype.kind != "f":
                raise ValueError(f"{where}: expected a floating-point _weight of shape "
                                 f"{(num_embeddings, self.embedding_dim)}, got {weight.dtype} of shape {weight.shape}")
            self.weight = Parameter(weight, requires_grad=not freeze, dtype=dtype)

    # PyTorch's EmbeddingBag repeats Embedding's: N(0, 1) again, then the padding_idx row zeroed
    reset_parameters = Embedding.reset_parameters
    _fill_padding_idx_with_zero = Embedding._fill_padding_idx_with_zero

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> "EmbeddingBag":
        """An EmbeddingBag whose weight is a copy of `embeddings` (num, dim), frozen unless `freeze=False`, as
        PyTorch's."""
        where = "EmbeddingBag.from_pretrained"
        weight = as_tensor(embeddings)._data
        if weight.ndim != 2 or weight.dtype.kind != "f":
            raise ValueError(f"{where}: expected a 2-d floating-point array (num_embeddings, embedding_dim), "
                             f"got {weight.dtype} of shape {weight.shape}")
        return cls(*weight.shape, max_norm, norm_type, scale_grad_by_freq, mode, sparse, weight, include_last_offset,
                   padding_idx, _freeze=flag(freeze, "freeze", where))

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Any = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, mode=self.mode, per_sample_weights=per_sample_weights,
                             include_last_offset=self.include_last_offset, padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        norm = "" if self.norm_type == 2 else f", norm_type={self.norm_type}"
        return f"{self.num_embeddings}, {self.embedding_dim}{norm}, mode={self.mode!r}{padding}"
