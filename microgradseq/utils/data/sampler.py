"""Samplers: the order in which a `DataLoader` visits a dataset's items, as PyTorch's
`torch.utils.data.sampler`, and `BatchSampler`, which groups a sampler's indices into batches."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ...checks import flag, is_int, positive_int
from ...checks import generator as generator_checked
from ...random import generator_or_default


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
        return self._drawn(rng, items)

    def _drawn(self, rng: np.random.Generator, items: int) -> Iterator[int]:
        """The indices, drawn as they are read (PyTorch's way), so a sampler of num_samples=10**10 (an
        endless loader's) gives its first batch at once: with replacement 32 uniform ones at a time,
        else one permutation of the items after another."""
        for start in range(0, self.num_samples, 32 if self.replacement else items):
            left = self.num_samples - start
            if self.replacement:
                yield from rng.integers(0, items, min(32, left)).tolist()
            else:
                yield from rng.permutation(items)[:left].tolist()


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


class BatchSampler:
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
