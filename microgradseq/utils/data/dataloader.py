"""`DataLoader`: a dataset's items in batches, as PyTorch's `torch.utils.data.dataloader`, in one
process (the package's docstring says how a batch is made). A `batch_sampler` gives whole batches of
indices instead of `batch_size` and `sampler`, and a `collate_fn` makes each batch from the list of
its items instead of stacking them (fast.ai's `DataLoader(ds, batch_sampler=..., collate_fn=collate)`)."""

from __future__ import annotations

import copy
import functools
import operator
import warnings
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any, Generic, Iterator, TypeVar

import numpy as np

from ...checks import flag, is_int, positive_int, user_stacklevel
from ...checks import generator as generator_checked
from ...random import generator_or_default
from ...spellings import only_defaults
from ...tensor import Tensor, owned
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

T_co = TypeVar("T_co", covariant=True)

# PyTorch's DataLoader options that would change what a batch is, or how workers start: only their defaults
_SINGLE_PROCESS = {"timeout": 0, "multiprocessing_context": None, "pin_memory_device": ""}


def _check_workers(num_workers: Any, persistent_workers: Any, prefetch_factor: Any) -> None:
    """PyTorch's checks of the worker options (which change nothing here)."""
    if not is_int(num_workers) or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative; got {num_workers!r}")
    if flag(persistent_workers, "persistent_workers", "DataLoader") and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if prefetch_factor is not None and num_workers == 0:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                         "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
    if prefetch_factor is not None and (not is_int(prefetch_factor) or prefetch_factor < 0):
        raise ValueError(f"DataLoader: prefetch_factor option should be non-negative; got {prefetch_factor!r}")


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


def default_collate(batch: Any) -> Any:
    """A batch made from the list of a dataset's items, as PyTorch's `default_collate`: tensors, arrays
    and numbers stacked along a new first axis (a tensor, in their dtype; Python ints as int64, floats as
    float64, bools as bool), dicts key by key (a dict of batches), named tuples field by field (the named
    tuple), other sequences field by field (a list for a tuple; a list, or a list subclass, in its own type;
    a `range` as a list), and strings kept as the sequence of the
    batch's strings (`('a.png', 'b.png')` for a field, the list for items that are strings). None or
    other objects raise TypeError naming DataLoader, which uses this when no `collate_fn` is given. An
    empty batch (PyTorch's raw IndexError) is an IndexError naming default_collate, a batch that is not
    a list a TypeError naming it."""
    try:
        first = batch[0]
    except (IndexError, KeyError, TypeError):
        raise _not_a_batch(batch) from None
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, Mapping):
        return _collated_mapping(batch)
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(first, Sequence):
        if any(not isinstance(item, Sequence) or len(item) != len(first) for item in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size (the "
                               "dataset's items must all have the same number of fields)")
        fields = [default_collate(field) for field in zip(*batch)]
        return fields if isinstance(first, tuple) else _same_sequence_type(first, fields)
    return _stacked(batch)


def _same_sequence_type(like: Any, parts: list) -> Any:
    """`parts` in the sequence type of `like`, as PyTorch's collate and convert make them: a copy of a
    mutable sequence with its items replaced (a list subclass stays one), else `type(like)(parts)`, else
    (a `range`) a list."""
    try:
        if isinstance(like, MutableSequence):
            clone = copy.copy(like)
            for i, part in enumerate(parts):
                clone[i] = part
            return clone
        return type(like)(parts)
    except TypeError:
        return parts


def _same_mapping_type(like: Any, parts: dict) -> Any:
    """`parts` (a dict) in the mapping type of `like`, as PyTorch's: a copy of a mutable mapping updated,
    else `type(like)(parts)`, else the dict."""
    try:
        if isinstance(like, MutableMapping):
            clone = copy.copy(like)
            clone.update(parts)
            return clone
        return type(like)(parts)
    except TypeError:
        return parts


def _not_a_batch(batch: Any) -> Exception:
    """The error for default_collate given no items (a batch_sampler's or collate_fn's empty batch), or
    something that is not a list of them."""
    if hasattr(type(batch), "__len__") and hasattr(type(batch), "__getitem__") and not isinstance(batch, Mapping):
        try:
            empty = len(batch) == 0
        except TypeError:
            empty = False
        if empty:
            return IndexError(f"default_collate: expected a batch, a non-empty list of a dataset's items, got an "
                              f"empty {type(batch).__name__} (a batch_sampler or a collate_fn gave no items)")
    return TypeError(f"default_collate: expected a batch, a list of a dataset's items, got "
                     f"{type(batch).__name__} {batch!r:.60}")


def _collated_mapping(batch: Any) -> Any:
    """Dict items key by key, in the first item's type when it can be made from a dict, as PyTorch's."""
    first = batch[0]
    for item in batch:
        if not isinstance(item, Mapping) or item.keys() != first.keys():
            other = list(item) if isinstance(item, Mapping) else type(item).__name__
            raise ValueError(f"DataLoader: the dataset's dict items must all have the same keys, got "
                             f"{list(first)} and {other}")
    collated = {key: default_collate([item[key] for item in batch]) for key in first}
    return collated if type(first) is dict else _same_mapping_type(first, collated)


def _stacked(batch: Any) -> Tensor:
    """Tensors, arrays or numbers stacked into one tensor along a new first axis."""
    first = batch[0]
    if not isinstance(first, (Tensor, np.ndarray, np.generic, int, float)):
        raise TypeError(f"DataLoader: cannot batch items of type {type(first).__name__}; a dataset's items must be "
                        "tensors, arrays, numbers, dicts, or tuples of them")
    try:
        stacked = np.stack([item._data if isinstance(item, Tensor) else np.asarray(item) for item in batch])
    except ValueError as error:
        raise ValueError(f"DataLoader: cannot stack the items of a batch ({error})") from None
    if stacked.dtype.kind not in "biufc":
        raise TypeError(f"DataLoader: cannot batch items of dtype {stacked.dtype}; expected numbers")
    if isinstance(first, (int, float)) and stacked.dtype.kind in "iuf":     # Python numbers: int64 or float64
        stacked = stacked.astype(np.int64 if stacked.dtype.kind in "iu" else np.float64, copy=False)
    return owned(stacked)


class _LoaderIterator:
    """`iter(loader)`, as PyTorch's `_BaseDataLoaderIter`: `next(it)` is the next batch, and `len(it)` the
    loader's `len(loader)`, its number of batches however many were taken (a loop that counts them down,
    `iters_left = len(iter(loader))`, reads it)."""

    __slots__ = ("_loader", "_batches")     # _batches gives each batch as a function that loads it

    def __init__(self, loader: DataLoader, batches: Iterator) -> None:
        self._loader, self._batches = loader, batches

    def __iter__(self) -> _LoaderIterator:
        return self

    def __next__(self) -> Any:
        return next(self._batches)()

    def __len__(self) -> int:
        return len(self._loader)


class DataLoader(Generic[T_co]):
    """PyTorch's `DataLoader`, in one process: batches of `batch_size` items of `dataset`, in order or,
    with `shuffle`, in a new random order every epoch, or in the order `sampler` gives each epoch (an
    iterable of integer indices, such as a `RandomSampler`, read as it goes; not with `shuffle`);
    `drop_last` drops a last, shorter batch. `len(loader)` is the number of batches (TypeError for a
    sampler without a length, as PyTorch's), and so is `len(iter(loader))`. The options after `shuffle`
    are keyword-only.

    `loader.sampler` and `loader.batch_sampler` are PyTorch's: the ones given, else a `SequentialSampler`
    or (with `shuffle`) a `RandomSampler` of `generator`, and a `BatchSampler` of them, so
    `len(loader.sampler)` is the number of items an epoch visits. An `IterableDataset` is read in the
    order its `__iter__` gives (no `shuffle`, `sampler` or `batch_sampler`, as PyTorch's; both None).

    `num_workers` (and `persistent_workers`, `prefetch_factor`) are accepted and change nothing: the
    batches are the same as PyTorch's workers give, loaded here in this process (over an IterableDataset,
    PyTorch's workers each iterate their own copy, which `get_worker_info()` lets `__iter__` shard; here
    the one process iterates it once, `get_worker_info()` None, as PyTorch's num_workers=0). A
    `worker_init_fn` (PyTorch's reproducibility recipe passes `seed_worker`) is kept and never called, as
    PyTorch's loader with num_workers=0 never calls it: no worker process starts. `pin_memory=True`
    warns each time the loader is iterated, as PyTorch's does without an accelerator, and pins nothing.

    Generic, as PyTorch's (`DataLoader[List[Tensor]]` in a type hint). As PyTorch's, `batch_size`,
    `sampler`, `batch_sampler`, `drop_last`, `dataset` and `persistent_workers` cannot be assigned once
    it is made (ValueError); make a new loader. A batch whose items raise (the dataset's `__getitem__`)
    raises from `next(it)`, and the next `next(it)` goes on with the batch after it, as PyTorch's."""

    _FIXED = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, *, sampler: Any = None,
                 batch_sampler: Any = None, drop_last: bool = False, collate_fn: Any = None,
                 generator: np.random.Generator | None = None, num_workers: int = 0, pin_memory: bool = False,
                 persistent_workers: bool = False, prefetch_factor: int | None = None,
                 worker_init_fn: Any = None, **options: Any) -> None:
        only_defaults("DataLoader", options, _SINGLE_PROCESS)
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: expected worker_init_fn a function of a worker's id, or None, got "
                            f"{type(worker_init_fn).__name__}")
        self.worker_init_fn = worker_init_fn
        _check_workers(num_workers, persistent_workers, prefetch_factor)
        self.num_workers, self.persistent_workers, self.timeout = num_workers, persistent_workers, 0
        self.prefetch_factor = 2 if num_workers and prefetch_factor is None else prefetch_factor
        self.pin_memory = flag(pin_memory, "pin_memory", "DataLoader")
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable and not (hasattr(type(dataset), "__len__") and hasattr(type(dataset), "__getitem__")):
            raise TypeError(f"DataLoader: expected a dataset with __len__ and __getitem__ (such as a "
                            f"TensorDataset) or an IterableDataset, got {type(dataset).__name__}")
        self.dataset = dataset
        self.shuffle = flag(shuffle, "shuffle", "DataLoader")
        self.drop_last = flag(drop_last, "drop_last", "DataLoader")
        if self._iterable:
            _check_iterable_options(self.shuffle, sampler, batch_sampler)
        for name, given in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if given is not None and not hasattr(given, "__iter__"):
                raise TypeError(f"DataLoader: expected {name} an iterable of indices (such as RandomSampler(dataset)"
                                f"{'' if name == 'sampler' else ' in a BatchSampler'}), got {type(given).__name__}")
        if sampler is not None and self.shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler gives the "
                             "order; PyTorch: sampler option is mutually exclusive with shuffle); pass one")
        if batch_sampler is not None and (batch_size != 1 or self.shuffle or sampler is not None or self.drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last (the batch sampler gives whole batches)")
        if batch_size is None and self.drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        self.batch_size = (None if batch_sampler is not None or batch_size is None else
                           positive_int(batch_size, "batch_size", "DataLoader"))
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: expected collate_fn a function of a batch's list of items, got "
                            f"{type(collate_fn).__name__}")
        self._sampler, self._batch_sampler, self.collate_fn = sampler, batch_sampler, collate_fn
        self.generator = generator_checked(generator, "DataLoader", "generator")
        self.sampler, self.batch_sampler = self._pytorchs_samplers()
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._FIXED and self.__dict__.get("_initialized", False):
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader is initialized "
                             f"(as in PyTorch); make a new DataLoader")
        super().__setattr__(name, value)

    def _pytorchs_samplers(self) -> tuple:
        """`loader.sampler` and `loader.batch_sampler` as PyTorch's loader has them (None and None over an
        IterableDataset). The loader batches its own order by slicing it: the indices these would give."""
        if self._iterable:
            return None, None
        sampler = self._sampler
        if sampler is None:
            sampler = (RandomSampler(self.dataset, generator=self.generator) if self.shuffle
                       else SequentialSampler(self.dataset))
        batch_sampler = self._batch_sampler
        if batch_sampler is None and self.batch_size is not None:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        return sampler, batch_sampler

    def __len__(self) -> int:
        if self._iterable and not hasattr(type(self.dataset), "__len__"):
            raise TypeError(f"DataLoader: len() of a loader over an IterableDataset needs the dataset's length "
                            f"(__len__), got {type(self.dataset).__name__}")
        given = self._batch_sampler if self._batch_sampler is not None else self._sampler
        if given is not None and not hasattr(given, "__len__"):
            name = "batch_sampler" if self._batch_sampler is not None else "sampler"
            raise TypeError(f"DataLoader: len() of a loader needs a {name} with a length (__len__), got "
                            f"{type(given).__name__}")
        if self._batch_sampler is not None:
            return len(self._batch_sampler)
        items = len(self.dataset if self._sampler is None else self._sampler)
        if self.batch_size is None:                 # (batching off: one item at a time)
            return items
        return items // self.batch_size if self.drop_last else -(-items // self.batch_size)

    def __iter__(self) -> Iterator:
        if self.pin_memory:             # (PyTorch's words, each time an iterator is made, so its filters match)
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", UserWarning, stacklevel=user_stacklevel())
        return _LoaderIterator(self, self._loaded())

    def _loaded(self) -> Iterator:
        """Each batch as a function that loads it, so that a batch whose loading raises leaves the order
        where it was and the next one comes after it, as PyTorch's iterator fetches index by index."""
        if self._iterable:
            for batch in self._streamed():
                yield lambda batch=batch: batch
            return
        if self.batch_size is None and self._batch_sampler is None:     # batch_size=None: batching off, each
            for i in (self._order() if self._sampler is None else self._sampler):   # item as the dataset gives it
                yield functools.partial(self._item, i)
            return
        tensors, rows = _tensors_and_rows(self.dataset)
        for batch in self._batches():
            if tensors is None or self.collate_fn is not None or type(batch) is list:
                yield functools.partial(self._collated, batch)
            else:
                yield functools.partial(self._taken, tensors, rows, batch)

    def _item(self, i: Any) -> Any:
        """One item, batching off: as PyTorch's default_convert gives it, or through collate_fn."""
        item = self.dataset[int(i) if isinstance(i, np.integer) else i]
        return _converted(item) if self.collate_fn is None else self.collate_fn(item)

    def _collated(self, batch: Any) -> Any:
        """A batch of the dataset's items, collated."""
        items = [self.dataset[int(i) if isinstance(i, np.integer) else i] for i in batch]
        return (default_collate if self.collate_fn is None else self.collate_fn)(items)

    def _taken(self, tensors: Any, rows: Any, batch: np.ndarray) -> list:
        """A batch of a TensorDataset's (or a Subset of one's) rows, by one numpy take per tensor."""
        try:
            picked = batch if rows is None else rows[batch]
            return [owned(np.take(t._data, picked, axis=0)) for t in tensors]
        except IndexError:
            raise self._out_of_range(batch) from None

    def _out_of_range(self, batch: Any) -> IndexError:
        """The error for a batch of indices some of which the dataset does not have (a sampler's or
        batch_sampler's), naming the loader, the first such index and the dataset's length."""
        items = len(self.dataset)
        bad = next((int(i) for i in batch if not -items <= i < items), None)
        given = ("batch_sampler" if self._batch_sampler is not None else "sampler" if self._sampler is not None
                 else "order")
        return IndexError(f"DataLoader: the {given} gave index {bad}, out of range for a dataset of {items} items")

    def _batches(self) -> Iterator:
        """The indices of each batch: from the batch sampler or the sampler as they give them (they may
        have no length, or never end), else the dataset's in order or shuffled. A batch of integers is
        an int64 array; one holding other indices (a sampler of lists, as a BatchSampler passed as
        the sampler gives) is a list of them, each handed to the dataset as it is, as PyTorch does."""
        if self._batch_sampler is not None:
            for given in self._batch_sampler:
                if not hasattr(given, "__iter__"):
                    raise TypeError(f"DataLoader: the batch_sampler gave {given!r}; expected a batch of indices (a "
                                    "list, as a BatchSampler gives: wrap a sampler of single indices in "
                                    "BatchSampler(sampler, batch_size, drop_last))")
                yield _indices(list(given), "batch_sampler")
            return
        if self._sampler is None:
            order, items = self._order(), len(self.dataset)
            usable = items - items % self.batch_size if self.drop_last else items
            yield from (order[start:start + self.batch_size] for start in range(0, usable, self.batch_size))
            return
        batch = []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield _indices(batch, "sampler")
                batch = []
        if batch and not self.drop_last:
            yield _indices(batch, "sampler")

    def _streamed(self) -> Iterator:
        """An IterableDataset's items in the order its __iter__ gives them: in batches of batch_size (the
        last one shorter unless drop_last), or one at a time as it gives them with batch_size=None."""
        if self.batch_size is None:
            for item in self.dataset:
                yield _converted(item) if self.collate_fn is None else self.collate_fn(item)
            return
        collate = default_collate if self.collate_fn is None else self.collate_fn
        batch = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def _order(self) -> np.ndarray:
        """The dataset's indices, in order or (with `shuffle`) in a new random order."""
        items = len(self.dataset)
        return generator_or_default(self.generator, "DataLoader").permutation(items) if self.shuffle else np.arange(items)


def get_worker_info() -> None:
    """PyTorch's `get_worker_info()`: None in the main process, which is where every item is loaded here
    (an IterableDataset's `__iter__` that shards its stream by worker takes the single-process branch)."""
    return None


def _check_iterable_options(shuffle: bool, sampler: Any, batch_sampler: Any) -> None:
    """PyTorch's checks of a loader over an IterableDataset: its __iter__ gives the order."""
    for name, given in (("shuffle", shuffle or None), ("sampler", sampler), ("batch_sampler", batch_sampler)):
        if given is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                             f"{name}={given!r} (the dataset's __iter__ gives the order)")


def default_convert(data: Any) -> Any:
    """PyTorch's `default_convert`, what a loader with batching off (batch_size=None) gives for each item:
    numpy arrays of numbers as tensors, in tuples, lists and dicts too; anything else as it is."""
    return _converted(data)


def _converted(item: Any) -> Any:
    """An item as PyTorch's `default_convert` gives it with batching off: numpy arrays (and scalars) of
    numbers as tensors, in tuples, lists and dicts too; a sequence or mapping in its own type when it can
    be made again (a list or dict subclass stays one; a `range` becomes a list, as PyTorch's); anything
    else as it is."""
    if isinstance(item, (np.ndarray, np.generic)) and item.dtype.kind in "biufc":
        return owned(np.array(item))
    if isinstance(item, Mapping):
        parts = {key: _converted(value) for key, value in item.items()}
        return parts if type(item) is dict else _same_mapping_type(item, parts)
    if isinstance(item, tuple) and hasattr(item, "_fields"):
        return type(item)(*(_converted(part) for part in item))
    if isinstance(item, tuple):
        return type(item)(_converted(part) for part in item)
    if isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
        return _same_sequence_type(item, [_converted(part) for part in item])
    return item


def _indices(batch: list, name: str) -> Any:
    """A batch's indices: an int64 array of integers, or the list as it is when it holds batches of
    indices (lists, tuples, arrays or tensors); anything else is a TypeError naming what came."""
    try:
        return np.array([operator.index(i) for i in batch], dtype=np.int64)
    except TypeError:
        pass
    for i in batch:
        if not isinstance(i, (list, tuple, range, np.ndarray, Tensor)) and not is_int(i):
            raise TypeError(f"DataLoader: the {name} gave {i!r}; expected integer indices (or lists of them, as "
                            "a BatchSampler gives)")
    return batch
