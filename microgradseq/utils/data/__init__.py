"""PyTorch's `torch.utils.data`, the part course scripts use, in PyTorch's layout: `Dataset`,
`IterableDataset`, `TensorDataset`, `Subset`, `ConcatDataset` (`a + b`), `ChainDataset` and
`random_split` (`dataset.py`), the samplers `Sampler` (the base class), `SequentialSampler`,
`RandomSampler`, `SubsetRandomSampler`, `WeightedRandomSampler` and `BatchSampler` (`sampler.py`),
`DistributedSampler` (`distributed.py`), and `DataLoader`, `default_collate`, `default_convert` and
`get_worker_info` (`dataloader.py`; `from torch.utils.data.dataloader import DataLoader` ports too).

    train = TensorDataset(X, y)                             # row i of X with label y[i]
    loader = DataLoader(train, batch_size=32, shuffle=True)
    for xb, yb in loader:                                   # xb (32, ...) float32, yb (32,) int64
        ...

A batch is a list of constants (no history), one per field, stacked along a new first axis in the
field's dtype (a single tensor when the items are not tuples, as PyTorch's). From a `TensorDataset` (or a `Subset` of one) it is one numpy `take` per tensor;
from any other dataset (`__len__`, and `__getitem__` giving a tensor, an array, a number, a dict or a
tuple of them) the items are stacked with numpy by `default_collate`, as PyTorch's: Python ints become
int64, Python floats float64, dicts a dict of batches, and strings inside an item the batch's strings.
`shuffle=True` draws a new order every epoch from `generator` (a numpy
Generator) or the library's generator, so `mg.manual_seed(n)` makes it reproducible; a `sampler`
(any iterable of indices, taken as it gives them) gives the order instead, or a `batch_sampler`
whole batches of indices (`BatchSampler(sampler, batch_size, drop_last)`), and a `collate_fn` makes
a batch from its list of items instead of stacking them; `loader.sampler` and `loader.batch_sampler`
are PyTorch's either way. One process: `num_workers`
and `pin_memory` are accepted and load the same batches here, in this process.
"""

from . import distributed
from .dataloader import DataLoader, default_collate, default_convert, get_worker_info
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert", "distributed",
           "get_worker_info", "random_split"]
