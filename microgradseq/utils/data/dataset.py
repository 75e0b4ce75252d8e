"""Datasets: `Dataset` (the base class a script subclasses), `IterableDataset` (the base class of a
stream of items), `TensorDataset`, `Subset`, `ConcatDataset`, `ChainDataset` and `random_split`, as
PyTorch's `torch.utils.data.dataset`."""

from __future__ import annotations

import bisect
import math
import operator
from typing import Any, Generic, Iterable, Iterator, TypeVar

import numpy as np

from ...checks import is_finite_number, is_int
from ...random import generator_or_default
from ...tensor import as_tensor
from .sampler import length_of, sequence_of_indices

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """PyTorch's `Dataset`, the base class a script's own dataset subclasses: it defines `__getitem__`
    (and `__len__`, which `DataLoader` and `random_split` need); items are what `__getitem__` gives.
    Generic as PyTorch's (`class Pairs(Dataset[tuple[Tensor, int]])`); `a + b` is `ConcatDataset([a, b])`."""

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__ "
                                  "(and __len__), as in PyTorch")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """PyTorch's `IterableDataset`, the base class of a dataset that is a stream: it defines `__iter__`
    (and may define `__len__`); a `DataLoader` batches the items in the order `__iter__` gives them.
    `a + b` is `ChainDataset([a, b])`."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__}: an IterableDataset subclass must define __iter__, "
                                  "as in PyTorch")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


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
        self.dataset, self.indices = dataset, sequence_of_indices(indices, "Subset")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]


class ConcatDataset(Dataset[T_co]):
    """PyTorch's `ConcatDataset`: the items of each of `datasets` in turn; `cumulative_sizes[i]` is how many
    items datasets 0..i hold together. `ds[i]` asks the dataset that holds item i for its own index."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        try:
            datasets = list(datasets)
        except TypeError:
            raise TypeError(f"ConcatDataset: expected datasets, a list of datasets, got "
                            f"{type(datasets).__name__}") from None
        self.datasets = datasets
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise IterableStyleError("ConcatDataset does not support IterableDataset (chain them with "
                                         "ChainDataset)")
            if not hasattr(type(dataset), "__len__"):
                raise TypeError(f"ConcatDataset: expected datasets with a length (__len__), got "
                                f"{type(dataset).__name__}")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        """The running totals of the lengths of `sequence`'s datasets."""
        totals, total = [], 0
        for dataset in sequence:
            total += len(dataset)
            totals.append(total)
        return totals

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: Any) -> T_co:
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"ConcatDataset: expected an integer index, got {type(index).__name__}") from None
        if index < -len(self):              # (PyTorch's error types: a ValueError below, an IndexError above)
            raise ValueError(f"ConcatDataset: absolute value of index should not exceed dataset length "
                             f"({len(self)}), got {index}")
        if index >= len(self):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {len(self)} items")
        index = index + len(self) if index < 0 else index
        which = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[which][index - (self.cumulative_sizes[which - 1] if which else 0)]


class IterableStyleError(TypeError, AssertionError):
    """A dataset of the wrong style for ConcatDataset (an IterableDataset) or ChainDataset (a map-style
    one): a TypeError, and an AssertionError as PyTorch's (its checks are asserts)."""


class ChainDataset(IterableDataset[T_co]):
    """PyTorch's `ChainDataset`: the items of each of the iterable `datasets` in turn."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[T_co]:
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise IterableStyleError(f"ChainDataset only supports IterableDataset, got {type(dataset).__name__}")
            yield from dataset

    def __len__(self) -> int:
        return sum(length_of(dataset, "ChainDataset", "dataset") for dataset in self.datasets)


def random_split(dataset: Any, lengths: Any, generator: np.random.Generator | None = None) -> list[Subset]:
    """PyTorch's `random_split`: `dataset` split at random into non-overlapping `Subset`s of the given
    `lengths`, which sum to len(dataset), or fractions of it summing to 1 (each rounded down, the
    remaining items dealt one at a time from the first); the order is drawn from `generator` or the
    library's generator."""
    items = length_of(dataset, "random_split", "dataset")
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
