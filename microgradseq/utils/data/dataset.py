"""Datasets: `Dataset` (the base class a script subclasses), `TensorDataset`, `Subset`, and
`random_split`, as PyTorch's `torch.utils.data.dataset`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...checks import is_finite_number, is_int
from ...random import generator_or_default
from ...tensor import as_tensor


class Dataset:
    """PyTorch's `Dataset`, the base class a script's own dataset subclasses: it defines `__getitem__`
    (and `__len__`, which `DataLoader` and `random_split` need); items are what `__getitem__` gives."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__ "
                                  "(and __len__), as in PyTorch")


class TensorDataset(Dataset):
    """PyTorch's `TensorDataset`: tensors (or arrays) with the same first dimension; `ds[i]` is the
    tuple of each one's row i (`i` an integer, a slice or an integer array, indexed as tensors are)."""

    def __init__(self, *tensors: Any) -> None:
        self.tensors = tuple(as_tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else "a scalar" for t in self.tensors]
        if not sizes or len(set(sizes)) != 1 or sizes[0] == "a scalar":
            raise ValueError(f"TensorDataset: expected one or more tensors with the same size of the first "
                             f"dimension, got sizes {sizes}")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)


class Subset(Dataset):
    """PyTorch's `Subset`: the items of `dataset` at `indices` (what `random_split` returns)."""

    def __init__(self, dataset: Any, indices: Any) -> None:
        self.dataset, self.indices = dataset, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]


def random_split(dataset: Any, lengths: Any, generator: np.random.Generator | None = None) -> list[Subset]:
    """PyTorch's `random_split`: `dataset` split at random into non-overlapping `Subset`s of the given
    `lengths`, which sum to len(dataset), or fractions of it summing to 1 (each rounded down, the
    remaining items dealt one at a time from the first); the order is drawn from `generator` or the
    library's generator."""
    items = len(dataset)
    if not isinstance(lengths, (list, tuple)) or not lengths or not all(
            is_finite_number(x) and x >= 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be a list of integers >= 0 or of fractions summing to 1, "
                         f"got {lengths!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [math.floor(items * fraction) for fraction in lengths]
        for i in range(items - sum(sizes)):
            sizes[i % len(sizes)] += 1
    elif all(is_int(x) for x in lengths):
        sizes = [int(x) for x in lengths]
    else:
        raise ValueError(f"random_split: lengths must be integers, or fractions summing to 1, got {lengths!r}")
    if sum(sizes) != items:
        raise ValueError(f"random_split: the lengths {list(lengths)} sum to {sum(sizes)}, not to the length of "
                         f"the dataset ({items})")
    rng = generator_or_default(None, "random_split", generator)
    order = rng.permutation(items).tolist()
    ends = np.cumsum(sizes).tolist()
    return [Subset(dataset, order[end - size:end]) for size, end in zip(sizes, ends)]
