"""Errors left raw by the earlier sweeps, each now naming the public function, what it expected and what
came, raised before anything changed (the contract: "Bad input gets a clear error, and nothing is lost")."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.nn.utils.rnn import pack_sequence, pad_sequence
from microgradseq.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, DistributedSampler,
                                     IterableDataset, RandomSampler, SequentialSampler, Subset,
                                     SubsetRandomSampler, TensorDataset, default_collate, random_split)


class Stream(IterableDataset):
    """An iterable-style dataset: items, no length."""

    def __iter__(self):
        return iter(range(5))


# ---- 1. default_collate of an empty batch (PyTorch's own: a raw IndexError from batch[0]) ----------------

@pytest.mark.parametrize("batch", [[], ()])
def test_default_collate_of_an_empty_batch_names_itself(batch):
    with pytest.raises(IndexError, match=r"^default_collate: expected a batch, a non-empty list .*got an empty"):
        default_collate(batch)


@pytest.mark.parametrize("batch", [None, 3, {1, 2}])
def test_default_collate_of_what_is_not_a_batch_names_itself(batch):
    with pytest.raises(TypeError, match=rf"^default_collate: expected a batch, .*got {type(batch).__name__}"):
        default_collate(batch)


def test_a_loader_whose_batch_sampler_gives_an_empty_batch_names_default_collate():
    loader = DataLoader([1.0, 2.0, 3.0], batch_sampler=[[0, 1], [], [2]])
    batches = iter(loader)
    assert next(batches).tolist() == [1.0, 2.0]
    with pytest.raises(IndexError, match=r"^default_collate: .*empty"):
        next(batches)


def test_a_collate_fn_that_calls_default_collate_with_nothing_names_default_collate():
    loader = DataLoader(TensorDataset(mg.ones(4, 2)), batch_size=2, collate_fn=lambda items: default_collate([]))
    with pytest.raises(IndexError, match=r"^default_collate: .*empty list"):
        next(iter(loader))


# ---- 2. pad_sequence of plain lists or arrays (accepted here, as the package does; mixes are clear) --------

def test_pad_sequence_of_lists_or_arrays_pads_them_and_a_mix_of_dtypes_names_pad_sequence():
    assert pad_sequence([[1.0, 2.0], [3.0]]).tolist() == [[1.0, 3.0], [2.0, 0.0]]
    assert pad_sequence([np.ones(2), np.ones(1)], batch_first=True).tolist() == [[1.0, 1.0], [1.0, 0.0]]
    with pytest.raises(TypeError, match=r"^pad_sequence: expected sequences of one dtype, got float64 for "
                                        r"sequence 1 and float32 for sequence 0"):
        pad_sequence([mg.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match=r"^pack_sequence: expected sequences of one dtype"):
        pack_sequence([mg.ones(2), np.ones(1)])
    with pytest.raises(TypeError, match=r"^pad_sequence: expected sequence 0 as a tensor, got str"):
        pad_sequence(["ab", "c"])
    with pytest.raises(TypeError, match=r"^pad_sequence: expected a list of tensors, got int"):
        pad_sequence(5)


# ---- 3. a Function's backward giving a numpy array, too few gradients, or one of the wrong shape ---------

def _function(gradients):
    class Scale(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return gradients(g)
    return Scale


@pytest.mark.parametrize("gradients, error, pattern", [
    (lambda g: ("abc", None), TypeError, r"^Scale\.backward: expected the gradient for argument 0 as a Tensor \(or a "
                                         r"numpy array\) or None, got str"),
    (lambda g: ([1.0, 2.0, 3.0], None), TypeError, r"^Scale\.backward: expected the gradient for argument 0 .*got list"),
    (lambda g: ({"x": g}, None), TypeError, r"^Scale\.backward: expected the gradient for argument 0 .*got dict"),
    (lambda g: g, ValueError, r"^Scale\.backward: expected 2 gradients .*got 1"),
    (lambda g: (g, None, None, g), ValueError, r"^Scale\.backward: expected 2 gradients .*got 4"),
    (lambda g: (mg.ones(2), None), ValueError, r"^Scale\.backward: the gradient for argument 0 has shape \(2,\), "
                                               r"expected \(3,\)"),
    (lambda g: (np.ones(2), None), ValueError, r"^Scale\.backward: the gradient for argument 0 has shape \(2,\), "
                                               r"expected \(3,\)"),
    (lambda g: (1.0, None), ValueError, r"^Scale\.backward: the gradient for argument 0 has shape \(\), "
                                        r"expected \(3,\)"),
])
def test_a_function_whose_backward_gives_a_bad_gradient_names_it_and_sets_no_grad(gradients, error, pattern):
    x, y = mg.randn(3, requires_grad=True), mg.randn(3)
    out = _function(gradients).apply(x, y).sum()
    with pytest.raises(error, match=pattern):
        out.backward()
    assert x.grad is None                               # nothing reached the leaf


@pytest.mark.parametrize("gradients", [lambda g: (g * 2, None), lambda g: (g.numpy() * 2, None)])
def test_a_function_whose_backward_gives_tensors_or_numpy_arrays_still_works(gradients):
    x, y = mg.tensor([1.0, 2.0, 3.0], requires_grad=True), mg.tensor([2.0, 2.0, 2.0])
    _function(gradients).apply(x, y).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


# ---- 4. samplers and splits of a data source without a length --------------------------------------------

@pytest.mark.parametrize("make, where", [
    (lambda: RandomSampler(Stream()), "RandomSampler"),
    (lambda: list(RandomSampler(Stream(), num_samples=3)), "RandomSampler"),
    (lambda: len(SequentialSampler(Stream())), "SequentialSampler"),
    (lambda: list(SequentialSampler(Stream())), "SequentialSampler"),
    (lambda: len(BatchSampler(SequentialSampler(Stream()), 2, False)), "SequentialSampler"),
    (lambda: RandomSampler(x for x in range(3)), "RandomSampler"),
    (lambda: random_split(Stream(), [2, 3]), "random_split"),
    (lambda: len(ChainDataset([Stream()])), "ChainDataset"),
    (lambda: DistributedSampler(Stream(), num_replicas=1, rank=0), "DistributedSampler"),
])
def test_a_sampler_of_a_source_without_a_length_names_itself(make, where):
    with pytest.raises(TypeError, match=rf"^{where}: expected a (data_source|dataset) with a length \(__len__\)"
                                        rf".*, got (Stream|generator)"):
        make()


def test_a_random_sampler_of_a_list_still_draws_and_a_shuffled_stream_loader_is_refused():
    assert sorted(RandomSampler([10, 20, 30], generator=np.random.default_rng(0))) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"^DataLoader with IterableDataset: expected unspecified shuffle option, "
                                         r"but got shuffle=True"):
        DataLoader(Stream(), shuffle=True)


def test_a_sampler_of_a_dataset_whose_own_len_fails_keeps_that_error():
    class Broken:
        def __len__(self):
            raise TypeError("my own length is broken")
    with pytest.raises(TypeError, match="^my own length is broken$"):
        RandomSampler(Broken())


@pytest.mark.parametrize("make, where", [
    (lambda: Subset(TensorDataset(mg.ones(3)), None), "Subset"),
    (lambda: Subset(TensorDataset(mg.ones(3)), (i for i in range(2))), "Subset"),
    (lambda: SubsetRandomSampler(i for i in range(2)), "SubsetRandomSampler"),
])
def test_subsets_of_indices_that_are_not_a_sequence_name_themselves(make, where):
    with pytest.raises(TypeError, match=rf"^{where}: expected indices a sequence of indices .*got "
                                        rf"(NoneType|generator)"):
        make()


def test_concat_dataset_of_what_is_not_a_list_of_datasets_names_itself():
    with pytest.raises(TypeError, match=r"^ConcatDataset: expected datasets, a list of datasets, got int"):
        ConcatDataset(5)


# ---- 5. discrete distributions' log_prob of a complex value, and creation functions of huge sizes ------------

@pytest.mark.parametrize("make", [
    lambda: mg.distributions.Categorical(mg.tensor([0.2, 0.8])),
    lambda: mg.distributions.Bernoulli(mg.tensor(0.3)),
    lambda: mg.distributions.Poisson(mg.tensor(2.0)),
    lambda: mg.distributions.Binomial(5, mg.tensor(0.3)),
    lambda: mg.distributions.Geometric(mg.tensor(0.3)),
    lambda: mg.distributions.NegativeBinomial(3, mg.tensor(0.3)),
])
def test_a_discrete_distributions_log_prob_of_a_complex_value_names_it(make):
    distribution = make()
    name = type(distribution).__name__
    with pytest.raises(TypeError, match=rf"^{name}: expected the value argument to log_prob a real tensor .*"
                                        rf"got dtype complex64"):
        distribution.log_prob(mg.tensor(1 + 1j))


@pytest.mark.parametrize("make, value", [
    (lambda: mg.distributions.OneHotCategorical(mg.tensor([0.2, 0.8])), [1 + 0j, 0j]),
    (lambda: mg.distributions.Multinomial(3, mg.tensor([0.2, 0.8])), [1 + 0j, 2 + 0j]),
])
def test_a_vector_valued_discrete_distributions_log_prob_of_complex_values_names_it(make, value):
    distribution = make()
    with pytest.raises(TypeError, match=rf"^{type(distribution).__name__}: expected the value argument to "
                                        rf"log_prob a real tensor"):
        distribution.log_prob(mg.tensor(value))


def test_a_discrete_distributions_log_prob_of_a_real_value_is_unchanged():
    assert mg.distributions.Categorical(mg.tensor([0.5, 0.5])).log_prob(mg.tensor(1)).item() == \
        pytest.approx(np.log(0.5))


def test_a_huge_random_tensor_refused_leaves_the_generator_where_it_was():
    mg.manual_seed(7)
    state = mg.get_rng_state()
    for make in (lambda: mg.randn(10**10), lambda: mg.rand(10**12), lambda: mg.randint(0, 5, (10**12,))):
        with pytest.raises(MemoryError):
            make()
    assert np.array_equal(mg.get_rng_state().numpy(), state.numpy())
    mg.manual_seed(7)
    expected = mg.randn(3).tolist()
    mg.set_rng_state(state)
    assert mg.randn(3).tolist() == expected


def test_randint_of_a_negative_size_names_randint():
    with pytest.raises(ValueError, match=r"^randint: a size must be integers >= 0.*got \(-1,\)"):
        mg.randint(0, 5, (-1,))
