"""From a fourth porting audit (an LSTM part-of-speech tagger, the attention seq2seq tutorial, d2l's
concise RNN language model, an LSTM forecaster with early stopping, a vanishing-gradient lesson):
`size=` for the tensor makers, the legacy typed constructors, `layer.bidirectional`, `detach_()`,
`t.unfold`, `t.copy_`, and DataLoader samplers. Values against numpy, closed forms or central
finite differences; no PyTorch."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
from microgradseq.utils.data import (DataLoader, RandomSampler, SequentialSampler, SubsetRandomSampler,
                                     TensorDataset)

RNG = np.random.default_rng(4)


def central_differences(f, x, eps=1e-6):
    """d f / d x for a scalar numpy function f of an array x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


# ---- size= for the tensor makers (d2l: torch.rand(size=(T, B, V)), torch.randn(size=shape)) -----------

@pytest.mark.parametrize("name, reference", [
    ("zeros", lambda rng, shape: np.zeros(shape)),
    ("ones", lambda rng, shape: np.ones(shape)),
    ("empty", lambda rng, shape: np.zeros(shape)),                  # (empty gives zeros here)
    ("rand", lambda rng, shape: rng.random(shape)),
    ("randn", lambda rng, shape: rng.standard_normal(shape)),
])
def test_tensor_makers_take_pytorchs_size_keyword(name, reference):
    mg.manual_seed(11)
    got = getattr(mg, name)(size=(3, 2), dtype=np.float64)
    assert got.shape == (3, 2) and got.dtype == np.float64
    np.testing.assert_array_equal(got.data, reference(np.random.default_rng(11), (3, 2)))
    assert getattr(mg, name)(size=4).shape == (4,) and getattr(mg, name)(size=[]).shape == ()


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_tensor_makers_refuse_sizes_given_both_ways(name):
    with pytest.raises(TypeError, match=rf"{name}: got the sizes both as arguments \(2,\) and as size=\(2, 3\)"):
        getattr(mg, name)(2, size=(2, 3))
    with pytest.raises(ValueError, match=f"{name}: a size must be integers >= 0"):
        getattr(mg, name)(size=(2, -1))


# ---- legacy typed constructors (the seq2seq tutorial: torch.LongTensor(input_ids) of an int32 array) ---

@pytest.mark.parametrize("name, dtype", [("LongTensor", np.int64), ("IntTensor", np.int32),
                                         ("FloatTensor", np.float32), ("DoubleTensor", np.float64),
                                         ("BoolTensor", np.bool_)])
def test_legacy_typed_constructors_make_a_tensor_of_their_dtype_from_data(name, dtype):
    ids = RNG.integers(0, 2, size=(4, 6)).astype(np.int32)
    got = getattr(mg, name)(ids)
    assert got.dtype == dtype and not got.requires_grad
    np.testing.assert_array_equal(got.data, ids.astype(dtype))
    np.testing.assert_array_equal(getattr(mg, name)([[1, 0], [0, 1]]).data, np.eye(2, dtype=dtype))


def test_legacy_typed_constructors_take_sizes_as_pytorchs_do_zeros_here():
    """PyTorch's `torch.LongTensor(batch, length)` is a tensor of that shape (uninitialised memory) that a
    script fills by rows (`inp[b] = ...`); here its entries start at zero."""
    made = mg.FloatTensor(2, 3)
    assert made.shape == (2, 3) and made.dtype == np.float32 and not made.data.any()
    assert mg.LongTensor(5).shape == (5,) and mg.LongTensor(5).dtype == np.int64
    ids = mg.LongTensor(2, 4)
    ids[1] = mg.tensor([3, 1, 4, 1])
    np.testing.assert_array_equal(ids.data, [[0, 0, 0, 0], [3, 1, 4, 1]])
    with pytest.raises(TypeError, match=r"LongTensor: expected data \(a list, an array or a tensor\) or sizes "
                                        r"\(integers >= 0\), got 2, -1"):
        mg.LongTensor(2, -1)
    with pytest.raises(RuntimeError, match="LongTensor: device 'cuda'"):
        mg.LongTensor([1], device="cuda")


# ---- recurrent layers say whether they are bidirectional (d2l: `if not self.rnn.bidirectional`) ----

@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("bidirectional, directions", [(False, 1), (True, 2)])
def test_recurrent_layers_read_bidirectional_and_proj_size_zero(layer, bidirectional, directions):
    module = layer(3, 5, num_layers=2, bidirectional=bidirectional)
    assert module.bidirectional is bidirectional and module.proj_size == 0
    num_directions = 2 if module.bidirectional else 1            # d2l's RNNModel sizes its readout so
    assert num_directions * module.num_layers * module.hidden_size == 10 * directions
    output, _ = module(np.zeros((4, 1, 3), np.float32))
    assert output.shape == (4, 1, num_directions * module.hidden_size)
    assert "bidirectional" not in module.state_dict() and "proj_size" not in dict(module.named_parameters())


# ---- detach_() (d2l's train_epoch_ch8: state.detach_() between batches) --------------------------

def np_rnn_final(x, h0, w_ih, w_hh, b_ih, b_hh):
    h = h0
    for x_t in x:
        h = np.tanh(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
    return h


def test_detach_in_place_cuts_a_carried_state_so_the_next_batch_trains_on_its_own_steps():
    """Batch 2's gradient with the state carried over and detach_()-ed is that of batch 2 alone from a
    constant h0 equal to batch 1's final state: central differences of a numpy RNN."""
    rnn = nn.RNN(2, 3, dtype=np.float64, rng=np.random.default_rng(0))
    x1, x2 = RNG.standard_normal((4, 1, 2)), RNG.standard_normal((5, 1, 2))
    _, state = rnn(mg.tensor(x1))
    (state ** 2).sum().backward()
    h_carried = state.data.copy()
    assert state.detach_() is state and state.grad_fn is None and not state.requires_grad and state.is_leaf
    rnn.zero_grad()
    _, state = rnn(mg.tensor(x2), state)
    (state ** 2).sum().backward()                                  # without detach_: the freed graph again
    weights = {name: p.data.copy() for name, p in rnn.named_parameters()}

    def loss_of_w_hh(w_hh):
        h = np_rnn_final(x2[:, 0], h_carried[0, 0], weights["weight_ih_l0"], w_hh, weights["bias_ih_l0"],
                         weights["bias_hh_l0"])
        return float(np.sum(h ** 2))
    np.testing.assert_allclose(rnn.weight_hh_l0.grad, central_differences(loss_of_w_hh, weights["weight_hh_l0"]),
                               rtol=1e-6, atol=1e-8)


def test_without_detach_the_second_batch_walks_into_the_freed_graph():
    rnn = nn.RNN(2, 3)
    _, state = rnn(mg.randn(3, 1, 2))
    state.sum().backward()
    _, state = rnn(mg.randn(3, 1, 2), state)
    with pytest.raises(RuntimeError, match="already been freed"):
        state.sum().backward()


def test_detach_in_place_of_an_lstm_state_pair_keeps_the_values_and_earlier_graphs():
    """`for s in state: s.detach_()`: same values, no history; a graph that used s before still backprops
    through it: y = 3 s, dy/dx = 3 ds/dx with s = x^2, so 6 x."""
    lstm = nn.LSTM(2, 3)
    _, state = lstm(mg.randn(3, 1, 2))
    values = [s.data.copy() for s in state]
    for s in state:
        s.detach_()
    assert all(not s.requires_grad for s in state)
    np.testing.assert_array_equal(state[0].data, values[0])
    np.testing.assert_array_equal(state[1].data, values[1])
    x = mg.tensor([1.5, -2.0], dtype=np.float64, requires_grad=True)
    s = x ** 2
    y = 3 * s
    s.detach_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * np.array([1.5, -2.0]))


def test_detach_in_place_is_a_constant_under_jvp():
    """f(x) = detach(2 x) * 3 + x has J v = v; an input detached in place carries no tangent on."""
    v = np.array([0.5, -1.0])
    _, tangent = mg.jvp(lambda x: (x * 2).detach_() * 3 + x, [mg.tensor([1.0, 2.0], dtype=np.float64)], [v])
    np.testing.assert_allclose(tangent, v)
    _, tangent = mg.jvp(lambda x: x.detach_() * 3 + 1, [mg.tensor([1.0, 2.0], dtype=np.float64)], [v])
    np.testing.assert_allclose(tangent, 0 * v)


# ---- t.unfold (sliding windows of a series: data.unfold(0, window, 1)) --------------------------

def test_unfold_gives_the_sliding_windows_of_a_series():
    series = RNG.standard_normal(12)
    windows = mg.tensor(series).unfold(0, 5, 1)
    np.testing.assert_array_equal(windows.data, np.stack([series[i:i + 5] for i in range(8)]))
    stepped = mg.tensor(series).unfold(0, 4, 3)                    # starts 0, 3, 6 (9 + 4 > 12)
    np.testing.assert_array_equal(stepped.data, np.stack([series[s:s + 4] for s in (0, 3, 6)]))


def test_unfold_of_a_middle_axis_puts_the_window_last():
    x = RNG.standard_normal((2, 7, 3))
    got = mg.tensor(x).unfold(1, 3, 2)
    assert got.shape == (2, 3, 3, 3)
    for w, start in enumerate((0, 2, 4)):
        np.testing.assert_array_equal(got.data[:, w], np.swapaxes(x[:, start:start + 3], 1, 2))


def test_unfold_gradient_counts_the_windows_holding_each_entry():
    """d/dx sum(unfold(x, 0, 3, 1)) = the number of windows covering each entry: 1, 2, 3, 3, 2, 1."""
    x = mg.tensor(RNG.standard_normal(6), requires_grad=True)
    x.unfold(0, 3, 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 2, 3, 3, 2, 1])


@pytest.mark.parametrize("size, step", [(8, 1), (-1, 1), (2, 0), (2.0, 1)])
def test_unfold_refuses_a_window_that_does_not_fit(size, step):
    with pytest.raises(ValueError,
                       match=r"unfold: expected a size from 0 to 7 \(dim 0 of shape \(7,\)\) and a step > 0"):
        mg.zeros(7).unfold(0, size, step)


# ---- t.copy_ (under no_grad, setting a parameter: cell.weight_hh.copy_(W)) ------------------------

def test_copy_under_no_grad_sets_a_parameter_which_stays_a_leaf_and_trains():
    cell = nn.RNNCell(2, 3, dtype=np.float64)
    w = RNG.standard_normal((3, 3))
    with mg.no_grad():
        assert cell.weight_hh.copy_(mg.tensor(w)) is cell.weight_hh
    np.testing.assert_array_equal(cell.weight_hh.data, w)
    assert cell.weight_hh.is_leaf and cell.weight_hh.requires_grad
    x, h = RNG.standard_normal((1, 2)), RNG.standard_normal((1, 3))
    cell(mg.tensor(x), mg.tensor(h)).sum().backward()
    pre = x @ cell.weight_ih.data.T + cell.bias_ih.data + h @ w.T + cell.bias_hh.data
    np.testing.assert_allclose(cell.weight_hh.grad, (1 - np.tanh(pre) ** 2).T @ h)    # closed form


def test_copy_broadcasts_and_casts_the_source_to_the_tensor():
    t = mg.zeros(2, 3, dtype=np.float32)
    with mg.no_grad():
        t.copy_(np.array([1.0, 2.0, 3.0]))                          # float64 row, broadcast
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.tile([1.0, 2.0, 3.0], (2, 1)))
    counts = mg.zeros(3, dtype=np.int64)
    counts.copy_(mg.tensor([1.0, 2.0, 3.0]))                        # float into int truncates, as PyTorch
    assert counts.dtype == np.int64 and counts.tolist() == [1, 2, 3]


def test_copy_refuses_a_source_that_does_not_broadcast_and_a_leaf_while_recording():
    with pytest.raises(ValueError, match=r"copy_: the source's shape \(3,\) does not broadcast to the tensor's "
                                         r"shape \(2, 2\)"):
        mg.zeros(2, 2).copy_(mg.ones(3))
    w = mg.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="copy_: a leaf tensor that requires grad cannot be changed in place"):
        w.copy_(mg.ones(2))


# ---- DataLoader(sampler=...) (the seq2seq tutorial: DataLoader(data, sampler=RandomSampler(data))) ----

def test_dataloader_with_a_random_sampler_batches_in_the_samplers_order():
    xs, ys = np.arange(10.0)[:, None] * [1, -1], np.arange(10)
    data = TensorDataset(mg.tensor(xs), mg.tensor(ys))
    loader = DataLoader(data, sampler=RandomSampler(data), batch_size=4)
    assert len(loader) == 3
    mg.manual_seed(5)
    batches = list(loader)
    order = np.random.default_rng(5).permutation(10)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), order)
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), xs[order])


def test_samplers_give_their_indices():
    data = TensorDataset(mg.arange(6))
    assert list(SequentialSampler(data)) == [0, 1, 2, 3, 4, 5] and len(SequentialSampler(data)) == 6
    rng = np.random.default_rng(2)
    expected = np.random.default_rng(2).integers(0, 6, 9).tolist()
    sampler = RandomSampler(data, replacement=True, num_samples=9, generator=rng)
    assert list(sampler) == expected and len(sampler) == 9
    many = list(RandomSampler(data, num_samples=14, generator=np.random.default_rng(3)))
    reference = np.random.default_rng(3)                            # one permutation after another
    assert many == np.concatenate([reference.permutation(6) for _ in range(3)])[:14].tolist()
    subset = SubsetRandomSampler([5, 1, 3], generator=np.random.default_rng(7))
    assert list(subset) == [[5, 1, 3][i] for i in np.random.default_rng(7).permutation(3)]
    loader = DataLoader(data, sampler=subset, batch_size=2, drop_last=True)
    assert len(loader) == 1 and len(list(loader)) == 1


def test_dataloader_takes_any_sized_iterable_of_indices_as_sampler():
    data = TensorDataset(mg.arange(5) * 10)
    assert [b[0].tolist() for b in DataLoader(data, sampler=[4, 0, 2], batch_size=2)] == [[40, 0], [20]]


def test_dataloader_refuses_a_sampler_with_shuffle_and_a_sampler_that_is_not_iterable():
    data = TensorDataset(mg.arange(5))
    with pytest.raises(ValueError, match="DataLoader: sampler and shuffle=True exclude each other"):
        DataLoader(data, sampler=RandomSampler(data), shuffle=True)
    with pytest.raises(TypeError, match="DataLoader: expected sampler an iterable of indices .*, got int"):
        DataLoader(data, sampler=5)
    with pytest.raises(ValueError, match="RandomSampler: num_samples must be a positive integer, got 0"):
        RandomSampler(data, num_samples=0)


def test_dataloader_takes_a_sampler_without_a_length_as_pytorchs_does_reading_it_as_it_goes():
    data = TensorDataset(mg.arange(5) * 10)

    class Forever:                                      # a sampler with no __len__ that never ends
        def __iter__(self):
            i = 0
            while True:
                yield (3 * i) % 5
                i += 1
    batches = iter(DataLoader(data, sampler=Forever(), batch_size=2))
    assert [next(batches)[0].tolist() for _ in range(3)] == [[0, 30], [10, 40], [20, 0]]
    loader = DataLoader(data, sampler=iter([4, 1, 2]), batch_size=2, drop_last=True)
    assert [b[0].tolist() for b in loader] == [[40, 10]]
    with pytest.raises(TypeError, match="DataLoader: len\\(\\) of a loader needs a sampler with a length"):
        len(loader)


def test_dataloader_refuses_a_sampler_index_that_is_not_an_integer_and_an_empty_random_sampler():
    data = TensorDataset(mg.arange(5.0))
    with pytest.raises(TypeError, match="DataLoader: the sampler gave 1.5; expected integer indices"):
        list(DataLoader(data, sampler=[0, 1.5]))
    assert [b[0].tolist() for b in DataLoader(data, sampler=mg.tensor([4, 2]), batch_size=2)] == [[4.0, 2.0]]
    with pytest.raises(ValueError, match="RandomSampler: cannot draw 3 samples from an empty data_source"):
        list(RandomSampler([], num_samples=3))


@pytest.mark.parametrize("name, dtype", [("LongTensor", np.int64), ("FloatTensor", np.float32),
                                         ("BoolTensor", np.bool_)])
def test_legacy_typed_constructors_without_data_are_empty_and_name_themselves_on_bad_data(name, dtype):
    empty = getattr(mg, name)()                         # torch.LongTensor(): tensor([], dtype=torch.int64)
    assert empty.shape == (0,) and empty.dtype == dtype
    with pytest.raises(ValueError, match=f"^{name}: cannot make an array of numbers from list data"):
        getattr(mg, name)([[1, 2], [3]])


def test_unfold_of_a_0d_tensor_reads_it_as_one_entry_as_pytorchs():
    x = mg.tensor(5.0, dtype=np.float64, requires_grad=True)
    assert x.unfold(0, 1, 1).tolist() == [5.0] and x.unfold(-1, 1, 3).shape == (1,)
    assert x.unfold(0, 0, 1).shape == (0,)
    (x.unfold(0, 1, 1) * 3.0).sum().backward()
    assert x.grad == 3.0                                    # d(3 x)/dx
    with pytest.raises(IndexError, match="unfold: dim 1 is out of range for a 0-d tensor"):
        x.unfold(1, 1, 1)
    with pytest.raises(ValueError, match=r"unfold: expected a size from 0 to 1 \(dim 0 of shape \(\)\)"):
        x.unfold(0, 2, 1)
