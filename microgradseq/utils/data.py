"""PyTorch's `torch.utils.data`, the part course scripts use: `Dataset`, `TensorDataset`, `DataLoader`,
`random_split`, `Subset`, and the samplers `SequentialSampler`, `RandomSampler` and
`SubsetRandomSampler` (`DataLoader(data, sampler=RandomSampler(data), batch_size=32)`).

    train = TensorDataset(X, y)                             # row i of X with label y[i]
    loader = DataLoader(train, batch_size=32, shuffle=True)
    for xb, yb in loader:                                   # xb (32, ...) float32, yb (32,) int64
        ...

A batch is a list of constants (no history), one per field, stacked along a new first axis in the
field's dtype. From a `TensorDataset` (or a `Subset` of one) it is one numpy `take` per tensor;
from any other dataset (`__len__`, and `__getitem__` giving a tensor, an array, a number or a tuple
of them) the items are stacked with numpy, as PyTorch's `default_collate`: Python ints become int64,
Python floats float64. `shuffle=True` draws a new order every epoch from `generator` (a numpy
Generator) or the library's generator, so `mg.manual_seed(n)` makes it reproducible; a `sampler`
(any iterable of indices, taken as it gives them) gives the order instead. One process: `num_workers=0` and
`pin_memory=False` are accepted, and no other option of PyTorch's but its default.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Iterator

import numpy as np

from ..checks import flag, is_finite_number, is_int, positive_int
from ..checks import generator as generator_checked
from ..random import generator_or_default
from ..spellings import only_defaults
from ..tensor import Tensor, as_tensor, owned

# PyTorch's DataLoader options for worker processes, samplers and memory pinning: only their defaults
_SINGLE_PROCESS = {"num_workers": 0, "pin_memory": False, "batch_sampler": None,
                   "collate_fn": None, "timeout": 0, "worker_init_fn": None, "multiprocessing_context": None,
                   "prefetch_factor": None, "persistent_workers": False, "pin_memory_device": ""}


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


class SequentialSampler:
    """PyTorch's `SequentialSampler`: the indices 0 .. len(data_source) - 1 in order."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))


class RandomSampler:
    """PyTorch's `RandomSampler`: the indices of `data_source` in a new random order each time it is
    iterated (`num_samples` of them, by default all; drawn with replacement if `replacement`), from
    `generator` (a numpy Generator) or the library's generator."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: np.random.Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = flag(replacement, "replacement", "RandomSampler")
        self.num_samples = positive_int(len(data_source) if num_samples is None else num_samples,
                                        "num_samples", "RandomSampler")
        self.generator = generator_checked(generator, "RandomSampler", "generator")

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        rng = generator_or_default(self.generator, "RandomSampler")
        items = len(self.data_source)
        if items == 0:
            raise ValueError(f"RandomSampler: cannot draw {self.num_samples} samples from an empty data_source")
        if self.replacement:
            order = rng.integers(0, items, self.num_samples)
        else:       # (more samples than items: one permutation after another, as PyTorch's)
            order = np.concatenate([rng.permutation(items) for _ in range(-(-self.num_samples // items))])
        return iter(order[:self.num_samples].tolist())


class SubsetRandomSampler:
    """PyTorch's `SubsetRandomSampler`: the given `indices` in a new random order each time."""

    def __init__(self, indices: Any, generator: np.random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator_checked(generator, "SubsetRandomSampler", "generator")

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        rng = generator_or_default(self.generator, "SubsetRandomSampler")
        return iter([self.indices[i] for i in rng.permutation(len(self.indices))])


def _tensors_and_rows(dataset: Any) -> tuple:
    """(the tensors, the row of each item or None for all in order) of a TensorDataset or a Subset of
    one (of one ...), which batch by indexing; (None, None) for any other dataset."""
    rows = None
    while type(dataset).__getitem__ is Subset.__getitem__:
        indices = np.asarray(dataset.indices, dtype=np.int64)
        rows = indices if rows is None else indices[rows]
        dataset = dataset.dataset
    if type(dataset).__getitem__ is not TensorDataset.__getitem__:
        return None, None
    return dataset.tensors, rows


def _collate(items: list) -> Any:
    """The items stacked along a new first axis, as PyTorch's `default_collate`: tuples field by field
    (a list out), tensors and arrays in their dtype, Python ints as int64 and floats as float64."""
    first = items[0]
    if isinstance(first, (tuple, list)):
        if any(not isinstance(item, (tuple, list)) or len(item) != len(first) for item in items):
            raise ValueError("DataLoader: the dataset's items must all have the same number of fields")
        return [_collate(list(field)) for field in zip(*items)]
    if not isinstance(first, (Tensor, np.ndarray, np.generic, int, float)):
        raise TypeError(f"DataLoader: cannot batch items of type {type(first).__name__}; a dataset's items must be "
                        "tensors, arrays, numbers, or tuples of them")
    try:
        batch = np.stack([item._data if isinstance(item, Tensor) else np.asarray(item) for item in items])
    except ValueError as error:
        raise ValueError(f"DataLoader: cannot stack the items of a batch ({error})") from None
    if batch.dtype.kind not in "biufc":
        raise TypeError(f"DataLoader: cannot batch items of dtype {batch.dtype}; expected numbers")
    if isinstance(first, (int, float)) and batch.dtype.kind in "iuf":     # Python numbers: int64 or float64
        batch = batch.astype(np.int64 if batch.dtype.kind in "iu" else np.float64, copy=False)
    return owned(batch)


class DataLoader:
    """PyTorch's `DataLoader`, in one process: batches of `batch_size` items of `dataset`, in order or,
    with `shuffle`, in a new random order every epoch, or in the order `sampler` gives each epoch (an
    iterable of integer indices, such as a `RandomSampler`, read as it goes; not with `shuffle`);
    `drop_last` drops a last, shorter batch. `len(loader)` is the number of batches (TypeError for a
    sampler without a length, as PyTorch's). The options after `shuffle` are keyword-only."""

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, *, sampler: Any = None,
                 drop_last: bool = False, generator: np.random.Generator | None = None, **options: Any) -> None:
        only_defaults("DataLoader", options, _SINGLE_PROCESS)
        if not (hasattr(type(dataset), "__len__") and hasattr(type(dataset), "__getitem__")):
            raise TypeError(f"DataLoader: expected a dataset with __len__ and __getitem__ (such as a "
                            f"TensorDataset), got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = positive_int(batch_size, "batch_size", "DataLoader")
        self.shuffle = flag(shuffle, "shuffle", "DataLoader")
        if sampler is not None and not hasattr(sampler, "__iter__"):
            raise TypeError(f"DataLoader: expected sampler an iterable of indices (such as RandomSampler(dataset)), "
                            f"got {type(sampler).__name__}")
        if sampler is not None and self.shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler gives the "
                             "order); pass one")
        self.sampler = sampler
        self.drop_last = flag(drop_last, "drop_last", "DataLoader")
        self.generator = generator_checked(generator, "DataLoader", "generator")

    def __len__(self) -> int:
        if self.sampler is not None and not hasattr(self.sampler, "__len__"):
            raise TypeError(f"DataLoader: len() of a loader needs a sampler with a length (__len__), got "
                            f"{type(self.sampler).__name__}")
        items = len(self.dataset if self.sampler is None else self.sampler)
        return items // self.batch_size if self.drop_last else -(-items // self.batch_size)

    def __iter__(self) -> Iterator:
        tensors, rows = _tensors_and_rows(self.dataset)
        for batch in self._batches():
            if tensors is None:
                yield _collate([self.dataset[int(i)] for i in batch])
            else:
                picked = batch if rows is None else rows[batch]
                yield [owned(np.take(t._data, picked, axis=0)) for t in tensors]

    def _batches(self) -> Iterator[np.ndarray]:
        """The indices of each batch: from the sampler as it gives them (it may have no length, or
        never end), else the dataset's in order or shuffled."""
        if self.sampler is None:
            items = len(self.dataset)
            rng = generator_or_default(self.generator, "DataLoader")
            order = rng.permutation(items) if self.shuffle else np.arange(items)
            usable = items - items % self.batch_size if self.drop_last else items
            yield from (order[start:start + self.batch_size] for start in range(0, usable, self.batch_size))
            return
        batch = []
        for i in self.sampler:
            try:
                batch.append(operator.index(i))
            except TypeError:
                raise TypeError(f"DataLoader: the sampler gave {i!r}; expected integer indices") from None
            if len(batch) == self.batch_size:
                yield np.array(batch, dtype=np.int64)
                batch = []
        if batch and not self.drop_last:
            yield np.array(batch, dtype=np.int64)


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
