"""`AdaptiveLogSoftmaxWithLoss`, PyTorch's adaptive softmax (torch/nn/modules/adaptive.py; Grave et al.,
"Efficient softmax approximation for GPUs", 2016), the output layer of word-level language models with
large vocabularies. The classes, sorted by frequency, are split by `cutoffs` c_0 < c_1 < ... into a
shortlist [0, c_0), scored by the `head`, and clusters [c_{i-1}, c_i), each scored by its own small
projection `tail[i-1]` (in_features -> in_features // div_value^i -> cluster size). The head also scores
one logit per cluster, so

    log p(y | x) = log_softmax(head(x))[y]                                          y in the shortlist
    log p(y | x) = log_softmax(head(x))[c_0 + i - 1] + log_softmax(tail[i-1](x))[y - c_{i-1}]   y in cluster i

and `forward` evaluates a cluster only on the rows whose target lies in it. Everything is written with
`Linear`, `log_softmax`, `gather` and `index_copy`, so the gradients need no rule of their own.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..checks import flag, generator, is_int, positive_int, positive_number
from ..functional import log_softmax
from ..ops import concat
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, owned
from .containers import ModuleList, Sequential
from .linear import Linear
from .module import Module, same_dtype


class _ASMoutput(NamedTuple):
    """What the module returns, as PyTorch's namedtuple: each sample's log-probability of its target,
    and the loss, their negative mean."""

    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax, as PyTorch's: `head` Linear(in_features, shortlist_size + n_clusters, bias=head_bias)
    and `tail`, a ModuleList of Sequential(Linear(in_features, hsz, bias=False), Linear(hsz, osz, bias=False))
    with hsz = in_features // div_value^(i+1) and osz the cluster's number of classes, drawn in that order
    (from `rng` or the library's generator). `cutoffs`: unique increasing integers in [1, n_classes - 1]."""

    def __init__(self, in_features: int, n_classes: int, cutoffs: Any, div_value: float = 4.0,
                 head_bias: bool = False, device: Any = None, dtype: Any = None, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        where = "AdaptiveLogSoftmaxWithLoss"
        check_device(where, device)
        in_features = positive_int(in_features, "in_features", where)
        n_classes = positive_int(n_classes, "n_classes", where)
        try:
            cutoffs = list(cutoffs)
        except TypeError:                       # (a number: PyTorch's "'int' object is not iterable")
            raise ValueError(f"{where}: cutoffs should be a sequence (a list or tuple) of integers, got "
                             f"{type(cutoffs).__name__} {cutoffs!r}") from None
        if not cutoffs:
            raise ValueError(f"{where}: cutoffs should be a sequence of length larger than 0, got {cutoffs}")
        if (not all(is_int(c) for c in cutoffs) or cutoffs != sorted(cutoffs) or min(cutoffs) <= 0
                or max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs)):
            raise ValueError(f"{where}: cutoffs should be a sequence of unique, positive integers sorted in an "
                             f"increasing order, where each value is between 1 and n_classes-1 ({n_classes - 1}), "
                             f"got {cutoffs}")
        div_value, head_bias = positive_number(div_value, "div_value", where), flag(head_bias, "head_bias", where)
        rng = generator(rng, where)
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size, self.n_clusters = self.cutoffs[0], len(cutoffs)
        self.head_size = self.shortlist_size + self.n_clusters
        hidden_sizes = [int(in_features // (div_value ** (i + 1))) for i in range(self.n_clusters)]
        if min(hidden_sizes) < 1:      # (PyTorch makes a Linear with no outputs: its cluster's logits all 0)
            raise ValueError(f"{where}: in_features // div_value^i must be at least 1 for each cluster i, got "
                             f"sizes {hidden_sizes} from in_features={in_features} and div_value={div_value}")
        self.head = Linear(in_features, self.head_size, bias=head_bias, rng=rng, dtype=dtype)
        self.tail = ModuleList()
        for i, hsz in enumerate(hidden_sizes):
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, rng=rng, dtype=dtype),
                                        Linear(hsz, osz, bias=False, rng=rng, dtype=dtype)))

    def reset_parameters(self) -> None:
        """The head's and then each cluster's two projections' parameters drawn again, by their
        `Linear.reset_parameters` (the same Parameter objects), as PyTorch's."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input: Any, target: Any) -> _ASMoutput:
        """(output, loss): output[n] = log p(target[n] | input[n]), loss = -mean(output). Input (N, in_features)
        with target (N,), or unbatched (in_features,) with a 0-d target (a 0-d output)."""
        where = "AdaptiveLogSoftmaxWithLoss"
        x, classes = as_tensor(input), as_tensor(target)._data
        if classes.dtype.kind not in "iu":
            raise TypeError(f"{where}: expected integer class targets, got dtype {classes.dtype}")
        if classes.ndim > 1:
            raise ValueError(f"{where}: 0D or 1D target tensor expected, multi-target not supported, got target "
                             f"of shape {classes.shape}")
        if x.ndim != classes.ndim + 1:
            raise ValueError(f"{where}: {classes.ndim}D target tensor expects {classes.ndim + 1}D input tensors, "
                             f"but found input of shape {x.shape}")
        if classes.ndim == 1 and x.shape[0] != classes.shape[0]:
            raise ValueError(f"{where}: input and target should have the same size in the batch dimension, got "
                             f"input of shape {x.shape} and target of shape {classes.shape}")
        batched = classes.ndim == 1
        x = self._features(where, x).reshape(-1, self.in_features)
        classes = classes.reshape(-1).astype(np.int64)
        if classes.size and (classes.min() < 0 or classes.max() > self.n_classes - 1):
            raise ValueError(f"{where}: target values should be in [0, {self.n_classes - 1}], but values in range "
                             f"[{classes.min()}, {classes.max()}] were found")
        cluster = np.searchsorted(self.cutoffs, classes, side="right")     # 0: the shortlist, i: cluster i
        gather_inds = np.where(cluster == 0, classes, self.shortlist_size + cluster - 1)
        output = owned(np.zeros(classes.shape, x.dtype))
        for i in range(1, self.n_clusters + 1):
            rows = np.flatnonzero(cluster == i)
            if rows.size == 0:
                continue
            relative_target = classes[rows] - self.cutoffs[i - 1]
            cluster_logprob = log_softmax(self.tail[i - 1](x.index_select(0, rows)), dim=1)
            output = output.index_copy(0, rows, cluster_logprob.gather(1, relative_target[:, None]).reshape(-1))
        head_logprob = log_softmax(self.head(x), dim=1)
        output = output + head_logprob.gather(1, gather_inds[:, None]).reshape(-1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.reshape(()), loss)

    def log_prob(self, input: Any) -> Tensor:
        """log p(c | x) for every class c, (N, in_features) -> (N, n_classes); exp of each row sums to 1."""
        x = self._batch("AdaptiveLogSoftmaxWithLoss.log_prob", input)
        return self._full_log_prob(x, self.head(x))

    def predict(self, input: Any) -> Tensor:
        """The most probable class of each row, (N, in_features) -> int64 (N,): log_prob(input).argmax(1), with
        the clusters evaluated only for the rows whose head picks a cluster over every shortlist class."""
        x = self._batch("AdaptiveLogSoftmaxWithLoss.predict", input)
        head_output = self.head(x)
        output = head_output.data.argmax(axis=1)
        outside = np.flatnonzero(output >= self.shortlist_size)
        if outside.size:
            log_prob = self._full_log_prob(x.index_select(0, outside), head_output.index_select(0, outside))
            output[outside] = log_prob.data.argmax(axis=1)
        return owned(output.astype(np.int64))

    def _full_log_prob(self, x: Tensor, head_output: Tensor) -> Tensor:
        """The head's shortlist log-probabilities, then each cluster's, shifted by its logit in the head."""
        head_logprob = log_softmax(head_output, dim=1)
        pieces = [head_logprob[:, :self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            cluster_column = head_logprob[:, self.shortlist_size + i:self.shortlist_size + i + 1]
            pieces.append(log_softmax(projection(x), dim=1) + cluster_column)
        return concat(pieces, dim=1)

    def _batch(self, where: str, input: Any) -> Tensor:
        x = as_tensor(input)
        if x.ndim != 2:
            raise ValueError(f"{where}: expected input of shape (N, {self.in_features}), got {x.shape}")
        return self._features(where, x)

    def _features(self, where: str, x: Tensor) -> Tensor:
        """x itself, if its last axis is in_features long and its dtype the module's (errors naming `where`)."""
        if x.shape[-1] != self.in_features:
            raise ValueError(f"{where}: expected input of shape (..., {self.in_features}), got {x.shape}")
        return same_dtype(self, x, self.head.weight.dtype)
