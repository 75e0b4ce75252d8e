"""Tests written by a mutation check of data loading, sequence packing and BPTT data
(microgradseq/utils/data, microgradseq/nn/utils/rnn.py, microgradseq/nn/packed_steps.py,
microgradseq/bptt/data.py). Each pins a behaviour that a hand-made mutant changed without any other
test noticing. Expected values come from PyTorch's documented definitions (or the library's own
documented contract where PyTorch has none), worked out by hand or in plain numpy."""

from collections import OrderedDict

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
from microgradseq.nn.utils.rnn import pack_sequence, pad_packed_sequence
from microgradseq.utils.data import (ChainDataset, ConcatDataset, DataLoader, Dataset, DistributedSampler,
                                     IterableDataset, Subset, TensorDataset, default_collate, random_split)


class _Items(Dataset):
    """A map-style dataset (not a TensorDataset) whose items are given as a list."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


# ---- default_collate --------------------------------------------------------------------------------

def test_python_bools_collate_to_a_bool_tensor():
    """PyTorch's collate of Python ints is `torch.tensor(batch)`, which keeps bools as torch.bool
    (only ints become int64 and floats float64): bools must not be widened to int64."""
    batch = default_collate([True, False, True])
    assert batch.dtype == np.bool_
    np.testing.assert_array_equal(batch.data, [True, False, True])
    _, flags = next(iter(DataLoader(_Items([(1.0, True), (2.0, False)]), batch_size=2)))
    assert flags.dtype == np.bool_


def test_tuple_items_collate_to_a_list_of_fields():
    """PyTorch's default_collate turns tuple items into a *list* of batched fields ("backwards
    compatibility" branch), not a tuple; a named tuple stays its named tuple."""
    items = _Items([(np.array([1.0, 2.0]), 0), (np.array([3.0, 4.0]), 1), (np.array([5.0, 6.0]), 2)])
    batch = next(iter(DataLoader(items, batch_size=3)))
    assert type(batch) is list and len(batch) == 2
    np.testing.assert_array_equal(batch[0].data, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert batch[1].dtype == np.int64
    assert type(default_collate([(1, 2), (3, 4)])) is list


def test_dict_items_keep_their_key_order_and_mapping_type():
    """PyTorch collates a Mapping key by key in the first item's key order and rebuilds the first
    item's type, so OrderedDict items give an OrderedDict batch with keys in their given order."""
    items = [OrderedDict([("b", float(i)), ("a", i)]) for i in range(3)]
    batch = default_collate(items)
    assert type(batch) is OrderedDict
    assert list(batch) == ["b", "a"]
    np.testing.assert_array_equal(batch["b"].data, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(batch["a"].data, [0, 1, 2])
    plain = default_collate([{"y": 1, "x": 2.0}, {"y": 3, "x": 4.0}])
    assert type(plain) is dict and list(plain) == ["y", "x"]


def test_numpy_scalars_collate_in_their_own_dtype():
    """PyTorch collates numpy scalars with `torch.as_tensor(batch)`, keeping their dtype: np.float32
    items give float32 and np.int32 items int32 (only Python numbers become float64/int64)."""
    assert default_collate([np.float32(1.5), np.float32(2.5)]).dtype == np.float32
    assert default_collate([np.int32(1), np.int32(2)]).dtype == np.int32


# ---- random_split, Subset, ConcatDataset, ChainDataset ---------------------------------------------

def test_random_split_fractions_floor_then_deal_the_remainder_round_robin():
    """PyTorch: each fraction's length is floor(n * fraction); the n - sum(floors) items left over
    are added one each to the splits 0, 1, 2, ... in turn. 7 items in quarters: floors 1, 1, 1, 1,
    3 left -> [2, 2, 2, 1]. 4 items at [0.6, 0.4]: floors 2, 1, 1 left -> [3, 1] (rounding would
    give [2, 2])."""
    parts = random_split(range(7), [0.25, 0.25, 0.25, 0.25], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [2, 2, 2, 1]
    assert sorted(i for p in parts for i in p.indices) == list(range(7))
    assert [len(p) for p in random_split(range(4), [0.6, 0.4], generator=np.random.default_rng(0))] == [3, 1]
    assert [len(p) for p in random_split(range(11), [1 / 3] * 3, generator=np.random.default_rng(0))] == [4, 4, 3]


def test_random_split_lengths_summing_to_one_are_read_as_fractions():
    """PyTorch tests `isclose(sum(lengths), 1) and sum(lengths) <= 1` first, so lengths [1, 0] on a
    dataset of 5 are the fractions 100% / 0%: splits of 5 and 0 items (not a length mismatch), one
    Subset per length, the empty one included."""
    parts = random_split(range(5), [1, 0], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [5, 0]
    assert sorted(parts[0].indices) == [0, 1, 2, 3, 4]


def test_subset_indexed_with_a_list_maps_each_position_through_its_indices():
    """PyTorch's Subset.__getitem__ given a list asks the dataset for [indices[i] for i in list]."""
    data = TensorDataset(np.arange(5) * 10)
    subset = Subset(data, [3, 1, 4])
    (rows,) = subset[[0, 2]]
    np.testing.assert_array_equal(rows.data, [30, 40])


class _Echo(Dataset):
    """A dataset whose item is the index it was asked for, refusing indices outside 0 .. size - 1."""

    def __init__(self, size, tag):
        self.size, self.tag = size, tag

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if not 0 <= index < self.size:
            raise IndexError(index)
        return (self.tag, index)


def test_concat_dataset_asks_each_dataset_for_its_own_non_negative_index():
    """PyTorch's ConcatDataset maps item i to (dataset k, i - cumulative_sizes[k - 1]): a local index in
    0 .. len(dataset k) - 1, for datasets of unequal sizes too (negative indices count from the end)."""
    concat = ConcatDataset([_Echo(2, "a"), _Echo(3, "b"), _Echo(1, "c")])
    assert concat.cumulative_sizes == [2, 5, 6]
    assert [concat[i] for i in range(6)] == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("b", 2), ("c", 0)]
    assert concat[-1] == ("c", 0) and concat[-4] == ("b", 0)


class _Stream(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


def test_chain_dataset_length_is_the_sum_of_its_datasets_lengths():
    """PyTorch's ChainDataset.__len__ is the total of its datasets' lengths (items chained in turn)."""
    chained = ChainDataset([_Stream(3, 5), _Stream(10, 13)])
    assert len(chained) == 5
    assert list(chained) == [3, 4, 10, 11, 12]


# ---- DistributedSampler ------------------------------------------------------------------------------

def test_distributed_sampler_drop_last_gives_every_rank_the_same_shortened_share():
    """PyTorch: with drop_last and n % replicas != 0, num_samples = ceil((n - replicas) / replicas),
    total_size = num_samples * replicas, and rank r takes indices[r:total_size:replicas]. 10 items on
    3 replicas: num_samples 3, total 9, so ranks get [0, 3, 6], [1, 4, 7], [2, 5, 8] (9 dropped)."""
    shares = [DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False, drop_last=True)
              for r in range(3)]
    assert [len(s) for s in shares] == [3, 3, 3]
    assert [list(s) for s in shares] == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


# ---- packing -----------------------------------------------------------------------------------------

def test_packing_an_unsorted_batch_with_tied_lengths_keeps_the_tied_sequences_in_batch_order():
    """Lengths [2, 3, 2, 1] sorted longest first with ties in batch order (a stable sort: the library's
    documented `sort` and the recipe `lengths.sort(0, descending=True)` before enforce_sorted=True):
    sorted_indices [1, 0, 2, 3], unsorted_indices its inverse [1, 0, 2, 3], batch_sizes [4, 3, 1]
    (the tie counted twice), data step by step b1 a1 c1 d1, b2 a2 c2, b3."""
    a, b, c, d = (np.array([[10.0], [11.0]]), np.array([[20.0], [21.0], [22.0]]), np.array([[30.0], [31.0]]),
                  np.array([[40.0]]))
    packed = pack_sequence([mg.tensor(s) for s in (a, b, c, d)], enforce_sorted=False)
    np.testing.assert_array_equal(np.asarray(packed.batch_sizes.data), [4, 3, 1])
    np.testing.assert_array_equal(np.asarray(packed.sorted_indices.data), [1, 0, 2, 3])
    np.testing.assert_array_equal(np.asarray(packed.unsorted_indices.data), [1, 0, 2, 3])
    np.testing.assert_array_equal(packed.data.data[:, 0], [20, 10, 30, 40, 21, 11, 31, 22])
    padded, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0)
    np.testing.assert_array_equal(lengths.data, [2, 3, 2, 1])
    np.testing.assert_array_equal(padded.data[:, :, 0], [[10, 11, -1], [20, 21, 22], [30, 31, -1], [40, -1, -1]])


def test_a_packed_rnn_takes_each_sequences_h0_by_its_batch_position_for_a_non_involutive_sort():
    """nn.RNN over a packed batch with lengths [1, 3, 2] (sorted_indices [1, 2, 0], whose inverse
    [2, 0, 1] differs from it): sequence b starts from h0[:, b] and h_n[:, b] is its state after its
    own last step, as PyTorch's RNN (h0 permuted by sorted_indices, h_n by unsorted_indices).
    Reference: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) in numpy, one sequence at a time."""
    rng = np.random.default_rng(11)
    I, H, lengths = 2, 3, [1, 3, 2]
    module = nn.RNN(I, H, rng=np.random.default_rng(5), dtype=np.float64)
    sequences = [rng.normal(size=(n, I)) for n in lengths]
    h0 = rng.normal(size=(1, len(lengths), H))
    packed = pack_sequence([mg.tensor(s) for s in sequences], enforce_sorted=False)
    np.testing.assert_array_equal(np.asarray(packed.sorted_indices.data), [1, 2, 0])
    output, h_n = module(packed, mg.tensor(h0))
    padded, _ = pad_packed_sequence(output)
    w_ih, w_hh = module.weight_ih_l0.data, module.weight_hh_l0.data
    b_ih, b_hh = module.bias_ih_l0.data, module.bias_hh_l0.data
    for b, x in enumerate(sequences):
        h = h0[0, b]
        for t in range(len(x)):
            h = np.tanh(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            np.testing.assert_allclose(padded.data[t, b], h, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h_n.data[0, b], h, rtol=1e-10, atol=1e-12)


# ---- BPTT data ---------------------------------------------------------------------------------------

def test_next_step_pairs_refuses_a_single_step():
    """next_step_pairs needs two steps to pair an input with its next-step target (documented
    ValueError); one step must not give empty (0, B) inputs and targets."""
    with pytest.raises(ValueError, match="next_step_pairs"):
        mg.bptt.next_step_pairs(mg.bptt.batchify(np.arange(3), 3))
