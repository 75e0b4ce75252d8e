"""Porting, round 5: a sentiment classifier as PyTorch's tutorials write it (an embedding with a padding
index, a bidirectional LSTM over a packed batch, dropout, one logit, BCEWithLogitsLoss, accuracy by
`torch.round(torch.sigmoid(...))`), and the spellings it needed: `round`, `flatten_parameters()`,
`PackedSequence((data, batch_sizes))`; and, for the older idiom that sorts a batch by length before
packing, `t.sort`, `argsort`, `repeat_interleave` and `split(split_size=)`."""

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.optim as optim


# ---- round: a staircase, zero gradient ------------------------------------------------------

def test_round_goes_to_the_nearest_integer_halves_to_even_as_pytorch():
    x = torch.tensor([-1.5, -0.5, 0.4, 0.5, 1.5, 2.5, 2.6])
    assert torch.round(x).tolist() == [-2.0, -0.0, 0.0, 0.0, 2.0, 2.0, 3.0]
    assert x.round().dtype == np.float32
    assert torch.round(torch.tensor([1.25, -3.14159]), decimals=1).tolist() == pytest.approx([1.2, -3.1])
    assert torch.round(torch.tensor([3, -2])).tolist() == [3, -2]          # integers stay as they are


def test_round_passes_a_zero_gradient_as_pytorch():
    x = torch.tensor([0.3, 1.7, -2.2], dtype=torch.float64, requires_grad=True)
    y = torch.round(x)
    assert y.requires_grad
    (y * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_round_refuses_a_decimals_that_is_not_an_integer():
    with pytest.raises(TypeError, match="round: decimals must be an integer, got 1.5"):
        torch.tensor([1.0]).round(decimals=1.5)


# ---- small spellings -------------------------------------------------------------------------

def test_flatten_parameters_is_accepted_and_changes_nothing():
    lstm = nn.LSTM(3, 4, bidirectional=True)
    before = {name: value.copy() for name, value in lstm.state_dict().items()}
    assert lstm.flatten_parameters() is None
    assert all(np.array_equal(before[name], value) for name, value in lstm.state_dict().items())


def test_packed_sequence_takes_pytorch_s_older_pair_form_and_refuses_a_tensor_alone():
    data, sizes = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([2, 1])
    packed = nn.utils.rnn.PackedSequence((data, sizes))
    assert packed.data is data and packed.batch_sizes is sizes and packed.sorted_indices is None
    with pytest.raises(TypeError, match=r"PackedSequence: expected data and batch_sizes, or one pair "
                                        r"\(data, batch_sizes\), got Tensor alone"):
        nn.utils.rnn.PackedSequence(torch.randn(2, 2))


# ---- the tutorial's model --------------------------------------------------------------------

class RNN(nn.Module):
    """As PyTorch sentiment tutorials write it (only the imports differ)."""

    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, bidirectional, dropout,
                 pad_idx):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional,
                           dropout=dropout)
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, text_lengths.to('cpu'), enforce_sorted=False)
        self.rnn.flatten_parameters()
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def reviews(rng, count):
    """Token sequences (lengths 3..10, tokens 2..9; 1 pads) labelled 1 when token 2 occurs (half of them)."""
    texts, labels = [], rng.integers(0, 2, size=count)
    for label in labels:
        tokens = rng.integers(3, 10, size=rng.integers(3, 11))
        if label:
            tokens[rng.integers(len(tokens))] = 2
        texts.append(torch.tensor(tokens))
    lengths = torch.tensor([len(t) for t in texts])
    return nn.utils.rnn.pad_sequence(texts, padding_value=1), lengths, torch.tensor(labels).float()


def test_the_sentiment_tutorial_s_model_trains_with_its_pytorch_lines():
    """Chance is 0.5 (balanced labels); 256 test reviews put its standard deviation at 0.031."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = RNN(10, 8, 8, 1, n_layers=2, bidirectional=True, dropout=0.1, pad_idx=1)
    optimizer = optim.Adam(model.parameters(), lr=0.03)
    criterion = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(60):
        text, text_lengths, label = reviews(rng, 32)
        optimizer.zero_grad()
        predictions = model(text, text_lengths).squeeze(1)
        loss = criterion(predictions, label)
        loss.backward()
        optimizer.step()
    assert model.embedding.weight.grad[1].tolist() == [0.0] * 8      # the padding row gets no gradient
    model.eval()
    with torch.no_grad():
        text, text_lengths, label = reviews(np.random.default_rng(1), 256)
        accuracy = binary_accuracy(model(text, text_lengths).squeeze(1), label)
    assert accuracy.item() > 0.75


# ---- errors that say what to write ---------------------------------------------------------

def test_a_list_of_sequences_of_different_lengths_given_to_a_layer_says_to_pack_them():
    for sequences in ([torch.randn(2, 3), torch.randn(5, 3)], (np.zeros((2, 3)), np.zeros((5, 3)))):
        with pytest.raises(TypeError, match=r"^GRU: expected the input as one tensor \(T, B, I\) or a PackedSequence, "
                                            r"got a (list|tuple) of sequences of different shapes \(\(2, 3\), \(5, 3\)\); "
                                            r"pack .*nn\.utils\.rnn\.pack_sequence\(sequences, enforce_sorted=False\)"):
            nn.GRU(3, 4)(sequences)
    steps = [torch.randn(1, 3), torch.randn(1, 3)]          # one length: refused too, as by PyTorch
    with pytest.raises(TypeError, match=r"^GRU: expected a tensor or numbers, got a list of tensors "
                                        r"\(\(1, 3\), \(1, 3\)\); .* mg\.stack or mg\.cat joins tensors"):
        nn.GRU(3, 4)(steps)
    assert nn.GRU(3, 4)(torch.stack(steps))[0].shape == (2, 1, 4)


def test_lengths_that_do_not_fit_the_batch_axis_point_at_batch_first():
    padded = torch.zeros(5, 3, 2)                   # time-major, read as batch-first
    with pytest.raises(ValueError, match=r"expected lengths of the batch's size 5, got 3; the input's first two "
                                         r"axes \(5, 3\) were read as \(B, T\) \(batch_first=True\): check batch_first"):
        nn.utils.rnn.pack_padded_sequence(padded, [2, 5, 4], batch_first=True, enforce_sorted=False)


def test_float_class_labels_say_that_class_indices_are_integers():
    with pytest.raises(ValueError, match=r"class indices must be integers \(\.long\(\)\), these are float32"):
        nn.CrossEntropyLoss()(torch.randn(3, 2), torch.tensor([0.0, 1.0, 1.0]))


# ---- generator= on the random makers, as PyTorch spells rng= ---------------------------------

@pytest.mark.parametrize("make, draw", [
    (lambda **g: torch.randn(3, **g), lambda r: r.standard_normal(3)),
    (lambda **g: torch.rand(3, **g), lambda r: r.random(3)),
    (lambda **g: torch.randint(0, 10, (4,), **g), lambda r: r.integers(0, 10, (4,))),
    (lambda **g: torch.randperm(5, **g), lambda r: r.permutation(5)),
    (lambda **g: torch.multinomial(torch.tensor([0.2, 0.3, 0.5]), 2, **g),
     lambda r: r.choice(3, size=2, replace=False, p=np.array([0.2, 0.3, 0.5]))),
])
def test_random_makers_take_pytorch_s_generator_keyword(make, draw):
    """mg.Generator().manual_seed(s) draws what numpy's default_rng(s) draws."""
    expected = draw(np.random.default_rng(7))
    assert np.allclose(np.asarray(make(generator=torch.Generator().manual_seed(7)).tolist(), dtype=float),
                       np.asarray(expected, dtype=float), atol=1e-6)
    with pytest.raises(TypeError, match="give rng or generator .PyTorch's name for it., not both"):
        make(generator=torch.Generator(), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"generator must be a numpy.random.Generator"):
        make(generator=7)


def test_a_generator_copied_or_pickled_stays_a_generator_in_the_same_state():
    import copy
    import pickle
    g = torch.Generator().manual_seed(5)
    for twin in (copy.deepcopy(g), copy.copy(g), pickle.loads(pickle.dumps(g))):
        assert type(twin) is torch.Generator and twin is not g
        assert twin.random(3).tolist() == np.random.default_rng(5).random(3).tolist()
        assert twin.manual_seed(1).random() == np.random.default_rng(1).random()
    dropout = nn.Dropout(0.5)
    dropout.rng = g
    assert type(copy.deepcopy(dropout).rng) is torch.Generator


def test_a_new_generator_starts_from_pytorch_s_fixed_seed_and_seed_picks_a_fresh_one():
    a, b = torch.Generator(), torch.Generator()
    assert a.initial_seed() == 67280421310721 and a.random(4).tolist() == b.random(4).tolist()
    assert a.manual_seed(3).initial_seed() == 3
    fresh = a.seed()
    assert a.initial_seed() == fresh and a.random() == np.random.default_rng(fresh).random()


# ---- sorting a batch by length, repeat_interleave, split(split_size=) ---------------------------

def test_sorting_by_length_then_packing_sorted_gives_what_packing_unsorted_gives():
    """The older packed-sequence idiom: sort the batch longest first, pack with enforce_sorted=True, run,
    then put h_n back in the batch's order with the inverse of the sort, `order.sort(0)`'s indices."""
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, batch_first=True, dtype=np.float64)
    x = torch.randn(4, 5, 3, dtype=np.float64, requires_grad=True)
    lengths = torch.tensor([2, 5, 3, 5])

    sorted_lengths, order = lengths.sort(0, descending=True)
    packed = nn.utils.rnn.pack_padded_sequence(x[order], sorted_lengths, batch_first=True, enforce_sorted=True)
    _, h_n = gru(packed)
    _, unsort = order.sort(0)
    h_n = h_n[:, unsort]

    assert order.tolist() == [1, 3, 2, 0]              # the two of length 5 in their own order (stable)
    _, expected = gru(nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    np.testing.assert_allclose(h_n.data, expected.data, rtol=1e-12, atol=1e-12)
    h_n.sum().backward()
    sorted_path_grad, x.grad = x.grad, None
    expected.sum().backward()
    np.testing.assert_allclose(sorted_path_grad, x.grad, rtol=1e-12, atol=1e-12)


def test_sort_puts_nan_last_ascending_and_first_descending_as_pytorch():
    x = torch.tensor([1.0, float("nan"), 0.0])
    assert x.sort().indices.tolist() == [2, 0, 1] and torch.argsort(x, descending=True).tolist() == [1, 0, 2]
    values, indices = torch.sort(torch.tensor(3.0))                 # a 0-d tensor: itself, at 0
    assert values.item() == 3.0 and indices.item() == 0


def test_repeat_interleave_repeats_each_entry_in_place_as_numpy_s_repeat():
    """A beam search's `encoder_out.repeat_interleave(beam, dim=0)`: each row `beam` times in a row."""
    encoder_out = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(torch.tensor(encoder_out).repeat_interleave(3, dim=0).data,
                                  np.repeat(encoder_out, 3, axis=0))
    np.testing.assert_array_equal(torch.repeat_interleave(torch.tensor(encoder_out), 2).data,
                                  np.repeat(encoder_out, 2))                 # dim=None: flattened first
    counts = torch.tensor([2, 0, 1])
    assert torch.repeat_interleave(counts).tolist() == np.repeat(np.arange(3), [2, 0, 1]).tolist()
    assert torch.tensor([5, 7]).repeat_interleave(torch.tensor(2)).tolist() == [5, 5, 7, 7]


def test_repeat_interleave_gradient_is_the_number_of_copies_of_each_entry():
    x = torch.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    torch.repeat_interleave(x, torch.tensor([2, 0, 3])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 3.0]


@pytest.mark.parametrize("repeats, got", [(torch.tensor([1, 2]), r"int64 counts of shape \(2,\)"), (-1, "-1"),
                                          (1.5, "1.5"), (torch.tensor([[1, 2, 3]]), r"int64 counts of shape \(1, 3\)")])
def test_repeat_interleave_refuses_counts_that_do_not_fit(repeats, got):
    with pytest.raises(ValueError, match=r"^repeat_interleave: expected a non-negative integer, or 1-d non-negative "
                                         r"integer counts of length 1 or 3 \(one per entry along dim 1\), got " + got):
        torch.zeros(2, 3).repeat_interleave(repeats, dim=1)


def test_sort_and_split_name_what_was_wrong():
    with pytest.raises(IndexError, match=r"^sort: dim 2 is out of range for a tensor with 2 axes"):
        torch.zeros(2, 3).sort(2)
    with pytest.raises(IndexError, match=r"^argsort: dim -3 is out of range for a tensor with 2 axes"):
        torch.argsort(torch.zeros(2, 3), dim=-3)
    x = torch.arange(5)
    assert [p.tolist() for p in x.split(split_size=2)] == [[0, 1], [2, 3], [4]]   # Tensor.split's keyword
    with pytest.raises(TypeError, match=r"^split: got both split_size_or_sections= and split_size=; pass one"):
        x.split(2, split_size=2)
