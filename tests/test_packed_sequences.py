"""Variable-length batches: `mg.nn.utils.rnn`, as PyTorch's `torch.nn.utils.rnn`.

Packing is checked on a batch small enough to lay out by hand (sequences a, b, c
of lengths 1, 3, 2); the recurrent layers given a packed batch are checked
against the numpy reference of test_bidirectional.py run on each sequence
alone, and their gradients against central differences of it.
"""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
from microgradseq.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                       pad_sequence, unpack_sequence, unpad_sequence)
from test_bidirectional import central_differences, np_layers, weights_of

pytestmark = pytest.mark.usefixtures("float64_default")

A = np.array([[1.0, -1.0]])
B_ = np.array([[2.0, -2.0], [3.0, -3.0], [4.0, -4.0]])
C = np.array([[5.0, -5.0], [6.0, -6.0]])
# the batch [a, b, c] padded with zeros, (T, B, 2)
PADDED = np.array([[[1.0, -1.0], [2.0, -2.0], [5.0, -5.0]],
                   [[0.0, 0.0], [3.0, -3.0], [6.0, -6.0]],
                   [[0.0, 0.0], [4.0, -4.0], [0.0, 0.0]]])
# packed longest first (b, c, a): step 1 of b, c, a; step 2 of b, c; step 3 of b
PACKED = np.array([[2.0, -2.0], [5.0, -5.0], [1.0, -1.0], [3.0, -3.0], [6.0, -6.0], [4.0, -4.0]])


def tensors(*arrays, grad=False):
    return [mg.tensor(a, requires_grad=grad) for a in arrays]


def assert_indices(tensor, want):
    assert tensor.dtype == np.int64 and not tensor.requires_grad
    np.testing.assert_array_equal(tensor.data, want)


# ---- packing and padding by hand ------------------------------------------------------------------

def test_pack_sequence_of_an_unsorted_batch():
    packed = pack_sequence(tensors(A, B_, C), enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.data, PACKED)
    assert_indices(packed.batch_sizes, [3, 2, 1])
    assert_indices(packed.sorted_indices, [1, 2, 0])
    assert_indices(packed.unsorted_indices, [2, 0, 1])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[1, 3, 2], np.array([1, 3, 2]), mg.tensor([1, 3, 2])],
                         ids=["list", "array", "tensor"])
def test_pack_padded_sequence_lays_out_the_same_packed_batch(batch_first, lengths):
    padded = PADDED.transpose(1, 0, 2) if batch_first else PADDED
    packed = pack_padded_sequence(mg.tensor(padded), lengths, batch_first=batch_first, enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.data, PACKED)
    assert_indices(packed.batch_sizes, [3, 2, 1])
    assert_indices(packed.sorted_indices, [1, 2, 0])
    assert_indices(packed.unsorted_indices, [2, 0, 1])


def test_a_sorted_batch_packs_without_indices():
    packed = pack_sequence(tensors(B_, C, A))
    np.testing.assert_array_equal(packed.data.data, PACKED)
    assert_indices(packed.batch_sizes, [3, 2, 1])
    assert packed.sorted_indices is None and packed.unsorted_indices is None


def test_packed_sequence_is_a_named_tuple_as_pytorch_s():
    data, batch_sizes, sorted_indices, unsorted_indices = packed = pack_sequence(tensors(A, B_, C), False)
    assert isinstance(packed, tuple) and packed._fields == ("data", "batch_sizes", "sorted_indices",
                                                            "unsorted_indices")
    assert data is packed.data and batch_sizes is packed.batch_sizes and unsorted_indices is packed.unsorted_indices
    made = PackedSequence(data, batch_sizes, sorted_indices)            # unsorted_indices: the inverse
    assert_indices(made.unsorted_indices, [2, 0, 1])
    single = packed.to(np.float32)
    assert single.data.dtype == np.float32 and single.batch_sizes is batch_sizes
    assert packed.to("cpu") is packed


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_sequence_restores_the_batch_order_and_lengths(batch_first):
    padded, lengths = pad_packed_sequence(pack_sequence(tensors(A, B_, C), False), batch_first=batch_first)
    np.testing.assert_array_equal(padded.data, PADDED.transpose(1, 0, 2) if batch_first else PADDED)
    assert_indices(lengths, [1, 3, 2])


def test_pad_packed_sequence_pads_to_total_length_with_padding_value():
    padded, _ = pad_packed_sequence(pack_sequence(tensors(A, B_, C), False), padding_value=-9.0, total_length=5)
    want = np.full((5, 3, 2), -9.0)
    want[0, 0], want[:3, 1], want[:2, 2] = A, B_, C
    np.testing.assert_array_equal(padded.data, want)


def test_pad_sequence_by_hand():
    np.testing.assert_array_equal(pad_sequence(tensors(A, B_, C)).data, PADDED)
    np.testing.assert_array_equal(pad_sequence(tensors(A, B_, C), batch_first=True).data, PADDED.transpose(1, 0, 2))
    left = pad_sequence(tensors(A, B_, C), padding_value=7.0, padding_side="left").data
    want = np.full((3, 3, 2), 7.0)
    want[2, 0], want[:, 1], want[1:, 2] = A, B_, C
    np.testing.assert_array_equal(left, want)


def test_pad_and_pack_keep_an_integer_dtype():
    tokens = [np.array([4, 5]), np.array([6])]
    padded = pad_sequence([mg.tensor(t) for t in tokens], batch_first=True, padding_value=-1)
    assert padded.dtype == np.int64
    np.testing.assert_array_equal(padded.data, [[4, 5], [6, -1]])
    np.testing.assert_array_equal(pack_sequence([mg.tensor(t) for t in tokens]).data.data, [4, 6, 5])


def test_pack_then_pad_round_trips_a_random_batch():
    rng = np.random.default_rng(0)
    lengths = np.array([4, 7, 1, 7, 3])
    x = rng.normal(size=(7, 5, 3))
    mask = np.arange(7)[:, None] < lengths                      # (T, B): the steps each sequence has
    padded, got_lengths = pad_packed_sequence(pack_padded_sequence(mg.tensor(x), lengths, enforce_sorted=False))
    np.testing.assert_array_equal(padded.data, np.where(mask[..., None], x, 0.0))
    np.testing.assert_array_equal(got_lengths.data, lengths)


# ---- gradients through packing and padding ---------------------------------------------------------

def test_gradient_of_packing_goes_to_the_packed_elements_only():
    """Row r of data holds PADDED[t, b]; its weight's gradient lands there, nothing on padding."""
    x = mg.tensor(PADDED, requires_grad=True)
    w = np.arange(12.0).reshape(6, 2) + 1
    (pack_padded_sequence(x, [1, 3, 2], enforce_sorted=False).data * w).sum().backward()
    want = np.zeros((3, 3, 2))
    want[0, 1], want[0, 2], want[0, 0], want[1, 1], want[1, 2], want[2, 1] = w     # rows b1 c1 a1 b2 c2 b3
    np.testing.assert_array_equal(x.grad, want)


def test_gradient_of_a_round_trip_is_the_weight_on_real_steps():
    rng = np.random.default_rng(1)
    x, weight = mg.tensor(rng.normal(size=(3, 3, 2)), requires_grad=True), rng.normal(size=(3, 4, 2))
    packed = pack_padded_sequence(x.transpose(1, 0, 2), [1, 3, 2], batch_first=True, enforce_sorted=False)
    padded, _ = pad_packed_sequence(packed, batch_first=True, total_length=4, padding_value=5.0)
    (padded * weight).sum().backward()
    mask = np.arange(3)[None, :, None] < np.array([1, 3, 2])[:, None, None]     # (B, T, 1)
    np.testing.assert_array_equal(x.grad, np.where(mask, weight[:, :3], 0.0).transpose(1, 0, 2))


def test_gradient_of_pad_sequence_and_pack_sequence_reaches_each_sequence():
    rng = np.random.default_rng(2)
    weight = rng.normal(size=(3, 3, 2))
    sequences = tensors(A, B_, C, grad=True)
    (pad_sequence(sequences) * weight).sum().backward()
    for k, sequence in enumerate(sequences):
        np.testing.assert_array_equal(sequence.grad, weight[:len(sequence.data), k])
    sequences = tensors(A, B_, C, grad=True)
    rows = rng.normal(size=(6, 2))
    (pack_sequence(sequences, enforce_sorted=False).data * rows).sum().backward()
    np.testing.assert_array_equal(sequences[0].grad, rows[[2]])
    np.testing.assert_array_equal(sequences[1].grad, rows[[0, 3, 5]])
    np.testing.assert_array_equal(sequences[2].grad, rows[[1, 4]])


# ---- recurrent layers given a packed batch ----------------------------------------------------------

I, H = 2, 2
LENGTHS = [2, 4, 1]


def layer(kind, num_layers, bidirectional, **options):
    return getattr(nn, kind)(I, H, num_layers, bidirectional=bidirectional, rng=np.random.default_rng(3), **options)


def initial_states(kind, rng, count):
    return [rng.normal(size=(count, len(LENGTHS), H)) for _ in range(2 if kind == "LSTM" else 1)]


def each_alone(kind, module, sequences, initial, num_layers, bidirectional):
    """The numpy reference run on each sequence alone, from its own column of the initial state:
    [(outputs (L, D*H), [h_n (count, H), c_n])] in batch order."""
    results = []
    for b, sequence in enumerate(sequences):
        output, *state_n = np_layers(kind, weights_of(module), sequence[:, None], *[s[:, b:b + 1] for s in initial],
                                     num_layers=num_layers, bidirectional=bidirectional)
        results.append((output[:, 0], [s[:, 0] for s in state_n]))
    return results


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("given_state", [False, True], ids=["zero-state", "given-state"])
def test_a_packed_batch_gives_each_sequence_what_it_gives_alone(kind, num_layers, bidirectional, given_state):
    """Each sequence's rows of the packed output and its h_n (after its own last step; the reverse
    direction: after its first) equal the numpy layer run on that sequence alone."""
    rng = np.random.default_rng(4)
    module = layer(kind, num_layers, bidirectional)
    count = num_layers * (2 if bidirectional else 1)
    sequences = [rng.normal(size=(n, I)) for n in LENGTHS]
    initial = initial_states(kind, rng, count) if given_state else \
        [np.zeros((count, len(LENGTHS), H))] * (2 if kind == "LSTM" else 1)
    packed = pack_sequence([mg.tensor(s) for s in sequences], enforce_sorted=False)
    state = None if not given_state else (tuple(initial) if kind == "LSTM" else initial[0])
    output, state_n = module(packed, state)
    assert isinstance(output, PackedSequence)
    assert output.batch_sizes is packed.batch_sizes and output.sorted_indices is packed.sorted_indices
    assert output.data.shape == (sum(LENGTHS), (2 if bidirectional else 1) * H)
    padded, lengths = pad_packed_sequence(output)
    np.testing.assert_array_equal(lengths.data, LENGTHS)
    finals = list(state_n) if kind == "LSTM" else [state_n]
    for b, (want_output, want_finals) in enumerate(each_alone(kind, module, sequences, initial, num_layers,
                                                              bidirectional)):
        np.testing.assert_allclose(padded.data[:LENGTHS[b], b], want_output, rtol=1e-12, atol=1e-12)
        assert not padded.data[LENGTHS[b]:, b].any()
        for got, want in zip(finals, want_finals):
            assert got.shape == (count, len(LENGTHS), H)
            np.testing.assert_allclose(got.data[:, b], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("options", [{"batch_first": True}, {"fused": True}], ids=["batch_first", "fused"])
def test_batch_first_and_fused_do_not_change_a_packed_run(options):
    """A packed input has no batch axis to put first, and runs the op-level steps when fused."""
    rng = np.random.default_rng(5)
    sequences = [rng.normal(size=(n, I)) for n in LENGTHS]
    packed = pack_sequence([mg.tensor(s) for s in sequences], enforce_sorted=False)
    module = layer("LSTM", 2, True, **options)
    output, (h_n, c_n) = module(packed)
    padded, _ = pad_packed_sequence(output)
    zeros = [np.zeros((4, 3, H))] * 2
    for b, (want_output, (want_h, want_c)) in enumerate(each_alone("LSTM", module, sequences, zeros, 2, True)):
        np.testing.assert_allclose(padded.data[:LENGTHS[b], b], want_output, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h_n.data[:, b], want_h, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(c_n.data[:, b], want_c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
def test_gradients_through_a_packed_run_match_central_differences(kind, bidirectional):
    """A loss of the padded output and of h_n (and c_n), back through pad_packed_sequence, the
    layer and pack_sequence, to each sequence, the initial state and every weight."""
    rng = np.random.default_rng(6)
    num_layers, directions = 2, 2 if bidirectional else 1
    module = layer(kind, num_layers, bidirectional)
    sequences = [rng.normal(size=(n, I)) for n in LENGTHS]
    initial = initial_states(kind, rng, num_layers * directions)
    on_output = rng.normal(size=(max(LENGTHS), len(LENGTHS), directions * H))
    on_finals = [rng.normal(size=s.shape) for s in initial]

    inputs = [mg.tensor(s, requires_grad=True) for s in sequences]
    states = [mg.tensor(s, requires_grad=True) for s in initial]
    state = tuple(states) if kind == "LSTM" else states[0]
    output, state_n = module(pack_sequence(inputs, enforce_sorted=False), state)
    loss = (pad_packed_sequence(output)[0] * on_output).sum()
    for final, weight in zip(list(state_n) if kind == "LSTM" else [state_n], on_finals):
        loss = loss + (final * weight).sum()
    loss.backward()

    weights = {name: value.copy() for name, value in weights_of(module).items()}

    def numpy_loss():
        total = 0.0
        for b, sequence in enumerate(sequences):
            output, *state_n = np_layers(kind, weights, sequence[:, None], *[s[:, b:b + 1] for s in initial],
                                         num_layers=num_layers, bidirectional=bidirectional)
            total += (output[:, 0] * on_output[:len(sequence), b]).sum()
            total += sum((f[:, 0] * w[:, b]).sum() for f, w in zip(state_n, on_finals))
        return total

    assert abs(loss.item() - numpy_loss()) < 1e-12
    want = central_differences(numpy_loss, [*sequences, *initial, *weights.values()])
    got = [t.grad for t in inputs + states] + [p.grad for p in module.parameters()]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


# ---- errors -------------------------------------------------------------------------------------------

def test_mg_nn_utils_rnn_is_reachable_as_an_attribute_and_clipping_stays():
    assert mg.nn.utils.rnn.pad_sequence is pad_sequence and mg.nn.utils.rnn.PackedSequence is PackedSequence
    assert mg.nn.utils.clip_grad_norm_ is mg.optim.clip_grad_norm_


@pytest.mark.parametrize("call, error, message", [
    (lambda: pack_padded_sequence(PADDED, [3, 2]), ValueError,
     r"pack_padded_sequence: expected lengths of the batch's size 3, got 2"),
    (lambda: pack_padded_sequence(PADDED, [1, 3, 2]), RuntimeError,
     r"pack_padded_sequence: expected lengths sorted longest first \(enforce_sorted=True\), got \[1, 3, 2\]; "
     r"pass enforce_sorted=False"),
    (lambda: pack_padded_sequence(PADDED, [3, 0, 2], enforce_sorted=False), ValueError,
     r"pack_padded_sequence: expected every length between 1 and the input's 3 steps, got \[3, 0, 2\]"),
    (lambda: pack_padded_sequence(PADDED, [4, 2, 2]), ValueError,
     r"pack_padded_sequence: expected every length between 1 and the input's 3 steps, got \[4, 2, 2\]"),
    (lambda: pack_padded_sequence(PADDED, [3.0, 2.0, 1.0]), TypeError,
     r"pack_padded_sequence: expected integer lengths, got dtype float64"),
    (lambda: pack_padded_sequence(PADDED, [[3, 2, 1]]), TypeError,
     r"pack_padded_sequence: expected lengths as a list or 1-D tensor of integers, got shape \(1, 3\)"),
    (lambda: pack_padded_sequence(np.zeros(3), [1]), ValueError,
     r"pack_padded_sequence: expected input of shape \(T, B, \*\) with at least one step and one sequence, "
     r"got \(3,\)"),
    (lambda: pack_padded_sequence(PADDED, [3, 2, 1], batch_first="yes"), ValueError,
     r"pack_padded_sequence: batch_first must be True or False"),
    (lambda: pad_packed_sequence(PADDED), TypeError,
     r"pad_packed_sequence: expected a PackedSequence \(from pack_padded_sequence or pack_sequence\), got ndarray"),
    (lambda: pad_packed_sequence(pack_sequence([B_, C]), total_length=2), ValueError,
     r"pad_packed_sequence: expected total_length of at least the longest sequence's 3 steps, got 2"),
    (lambda: pad_packed_sequence(PackedSequence(mg.tensor(PACKED), mg.tensor([2, 3, 1]))), ValueError,
     r"pad_packed_sequence: expected batch_sizes of positive, non-increasing integers summing to the 6 rows "
     r"of data, got \[2, 3, 1\]"),
    (lambda: pad_packed_sequence(PackedSequence(mg.tensor(PACKED), mg.tensor([3, 2, 1]), mg.tensor([0, 0, 1]))),
     ValueError, r"pad_packed_sequence: expected sorted_indices to be a permutation of the batch's 3 positions, "
                 r"got \[0, 0, 1\]"),
    (lambda: pad_packed_sequence(pack_sequence([B_, C]), padding_value="pad"), TypeError,
     r"pad_packed_sequence: expected padding_value as a number, got 'pad'"),
    (lambda: pad_sequence([]), ValueError, r"pad_sequence: expected at least one sequence, got none"),
    (lambda: pad_sequence(5), TypeError, r"pad_sequence: expected a list of tensors, got int"),
    (lambda: pad_sequence([A, np.zeros((2, 3))]), ValueError,
     r"pad_sequence: expected every sequence of shape \(L, \*\) with the same trailing shape \(2,\) as sequence 0, "
     r"got shape \(2, 3\) for sequence 1"),
    (lambda: pad_sequence([A, np.float64(1.0)]), ValueError, r"pad_sequence: .* got shape \(\) for sequence 1"),
    (lambda: pad_sequence([A, A.astype(np.float32)]), TypeError,
     r"pad_sequence: expected sequences of one dtype, got float32 for sequence 1 and float64 for sequence 0"),
    (lambda: pad_sequence([A], padding_side="middle"), ValueError,
     r"pad_sequence: padding_side must be 'right' or 'left', got 'middle'"),
    (lambda: pack_sequence([A, B_]), RuntimeError, r"pack_sequence: expected lengths sorted longest first"),
    (lambda: pack_sequence([B_, np.zeros((0, 2))]), ValueError,
     r"pack_sequence: expected every length between 1 and the input's 3 steps, got \[3, 0\]"),
])
def test_bad_input_is_refused_naming_the_function_what_it_expected_and_what_came(call, error, message):
    with pytest.raises(error, match="^" + message):
        call()


def test_a_layer_refuses_a_packed_batch_of_the_wrong_width_dtype_or_state():
    lstm = layer("LSTM", 1, True)
    with pytest.raises(ValueError, match=r"^LSTM: expected a packed sequence of data \(N, I\) with I = 2, "
                                         r"got data of shape \(6, 3\)"):
        lstm(pack_sequence([np.zeros((3, 3)), np.zeros((2, 3)), np.zeros((1, 3))]))
    with pytest.raises(TypeError, match=r"^LSTM: expected input of dtype float64 \(the module's\), got float32"):
        lstm(pack_sequence([np.zeros((3, 2), np.float32)]))
    with pytest.raises(ValueError, match=r"^LSTM: expected h0 of shape \(2, 3, 2\), got \(2, 2, 2\)"):
        lstm(pack_sequence([B_, C, A]), (np.zeros((2, 2, 2)), np.zeros((2, 2, 2))))
    with pytest.raises(ValueError, match=r"^LSTM: expected batch_sizes of positive, non-increasing integers"):
        lstm(PackedSequence(mg.tensor(PACKED), mg.tensor([3, 2])))


@pytest.mark.parametrize("loss_of", ["h_n", "outputs"])
@pytest.mark.parametrize("lengths", [(4, 2, 3), (4, 3, 2, 1)])
def test_a_packed_bidirectional_drawing_has_a_state_at_every_step_and_splits_every_step(loss_of, lengths):
    """At step t the state is that of the sequences that have a step t (batch_sizes = 3, 3, 2, 1 for
    lengths 4, 2, 3): each step's cell box shows h and h (reverse) of those rows, whether the loss
    reads the final states or only the outputs, the state boxes are chained both ways, and
    ||dL/dh_t|| is that of those rows. The reverse direction's first step (t = T, from the initial
    state) is split as the others are: its input box holds only its rows of the input projection
    and its slices, as every step's does (lengths 4, 3, 2, 1: no other step computes what it does)."""
    mg.manual_seed(0)
    sequences = [mg.randn(n, 3, dtype=np.float64) for n in lengths]
    gru = nn.GRU(3, 2, bidirectional=True, dtype=np.float64)
    output, h_n = gru(pack_sequence(sequences, enforce_sorted=False))
    loss = (h_n ** 2).sum() if loss_of == "h_n" else (pad_packed_sequence(output)[0] ** 2).sum()
    loss.backward(retain_graph=True)
    source = mg.draw(loss, dict(gru.named_parameters())).source
    for t in range(1, 5):
        rows = sum(n >= t for n in lengths)
        cell = source[source.index(f"cell_{t} [label="):].split("\n", 1)[0]
        assert f"h ({rows}, 2)" in cell and f"h (reverse) ({rows}, 2)" in cell, t
        inputs = source[source.index(f"in_{t} [label="):].split("\n", 1)[0]
        assert "4 ops: getitem<BR/>" in inputs, t       # each direction's rows of x W_ih^T + b, and their n block
    for t in (1, 2, 3):
        assert f"cell_{t} -> cell_{t + 1}" in source and f"cell_{t + 1} -> cell_{t}" in source


def test_unpad_and_unpack_give_back_the_list_of_sequences_and_their_gradients():
    """PyTorch's unpad_sequence(padded, lengths, batch_first=False) and unpack_sequence(packed): the list
    the batch was made from, in its order (also after enforce_sorted=False reordered it); each sequence is a
    slice of the batch, so a loss on the pieces reaches the inputs: d(sum_k k * sum(piece_k))/da = 1 for a,
    the first sequence."""
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=np.float64)
    b, c = mg.tensor([4.0, 5.0], dtype=np.float64), mg.tensor([6.0], dtype=np.float64)
    for batch_first in (False, True):
        pieces = unpad_sequence(pad_sequence([a, b, c], batch_first=batch_first), mg.tensor([3, 2, 1]),
                                batch_first=batch_first)
        assert [p.tolist() for p in pieces] == [[1.0, 2.0, 3.0], [4.0, 5.0], [6.0]]
    sum(k * piece.sum() for k, piece in enumerate(pieces, 1)).backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0]
    unpacked = unpack_sequence(pack_sequence([b, a, c], enforce_sorted=False))
    assert [p.tolist() for p in unpacked] == [[4.0, 5.0], [1.0, 2.0, 3.0], [6.0]]
    with pytest.raises(ValueError, match="unpad_sequence: expected lengths of the batch's size 3, got 2"):
        unpad_sequence(pad_sequence([a, b, c]), [3, 2])
    with pytest.raises(TypeError, match="unpack_sequence: expected a PackedSequence"):
        unpack_sequence([a, b])


def test_unpad_sequence_of_a_batch_not_square_with_feature_axes_as_pytorch_docs():
    """PyTorch's doc example (sequences (25, 300), (22, 300), (15, 300), lengths a tensor), then a batch of 2
    sequences of up to 4 steps with a feature axis of 3, lengths as a numpy array, both layouts: each piece is
    its sequence, and a loss on the pieces sends each sequence's own weight back to it. Lengths of a batch read
    the wrong way round name batch_first."""
    sequences = [mg.ones(25, 300), mg.ones(22, 300), mg.ones(15, 300)]
    padded = pad_sequence(sequences)
    pieces = unpad_sequence(padded, mg.as_tensor([v.size(0) for v in sequences]))
    assert [p.shape for p in pieces] == [(25, 300), (22, 300), (15, 300)]
    for batch_first in (False, True):
        x = mg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
        y = mg.tensor(np.arange(6.0).reshape(2, 3) + 100, requires_grad=True)
        pieces = unpad_sequence(pad_sequence([y, x], batch_first=batch_first), np.array([2, 4]),
                                batch_first=batch_first)
        assert [p.tolist() for p in pieces] == [y.tolist(), x.tolist()]
        (pieces[0].sum() + 2 * pieces[1].sum()).backward()
        assert y.grad.tolist() == [[1.0] * 3] * 2 and x.grad.tolist() == [[2.0] * 3] * 4
    with pytest.raises(ValueError, match=r"unpad_sequence: expected lengths of the batch's size 4, got 2; the input's "
                                         r"first two axes \(2, 4\) were read as \(T, B\) \(batch_first=False\)"):
        unpad_sequence(pad_sequence([y, x], batch_first=True), [2, 4])
