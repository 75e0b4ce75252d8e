"""`DistributedSampler`, as PyTorch's `torch.utils.data.distributed`: the share of a dataset's indices
that one of `num_replicas` processes visits. There is no process group here (microgradseq runs in one
process), so `num_replicas` and `rank` are given; a script that imports this module and builds the
sampler only when it trains distributed (pytorch/examples imagenet/main.py) runs unchanged."""

from __future__ import annotations

import math
from typing import Any, Iterator

from ...checks import flag, is_int
from ...random import Generator
from .sampler import Sampler, length_of


class DistributedSampler(Sampler[int]):
    """PyTorch's `DistributedSampler`: replica `rank`'s indices, every `num_replicas`-th of one order of
    the dataset (shuffled, unless `shuffle=False`, by a generator seeded with `seed + epoch`, the same in
    every replica, so the shares are disjoint; `set_epoch(epoch)` draws the next epoch's order). The order
    is padded by repeating its start until it divides evenly, or, with `drop_last`, cut to the largest
    length that does; `len()` is the number of indices of each replica."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            raise RuntimeError("DistributedSampler: give num_replicas and rank; microgradseq runs in one process, "
                               "with no torch.distributed process group to take them from")
        if not is_int(num_replicas) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if not is_int(rank) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: Invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank, self.epoch = dataset, int(num_replicas), int(rank), 0
        self.shuffle = flag(shuffle, "shuffle", "DistributedSampler")
        self.drop_last = flag(drop_last, "drop_last", "DistributedSampler")
        self.seed = seed
        items = length_of(dataset, "DistributedSampler", "dataset")
        if self.drop_last and items % self.num_replicas:
            self.num_samples = math.ceil((items - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(items / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        items = len(self.dataset)
        if self.shuffle:
            indices = Generator().manual_seed(self.seed + self.epoch).permutation(items).tolist()
        else:
            indices = list(range(items))
        if self.drop_last:
            indices = indices[:self.total_size]
        elif indices:
            indices = (indices * math.ceil(self.total_size / items))[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration draws (with `shuffle`): call it at each epoch's start."""
        self.epoch = epoch
