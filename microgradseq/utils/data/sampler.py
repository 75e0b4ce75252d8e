"""Samplers: the order in which a `DataLoader` visits a dataset's items, as PyTorch's
`torch.utils.data.sampler`: the base class `Sampler`, `SequentialSampler`, `RandomSampler`,
`SubsetRandomSampler`, `WeightedRandomSampler`, and `BatchSampler`, which groups a sampler's indices
into batches."""

from __future__ import annotations

from typing import Any, Generic, Iterator, TypeVar

import numpy as np

from ...checks import is_int, positive_int
from ...checks import generator as generator_checked
from ...creation import multinomial
from ...random import generator_or_default

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """PyTorch's `Sampler`, the base class of a script's own sampler: it defines `__iter__`, giving the
    indices a `DataLoader` asks the dataset for (and may define `__len__`). Generic as PyTorch's
    (`class EvenIndices(Sampler[int])`); `data_source` is accepted and not kept, as PyTorch's."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__}: a Sampler subclass must define __iter__, as in PyTorch")


class SequentialSampler(Sampler[int]):
    """PyTorch's `SequentialSampler`: the indices 0 .. len(data_source) - 1 in order."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return length_of(self.data_source, "SequentialSampler")

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))


class RandomSampler(Sampler[int]):
    """PyTorch's `RandomSampler`: the indices of `data_source` in a new random order each time it is
    iterated (`num_samples` of them, by default all; drawn with replacement if `replacement`), from
    `generator` (a numpy Generator) or the library's generator."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: np.random.Generator | None = None) -> None:
        if not isinstance(replacement, (bool, np.bool_)):       # (PyTorch's TypeError, in its words)
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.replacement = bool(replacement)
        items = length_of(data_source, "RandomSampler")
        self.data_source = data_source
        self.num_samples = positive_int(items if num_samples is None else num_samples,
                                        "num_samples", "RandomSampler")
        self.generator = generator_checked(generator, "RandomSampler", "generator")

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        items = length_of(self.data_source, "RandomSampler")
        if items == 0:
            raise ValueError(f"RandomSampler: cannot draw {self.num_samples} samples from an empty data_source")
        return self._drawn(items)

    def _drawn(self, items: int) -> Iterator[int]:
        """The indices, drawn as they are read (PyTorch's way), so a sampler of num_samples=10**10 (an
        endless loader's) gives its first batch at once: with replacement 32 uniform ones at a time,
        else one permutation of the items after another. The generator is the one in use at the first
        index read (`torch.manual_seed` after `iter(sampler)` decides the order, as in PyTorch)."""
        rng = generator_or_default(self.generator, "RandomSampler")
        for start in range(0, self.num_samples, 32 if self.replacement else items):
            left = self.num_samples - start
            if self.replacement:
                yield from rng.integers(0, items, min(32, left)).tolist()
            else:
                yield from rng.permutation(items)[:left].tolist()


def length_of(data_source: Any, where: str, name: str = "data_source") -> int:
    """len(data_source), or TypeError naming `where` (and the argument, `name`) for one without a length."""
    try:
        return len(data_source)
    except TypeError:
        if hasattr(type(data_source), "__len__"):
            raise                                   # (its own __len__ failed: that error, as it was)
        streamed = hasattr(type(data_source), "__iter__")   # (an IterableDataset, a generator)
        raise TypeError(f"{where}: expected a {name} with a length (__len__), such as a Dataset or a list, got "
                        f"{type(data_source).__name__}" + ("; an iterable-style dataset (IterableDataset) has none: "
                                                           "DataLoader reads it in the order its __iter__ gives"
                                                           if streamed else "")) from None


def sequence_of_indices(indices: Any, where: str) -> Any:
    """`indices` if it has a length and items (a list, range, array or tensor), else TypeError naming `where`."""
    if not (hasattr(type(indices), "__len__") and hasattr(type(indices), "__getitem__")):
        raise TypeError(f"{where}: expected indices a sequence of indices (a list, range, array or tensor), got "
                        f"{type(indices).__name__}")
    return indices


class SubsetRandomSampler(Sampler[int]):
    """PyTorch's `SubsetRandomSampler`: the given `indices` in a new random order each time."""

    def __init__(self, indices: Any, generator: np.random.Generator | None = None) -> None:
        self.indices = sequence_of_indices(indices, "SubsetRandomSampler")
        self.generator = generator_checked(generator, "SubsetRandomSampler", "generator")

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        """Drawn at the first index read, as PyTorch's generator draws (so `torch.manual_seed` between
        `iter(sampler)` and the first `next` decides the order)."""
        rng = generator_or_default(self.generator, "SubsetRandomSampler")
        for i in rng.permutation(len(self.indices)):
            yield self.indices[i]


class WeightedRandomSampler(Sampler[int]):
    """PyTorch's `WeightedRandomSampler`: `num_samples` indices 0 .. len(weights) - 1, index i drawn with
    probability weights[i] / sum(weights), with replacement unless `replacement=False` (then each index
    at most once, and at most as many as there are non-zero weights), drawn anew each time it is iterated
    from `generator` (a numpy Generator) or the library's generator. `weights` is a 1-d sequence, array
    or tensor of finite, non-negative numbers (not all zero), which need not sum to 1."""

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 generator: np.random.Generator | None = None) -> None:
        if not is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, (bool, np.bool_)):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        self.weights = _weights(weights)
        if not replacement and num_samples > np.count_nonzero(self.weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(self.weights)} non-zero weights")
        self.num_samples, self.replacement = int(num_samples), bool(replacement)
        self.generator = generator_checked(generator, "WeightedRandomSampler", "generator")

    def __iter__(self) -> Iterator[int]:
        """Drawn at the first index read, as PyTorch's generator draws."""
        drawn = multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


def _weights(weights: Any) -> np.ndarray:
    """A WeightedRandomSampler's weights as float64 (PyTorch's double), checked: 1-d, finite, non-negative,
    not all zero (ValueError naming WeightedRandomSampler otherwise)."""
    try:
        array = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence of numbers, got "
                         f"{type(weights).__name__}") from None
    if array.ndim != 1:
        raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have shape "
                         f"{array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or not array.sum() > 0:
        raise ValueError("WeightedRandomSampler: weights must be finite and non-negative, and not all zero")
    return array


class BatchSampler(Sampler[list]):
    """PyTorch's `BatchSampler`: the indices `sampler` gives, in lists of `batch_size` (the last one
    shorter unless `drop_last`), for `DataLoader(dataset, batch_sampler=...)`, or iterated by hand:

        list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))  ->  [[0, 1], [2, 3], [4]]

    `len()` is the number of lists, from the sampler's length (a TypeError if it has none)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if not is_int(batch_size) or isinstance(batch_size, (bool, np.bool_)) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        if not hasattr(sampler, "__iter__"):
            raise TypeError(f"BatchSampler: expected sampler an iterable of indices (such as "
                            f"RandomSampler(dataset)), got {type(sampler).__name__}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), bool(drop_last)

    def __iter__(self) -> Iterator[list]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if not hasattr(self.sampler, "__len__"):
            raise TypeError(f"BatchSampler: len() needs a sampler with a length (__len__), got "
                            f"{type(self.sampler).__name__}")
        items = len(self.sampler)
        return items // self.batch_size if self.drop_last else -(-items // self.batch_size)
