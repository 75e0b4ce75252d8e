"""PyTorch's torch.utils.data (microgradseq.utils.data): TensorDataset, DataLoader, random_split and
Subset. Batches, orders and splits against plain numpy indexing and counting; no PyTorch needed."""

import itertools
import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.utils.data import DataLoader, RandomSampler, Subset, TensorDataset, random_split

N = 10
IDS = np.arange(N)
X = np.stack([IDS, 100 + IDS, 200 + IDS], axis=1).astype(np.float32)     # row i names item i
Y = (IDS % 3).astype(np.int64)


def dataset():
    return TensorDataset(mg.tensor(X), mg.tensor(Y))


def ids_of(loader):
    """The items of one epoch, in the order the loader gave them (read off the first column)."""
    return np.concatenate([xb.data[:, 0] for xb, _ in loader]).astype(int)


# ---- TensorDataset -------------------------------------------------------------------------------

def test_tensor_dataset_items_are_rows_indexed_as_tensors_are():
    ds = dataset()
    assert len(ds) == N
    for index in (3, -1, slice(2, 5), np.array([4, 1, 4]), [0, 9]):
        x, y = ds[index]
        np.testing.assert_array_equal(x.data, X[index])
        np.testing.assert_array_equal(y.data, Y[index])
        assert x.dtype == np.float32 and y.dtype == np.int64
    assert isinstance(ds[0], tuple) and len(ds[0]) == 2


def test_tensor_dataset_takes_arrays_and_keeps_their_dtypes():
    ds = TensorDataset(X.astype(np.float64), Y)
    x, y = ds[2]
    assert isinstance(x, mg.Tensor) and x.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(x.data, X[2])


def test_tensor_dataset_refuses_different_first_dimensions_naming_the_sizes():
    with pytest.raises(ValueError, match=r"TensorDataset: .*\[10, 9\]"):
        TensorDataset(X, Y[:9])
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset()
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset(mg.tensor(1.0))


# ---- DataLoader: batches ---------------------------------------------------------------------------

def test_batches_are_stacked_rows_in_order_with_shapes_and_dtypes_kept():
    batches = list(DataLoader(dataset(), batch_size=4))
    assert [xb.shape for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    for k, (xb, yb) in enumerate(batches):
        np.testing.assert_array_equal(xb.data, X[4 * k:4 * k + 4])
        np.testing.assert_array_equal(yb.data, Y[4 * k:4 * k + 4])
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        assert not xb.requires_grad and not yb.requires_grad


def test_batches_are_constants_even_from_tensors_that_require_grad():
    ds = TensorDataset(mg.tensor(X, requires_grad=True), mg.tensor(Y))
    for xb, yb in DataLoader(ds, batch_size=3, shuffle=True):
        assert not xb.requires_grad
        np.testing.assert_array_equal(xb.data, X[xb.data[:, 0].astype(int)])


def test_float64_data_stays_float64():
    xb, = next(iter(DataLoader(TensorDataset(X.astype(np.float64)), batch_size=5)))
    assert xb.dtype == np.float64 and xb.shape == (5, 3)


@pytest.mark.parametrize("batch_size", [1, 3, 4, 5, 10, 11])
def test_shuffle_gives_every_row_exactly_once_per_epoch_and_no_shuffle_keeps_the_order(batch_size):
    mg.manual_seed(0)
    shuffled = DataLoader(dataset(), batch_size=batch_size, shuffle=True)
    for _ in range(3):
        order = ids_of(shuffled)
        np.testing.assert_array_equal(np.sort(order), IDS)
        for xb, yb in shuffled:                                     # labels travel with their rows
            np.testing.assert_array_equal(yb.data, Y[xb.data[:, 0].astype(int)])
    np.testing.assert_array_equal(ids_of(DataLoader(dataset(), batch_size=batch_size)), IDS)


@pytest.mark.parametrize("items, batch_size", [(10, 4), (10, 5), (10, 1), (10, 11), (7, 3), (0, 2)])
def test_drop_last_and_the_length_of_a_loader_both_ways(items, batch_size):
    ds = TensorDataset(X[:items], Y[:items])
    kept = DataLoader(ds, batch_size=batch_size)
    dropped = DataLoader(ds, batch_size=batch_size, drop_last=True)
    kept_sizes = [len(xb) for xb, _ in kept]
    dropped_sizes = [len(xb) for xb, _ in dropped]
    assert len(kept) == len(kept_sizes) == math.ceil(items / batch_size)
    assert len(dropped) == len(dropped_sizes) == items // batch_size
    assert sum(kept_sizes) == items and all(size == batch_size for size in dropped_sizes)
    assert kept_sizes[:len(dropped_sizes)] == dropped_sizes


def test_shuffles_are_reproducible_under_manual_seed_and_differ_between_epochs():
    loader = DataLoader(dataset(), batch_size=3, shuffle=True)
    mg.manual_seed(7)
    first = [ids_of(loader) for _ in range(3)]
    mg.manual_seed(7)
    again = [ids_of(loader) for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(first[0], other) for other in first[1:])


def test_a_numpy_generator_draws_the_order_as_numpy_permutes():
    loader = DataLoader(dataset(), batch_size=4, shuffle=True, generator=np.random.default_rng(11))
    reference = np.random.default_rng(11)
    for _ in range(2):
        np.testing.assert_array_equal(ids_of(loader), reference.permutation(N))


# ---- DataLoader: any map-style dataset ----------------------------------------------------------

class Pairs:
    """A dataset as course scripts write one: a feature tensor and a Python int label per item."""

    def __init__(self, features, labels):
        self.features, self.labels = features, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return mg.tensor(self.features[i]), int(self.labels[i])


def test_a_map_style_dataset_of_tensor_int_pairs_collates_to_a_float_and_an_int64_tensor():
    batches = list(DataLoader(Pairs(X, Y), batch_size=4))
    assert len(batches) == 3
    for k, (xb, yb) in enumerate(batches):
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb.data, X[4 * k:4 * k + 4])
        np.testing.assert_array_equal(yb.data, Y[4 * k:4 * k + 4])


def test_items_of_one_tensor_numbers_or_arrays_collate_as_default_collate():
    class Items:
        def __init__(self, make):
            self.make = make

        def __len__(self):
            return 5

        def __getitem__(self, i):
            return self.make(i)

    floats = next(iter(DataLoader(Items(lambda i: i / 2), batch_size=5)))
    assert isinstance(floats, mg.Tensor) and floats.dtype == np.float64
    np.testing.assert_array_equal(floats.data, np.arange(5) / 2)
    ints = next(iter(DataLoader(Items(lambda i: i), batch_size=5)))
    assert ints.dtype == np.int64
    rows = next(iter(DataLoader(Items(lambda i: X[i].astype(np.float16)), batch_size=2)))
    assert rows.dtype == np.float16 and rows.shape == (2, 3)
    grads = next(iter(DataLoader(Items(lambda i: mg.tensor(X[i], requires_grad=True)), batch_size=2)))
    assert not grads.requires_grad


def test_a_tensor_dataset_subclass_with_its_own_getitem_is_asked_for_each_item():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    xb, yb = next(iter(DataLoader(Doubled(X, Y), batch_size=4)))
    np.testing.assert_array_equal(xb.data, 2 * X[:4])


def test_items_that_cannot_be_batched_name_dataloader():
    with pytest.raises(TypeError, match="DataLoader: cannot batch items of type NoneType"):
        next(iter(DataLoader([None, None], batch_size=2)))
    with pytest.raises(ValueError, match="DataLoader: cannot stack"):
        next(iter(DataLoader([np.zeros(2), np.zeros(3)], batch_size=2)))


def test_items_that_are_strings_batch_as_the_list_of_them_as_pytorchs():
    assert next(iter(DataLoader(["a", "b", "c"], batch_size=2))) == ["a", "b"]


# ---- random_split and Subset --------------------------------------------------------------------

def test_random_split_gives_disjoint_subsets_covering_the_dataset():
    parts = random_split(dataset(), [6, 3, 1])
    assert [len(p) for p in parts] == [6, 3, 1] and all(isinstance(p, Subset) for p in parts)
    together = [i for p in parts for i in p.indices]
    assert sorted(together) == list(IDS)
    for part in parts:
        for j, i in enumerate(part.indices):
            x, y = part[j]
            np.testing.assert_array_equal(x.data, X[i])
            assert y.item() == Y[i]


def test_random_split_by_fractions_deals_the_remainder_from_the_first():
    ds = TensorDataset(np.arange(11.0))
    parts = random_split(ds, [0.5, 0.3, 0.2])                # floors 5, 3, 2; one left over
    assert [len(p) for p in parts] == [6, 3, 2]
    assert sorted(i for p in parts for i in p.indices) == list(range(11))


def test_random_split_with_a_generator_follows_numpys_permutation():
    parts = random_split(dataset(), [4, 6], generator=np.random.default_rng(3))
    order = np.random.default_rng(3).permutation(N)
    assert parts[0].indices == list(order[:4]) and parts[1].indices == list(order[4:])
    mg.manual_seed(5)
    first = random_split(dataset(), [4, 6])
    mg.manual_seed(5)
    assert [p.indices for p in random_split(dataset(), [4, 6])] == [p.indices for p in first]


def test_a_loader_over_a_subset_gives_the_subsets_rows():
    train, _ = random_split(dataset(), [7, 3], generator=np.random.default_rng(0))
    xb, yb = next(iter(DataLoader(train, batch_size=7)))
    np.testing.assert_array_equal(xb.data, X[train.indices])
    np.testing.assert_array_equal(yb.data, Y[train.indices])
    inner = Subset(train, [6, 0])                           # a subset of a subset
    xb, _ = next(iter(DataLoader(inner, batch_size=2)))
    np.testing.assert_array_equal(xb.data, X[[train.indices[6], train.indices[0]]])


def test_random_split_refuses_lengths_that_do_not_add_up():
    with pytest.raises(ValueError, match=r"random_split: .*sum to 9.*\(10\)"):
        random_split(dataset(), [5, 4])
    with pytest.raises(ValueError, match="random_split"):
        random_split(dataset(), [0.5, 0.2])
    with pytest.raises(ValueError, match="random_split"):
        random_split(dataset(), [-1, 11])
    with pytest.raises(TypeError, match="random_split: generator"):
        random_split(dataset(), [5, 5], generator=3)


# ---- bad arguments -----------------------------------------------------------------------------

def test_bad_dataloader_arguments_name_dataloader_and_the_argument():
    with pytest.raises(ValueError, match="DataLoader: batch_size must be a positive integer, got 0"):
        DataLoader(dataset(), batch_size=0)
    with pytest.raises(ValueError, match="DataLoader: batch_size"):
        DataLoader(dataset(), batch_size=2.0)
    with pytest.raises(ValueError, match="DataLoader: shuffle must be True or False"):
        DataLoader(dataset(), shuffle="yes")
    with pytest.raises(ValueError, match="DataLoader: drop_last"):
        DataLoader(dataset(), drop_last=1)
    with pytest.raises(TypeError, match="DataLoader: expected a dataset with __len__"):
        DataLoader(iter(range(5)))
    with pytest.raises(TypeError, match="DataLoader: generator must be a numpy.random.Generator"):
        DataLoader(dataset(), shuffle=True, generator=42)
    with pytest.raises(TypeError, match="DataLoader: expected collate_fn a function of a batch's list of items"):
        DataLoader(dataset(), collate_fn=3)
    with pytest.raises(TypeError, match="DataLoader: the keyword argument colour= is not supported"):
        DataLoader(dataset(), colour="red")
    with pytest.raises(ValueError, match="DataLoader: num_workers option should be non-negative; got -1"):
        DataLoader(dataset(), num_workers=-1)
    with pytest.raises(ValueError, match="DataLoader: persistent_workers option needs num_workers > 0"):
        DataLoader(dataset(), persistent_workers=True)
    with pytest.raises(ValueError, match="DataLoader: prefetch_factor option could only be specified in multi"):
        DataLoader(dataset(), prefetch_factor=2)
    with pytest.raises(ValueError, match="DataLoader: pin_memory must be True or False"):
        DataLoader(dataset(), pin_memory="yes")


def test_single_process_defaults_are_accepted():
    loader = DataLoader(dataset(), batch_size=5, num_workers=0, pin_memory=False, sampler=None,
                        collate_fn=None, persistent_workers=False)
    assert len(loader) == 2 and loader.batch_size == 5 and loader.dataset is not None


def test_worker_options_load_the_batches_pytorchs_workers_give_here_in_one_process():
    """PyTorch's workers give an ordered loader's batches in order; here they are loaded in this
    process, so the batches are those of num_workers=0 (makemore passes num_workers=4)."""
    plain = [[field.tolist() for field in batch] for batch in DataLoader(dataset(), batch_size=3)]
    workers = DataLoader(dataset(), batch_size=3, num_workers=4, persistent_workers=True)
    assert [[field.tolist() for field in batch] for batch in workers] == plain
    assert workers.num_workers == 4 and workers.persistent_workers and workers.prefetch_factor == 2


def test_pin_memory_warns_as_pytorch_does_without_an_accelerator_and_changes_no_batch():
    pinned = DataLoader(dataset(), batch_size=4, pin_memory=True)
    assert pinned.pin_memory and pinned.prefetch_factor is None and pinned.timeout == 0
    with pytest.warns(UserWarning, match="^'pin_memory' argument is set as true but no accelerator is found"):
        batches = iter(pinned)
    assert [b[0].tolist() for b in batches] == [b[0].tolist() for b in DataLoader(dataset(), batch_size=4)]
    with warnings.catch_warnings():         # (a ported script's filter, by PyTorch's message, silences it)
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=r"'pin_memory' argument is set as true")
        assert len(list(pinned)) == 3


def test_random_sampler_with_replacement_draws_as_it_is_read():
    """num_samples=10**10 (an endless loader's sampler) gives its first batch at once: the indices are
    drawn as they are read, each uniform over the items."""
    sampler = RandomSampler(range(5), replacement=True, num_samples=10 ** 10, generator=np.random.default_rng(0))
    assert len(sampler) == 10 ** 10
    drawn = list(itertools.islice(iter(sampler), 5000))
    assert set(drawn) == set(range(5))
    np.testing.assert_allclose(np.bincount(drawn) / 5000, 0.2, atol=0.03)
    batch = next(iter(DataLoader(dataset(), sampler=sampler, batch_size=4)))
    assert batch[0].shape == (4, 3)
    assert len(list(RandomSampler(range(5), replacement=True, num_samples=70))) == 70


def test_random_sampler_without_replacement_draws_one_permutation_at_a_time():
    """num_samples far beyond the items: one permutation after another, each drawn when it is reached
    (drawing them all first would need terabytes here)."""
    sampler = RandomSampler(range(4), num_samples=10 ** 12, generator=np.random.default_rng(0))
    first = list(itertools.islice(iter(sampler), 12))
    assert [sorted(first[i:i + 4]) for i in (0, 4, 8)] == [[0, 1, 2, 3]] * 3
    assert sorted(np.bincount(list(RandomSampler(range(4), num_samples=6)), minlength=4)) == [1, 1, 2, 2]


def test_the_modules_of_pytorchs_layout_hold_the_same_classes():
    """`from torch.utils.data.dataloader import DataLoader` (makemore), `.dataset`, `.sampler`."""
    from microgradseq.utils.data import dataloader, dataset as dataset_module, sampler
    assert dataloader.DataLoader is DataLoader and dataset_module.TensorDataset is TensorDataset
    assert sampler.RandomSampler is RandomSampler and dataset_module.random_split is random_split


# ---- a ported script ---------------------------------------------------------------------------

def test_a_pytorch_training_loop_over_a_dataloader_runs_with_changed_imports():
    import microgradseq as torch
    import microgradseq.nn as nn
    import microgradseq.nn.functional as F
    from microgradseq.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 2)).astype(np.float32)
    y = ((X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0))            # three classes
    inputs, targets = torch.tensor(X), torch.tensor(y)

    loader = DataLoader(TensorDataset(inputs, targets), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with torch.no_grad():
        before = F.cross_entropy(model(inputs), targets).item()
    for epoch in range(10):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
    with torch.no_grad():
        after = F.cross_entropy(model(inputs), targets).item()
    assert after < 0.5 * before
